//! The market's core operations, one function per thing a caller can ask. HTTP handlers are
//! thin wrappers around these; these forward to the actors and the store.

mod accounts;
mod ads;
mod attachments;
pub mod demo;
mod evidence;
pub mod hub;
mod keys;
mod orders;
mod payment_methods;
mod prices;
mod reviews;
mod running;
mod safeguards;
mod seen;
mod service;
mod signing;
pub mod upkeep;
pub mod webhooks;

pub use crate::read_model::{AdQuery, SortBy, Viewer};
pub use accounts::NewTransaction;
pub use ads::NewAd;
pub use orders::NewOrder;
pub use service::{Market, Principal, ResidentActors, new_token, token_hash};
