//! `/api/v1/operator`: the dispute desk.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

use super::AppState;
use super::error::ApiResult;
use super::extract::{AppJson, AppQuery, Id, Operator, page};
use super::orders::act;
use crate::actors::order::Request;
use crate::domain::order::{Action, Resolution};
use crate::domain::{DomainError, validate};
use crate::views;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/operator/disputes", get(disputes))
        .route("/api/v1/operator/orders/{id}/resolve", post(resolve))
}

#[derive(Deserialize)]
struct DisputesParams {
    status: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

#[tracing::instrument(skip_all)]
async fn disputes(
    State(state): State<AppState>,
    Operator(caller): Operator,
    AppQuery(params): AppQuery<DisputesParams>,
) -> ApiResult<Json<Value>> {
    let open = match params.status.as_deref() {
        None | Some("open") => true,
        Some("resolved") => false,
        Some(other) => {
            return Err(DomainError::validation(format!("unknown status {other:?}")).into());
        }
    };
    let (limit, offset) = page(params.limit, params.offset)?;
    let (orders, total) = state.market.disputes(open, limit, offset).await?;
    let items = state.market.order_views(caller, &orders).await?;
    Ok(Json(views::page(items, total, limit, offset)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveBody {
    resolution: String,
    note: Option<String>,
}

#[tracing::instrument(skip_all, fields(order_id = id))]
async fn resolve(
    State(state): State<AppState>,
    Operator(caller): Operator,
    Id(id): Id,
    AppJson(body): AppJson<ResolveBody>,
) -> ApiResult<Json<Value>> {
    let resolution = Resolution::parse(&body.resolution)
        .ok_or_else(|| DomainError::validation("resolution must be release or refund"))?;
    let note = body
        .note
        .map(|n| validate::text("note", &n, 0, validate::MAX_REASON_CHARS))
        .transpose()?
        .filter(|n| !n.is_empty());
    let request = Request {
        text: note,
        ..Request::by(caller, Action::Resolve(resolution))
    };
    act(&state, id, request).await
}
