//! Payment methods and payment details.

use serde::de::{self, Deserialize, Deserializer};
use serde_json::{Map, Value};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type,
};
use utoipa::{PartialSchema, ToSchema};

use super::text::{PaymentMethod, text_schema};
use crate::domain::validate::{self, MAX_PAYMENT_DETAIL_CHARS, MAX_PAYMENT_DETAIL_FIELDS};

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

    fn from_json<T: DeserializeOwned>(value: Value) -> Result<T, String> {
        serde_json::from_value(value).map_err(|e| e.to_string())
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
