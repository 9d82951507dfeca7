//! `orders`: an order's row, the pages of a user's orders, the disputes, what is overdue.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::query::{Query, int, int_or_null, query, unknown};
use crate::domain::order::{
    CancelReason, Dispute, Order, OrderStatus, Proposal, Resolution, Review, ReviewRule, Side,
};
use crate::domain::{DomainError, OrderId, UserId};
use crate::store::handle::Store;

/// Which orders a page lists.
#[derive(Debug, Clone, Copy, Default)]
pub struct OrderFilter {
    /// Only the orders this user is a party to.
    pub party: Option<UserId>,
    pub status: Option<OrderStatus>,
    pub side: Option<Side>,
    /// Only disputed orders: `Some(true)` the open disputes, `Some(false)` the resolved ones.
    pub disputes: Option<bool>,
    /// Only the orders held for review, oldest first (the operators' queue).
    pub held: bool,
}

/// A pending order a rule held that no operator has cleared yet, as SQL.
const HELD: &str = "(status = 'pending' AND review_rule IS NOT NULL AND review_cleared_at IS NULL)";

/// The sweep's orders past their deadline (`Order::deadline`) at `$1`, at most `$2`, read
/// through the index `active_orders_due`.
const OVERDUE: &str = "SELECT order_id AS id FROM active_orders \
    WHERE due_at IS NOT NULL AND due_at <= $1 ORDER BY due_at LIMIT $2";

pub(crate) const ORDER_COLUMNS: &str = "id, ad_id, side, buyer_id, seller_id, taker_id, \
    usdt_amount, fiat_amount, fiat_currency, price, payment_method, payment_details, status, \
    cancel_reason, created_at, expires_at, paid_at, completed_at, cancelled_at, dispute_opened_by, \
    dispute_reason, dispute_opened_at, dispute_resolution, dispute_resolved_by, \
    dispute_resolved_at, dispute_note, review_rule, review_since, review_cleared_at, \
    review_cleared_by, release_window_seconds, dispute_answer_due_at, dispute_answered_at, \
    dispute_proposed_resolution, dispute_proposed_note, dispute_proposed_by, dispute_proposed_at";

fn proposal_from(row: &AnyRow) -> Result<Option<Proposal>, sqlx::Error> {
    let resolution: Option<String> = row.try_get("dispute_proposed_resolution")?;
    let Some(resolution) = resolution else {
        return Ok(None);
    };
    Ok(Some(Proposal {
        resolution: Resolution::parse(&resolution)
            .ok_or_else(|| unknown("dispute_proposed_resolution"))?,
        note: row.try_get("dispute_proposed_note")?,
        proposed_by: int(row, "dispute_proposed_by")?,
        proposed_at: row.try_get("dispute_proposed_at")?,
    }))
}

pub(crate) fn order_from(row: &AnyRow) -> Result<Order, sqlx::Error> {
    let opened_at: Option<i64> = row.try_get("dispute_opened_at")?;
    let dispute = match opened_at {
        Some(opened_at) => Some(Dispute {
            opened_by: int_or_null(row, "dispute_opened_by")?,
            reason: row.try_get("dispute_reason")?,
            opened_at,
            answer_due_at: row.try_get("dispute_answer_due_at")?,
            answered_at: row.try_get("dispute_answered_at")?,
            proposal: proposal_from(row)?,
            resolution: row
                .try_get::<Option<String>, _>("dispute_resolution")?
                .and_then(|r| Resolution::parse(&r)),
            resolved_by: int_or_null(row, "dispute_resolved_by")?,
            resolved_at: row.try_get("dispute_resolved_at")?,
            note: row.try_get("dispute_note")?,
        }),
        None => None,
    };
    let rule: Option<String> = row.try_get("review_rule")?;
    let review = match rule {
        Some(rule) => Some(Review {
            rule: ReviewRule::parse(&rule).ok_or_else(|| unknown("review_rule"))?,
            since: row.try_get("review_since")?,
            cleared_at: row.try_get("review_cleared_at")?,
            cleared_by: int_or_null(row, "review_cleared_by")?,
        }),
        None => None,
    };
    Ok(Order {
        id: int(row, "id")?,
        ad_id: int(row, "ad_id")?,
        side: Side::parse(row.try_get("side")?).ok_or_else(|| unknown("side"))?,
        buyer_id: int(row, "buyer_id")?,
        seller_id: int(row, "seller_id")?,
        taker_id: int(row, "taker_id")?,
        usdt_amount: int(row, "usdt_amount")?,
        fiat_amount: int(row, "fiat_amount")?,
        fiat_currency: row.try_get("fiat_currency")?,
        price: int(row, "price")?,
        payment_method: row.try_get("payment_method")?,
        payment_details: crate::store::json::object(row.try_get("payment_details")?)
            .unwrap_or_default(),
        status: OrderStatus::parse(row.try_get("status")?).ok_or_else(|| unknown("status"))?,
        cancel_reason: row
            .try_get::<Option<String>, _>("cancel_reason")?
            .and_then(|r| CancelReason::parse(&r)),
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        release_window_seconds: row.try_get("release_window_seconds")?,
        paid_at: row.try_get("paid_at")?,
        completed_at: row.try_get("completed_at")?,
        cancelled_at: row.try_get("cancelled_at")?,
        dispute,
        review,
    })
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
        // A held order is not its buyer's to see.
        bind(
            &mut clause,
            &format!(" AND (seller_id = # OR (buyer_id = # AND NOT {HELD}))"),
            FilterValue::Id(user.get()),
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
    if filter.held {
        clause.push_str(
            " AND id IN (SELECT order_id FROM active_orders WHERE held_since IS NOT NULL)",
        );
    }
    (clause, values)
}

enum FilterValue {
    Id(i64),
    Text(&'static str),
}

fn bind_all(mut query: Query, values: &[FilterValue]) -> Query {
    for value in values {
        query = match value {
            FilterValue::Id(id) => query.bind(*id),
            FilterValue::Text(text) => query.bind(*text),
        };
    }
    query
}

impl Store {
    pub async fn order(&self, id: OrderId) -> Result<Option<Order>, DomainError> {
        let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1");
        self.optional(query(sql).bind(id.get()), order_from).await
    }

    /// Orders that still hold escrow: what the service re-arms at start.
    pub async fn active_orders(&self) -> Result<Vec<Order>, DomainError> {
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE id IN (SELECT order_id FROM active_orders)"
        );
        self.all(query(sql), order_from).await
    }

    /// Orders past a deadline at `now`, oldest deadline first: pending ones whose payment
    /// window closed, and paid ones whose release window closed.
    pub async fn overdue_orders(&self, now: i64, limit: i64) -> Result<Vec<OrderId>, DomainError> {
        self.all(sqlx::query(OVERDUE).bind(now).bind(limit), |row| {
            int(row, "id")
        })
        .await
    }

    /// How many pending orders are past their payment window at `now` (each should expire within
    /// a second or two: a count that stays above zero means expiry lags).
    pub async fn overdue_count(&self, now: i64) -> Result<i64, DomainError> {
        let sql = "SELECT COUNT(*) FROM active_orders WHERE status = 'pending' \
                   AND due_at IS NOT NULL AND due_at <= $1";
        self.scalar(sqlx::query(sql).bind(now)).await
    }

    /// One page of the orders that match, and how many match in all. Disputes list oldest
    /// first, everything else newest first.
    pub async fn orders_page(
        &self,
        filter: OrderFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Order>, i64), DomainError> {
        let (clause, values) = where_clause(filter);
        let count = bind_all(
            query(format!("SELECT COUNT(*) FROM orders{clause}")),
            &values,
        );
        let total = self.scalar(count).await?;
        let order_by = if filter.disputes.is_some() {
            "dispute_opened_at ASC, id ASC"
        } else if filter.held {
            "review_since ASC, id ASC"
        } else {
            "id DESC"
        };
        let n = values.len();
        let page_sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders{clause} ORDER BY {order_by} LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        );
        let page = bind_all(query(page_sql), &values).bind(limit).bind(offset);
        Ok((self.all(page, order_from).await?, total))
    }
}

#[cfg(test)]
mod tests {
    use super::OVERDUE;
    use crate::store::test_db::{postgres_store, sqlite_store};

    /// Whether `plan` reads the deadlines' index: the sweep then reads only the orders due, not
    /// every active one.
    fn reads_the_deadlines(plan: &[String]) -> bool {
        plan.iter().any(|step| step.contains("active_orders_due"))
    }

    #[tokio::test]
    async fn the_deadline_sweep_reads_the_deadlines_index_on_sqlite() {
        let (_store, dir) = sqlite_store().await;
        let conn = rusqlite::Connection::open(dir.path().join("t.db")).unwrap();
        let mut explain = (conn.prepare(&format!("EXPLAIN QUERY PLAN {OVERDUE}"))).unwrap();
        let plan: Vec<String> = explain
            .query_map([0i64, 100], |row| row.get(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(reads_the_deadlines(&plan), "{plan:?}");
    }

    #[tokio::test]
    async fn the_deadline_sweep_reads_the_deadlines_index_on_postgres() {
        use sqlx::Connection as _;
        let Some((_store, url)) = postgres_store("the deadline sweep's plan").await else {
            return;
        };
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        // The tables are empty: without this the planner would rather read them whole.
        sqlx::query("SET enable_seqscan = off")
            .execute(&mut conn)
            .await
            .unwrap();
        let plan: Vec<(String,)> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN {OVERDUE}")))
                .bind(0i64)
                .bind(100i64)
                .fetch_all(&mut conn)
                .await
                .unwrap();
        let plan: Vec<String> = plan.into_iter().map(|(step,)| step).collect();
        assert!(reads_the_deadlines(&plan), "{plan:?}");
    }
}
