//! A fast PostgreSQL batch's last flight: its deferred writes and its `COMMIT`, sent together.

use super::Deferred;
use crate::store::commit::locks::LockSet;
use crate::store::commit::one_statement::OneStatement;
use crate::store::connection::{Connection, DbError, query};
use crate::store::dialect::Dialect;

/// How a fast PostgreSQL batch's last flight ended (see [`Deferred::flush_and_commit`]).
pub(in crate::store::commit) enum Flight {
    /// Committed: each capacity change's commit place and the ad's version after it.
    Committed(Vec<(usize, i64)>),
    /// A statement failed, or a check did not hold: nothing committed.
    Refused(DbError),
    /// The statements ran but the `COMMIT` failed.
    CommitFailed(DbError),
}

impl Deferred {
    /// Writes everything gathered, changes of ads' capacity included, and commits, in one flight
    /// of three PostgreSQL statements and `COMMIT`: the writes of cold rows (new rows, the
    /// batch's orders) and the guard of deposit limits; the late locks of the hot rows (users,
    /// ads, wallets; see [`LockSet`]); their writes. So those locks are held from near the end
    /// of the batch to its commit. Each statement checks its own counts and raises if one is
    /// off, so the `COMMIT` commits only a batch whose every check held; after a failure
    /// PostgreSQL answers it by rolling back. Answers each capacity change's commit place and the
    /// ad's version after it, as the change alone would have left it. If no statement of the
    /// batch went before, its `BEGIN` and first locks lead the flight (see `Opening`): the
    /// whole transaction is one round trip.
    ///
    /// The locks go alone, not at the end of the cold statement. A lock that waited for another
    /// node's transaction rechecks the row's newest version, and to recheck PostgreSQL first
    /// sets up again every part of the statement the lock is in, each `WITH` part with its
    /// insert or update. In the cold statement that cost two nodes a tenth of their PostgreSQL
    /// CPU (`benches/README.md`, day 18); alone it sets up one small read, and in the flight it
    /// costs no round trip of its own.
    ///
    /// A claim of an order this batch inserts would not see it here and fail the batch (its
    /// careful run writes a statement at a time); an order actor asks for no step before the
    /// order's creation is answered, so none does.
    pub(in crate::store::commit) async fn flush_and_commit(
        &self,
        conn: &mut impl Connection,
        places: &mut i64,
    ) -> Flight {
        let mut one = OneStatement::default();
        let cold_writes = match self.cold_writes(Dialect::Postgres, places) {
            Ok(writes) => writes,
            Err(error) => return Flight::Refused(error),
        };
        for write in cold_writes {
            one.add(write);
        }
        if let Some(guard) = self.deposit_guard() {
            one.add_guard(guard, "deposit takers at their limit");
        }
        let cold = one.into_statement();
        let locks = self.late_locks.as_ref().and_then(LockSet::hot_locks);
        let mut hot = OneStatement::default();
        let changes = match self.changes_by_ad() {
            Ok(changes) => changes,
            Err(error) => return Flight::Refused(error),
        };
        if let Some(write) = Deferred::ads_write(&changes) {
            hot.add_answering(write, "ads.id || ':' || ads.version");
        }
        for write in self.hot_writes(Dialect::Postgres) {
            hot.add(write);
        }
        let hot = hot.into_statement();
        // One flight: none of the statements needs another's answer, only its effects, and each
        // raises if a count it checks is off, so the `COMMIT` behind them commits only a batch
        // whose every check held (after a failure PostgreSQL rolls the transaction back instead).
        let mut flight: Vec<_> = [cold.map(|(statement, _)| statement), locks]
            .into_iter()
            .flatten()
            .collect();
        let hot = hot.map(|(statement, checks)| {
            flight.push(statement);
            checks
        });
        flight.push(query("COMMIT"));
        let mut answers = conn.pipeline(flight).await;
        let committed = answers
            .pop()
            .unwrap_or_else(|| Err(DbError::other("no answer")));
        let mut rows = Vec::with_capacity(answers.len());
        for answer in answers {
            match answer {
                Ok(row) => rows.push(row),
                // Rolled back: the first failure is the batch's.
                Err(error) => return Flight::Refused(error),
            }
        }
        if let Err(error) = committed {
            return Flight::CommitFailed(error);
        }
        // Committed, so every check held in SQL. The hot statement, last, answers the ads'
        // versions; one unreadable now is a fault of this code, not of the batch: its commits
        // stand, without the versions.
        let versions = match hot {
            Some(checks) => checks.answers(rows.pop().flatten()),
            None => Ok(Vec::new()),
        };
        let versions = versions.and_then(|versions| self.change_versions(&changes, &versions));
        match versions {
            Ok(versions) => Flight::Committed(versions),
            Err(error) => {
                tracing::error!(%error, "a committed batch's ad versions are unreadable");
                Flight::Committed(Vec::new())
            }
        }
    }
}
