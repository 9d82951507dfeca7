//! `/api/v1/admin/webhooks`: where the platform hears about finished orders.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiResult;
use super::extract::{Admin, AppJson, Id, Keyed};
use super::input::{Secret, WebhookUrl};
use super::state::AppState;
use crate::views::WebhookView;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(remove))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateWebhookBody {
    /// Where the events are posted.
    #[schema(inline)]
    url: WebhookUrl,
    /// Signs every delivery (`X-P2P-Signature`, an HMAC-SHA256 of the timestamp and the body);
    /// never shown again.
    #[schema(inline)]
    secret: Secret,
}

refusals!(CreateRefusals: ValidationError, Forbidden, IdempotencyKeyReused);

#[utoipa::path(
    post,
    path = "/api/v1/admin/webhooks",
    operation_id = "createWebhook",
    tag = "admin",
    request_body = CreateWebhookBody,
    security(("bearer" = [])),
    responses((status = 201, description = "The webhook (its secret is never shown)", body = crate::views::WebhookView), CreateRefusals)
)]
#[tracing::instrument(skip_all)]
async fn create(
    State(state): State<AppState>,
    _admin: Admin,
    Keyed(key): Keyed,
    AppJson(body): AppJson<CreateWebhookBody>,
) -> ApiResult<(StatusCode, Json<WebhookView>)> {
    let hook = state
        .market
        .add_webhook(&body.url.0, &body.secret.0, key)
        .await?;
    Ok((StatusCode::CREATED, Json(hook)))
}

refusals!(ListRefusals: Forbidden);

#[utoipa::path(
    get,
    path = "/api/v1/admin/webhooks",
    operation_id = "listWebhooks",
    tag = "admin",
    security(("bearer" = [])),
    responses((status = 200, description = "Webhooks and their delivery state", body = crate::views::Items<crate::views::WebhookView>), ListRefusals)
)]
#[tracing::instrument(skip_all)]
async fn list(
    State(state): State<AppState>,
    _admin: Admin,
) -> ApiResult<Json<crate::views::Items<WebhookView>>> {
    let items = state.market.webhooks().await?;
    Ok(Json(crate::views::Items { items }))
}

refusals!(RemoveRefusals: Forbidden, NotFound);

#[utoipa::path(
    delete,
    path = "/api/v1/admin/webhooks/{id}",
    operation_id = "deleteWebhook",
    tag = "admin",
    params(("id" = i64, Path, description = "The id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Removed"), RemoveRefusals)
)]
#[tracing::instrument(skip_all, fields(webhook_id = id))]
async fn remove(
    State(state): State<AppState>,
    _admin: Admin,
    Id(id): Id<i64>,
) -> ApiResult<StatusCode> {
    state.market.delete_webhook(id).await?;
    Ok(StatusCode::NO_CONTENT)
}
