//! Work the market does on its own, on every node: expiring what is overdue, pumping committed
//! events to the event streams, delivering webhooks, auditing and sampling the gauges, and (with several nodes sharing
//! PostgreSQL) keeping the listing, blocks and pauses in step with what other nodes changed.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::service::Market;
use crate::actors::protocol::OrderMsg;
use crate::config::{
    EVENT_POLL_INTERVAL, EXPIRY_SWEEP_BATCH, IDEMPOTENCY_PURGE_INTERVAL,
    READ_MODEL_REFRESH_INTERVAL, SEEN_WRITE_INTERVAL, WEBHOOK_POLL_INTERVAL,
};
use crate::domain::AdId;
use crate::domain::DomainError;
use crate::store::Dialect;
use crate::telemetry::{
    ADS, AUDIT_DURATION, AUDIT_LAST_RUN, AUDIT_RUNS, AUDIT_VIOLATIONS, DISPUTES_OPEN,
    ORDERS_ACTIVE, ORDERS_OVERDUE, STORE_COMMIT_QUEUE_BOUND, STORE_COMMIT_QUEUE_DEPTH,
    STORE_POOL_CONNECTIONS,
};

/// Starts the upkeep loops; they end when their handles are aborted.
pub fn spawn(market: &Arc<Market>) -> Vec<tokio::task::JoinHandle<()>> {
    let sweep_every = Duration::from_millis(market.context.config.expiry_sweep_ms.max(50));
    let mut loops = vec![tokio::spawn(every(
        sweep_every,
        market.clone(),
        |m| async move { m.sweep_overdue().await },
    ))];
    let store = market.store().clone();
    let committed = store.events_committed();
    let poll = match store.dialect() {
        Dialect::Postgres => EVENT_POLL_INTERVAL,
        // Only this node writes: its commits wake the pump, the poll is a safety net.
        Dialect::Sqlite => EVENT_POLL_INTERVAL * 4,
    };
    loops.push(tokio::spawn(
        market.hub.clone().pump(store, committed, poll),
    ));
    let client = reqwest::Client::new();
    loops.push(tokio::spawn(every(
        WEBHOOK_POLL_INTERVAL,
        market.clone(),
        move |m| {
            let client = client.clone();
            async move { m.deliver_webhooks(&client).await }
        },
    )));
    loops.push(tokio::spawn(every(
        IDEMPOTENCY_PURGE_INTERVAL,
        market.clone(),
        |m| async move {
            m.forget_quiet_users();
            m.purge_idempotency_keys().await
        },
    )));
    let audit_every = Duration::from_secs(market.context.config.audit_interval_secs.max(1));
    loops.push(tokio::spawn(every(
        audit_every,
        market.clone(),
        |m| async move { m.sample().await },
    )));
    loops.push(tokio::spawn(every(
        SEEN_WRITE_INTERVAL,
        market.clone(),
        |m| async move { m.write_seen().await },
    )));
    if market.store().dialect() == Dialect::Postgres {
        loops.push(tokio::spawn(every(
            READ_MODEL_REFRESH_INTERVAL,
            market.clone(),
            |m| async move {
                m.refresh_listing().await?;
                m.reload_safeguards().await
            },
        )));
    }
    loops
}

async fn every<F, Fut>(interval: Duration, market: Arc<Market>, work: F)
where
    F: Fn(Arc<Market>) -> Fut,
    Fut: Future<Output = Result<(), DomainError>>,
{
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(error) = work(market.clone()).await {
            tracing::warn!(%error, "upkeep failed; retrying at the next tick");
        }
    }
}

impl Market {
    /// Sends `Deadline` to every order past one: a pending order whose payment window closed, a
    /// paid one whose release window did. Order actors arm their own timers; this catches what
    /// they cannot: orders of a node that died, orders this node never loaded, a clock moved
    /// forward. The order's guarded claim makes the step happen once, however many nodes send
    /// it.
    pub async fn sweep_overdue(&self) -> Result<(), DomainError> {
        let store = self.store();
        for order_id in store
            .overdue_orders(self.now_ms(), EXPIRY_SWEEP_BATCH)
            .await?
        {
            let Some(order) = store.order(order_id).await? else {
                continue;
            };
            if order
                .deadline()
                .is_none_or(|(deadline, _)| deadline > self.now_ms())
            {
                continue;
            }
            if let Some(actor) = self.context.order_actor(order).await? {
                let _ = actor.cast(OrderMsg::Deadline);
            }
        }
        Ok(())
    }

    /// Replaces the listing with the open ads as the database has them, so ads made, changed or
    /// sold on other nodes show here within a second.
    pub async fn refresh_listing(&self) -> Result<(), DomainError> {
        let store = self.store();
        let read_model = &self.context.read_model;
        self.load_index_prices().await?;
        for maker in store.makers_of_open_ads(self.window_start()).await? {
            self.list_maker(maker);
        }
        let open = store.open_ads().await?;
        let ids: HashSet<AdId> = open.iter().map(|ad| ad.id).collect();
        for ad in &open {
            read_model.publish(ad);
        }
        read_model.retain(|id| ids.contains(&id));
        Ok(())
    }

    /// Runs the audit and refreshes the gauges that come from the database (active orders, open
    /// disputes, ads by status) and from the store (queue, pool).
    pub async fn sample(&self) -> Result<(), DomainError> {
        let store = self.store();
        let started = Instant::now();
        match store.audit().await {
            Ok(report) => {
                metrics::gauge!(AUDIT_VIOLATIONS).set(report.violations.len() as f64);
                metrics::gauge!(AUDIT_LAST_RUN).set(self.now_ms() as f64 / 1000.0);
                metrics::counter!(AUDIT_RUNS, "outcome" => if report.ok { "ok" } else { "violations" })
                .increment(1);
                if !report.ok {
                    tracing::error!(violations = ?report.violations, "the audit found broken invariants");
                }
            }
            Err(error) => {
                metrics::counter!(AUDIT_RUNS, "outcome" => "failed").increment(1);
                tracing::warn!(%error, "the periodic audit could not run");
            }
        }
        metrics::histogram!(AUDIT_DURATION).record(started.elapsed().as_secs_f64());
        if let Ok(gauges) = store.gauges().await {
            for (status, side, count) in gauges.active_orders {
                metrics::gauge!(ORDERS_ACTIVE, "status" => status.as_str(), "side" => side.as_str())
                    .set(count as f64);
            }
            metrics::gauge!(DISPUTES_OPEN).set(gauges.open_disputes as f64);
            for (ad_type, status, count) in gauges.ads {
                metrics::gauge!(ADS, "type" => ad_type.as_str(), "status" => status.as_str())
                    .set(count as f64);
            }
        }
        if let Ok(overdue) = store.overdue_count(self.now_ms()).await {
            metrics::gauge!(ORDERS_OVERDUE).set(overdue as f64);
        }
        let (size, idle) = store.pool_usage();
        metrics::gauge!(STORE_POOL_CONNECTIONS, "state" => "idle").set(idle as f64);
        metrics::gauge!(STORE_POOL_CONNECTIONS, "state" => "busy")
            .set((size as usize).saturating_sub(idle) as f64);
        metrics::gauge!(STORE_COMMIT_QUEUE_DEPTH).set(store.commit_queue_depth() as f64);
        metrics::gauge!(STORE_COMMIT_QUEUE_BOUND).set(crate::config::COMMIT_QUEUE_BOUND as f64);
        Ok(())
    }
}
