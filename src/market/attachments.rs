//! Files in an order's chat: kept in the database by their SHA-256, their type sniffed from
//! their bytes, readable by the order's parties and operators only.

use sha2::{Digest, Sha256};

use super::service::Market;
use crate::domain::attachment::{Attachment, MAX_ATTACHMENT_BYTES, sniff};
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::{Caller, DomainError, ErrorCode, OrderId, rfc3339, validate};
use crate::store::NewAttachment;
use crate::views::AttachmentView;

impl Market {
    /// Puts a file in the order's chat, with a message that carries it (`caption`, or a line
    /// saying what it is). `declared` is the request's `Content-Type`: the bytes decide what
    /// the file is, and a header that contradicts them is refused.
    pub async fn attach(
        &self,
        caller: Caller,
        order_id: OrderId,
        declared: Option<&str>,
        bytes: Vec<u8>,
        caption: Option<&str>,
        key: Option<IdempotencyKey>,
    ) -> Result<AttachmentView, DomainError> {
        let order = self.order(caller, order_id).await?;
        let uploader_role = order.participant(Some(caller))?;
        if bytes.len() > MAX_ATTACHMENT_BYTES {
            return Err(DomainError::new(
                ErrorCode::PayloadTooLarge,
                "an attachment is at most 5 MiB",
            ));
        }
        let kind = sniff(&bytes).ok_or_else(|| {
            DomainError::new(
                ErrorCode::UnsupportedMediaType,
                "an attachment must be a PNG, JPEG or PDF file (by its bytes)",
            )
        })?;
        let declared = declared
            .and_then(|header| header.split(';').next())
            .map(|header| header.trim().to_ascii_lowercase())
            .filter(|header| !header.is_empty() && header != "application/octet-stream");
        if let Some(declared) = declared.filter(|header| header != kind) {
            return Err(DomainError::new(
                ErrorCode::UnsupportedMediaType,
                format!("the bytes are {kind}, not {declared}"),
            ));
        }
        let size = bytes.len() as i64;
        let text = match caption {
            Some(caption) => validate::text("caption", caption, 1, validate::MAX_MESSAGE_CHARS)?,
            None => format!("attachment: {kind}, {size} bytes"),
        };
        let now = self.now_ms();
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let attachment = NewAttachment {
            order_id,
            uploader_id: caller.user_id,
            uploader_role,
            content_type: kind,
            sha256: sha256.clone(),
            data: bytes,
            now,
        };
        let message = self
            .say(caller, &order, text, Some(attachment), key)
            .await?;
        Ok(AttachmentView {
            order_id: order_id.get(),
            message_id: message.id,
            content_type: kind.into(),
            size,
            sha256,
            uploaded_by: caller.user_id.get(),
            created_at: rfc3339(now),
        })
    }

    /// An attachment of an order and its bytes, for its parties and operators (to anyone else,
    /// neither the order nor the file exists).
    pub async fn attachment(
        &self,
        caller: Caller,
        order_id: OrderId,
        sha256: &str,
    ) -> Result<(Attachment, Vec<u8>), DomainError> {
        self.order(caller, order_id).await?;
        self.store()
            .attachment(order_id, &sha256.to_ascii_lowercase())
            .await?
            .ok_or_else(|| ErrorCode::NotFound.into())
    }
}
