//! Live fan-out of committed order events to the event streams of the orders' parties (and, for
//! disputed orders, operators).
//!
//! The database is the feed. The [`Hub`]'s pump reads what was committed after the last event it
//! saw (woken by this node's commits, polling for other nodes') and hands each event to the
//! streams of its audience. A stream first subscribes, then replays from the database what the
//! client missed, then forwards live events it has not sent yet, so nothing falls between the two.
//! A stream too slow to keep up is cut off instead of holding anything up; it reconnects with
//! `Last-Event-ID`.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use dashmap::DashMap;
use tokio::sync::{Notify, mpsc};

use crate::config::{EVENT_PAGE, EVENT_PUMP_IDLE_INTERVAL, EVENT_SUBSCRIBER_BUFFER};
use crate::domain::UserId;
use crate::domain::event::{Audience, Event};
use crate::domain::event_kind::EventKind;
use crate::store::Store;
use crate::telemetry;

/// One stream's channel, and the newest event it will replay itself: only later ones are
/// handed to it live.
struct Subscriber {
    after: Arc<AtomicI64>,
    sender: mpsc::Sender<Arc<Event>>,
}

type Subscribers = DashMap<u64, Subscriber>;

/// Live fan-out of committed events to the streams that want them.
pub struct Hub {
    /// Streams by user id, each by its subscription number.
    parties: DashMap<UserId, Subscribers>,
    operators: Subscribers,
    next_subscription: AtomicU64,
    /// Streams open now: with none, the pump only keeps its place.
    streams: std::sync::atomic::AtomicUsize,
    /// Wakes the pump when a stream opens.
    opened: Notify,
    /// Set at shutdown: every stream ends, so the server can drain.
    closed: std::sync::atomic::AtomicBool,
}

/// One stream's place in the hub; dropping it unsubscribes.
pub struct Subscription {
    hub: Arc<Hub>,
    audience: Audience,
    number: u64,
    after: Arc<AtomicI64>,
    pub events: mpsc::Receiver<Arc<Event>>,
}

impl Subscription {
    /// Starts live delivery of the events after `id`: the stream replays those up to `id`
    /// itself, from the database. Until then nothing is handed to it, so a backlog the pump
    /// catches up on when the stream opens (up to a second of events, while no stream was
    /// open) never fills its channel.
    pub fn live_after(&self, id: i64) {
        self.after.store(id, Ordering::SeqCst);
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.unsubscribe(self.audience, self.number);
    }
}

impl Hub {
    pub fn new() -> Arc<Hub> {
        Arc::new(Hub {
            parties: DashMap::new(),
            operators: DashMap::new(),
            next_subscription: AtomicU64::new(1),
            streams: std::sync::atomic::AtomicUsize::new(0),
            opened: Notify::new(),
            closed: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Ends every stream, now and from now on (at shutdown, so in-flight requests can drain).
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.parties.clear();
        self.operators.clear();
    }

    pub fn subscribe(self: &Arc<Self>, audience: Audience) -> Subscription {
        let number = self.next_subscription.fetch_add(1, Ordering::Relaxed);
        let (sender, events) = mpsc::channel(EVENT_SUBSCRIBER_BUFFER);
        let after = Arc::new(AtomicI64::new(i64::MAX));
        let subscriber = Subscriber {
            after: after.clone(),
            sender,
        };
        match audience {
            _ if self.closed.load(Ordering::SeqCst) => drop(subscriber),
            Audience::Party(user) => {
                self.parties
                    .entry(user)
                    .or_default()
                    .insert(number, subscriber);
            }
            _ => {
                self.operators.insert(number, subscriber);
            }
        }
        self.streams.fetch_add(1, Ordering::SeqCst);
        self.opened.notify_one();
        metrics::gauge!(telemetry::EVENT_STREAMS).increment(1.0);
        Subscription {
            hub: self.clone(),
            audience,
            number,
            after,
            events,
        }
    }

    fn unsubscribe(&self, audience: Audience, number: u64) {
        match audience {
            Audience::Party(user) => {
                if let Some(streams) = self.parties.get(&user) {
                    streams.remove(&number);
                }
                self.parties
                    .remove_if(&user, |_, streams| streams.is_empty());
            }
            _ => {
                self.operators.remove(&number);
            }
        }
        self.streams.fetch_sub(1, Ordering::SeqCst);
        metrics::gauge!(telemetry::EVENT_STREAMS).decrement(1.0);
    }

    /// Hands `event` to every stream of its audience; a stream whose buffer is full is cut off.
    pub fn publish(&self, event: Arc<Event>) {
        // A held order is not its buyer's to see until an operator clears it.
        // The desk's deliberation is the operators' alone.
        let mut parties = Vec::with_capacity(2);
        if event.kind != EventKind::OrderHeld && !event.kind.is_desk_only() {
            parties.push(event.buyer_id);
        }
        if event.seller_id != event.buyer_id && !event.kind.is_desk_only() {
            parties.push(event.seller_id);
        }
        for user in parties {
            if let Some(streams) = self.parties.get(&user) {
                deliver(&streams, &event);
            }
        }
        if event.disputed {
            deliver(&self.operators, &event);
        }
    }

    /// Reads committed events and publishes them, forever: at once when this node commits some,
    /// and every `poll` for those of other nodes. With no stream open it reads nothing and only
    /// moves its place to the newest event, at most once a second; a stream that opens meanwhile
    /// replays from the database what it wants, so nothing falls between the two (the place is
    /// read before the check that no stream is open, and a stream counts itself before it reads
    /// where to start).
    pub async fn pump(self: Arc<Self>, store: Store, committed: Arc<Notify>, poll: Duration) {
        let mut last = loop {
            match store.last_event_id().await {
                Ok(id) => break id,
                Err(_) => tokio::time::sleep(poll).await,
            }
        };
        let mut idle_since = std::time::Instant::now();
        loop {
            tokio::select! {
                _ = committed.notified() => {}
                _ = self.opened.notified() => {}
                _ = tokio::time::sleep(poll) => {}
            }
            if self.streams.load(Ordering::SeqCst) == 0 {
                if idle_since.elapsed() >= EVENT_PUMP_IDLE_INTERVAL {
                    idle_since = std::time::Instant::now();
                    if let Ok(newest) = store.last_event_id().await
                        && self.streams.load(Ordering::SeqCst) == 0
                    {
                        last = last.max(newest);
                    }
                }
                continue;
            }
            loop {
                let page = match store.events(Audience::All, last, EVENT_PAGE).await {
                    Ok(page) => page,
                    Err(_) => break,
                };
                let full = page.len() as i64 == EVENT_PAGE;
                for event in page {
                    last = last.max(event.id);
                    self.publish(Arc::new(event));
                }
                if !full {
                    break;
                }
            }
        }
    }
}

fn deliver(streams: &Subscribers, event: &Arc<Event>) {
    streams.retain(|_, stream| {
        if event.id <= stream.after.load(Ordering::SeqCst) {
            // The stream replays this one itself.
            return true;
        }
        deliver_one(&stream.sender, event)
    });
}

fn deliver_one(sender: &mpsc::Sender<Arc<Event>>, event: &Arc<Event>) -> bool {
    match sender.try_send(event.clone()) {
        Ok(()) => true,
        Err(mpsc::error::TrySendError::Full(_)) => {
            metrics::counter!(telemetry::EVENT_STREAMS_CUT).increment(1);
            false
        }
        Err(mpsc::error::TrySendError::Closed(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::OrderId;
    use crate::domain::event_kind::EventKind;
    use crate::domain::order::Participant;

    fn event(id: i64, buyer_id: i64, seller_id: i64, disputed: bool) -> Arc<Event> {
        Arc::new(Event {
            id,
            kind: EventKind::MessageCreated,
            order_id: OrderId(1),
            message_id: Some(id),
            buyer_id: UserId(buyer_id),
            seller_id: UserId(seller_id),
            disputed,
            actor_id: Some(UserId(buyer_id)),
            actor_role: Participant::Buyer,
            from_status: None,
            to_status: None,
            reason: None,
            payload: "{}".into(),
            ended_order: None,
            created_at: 0,
        })
    }

    #[tokio::test]
    async fn events_reach_their_audience_only() {
        let hub = Hub::new();
        let mut buyer = hub.subscribe(Audience::Party(UserId(1)));
        buyer.live_after(0);
        let mut seller = hub.subscribe(Audience::Party(UserId(2)));
        seller.live_after(0);
        let mut stranger = hub.subscribe(Audience::Party(UserId(3)));
        stranger.live_after(0);
        let mut desk = hub.subscribe(Audience::Operators);
        desk.live_after(0);
        hub.publish(event(10, 1, 2, false));
        hub.publish(event(11, 1, 2, true));
        assert_eq!(buyer.events.recv().await.unwrap().id, 10);
        assert_eq!(buyer.events.recv().await.unwrap().id, 11);
        assert_eq!(seller.events.recv().await.unwrap().id, 10);
        assert_eq!(desk.events.recv().await.unwrap().id, 11);
        assert!(stranger.events.try_recv().is_err());
        assert!(desk.events.try_recv().is_err());
    }

    #[tokio::test]
    async fn a_consumer_that_falls_behind_is_cut_off_and_others_go_on() {
        let hub = Hub::new();
        let mut stalled = hub.subscribe(Audience::Party(UserId(1)));
        stalled.live_after(0);
        let mut keeping_up = hub.subscribe(Audience::Party(UserId(2)));
        keeping_up.live_after(0);
        for id in 1..=(EVENT_SUBSCRIBER_BUFFER as i64 + 10) {
            hub.publish(event(id, 1, 2, false));
            assert_eq!(keeping_up.events.recv().await.unwrap().id, id);
        }
        // The stalled stream gets what it had buffered, then its end.
        let mut received = 0;
        while stalled.events.recv().await.is_some() {
            received += 1;
        }
        assert_eq!(received, EVENT_SUBSCRIBER_BUFFER);
        // Dropping unsubscribes.
        drop(keeping_up);
        drop(stalled);
        assert!(hub.parties.is_empty());
    }

    #[tokio::test]
    async fn closing_ends_every_stream() {
        let hub = Hub::new();
        let mut open = hub.subscribe(Audience::Operators);
        open.live_after(0);
        hub.close();
        assert!(open.events.recv().await.is_none());
        let mut late = hub.subscribe(Audience::Party(UserId(1)));
        late.live_after(0);
        assert!(late.events.recv().await.is_none());
    }

    /// A stream that opens while the pump catches up on a backlog it replays itself hears
    /// only the events after its replay's start: the backlog never fills its channel.
    #[tokio::test]
    async fn a_new_stream_hears_live_only_what_it_does_not_replay() {
        let hub = Hub::new();
        let mut opening = hub.subscribe(Audience::Party(UserId(1)));
        let backlog = EVENT_SUBSCRIBER_BUFFER as i64 * 2;
        hub.publish(event(1, 1, 2, false));
        opening.live_after(backlog);
        for id in 2..=backlog + 1 {
            hub.publish(event(id, 1, 2, false));
        }
        assert_eq!(opening.events.recv().await.unwrap().id, backlog + 1);
        assert!(opening.events.try_recv().is_err());
    }
}
