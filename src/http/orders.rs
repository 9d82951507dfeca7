//! `/api/v1/p2p/orders`: taking ads and every step of an order's life; chat; ratings.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiResult;
use super::extract::{AppJson, AppQuery, Authenticated, Id, Keyed, MaybeJson, page};
use super::input::fields::{AfterId, Amount, Comment, IdField, Message, PageLimit, PageOffset};
use super::input::fields::{OrderStatusChoice, Reason, SideChoice, Stars};
use super::input::{Choice, PaymentDetails, PaymentMethod};
use super::state::AppState;
use crate::domain::AdId;
use crate::domain::Caller;
use crate::domain::DomainError;
use crate::domain::OrderId;
use crate::domain::order::{Action, Order};
use crate::domain::request::Request;
use crate::market::NewOrder;
use crate::views;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update_payment_details))
        .routes(routes!(confirm_paid))
        .routes(routes!(confirm_received))
        .routes(routes!(cancel))
        .routes(routes!(call_operator))
        .routes(routes!(messages, post_message))
        .routes(routes!(rate))
        .routes(routes!(history))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateOrderBody {
    /// The ad to take.
    #[schema(inline)]
    ad_id: IdField,
    /// USDT kopecks, within the ad's limits and what it has left.
    #[schema(inline)]
    usdt_amount: Amount,
    /// One of the ad's payment methods.
    #[schema(inline)]
    payment_method: PaymentMethod,
    /// Where the buyer sends the RUB: needed to take a buy ad (to sell), ignored otherwise.
    #[schema(inline)]
    payment_details: Option<PaymentDetails>,
    /// One of the caller's saved payment methods (`GET /api/v1/me/payment-methods`), for
    /// `payment_method`, instead of `payment_details`: give one or the other.
    #[schema(inline)]
    payment_method_id: Option<IdField>,
}

refusals!(CreateRefusals: ValidationError, Forbidden, UserBlocked, NotFound, AdNotActive, ActiveWithdrawOrderExists, ActiveOrderLimit, IdempotencyKeyReused, OwnAd, InvalidPaymentMethod, CounterpartyRequirementsNotMet, AmountTooLow, AmountTooHigh, AmountExceedsAvailable, PaymentDetailsRequired, MinDepositRequired, WageringRequirementNotMet, SellerInsufficientBalance, BonusFundsNotWithdrawable, AccountRestricted, TakingPaused, RateLimited);

#[utoipa::path(
    post,
    path = "/api/v1/p2p/orders",
    operation_id = "createOrder",
    tag = "orders",
    description = "Takes an ad (SPEC §7: checks run in order, the first failure answers).",
    request_body = CreateOrderBody,
    security(("bearer" = [])),
    responses((status = 201, description = "The order, pending, its escrow frozen", body = crate::views::OrderView), CreateRefusals)
)]
#[tracing::instrument(skip_all, fields(ad_id = body.ad_id.0, order_id = tracing::field::Empty))]
async fn create(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Keyed(key): Keyed,
    AppJson(body): AppJson<CreateOrderBody>,
) -> ApiResult<(StatusCode, Json<views::OrderView>)> {
    if body.payment_details.is_some() && body.payment_method_id.is_some() {
        return Err(
            DomainError::validation("give payment_details or payment_method_id, not both").into(),
        );
    }
    let request = NewOrder {
        ad_id: AdId(body.ad_id.0),
        usdt_amount: body.usdt_amount.0,
        payment_method: body.payment_method.0,
        payment_details: body.payment_details.map(|d| Value::Object(d.0)),
        payment_method_id: body.payment_method_id.map(|id| id.0),
    };
    let order = state.market.create_order(caller, request, key).await?;
    tracing::Span::current().record("order_id", order.id.get());
    Ok((StatusCode::CREATED, Json(one(&state, caller, order).await?)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    #[param(inline)]
    status: Option<OrderStatusChoice>,
    /// `withdraw`: orders where the caller sells USDT; `deposit`: where the caller buys.
    #[param(inline)]
    side: Option<SideChoice>,
    /// 20 by default.
    #[param(inline)]
    limit: Option<PageLimit>,
    #[param(inline)]
    offset: Option<PageOffset>,
}

refusals!(ListRefusals: ValidationError);

#[utoipa::path(
    get,
    path = "/api/v1/p2p/orders",
    operation_id = "listOrders",
    tag = "orders",
    params(ListParams),
    security(("bearer" = [])),
    responses((status = 200, description = "The caller's orders, newest first", body = crate::views::Page<crate::views::OrderView>), ListRefusals)
)]
#[tracing::instrument(skip_all)]
async fn list(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    AppQuery(params): AppQuery<ListParams>,
) -> ApiResult<Json<views::Page<views::OrderView>>> {
    let status = params.status.map(|Choice(status)| status);
    let side = params.side.map(|Choice(side)| side);
    let (limit, offset) = page(params.limit, params.offset);
    let (orders, total) = state
        .market
        .orders(caller, status, side, limit, offset)
        .await?;
    let items = state.market.order_views(caller, &orders).await?;
    Ok(Json(views::Page {
        items,
        total,
        limit,
        offset,
    }))
}

/// An order as the caller sees it.
async fn one(state: &AppState, caller: Caller, order: Order) -> ApiResult<views::OrderView> {
    let mut views = state.market.order_views(caller, &[order]).await?;
    views
        .pop()
        .ok_or_else(|| DomainError::from(crate::domain::ErrorCode::Internal).into())
}

refusals!(ShowRefusals: NotFound);

#[utoipa::path(
    get,
    path = "/api/v1/p2p/orders/{id}",
    operation_id = "getOrder",
    tag = "orders",
    params(("id" = i64, Path, description = "The id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The order", body = crate::views::OrderView), ShowRefusals)
)]
#[tracing::instrument(skip_all, fields(order_id = id.get()))]
async fn show(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Id(id): Id<OrderId>,
) -> ApiResult<Json<views::OrderView>> {
    let order = state.market.order(caller, id).await?;
    Ok(Json(one(&state, caller, order).await?))
}

refusals!(HistoryRefusals: NotFound);

#[utoipa::path(
    get,
    path = "/api/v1/p2p/orders/{id}/history",
    operation_id = "getOrderHistory",
    tag = "orders",
    params(("id" = i64, Path, description = "The id")),
    security(("bearer" = [])),
    responses((status = 200, description = "Every transition, oldest first", body = crate::views::Items<crate::views::HistoryEntry>), HistoryRefusals)
)]
#[tracing::instrument(skip_all, fields(order_id = id.get()))]
async fn history(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Id(id): Id<OrderId>,
) -> ApiResult<Json<views::Items<views::HistoryEntry>>> {
    let history = state.market.history(caller, id).await?;
    let items = history.iter().map(views::history_entry).collect();
    Ok(Json(views::Items { items }))
}

/// Runs an action on an order through its actor and answers the updated order.
pub(super) async fn act(
    state: &AppState,
    id: OrderId,
    request: Request,
) -> ApiResult<Json<views::OrderView>> {
    let caller = request.caller;
    let order = state.market.act(id, request).await?;
    match caller {
        // No action leaves a completed order, so the caller of one that just succeeded has not
        // rated the order yet: the answer needs no look-up of ratings.
        Some(caller) => {
            let actor = order.participant(Some(caller))?;
            Ok(Json(views::order_for(&order, actor, caller.user_id, false)))
        }
        None => Ok(Json(views::order(&order))),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PaymentDetailsBody {
    #[schema(inline)]
    payment_details: PaymentDetails,
}

refusals!(UpdatePaymentDetailsRefusals: ValidationError, Forbidden, NotFound, InvalidOrderStatus);

#[utoipa::path(
    patch,
    path = "/api/v1/p2p/orders/{id}",
    operation_id = "updatePaymentDetails",
    tag = "orders",
    request_body = PaymentDetailsBody,
    params(("id" = i64, Path, description = "The id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The order", body = crate::views::OrderView), UpdatePaymentDetailsRefusals)
)]
#[tracing::instrument(skip_all, fields(order_id = id.get()))]
async fn update_payment_details(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Id(id): Id<OrderId>,
    AppJson(body): AppJson<PaymentDetailsBody>,
) -> ApiResult<Json<views::OrderView>> {
    let request = Request {
        payment_details: Some(body.payment_details.0),
        ..Request::by(caller, Action::UpdatePaymentDetails)
    };
    act(&state, id, request).await
}

refusals!(ConfirmPaidRefusals: Forbidden, NotFound, InvalidOrderStatus, IdempotencyKeyReused);

#[utoipa::path(
    post,
    path = "/api/v1/p2p/orders/{id}/confirm-paid",
    operation_id = "confirmPaid",
    tag = "orders",
    params(("id" = i64, Path, description = "The id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The order, paid_by_buyer", body = crate::views::OrderView), ConfirmPaidRefusals)
)]
#[tracing::instrument(skip_all, fields(order_id = id.get()))]
async fn confirm_paid(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Keyed(key): Keyed,
    Id(id): Id<OrderId>,
) -> ApiResult<Json<views::OrderView>> {
    act(
        &state,
        id,
        Request::by(caller, Action::ConfirmPaid).keyed(key),
    )
    .await
}

refusals!(ConfirmReceivedRefusals: Forbidden, NotFound, InvalidOrderStatus, IdempotencyKeyReused);

#[utoipa::path(
    post,
    path = "/api/v1/p2p/orders/{id}/confirm-received",
    operation_id = "confirmReceived",
    tag = "orders",
    params(("id" = i64, Path, description = "The id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The order, completed", body = crate::views::OrderView), ConfirmReceivedRefusals)
)]
#[tracing::instrument(skip_all, fields(order_id = id.get()))]
async fn confirm_received(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Keyed(key): Keyed,
    Id(id): Id<OrderId>,
) -> ApiResult<Json<views::OrderView>> {
    act(
        &state,
        id,
        Request::by(caller, Action::ConfirmReceived).keyed(key),
    )
    .await
}

refusals!(CancelRefusals: Forbidden, NotFound, InvalidOrderStatus, IdempotencyKeyReused);

#[utoipa::path(
    post,
    path = "/api/v1/p2p/orders/{id}/cancel",
    operation_id = "cancelOrder",
    tag = "orders",
    params(("id" = i64, Path, description = "The id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The order, cancelled", body = crate::views::OrderView), CancelRefusals)
)]
#[tracing::instrument(skip_all, fields(order_id = id.get()))]
async fn cancel(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Keyed(key): Keyed,
    Id(id): Id<OrderId>,
) -> ApiResult<Json<views::OrderView>> {
    act(&state, id, Request::by(caller, Action::Cancel).keyed(key)).await
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CallOperatorBody {
    /// What went wrong, for the operator.
    #[schema(inline)]
    reason: Option<Reason>,
}

refusals!(CallOperatorRefusals: ValidationError, Forbidden, NotFound, InvalidOrderStatus, IdempotencyKeyReused);

#[utoipa::path(
    post,
    path = "/api/v1/p2p/orders/{id}/call-operator",
    operation_id = "callOperator",
    tag = "orders",
    request_body = Option<CallOperatorBody>,
    params(("id" = i64, Path, description = "The id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The order, disputed", body = crate::views::OrderView), CallOperatorRefusals)
)]
#[tracing::instrument(skip_all, fields(order_id = id.get()))]
async fn call_operator(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Keyed(key): Keyed,
    Id(id): Id<OrderId>,
    MaybeJson(body): MaybeJson<CallOperatorBody>,
) -> ApiResult<Json<views::OrderView>> {
    let reason = body.reason.map(|r| r.0).filter(|r| !r.is_empty());
    let request = Request {
        text: reason,
        ..Request::by(caller, Action::CallOperator).keyed(key)
    };
    act(&state, id, request).await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct MessageBody {
    #[schema(inline)]
    message: Message,
}

refusals!(PostMessageRefusals: ValidationError, NotFound, IdempotencyKeyReused);

#[utoipa::path(
    post,
    path = "/api/v1/p2p/orders/{id}/messages",
    operation_id = "postMessage",
    tag = "orders",
    request_body = MessageBody,
    params(("id" = i64, Path, description = "The id")),
    security(("bearer" = [])),
    responses((status = 201, description = "The message", body = crate::views::MessageView), PostMessageRefusals)
)]
#[tracing::instrument(skip_all, fields(order_id = id.get()))]
async fn post_message(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Keyed(key): Keyed,
    Id(id): Id<OrderId>,
    AppJson(body): AppJson<MessageBody>,
) -> ApiResult<(StatusCode, Json<views::MessageView>)> {
    let message = state
        .market
        .post_message(caller, id, &body.message.0, key)
        .await?;
    Ok((StatusCode::CREATED, Json(views::message(&message))))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct MessagesParams {
    /// Only messages after this one (0, the default: from the first).
    #[param(inline)]
    after_id: Option<AfterId>,
    /// 100 by default.
    #[param(inline)]
    limit: Option<PageLimit>,
}

refusals!(MessagesRefusals: ValidationError, NotFound);

#[utoipa::path(
    get,
    path = "/api/v1/p2p/orders/{id}/messages",
    operation_id = "listMessages",
    tag = "orders",
    params(("id" = i64, Path, description = "The id"), MessagesParams),
    security(("bearer" = [])),
    responses((status = 200, description = "Messages, oldest first", body = crate::views::Items<crate::views::MessageView>), MessagesRefusals)
)]
#[tracing::instrument(skip_all, fields(order_id = id.get()))]
async fn messages(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Id(id): Id<OrderId>,
    AppQuery(params): AppQuery<MessagesParams>,
) -> ApiResult<Json<views::Items<views::MessageView>>> {
    let limit = params.limit.map_or(crate::config::MAX_PAGE_LIMIT, |l| l.0);
    let after_id = params.after_id.map_or(0, |a| a.0);
    let messages = state.market.messages(caller, id, after_id, limit).await?;
    let items = messages.iter().map(views::message).collect();
    Ok(Json(views::Items { items }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RateBody {
    /// Stars, 1 to 5.
    #[schema(inline)]
    rating: Stars,
    #[schema(inline)]
    comment: Option<Comment>,
}

refusals!(RateRefusals: ValidationError, Forbidden, NotFound, InvalidOrderStatus, AlreadyRated, IdempotencyKeyReused);

#[utoipa::path(
    post,
    path = "/api/v1/p2p/orders/{id}/rate",
    operation_id = "rateOrder",
    tag = "orders",
    request_body = RateBody,
    params(("id" = i64, Path, description = "The id")),
    security(("bearer" = [])),
    responses((status = 201, description = "The rating", body = crate::views::RatingView), RateRefusals)
)]
#[tracing::instrument(skip_all, fields(order_id = id.get()))]
async fn rate(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Keyed(key): Keyed,
    Id(id): Id<OrderId>,
    AppJson(body): AppJson<RateBody>,
) -> ApiResult<(StatusCode, Json<crate::views::RatingView>)> {
    let rating = state
        .market
        .rate(caller, id, body.rating.0, body.comment.map(|c| c.0), key)
        .await?;
    Ok((StatusCode::CREATED, Json(rating)))
}
