//! Reading rows into domain values.

use std::collections::HashMap;

use serde_json::{Map, Value};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, AssertSqlSafe, Row};

use super::read_error;
use crate::domain::ad::{Ad, AdStatus, AdType};
use crate::domain::order::{CancelReason, Dispute, Order, OrderStatus, Resolution, Side};
use crate::domain::wallet::Wallet;
use crate::domain::{DomainError, Millis, Role};

#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub rating_sum: i64,
    pub ratings_count: i64,
    pub orders_count: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MessageRecord {
    pub id: i64,
    pub order_id: i64,
    pub sender_id: Option<i64>,
    pub sender_role: String,
    pub message: String,
    pub created_at: Millis,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TransactionRecord {
    pub id: i64,
    pub user_id: i64,
    pub kind: String,
    pub amount: i64,
    pub reference: String,
    pub wagering_multiplier: i64,
    pub created_at: Millis,
}

/// Which orders a page lists.
#[derive(Debug, Clone, Copy, Default)]
pub struct OrderFilter {
    /// Only the orders this user is a party to.
    pub party: Option<i64>,
    pub status: Option<OrderStatus>,
    pub side: Option<Side>,
    /// Only disputed orders: `Some(true)` the open disputes, `Some(false)` the resolved ones.
    pub disputes: Option<bool>,
}

const USER_COLUMNS: &str = "id, name, role, rating_sum, ratings_count, orders_count";

fn user_from(row: &AnyRow) -> Result<UserRecord, sqlx::Error> {
    Ok(UserRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: Role::parse(row.try_get("role")?).unwrap_or(Role::User),
        rating_sum: row.try_get("rating_sum")?,
        ratings_count: row.try_get("ratings_count")?,
        orders_count: row.try_get("orders_count")?,
    })
}

pub async fn user_by_token(pool: &AnyPool, hash: &str) -> Result<Option<UserRecord>, DomainError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE token_hash = $1");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(hash)
        .fetch_optional(pool)
        .await
        .map_err(read_error)?;
    row.as_ref().map(user_from).transpose().map_err(read_error)
}

pub async fn user(pool: &AnyPool, id: i64) -> Result<Option<UserRecord>, DomainError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(read_error)?;
    row.as_ref().map(user_from).transpose().map_err(read_error)
}

pub async fn makers_of_open_ads(pool: &AnyPool) -> Result<Vec<UserRecord>, DomainError> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users WHERE id IN (SELECT maker_id FROM ads WHERE status <> 'closed')"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .fetch_all(pool)
        .await
        .map_err(read_error)?;
    rows.iter()
        .map(user_from)
        .collect::<Result<_, _>>()
        .map_err(read_error)
}

/// A wallet with the counts of active orders its rules need.
pub(crate) const WALLET_SELECT: &str = "SELECT available, frozen, deposits_total, wagering_required, wagered, \
     (SELECT COUNT(*) FROM orders WHERE seller_id = $1 AND side = 'withdraw' \
        AND status IN ('pending', 'paid_by_buyer', 'disputed')) AS active_withdrawals, \
     (SELECT COUNT(*) FROM orders WHERE taker_id = $1 AND side = 'deposit' \
        AND status IN ('pending', 'paid_by_buyer', 'disputed')) AS active_deposits \
     FROM wallets WHERE user_id = $1";

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

pub async fn wallet(pool: &AnyPool, user_id: i64) -> Result<Option<Wallet>, DomainError> {
    let row: Option<WalletRow> = sqlx::query_as(WALLET_SELECT)
        .bind(user_id)
        .fetch_optional(pool)
        .await
        .map_err(read_error)?;
    Ok(row.map(wallet_from))
}

fn json_object(text: Option<String>) -> Option<Map<String, Value>> {
    match serde_json::from_str(&text?) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

const AD_COLUMNS: &str = "id, maker_id, ad_type, fiat_currency, price, min_amount, max_amount, \
    total_amount, available_amount, released_amount, payment_methods, payment_window_seconds, \
    terms, payment_details, status, created_at, version";

fn ad_from(row: &AnyRow) -> Result<Ad, sqlx::Error> {
    let decode = |column: &str| sqlx::Error::ColumnDecode {
        index: column.into(),
        source: "unknown value".into(),
    };
    let methods: String = row.try_get("payment_methods")?;
    Ok(Ad {
        id: row.try_get("id")?,
        maker_id: row.try_get("maker_id")?,
        ad_type: AdType::parse(row.try_get("ad_type")?).ok_or_else(|| decode("ad_type"))?,
        fiat_currency: row.try_get("fiat_currency")?,
        price: row.try_get("price")?,
        min_amount: row.try_get("min_amount")?,
        max_amount: row.try_get("max_amount")?,
        total_amount: row.try_get("total_amount")?,
        available_amount: row.try_get("available_amount")?,
        released_amount: row.try_get("released_amount")?,
        payment_methods: serde_json::from_str(&methods).map_err(|_| decode("payment_methods"))?,
        payment_window_seconds: row.try_get("payment_window_seconds")?,
        terms: row.try_get("terms")?,
        payment_details: json_object(row.try_get("payment_details")?),
        status: AdStatus::parse(row.try_get("status")?).ok_or_else(|| decode("status"))?,
        created_at_ms: row.try_get("created_at")?,
        version: row.try_get("version")?,
    })
}

pub async fn ad(pool: &AnyPool, id: i64) -> Result<Option<Ad>, DomainError> {
    let sql = format!("SELECT {AD_COLUMNS} FROM ads WHERE id = $1");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(read_error)?;
    row.as_ref().map(ad_from).transpose().map_err(read_error)
}

pub async fn open_ads(pool: &AnyPool) -> Result<Vec<Ad>, DomainError> {
    let sql = format!("SELECT {AD_COLUMNS} FROM ads WHERE status <> 'closed'");
    let rows = sqlx::query(AssertSqlSafe(sql))
        .fetch_all(pool)
        .await
        .map_err(read_error)?;
    rows.iter()
        .map(ad_from)
        .collect::<Result<_, _>>()
        .map_err(read_error)
}

const ORDER_COLUMNS: &str = "id, ad_id, side, buyer_id, seller_id, taker_id, usdt_amount, \
    fiat_amount, fiat_currency, price, payment_method, payment_details, status, cancel_reason, \
    created_at, expires_at, paid_at, completed_at, cancelled_at, dispute_opened_by, dispute_reason, \
    dispute_opened_at, dispute_resolution, dispute_resolved_by, dispute_resolved_at, dispute_note";

fn order_from(row: &AnyRow) -> Result<Order, sqlx::Error> {
    let decode = |column: &str| sqlx::Error::ColumnDecode {
        index: column.into(),
        source: "unknown value".into(),
    };
    let opened_at: Option<i64> = row.try_get("dispute_opened_at")?;
    let dispute = match opened_at {
        Some(opened_at) => Some(Dispute {
            opened_by: row
                .try_get::<Option<i64>, _>("dispute_opened_by")?
                .unwrap_or_default(),
            reason: row.try_get("dispute_reason")?,
            opened_at,
            resolution: row
                .try_get::<Option<String>, _>("dispute_resolution")?
                .and_then(|r| Resolution::parse(&r)),
            resolved_by: row.try_get("dispute_resolved_by")?,
            resolved_at: row.try_get("dispute_resolved_at")?,
            note: row.try_get("dispute_note")?,
        }),
        None => None,
    };
    Ok(Order {
        id: row.try_get("id")?,
        ad_id: row.try_get("ad_id")?,
        side: Side::parse(row.try_get("side")?).ok_or_else(|| decode("side"))?,
        buyer_id: row.try_get("buyer_id")?,
        seller_id: row.try_get("seller_id")?,
        taker_id: row.try_get("taker_id")?,
        usdt_amount: row.try_get("usdt_amount")?,
        fiat_amount: row.try_get("fiat_amount")?,
        fiat_currency: row.try_get("fiat_currency")?,
        price: row.try_get("price")?,
        payment_method: row.try_get("payment_method")?,
        payment_details: json_object(row.try_get("payment_details")?).unwrap_or_default(),
        status: OrderStatus::parse(row.try_get("status")?).ok_or_else(|| decode("status"))?,
        cancel_reason: row
            .try_get::<Option<String>, _>("cancel_reason")?
            .and_then(|r| CancelReason::parse(&r)),
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        paid_at: row.try_get("paid_at")?,
        completed_at: row.try_get("completed_at")?,
        cancelled_at: row.try_get("cancelled_at")?,
        dispute,
    })
}

pub async fn order(pool: &AnyPool, id: i64) -> Result<Option<Order>, DomainError> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(read_error)?;
    row.as_ref().map(order_from).transpose().map_err(read_error)
}

pub async fn active_orders(pool: &AnyPool) -> Result<Vec<Order>, DomainError> {
    let sql = format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE status IN ('pending', 'paid_by_buyer', 'disputed')"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .fetch_all(pool)
        .await
        .map_err(read_error)?;
    rows.iter()
        .map(order_from)
        .collect::<Result<_, _>>()
        .map_err(read_error)
}

/// The `WHERE` clause of `filter`, with `$N` placeholders, and the values to bind in order.
fn where_clause(filter: OrderFilter) -> (String, Vec<FilterValue>) {
    let mut clause = String::from(" WHERE 1 = 1");
    let mut values = Vec::new();
    let mut bind = |clause: &mut String, sql: &str, value: FilterValue| {
        values.push(value);
        clause.push_str(&sql.replace('#', &format!("${}", values.len())));
    };
    if let Some(user) = filter.party {
        bind(
            &mut clause,
            " AND (buyer_id = # OR seller_id = #)",
            FilterValue::Id(user),
        );
    }
    if let Some(status) = filter.status {
        bind(
            &mut clause,
            " AND status = #",
            FilterValue::Text(status.as_str()),
        );
    }
    if let Some(side) = filter.side {
        bind(
            &mut clause,
            " AND side = #",
            FilterValue::Text(side.as_str()),
        );
    }
    match filter.disputes {
        Some(true) => clause.push_str(" AND dispute_opened_at IS NOT NULL AND status = 'disputed'"),
        Some(false) => {
            clause.push_str(" AND dispute_opened_at IS NOT NULL AND status <> 'disputed'")
        }
        None => {}
    }
    (clause, values)
}

enum FilterValue {
    Id(i64),
    Text(&'static str),
}

fn bind_all<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    values: &[FilterValue],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    for value in values {
        query = match value {
            FilterValue::Id(id) => query.bind(*id),
            FilterValue::Text(text) => query.bind(*text),
        };
    }
    query
}

/// One page of the orders that match, and how many match in all. Disputes list oldest first,
/// everything else newest first.
pub async fn orders_page(
    pool: &AnyPool,
    filter: OrderFilter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Order>, i64), DomainError> {
    let (clause, values) = where_clause(filter);
    let count_sql = format!("SELECT COUNT(*) FROM orders{clause}");
    let row = bind_all(sqlx::query(AssertSqlSafe(count_sql)), &values)
        .fetch_one(pool)
        .await
        .map_err(read_error)?;
    let total: i64 = row.try_get(0).map_err(read_error)?;
    let order_by = if filter.disputes.is_some() {
        "dispute_opened_at ASC, id ASC"
    } else {
        "id DESC"
    };
    let n = values.len();
    let page_sql = format!(
        "SELECT {ORDER_COLUMNS} FROM orders{clause} ORDER BY {order_by} LIMIT ${} OFFSET ${}",
        n + 1,
        n + 2
    );
    let rows = bind_all(sqlx::query(AssertSqlSafe(page_sql)), &values)
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await
        .map_err(read_error)?;
    let orders = rows
        .iter()
        .map(order_from)
        .collect::<Result<_, _>>()
        .map_err(read_error)?;
    Ok((orders, total))
}

fn message_from(row: &AnyRow) -> Result<MessageRecord, sqlx::Error> {
    Ok(MessageRecord {
        id: row.try_get("id")?,
        order_id: row.try_get("order_id")?,
        sender_id: row.try_get("sender_id")?,
        sender_role: row.try_get("sender_role")?,
        message: row.try_get("message")?,
        created_at: row.try_get("created_at")?,
    })
}

pub async fn messages(
    pool: &AnyPool,
    order_id: i64,
    after_id: i64,
    limit: i64,
) -> Result<Vec<MessageRecord>, DomainError> {
    let rows = sqlx::query(
        "SELECT id, order_id, sender_id, sender_role, message, created_at FROM messages \
         WHERE order_id = $1 AND id > $2 ORDER BY id ASC LIMIT $3",
    )
    .bind(order_id)
    .bind(after_id)
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(read_error)?;
    rows.iter()
        .map(message_from)
        .collect::<Result<_, _>>()
        .map_err(read_error)
}

pub async fn transaction_by_reference(
    pool: &AnyPool,
    reference: &str,
) -> Result<Option<TransactionRecord>, DomainError> {
    let row = sqlx::query(
        "SELECT id, user_id, kind, amount, reference, wagering_multiplier, created_at \
         FROM wallet_transactions WHERE reference = $1",
    )
    .bind(reference)
    .fetch_optional(pool)
    .await
    .map_err(read_error)?;
    let Some(row) = row else { return Ok(None) };
    let record = (|| -> Result<TransactionRecord, sqlx::Error> {
        Ok(TransactionRecord {
            id: row.try_get("id")?,
            user_id: row.try_get("user_id")?,
            kind: row.try_get("kind")?,
            amount: row.try_get("amount")?,
            reference: row.try_get("reference")?,
            wagering_multiplier: row.try_get("wagering_multiplier")?,
            created_at: row.try_get("created_at")?,
        })
    })()
    .map_err(read_error)?;
    Ok(Some(record))
}

/// An order event as committed: a transition or a chat message.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub id: i64,
    pub kind: String,
    pub order_id: i64,
    pub message_id: Option<i64>,
    pub buyer_id: i64,
    pub seller_id: i64,
    pub disputed: bool,
    pub actor_id: Option<i64>,
    pub actor_role: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub reason: Option<String>,
    /// The Order or Message as the event left it, as JSON; empty for the event that ended an
    /// order, whose row is that order (see `ended_order`).
    pub payload: String,
    /// The order an event without a payload ended, as its row reads.
    pub ended_order: Option<Order>,
    pub created_at: Millis,
}

impl EventRecord {
    /// Whether this is the event that ended an order, stored without a copy of it.
    fn ends_an_order(&self) -> bool {
        self.payload.is_empty() && self.message_id.is_none()
    }
}

const EVENT_COLUMNS: &str = "id, kind, order_id, message_id, buyer_id, seller_id, disputed, \
     actor_id, actor_role, from_status, to_status, reason, payload, created_at";

fn event_from(row: &AnyRow) -> Result<EventRecord, sqlx::Error> {
    Ok(EventRecord {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        order_id: row.try_get("order_id")?,
        message_id: row.try_get("message_id")?,
        buyer_id: row.try_get("buyer_id")?,
        seller_id: row.try_get("seller_id")?,
        disputed: row.try_get::<i64, _>("disputed")? != 0,
        actor_id: row.try_get("actor_id")?,
        actor_role: row.try_get("actor_role")?,
        from_status: row.try_get("from_status")?,
        to_status: row.try_get("to_status")?,
        reason: row.try_get("reason")?,
        payload: row.try_get("payload")?,
        ended_order: None,
        created_at: row.try_get("created_at")?,
    })
}

/// Reads the events of `rows`, and the ended orders of those that carry no payload.
async fn events_from(pool: &AnyPool, rows: &[AnyRow]) -> Result<Vec<EventRecord>, DomainError> {
    let mut events: Vec<EventRecord> = rows
        .iter()
        .map(event_from)
        .collect::<Result<_, _>>()
        .map_err(read_error)?;
    let ended: Vec<i64> = events
        .iter()
        .filter(|event| event.ends_an_order())
        .map(|event| event.order_id)
        .collect();
    if ended.is_empty() {
        return Ok(events);
    }
    let list: Vec<String> = (1..=ended.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE id IN ({})",
        list.join(", ")
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for id in &ended {
        query = query.bind(*id);
    }
    let orders: HashMap<i64, Order> = query
        .fetch_all(pool)
        .await
        .map_err(read_error)?
        .iter()
        .map(|row| order_from(row).map(|order| (order.id, order)))
        .collect::<Result<_, _>>()
        .map_err(read_error)?;
    for event in events.iter_mut().filter(|event| event.ends_an_order()) {
        event.ended_order = orders.get(&event.order_id).cloned();
    }
    Ok(events)
}

/// Whose events a reader wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Every event (the live feed, webhooks).
    All,
    /// The events of the user's orders.
    Party(i64),
    /// The events of disputed orders.
    Operators,
    /// The transitions of one order (its history).
    Order(i64),
}

/// Events after `after_id`, oldest first.
pub async fn events(
    pool: &AnyPool,
    audience: Audience,
    after_id: i64,
    limit: i64,
) -> Result<Vec<EventRecord>, DomainError> {
    let (filter, key) = match audience {
        Audience::All => ("", None),
        Audience::Party(user) => (
            " AND order_id IN (SELECT id FROM orders WHERE buyer_id = $3 \
             UNION ALL SELECT id FROM orders WHERE seller_id = $3)",
            Some(user),
        ),
        Audience::Operators => (" AND disputed = 1", None),
        Audience::Order(order) => (" AND order_id = $3 AND kind LIKE 'order.%'", Some(order)),
    };
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE id > $1{filter} ORDER BY id ASC LIMIT $2"
    );
    let mut query = sqlx::query(AssertSqlSafe(sql)).bind(after_id).bind(limit);
    if let Some(key) = key {
        query = query.bind(key);
    }
    let rows = query.fetch_all(pool).await.map_err(read_error)?;
    events_from(pool, &rows).await
}

/// Events of the given kinds after `after_id`, oldest first (what a webhook delivers).
pub async fn events_of_kinds(
    pool: &AnyPool,
    kinds: &[&str],
    after_id: i64,
    limit: i64,
) -> Result<Vec<EventRecord>, DomainError> {
    let list: Vec<String> = (0..kinds.len()).map(|i| format!("${}", i + 3)).collect();
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE id > $1 AND kind IN ({}) ORDER BY id ASC LIMIT $2",
        list.join(", ")
    );
    let mut query = sqlx::query(AssertSqlSafe(sql)).bind(after_id).bind(limit);
    for kind in kinds {
        query = query.bind(*kind);
    }
    let rows = query.fetch_all(pool).await.map_err(read_error)?;
    events_from(pool, &rows).await
}

pub async fn last_event_id(pool: &AnyPool) -> Result<i64, DomainError> {
    sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM events")
        .fetch_one(pool)
        .await
        .map_err(read_error)
}

/// A webhook and its delivery state.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookRecord {
    pub id: i64,
    pub url: String,
    pub secret: String,
    pub cursor: i64,
    pub attempts: i64,
    pub next_attempt_at: Millis,
    pub lease_until: Millis,
    pub delivered: i64,
    pub last_error: Option<String>,
    pub created_at: Millis,
}

/// Webhooks not deleted, by id.
pub async fn webhooks(pool: &AnyPool) -> Result<Vec<WebhookRecord>, DomainError> {
    let rows = sqlx::query(
        "SELECT id, url, secret, cursor, attempts, next_attempt_at, lease_until, delivered, \
         last_error, created_at FROM webhooks WHERE deleted_at IS NULL ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .map_err(read_error)?;
    rows.iter()
        .map(|row| {
            Ok(WebhookRecord {
                id: row.try_get("id")?,
                url: row.try_get("url")?,
                secret: row.try_get("secret")?,
                cursor: row.try_get("cursor")?,
                attempts: row.try_get("attempts")?,
                next_attempt_at: row.try_get("next_attempt_at")?,
                lease_until: row.try_get("lease_until")?,
                delivered: row.try_get("delivered")?,
                last_error: row.try_get("last_error")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(read_error)
}

/// Every block: `(blocker, blocked, created_at)`.
pub async fn blocks(pool: &AnyPool) -> Result<Vec<(i64, i64, Millis)>, DomainError> {
    sqlx::query_as("SELECT blocker_id, blocked_id, created_at FROM blocks")
        .fetch_all(pool)
        .await
        .map_err(read_error)
}

/// Cancels of pending orders by their takers since `since`: `(taker, at)`.
pub async fn taker_cancels(
    pool: &AnyPool,
    since: Millis,
) -> Result<Vec<(i64, Millis)>, DomainError> {
    sqlx::query_as(
        "SELECT e.actor_id, e.created_at FROM events e JOIN orders o ON o.id = e.order_id \
         WHERE e.kind = 'order.cancelled' AND e.created_at >= $1 AND e.from_status = 'pending' \
         AND e.actor_id = o.taker_id",
    )
    .bind(since)
    .fetch_all(pool)
    .await
    .map_err(read_error)
}

/// Which of `order_ids` `rater_id` has rated.
pub async fn rated(
    pool: &AnyPool,
    rater_id: i64,
    order_ids: &[i64],
) -> Result<Vec<i64>, DomainError> {
    if order_ids.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = (0..order_ids.len())
        .map(|i| format!("${}", i + 2))
        .collect();
    let sql = format!(
        "SELECT order_id FROM ratings WHERE rater_id = $1 AND order_id IN ({})",
        list.join(", ")
    );
    let mut query = sqlx::query_scalar(AssertSqlSafe(sql)).bind(rater_id);
    for id in order_ids {
        query = query.bind(*id);
    }
    query.fetch_all(pool).await.map_err(read_error)
}

/// The users `blocker_id` blocked, oldest block first: `(id, name, blocked at)`.
pub async fn blocked_by(
    pool: &AnyPool,
    blocker_id: i64,
) -> Result<Vec<(i64, String, Millis)>, DomainError> {
    sqlx::query_as(
        "SELECT b.blocked_id, u.name, b.created_at FROM blocks b JOIN users u ON u.id = b.blocked_id \
         WHERE b.blocker_id = $1 ORDER BY b.created_at, b.blocked_id",
    )
    .bind(blocker_id)
    .fetch_all(pool)
    .await
    .map_err(read_error)
}

/// A recorded idempotency key: the request's fingerprint and, once known, its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct IdempotencyRecord {
    pub fingerprint: String,
    pub status: Option<i64>,
    pub body: Option<String>,
}

pub async fn idempotency_key(
    pool: &AnyPool,
    principal: &str,
    key: &str,
) -> Result<Option<IdempotencyRecord>, DomainError> {
    let row: Option<(String, Option<i64>, Option<String>)> = sqlx::query_as(
        "SELECT fingerprint, status, body FROM idempotency_keys WHERE principal = $1 AND key = $2",
    )
    .bind(principal)
    .bind(key)
    .fetch_optional(pool)
    .await
    .map_err(read_error)?;
    Ok(row.map(|(fingerprint, status, body)| IdempotencyRecord {
        fingerprint,
        status,
        body,
    }))
}
