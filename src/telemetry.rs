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
use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};

use crate::domain::ErrorCode;
use crate::domain::ad::AdType;
use crate::domain::order::{
    Action, CancelReason, Order, OrderStatus, Participant, Resolution, Side,
};
use crate::domain::wallet::TransactionKind;

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
pub const ORDERS_OVERDUE: &str = "p2p_orders_overdue";
pub const ADS: &str = "p2p_ads";
pub const ADS_CREATED: &str = "p2p_ads_created_total";
pub const WALLET_TRANSACTIONS: &str = "p2p_wallet_transactions_total";

pub const ACTORS_LIVE: &str = "p2p_actors_live";
pub const ACTOR_MESSAGES: &str = "p2p_actor_messages_total";
pub const ACTOR_MESSAGE_DURATION: &str = "p2p_actor_message_seconds";
/// From a dispute's opening to the order's end, by who ended it (`operator` or `seller`).
pub const DISPUTE_RESOLUTION_DURATION: &str = "p2p_dispute_resolution_seconds";
pub const ACTOR_CALLS_IN_FLIGHT: &str = "p2p_actor_calls_in_flight";

pub const STORE_COMMIT_DURATION: &str = "p2p_store_commit_seconds";
pub const STORE_TRANSACTIONS: &str = "p2p_store_transactions_total";
pub const STORE_COMMITS: &str = "p2p_store_commits_total";
pub const STORE_ROUND_TRIPS: &str = "p2p_store_round_trips_total";
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
pub const AUDIT_LAST_RUN: &str = "p2p_audit_last_run_timestamp_seconds";
/// `process_cpu_seconds_total` to the clock tick: the standard counter is whole seconds (the
/// exporter's counters are integers), too coarse for CPU per order over a short run.
pub const PROCESS_CPU_SECONDS: &str = "p2p_process_cpu_seconds";

/// Latency buckets from 100 µs to 10 s.
const SECONDS_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];
/// Dispute buckets from a minute to a week.
const DISPUTE_BUCKETS: [f64; 11] = [
    60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0, 172800.0, 604800.0,
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
                // A full name wins over the `_seconds` suffix.
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(DISPUTE_RESOLUTION_DURATION.into()),
                        &DISPUTE_BUCKETS,
                    )
                })
                .expect("the bucket lists are not empty");
            let handle = match builder.install_recorder() {
                Ok(handle) => handle,
                // Another recorder is installed already: keep an unattached one.
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            };
            describe();
            start_at_zero();
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

/// The kinds of actor, as the `kind` label names them.
pub const ACTOR_KINDS: [&str; 3] = ["wallet", "ad", "order"];

/// Why an order was disputed: a party called an operator, or the seller let the release window
/// close.
pub const DISPUTE_CAUSES: [&str; 3] = ["buyer", "seller", "release_timeout"];

/// Every family's `# HELP`, with its unit.
fn describe() {
    use Unit::{Count, Seconds};
    let counters: [(&'static str, Unit, &'static str); 23] = [
        (
            HTTP_REQUESTS,
            Count,
            "HTTP requests answered, by route pattern, method and status",
        ),
        (
            REFUSALS,
            Count,
            "Requests refused with a 4xx, by error code",
        ),
        (
            ORDERS_CREATED,
            Count,
            "Orders created (escrow frozen), by side",
        ),
        (ORDERS_PAID, Count, "Orders the buyer marked paid, by side"),
        (
            ORDERS_COMPLETED,
            Count,
            "Orders completed (escrow released to the buyer), by side",
        ),
        (
            ORDERS_CANCELLED,
            Count,
            "Orders cancelled (escrow refunded), by side and reason",
        ),
        (
            ORDERS_EXPIRED,
            Count,
            "Pending orders cancelled when their payment window closed, by side",
        ),
        (
            ORDERS_DISPUTED,
            Count,
            "Orders disputed, by side and cause (buyer, seller, release_timeout)",
        ),
        (
            ORDERS_RESOLVED,
            Count,
            "Disputes an operator resolved, by side and resolution",
        ),
        (
            ESCROW_FROZEN,
            Unit::Count,
            "Escrow frozen for new orders, in kopecks, by side",
        ),
        (
            ESCROW_RELEASED,
            Unit::Count,
            "Escrow released to buyers, in kopecks, by side",
        ),
        (
            ESCROW_REFUNDED,
            Unit::Count,
            "Escrow refunded to sellers, in kopecks, by side",
        ),
        (ADS_CREATED, Count, "Ads posted, by type"),
        (
            WALLET_TRANSACTIONS,
            Count,
            "Platform transactions posted, by kind",
        ),
        (
            ACTOR_MESSAGES,
            Count,
            "Messages actors handled, by actor kind and message",
        ),
        (
            STORE_TRANSACTIONS,
            Count,
            "Database transactions the committer ran, by mode (fast or careful)",
        ),
        (
            STORE_ROUND_TRIPS,
            Count,
            "Flights of statements PostgreSQL's committers sent, each awaiting its answers \
             (one round trip; preparing new statements is a flight of its own)",
        ),
        (
            STORE_COMMITS,
            Count,
            "Commits the committer answered, by outcome (committed, refused, failed)",
        ),
        (
            ACTOR_CALLS_SHED,
            Count,
            "Calls refused because the actor's mailbox was full, by actor kind",
        ),
        (
            HTTP_SHED,
            Count,
            "Requests answered 503 because too many were in flight",
        ),
        (
            RATE_LIMITED,
            Count,
            "Requests answered 429 because the token was over its rate",
        ),
        (
            EVENT_STREAMS_CUT,
            Count,
            "Event streams cut off for falling too far behind",
        ),
        (
            WEBHOOK_DELIVERIES,
            Count,
            "Webhook delivery attempts, by outcome (delivered, failed)",
        ),
    ];
    for (name, unit, help) in counters {
        describe_counter!(name, unit, help);
    }
    describe_counter!(
        AUDIT_RUNS,
        Count,
        "Background audits run, by outcome (ok, violations, failed)"
    );
    let gauges: [(&'static str, &'static str); 14] = [
        (
            ORDERS_OVERDUE,
            "Pending orders past their payment window, not yet expired",
        ),
        (ORDERS_ACTIVE, "Active orders now, by status and side"),
        (DISPUTES_OPEN, "Disputed orders not yet resolved"),
        (ADS, "Ads now, by type and status"),
        (ACTORS_LIVE, "Actors resident on this node, by kind"),
        (
            ACTOR_CALLS_IN_FLIGHT,
            "Calls waiting for an actor's answer, by kind",
        ),
        (
            STORE_COMMIT_QUEUE_DEPTH,
            "Commits waiting for the committer",
        ),
        (
            STORE_COMMIT_QUEUE_BOUND,
            "Commits that may wait for the committer before writes are shed",
        ),
        (
            STORE_POOL_CONNECTIONS,
            "Connections of the read pool, by state (idle, busy)",
        ),
        (
            STORE_WAL_FRAMES,
            "SQLite's write-ahead log after the last checkpoint, in 4 KiB frames",
        ),
        (EVENT_STREAMS, "Event streams open on this node"),
        (AUDIT_VIOLATIONS, "Broken invariants the last audit found"),
        (AUDIT_LAST_RUN, "When the last audit ran, in Unix seconds"),
        (
            PROCESS_CPU_SECONDS,
            "User and system CPU time the process has spent, in seconds, to the clock tick",
        ),
    ];
    for (name, help) in gauges {
        describe_gauge!(name, help);
    }
    let histograms: [(&'static str, Unit, &'static str); 7] = [
        (
            DISPUTE_RESOLUTION_DURATION,
            Seconds,
            "From a dispute's opening to the order's end, in seconds, by who ended it (operator or seller)",
        ),
        (
            HTTP_DURATION,
            Seconds,
            "Time to answer a request, in seconds, by route pattern and method",
        ),
        (
            ACTOR_MESSAGE_DURATION,
            Seconds,
            "Time an actor spent on one message, in seconds, by kind",
        ),
        (
            STORE_COMMIT_DURATION,
            Seconds,
            "Time the committer spent on one batch, in seconds",
        ),
        (STORE_BATCH_SIZE, Count, "Commits grouped into one batch"),
        (
            STORE_CHECKPOINT_DURATION,
            Seconds,
            "Time one SQLite WAL checkpoint took, in seconds",
        ),
        (
            AUDIT_DURATION,
            Seconds,
            "Time one background audit took, in seconds",
        ),
    ];
    for (name, unit, help) in histograms {
        describe_histogram!(name, unit, help);
    }
    process_metrics().describe();
}

/// The standard process metrics (`process_cpu_seconds_total`, `process_resident_memory_bytes`,
/// `process_open_fds`, …), read from the operating system at each scrape.
pub fn process_metrics() -> &'static metrics_process::Collector {
    static COLLECTOR: OnceLock<metrics_process::Collector> = OnceLock::new();
    COLLECTOR.get_or_init(metrics_process::Collector::default)
}

/// Reads the process metrics now (at a scrape), and the CPU time to the tick beside them.
pub fn collect_process_metrics() {
    process_metrics().collect();
    if let Some(seconds) = metrics_process::collector::collect().cpu_seconds_total {
        metrics::gauge!(PROCESS_CPU_SECONDS).set(seconds);
    }
}

/// Exports every counter and gauge whose label values are known at zero, so a fresh service's
/// panels and alerts read 0, not "no data".
fn start_at_zero() {
    for side in Side::ALL.iter().map(|value| value.as_str()) {
        for name in [
            ORDERS_CREATED,
            ORDERS_PAID,
            ORDERS_COMPLETED,
            ORDERS_EXPIRED,
            ESCROW_FROZEN,
            ESCROW_RELEASED,
            ESCROW_REFUNDED,
        ] {
            metrics::counter!(name, "side" => side).absolute(0);
        }
        for cause in DISPUTE_CAUSES {
            metrics::counter!(ORDERS_DISPUTED, "side" => side, "cause" => cause).absolute(0);
        }
        for reason in CancelReason::ALL.iter().map(|value| value.as_str()) {
            metrics::counter!(ORDERS_CANCELLED, "side" => side, "reason" => reason).absolute(0);
        }
        for resolution in Resolution::ALL.iter().map(|value| value.as_str()) {
            metrics::counter!(ORDERS_RESOLVED, "side" => side, "resolution" => resolution)
                .absolute(0);
        }
    }
    for ad_type in AdType::ALL.iter().map(|value| value.as_str()) {
        metrics::counter!(ADS_CREATED, "type" => ad_type).absolute(0);
    }
    for kind in TransactionKind::ALL.iter().map(|value| value.as_str()) {
        metrics::counter!(WALLET_TRANSACTIONS, "kind" => kind).absolute(0);
    }
    let refusals = ErrorCode::ALL
        .into_iter()
        .filter(|code| !matches!(code, ErrorCode::Overloaded | ErrorCode::Internal));
    for code in refusals {
        metrics::counter!(REFUSALS, "code" => code.as_str()).absolute(0);
    }
    for mode in ["fast", "careful"] {
        metrics::counter!(STORE_TRANSACTIONS, "mode" => mode).absolute(0);
    }
    metrics::counter!(STORE_ROUND_TRIPS).absolute(0);
    for outcome in ["committed", "refused", "failed"] {
        metrics::counter!(STORE_COMMITS, "outcome" => outcome).absolute(0);
    }
    for outcome in ["ok", "violations", "failed"] {
        metrics::counter!(AUDIT_RUNS, "outcome" => outcome).absolute(0);
    }
    for outcome in ["delivered", "failed"] {
        metrics::counter!(WEBHOOK_DELIVERIES, "outcome" => outcome).absolute(0);
    }
    for kind in ACTOR_KINDS {
        metrics::counter!(ACTOR_CALLS_SHED, "kind" => kind).absolute(0);
        metrics::gauge!(ACTORS_LIVE, "kind" => kind).increment(0.0);
        metrics::gauge!(ACTOR_CALLS_IN_FLIGHT, "kind" => kind).increment(0.0);
    }
    for name in [HTTP_SHED, RATE_LIMITED, EVENT_STREAMS_CUT] {
        metrics::counter!(name).absolute(0);
    }
    for name in [
        EVENT_STREAMS,
        AUDIT_VIOLATIONS,
        DISPUTES_OPEN,
        ORDERS_OVERDUE,
        STORE_COMMIT_QUEUE_DEPTH,
    ] {
        metrics::gauge!(name).increment(0.0);
    }
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
        OrderStatus::Disputed
            if matches!(action, Action::CallOperator | Action::ReleaseTimeout) =>
        {
            // Who opened it: a party, or the service when the release window closed.
            let cause = match order.dispute_opener() {
                Some(Participant::Buyer) => DISPUTE_CAUSES[0],
                Some(Participant::Seller) => DISPUTE_CAUSES[1],
                _ => DISPUTE_CAUSES[2],
            };
            metrics::counter!(ORDERS_DISPUTED, "side" => side, "cause" => cause).increment(1);
        }
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
        OrderStatus::Pending | OrderStatus::Disputed => {}
    }
    // A dispute ends only with its order.
    let ended_at = order.completed_at.or(order.cancelled_at);
    if let (Some(dispute), Some(ended_at)) = (&order.dispute, ended_at) {
        let by = if matches!(action, Action::Resolve(_)) {
            "operator"
        } else {
            "seller"
        };
        metrics::histogram!(DISPUTE_RESOLUTION_DURATION, "by" => by)
            .record((ended_at - dispute.opened_at).max(0) as f64 / 1000.0);
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
