//! `idempotency_keys`: what a keyed request recorded, for its retries.

use sqlx::Row;

use crate::domain::DomainError;
use crate::domain::idempotency::RecordedKey;
use crate::store::handle::Store;

impl Store {
    pub async fn idempotency_key(
        &self,
        principal: &str,
        key: &str,
    ) -> Result<Option<RecordedKey>, DomainError> {
        let sql = "SELECT fingerprint, status, body FROM idempotency_keys \
                   WHERE principal = $1 AND key = $2";
        let query = sqlx::query(sql)
            .bind(principal.to_owned())
            .bind(key.to_owned());
        self.optional(query, |row| {
            Ok(RecordedKey {
                fingerprint: row.try_get(0)?,
                status: row.try_get(1)?,
                body: row.try_get(2)?,
            })
        })
        .await
    }
}
