//! Two real server processes on one PostgreSQL database, driven at the same time: the database
//! refuses every double spend and every oversold ad, whichever node each request reaches.

use std::process::Stdio;

use futures_util::future::join_all;
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::helpers::{
    ADMIN, TestApp, User, eventually, fresh_postgres_database, postgres_available,
};

/// A `p2p-market serve` process; killed when dropped.
pub struct Node {
    pub process: Child,
    pub app: TestApp,
}

pub async fn start_node(database_url: &str) -> Node {
    start_node_with(database_url, &[]).await
}

/// A node started with `settings` (environment variables) on top of the tests' own.
/// Two nodes on one fresh PostgreSQL database.
pub async fn start_two_nodes() -> (Node, Node) {
    let url = fresh_postgres_database().await;
    (start_node(&url).await, start_node(&url).await)
}

pub async fn start_node_with(database_url: &str, settings: &[(&str, &str)]) -> Node {
    let mut process = Command::new(env!("CARGO_BIN_EXE_p2p-market"))
        .arg("serve")
        .env("DATABASE_URL", database_url)
        .env("P2P_BIND", "127.0.0.1:0")
        .env("P2P_ADMIN_TOKEN", ADMIN)
        .env("P2P_MIN_PAYMENT_WINDOW_SECS", "1")
        .env("P2P_RATE_LIMIT_PER_SEC", "0")
        // The tests cancel as takers on purpose; the pause has its own test.
        .env("P2P_TAKER_CANCEL_LIMIT", "0")
        .env("P2P_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .envs(settings.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("the server binary starts");
    let mut lines = BufReader::new(process.stdout.take().unwrap()).lines();
    let address = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("the server printed its address");
        let Ok(entry) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if entry["fields"]["message"] == json!("listening") {
            break entry["fields"]["address"].as_str().unwrap().to_string();
        }
    };
    // Keep reading, so the server never blocks on a full pipe.
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("WARN") || line.contains("ERROR") {
                eprintln!("node: {line}");
            }
        }
    });
    Node {
        process,
        app: TestApp::remote(format!("http://{address}"), database_url.to_string()),
    }
}

async fn scalar(db: &mut PgConnection, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(db)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_database_never_oversell_nor_double_spend() {
    if !postgres_available("nodes::two_nodes_on_one_database_never_oversell_nor_double_spend") {
        return;
    }
    let url = fresh_postgres_database().await;
    let node_a = start_node(&url).await;
    let node_b = start_node(&url).await;
    let (a, b) = (&node_a.app, &node_b.app);
    let nodes = [a, b];
    let mut db = PgConnection::connect(&url).await.unwrap();

    // Three buy ads with room for 10 orders each, and a sell ad with room for 10 deposits. Their
    // orders expire at the end; the window outlasts each race (no capacity comes back during
    // one), even on a slow machine.
    let maker = a.player("maker", 2_000_000).await;
    let window = 8;
    let lot = json!({"min_amount": 100_000, "max_amount": 100_000, "total_amount": 1_000_000, "payment_window_seconds": window});
    let mut ads = Vec::new();
    for _ in 0..3 {
        ads.push(a.buy_ad(&maker, lot.clone()).await);
    }
    let sell = b.sell_ad(&maker, lot.clone()).await;

    // 60 sellers, each taking two ads at once, one through each node.
    let mut sellers = Vec::new();
    for i in 0..60 {
        sellers.push(nodes[i % 2].player(&format!("seller {i}"), 1_000_000).await);
    }
    let takes = sellers.iter().enumerate().flat_map(|(i, seller)| {
        [(a, seller, ads[i % 3]), (b, seller, ads[(i + 1) % 3])].map(
            |(node, seller, ad)| async move { (seller.id, node.take(seller, ad, 100_000).await) },
        )
    });
    let answers = join_all(takes).await;
    let mut orders_per_seller = std::collections::HashMap::new();
    let mut won_ad = std::collections::HashMap::new();
    for (seller, answer) in &answers {
        match answer.status.as_u16() {
            201 => {
                *orders_per_seller.entry(*seller).or_insert(0) += 1;
                won_ad.insert(*seller, answer.body["ad_id"].as_i64().unwrap());
            }
            409 => answer.refused(409, "ACTIVE_WITHDRAW_ORDER_EXISTS"),
            _ => answer.refused(422, "AMOUNT_EXCEEDS_AVAILABLE"),
        }
    }
    assert!(
        orders_per_seller.values().all(|&n| n == 1),
        "a seller holds two withdrawals: {orders_per_seller:?}"
    );
    assert_eq!(
        orders_per_seller.len(),
        30,
        "exactly the capacity of the three ads is sold"
    );
    let sold = scalar(
        &mut db,
        "SELECT CAST(COALESCE(SUM(usdt_amount), 0) AS BIGINT) FROM orders WHERE side = 'withdraw'",
    )
    .await;
    assert_eq!(sold, 3_000_000);
    assert_eq!(
        scalar(
            &mut db,
            "SELECT CAST(SUM(available_amount) AS BIGINT) FROM ads WHERE ad_type = 'buy'"
        )
        .await,
        0
    );

    // 30 players race for the sell ad's 10 deposits through both nodes.
    let mut players = Vec::new();
    for i in 0..30 {
        players.push(nodes[i % 2].player(&format!("player {i}"), 0).await);
    }
    let deposits = players.iter().enumerate().map(|(i, player)| {
        nodes[i % 2].post(
            "/api/v1/p2p/orders",
            Some(&player.token),
            json!({"ad_id": sell, "usdt_amount": 100_000, "payment_method": "card"}),
        )
    });
    let won = join_all(deposits)
        .await
        .iter()
        .filter(|answer| answer.status.as_u16() == 201)
        .count();
    assert_eq!(won, 10);

    // The same wallet spent through both nodes at once: a bet on one, a withdrawal on the other;
    // the balance covers only one of them.
    let spare = a
        .buy_ad(
            &maker,
            json!({"total_amount": 10_000_000, "payment_window_seconds": window}),
        )
        .await;
    let mut gamblers: Vec<User> = Vec::new();
    for i in 0..20 {
        gamblers.push(a.player(&format!("gambler {i}"), 150_000).await);
    }
    let races = gamblers.iter().enumerate().map(|(i, user)| async move {
        let path = format!("/api/v1/admin/users/{}/transactions", user.id);
        let bet = json!({"kind": "bet", "amount": 100_000, "reference": format!("race-bet-{i}")});
        let (bet, take) = tokio::join!(
            a.post(&path, Some(ADMIN), bet),
            b.take(user, spare, 100_000)
        );
        (bet.status.as_u16() == 201) as u32 + (take.status.as_u16() == 201) as u32
    });
    for (i, winners) in join_all(races).await.into_iter().enumerate() {
        assert_eq!(
            winners, 1,
            "gambler {i}: both or neither of the bet and the withdrawal went through"
        );
    }
    let negative = scalar(
        &mut db,
        "SELECT COUNT(*) FROM wallets WHERE available < 0 OR frozen < 0",
    )
    .await;
    assert_eq!(negative, 0);
    for node in nodes {
        node.assert_audit().await;
    }

    // Every pending order expires once (either node may try), and capacity comes back.
    let expired = eventually(window + 12, || async {
        let pending = scalar(
            &mut PgConnection::connect(&url).await.unwrap(),
            "SELECT COUNT(*) FROM orders WHERE status = 'pending'",
        )
        .await;
        pending == 0
    })
    .await;
    assert!(
        expired,
        "orders are still pending after their payment window"
    );
    let twice = scalar(
        &mut db,
        "SELECT COUNT(*) FROM (SELECT order_id FROM ledger WHERE kind = 'escrow_refund' GROUP BY order_id HAVING COUNT(*) > 1) t",
    )
    .await;
    assert_eq!(twice, 0, "an order was refunded twice");
    let timeouts = scalar(
        &mut db,
        "SELECT COUNT(*) FROM orders WHERE cancel_reason = 'timeout'",
    )
    .await;
    let all = scalar(&mut db, "SELECT COUNT(*) FROM orders").await;
    assert_eq!(timeouts, all);
    assert_eq!(scalar(&mut db, "SELECT CAST(SUM(available_amount) AS BIGINT) FROM ads WHERE ad_type = 'buy' AND id <> 0").await, 3_000_000 + 10_000_000);

    // A node that did not see the expiry still serves the sellers correctly: its cached wallets
    // and ads reload when the database shows more than they knew.
    let again = sellers.iter().enumerate().filter_map(|(i, seller)| {
        let ad = *won_ad.get(&seller.id)?;
        Some(nodes[(i + 1) % 2].take(seller, ad, 100_000))
    });
    let retaken = join_all(again).await;
    assert!(
        retaken.iter().all(|answer| answer.status.as_u16() == 201),
        "{:?}",
        retaken.iter().map(|a| &a.body).collect::<Vec<_>>()
    );
    for node in nodes {
        node.assert_audit().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_on_one_node_hears_what_happens_on_the_other() {
    if !postgres_available("nodes::a_stream_on_one_node_hears_what_happens_on_the_other") {
        return;
    }
    let url = fresh_postgres_database().await;
    let node_a = start_node(&url).await;
    let node_b = start_node(&url).await;
    let (a, b) = (&node_a.app, &node_b.app);
    let maker = a.player("maker", 0).await;
    let seller = a.player("seller", 5_000_000).await;
    let ad = a.buy_ad(&maker, json!({"total_amount": 10_000_000})).await;
    let mut on_a = crate::events::Stream::open(a, &maker, None).await;
    let mut orders = Vec::new();
    for i in 0..5 {
        // Alternate nodes: the stream on A hears both, in id order.
        let node = if i % 2 == 0 { b } else { a };
        let order = node.take(&seller, ad, 100_000).await.expect(201)["id"]
            .as_i64()
            .unwrap();
        node.step(&seller, order, "cancel").await.expect(200);
        orders.push(order);
    }
    let events = on_a.take(10).await;
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let created: Vec<i64> = events
        .iter()
        .filter(|e| e.kind == "order.created")
        .map(|e| e.data["id"].as_i64().unwrap())
        .collect();
    assert_eq!(created, orders);
}

/// A node whose copy of an order is stale still judges a step by what the order is now: the
/// seller's steps on node A after the buyer's on node B succeed, and a step the order really
/// refuses is still refused. Expiry on a node that missed the payment does not cancel it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_copy_of_an_order_never_refuses_a_valid_step() {
    if !postgres_available("nodes::a_stale_copy_of_an_order_never_refuses_a_valid_step") {
        return;
    }
    let url = fresh_postgres_database().await;
    let node_a = start_node(&url).await;
    let node_b = start_node(&url).await;
    let (a, b) = (&node_a.app, &node_b.app);
    let maker = a.player("maker", 0).await;
    // One seller per case: each holds one active withdrawal at a time.
    let (seller, second, third) = (
        a.player("seller", 5_000_000).await,
        a.player("second", 5_000_000).await,
        a.player("third", 5_000_000).await,
    );
    let ad = a
        .buy_ad(
            &maker,
            json!({"total_amount": 10_000_000, "payment_window_seconds": 2}),
        )
        .await;
    // Dispute: created on A (A's actor holds it), paid on B, disputed on A.
    let order = a.take(&seller, ad, 100_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    assert_eq!(a.order(&seller, order).await["status"], "pending");
    b.step(&maker, order, "confirm-paid").await.expect(200);
    let disputed = a.step(&seller, order, "call-operator").await.expect(200);
    assert_eq!(disputed["status"], "disputed");
    // A step the order refuses now is still refused: the seller may not cancel a dispute.
    a.step(&seller, order, "cancel")
        .await
        .refused(409, "INVALID_ORDER_STATUS");
    // Completion: created on A, paid on B, received on A.
    let order = a.take(&second, ad, 100_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    assert_eq!(a.order(&second, order).await["status"], "pending");
    b.step(&maker, order, "confirm-paid").await.expect(200);
    let completed = a.step(&second, order, "confirm-received").await.expect(200);
    assert_eq!(completed["status"], "completed");
    // Paid on B within the window: A's timer, armed when A made it, does not cancel it.
    let order = a.take(&third, ad, 100_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    b.step(&maker, order, "confirm-paid").await.expect(200);
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(a.order(&third, order).await["status"], "paid_by_buyer");
    a.step(&third, order, "confirm-received").await.expect(200);
    a.assert_audit().await;
}

/// Who takes a step in [`every_step_succeeds_on_the_node_that_did_not_take_the_one_before`].
#[derive(Clone, Copy, Debug)]
enum By {
    Buyer,
    Seller,
    Operator,
}

/// Every path through the order's state machine, its steps taken on the two nodes in turn
/// (each node's copy of the order is stale at every step but the first), starting on either
/// node, for withdrawals (buy ads) and deposits (sell ads): each step is answered as it would
/// be on one node, and the order ends where the path says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_step_succeeds_on_the_node_that_did_not_take_the_one_before() {
    if !postgres_available(
        "nodes::every_step_succeeds_on_the_node_that_did_not_take_the_one_before",
    ) {
        return;
    }
    use By::*;
    let paths: [(&[(By, &str)], &str); 8] = [
        (
            &[(Buyer, "confirm-paid"), (Seller, "confirm-received")],
            "completed",
        ),
        (&[(Buyer, "cancel")], "cancelled"),
        (&[(Seller, "cancel")], "cancelled"),
        (&[(Buyer, "confirm-paid"), (Buyer, "cancel")], "cancelled"),
        (
            &[
                (Seller, "details"),
                (Buyer, "confirm-paid"),
                (Seller, "confirm-received"),
            ],
            "completed",
        ),
        (
            &[
                (Buyer, "confirm-paid"),
                (Seller, "call-operator"),
                (Operator, "release"),
            ],
            "completed",
        ),
        (
            &[
                (Buyer, "confirm-paid"),
                (Buyer, "call-operator"),
                (Operator, "refund"),
            ],
            "cancelled",
        ),
        (
            &[
                (Buyer, "confirm-paid"),
                (Seller, "call-operator"),
                (Seller, "confirm-received"),
            ],
            "completed",
        ),
    ];
    let url = fresh_postgres_database().await;
    let node_a = start_node(&url).await;
    let node_b = start_node(&url).await;
    let nodes = [&node_a.app, &node_b.app];
    let operator = nodes[0].operator().await;
    let maker = nodes[0].player("maker", 50_000_000).await;
    let buy_ad = nodes[0]
        .buy_ad(&maker, json!({"total_amount": 40_000_000}))
        .await;
    let sell_ad = nodes[0]
        .sell_ad(&maker, json!({"total_amount": 40_000_000}))
        .await;
    let mut case = 0;
    for (path, end) in paths {
        for first in 0..2 {
            for withdrawal in [true, false] {
                if !withdrawal && path.iter().any(|(_, step)| *step == "details") {
                    continue; // The taker's details belong to withdrawals.
                }
                case += 1;
                let player = nodes[0].player(&format!("player{case}"), 5_000_000).await;
                let (ad, buyer, seller) = if withdrawal {
                    (buy_ad, &maker, &player)
                } else {
                    (sell_ad, &player, &maker)
                };
                let what = format!("{path:?} from node {first}, withdrawal {withdrawal}");
                let order = nodes[first].take(&player, ad, 100_000).await.expect(201)["id"]
                    .as_i64()
                    .unwrap();
                for (i, (by, step)) in path.iter().enumerate() {
                    let node = nodes[(first + i + 1) % 2];
                    let user = match by {
                        Buyer => buyer,
                        Seller => seller,
                        Operator => &operator,
                    };
                    let answer = match *step {
                        "details" => {
                            node.patch(
                                &format!("/api/v1/p2p/orders/{order}"),
                                Some(&user.token),
                                json!({"payment_details": {"card_number": "2200 1234 5678 0000"}}),
                            )
                            .await
                        }
                        "release" | "refund" => {
                            node.post(
                                &format!("/api/v1/operator/orders/{order}/resolve"),
                                Some(&user.token),
                                json!({"resolution": step}),
                            )
                            .await
                        }
                        _ => node.step(user, order, step).await,
                    };
                    assert_eq!(
                        answer.status.as_u16(),
                        200,
                        "{what}, step {i}: {}",
                        answer.body
                    );
                }
                for node in nodes {
                    assert_eq!(node.order(&player, order).await["status"], end, "{what}");
                }
            }
        }
    }
    nodes[0].assert_audit().await;
    nodes[1].assert_audit().await;
}

/// Reads `user`'s stream on `node` until `done` is set and nothing more comes, reconnecting
/// with `Last-Event-ID` every `every` events (and whenever the stream ends): the id, kind and
/// order id of each event it read.
async fn read_through_reconnects(
    node: &TestApp,
    user: &User,
    every: usize,
    done: &std::sync::atomic::AtomicBool,
) -> Vec<(i64, String, i64)> {
    use std::sync::atomic::Ordering;
    use std::time::Duration;
    let mut ids = Vec::new();
    let mut stream = crate::events::Stream::open(node, user, Some(0)).await;
    let mut since_reconnect = 0;
    loop {
        let finished = done.load(Ordering::SeqCst);
        match stream.next(Duration::from_millis(1500)).await {
            Some(event) => {
                let order = event.data["id"].as_i64().unwrap_or_default();
                ids.push((event.id, event.kind, order));
                since_reconnect += 1;
                if since_reconnect == every {
                    since_reconnect = 0;
                    let last = ids.last().map(|(id, ..)| *id);
                    stream = crate::events::Stream::open(node, user, last).await;
                }
            }
            None if finished => return ids,
            None => {
                let last = ids.last().map(|(id, ..)| *id);
                stream = crate::events::Stream::open(node, user, last).await;
            }
        }
    }
}

/// Both nodes at full speed: the same sellers withdraw through both at once (one of each pair of
/// takes wins), the same ads sell through both, each order's steps alternate nodes, and one
/// event stream on each node, reconnecting with `Last-Event-ID` every 37 events, hears every
/// event of both nodes exactly once and in id order: exactly the events table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_on_both_nodes_hear_every_event_once_in_order_at_full_speed() {
    if !postgres_available(
        "nodes::streams_on_both_nodes_hear_every_event_once_in_order_at_full_speed",
    ) {
        return;
    }
    use std::sync::atomic::{AtomicBool, Ordering};
    let url = fresh_postgres_database().await;
    let node_a = start_node(&url).await;
    let node_b = start_node(&url).await;
    let nodes = [&node_a.app, &node_b.app];
    let maker = nodes[0].player("maker", 100_000_000).await;
    let lot = json!({"min_amount": 100_000, "max_amount": 100_000, "total_amount": 50_000_000});
    let ads = [
        nodes[0].buy_ad(&maker, lot.clone()).await,
        nodes[1].buy_ad(&maker, lot.clone()).await,
    ];
    let sell = nodes[1].sell_ad(&maker, lot).await;
    let mut sellers = Vec::new();
    for i in 0..24 {
        sellers.push(
            nodes[i % 2]
                .player(&format!("seller {i}"), 10_000_000)
                .await,
        );
    }
    let done = AtomicBool::new(false);
    let streams = async {
        tokio::join!(
            read_through_reconnects(nodes[0], &maker, 37, &done),
            read_through_reconnects(nodes[1], &maker, 37, &done),
        )
    };
    let load = async {
        let maker = &maker;
        let rounds = sellers.iter().enumerate().map(|(i, seller)| async move {
            for round in 0..6 {
                let (first, other) = (nodes[(i + round) % 2], nodes[(i + round + 1) % 2]);
                let ad = ads[(i + round) % 2];
                // The same wallet through both nodes at once: one withdrawal wins.
                let (one, two) = tokio::join!(
                    first.take(seller, ad, 100_000),
                    other.take(seller, ad, 100_000)
                );
                let won: Vec<&crate::helpers::Answer> = [&one, &two]
                    .into_iter()
                    .filter(|a| a.status.as_u16() == 201)
                    .collect();
                assert_eq!(won.len(), 1, "{} / {}", one.body, two.body);
                for lost in [&one, &two]
                    .into_iter()
                    .filter(|a| a.status.as_u16() != 201)
                {
                    lost.refused(409, "ACTIVE_WITHDRAW_ORDER_EXISTS");
                }
                let order = won[0].id();
                if round % 3 == 2 {
                    first.step(seller, order, "cancel").await.expect(200);
                    continue;
                }
                other.step(maker, order, "confirm-paid").await.expect(200);
                first
                    .step(seller, order, "confirm-received")
                    .await
                    .expect(200);
                // A deposit from the same wallet's owner on the other node.
                let deposit = other
                    .post(
                        "/api/v1/p2p/orders",
                        Some(&seller.token),
                        json!({"ad_id": sell, "usdt_amount": 100_000, "payment_method": "card"}),
                    )
                    .await
                    .expect(201)["id"]
                    .as_i64()
                    .unwrap();
                first
                    .step(seller, deposit, "confirm-paid")
                    .await
                    .expect(200);
                other
                    .step(maker, deposit, "confirm-received")
                    .await
                    .expect(200);
            }
        });
        join_all(rounds).await;
        // Let both pumps pass the last commits on, then end the readers.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        done.store(true, Ordering::SeqCst);
    };
    let ((on_a, on_b), ()) = tokio::join!(streams, load);
    let mut db = PgConnection::connect(&url).await.unwrap();
    let table: Vec<i64> = sqlx::query_scalar("SELECT id FROM events ORDER BY id")
        .fetch_all(&mut db)
        .await
        .unwrap();
    assert!(table.len() > 24 * 6 * 3, "{} events", table.len());
    for (name, heard) in [("A", &on_a), ("B", &on_b)] {
        let ids: Vec<i64> = heard.iter().map(|(id, ..)| *id).collect();
        assert_eq!(ids, table, "node {name}'s stream");
        // Each order's events come in the order its steps were taken.
        let mut steps: std::collections::HashMap<i64, Vec<&str>> = Default::default();
        for (_, kind, order) in heard {
            steps.entry(*order).or_default().push(kind);
        }
        for (order, kinds) in steps {
            assert!(
                matches!(
                    kinds[..],
                    ["order.created", "order.cancelled"]
                        | ["order.created", "order.paid", "order.completed"]
                ),
                "node {name}, order {order}: {kinds:?}"
            );
        }
    }
    for node in nodes {
        node.assert_audit().await;
    }
}

/// A deposit taker's limit of three active orders holds when ten takes arrive at once through
/// both nodes (each node's batches insert their new orders together, at their end).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deposit_limit_holds_for_takes_at_once_through_both_nodes() {
    if !postgres_available("nodes::the_deposit_limit_holds_for_takes_at_once_through_both_nodes") {
        return;
    }
    let url = fresh_postgres_database().await;
    let node_a = start_node(&url).await;
    let node_b = start_node(&url).await;
    let nodes = [&node_a.app, &node_b.app];
    let maker = nodes[0].player("maker", 50_000_000).await;
    let ad = nodes[0]
        .sell_ad(&maker, json!({"total_amount": 10_000_000}))
        .await;
    for round in 0..5 {
        let player = nodes[0].player(&format!("player {round}"), 0).await;
        let take = json!({"ad_id": ad, "usdt_amount": 100_000, "payment_method": "card"});
        let takes = (0..10)
            .map(|i| nodes[i % 2].post("/api/v1/p2p/orders", Some(&player.token), take.clone()));
        let answers = join_all(takes).await;
        let created = answers.iter().filter(|a| a.status.as_u16() == 201).count();
        assert_eq!(
            created,
            3,
            "round {round}: {:?}",
            answers.iter().map(|a| &a.body).collect::<Vec<_>>()
        );
        for answer in answers.iter().filter(|a| a.status.as_u16() != 201) {
            answer.refused(409, "ACTIVE_ORDER_LIMIT");
        }
    }
    for node in nodes {
        node.assert_audit().await;
    }
}

/// Two nodes under load, one killed with SIGKILL in the middle of its batches: every order it
/// acknowledged is in the database, the other node keeps answering throughout, and no escrow
/// stays stuck (the survivor expires the dead node's pending orders and the audit holds).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_batch_loses_nothing_and_the_other_keeps_serving() {
    if !postgres_available(
        "nodes::a_node_killed_mid_batch_loses_nothing_and_the_other_keeps_serving",
    ) {
        return;
    }
    use std::time::Duration;
    let url = fresh_postgres_database().await;
    let mut node_a = start_node(&url).await;
    let node_b = start_node(&url).await;
    let (a, b) = (&node_a.app, &node_b.app);
    let maker = b.player("maker", 0).await;
    let window = json!({"total_amount": 100_000_000, "payment_window_seconds": 2});
    let ad = b.buy_ad(&maker, window).await;
    let mut sellers = Vec::new();
    for i in 0..160 {
        sellers.push(b.player(&format!("seller {i}"), 1_000_000).await);
    }
    let (on_a, on_b) = sellers.split_at(80);
    // Node A takes as fast as it answers; node B the same, before, during and after the kill.
    // A request the kill cuts off has no answer: it was not acknowledged.
    let acks = std::sync::atomic::AtomicUsize::new(0);
    let acks = &acks;
    let taking_on_a = join_all(on_a.iter().map(|seller| async move {
        let body = json!({"ad_id": ad, "usdt_amount": 100_000, "payment_method": "card",
            "payment_details": {"card_number": "2200 1234 5678 9012"}});
        let response = a
            .client
            .post(format!("{}/api/v1/p2p/orders", a.address))
            .bearer_auth(&seller.token)
            .json(&body)
            .send()
            .await
            .ok()?;
        if response.status().as_u16() != 201 {
            return None;
        }
        let created: Value = response.json().await.ok()?;
        acks.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        created["id"].as_i64()
    }));
    let taking_on_b = async {
        let mut statuses = Vec::new();
        for (i, seller) in on_b.iter().enumerate() {
            if i == 20 {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            statuses.push(b.take(seller, ad, 100_000).await.status.as_u16());
        }
        statuses
    };
    // Killed once it has acknowledged a few, with the rest of its takes in flight.
    let kill = async {
        while acks.load(std::sync::atomic::Ordering::SeqCst) < 5 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        node_a.process.start_kill().unwrap();
    };
    let (acknowledged, statuses, ()) = tokio::join!(taking_on_a, taking_on_b, kill);
    let acknowledged: Vec<i64> = acknowledged.into_iter().flatten().collect();
    assert!(
        statuses.iter().all(|&status| status == 201),
        "node B: {statuses:?}"
    );
    let mut db = PgConnection::connect(&url).await.unwrap();
    for order in &acknowledged {
        let found = scalar(
            &mut db,
            &format!("SELECT COUNT(*) FROM orders WHERE id = {order}"),
        )
        .await;
        assert_eq!(
            found, 1,
            "order {order} was acknowledged by the killed node and is gone"
        );
    }
    // The survivor expires every pending order, the dead node's too: no escrow stays frozen.
    let ended = eventually(10, || async {
        let mut db = PgConnection::connect(&url).await.unwrap();
        scalar(
            &mut db,
            "SELECT COUNT(*) FROM orders WHERE status = 'pending'",
        )
        .await
            == 0
    })
    .await;
    assert!(ended, "pending orders outlived their window");
    let frozen = scalar(
        &mut db,
        "SELECT CAST(COALESCE(SUM(frozen), 0) AS BIGINT) FROM wallets",
    )
    .await;
    assert_eq!(frozen, 0, "escrow stuck after the kill");
    b.assert_audit().await;
    eprintln!(
        "nodes: node A acknowledged {} orders before SIGKILL; node B answered {} takes, all 201",
        acknowledged.len(),
        statuses.len()
    );
}

/// A database whose event ids are ahead of its cluster's transaction ids (restored into a new
/// cluster) would give new events smaller ids than old ones: the service refuses to start on
/// it, and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_refuses_a_database_whose_event_ids_are_ahead_of_its_transactions() {
    if !postgres_available(
        "nodes::a_node_refuses_a_database_whose_event_ids_are_ahead_of_its_transactions",
    ) {
        return;
    }
    let url = fresh_postgres_database().await;
    let node = start_node(&url).await;
    let maker = node.app.player("maker", 0).await;
    let seller = node.app.player("seller", 1_000_000).await;
    let ad = node.app.buy_ad(&maker, json!({})).await;
    node.app.take(&seller, ad, 100_000).await.expect(201);
    drop(node);
    // As if restored into a cluster whose transaction ids start far lower.
    let mut db = PgConnection::connect(&url).await.unwrap();
    sqlx::query("UPDATE events SET id = id + (CAST(1 AS BIGINT) << 52)")
        .execute(&mut db)
        .await
        .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_p2p-market"))
        .arg("serve")
        .env("DATABASE_URL", &url)
        .env("P2P_BIND", "127.0.0.1:0")
        .env("P2P_ADMIN_TOKEN", ADMIN)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(std::time::Duration::from_secs(30), output)
        .await
        .expect("the server stops at once")
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the events table holds ids above"),
        "{stderr}"
    );
}

/// A change of an ad's terms on one node binds takes on the other at once, even where the other
/// node's actor still holds the old copy: new requirements refuse a taker short of them, a new
/// price is the order's, a pause refuses the take.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_of_terms_on_one_node_binds_takes_on_the_other() {
    if !postgres_available("nodes::a_change_of_terms_on_one_node_binds_takes_on_the_other") {
        return;
    }
    let (node_a, node_b) = start_two_nodes().await;
    let (a, b) = (&node_a.app, &node_b.app);
    let maker = a.player("maker", 0).await;
    let seller = a.player("seller", 5_000_000).await;
    let ad = a.buy_ad(&maker, json!({"total_amount": 10_000_000})).await;
    // Node A's actor now holds the ad as it is.
    let first = a.take(&seller, ad, 100_000).await.expect(201);
    a.step(&seller, first["id"].as_i64().unwrap(), "cancel")
        .await
        .expect(200);

    let path = format!("/api/v1/p2p/ads/{ad}");
    let asks = json!({"price": 9_700, "requirements": {"min_completed_orders": 5}});
    b.patch(&path, Some(&maker.token), asks).await.expect(200);
    a.take(&seller, ad, 100_000)
        .await
        .refused(422, "COUNTERPARTY_REQUIREMENTS_NOT_MET");

    b.patch(&path, Some(&maker.token), json!({"requirements": {}}))
        .await
        .expect(200);
    let second = a.take(&seller, ad, 100_000).await.expect(201);
    assert_eq!(second["price"], 9_700);
    a.step(&seller, second["id"].as_i64().unwrap(), "cancel")
        .await
        .expect(200);

    b.patch(&path, Some(&maker.token), json!({"status": "paused"}))
        .await
        .expect(200);
    a.take(&seller, ad, 100_000)
        .await
        .refused(409, "AD_NOT_ACTIVE");
    a.assert_audit().await;
}

/// A user's last request on one node shows on the other within the seen writes' second and the
/// other's listing refresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_seen_on_one_node_shows_on_the_other() {
    if !postgres_available("nodes::last_seen_on_one_node_shows_on_the_other") {
        return;
    }
    let (node_a, node_b) = start_two_nodes().await;
    let (a, b) = (&node_a.app, &node_b.app);
    let maker = a.player("maker", 0).await;
    let ad = a.buy_ad(&maker, json!({})).await;
    let profile = format!("/api/v1/users/{}", maker.id);
    a.get("/api/v1/me", Some(&maker.token)).await.expect(200);
    let on_b = || async {
        let user = b.get(&profile, None).await.expect(200);
        let listed = b.get("/api/v1/p2p/ads?type=buy", None).await.expect(200);
        let maker_listed = listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|item| item["id"] == ad)
            .map(|item| item["maker"].clone())
            .unwrap_or_default();
        user["online"] == json!(true)
            && user["last_seen_at"].is_string()
            && maker_listed["online"] == json!(true)
            && maker_listed["last_seen_at"] == user["last_seen_at"]
    };
    assert!(
        eventually(10, on_b).await,
        "node B never showed the maker's request on node A as last seen"
    );
}

/// Both nodes hold a paid order's actor (taken on one, paid on the other) and both sweep: when
/// the window closes, the order is disputed once, with one event. An order paid on a node that
/// then dies is disputed by the other, whose actor still held it as pending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_deadline_fires_once_across_two_nodes() {
    if !postgres_available("nodes::a_release_deadline_fires_once_across_two_nodes") {
        return;
    }
    let url = fresh_postgres_database().await;
    let settings = [("P2P_MIN_RELEASE_WINDOW_SECS", "1")];
    let node_a = start_node_with(&url, &settings).await;
    let mut node_b = start_node_with(&url, &settings).await;
    let (a, b) = (&node_a.app, &node_b.app);
    let maker = a.player("maker", 0).await;
    let ad = a.buy_ad(&maker, json!({"release_window_seconds": 1})).await;
    let mut orders = Vec::new();
    for i in 0..6 {
        let seller = a.player(&format!("seller {i}"), 1_000_000).await;
        let (taker_node, payer_node) = if i % 2 == 0 { (a, b) } else { (b, a) };
        let order = taker_node.take(&seller, ad, 100_000).await.expect(201)["id"]
            .as_i64()
            .unwrap();
        // The taking node's actor still holds the order as pending, with its payment timer.
        payer_node
            .step(&maker, order, "confirm-paid")
            .await
            .expect(200);
        orders.push((seller, order));
    }
    let orphan_seller = a.player("orphan seller", 1_000_000).await;
    let orphan = a.take(&orphan_seller, ad, 100_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    b.step(&maker, orphan, "confirm-paid").await.expect(200);
    node_b.process.start_kill().unwrap();
    node_b.process.wait().await.unwrap();
    orders.push((orphan_seller, orphan));
    for (seller, order) in &orders {
        let disputed = eventually(5, || async {
            a.order(seller, *order).await["status"] == "disputed"
        })
        .await;
        assert!(disputed, "order {order} was not disputed");
    }
    // Two more sweeps on each node.
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    let mut db = PgConnection::connect(&url).await.unwrap();
    for (seller, order) in &orders {
        let events = scalar(
            &mut db,
            &format!(
                "SELECT COUNT(*) FROM events WHERE order_id = {order} AND kind = 'order.disputed'"
            ),
        )
        .await;
        assert_eq!(events, 1, "order {order} was disputed {events} times");
        let seen = a.order(seller, *order).await;
        assert_eq!(seen["dispute"]["opened_by_role"], "system");
        assert_eq!(seen["dispute"]["reason"], "release_timeout");
    }
    a.assert_audit().await;
}

/// Both nodes sign evidence bundles with the one key the first of them kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_nodes_sign_with_one_key() {
    if !postgres_available("nodes::both_nodes_sign_with_one_key") {
        return;
    }
    let (node_a, node_b) = start_two_nodes().await;
    let mut keys = Vec::new();
    for node in [&node_a, &node_b] {
        let key = node.app.get("/api/v1/signing-key", None).await.expect(200);
        keys.push(key["public_key"].clone());
    }
    let (a, b) = (&keys[0], &keys[1]);
    assert!(a.is_string());
    assert_eq!(a, b);
}

/// A taker's cancels count against them on both nodes, each once: a node reads the other's
/// cancels after its own refresh, never counts its own twice, and the pause follows the limit
/// whichever nodes the cancels were made on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_takers_cancels_on_both_nodes_count_once_each() {
    if !postgres_available("nodes::a_takers_cancels_on_both_nodes_count_once_each") {
        return;
    }
    let url = fresh_postgres_database().await;
    let settings = [
        ("P2P_TAKER_CANCEL_LIMIT", "3"),
        ("P2P_TAKER_PAUSE_SECS", "600"),
    ];
    let node_a = start_node_with(&url, &settings).await;
    let node_b = start_node_with(&url, &settings).await;
    let (a, b) = (&node_a.app, &node_b.app);
    let maker = a.player("maker", 0).await;
    let ad = a.buy_ad(&maker, json!({})).await;
    let taker = a.player("taker", 1_000_000).await;
    async fn take_and_cancel(app: &TestApp, taker: &User, canceller: &User, ad: i64) {
        let order = app.take(taker, ad, 100_000).await.expect(201)["id"]
            .as_i64()
            .unwrap();
        app.step(canceller, order, "cancel").await.expect(200);
    }
    take_and_cancel(a, &taker, &taker, ad).await;
    take_and_cancel(a, &taker, &taker, ad).await;
    // Past a few refreshes, each node counts two: were A to count its own twice, or B one of
    // them twice, the next take would be refused there. A maker's cancel does not count.
    tokio::time::sleep(std::time::Duration::from_millis(3_000)).await;
    for app in [a, b] {
        take_and_cancel(app, &taker, &maker, ad).await;
    }
    // The third, on B: B pauses the taker at once, A after its refresh.
    take_and_cancel(b, &taker, &taker, ad).await;
    b.take(&taker, ad, 100_000)
        .await
        .refused(429, "TAKING_PAUSED");
    let paused_on_a = || async { a.take(&taker, ad, 100_000).await.status.as_u16() == 429 };
    assert!(
        eventually(10, paused_on_a).await,
        "node A never heard of the third cancel, made on B"
    );
    a.assert_audit().await;
}

/// Whether `viewer` sees `ad` in `app`'s listing of buy ads (a block hides the blocked side's
/// ads from the other).
async fn sees_ad(app: &TestApp, viewer: &User, ad: i64) -> bool {
    crate::events::listed_ad_ids(app, Some(viewer))
        .await
        .contains(&ad)
}

/// `who` blocks (`block`) or unblocks `whom` on `app`.
async fn set_block(app: &TestApp, who: &User, whom: &User, block: bool) {
    let path = format!("/api/v1/users/{}/block", whom.id);
    match block {
        true => {
            app.post(&path, Some(&who.token), json!({}))
                .await
                .expect(200);
        }
        false => {
            app.delete(&path, Some(&who.token)).await.expect(204);
        }
    }
}

/// A block or unblock made on one node holds on the other after its refresh, whichever node
/// made it, and however often the pair changed between two refreshes: a refresh reads the pairs
/// changed since the last change it read, with each pair's block as it stands. A node started
/// later loads every block.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_and_unblocks_on_one_node_hold_on_the_other() {
    if !postgres_available("nodes::blocks_and_unblocks_on_one_node_hold_on_the_other") {
        return;
    }
    let url = fresh_postgres_database().await;
    let node_a = start_node(&url).await;
    let node_b = start_node(&url).await;
    let (a, b) = (&node_a.app, &node_b.app);
    let maker = a.player("maker", 0).await;
    let ad = a.buy_ad(&maker, json!({})).await;
    let taker = a.player("taker", 1_000_000).await;
    let other = a.player("other", 1_000_000).await;
    for viewer in [&taker, &other] {
        let listed = || async { sees_ad(b, viewer, ad).await };
        assert!(eventually(10, listed).await, "B lists the ad made on A");
    }

    set_block(a, &taker, &maker, true).await;
    assert!(!sees_ad(a, &taker, ad).await, "at once on A");
    let hidden = || async { !sees_ad(b, &taker, ad).await };
    assert!(eventually(10, hidden).await, "B never heard of A's block");
    b.take(&taker, ad, 100_000)
        .await
        .refused(403, "USER_BLOCKED");

    // Lifted on B; and on B, another pair blocked and lifted between two refreshes of A.
    set_block(b, &taker, &maker, false).await;
    set_block(b, &other, &maker, true).await;
    set_block(b, &other, &maker, false).await;
    let listed = || async { sees_ad(a, &taker, ad).await };
    assert!(eventually(10, listed).await, "A never heard of B's unblock");
    assert!(
        sees_ad(a, &other, ad).await,
        "a pair blocked and lifted ends lifted"
    );

    // Blocked again, on B: A hides the ad again; a node started now knows it at once.
    set_block(b, &maker, &taker, true).await;
    let hidden = || async { !sees_ad(a, &taker, ad).await };
    assert!(
        eventually(10, hidden).await,
        "A never heard of B's second block"
    );
    let node_c = start_node(&url).await;
    let c = &node_c.app;
    c.take(&taker, ad, 100_000)
        .await
        .refused(403, "USER_BLOCKED");
    let order = c.take(&other, ad, 100_000).await.expect(201);
    assert!(order["id"].as_i64().is_some());
    a.assert_audit().await;
}
