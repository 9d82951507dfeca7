//! What every request passes: a span and latency sample labelled by route, and load shedding.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use super::error::ApiError;
use super::state::AppState;
use crate::domain::{DomainError, ErrorCode};
use crate::telemetry;

/// The header that carries a request's id, generated when the client sends none.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// One span (request id, method, route, user id) and one latency sample per request, labelled
/// by the route's pattern (never the raw path, so the labels stay few); echoes the request id.
pub(super) async fn observe(request: Request, next: Next) -> Response {
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
pub(super) async fn shed_load(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
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
