//! Webhooks to the platform: each finished order (completed, cancelled, expired, resolved) is
//! POSTed, signed, to every registered URL, in order, until acknowledged.
//!
//! Delivery state lives in the database: a webhook's cursor is the last event it acknowledged,
//! and a failed delivery waits (doubling each time, up to an hour) before the same event is tried
//! again. A node leases a webhook while it delivers, so several nodes never send one event twice
//! at once; a restart loses nothing, at worst it sends the event in flight again, and receivers
//! de-duplicate by the event's id (at-least-once delivery).

use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use super::service::Market;
use crate::config::{
    WEBHOOK_BACKOFF_MAX_MS, WEBHOOK_EVENTS_PER_LEASE, WEBHOOK_LEASE_MS, WEBHOOK_TIMEOUT,
};
use crate::domain::event::Event;
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::validate;
use crate::domain::webhook::WEBHOOK_EVENTS;
use crate::domain::webhook::Webhook;
use crate::domain::{DomainError, ErrorCode, Millis, rfc3339};
use crate::store::{Commit, Op, WebhookFailure};
use crate::telemetry;
use crate::views::WebhookView;

/// The header carrying `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" under the secret>`.
pub const SIGNATURE_HEADER: &str = "x-p2p-signature";
/// The header carrying the Unix time (seconds) the signature covers.
pub const TIMESTAMP_HEADER: &str = "x-p2p-timestamp";
/// The header carrying the event's id, for de-duplication.
pub const EVENT_ID_HEADER: &str = "x-p2p-event-id";

/// `sha256=<hex>`: the signature of `body` sent at `timestamp` (Unix seconds).
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any size");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// How long to wait after the `attempts`-th failure in a row.
pub fn backoff_ms(base_ms: i64, attempts: i64) -> i64 {
    let doublings = attempts.saturating_sub(1).clamp(0, 40) as u32;
    base_ms
        .max(1)
        .saturating_mul(1_i64 << doublings)
        .min(WEBHOOK_BACKOFF_MAX_MS)
}

impl Market {
    pub async fn add_webhook(
        &self,
        url: &str,
        secret: &str,
        key: Option<IdempotencyKey>,
    ) -> Result<WebhookView, DomainError> {
        validate::webhook_url(url)?;
        validate::webhook_secret(secret)?;
        let receipt = self
            .store()
            .commit(
                Commit::new(vec![Op::InsertWebhook {
                    url: url.to_owned(),
                    secret: secret.to_owned(),
                    now: self.now_ms(),
                }])
                .keyed(key),
            )
            .await?;
        let id = receipt.first_id();
        self.webhooks()
            .await?
            .into_iter()
            .find(|hook| hook.id == id)
            .ok_or_else(|| ErrorCode::Internal.into())
    }

    pub async fn webhooks(&self) -> Result<Vec<WebhookView>, DomainError> {
        Ok(self
            .store()
            .webhooks()
            .await?
            .iter()
            .map(WebhookView::from)
            .collect())
    }

    pub async fn delete_webhook(&self, id: i64) -> Result<(), DomainError> {
        self.store()
            .commit(Commit::new(vec![Op::DeleteWebhook {
                id,
                now: self.now_ms(),
            }]))
            .await?;
        Ok(())
    }

    /// One round of delivery: every webhook that is due and has events waiting gets them, in
    /// order, until one fails.
    pub async fn deliver_webhooks(&self, client: &reqwest::Client) -> Result<(), DomainError> {
        let store = self.store();
        for hook in store.webhooks().await? {
            let now = self.now_ms();
            if hook.next_attempt_at > now || hook.lease_until > now {
                continue;
            }
            let events = store
                .events_of_kinds(&WEBHOOK_EVENTS, hook.cursor, WEBHOOK_EVENTS_PER_LEASE)
                .await?;
            if events.is_empty() {
                continue;
            }
            let lease = Op::LeaseWebhook {
                id: hook.id,
                until: now + WEBHOOK_LEASE_MS,
                now,
            };
            if store.commit(Commit::new(vec![lease])).await.is_err() {
                continue; // Another node holds it, or it just failed.
            }
            self.deliver_to(client, &hook, events).await?;
        }
        Ok(())
    }

    async fn deliver_to(
        &self,
        client: &reqwest::Client,
        hook: &Webhook,
        events: Vec<Event>,
    ) -> Result<(), DomainError> {
        let store = self.store();
        for event in events {
            match post(client, hook, &event, self.now_ms()).await {
                Ok(()) => {
                    metrics::counter!(telemetry::WEBHOOK_DELIVERIES, "outcome" => "delivered")
                        .increment(1);
                    store
                        .commit(Commit::new(vec![Op::WebhookDelivered {
                            id: hook.id,
                            cursor: event.id,
                        }]))
                        .await?;
                }
                Err(error) => {
                    metrics::counter!(telemetry::WEBHOOK_DELIVERIES, "outcome" => "failed")
                        .increment(1);
                    let attempts = hook.attempts + 1;
                    let wait = backoff_ms(self.context.config.webhook_backoff_ms, attempts);
                    tracing::warn!(
                        webhook_id = hook.id,
                        event_id = event.id,
                        attempts,
                        %error,
                        "webhook delivery failed"
                    );
                    store
                        .commit(Commit::new(vec![Op::WebhookFailed(WebhookFailure {
                            id: hook.id,
                            attempts,
                            next_attempt_at: self.now_ms() + wait,
                            error,
                        })]))
                        .await?;
                    return Ok(());
                }
            }
        }
        store
            .commit(Commit::new(vec![Op::EndWebhookLease { id: hook.id }]))
            .await?;
        Ok(())
    }
}

/// POSTs one event; `Err` says why it was not acknowledged.
async fn post(
    client: &reqwest::Client,
    hook: &Webhook,
    event: &Event,
    now: Millis,
) -> Result<(), String> {
    let body = json!({
        "id": event.id,
        "type": event.kind.as_str(),
        "created_at": rfc3339(event.created_at),
        "data": crate::views::event_data(event),
    })
    .to_string();
    let timestamp = now / 1000;
    let response = client
        .post(&hook.url)
        .timeout(WEBHOOK_TIMEOUT)
        .header("content-type", "application/json")
        .header(EVENT_ID_HEADER, event.id)
        .header(TIMESTAMP_HEADER, timestamp)
        .header(
            SIGNATURE_HEADER,
            signature(&hook.secret, timestamp, body.as_bytes()),
        )
        .body(body)
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("answered {}", response.status()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff_ms(1000, 1), 1000);
        assert_eq!(backoff_ms(1000, 2), 2000);
        assert_eq!(backoff_ms(1000, 5), 16_000);
        assert_eq!(backoff_ms(1000, 100), WEBHOOK_BACKOFF_MAX_MS);
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Computed independently (Python's hmac module) over "1.what do ya want for nothing?".
        let body = b"what do ya want for nothing?";
        assert_eq!(
            signature("Jefe", 1, body),
            "sha256=a9049465ce89cfb8e9aac62333abda66f80e3403f51f57f6bae3c3a4485eca38"
        );
        assert_ne!(signature("Jefe", 2, body), signature("Jefe", 1, body));
    }
}
