//! Persistence: the database is the truth.
//!
//! Writes go through the one committer ([`commit`]); reads use a pool of read connections and
//! never block the writer (SQLite in WAL mode).
//!
//! - [`handle`]: the [`Store`]: opening the database, handing commits to the committer.
//! - [`commit`]: the committer, its batches, and each op's statements.
//! - [`read`]: each table's rows as domain values.
//! - [`audit`]: every invariant of SPEC.md §8, checked in SQL.
//! - [`connection`], [`sqlite`], [`postgres`]: the committer's connection on either database.
//! - [`dialect`], [`json`], [`schema`]: what differs between the databases; JSON objects as
//!   stored text; SQL that reads and writes share.

mod audit;
mod commit;
mod connection;
mod dialect;
mod handle;
mod json;
mod postgres;
mod read;
mod schema;
mod sqlite;
#[cfg(test)]
mod test_db;

pub use commit::{
    CapacityReturn, Commit, MoneyMove, NewAttachment, NewBlock, NewEvent, NewMessage, NewRating,
    NewRestriction, NewSavedMethod, NewUser, NewWalletTransaction, Op, Receipt, RowRef, WalletLoad,
    WebhookFailure,
};
pub use dialect::Dialect;
pub use handle::{OpenError, Store};
pub use read::{Gauges, OrderFilter};
