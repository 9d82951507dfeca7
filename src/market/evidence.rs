//! The dispute desk's evidence bundle, signed with the service's Ed25519 key: an auditor checks
//! it later with the public key alone, without the database.

use ed25519_dalek::Signer;

use super::service::Market;
use crate::config::MESSAGE_PAGE;
use crate::domain::event_kind::EventKind;
use crate::domain::order::Participant;
use crate::domain::{Caller, DomainError, ErrorCode, OrderId, rfc3339};
use crate::views::{self, BUNDLE_FORMAT, DetailsVersion, EvidenceBundle, SignedBundle};

impl Market {
    /// The signing key's public half, hex.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.signer.verifying_key().as_bytes())
    }

    /// An order's evidence for an operator, signed: the order, its whole history and chat,
    /// every version of its payment details, and both parties' track records.
    pub async fn evidence_bundle(
        &self,
        caller: Caller,
        order_id: OrderId,
    ) -> Result<SignedBundle, DomainError> {
        let order = self.order(caller, order_id).await?;
        if order.participant(Some(caller))? != Participant::Operator {
            return Err(DomainError::new(
                ErrorCode::Forbidden,
                "evidence bundles are for operators",
            ));
        }
        let history = self.history(caller, order_id).await?;
        let details = history
            .iter()
            .filter(|event| {
                matches!(
                    event.kind,
                    EventKind::OrderCreated | EventKind::OrderHeld | EventKind::OrderUpdated
                )
            })
            .filter_map(|event| {
                let data: serde_json::Value = serde_json::from_str(&event.payload).ok()?;
                Some(DetailsVersion {
                    at: rfc3339(event.created_at),
                    event: event.kind.as_str().into(),
                    payment_details: data.get("payment_details")?.as_object()?.clone(),
                })
            })
            .collect();
        let mut chat = Vec::new();
        loop {
            let after = chat.last().map_or(0, |m: &views::MessageView| m.id);
            let page = self.store().messages(order_id, after, MESSAGE_PAGE).await?;
            let full = page.len() as i64 == MESSAGE_PAGE;
            chat.extend(page.iter().map(views::message));
            if !full {
                break;
            }
        }
        let now = self.now_ms();
        let buyer = self.user(order.buyer_id).await?;
        let seller = self.user(order.seller_id).await?;
        let bundle = EvidenceBundle {
            format: BUNDLE_FORMAT,
            generated_at: rfc3339(now),
            generated_for: caller.user_id.get(),
            order: views::order_for(&order, Participant::Operator, caller.user_id, false),
            history: history.iter().map(views::history_entry).collect(),
            chat,
            payment_details_versions: details,
            attachments: self
                .store()
                .attachments(order_id)
                .await?
                .iter()
                .map(views::attachment_digest)
                .collect(),
            buyer: views::public_user(&self.with_seen(buyer), now),
            seller: views::public_user(&self.with_seen(seller), now),
        };
        let text = serde_json::to_string(&bundle)
            .map_err(|e| DomainError::new(ErrorCode::Internal, e.to_string()))?;
        let signature = self.signer.sign(text.as_bytes());
        Ok(SignedBundle {
            bundle: text,
            algorithm: "Ed25519",
            public_key: self.public_key_hex(),
            signature: hex::encode(signature.to_bytes()),
        })
    }
}
