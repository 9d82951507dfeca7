//! The real binary, driven by concurrent clients, killed with SIGKILL at random moments and
//! restarted on the same database, again and again: nothing acknowledged is lost, the audit holds,
//! no escrow is stuck, overdue orders expire soon after the restart, and a client retrying with
//! its idempotency key gets its original answer.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::helpers::{Backend, TestApp, User, eventually, fresh_postgres_database};
use crate::nodes::start_node;

const CYCLES: usize = 10;
const CLIENTS: usize = 6;

/// A keyed request a client sent, and what came back if anything did.
#[derive(Debug, Clone)]
struct Sent {
    path: String,
    token: String,
    key: String,
    body: Value,
    answer: Option<(StatusCode, Value)>,
}

async fn send(client: &reqwest::Client, address: &str, sent: &mut Sent) -> bool {
    let response = client
        .post(format!("{address}{}", sent.path))
        .bearer_auth(&sent.token)
        .header("idempotency-key", &sent.key)
        .json(&sent.body)
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    let Ok(response) = response else { return false };
    let status = response.status();
    let Ok(body) = response.json::<Value>().await else {
        return false;
    };
    sent.answer = Some((status, body));
    true
}

/// One client: whole withdrawals, each step keyed, until the server dies.
async fn client(
    address: String,
    player: User,
    maker: User,
    ad: i64,
    tag: String,
    log: Arc<Mutex<Vec<Sent>>>,
) {
    let http = reqwest::Client::new();
    for n in 0.. {
        let mut create = Sent {
            path: "/api/v1/p2p/orders".into(),
            token: player.token.clone(),
            key: format!("{tag}-{n}-create"),
            body: json!({
                "ad_id": ad, "usdt_amount": 10_000, "payment_method": "card",
                "payment_details": {"card_number": "2200 1234 5678 9012"},
            }),
            answer: None,
        };
        let alive = send(&http, &address, &mut create).await;
        let order = create
            .answer
            .as_ref()
            .filter(|(status, _)| *status == StatusCode::CREATED)
            .and_then(|(_, body)| body["id"].as_i64());
        log.lock().unwrap().push(create);
        let Some(order) = order else {
            if !alive {
                return;
            }
            continue;
        };
        for (step, who) in [("confirm-paid", &maker), ("confirm-received", &player)] {
            let mut sent = Sent {
                path: format!("/api/v1/p2p/orders/{order}/{step}"),
                token: who.token.clone(),
                key: format!("{tag}-{n}-{step}"),
                body: json!({}),
                answer: None,
            };
            let alive = send(&http, &address, &mut sent).await;
            log.lock().unwrap().push(sent);
            if !alive {
                return;
            }
        }
    }
}

async fn crash_and_restart_loses_nothing_acknowledged(backend: Backend) {
    let dir = TempDir::new().unwrap();
    let url = match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.path().join("crash.db").display()),
        Backend::Postgres => fresh_postgres_database().await,
    };
    let mut node = start_node(&url).await;
    let app = &node.app;
    let maker = app.player("maker", 0).await;
    let ad = app
        .buy_ad(
            &maker,
            json!({"total_amount": 1_000_000_000, "min_amount": 10_000}),
        )
        .await;
    let short = app
        .buy_ad(
            &maker,
            json!({"payment_window_seconds": 1, "min_amount": 10_000}),
        )
        .await;
    let mut players = Vec::new();
    for i in 0..CLIENTS {
        players.push(app.player(&format!("player {i}"), 100_000_000).await);
    }
    let late = app.player("late payer", 100_000_000).await;
    let mut rng = StdRng::seed_from_u64(7);
    let log = Arc::new(Mutex::new(Vec::<Sent>::new()));
    let mut overdue = Vec::new();

    for cycle in 0..CYCLES {
        let address = node.app.address.clone();
        // An order that will be overdue when the service comes back.
        let pending = node.app.take(&late, short, 10_000).await.expect(201)["id"]
            .as_i64()
            .unwrap();
        overdue.push(pending);
        let clients: Vec<_> = players
            .iter()
            .enumerate()
            .map(|(i, player)| {
                tokio::spawn(client(
                    address.clone(),
                    player.clone(),
                    maker.clone(),
                    ad,
                    format!("c{cycle}-p{i}"),
                    log.clone(),
                ))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(rng.random_range(150..700))).await;
        node.process.start_kill().unwrap();
        let _ = node.process.wait().await;
        for client in clients {
            client.await.unwrap();
        }
        node = start_node(&url).await;
        let app = &node.app;

        // Every acknowledged change is there, and retrying its key answers the same.
        let sent: Vec<Sent> = log.lock().unwrap().clone();
        for request in sent
            .iter()
            .filter(|s| s.key.starts_with(&format!("c{cycle}-")))
        {
            let mut retry = request.clone();
            retry.answer = None;
            assert!(send(&app.client, &app.address, &mut retry).await);
            let (status, body) = retry.answer.unwrap();
            assert!(
                !status.is_server_error(),
                "{} → {status} {body}",
                request.key
            );
            match &request.answer {
                Some((first_status, first_body)) if first_status.is_success() => {
                    assert_eq!(
                        (status, &body),
                        (*first_status, first_body),
                        "{} replays its answer",
                        request.key
                    );
                    if let Some(id) = first_body["id"]
                        .as_i64()
                        .filter(|_| request.path.ends_with("orders"))
                    {
                        let stored = app.order(&players_of(&players, &request.token), id).await;
                        assert_eq!(stored["id"], id);
                    }
                }
                // Cut off by the kill: whatever it did happened once.
                _ => {}
            }
        }
        // Orders the kill left half done are ended, so every player can withdraw again.
        for player in &players {
            end_active_orders(app, player, &maker).await;
        }
        // The order left pending expires within seconds of the restart.
        let expired = eventually(5, || async {
            app.order(&late, pending).await["status"] == "cancelled"
        })
        .await;
        assert!(
            expired,
            "cycle {cycle}: the overdue order expired after the restart"
        );
        app.assert_audit().await;
    }

    // No escrow stuck: only what active orders hold is frozen.
    let app = &node.app;
    for player in players.iter().chain([&late]) {
        let active = app
            .get(
                "/api/v1/p2p/orders?status=pending&limit=100",
                Some(&player.token),
            )
            .await
            .expect(200)["total"]
            .as_i64()
            .unwrap()
            + app
                .get(
                    "/api/v1/p2p/orders?status=paid_by_buyer&limit=100",
                    Some(&player.token),
                )
                .await
                .expect(200)["total"]
                .as_i64()
                .unwrap();
        let (_, frozen) = app.balance(player).await;
        assert_eq!(frozen, active * 10_000, "frozen matches the active orders");
    }
    let acknowledged = log
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.answer.as_ref().is_some_and(|(st, _)| st.is_success()))
        .count();
    let cut_off = log
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.answer.is_none())
        .count();
    eprintln!(
        "crash test: {CYCLES} kills, {acknowledged} acknowledged requests replayed, {cut_off} cut off by a kill and retried"
    );
    assert!(
        acknowledged > CYCLES * CLIENTS,
        "the clients got work done: {acknowledged}"
    );
    drop(node);
}

async fn end_active_orders(app: &TestApp, player: &User, maker: &User) {
    for (status, step, who) in [
        ("pending", "cancel", player),
        ("paid_by_buyer", "cancel", maker),
    ] {
        let page = app
            .get(
                &format!("/api/v1/p2p/orders?status={status}&limit=100"),
                Some(&player.token),
            )
            .await
            .expect(200);
        for order in page["items"].as_array().unwrap() {
            let id = order["id"].as_i64().unwrap();
            // A busy machine may shed the request (503, retry as told); an order that moved on
            // meanwhile is ended already.
            let mut answer = app.step(who, id, step).await;
            for _ in 0..10 {
                if answer.status != 503 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
                answer = app.step(who, id, step).await;
            }
            assert!(
                answer.status == 200 || answer.code() == "INVALID_ORDER_STATUS",
                "ending order {id}: {} {}",
                answer.status,
                answer.body
            );
        }
    }
}

fn players_of(players: &[User], token: &str) -> User {
    players
        .iter()
        .find(|p| p.token == token)
        .cloned()
        .expect("a player's request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    crash_and_restart_loses_nothing_acknowledged(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    if crate::helpers::postgres_available("crash::postgres") {
        crash_and_restart_loses_nothing_acknowledged(Backend::Postgres).await
    }
}
