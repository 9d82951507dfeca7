//! Every route, merged: each resource's router with its OpenAPI description, the service routes,
//! and the layers every request passes.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use utoipa_axum::router::OpenApiRouter;

use super::error::ApiError;
use super::safeguards;
use super::state::AppState;
use super::{accounts, ads, attachments, events, idempotency, layers, openapi, operator, orders};
use super::{payment_methods, prices, restrictions, service, webhooks};
use crate::config::MAX_BODY_BYTES;
use crate::domain::ErrorCode;
use crate::market::Market;
use crate::telemetry;

pub fn router(market: Arc<Market>) -> Router {
    let openapi = Arc::new(openapi_document(market.config()));
    let state = AppState {
        market,
        metrics: telemetry::metrics_handle(),
        in_flight: Arc::new(AtomicUsize::new(0)),
        openapi,
    };
    Router::from(api())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            idempotency::layer,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            layers::shed_load,
        ))
        .layer(middleware::from_fn(layers::observe))
        .with_state(state)
}

/// Every route, each with its OpenAPI description: a route can only be added with one.
fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(ads::router())
        .merge(orders::router())
        .merge(attachments::router())
        .merge(accounts::router())
        .merge(operator::router())
        .merge(events::router())
        .merge(safeguards::router())
        .merge(restrictions::router())
        .merge(payment_methods::router())
        .merge(prices::router())
        .merge(webhooks::router())
        .merge(service::router())
}

/// The OpenAPI document of every route (generated from the code, so it cannot drift).
pub fn openapi_document(config: &crate::config::Config) -> serde_json::Value {
    openapi::finish(api().into_openapi(), config)
}

async fn not_found() -> ApiError {
    ApiError(ErrorCode::NotFound.into())
}

/// A known path asked with a method it does not serve; the router adds `Allow`.
async fn method_not_allowed() -> ApiError {
    ApiError(ErrorCode::MethodNotAllowed.into())
}
