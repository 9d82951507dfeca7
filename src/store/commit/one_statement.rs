//! The deferred writes as they run: each a [`Write`], run alone (SQLite, careful batches) or, in
//! a PostgreSQL fast batch, gathered into two statements, each write a data-modifying `WITH`
//! part: the writes of cold rows, then (after the locks of the hot rows, see `LockSet` and
//! `Deferred::flush_and_commit`) the writes of the hot rows. Two, not one: a statement reads as of
//! its start, so in one statement every hot row another node changed while this one waited for
//! its lock is written through PostgreSQL's recheck of its newest version. With two nodes that
//! one statement cost PostgreSQL 0.57 CPU-ms per order against 0.44–0.48 for two statements (day
//! 14); the second statement reads afresh, after the locks.
//!
//! One statement for many writes is one round trip instead of about ten. Measured on the 2-core
//! machine with the database beside the service, that bought nothing (`benches/README.md`, day
//! 13): each part executes as long as its own statement did, and a round trip over the local
//! socket is some 50 µs. Where a round trip is longer (a database across a network) it should
//! count for more; that was not measured.
//!
//! The parts of one statement see the database as it was before the statement, not each other's
//! writes, so no two of them may write one row (PostgreSQL would skip the second write): each
//! table gets one part, wallets' guarded and unguarded moves one update, users' figures and
//! first orders one update. A part that must change all its rows and did not, or a guard that
//! found a row, fails the batch, which then runs carefully, a statement at a time.

use crate::store::connection::{Connection, DbError, FromRow, Statement, Value, query};

/// One deferred write: its statement, and the rows it must change and what they are, if it
/// must change them all.
pub(super) struct Write {
    pub statement: Statement,
    pub must_change: Option<(usize, &'static str)>,
}

impl Write {
    pub fn new(statement: Statement) -> Write {
        Write {
            statement,
            must_change: None,
        }
    }

    pub fn all_of(statement: Statement, rows: usize, what: &'static str) -> Write {
        Write {
            statement,
            must_change: Some((rows, what)),
        }
    }

    /// Runs the write as a statement of its own.
    pub async fn run(self, conn: &mut impl Connection) -> Result<(), DbError> {
        let changed = self.statement.execute(&mut *conn).await?;
        match self.must_change {
            Some((rows, what)) => all_changed(changed, rows, what),
            None => Ok(()),
        }
    }
}

/// Fails unless a statement over `expected` rows changed them all.
fn all_changed(changed: u64, expected: usize, what: &str) -> Result<(), DbError> {
    if changed == expected as u64 {
        Ok(())
    } else {
        Err(DbError::other(format!(
            "{changed} of {expected} deferred {what} held"
        )))
    }
}

/// What a part of the one statement must have done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Changed all of so many rows (what they are).
    All(usize, &'static str),
    /// Found no row: a guard, its rows what it refuses.
    Nothing(&'static str),
}

/// PostgreSQL writes gathered into one statement. The parts whose rows are counted (a write
/// that must change all its rows, a guard) or answered run in the order they were added, each
/// counted in turn by the statement's one row. A write whose rows need no count has neither a
/// `RETURNING` nor a count: PostgreSQL runs such a part after the statement's row, in an order
/// it does not promise. That spares each such part an aggregate and a store of its rows, set up
/// and run once per batch (`benches/README.md`, day 22). None of the writes may depend on
/// another's turn: all parts read as of the statement's start, and every row a batch writes and
/// every key it inserts that another transaction could insert is locked before its statements
/// (see `LockSet`), so no part waits on a lock.
#[derive(Default)]
pub(super) struct OneStatement {
    parts: Vec<String>,
    params: Vec<Value>,
    /// The counted parts, in turn: each part's number and what it must have done.
    checks: Vec<(usize, Check)>,
    /// The part whose rows the statement answers, as text joined by commas.
    answering: Option<usize>,
}

impl OneStatement {
    /// Adds a write whose rows count and nothing else (if it must change them all).
    pub fn add(&mut self, write: Write) {
        if write.must_change.is_none() {
            self.push(write.statement, None, None);
            return;
        }
        self.add_returning(write, "1");
    }

    /// Adds the write whose rows the statement answers: `returning` (text) of each.
    pub fn add_answering(&mut self, write: Write, returning: &str) {
        self.answering = Some(self.parts.len());
        self.add_returning(write, returning);
    }

    /// Adds a read that must find no row: any it finds fails the batch.
    pub fn add_guard(&mut self, guard: Statement, refuses: &'static str) {
        self.push(guard, None, Some(Check::Nothing(refuses)));
    }

    fn add_returning(&mut self, write: Write, returning: &str) {
        let Write {
            statement,
            must_change,
        } = write;
        let check = must_change.map(|(rows, what)| Check::All(rows, what));
        self.push(statement, Some(returning), check);
    }

    /// Adds a part: a write `returning` what it answers or a guard's read, counted if `check`.
    fn push(&mut self, statement: Statement, returning: Option<&str>, check: Option<Check>) {
        let sql = renumbered(&statement.sql, self.params.len());
        let part = self.parts.len();
        self.parts.push(match returning {
            Some(returning) => format!("w{part} AS ({sql} RETURNING {returning} AS answer)"),
            None => format!("w{part} AS ({sql})"),
        });
        self.params.extend(statement.params);
        if let Some(check) = check {
            self.checks.push((part, check));
        }
    }

    /// Runs the writes alone, checks each did what it must, and answers the answering part's
    /// rows (empty if none). A batch runs the statement in a flight with others instead (see
    /// `Deferred::flush_and_commit`).
    #[cfg(test)]
    pub async fn run(self, conn: &mut impl Connection) -> Result<Vec<String>, DbError> {
        let Some((statement, checks)) = self.into_statement() else {
            return Ok(Vec::new());
        };
        checks.answers(conn.fetch_optional(statement).await?)
    }

    /// The one statement, and what checks its row; `None` if it has no part.
    pub fn into_statement(self) -> Option<(Statement, Checks)> {
        if self.parts.is_empty() {
            return None;
        }
        let counts: Vec<String> = (self.checks.iter())
            .map(|(part, _)| format!("(SELECT COUNT(*) FROM w{part})"))
            .collect();
        let answers = match self.answering {
            Some(part) => format!("(SELECT string_agg(answer, ',') FROM w{part})"),
            None => "NULL".to_string(),
        };
        let counts = match counts.is_empty() {
            true => "''".to_string(),
            false => format!("concat_ws(',', {})", counts.join(", ")),
        };
        // The counts must be these, or the statement raises (migration 27): so a `COMMIT` sent
        // in the same flight commits only a batch whose every check held.
        let checks = Checks(self.checks.into_iter().map(|(_, check)| check).collect());
        let expected = self.params.len() + 1;
        let sql = format!(
            "WITH {} SELECT CASE WHEN c.counts = ${expected} THEN c.counts \
               ELSE p2p_refuse_batch(c.counts, ${expected}) END, COALESCE({answers}, '') \
             FROM (SELECT {counts} AS counts) c",
            self.parts.join(", ")
        );
        let mut statement = query(sql);
        statement.params = self.params;
        statement.params.push(Value::Text(checks.expected()));
        Some((statement, checks))
    }
}

/// What the row of a [`OneStatement`] must show: each counted part's check, in turn.
pub(super) struct Checks(Vec<Check>);

impl Checks {
    /// The counts the statement must show: all of a write's rows, none of a guard's.
    fn expected(&self) -> String {
        let counts: Vec<String> = (self.0.iter())
            .map(|check| match check {
                Check::All(rows, _) => rows.to_string(),
                Check::Nothing(_) => "0".to_string(),
            })
            .collect();
        counts.join(",")
    }

    /// Checks the statement's row (its counts, then its answers) and answers the answering
    /// part's rows.
    pub fn answers(&self, row: Option<Vec<Value>>) -> Result<Vec<String>, DbError> {
        let row = row.ok_or_else(|| DbError::other("the statement returned no row"))?;
        let (counts, answers): (String, String) = FromRow::from_row(row)?;
        let counted = counts.split(',').filter(|count| !count.is_empty());
        if counted.clone().count() != self.0.len() {
            return Err(DbError::other("an unreadable count of changed rows"));
        }
        for (count, check) in counted.zip(&self.0) {
            let count: u64 = count
                .parse()
                .map_err(|_| DbError::other("an unreadable count of changed rows"))?;
            match *check {
                Check::All(rows, what) => all_changed(count, rows, what)?,
                Check::Nothing(refuses) if count > 0 => {
                    return Err(DbError::other(format!("{count} {refuses}")));
                }
                Check::Nothing(_) => {}
            }
        }
        Ok(match answers.is_empty() {
            true => Vec::new(),
            false => answers.split(',').map(str::to_string).collect(),
        })
    }
}

/// `sql` with each placeholder `$n` made `$(n + offset)`.
fn renumbered(sql: &str, offset: usize) -> String {
    if offset == 0 {
        return sql.to_string();
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        match rest[..digits].parse::<usize>() {
            Ok(n) => out.push_str(&(n + offset).to_string()),
            Err(_) => out.push_str(&rest[..digits]),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_move_past_the_parts_before() {
        assert_eq!(
            renumbered("SELECT $1, $12::text, '$' || $2", 10),
            "SELECT $11, $22::text, '$' || $12"
        );
        assert_eq!(renumbered("SELECT $1", 0), "SELECT $1");
    }

    #[test]
    fn parts_become_counted_with_clauses() {
        let mut one = OneStatement::default();
        one.add(Write::all_of(
            query("UPDATE t SET a = $1").bind(1i64),
            2,
            "t rows",
        ));
        one.add_answering(
            Write::new(query("INSERT INTO u SELECT $1").bind(2i64)),
            "u.id::text",
        );
        one.add(Write::new(query("DELETE FROM x WHERE b = $1").bind(3i64)));
        one.add_guard(query("SELECT 1 FROM y WHERE c = $1").bind(4i64), "y rows");
        assert_eq!(
            one.parts,
            [
                "w0 AS (UPDATE t SET a = $1 RETURNING 1 AS answer)",
                "w1 AS (INSERT INTO u SELECT $2 RETURNING u.id::text AS answer)",
                "w2 AS (DELETE FROM x WHERE b = $3)",
                "w3 AS (SELECT 1 FROM y WHERE c = $4)"
            ]
        );
        let params = [1, 2, 3, 4].map(Value::Int);
        assert_eq!(one.params, params);
        assert_eq!(one.answering, Some(1));
        // Only the write that must change all its rows and the guard are counted.
        assert_eq!(
            one.checks,
            [(0, Check::All(2, "t rows")), (3, Check::Nothing("y rows"))]
        );
    }
}
