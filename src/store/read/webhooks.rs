//! `webhooks`: the platform's endpoints and where each one's delivery stands.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::domain::DomainError;
use crate::domain::webhook::Webhook;
use crate::store::handle::Store;

fn webhook_from(row: &AnyRow) -> Result<Webhook, sqlx::Error> {
    Ok(Webhook {
        id: row.try_get("id")?,
        url: row.try_get("url")?,
        secret: row.try_get("secret")?,
        cursor: row.try_get("cursor")?,
        attempts: row.try_get("attempts")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        lease_until: row.try_get("lease_until")?,
        delivered: row.try_get("delivered")?,
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    /// Webhooks not deleted, by id.
    pub async fn webhooks(&self) -> Result<Vec<Webhook>, DomainError> {
        let sql = "SELECT id, url, secret, cursor, attempts, next_attempt_at, lease_until, \
                   delivered, last_error, created_at FROM webhooks WHERE deleted_at IS NULL \
                   ORDER BY id";
        self.all(sqlx::query(sql), webhook_from).await
    }
}
