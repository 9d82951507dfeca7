//! Counterparty requirements: whom a maker trades with. An ad may ask its takers for a number of
//! completed orders, an account of some age and a 30-day completion rate; a taker short of any is
//! refused before anything is held (§7, after the payment method).

use serde_json::{Map, Value, json};

use super::error::{DomainError, ErrorCode};
use super::time::Millis;
use super::track::DAY_MS;
use super::user::User;

/// The most completed orders a requirement may ask for.
pub const MAX_COMPLETED_ORDERS: i64 = 1_000_000;
/// The oldest account a requirement may ask for, in days (ten years).
pub const MAX_ACCOUNT_AGE_DAYS: i64 = 3_650;
/// A completion rate is in basis points: 10,000 is 100 %.
pub const MAX_COMPLETION_RATE_BP: i64 = 10_000;

/// What an ad asks of its takers; each bound is optional, none means anyone may take.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Requirements {
    /// Completed orders in all, as the taker's `orders_count` shows.
    pub min_completed_orders: Option<i64>,
    /// Whole days since the taker's account was made.
    pub min_account_age_days: Option<i64>,
    /// The taker's `completion_rate_30d`; a taker without one (no order ended in the window)
    /// falls short of any bound above 0.
    pub min_completion_rate_bp: Option<i64>,
}

/// What a taker brings to an ad's requirements at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub completed_orders: i64,
    pub account_age_days: i64,
    pub completion_rate_bp: Option<i64>,
}

impl Standing {
    /// `user`'s standing at `now`.
    pub fn of(user: &User, now: Millis) -> Self {
        Self {
            completed_orders: user.orders_count,
            account_age_days: (now - user.created_at).max(0) / DAY_MS,
            completion_rate_bp: user.track.summary(now).completion_rate_bp,
        }
    }
}

/// One bound a taker falls short of: the field, what it asks and what the taker has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unmet {
    pub field: &'static str,
    pub required: i64,
    pub actual: Option<i64>,
}

impl Requirements {
    /// Checks each bound's range; `field` names the object in messages.
    pub fn validated(self, field: &str) -> Result<Self, DomainError> {
        let bounds = [
            (
                "min_completed_orders",
                self.min_completed_orders,
                MAX_COMPLETED_ORDERS,
            ),
            (
                "min_account_age_days",
                self.min_account_age_days,
                MAX_ACCOUNT_AGE_DAYS,
            ),
            (
                "min_completion_rate_bp",
                self.min_completion_rate_bp,
                MAX_COMPLETION_RATE_BP,
            ),
        ];
        for (name, value, max) in bounds {
            if value.is_some_and(|value| !(0..=max).contains(&value)) {
                return Err(DomainError::validation(format!(
                    "{field}.{name} must be between 0 and {max}"
                )));
            }
        }
        Ok(self)
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The bounds `standing` falls short of, in the order the fields are listed.
    pub fn unmet(&self, standing: &Standing) -> Vec<Unmet> {
        let mut unmet = Vec::new();
        let mut check = |field, required: Option<i64>, actual: Option<i64>| {
            if let Some(required) = required
                && actual.is_none_or(|actual| actual < required)
                && required > 0
            {
                unmet.push(Unmet {
                    field,
                    required,
                    actual,
                });
            }
        };
        check(
            "min_completed_orders",
            self.min_completed_orders,
            Some(standing.completed_orders),
        );
        check(
            "min_account_age_days",
            self.min_account_age_days,
            Some(standing.account_age_days),
        );
        check(
            "min_completion_rate_bp",
            self.min_completion_rate_bp,
            standing.completion_rate_bp,
        );
        unmet
    }

    /// Whether `standing` meets every bound.
    pub fn met_by(&self, standing: &Standing) -> bool {
        self.unmet(standing).is_empty()
    }

    /// The refusal of a taker with `standing`, naming each unmet bound in its details:
    /// `{"min_completed_orders": {"required": 10, "actual": 3}, …}`.
    pub fn refusal(&self, standing: &Standing) -> DomainError {
        let unmet = self.unmet(standing);
        let names: Vec<&str> = unmet.iter().map(|u| u.field).collect();
        let details: Map<String, Value> = unmet
            .iter()
            .map(|u| {
                let bound = json!({"required": u.required, "actual": u.actual});
                (u.field.to_owned(), bound)
            })
            .collect();
        let message = format!(
            "You do not meet this ad's counterparty requirements: {}",
            names.join(", ")
        );
        DomainError::new(ErrorCode::CounterpartyRequirementsNotMet, message)
            .with_details(Value::Object(details))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standing(completed_orders: i64, account_age_days: i64, rate: Option<i64>) -> Standing {
        Standing {
            completed_orders,
            account_age_days,
            completion_rate_bp: rate,
        }
    }

    fn asks(orders: i64, days: i64, rate: i64) -> Requirements {
        Requirements {
            min_completed_orders: Some(orders),
            min_account_age_days: Some(days),
            min_completion_rate_bp: Some(rate),
        }
    }

    #[test]
    fn each_bound_is_met_at_its_value_and_unmet_one_below() {
        let ask = asks(10, 30, 9_000);
        assert!(ask.met_by(&standing(10, 30, Some(9_000))));
        let fields = |s: Standing| -> Vec<&str> { ask.unmet(&s).iter().map(|u| u.field).collect() };
        assert_eq!(
            fields(standing(9, 30, Some(9_000))),
            ["min_completed_orders"]
        );
        assert_eq!(
            fields(standing(10, 29, Some(9_000))),
            ["min_account_age_days"]
        );
        assert_eq!(
            fields(standing(10, 30, Some(8_999))),
            ["min_completion_rate_bp"]
        );
        assert_eq!(fields(standing(0, 0, None)).len(), 3);
    }

    #[test]
    fn no_bound_and_zero_bounds_let_anyone_take() {
        assert!(Requirements::default().met_by(&standing(0, 0, None)));
        assert!(asks(0, 0, 0).met_by(&standing(0, 0, None)));
    }

    #[test]
    fn a_taker_without_a_rate_falls_short_of_any_rate_above_zero() {
        let ask = Requirements {
            min_completion_rate_bp: Some(1),
            ..Requirements::default()
        };
        assert_eq!(
            ask.unmet(&standing(5, 5, None)),
            [Unmet {
                field: "min_completion_rate_bp",
                required: 1,
                actual: None
            }]
        );
    }

    #[test]
    fn the_refusal_names_each_unmet_bound_in_its_details() {
        let refusal = asks(10, 30, 9_000).refusal(&standing(3, 30, None));
        assert_eq!(refusal.code, ErrorCode::CounterpartyRequirementsNotMet);
        assert_eq!(
            refusal.details,
            Some(json!({
                "min_completed_orders": {"required": 10, "actual": 3},
                "min_completion_rate_bp": {"required": 9000, "actual": null},
            }))
        );
        assert!(
            refusal
                .message
                .contains("min_completed_orders, min_completion_rate_bp")
        );
    }

    #[test]
    fn bounds_out_of_range_are_refused() {
        assert!(asks(0, 0, 10_000).validated("requirements").is_ok());
        assert!(asks(-1, 0, 0).validated("requirements").is_err());
        assert!(asks(0, 3_651, 0).validated("requirements").is_err());
        assert!(asks(0, 0, 10_001).validated("requirements").is_err());
    }

    #[test]
    fn account_age_counts_whole_days() {
        let user = User {
            id: crate::domain::UserId(1),
            name: "taker".into(),
            role: crate::domain::Role::User,
            rating_sum: 0,
            ratings_count: 0,
            orders_count: 0,
            track: Default::default(),
            created_at: 1_000,
        };
        assert_eq!(Standing::of(&user, 1_000 + DAY_MS - 1).account_age_days, 0);
        assert_eq!(Standing::of(&user, 1_000 + DAY_MS).account_age_days, 1);
        assert_eq!(Standing::of(&user, 0).account_age_days, 0);
    }
}
