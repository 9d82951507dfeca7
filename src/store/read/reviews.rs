//! What the review rules look at when a withdrawal is made: the seller's last deposit and the
//! bets since, the other users of the same card, the account's age and completed withdrawals.

use crate::domain::review::{ReviewFacts, ReviewRules};
use crate::domain::{DomainError, Kopecks, Millis, UserId};
use crate::store::handle::Store;

impl Store {
    /// The facts the rules that are on need (the others stay at their defaults).
    pub async fn review_facts(
        &self,
        seller: UserId,
        card_key: Option<&str>,
        rules: &ReviewRules,
        now: Millis,
    ) -> Result<ReviewFacts, DomainError> {
        let mut facts = ReviewFacts::default();
        let user = seller.get();
        if rules.low_play_percent > 0 {
            let sql = "SELECT id, amount, created_at FROM wallet_transactions \
                       WHERE user_id = $1 AND kind = 'deposit' ORDER BY id DESC LIMIT 1";
            let last = self
                .optional(sqlx::query(sql).bind(user), |row| {
                    use sqlx::Row;
                    Ok((
                        row.try_get::<i64, _>(0)?,
                        row.try_get::<i64, _>(1)?,
                        row.try_get::<i64, _>(2)?,
                    ))
                })
                .await?;
            if let Some((id, amount, at)) = last {
                facts.last_deposit = Some((Kopecks(amount), at));
                let sql = "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM wallet_transactions \
                           WHERE user_id = $1 AND kind = 'bet' AND id > $2";
                facts.wagered_since_deposit =
                    Kopecks(self.scalar(sqlx::query(sql).bind(user).bind(id)).await?);
            }
        }
        if rules.card_users > 0
            && let Some(card) = card_key
        {
            let sql = "SELECT COUNT(DISTINCT seller_id) FROM orders \
                       WHERE card_key = $1 AND created_at >= $2 AND seller_id <> $3";
            let query = sqlx::query(sql)
                .bind(card.to_owned())
                .bind(now - rules.card_window_ms)
                .bind(user);
            facts.other_card_users = self.scalar(query).await?;
        }
        if rules.new_account_limit.is_positive() {
            let sql = "SELECT created_at FROM users WHERE id = $1";
            facts.account_created_at = self.scalar(sqlx::query(sql).bind(user)).await?;
            let sql = "SELECT COUNT(*) FROM orders \
                       WHERE seller_id = $1 AND side = 'withdraw' AND status = 'completed'";
            facts.completed_withdrawals = self.scalar(sqlx::query(sql).bind(user)).await?;
        }
        Ok(facts)
    }
}
