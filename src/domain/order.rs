//! The order's life: statuses, who may do what, and which way the escrow moves.
//!
//! ```text
//! pending ──confirm-paid (buyer)──▶ paid_by_buyer ──confirm-received (seller)──▶ completed
//!   │  cancel (either party), timeout        │  call-operator (either party)        ▲
//!   ▼                                        ▼                                      │
//! cancelled ◀── cancel (buyer) ──────── disputed ──resolve release / confirm-received┘
//!   ▲                                        │
//!   └───────────── resolve refund ───────────┘
//! ```
//! Escrow is a pending transfer from the seller: it is *released* to the buyer when the order
//! completes and *refunded* to the seller when it is cancelled. Each happens at most once, because
//! only a move out of an active status moves money and terminal statuses have no way out.

use super::error::{DomainError, ErrorCode};
use super::event_kind::EventKind;
use super::ids::{AdId, OrderId, UserId};
use super::money::Kopecks;
use super::time::Millis;
use super::user::{Caller, Role};

vocabulary! {
    pub enum OrderStatus {
        Pending = "pending",
        PaidByBuyer = "paid_by_buyer",
        Disputed = "disputed",
        Completed = "completed",
        Cancelled = "cancelled",
    }
}

impl OrderStatus {
    pub const ACTIVE: [OrderStatus; 3] = [Self::Pending, Self::PaidByBuyer, Self::Disputed];

    pub fn is_active(self) -> bool {
        Self::ACTIVE.contains(&self)
    }
}

vocabulary! {
    /// The order seen from its taker: taking a buy ad withdraws, taking a sell ad deposits.
    pub enum Side {
        Withdraw = "withdraw",
        Deposit = "deposit",
    }
}

vocabulary! {
    pub enum CancelReason {
        Buyer = "buyer",
        Seller = "seller",
        Timeout = "timeout",
        Operator = "operator",
    }
}

vocabulary! {
    pub enum Resolution {
        Release = "release",
        Refund = "refund",
    }
}

vocabulary! {
    /// Who takes part in an order: its parties (the buyer and the seller), an operator, or the
    /// service itself.
    pub enum Participant {
        Buyer = "buyer",
        Seller = "seller",
        Operator = "operator",
        /// The service itself: the payment window's and the release window's timers.
        System = "system",
    }
}

vocabulary! {
    /// Why a new withdrawal is held for an operator's review before its buyer sees it.
    pub enum ReviewRule {
        /// Soon after a deposit, with little of it wagered since.
        LowPlayAfterDeposit = "low_play_after_deposit",
        /// The card number took withdrawals of several different users lately.
        SharedCard = "shared_card",
        /// A new account's first withdrawal, above the limit for new accounts.
        NewAccountLimit = "new_account_limit",
    }
}

/// An order held for review: created `pending` with its escrow frozen, unseen by its buyer and
/// with its payment window not started until an operator clears it (or someone cancels it).
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    pub rule: ReviewRule,
    pub since: Millis,
    pub cleared_at: Option<Millis>,
    pub cleared_by: Option<UserId>,
}

/// What someone asks of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// An operator lets a held order go on: its buyer sees it, its payment window starts.
    Clear,
    ConfirmPaid,
    ConfirmReceived,
    Cancel,
    CallOperator,
    Resolve(Resolution),
    /// An operator proposes a resolution of an order at or above the four-eyes amount; a
    /// second operator approves it (it then takes effect as a `Resolve`) or rejects it.
    Propose(Resolution),
    /// A second operator lets the proposed resolution take effect.
    Approve,
    /// An operator turns the proposed resolution down: the dispute is back in the queue.
    Reject,
    Expire,
    /// The service opens a dispute for the buyer: the seller neither released nor disputed a
    /// paid order within its release window.
    ReleaseTimeout,
    UpdatePaymentDetails,
}

impl Action {
    /// The event a committed action publishes.
    pub fn event_kind(self) -> EventKind {
        match self {
            Action::ConfirmPaid => EventKind::OrderPaid,
            Action::ConfirmReceived => EventKind::OrderCompleted,
            Action::Cancel => EventKind::OrderCancelled,
            Action::CallOperator | Action::ReleaseTimeout => EventKind::OrderDisputed,
            Action::Resolve(_) | Action::Approve => EventKind::OrderResolved,
            Action::Propose(_) => EventKind::OrderResolutionProposed,
            Action::Reject => EventKind::OrderResolutionRejected,
            Action::Expire => EventKind::OrderExpired,
            Action::UpdatePaymentDetails => EventKind::OrderUpdated,
            Action::Clear => EventKind::OrderCleared,
        }
    }
}

/// What `participant` may do next with an order in `status`, by the names clients see in
/// `allowed_actions`: the state machine's allowed actions, `message` for anyone who may see the
/// order, and `rate` for a party of a completed order who has not rated it yet.
pub fn allowed_actions(
    status: OrderStatus,
    held: bool,
    participant: Participant,
    rated: bool,
) -> Vec<&'static str> {
    const NAMED: [(Action, &str); 7] = [
        (Action::Clear, "clear"),
        (Action::ConfirmPaid, "confirm_paid"),
        (Action::ConfirmReceived, "confirm_received"),
        (Action::Cancel, "cancel"),
        (Action::CallOperator, "call_operator"),
        (Action::Resolve(Resolution::Release), "resolve"),
        (Action::UpdatePaymentDetails, "update_payment_details"),
    ];
    let mut allowed: Vec<&'static str> = NAMED
        .iter()
        .filter(|(action, _)| decide(status, held, participant, *action).is_ok())
        .map(|(_, name)| *name)
        .collect();
    if participant != Participant::System {
        allowed.push("message");
    }
    if status == OrderStatus::Completed
        && matches!(participant, Participant::Buyer | Participant::Seller)
        && !rated
    {
        allowed.push("rate");
    }
    allowed
}

/// Where the escrow goes when a transition commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EscrowMove {
    /// Stays frozen.
    Keep,
    /// Posted to the buyer's available balance.
    Release,
    /// Voided: back to the seller (or to the sell ad's reserve it came from).
    Refund,
}

/// The effect of an allowed action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub to: OrderStatus,
    pub escrow: EscrowMove,
    pub cancel_reason: Option<CancelReason>,
}

impl Transition {
    fn keep(to: OrderStatus) -> Self {
        Self {
            to,
            escrow: EscrowMove::Keep,
            cancel_reason: None,
        }
    }

    fn release() -> Self {
        Self {
            to: OrderStatus::Completed,
            escrow: EscrowMove::Release,
            cancel_reason: None,
        }
    }

    fn refund(reason: CancelReason) -> Self {
        Self {
            to: OrderStatus::Cancelled,
            escrow: EscrowMove::Refund,
            cancel_reason: Some(reason),
        }
    }
}

/// Decides whether `participant` may do `action` to an order in `status`.
///
/// Who may act is checked before the status, so a party asking for what only the other party may
/// do always hears `FORBIDDEN`, whatever the status; the right party at the wrong time hears
/// `INVALID_ORDER_STATUS`.
pub fn transition(
    status: OrderStatus,
    participant: Participant,
    action: Action,
) -> Result<Transition, ErrorCode> {
    use Action::*;
    use OrderStatus::*;
    let allowed_participant = match action {
        ConfirmPaid => participant == Participant::Buyer,
        ConfirmReceived | UpdatePaymentDetails => participant == Participant::Seller,
        Cancel | CallOperator => matches!(participant, Participant::Buyer | Participant::Seller),
        Resolve(_) | Propose(_) | Approve | Reject | Clear => participant == Participant::Operator,
        Expire | ReleaseTimeout => participant == Participant::System,
    };
    if !allowed_participant {
        return Err(ErrorCode::Forbidden);
    }
    match (action, status) {
        (ConfirmPaid, Pending) => Ok(Transition::keep(PaidByBuyer)),
        (ConfirmReceived, PaidByBuyer | Disputed) => Ok(Transition::release()),
        (Cancel, Pending) if participant == Participant::Buyer => {
            Ok(Transition::refund(CancelReason::Buyer))
        }
        (Cancel, Pending) => Ok(Transition::refund(CancelReason::Seller)),
        (Cancel, PaidByBuyer) if participant == Participant::Buyer => {
            Ok(Transition::refund(CancelReason::Buyer))
        }
        // Once the buyer says they paid, only the buyer may walk away: the seller must dispute.
        // The seller may cancel, just no longer in this status, so a seller's cancel racing the
        // buyer's confirm-paid loses with INVALID_ORDER_STATUS whichever way the race goes.
        (CallOperator, PaidByBuyer) => Ok(Transition::keep(Disputed)),
        (Resolve(Resolution::Release), Disputed) => Ok(Transition::release()),
        (Resolve(Resolution::Refund), Disputed) => Ok(Transition::refund(CancelReason::Operator)),
        // An approval takes effect as the proposal's `Resolve` (see `desk::route`).
        (Propose(_) | Reject, Disputed) => Ok(Transition::keep(Disputed)),
        (Expire, Pending) => Ok(Transition::refund(CancelReason::Timeout)),
        (ReleaseTimeout, PaidByBuyer) => Ok(Transition::keep(Disputed)),
        (UpdatePaymentDetails, Pending) => Ok(Transition::keep(Pending)),
        _ => Err(ErrorCode::InvalidOrderStatus),
    }
}

/// [`transition`] for an order that may be held for review. While held, the seller may cancel
/// it or change its details, an operator may clear or cancel it, and nothing else happens (the
/// buyer does not see it: [`Order::participant`] answers them `NOT_FOUND`).
pub fn decide(
    status: OrderStatus,
    held: bool,
    participant: Participant,
    action: Action,
) -> Result<Transition, ErrorCode> {
    if !held {
        return transition(status, participant, action);
    }
    match (participant, action) {
        (Participant::Operator, Action::Clear) => Ok(Transition::keep(OrderStatus::Pending)),
        (Participant::Operator, Action::Cancel) => Ok(Transition::refund(CancelReason::Operator)),
        (Participant::Seller, Action::Cancel) => Ok(Transition::refund(CancelReason::Seller)),
        (Participant::Seller, Action::UpdatePaymentDetails) => {
            Ok(Transition::keep(OrderStatus::Pending))
        }
        // Whoever may never do it hears FORBIDDEN; the rest wait for the review.
        _ => transition(status, participant, action).and(Err(ErrorCode::InvalidOrderStatus)),
    }
}

/// An operator's involvement in an order.
#[derive(Debug, Clone, PartialEq)]
pub struct Dispute {
    /// The party who opened it; `None`: the service, when the release window closed.
    pub opened_by: Option<UserId>,
    pub reason: Option<String>,
    pub opened_at: Millis,
    /// Until when the party it was opened against has to answer in the order's chat.
    pub answer_due_at: Option<Millis>,
    /// That party's first message since the dispute opened.
    pub answered_at: Option<Millis>,
    /// A resolution one operator proposed and a second must approve (four eyes).
    pub proposal: Option<Proposal>,
    pub resolution: Option<Resolution>,
    pub resolved_by: Option<UserId>,
    pub resolved_at: Option<Millis>,
    pub note: Option<String>,
}

/// A resolution proposed by one operator, waiting for a second one's approval.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub resolution: Resolution,
    pub note: Option<String>,
    pub proposed_by: UserId,
    pub proposed_at: Millis,
}

/// An order as committed in the store.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub id: OrderId,
    pub ad_id: AdId,
    pub side: Side,
    pub buyer_id: UserId,
    pub seller_id: UserId,
    /// The user who took the ad (the seller of a withdrawal, the buyer of a deposit).
    pub taker_id: UserId,
    pub usdt_amount: Kopecks,
    pub fiat_amount: Kopecks,
    pub fiat_currency: String,
    pub price: Kopecks,
    pub payment_method: String,
    pub payment_details: serde_json::Map<String, serde_json::Value>,
    pub status: OrderStatus,
    pub cancel_reason: Option<CancelReason>,
    pub created_at: Millis,
    pub expires_at: Millis,
    /// How long the seller has, once the buyer says they paid, to release or dispute before the
    /// service disputes the order for the buyer (the ad's, when the order was made).
    pub release_window_seconds: i64,
    pub paid_at: Option<Millis>,
    pub completed_at: Option<Millis>,
    pub cancelled_at: Option<Millis>,
    pub dispute: Option<Dispute>,
    /// Set when a rule held the new order for review.
    pub review: Option<Review>,
}

impl Order {
    /// Whether the order waits for an operator's review: its buyer does not see it and its
    /// payment window has not started.
    pub fn held(&self) -> bool {
        self.status == OrderStatus::Pending
            && self.review.as_ref().is_some_and(|r| r.cleared_at.is_none())
    }

    /// The part `user_id` plays in this order, if any.
    pub fn party(&self, user_id: UserId) -> Option<Participant> {
        if user_id == self.buyer_id {
            Some(Participant::Buyer)
        } else if user_id == self.seller_id {
            Some(Participant::Seller)
        } else {
            None
        }
    }

    /// The part `caller` plays in this order (`None`: the service itself); strangers do not learn
    /// that it exists.
    pub fn participant(&self, caller: Option<Caller>) -> Result<Participant, DomainError> {
        let Some(caller) = caller else {
            return Ok(Participant::System);
        };
        if let Some(party) = self.party(caller.user_id) {
            if party == Participant::Buyer && self.held() {
                return Err(ErrorCode::NotFound.into());
            }
            return Ok(party);
        }
        if caller.role == Role::Operator {
            return Ok(Participant::Operator);
        }
        Err(ErrorCode::NotFound.into())
    }

    /// When the service disputes a paid order for its buyer unless the seller releases or
    /// disputes it first: only while the order is `paid_by_buyer`.
    pub fn release_deadline(&self) -> Option<Millis> {
        match (self.status, self.paid_at) {
            (OrderStatus::PaidByBuyer, Some(paid_at)) => {
                Some(paid_at + self.release_window_seconds * 1000)
            }
            _ => None,
        }
    }

    /// The order's next deadline and what the service does when it passes: a pending order's
    /// payment window (it expires), a paid order's release window (it is disputed for the
    /// buyer). A held order's window has not started.
    pub fn deadline(&self) -> Option<(Millis, Action)> {
        match self.status {
            OrderStatus::Pending if !self.held() => Some((self.expires_at, Action::Expire)),
            OrderStatus::PaidByBuyer => self
                .release_deadline()
                .map(|deadline| (deadline, Action::ReleaseTimeout)),
            _ => None,
        }
    }

    /// The maker of the ad: the counterparty of the taker.
    pub fn maker_id(&self) -> UserId {
        if self.taker_id == self.buyer_id {
            self.seller_id
        } else {
            self.buyer_id
        }
    }

    /// The order after `transition` commits at `now`, done by `actor_id` (None for the system).
    pub fn after(
        &self,
        step: &Transition,
        action: Action,
        actor_id: Option<UserId>,
        now: Millis,
    ) -> Order {
        let mut next = self.clone();
        next.status = step.to;
        match step.to {
            OrderStatus::PaidByBuyer => next.paid_at = Some(now),
            OrderStatus::Completed => next.completed_at = Some(now),
            OrderStatus::Cancelled => {
                next.cancelled_at = Some(now);
                next.cancel_reason = step.cancel_reason;
            }
            OrderStatus::Disputed if self.status != OrderStatus::Disputed => {
                next.dispute = Some(Dispute {
                    opened_by: actor_id,
                    reason: (action == Action::ReleaseTimeout)
                        .then(|| RELEASE_TIMEOUT_REASON.to_owned()),
                    opened_at: now,
                    answer_due_at: None,
                    answered_at: None,
                    proposal: None,
                    resolution: None,
                    resolved_by: None,
                    resolved_at: None,
                    note: None,
                });
            }
            _ => {}
        }
        if let (Action::Clear, Some(review)) = (action, next.review.as_mut()) {
            review.cleared_at = Some(now);
            review.cleared_by = actor_id;
            // The payment window starts now, as long as it was.
            next.expires_at = now + (self.expires_at - self.created_at);
        }
        if let (Action::Resolve(resolution), Some(dispute)) = (action, next.dispute.as_mut()) {
            dispute.resolution = Some(resolution);
            dispute.resolved_by = actor_id;
            dispute.resolved_at = Some(now);
        }
        next
    }
}

/// The reason of a dispute the service opened because the seller let the release window close.
pub const RELEASE_TIMEOUT_REASON: &str = "release_timeout";

/// The deadline of a new order's payment window.
pub fn expires_at(created_at_ms: Millis, payment_window_seconds: i64) -> Millis {
    created_at_ms + payment_window_seconds * 1000
}

/// The fiat to pay for an order. SPEC.md §2: it equals the USDT amount, both in kopecks.
pub fn fiat_amount(usdt_amount: Kopecks) -> Kopecks {
    usdt_amount
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUSES: [OrderStatus; 5] = [
        OrderStatus::Pending,
        OrderStatus::PaidByBuyer,
        OrderStatus::Disputed,
        OrderStatus::Completed,
        OrderStatus::Cancelled,
    ];
    const PARTICIPANTS: [Participant; 4] = [
        Participant::Buyer,
        Participant::Seller,
        Participant::Operator,
        Participant::System,
    ];
    const ACTIONS: [Action; 9] = [
        Action::ConfirmPaid,
        Action::ConfirmReceived,
        Action::Cancel,
        Action::CallOperator,
        Action::Resolve(Resolution::Release),
        Action::Resolve(Resolution::Refund),
        Action::Expire,
        Action::ReleaseTimeout,
        Action::UpdatePaymentDetails,
    ];

    /// Every allowed (status, participant, action) and its effect; everything else is refused.
    fn allowed() -> Vec<(OrderStatus, Participant, Action, Transition)> {
        use Action::*;
        use OrderStatus::*;
        vec![
            (
                Pending,
                Participant::Buyer,
                ConfirmPaid,
                Transition::keep(PaidByBuyer),
            ),
            (
                PaidByBuyer,
                Participant::Seller,
                ConfirmReceived,
                Transition::release(),
            ),
            (
                Disputed,
                Participant::Seller,
                ConfirmReceived,
                Transition::release(),
            ),
            (
                Pending,
                Participant::Buyer,
                Cancel,
                Transition::refund(CancelReason::Buyer),
            ),
            (
                Pending,
                Participant::Seller,
                Cancel,
                Transition::refund(CancelReason::Seller),
            ),
            (
                PaidByBuyer,
                Participant::Buyer,
                Cancel,
                Transition::refund(CancelReason::Buyer),
            ),
            (
                PaidByBuyer,
                Participant::Buyer,
                CallOperator,
                Transition::keep(Disputed),
            ),
            (
                PaidByBuyer,
                Participant::Seller,
                CallOperator,
                Transition::keep(Disputed),
            ),
            (
                Disputed,
                Participant::Operator,
                Resolve(Resolution::Release),
                Transition::release(),
            ),
            (
                Disputed,
                Participant::Operator,
                Resolve(Resolution::Refund),
                Transition::refund(CancelReason::Operator),
            ),
            (
                Pending,
                Participant::System,
                Expire,
                Transition::refund(CancelReason::Timeout),
            ),
            (
                PaidByBuyer,
                Participant::System,
                ReleaseTimeout,
                Transition::keep(Disputed),
            ),
            (
                Pending,
                Participant::Seller,
                UpdatePaymentDetails,
                Transition::keep(Pending),
            ),
        ]
    }

    #[test]
    fn every_allowed_transition_has_its_effect() {
        for (status, participant, action, expected) in allowed() {
            assert_eq!(
                transition(status, participant, action),
                Ok(expected),
                "{status:?} {participant:?} {action:?}"
            );
        }
    }

    #[test]
    fn every_other_combination_is_refused() {
        let allowed = allowed();
        for status in STATUSES {
            for participant in PARTICIPANTS {
                for action in ACTIONS {
                    if allowed
                        .iter()
                        .any(|(s, a, x, _)| (*s, *a, *x) == (status, participant, action))
                    {
                        continue;
                    }
                    let refusal = transition(status, participant, action);
                    assert!(
                        matches!(
                            refusal,
                            Err(ErrorCode::Forbidden | ErrorCode::InvalidOrderStatus)
                        ),
                        "{status:?} {participant:?} {action:?} gave {refusal:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn terminal_statuses_have_no_way_out() {
        for status in [OrderStatus::Completed, OrderStatus::Cancelled] {
            for participant in PARTICIPANTS {
                for action in ACTIONS {
                    assert!(transition(status, participant, action).is_err());
                }
            }
        }
    }

    #[test]
    fn the_wrong_party_is_forbidden_whatever_the_status() {
        for status in STATUSES {
            assert_eq!(
                transition(status, Participant::Seller, Action::ConfirmPaid),
                Err(ErrorCode::Forbidden)
            );
            assert_eq!(
                transition(status, Participant::Buyer, Action::ConfirmReceived),
                Err(ErrorCode::Forbidden)
            );
            assert_eq!(
                transition(
                    status,
                    Participant::Buyer,
                    Action::Resolve(Resolution::Release)
                ),
                Err(ErrorCode::Forbidden)
            );
            assert_eq!(
                transition(status, Participant::Operator, Action::Cancel),
                Err(ErrorCode::Forbidden)
            );
        }
    }

    #[test]
    fn the_seller_cannot_cancel_after_the_buyer_paid() {
        assert_eq!(
            transition(
                OrderStatus::PaidByBuyer,
                Participant::Seller,
                Action::Cancel
            ),
            Err(ErrorCode::InvalidOrderStatus)
        );
        assert_eq!(
            transition(OrderStatus::Disputed, Participant::Buyer, Action::Cancel),
            Err(ErrorCode::InvalidOrderStatus)
        );
    }

    #[test]
    fn a_party_at_the_wrong_time_hears_invalid_order_status() {
        assert_eq!(
            transition(
                OrderStatus::Pending,
                Participant::Seller,
                Action::ConfirmReceived
            ),
            Err(ErrorCode::InvalidOrderStatus)
        );
        assert_eq!(
            transition(
                OrderStatus::Pending,
                Participant::Buyer,
                Action::CallOperator
            ),
            Err(ErrorCode::InvalidOrderStatus)
        );
        assert_eq!(
            transition(OrderStatus::Completed, Participant::Buyer, Action::Cancel),
            Err(ErrorCode::InvalidOrderStatus)
        );
    }

    #[test]
    fn a_held_order_waits_for_its_review() {
        use OrderStatus::Pending;
        let held = |participant, action| decide(Pending, true, participant, action);
        assert_eq!(
            held(Participant::Operator, Action::Clear),
            Ok(Transition::keep(Pending))
        );
        assert_eq!(
            held(Participant::Operator, Action::Cancel),
            Ok(Transition::refund(CancelReason::Operator))
        );
        assert_eq!(
            held(Participant::Seller, Action::Cancel),
            Ok(Transition::refund(CancelReason::Seller))
        );
        assert_eq!(
            held(Participant::System, Action::Expire),
            Err(ErrorCode::InvalidOrderStatus),
            "its window has not started"
        );
        assert_eq!(
            held(Participant::Seller, Action::Clear),
            Err(ErrorCode::Forbidden)
        );
        assert_eq!(
            decide(Pending, false, Participant::Operator, Action::Clear),
            Err(ErrorCode::InvalidOrderStatus),
            "nothing to clear"
        );
        assert_eq!(
            allowed_actions(Pending, true, Participant::Operator, false),
            ["clear", "cancel", "message"]
        );
        assert_eq!(
            allowed_actions(Pending, true, Participant::Seller, false),
            ["cancel", "update_payment_details", "message"]
        );
    }

    #[test]
    fn statuses_round_trip_through_their_names() {
        for status in STATUSES {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(OrderStatus::parse("PENDING"), None);
    }

    #[test]
    fn only_pending_paid_and_disputed_are_active() {
        let active: Vec<_> = STATUSES.into_iter().filter(|s| s.is_active()).collect();
        assert_eq!(active, OrderStatus::ACTIVE.to_vec());
    }

    #[test]
    fn allowed_actions_follow_the_state_machine() {
        use OrderStatus::*;
        let cases: [(OrderStatus, Participant, bool, &[&str]); 10] = [
            (
                Pending,
                Participant::Buyer,
                false,
                &["confirm_paid", "cancel", "message"],
            ),
            (
                Pending,
                Participant::Seller,
                false,
                &["cancel", "update_payment_details", "message"],
            ),
            (Pending, Participant::Operator, false, &["message"]),
            (
                PaidByBuyer,
                Participant::Buyer,
                false,
                &["cancel", "call_operator", "message"],
            ),
            (
                PaidByBuyer,
                Participant::Seller,
                false,
                &["confirm_received", "call_operator", "message"],
            ),
            (
                Disputed,
                Participant::Operator,
                false,
                &["resolve", "message"],
            ),
            (
                Disputed,
                Participant::Seller,
                false,
                &["confirm_received", "message"],
            ),
            (Completed, Participant::Buyer, false, &["message", "rate"]),
            (Completed, Participant::Seller, true, &["message"]),
            (Cancelled, Participant::System, false, &[]),
        ];
        for (status, participant, rated, expected) in cases {
            assert_eq!(
                allowed_actions(status, false, participant, rated),
                expected,
                "{status:?} {participant:?}"
            );
        }
        // Every named action is one the state machine allows, in every status, for every participant.
        for status in STATUSES {
            for participant in PARTICIPANTS {
                for name in allowed_actions(status, false, participant, false) {
                    let allowed = ACTIONS.iter().any(|action| {
                        transition(status, participant, *action).is_ok()
                            && matches!(
                                (name, action),
                                ("confirm_paid", Action::ConfirmPaid)
                                    | ("confirm_received", Action::ConfirmReceived)
                                    | ("cancel", Action::Cancel)
                                    | ("call_operator", Action::CallOperator)
                                    | ("resolve", Action::Resolve(_))
                                    | ("update_payment_details", Action::UpdatePaymentDetails)
                            )
                    });
                    assert!(allowed || name == "message" || name == "rate", "{name}");
                }
            }
        }
    }
}
