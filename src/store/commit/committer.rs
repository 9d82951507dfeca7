//! The committer's loop: it drains the queue into batches, commits each, and answers every
//! commit only once its transaction is durable. Wallet reads wait for the gap between two
//! batches, so each includes exactly the commits answered before it.

use std::sync::Arc;

use tokio::sync::{Notify, mpsc};

use super::batch::{commit_alone, commit_grouped, store_error};
use super::op::Receipt;
use super::order_ids::OrderIds;
use super::queue::{Job, Load, WalletLoad};
use crate::domain::{DomainError, ErrorCode};
use crate::store::connection::{Connection, FromRow, query};
use crate::store::dialect::Dialect;
use crate::store::schema::{WALLET_SELECT, WalletRow, wallet_from};
use crate::telemetry;

/// Runs the committer until every sender of commits is gone. Wallet loads waiting when a batch
/// starts are read first, so each sees every commit answered before it and none after.
pub(crate) async fn run(
    mut conn: impl Connection,
    dialect: Dialect,
    mut jobs: mpsc::Receiver<Job>,
    mut loads: mpsc::Receiver<Load>,
    batch_max: usize,
    events_committed: Arc<Notify>,
) {
    let mut batch = Vec::with_capacity(batch_max);
    let mut waiting_loads = Vec::new();
    let mut next_seq: u64 = 0;
    let mut ids = OrderIds::default();
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
        let outcomes = run_batch(&mut conn, dialect, &batch, &mut ids).await;
        answer(
            std::mem::take(&mut batch),
            outcomes,
            &mut next_seq,
            &events_committed,
        );
    }
}

/// A batch fast, carefully if a commit failed, and one commit at a time if that failed too.
pub(super) async fn run_batch<C: Connection>(
    conn: &mut C,
    dialect: Dialect,
    jobs: &[Job],
    ids: &mut OrderIds,
) -> Vec<Result<Receipt, DomainError>> {
    let started = std::time::Instant::now();
    let outcomes = match commit_grouped(conn, dialect, jobs, ids).await {
        Ok(outcomes) => outcomes,
        Err(error) => {
            tracing::warn!(%error, size = jobs.len(), "group commit failed, retrying one by one");
            let mut outcomes = Vec::with_capacity(jobs.len());
            for job in jobs {
                outcomes.push(commit_alone(conn, dialect, job).await);
            }
            outcomes
        }
    };
    record(started, jobs.len());
    outcomes
}

/// Answers each commit of a batch that ended, in order, with its place.
pub(super) fn answer(
    batch: Vec<Job>,
    outcomes: Vec<Result<Receipt, DomainError>>,
    next_seq: &mut u64,
    events_committed: &Notify,
) {
    let wrote_events = batch
        .iter()
        .zip(&outcomes)
        .any(|(job, outcome)| outcome.is_ok() && job.commit.has_events());
    if wrote_events {
        events_committed.notify_one();
    }
    for (job, mut outcome) in batch.into_iter().zip(outcomes) {
        if let Ok(receipt) = &mut outcome {
            receipt.seq = *next_seq;
        }
        *next_seq += 1;
        count(&outcome);
        let _ = job.reply.send(outcome);
    }
}

/// Records how long a batch took and how many commits it held.
pub(super) fn record(started: std::time::Instant, size: usize) {
    metrics::histogram!(telemetry::STORE_COMMIT_DURATION).record(started.elapsed().as_secs_f64());
    metrics::histogram!(telemetry::STORE_BATCH_SIZE).record(size as f64);
}

/// Counts a commit's outcome.
pub(super) fn count(outcome: &Result<Receipt, DomainError>) {
    let label = match outcome {
        Ok(_) => "committed",
        Err(refusal) if refusal.code == ErrorCode::Overloaded => "failed",
        Err(_) => "refused",
    };
    metrics::counter!(telemetry::STORE_COMMITS, "outcome" => label).increment(1);
}

/// Reads the wallets asked for, on the committer's connection outside any transaction, all in
/// one flight (PostgreSQL's connection sends them together, see [`Connection::pipeline`]): a
/// node that starts cold loads many wallets between two batches, and each read on its own
/// would cost the committer a round trip while the database waits for the next batch.
pub(super) async fn load_wallets(conn: &mut impl Connection, loads: &mut Vec<Load>, seq: u64) {
    if loads.is_empty() {
        return;
    }
    let reads = (loads.iter())
        .map(|load| query(WALLET_SELECT).bind(load.user_id))
        .collect();
    let answers = conn.pipeline(reads).await;
    for (load, read) in loads.drain(..).zip(answers) {
        let answer = match read.and_then(|row| row.map(WalletRow::from_row).transpose()) {
            Ok(row) => Ok(row.map(|row| WalletLoad {
                wallet: wallet_from(row),
                seq,
            })),
            Err(error) => Err(store_error(&error)),
        };
        let _ = load.reply.send(answer);
    }
}
