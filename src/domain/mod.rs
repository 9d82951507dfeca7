//! Pure rules of the market: no I/O, no clocks, no actors.
//!
//! Every amount is an `i64` number of kopecks (`_kopecks` where a name needs the unit); time is
//! an `i64` of Unix milliseconds (`_ms`).

pub mod ad;
pub mod audit;
pub mod chat;
pub mod error;
pub mod event;
pub mod idempotency;
pub mod order;
pub mod user;
pub mod validate;
pub mod wallet;
pub mod webhook;

pub use error::{DomainError, ErrorCode};
pub use user::{Caller, Role};

/// An amount of money in kopecks. Never a float.
pub type Kopecks = i64;

/// A point in time as Unix milliseconds.
pub type Millis = i64;

/// Formats Unix milliseconds as an RFC 3339 UTC timestamp with millisecond precision.
pub fn rfc3339(ms: Millis) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    at.format(&format).unwrap_or_default()
}

/// A user's rating as the mean of the ratings received, one decimal; `None` before any.
pub fn mean_rating(sum: i64, count: i64) -> Option<f64> {
    (count > 0).then(|| (sum as f64 / count as f64 * 10.0).round() / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_is_utc_with_milliseconds() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }

    #[test]
    fn mean_rating_rounds_to_one_decimal() {
        assert_eq!(mean_rating(0, 0), None);
        assert_eq!(mean_rating(14, 3), Some(4.7));
        assert_eq!(mean_rating(5, 1), Some(5.0));
    }
}
