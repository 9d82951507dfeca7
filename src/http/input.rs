//! Request input as the OpenAPI document describes it. Each type refuses what its schema does
//! not allow and writes that schema from the same constants (`domain::validate`, `config`), so
//! the document and the service cannot disagree: a request the document allows is never
//! refused as malformed (`400`), and one it forbids never gets through.
//!
//! Fields of these types carry `#[schema(inline)]` (or `#[param(inline)]`): their schemas are
//! small and differ by their bounds, so they are written where they are used.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde_json::{Map, Value};
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type,
};
use utoipa::openapi::{RefOr, schema::SchemaType};
use utoipa::{PartialSchema, ToSchema};

use crate::domain::validate::{self, MAX_PAYMENT_DETAIL_CHARS, MAX_PAYMENT_DETAIL_FIELDS};
use crate::domain::vocabulary::Vocabulary;

/// The API's fields, by what they hold.
pub mod fields {
    use super::{Choice, Int, IntParam, Text};
    use crate::config::MAX_PAGE_LIMIT;
    use crate::domain::Role;
    use crate::domain::ad::AdType;
    use crate::domain::order::{OrderStatus, Resolution, Side};
    use crate::domain::validate::*;
    use crate::domain::wallet::{MAX_WAGERING_MULTIPLIER, TransactionKind};
    use crate::market::SortBy;

    // Named so the OpenAPI derive sees one type (it would take `Choice<AdType>` for a generic
    // wrapper of a schema of its own).
    pub type AdTypeChoice = Choice<AdType>;
    pub type SortByChoice = Choice<SortBy>;
    pub type OrderStatusChoice = Choice<OrderStatus>;
    pub type SideChoice = Choice<Side>;
    pub type ResolutionChoice = Choice<Resolution>;
    pub type RoleChoice = Choice<Role>;
    pub type TransactionKindChoice = Choice<TransactionKind>;

    /// Kopecks: a price or an amount.
    pub type Amount = Int<1, MAX_AMOUNT_KOPECKS>;
    pub type AmountParam = IntParam<1, MAX_AMOUNT_KOPECKS>;
    /// An id in a body (ids are positive).
    pub type IdField = Int<1, { i64::MAX }>;
    pub type PageLimit = IntParam<1, MAX_PAGE_LIMIT>;
    pub type PageOffset = IntParam<0, { i64::MAX }>;
    /// Messages after this id; 0 for all.
    pub type AfterId = IntParam<0, { i64::MAX }>;
    /// The payment window; the document states the running service's smallest.
    pub type WindowSeconds = Int<1, MAX_PAYMENT_WINDOW_SECONDS>;
    pub type WageringMultiplier = Int<0, MAX_WAGERING_MULTIPLIER>;
    pub type Stars = Int<MIN_RATING, MAX_RATING>;
    pub type Name = Text<1, MAX_NAME_CHARS>;
    pub type Message = Text<1, MAX_MESSAGE_CHARS>;
    pub type Terms = Text<0, MAX_TERMS_CHARS>;
    pub type Reason = Text<0, MAX_REASON_CHARS>;
    pub type Comment = Text<0, MAX_MESSAGE_CHARS>;
    pub type Reference = Text<1, MAX_REFERENCE_CHARS>;
}

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

/// Text of at most `MAX` characters, never holding NUL; `MIN` 1 means it must hold something
/// besides whitespace, 0 that it may be blank ([`validate::text`]). Holds the text trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text<const MIN: usize, const MAX: usize>(pub String);

impl<'de, const MIN: usize, const MAX: usize> Deserialize<'de> for Text<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        validate::trimmed_text(&text, MIN, MAX)
            .map(|trimmed| Text(trimmed.to_string()))
            .map_err(de::Error::custom)
    }
}

fn text_schema(min: usize, max: usize) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(min))
        .max_length(Some(max))
        .pattern(Some(validate::text_pattern(min == 0)))
}

impl<const MIN: usize, const MAX: usize> PartialSchema for Text<MIN, MAX> {
    fn schema() -> RefOr<Schema> {
        text_schema(MIN, MAX).into()
    }
}

impl<const MIN: usize, const MAX: usize> ToSchema for Text<MIN, MAX> {}

/// Declares a string type that a domain check accepts, documented by the pattern the check
/// enforces.
macro_rules! checked_string {
    ($(#[$meta:meta])* $name:ident, $pattern:expr, $check:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(pub String);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                let check: fn(&str) -> Result<(), crate::domain::DomainError> = $check;
                check(&text)
                    .map(|()| $name(text))
                    .map_err(|e| de::Error::custom(e.message))
            }
        }

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some($pattern))
                    .into()
            }
        }

        impl ToSchema for $name {}
    };
}

checked_string!(
    /// A payment method: `[a-z0-9_]{1,32}`.
    PaymentMethod,
    validate::PAYMENT_METHOD_PATTERN,
    validate::payment_method
);

checked_string!(
    /// An ISO 4217 currency code.
    FiatCurrency,
    validate::FIAT_CURRENCY_PATTERN,
    validate::fiat_currency
);

/// A webhook's address ([`validate::WEBHOOK_URL_PATTERN`], at most 2000 characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(pub String);

impl<'de> Deserialize<'de> for WebhookUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let url = String::deserialize(deserializer)?;
        validate::webhook_url(&url)
            .map(|()| WebhookUrl(url))
            .map_err(|e| de::Error::custom(e.message))
    }
}

impl PartialSchema for WebhookUrl {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(validate::MAX_URL_CHARS))
            .pattern(Some(validate::WEBHOOK_URL_PATTERN))
            .into()
    }
}

impl ToSchema for WebhookUrl {}

/// A webhook's signing secret: 16 to 256 characters, never NUL, kept as sent.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let secret = String::deserialize(deserializer)?;
        validate::webhook_secret(&secret)
            .map(|()| Secret(secret))
            .map_err(|e| de::Error::custom(e.message))
    }
}

impl PartialSchema for Secret {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(validate::MIN_WEBHOOK_SECRET_CHARS))
            .max_length(Some(validate::MAX_WEBHOOK_SECRET_CHARS))
            .pattern(Some(validate::text_pattern(true)))
            .into()
    }
}

impl ToSchema for Secret {}

/// One of the words of a vocabulary (`buy`, `sell`…), as its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice<T>(pub T);

impl<'de, T: Vocabulary> Deserialize<'de> for Choice<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct WordVisitor<T>(PhantomData<T>);

        impl<T: Vocabulary> Visitor<'_> for WordVisitor<T> {
            type Value = T;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                let words: Vec<_> = T::words().collect();
                write!(f, "one of {}", words.join(", "))
            }

            fn visit_str<E: de::Error>(self, word: &str) -> Result<T, E> {
                T::parse(word).ok_or_else(|| E::invalid_value(de::Unexpected::Str(word), &self))
            }
        }

        deserializer
            .deserialize_str(WordVisitor(PhantomData))
            .map(Choice)
    }
}

impl<T: Vocabulary> PartialSchema for Choice<T> {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(T::words()))
            .into()
    }
}

impl<T: Vocabulary> ToSchema for Choice<T> {}

/// Payment details: up to 10 named strings, a `card_number` among them holding 12–19 digits
/// ([`validate::payment_details`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentDetails(pub Map<String, Value>);

impl<'de> Deserialize<'de> for PaymentDetails {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        validate::payment_details(&value)
            .map(PaymentDetails)
            .map_err(|e| de::Error::custom(e.message))
    }
}

fn payment_details_schema() -> ObjectBuilder {
    let name = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(validate::MAX_PAYMENT_DETAIL_NAME_CHARS))
        .pattern(Some(validate::text_pattern(true)));
    let card_number = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(validate::CARD_NUMBER_PATTERN))
        .description(Some(
            "12 to 19 digits, single spaces or dashes between them",
        ));
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .min_properties(Some(1))
        .max_properties(Some(MAX_PAYMENT_DETAIL_FIELDS))
        .property_names(Some(name))
        .property("card_number", card_number)
        .additional_properties(Some(AdditionalProperties::RefOr(
            text_schema(1, MAX_PAYMENT_DETAIL_CHARS).into(),
        )))
        .description(Some(
            "Where to send the money: named strings (the card number, the bank, the holder…)",
        ))
}

impl PartialSchema for PaymentDetails {
    fn schema() -> RefOr<Schema> {
        payment_details_schema().into()
    }
}

impl ToSchema for PaymentDetails {}

/// A sell ad's payment details: for each of its payment methods, that method's details.
#[derive(Debug, Clone, PartialEq)]
pub struct DetailsPerMethod(pub Map<String, Value>);

impl<'de> Deserialize<'de> for DetailsPerMethod {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let per_method = Map::<String, Value>::deserialize(deserializer)?;
        if per_method.len() > validate::MAX_PAYMENT_METHODS {
            return Err(de::Error::custom(format!(
                "holds the details of at most {} payment methods",
                validate::MAX_PAYMENT_METHODS
            )));
        }
        let mut checked = Map::new();
        for (method, details) in per_method {
            validate::payment_method(&method).map_err(|e| de::Error::custom(e.message))?;
            let details = validate::payment_details(&details)
                .map_err(|e| de::Error::custom(format!("{method}: {}", e.message)))?;
            checked.insert(method, Value::Object(details));
        }
        Ok(DetailsPerMethod(checked))
    }
}

impl PartialSchema for DetailsPerMethod {
    fn schema() -> RefOr<Schema> {
        let method = ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(validate::PAYMENT_METHOD_PATTERN));
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .max_properties(Some(validate::MAX_PAYMENT_METHODS))
            .property_names(Some(method))
            .additional_properties(Some(AdditionalProperties::RefOr(
                payment_details_schema().into(),
            )))
            .description(Some(
                "The details of each payment method, by method; a sell ad needs them for every \
                 method it lists",
            ))
            .into()
    }
}

impl ToSchema for DetailsPerMethod {}

/// The payment methods an ad lists: 1 to 10, each once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentMethods(pub Vec<String>);

impl<'de> Deserialize<'de> for PaymentMethods {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let methods = Vec::<String>::deserialize(deserializer)?;
        validate::payment_methods(&methods)
            .map(|()| PaymentMethods(methods))
            .map_err(|e| de::Error::custom(e.message))
    }
}

impl PartialSchema for PaymentMethods {
    fn schema() -> RefOr<Schema> {
        ArrayBuilder::new()
            .schema_type(SchemaType::Type(Type::Array))
            .items(PaymentMethod::schema())
            .min_items(Some(1))
            .max_items(Some(validate::MAX_PAYMENT_METHODS))
            .unique_items(true)
            .into()
    }
}

impl ToSchema for PaymentMethods {}

#[cfg(test)]
mod tests {
    use serde::de::DeserializeOwned;
    use serde_json::json;

    use super::*;
    use crate::domain::ad::AdType;

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

    #[test]
    fn text_is_bounded_trimmed_and_never_holds_nul() {
        assert_eq!(
            from_json::<Text<1, 5>>(json!(" hi ")),
            Ok(Text("hi".into()))
        );
        assert_eq!(from_json::<Text<0, 5>>(json!("   ")), Ok(Text("".into())));
        assert!(from_json::<Text<1, 5>>(json!("   ")).is_err());
        assert!(from_json::<Text<1, 5>>(json!("abcdef")).is_err());
        assert!(from_json::<Text<0, 5>>(json!("a\u{0}b")).is_err());
        assert!(from_json::<Text<0, 5>>(json!(5)).is_err());
    }

    #[test]
    fn words_are_one_of_the_vocabulary() {
        assert_eq!(
            from_json::<Choice<AdType>>(json!("sell")),
            Ok(Choice(AdType::Sell))
        );
        let refused = from_json::<Choice<AdType>>(json!("")).unwrap_err();
        assert!(refused.contains("one of buy, sell"), "{refused}");
        let schema = serde_json::to_value(Choice::<AdType>::schema()).unwrap();
        assert_eq!(schema["enum"], json!(["buy", "sell"]));
    }

    #[test]
    fn payment_details_are_checked_as_the_domain_checks_them() {
        let card = json!({"card_number": "2200 1234 5678 9012"});
        assert!(from_json::<PaymentDetails>(card.clone()).is_ok());
        assert!(from_json::<PaymentDetails>(json!(null)).is_err());
        assert!(from_json::<PaymentDetails>(json!({"bank": "\u{0}"})).is_err());
        assert!(from_json::<PaymentDetails>(json!({"\u{0}": "x"})).is_err());
        assert!(from_json::<DetailsPerMethod>(json!({"card": card})).is_ok());
        assert!(from_json::<DetailsPerMethod>(json!({"Card": {"bank": "x"}})).is_err());
        assert!(from_json::<PaymentMethods>(json!(["card", "card"])).is_err());
        assert!(from_json::<PaymentMethods>(json!([])).is_err());
    }
}
