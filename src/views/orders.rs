//! An order as its parties and operators see it, and its history.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::Caller;
use utoipa::ToSchema;

use crate::domain::UserId;
use crate::domain::event::Event;
use crate::domain::order::{self, Order};
use crate::domain::rfc3339;

/// An operator's involvement in an order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DisputeView {
    /// The party who opened it; `null` when the service did (`opened_by_role: system`).
    pub opened_by: Option<i64>,
    /// `buyer`, `seller`, or `system`: the service opened it for the buyer when the seller let
    /// the release window close (`reason: release_timeout`).
    #[serde(default)]
    pub opened_by_role: String,
    pub reason: Option<String>,
    pub opened_at: String,
    /// Until when the party the dispute was opened against (the seller, when the service
    /// opened it) has to answer in the order's chat (`P2P_DISPUTE_ANSWER_SECS` after opening).
    #[serde(default)]
    pub answer_due_at: Option<String>,
    /// That party's first message since the dispute opened.
    #[serde(default)]
    pub answered_at: Option<String>,
    /// While open: whom it waits on, `buyer` or `seller` (to answer) until they do, then
    /// `operator` (to resolve).
    #[serde(default)]
    pub waiting_on: Option<String>,
    /// Since when it waits on them: its opening, then the answer.
    #[serde(default)]
    pub waiting_since: Option<String>,
    /// A resolution one operator proposed (the order is at or above the four-eyes amount) and a
    /// second must approve; `null` once approved or rejected, and kept beside an approved
    /// resolution to say who proposed it.
    #[serde(default)]
    pub proposal: Option<ProposalView>,
    /// `release` or `refund`, once resolved.
    pub resolution: Option<String>,
    pub resolved_by: Option<i64>,
    pub resolved_at: Option<String>,
    pub note: Option<String>,
}

/// A proposed resolution, waiting for a second operator.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProposalView {
    /// `release` or `refund`.
    pub resolution: String,
    pub note: Option<String>,
    pub proposed_by: i64,
    pub proposed_at: String,
}

/// Why and since when a new withdrawal waits for an operator's review.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReviewView {
    /// `low_play_after_deposit`, `shared_card` or `new_account_limit`.
    pub rule: String,
    pub since: String,
    /// When an operator cleared it (the buyer sees the order and its window starts then).
    pub cleared_at: Option<String>,
    pub cleared_by: Option<i64>,
}

/// An order, for its parties and operators only (it carries the payment details).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderView {
    pub id: i64,
    pub ad_id: i64,
    /// `withdraw` or `deposit`, seen from the taker.
    pub side: String,
    pub buyer_id: i64,
    pub seller_id: i64,
    pub usdt_amount: i64,
    pub fiat_amount: i64,
    pub fiat_currency: String,
    pub price: i64,
    pub payment_method: String,
    #[schema(value_type = Object)]
    pub payment_details: serde_json::Map<String, Value>,
    /// `pending`, `paid_by_buyer`, `disputed`, `completed` or `cancelled`.
    pub status: String,
    /// `buyer`, `seller`, `timeout` or `operator`, once cancelled.
    pub cancel_reason: Option<String>,
    pub created_at: String,
    /// The payment deadline: a pending order is cancelled (`timeout`) when it passes.
    pub expires_at: String,
    pub paid_at: Option<String>,
    /// How long the seller has, once the buyer says they paid, to release or dispute (the ad's
    /// when the order was made).
    #[serde(default)]
    pub release_window_seconds: i64,
    /// While `paid_by_buyer`: when the service disputes the order for the buyer (`paid_at` +
    /// `release_window_seconds`) unless the seller releases or disputes it first.
    #[serde(default)]
    pub release_deadline_at: Option<String>,
    pub completed_at: Option<String>,
    pub cancelled_at: Option<String>,
    pub dispute: Option<DisputeView>,
    /// Set when a rule held the new withdrawal for review; until it is cleared, the buyer does
    /// not see the order and its payment window has not started (`expires_at` is set again
    /// when it is cleared).
    #[serde(default)]
    pub review: Option<ReviewView>,
    /// What the caller may do with the order now (`clear`, `confirm_paid`, `confirm_received`,
    /// `cancel`, `call_operator`, `resolve`, `update_payment_details`, `message`, `rate`, and
    /// `answer_dispute` for the party an open dispute waits on: their message answers it;
    /// `approve` and `reject` for operators while a resolution is proposed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_actions: Option<Vec<String>>,
}

/// An order as committed, without what only a caller can be told.
pub fn order(order: &Order) -> OrderView {
    let opt_time = |t: Option<i64>| t.map(rfc3339);
    OrderView {
        id: order.id.get(),
        ad_id: order.ad_id.get(),
        side: order.side.as_str().into(),
        buyer_id: order.buyer_id.get(),
        seller_id: order.seller_id.get(),
        usdt_amount: order.usdt_amount.get(),
        fiat_amount: order.fiat_amount.get(),
        fiat_currency: order.fiat_currency.clone(),
        price: order.price.get(),
        payment_method: order.payment_method.clone(),
        payment_details: order.payment_details.clone(),
        status: order.status.as_str().into(),
        cancel_reason: order.cancel_reason.map(|r| r.as_str().into()),
        created_at: rfc3339(order.created_at),
        expires_at: rfc3339(order.expires_at),
        paid_at: opt_time(order.paid_at),
        release_window_seconds: order.release_window_seconds,
        release_deadline_at: opt_time(order.release_deadline()),
        completed_at: opt_time(order.completed_at),
        cancelled_at: opt_time(order.cancelled_at),
        dispute: order.dispute.as_ref().map(|d| DisputeView {
            opened_by: d.opened_by.map(UserId::get),
            opened_by_role: order
                .dispute_opener()
                .map_or("system", |opener| opener.as_str())
                .into(),
            reason: d.reason.clone(),
            opened_at: rfc3339(d.opened_at),
            answer_due_at: opt_time(d.answer_due_at),
            answered_at: opt_time(d.answered_at),
            proposal: d.proposal.as_ref().map(|p| ProposalView {
                resolution: p.resolution.as_str().into(),
                note: p.note.clone(),
                proposed_by: p.proposed_by.get(),
                proposed_at: rfc3339(p.proposed_at),
            }),
            waiting_on: order.waiting_on().map(|(party, _)| party.as_str().into()),
            waiting_since: order.waiting_on().map(|(_, since)| rfc3339(since)),
            resolution: d.resolution.map(|r| r.as_str().into()),
            resolved_by: d.resolved_by.map(UserId::get),
            resolved_at: opt_time(d.resolved_at),
            note: d.note.clone(),
        }),
        review: order.review.as_ref().map(|r| ReviewView {
            rule: r.rule.as_str().into(),
            since: rfc3339(r.since),
            cleared_at: opt_time(r.cleared_at),
            cleared_by: r.cleared_by.map(UserId::get),
        }),
        allowed_actions: None,
    }
}

/// An order as `actor` sees it: with the actions they may take now.
pub fn order_for(
    order_record: &Order,
    actor: order::Participant,
    viewer: UserId,
    rated: bool,
) -> OrderView {
    let mut view = order(order_record);
    let mut allowed =
        order::allowed_actions(order_record.status, order_record.held(), actor, rated);
    let proposed_by = order_record
        .dispute
        .as_ref()
        .and_then(|d| d.proposal.as_ref())
        .filter(|_| order_record.status == order::OrderStatus::Disputed)
        .map(|proposal| proposal.proposed_by.get());
    let awaited = order_record.awaited() == Some(actor);
    desk_actions(&mut allowed, actor, viewer, awaited, proposed_by);
    // A proposal is the desk's deliberation: the parties see the outcome.
    if actor != order::Participant::Operator
        && let Some(dispute) = view.dispute.as_mut()
    {
        dispute.proposal = None;
    }
    view.allowed_actions = Some(allowed.into_iter().map(String::from).collect());
    view
}

/// The dispute desk's actions beside the state machine's: `answer_dispute` for the party an open
/// dispute waits on (their message answers it); while a resolution is proposed, `approve` for
/// an operator other than its proposer and `reject` for any, instead of `resolve`.
fn desk_actions(
    allowed: &mut Vec<&'static str>,
    actor: order::Participant,
    viewer: UserId,
    awaited: bool,
    proposed_by: Option<i64>,
) {
    if awaited {
        allowed.push("answer_dispute");
    }
    if let (Some(proposed_by), order::Participant::Operator) = (proposed_by, actor) {
        allowed.retain(|action| *action != "resolve");
        if proposed_by != viewer.get() {
            allowed.push("approve");
        }
        allowed.push("reject");
    }
}

/// One step of an order's history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryEntry {
    pub event_id: i64,
    /// The event's kind (`order.created`, `order.paid`, …).
    pub event: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub actor: HistoryActor,
    /// Why: a cancel's reason, a dispute's reason, a resolution.
    pub reason: Option<String>,
    pub at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryActor {
    /// None for the service itself.
    pub id: Option<i64>,
    /// `buyer`, `seller`, `operator` or `system`.
    pub role: String,
}

pub fn history_entry(event: &Event) -> HistoryEntry {
    HistoryEntry {
        event_id: event.id,
        event: event.kind.as_str().into(),
        from_status: event.from_status.map(|status| status.as_str().into()),
        to_status: event.to_status.map(|status| status.as_str().into()),
        actor: HistoryActor {
            id: event.actor_id.map(UserId::get),
            role: event.actor_role.as_str().into(),
        },
        reason: event.reason.clone(),
        at: rfc3339(event.created_at),
    }
}

/// The event's data as committed: the Order or Message, with the ids the commit gave it (an order
/// or message inserted in the same commit has id 0 in the payload). The event that ended an order
/// carries the order's row instead of a payload.
pub fn event_data(event: &Event) -> Value {
    let mut data: Value = match &event.ended_order {
        Some(order) => serde_json::to_value(self::order(order)).unwrap_or(Value::Null),
        None => serde_json::from_str(&event.payload).unwrap_or(Value::Null),
    };
    if let Some(object) = data.as_object_mut() {
        let id = event.message_id.unwrap_or(event.order_id.get());
        object.insert("id".into(), id.into());
    }
    data
}

/// The event's data as `viewer` sees it: an Order also says what the viewer may do with it.
pub fn event_for(event: &Event, viewer: Caller) -> Value {
    let mut data = event_data(event);
    let Some(object) = data.as_object_mut().filter(|_| event.message_id.is_none()) else {
        return data;
    };
    let actor = if viewer.user_id == event.buyer_id {
        order::Participant::Buyer
    } else if viewer.user_id == event.seller_id {
        order::Participant::Seller
    } else {
        order::Participant::Operator
    };
    let status = object
        .get("status")
        .and_then(Value::as_str)
        .and_then(order::OrderStatus::parse);
    let held = object
        .get("review")
        .is_some_and(|review| review.is_object() && review["cleared_at"].is_null());
    if let Some(status) = status {
        // A rating can only follow completion, so no one has rated when an event is written.
        let held = held && status == order::OrderStatus::Pending;
        let mut allowed = order::allowed_actions(status, held, actor, false);
        let dispute = object
            .get("dispute")
            .filter(|_| status == order::OrderStatus::Disputed);
        let awaited = dispute
            .and_then(|d| d["waiting_on"].as_str())
            .is_some_and(|waiting_on| {
                actor != order::Participant::Operator && waiting_on == actor.as_str()
            });
        let proposed_by = dispute.and_then(|d| d["proposal"]["proposed_by"].as_i64());
        desk_actions(&mut allowed, actor, viewer.user_id, awaited, proposed_by);
        object.insert("allowed_actions".into(), allowed.into());
        if actor != order::Participant::Operator
            && let Some(dispute) = object.get_mut("dispute").and_then(Value::as_object_mut)
        {
            dispute.insert("proposal".into(), Value::Null);
        }
    }
    data
}
