//! The events a change writes: one row per transition or chat message, in the same commit.
//!
//! An event carries the Order or Message as the change left it, for the streams, webhooks and
//! history that replay it; the event that ends an order carries none, since an ended order never
//! changes and its row is that order.

use crate::domain::Millis;
use crate::domain::UserId;
use crate::domain::chat::Message;
use crate::domain::event_kind::EventKind;
use crate::domain::order::{Action, Order, Participant};
use crate::store::{NewEvent, Op, RowRef};

/// The event of a new order (its id is the one inserted in the same commit). An order held for
/// review is announced as `order.held`, to its seller and the operators' desk, not its buyer.
pub fn created(order: &Order, now: Millis) -> Op {
    let held = order.held();
    Op::Event(Box::new(NewEvent {
        kind: if held {
            EventKind::OrderHeld
        } else {
            EventKind::OrderCreated
        },
        order: RowRef::Inserted,
        message: RowRef::None,
        buyer_id: order.buyer_id,
        seller_id: order.seller_id,
        disputed: held,
        actor_id: Some(order.taker_id),
        actor_role: if order.taker_id == order.buyer_id {
            Participant::Buyer
        } else {
            Participant::Seller
        },
        from_status: None,
        to_status: Some(order.status),
        reason: None,
        payload: json_text(&crate::views::order(order)),
        now,
    }))
}

/// The event of a committed transition from `before` to `after`.
pub fn transition(
    before: &Order,
    after: &Order,
    action: Action,
    participant: Participant,
    actor_id: Option<UserId>,
    now: Millis,
) -> Op {
    let reason = match action {
        Action::Cancel | Action::Expire => after.cancel_reason.map(|r| r.as_str().to_owned()),
        Action::CallOperator | Action::ReleaseTimeout => {
            after.dispute.as_ref().and_then(|d| d.reason.clone())
        }
        Action::Resolve(resolution) | Action::Propose(resolution) => {
            Some(resolution.as_str().to_owned())
        }
        // What was turned down.
        Action::Reject => before
            .dispute
            .as_ref()
            .and_then(|d| d.proposal.as_ref())
            .map(|p| p.resolution.as_str().to_owned()),
        _ => None,
    };
    Op::Event(Box::new(NewEvent {
        kind: action.event_kind(),
        order: RowRef::Id(after.id.get()),
        message: RowRef::None,
        buyer_id: after.buyer_id,
        seller_id: after.seller_id,
        disputed: after.dispute.is_some(),
        actor_id,
        actor_role: participant,
        from_status: Some(before.status),
        to_status: Some(after.status),
        reason,
        // An ended order never changes again, so its row is the order as this event left it:
        // the event stores no copy, and readers take the row (about a third of the bytes each
        // order writes to the events table, and the serialising, saved).
        payload: if after.status.is_active() {
            json_text(&crate::views::order(after))
        } else {
            String::new()
        },
        now,
    }))
}

/// The event of a chat message (its id is the one inserted in the same commit).
pub fn message(order: &Order, message: &Message) -> Op {
    Op::Event(Box::new(NewEvent {
        kind: EventKind::MessageCreated,
        order: RowRef::Id(order.id.get()),
        message: RowRef::Inserted,
        buyer_id: order.buyer_id,
        seller_id: order.seller_id,
        disputed: order.dispute.is_some(),
        actor_id: message.sender_id,
        actor_role: message.sender_role,
        from_status: None,
        to_status: None,
        reason: None,
        payload: json_text(&crate::views::message(message)),
        now: message.created_at,
    }))
}

fn json_text(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
