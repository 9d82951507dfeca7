//! Orders: a new order, the guarded claim of each transition, the deposit taker's limit.

use super::writer::{Failure, Writer, refused, unique_or};
use crate::domain::order::Side;
use crate::domain::order::{Order, OrderStatus};
use crate::domain::{ErrorCode, OrderId, UserId};
use crate::store::commit::order_rows::{active_inserts, claim_all, order_values};
use crate::store::connection::{Connection, query};

impl<C: Connection> Writer<'_, C> {
    /// Inserts the order and its row of `active_orders`, whose unique index refuses a second
    /// active withdrawal. In a PostgreSQL fast batch the order takes an id taken beforehand and
    /// waits for the batch's one insert.
    pub(super) async fn insert_order(&mut self, order: &Order) -> Result<(), Failure> {
        self.deferred.first_order(order);
        if let Some(id) = self.deferred.order_ids.pop_front() {
            let mut order = order.clone();
            order.id = OrderId(id);
            self.deferred.orders.push(order);
            self.receipt.inserted_ids.push(id);
            return Ok(());
        }
        let insert = order_values(
            query(
                "INSERT INTO orders (ad_id, side, buyer_id, seller_id, taker_id, usdt_amount, \
                 fiat_amount, fiat_currency, price, payment_method, payment_details, status, \
                 created_at, expires_at, review_rule, review_since, card_key, \
                 release_window_seconds) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
                 $17, $18) RETURNING id",
            ),
            order,
        )
        .fetch_one(&mut *self.conn)
        .await;
        let id = unique_or(insert, ErrorCode::ActiveWithdrawOrderExists)?;
        let mut order = order.clone();
        order.id = OrderId(id);
        for statement in active_inserts(self.dialect, std::slice::from_ref(&order)) {
            let inserted = statement.execute(&mut *self.conn).await;
            unique_or(inserted, ErrorCode::ActiveWithdrawOrderExists)?;
        }
        self.receipt.inserted_ids.push(id);
        Ok(())
    }

    /// Writes the order's new state if its status is still `from`: at once in a careful batch,
    /// with the batch's cold statement in a fast one.
    pub(super) async fn claim_order(
        &mut self,
        from: OrderStatus,
        order: &Order,
    ) -> Result<(), Failure> {
        let claim = (from, Box::new(order.clone()));
        if self.deferred.group_claims {
            self.deferred.claims.push(claim);
            return Ok(());
        }
        if claim_all(&mut *self.conn, self.dialect, &[claim]).await? == 0 {
            return Err(refused(ErrorCode::InvalidOrderStatus));
        }
        Ok(())
    }

    /// Refuses a deposit taker who already holds `max` active deposit orders.
    pub(super) async fn deposit_limit(
        &mut self,
        taker_id: UserId,
        max: i64,
    ) -> Result<(), Failure> {
        // New orders waiting for the batch's one insert count too.
        let waiting = (self.deferred.orders.iter())
            .filter(|o| o.taker_id == taker_id && o.side == Side::Deposit)
            .count() as i64;
        if self.deferred.group_rows && waiting < max {
            // The batch's cold statement guards the stored orders.
            let below = self.deferred.deposit_limits.entry(taker_id).or_insert(max);
            *below = (*below).min(max - waiting);
            return Ok(());
        }
        let sql = "SELECT COUNT(*) FROM active_orders WHERE taker_id = $1 AND side = 'deposit'";
        let stored: i64 = query(sql).bind(taker_id).fetch_one(&mut *self.conn).await?;
        let active = stored + waiting;
        if active >= max {
            return Err(refused(ErrorCode::ActiveOrderLimit));
        }
        Ok(())
    }
}
