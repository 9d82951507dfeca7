//! The one committer: every state change reaches the database through here.
//!
//! A [`Commit`] is the statements of one state change. The committer owns the only write
//! connection, drains up to [`COMMIT_BATCH_MAX`](crate::config::COMMIT_BATCH_MAX) queued commits,
//! runs them in one transaction (one fsync) with a savepoint around each, so a commit whose guard
//! fails rolls back alone without failing its neighbours, and answers each only after the
//! transaction is durable.
//!
//! On SQLite the committer runs on a thread of its own with a rusqlite connection, so a batch's
//! statements run where the database handle lives; on PostgreSQL it is a task with sqlx's
//! connection. Both are a [`Connection`](super::sql::Connection).

use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot};

use crate::domain::ad::{Ad, AdStatus};
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::order::{Order, OrderStatus};
use crate::domain::wallet::{TransactionKind, Wallet, WalletDelta};
use crate::domain::{DomainError, ErrorCode, Kopecks, Millis, Role};
use crate::telemetry;

use super::Dialect;
use super::sql::{Connection, DbError, query};

/// Which row a ledger entry points at: none, a known id, or the row inserted earlier in the
/// same commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowRef {
    None,
    Id(i64),
    Inserted,
}

/// One statement (or a few that belong together) of a state change.
#[derive(Debug, Clone)]
pub enum Op {
    InsertUser {
        name: String,
        role: Role,
        token_hash: String,
        now: Millis,
    },
    InsertAd(Box<Ad>),
    /// Rewrites an ad's terms and status; refused once the ad is closed.
    UpdateAd(Box<Ad>),
    /// Closes an ad: its remaining capacity is released, a sell ad's reserve goes back to the maker.
    CloseAd {
        ad_id: i64,
        maker_id: i64,
        now: Millis,
    },
    InsertOrder(Box<Order>),
    /// Takes `amount` of an ad's capacity for a new order.
    TakeCapacity {
        ad_id: i64,
        amount: Kopecks,
    },
    /// Gives a cancelled order's amount back: to the ad's capacity, or, if the ad is closed, to
    /// its released amount (and a sell ad's maker gets the escrow back).
    ReturnCapacity {
        ad_id: i64,
        maker_id: i64,
        amount: Kopecks,
        order_id: i64,
        now: Millis,
    },
    /// Writes the order's new state, only if its status is still `from` (the claim).
    ClaimOrder {
        from: OrderStatus,
        order: Box<Order>,
    },
    /// Moves a wallet's balances (guarded never to go negative) with its ledger row.
    MoveMoney {
        user_id: i64,
        kind: &'static str,
        delta: WalletDelta,
        order: RowRef,
        ad: RowRef,
        tx: RowRef,
        now: Millis,
        refusal: ErrorCode,
    },
    InsertTransaction {
        user_id: i64,
        kind: TransactionKind,
        amount: Kopecks,
        reference: String,
        wagering_multiplier: i64,
        now: Millis,
    },
    InsertMessage {
        order_id: i64,
        sender_id: Option<i64>,
        sender_role: &'static str,
        message: String,
        now: Millis,
    },
    /// Records a rating (once per rater and order) and adds it to the ratee's figures.
    InsertRating {
        order_id: i64,
        rater_id: i64,
        ratee_id: i64,
        rating: i64,
        comment: Option<String>,
        now: Millis,
    },
    /// Counts a completed order for both its parties.
    CountCompleted {
        user_ids: [i64; 2],
    },
    /// Serialises changes of one wallet across nodes (a row lock on PostgreSQL; SQLite has one
    /// writer already) for checks that span several rows.
    LockWallet {
        user_id: i64,
    },
    /// Refuses a deposit taker who already holds `max` active deposit orders.
    CheckDepositLimit {
        taker_id: i64,
        max: i64,
    },
    /// Records an order event (a transition or a chat message); it cannot fail, so it joins the
    /// batch's deferred writes.
    Event(Box<NewEvent>),
    /// Registers a webhook; it starts after the newest event.
    InsertWebhook {
        url: String,
        secret: String,
        now: Millis,
    },
    /// Removes a webhook (kept as a row, no longer delivered).
    DeleteWebhook {
        id: i64,
        now: Millis,
    },
    /// Takes a webhook for delivery until `until`; refused (`NOT_FOUND`) if another node holds it
    /// or nothing is due.
    LeaseWebhook {
        id: i64,
        until: Millis,
        now: Millis,
    },
    /// Records that the webhook acknowledged every event up to `cursor`.
    WebhookDelivered {
        id: i64,
        cursor: i64,
    },
    /// Records a failed delivery and when to try again; gives the lease up.
    WebhookFailed {
        id: i64,
        attempts: i64,
        next_attempt_at: Millis,
        error: String,
    },
    /// Gives a webhook's lease up.
    ReleaseWebhook {
        id: i64,
    },
    /// `blocker` no longer trades with `blocked` (a repeat changes nothing).
    Block {
        blocker_id: i64,
        blocked_id: i64,
        now: Millis,
    },
    Unblock {
        blocker_id: i64,
        blocked_id: i64,
    },
    /// Records an idempotency key with the change its request made; refused
    /// (`IDEMPOTENCY_KEY_REUSED`) if the key is already there.
    RecordIdempotencyKey(IdempotencyKey),
    /// Stores the first answer to a keyed request (never over another request's key).
    RecordIdempotentAnswer {
        key: IdempotencyKey,
        status: i64,
        body: String,
    },
    /// Forgets keys recorded before `before`.
    PurgeIdempotencyKeys {
        before: Millis,
    },
}

/// An order event as the change that causes it writes it.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub kind: &'static str,
    pub order: RowRef,
    pub message: RowRef,
    pub buyer_id: i64,
    pub seller_id: i64,
    pub disputed: bool,
    pub actor_id: Option<i64>,
    pub actor_role: &'static str,
    pub from_status: Option<&'static str>,
    pub to_status: Option<&'static str>,
    pub reason: Option<String>,
    /// The Order or Message JSON after the change (an order created in the same commit has id 0
    /// here: readers take the id from the row).
    pub payload: String,
    pub now: Millis,
}

/// The statements of one state change, committed all or nothing.
#[derive(Debug, Clone, Default)]
pub struct Commit {
    pub ops: Vec<Op>,
}

impl Commit {
    pub fn new(ops: Vec<Op>) -> Self {
        Self { ops }
    }

    /// Records the request's idempotency key, if it has one, with the change it makes: a
    /// crash then keeps both or neither.
    pub fn keyed(mut self, key: Option<IdempotencyKey>) -> Self {
        self.ops.extend(key.map(Op::RecordIdempotencyKey));
        self
    }

    fn has_events(&self) -> bool {
        self.ops.iter().any(|op| matches!(op, Op::Event(_)))
    }

    /// The existing rows this commit may change, so a batch can lock them all up front.
    fn rows(&self, rows: &mut LockSet) {
        for op in &self.ops {
            match op {
                Op::UpdateAd(ad) => rows.ads.push(ad.id),
                Op::CloseAd {
                    ad_id, maker_id, ..
                }
                | Op::ReturnCapacity {
                    ad_id, maker_id, ..
                } => {
                    rows.ads.push(*ad_id);
                    rows.wallets.push(*maker_id);
                }
                Op::TakeCapacity { ad_id, .. } => rows.ads.push(*ad_id),
                Op::ClaimOrder { order, .. } => rows.orders.push(order.id),
                Op::MoveMoney { user_id, .. } | Op::LockWallet { user_id } => {
                    rows.wallets.push(*user_id)
                }
                Op::InsertRating { ratee_id, .. } => rows.users.push(*ratee_id),
                Op::CountCompleted { user_ids } => rows.users.extend(user_ids),
                Op::InsertUser { .. }
                | Op::InsertAd(_)
                | Op::InsertOrder(_)
                | Op::InsertTransaction { .. }
                | Op::InsertMessage { .. }
                | Op::CheckDepositLimit { .. }
                | Op::Event(_)
                | Op::InsertWebhook { .. }
                | Op::DeleteWebhook { .. }
                | Op::LeaseWebhook { .. }
                | Op::WebhookDelivered { .. }
                | Op::WebhookFailed { .. }
                | Op::ReleaseWebhook { .. }
                | Op::Block { .. }
                | Op::Unblock { .. }
                | Op::RecordIdempotencyKey(_)
                | Op::RecordIdempotentAnswer { .. }
                | Op::PurgeIdempotencyKeys { .. } => {}
            }
        }
    }
}

/// Rows a batch locks before it changes any, always in the same order (ads, wallets, orders,
/// users; each by ascending id), so two nodes' batches can never wait for each other in a cycle.
/// The lock is `FOR NO KEY UPDATE`, what PostgreSQL's own non-key updates take: it excludes the
/// other writers of the row but not the `KEY SHARE` locks of foreign-key checks (inserting an
/// order or a ledger row locks its user and ad that way, outside this order).
#[derive(Debug, Default)]
struct LockSet {
    ads: Vec<i64>,
    wallets: Vec<i64>,
    orders: Vec<i64>,
    users: Vec<i64>,
}

impl LockSet {
    fn of(batch: &[Job]) -> LockSet {
        let mut rows = LockSet::default();
        for job in batch {
            job.commit.rows(&mut rows);
        }
        for ids in [
            &mut rows.ads,
            &mut rows.wallets,
            &mut rows.orders,
            &mut rows.users,
        ] {
            ids.sort_unstable();
            ids.dedup();
        }
        rows
    }

    async fn lock(&self, conn: &mut impl Connection) -> Result<(), DbError> {
        let tables = [
            ("ads", "id", &self.ads),
            ("wallets", "user_id", &self.wallets),
            ("orders", "id", &self.orders),
            ("users", "id", &self.users),
        ];
        for (table, key, ids) in tables {
            for chunk in ids.chunks(DEFERRED_CHUNK) {
                let placeholders: Vec<String> =
                    (1..=chunk.len()).map(|i| format!("${i}")).collect();
                let sql = format!(
                    "SELECT {key} FROM {table} WHERE {key} IN ({}) ORDER BY {key} FOR NO KEY UPDATE",
                    placeholders.join(", ")
                );
                let mut query = query(sql);
                for id in chunk {
                    query = query.bind(*id);
                }
                query.execute(&mut *conn).await?;
            }
        }
        Ok(())
    }
}

/// What a committed change produced: the ids its inserts were given, in order, and the version
/// it left the ad it changed at (an actor's cache skips changes older than what it loaded).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Receipt {
    pub inserted_ids: Vec<i64>,
    pub ad_version: Option<i64>,
    /// The commit's place in this committer's order: a wallet loaded at [`WalletLoad::seq`]
    /// includes exactly the commits before it.
    pub seq: u64,
}

impl Receipt {
    pub fn first_id(&self) -> i64 {
        self.inserted_ids.first().copied().unwrap_or_default()
    }
}

pub(crate) struct Job {
    pub commit: Commit,
    pub reply: oneshot::Sender<Result<Receipt, DomainError>>,
}

/// A wallet read by the committer between two batches, so the commits it includes are known:
/// exactly those whose [`Receipt::seq`] is below `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletLoad {
    pub wallet: Wallet,
    pub seq: u64,
}

pub(crate) struct Load {
    pub user_id: i64,
    pub reply: oneshot::Sender<Result<Option<WalletLoad>, DomainError>>,
}

/// Reads the wallets asked for, on the committer's connection outside any transaction.
async fn load_wallets(conn: &mut impl Connection, loads: &mut Vec<Load>, seq: u64) {
    for load in loads.drain(..) {
        let read = query(super::read::WALLET_SELECT.as_str())
            .bind(load.user_id)
            .fetch_optional::<super::read::WalletRow>(&mut *conn)
            .await;
        let answer = match read {
            Ok(row) => Ok(row.map(|row| WalletLoad {
                wallet: super::read::wallet_from(row),
                seq,
            })),
            Err(error) => Err(store_error(&error)),
        };
        let _ = load.reply.send(answer);
    }
}

/// Why a commit did not apply.
enum Failure {
    /// A guard refused: the change would break a rule. Answered as this error.
    Refused(DomainError),
    Store(DbError),
}

impl From<DbError> for Failure {
    fn from(error: DbError) -> Self {
        Failure::Store(error)
    }
}

fn refused(code: ErrorCode) -> Failure {
    Failure::Refused(code.into())
}

/// Runs the committer until every sender of commits is gone. Wallet loads waiting when a batch
/// starts are read first, so each sees every commit answered before it and none after.
pub(crate) async fn run(
    mut conn: impl Connection,
    dialect: Dialect,
    mut jobs: mpsc::Receiver<Job>,
    mut loads: mpsc::Receiver<Load>,
    batch_max: usize,
    events_committed: std::sync::Arc<tokio::sync::Notify>,
) {
    let mut batch = Vec::with_capacity(batch_max);
    let mut waiting_loads = Vec::new();
    let mut next_seq: u64 = 0;
    loop {
        tokio::select! {
            biased;
            job = jobs.recv() => match job {
                Some(job) => batch.push(job),
                None => break,
            },
            Some(load) = loads.recv() => waiting_loads.push(load),
        }
        while let Ok(load) = loads.try_recv() {
            waiting_loads.push(load);
        }
        load_wallets(&mut conn, &mut waiting_loads, next_seq).await;
        if batch.is_empty() {
            continue;
        }
        while batch.len() < batch_max {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        let outcomes = match commit_grouped(&mut conn, dialect, &batch).await {
            Ok(outcomes) => outcomes,
            Err(error) => {
                // The batch's transaction itself failed: retry each commit alone, so one
                // cannot fail its neighbours.
                tracing::warn!(%error, size = batch.len(), "group commit failed, retrying one by one");
                let mut outcomes = Vec::with_capacity(batch.len());
                for job in &batch {
                    outcomes.push(commit_alone(&mut conn, dialect, job).await);
                }
                outcomes
            }
        };
        metrics::histogram!(telemetry::STORE_COMMIT_DURATION)
            .record(started.elapsed().as_secs_f64());
        metrics::histogram!(telemetry::STORE_BATCH_SIZE).record(batch.len() as f64);
        let wrote_events = batch
            .iter()
            .zip(&outcomes)
            .any(|(job, outcome)| outcome.is_ok() && job.commit.has_events());
        if wrote_events {
            events_committed.notify_one();
        }
        for (job, mut outcome) in batch.drain(..).zip(outcomes) {
            let label = match &mut outcome {
                Ok(receipt) => {
                    receipt.seq = next_seq;
                    "committed"
                }
                Err(refusal) if refusal.code == ErrorCode::Overloaded => "failed",
                Err(_) => "refused",
            };
            next_seq += 1;
            metrics::counter!(telemetry::STORE_COMMITS, "outcome" => label).increment(1);
            let _ = job.reply.send(outcome);
        }
    }
}

fn store_error(error: &DbError) -> DomainError {
    tracing::error!(%error, "store failure");
    DomainError::new(
        ErrorCode::Overloaded,
        "The store is unavailable, retry later",
    )
}

/// How a batch runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
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
enum BatchFailure {
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
async fn commit_batch(
    conn: &mut impl Connection,
    dialect: Dialect,
    batch: &[Job],
    mode: Mode,
) -> Result<Vec<Result<Receipt, DomainError>>, BatchFailure> {
    conn.run("BEGIN").await?;
    let outcomes = match apply_batch(conn, dialect, batch, mode).await {
        Ok(outcomes) => conn.run("COMMIT").await.map(|()| {
            conn.committed();
            outcomes
        }),
        Err(BatchFailure::Store(error)) => Err(error),
        Err(BatchFailure::Redo) => {
            conn.run("ROLLBACK").await?;
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
            let _ = conn.run("ROLLBACK").await;
            Err(error.into())
        }
    }
}

/// The statements of a batch, inside its transaction.
async fn apply_batch(
    conn: &mut impl Connection,
    dialect: Dialect,
    batch: &[Job],
    mode: Mode,
) -> Result<Vec<Result<Receipt, DomainError>>, BatchFailure> {
    if dialect == Dialect::Postgres {
        LockSet::of(batch).lock(conn).await?;
    }
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut deferred = Deferred::default();
    for job in batch {
        let mut own = if mode == Mode::Fast {
            Deferred::grouping_claims()
        } else {
            Deferred::default()
        };
        if mode == Mode::Fast {
            match apply(conn, dialect, &job.commit, &mut own).await {
                Ok(receipt) => {
                    deferred.merge(own);
                    outcomes.push(Ok(receipt));
                }
                Err(_) => return Err(BatchFailure::Redo),
            }
            continue;
        }
        conn.run("SAVEPOINT one_commit").await?;
        let applied = match apply(conn, dialect, &job.commit, &mut own).await {
            Ok(receipt) => own
                .flush(conn, dialect)
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
    if mode == Mode::Fast {
        deferred
            .flush(conn, dialect)
            .await
            .map_err(|_| BatchFailure::Redo)?;
    }
    Ok(outcomes)
}

/// Runs a batch fast, and carefully if a commit in it failed; `Err` if the careful run failed
/// too (the caller then commits one by one).
async fn commit_grouped(
    conn: &mut impl Connection,
    dialect: Dialect,
    batch: &[Job],
) -> Result<Vec<Result<Receipt, DomainError>>, DbError> {
    match commit_batch(conn, dialect, batch, Mode::Fast).await {
        Ok(outcomes) => Ok(outcomes),
        Err(BatchFailure::Redo) => match commit_batch(conn, dialect, batch, Mode::Careful).await {
            Ok(outcomes) => Ok(outcomes),
            Err(BatchFailure::Store(error)) => Err(error),
            Err(BatchFailure::Redo) => Err(DbError::other("a careful batch asked to be redone")),
        },
        Err(BatchFailure::Store(error)) => Err(error),
    }
}

/// Commits one job in its own transaction, running it again after a transient failure.
async fn commit_alone(
    conn: &mut impl Connection,
    dialect: Dialect,
    job: &Job,
) -> Result<Receipt, DomainError> {
    let mut attempt = 1;
    loop {
        match commit_batch(conn, dialect, std::slice::from_ref(job), Mode::Careful).await {
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

fn resolve(row: RowRef, last_inserted: Option<i64>) -> Option<i64> {
    match row {
        RowRef::None => None,
        RowRef::Id(id) => Some(id),
        RowRef::Inserted => last_inserted,
    }
}

/// How often one commit runs again after a deadlock or serialization failure.
const TRANSIENT_ATTEMPTS: u32 = 3;

fn json_text(map: &Map<String, Value>) -> String {
    Value::Object(map.clone()).to_string()
}

async fn apply(
    conn: &mut impl Connection,
    dialect: Dialect,
    commit: &Commit,
    deferred: &mut Deferred,
) -> Result<Receipt, Failure> {
    let mut receipt = Receipt::default();
    for op in &commit.ops {
        let last = receipt.inserted_ids.last().copied();
        apply_op(conn, dialect, op, last, &mut receipt, deferred).await?;
    }
    Ok(receipt)
}

/// Applies one op, adding what it produced to `receipt`.
async fn apply_op(
    conn: &mut impl Connection,
    dialect: Dialect,
    op: &Op,
    last: Option<i64>,
    receipt: &mut Receipt,
    deferred: &mut Deferred,
) -> Result<(), Failure> {
    match op {
        Op::InsertUser {
            name,
            role,
            token_hash,
            now,
        } => {
            let insert = query(
                "INSERT INTO users (name, role, token_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(name.clone())
            .bind(role.as_str())
            .bind(token_hash.clone())
            .bind(*now);
            let id = insert.fetch_one(&mut *conn).await?;
            query("INSERT INTO wallets (user_id) VALUES ($1)")
                .bind(id)
                .execute(&mut *conn)
                .await?;
            receipt.inserted_ids.push(id);
        }
        Op::InsertAd(ad) => {
            let insert = query(
                "INSERT INTO ads (maker_id, ad_type, fiat_currency, price, min_amount, max_amount, \
                 total_amount, available_amount, released_amount, payment_methods, \
                 payment_window_seconds, terms, payment_details, status, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $11, $12, $13, $14) RETURNING id",
            )
            .bind(ad.maker_id)
            .bind(ad.ad_type.as_str())
            .bind(ad.fiat_currency.clone())
            .bind(ad.price)
            .bind(ad.min_amount)
            .bind(ad.max_amount)
            .bind(ad.total_amount)
            .bind(ad.available_amount)
            .bind(serde_json::to_string(&ad.payment_methods).unwrap_or_default())
            .bind(ad.payment_window_seconds)
            .bind(ad.terms.clone())
            .bind(ad.payment_details.as_ref().map(json_text))
            .bind(ad.status.as_str())
            .bind(ad.created_at_ms);
            receipt
                .inserted_ids
                .push(insert.fetch_one(&mut *conn).await?);
            receipt.ad_version = Some(1);
        }
        Op::UpdateAd(ad) => {
            let version: Option<i64> = query(
                "UPDATE ads SET price = $1, min_amount = $2, max_amount = $3, payment_methods = $4, \
                 terms = $5, status = $6, version = version + 1 \
                 WHERE id = $7 AND status <> 'closed' RETURNING version",
            )
            .bind(ad.price)
            .bind(ad.min_amount)
            .bind(ad.max_amount)
            .bind(serde_json::to_string(&ad.payment_methods).unwrap_or_default())
            .bind(ad.terms.clone())
            .bind(ad.status.as_str())
            .bind(ad.id)
            .fetch_optional(&mut *conn)
            .await?;
            receipt.ad_version = Some(version.ok_or_else(|| refused(ErrorCode::AdNotActive))?);
        }
        Op::CloseAd { ad_id, now, .. } => {
            let lock = format!(
                "SELECT maker_id, ad_type, available_amount, status FROM ads WHERE id = $1{}",
                dialect.for_update()
            );
            let row: Option<(i64, String, i64, String)> =
                query(lock).bind(*ad_id).fetch_optional(&mut *conn).await?;
            let Some((maker_id, ad_type, available, status)) = row else {
                return Err(refused(ErrorCode::NotFound));
            };
            if status == AdStatus::Closed.as_str() {
                return Err(refused(ErrorCode::AdNotActive));
            }
            let version: i64 = query(
                "UPDATE ads SET status = 'closed', released_amount = released_amount + available_amount, \
                 available_amount = 0, version = version + 1 WHERE id = $1 RETURNING version",
            )
            .bind(*ad_id)
            .fetch_one(&mut *conn)
            .await?;
            receipt.ad_version = Some(version);
            if ad_type == "sell" && available > 0 {
                move_money(
                    conn,
                    maker_id,
                    "ad_unreserve",
                    &WalletDelta::unfreeze(available),
                    [None, Some(*ad_id), None],
                    *now,
                    ErrorCode::Internal,
                    deferred,
                )
                .await?;
            }
        }
        Op::InsertOrder(order) => {
            let insert = query(
                "INSERT INTO orders (ad_id, side, buyer_id, seller_id, taker_id, usdt_amount, \
                 fiat_amount, fiat_currency, price, payment_method, payment_details, status, \
                 created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
                 RETURNING id",
            )
            .bind(order.ad_id)
            .bind(order.side.as_str())
            .bind(order.buyer_id)
            .bind(order.seller_id)
            .bind(order.taker_id)
            .bind(order.usdt_amount)
            .bind(order.fiat_amount)
            .bind(order.fiat_currency.clone())
            .bind(order.price)
            .bind(order.payment_method.clone())
            .bind(json_text(&order.payment_details))
            .bind(order.status.as_str())
            .bind(order.created_at)
            .bind(order.expires_at);
            match insert.fetch_one(&mut *conn).await {
                Ok(id) => receipt.inserted_ids.push(id),
                Err(DbError::Unique(_)) => {
                    return Err(refused(ErrorCode::ActiveWithdrawOrderExists));
                }
                Err(error) => return Err(error.into()),
            }
        }
        Op::TakeCapacity { ad_id, amount } => {
            let version: Option<i64> = query(
                "UPDATE ads SET available_amount = available_amount - $1, version = version + 1 \
                 WHERE id = $2 AND status <> 'closed' AND available_amount >= $1 RETURNING version",
            )
            .bind(*amount)
            .bind(*ad_id)
            .fetch_optional(&mut *conn)
            .await?;
            let Some(version) = version else {
                let status: Option<String> = query("SELECT status FROM ads WHERE id = $1")
                    .bind(*ad_id)
                    .fetch_optional(&mut *conn)
                    .await?;
                return Err(refused(match status.as_deref() {
                    Some("closed") | None => ErrorCode::AdNotActive,
                    _ => ErrorCode::AmountExceedsAvailable,
                }));
            };
            receipt.ad_version = Some(version);
        }
        Op::ReturnCapacity {
            ad_id,
            amount,
            order_id,
            now,
            ..
        } => {
            // One statement: a closed ad takes the amount as released, an open one as capacity.
            let row: Option<(i64, String, String, i64)> = query(
                "UPDATE ads SET \
                   available_amount = available_amount + CASE WHEN status = 'closed' THEN 0 ELSE $1 END, \
                   released_amount = released_amount + CASE WHEN status = 'closed' THEN $1 ELSE 0 END, \
                   version = version + 1 \
                 WHERE id = $2 RETURNING maker_id, ad_type, status, version",
            )
            .bind(*amount)
            .bind(*ad_id)
            .fetch_optional(&mut *conn)
            .await?;
            let Some((maker_id, ad_type, status, version)) = row else {
                return Err(refused(ErrorCode::Internal));
            };
            receipt.ad_version = Some(version);
            if status == AdStatus::Closed.as_str() && ad_type == "sell" {
                move_money(
                    conn,
                    maker_id,
                    "escrow_refund",
                    &WalletDelta::unfreeze(*amount),
                    [Some(*order_id), Some(*ad_id), None],
                    *now,
                    ErrorCode::Internal,
                    deferred,
                )
                .await?;
            }
        }
        Op::ClaimOrder { from, order } if deferred.group_claims => {
            deferred.claims.push((*from, order.clone()));
        }
        Op::ClaimOrder { from, order } => {
            if claim_all(conn, dialect, &[(*from, order.clone())]).await? == 0 {
                return Err(refused(ErrorCode::InvalidOrderStatus));
            }
        }
        Op::MoveMoney {
            user_id,
            kind,
            delta,
            order,
            ad,
            tx,
            now,
            refusal,
        } => {
            let refs = [
                resolve(*order, last),
                resolve(*ad, last),
                resolve(*tx, last),
            ];
            move_money(conn, *user_id, kind, delta, refs, *now, *refusal, deferred).await?;
        }
        Op::InsertTransaction {
            user_id,
            kind,
            amount,
            reference,
            wagering_multiplier,
            now,
        } => {
            let insert = query(
                "INSERT INTO wallet_transactions (user_id, kind, amount, reference, \
                 wagering_multiplier, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(*user_id)
            .bind(kind.as_str())
            .bind(*amount)
            .bind(reference.clone())
            .bind(*wagering_multiplier)
            .bind(*now);
            match insert.fetch_one(&mut *conn).await {
                Ok(id) => receipt.inserted_ids.push(id),
                Err(DbError::Unique(_)) => {
                    return Err(refused(ErrorCode::DuplicateReference));
                }
                Err(error) => return Err(error.into()),
            }
        }
        Op::InsertMessage {
            order_id,
            sender_id,
            sender_role,
            message,
            now,
        } => {
            let insert = query(
                "INSERT INTO messages (order_id, sender_id, sender_role, message, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(*order_id)
            .bind(*sender_id)
            .bind(*sender_role)
            .bind(message.clone())
            .bind(*now);
            receipt
                .inserted_ids
                .push(insert.fetch_one(&mut *conn).await?);
        }
        Op::InsertRating {
            order_id,
            rater_id,
            ratee_id,
            rating,
            comment,
            now,
        } => {
            let inserted = query(
                "INSERT INTO ratings (order_id, rater_id, ratee_id, rating, comment, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(*order_id)
            .bind(*rater_id)
            .bind(*ratee_id)
            .bind(*rating)
            .bind(comment.clone())
            .bind(*now)
            .execute(&mut *conn)
            .await;
            match inserted {
                Ok(_) => {}
                Err(DbError::Unique(_)) => {
                    return Err(refused(ErrorCode::AlreadyRated));
                }
                Err(error) => return Err(error.into()),
            }
            let figures = deferred.users.entry(*ratee_id).or_default();
            figures.rating_sum += rating;
            figures.ratings_count += 1;
        }
        Op::CountCompleted { user_ids } => {
            for id in user_ids {
                deferred.users.entry(*id).or_default().orders_count += 1;
            }
        }
        Op::LockWallet { user_id } => {
            if dialect == Dialect::Postgres {
                query("SELECT user_id FROM wallets WHERE user_id = $1 FOR NO KEY UPDATE")
                    .bind(*user_id)
                    .execute(&mut *conn)
                    .await?;
            }
        }
        Op::CheckDepositLimit { taker_id, max } => {
            let active: i64 = query(
                "SELECT COUNT(*) FROM orders WHERE taker_id = $1 AND side = 'deposit' \
                 AND status IN ('pending', 'paid_by_buyer', 'disputed')",
            )
            .bind(*taker_id)
            .fetch_one(&mut *conn)
            .await?;
            if active >= *max {
                return Err(refused(ErrorCode::ActiveOrderLimit));
            }
        }
        Op::Event(event) => {
            let order_id = resolve(event.order, last).unwrap_or_default();
            let message_id = resolve(event.message, last);
            deferred.events.push(EventRow {
                order_id,
                message_id,
                event: event.clone(),
            });
        }
        Op::InsertWebhook { url, secret, now } => {
            let insert = query(
                "INSERT INTO webhooks (url, secret, cursor, created_at) \
                 VALUES ($1, $2, (SELECT COALESCE(MAX(id), 0) FROM events), $3) RETURNING id",
            )
            .bind(url.clone())
            .bind(secret.clone())
            .bind(*now);
            receipt
                .inserted_ids
                .push(insert.fetch_one(&mut *conn).await?);
        }
        Op::DeleteWebhook { id, now } => {
            let deleted =
                query("UPDATE webhooks SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL")
                    .bind(*now)
                    .bind(*id)
                    .execute(&mut *conn)
                    .await?;
            if deleted == 0 {
                return Err(refused(ErrorCode::NotFound));
            }
        }
        Op::LeaseWebhook { id, until, now } => {
            let leased = query(
                "UPDATE webhooks SET lease_until = $1 WHERE id = $2 AND deleted_at IS NULL \
                 AND lease_until <= $3 AND next_attempt_at <= $3",
            )
            .bind(*until)
            .bind(*id)
            .bind(*now)
            .execute(&mut *conn)
            .await?;
            if leased == 0 {
                return Err(refused(ErrorCode::NotFound));
            }
        }
        Op::WebhookDelivered { id, cursor } => {
            query(
                "UPDATE webhooks SET cursor = $1, attempts = 0, delivered = delivered + 1, \
                 last_error = NULL WHERE id = $2 AND cursor < $1",
            )
            .bind(*cursor)
            .bind(*id)
            .execute(&mut *conn)
            .await?;
        }
        Op::WebhookFailed {
            id,
            attempts,
            next_attempt_at,
            error,
        } => {
            query(
                "UPDATE webhooks SET attempts = $1, next_attempt_at = $2, last_error = $3, \
                 lease_until = 0 WHERE id = $4",
            )
            .bind(*attempts)
            .bind(*next_attempt_at)
            .bind(error.clone())
            .bind(*id)
            .execute(&mut *conn)
            .await?;
        }
        Op::ReleaseWebhook { id } => {
            query("UPDATE webhooks SET lease_until = 0 WHERE id = $1")
                .bind(*id)
                .execute(&mut *conn)
                .await?;
        }
        Op::Block {
            blocker_id,
            blocked_id,
            now,
        } => {
            query(
                "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (blocker_id, blocked_id) DO NOTHING",
            )
            .bind(*blocker_id)
            .bind(*blocked_id)
            .bind(*now)
            .execute(&mut *conn)
            .await?;
        }
        Op::Unblock {
            blocker_id,
            blocked_id,
        } => {
            query("DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2")
                .bind(*blocker_id)
                .bind(*blocked_id)
                .execute(&mut *conn)
                .await?;
        }
        Op::RecordIdempotencyKey(key) => {
            let inserted = query(
                "INSERT INTO idempotency_keys (principal, key, fingerprint, created_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(key.principal.clone())
            .bind(key.key.clone())
            .bind(key.fingerprint.clone())
            .bind(key.now)
            .execute(&mut *conn)
            .await;
            match inserted {
                Ok(_) => {}
                Err(DbError::Unique(_)) => {
                    return Err(refused(ErrorCode::IdempotencyKeyReused));
                }
                Err(error) => return Err(error.into()),
            }
        }
        Op::RecordIdempotentAnswer { key, status, body } => {
            query(
                "INSERT INTO idempotency_keys (principal, key, fingerprint, status, body, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (principal, key) DO UPDATE \
                 SET status = excluded.status, body = excluded.body \
                 WHERE idempotency_keys.fingerprint = excluded.fingerprint \
                 AND idempotency_keys.status IS NULL",
            )
            .bind(key.principal.clone())
            .bind(key.key.clone())
            .bind(key.fingerprint.clone())
            .bind(*status)
            .bind(body.clone())
            .bind(key.now)
            .execute(&mut *conn)
            .await?;
        }
        Op::PurgeIdempotencyKeys { before } => {
            query("DELETE FROM idempotency_keys WHERE created_at < $1")
                .bind(*before)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// Applies `delta` to a wallet and records its ledger row. A change that takes from `available`
/// (or touches the platform totals) runs now, guarded never to go negative, and is refused with
/// `refusal`; one that only gives to `available` or releases `frozen` cannot fail and joins the
/// batch's deferred writes. The ledger row is always deferred.
#[allow(clippy::too_many_arguments)]
async fn move_money(
    conn: &mut impl Connection,
    user_id: i64,
    kind: &'static str,
    delta: &WalletDelta,
    [order_id, ad_id, tx_id]: [Option<i64>; 3],
    now: Millis,
    refusal: ErrorCode,
    deferred: &mut Deferred,
) -> Result<(), Failure> {
    let cannot_fail = delta.available >= 0
        && delta.deposits_total == 0
        && delta.wagering_required == 0
        && delta.wagered == 0;
    if cannot_fail {
        let balance = deferred.wallets.entry(user_id).or_default();
        balance.0 += delta.available;
        balance.1 += delta.frozen;
    } else {
        let moved = query(
            "UPDATE wallets SET available = available + $1, frozen = frozen + $2, \
             deposits_total = deposits_total + $3, wagering_required = wagering_required + $4, \
             wagered = wagered + $5 \
             WHERE user_id = $6 AND available + $1 >= 0 AND frozen + $2 >= 0",
        )
        .bind(delta.available)
        .bind(delta.frozen)
        .bind(delta.deposits_total)
        .bind(delta.wagering_required)
        .bind(delta.wagered)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
        if moved == 0 {
            return Err(refused(refusal));
        }
    }
    if delta.available != 0 || delta.frozen != 0 {
        deferred.ledger.push(LedgerRow {
            user_id,
            kind,
            d_available: delta.available,
            d_frozen: delta.frozen,
            order_id,
            ad_id,
            tx_id,
            created_at: now,
        });
    }
    Ok(())
}

/// Claims orders with one statement: each row moves to its new state only if its status is still
/// the one its transition started from. Answers how many claims held; in a fast batch anything
/// short of all of them reruns the batch carefully, where the loser hears `INVALID_ORDER_STATUS`.
async fn claim_all(
    conn: &mut impl Connection,
    dialect: Dialect,
    claims: &[(OrderStatus, Box<Order>)],
) -> Result<u64, DbError> {
    let sql = format!(
        "WITH v(id, from_status, status, cancel_reason, payment_details, paid_at, completed_at, \
           cancelled_at, dispute_opened_by, dispute_reason, dispute_opened_at, dispute_resolution, \
           dispute_resolved_by, dispute_resolved_at, dispute_note) AS (VALUES {}) \
         UPDATE orders SET status = v.status, cancel_reason = v.cancel_reason, \
           payment_details = v.payment_details, paid_at = v.paid_at, completed_at = v.completed_at, \
           cancelled_at = v.cancelled_at, dispute_opened_by = v.dispute_opened_by, \
           dispute_reason = v.dispute_reason, dispute_opened_at = v.dispute_opened_at, \
           dispute_resolution = v.dispute_resolution, dispute_resolved_by = v.dispute_resolved_by, \
           dispute_resolved_at = v.dispute_resolved_at, dispute_note = v.dispute_note \
         FROM v WHERE orders.id = v.id AND orders.status = v.from_status",
        placeholders(claims.len(), 15, dialect)
    );
    let mut query = query(sql);
    for (from, order) in claims {
        let dispute = order.dispute.as_ref();
        query = query
            .bind(order.id)
            .bind(from.as_str())
            .bind(order.status.as_str())
            .bind(order.cancel_reason.map(|r| r.as_str()))
            .bind(json_text(&order.payment_details))
            .bind(order.paid_at)
            .bind(order.completed_at)
            .bind(order.cancelled_at)
            .bind(dispute.map(|d| d.opened_by))
            .bind(dispute.and_then(|d| d.reason.clone()))
            .bind(dispute.map(|d| d.opened_at))
            .bind(dispute.and_then(|d| d.resolution).map(|r| r.as_str()))
            .bind(dispute.and_then(|d| d.resolved_by))
            .bind(dispute.and_then(|d| d.resolved_at))
            .bind(dispute.and_then(|d| d.note.clone()));
    }
    query.execute(&mut *conn).await
}

/// A ledger row waiting for its batch's one insert.
#[derive(Debug, Clone)]
struct LedgerRow {
    user_id: i64,
    kind: &'static str,
    d_available: i64,
    d_frozen: i64,
    order_id: Option<i64>,
    ad_id: Option<i64>,
    tx_id: Option<i64>,
    created_at: Millis,
}

/// An event waiting for its batch's one insert, its order and message ids known.
#[derive(Debug, Clone)]
struct EventRow {
    order_id: i64,
    message_id: Option<i64>,
    event: Box<NewEvent>,
}

/// A user's public figures changed by a batch.
#[derive(Debug, Clone, Copy, Default)]
struct UserFigures {
    orders_count: i64,
    rating_sum: i64,
    ratings_count: i64,
}

/// The writes that cannot fail, gathered across a batch and written with one multi-row
/// statement per table: ledger rows, credits and releases of wallets, users' figures.
#[derive(Debug, Default)]
struct Deferred {
    /// Whether order claims wait for the batch's one guarded update (fast batches) or run at
    /// once (careful batches, where a refused claim must roll back only its own commit).
    group_claims: bool,
    /// `(from, order)`: the order's new state, if it is still in `from`.
    claims: Vec<(OrderStatus, Box<Order>)>,
    ledger: Vec<LedgerRow>,
    events: Vec<EventRow>,
    /// `(d_available, d_frozen)` by wallet.
    wallets: std::collections::BTreeMap<i64, (i64, i64)>,
    users: std::collections::BTreeMap<i64, UserFigures>,
}

/// The PostgreSQL advisory lock that orders event ids by commit.
const EVENT_ORDER_LOCK: i64 = 0x7032_7065_7665;

/// Most rows written by one deferred statement (well under both databases' bind limits).
const DEFERRED_CHUNK: usize = 512;

/// The multi-row statements that write `rows`. On SQLite, runs whose lengths are powers of two
/// (largest first), so the statements come in a few shapes that stay prepared: preparing a
/// shape never seen cost a tenth of the committer's time when every batch had its own row
/// count. On PostgreSQL every statement is a round trip, so as few as can be.
fn chunked<T>(rows: &[T], dialect: Dialect) -> Vec<&[T]> {
    match dialect {
        Dialect::Sqlite => pow2_chunks(rows).collect(),
        Dialect::Postgres => rows.chunks(DEFERRED_CHUNK).collect(),
    }
}

/// Splits `rows` into runs whose lengths are powers of two, largest first, at most
/// [`DEFERRED_CHUNK`].
fn pow2_chunks<T>(mut rows: &[T]) -> impl Iterator<Item = &[T]> {
    std::iter::from_fn(move || {
        if rows.is_empty() {
            return None;
        }
        let len = 1usize << rows.len().min(DEFERRED_CHUNK).ilog2();
        let (chunk, rest) = rows.split_at(len);
        rows = rest;
        Some(chunk)
    })
}

/// `($1, $2, …), ($n+1, …), …`: `rows` tuples of `width` placeholders.
///
/// SQLite gets anonymous `?`: a named parameter is bound by asking SQLite its name, which walks a
/// list of all of them, so a statement with thousands of `$N` costs time quadratic in their number.
fn placeholders(rows: usize, width: usize, dialect: Dialect) -> String {
    (0..rows)
        .map(|row| {
            let cells: Vec<String> = (1..=width)
                .map(|col| match dialect {
                    Dialect::Sqlite => "?".to_string(),
                    Dialect::Postgres => format!("${}", row * width + col),
                })
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Deferred {
    fn grouping_claims() -> Deferred {
        Deferred {
            group_claims: true,
            ..Deferred::default()
        }
    }

    fn merge(&mut self, other: Deferred) {
        self.claims.extend(other.claims);
        self.ledger.extend(other.ledger);
        self.events.extend(other.events);
        for (user, (available, frozen)) in other.wallets {
            let balance = self.wallets.entry(user).or_default();
            balance.0 += available;
            balance.1 += frozen;
        }
        for (user, figures) in other.users {
            let mine = self.users.entry(user).or_default();
            mine.orders_count += figures.orders_count;
            mine.rating_sum += figures.rating_sum;
            mine.ratings_count += figures.ratings_count;
        }
    }

    async fn flush(&self, conn: &mut impl Connection, dialect: Dialect) -> Result<(), DbError> {
        let wallets: Vec<_> = self.wallets.iter().collect();
        for chunk in chunked(&wallets, dialect) {
            let sql = format!(
                "WITH v(user_id, d_available, d_frozen) AS (VALUES {}) \
                 UPDATE wallets SET available = wallets.available + v.d_available, \
                 frozen = wallets.frozen + v.d_frozen FROM v WHERE wallets.user_id = v.user_id",
                placeholders(chunk.len(), 3, dialect)
            );
            let mut query = query(sql);
            for (user, (available, frozen)) in chunk {
                query = query.bind(**user).bind(*available).bind(*frozen);
            }
            let updated = query.execute(&mut *conn).await?;
            if updated != chunk.len() as u64 {
                return Err(DbError::other(format!(
                    "{} of {} deferred wallet changes found their wallet",
                    updated,
                    chunk.len()
                )));
            }
        }
        for chunk in chunked(&self.ledger, dialect) {
            let sql = format!(
                "INSERT INTO ledger (user_id, kind, d_available, d_frozen, order_id, ad_id, tx_id, \
                 created_at) VALUES {}",
                placeholders(chunk.len(), 8, dialect)
            );
            let mut query = query(sql);
            for row in chunk {
                query = query
                    .bind(row.user_id)
                    .bind(row.kind)
                    .bind(row.d_available)
                    .bind(row.d_frozen)
                    .bind(row.order_id)
                    .bind(row.ad_id)
                    .bind(row.tx_id)
                    .bind(row.created_at);
            }
            query.execute(&mut *conn).await?;
        }
        for chunk in chunked(&self.claims, dialect) {
            let claimed = claim_all(conn, dialect, chunk).await?;
            if claimed != chunk.len() as u64 {
                return Err(DbError::other(format!(
                    "{claimed} of {} grouped order claims held",
                    chunk.len()
                )));
            }
        }
        let users: Vec<_> = self.users.iter().collect();
        for chunk in chunked(&users, dialect) {
            let sql = format!(
                "WITH v(id, orders_count, rating_sum, ratings_count) AS (VALUES {}) \
                 UPDATE users SET orders_count = users.orders_count + v.orders_count, \
                 rating_sum = users.rating_sum + v.rating_sum, \
                 ratings_count = users.ratings_count + v.ratings_count FROM v WHERE users.id = v.id",
                placeholders(chunk.len(), 4, dialect)
            );
            let mut query = query(sql);
            for (user, figures) in chunk {
                query = query
                    .bind(**user)
                    .bind(figures.orders_count)
                    .bind(figures.rating_sum)
                    .bind(figures.ratings_count);
            }
            query.execute(&mut *conn).await?;
        }
        if dialect == Dialect::Postgres && !self.events.is_empty() {
            // Last, so the lock is held only for this insert and the commit. Event ids must grow in commit order, or a reader that has seen id n could miss a
            // smaller id committed later by another node. Holding this lock from the events'
            // insert to the commit makes the ids of different transactions follow their commits.
            query("SELECT pg_advisory_xact_lock($1)")
                .bind(EVENT_ORDER_LOCK)
                .execute(&mut *conn)
                .await?;
        }
        for chunk in chunked(&self.events, dialect) {
            let sql = format!(
                "INSERT INTO events (kind, order_id, message_id, buyer_id, seller_id, disputed, \
                 actor_id, actor_role, from_status, to_status, reason, payload, created_at) \
                 VALUES {}",
                placeholders(chunk.len(), 13, dialect)
            );
            let mut query = query(sql);
            for row in chunk {
                let event = &row.event;
                query = query
                    .bind(event.kind)
                    .bind(row.order_id)
                    .bind(row.message_id)
                    .bind(event.buyer_id)
                    .bind(event.seller_id)
                    .bind(i64::from(event.disputed))
                    .bind(event.actor_id)
                    .bind(event.actor_role)
                    .bind(event.from_status)
                    .bind(event.to_status)
                    .bind(event.reason.clone())
                    .bind(event.payload.clone())
                    .bind(event.now);
            }
            query.execute(&mut *conn).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::store::Store;

    async fn store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::TempDir::new().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        (Store::open(&Config::for_database(url)).await.unwrap(), dir)
    }

    fn new_user(name: &str) -> Commit {
        Commit::new(vec![Op::InsertUser {
            name: name.into(),
            role: Role::User,
            token_hash: format!("hash of {name}"),
            now: 0,
        }])
    }

    fn deposit(user_id: i64, reference: &str, amount: i64) -> Commit {
        let delta = TransactionKind::Deposit.delta(amount, 5);
        Commit::new(vec![
            Op::InsertTransaction {
                user_id,
                kind: TransactionKind::Deposit,
                amount,
                reference: reference.into(),
                wagering_multiplier: 5,
                now: 0,
            },
            Op::MoveMoney {
                user_id,
                kind: "deposit",
                delta,
                order: RowRef::None,
                ad: RowRef::None,
                tx: RowRef::Inserted,
                now: 0,
                refusal: ErrorCode::InsufficientBalance,
            },
        ])
    }

    /// A batch whose commits all hold runs fast; one refused commit sends the batch to the
    /// careful run, where it rolls back alone and its neighbours commit as if it were not there.
    /// Run on both kinds of connection: rusqlite (SQLite's committer) and sqlx (PostgreSQL's).
    async fn batch_with_a_refusal(conn: &mut impl Connection, user: i64, run: &str) {
        let job = |commit| Job {
            commit,
            reply: oneshot::channel().0,
        };
        let clean: Vec<Job> = (0..5)
            .map(|i| job(deposit(user, &format!("{run} clean {i}"), 10)))
            .collect();
        assert!(
            commit_batch(conn, Dialect::Sqlite, &clean, Mode::Fast)
                .await
                .is_ok()
        );

        let mut mixed: Vec<Job> = (0..20)
            .map(|i| job(deposit(user, &format!("{run} ref {i}"), 10)))
            .collect();
        mixed.insert(7, job(deposit(user, "taken", 100)));
        let fast = commit_batch(conn, Dialect::Sqlite, &mixed, Mode::Fast).await;
        assert!(
            matches!(fast, Err(BatchFailure::Redo)),
            "a fast batch with a refusal must rerun"
        );
        let outcomes = commit_grouped(conn, Dialect::Sqlite, &mixed).await.unwrap();
        assert_eq!(
            outcomes[7].as_ref().unwrap_err().code,
            ErrorCode::DuplicateReference
        );
        let committed = outcomes.iter().enumerate().filter(|(i, _)| *i != 7);
        assert!(committed.clone().all(|(_, outcome)| outcome.is_ok()));
    }

    #[tokio::test]
    async fn a_refused_commit_does_not_fail_its_neighbours() {
        use sqlx::Connection as _;
        let (store, dir) = store().await;
        let user = store.commit(new_user("first")).await.unwrap().first_id();
        store.commit(deposit(user, "taken", 100)).await.unwrap();
        let path = dir.path().join("t.db");
        let mut lite = super::super::sql::Sqlite::open(&path, "FULL").unwrap();
        batch_with_a_refusal(&mut lite, user, "lite").await;
        sqlx::any::install_default_drivers();
        let url = format!("sqlite://{}", path.display());
        let mut any = sqlx::AnyConnection::connect(&url).await.unwrap();
        batch_with_a_refusal(&mut any, user, "any").await;
        any.close().await.unwrap();

        let wallet = store.wallet(user).await.unwrap().unwrap();
        let each = 50 + 200;
        assert_eq!(
            (wallet.available, wallet.deposits_total),
            (100 + 2 * each, 100 + 2 * each)
        );
        assert!(store.audit().await.unwrap().ok);
    }

    /// Deferred credits and ledger rows of many commits add up exactly, one statement per table.
    #[tokio::test]
    async fn deferred_writes_of_a_batch_add_up() {
        let (store, _dir) = store().await;
        let user = store.commit(new_user("rich")).await.unwrap().first_id();
        store.commit(deposit(user, "seed", 1_000)).await.unwrap();
        let credits = (0..50).map(|i| {
            Commit::new(vec![Op::MoveMoney {
                user_id: user,
                kind: "win",
                delta: WalletDelta::credit(i),
                order: RowRef::None,
                ad: RowRef::None,
                tx: RowRef::None,
                now: 0,
                refusal: ErrorCode::Internal,
            }])
        });
        for outcome in futures_util::future::join_all(credits.map(|c| store.commit(c))).await {
            outcome.unwrap();
        }
        let wallet = store.wallet(user).await.unwrap().unwrap();
        assert_eq!(wallet.available, 1_000 + (0..50).sum::<i64>());
        // The ledger matches the wallet (invariant 2); the credits were not platform wins, so
        // only invariant 4 (money made from nothing) reports them.
        let report = store.audit().await.unwrap();
        assert!(
            report.violations.iter().all(|v| v.invariant == 4),
            "{:?}",
            report.violations
        );
    }

    /// A wallet load includes exactly the commits numbered below its `seq`: replaying onto it
    /// the deltas of the commits numbered at or above it gives the database's wallet, whatever
    /// the interleaving of loads and commits.
    #[tokio::test]
    async fn a_wallet_load_includes_exactly_the_commits_before_its_place() {
        let (store, _dir) = store().await;
        let user = store.commit(new_user("counted")).await.unwrap().first_id();
        let credit = |amount| {
            Commit::new(vec![Op::MoveMoney {
                user_id: user,
                kind: "win",
                delta: WalletDelta::credit(amount),
                order: RowRef::None,
                ad: RowRef::None,
                tx: RowRef::None,
                now: 0,
                refusal: ErrorCode::Internal,
            }])
        };
        let commits = (1..=200).map(|amount| {
            let store = store.clone();
            let commit = credit(amount);
            tokio::spawn(async move {
                let seq = store.commit(commit).await.unwrap().seq;
                (seq, amount)
            })
        });
        let loads = (0..50).map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.load_wallet(user).await.unwrap().unwrap() })
        });
        let (commits, loads) = tokio::join!(
            futures_util::future::join_all(commits),
            futures_util::future::join_all(loads)
        );
        let commits: Vec<(u64, i64)> = commits.into_iter().map(Result::unwrap).collect();
        let total: i64 = (1..=200).sum();
        for load in loads.into_iter().map(Result::unwrap) {
            let after: i64 = commits
                .iter()
                .filter(|(seq, _)| *seq >= load.seq)
                .map(|(_, amount)| amount)
                .sum();
            assert_eq!(load.wallet.available + after, total, "load at {}", load.seq);
        }
        let last = store.load_wallet(user).await.unwrap().unwrap();
        assert_eq!(last.wallet.available, total);
        assert!(commits.iter().all(|(seq, _)| *seq < last.seq));
    }

    #[test]
    fn deferred_rows_go_in_few_shapes() {
        let lengths =
            |n: usize| -> Vec<usize> { pow2_chunks(&vec![0u8; n]).map(<[u8]>::len).collect() };
        assert_eq!(lengths(0), Vec::<usize>::new());
        assert_eq!(lengths(1), vec![1]);
        assert_eq!(lengths(37), vec![32, 4, 1]);
        assert_eq!(lengths(1300), vec![512, 512, 256, 16, 4]);
    }
}
