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
}
