//! JSON objects (payment details) as the store keeps them: text, on both databases.

use serde_json::{Map, Value};

/// An object as stored text.
pub(crate) fn text(map: &Map<String, Value>) -> String {
    Value::Object(map.clone()).to_string()
}

/// A stored text as an object (`None` for anything else).
pub(crate) fn object(text: Option<String>) -> Option<Map<String, Value>> {
    match serde_json::from_str(&text?) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}
