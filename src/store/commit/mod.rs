//! The one committer: every state change reaches the database through here.
//!
//! A [`Commit`] is the statements of one state change. The committer owns the only write
//! connection, drains up to [`COMMIT_BATCH_MAX`](crate::config::COMMIT_BATCH_MAX) queued commits,
//! runs them in one transaction (one fsync) with a savepoint around each, so a commit whose guard
//! fails rolls back alone without failing its neighbours, and answers each only after the
//! transaction is durable.
//!
//! On SQLite the committer runs on a thread of its own with a rusqlite connection, so a batch's
//! statements run where the database handle lives; on PostgreSQL it is a task with sqlx's
//! connection. Both are a [`Connection`](super::connection::Connection).
//!
//! - [`op`]: what a commit is made of, and its receipt.
//! - [`queue`]: what travels to the committer.
//! - [`committer`]: the loop.
//! - [`parallel`]: PostgreSQL's several connections over disjoint rows, one dispatcher.
//! - [`batch`]: one batch in one transaction, fast, carefully, or one commit at a time.
//! - [`locks`]: what a PostgreSQL batch locks, in one global order, its hot rows last.
//! - [`order_ids`]: new orders' ids drawn ahead; [`opening`]: a fast batch's `BEGIN` and first
//!   locks sent with its first statement, so a batch can go in one flight.
//! - [`apply`]: each op's statements, one file per aggregate.
//! - [`deferred`]: the writes that cannot fail, one multi-row statement per table.
//! - [`order_rows`]: a new order's columns, and guarded claims of orders.
//! - [`ad_changes`]: a PostgreSQL fast batch's takes and returns of ads' capacity, one update.
//! - [`one_statement`]: a PostgreSQL fast batch's deferred writes as two statements, its hot
//!   rows' locks between them.
//! - [`track`]: the deferred writes of track records.

mod ad_changes;
mod apply;
mod batch;
mod committer;
mod deferred;
mod locks;
mod one_statement;
mod op;
mod opening;
mod order_ids;
mod order_rows;
mod parallel;
mod queue;
mod rows;
#[cfg(test)]
mod tests;
mod track;

pub(crate) use committer::run;
pub use op::{
    CapacityReturn, Commit, MoneyMove, NewAttachment, NewBlock, NewEvent, NewMessage, NewRating,
    NewRestriction, NewSavedMethod, NewUser, NewWalletTransaction, Op, Receipt, RowRef,
    WebhookFailure,
};
pub(crate) use parallel::run as run_parallel;
pub use queue::WalletLoad;
pub(crate) use queue::{Job, Load};
