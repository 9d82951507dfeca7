//! Which database the store talks to.

/// Which database the store talks to. The SQL is shared (`$N` placeholders, `RETURNING`); only
/// the few places that differ ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Embedded, one node: the committer's single connection is the only writer.
    Sqlite,
    /// Shared by several nodes: row locks and guarded updates serialise them.
    Postgres,
}

impl Dialect {
    pub fn of(url: &str) -> Option<Dialect> {
        if url.starts_with("sqlite:") {
            Some(Dialect::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Some(Dialect::Postgres)
        } else {
            None
        }
    }

    /// Locks the rows a read-then-write reads, as an update would (SQLite's one writer needs no
    /// lock).
    pub fn for_update(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR NO KEY UPDATE",
        }
    }

    /// The id of an event a transaction writes, given its place among the transaction's events
    /// (a parameter): SQLite's one writer commits in id order, so the table's own id serves.
    /// PostgreSQL's is the transaction's id, shifted, plus the place: ids of different
    /// transactions then follow their transaction ids, and [`Dialect::event_horizon`] tells which
    /// of those can no longer be preceded by one still to commit.
    pub fn event_id(self, place: &str) -> String {
        match self {
            Dialect::Sqlite => "NULL".to_owned(),
            Dialect::Postgres => {
                format!("((pg_current_xact_id()::text::bigint << {EVENT_PLACE_BITS}) + {place})")
            }
        }
    }

    /// A condition on `id` that keeps the events a reader may pass on now: on PostgreSQL, those of
    /// transactions older than the oldest one still running. Every transaction that can still
    /// commit events has a transaction id at or above that horizon, so its events' ids are above
    /// every id a reader was given: a reader that has seen id n never misses a smaller one later,
    /// on any node, and no lock orders the writers.
    pub fn event_horizon(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => {
                " AND id < (pg_snapshot_xmin(pg_current_snapshot())::text::bigint << 20)"
            }
        }
    }
}

/// The low bits of a PostgreSQL event id: the event's place among its transaction's events.
/// 2^20 events per transaction (a batch writes at most a few per commit, and
/// [`COMMIT_BATCH_MAX`](crate::config::COMMIT_BATCH_MAX) commits), and ids stay below 2^53, exact
/// in every JSON reader, for the first 2^33 transactions.
pub const EVENT_PLACE_BITS: u32 = 20;
// `event_horizon` spells the shift out, so it stays a constant string.
const _: () = assert!(EVENT_PLACE_BITS == 20);

/// How many events one PostgreSQL transaction may write.
pub const EVENTS_PER_TRANSACTION: i64 = 1 << EVENT_PLACE_BITS;
