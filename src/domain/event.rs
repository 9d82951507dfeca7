//! Order events: one row per transition or chat message, written with the change that causes it.

use super::event_kind::EventKind;
use super::ids::{OrderId, UserId};
use super::order::{Order, OrderStatus, Participant};
use super::time::Millis;
use super::user::{Caller, Role};

/// An order event as committed: a transition or a chat message.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: i64,
    pub kind: EventKind,
    pub order_id: OrderId,
    pub message_id: Option<i64>,
    pub buyer_id: UserId,
    pub seller_id: UserId,
    pub disputed: bool,
    pub actor_id: Option<UserId>,
    pub actor_role: Participant,
    pub from_status: Option<OrderStatus>,
    pub to_status: Option<OrderStatus>,
    pub reason: Option<String>,
    /// The Order or Message as the event left it, as JSON; empty for the event that ended an
    /// order, whose row is that order (see `ended_order`).
    pub payload: String,
    /// The order an event without a payload ended, as its row reads.
    pub ended_order: Option<Order>,
    pub created_at: Millis,
}

impl Event {
    /// Whether this is the event that ended an order, stored without a copy of it.
    pub fn ends_an_order(&self) -> bool {
        self.payload.is_empty() && self.message_id.is_none()
    }
}

/// Whose events a reader wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Every event (the live feed, webhooks).
    All,
    /// The events of the user's orders.
    Party(UserId),
    /// The events of disputed orders.
    Operators,
    /// The transitions of one order (its history).
    Order(OrderId),
}

impl Audience {
    /// The events a caller's stream carries: an operator's, the disputed orders'; a user's, their
    /// own orders'.
    pub fn of(caller: Caller) -> Audience {
        if caller.role == Role::Operator {
            Audience::Operators
        } else {
            Audience::Party(caller.user_id)
        }
    }
}
