//! `/api/v1/admin/webhooks`: where the platform hears about finished orders.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiResult;
use super::extract::{Admin, AppJson, Id};
use crate::market::WebhookView;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/admin/webhooks", get(list).post(create))
        .route("/api/v1/admin/webhooks/{id}", delete(remove))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    url: String,
    secret: String,
}

#[tracing::instrument(skip_all)]
async fn create(
    State(state): State<AppState>,
    _admin: Admin,
    AppJson(body): AppJson<CreateBody>,
) -> ApiResult<(StatusCode, Json<WebhookView>)> {
    let hook = state.market.add_webhook(&body.url, &body.secret).await?;
    Ok((StatusCode::CREATED, Json(hook)))
}

#[tracing::instrument(skip_all)]
async fn list(State(state): State<AppState>, _admin: Admin) -> ApiResult<Json<Value>> {
    let items = state.market.webhooks().await?;
    Ok(Json(json!({ "items": items })))
}

#[tracing::instrument(skip_all, fields(webhook_id = id))]
async fn remove(State(state): State<AppState>, _admin: Admin, Id(id): Id) -> ApiResult<StatusCode> {
    state.market.delete_webhook(id).await?;
    Ok(StatusCode::NO_CONTENT)
}
