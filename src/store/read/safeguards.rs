//! `blocks`, the cancels counted against takers and the platform's restrictions: what the
//! safeguards rebuild from.

use sqlx::Row;

use super::query::{int, unknown};
use crate::domain::event_kind::EventKind;
use crate::domain::order::OrderStatus;
use crate::domain::restriction::{Restriction, RestrictionKind};
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

    /// The restrictions holding at `now`: `(user, the latest end)`.
    pub async fn active_restrictions(
        &self,
        now: Millis,
    ) -> Result<Vec<(UserId, Millis)>, DomainError> {
        let sql = "SELECT user_id, MAX(until) AS until FROM restrictions \
                   WHERE lifted_at IS NULL AND until > $1 GROUP BY user_id";
        self.all(sqlx::query(sql).bind(now), |row| {
            Ok((int(row, "user_id")?, row.try_get(1)?))
        })
        .await
    }

    /// Every restriction of `user_id`, newest first.
    pub async fn restrictions_of(&self, user_id: UserId) -> Result<Vec<Restriction>, DomainError> {
        let sql = "SELECT id, user_id, kind, until, created_at, lifted_at FROM restrictions \
                   WHERE user_id = $1 ORDER BY id DESC";
        self.all(sqlx::query(sql).bind(user_id.get()), |row| {
            Ok(Restriction {
                id: row.try_get(0)?,
                user_id: int(row, "user_id")?,
                kind: RestrictionKind::parse(row.try_get("kind")?)
                    .ok_or_else(|| unknown("kind"))?,
                until: row.try_get(3)?,
                created_at: row.try_get(4)?,
                lifted_at: row.try_get(5)?,
            })
        })
        .await
    }
}
