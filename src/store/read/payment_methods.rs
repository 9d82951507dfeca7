//! `payment_methods`: a user's saved methods.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::query::{int, unknown};
use crate::domain::payment_method::SavedMethod;
use crate::domain::{DomainError, UserId};
use crate::store::handle::Store;

const COLUMNS: &str = "id, user_id, method, details, label, created_at";

fn saved_from(row: &AnyRow) -> Result<SavedMethod, sqlx::Error> {
    Ok(SavedMethod {
        id: row.try_get("id")?,
        user_id: int(row, "user_id")?,
        method: row.try_get("method")?,
        details: crate::store::json::object(row.try_get("details")?)
            .ok_or_else(|| unknown("details"))?,
        label: row.try_get("label")?,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    /// The methods `user_id` keeps, oldest first.
    pub async fn saved_methods(&self, user_id: UserId) -> Result<Vec<SavedMethod>, DomainError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM payment_methods WHERE user_id = $1 AND deleted_at IS NULL \
             ORDER BY id"
        );
        self.all(super::query::query(sql).bind(user_id.get()), saved_from)
            .await
    }

    /// One method `user_id` keeps, if it is theirs and not deleted.
    pub async fn saved_method(
        &self,
        user_id: UserId,
        id: i64,
    ) -> Result<Option<SavedMethod>, DomainError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM payment_methods \
             WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL"
        );
        self.optional(
            super::query::query(sql).bind(id).bind(user_id.get()),
            saved_from,
        )
        .await
    }
}
