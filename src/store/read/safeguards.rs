//! `blocks`, the cancels counted against takers and the platform's restrictions: what the
//! safeguards rebuild from.

use std::sync::LazyLock;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::query::{int, query, unknown};
use crate::domain::event_kind::EventKind;
use crate::domain::order::OrderStatus;
use crate::domain::restriction::{Restriction, RestrictionKind};
use crate::domain::{DomainError, Millis, OrderId, UserId};
use crate::store::handle::Store;

/// The events of pending orders' cancels, kind and status as text in the statement, not
/// parameters, so every plan may read the partial indexes whose predicates name them
/// (`events_taker_cancels`, `events_cancels`).
static PENDING_CANCELS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "kind = '{}' AND from_status = '{}'",
        EventKind::OrderCancelled.as_str(),
        OrderStatus::Pending.as_str()
    )
});

/// Those of the cancels made by the order's taker, `e` their events.
static TAKER_CANCELS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT e.id, e.actor_id, e.order_id, e.created_at FROM \
         (SELECT id, actor_id, order_id, created_at FROM events WHERE {}) e \
         JOIN orders o ON o.id = e.order_id WHERE e.actor_id = o.taker_id",
        *PENDING_CANCELS
    )
});

/// A cancel's `(taker, order, at)`.
fn taker_cancel(row: &AnyRow) -> Result<(UserId, OrderId, Millis), sqlx::Error> {
    Ok((
        int(row, "actor_id")?,
        int(row, "order_id")?,
        row.try_get("created_at")?,
    ))
}

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

    /// Cancels of pending orders by their takers since `since`: `(taker, order, at)`.
    pub async fn taker_cancels(
        &self,
        since: Millis,
    ) -> Result<Vec<(UserId, OrderId, Millis)>, DomainError> {
        let sql = format!("{} AND e.created_at >= $1", *TAKER_CANCELS);
        self.all(query(sql).bind(since), taker_cancel).await
    }

    /// The cancels of pending orders by their takers after the one with id `after_id`, oldest
    /// first, and the id to read after next time. Only below the feeds' horizon (see
    /// [`event_horizon`](crate::store::Dialect::event_horizon)), so no cancel of a transaction
    /// still running is passed over for good: each node reads the others' cancels once each.
    pub async fn taker_cancels_after(
        &self,
        after_id: i64,
    ) -> Result<(Vec<(UserId, OrderId, Millis)>, i64), DomainError> {
        let sql = format!(
            "SELECT * FROM ({}) cancels WHERE id > $1{} ORDER BY id",
            *TAKER_CANCELS,
            self.dialect().event_horizon()
        );
        let rows = self
            .all(query(sql).bind(after_id), |row| {
                Ok((taker_cancel(row)?, row.try_get::<i64, _>("id")?))
            })
            .await?;
        let next = rows.last().map_or(after_id, |(_, id)| *id);
        Ok((rows.into_iter().map(|(cancel, _)| cancel).collect(), next))
    }

    /// The newest cancel of a pending order below the feeds' horizon (0 before any): where
    /// [`taker_cancels_after`](Self::taker_cancels_after) starts.
    pub async fn last_taker_cancel_id(&self) -> Result<i64, DomainError> {
        let sql = format!(
            "SELECT COALESCE(MAX(id), 0) FROM events WHERE {}{}",
            *PENDING_CANCELS,
            self.dialect().event_horizon()
        );
        self.scalar(query(sql)).await
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
