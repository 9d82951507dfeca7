//! Ids for a PostgreSQL fast batch's new orders, drawn from the orders' identity ahead of the
//! batch that uses them, so the batch needs no answer before its last flight (see
//! [`Opening`](super::opening::Opening)).
//!
//! A sequence is not transactional: an id drawn is the drawer's whether or not its transaction
//! commits, so ids drawn by one batch may serve the next. An id not used soon is dropped (a gap
//! in the identity, as a rolled-back insert leaves): the orders' list shows newest first by id,
//! and ids held for long by one connection would sort one node's new orders below another's
//! older ones.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How long drawn ids stay usable: about what one batch may lag another on another connection.
const FRESH_FOR: Duration = Duration::from_millis(100);
/// The most ids drawn beyond a batch's own.
const MOST_SPARE: usize = 64;
/// The fewest spare ids drawn once the pool ran dry while fresh.
const FEWEST_SPARE: usize = 4;

/// A committer connection's ids drawn ahead. The spare it draws grows while batches use it up
/// before it goes stale (under load) and shrinks while it goes stale unused (when quiet), so a
/// quiet market's orders take consecutive ids.
#[derive(Debug)]
pub(super) struct OrderIds {
    ids: VecDeque<i64>,
    drawn_at: Instant,
    spare: usize,
}

impl Default for OrderIds {
    fn default() -> Self {
        OrderIds {
            ids: VecDeque::new(),
            drawn_at: Instant::now(),
            spare: 0,
        }
    }
}

impl OrderIds {
    /// `n` ids drawn ahead, if the pool holds them fresh; `None` if the batch must draw
    /// [`OrderIds::to_draw`] ids and hand them to [`OrderIds::refill`].
    pub(super) fn take(&mut self, n: usize) -> Option<VecDeque<i64>> {
        self.take_at(n, Instant::now())
    }

    fn take_at(&mut self, n: usize, now: Instant) -> Option<VecDeque<i64>> {
        if !self.ids.is_empty() && now.duration_since(self.drawn_at) > FRESH_FOR {
            self.ids.clear();
            self.spare /= 2;
        }
        if self.ids.len() >= n {
            return Some(self.ids.drain(..n).collect());
        }
        if now.duration_since(self.drawn_at) <= FRESH_FOR {
            // Used up while fresh: draw more next time.
            self.spare = (self.spare * 2).clamp(FEWEST_SPARE, MOST_SPARE);
        }
        None
    }

    /// How many ids a batch of `n` new orders draws when the pool cannot give them.
    pub(super) fn to_draw(&self, n: usize) -> usize {
        if n == 0 { 0 } else { n + self.spare }
    }

    /// Keeps the ids drawn beyond a batch's `n` and answers the batch's: those left in the pool
    /// first, then the first drawn.
    pub(super) fn refill(&mut self, drawn: VecDeque<i64>, n: usize) -> VecDeque<i64> {
        self.refill_at(drawn, n, Instant::now())
    }

    fn refill_at(&mut self, mut drawn: VecDeque<i64>, n: usize, now: Instant) -> VecDeque<i64> {
        let mut batch = std::mem::take(&mut self.ids);
        let more = n.saturating_sub(batch.len()).min(drawn.len());
        batch.extend(drawn.drain(..more));
        if !drawn.is_empty() {
            self.ids = drawn;
            self.drawn_at = now;
        }
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(range: std::ops::Range<i64>) -> VecDeque<i64> {
        range.collect()
    }

    /// Under load the spare grows and batches take fresh ids without drawing; ids left unused
    /// past their freshness are dropped and the spare shrinks, so a quiet market draws only
    /// what each batch needs.
    #[test]
    fn batches_take_fresh_ids_drawn_ahead_and_drop_stale_ones() {
        let start = Instant::now();
        let mut pool = OrderIds {
            drawn_at: start,
            ..OrderIds::default()
        };
        // Nothing drawn yet: a batch without new orders needs none.
        assert_eq!(pool.take_at(0, start), Some(VecDeque::new()));
        assert_eq!(pool.take_at(3, start), None);
        assert_eq!(pool.to_draw(3), 3 + FEWEST_SPARE);
        assert_eq!(pool.refill_at(ids(1..8), 3, start), ids(1..4));
        // The spare serves the next batch.
        let soon = start + FRESH_FOR / 2;
        assert_eq!(pool.take_at(2, soon), Some(ids(4..6)));
        // Too few left: the batch takes those left, then the first drawn.
        assert_eq!(pool.take_at(3, soon), None);
        assert_eq!(pool.to_draw(3), 3 + 2 * FEWEST_SPARE);
        assert_eq!(
            pool.refill_at(ids(10..21), 3, soon),
            VecDeque::from([6, 7, 10])
        );
        assert_eq!(pool.take_at(1, soon), Some(ids(11..12)));
        // Stale: dropped, and the spare halves.
        let late = soon + FRESH_FOR * 2;
        assert_eq!(pool.take_at(1, late), None);
        assert_eq!(pool.to_draw(1), 1 + FEWEST_SPARE);
        assert_eq!(pool.refill_at(ids(30..35), 1, late), ids(30..31));
        let quiet = late + FRESH_FOR * 2;
        assert_eq!(pool.take_at(1, quiet), None);
        assert_eq!(pool.to_draw(1), 1 + FEWEST_SPARE / 2);
        // Used up while fresh, again and again: the spare grows to its bound and no further.
        assert_eq!(pool.refill_at(ids(40..42), 1, quiet), ids(40..41));
        for _ in 0..10 {
            assert_eq!(pool.take_at(2, quiet), None);
        }
        assert_eq!(pool.to_draw(1), 1 + MOST_SPARE);
    }
}
