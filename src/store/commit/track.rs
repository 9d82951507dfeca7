//! Track records as a batch writes them: what its transitions added to each party's day, the
//! first order of each party.

use super::deferred::Deferred;
use super::rows::{ROWS, chunked, with_rows};
use crate::domain::order::Order;
use crate::domain::track_change::TrackChange;
use crate::store::connection::{Connection, DbError, query};
use crate::store::dialect::Dialect;

impl Deferred {
    pub(super) fn add_track(&mut self, change: &TrackChange) {
        self.track
            .entry((change.user_id, change.day))
            .or_default()
            .add(&change.figures);
    }

    /// Notes a new order as the first of its parties who had none.
    pub(super) fn first_order(&mut self, order: &Order) {
        for user_id in [order.buyer_id, order.seller_id] {
            let first = self.first_orders.entry(user_id).or_insert(order.created_at);
            *first = (*first).min(order.created_at);
        }
    }

    /// Adds the batch's figures to each (user, day) row, one upsert per chunk.
    pub(super) async fn flush_track(
        &self,
        conn: &mut impl Connection,
        dialect: Dialect,
    ) -> Result<(), DbError> {
        let rows: Vec<_> = self.track.iter().collect();
        for chunk in chunked(&rows, dialect) {
            let sql = format!(
                "INSERT INTO track_days (user_id, day, completed, cancelled, expired, paid, \
                   pay_ms, released, release_ms) {ROWS} \
                 ON CONFLICT (user_id, day) DO UPDATE SET \
                   completed = track_days.completed + excluded.completed, \
                   cancelled = track_days.cancelled + excluded.cancelled, \
                   expired = track_days.expired + excluded.expired, \
                   paid = track_days.paid + excluded.paid, \
                   pay_ms = track_days.pay_ms + excluded.pay_ms, \
                   released = track_days.released + excluded.released, \
                   release_ms = track_days.release_ms + excluded.release_ms"
            );
            let mut query = query(sql);
            for ((user_id, day), figures) in chunk {
                query = query
                    .bind(*user_id)
                    .bind(*day)
                    .bind(figures.completed)
                    .bind(figures.cancelled)
                    .bind(figures.expired)
                    .bind(figures.paid)
                    .bind(figures.pay_ms)
                    .bind(figures.released)
                    .bind(figures.release_ms);
            }
            with_rows(query, 9, dialect).execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// Sets the first order of the parties who had none. A user who has one is not written (nor,
    /// on PostgreSQL, locked): after a user's first order this costs a read of the row.
    pub(super) async fn flush_first_orders(
        &self,
        conn: &mut impl Connection,
        dialect: Dialect,
    ) -> Result<(), DbError> {
        let firsts: Vec<_> = self.first_orders.iter().collect();
        for chunk in chunked(&firsts, dialect) {
            let sql = format!(
                "WITH v(id, at) AS ({ROWS}) UPDATE users SET first_order_at = v.at FROM v \
                 WHERE users.id = v.id AND users.first_order_at IS NULL"
            );
            let mut query = query(sql);
            for (user_id, at) in chunk {
                query = query.bind(**user_id).bind(**at);
            }
            with_rows(query, 2, dialect).execute(&mut *conn).await?;
        }
        Ok(())
    }
}
