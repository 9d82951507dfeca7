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
pub(crate) const WALLET_SELECT: &str = "SELECT available, frozen, deposits_total, \
    wagering_required, wagered, bonus, \
    (SELECT COUNT(*) FROM active_orders WHERE seller_id = $1 AND side = 'withdraw') \
      AS active_withdrawals, \
    (SELECT COUNT(*) FROM active_orders WHERE taker_id = $1 AND side = 'deposit') \
      AS active_deposits \
    FROM wallets WHERE user_id = $1";

/// The columns of [`WALLET_SELECT`], in order.
pub(crate) type WalletRow = (i64, i64, i64, i64, i64, i64, i64, i64);

pub(crate) fn wallet_from(row: WalletRow) -> Wallet {
    let (
        available,
        frozen,
        deposits_total,
        wagering_required,
        wagered,
        bonus,
        withdrawals,
        deposits,
    ) = row;
    Wallet {
        bonus: Kopecks(bonus),
        available: Kopecks(available),
        frozen: Kopecks(frozen),
        deposits_total: Kopecks(deposits_total),
        wagering_required: Kopecks(wagering_required),
        wagered: Kopecks(wagered),
        active_withdrawals: withdrawals,
        active_deposits: deposits,
    }
}

/// The unwagered bonus after a move, as SQL: `bonus` (qualified by `table`) first loses `spent`
/// down to zero, then gains `gained` ([`crate::domain::wallet::WalletDelta`]'s rule).
pub(crate) fn bonus_after(table: &str, spent: &str, gained: &str) -> String {
    format!("(CASE WHEN {table}bonus > {spent} THEN {table}bonus - {spent} ELSE 0 END + {gained})")
}

/// A row `(subject, detail)` for each wallet whose unwagered bonus is below zero, above its
/// available balance, or not what its bonuses and bets replayed in order leave (§8, 8).
pub(crate) const BONUS_REPLAY_CHECK: &str = "WITH RECURSIVE t AS ( \
      SELECT user_id, kind, amount, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY id) AS n \
      FROM wallet_transactions WHERE kind IN ('bonus', 'bet') \
    ), r (user_id, n, bonus) AS ( \
      SELECT user_id, CAST(0 AS BIGINT), CAST(0 AS BIGINT) FROM wallets \
      UNION ALL \
      SELECT r.user_id, t.n, CASE WHEN t.kind = 'bonus' THEN r.bonus + t.amount \
        WHEN r.bonus > t.amount THEN r.bonus - t.amount ELSE 0 END \
      FROM r JOIN t ON t.user_id = r.user_id AND t.n = r.n + 1 \
    ), last (user_id, bonus) AS ( \
      SELECT r.user_id, r.bonus FROM r \
      JOIN (SELECT user_id, MAX(n) AS n FROM r GROUP BY user_id) m \
        ON m.user_id = r.user_id AND m.n = r.n \
    ) \
    SELECT 'wallet ' || w.user_id, 'unwagered bonus ' || w.bonus || ' vs replayed ' || \
      COALESCE(l.bonus, 0) || ', available ' || w.available \
    FROM wallets w LEFT JOIN last l ON l.user_id = w.user_id \
    WHERE w.bonus < 0 OR w.bonus > w.available OR w.bonus <> COALESCE(l.bonus, 0)";
