//! Persistence: the database is the truth.
//!
//! Writes go through the one committer ([`commit`]); reads use a pool of read connections and
//! never block the writer (SQLite in WAL mode).

pub mod audit;
pub mod commit;
mod rows;
mod sql;

use std::str::FromStr;
use std::sync::Arc;

use sqlx::any::AnyPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{AnyConnection, AnyPool, ConnectOptions, Connection, Executor};
use tokio::sync::{Notify, mpsc, oneshot};

use crate::config::Config;
use crate::domain::ad::{Ad, AdStatus, AdType};
use crate::domain::order::{Order, OrderStatus, Side};
use crate::domain::wallet::Wallet;
use crate::domain::{DomainError, ErrorCode};

pub use commit::{Commit, NewEvent, Op, Receipt, RowRef, WalletLoad};
pub use rows::{
    Audience, EventRecord, IdempotencyRecord, MessageRecord, OrderFilter, TransactionRecord,
    UserRecord, WebhookRecord,
};

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("DATABASE_URL {0:?} names no supported store: use sqlite://FILE or postgres://…")]
    UnsupportedUrl(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("opening the committer's connection failed: {0}")]
    Writer(#[from] sql::DbError),
    #[error("starting the committer failed: {0}")]
    Thread(#[from] std::io::Error),
    #[error("rebuilding the actors from the store failed: {0}")]
    Rebuild(String),
}

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

/// The handle to the database: a read pool and the committer's queue.
#[derive(Clone)]
pub struct Store {
    read: AnyPool,
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
            Dialect::Postgres => sqlx::migrate!("./migrations/postgres").run(&read).await?,
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
                let writer = sql::Sqlite::open(&path, synchronous)?;
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
                let mut writer = AnyConnection::connect(url).await?;
                prepare(&mut writer, dialect, synchronous).await?;
                tokio::spawn(commit::run(
                    writer,
                    dialect,
                    jobs,
                    wallet_loads,
                    batch_max,
                    events_committed.clone(),
                ));
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

    /// Pending orders whose payment window closed at or before `now`, oldest deadline first.
    pub async fn overdue_orders(&self, now: i64, limit: i64) -> Result<Vec<i64>, DomainError> {
        sqlx::query_scalar(
            "SELECT id FROM orders WHERE status = 'pending' AND expires_at <= $1              ORDER BY expires_at LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.read)
        .await
        .map_err(read_error)
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

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.read).await.is_ok()
    }

    pub async fn user_by_token_hash(&self, hash: &str) -> Result<Option<UserRecord>, DomainError> {
        rows::user_by_token(&self.read, hash).await
    }

    pub async fn user(&self, id: i64) -> Result<Option<UserRecord>, DomainError> {
        rows::user(&self.read, id).await
    }

    pub async fn users_count(&self) -> Result<i64, DomainError> {
        sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.read)
            .await
            .map_err(read_error)
    }

    /// The users who made ads that are not closed, for the read model.
    pub async fn makers_of_open_ads(&self) -> Result<Vec<UserRecord>, DomainError> {
        rows::makers_of_open_ads(&self.read).await
    }

    /// The wallet with the counts of active orders its rules need.
    pub async fn wallet(&self, user_id: i64) -> Result<Option<Wallet>, DomainError> {
        rows::wallet(&self.read, user_id).await
    }

    /// The wallet as the committer sees it between two batches, with the place in its order of
    /// commits that the read includes (what a wallet actor's cache starts from).
    pub async fn load_wallet(&self, user_id: i64) -> Result<Option<WalletLoad>, DomainError> {
        to_committer(
            &self.loads,
            "Too many reads are waiting, retry later",
            |reply| commit::Load { user_id, reply },
        )
        .await
    }

    pub async fn ad(&self, id: i64) -> Result<Option<Ad>, DomainError> {
        rows::ad(&self.read, id).await
    }

    pub async fn open_ads(&self) -> Result<Vec<Ad>, DomainError> {
        rows::open_ads(&self.read).await
    }

    pub async fn order(&self, id: i64) -> Result<Option<Order>, DomainError> {
        rows::order(&self.read, id).await
    }

    /// Orders that still hold escrow: what the service re-arms at start.
    pub async fn active_orders(&self) -> Result<Vec<Order>, DomainError> {
        rows::active_orders(&self.read).await
    }

    pub async fn orders_page(
        &self,
        filter: OrderFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Order>, i64), DomainError> {
        rows::orders_page(&self.read, filter, limit, offset).await
    }

    pub async fn messages(
        &self,
        order_id: i64,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<MessageRecord>, DomainError> {
        rows::messages(&self.read, order_id, after_id, limit).await
    }

    pub async fn transaction_by_reference(
        &self,
        reference: &str,
    ) -> Result<Option<TransactionRecord>, DomainError> {
        rows::transaction_by_reference(&self.read, reference).await
    }

    pub async fn events(
        &self,
        audience: Audience,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<EventRecord>, DomainError> {
        rows::events(&self.read, audience, after_id, limit).await
    }

    pub async fn events_of_kinds(
        &self,
        kinds: &[&str],
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<EventRecord>, DomainError> {
        rows::events_of_kinds(&self.read, kinds, after_id, limit).await
    }

    pub async fn last_event_id(&self) -> Result<i64, DomainError> {
        rows::last_event_id(&self.read).await
    }

    pub async fn webhooks(&self) -> Result<Vec<WebhookRecord>, DomainError> {
        rows::webhooks(&self.read).await
    }

    pub async fn blocks(&self) -> Result<Vec<(i64, i64, i64)>, DomainError> {
        rows::blocks(&self.read).await
    }

    pub async fn blocked_by(
        &self,
        blocker_id: i64,
    ) -> Result<Vec<(i64, String, i64)>, DomainError> {
        rows::blocked_by(&self.read, blocker_id).await
    }

    pub async fn taker_cancels(&self, since: i64) -> Result<Vec<(i64, i64)>, DomainError> {
        rows::taker_cancels(&self.read, since).await
    }

    pub async fn rated(&self, rater_id: i64, order_ids: &[i64]) -> Result<Vec<i64>, DomainError> {
        rows::rated(&self.read, rater_id, order_ids).await
    }

    pub async fn idempotency_key(
        &self,
        principal: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, DomainError> {
        rows::idempotency_key(&self.read, principal, key).await
    }

    pub async fn audit(&self) -> Result<audit::Report, DomainError> {
        audit::run(&self.read).await
    }

    /// Counts for the gauges: active orders by status and side, ads by type and status (every
    /// combination, zeros included, so a gauge falls back to zero).
    pub async fn gauges(&self) -> Result<Gauges, DomainError> {
        let orders: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT status, side, COUNT(*) FROM orders              WHERE status IN ('pending', 'paid_by_buyer', 'disputed') GROUP BY status, side",
        )
        .fetch_all(&self.read)
        .await
        .map_err(read_error)?;
        let ads: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT ad_type, status, COUNT(*) FROM ads GROUP BY ad_type, status")
                .fetch_all(&self.read)
                .await
                .map_err(read_error)?;
        let count = |rows: &[(String, String, i64)], a: &str, b: &str| {
            rows.iter()
                .find(|(x, y, _)| x == a && y == b)
                .map_or(0, |(_, _, n)| *n)
        };
        let mut gauges = Gauges::default();
        for status in OrderStatus::ACTIVE {
            for side in [Side::Withdraw, Side::Deposit] {
                let n = count(&orders, status.as_str(), side.as_str());
                gauges
                    .active_orders
                    .push((status.as_str(), side.as_str(), n));
                if status == OrderStatus::Disputed {
                    gauges.open_disputes += n;
                }
            }
        }
        for ad_type in [AdType::Buy, AdType::Sell] {
            for status in [AdStatus::Active, AdStatus::Paused, AdStatus::Closed] {
                let n = count(&ads, ad_type.as_str(), status.as_str());
                gauges.ads.push((ad_type.as_str(), status.as_str(), n));
            }
        }
        Ok(gauges)
    }

    /// `(open, idle)` connections of the read pool.
    pub fn pool_usage(&self) -> (u32, usize) {
        (self.read.size(), self.read.num_idle())
    }

    /// Commits waiting for the committer.
    pub fn commit_queue_depth(&self) -> usize {
        self.commits.max_capacity() - self.commits.capacity()
    }
}

/// What the gauges show, counted in the database.
#[derive(Debug, Clone, Default)]
pub struct Gauges {
    pub active_orders: Vec<(&'static str, &'static str, i64)>,
    pub open_disputes: i64,
    pub ads: Vec<(&'static str, &'static str, i64)>,
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

/// A read that failed is the store's fault, never the caller's.
pub(crate) fn read_error(error: sqlx::Error) -> DomainError {
    tracing::error!(%error, "store read failed");
    DomainError::new(
        ErrorCode::Overloaded,
        "The store is unavailable, retry later",
    )
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
    }
    Ok(())
}
