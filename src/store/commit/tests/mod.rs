//! The committer's batches, deferred writes and wallet reads, against a real database.

use tokio::sync::oneshot;

use super::batch::{BatchFailure, Mode, commit_batch, commit_grouped};
use super::order_ids::OrderIds;
use super::rows::pow2_chunks;
use super::{Commit, Job, MoneyMove, NewUser, NewWalletTransaction, Op, RowRef};
use crate::domain::wallet::{LedgerKind, TransactionKind, WalletDelta};
use crate::domain::{ErrorCode, Role};
use crate::domain::{Kopecks, UserId};
use crate::store::connection::Connection;
use crate::store::dialect::Dialect;
use crate::store::handle::{Store, open_committer};
use crate::store::postgres::Postgres;
use crate::store::test_db::{postgres_store, sqlite_store as store};

fn new_user(name: &str) -> Commit {
    Commit::new(vec![Op::InsertUser(NewUser {
        name: name.into(),
        role: Role::User,
        token_hash: format!("hash of {name}"),
        now: 0,
    })])
}

fn deposit(user_id: i64, reference: &str, amount: i64) -> Commit {
    let delta = TransactionKind::Deposit.delta(Kopecks(amount), 5);
    Commit::new(vec![
        Op::InsertTransaction(NewWalletTransaction {
            user_id: UserId(user_id),
            kind: TransactionKind::Deposit,
            amount: Kopecks(amount),
            reference: reference.into(),
            wagering_multiplier: 5,
            now: 0,
        }),
        Op::MoveMoney(MoneyMove {
            user_id: UserId(user_id),
            kind: LedgerKind::Deposit,
            delta,
            order: RowRef::None,
            ad: RowRef::None,
            tx: RowRef::Inserted,
            now: 0,
            refusal: ErrorCode::InsufficientBalance,
        }),
    ])
}

/// A batch whose commits all hold runs fast; one refused commit sends the batch to the
/// careful run, where it rolls back alone and its neighbours commit as if it were not there.
/// Run on both kinds of connection: rusqlite (SQLite's committer) and sqlx (PostgreSQL's).
async fn batch_with_a_refusal(conn: &mut impl Connection, user: i64, run: &str) {
    let clean: Vec<Job> = (0..5)
        .map(|i| job(deposit(user, &format!("{run} clean {i}"), 10)))
        .collect();
    assert!(
        commit_batch(
            conn,
            Dialect::Sqlite,
            &clean,
            Mode::Fast,
            &mut OrderIds::default()
        )
        .await
        .is_ok()
    );

    let mut mixed: Vec<Job> = (0..20)
        .map(|i| job(deposit(user, &format!("{run} ref {i}"), 10)))
        .collect();
    mixed.insert(7, job(deposit(user, "taken", 100)));
    let fast = commit_batch(
        conn,
        Dialect::Sqlite,
        &mixed,
        Mode::Fast,
        &mut OrderIds::default(),
    )
    .await;
    assert!(
        matches!(fast, Err(BatchFailure::Redo)),
        "a fast batch with a refusal must rerun"
    );
    let outcomes = commit_grouped(conn, Dialect::Sqlite, &mixed, &mut OrderIds::default())
        .await
        .unwrap();
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
    let mut lite = crate::store::sqlite::Sqlite::open(&path, "FULL").unwrap();
    batch_with_a_refusal(&mut lite, user, "lite").await;
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}", path.display());
    let mut any = sqlx::AnyConnection::connect(&url).await.unwrap();
    batch_with_a_refusal(&mut any, user, "any").await;
    any.close().await.unwrap();

    let wallet = store.wallet(UserId(user)).await.unwrap().unwrap();
    let each = 50 + 200;
    assert_eq!(
        (wallet.available.get(), wallet.deposits_total.get()),
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
        Commit::new(vec![Op::MoveMoney(MoneyMove {
            user_id: UserId(user),
            kind: LedgerKind::Win,
            delta: WalletDelta::credit(Kopecks(i)),
            order: RowRef::None,
            ad: RowRef::None,
            tx: RowRef::None,
            now: 0,
            refusal: ErrorCode::Internal,
        })])
    });
    for outcome in futures_util::future::join_all(credits.map(|c| store.commit(c))).await {
        outcome.unwrap();
    }
    let wallet = store.wallet(UserId(user)).await.unwrap().unwrap();
    assert_eq!(wallet.available, Kopecks(1_000 + (0..50).sum::<i64>()));
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
        Commit::new(vec![Op::MoveMoney(MoneyMove {
            user_id: UserId(user),
            kind: LedgerKind::Win,
            delta: WalletDelta::credit(amount),
            order: RowRef::None,
            ad: RowRef::None,
            tx: RowRef::None,
            now: 0,
            refusal: ErrorCode::Internal,
        })])
    };
    let commits = (1..=200).map(|amount| {
        let store = store.clone();
        let commit = credit(Kopecks(amount));
        tokio::spawn(async move {
            let seq = store.commit(commit).await.unwrap().seq;
            (seq, amount)
        })
    });
    let loads = (0..50).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.load_wallet(UserId(user)).await.unwrap().unwrap() })
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
        assert_eq!(
            load.wallet.available + Kopecks(after),
            Kopecks(total),
            "load at {}",
            load.seq
        );
    }
    let last = store.load_wallet(UserId(user)).await.unwrap().unwrap();
    assert_eq!(last.wallet.available, Kopecks(total));
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

/// A queued commit whose answer nobody awaits.
/// A committer's connection to `url`, as the server opens it.
async fn committer(url: &str) -> Postgres {
    open_committer(url).await.unwrap()
}

fn job(commit: Commit) -> Job {
    Job {
        commit,
        reply: oneshot::channel().0,
    }
}

/// One move of `user`'s money, refused as short of balance.
pub(super) fn money_op(user_id: i64, kind: LedgerKind, delta: WalletDelta) -> Op {
    Op::MoveMoney(MoneyMove {
        user_id: UserId(user_id),
        kind,
        delta,
        order: RowRef::None,
        ad: RowRef::None,
        tx: RowRef::None,
        now: 0,
        refusal: ErrorCode::InsufficientBalance,
    })
}

mod postgres;
