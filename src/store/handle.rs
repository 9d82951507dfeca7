//! The handle to the database: a pool of read connections and the committer's queues.

use std::str::FromStr;
use std::sync::Arc;

use sqlx::any::AnyPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{AnyConnection, AnyPool, ConnectOptions, Connection, Executor};
use tokio::sync::{Notify, mpsc, oneshot};

use super::commit::{self, Commit, Receipt, WalletLoad};
use super::connection::DbError;
use super::dialect::{Dialect, shifted};
use super::postgres::Postgres;
use super::sqlite;
use crate::config::Config;
use crate::domain::{DomainError, ErrorCode, UserId};

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("DATABASE_URL {0:?} names no supported store: use sqlite://FILE or postgres://…")]
    UnsupportedUrl(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("opening the committer's connection failed: {0}")]
    Writer(#[from] DbError),
    #[error("starting the committer failed: {0}")]
    Thread(#[from] std::io::Error),
    #[error("rebuilding the actors from the store failed: {0}")]
    Rebuild(String),
    #[error(
        "the events table holds ids above this PostgreSQL cluster's transaction ids (was the \
         database restored into a new cluster?): new events would sort before old ones; see the \
         README's PostgreSQL section"
    )]
    EventIdsAhead,
}

/// The handle to the database: a read pool and the committer's queue.
#[derive(Clone)]
pub struct Store {
    pub(super) read: AnyPool,
    dialect: Dialect,
    commits: mpsc::Sender<commit::Job>,
    /// Wallet reads the committer makes between batches.
    loads: mpsc::Sender<commit::Load>,
    /// Signalled after a batch that wrote events commits.
    events_committed: Arc<Notify>,
}

impl Store {
    /// Opens (creating if missing) the database, runs the migrations and starts the committer.
    pub async fn open(config: &Config) -> Result<Store, OpenError> {
        sqlx::any::install_default_drivers();
        let url = config.database_url.as_str();
        let dialect = Dialect::of(url).ok_or_else(|| OpenError::UnsupportedUrl(url.into()))?;
        if dialect == Dialect::Sqlite {
            // Create the file and switch it to WAL (a property of the file) once.
            let create = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .connect()
                .await?;
            create.close().await?;
        }
        let synchronous = if config.sqlite_synchronous_full {
            "FULL"
        } else {
            "NORMAL"
        };
        let read = AnyPoolOptions::new()
            .max_connections(crate::config::READ_POOL_SIZE)
            .acquire_timeout(crate::config::READ_POOL_ACQUIRE_TIMEOUT)
            .after_connect(move |conn, _| {
                Box::pin(async move { prepare(conn, dialect, synchronous).await })
            })
            .connect(url)
            .await?;
        match dialect {
            Dialect::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&read).await?,
            Dialect::Postgres => {
                sqlx::migrate!("./migrations/postgres").run(&read).await?;
                // Event ids grow with transaction ids (`postgres_event_id`): a database restored
                // into a cluster whose transaction ids start lower must not take new events.
                let sql = format!(
                    "SELECT COALESCE(MAX(id), 0) >= {} FROM events",
                    shifted("pg_snapshot_xmax(pg_current_snapshot())")
                );
                let ahead: bool = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .fetch_one(&read)
                    .await?;
                if ahead {
                    return Err(OpenError::EventIdsAhead);
                }
            }
        }
        let (commits, jobs) = mpsc::channel(crate::config::COMMIT_QUEUE_BOUND);
        let (loads, wallet_loads) = mpsc::channel(crate::config::COMMIT_QUEUE_BOUND);
        let events_committed = Arc::new(Notify::new());
        let batch_max = crate::config::COMMIT_BATCH_MAX;
        match dialect {
            Dialect::Sqlite => {
                // The committer owns SQLite's write connection on a thread of its own, where
                // every statement of a batch runs without a hand-off to another thread.
                let path = SqliteConnectOptions::from_str(url)?
                    .get_filename()
                    .to_owned();
                let writer = sqlite::Sqlite::open(&path, synchronous)?;
                let runtime = tokio::runtime::Builder::new_current_thread().build()?;
                let committed = events_committed.clone();
                std::thread::Builder::new()
                    .name("p2p-committer".into())
                    .spawn(move || {
                        runtime.block_on(commit::run(
                            writer,
                            dialect,
                            jobs,
                            wallet_loads,
                            batch_max,
                            committed,
                        ))
                    })?;
            }
            Dialect::Postgres => {
                // The committers' connections live on a thread of their own too: on the server's
                // runtime each of a batch's round trips waited its turn behind the HTTP tasks
                // that the last batch's answers had just woken (a `BEGIN` took 1.8 ms there).
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                let (opened, open) = oneshot::channel();
                let (url, committers) = (url.to_owned(), config.pg_committers);
                let committed = events_committed.clone();
                std::thread::Builder::new()
                    .name("p2p-committer".into())
                    .spawn(move || {
                        runtime.block_on(async move {
                            let mut writers = Vec::new();
                            for _ in 0..committers {
                                match open_committer(&url).await {
                                    Ok(writer) => writers.push(writer),
                                    Err(error) => {
                                        let _ = opened.send(Err(error));
                                        return;
                                    }
                                }
                            }
                            let _ = opened.send(Ok(()));
                            commit::run_parallel(
                                writers,
                                dialect,
                                jobs,
                                wallet_loads,
                                batch_max,
                                committed,
                            )
                            .await
                        })
                    })?;
                open.await.map_err(|_| {
                    OpenError::Writer(DbError::other("the committer's thread ended at start"))
                })??;
            }
        }
        Ok(Store {
            read,
            dialect,
            commits,
            loads,
            events_committed,
        })
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Wakes whoever waits for newly committed events (this node's commits only).
    pub fn events_committed(&self) -> Arc<Notify> {
        self.events_committed.clone()
    }

    /// Commits one state change; `Ok` means it is durable.
    pub async fn commit(&self, commit: Commit) -> Result<Receipt, DomainError> {
        to_committer(
            &self.commits,
            "Too many writes are waiting, retry later",
            |reply| commit::Job { commit, reply },
        )
        .await
    }

    pub async fn close(&self) {
        self.read.close().await;
    }

    /// The wallet as the committer sees it between two batches, with the place in its order of
    /// commits that the read includes (what a wallet actor's cache starts from).
    pub async fn load_wallet(&self, user_id: UserId) -> Result<Option<WalletLoad>, DomainError> {
        to_committer(
            &self.loads,
            "Too many reads are waiting, retry later",
            |reply| commit::Load { user_id, reply },
        )
        .await
    }

    /// Commits waiting for the committer.
    pub fn commit_queue_depth(&self) -> usize {
        self.commits.max_capacity() - self.commits.capacity()
    }
}

/// Queues what `job` builds around its reply for the committer and waits for the answer. A full
/// queue is `OVERLOADED` at once (`full` says what is waiting), never a wait.
async fn to_committer<J, T>(
    queue: &mpsc::Sender<J>,
    full: &str,
    job: impl FnOnce(oneshot::Sender<Result<T, DomainError>>) -> J,
) -> Result<T, DomainError> {
    let (reply, answer) = oneshot::channel();
    queue
        .try_send(job(reply))
        .map_err(|_| DomainError::new(ErrorCode::Overloaded, full))?;
    answer
        .await
        .map_err(|_| DomainError::new(ErrorCode::Overloaded, "The store stopped, retry later"))?
}

/// Every statement of a committer finds its rows by key. Its multi-row statements keep one text
/// whatever their row count, and are planned once for any rows (a generic plan, see
/// [`open_committer`]); planned while a table is small, that plan would scan the whole table for
/// ever after. No scan of a whole table: each takes its rows by index.
///
/// And no JIT compilation: a plan that must still scan a table (the audit's, a gauge's) costs
/// over 10^10 with scans off, far above `jit_above_cost`, and PostgreSQL compiled it with LLVM
/// at every run: the audit's check of invariant 9 took 2.56 s after a load run, 82 ms without
/// JIT, and every node audits every 30 s.
const PLAN_SETTINGS: &str = "SET enable_seqscan = off; SET jit = off";

/// A committer's connection: sqlx's own driver, not `Any`, for it binds arrays; the planner
/// settings of every connection, and a generic plan from the first run of each statement.
///
/// A committer's statements take their rows as arrays, in a few texts whatever the row count,
/// and find every row by key, so one plan serves any batch. Left to choose, PostgreSQL planned
/// them afresh at each run wherever the batch was small: with its row estimate for an array
/// (the array's length when planned for its values, 100 otherwise) a custom plan looks cheaper
/// than the generic one, so it never settled. Eight virtual users, one node: binding (that is,
/// planning) the locks' statement took 0.181 ms against 0.032 ms to run it, and the cold
/// statement's 0.391 ms against 0.349.
pub(super) async fn open_committer(url: &str) -> Result<Postgres, DbError> {
    let writer = Postgres::connect(url).await?;
    writer.batch_execute(PLAN_SETTINGS).await?;
    writer
        .batch_execute("SET plan_cache_mode = force_generic_plan")
        .await?;
    Ok(writer)
}

/// Per-connection settings: SQLite's durability, lock wait and foreign keys.
async fn prepare(
    conn: &mut AnyConnection,
    dialect: Dialect,
    synchronous: &str,
) -> Result<(), sqlx::Error> {
    if dialect == Dialect::Sqlite {
        let pragmas = format!(
            "PRAGMA synchronous = {synchronous}; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;"
        );
        conn.execute(sqlx::AssertSqlSafe(pragmas)).await?;
    } else {
        conn.execute(PLAN_SETTINGS).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::store::connection::query;
    use crate::store::test_db::postgres_store;

    #[tokio::test]
    async fn postgres_committers_plan_each_statement_once() {
        let Some((_store, url)) = postgres_store("the committers' planner settings").await else {
            return;
        };
        let mut conn = super::open_committer(&url).await.unwrap();
        let settings: (String, String, String) = query(
            "SELECT current_setting('enable_seqscan'), current_setting('jit'), \
             current_setting('plan_cache_mode')",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(
            settings,
            ("off".into(), "off".into(), "force_generic_plan".into())
        );
    }
}
