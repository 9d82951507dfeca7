//! Applying a commit's ops inside the batch's transaction, one file per aggregate: each op's
//! statements, its guards, and the refusal a guard answers.

mod ads;
mod chat;
mod events;
mod idempotency;
mod orders;
mod safeguards;
mod users;
mod wallets;
mod webhooks;
mod writer;

pub(super) use writer::{Failure, apply};
