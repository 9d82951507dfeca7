//! Users: a new user and their empty wallet; when users were last seen.

use super::writer::{Failure, Writer};
use crate::domain::{Millis, UserId};
use crate::store::commit::op::NewUser;
use crate::store::commit::rows::{ROWS, chunked, with_rows};
use crate::store::connection::{Connection, query};

impl<C: Connection> Writer<'_, C> {
    pub(super) async fn insert_user(&mut self, user: &NewUser) -> Result<(), Failure> {
        let id = query(
            "INSERT INTO users (name, role, token_hash, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING id",
        )
        .bind(user.name.clone())
        .bind(user.role.as_str())
        .bind(user.token_hash.clone())
        .bind(user.now)
        .fetch_one(&mut *self.conn)
        .await?;
        query("INSERT INTO wallets (user_id) VALUES ($1)")
            .bind(id)
            .execute(&mut *self.conn)
            .await?;
        self.receipt.inserted_ids.push(id);
        Ok(())
    }
}

impl<C: Connection> Writer<'_, C> {
    /// Moves each user's last-seen time forward (never back: another node may have written a
    /// later minute).
    pub(super) async fn seen(&mut self, seen: &[(UserId, Millis)]) -> Result<(), Failure> {
        self.hot_write_now()?;
        for chunk in chunked(seen, self.dialect) {
            let sql = format!(
                "WITH v(id, at) AS ({ROWS}) UPDATE users SET last_seen_at = v.at FROM v \
                 WHERE users.id = v.id AND (users.last_seen_at IS NULL OR users.last_seen_at < v.at)"
            );
            let mut query = query(sql);
            for (user_id, at) in chunk {
                query = query.bind(*user_id).bind(*at);
            }
            with_rows(query, 2, self.dialect)
                .execute(&mut *self.conn)
                .await?;
        }
        Ok(())
    }
}
