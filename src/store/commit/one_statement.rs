//! The deferred writes as they run: each a [`Write`], run alone (SQLite, careful batches) or, in
//! a PostgreSQL fast batch, all of them as one statement, each a data-modifying `WITH` part.
//!
//! One statement is one round trip instead of about ten. Measured on the 2-core machine with the
//! database beside the service, that bought nothing (`benches/README.md`, day 13): each part
//! executes as long as its own statement did, and a round trip over the local socket is some
//! 50 µs. Where a round trip is longer (a database across a network) it should count for more;
//! that was not measured.
//!
//! The parts of one statement see the database as it was before the statement, not each other's
//! writes, so no two of them may write one row (PostgreSQL would skip the second write): each
//! table gets one part, wallets' guarded and unguarded moves one update, users' figures and
//! first orders one update. A part that must change all its rows and did not fails the batch,
//! which then runs carefully, a statement at a time.

use crate::store::connection::{Connection, DbError, Statement, Value, query};

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

/// PostgreSQL writes gathered into one statement.
#[derive(Default)]
pub(super) struct OneStatement {
    parts: Vec<String>,
    params: Vec<Value>,
    checks: Vec<Option<(usize, &'static str)>>,
    /// The part whose rows the statement answers, as text joined by commas.
    answering: Option<usize>,
}

impl OneStatement {
    /// Adds a write whose rows count and nothing else.
    pub fn add(&mut self, write: Write) {
        self.add_returning(write, "1");
    }

    /// Adds the write whose rows the statement answers: `returning` (text) of each.
    pub fn add_answering(&mut self, write: Write, returning: &str) {
        self.answering = Some(self.parts.len());
        self.add_returning(write, returning);
    }

    fn add_returning(&mut self, write: Write, returning: &str) {
        let Write {
            statement,
            must_change,
        } = write;
        let sql = renumbered(&statement.sql, self.params.len());
        let part = self.parts.len();
        self.parts.push(format!(
            "w{part} AS ({sql} RETURNING {returning} AS answer)"
        ));
        self.params.extend(statement.params);
        self.checks.push(must_change);
    }

    /// Runs the writes, checks each changed what it must, and answers the answering part's
    /// rows (empty if none).
    pub async fn run(self, conn: &mut impl Connection) -> Result<Vec<String>, DbError> {
        if self.parts.is_empty() {
            return Ok(Vec::new());
        }
        let counts: Vec<String> = (0..self.parts.len())
            .map(|part| format!("(SELECT COUNT(*) FROM w{part})"))
            .collect();
        let answers = match self.answering {
            Some(part) => format!("(SELECT string_agg(answer, ',') FROM w{part})"),
            None => "NULL".to_string(),
        };
        let sql = format!(
            "WITH {} SELECT concat_ws(',', {}), COALESCE({answers}, '')",
            self.parts.join(", "),
            counts.join(", ")
        );
        let mut statement = query(sql);
        statement.params = self.params;
        let (counts, answers): (String, String) = statement.fetch_one(&mut *conn).await?;
        for (count, check) in counts.split(',').zip(&self.checks) {
            let count: u64 = count
                .parse()
                .map_err(|_| DbError::other("an unreadable count of changed rows"))?;
            if let Some((rows, what)) = check {
                all_changed(count, *rows, what)?;
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
        assert_eq!(
            one.parts,
            [
                "w0 AS (UPDATE t SET a = $1 RETURNING 1 AS answer)",
                "w1 AS (INSERT INTO u SELECT $2 RETURNING u.id::text AS answer)"
            ]
        );
        assert_eq!(one.params, [Value::Int(1), Value::Int(2)]);
        assert_eq!(one.answering, Some(1));
    }
}
