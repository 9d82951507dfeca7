//! Webhooks: registration, the lease a node delivers under, and each delivery's outcome.

use super::writer::{Failure, Writer, refused};
use crate::domain::{ErrorCode, Millis};
use crate::store::commit::op::WebhookFailure;
use crate::store::connection::{Connection, query};

impl<C: Connection> Writer<'_, C> {
    /// Registers a webhook; it starts after the newest event a feed may pass on.
    pub(super) async fn insert_webhook(
        &mut self,
        url: &str,
        secret: &str,
        now: Millis,
    ) -> Result<(), Failure> {
        let id = query(format!(
            "INSERT INTO webhooks (url, secret, cursor, created_at) \
             VALUES ($1, $2, {}, $3) RETURNING id",
            self.dialect.newest_fed_event()
        ))
        .bind(url)
        .bind(secret)
        .bind(now)
        .fetch_one(&mut *self.conn)
        .await?;
        self.receipt.inserted_ids.push(id);
        Ok(())
    }

    pub(super) async fn delete_webhook(&mut self, id: i64, now: Millis) -> Result<(), Failure> {
        let deleted =
            query("UPDATE webhooks SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL")
                .bind(now)
                .bind(id)
                .execute(&mut *self.conn)
                .await?;
        if deleted == 0 {
            return Err(refused(ErrorCode::NotFound));
        }
        Ok(())
    }

    /// Leases the webhook until `until`, if no node holds it and something is due.
    pub(super) async fn lease_webhook(
        &mut self,
        id: i64,
        until: Millis,
        now: Millis,
    ) -> Result<(), Failure> {
        let leased = query(
            "UPDATE webhooks SET lease_until = $1 WHERE id = $2 AND deleted_at IS NULL \
             AND lease_until <= $3 AND next_attempt_at <= $3",
        )
        .bind(until)
        .bind(id)
        .bind(now)
        .execute(&mut *self.conn)
        .await?;
        if leased == 0 {
            return Err(refused(ErrorCode::NotFound));
        }
        Ok(())
    }

    pub(super) async fn webhook_delivered(&mut self, id: i64, cursor: i64) -> Result<(), Failure> {
        query(
            "UPDATE webhooks SET cursor = $1, attempts = 0, delivered = delivered + 1, \
             last_error = NULL WHERE id = $2 AND cursor < $1",
        )
        .bind(cursor)
        .bind(id)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    pub(super) async fn webhook_failed(&mut self, failure: &WebhookFailure) -> Result<(), Failure> {
        query(
            "UPDATE webhooks SET attempts = $1, next_attempt_at = $2, last_error = $3, \
             lease_until = 0 WHERE id = $4",
        )
        .bind(failure.attempts)
        .bind(failure.next_attempt_at)
        .bind(failure.error.clone())
        .bind(failure.id)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    pub(super) async fn end_webhook_lease(&mut self, id: i64) -> Result<(), Failure> {
        query("UPDATE webhooks SET lease_until = 0 WHERE id = $1")
            .bind(id)
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }
}
