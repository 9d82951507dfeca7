//! Webhooks: where the platform hears about finished orders.

use super::event_kind::EventKind;
use super::time::Millis;

/// A webhook and its delivery state.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    pub secret: String,
    pub cursor: i64,
    pub attempts: i64,
    pub next_attempt_at: Millis,
    pub lease_until: Millis,
    pub delivered: i64,
    pub last_error: Option<String>,
    pub created_at: Millis,
}

/// The events a webhook receives: an order held for review, disputed (by a party, or by the
/// service when the release window closed), and every ending.
pub const WEBHOOK_EVENTS: [EventKind; 6] = [
    EventKind::OrderHeld,
    EventKind::OrderDisputed,
    EventKind::OrderCompleted,
    EventKind::OrderCancelled,
    EventKind::OrderExpired,
    EventKind::OrderResolved,
];
