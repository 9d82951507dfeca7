//! `blocks`, and the cancels counted against takers: what the safeguards rebuild from.

use sqlx::Row;

use super::query::int;
use crate::domain::event_kind::EventKind;
use crate::domain::order::OrderStatus;
use crate::domain::{DomainError, Millis, UserId};
use crate::store::handle::Store;

impl Store {
    /// Every block: `(blocker, blocked)`.
    pub async fn blocks(&self) -> Result<Vec<(UserId, UserId)>, DomainError> {
        let sql = "SELECT blocker_id, blocked_id FROM blocks";
        self.all(sqlx::query(sql), |row| {
            Ok((int(row, "blocker_id")?, int(row, "blocked_id")?))
        })
        .await
    }

    /// The users `blocker_id` blocked, oldest block first: `(id, name, blocked at)`.
    pub async fn blocked_by(
        &self,
        blocker_id: UserId,
    ) -> Result<Vec<(UserId, String, Millis)>, DomainError> {
        let sql = "SELECT b.blocked_id, u.name, b.created_at FROM blocks b \
                   JOIN users u ON u.id = b.blocked_id \
                   WHERE b.blocker_id = $1 ORDER BY b.created_at, b.blocked_id";
        self.all(sqlx::query(sql).bind(blocker_id.get()), |row| {
            Ok((int(row, "blocked_id")?, row.try_get(1)?, row.try_get(2)?))
        })
        .await
    }

    /// Cancels of pending orders by their takers since `since`: `(taker, at)`.
    pub async fn taker_cancels(&self, since: Millis) -> Result<Vec<(UserId, Millis)>, DomainError> {
        let sql = "SELECT e.actor_id, e.created_at FROM events e JOIN orders o ON o.id = e.order_id \
                   WHERE e.kind = $2 AND e.created_at >= $1 AND e.from_status = $3 \
                   AND e.actor_id = o.taker_id";
        let query = sqlx::query(sql)
            .bind(since)
            .bind(EventKind::OrderCancelled.as_str())
            .bind(OrderStatus::Pending.as_str());
        self.all(query, |row| Ok((int(row, "actor_id")?, row.try_get(1)?)))
            .await
    }
}
