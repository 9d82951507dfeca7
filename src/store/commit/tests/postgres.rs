//! The committer's PostgreSQL batches: fast and careful runs, the deferred statements, their
//! guards, against a real server (skipped without `P2P_TEST_POSTGRES_URL`).

use super::*;

use crate::store::connection::DbError;

type Outcomes = Vec<Result<crate::store::commit::Receipt, crate::domain::DomainError>>;

/// Runs `batch` fast on PostgreSQL, drawing its new orders' ids itself.
async fn run_fast(conn: &mut impl Connection, batch: &[Job]) -> Result<Outcomes, BatchFailure> {
    commit_batch(
        conn,
        Dialect::Postgres,
        batch,
        Mode::Fast,
        &mut OrderIds::default(),
    )
    .await
}

/// Runs `batch` fast on PostgreSQL, carefully if a commit failed.
async fn run_grouped(conn: &mut impl Connection, batch: &[Job]) -> Result<Outcomes, DbError> {
    commit_grouped(conn, Dialect::Postgres, batch, &mut OrderIds::default()).await
}

/// Runs `batch` on PostgreSQL: its fast run must fail as a whole (the sums of its guarded rows do
/// not fit), and the outcomes are those of its careful run, commit by commit.
async fn redone_carefully(
    conn: &mut Postgres,
    batch: &[Job],
) -> Vec<Result<crate::store::commit::Receipt, crate::domain::DomainError>> {
    let fast = run_fast(conn, batch).await;
    assert!(
        matches!(fast, Err(BatchFailure::Redo)),
        "the sum must not fit"
    );
    run_grouped(conn, batch).await.unwrap()
}

/// A commit of one move of `user`'s money.
fn money_move(user_id: i64, kind: LedgerKind, delta: WalletDelta) -> Commit {
    Commit::new(vec![money_op(user_id, kind, delta)])
}

/// Freezes `amount` of `user`'s available balance: a move guarded never to go below zero.
fn freeze(user_id: i64, amount: i64) -> Commit {
    money_move(
        user_id,
        LedgerKind::EscrowFreeze,
        WalletDelta::freeze(Kopecks(amount)),
    )
}

/// Two integers of the one row `sql` selects, read on a connection of its own.
async fn stored_pair(url: &str, sql: String) -> (i64, i64) {
    use sqlx::Connection as _;
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

/// A PostgreSQL fast batch applies its guarded moves as one sum per wallet: two spends that fit
/// together commit fast; two that do not send the batch to run carefully, where the first
/// commits and the second alone is refused.
#[tokio::test]
async fn a_postgres_batch_guards_each_wallets_sum_and_judges_each_move_when_it_fails() {
    let test = "a_postgres_batch_guards_each_wallets_sum_and_judges_each_move_when_it_fails";
    let Some((store, url)) = postgres_store(test).await else {
        return;
    };
    let user = store.commit(new_user("spender")).await.unwrap().first_id();
    store.commit(deposit(user, "seed", 100)).await.unwrap();
    let mut conn = committer(&url).await;
    let fits = [job(freeze(user, 30)), job(freeze(user, 30))];
    let fast = run_fast(&mut conn, &fits).await;
    assert!(matches!(fast, Ok(ref outcomes) if outcomes.iter().all(Result::is_ok)));
    // 40 left: 30 + 30 does not fit together, though each would alone.
    let both = [job(freeze(user, 30)), job(freeze(user, 30))];
    let outcomes = redone_carefully(&mut conn, &both).await;
    assert!(outcomes[0].is_ok());
    assert_eq!(
        outcomes[1].as_ref().unwrap_err().code,
        ErrorCode::InsufficientBalance
    );
    let wallet = store.wallet(UserId(user)).await.unwrap().unwrap();
    assert_eq!(
        (wallet.available, wallet.frozen),
        (Kopecks(10), Kopecks(90))
    );
}

/// A fast batch sends its `COMMIT` in the flight of its last statements; when a check in them
/// does not hold, the flight commits none of the batch's writes (neither the cold rows written
/// before the check, nor the hot ones), and the connection serves the next batch.
#[tokio::test]
async fn a_postgres_batch_refused_in_its_last_flight_commits_nothing() {
    let test = "a_postgres_batch_refused_in_its_last_flight_commits_nothing";
    let Some((store, url)) = postgres_store(test).await else {
        return;
    };
    let user = store.commit(new_user("short")).await.unwrap().first_id();
    store.commit(deposit(user, "seed", 50)).await.unwrap();
    let mut conn = committer(&url).await;
    let stored = |sql: String| stored_pair(&url, sql);
    let wallet = format!("SELECT available, frozen FROM wallets WHERE user_id = {user}");
    let ledger = format!(
        "SELECT COUNT(*), COALESCE(SUM(d_frozen), 0)::BIGINT FROM ledger WHERE user_id = {user}"
    );
    let before = stored(ledger.clone()).await;
    // 30 + 30 of 50: the wallet's guard refuses the sum, after the ledger's rows were written.
    let short = [job(freeze(user, 30)), job(freeze(user, 30))];
    let fast = run_fast(&mut conn, &short).await;
    assert!(matches!(fast, Err(BatchFailure::Redo)));
    assert_eq!(stored(wallet.clone()).await, (50, 0));
    assert_eq!(stored(ledger.clone()).await, before);
    let fits = [job(freeze(user, 20))];
    let fast = run_fast(&mut conn, &fits).await;
    assert!(matches!(fast, Ok(ref outcomes) if outcomes.iter().all(Result::is_ok)));
    assert_eq!(stored(wallet).await, (30, 20));
    assert_eq!(stored(ledger).await, (before.0 + 1, before.1 + 20));
}

/// Returns `amount` of `user`'s frozen money to available: a move that cannot fail.
fn unfreeze(user_id: i64, amount: i64) -> Commit {
    money_move(
        user_id,
        LedgerKind::EscrowRefund,
        WalletDelta::unfreeze(Kopecks(amount)),
    )
}

/// A PostgreSQL fast batch moves each wallet's money with one update, guarded and unguarded
/// moves together: the guard counts the guarded sum alone, so spends that fit only with money
/// the batch gives back in between send it to run carefully, where each is judged in its turn.
#[tokio::test]
async fn a_postgres_batch_moves_a_wallets_guarded_and_unguarded_money_in_one_update() {
    let test = "a_postgres_batch_moves_a_wallets_guarded_and_unguarded_money_in_one_update";
    let Some((store, url)) = postgres_store(test).await else {
        return;
    };
    let user = store.commit(new_user("trader")).await.unwrap().first_id();
    store.commit(deposit(user, "seed", 100)).await.unwrap();
    let mut conn = committer(&url).await;
    let fits = [
        job(freeze(user, 30)),
        job(unfreeze(user, 10)),
        job(freeze(user, 30)),
    ];
    let fast = run_fast(&mut conn, &fits).await;
    assert!(matches!(fast, Ok(ref outcomes) if outcomes.iter().all(Result::is_ok)));
    // Read from the database: these batches went around the store.
    let sql = format!("SELECT available, frozen FROM wallets WHERE user_id = {user}");
    let stored = || stored_pair(&url, sql.clone());
    assert_eq!(stored().await, (50, 50));
    // 50 available: 40 + 20 fits only with the 10 given back between them.
    let tight = [
        job(freeze(user, 40)),
        job(unfreeze(user, 10)),
        job(freeze(user, 20)),
    ];
    let outcomes = redone_carefully(&mut conn, &tight).await;
    assert!(outcomes.iter().all(Result::is_ok));
    assert_eq!(stored().await, (0, 100));
}

/// A new maker and an ad of theirs (the domain's test ad, of `ad_type`), stored.
async fn stored_ad(
    store: &Store,
    ad_type: crate::domain::ad::AdType,
) -> (i64, crate::domain::ad::Ad) {
    let maker = store.commit(new_user("maker")).await.unwrap().first_id();
    let mut ad = crate::domain::ad::tests::ad();
    ad.maker_id = UserId(maker);
    ad.ad_type = ad_type;
    let commit = Commit::new(vec![Op::InsertAd(Box::new(ad.clone()))]);
    ad.id = crate::domain::AdId(store.commit(commit).await.unwrap().first_id());
    (maker, ad)
}

/// Runs `batch` fast on PostgreSQL, which must commit it whole, and answers each commit's ad
/// version.
async fn fast_versions(conn: &mut Postgres, batch: &[Job]) -> Vec<Option<i64>> {
    let outcomes = run_fast(conn, batch).await;
    let Ok(outcomes) = outcomes else {
        panic!("the batch commits fast");
    };
    (outcomes.iter())
        .map(|outcome| outcome.as_ref().unwrap().ad_version)
        .collect()
}

/// A take of `amount` of ad `ad_id`'s capacity, judged by its first terms.
fn take(ad_id: i64, amount: i64) -> Commit {
    Commit::new(vec![Op::TakeCapacity {
        ad_id: crate::domain::AdId(ad_id),
        amount: Kopecks(amount),
        terms_version: 1,
    }])
}

/// A PostgreSQL fast batch takes each ad's capacity with one guarded update of the takes' sum,
/// and answers each take the ad's version as that take alone would have left it; takes that do
/// not fit together send the batch to run carefully, where only the one short of capacity is
/// refused.
#[tokio::test]
async fn a_postgres_batch_takes_each_ads_sum_and_answers_each_takes_version() {
    let test = "a_postgres_batch_takes_each_ads_sum_and_answers_each_takes_version";
    let Some((store, url)) = postgres_store(test).await else {
        return;
    };
    let (_, ad) = stored_ad(&store, crate::domain::ad::AdType::Buy).await;
    let commit = Commit::new(vec![Op::InsertAd(Box::new(ad.clone()))]);
    let (a, b) = (ad.id.get(), store.commit(commit).await.unwrap().first_id());
    let mut conn = committer(&url).await;
    // 600,000 available in each: three takes of a and one of b, interleaved, fit.
    let fits = [
        job(take(a, 100_000)),
        job(take(b, 50_000)),
        job(take(a, 200_000)),
        job(take(a, 10_000)),
    ];
    assert_eq!(
        fast_versions(&mut conn, &fits).await,
        [Some(2), Some(2), Some(3), Some(4)]
    );
    let stored = |id: i64| {
        stored_pair(
            &url,
            format!("SELECT available_amount, version FROM ads WHERE id = {id}"),
        )
    };
    assert_eq!(stored(a).await, (290_000, 4));
    assert_eq!(stored(b).await, (550_000, 2));

    // 290,000 left in a: 200,000 + 100,000 does not fit together, though each would alone.
    let both = [job(take(a, 200_000)), job(take(a, 100_000))];
    let outcomes = redone_carefully(&mut conn, &both).await;
    assert_eq!(outcomes[0].as_ref().unwrap().ad_version, Some(5));
    assert_eq!(
        outcomes[1].as_ref().unwrap_err().code,
        ErrorCode::AmountExceedsAvailable
    );
    assert_eq!(stored(a).await, (90_000, 5));
}

/// A cancelled order's return of `amount` to ad `ad_id` of maker `maker_id`.
fn give_back(ad_id: i64, maker_id: i64, amount: i64) -> Commit {
    Commit::new(vec![Op::ReturnCapacity(
        crate::store::commit::CapacityReturn {
            ad_id: crate::domain::AdId(ad_id),
            maker_id: UserId(maker_id),
            amount: Kopecks(amount),
            order_id: crate::domain::OrderId(1),
            now: 0,
        },
    )])
}

/// A PostgreSQL fast batch writes an ad's returns with its takes, one update of the ad, and
/// answers each change the ad's version as that change alone would have left it; a return to
/// a closed ad sends the batch to run carefully, where the return counts as released.
#[tokio::test]
async fn a_postgres_batch_writes_an_ads_returns_with_its_takes() {
    let test = "a_postgres_batch_writes_an_ads_returns_with_its_takes";
    let Some((store, url)) = postgres_store(test).await else {
        return;
    };
    let (maker, ad) = stored_ad(&store, crate::domain::ad::AdType::Buy).await;
    let a = ad.id.get();
    let mut conn = committer(&url).await;
    let changes = [
        job(take(a, 100_000)),
        job(give_back(a, maker, 50_000)),
        job(take(a, 10_000)),
    ];
    assert_eq!(
        fast_versions(&mut conn, &changes).await,
        [Some(2), Some(3), Some(4)]
    );
    let stored = || {
        stored_pair(
            &url,
            format!("SELECT available_amount, closed_amount FROM ads WHERE id = {a}"),
        )
    };
    assert_eq!(stored().await, (540_000, 0));

    crate::store::connection::query(format!(
        "UPDATE ads SET status = 'closed', closed_amount = available_amount, \
         available_amount = 0 WHERE id = {a}"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let outcomes = redone_carefully(&mut conn, &[job(give_back(a, maker, 40_000))]).await;
    assert_eq!(outcomes[0].as_ref().unwrap().ad_version, Some(5));
    assert_eq!(stored().await, (0, 580_000));
}

/// A PostgreSQL fast batch checks its deposit takers' limits in its one statement: what the
/// batch itself adds counts against the limit, and a batch that would pass it runs carefully,
/// where only the commit past the limit is refused.
#[tokio::test]
async fn a_postgres_batch_guards_deposit_limits_in_its_one_statement() {
    let test = "a_postgres_batch_guards_deposit_limits_in_its_one_statement";
    let Some((store, url)) = postgres_store(test).await else {
        return;
    };
    let (_, ad) = stored_ad(&store, crate::domain::ad::AdType::Sell).await;
    let taker = UserId(store.commit(new_user("taker")).await.unwrap().first_id());
    let new_deposit = || {
        let order = ad.order_for(taker, Kopecks(100_000), "card", None, 0);
        job(Commit::new(vec![
            Op::LockUser { user_id: taker },
            Op::CheckDepositLimit {
                taker_id: taker,
                max: 2,
            },
            Op::InsertOrder(Box::new(order)),
        ]))
    };
    let mut conn = committer(&url).await;
    let first = run_fast(&mut conn, &[new_deposit()]).await;
    assert!(first.is_ok(), "one deposit is below the limit of two");

    let two = [new_deposit(), new_deposit()];
    let outcomes = redone_carefully(&mut conn, &two).await;
    assert!(outcomes[0].is_ok());
    assert_eq!(
        outcomes[1].as_ref().unwrap_err().code,
        ErrorCode::ActiveOrderLimit
    );
    let active = format!(
        "SELECT COUNT(*), COUNT(*) FILTER (WHERE status = 'pending') FROM orders \
         WHERE taker_id = {} AND side = 'deposit'",
        taker.get()
    );
    assert_eq!(stored_pair(&url, active).await, (2, 2));
}

/// The counted parts of PostgreSQL's one statement run in the order they were added (a guard
/// added between two writes reads between them), those that need no count after them; a guard
/// that finds a row fails it, and so does a write that changed fewer rows than it must.
#[tokio::test]
async fn a_postgres_one_statement_runs_its_parts_in_turn() {
    use crate::store::commit::one_statement::{OneStatement, Write};
    use crate::store::connection::query;
    let test = "a_postgres_one_statement_runs_its_parts_in_turn";
    let Some((_store, url)) = postgres_store(test).await else {
        return;
    };
    let mut conn = committer(&url).await;
    conn.run("CREATE TABLE turns (part TEXT NOT NULL, turn BIGINT NOT NULL)")
        .await
        .unwrap();
    conn.run("CREATE SEQUENCE turn").await.unwrap();
    let turn = |part: &str| format!("INSERT INTO turns SELECT '{part}', nextval('turn')");
    let mut one = OneStatement::default();
    one.add(Write::new(query(turn("uncounted"))));
    one.add(Write::all_of(query(turn("first")), 1, "turns"));
    one.add_guard(query("SELECT 1 WHERE nextval('turn') < 0"), "never");
    one.add(Write::all_of(query(turn("last")), 1, "turns"));
    one.run(&mut conn).await.unwrap();
    let turns = "SELECT (SELECT turn FROM turns WHERE part = 'first') * 10 \
                   + (SELECT turn FROM turns WHERE part = 'last'), \
                 (SELECT turn FROM turns WHERE part = 'uncounted')";
    assert_eq!(stored_pair(&url, turns.to_string()).await, (13, 4));

    let mut guarded = OneStatement::default();
    guarded.add(Write::new(query(turn("uncounted"))));
    guarded.add_guard(query("SELECT 1"), "rows found");
    assert!(guarded.run(&mut conn).await.is_err());
    let mut short = OneStatement::default();
    short.add(Write::all_of(query(turn("short")), 2, "turns"));
    assert!(short.run(&mut conn).await.is_err());
}

/// The batch's new orders take their ids from the sequence PostgreSQL made for the orders'
/// identity, which the committer names without asking.
#[tokio::test]
async fn the_orders_identity_is_the_sequence_the_committer_names() {
    let test = "the_orders_identity_is_the_sequence_the_committer_names";
    let Some((_store, url)) = postgres_store(test).await else {
        return;
    };
    let named = format!(
        "SELECT (pg_get_serial_sequence('orders', 'id') = 'public.{}')::int::bigint, \
         ('{}'::regclass = pg_get_serial_sequence('orders', 'id')::regclass)::int::bigint",
        crate::store::commit::locks::ORDER_IDS,
        crate::store::commit::locks::ORDER_IDS
    );
    assert_eq!(stored_pair(&url, named).await, (1, 1));
}

/// PostgreSQL keeps no checks of the order mix's sets and ranges (migration 0028): the audit
/// finds an order, an active order or an ad holding a value outside them (invariant 10).
#[tokio::test]
async fn the_audit_finds_values_postgres_does_not_check() {
    let Some((store, url)) = postgres_store("the audit of values").await else {
        return;
    };
    let (_, ad) = stored_ad(&store, crate::domain::ad::AdType::Sell).await;
    let taker = UserId(store.commit(new_user("taker")).await.unwrap().first_id());
    let order = ad.order_for(taker, Kopecks(100_000), "card", None, 0);
    let commit = Commit::new(vec![Op::InsertOrder(Box::new(order))]);
    let order_id = store.commit(commit).await.unwrap().first_id();
    let tenth = |report: crate::domain::audit::Report| {
        let mut subjects: Vec<String> = (report.violations.into_iter())
            .filter(|violation| violation.invariant == 10)
            .map(|violation| violation.subject)
            .collect();
        subjects.sort();
        subjects
    };
    assert!(tenth(store.audit().await.unwrap()).is_empty());
    {
        use sqlx::Connection as _;
        let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
        for sql in [
            format!("UPDATE orders SET side = 'sideways' WHERE id = {order_id}"),
            format!("UPDATE active_orders SET status = 'stuck' WHERE order_id = {order_id}"),
            format!(
                "UPDATE ads SET premium_bp = 9999 WHERE id = {}",
                ad.id.get()
            ),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }
    assert_eq!(
        tenth(store.audit().await.unwrap()),
        [
            format!("active row {order_id}"),
            format!("ad {}", ad.id.get()),
            format!("order {order_id}"),
        ]
    );
}

mod flights;
mod locks;
