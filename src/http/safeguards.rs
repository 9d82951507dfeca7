//! Blocks: `POST`/`DELETE /api/v1/users/{id}/block`, `GET /api/v1/me/blocks`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiResult;
use super::extract::{Authenticated, Id, Keyed};
use super::state::AppState;
use crate::domain::UserId;
use crate::views::BlockView;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(block, unblock))
        .routes(routes!(blocks))
}

refusals!(BlockRefusals: ValidationError, Forbidden, NotFound, IdempotencyKeyReused);

#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/block",
    operation_id = "blockUser",
    tag = "accounts",
    params(("id" = i64, Path, description = "The id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The block (a repeat changes nothing)", body = crate::views::BlockView), BlockRefusals)
)]
#[tracing::instrument(skip_all, fields(user = id.get()))]
async fn block(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Keyed(key): Keyed,
    Id(id): Id<UserId>,
) -> ApiResult<Json<BlockView>> {
    Ok(Json(state.market.block(caller, id, key).await?))
}

refusals!(UnblockRefusals: Forbidden, NotFound);

#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}/block",
    operation_id = "unblockUser",
    tag = "accounts",
    params(("id" = i64, Path, description = "The id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Unblocked"), UnblockRefusals)
)]
#[tracing::instrument(skip_all, fields(user = id.get()))]
async fn unblock(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Id(id): Id<UserId>,
) -> ApiResult<StatusCode> {
    state.market.unblock(caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

refusals!(BlocksRefusals: Forbidden);

#[utoipa::path(
    get,
    path = "/api/v1/me/blocks",
    operation_id = "listBlocks",
    tag = "accounts",
    security(("bearer" = [])),
    responses((status = 200, description = "The users the caller blocked", body = crate::views::Items<crate::views::BlockView>), BlocksRefusals)
)]
#[tracing::instrument(skip_all)]
async fn blocks(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> ApiResult<Json<crate::views::Items<BlockView>>> {
    let items = state.market.blocks(caller).await?;
    Ok(Json(crate::views::Items { items }))
}
