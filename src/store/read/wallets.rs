//! `wallets`: balances, with the counts of active orders the wallet's rules need.

use crate::domain::wallet::Wallet;
use crate::domain::{DomainError, UserId};
use crate::store::handle::Store;
use crate::store::schema::{WALLET_SELECT, wallet_from};

impl Store {
    /// The wallet with the counts of active orders its rules need.
    pub async fn wallet(&self, user_id: UserId) -> Result<Option<Wallet>, DomainError> {
        let query = super::query::query(WALLET_SELECT.to_string()).bind(user_id.get());
        self.optional(query, |row| {
            use sqlx::Row;
            Ok(wallet_from((
                row.try_get(0)?,
                row.try_get(1)?,
                row.try_get(2)?,
                row.try_get(3)?,
                row.try_get(4)?,
                row.try_get(5)?,
                row.try_get(6)?,
                row.try_get(7)?,
            )))
        })
        .await
    }
}
