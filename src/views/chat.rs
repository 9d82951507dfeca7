//! An order's chat.

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::UserId;
use crate::domain::chat::Message;
use crate::domain::rfc3339;

/// A chat message.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageView {
    pub id: i64,
    pub order_id: i64,
    pub sender_id: Option<i64>,
    /// `buyer`, `seller`, `operator` or `system`.
    pub sender_role: String,
    pub message: String,
    /// The SHA-256 (hex) of the attachment the message carries, which names it:
    /// `GET /api/v1/p2p/orders/{id}/attachments/{sha256}`.
    pub attachment: Option<String>,
    pub created_at: String,
}

/// An attachment as kept: its type sniffed from its bytes, and their SHA-256.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttachmentView {
    pub order_id: i64,
    /// The chat message that carries it.
    pub message_id: i64,
    /// `image/png`, `image/jpeg` or `application/pdf`.
    pub content_type: String,
    pub size: i64,
    /// Hex; names the attachment within its order.
    pub sha256: String,
    pub uploaded_by: i64,
    pub created_at: String,
}

pub fn message(message: &Message) -> MessageView {
    MessageView {
        id: message.id,
        order_id: message.order_id.get(),
        sender_id: message.sender_id.map(UserId::get),
        sender_role: message.sender_role.as_str().into(),
        message: message.message.clone(),
        attachment: message.attachment.clone(),
        created_at: rfc3339(message.created_at),
    }
}

/// A party's rating of the counterparty of a completed order.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct RatingView {
    pub order_id: i64,
    pub rater_id: i64,
    pub ratee_id: i64,
    pub rating: i64,
    pub comment: Option<String>,
    pub created_at: String,
}
