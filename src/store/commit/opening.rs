//! A PostgreSQL fast batch's transaction, opened with the batch's first statement.

use std::mem;

use crate::store::connection::{Answers, Connection, DbError, Statement};

/// A connection whose transaction's opening statements (`BEGIN` and the batch's first locks)
/// wait to go with the first statement the batch runs, in its flight. A fast batch whose commits
/// run no statement of their own, every write deferred to its last flight (see
/// `Deferred::flush_and_commit`), so sends its whole transaction, from `BEGIN` to `COMMIT`, in
/// one flight: one round trip, and its first locks held for that flight alone.
///
/// A statement that reads a row (a new chat message's id) goes in the opening's flight too; one
/// that answers a count of changed rows sends the opening first, in a flight of its own. A
/// failure of the opening is the failure of what went with it.
///
/// It knows whether a transaction is live, so a batch given up rolls back only one that is: not
/// one whose opening never went, nor one a `COMMIT` in its last flight ended.
pub(super) struct Opening<'c, C> {
    conn: &'c mut C,
    pending: Vec<Statement>,
    ended: bool,
}

impl<'c, C: Connection> Opening<'c, C> {
    pub(super) fn new(conn: &'c mut C) -> Self {
        Opening {
            conn,
            pending: Vec::new(),
            ended: false,
        }
    }

    /// Holds `statements` back to go with the next statement run.
    pub(super) fn defer(&mut self, statements: impl IntoIterator<Item = Statement>) {
        self.pending.extend(statements);
    }

    /// The flight just sent ended the transaction (its `COMMIT` committed or rolled back).
    pub(super) fn ended(&mut self) {
        self.ended = true;
    }

    /// Whether a transaction begun through this connection may still be live: its opening went
    /// and nothing ended it.
    pub(super) fn in_transaction(&self) -> bool {
        self.pending.is_empty() && !self.ended
    }

    /// Sends what waits, alone.
    async fn open(&mut self) -> Result<(), DbError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let answers = self.conn.pipeline(mem::take(&mut self.pending)).await;
        answers.into_iter().try_for_each(|answer| answer.map(drop))
    }
}

impl<C: Connection> Connection for Opening<'_, C> {
    async fn execute(&mut self, statement: Statement) -> Result<u64, DbError> {
        self.open().await?;
        self.conn.execute(statement).await
    }

    /// With what waits, in one flight (a row, unlike a count of changed rows, comes back from a
    /// flight).
    async fn fetch_optional(
        &mut self,
        statement: Statement,
    ) -> Result<Option<Vec<crate::store::connection::Value>>, DbError> {
        (self.pipeline(vec![statement]).await.pop())
            .unwrap_or_else(|| Err(DbError::other("no answer")))
    }

    async fn run(&mut self, sql: &'static str) -> Result<(), DbError> {
        self.open().await?;
        self.conn.run(sql).await
    }

    fn committed(&mut self) {
        self.conn.committed()
    }

    /// `statements` with what waits before them, in one flight; if a statement of the opening
    /// failed, each of `statements` answers its failure (PostgreSQL aborted the transaction, and
    /// a `COMMIT` in it rolled back).
    async fn pipeline(&mut self, statements: Vec<Statement>) -> Answers {
        let opening = mem::take(&mut self.pending);
        if opening.is_empty() {
            return self.conn.pipeline(statements).await;
        }
        let count = opening.len();
        let mut answers = self
            .conn
            .pipeline(opening.into_iter().chain(statements).collect())
            .await;
        let own = answers.split_off(count.min(answers.len()));
        match answers.into_iter().find_map(Result::err) {
            None => own,
            Some(error) => own.iter().map(|_| Err(error.clone())).collect(),
        }
    }
}
