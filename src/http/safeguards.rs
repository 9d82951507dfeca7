//! Blocks: `POST`/`DELETE /api/v1/users/{id}/block`, `GET /api/v1/me/blocks`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiResult;
use super::extract::{Authenticated, Id};
use crate::market::BlockView;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/users/{id}/block", post(block).delete(unblock))
        .route("/api/v1/me/blocks", get(blocks))
}

#[tracing::instrument(skip_all, fields(user = id))]
async fn block(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Id(id): Id,
) -> ApiResult<Json<BlockView>> {
    Ok(Json(state.market.block(caller, id).await?))
}

#[tracing::instrument(skip_all, fields(user = id))]
async fn unblock(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    state.market.unblock(caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[tracing::instrument(skip_all)]
async fn blocks(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> ApiResult<Json<Value>> {
    let items = state.market.blocks(caller).await?;
    Ok(Json(json!({ "items": items })))
}
