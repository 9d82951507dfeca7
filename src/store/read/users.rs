//! `users` and `track_days`: who trades, their role, their public figures and track record.

use std::collections::HashMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::query::int;
use super::query::query;
use crate::domain::track::{DayFigures, Track, WINDOW_DAYS};
use crate::domain::user::User;
use crate::domain::{DomainError, Role, UserId};
use crate::store::handle::Store;

const USER_COLUMNS: &str = "id, name, role, rating_sum, ratings_count, orders_count, first_order_at, last_seen_at, \
     created_at";
const DAY_COLUMNS: &str =
    "user_id, day, completed, cancelled, expired, paid, pay_ms, released, release_ms";

/// A user as stored, without the days of their track record.
fn user_from(row: &AnyRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: int(row, "id")?,
        name: row.try_get("name")?,
        role: Role::parse(row.try_get("role")?).ok_or_else(|| super::query::unknown("role"))?,
        rating_sum: row.try_get("rating_sum")?,
        ratings_count: row.try_get("ratings_count")?,
        orders_count: row.try_get("orders_count")?,
        track: Track {
            days: Vec::new(),
            first_order_at: row.try_get("first_order_at")?,
            last_seen_at: row.try_get("last_seen_at")?,
        },
        created_at: row.try_get("created_at")?,
    })
}

fn day_from(row: &AnyRow) -> Result<(UserId, i64, DayFigures), sqlx::Error> {
    let figures = DayFigures {
        completed: row.try_get("completed")?,
        cancelled: row.try_get("cancelled")?,
        expired: row.try_get("expired")?,
        paid: row.try_get("paid")?,
        pay_ms: row.try_get("pay_ms")?,
        released: row.try_get("released")?,
        release_ms: row.try_get("release_ms")?,
    };
    Ok((int(row, "user_id")?, row.try_get("day")?, figures))
}

impl Store {
    /// The user a token's hash names (their track record's days are not read).
    pub async fn user_by_token_hash(&self, hash: &str) -> Result<Option<User>, DomainError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE token_hash = $1");
        self.optional(query(sql).bind(hash.to_owned()), user_from)
            .await
    }

    /// A user with their track record: their newest 30 days with orders cover any window that
    /// ends today.
    pub async fn user(&self, id: UserId) -> Result<Option<User>, DomainError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let Some(mut user) = self.optional(query(sql).bind(id.get()), user_from).await? else {
            return Ok(None);
        };
        let sql = format!(
            "SELECT {DAY_COLUMNS} FROM track_days WHERE user_id = $1 ORDER BY day DESC LIMIT {WINDOW_DAYS}"
        );
        let mut days = self.all(query(sql).bind(id.get()), day_from).await?;
        days.reverse();
        user.track.days = days.into_iter().map(|(_, day, f)| (day, f)).collect();
        Ok(Some(user))
    }

    pub async fn users_count(&self) -> Result<i64, DomainError> {
        self.scalar(sqlx::query("SELECT COUNT(*) FROM users")).await
    }

    /// The users who made ads that are not closed, for the read model, with their track
    /// records' days from `since_day` on.
    pub async fn makers_of_open_ads(&self, since_day: i64) -> Result<Vec<User>, DomainError> {
        const MAKERS: &str = "SELECT maker_id FROM ads WHERE status <> 'closed'";
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id IN ({MAKERS})");
        let mut makers = self.all(query(sql), user_from).await?;
        let sql = format!(
            "SELECT {DAY_COLUMNS} FROM track_days WHERE day >= $1 AND user_id IN ({MAKERS}) \
             ORDER BY user_id, day"
        );
        let mut days: HashMap<UserId, Vec<(i64, DayFigures)>> = HashMap::new();
        for (user_id, day, figures) in self.all(query(sql).bind(since_day), day_from).await? {
            days.entry(user_id).or_default().push((day, figures));
        }
        for maker in &mut makers {
            maker.track.days = days.remove(&maker.id).unwrap_or_default();
        }
        Ok(makers)
    }
}
