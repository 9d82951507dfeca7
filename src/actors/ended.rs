//! Orders that ended here lately, kept for the requests that follow an order's end (its
//! parties' ratings, a last look at it): an ended order never changes again, so a copy of it
//! is as good as the database's, on any node, and saves a read.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::config::ENDED_ORDERS_KEPT;
use crate::domain::OrderId;
use crate::domain::order::Order;

#[derive(Default)]
pub struct EndedOrders {
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    orders: HashMap<OrderId, Order>,
    /// Ids, oldest first.
    arrivals: VecDeque<OrderId>,
}

impl EndedOrders {
    /// Keeps `order`, which has ended.
    pub fn keep(&self, order: &Order) {
        debug_assert!(
            !order.status.is_active(),
            "order {} has not ended",
            order.id
        );
        let Ok(mut kept) = self.kept.lock() else {
            return;
        };
        if kept.orders.insert(order.id, order.clone()).is_none() {
            kept.arrivals.push_back(order.id);
        }
        while kept.arrivals.len() > ENDED_ORDERS_KEPT {
            if let Some(oldest) = kept.arrivals.pop_front() {
                kept.orders.remove(&oldest);
            }
        }
    }

    /// The ended order `id`, if it is kept.
    pub fn get(&self, id: OrderId) -> Option<Order> {
        self.kept.lock().ok()?.orders.get(&id).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::order::{OrderStatus, Side};
    use crate::domain::{AdId, Kopecks, UserId};

    #[test]
    fn the_oldest_leave_first_and_the_count_stays_bounded() {
        let ended = EndedOrders::default();
        let order = |id| Order {
            id,
            ad_id: AdId(1),
            side: Side::Withdraw,
            buyer_id: UserId(1),
            seller_id: UserId(2),
            taker_id: UserId(2),
            usdt_amount: Kopecks(100),
            fiat_amount: Kopecks(9_000),
            fiat_currency: "RUB".into(),
            price: Kopecks(9_000),
            payment_method: "card".into(),
            payment_details: serde_json::Map::new(),
            status: OrderStatus::Completed,
            cancel_reason: None,
            created_at: 0,
            expires_at: 0,
            release_window_seconds: 1800,
            paid_at: None,
            completed_at: None,
            cancelled_at: None,
            dispute: None,
            review: None,
        };
        for id in 1..=(ENDED_ORDERS_KEPT as i64 + 10) {
            ended.keep(&order(OrderId(id)));
        }
        ended.keep(&order(OrderId(20)));
        assert_eq!(ended.kept.lock().unwrap().orders.len(), ENDED_ORDERS_KEPT);
        assert!(ended.get(OrderId(10)).is_none(), "among the oldest");
        assert_eq!(ended.get(OrderId(11)).map(|o| o.id), Some(OrderId(11)));
        assert_eq!(
            ended.get(OrderId(20)).map(|o| o.status),
            Some(OrderStatus::Completed)
        );
    }
}
