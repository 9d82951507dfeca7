//! SQL that reads and writes share: the active statuses, spelled once from the domain's list,
//! and the wallet as its actor loads it.

use std::sync::LazyLock;

use crate::domain::Kopecks;
use crate::domain::order::OrderStatus;
use crate::domain::wallet::Wallet;

/// `('pending', 'paid_by_buyer', 'disputed')`: the active statuses as SQL, from the one list.
pub(crate) fn active_statuses() -> &'static str {
    static LIST: LazyLock<String> = LazyLock::new(|| {
        let names: Vec<String> = OrderStatus::ACTIVE
            .iter()
            .map(|status| format!("'{}'", status.as_str()))
            .collect();
        format!("({})", names.join(", "))
    });
    &LIST
}

/// A wallet with the counts of active orders its rules need (`$1` the user).
pub(crate) static WALLET_SELECT: LazyLock<String> = LazyLock::new(|| {
    let active = active_statuses();
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
        available: Kopecks(available),
        frozen: Kopecks(frozen),
        deposits_total: Kopecks(deposits_total),
        wagering_required: Kopecks(wagering_required),
        wagered: Kopecks(wagered),
        active_withdrawals: withdrawals,
        active_deposits: deposits,
    }
}
