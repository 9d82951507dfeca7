//! `wallets`: balances, with the counts of active orders the wallet's rules need.

use std::sync::LazyLock;

use crate::domain::DomainError;
use crate::domain::wallet::Wallet;
use crate::store::Store;

/// A wallet with the counts of active orders its rules need (`$1` the user).
pub(crate) static WALLET_SELECT: LazyLock<String> = LazyLock::new(|| {
    let active = super::active_statuses();
    format!(
        "SELECT available, frozen, deposits_total, wagering_required, wagered, \
         (SELECT COUNT(*) FROM orders WHERE seller_id = $1 AND side = 'withdraw' \
            AND status IN {active}) AS active_withdrawals, \
         (SELECT COUNT(*) FROM orders WHERE taker_id = $1 AND side = 'deposit' \
            AND status IN {active}) AS active_deposits \
         FROM wallets WHERE user_id = $1"
    )
});

/// The columns of [`WALLET_SELECT`], in order.
pub(crate) type WalletRow = (i64, i64, i64, i64, i64, i64, i64);

pub(crate) fn wallet_from(row: WalletRow) -> Wallet {
    let (available, frozen, deposits_total, wagering_required, wagered, withdrawals, deposits) =
        row;
    Wallet {
        available,
        frozen,
        deposits_total,
        wagering_required,
        wagered,
        active_withdrawals: withdrawals,
        active_deposits: deposits,
    }
}

impl Store {
    /// The wallet with the counts of active orders its rules need.
    pub async fn wallet(&self, user_id: i64) -> Result<Option<Wallet>, DomainError> {
        let query = super::query(WALLET_SELECT.clone()).bind(user_id);
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
            )))
        })
        .await
    }
}
