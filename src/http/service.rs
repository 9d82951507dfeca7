//! The service's own routes: liveness, readiness, metrics, the OpenAPI document.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(ready))
        .routes(routes!(metrics_text))
        .routes(routes!(openapi_json))
}

/// The document of every route, built once when the router was.
#[utoipa::path(get, path = "/api/v1/openapi.json", operation_id = "getOpenApi", tag = "service", responses((status = 200, description = "The OpenAPI 3.1 document of every route", body = Object)))]
async fn openapi_json(State(state): State<AppState>) -> Json<std::sync::Arc<serde_json::Value>> {
    Json(state.openapi.clone())
}

#[utoipa::path(get, path = "/health", operation_id = "getHealth", tag = "service", responses((status = 200, description = "Alive", body = Object)))]
async fn health() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

#[utoipa::path(get, path = "/ready", operation_id = "getReady", tag = "service", responses(
    (status = 200, description = "The database answers", body = Object),
    (status = 503, description = "The database does not answer", body = Object)
))]
async fn ready(State(state): State<AppState>) -> Response {
    if state.market.ready().await {
        Json(json!({"status": "ready"})).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "database unreachable"})),
        )
            .into_response()
    }
}

#[utoipa::path(get, path = "/metrics", operation_id = "getMetrics", tag = "service", responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")))]
async fn metrics_text(State(state): State<AppState>) -> String {
    crate::telemetry::collect_process_metrics();
    state.metrics.render()
}
