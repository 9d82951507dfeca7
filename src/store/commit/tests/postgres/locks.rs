//! How PostgreSQL batches lock: where a fast batch waits for a busy hot row, and batches that
//! meet on a row or a key wait in turn, never in a cycle.

use super::*;

/// A transaction that holds ad `ad`'s row until it ends.
async fn holding_ad(url: &str, ad: i64) -> sqlx::AnyConnection {
    use crate::store::connection::query;
    use sqlx::Connection as _;
    let mut holder = sqlx::AnyConnection::connect(url).await.unwrap();
    holder.run("BEGIN").await.unwrap();
    query(format!(
        "SELECT id FROM ads WHERE id = {ad} FOR NO KEY UPDATE"
    ))
    .execute(&mut holder)
    .await
    .unwrap();
    holder
}

/// The statements (their first 60 characters) that wait for a lock in this database, once there
/// are `count` of them, or after ten seconds.
async fn waiting_for_locks(watcher: &mut sqlx::AnyConnection, count: usize) -> Vec<String> {
    let mut waiting = Vec::new();
    for _ in 0..1000 {
        waiting = sqlx::query_as::<_, (String,)>(
            "SELECT left(query, 60)::text FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_all(&mut *watcher)
        .await
        .unwrap();
        if waiting.len() >= count {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    waiting.into_iter().map(|(statement,)| statement).collect()
}

/// What `batch`'s transaction runs when it first waits for a lock, while another transaction
/// holds ad `ad`'s row; the batch must commit once the row is free.
async fn statement_waiting_for_an_ad(url: &str, batch: Vec<Job>, ad: i64) -> String {
    use sqlx::Connection as _;
    let mut holder = holding_ad(url, ad).await;
    let batch_url = url.to_string();
    let running = tokio::spawn(async move {
        let mut conn = committer(&batch_url).await;
        run_fast(&mut conn, &batch).await.is_ok()
    });
    let mut watcher = sqlx::AnyConnection::connect(url).await.unwrap();
    let waiting = waiting_for_locks(&mut watcher, 1).await.into_iter().next();
    holder.run("COMMIT").await.unwrap();
    assert!(
        running.await.unwrap(),
        "the batch commits once the ad is free"
    );
    waiting.expect("the batch waits for the ad")
}

/// A fast batch whose every write of a hot row waits for its statements waits for a busy ad
/// only at its late locks, a statement of their own after its cold statement; one that writes
/// the ad with a statement of its own (closing it) waits in its first statement, before
/// anything else.
#[tokio::test]
async fn a_fast_batch_waits_for_a_busy_hot_row_only_at_its_late_locks() {
    let test = "a_fast_batch_waits_for_a_busy_hot_row_only_at_its_late_locks";
    let Some((store, url)) = postgres_store(test).await else {
        return;
    };
    let (maker, ad) = stored_ad(&store, crate::domain::ad::AdType::Buy).await;
    let a = ad.id.get();

    let waited = statement_waiting_for_an_ad(&url, vec![job(take(a, 100_000))], a).await;
    assert!(waited.starts_with("SELECT 1 FROM ("), "{waited}");

    let close = Commit::new(vec![Op::CloseAd {
        ad_id: crate::domain::AdId(a),
        maker_id: UserId(maker),
        now: 0,
    }]);
    let waited = statement_waiting_for_an_ad(&url, vec![job(close)], a).await;
    assert!(
        waited.starts_with("SELECT (SELECT COUNT(*) FROM"),
        "{waited}"
    );
}

/// Runs each of `batches` in its own transaction (fast, then carefully if that fails), each
/// started once the one before waits for a lock, while another transaction holds ad `ad`'s row;
/// then frees the ad and answers each batch's outcomes. PostgreSQL breaks no cycle of waits here
/// (the batches' deadlock timeout is ten minutes): batches that wait for each other in a cycle
/// fail the test.
async fn in_turn_behind_a_held_ad(
    url: &str,
    ad: i64,
    batches: Vec<Vec<Job>>,
) -> Vec<Vec<Result<crate::store::commit::Receipt, crate::domain::DomainError>>> {
    use sqlx::Connection as _;
    let mut holder = holding_ad(url, ad).await;
    let mut watcher = sqlx::AnyConnection::connect(url).await.unwrap();
    let mut running = Vec::new();
    for (before, batch) in batches.into_iter().enumerate() {
        let mut conn = committer(url).await;
        conn.run("SET deadlock_timeout = '10min'").await.unwrap();
        running.push(tokio::spawn(async move {
            run_grouped(&mut conn, &batch)
                .await
                .expect("the batch commits, fast or carefully")
        }));
        let waiting = waiting_for_locks(&mut watcher, before + 1).await;
        assert_eq!(waiting.len(), before + 1, "batch {before} waits for a lock");
    }
    holder.run("COMMIT").await.unwrap();
    let mut outcomes = Vec::new();
    for batch in running {
        let done = tokio::time::timeout(std::time::Duration::from_secs(60), batch).await;
        outcomes.push(
            done.expect("the batches wait for each other in a cycle")
                .unwrap(),
        );
    }
    outcomes
}

/// What a withdrawal of `amount` from ad `ad` by `seller` commits: the order, the capacity and
/// the seller's escrow.
fn withdrawal(ad: &crate::domain::ad::Ad, seller: i64, amount: i64) -> Vec<Op> {
    let order = ad.order_for(UserId(seller), Kopecks(amount), "card", None, 0);
    vec![
        Op::InsertOrder(Box::new(order)),
        Op::TakeCapacity {
            ad_id: ad.id,
            amount: Kopecks(amount),
            terms_version: 1,
        },
        money_op(
            seller,
            LedgerKind::EscrowFreeze,
            WalletDelta::freeze(Kopecks(amount)),
        ),
    ]
}

/// A batch that locks its hot rows late writes its cold rows before it waits for them; a batch
/// that holds its hot rows from the start and then meets one of those rows would wait for it in
/// a cycle. Two such meetings, each of a late batch waiting for a busy ad and an early one (it
/// records a user's last request) that arrives after it: a seller's second active withdrawal
/// (the partial unique index), and a new seller's first order, which writes the seller's row.
/// Each pair waits in turn, in the early batch's first statement, and commits.
#[tokio::test]
async fn batches_meeting_on_a_sellers_withdrawal_or_first_order_wait_in_turn() {
    let test = "batches_meeting_on_a_sellers_withdrawal_or_first_order_wait_in_turn";
    let Some((store, url)) = postgres_store(test).await else {
        return;
    };
    let (_, ad) = stored_ad(&store, crate::domain::ad::AdType::Buy).await;
    let mut other = ad.clone();
    let commit = Commit::new(vec![Op::InsertAd(Box::new(other.clone()))]);
    other.id = crate::domain::AdId(store.commit(commit).await.unwrap().first_id());
    let mut sellers = Vec::new();
    for name in ["seller", "new seller", "bystander"] {
        let id = store.commit(new_user(name)).await.unwrap().first_id();
        store.commit(deposit(id, name, 1_000_000)).await.unwrap();
        sellers.push(id);
    }
    let (seller, new_seller, bystander) = (sellers[0], sellers[1], sellers[2]);
    let seen = |user: i64| Op::Seen(vec![(UserId(user), 1)]);

    // One seller's withdrawals from two ads: the early batch's is refused, as their second.
    // The seller and the maker have had orders (else their rows would order the batches).
    let had_orders = format!(
        "WITH u AS (UPDATE users SET first_order_at = 1 WHERE id IN ({seller}, {})
         RETURNING 1) SELECT COUNT(*), COUNT(*) FROM u",
        ad.maker_id.get()
    );
    assert_eq!(stored_pair(&url, had_orders).await, (2, 2));
    let late = withdrawal(&ad, seller, 100_000);
    let mut early = withdrawal(&other, seller, 100_000);
    early.push(seen(bystander));
    let batches = vec![vec![job(Commit::new(late))], vec![job(Commit::new(early))]];
    let outcomes = in_turn_behind_a_held_ad(&url, ad.id.get(), batches).await;
    assert!(outcomes[0][0].is_ok());
    assert_eq!(
        outcomes[1][0].as_ref().unwrap_err().code,
        ErrorCode::ActiveWithdrawOrderExists
    );

    // A new seller's first order, and a batch that records their request and takes the ad.
    let late = withdrawal(&ad, new_seller, 100_000);
    let early = vec![
        seen(new_seller),
        Op::TakeCapacity {
            ad_id: ad.id,
            amount: Kopecks(100_000),
            terms_version: 1,
        },
    ];
    let batches = vec![vec![job(Commit::new(late))], vec![job(Commit::new(early))]];
    let outcomes = in_turn_behind_a_held_ad(&url, ad.id.get(), batches).await;
    assert!(outcomes.iter().flatten().all(Result::is_ok));
    let firsts = format!(
        "SELECT COUNT(*) FILTER (WHERE first_order_at IS NOT NULL), \
         (SELECT available_amount FROM ads WHERE id = {}) FROM users WHERE id = {new_seller}",
        ad.id.get()
    );
    assert_eq!(stored_pair(&url, firsts).await, (1, 300_000));
}
