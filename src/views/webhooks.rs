//! Webhooks as the admin sees them.

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::rfc3339;
use crate::domain::webhook::{WEBHOOK_EVENTS, Webhook};

/// A webhook as the admin sees it (never its secret).
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct WebhookView {
    pub id: i64,
    pub url: String,
    pub events: Vec<&'static str>,
    /// The last event acknowledged.
    pub cursor: i64,
    pub delivered: i64,
    /// Failed attempts of the event now waiting.
    pub attempts: i64,
    pub next_attempt_at: Option<String>,
    pub last_error: Option<String>,
    pub created_at: String,
}

impl From<&Webhook> for WebhookView {
    fn from(hook: &Webhook) -> Self {
        WebhookView {
            id: hook.id,
            url: hook.url.clone(),
            events: WEBHOOK_EVENTS.map(|kind| kind.as_str()).to_vec(),
            cursor: hook.cursor,
            delivered: hook.delivered,
            attempts: hook.attempts,
            next_attempt_at: (hook.attempts > 0).then(|| rfc3339(hook.next_attempt_at)),
            last_error: hook.last_error.clone(),
            created_at: rfc3339(hook.created_at),
        }
    }
}
