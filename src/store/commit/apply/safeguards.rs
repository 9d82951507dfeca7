//! Blocks between users, and the platform's restrictions of a user.

use super::writer::{Failure, Writer};
use crate::domain::Millis;
use crate::domain::UserId;
use crate::store::commit::op::{NewBlock, NewRestriction};
use crate::store::connection::{Connection, query};

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
}
