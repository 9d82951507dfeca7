//! A user's saved payment methods, and how a card number is shown to those who may not see it.

use serde_json::{Map, Value};

use super::ids::UserId;
use super::time::Millis;
use super::validate::mask_card_numbers;

/// The most payment methods one user keeps.
pub const MAX_SAVED_METHODS: i64 = 20;

/// The longest label of a saved method.
pub const MAX_LABEL_CHARS: usize = 64;

/// A saved payment method: its details are checked as inline details are.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedMethod {
    pub id: i64,
    pub user_id: UserId,
    pub method: String,
    pub details: Map<String, Value>,
    pub label: String,
    pub created_at: Millis,
}

/// Payment details with every card number masked to its first and last four digits
/// (`2200 **** **** 9012`): what anyone but an order's parties and operators is shown.
pub fn masked(details: &Map<String, Value>) -> Map<String, Value> {
    details
        .iter()
        .map(|(name, value)| {
            let shown = match value {
                Value::String(text) if name == "card_number" => {
                    Value::String(mask_card_numbers(text))
                }
                other => other.clone(),
            };
            (name.clone(), shown)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_and_last_four_digits_of_a_card_show() {
        let mut details = Map::new();
        details.insert("card_number".into(), "2200 1234 5678 9012".into());
        details.insert("holder".into(), "I. Petrov".into());
        let shown = masked(&details);
        assert_eq!(shown["card_number"], "2200 **** **** 9012");
        assert_eq!(shown["holder"], "I. Petrov");
    }
}
