//! Which database the store talks to.

use std::sync::LazyLock;

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

    /// A condition on `id` that keeps the events a reader may pass on now: on PostgreSQL, those of
    /// transactions older than the oldest one still running (see [`postgres_event_id`]). Every
    /// transaction that can still commit events has a transaction id at or above that horizon,
    /// so its events' ids are above every id a reader was given: a reader that has seen id n
    /// never misses a smaller one later, on any node, and no lock orders the writers. SQLite's
    /// one writer commits in id order: every committed event may be passed on.
    pub fn event_horizon(self) -> &'static str {
        static POSTGRES: LazyLock<String> = LazyLock::new(|| {
            format!(
                " AND id < {}",
                shifted("pg_snapshot_xmin(pg_current_snapshot())")
            )
        });
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => POSTGRES.as_str(),
        }
    }

    /// The newest event id a feed may pass on, as a subquery (0 before any).
    pub fn newest_fed_event(self) -> String {
        format!(
            "(SELECT COALESCE(MAX(id), 0) FROM events WHERE TRUE{})",
            self.event_horizon()
        )
    }
}

/// The id of an event a PostgreSQL transaction writes, given its place among the transaction's
/// events (a parameter): the transaction's id shifted left by [`EVENT_PLACE_BITS`], plus the
/// place. Ids of different transactions follow their transaction ids, and
/// [`Dialect::event_horizon`] tells which of those no event still to commit can precede. (SQLite's
/// events take the table's own id.)
pub fn postgres_event_id(place: &str) -> String {
    format!("({} + {place})", shifted("pg_current_xact_id()"))
}

/// A PostgreSQL transaction id (`xid8`) as the lowest event id it may write.
pub fn shifted(xid8: &str) -> String {
    format!("({xid8}::text::bigint << {EVENT_PLACE_BITS})")
}

/// The low bits of a PostgreSQL event id: the event's place among its transaction's events.
/// 2^20 events per transaction (a batch writes at most a few per commit, and
/// [`COMMIT_BATCH_MAX`](crate::config::COMMIT_BATCH_MAX) commits), and ids stay below 2^53, exact
/// in every JSON reader, for the first 2^33 transactions.
pub const EVENT_PLACE_BITS: u32 = 20;

/// How many events one PostgreSQL transaction may write.
pub const EVENTS_PER_TRANSACTION: i64 = 1 << EVENT_PLACE_BITS;
