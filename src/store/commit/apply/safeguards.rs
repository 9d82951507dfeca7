//! Blocks between users, saved payment methods, and the platform's restrictions of a user.

use super::writer::{Failure, Writer, refused};
use crate::domain::ErrorCode;
use crate::domain::Millis;
use crate::domain::UserId;
use crate::domain::payment_method::MAX_SAVED_METHODS;
use crate::store::commit::op::{NewBlock, NewRestriction, NewSavedMethod};
use crate::store::connection::{Connection, query};
use crate::store::json;

impl<C: Connection> Writer<'_, C> {
    /// `blocker` no longer trades with `blocked`; a repeat changes nothing.
    pub(super) async fn block(&mut self, block: &NewBlock) -> Result<(), Failure> {
        query(
            "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (blocker_id, blocked_id) DO NOTHING",
        )
        .bind(block.blocker_id)
        .bind(block.blocked_id)
        .bind(block.now)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    pub(super) async fn unblock(
        &mut self,
        blocker_id: UserId,
        blocked_id: UserId,
    ) -> Result<(), Failure> {
        query("DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2")
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
