//! The JSON shapes of SPEC.md §5, shared by the API's answers, the events and the listing.
//!
//! - [`ads`]: an ad as the public sees it, and its JSON pre-rendered for the listing.
//! - [`orders`]: an order as its parties and operators see it, its history, its events' data.
//! - [`chat`]: messages and ratings.
//! - [`accounts`]: the caller's account, public profiles, users, transactions, blocks.
//! - [`webhooks`]: the platform's webhooks and their delivery state.
//! - [`page`], [`error`]: pages and lists; every error's body.

pub mod accounts;
pub mod ads;
pub mod chat;
pub mod error;
pub mod evidence;
pub mod orders;
pub mod page;
pub mod webhooks;

pub use accounts::*;
pub use ads::*;
pub use chat::*;
pub use error::*;
pub use evidence::*;
pub use orders::*;
pub use page::*;
pub use webhooks::*;
