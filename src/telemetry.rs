//! Logs, traces and metrics.
//!
//! Every metric the service exports is named here, so the dashboards in `grafana/` and the code
//! agree on one list (a test checks every dashboard query against a live scrape). Labels carry
//! only bounded values: route patterns, statuses, sides, reasons, error codes, actor kinds; never
//! a raw path, an id or anything a user typed.

use std::sync::OnceLock;
use std::time::Instant;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::METRICS_UPKEEP_INTERVAL;
use crate::domain::order::{Action, Order, OrderStatus};

pub const HTTP_REQUESTS: &str = "p2p_http_requests_total";
pub const HTTP_DURATION: &str = "p2p_http_request_duration_seconds";
pub const REFUSALS: &str = "p2p_refusals_total";

pub const ORDERS_CREATED: &str = "p2p_orders_created_total";
pub const ORDERS_PAID: &str = "p2p_orders_paid_total";
pub const ORDERS_COMPLETED: &str = "p2p_orders_completed_total";
pub const ORDERS_CANCELLED: &str = "p2p_orders_cancelled_total";
pub const ORDERS_EXPIRED: &str = "p2p_orders_expired_total";
pub const ORDERS_DISPUTED: &str = "p2p_orders_disputed_total";
pub const ORDERS_RESOLVED: &str = "p2p_orders_resolved_total";
pub const ESCROW_FROZEN: &str = "p2p_escrow_frozen_kopecks_total";
pub const ESCROW_RELEASED: &str = "p2p_escrow_released_kopecks_total";
pub const ESCROW_REFUNDED: &str = "p2p_escrow_refunded_kopecks_total";
pub const ORDERS_ACTIVE: &str = "p2p_orders_active";
pub const DISPUTES_OPEN: &str = "p2p_disputes_open";
pub const ADS: &str = "p2p_ads";
pub const ADS_CREATED: &str = "p2p_ads_created_total";
pub const WALLET_TRANSACTIONS: &str = "p2p_wallet_transactions_total";

pub const ACTORS_LIVE: &str = "p2p_actors_live";
pub const ACTOR_MESSAGES: &str = "p2p_actor_messages_total";
pub const ACTOR_MESSAGE_DURATION: &str = "p2p_actor_message_seconds";
pub const ACTOR_CALLS_IN_FLIGHT: &str = "p2p_actor_calls_in_flight";

pub const STORE_COMMIT_DURATION: &str = "p2p_store_commit_seconds";
pub const STORE_TRANSACTIONS: &str = "p2p_store_transactions_total";
pub const STORE_COMMITS: &str = "p2p_store_commits_total";
pub const STORE_BATCH_SIZE: &str = "p2p_store_batch_size";
pub const STORE_COMMIT_QUEUE_DEPTH: &str = "p2p_store_commit_queue_depth";
pub const STORE_COMMIT_QUEUE_BOUND: &str = "p2p_store_commit_queue_bound";
pub const STORE_POOL_CONNECTIONS: &str = "p2p_store_pool_connections";
pub const STORE_CHECKPOINT_DURATION: &str = "p2p_store_checkpoint_seconds";
pub const STORE_WAL_FRAMES: &str = "p2p_store_wal_frames";

pub const ACTOR_CALLS_SHED: &str = "p2p_actor_calls_shed_total";
pub const HTTP_SHED: &str = "p2p_http_requests_shed_total";
pub const RATE_LIMITED: &str = "p2p_rate_limited_total";
pub const EVENT_STREAMS: &str = "p2p_event_streams";
pub const EVENT_STREAMS_CUT: &str = "p2p_event_streams_cut_total";
pub const WEBHOOK_DELIVERIES: &str = "p2p_webhook_deliveries_total";

pub const AUDIT_VIOLATIONS: &str = "p2p_audit_violations";
pub const AUDIT_RUNS: &str = "p2p_audit_runs_total";
pub const AUDIT_DURATION: &str = "p2p_audit_seconds";

/// Latency buckets from 100 µs to 10 s.
const SECONDS_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];
const BATCH_BUCKETS: [f64; 10] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// The process-wide Prometheus recorder, installed on first use and shared by every router of
/// the process. A thread of its own runs the recorder's upkeep: until then every histogram sample
/// is kept one by one, so a server nobody scraped grew by hundreds of bytes per order.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &SECONDS_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full(STORE_BATCH_SIZE.into()), &BATCH_BUCKETS)
                })
                .expect("the bucket lists are not empty");
            let handle = match builder.install_recorder() {
                Ok(handle) => handle,
                // Another recorder is installed already: keep an unattached one.
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            };
            let upkeep = handle.clone();
            let spawned = std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(METRICS_UPKEEP_INTERVAL);
                        upkeep.run_upkeep();
                    }
                });
            if let Err(error) = spawned {
                tracing::error!(%error, "cannot start the metrics upkeep; scrape /metrics to bound its memory");
            }
            handle
        })
        .clone()
}

/// Installs the global log subscriber (`RUST_LOG` filters it; `info` by default).
pub fn init_logging(format: crate::config::LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        crate::config::LogFormat::Text => builder.init(),
        crate::config::LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .init(),
    }
}

/// Counts a committed transition of `order` (already in its new status).
pub fn record_transition(order: &Order, action: Action) {
    let side = order.side.as_str();
    let amount = order.usdt_amount.get() as u64;
    match order.status {
        OrderStatus::PaidByBuyer => metrics::counter!(ORDERS_PAID, "side" => side).increment(1),
        OrderStatus::Disputed => metrics::counter!(ORDERS_DISPUTED, "side" => side).increment(1),
        OrderStatus::Completed => {
            metrics::counter!(ORDERS_COMPLETED, "side" => side).increment(1);
            metrics::counter!(ESCROW_RELEASED, "side" => side).increment(amount);
        }
        OrderStatus::Cancelled => {
            let reason = order.cancel_reason.map_or("unknown", |r| r.as_str());
            metrics::counter!(ORDERS_CANCELLED, "side" => side, "reason" => reason).increment(1);
            metrics::counter!(ESCROW_REFUNDED, "side" => side).increment(amount);
            if action == Action::Expire {
                metrics::counter!(ORDERS_EXPIRED, "side" => side).increment(1);
            }
        }
        OrderStatus::Pending => {}
    }
    if let Action::Resolve(resolution) = action {
        metrics::counter!(ORDERS_RESOLVED, "side" => side, "resolution" => resolution.as_str())
            .increment(1);
    }
}

pub fn record_order_created(order: &Order) {
    let side = order.side.as_str();
    metrics::counter!(ORDERS_CREATED, "side" => side).increment(1);
    metrics::counter!(ESCROW_FROZEN, "side" => side).increment(order.usdt_amount.get() as u64);
}

/// Counts one message handled by an actor of `kind`.
pub fn record_actor_message(kind: &'static str, message: &'static str, started: Instant) {
    metrics::counter!(ACTOR_MESSAGES, "kind" => kind, "message" => message).increment(1);
    metrics::histogram!(ACTOR_MESSAGE_DURATION, "kind" => kind)
        .record(started.elapsed().as_secs_f64());
}
