//! The dispute desk's evidence bundle: everything an auditor needs to judge an order's dispute
//! later, without the database, signed with the service's key.

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::{HistoryEntry, MessageView, OrderView, PublicUserView};
use crate::domain::attachment::Attachment;
use crate::domain::rfc3339;

/// What the bundle's `format` says: the shape below, version 1.
pub const BUNDLE_FORMAT: &str = "p2p-evidence-bundle/1";

/// An order's evidence, as one document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EvidenceBundle {
    /// `p2p-evidence-bundle/1`.
    pub format: &'static str,
    pub generated_at: String,
    /// The operator who asked for it.
    pub generated_for: i64,
    pub order: OrderView,
    /// Every transition of the order, oldest first.
    pub history: Vec<HistoryEntry>,
    /// The whole chat, oldest first.
    pub chat: Vec<MessageView>,
    /// Every version of the order's payment details, oldest first, with the step that set it.
    pub payment_details_versions: Vec<DetailsVersion>,
    /// The chat's attachments, each by its SHA-256 (`GET …/attachments/{sha256}` serves the bytes).
    pub attachments: Vec<AttachmentDigest>,
    /// Both parties' public figures and track records at `generated_at`.
    pub buyer: PublicUserView,
    pub seller: PublicUserView,
}

/// One version of an order's payment details.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DetailsVersion {
    pub at: String,
    /// The event that carried it (`order.created`, `order.held`, `order.updated`).
    pub event: String,
    #[schema(value_type = Object)]
    pub payment_details: Map<String, Value>,
}

/// An attachment as the bundle vouches for it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttachmentDigest {
    pub content_type: String,
    pub size: i64,
    /// Hex.
    pub sha256: String,
    pub uploaded_by: i64,
    pub created_at: String,
}

pub fn attachment_digest(attachment: &Attachment) -> AttachmentDigest {
    AttachmentDigest {
        content_type: attachment.content_type.clone(),
        size: attachment.size,
        sha256: attachment.sha256.clone(),
        uploaded_by: attachment.uploader_id.get(),
        created_at: rfc3339(attachment.created_at),
    }
}

/// A bundle with its signature: `signature` is Ed25519 over the UTF-8 bytes of `bundle` (the
/// bundle's JSON, as a string so that its bytes are exactly what was signed), under
/// `public_key` (also at `GET /api/v1/signing-key`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SignedBundle {
    /// The [`EvidenceBundle`] as JSON text.
    pub bundle: String,
    /// `Ed25519`.
    pub algorithm: &'static str,
    /// The 32-byte public key, hex.
    pub public_key: String,
    /// The 64-byte signature, hex.
    pub signature: String,
}

/// The service's signing key, public half.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SigningKeyView {
    /// `Ed25519`.
    pub algorithm: &'static str,
    /// The 32-byte public key, hex.
    pub public_key: String,
}
