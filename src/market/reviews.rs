//! Withdrawals held for review: the rules' judgement when one is made, and the operators' queue.

use super::service::Market;
use crate::domain::DomainError;
use crate::domain::order::{Order, Review, Side};
use crate::domain::review::{card_key, judge};
use crate::store::OrderFilter;

impl Market {
    /// Marks a new withdrawal held when a rule of the platform's matches it (a deposit, and
    /// every withdrawal while no rule is on, is left as it is without a read).
    pub(super) async fn judge_withdrawal(&self, order: &mut Order) -> Result<(), DomainError> {
        let rules = self.context.review_rules();
        if order.side != Side::Withdraw || !rules.any() {
            return Ok(());
        }
        let card = card_key(&order.payment_details);
        let facts = self
            .store()
            .review_facts(order.seller_id, card.as_deref(), &rules, order.created_at)
            .await?;
        if let Some(rule) = judge(&rules, &facts, order.usdt_amount, order.created_at) {
            order.review = Some(Review {
                rule,
                since: order.created_at,
                cleared_at: None,
                cleared_by: None,
            });
        }
        Ok(())
    }

    /// The orders held for review, oldest first.
    pub async fn held_orders(
        &self,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Order>, i64), DomainError> {
        let filter = OrderFilter {
            held: true,
            ..OrderFilter::default()
        };
        self.store().orders_page(filter, limit, offset).await
    }
}
