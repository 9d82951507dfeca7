//! Reads: each table's rows as domain values, on the read pool (never the committer's
//! connection, so a read never waits for a batch). One file per table or concern.

mod ads;
mod chat;
mod events;
mod gauges;
mod idempotency;
mod orders;
mod payment_methods;
mod query;
mod reviews;
mod safeguards;
mod transactions;
mod users;
mod wallets;
mod webhooks;

pub use gauges::Gauges;
pub use orders::OrderFilter;
pub(crate) use query::read_error;
