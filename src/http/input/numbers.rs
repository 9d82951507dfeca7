//! Whole numbers within bounds, as JSON Schema counts them.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::{PartialSchema, ToSchema};

/// A whole number in `MIN..=MAX`, in a JSON body. A number with a zero fraction (`5.0`) is that
/// whole number, as JSON Schema counts it; a string is not a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Int<const MIN: i64, const MAX: i64>(pub i64);

/// A whole number in `MIN..=MAX`, in a query string: its decimal digits (`5` or `5.0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntParam<const MIN: i64, const MAX: i64>(pub i64);

struct IntVisitor {
    min: i64,
    max: i64,
    from_text: bool,
}

impl IntVisitor {
    fn in_range<E: de::Error>(&self, value: i128) -> Result<i64, E> {
        if (i128::from(self.min)..=i128::from(self.max)).contains(&value) {
            Ok(value as i64)
        } else {
            Err(E::custom(format!(
                "must be a whole number from {} to {}",
                self.min, self.max
            )))
        }
    }
}

/// `2^63`: the first whole `f64` no `i64` holds.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

impl Visitor<'_> for IntVisitor {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a whole number from {} to {}", self.min, self.max)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<i64, E> {
        self.in_range(i128::from(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<i64, E> {
        self.in_range(i128::from(value))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<i64, E> {
        if value.fract() != 0.0 || !(-TWO_POW_63..TWO_POW_63).contains(&value) {
            // Not whole, not finite, or beyond every bound we state.
            return Err(E::custom(format!(
                "must be a whole number from {} to {}",
                self.min, self.max
            )));
        }
        self.in_range(value as i128)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<i64, E> {
        if !self.from_text {
            return Err(E::invalid_type(de::Unexpected::Str(text), &self));
        }
        match text.parse::<i64>() {
            Ok(value) => self.visit_i64(value),
            // `5.0` is 5, `1e2` is 100; anything else is not a number.
            Err(_) => match text.parse::<f64>() {
                Ok(value)
                    if text
                        .bytes()
                        .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) =>
                {
                    self.visit_f64(value)
                }
                _ => Err(E::invalid_value(de::Unexpected::Str(text), &self)),
            },
        }
    }
}

impl<'de, const MIN: i64, const MAX: i64> Deserialize<'de> for Int<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let visitor = IntVisitor {
            min: MIN,
            max: MAX,
            from_text: false,
        };
        deserializer.deserialize_any(visitor).map(Int)
    }
}

impl<'de, const MIN: i64, const MAX: i64> Deserialize<'de> for IntParam<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let visitor = IntVisitor {
            min: MIN,
            max: MAX,
            from_text: true,
        };
        deserializer.deserialize_any(visitor).map(IntParam)
    }
}

fn integer_schema(min: i64, max: i64) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(min as isize))
        .maximum(Some(max as isize))
        .into()
}

impl<const MIN: i64, const MAX: i64> PartialSchema for Int<MIN, MAX> {
    fn schema() -> RefOr<Schema> {
        integer_schema(MIN, MAX)
    }
}

impl<const MIN: i64, const MAX: i64> ToSchema for Int<MIN, MAX> {}

impl<const MIN: i64, const MAX: i64> PartialSchema for IntParam<MIN, MAX> {
    fn schema() -> RefOr<Schema> {
        integer_schema(MIN, MAX)
    }
}

impl<const MIN: i64, const MAX: i64> ToSchema for IntParam<MIN, MAX> {}

#[cfg(test)]
mod tests {
    use serde::de::DeserializeOwned;
    use serde_json::{Value, json};

    use super::*;

    fn from_json<T: DeserializeOwned>(value: Value) -> Result<T, String> {
        serde_json::from_value(value).map_err(|e| e.to_string())
    }

    #[derive(Debug, serde::Deserialize)]
    struct Query {
        n: Option<IntParam<1, 100>>,
    }

    fn from_query(query: &str) -> Result<Option<i64>, String> {
        let uri: axum::http::Uri = format!("/?{query}").parse().unwrap();
        axum::extract::Query::<Query>::try_from_uri(&uri)
            .map(|q| q.0.n.map(|n| n.0))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn whole_numbers_are_numbers_with_no_fraction_within_the_bounds() {
        assert_eq!(from_json::<Int<1, 100>>(json!(1)), Ok(Int(1)));
        assert_eq!(from_json::<Int<1, 100>>(json!(100.0)), Ok(Int(100)));
        assert_eq!(from_json::<Int<-5, 5>>(json!(-5)), Ok(Int(-5)));
        assert!(from_json::<Int<1, 100>>(json!(0)).is_err());
        assert!(from_json::<Int<1, 100>>(json!(101)).is_err());
        assert!(from_json::<Int<1, 100>>(json!(1.5)).is_err());
        assert!(from_json::<Int<1, 100>>(json!("5")).is_err());
        assert!(from_json::<Int<1, 100>>(json!(null)).is_err());
        assert!(from_json::<Int<0, { i64::MAX }>>(json!(u64::MAX)).is_err());
        assert!(from_json::<Int<0, { i64::MAX }>>(json!(9.3e18)).is_err());
        assert_eq!(
            from_json::<Int<0, { i64::MAX }>>(json!(i64::MAX)),
            Ok(Int(i64::MAX))
        );
        assert_eq!(from_json::<Int<1, 100>>(json!(1e2)), Ok(Int(100)));
    }

    #[test]
    fn query_numbers_are_their_digits() {
        assert_eq!(from_query("n=7"), Ok(Some(7)));
        assert_eq!(from_query("n=7.0"), Ok(Some(7)));
        assert_eq!(from_query(""), Ok(None));
        for bad in [
            "n=", "n=0", "n=101", "n=7.5", "n=x", "n=inf", "n=NaN", "n=0x10",
        ] {
            assert!(from_query(bad).is_err(), "{bad}");
        }
    }
}
