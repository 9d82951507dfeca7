//! `/api/v1/operator`: the dispute desk.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiResult;
use super::extract::{AppJson, AppQuery, Id, Keyed, Operator, page};
use super::input::Choice;
use super::input::fields::{PageLimit, PageOffset, Reason, ResolutionChoice};
use super::orders::act;
use super::state::AppState;
use crate::domain::Caller;
use crate::domain::OrderId;
use crate::domain::order::{Action, Order};
use crate::domain::request::Request;
use crate::domain::vocabulary::vocabulary;
use crate::views;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(disputes))
        .routes(routes!(resolve))
        .routes(routes!(approve))
        .routes(routes!(bundle))
        .routes(routes!(signing_key))
        .routes(routes!(reject))
        .routes(routes!(reviews))
        .routes(routes!(clear))
}

vocabulary! {
    /// Which disputes: those waiting for an operator, or those resolved.
    enum DisputeStatus {
        Open = "open",
        Resolved = "resolved",
    }
}

type DisputeStatusChoice = Choice<DisputeStatus>;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct DisputesParams {
    /// `open` by default.
    #[param(inline)]
    status: Option<DisputeStatusChoice>,
    /// 20 by default.
    #[param(inline)]
    limit: Option<PageLimit>,
    #[param(inline)]
    offset: Option<PageOffset>,
}

refusals!(DisputesRefusals: ValidationError, Forbidden);

#[utoipa::path(
    get,
    path = "/api/v1/operator/disputes",
    operation_id = "listDisputes",
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
    let open = params
        .status
        .is_none_or(|Choice(s)| s == DisputeStatus::Open);
    let (limit, offset) = page(params.limit, params.offset);
    let found = state.market.disputes(open, limit, offset).await?;
    page_of(&state, caller, found, limit, offset).await
}

/// A page of the desk's orders, each with what the operator may do with it.
async fn page_of(
    state: &AppState,
    caller: Caller,
    (orders, total): (Vec<Order>, i64),
    limit: i64,
    offset: i64,
) -> ApiResult<Json<views::Page<views::OrderView>>> {
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
    /// `release`: the USDT goes to the buyer; `refund`: back to the seller.
    #[schema(inline)]
    resolution: ResolutionChoice,
    /// Why, for the parties.
    #[schema(inline)]
    note: Option<Reason>,
}

refusals!(ResolveRefusals: ValidationError, Forbidden, NotFound, InvalidOrderStatus, IdempotencyKeyReused);

#[utoipa::path(
    post,
    path = "/api/v1/operator/orders/{id}/resolve",
    operation_id = "resolveDispute",
    tag = "operator",
    request_body = ResolveBody,
    params(("id" = i64, Path, description = "The id")),
    security(("bearer" = [])),
    description = "Resolves a dispute. An order of at least `P2P_DUAL_CONTROL_KOPECKS` takes four eyes: the resolution is only proposed (`202`, the order still `disputed` with `dispute.proposal`) until a second operator approves it (`POST …/approve`) or someone rejects it (`POST …/reject`).",
    responses(
        (status = 200, description = "The order, completed (release) or cancelled (refund)", body = crate::views::OrderView),
        (status = 202, description = "The resolution, proposed: the order waits for a second operator's approval", body = crate::views::OrderView),
        ResolveRefusals
    )
)]
#[tracing::instrument(skip_all, fields(order_id = id.get()))]
async fn resolve(
    State(state): State<AppState>,
    Operator(caller): Operator,
    Keyed(key): Keyed,
    Id(id): Id<OrderId>,
    AppJson(body): AppJson<ResolveBody>,
) -> ApiResult<(StatusCode, Json<views::OrderView>)> {
    let resolution = body.resolution.0;
    let note = body.note.map(|n| n.0).filter(|n| !n.is_empty());
    let request = Request {
        text: note,
        ..Request::by(caller, Action::Resolve(resolution)).keyed(key)
    };
    let Json(order) = act(&state, id, request).await?;
    let proposed = order.status == "disputed";
    let status = if proposed {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(order)))
}

refusals!(ApproveRefusals: Forbidden, NotFound, InvalidOrderStatus, IdempotencyKeyReused);

#[utoipa::path(
    post,
    path = "/api/v1/operator/orders/{id}/approve",
    operation_id = "approveResolution",
    tag = "operator",
    description = "A second operator lets the proposed resolution take effect. The operator who proposed it is refused (`403`); with no proposal, `409 INVALID_ORDER_STATUS`.",
    params(("id" = i64, Path, description = "The id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The order, completed (release) or cancelled (refund)", body = crate::views::OrderView), ApproveRefusals)
)]
#[tracing::instrument(skip_all, fields(order_id = id.get()))]
async fn approve(
    State(state): State<AppState>,
    Operator(caller): Operator,
    Keyed(key): Keyed,
    Id(id): Id<OrderId>,
) -> ApiResult<Json<views::OrderView>> {
    act(&state, id, Request::by(caller, Action::Approve).keyed(key)).await
}

#[utoipa::path(
    post,
    path = "/api/v1/operator/orders/{id}/reject",
    operation_id = "rejectResolution",
    tag = "operator",
    description = "Turns the proposed resolution down (any operator, its proposer too): the dispute is back in the queue, to be resolved again. With no proposal, `409 INVALID_ORDER_STATUS`.",
    params(("id" = i64, Path, description = "The id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The order, still disputed, without a proposal", body = crate::views::OrderView), ApproveRefusals)
)]
#[tracing::instrument(skip_all, fields(order_id = id.get()))]
async fn reject(
    State(state): State<AppState>,
    Operator(caller): Operator,
    Keyed(key): Keyed,
    Id(id): Id<OrderId>,
) -> ApiResult<Json<views::OrderView>> {
    act(&state, id, Request::by(caller, Action::Reject).keyed(key)).await
}

refusals!(BundleRefusals: Forbidden, NotFound);

#[utoipa::path(
    get,
    path = "/api/v1/operator/orders/{id}/bundle",
    operation_id = "evidenceBundle",
    tag = "operator",
    description = "The order's evidence as one document, signed: the order, its whole history and chat, every version of its payment details, the attachments' SHA-256 and both parties' track records. `signature` is Ed25519 over the UTF-8 bytes of `bundle` (the bundle's JSON as a string), under `public_key`, which `GET /api/v1/signing-key` also serves.",
    params(("id" = i64, Path, description = "The id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The signed bundle", body = crate::views::SignedBundle), BundleRefusals)
)]
#[tracing::instrument(skip_all, fields(order_id = id.get()))]
async fn bundle(
    State(state): State<AppState>,
    Operator(caller): Operator,
    Id(id): Id<OrderId>,
) -> ApiResult<Json<views::SignedBundle>> {
    Ok(Json(state.market.evidence_bundle(caller, id).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/signing-key",
    operation_id = "signingKey",
    tag = "operator",
    description = "The public key evidence bundles are signed with, for auditors.",
    responses((status = 200, description = "The key", body = crate::views::SigningKeyView))
)]
async fn signing_key(State(state): State<AppState>) -> Json<views::SigningKeyView> {
    Json(views::SigningKeyView {
        algorithm: "Ed25519",
        public_key: state.market.public_key_hex(),
    })
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ReviewsParams {
    /// 20 by default.
    #[param(inline)]
    limit: Option<PageLimit>,
    #[param(inline)]
    offset: Option<PageOffset>,
}

refusals!(ReviewsRefusals: ValidationError, Forbidden);

#[utoipa::path(
    get,
    path = "/api/v1/operator/reviews",
    operation_id = "listReviews",
    tag = "operator",
    description = "Withdrawals a rule held for review, oldest first: pending, escrow frozen, unseen by their buyer until cleared (`POST …/clear`) or cancelled (`POST /api/v1/p2p/orders/{id}/cancel`).",
    params(ReviewsParams),
    security(("bearer" = [])),
    responses((status = 200, description = "Held orders", body = crate::views::Page<crate::views::OrderView>), ReviewsRefusals)
)]
#[tracing::instrument(skip_all)]
async fn reviews(
    State(state): State<AppState>,
    Operator(caller): Operator,
    AppQuery(params): AppQuery<ReviewsParams>,
) -> ApiResult<Json<views::Page<views::OrderView>>> {
    let (limit, offset) = page(params.limit, params.offset);
    let found = state.market.held_orders(limit, offset).await?;
    page_of(&state, caller, found, limit, offset).await
}

refusals!(ClearRefusals: Forbidden, NotFound, InvalidOrderStatus, IdempotencyKeyReused);

#[utoipa::path(
    post,
    path = "/api/v1/operator/orders/{id}/clear",
    operation_id = "clearReview",
    tag = "operator",
    params(("id" = i64, Path, description = "The id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The order, cleared: its buyer sees it and its payment window starts now", body = crate::views::OrderView), ClearRefusals)
)]
#[tracing::instrument(skip_all, fields(order_id = id.get()))]
async fn clear(
    State(state): State<AppState>,
    Operator(caller): Operator,
    Keyed(key): Keyed,
    Id(id): Id<OrderId>,
) -> ApiResult<Json<views::OrderView>> {
    act(&state, id, Request::by(caller, Action::Clear).keyed(key)).await
}
