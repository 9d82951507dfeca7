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

/// The events a webhook receives.
pub const WEBHOOK_EVENTS: [EventKind; 5] = [
    EventKind::OrderHeld,
    EventKind::OrderCompleted,
    EventKind::OrderCancelled,
    EventKind::OrderExpired,
    EventKind::OrderResolved,
];
