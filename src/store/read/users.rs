//! `users`: who trades, their role and their public figures.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::query::int;
use super::query::query;
use crate::domain::user::User;
use crate::domain::{DomainError, Role, UserId};
use crate::store::handle::Store;

const USER_COLUMNS: &str = "id, name, role, rating_sum, ratings_count, orders_count";

fn user_from(row: &AnyRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: int(row, "id")?,
        name: row.try_get("name")?,
        role: Role::parse(row.try_get("role")?).ok_or_else(|| super::query::unknown("role"))?,
        rating_sum: row.try_get("rating_sum")?,
        ratings_count: row.try_get("ratings_count")?,
        orders_count: row.try_get("orders_count")?,
    })
}

impl Store {
    pub async fn user_by_token_hash(&self, hash: &str) -> Result<Option<User>, DomainError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE token_hash = $1");
        self.optional(query(sql).bind(hash.to_owned()), user_from)
            .await
    }

    pub async fn user(&self, id: UserId) -> Result<Option<User>, DomainError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        self.optional(query(sql).bind(id.get()), user_from).await
    }

    pub async fn users_count(&self) -> Result<i64, DomainError> {
        self.scalar(sqlx::query("SELECT COUNT(*) FROM users")).await
    }

    /// The users who made ads that are not closed, for the read model.
    pub async fn makers_of_open_ads(&self) -> Result<Vec<User>, DomainError> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users \
             WHERE id IN (SELECT maker_id FROM ads WHERE status <> 'closed')"
        );
        self.all(query(sql), user_from).await
    }
}
