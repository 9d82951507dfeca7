//! Idempotency keys: recorded with the change their request makes, then its answer.

use super::writer::{Failure, Writer, unique_or};
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::{ErrorCode, Millis};
use crate::store::commit::deferred::KeyAnswer;
use crate::store::connection::{Connection, DbError, query};

/// Whether two keys are one caller's same key.
fn same(one: &IdempotencyKey, other: &IdempotencyKey) -> bool {
    one.principal == other.principal && one.key == other.key
}

/// A key's insert and an answer to it in one PostgreSQL statement would not see each other:
/// such a batch runs carefully, a statement at a time (it does not happen: a request's answer is
/// recorded after the commit of its key is answered).
fn met_in_one_batch() -> Failure {
    Failure::Store(DbError::other("a key and its answer in one fast batch"))
}

impl<C: Connection> Writer<'_, C> {
    /// Records the key; a key already there is `IDEMPOTENCY_KEY_REUSED`. In a PostgreSQL fast
    /// batch it waits for the batch's one insert of keys, which a key already there fails: the
    /// batch then runs carefully, where this commit hears why.
    pub(super) async fn record_key(&mut self, key: &IdempotencyKey) -> Result<(), Failure> {
        if self.deferred.group_rows {
            if (self.deferred.answers.iter()).any(|answer| same(&answer.key, key)) {
                return Err(met_in_one_batch());
            }
            self.deferred.keys.push(key.clone());
            return Ok(());
        }
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

    /// Stores the first answer to a keyed request (never over another request's key); in a
    /// PostgreSQL fast batch, with the batch's other answers in one statement.
    pub(super) async fn record_answer(
        &mut self,
        key: &IdempotencyKey,
        status: i64,
        body: &str,
    ) -> Result<(), Failure> {
        if self.deferred.group_rows {
            if (self.deferred.keys.iter()).any(|recorded| same(recorded, key)) {
                return Err(met_in_one_batch());
            }
            self.deferred.answers.push(KeyAnswer {
                key: key.clone(),
                status,
                body: body.to_string(),
            });
            return Ok(());
        }
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
