//! Users: a new user and their empty wallet.

use super::writer::{Failure, Writer};
use crate::store::commit::op::NewUser;
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
