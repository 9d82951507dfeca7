//! What each order transition adds to its parties' track records (see [`super::track`]).

use super::ids::UserId;
use super::order::{CancelReason, Order, OrderStatus};
use super::time::Millis;
use super::track::{DayFigures, day_of};

/// What a transition adds to one party's record on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackChange {
    pub user_id: UserId,
    pub day: i64,
    pub figures: DayFigures,
}

/// What the transition from `before` to `after` adds to its parties' records: a payment to the
/// buyer's, a completion to both (and the release to the seller's), a cancellation to the party
/// who cancelled, an expiry to the buyer's. Operator refunds and cancels count for no one.
pub fn changes(before: &Order, after: &Order) -> Vec<TrackChange> {
    if before.status == after.status {
        return Vec::new();
    }
    let change = |user_id, at: Millis, figures| TrackChange {
        user_id,
        day: day_of(at),
        figures,
    };
    match after.status {
        OrderStatus::PaidByBuyer => {
            // A held order's buyer could pay only once an operator cleared it.
            let shown_at = after
                .review
                .as_ref()
                .and_then(|review| review.cleared_at)
                .unwrap_or(after.created_at);
            let paid_at = after.paid_at.unwrap_or(shown_at);
            vec![change(
                after.buyer_id,
                paid_at,
                DayFigures {
                    paid: 1,
                    pay_ms: (paid_at - shown_at).max(0),
                    ..DayFigures::default()
                },
            )]
        }
        OrderStatus::Completed => {
            let completed_at = after.completed_at.unwrap_or_default();
            let paid_at = after.paid_at.unwrap_or(completed_at);
            let completed = DayFigures {
                completed: 1,
                ..DayFigures::default()
            };
            let released = DayFigures {
                released: 1,
                release_ms: (completed_at - paid_at).max(0),
                ..completed
            };
            vec![
                change(after.buyer_id, completed_at, completed),
                change(after.seller_id, completed_at, released),
            ]
        }
        OrderStatus::Cancelled => {
            let at = after.cancelled_at.unwrap_or_default();
            let (user_id, figures) = match after.cancel_reason {
                Some(CancelReason::Buyer) => (after.buyer_id, (1, 0)),
                Some(CancelReason::Seller) => (after.seller_id, (1, 0)),
                Some(CancelReason::Timeout) => (after.buyer_id, (0, 1)),
                Some(CancelReason::Operator) | None => return Vec::new(),
            };
            vec![change(
                user_id,
                at,
                DayFigures {
                    cancelled: figures.0,
                    expired: figures.1,
                    ..DayFigures::default()
                },
            )]
        }
        OrderStatus::Pending | OrderStatus::Disputed => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::track::DAY_MS;

    #[test]
    fn each_transition_adds_to_the_party_it_speaks_of() {
        use crate::domain::Kopecks;
        use crate::domain::order::{Action, transition};
        let ad = crate::domain::ad::tests::ad();
        // A withdrawal: the maker (7) buys, the taker (2) sells.
        let pending = ad.order_for(UserId(2), Kopecks(100_000), "card", None, DAY_MS - 1_000);
        let step = |order: &Order, action, actor| {
            let party = order.party(UserId(actor)).expect("a party");
            let step = transition(order.status, party, action).expect("allowed");
            order.after(
                &step,
                action,
                Some(UserId(actor)),
                order.created_at + 61_000,
            )
        };
        let paid = step(&pending, Action::ConfirmPaid, 7);
        assert_eq!(
            changes(&pending, &paid),
            vec![TrackChange {
                user_id: UserId(7),
                day: 1,
                figures: DayFigures {
                    paid: 1,
                    pay_ms: 61_000,
                    ..DayFigures::default()
                },
            }]
        );
        let done = step(&paid, Action::ConfirmReceived, 2);
        let released = changes(&paid, &done);
        assert_eq!(released.len(), 2);
        assert_eq!(
            (released[0].user_id, released[0].figures.completed),
            (UserId(7), 1)
        );
        assert_eq!(
            (
                released[1].user_id,
                released[1].figures.released,
                released[1].figures.release_ms
            ),
            (UserId(2), 1, 0)
        );
        let by_seller = step(&pending, Action::Cancel, 2);
        assert_eq!(changes(&pending, &by_seller)[0].user_id, UserId(2));
        assert_eq!(changes(&pending, &by_seller)[0].figures.cancelled, 1);
        assert!(changes(&pending, &pending).is_empty());
    }
}
