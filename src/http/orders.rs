//! `/api/v1/p2p/orders`: taking ads and every step of an order's life; chat; ratings.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

use super::AppState;
use super::error::ApiResult;
use super::extract::{AppJson, AppQuery, Authenticated, Id, page};
use crate::actors::order::Request;
use crate::domain::Caller;
use crate::domain::order::{Action, Order, OrderStatus, Side};
use crate::domain::{DomainError, validate};
use crate::market::NewOrder;
use crate::views;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/p2p/orders", get(list).post(create))
        .route(
            "/api/v1/p2p/orders/{id}",
            get(show).patch(update_payment_details),
        )
        .route("/api/v1/p2p/orders/{id}/confirm-paid", post(confirm_paid))
        .route(
            "/api/v1/p2p/orders/{id}/confirm-received",
            post(confirm_received),
        )
        .route("/api/v1/p2p/orders/{id}/cancel", post(cancel))
        .route("/api/v1/p2p/orders/{id}/call-operator", post(call_operator))
        .route(
            "/api/v1/p2p/orders/{id}/messages",
            get(messages).post(post_message),
        )
        .route("/api/v1/p2p/orders/{id}/rate", post(rate))
        .route("/api/v1/p2p/orders/{id}/history", get(history))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    ad_id: i64,
    usdt_amount: i64,
    payment_method: String,
    payment_details: Option<Value>,
}

#[tracing::instrument(skip_all, fields(ad_id = body.ad_id, order_id = tracing::field::Empty))]
async fn create(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    AppJson(body): AppJson<CreateBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    if body.ad_id <= 0 {
        return Err(DomainError::validation("ad_id must be a positive id").into());
    }
    let request = NewOrder {
        ad_id: body.ad_id,
        usdt_amount: body.usdt_amount,
        payment_method: body.payment_method,
        payment_details: body.payment_details,
    };
    let order = state.market.create_order(caller, request).await?;
    tracing::Span::current().record("order_id", order.id);
    Ok((StatusCode::CREATED, Json(one(&state, caller, order).await?)))
}

#[derive(Deserialize)]
struct ListParams {
    status: Option<String>,
    side: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

#[tracing::instrument(skip_all)]
async fn list(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    AppQuery(params): AppQuery<ListParams>,
) -> ApiResult<Json<Value>> {
    let status = params
        .status
        .as_deref()
        .map(|s| {
            OrderStatus::parse(s)
                .ok_or_else(|| DomainError::validation(format!("unknown status {s:?}")))
        })
        .transpose()?;
    let side = params
        .side
        .as_deref()
        .map(|s| {
            Side::parse(s).ok_or_else(|| DomainError::validation(format!("unknown side {s:?}")))
        })
        .transpose()?;
    let (limit, offset) = page(params.limit, params.offset)?;
    let (orders, total) = state
        .market
        .orders(caller, status, side, limit, offset)
        .await?;
    let items = state.market.order_views(caller, &orders).await?;
    Ok(Json(views::page(items, total, limit, offset)))
}

/// An order as the caller sees it.
async fn one(state: &AppState, caller: Caller, order: Order) -> ApiResult<Value> {
    let mut views = state.market.order_views(caller, &[order]).await?;
    Ok(views.pop().unwrap_or_default())
}

#[tracing::instrument(skip_all, fields(order_id = id))]
async fn show(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Id(id): Id,
) -> ApiResult<Json<Value>> {
    let order = state.market.order(caller, id).await?;
    Ok(Json(one(&state, caller, order).await?))
}

#[tracing::instrument(skip_all, fields(order_id = id))]
async fn history(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Id(id): Id,
) -> ApiResult<Json<Value>> {
    let history = state.market.history(caller, id).await?;
    let items: Vec<Value> = history.iter().map(views::history_entry).collect();
    Ok(Json(serde_json::json!({"items": items})))
}

/// Runs an action on an order through its actor and answers the updated order.
pub(super) async fn act(state: &AppState, id: i64, request: Request) -> ApiResult<Json<Value>> {
    let caller = request.caller;
    let order = state.market.act(id, request).await?;
    match caller {
        Some(caller) => Ok(Json(one(state, caller, order).await?)),
        None => Ok(Json(views::order(&order))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PaymentDetailsBody {
    payment_details: Value,
}

#[tracing::instrument(skip_all, fields(order_id = id))]
async fn update_payment_details(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Id(id): Id,
    AppJson(body): AppJson<PaymentDetailsBody>,
) -> ApiResult<Json<Value>> {
    let details = validate::payment_details(&body.payment_details)?;
    let request = Request {
        payment_details: Some(details),
        ..Request::by(caller, Action::UpdatePaymentDetails)
    };
    act(&state, id, request).await
}

#[tracing::instrument(skip_all, fields(order_id = id))]
async fn confirm_paid(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Id(id): Id,
) -> ApiResult<Json<Value>> {
    act(&state, id, Request::by(caller, Action::ConfirmPaid)).await
}

#[tracing::instrument(skip_all, fields(order_id = id))]
async fn confirm_received(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Id(id): Id,
) -> ApiResult<Json<Value>> {
    act(&state, id, Request::by(caller, Action::ConfirmReceived)).await
}

#[tracing::instrument(skip_all, fields(order_id = id))]
async fn cancel(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Id(id): Id,
) -> ApiResult<Json<Value>> {
    act(&state, id, Request::by(caller, Action::Cancel)).await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CallOperatorBody {
    reason: Option<String>,
}

#[tracing::instrument(skip_all, fields(order_id = id))]
async fn call_operator(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Id(id): Id,
    AppJson(body): AppJson<CallOperatorBody>,
) -> ApiResult<Json<Value>> {
    let reason = body
        .reason
        .map(|r| validate::text("reason", &r, 0, validate::MAX_REASON_CHARS))
        .transpose()?
        .filter(|r| !r.is_empty());
    let request = Request {
        text: reason,
        ..Request::by(caller, Action::CallOperator)
    };
    act(&state, id, request).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageBody {
    message: String,
}

#[tracing::instrument(skip_all, fields(order_id = id))]
async fn post_message(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Id(id): Id,
    AppJson(body): AppJson<MessageBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let message = state.market.post_message(caller, id, &body.message).await?;
    Ok((StatusCode::CREATED, Json(views::message(&message))))
}

#[derive(Deserialize)]
struct MessagesParams {
    after_id: Option<i64>,
    limit: Option<i64>,
}

#[tracing::instrument(skip_all, fields(order_id = id))]
async fn messages(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Id(id): Id,
    AppQuery(params): AppQuery<MessagesParams>,
) -> ApiResult<Json<Value>> {
    let (limit, _) = page(params.limit.or(Some(crate::config::MAX_PAGE_LIMIT)), None)?;
    let after_id = params.after_id.unwrap_or(0).max(0);
    let messages = state.market.messages(caller, id, after_id, limit).await?;
    let items: Vec<Value> = messages.iter().map(views::message).collect();
    Ok(Json(serde_json::json!({"items": items})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RateBody {
    rating: i64,
    comment: Option<String>,
}

#[tracing::instrument(skip_all, fields(order_id = id))]
async fn rate(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Id(id): Id,
    AppJson(body): AppJson<RateBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let rating = state
        .market
        .rate(caller, id, body.rating, body.comment)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::to_value(rating).unwrap_or_default()),
    ))
}
