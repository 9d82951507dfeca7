//! The dispute desk's rules: whom an open dispute waits on, and since when; and four eyes on
//! large resolutions: a resolution of an order at or above the dual-control amount
//! is proposed by one operator and takes effect only when a second, different one approves it;
//! a rejection sends the dispute back to the queue.

use super::error::{DomainError, ErrorCode};
use super::order::{Action, Order, OrderStatus, Participant};
use super::{Kopecks, Millis, UserId};

impl Order {
    /// The party an open dispute waits on to answer in the chat: the one it was opened against
    /// (the seller, when the service opened it for the buyer), until their first message.
    pub fn awaited(&self) -> Option<Participant> {
        let dispute = self.dispute.as_ref()?;
        if self.status != OrderStatus::Disputed || dispute.answered_at.is_some() {
            return None;
        }
        Some(match self.dispute_opener()? {
            Participant::Seller => Participant::Buyer,
            _ => Participant::Seller,
        })
    }

    /// Whom an open dispute waits on, and since when: the awaited party from its opening, then
    /// an operator from the answer.
    pub fn waiting_on(&self) -> Option<(Participant, Millis)> {
        let dispute = self.dispute.as_ref()?;
        if self.status != OrderStatus::Disputed {
            return None;
        }
        Some(match (self.awaited(), dispute.answered_at) {
            (Some(party), _) => (party, dispute.opened_at),
            (None, answered_at) => (
                Participant::Operator,
                answered_at.unwrap_or(dispute.opened_at),
            ),
        })
    }

    /// Who opened the order's dispute: `buyer`, `seller` or `system`.
    pub fn dispute_opener(&self) -> Option<Participant> {
        let dispute = self.dispute.as_ref()?;
        Some(match dispute.opened_by {
            Some(user_id) => self.party(user_id).unwrap_or(Participant::Operator),
            None => Participant::System,
        })
    }
}

/// Whether resolving `order` takes two operators (`dual_control` zero: never).
pub fn needs_four_eyes(order: &Order, dual_control: Kopecks) -> bool {
    dual_control.is_positive() && order.usdt_amount >= dual_control
}

/// What an operator's `action` does to `order`: a resolution that needs four eyes becomes a
/// proposal, and an approval becomes the proposal's resolution. Refused: a second proposal
/// while one waits, an approval or a rejection with none, and an approval by the operator who
/// proposed it.
pub fn route(
    order: &Order,
    action: Action,
    operator: UserId,
    dual_control: Kopecks,
) -> Result<Action, DomainError> {
    let proposal = order.dispute.as_ref().and_then(|d| d.proposal.as_ref());
    let none_proposed = || {
        DomainError::new(
            ErrorCode::InvalidOrderStatus,
            "no resolution of this order is proposed",
        )
    };
    match action {
        Action::Resolve(resolution) if needs_four_eyes(order, dual_control) => match proposal {
            Some(_) => Err(DomainError::new(
                ErrorCode::InvalidOrderStatus,
                "a resolution of this order is proposed already: approve or reject it",
            )),
            None => Ok(Action::Propose(resolution)),
        },
        Action::Approve => match proposal {
            None => Err(none_proposed()),
            Some(proposal) if proposal.proposed_by == operator => Err(DomainError::new(
                ErrorCode::Forbidden,
                "a second operator must approve the resolution this operator proposed",
            )),
            Some(proposal) => Ok(Action::Resolve(proposal.resolution)),
        },
        Action::Reject if proposal.is_none() => Err(none_proposed()),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::order::{Dispute, OrderStatus, Proposal, Resolution, Side};
    use crate::domain::{AdId, OrderId};

    fn disputed(amount: i64, proposed_by: Option<i64>) -> Order {
        Order {
            id: OrderId(1),
            ad_id: AdId(1),
            side: Side::Withdraw,
            buyer_id: UserId(1),
            seller_id: UserId(2),
            taker_id: UserId(2),
            usdt_amount: Kopecks(amount),
            fiat_amount: Kopecks(amount),
            fiat_currency: "RUB".into(),
            price: Kopecks(9_000),
            payment_method: "card".into(),
            payment_details: Default::default(),
            status: OrderStatus::Disputed,
            cancel_reason: None,
            created_at: 0,
            expires_at: 0,
            release_window_seconds: 1800,
            paid_at: Some(0),
            completed_at: None,
            cancelled_at: None,
            dispute: Some(Dispute {
                opened_by: Some(UserId(2)),
                reason: None,
                opened_at: 0,
                answer_due_at: None,
                answered_at: None,
                proposal: proposed_by.map(|by| Proposal {
                    resolution: Resolution::Refund,
                    note: None,
                    proposed_by: UserId(by),
                    proposed_at: 0,
                }),
                resolution: None,
                resolved_by: None,
                resolved_at: None,
                note: None,
            }),
            review: None,
        }
    }

    const RELEASE: Action = Action::Resolve(Resolution::Release);

    #[test]
    fn below_the_amount_one_operator_resolves() {
        let order = disputed(999, None);
        assert_eq!(
            route(&order, RELEASE, UserId(7), Kopecks(1_000)),
            Ok(RELEASE)
        );
        assert_eq!(route(&order, RELEASE, UserId(7), Kopecks(0)), Ok(RELEASE));
    }

    #[test]
    fn at_the_amount_a_resolution_is_proposed_once() {
        let order = disputed(1_000, None);
        assert_eq!(
            route(&order, RELEASE, UserId(7), Kopecks(1_000)),
            Ok(Action::Propose(Resolution::Release))
        );
        let proposed = disputed(1_000, Some(7));
        let again = route(&proposed, RELEASE, UserId(8), Kopecks(1_000)).unwrap_err();
        assert_eq!(again.code, ErrorCode::InvalidOrderStatus);
    }

    #[test]
    fn only_a_second_operator_approves() {
        let proposed = disputed(1_000, Some(7));
        let own = route(&proposed, Action::Approve, UserId(7), Kopecks(1_000)).unwrap_err();
        assert_eq!(own.code, ErrorCode::Forbidden);
        assert_eq!(
            route(&proposed, Action::Approve, UserId(8), Kopecks(1_000)),
            Ok(Action::Resolve(Resolution::Refund))
        );
        let unproposed = disputed(1_000, None);
        for action in [Action::Approve, Action::Reject] {
            let refused = route(&unproposed, action, UserId(8), Kopecks(1_000)).unwrap_err();
            assert_eq!(refused.code, ErrorCode::InvalidOrderStatus);
        }
        assert_eq!(
            route(&proposed, Action::Reject, UserId(7), Kopecks(1_000)),
            Ok(Action::Reject)
        );
    }
}
