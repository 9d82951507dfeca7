//! Track records as a batch writes them: what its transitions added to each party's day, the
//! first order of each party (written with users' figures, see [`Deferred::flush`]).

use super::deferred::Deferred;
use super::one_statement::Write;
use super::rows::{ROWS, chunked, with_rows};
use crate::domain::order::Order;
use crate::domain::track_change::TrackChange;
use crate::store::connection::query;
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
    pub(super) fn track_rows(&self, dialect: Dialect) -> Vec<Write> {
        let rows: Vec<_> = self.track.iter().collect();
        let mut writes = Vec::new();
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
            writes.push(Write::new(with_rows(query, 9, dialect)));
        }
        writes
    }
}
