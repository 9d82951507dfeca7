//! Blocks between users.

use super::writer::{Failure, Writer};
use crate::domain::UserId;
use crate::store::commit::op::NewBlock;
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
}
