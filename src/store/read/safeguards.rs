//! `blocks`, the cancels counted against takers and the platform's restrictions: what the
//! safeguards rebuild from.

use std::sync::LazyLock;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::query::{Decode, int, query, unknown};
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

    /// The pairs whose block changed after the change with id `after_id`, each with whether it
    /// holds now: `(blocker, blocked, blocked now)`; and the id to read after next time. Only
    /// changes below the feeds' horizon (see
    /// [`event_horizon`](crate::store::Dialect::event_horizon)), so none of a transaction still
    /// running is passed over; the pairs' rows of `blocks` are read in the same statement, so
    /// each answer is at least as new as the last change read of its pair.
    pub async fn block_changes_after(
        &self,
        after_id: i64,
    ) -> Result<(Vec<(UserId, UserId, bool)>, i64), DomainError> {
        let sql = format!(
            "SELECT blocker_id, blocked_id, MAX(id) AS id, \
               CAST(CASE WHEN EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = c.blocker_id \
                 AND b.blocked_id = c.blocked_id) THEN 1 ELSE 0 END AS BIGINT) AS holds \
             FROM block_changes c WHERE id > $1{} GROUP BY blocker_id, blocked_id",
            self.dialect().event_horizon()
        );
        self.after_cursor(sql, after_id, |row| {
            let holds: i64 = row.try_get("holds")?;
            Ok((int(row, "blocker_id")?, int(row, "blocked_id")?, holds == 1))
        })
        .await
    }

    /// The newest block change below the feeds' horizon (0 before any): where
    /// [`block_changes_after`](Self::block_changes_after) starts.
    pub async fn last_block_change_id(&self) -> Result<i64, DomainError> {
        self.last_id_below_horizon("block_changes", "id > 0").await
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
        self.after_cursor(sql, after_id, taker_cancel).await
    }

    /// The newest cancel of a pending order below the feeds' horizon (0 before any): where
    /// [`taker_cancels_after`](Self::taker_cancels_after) starts.
    pub async fn last_taker_cancel_id(&self) -> Result<i64, DomainError> {
        self.last_id_below_horizon("events", &PENDING_CANCELS).await
    }

    /// The rows of `sql` (read after the id `$1` = `after_id`, each with its `id`) as `read`
    /// makes them, and the id to read after next time: the greatest read, else `after_id`.
    async fn after_cursor<T>(
        &self,
        sql: String,
        after_id: i64,
        read: Decode<T>,
    ) -> Result<(Vec<T>, i64), DomainError> {
        let rows = self
            .all(query(sql).bind(after_id), |row| {
                Ok((read(row)?, row.try_get::<i64, _>("id")?))
            })
            .await?;
        let next = (rows.iter().map(|(_, id)| *id)).fold(after_id, i64::max);
        Ok((rows.into_iter().map(|(item, _)| item).collect(), next))
    }

    /// The greatest id of `table`'s rows that `filter` finds below the feeds' horizon (0 if
    /// none): where the reads after a cursor start.
    async fn last_id_below_horizon(&self, table: &str, filter: &str) -> Result<i64, DomainError> {
        let sql = format!(
            "SELECT COALESCE(MAX(id), 0) FROM {table} WHERE {filter}{}",
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

#[cfg(test)]
mod tests {
    use crate::domain::UserId;
    use crate::domain::user::Role;
    use crate::store::test_db::{postgres_store, sqlite_store};
    use crate::store::{Commit, NewBlock, NewUser, Op, Store};

    /// Three users' ids.
    async fn users(store: &Store) -> [i64; 3] {
        let mut ids = [0; 3];
        for (n, id) in ids.iter_mut().enumerate() {
            let user = Op::InsertUser(NewUser {
                name: format!("user {n}"),
                role: Role::User,
                token_hash: format!("hash {n}"),
                now: 0,
            });
            *id = store
                .commit(Commit::new(vec![user]))
                .await
                .unwrap()
                .first_id();
        }
        ids
    }

    async fn set(store: &Store, blocker: i64, blocked: i64, block: bool) {
        let (blocker_id, blocked_id) = (UserId(blocker), UserId(blocked));
        let op = match block {
            true => Op::Block(NewBlock {
                blocker_id,
                blocked_id,
                now: 1,
            }),
            false => Op::Unblock {
                blocker_id,
                blocked_id,
            },
        };
        store.commit(Commit::new(vec![op])).await.unwrap();
    }

    /// The pairs changed after `after`, sorted, and where the next read starts; read again for up
    /// to ten seconds until there are at least `least` of them. (On PostgreSQL the feeds' horizon
    /// is the oldest transaction still running in the whole server, and the other tests' hold it
    /// back for moments.)
    async fn changed(store: &Store, after: i64, least: usize) -> (Vec<(i64, i64, bool)>, i64) {
        for _ in 0..1000 {
            let (pairs, next) = store.block_changes_after(after).await.unwrap();
            if pairs.len() >= least {
                let mut pairs: Vec<_> = (pairs.into_iter())
                    .map(|(a, b, holds)| (a.get(), b.get(), holds))
                    .collect();
                pairs.sort_unstable();
                return (pairs, next);
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("fewer than {least} changed pairs after ten seconds");
    }

    /// Each read answers the pairs changed since the one before, once each, as they stand; a
    /// repeated block or an unblock of no block changes nothing to read.
    async fn reads_of_block_changes_answer_each_changed_pair_once_as_it_stands(store: &Store) {
        let [a, b, c] = users(store).await;
        assert_eq!(store.last_block_change_id().await.unwrap(), 0);
        assert_eq!(changed(store, 0, 0).await, (vec![], 0));
        set(store, a, b, true).await;
        set(store, a, c, true).await;
        set(store, a, c, true).await;
        set(store, c, a, false).await;
        let (pairs, first) = changed(store, 0, 2).await;
        assert_eq!(pairs, [(a, b, true), (a, c, true)]);
        assert_eq!(store.last_block_change_id().await.unwrap(), first);
        assert_eq!(changed(store, first, 0).await, (vec![], first));
        set(store, a, b, false).await;
        set(store, a, b, true).await;
        set(store, a, b, false).await;
        let (pairs, second) = changed(store, first, 1).await;
        assert_eq!(pairs, [(a, b, false)]);
        assert!(second > first);
    }

    #[tokio::test]
    async fn reads_of_block_changes_on_sqlite() {
        let (store, _dir) = sqlite_store().await;
        reads_of_block_changes_answer_each_changed_pair_once_as_it_stands(&store).await;
    }

    #[tokio::test]
    async fn reads_of_block_changes_on_postgres() {
        let Some((store, _)) = postgres_store("reads of block changes").await else {
            return;
        };
        reads_of_block_changes_answer_each_changed_pair_once_as_it_stands(&store).await;
    }

    /// A change of a transaction that began before another's and commits after it is not passed
    /// over: neither is read while the first still runs, both once it ends.
    #[tokio::test]
    async fn a_block_change_still_being_written_holds_back_the_later_ones() {
        use sqlx::Connection as _;
        let Some((store, url)) = postgres_store("block changes behind a running one").await else {
            return;
        };
        let [a, b, c] = users(&store).await;
        let start = store.last_block_change_id().await.unwrap();
        let mut early = sqlx::PgConnection::connect(&url).await.unwrap();
        for sql in [
            "BEGIN",
            "SELECT pg_current_xact_id()",
            "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, 0)",
        ] {
            let statement = sqlx::query(sql);
            let statement = match sql.starts_with("INSERT") {
                true => statement.bind(a).bind(c),
                false => statement,
            };
            statement.execute(&mut early).await.unwrap();
        }
        set(&store, a, b, true).await;
        assert_eq!(changed(&store, start, 0).await, (vec![], start));
        sqlx::query(
            "INSERT INTO block_changes (id, blocker_id, blocked_id) \
             VALUES (pg_current_xact_id()::text::bigint << 20, $1, $2)",
        )
        .bind(a)
        .bind(c)
        .execute(&mut early)
        .await
        .unwrap();
        sqlx::query("COMMIT").execute(&mut early).await.unwrap();
        let (pairs, _) = changed(&store, start, 2).await;
        assert_eq!(pairs, [(a, b, true), (a, c, true)]);
    }
}
