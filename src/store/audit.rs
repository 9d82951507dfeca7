//! The audit: every invariant of SPEC.md §8 checked against the database itself.

use sqlx::{AnyConnection, AssertSqlSafe, Executor};

use super::dialect::Dialect;
use super::handle::Store;
use super::read::read_error;
use super::schema::{BONUS_REPLAY_CHECK, active_statuses};
use crate::domain::DomainError;
use crate::domain::ad::{AdStatus, AdType};
use crate::domain::audit::{Report, Totals, Violation};
use crate::domain::order::{CancelReason, OrderStatus, Resolution, ReviewRule, Side};
use crate::domain::pricing::PriceType;
use crate::domain::vocabulary::Vocabulary;
use crate::domain::wallet::LedgerKind;

/// Each check: the invariant it proves, and a query returning one row `(subject, detail)` per
/// violation.
fn checks() -> Vec<(u8, String)> {
    let active = active_statuses();
    let (release, refund) = (
        LedgerKind::EscrowRelease.as_str(),
        LedgerKind::EscrowRefund.as_str(),
    );
    vec![
        (
            1,
            "SELECT 'wallet ' || user_id, 'available ' || available || ', frozen ' || frozen \
             FROM wallets WHERE available < 0 OR frozen < 0 \
             UNION ALL SELECT 'ad ' || id, 'available_amount ' || available_amount || \
             ', closed_amount ' || closed_amount FROM ads \
             WHERE available_amount < 0 OR closed_amount < 0"
                .into(),
        ),
        (
            2,
            "SELECT 'wallet ' || w.user_id, 'available ' || w.available || ' vs ledger ' || \
             COALESCE(l.a, 0) || ', frozen ' || w.frozen || ' vs ledger ' || COALESCE(l.f, 0) \
             FROM wallets w LEFT JOIN (SELECT user_id, CAST(SUM(d_available) AS BIGINT) a, CAST(SUM(d_frozen) AS BIGINT) f \
             FROM ledger GROUP BY user_id) l ON l.user_id = w.user_id \
             WHERE w.available <> COALESCE(l.a, 0) OR w.frozen <> COALESCE(l.f, 0)"
                .into(),
        ),
        (
            3,
            format!(
                "SELECT 'wallet ' || w.user_id, 'frozen ' || w.frozen || ' vs escrow ' || \
                 COALESCE(o.s, 0) || ' + sell ad reserves ' || COALESCE(a.s, 0) FROM wallets w \
                 LEFT JOIN (SELECT seller_id u, CAST(SUM(usdt_amount) AS BIGINT) s FROM orders \
                   WHERE status IN {active} GROUP BY seller_id) o ON o.u = w.user_id \
                 LEFT JOIN (SELECT maker_id u, CAST(SUM(available_amount) AS BIGINT) s FROM ads \
                   WHERE ad_type = 'sell' AND status <> 'closed' GROUP BY maker_id) a ON a.u = w.user_id \
                 WHERE w.frozen <> COALESCE(o.s, 0) + COALESCE(a.s, 0)"
            ),
        ),
        (
            4,
            "SELECT 'all wallets', 'balances ' || b.s || ' vs deposits + bonuses + wins - bets ' || t.s \
             FROM (SELECT CAST(COALESCE(SUM(available + frozen), 0) AS BIGINT) s FROM wallets) b, \
             (SELECT CAST(COALESCE(SUM(CASE kind WHEN 'bet' THEN -amount ELSE amount END), 0) AS BIGINT) s \
              FROM wallet_transactions) t WHERE b.s <> t.s"
                .into(),
        ),
        (
            5,
            "SELECT 'ad ' || a.id, 'total ' || a.total_amount || ' vs available ' || \
             a.available_amount || ' + orders ' || COALESCE(o.s, 0) || ' + closed ' || \
             a.closed_amount || ' (' || a.status || ')' FROM ads a \
             LEFT JOIN (SELECT ad_id, CAST(SUM(usdt_amount) AS BIGINT) s FROM orders WHERE status <> 'cancelled' \
               GROUP BY ad_id) o ON o.ad_id = a.id \
             WHERE a.total_amount <> a.available_amount + a.closed_amount + COALESCE(o.s, 0) \
                OR (a.status = 'closed' AND a.available_amount <> 0)"
                .into(),
        ),
        (
            6,
            format!(
                "SELECT 'user ' || seller_id, COUNT(*) || ' active withdrawal orders' FROM orders \
                 WHERE side = 'withdraw' AND status IN {active} GROUP BY seller_id HAVING COUNT(*) > 1 \
                 UNION ALL \
                 SELECT 'order ' || o.id, o.status || ' with ' || COALESCE(r.released, 0) || \
                 ' releases and ' || COALESCE(r.refunded, 0) || ' refunds' FROM orders o \
                 LEFT JOIN (SELECT order_id, \
                     CAST(SUM(CASE WHEN kind = '{release}' THEN 1 ELSE 0 END) AS BIGINT) released, \
                     CAST(SUM(CASE WHEN kind = '{refund}' THEN 1 ELSE 0 END) AS BIGINT) refunded \
                   FROM ledger WHERE order_id IS NOT NULL GROUP BY order_id) r ON r.order_id = o.id \
                 WHERE COALESCE(r.released, 0) > 1 OR COALESCE(r.refunded, 0) > 1 \
                    OR (COALESCE(r.released, 0) = 1) <> (o.status = 'completed') \
                    OR (COALESCE(r.refunded, 0) > 0 AND o.status <> 'cancelled') \
                 UNION ALL {}",
                active_rows_astray()
            ),
        ),
        (8, BONUS_REPLAY_CHECK.into()),
        (9, missing_references()),
        (10, values_astray()),
    ]
}

/// A row `(subject, detail)` for each order, active order or ad holding a value outside its set
/// or range: what the checks of `0028_order_mix_unchecked_values` held on PostgreSQL, which
/// dropped them (SQLite keeps them). The sets are the domain's words; the ranges are the checks'.
/// Written as those checks were, so a `NULL` passes.
fn values_astray() -> String {
    let active = active_statuses();
    let (status, side) = (words::<OrderStatus>(), words::<Side>());
    let (reason, resolution) = (words::<CancelReason>(), words::<Resolution>());
    let (rule, ad_status) = (words::<ReviewRule>(), words::<AdStatus>());
    let (ad_type, price_type) = (words::<AdType>(), words::<PriceType>());
    format!(
        "SELECT 'order ' || id, \
           'a status, side, reason, rule or amount outside its set: ' || COALESCE(status, '') \
         FROM orders WHERE NOT (status IN {status} AND side IN {side} \
           AND usdt_amount > 0 AND fiat_amount > 0 AND cancel_reason IN {reason} \
           AND dispute_resolution IN {resolution} AND review_rule IN {rule}) \
         UNION ALL \
         SELECT 'active row ' || order_id, 'a side or status outside its set: ' || COALESCE(status, '') \
         FROM active_orders WHERE NOT (side IN {side} AND status IN {active}) \
         UNION ALL \
         SELECT 'ad ' || id, 'a status, type or term outside its set or range: ' || COALESCE(status, '') \
         FROM ads WHERE NOT (min_amount > 0 AND max_amount >= min_amount AND total_amount > 0 \
           AND status IN {ad_status} AND premium_bp BETWEEN -2000 AND 2000 \
           AND ad_type IN {ad_type} AND price_type IN {price_type} \
           AND min_completion_rate_bp BETWEEN 0 AND 10000 \
           AND min_account_age_days BETWEEN 0 AND 3650 \
           AND min_completed_orders BETWEEN 0 AND 1000000 AND price > 0)"
    )
}

/// The words of a vocabulary as an SQL list: `('a', 'b')`.
fn words<V: Vocabulary>() -> String {
    let words: Vec<String> = V::words().map(|word| format!("'{word}'")).collect();
    format!("({})", words.join(", "))
}

/// A row `(subject, detail)` for each order whose row of `active_orders` (which holds the unique
/// index of active withdrawals, §8, 6) is missing, left over or unlike the order: its status,
/// parties, side or deadlines (`Order::deadline`, and since when it is held for review).
fn active_rows_astray() -> String {
    let active = active_statuses();
    let held = "o.status = 'pending' AND o.review_rule IS NOT NULL AND o.review_cleared_at IS NULL";
    format!(
        "SELECT 'order ' || o.id, o.status || ' with ' || \
           COALESCE('active row ' || a.status, 'no active row') FROM orders o \
         LEFT JOIN active_orders a ON a.order_id = o.id \
         WHERE (o.status IN {active}) <> (a.order_id IS NOT NULL) OR a.status <> o.status \
            OR a.side <> o.side OR a.seller_id <> o.seller_id OR a.taker_id <> o.taker_id \
            OR a.due_at IS DISTINCT FROM (CASE \
                 WHEN o.status = 'pending' AND NOT ({held}) THEN o.expires_at \
                 WHEN o.status = 'paid_by_buyer' THEN o.paid_at + o.release_window_seconds * 1000 \
               END) \
            OR a.held_since IS DISTINCT FROM (CASE WHEN {held} THEN o.review_since END) \
         UNION ALL \
         SELECT 'active row ' || a.order_id, 'names no order' FROM active_orders a \
         WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = a.order_id)"
    )
}

/// The references of the rows every order writes: `(table, the key that names a row of it,
/// column, the table whose `id` it names)`. On PostgreSQL no foreign key checks them (see the
/// migrations `0019_hot_rows_unchecked_references` and `0024_order_mix_unchecked_references`), so
/// the audit does.
const REFERENCES: [(&str, &str, &str, &str); 20] = [
    ("orders", "id", "ad_id", "ads"),
    ("orders", "id", "buyer_id", "users"),
    ("orders", "id", "seller_id", "users"),
    ("orders", "id", "taker_id", "users"),
    ("orders", "id", "dispute_opened_by", "users"),
    ("orders", "id", "dispute_proposed_by", "users"),
    ("orders", "id", "dispute_resolved_by", "users"),
    ("orders", "id", "review_cleared_by", "users"),
    ("messages", "id", "order_id", "orders"),
    ("messages", "id", "sender_id", "users"),
    ("ledger", "id", "user_id", "users"),
    ("ledger", "id", "order_id", "orders"),
    ("ledger", "id", "ad_id", "ads"),
    ("ledger", "id", "tx_id", "wallet_transactions"),
    ("events", "id", "order_id", "orders"),
    ("events", "id", "message_id", "messages"),
    ("ratings", "order_id", "order_id", "orders"),
    ("ratings", "order_id", "rater_id", "users"),
    ("ratings", "order_id", "ratee_id", "users"),
    ("track_days", "user_id", "user_id", "users"),
];

/// A row `(subject, detail)` for each row that names a user, ad, order, message or platform
/// transaction that does not exist (§8, 9).
fn missing_references() -> String {
    REFERENCES
        .iter()
        .map(|(table, key, column, named)| {
            format!(
                "SELECT '{table} ' || t.{key}, 'names {column} ' || t.{column} || ', not in {named}' \
                 FROM {table} t WHERE t.{column} IS NOT NULL AND NOT EXISTS \
                 (SELECT 1 FROM {named} n WHERE n.id = t.{column})"
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

/// The audit reads whole tables, so on PostgreSQL it may scan them, which the service's
/// connections otherwise may not (see `handle.rs`): planned around index scans, the check of
/// invariant 9 took 82 ms after a load run against 48 ms.
const WHOLE_TABLES: &str = "SET LOCAL enable_seqscan = on";

impl Store {
    /// Checks every invariant of SPEC.md §8 against the database, in a transaction of its own.
    pub async fn audit(&self) -> Result<Report, DomainError> {
        let mut tx = self.read.begin().await.map_err(read_error)?;
        if self.dialect() == Dialect::Postgres {
            tx.execute(WHOLE_TABLES).await.map_err(read_error)?;
        }
        let mut violations = Vec::new();
        for (invariant, sql) in checks() {
            let rows: Vec<(String, String)> = sqlx::query_as(AssertSqlSafe(sql))
                .fetch_all(&mut *tx)
                .await
                .map_err(read_error)?;
            violations.extend(rows.into_iter().map(|(subject, detail)| Violation {
                invariant,
                subject,
                detail,
            }));
        }
        let totals = totals(&mut tx).await?;
        tx.commit().await.map_err(read_error)?;
        Ok(Report {
            ok: violations.is_empty(),
            violations,
            totals,
        })
    }
}

async fn totals(conn: &mut AnyConnection) -> Result<Totals, DomainError> {
    let active = active_statuses();
    let sql = format!(
        "SELECT (SELECT COUNT(*) FROM users), \
         (SELECT CAST(COALESCE(SUM(available), 0) AS BIGINT) FROM wallets), \
         (SELECT CAST(COALESCE(SUM(frozen), 0) AS BIGINT) FROM wallets), \
         (SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM wallet_transactions WHERE kind = 'deposit'), \
         (SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM wallet_transactions WHERE kind = 'bonus'), \
         (SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM wallet_transactions WHERE kind = 'win'), \
         (SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM wallet_transactions WHERE kind = 'bet'), \
         (SELECT CAST(COALESCE(SUM(usdt_amount), 0) AS BIGINT) FROM orders WHERE status IN {active}), \
         (SELECT CAST(COALESCE(SUM(available_amount), 0) AS BIGINT) FROM ads WHERE ad_type = 'sell' AND status <> 'closed'), \
         (SELECT COUNT(*) FROM orders WHERE status IN {active}), \
         (SELECT COUNT(*) FROM orders WHERE status = 'disputed'), \
         (SELECT COUNT(*) FROM ledger)"
    );
    #[allow(clippy::type_complexity)]
    let row: (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) =
        sqlx::query_as(AssertSqlSafe(sql))
            .fetch_one(conn)
            .await
            .map_err(read_error)?;
    Ok(Totals {
        users: row.0,
        available: row.1,
        frozen: row.2,
        deposits: row.3,
        bonuses: row.4,
        wins: row.5,
        bets: row.6,
        escrow_in_orders: row.7,
        sell_ad_reserves: row.8,
        active_orders: row.9,
        open_disputes: row.10,
        ledger_entries: row.11,
    })
}

#[cfg(test)]
mod tests {
    use crate::store::test_db::postgres_store;

    #[tokio::test]
    async fn postgres_connections_neither_scan_nor_compile_plans() {
        let Some((store, _url)) = postgres_store("the connections' planner settings").await else {
            return;
        };
        let settings: (String, String) =
            sqlx::query_as("SELECT current_setting('enable_seqscan'), current_setting('jit')")
                .fetch_one(&store.read)
                .await
                .unwrap();
        assert_eq!(settings, ("off".to_owned(), "off".to_owned()));
        // The audit may scan, in its own transaction, and leaves its connection as it was: every
        // connection the pool has opened is checked, the audit's among them.
        assert!(store.audit().await.unwrap().ok);
        // The pool takes a connection back in a task of its own: until then another is opened.
        for _ in 0..500 {
            if store.read.num_idle() == store.read.size() as usize {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let mut conns = Vec::new();
        for _ in 0..store.read.size() {
            let mut conn = store.read.acquire().await.unwrap();
            let scans: (String,) = sqlx::query_as("SELECT current_setting('enable_seqscan')")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert_eq!(scans.0, "off");
            conns.push(conn);
        }
    }
}
