//! How many flights a PostgreSQL batch takes: a fast batch with its new orders' ids in hand and
//! every write deferred sends its whole transaction in one; its idempotency keys and answers
//! wait for its last statements too.

use super::*;
use crate::domain::idempotency::IdempotencyKey;
use crate::store::commit::committer::load_wallets;
use crate::store::commit::opening::Opening;
use crate::store::commit::order_ids::OrderIds;
use crate::store::commit::queue::Load;
use crate::store::connection::{Answers, Statement, Value, query};

/// A connection that counts the flights it sends.
struct Counting<'c> {
    conn: &'c mut Postgres,
    flights: usize,
}

impl Connection for Counting<'_> {
    async fn execute(&mut self, statement: Statement) -> Result<u64, DbError> {
        self.flights += 1;
        self.conn.execute(statement).await
    }

    async fn fetch_optional(
        &mut self,
        statement: Statement,
    ) -> Result<Option<Vec<Value>>, DbError> {
        self.flights += 1;
        self.conn.fetch_optional(statement).await
    }

    async fn run(&mut self, sql: &'static str) -> Result<(), DbError> {
        self.flights += 1;
        self.conn.run(sql).await
    }

    async fn pipeline(&mut self, statements: Vec<Statement>) -> Answers {
        self.flights += 1;
        self.conn.pipeline(statements).await
    }
}

fn key(name: &str) -> IdempotencyKey {
    IdempotencyKey {
        principal: "user:1".into(),
        key: name.into(),
        fingerprint: "POST /api/v1/p2p/orders {}".into(),
        now: 7,
    }
}

fn answer(name: &str, body: &str) -> Op {
    Op::RecordIdempotentAnswer {
        key: key(name),
        status: 201,
        body: body.into(),
    }
}

/// Runs `batch` fast on `conn`: its outcomes, and the flights it took.
async fn fast(conn: &mut Postgres, batch: &[Job]) -> (Outcomes, usize) {
    let mut counting = Counting { conn, flights: 0 };
    let outcomes = run_fast(&mut counting, batch).await;
    match outcomes {
        Ok(outcomes) => (outcomes, counting.flights),
        Err(_) => panic!("the batch must commit fast"),
    }
}

/// A fast batch whose writes all wait for its last statements goes in one flight, `BEGIN` to
/// `COMMIT`, keys and answers included; a key already there sends the batch to run carefully,
/// where only its commit is refused; an answer is stored once, never over a first.
#[tokio::test]
async fn a_postgres_fast_batch_goes_in_one_flight_with_its_keys_and_answers() {
    let test = "a_postgres_fast_batch_goes_in_one_flight_with_its_keys_and_answers";
    let Some((store, url)) = postgres_store(test).await else {
        return;
    };
    let user = store.commit(new_user("keyed")).await.unwrap().first_id();
    store.commit(deposit(user, "seed", 100)).await.unwrap();
    let mut conn = committer(&url).await;
    let keyed = |amount, name| {
        let mut commit = freeze(user, amount);
        commit.ops.push(Op::RecordIdempotencyKey(key(name)));
        job(commit)
    };

    let (outcomes, flights) = fast(&mut conn, &[keyed(30, "a"), keyed(20, "b")]).await;
    assert!(outcomes.iter().all(Result::is_ok));
    assert_eq!(flights, 1, "BEGIN, locks, writes and COMMIT in one flight");
    let (answers, flights) = fast(&mut conn, &[job(Commit::new(vec![answer("a", "first")]))]).await;
    assert!(answers.iter().all(Result::is_ok));
    assert_eq!(flights, 1);

    // A fast batch given up sends no `ROLLBACK`: refused in its last flight, whose `COMMIT`
    // rolled back; refused before its opening went (a key and its answer), nothing at all.
    let mut counting = Counting {
        conn: &mut conn,
        flights: 0,
    };
    let refused = run_fast(&mut counting, &[keyed(5, "a")]).await;
    assert!(matches!(refused, Err(BatchFailure::Redo)));
    assert_eq!(counting.flights, 1, "the last flight alone");
    counting.flights = 0;
    let met = [keyed(5, "e"), job(Commit::new(vec![answer("e", "of e")]))];
    let refused = run_fast(&mut counting, &met).await;
    assert!(matches!(refused, Err(BatchFailure::Redo)));
    assert_eq!(counting.flights, 0, "nothing sent");

    // Key "a" again: refused alone, its neighbour commits.
    let batch = [keyed(5, "a"), keyed(5, "c")];
    let outcomes = run_grouped(&mut conn, &batch).await.unwrap();
    assert_eq!(
        outcomes[0].as_ref().unwrap_err().code,
        ErrorCode::IdempotencyKeyReused
    );
    assert!(outcomes[1].is_ok());
    let wallet = store.wallet(UserId(user)).await.unwrap().unwrap();
    assert_eq!(wallet.frozen, Kopecks(55));

    // A second answer to "a" leaves the first; a key and its answer in one batch both hold.
    let mut both = freeze(user, 1);
    both.ops.push(Op::RecordIdempotencyKey(key("d")));
    let batch = [
        job(Commit::new(vec![answer("a", "second")])),
        job(both),
        job(Commit::new(vec![answer("d", "of d")])),
    ];
    let outcomes = run_grouped(&mut conn, &batch).await.unwrap();
    assert!(outcomes.iter().all(Result::is_ok));
    let stored = |name: &str| {
        format!(
            "SELECT COUNT(*), COALESCE(SUM(length(body) * CASE WHEN status = 201 THEN 1 ELSE 0 END), 0) \
             FROM idempotency_keys WHERE principal = 'user:1' AND key = '{name}'"
        )
    };
    assert_eq!(
        stored_pair(&url, stored("a")).await,
        (1, "first".len() as i64)
    );
    assert_eq!(
        stored_pair(&url, stored("d")).await,
        (1, "of d".len() as i64)
    );
    assert_eq!(stored_pair(&url, stored("c")).await.0, 1);
}

/// An opening that fails fails every statement that went with it, and a `COMMIT` among them
/// commits nothing; the connection serves the next transaction.
#[tokio::test]
async fn a_failed_opening_fails_the_flight_it_went_with() {
    let test = "a_failed_opening_fails_the_flight_it_went_with";
    let Some((_store, url)) = postgres_store(test).await else {
        return;
    };
    let mut conn = committer(&url).await;
    let mut opening = Opening::new(&mut conn);
    opening.defer([
        query("BEGIN"),
        query("SELECT 1 / (SELECT COUNT(*) FROM users WHERE id < 0)"),
    ]);
    let answers = opening
        .pipeline(vec![
            query("CREATE TABLE never_made (id bigint)"),
            query("COMMIT"),
        ])
        .await;
    assert_eq!(answers.len(), 2);
    assert!(answers.iter().all(Result::is_err), "{answers:?}");
    conn.run("ROLLBACK").await.unwrap();
    let made = query("SELECT COUNT(*) FROM pg_class WHERE relname = 'never_made'")
        .fetch_one::<i64>(&mut conn)
        .await
        .unwrap();
    assert_eq!(made, 0);

    // A read goes in the opening's flight; a count of changed rows after it, in its own.
    let mut counting = Counting {
        conn: &mut conn,
        flights: 0,
    };
    let mut opening = Opening::new(&mut counting);
    opening.defer([query("BEGIN"), query("CREATE TEMP TABLE t (id bigint)")]);
    let one = query("SELECT 1").fetch_one::<i64>(&mut opening).await;
    assert_eq!(one.unwrap(), 1);
    opening.defer([query("SAVEPOINT s")]);
    let inserted = query("INSERT INTO t VALUES (1), (2)")
        .execute(&mut opening)
        .await;
    assert_eq!(inserted.unwrap(), 2);
    opening.run("COMMIT").await.unwrap();
    assert_eq!(
        counting.flights, 4,
        "BEGIN with the read, SAVEPOINT, INSERT, COMMIT"
    );
}

/// New orders take ids drawn ahead: a batch that finds none draws its own and a spare with its
/// first locks, and the next batch takes from the spare and goes in one flight; the ids come
/// from the orders' identity, one after another.
#[tokio::test]
async fn new_orders_take_ids_drawn_ahead_and_the_next_batch_goes_in_one_flight() {
    let test = "new_orders_take_ids_drawn_ahead_and_the_next_batch_goes_in_one_flight";
    let Some((store, url)) = postgres_store(test).await else {
        return;
    };
    let (_, ad) = stored_ad(&store, crate::domain::ad::AdType::Sell).await;
    let taker = UserId(store.commit(new_user("taker")).await.unwrap().first_id());
    let new_order = || {
        let order = ad.order_for(taker, Kopecks(100_000), "card", None, 0);
        job(Commit::new(vec![Op::InsertOrder(Box::new(order))]))
    };
    let mut conn = committer(&url).await;
    let mut counting = Counting {
        conn: &mut conn,
        flights: 0,
    };
    let mut ids = OrderIds::default();
    let mut fast = async |batch: &[Job], ids: &mut OrderIds| {
        counting.flights = 0;
        let outcomes = commit_batch(&mut counting, Dialect::Postgres, batch, Mode::Fast, ids);
        let Ok(outcomes) = outcomes.await else {
            panic!("the batch must commit fast");
        };
        let inserted: Vec<i64> = (outcomes.into_iter())
            .flat_map(|outcome| outcome.unwrap().inserted_ids)
            .collect();
        (inserted, counting.flights)
    };
    let (first, flights) = fast(&[new_order(), new_order()], &mut ids).await;
    assert_eq!(
        flights, 2,
        "the ids drawn with the first locks, then the rest"
    );
    let (next, flights) = fast(&[new_order()], &mut ids).await;
    assert_eq!(flights, 1, "the spare's ids in hand: one flight");
    assert_eq!(next, [first[1] + 1]);
    assert_eq!(first[1], first[0] + 1);
    let stored = format!(
        "SELECT COUNT(*), MAX(id) - MIN(id) FROM orders WHERE taker_id = {}",
        taker.get()
    );
    assert_eq!(stored_pair(&url, stored).await, (3, 2));
}

/// The wallets asked for between two batches are read in one flight, each with the place of
/// the commits it includes; a wallet that is not there reads as none.
#[tokio::test]
async fn wallet_loads_between_two_batches_go_in_one_flight() {
    let test = "wallet_loads_between_two_batches_go_in_one_flight";
    let Some((store, url)) = postgres_store(test).await else {
        return;
    };
    let mut users = Vec::new();
    for (name, amount) in [("first", 100), ("second", 250)] {
        let user = store.commit(new_user(name)).await.unwrap().first_id();
        store.commit(deposit(user, name, amount)).await.unwrap();
        users.push((UserId(user), amount));
    }
    users.push((UserId(users[1].0.get() + 1_000), 0));
    let mut loads = Vec::new();
    let mut replies = Vec::new();
    for (user_id, _) in &users {
        let (reply, read) = tokio::sync::oneshot::channel();
        loads.push(Load {
            user_id: *user_id,
            reply,
        });
        replies.push(read);
    }
    let mut conn = committer(&url).await;
    let mut counting = Counting {
        conn: &mut conn,
        flights: 0,
    };
    load_wallets(&mut counting, &mut loads, 9).await;
    assert_eq!(counting.flights, 1, "three reads, one flight");
    assert!(loads.is_empty());
    let mut read = Vec::new();
    for reply in replies {
        read.push(reply.await.unwrap().unwrap());
    }
    for ((_, amount), load) in users.iter().zip(&read).take(2) {
        let load = load.as_ref().expect("a stored wallet");
        assert_eq!((load.wallet.available, load.seq), (Kopecks(*amount), 9));
    }
    assert_eq!(read[2], None, "no such wallet");
}
