//! The HTTP API: one router per resource with its OpenAPI description, merged in [`router`];
//! extractors that answer malformed input in the app's error format; error responses; the
//! layers every request passes (observation, load shedding, idempotency).
//!
//! Handlers are thin: they parse, call the market, and map its answer to HTTP.

#[macro_use]
pub mod error;
mod accounts;
mod ads;
mod attachments;
mod events;
pub(crate) mod extract;
mod idempotency;
mod input;
mod layers;
mod openapi;
mod operator;
mod orders;
mod payment_methods;
mod prices;
mod restrictions;
mod router;
mod safeguards;
mod service;
mod state;
mod webhooks;

pub use router::{openapi_document, router};
pub use state::AppState;
