//! `Idempotency-Key`s as the market keeps them: which keyed requests run on this node now, what a
//! finished one recorded, and its answer. The key itself is recorded by the change its request
//! makes (the commit carries it), so a crash keeps both or neither.

use super::running::Running;
use super::service::Market;
use crate::config::IDEMPOTENCY_TTL_MS;
use crate::domain::DomainError;
use crate::domain::idempotency::{IdempotencyKey, RecordedKey};
use crate::store::{Commit, Op};

impl Market {
    /// Marks `key` of `principal` as running here; `None` if a request with it already runs.
    pub fn begin_keyed(&self, principal: &str, key: &str) -> Option<Running<'_>> {
        self.keys_in_flight
            .begin((principal.to_owned(), key.to_owned()))
    }

    /// What an earlier request with this key recorded, if any.
    pub async fn recorded_key(
        &self,
        principal: &str,
        key: &str,
    ) -> Result<Option<RecordedKey>, DomainError> {
        self.store().idempotency_key(principal, key).await
    }

    /// Stores the answer to a keyed request, for its retries.
    pub async fn record_answer(
        &self,
        key: IdempotencyKey,
        status: u16,
        body: String,
    ) -> Result<(), DomainError> {
        let record = Op::RecordIdempotentAnswer {
            key,
            status: i64::from(status),
            body,
        };
        self.store().commit(Commit::new(vec![record])).await?;
        Ok(())
    }

    /// Forgets idempotency keys older than their guaranteed lifetime.
    pub async fn purge_idempotency_keys(&self) -> Result<(), DomainError> {
        let before = self.now_ms() - IDEMPOTENCY_TTL_MS;
        self.store()
            .commit(Commit::new(vec![Op::PurgeIdempotencyKeys { before }]))
            .await?;
        Ok(())
    }
}
