//! `/api/v1/operator`: the dispute desk.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiResult;
use super::extract::{AppJson, AppQuery, Id, Keyed, Operator, page};
use super::orders::act;
use super::state::AppState;
use crate::domain::OrderId;
use crate::domain::order::Request;
use crate::domain::order::{Action, Resolution};
use crate::domain::{DomainError, validate};
use crate::views;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(disputes))
        .routes(routes!(resolve))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct DisputesParams {
    status: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

refusals!(DisputesRefusals: ValidationError, Forbidden);

#[utoipa::path(
    get,
    path = "/api/v1/operator/disputes",
    tag = "operator",
    params(DisputesParams),
    security(("bearer" = [])),
    responses((status = 200, description = "Disputed orders", body = crate::views::Page<crate::views::OrderView>), DisputesRefusals)
)]
#[tracing::instrument(skip_all)]
async fn disputes(
    State(state): State<AppState>,
    Operator(caller): Operator,
    AppQuery(params): AppQuery<DisputesParams>,
) -> ApiResult<Json<views::Page<views::OrderView>>> {
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
    Ok(Json(views::Page {
        items,
        total,
        limit,
        offset,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ResolveBody {
    resolution: String,
    note: Option<String>,
}

refusals!(ResolveRefusals: ValidationError, Forbidden, NotFound, InvalidOrderStatus, IdempotencyKeyReused);

#[utoipa::path(
    post,
    path = "/api/v1/operator/orders/{id}/resolve",
    tag = "operator",
    request_body = ResolveBody,
    params(("id" = i64, Path, description = "The id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The order, completed (release) or cancelled (refund)", body = crate::views::OrderView), ResolveRefusals)
)]
#[tracing::instrument(skip_all, fields(order_id = id.get()))]
async fn resolve(
    State(state): State<AppState>,
    Operator(caller): Operator,
    Keyed(key): Keyed,
    Id(id): Id<OrderId>,
    AppJson(body): AppJson<ResolveBody>,
) -> ApiResult<Json<views::OrderView>> {
    let resolution = Resolution::parse(&body.resolution)
        .ok_or_else(|| DomainError::validation("resolution must be release or refund"))?;
    let note = body
        .note
        .map(|n| validate::text("note", &n, 0, validate::MAX_REASON_CHARS))
        .transpose()?
        .filter(|n| !n.is_empty());
    let request = Request {
        text: note,
        ..Request::by(caller, Action::Resolve(resolution)).keyed(key)
    };
    act(&state, id, request).await
}
