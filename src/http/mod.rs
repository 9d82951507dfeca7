//! The HTTP API: one router per resource, merged here; extractors; errors; views.

mod accounts;
mod ads;
pub mod error;
mod events;
pub(crate) mod extract;
mod idempotency;
mod openapi;
mod operator;
mod orders;
mod safeguards;
mod webhooks;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

use axum::{Json, Router};
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::json;
use tracing::Instrument;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::error::ApiError;
use crate::config::MAX_BODY_BYTES;
use crate::domain::{DomainError, ErrorCode};
use crate::market::Market;
use crate::telemetry;

#[derive(Clone)]
pub struct AppState {
    pub market: Arc<Market>,
    pub metrics: PrometheusHandle,
    /// Requests being handled now, against the bound of `max_in_flight`.
    in_flight: Arc<AtomicUsize>,
}

pub fn router(market: Arc<Market>) -> Router {
    let state = AppState {
        market,
        metrics: telemetry::metrics_handle(),
        in_flight: Arc::new(AtomicUsize::new(0)),
    };
    Router::from(api())
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            idempotency::layer,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), shed_load))
        .layer(middleware::from_fn(observe))
        .with_state(state)
}

/// Every route, each with its OpenAPI description: a route can only be added with one.
fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(ads::router())
        .merge(orders::router())
        .merge(accounts::router())
        .merge(operator::router())
        .merge(events::router())
        .merge(safeguards::router())
        .merge(webhooks::router())
        .routes(routes!(health))
        .routes(routes!(ready))
        .routes(routes!(metrics_text))
        .routes(routes!(openapi_json))
}

/// The OpenAPI document of every route (generated from the code, so it cannot drift).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    openapi::finish(api().into_openapi())
}

/// The header that carries a request's id, generated when the client sends none.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// One span (request id, method, route, user id) and one latency sample per request, labelled
/// by the route's pattern (never the raw path, so the labels stay few); echoes the request id.
async fn observe(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = request.method().as_str().to_owned();
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(new_request_id, str::to_owned);
    let started = Instant::now();
    let span = tracing::info_span!(
        "request",
        %request_id,
        %method,
        %route,
        user_id = tracing::field::Empty,
    );
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status();
    let elapsed = started.elapsed();
    span.in_scope(|| {
        let latency_ms = elapsed.as_secs_f64() * 1000.0;
        if status.is_server_error() {
            tracing::warn!(status = status.as_u16(), latency_ms, "request failed");
        } else {
            tracing::debug!(status = status.as_u16(), latency_ms, "request completed");
        }
    });
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    let labels = [
        ("route", route),
        ("method", method),
        ("status", status.as_u16().to_string()),
    ];
    metrics::counter!(telemetry::HTTP_REQUESTS, &labels).increment(1);
    metrics::histogram!(telemetry::HTTP_DURATION, &labels[..2]).record(elapsed.as_secs_f64());
    response
}

/// Answers `503 OVERLOADED` at once when `max_in_flight` requests are already being handled,
/// rather than letting them queue without end.
async fn shed_load(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let bound = state.market.config().max_in_flight;
    if state.in_flight.fetch_add(1, Ordering::AcqRel) >= bound {
        state.in_flight.fetch_sub(1, Ordering::AcqRel);
        metrics::counter!(telemetry::HTTP_SHED).increment(1);
        return ApiError(DomainError::new(
            ErrorCode::Overloaded,
            "The service is handling too many requests, retry later",
        ))
        .into_response();
    }
    struct Leaving(Arc<AtomicUsize>);
    impl Drop for Leaving {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::AcqRel);
        }
    }
    let _leaving = Leaving(state.in_flight.clone());
    next.run(request).await
}

fn new_request_id() -> String {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    hex::encode(bytes)
}

/// This document, built once.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "service", responses((status = 200, description = "The OpenAPI 3.1 document of every route", body = Object)))]
async fn openapi_json() -> Json<&'static utoipa::openapi::OpenApi> {
    static DOCUMENT: std::sync::OnceLock<utoipa::openapi::OpenApi> = std::sync::OnceLock::new();
    Json(DOCUMENT.get_or_init(openapi_document))
}

async fn not_found() -> ApiError {
    ApiError(ErrorCode::NotFound.into())
}

#[utoipa::path(get, path = "/health", tag = "service", responses((status = 200, description = "Alive", body = Object)))]
async fn health() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

#[utoipa::path(get, path = "/ready", tag = "service", responses(
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

#[utoipa::path(get, path = "/metrics", tag = "service", responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")))]
async fn metrics_text(State(state): State<AppState>) -> String {
    state.metrics.render()
}
