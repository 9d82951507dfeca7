//! Text, the words of a vocabulary, and strings a pattern describes.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::domain::validate;
use crate::domain::vocabulary::Vocabulary;

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

pub(super) fn text_schema(min: usize, max: usize) -> ObjectBuilder {
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
    /// An RFC 3339 instant with seconds and an offset.
    Instant,
    validate::INSTANT_PATTERN,
    validate::instant
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

#[cfg(test)]
mod tests {
    use serde::de::DeserializeOwned;
    use serde_json::{Value, json};

    use super::*;
    use crate::domain::ad::AdType;

    fn from_json<T: DeserializeOwned>(value: Value) -> Result<T, String> {
        serde_json::from_value(value).map_err(|e| e.to_string())
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
}
