//! What every handler is given: the market, the metrics handle, the count of requests in flight.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use metrics_exporter_prometheus::PrometheusHandle;

use crate::market::Market;

#[derive(Clone)]
pub struct AppState {
    pub market: Arc<Market>,
    pub metrics: PrometheusHandle,
    /// Requests being handled now, against the bound of `max_in_flight`.
    pub(super) in_flight: Arc<AtomicUsize>,
    /// The OpenAPI document of every route, built once.
    pub(super) openapi: Arc<serde_json::Value>,
}
