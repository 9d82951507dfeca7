//! One batch of commits in one transaction: fast (no savepoints, the deferred writes of the
//! whole batch at the end), and if any commit in it fails, carefully (a savepoint around each,
//! so a refused commit rolls back alone); if even that fails, each commit alone.

use super::apply::{Failure, apply};
use super::deferred::{Deferred, Flight};
use super::locks::LockSet;
use super::op::{Op, Receipt};
use super::opening::Opening;
use super::order_ids::OrderIds;
use super::queue::Job;
use crate::config::TRANSIENT_ATTEMPTS;
use crate::domain::{DomainError, ErrorCode};
use crate::store::connection::{Connection, DbError};
use crate::store::dialect::Dialect;
use crate::telemetry;

pub(super) fn store_error(error: &DbError) -> DomainError {
    tracing::error!(%error, "store failure");
    DomainError::new(
        ErrorCode::Overloaded,
        "The store is unavailable, retry later",
    )
}

/// How a batch runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// No savepoints, the deferred writes of the whole batch at the end; any failure gives the
    /// batch up to run carefully.
    Fast,
    /// A savepoint around each commit and its deferred writes: a refused commit rolls back alone.
    Careful,
}

impl Mode {
    fn label(self) -> &'static str {
        match self {
            Mode::Fast => "fast",
            Mode::Careful => "careful",
        }
    }
}

/// Why a batch did not commit.
pub(super) enum BatchFailure {
    /// A commit of a fast batch failed: run the batch carefully.
    Redo,
    Store(DbError),
}

impl From<DbError> for BatchFailure {
    fn from(error: DbError) -> Self {
        BatchFailure::Store(error)
    }
}

/// Runs a batch in one transaction, rolled back unless the whole of it commits.
pub(super) async fn commit_batch(
    conn: &mut impl Connection,
    dialect: Dialect,
    batch: &[Job],
    mode: Mode,
    ids: &mut OrderIds,
) -> Result<Vec<Result<Receipt, DomainError>>, BatchFailure> {
    let mut conn = Opening::new(conn);
    let conn = &mut conn;
    // PostgreSQL's `BEGIN` goes with the batch's first locks (see `LockSet::opening`).
    if dialect == Dialect::Sqlite {
        conn.run("BEGIN").await?;
    }
    let outcomes = match apply_batch(conn, dialect, batch, mode, ids).await {
        Ok((outcomes, Committed::Already)) => {
            conn.committed();
            Ok(outcomes)
        }
        Ok((outcomes, Committed::Not)) => conn.run("COMMIT").await.map(|()| {
            conn.committed();
            outcomes
        }),
        Err(BatchFailure::Store(error)) => Err(error),
        Err(BatchFailure::Redo) => {
            if conn.in_transaction() {
                conn.run("ROLLBACK").await?;
            }
            return Err(BatchFailure::Redo);
        }
    };
    match outcomes {
        Ok(outcomes) => {
            metrics::counter!(telemetry::STORE_TRANSACTIONS, "mode" => mode.label()).increment(1);
            Ok(outcomes)
        }
        Err(error) => {
            // A failed statement or commit leaves SQLite's transaction open (PostgreSQL's is
            // aborted): roll it back either way, and report the first failure.
            if conn.in_transaction() {
                let _ = conn.run("ROLLBACK").await;
            }
            Err(error.into())
        }
    }
}

/// Whether a batch's statements committed its transaction (a PostgreSQL fast batch sends its
/// `COMMIT` with its last statements).
enum Committed {
    Already,
    Not,
}

/// The statements of a batch, inside its transaction.
async fn apply_batch(
    conn: &mut Opening<'_, impl Connection>,
    dialect: Dialect,
    batch: &[Job],
    mode: Mode,
    ids: &mut OrderIds,
) -> Result<(Vec<Result<Receipt, DomainError>>, Committed), BatchFailure> {
    // A PostgreSQL fast batch gives its new orders ids drawn before, to insert the orders with
    // its deferred writes at the end; if it can, it leaves its hot rows' locks to those writes
    // too. With the ids in hand, its `BEGIN` and first locks wait to go with its first
    // statement: if its commits run none, the whole batch goes in its last flight.
    let mut order_ids = Default::default();
    let mut late_locks = None;
    if dialect == Dialect::Postgres {
        let locks = LockSet::of(batch);
        let (new_orders, late) = match mode {
            Mode::Fast => (
                (batch.iter().flat_map(|job| &job.commit.ops))
                    .filter(|op| matches!(op, Op::InsertOrder(_)))
                    .count(),
                locks.late(),
            ),
            Mode::Careful => (0, false),
        };
        match mode {
            Mode::Fast => match ids.take(new_orders) {
                Some(taken) => {
                    order_ids = taken;
                    conn.defer(locks.opening(0, late));
                }
                None => {
                    let draw = ids.to_draw(new_orders);
                    let drawn = locks.lock_taking_ids(conn, draw, late).await?;
                    order_ids = ids.refill(drawn, new_orders);
                }
            },
            Mode::Careful => {
                locks.lock_taking_ids(conn, 0, false).await?;
            }
        }
        if late {
            late_locks = Some(locks);
        }
    }
    let mut outcomes = Vec::with_capacity(batch.len());
    // The events written so far in this transaction (their ids' low bits on PostgreSQL).
    let mut event_places = 0;
    if mode == Mode::Fast {
        // Any failure reruns the whole batch, so its commits gather into one set of deferred
        // writes, flushed once at the end.
        let mut deferred = Deferred::for_fast_batch(dialect);
        deferred.order_ids = order_ids;
        deferred.late_locks = late_locks;
        for (place, job) in batch.iter().enumerate() {
            deferred.commit_place = place;
            match apply(conn, dialect, &job.commit, &mut deferred).await {
                Ok(receipt) => outcomes.push(Ok(receipt)),
                Err(_) => return Err(BatchFailure::Redo),
            }
        }
        let taken = match dialect {
            Dialect::Postgres => {
                let flight = deferred.flush_and_commit(conn, &mut event_places).await;
                // Its `COMMIT` ended the transaction, committed or rolled back.
                conn.ended();
                match flight {
                    Flight::Committed(taken) => taken,
                    Flight::Refused(error) => {
                        tracing::debug!(%error, "a fast batch was refused; it runs carefully");
                        return Err(BatchFailure::Redo);
                    }
                    Flight::CommitFailed(error) => return Err(BatchFailure::Store(error)),
                }
            }
            Dialect::Sqlite => {
                (deferred.flush(conn, dialect, &mut event_places).await)
                    .map_err(|_| BatchFailure::Redo)?;
                return Ok((outcomes, Committed::Not));
            }
        };
        for (place, version) in taken {
            if let Some(Ok(receipt)) = outcomes.get_mut(place) {
                receipt.ad_version = Some(version);
            }
        }
        return Ok((outcomes, Committed::Already));
    }
    for job in batch {
        let mut own = Deferred::default();
        conn.run("SAVEPOINT one_commit").await?;
        let applied = match apply(conn, dialect, &job.commit, &mut own).await {
            Ok(receipt) => own
                .flush(conn, dialect, &mut event_places)
                .await
                .map(|()| receipt)
                .map_err(Failure::Store),
            Err(failure) => Err(failure),
        };
        match applied {
            Ok(receipt) => {
                conn.run("RELEASE SAVEPOINT one_commit").await?;
                outcomes.push(Ok(receipt));
            }
            Err(failure) => {
                conn.run("ROLLBACK TO SAVEPOINT one_commit").await?;
                conn.run("RELEASE SAVEPOINT one_commit").await?;
                outcomes.push(Err(match failure {
                    Failure::Refused(refusal) => refusal,
                    // Give up the whole batch, releasing its locks for whoever waits on them;
                    // the caller runs its commits again one by one.
                    Failure::Store(error @ DbError::Transient(_)) => return Err(error.into()),
                    Failure::Store(error) => store_error(&error),
                }));
            }
        }
    }
    Ok((outcomes, Committed::Not))
}

/// Runs a batch fast, and carefully if a commit in it failed; `Err` if the careful run failed
/// too (the caller then commits one by one).
pub(super) async fn commit_grouped(
    conn: &mut impl Connection,
    dialect: Dialect,
    batch: &[Job],
    ids: &mut OrderIds,
) -> Result<Vec<Result<Receipt, DomainError>>, DbError> {
    match commit_batch(conn, dialect, batch, Mode::Fast, ids).await {
        Ok(outcomes) => Ok(outcomes),
        Err(BatchFailure::Redo) => match commit_batch(conn, dialect, batch, Mode::Careful, ids)
            .await
        {
            Ok(outcomes) => Ok(outcomes),
            Err(BatchFailure::Store(error)) => Err(error),
            Err(BatchFailure::Redo) => Err(DbError::other("a careful batch asked to be redone")),
        },
        Err(BatchFailure::Store(error)) => Err(error),
    }
}

/// Commits one job in its own transaction, running it again after a transient failure.
pub(super) async fn commit_alone(
    conn: &mut impl Connection,
    dialect: Dialect,
    job: &Job,
) -> Result<Receipt, DomainError> {
    let mut attempt = 1;
    loop {
        let one = std::slice::from_ref(job);
        // A careful batch draws no ids.
        match commit_batch(conn, dialect, one, Mode::Careful, &mut OrderIds::default()).await {
            Ok(mut outcomes) => return outcomes.remove(0),
            Err(BatchFailure::Store(error))
                if matches!(error, DbError::Transient(_)) && attempt < TRANSIENT_ATTEMPTS =>
            {
                attempt += 1
            }
            Err(BatchFailure::Store(error)) => return Err(store_error(&error)),
            Err(BatchFailure::Redo) => return Err(ErrorCode::Internal.into()),
        }
    }
}
