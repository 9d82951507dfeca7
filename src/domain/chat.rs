//! An order's chat.

use super::ids::{OrderId, UserId};
use super::order::Participant;
use super::time::Millis;

/// A chat message as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: i64,
    pub order_id: OrderId,
    pub sender_id: Option<UserId>,
    pub sender_role: Participant,
    pub message: String,
    /// The SHA-256 of the attachment the message carries, if any.
    pub attachment: Option<String>,
    pub created_at: Millis,
}
