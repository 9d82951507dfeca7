//! Parsing of untrusted input into the shapes the rules accept (SPEC.md §2).

use serde_json::{Map, Value};

use super::error::DomainError;
use super::money::Kopecks;

/// The largest amount accepted anywhere: 10^13 kopecks (100 billion RUB). Sums of many such
/// amounts still fit an `i64`.
pub const MAX_AMOUNT_KOPECKS: i64 = 10_000_000_000_000;
pub const MAX_PAYMENT_DETAIL_FIELDS: usize = 10;
pub const MAX_PAYMENT_DETAIL_CHARS: usize = 200;
pub const MAX_PAYMENT_METHODS: usize = 10;
pub const MAX_MESSAGE_CHARS: usize = 2000;
pub const MAX_TERMS_CHARS: usize = 2000;
pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_REASON_CHARS: usize = 2000;
pub const MAX_REFERENCE_CHARS: usize = 128;
pub const MAX_PAYMENT_WINDOW_SECONDS: i64 = 24 * 3600;

pub fn amount(field: &str, value: i64) -> Result<Kopecks, DomainError> {
    if value <= 0 || value > MAX_AMOUNT_KOPECKS {
        return Err(DomainError::validation(format!(
            "{field} must be a whole number of kopecks between 1 and {MAX_AMOUNT_KOPECKS}"
        )));
    }
    Ok(Kopecks(value))
}

pub fn payment_method(value: &str) -> Result<(), DomainError> {
    let ok = (1..=32).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(DomainError::validation(
            "payment_method must match [a-z0-9_]{1,32}",
        ))
    }
}

pub fn payment_methods(values: &[String]) -> Result<(), DomainError> {
    if values.is_empty() || values.len() > MAX_PAYMENT_METHODS {
        return Err(DomainError::validation(format!(
            "payment_methods must list 1 to {MAX_PAYMENT_METHODS} methods"
        )));
    }
    for (i, method) in values.iter().enumerate() {
        payment_method(method)?;
        if values[..i].contains(method) {
            return Err(DomainError::validation("payment_methods must not repeat"));
        }
    }
    Ok(())
}

pub fn fiat_currency(value: &str) -> Result<(), DomainError> {
    if value.len() == 3 && value.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(DomainError::validation(
            "fiat_currency must be an ISO 4217 code such as RUB",
        ))
    }
}

/// Payment details: an object of at most 10 string fields of at most 200 characters; a
/// `card_number` holds 12–19 digits, with single spaces or dashes allowed between them.
pub fn payment_details(value: &Value) -> Result<Map<String, Value>, DomainError> {
    let Value::Object(fields) = value else {
        return Err(DomainError::validation("payment_details must be an object"));
    };
    if fields.is_empty() || fields.len() > MAX_PAYMENT_DETAIL_FIELDS {
        return Err(DomainError::validation(format!(
            "payment_details must have 1 to {MAX_PAYMENT_DETAIL_FIELDS} fields"
        )));
    }
    for (name, field) in fields {
        if name.is_empty() || name.chars().count() > 64 {
            return Err(DomainError::validation(
                "payment_details field names must be 1 to 64 characters",
            ));
        }
        let Value::String(text) = field else {
            return Err(DomainError::validation(format!(
                "payment_details.{name} must be a string"
            )));
        };
        if text.trim().is_empty() || text.chars().count() > MAX_PAYMENT_DETAIL_CHARS {
            return Err(DomainError::validation(format!(
                "payment_details.{name} must be 1 to {MAX_PAYMENT_DETAIL_CHARS} characters"
            )));
        }
        if name == "card_number" && !is_card_number(text) {
            return Err(DomainError::validation(
                "payment_details.card_number must hold 12 to 19 digits",
            ));
        }
    }
    Ok(fields.clone())
}

fn is_card_number(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = bytes.iter().filter(|b| b.is_ascii_digit()).count();
    let separators_between_digits = bytes.iter().enumerate().all(|(i, b)| {
        b.is_ascii_digit()
            || ((*b == b' ' || *b == b'-')
                && i > 0
                && i + 1 < bytes.len()
                && bytes[i - 1].is_ascii_digit()
                && bytes[i + 1].is_ascii_digit())
    });
    (12..=19).contains(&digits) && separators_between_digits
}

/// Hides all but the first four and last four digits of anything that looks like a card number,
/// for logs and other places that must never show one in full.
pub fn mask_card_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        let mut end = i;
        let mut digits = 0;
        while end < chars.len() {
            if chars[end].is_ascii_digit() {
                digits += 1;
                end += 1;
            } else if (chars[end] == ' ' || chars[end] == '-')
                && chars.get(end + 1).is_some_and(char::is_ascii_digit)
            {
                end += 1;
            } else {
                break;
            }
        }
        let run = &chars[start..end];
        if digits >= 12 {
            let mut seen = 0;
            for c in run {
                if c.is_ascii_digit() {
                    seen += 1;
                    out.push(if seen <= 4 || seen > digits - 4 {
                        *c
                    } else {
                        '*'
                    });
                } else {
                    out.push(*c);
                }
            }
        } else {
            out.extend(run);
        }
        i = end;
    }
    out
}

/// Text of `min..=max` characters, after trimming.
pub fn text(field: &str, value: &str, min: usize, max: usize) -> Result<String, DomainError> {
    let trimmed = value.trim();
    let count = trimmed.chars().count();
    if count < min || count > max {
        return Err(DomainError::validation(format!(
            "{field} must be {min} to {max} characters"
        )));
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn card_numbers_allow_spaces_and_dashes_between_digits() {
        assert!(is_card_number("2200 1234 5678 9012"));
        assert!(is_card_number("2200-1234-5678-9012"));
        assert!(is_card_number("220012345678"));
        assert!(!is_card_number("2200 1234 567"));
        assert!(!is_card_number(" 2200123456789012"));
        assert!(!is_card_number("2200  1234 5678 9012"));
        assert!(!is_card_number("2200123456789012345678"));
        assert!(!is_card_number("2200x1234y5678z9012"));
    }

    #[test]
    fn payment_details_are_small_objects_of_strings() {
        assert!(payment_details(&json!({"card_number": "2200 1234 5678 9012"})).is_ok());
        assert!(payment_details(&json!({"phone": "+7 900 000-00-00", "bank": "Tinkoff"})).is_ok());
        assert!(payment_details(&json!("2200 1234 5678 9012")).is_err());
        assert!(payment_details(&json!({})).is_err());
        assert!(payment_details(&json!({"card_number": 2200123456789012u64})).is_err());
        assert!(payment_details(&json!({"card_number": "12"})).is_err());
        assert!(payment_details(&json!({"note": "x".repeat(201)})).is_err());
        let eleven: Map<String, Value> = (0..11).map(|i| (format!("f{i}"), json!("v"))).collect();
        assert!(payment_details(&Value::Object(eleven)).is_err());
    }

    #[test]
    fn payment_methods_are_lowercase_identifiers() {
        assert!(payment_method("bank_transfer").is_ok());
        assert!(payment_method("Card").is_err());
        assert!(payment_method("").is_err());
        assert!(payment_method(&"a".repeat(33)).is_err());
        assert!(payment_methods(&["card".into(), "card".into()]).is_err());
    }

    #[test]
    fn amounts_are_positive_and_bounded() {
        assert!(amount("usdt_amount", 1).is_ok());
        assert!(amount("usdt_amount", 0).is_err());
        assert!(amount("usdt_amount", -5).is_err());
        assert!(amount("usdt_amount", MAX_AMOUNT_KOPECKS + 1).is_err());
    }

    #[test]
    fn masking_keeps_only_the_ends_of_card_numbers() {
        assert_eq!(
            mask_card_numbers("card 2200 1234 5678 9012, order 42"),
            "card 2200 **** **** 9012, order 42"
        );
        assert_eq!(mask_card_numbers("2200123456789012"), "2200********9012");
        assert_eq!(mask_card_numbers("amount 300000"), "amount 300000");
    }
}
