//! Blocks between users, saved payment methods, and the platform's restrictions of a user.

use super::writer::{Failure, Writer, refused};
use crate::domain::ErrorCode;
use crate::domain::Millis;
use crate::domain::UserId;
use crate::domain::payment_method::MAX_SAVED_METHODS;
use crate::store::commit::op::{NewBlock, NewRestriction, NewSavedMethod};
use crate::store::connection::{Connection, query};
use crate::store::dialect::{Dialect, EVENT_PLACE_BITS, postgres_event_id};
use crate::store::json;

impl<C: Connection> Writer<'_, C> {
    /// `blocker` no longer trades with `blocked`; a repeat changes nothing.
    pub(super) async fn block(&mut self, block: &NewBlock) -> Result<(), Failure> {
        let changed = query(
            "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (blocker_id, blocked_id) DO NOTHING",
        )
        .bind(block.blocker_id)
        .bind(block.blocked_id)
        .bind(block.now)
        .execute(&mut *self.conn)
        .await?;
        self.block_changed(changed, block.blocker_id, block.blocked_id)
            .await
    }

    pub(super) async fn unblock(
        &mut self,
        blocker_id: UserId,
        blocked_id: UserId,
    ) -> Result<(), Failure> {
        let changed = query("DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2")
            .bind(blocker_id)
            .bind(blocked_id)
            .execute(&mut *self.conn)
            .await?;
        self.block_changed(changed, blocker_id, blocked_id).await
    }

    /// Notes in `block_changes` that the pair's row of `blocks` changed, if it did (`changed`
    /// rows), for the other nodes' refresh. On PostgreSQL the change's id is the transaction's
    /// lowest event id plus the count of changes it wrote before (see `postgres_event_id`).
    async fn block_changed(
        &mut self,
        changed: u64,
        blocker_id: UserId,
        blocked_id: UserId,
    ) -> Result<(), Failure> {
        if changed == 0 {
            return Ok(());
        }
        let sql = match self.dialect {
            Dialect::Sqlite => {
                "INSERT INTO block_changes (blocker_id, blocked_id) VALUES ($1, $2)".to_string()
            }
            Dialect::Postgres => format!(
                "INSERT INTO block_changes (id, blocker_id, blocked_id) \
                 SELECT x.first + (SELECT COUNT(*) FROM block_changes \
                   WHERE id >= x.first AND id < x.first + {}), $1, $2 \
                 FROM (SELECT {} AS first) x",
                1i64 << EVENT_PLACE_BITS,
                postgres_event_id("0")
            ),
        };
        query(sql)
            .bind(blocker_id)
            .bind(blocked_id)
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }

    pub(super) async fn restrict(&mut self, restriction: &NewRestriction) -> Result<(), Failure> {
        let id = query(
            "INSERT INTO restrictions (user_id, kind, until, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING id",
        )
        .bind(restriction.user_id)
        .bind(restriction.kind.as_str())
        .bind(restriction.until)
        .bind(restriction.now)
        .fetch_one(&mut *self.conn)
        .await?;
        self.receipt.inserted_ids.push(id);
        Ok(())
    }

    pub(super) async fn lift_restrictions(
        &mut self,
        user_id: UserId,
        now: Millis,
    ) -> Result<(), Failure> {
        query(
            "UPDATE restrictions SET lifted_at = $2 \
             WHERE user_id = $1 AND lifted_at IS NULL AND until > $2",
        )
        .bind(user_id)
        .bind(now)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    pub(super) async fn save_payment_method(
        &mut self,
        saved: &NewSavedMethod,
    ) -> Result<(), Failure> {
        let id = query(format!(
            "INSERT INTO payment_methods (user_id, method, details, label, created_at) \
             SELECT $1, $2, $3, $4, $5 WHERE (SELECT COUNT(*) FROM payment_methods \
               WHERE user_id = $1 AND deleted_at IS NULL) < {MAX_SAVED_METHODS} \
             RETURNING id"
        ))
        .bind(saved.user_id)
        .bind(saved.method.clone())
        .bind(json::text(&saved.details))
        .bind(saved.label.clone())
        .bind(saved.now)
        .fetch_optional::<i64>(&mut *self.conn)
        .await?
        .ok_or_else(|| refused(ErrorCode::PaymentMethodsLimit))?;
        self.receipt.inserted_ids.push(id);
        Ok(())
    }

    pub(super) async fn delete_payment_method(
        &mut self,
        id: i64,
        user_id: UserId,
        now: Millis,
    ) -> Result<(), Failure> {
        let deleted = query(
            "UPDATE payment_methods SET deleted_at = $3 \
             WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL",
        )
        .bind(id)
        .bind(user_id)
        .bind(now)
        .execute(&mut *self.conn)
        .await?;
        if deleted == 0 {
            return Err(refused(ErrorCode::NotFound));
        }
        Ok(())
    }
}
