//! Parsing of untrusted input into the shapes the rules accept (SPEC.md §2).
//!
//! Each rule is written once, here, as data the OpenAPI document can state (a bound, a length,
//! a pattern) and the check that enforces it; the HTTP edge describes its input with the same
//! constants, so the document and the service cannot disagree about what is valid. Every rule
//! is about the text or number itself, never about where it will be stored: the same input has
//! the same fate on SQLite and on PostgreSQL (PostgreSQL's text cannot hold NUL, so no text
//! may).

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use super::error::DomainError;
use super::money::Kopecks;

/// The largest amount accepted anywhere: 10^13 kopecks (100 billion RUB). Sums of many such
/// amounts still fit an `i64`.
pub const MAX_AMOUNT_KOPECKS: i64 = 10_000_000_000_000;
pub const MAX_PAYMENT_DETAIL_FIELDS: usize = 10;
pub const MAX_PAYMENT_DETAIL_NAME_CHARS: usize = 64;
pub const MAX_PAYMENT_DETAIL_CHARS: usize = 200;
pub const MAX_PAYMENT_METHODS: usize = 10;
pub const MAX_MESSAGE_CHARS: usize = 2000;
pub const MAX_TERMS_CHARS: usize = 2000;
pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_REASON_CHARS: usize = 2000;
pub const MAX_REFERENCE_CHARS: usize = 128;
pub const MAX_PAYMENT_WINDOW_SECONDS: i64 = 24 * 3600;
/// A rating's stars.
pub const MIN_RATING: i64 = 1;
pub const MAX_RATING: i64 = 5;
pub const MIN_WEBHOOK_SECRET_CHARS: usize = 16;
pub const MAX_WEBHOOK_SECRET_CHARS: usize = 256;
pub const MAX_URL_CHARS: usize = 2000;

/// A payment method: a lowercase identifier.
pub const PAYMENT_METHOD_PATTERN: &str = "^[a-z0-9_]{1,32}$";
/// A currency: an ISO 4217 code.
pub const FIAT_CURRENCY_PATTERN: &str = "^[A-Z]{3}$";
/// An RFC 3339 instant with seconds and an offset (`2027-01-31T18:00:00Z`).
pub const INSTANT_PATTERN: &str = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$";
/// A card number: 12–19 digits, single spaces or dashes allowed between them.
pub const CARD_NUMBER_PATTERN: &str = "^[0-9](?:[ -]?[0-9]){11,18}$";
/// A webhook's address: `http://` or `https://`, a host that is a DNS name (its last label
/// starting with a letter) or a dotted IPv4 address, an optional port, then printable ASCII.
/// Every URL it matches parses, so the pattern is the whole rule.
pub const WEBHOOK_URL_PATTERN: &str = concat!(
    "^https?://",
    "(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(?:[.](?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}",
    "|(?:[A-Za-z0-9](?:-?[A-Za-z0-9])*[.])*[A-Za-z](?:-?[A-Za-z0-9])*)",
    "(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?",
    "(?:[/?#][!-~]*)?$",
);

/// What trimming takes off the ends of text: Unicode's White_Space characters, exactly those
/// `char::is_whitespace` accepts, listed so the document can spell the same set.
pub const WHITESPACE: [char; 25] = [
    '\t', '\n', '\u{0B}', '\u{0C}', '\r', ' ', '\u{85}', '\u{A0}', '\u{1680}', '\u{2000}',
    '\u{2001}', '\u{2002}', '\u{2003}', '\u{2004}', '\u{2005}', '\u{2006}', '\u{2007}', '\u{2008}',
    '\u{2009}', '\u{200A}', '\u{2028}', '\u{2029}', '\u{202F}', '\u{205F}', '\u{3000}',
];

/// The pattern of text that may be blank (`blank_allowed`) or must hold something besides
/// whitespace; no text may hold NUL.
pub fn text_pattern(blank_allowed: bool) -> String {
    if blank_allowed {
        return r"^[^\u0000]*$".into();
    }
    let spaces: String = WHITESPACE
        .iter()
        .map(|c| format!("\\u{:04x}", u32::from(*c)))
        .collect();
    format!(r"^[^\u0000]*[^\u0000{spaces}][^\u0000]*$")
}

fn pattern(source: &'static str) -> Regex {
    // The patterns are constants of this module, checked by its tests.
    Regex::new(source).expect("a valid pattern")
}

static PAYMENT_METHOD: LazyLock<Regex> = LazyLock::new(|| pattern(PAYMENT_METHOD_PATTERN));
static FIAT_CURRENCY: LazyLock<Regex> = LazyLock::new(|| pattern(FIAT_CURRENCY_PATTERN));
static INSTANT: LazyLock<Regex> = LazyLock::new(|| pattern(INSTANT_PATTERN));
static CARD_NUMBER: LazyLock<Regex> = LazyLock::new(|| pattern(CARD_NUMBER_PATTERN));
static WEBHOOK_URL: LazyLock<Regex> = LazyLock::new(|| pattern(WEBHOOK_URL_PATTERN));

pub fn amount(field: &str, value: i64) -> Result<Kopecks, DomainError> {
    if value <= 0 || value > MAX_AMOUNT_KOPECKS {
        return Err(DomainError::validation(format!(
            "{field} must be a whole number of kopecks between 1 and {MAX_AMOUNT_KOPECKS}"
        )));
    }
    Ok(Kopecks(value))
}

/// An instant written as [`INSTANT_PATTERN`] says (whether it names a real date is the rule's
/// to judge).
pub fn instant(value: &str) -> Result<(), DomainError> {
    if INSTANT.is_match(value) {
        Ok(())
    } else {
        Err(DomainError::validation(
            "until must be an RFC 3339 instant such as 2027-01-31T18:00:00Z",
        ))
    }
}

pub fn payment_method(value: &str) -> Result<(), DomainError> {
    if PAYMENT_METHOD.is_match(value) {
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
    if FIAT_CURRENCY.is_match(value) {
        Ok(())
    } else {
        Err(DomainError::validation(
            "fiat_currency must be an ISO 4217 code such as RUB",
        ))
    }
}

/// A webhook's address ([`WEBHOOK_URL_PATTERN`], at most 2000 characters).
pub fn webhook_url(url: &str) -> Result<(), DomainError> {
    if url.len() <= MAX_URL_CHARS && WEBHOOK_URL.is_match(url) {
        Ok(())
    } else {
        Err(DomainError::validation(
            "url must be an http:// or https:// URL with a DNS name or IPv4 address for host, at most 2000 characters",
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
        if name.is_empty()
            || name.contains('\0')
            || name.chars().count() > MAX_PAYMENT_DETAIL_NAME_CHARS
        {
            return Err(DomainError::validation(format!(
                "payment_details field names must be 1 to {MAX_PAYMENT_DETAIL_NAME_CHARS} characters, without NUL"
            )));
        }
        let Value::String(value) = field else {
            return Err(DomainError::validation(format!(
                "payment_details.{name} must be a string"
            )));
        };
        text(
            &format!("payment_details.{name}"),
            value,
            1,
            MAX_PAYMENT_DETAIL_CHARS,
        )?;
        if name == "card_number" && !is_card_number(value) {
            return Err(DomainError::validation(
                "payment_details.card_number must hold 12 to 19 digits",
            ));
        }
    }
    Ok(fields.clone())
}

fn is_card_number(text: &str) -> bool {
    CARD_NUMBER.is_match(text)
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

/// Text of at most `max` characters, without NUL; blank (nothing but whitespace) only if `min`
/// is 0. Answers it trimmed. `min` is 0 or 1: whitespace around text is not counted as text,
/// and JSON Schema can say "holds a character besides whitespace" but not "holds two".
pub fn text(field: &str, value: &str, min: usize, max: usize) -> Result<String, DomainError> {
    trimmed_text(value, min, max)
        .map(str::to_string)
        .map_err(|problem| DomainError::validation(format!("{field} {problem}")))
}

/// [`text`]'s rule: the text trimmed, or what is wrong with it ("must not be blank").
pub fn trimmed_text(value: &str, min: usize, max: usize) -> Result<&str, String> {
    debug_assert!(min <= 1, "a text's minimum is 0 or 1");
    if value.contains('\0') {
        return Err("must not contain the NUL character".into());
    }
    if value.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    let trimmed = value.trim_matches(WHITESPACE);
    if min > 0 && trimmed.is_empty() {
        return Err("must not be blank".into());
    }
    Ok(trimmed)
}

/// A webhook's signing secret: 16 to 256 characters, never NUL, kept as sent.
pub fn webhook_secret(secret: &str) -> Result<(), DomainError> {
    let chars = secret.chars().count();
    if (MIN_WEBHOOK_SECRET_CHARS..=MAX_WEBHOOK_SECRET_CHARS).contains(&chars)
        && !secret.contains('\0')
    {
        Ok(())
    } else {
        Err(DomainError::validation(format!(
            "secret must be {MIN_WEBHOOK_SECRET_CHARS} to {MAX_WEBHOOK_SECRET_CHARS} characters, without NUL"
        )))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    #[test]
    fn whitespace_is_what_rust_trims() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(
                WHITESPACE.contains(&c),
                c.is_whitespace(),
                "{:#x}",
                u32::from(c)
            );
        }
    }

    /// A whole-text pattern without its anchors, for generating text from it.
    fn unanchored(pattern: &str) -> &str {
        pattern.trim_start_matches('^').trim_end_matches('$')
    }

    /// Text made mostly of the characters the rules look at: whitespace, NUL, letters.
    fn tricky_text() -> impl Strategy<Value = String> {
        let interesting = prop_oneof![
            proptest::sample::select(WHITESPACE.to_vec()),
            Just('\0'),
            Just('a'),
            Just('\u{FEFF}'),
            any::<char>(),
        ];
        proptest::collection::vec(interesting, 0..8).prop_map(|chars| chars.into_iter().collect())
    }

    proptest! {
        /// The document's text patterns accept exactly what `text` accepts.
        #[test]
        fn text_patterns_say_what_text_checks(value in tricky_text()) {
            for (min, blank_allowed) in [(0, true), (1, false)] {
                let pattern = Regex::new(&text_pattern(blank_allowed)).unwrap();
                prop_assert_eq!(
                    text("field", &value, min, 100).is_ok(),
                    pattern.is_match(&value),
                    "{:?} with min {}", value, min
                );
            }
        }

        /// Every address the webhook pattern matches is a URL with a host.
        #[test]
        fn every_webhook_url_the_pattern_matches_parses(
            url in proptest::string::string_regex(unanchored(WEBHOOK_URL_PATTERN)).unwrap()
        ) {
            prop_assume!(url.len() <= MAX_URL_CHARS);
            prop_assert!(webhook_url(&url).is_ok());
            let parsed = reqwest::Url::parse(&url);
            prop_assert!(parsed.as_ref().is_ok_and(|u| u.host_str().is_some()), "{:?}: {:?}", url, parsed);
        }

        /// Card numbers are what the pattern says, whatever digits and separators.
        #[test]
        fn card_numbers_are_twelve_to_nineteen_separated_digits(
            digits in proptest::collection::vec(0..10u8, 1..24),
            separators in proptest::collection::vec(prop_oneof![Just(""), Just(" "), Just("-"), Just("  ")], 24),
        ) {
            let mut number = String::new();
            for (i, digit) in digits.iter().enumerate() {
                if i > 0 {
                    number.push_str(separators[i]);
                }
                number.push(char::from(b'0' + digit));
            }
            let single_separators = separators[1..digits.len()].iter().all(|s| s.len() <= 1);
            prop_assert_eq!(
                is_card_number(&number),
                (12..=19).contains(&digits.len()) && single_separators
            );
        }
    }

    #[test]
    fn webhook_urls_are_http_with_a_real_host() {
        for ok in [
            "http://127.0.0.1:9/hook",
            "https://platform.example.com/p2p/events?x=1",
            "http://localhost:18080",
            "https://a-b.c0/",
        ] {
            assert!(webhook_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ftp://example.com",
            "http://",
            "http://1.2.3.4.5/",
            "http://256.1.1.1",
            "http://example.com:65536",
            "http://example.123",
            "http://exa mple.com",
            "http://ex--ample.com",
            "https://example.com/\u{0}",
            "https://пример.рф",
        ] {
            assert!(webhook_url(bad).is_err(), "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_CHARS));
        assert!(webhook_url(&long).is_err());
    }

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
