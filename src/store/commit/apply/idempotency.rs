//! Idempotency keys: recorded with the change their request makes, then its answer.

use super::writer::{Failure, Writer, unique_or};
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::{ErrorCode, Millis};
use crate::store::connection::{Connection, query};

impl<C: Connection> Writer<'_, C> {
    /// Records the key; a key already there is `IDEMPOTENCY_KEY_REUSED`.
    pub(super) async fn record_key(&mut self, key: &IdempotencyKey) -> Result<(), Failure> {
        let inserted = query(
            "INSERT INTO idempotency_keys (principal, key, fingerprint, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(key.principal.clone())
        .bind(key.key.clone())
        .bind(key.fingerprint.clone())
        .bind(key.now)
        .execute(&mut *self.conn)
        .await;
        unique_or(inserted, ErrorCode::IdempotencyKeyReused)?;
        Ok(())
    }

    /// Stores the first answer to a keyed request (never over another request's key).
    pub(super) async fn record_answer(
        &mut self,
        key: &IdempotencyKey,
        status: i64,
        body: &str,
    ) -> Result<(), Failure> {
        query(
            "INSERT INTO idempotency_keys (principal, key, fingerprint, status, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (principal, key) DO UPDATE \
             SET status = excluded.status, body = excluded.body \
             WHERE idempotency_keys.fingerprint = excluded.fingerprint \
             AND idempotency_keys.status IS NULL",
        )
        .bind(key.principal.clone())
        .bind(key.key.clone())
        .bind(key.fingerprint.clone())
        .bind(status)
        .bind(body)
        .bind(key.now)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    pub(super) async fn purge_keys(&mut self, before: Millis) -> Result<(), Failure> {
        query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(before)
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }
}
