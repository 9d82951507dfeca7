//! A trader's track record: what their last 30 days of orders say about them, kept as per-day
//! sums that each order transition adds to, so the window rolls without a recount.
//!
//! The figures, exactly (each over the orders the user was a party to):
//! - `completion_rate_30d`: completed ÷ (completed + cancelled by this user + expired while this
//!   user was the buyer who had to pay), in basis points rounded down; `None` while that
//!   denominator is 0. Each order counts on the day it ended.
//! - `avg_pay_seconds_30d`: as buyer, the mean of created → paid (a held order: cleared → paid),
//!   over orders paid in the window.
//! - `avg_release_seconds_30d`: as seller, the mean of paid → completed (by the seller or an
//!   operator's release), over orders completed in the window.
//! - `orders_30d`: orders completed in the window, as either party.
//!
//! The window is the UTC day of `now` and the 29 before it: a figure added on day `d` counts up to
//! the end of day `d + 29`.

use super::time::Millis;

/// How many UTC days the window spans, today included.
pub const WINDOW_DAYS: i64 = 30;
pub const DAY_MS: Millis = 86_400_000;
/// Within this long of the last authenticated request a user counts as online.
pub const ONLINE_MS: Millis = 5 * 60_000;

/// The UTC day of an instant, counted from the Unix epoch.
pub fn day_of(at: Millis) -> i64 {
    at.div_euclid(DAY_MS)
}

/// What one user's orders added on one day. Times are summed in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayFigures {
    pub completed: i64,
    /// Cancelled by this user (as either party).
    pub cancelled: i64,
    /// Expired unpaid while this user was the buyer.
    pub expired: i64,
    pub paid: i64,
    pub pay_ms: i64,
    pub released: i64,
    pub release_ms: i64,
}

impl DayFigures {
    pub fn add(&mut self, other: &DayFigures) {
        self.completed += other.completed;
        self.cancelled += other.cancelled;
        self.expired += other.expired;
        self.paid += other.paid;
        self.pay_ms += other.pay_ms;
        self.released += other.released;
        self.release_ms += other.release_ms;
    }
}

/// A user's record: the per-day sums of the window (and a little before it), the first order
/// they were a party to, and their last authenticated request (to the minute).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Track {
    /// By ascending day.
    pub days: Vec<(i64, DayFigures)>,
    pub first_order_at: Option<Millis>,
    pub last_seen_at: Option<Millis>,
}

/// The figures a track record shows at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub completion_rate_bp: Option<i64>,
    pub avg_pay_seconds: Option<i64>,
    pub avg_release_seconds: Option<i64>,
    pub orders: i64,
    pub first_order_at: Option<Millis>,
    pub last_seen_at: Option<Millis>,
}

impl Summary {
    pub fn online(&self, now: Millis) -> bool {
        self.last_seen_at.is_some_and(|seen| now - seen < ONLINE_MS)
    }
}

impl Track {
    /// Adds `figures` to `day`, dropping days that have left the window of `day`.
    pub fn add(&mut self, day: i64, figures: &DayFigures) {
        match self.days.binary_search_by_key(&day, |(d, _)| *d) {
            Ok(at) => self.days[at].1.add(figures),
            Err(at) => self.days.insert(at, (day, *figures)),
        }
        let newest = self.days.last().map_or(day, |(d, _)| *d);
        self.days.retain(|(d, _)| *d > newest - WINDOW_DAYS);
    }

    /// The instants around `now` at which [`Track::summary`] and [`Summary::online`] read as
    /// they do at `now`, `[from, until)`: the UTC day of `now`, cut where the online flag turns.
    pub fn steady_span(&self, now: Millis) -> (Millis, Millis) {
        let mut from = day_of(now) * DAY_MS;
        let mut until = from + DAY_MS;
        if let Some(seen) = self.last_seen_at {
            let turns = seen + ONLINE_MS;
            if now < turns {
                until = until.min(turns);
            } else {
                from = from.max(turns);
            }
        }
        (from, until)
    }

    /// The figures of the window that ends with the day of `now`.
    pub fn summary(&self, now: Millis) -> Summary {
        let today = day_of(now);
        let mut sum = DayFigures::default();
        for (_, figures) in self
            .days
            .iter()
            .filter(|(day, _)| *day > today - WINDOW_DAYS && *day <= today)
        {
            sum.add(figures);
        }
        let ended = sum.completed + sum.cancelled + sum.expired;
        let mean_seconds = |total_ms: i64, count: i64| (count > 0).then(|| total_ms / count / 1000);
        Summary {
            completion_rate_bp: (ended > 0).then(|| sum.completed * 10_000 / ended),
            avg_pay_seconds: mean_seconds(sum.pay_ms, sum.paid),
            avg_release_seconds: mean_seconds(sum.release_ms, sum.released),
            orders: sum.completed,
            first_order_at: self.first_order_at,
            last_seen_at: self.last_seen_at,
        }
    }
}

/// An instant cut down to its minute: last-seen times are kept to the minute.
pub fn to_minute(at: Millis) -> Millis {
    at - at.rem_euclid(60_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(completed: i64, cancelled: i64, expired: i64) -> DayFigures {
        DayFigures {
            completed,
            cancelled,
            expired,
            ..DayFigures::default()
        }
    }

    #[test]
    fn the_rate_is_completed_over_what_ended_in_basis_points_rounded_down() {
        let mut track = Track::default();
        assert_eq!(track.summary(0).completion_rate_bp, None);
        track.add(0, &one(2, 1, 0));
        assert_eq!(track.summary(0).completion_rate_bp, Some(6666));
        track.add(0, &one(0, 0, 1));
        assert_eq!(track.summary(0).completion_rate_bp, Some(5000));
        assert_eq!(track.summary(0).orders, 2);
    }

    #[test]
    fn a_day_counts_for_thirty_days_then_rolls_out() {
        let mut track = Track::default();
        track.add(10, &one(1, 0, 0));
        let last_day_in = (10 + WINDOW_DAYS - 1) * DAY_MS + DAY_MS - 1;
        assert_eq!(track.summary(last_day_in).orders, 1);
        assert_eq!(track.summary(last_day_in + 1).orders, 0);
        assert_eq!(track.summary(last_day_in + 1).completion_rate_bp, None);
        // A day after `now` (another node's clock ahead) is not counted yet.
        assert_eq!(track.summary(9 * DAY_MS).orders, 0);
    }

    #[test]
    fn adding_drops_days_that_left_the_window_and_keeps_days_sorted() {
        let mut track = Track::default();
        track.add(5, &one(1, 0, 0));
        track.add(3, &one(1, 0, 0));
        track.add(5, &one(1, 0, 0));
        assert_eq!(track.days, vec![(3, one(1, 0, 0)), (5, one(2, 0, 0))]);
        track.add(3 + WINDOW_DAYS, &one(1, 0, 0));
        assert_eq!(track.days.len(), 2);
        assert_eq!(track.days[0].0, 5);
    }

    #[test]
    fn averages_are_whole_seconds_rounded_down() {
        let mut track = Track::default();
        track.add(
            0,
            &DayFigures {
                paid: 2,
                pay_ms: 3_999,
                released: 1,
                release_ms: 61_500,
                ..DayFigures::default()
            },
        );
        let summary = track.summary(0);
        assert_eq!(summary.avg_pay_seconds, Some(1));
        assert_eq!(summary.avg_release_seconds, Some(61));
    }

    #[test]
    fn online_is_within_five_minutes_of_the_last_request() {
        let summary = Summary {
            last_seen_at: Some(to_minute(600_000 + 59_999)),
            ..Summary::default()
        };
        assert_eq!(summary.last_seen_at, Some(600_000));
        assert!(summary.online(600_000 + ONLINE_MS - 1));
        assert!(!summary.online(600_000 + ONLINE_MS));
        assert!(!Summary::default().online(0));
    }

    proptest::proptest! {
        /// Anywhere in its steady span, a record reads as it does at the instant the span was
        /// taken for; just outside it, the day or the online flag differs.
        #[test]
        fn a_record_reads_the_same_throughout_its_steady_span(
            days in proptest::collection::vec((0..40i64, 0..3i64, 0..3i64), 0..6),
            seen in proptest::option::of(0..50 * DAY_MS),
            now in 0..50 * DAY_MS,
            at in 0.0..1.0f64,
        ) {
            let mut track = Track { last_seen_at: seen, ..Track::default() };
            for (day, completed, cancelled) in days {
                track.add(day, &one(completed, cancelled, 0));
            }
            let (from, until) = track.steady_span(now);
            proptest::prop_assert!(from <= now && now < until);
            let inside = from + ((until - from - 1) as f64 * at) as Millis;
            let reads = |t: Millis| (track.summary(t), track.summary(t).online(t), day_of(t));
            proptest::prop_assert_eq!(reads(inside), reads(now));
            proptest::prop_assert_ne!(reads(until), reads(now));
            proptest::prop_assert_ne!(reads(from - 1), reads(now));
        }
    }
}
