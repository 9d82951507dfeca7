//! The JSON shapes of SPEC.md §5, shared by the API's answers, the events and the listing.
//!
//! - [`ads`]: an ad as the public sees it, and its JSON pre-rendered for the listing.
//! - [`orders`]: an order as its parties and operators see it, its history, its events' data.
//! - [`chat`]: messages and ratings.
//! - [`accounts`]: the caller's account, public profiles, users, transactions, blocks, webhooks.

pub mod accounts;
pub mod ads;
pub mod chat;
pub mod orders;

use serde::Serialize;
use utoipa::ToSchema;

pub use accounts::*;
pub use ads::*;
pub use chat::*;
pub use orders::*;

/// A page of a listing.
#[derive(Serialize, ToSchema)]
pub struct Page<T: Serialize> {
    pub items: Vec<T>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// A list without paging.
#[derive(Serialize, ToSchema)]
pub struct Items<T: Serialize> {
    pub items: Vec<T>,
}

/// Every error: `{"error": {"code", "message"}}` (SPEC.md §4).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// The stable machine code.
    #[schema(value_type = String, example = "AD_NOT_ACTIVE")]
    pub code: &'static str,
    pub message: String,
}

/// `value` as JSON (a string or a list of strings cannot fail to serialise).
pub(crate) fn json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
