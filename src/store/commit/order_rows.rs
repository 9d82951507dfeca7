//! Orders' rows as the committer writes them: a new order's columns, and guarded claims (each
//! order moves to its new state only if its status is still the one its transition started
//! from), one statement for a batch's claims.

use super::one_statement::Write;
use super::rows::{ROWS, chunked, with_rows};
use crate::domain::order::{Order, OrderStatus, Side};
use crate::domain::review::card_key;
use crate::store::connection::{Connection, DbError, Statement, query};
use crate::store::dialect::Dialect;
use crate::store::json;

/// A guarded order claim: the order's new state, if its status is still `from`.
pub(super) type Claim = (OrderStatus, Box<Order>);

/// Binds a new order's columns after its id, in the order of the orders insert's columns.
pub(super) fn order_values(query: Statement, order: &Order) -> Statement {
    query
        .bind(order.ad_id)
        .bind(order.side.as_str())
        .bind(order.buyer_id)
        .bind(order.seller_id)
        .bind(order.taker_id)
        .bind(order.usdt_amount)
        .bind(order.fiat_amount)
        .bind(order.fiat_currency.clone())
        .bind(order.price)
        .bind(order.payment_method.clone())
        .bind(json::text(&order.payment_details))
        .bind(order.status.as_str())
        .bind(order.created_at)
        .bind(order.expires_at)
        .bind(order.review.as_ref().map(|r| r.rule.as_str()))
        .bind(order.review.as_ref().map(|r| r.since))
        .bind(match order.side {
            Side::Withdraw => card_key(&order.payment_details),
            Side::Deposit => None,
        })
        .bind(order.release_window_seconds)
}

/// Claims orders with one statement: each row moves to its new state only if its status is still
/// the one its transition started from. Answers how many claims held; in a fast batch anything
/// short of all of them reruns the batch carefully, where the loser hears `INVALID_ORDER_STATUS`.
/// If all held, brings `active_orders` to the new states too.
pub(super) async fn claim_all(
    conn: &mut impl Connection,
    dialect: Dialect,
    claims: &[Claim],
) -> Result<u64, DbError> {
    let held = claims_statement(dialect, claims)
        .execute(&mut *conn)
        .await?;
    if held == claims.len() as u64 {
        for (statement, rows) in active_claims(dialect, claims) {
            Write::all_of(statement, rows, "active orders")
                .run(&mut *conn)
                .await?;
        }
    }
    Ok(held)
}

/// The statement of [`claim_all`].
pub(super) fn claims_statement(dialect: Dialect, claims: &[Claim]) -> Statement {
    let sql = format!(
        "WITH v(id, from_status, status, cancel_reason, payment_details, paid_at, completed_at, \
           cancelled_at, dispute_opened_by, dispute_reason, dispute_opened_at, dispute_resolution, \
           dispute_resolved_by, dispute_resolved_at, dispute_note, expires_at, review_cleared_at, \
           review_cleared_by, dispute_answer_due_at, dispute_proposed_resolution, \
           dispute_proposed_note, dispute_proposed_by, dispute_proposed_at) AS ({ROWS}) \
         UPDATE orders SET status = v.status, cancel_reason = v.cancel_reason, \
           payment_details = v.payment_details, paid_at = v.paid_at, completed_at = v.completed_at, \
           cancelled_at = v.cancelled_at, dispute_opened_by = v.dispute_opened_by, \
           dispute_reason = v.dispute_reason, dispute_opened_at = v.dispute_opened_at, \
           dispute_resolution = v.dispute_resolution, dispute_resolved_by = v.dispute_resolved_by, \
           dispute_resolved_at = v.dispute_resolved_at, dispute_note = v.dispute_note, \
           expires_at = v.expires_at, review_cleared_at = v.review_cleared_at, \
           review_cleared_by = v.review_cleared_by, dispute_answer_due_at = v.dispute_answer_due_at, \
           dispute_proposed_resolution = v.dispute_proposed_resolution, \
           dispute_proposed_note = v.dispute_proposed_note, \
           dispute_proposed_by = v.dispute_proposed_by, dispute_proposed_at = v.dispute_proposed_at \
         FROM v WHERE orders.id = v.id AND orders.status = v.from_status"
    );
    let mut query = query(sql);
    for (from, order) in claims {
        let dispute = order.dispute.as_ref();
        let proposal = dispute.and_then(|d| d.proposal.as_ref());
        query = query
            .bind(order.id)
            .bind(from.as_str())
            .bind(order.status.as_str())
            .bind(order.cancel_reason.map(|r| r.as_str()))
            .bind(json::text(&order.payment_details))
            .bind(order.paid_at)
            .bind(order.completed_at)
            .bind(order.cancelled_at)
            .bind(dispute.and_then(|d| d.opened_by))
            .bind(dispute.and_then(|d| d.reason.clone()))
            .bind(dispute.map(|d| d.opened_at))
            .bind(dispute.and_then(|d| d.resolution).map(|r| r.as_str()))
            .bind(dispute.and_then(|d| d.resolved_by))
            .bind(dispute.and_then(|d| d.resolved_at))
            .bind(dispute.and_then(|d| d.note.clone()))
            .bind(order.expires_at)
            .bind(order.review.as_ref().and_then(|r| r.cleared_at))
            .bind(order.review.as_ref().and_then(|r| r.cleared_by))
            .bind(dispute.and_then(|d| d.answer_due_at))
            .bind(proposal.map(|p| p.resolution.as_str()))
            .bind(proposal.and_then(|p| p.note.clone()))
            .bind(proposal.map(|p| p.proposed_by))
            .bind(proposal.map(|p| p.proposed_at));
    }
    with_rows(query, 23, dialect)
}

/// An active order's row of `active_orders`, what the sweeps, the limits and the operators' queue
/// look it up by: `(order_id, side, seller_id, taker_id, status, due_at, held_since)`.
fn active_values(query: Statement, order: &Order) -> Statement {
    query
        .bind(order.id)
        .bind(order.side.as_str())
        .bind(order.seller_id)
        .bind(order.taker_id)
        .bind(order.status.as_str())
        .bind(order.deadline().map(|(at, _)| at))
        .bind(held_since(order))
}

/// Since when a rule has held the order, while no operator has cleared it.
fn held_since(order: &Order) -> Option<i64> {
    order
        .review
        .as_ref()
        .filter(|_| order.held())
        .map(|review| review.since)
}

/// Inserts new orders' rows of `active_orders` (each new order is pending); the unique index
/// there refuses a second active withdrawal of one seller.
pub(super) fn active_inserts(dialect: Dialect, orders: &[Order]) -> Vec<Statement> {
    chunked(orders, dialect)
        .into_iter()
        .map(|chunk| {
            let sql = format!(
                "INSERT INTO active_orders (order_id, side, seller_id, taker_id, status, due_at, \
                 held_since) {ROWS}"
            );
            let query = (chunk.iter()).fold(query(sql), active_values);
            with_rows(query, 7, dialect)
        })
        .collect()
}

/// Brings `active_orders` to the claims' new states: an order still active gets its new status
/// and deadlines, one that ended leaves. Each statement must change all its rows, as many as it
/// names.
pub(super) fn active_claims(dialect: Dialect, claims: &[Claim]) -> Vec<(Statement, usize)> {
    let (active, ended): (Vec<&Order>, Vec<&Order>) = (claims.iter())
        .map(|(_, order)| order.as_ref())
        .partition(|order| order.status.is_active());
    let mut statements = Vec::new();
    for chunk in chunked(&active, dialect) {
        let sql = format!(
            "WITH v(order_id, side, seller_id, taker_id, status, due_at, held_since) AS ({ROWS}) \
             UPDATE active_orders SET status = v.status, due_at = v.due_at, \
               held_since = v.held_since \
             FROM v WHERE active_orders.order_id = v.order_id"
        );
        let query = (chunk.iter()).fold(query(sql), |query, order| active_values(query, order));
        statements.push((with_rows(query, 7, dialect), chunk.len()));
    }
    for chunk in chunked(&ended, dialect) {
        let sql = format!(
            "WITH v(order_id) AS ({ROWS}) \
             DELETE FROM active_orders WHERE order_id IN (SELECT order_id FROM v)"
        );
        let query = (chunk.iter()).fold(query(sql), |query, order| query.bind(order.id));
        statements.push((with_rows(query, 1, dialect), chunk.len()));
    }
    statements
}
