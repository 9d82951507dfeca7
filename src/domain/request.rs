//! What someone asks of an order: the action, and what comes with it.

use serde_json::{Map, Value};

use super::idempotency::IdempotencyKey;
use super::order::Action;
use super::user::Caller;

/// A request to act on an order.
#[derive(Debug, Clone)]
pub struct Request {
    /// The caller; `None` for the service itself (the payment window's timer).
    pub caller: Option<Caller>,
    pub action: Action,
    /// The reason of a dispute or the note of a resolution.
    pub text: Option<String>,
    pub payment_details: Option<Map<String, Value>>,
    /// The request's idempotency key, recorded with the transition.
    pub key: Option<IdempotencyKey>,
}

impl Request {
    /// A caller's request that carries nothing but the action.
    pub fn by(caller: Caller, action: Action) -> Self {
        Self {
            caller: Some(caller),
            action,
            text: None,
            payment_details: None,
            key: None,
        }
    }

    /// The service's own request (a deadline's step).
    pub fn system(action: Action) -> Self {
        Self {
            caller: None,
            action,
            text: None,
            payment_details: None,
            key: None,
        }
    }

    /// The request with its idempotency key, recorded with the transition.
    pub fn keyed(self, key: Option<IdempotencyKey>) -> Self {
        Self { key, ..self }
    }
}
