//! Responsible gaming: the platform's restrictions of a user (self-exclusion, cool-off).
//!
//! While a restriction lasts its user neither takes ads nor posts them, and their ads are
//! paused and hidden; orders already open run to their end. It lasts until its `until` or until
//! the platform lifts it, whichever comes first; nothing needs to run when it ends.

use super::error::{DomainError, ErrorCode};
use super::ids::UserId;
use super::time::{Millis, rfc3339};

/// The furthest a restriction may end: 100 years on (a self-exclusion may be for life).
pub const MAX_RESTRICTION_MS: Millis = 100 * 366 * 24 * 3600 * 1000;

vocabulary! {
    /// Why the platform restricts a user.
    pub enum RestrictionKind {
        SelfExclusion = "self_exclusion",
        CoolOff = "cool_off",
    }
}

/// A restriction as stored: its history is kept, lifted ones included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restriction {
    pub id: i64,
    pub user_id: UserId,
    pub kind: RestrictionKind,
    pub until: Millis,
    pub created_at: Millis,
    pub lifted_at: Option<Millis>,
}

impl Restriction {
    /// Whether it holds at `now`.
    pub fn is_active(&self, now: Millis) -> bool {
        self.lifted_at.is_none() && now < self.until
    }
}

/// The end of a new restriction, from its RFC 3339 text: a real instant after `now` and at most
/// [`MAX_RESTRICTION_MS`] later (`422 INVALID_RESTRICTION_END` otherwise).
pub fn restriction_end(until: &str, now: Millis) -> Result<Millis, DomainError> {
    let refuse = |why: &str| DomainError::new(ErrorCode::InvalidRestrictionEnd, why);
    let at = time::OffsetDateTime::parse(until, &time::format_description::well_known::Rfc3339)
        .map_err(|_| refuse("until is not an instant of the calendar"))?;
    let ms = i64::try_from(at.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| refuse("until is out of range"))?;
    if ms <= now {
        return Err(refuse("until must be in the future"));
    }
    if ms - now > MAX_RESTRICTION_MS {
        return Err(refuse("until must be at most 100 years from now"));
    }
    Ok(ms)
}

/// The refusal a restricted user hears when they try to trade.
pub fn restricted(until: Millis) -> DomainError {
    DomainError::new(
        ErrorCode::AccountRestricted,
        format!(
            "Your account is restricted until {}: you may not take or post ads",
            rfc3339(until)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_700_000_000_000;

    #[test]
    fn an_end_must_be_a_real_instant_in_the_future() {
        assert_eq!(
            restriction_end("2023-11-14T22:13:21Z", NOW),
            Ok(NOW + 1_000)
        );
        assert_eq!(
            restriction_end("2023-11-15T01:13:20.5+03:00", NOW),
            Ok(NOW + 500)
        );
        for bad in [
            "2023-11-14T22:13:20Z",
            "2023-02-30T00:00:00Z",
            "tomorrow",
            "2200-01-01T00:00:00Z",
        ] {
            assert_eq!(
                restriction_end(bad, NOW).map_err(|e| e.code),
                Err(ErrorCode::InvalidRestrictionEnd),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_restriction_ends_at_its_end_or_when_lifted() {
        let mut restriction = Restriction {
            id: 1,
            user_id: UserId(7),
            kind: RestrictionKind::CoolOff,
            until: NOW + 10,
            created_at: NOW,
            lifted_at: None,
        };
        assert!(restriction.is_active(NOW + 9));
        assert!(!restriction.is_active(NOW + 10));
        restriction.lifted_at = Some(NOW + 1);
        assert!(!restriction.is_active(NOW + 2));
    }
}
