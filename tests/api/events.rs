//! Live order events, webhooks, order history and allowed actions, blocks and the cancel pause
//! (issue #7), each provoked through HTTP.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use p2p_market::market::webhooks::{
    EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature,
};
use serde_json::{Value, json};

use crate::helpers::{ADMIN, Backend, TestApp, User, eventually, spawn_app_on, spawn_app_with};

/// One Server-Sent Event.
#[derive(Debug, Clone)]
pub struct Sse {
    pub id: i64,
    pub kind: String,
    pub data: Value,
}

/// A client's connection to the event stream.
pub struct Stream {
    response: reqwest::Response,
    buffer: String,
}

impl Stream {
    pub async fn open(app: &TestApp, user: &User, last_event_id: Option<i64>) -> Stream {
        let mut request = app
            .client
            .get(format!("{}/api/v1/p2p/events", app.address))
            .bearer_auth(&user.token);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        let response = request.send().await.expect("the stream opens");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Stream {
            response,
            buffer: String::new(),
        }
    }

    /// The next event (heartbeat comments skipped), or `None` after `wait` without one.
    pub async fn next(&mut self, wait: Duration) -> Option<Sse> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut kind, mut data) = (None, String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().parse().ok();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        kind = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if let Some(id) = id {
                    let data = serde_json::from_str(&data).expect("event data is JSON");
                    return Some(Sse { id, kind, data });
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk()).await;
            match chunk {
                Ok(Ok(Some(bytes))) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                _ => return None,
            }
        }
    }

    /// The next `n` events.
    pub async fn take(&mut self, n: usize) -> Vec<Sse> {
        let mut events = Vec::new();
        while events.len() < n {
            match self.next(Duration::from_secs(5)).await {
                Some(event) => events.push(event),
                None => panic!("expected {n} events, got {events:?}"),
            }
        }
        events
    }
}

fn kinds(events: &[Sse]) -> Vec<&str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

fn assert_increasing(events: &[Sse]) {
    for pair in events.windows(2) {
        assert!(pair[0].id < pair[1].id, "ids increase: {events:?}");
    }
}

/// A maker with a buy ad and a player who can withdraw from it.
async fn market(app: &TestApp) -> (User, User, i64) {
    let maker = app.player("maker", 0).await;
    let player = app.player("player", 1_000_000).await;
    let ad = app.buy_ad(&maker, json!({})).await;
    (maker, player, ad)
}

async fn events_reach_both_parties_in_order_and_survive_a_reconnect(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let (maker, player, ad) = market(&app).await;
    let operator = app.operator().await;
    let mut buyer_stream = Stream::open(&app, &maker, None).await;
    let mut seller_stream = Stream::open(&app, &player, None).await;
    let mut operator_stream = Stream::open(&app, &operator, None).await;

    let order = app.take(&player, ad, 200_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    app.post(
        &format!("/api/v1/p2p/orders/{order}/messages"),
        Some(&player.token),
        json!({"message": "card ready"}),
    )
    .await
    .expect(201);

    let first = seller_stream.take(2).await;
    assert_eq!(kinds(&first), ["order.created", "message.created"]);
    assert_eq!(first[0].data["id"], order);
    assert_eq!(first[0].data["status"], "pending");
    assert_eq!(
        first[0].data["allowed_actions"],
        json!(["cancel", "update_payment_details", "message"])
    );
    assert_eq!(first[1].data["message"], "card ready");
    assert!(first[1].data["id"].as_i64().unwrap() > 0);
    // The seller drops the connection here; the rest of the order happens while away.
    let last_seen = first[1].id;
    drop(seller_stream);

    app.step(&maker, order, "confirm-paid").await.expect(200);
    app.post(
        &format!("/api/v1/p2p/orders/{order}/call-operator"),
        Some(&player.token),
        json!({"reason": "no money"}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/operator/orders/{order}/resolve"),
        Some(&operator.token),
        json!({"resolution": "release", "note": "paid"}),
    )
    .await
    .expect(200);

    let buyer = buyer_stream.take(5).await;
    assert_eq!(
        kinds(&buyer),
        [
            "order.created",
            "message.created",
            "order.paid",
            "order.disputed",
            "order.resolved"
        ]
    );
    assert_increasing(&buyer);
    assert_eq!(
        buyer[0].data["allowed_actions"],
        json!(["confirm_paid", "cancel", "message"])
    );
    assert_eq!(buyer[4].data["status"], "completed");
    assert_eq!(buyer[4].data["allowed_actions"], json!(["message", "rate"]));

    // Reconnecting with Last-Event-ID replays exactly what was missed, then goes on live.
    let mut seller_stream = Stream::open(&app, &player, Some(last_seen)).await;
    let missed = seller_stream.take(3).await;
    assert_eq!(
        kinds(&missed),
        ["order.paid", "order.disputed", "order.resolved"]
    );
    assert_eq!(
        missed.iter().map(|e| e.id).collect::<Vec<_>>(),
        buyer[2..].iter().map(|e| e.id).collect::<Vec<_>>()
    );
    // The event that ended the order carries the order as it ended: what reading it answers.
    assert_eq!(missed[2].data, app.order(&player, order).await);
    assert_eq!(buyer[4].data, app.order(&maker, order).await);
    app.post(
        &format!("/api/v1/p2p/orders/{order}/messages"),
        Some(&maker.token),
        json!({"message": "thanks"}),
    )
    .await
    .expect(201);
    let live = seller_stream.take(1).await;
    assert_eq!(live[0].kind, "message.created");
    assert!(live[0].id > missed[2].id);
    assert!(
        seller_stream
            .next(Duration::from_millis(300))
            .await
            .is_none()
    );

    // Operators see the disputed order's events, from the dispute on, and nothing else.
    let desk = operator_stream.take(3).await;
    assert_eq!(
        kinds(&desk),
        ["order.disputed", "order.resolved", "message.created"]
    );
    assert_eq!(
        desk[0].data["allowed_actions"],
        json!(["resolve", "message"])
    );

    // A stranger's stream stays silent; an anonymous one is refused.
    let stranger = app.player("stranger", 0).await;
    let mut quiet = Stream::open(&app, &stranger, Some(0)).await;
    assert!(quiet.next(Duration::from_millis(300)).await.is_none());
    app.get("/api/v1/p2p/events", None)
        .await
        .refused(401, "UNAUTHORIZED");
    let bad = app
        .client
        .get(format!("{}/api/v1/p2p/events", app.address))
        .bearer_auth(&player.token)
        .header("last-event-id", "yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}
on_both_stores!(events_reach_both_parties_in_order_and_survive_a_reconnect);

async fn a_long_replay_pages_through_the_database(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let (maker, player, ad) = market(&app).await;
    let order = take_id(&app, &player, ad, 100_000).await;
    for i in 0..1100 {
        app.post(
            &format!("/api/v1/p2p/orders/{order}/messages"),
            Some(&player.token),
            json!({"message": format!("message {i}")}),
        )
        .await
        .expect(201);
    }
    // Over two pages of the database, in order, then live.
    let mut stream = Stream::open(&app, &maker, Some(0)).await;
    let replayed = stream.take(1101).await;
    assert_eq!(replayed[0].kind, "order.created");
    assert_eq!(replayed[1100].data["message"], "message 1099");
    assert_increasing(&replayed);
    app.step(&maker, order, "confirm-paid").await.expect(200);
    assert_eq!(stream.take(1).await[0].kind, "order.paid");
}
on_both_stores!(a_long_replay_pages_through_the_database);

async fn take_id(app: &TestApp, taker: &User, ad: i64, amount: i64) -> i64 {
    app.take(taker, ad, amount).await.expect(201)["id"]
        .as_i64()
        .unwrap()
}

/// What the test's webhook receiver saw.
#[derive(Default)]
pub struct Receiver {
    pub failing: AtomicBool,
    pub attempts: AtomicUsize,
    pub accepted: Mutex<Vec<(HeaderMap, String)>>,
}

/// Starts a receiver of webhooks; answers its URL.
pub async fn webhook_receiver(receiver: Arc<Receiver>) -> String {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(
            |axum::extract::State(receiver): axum::extract::State<Arc<Receiver>>,
             headers: HeaderMap,
             body: String| async move {
                receiver.attempts.fetch_add(1, Ordering::SeqCst);
                if receiver.failing.load(Ordering::SeqCst) {
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
                receiver.accepted.lock().unwrap().push((headers, body));
                StatusCode::NO_CONTENT
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, app.with_state(receiver))
            .await
            .unwrap();
    });
    address
}

const SECRET: &str = "a-webhook-secret-of-some-length";

async fn webhooks_deliver_every_finished_order_signed_despite_failures_and_a_restart(
    backend: Backend,
) {
    let app = spawn_app_on(backend).await;
    let receiver = Arc::new(Receiver::default());
    receiver.failing.store(true, Ordering::SeqCst);
    let url = webhook_receiver(receiver.clone()).await;
    let hook = app
        .post(
            "/api/v1/admin/webhooks",
            Some(ADMIN),
            json!({"url": url, "secret": SECRET}),
        )
        .await
        .expect(201);
    assert!(hook.get("secret").is_none(), "the secret is never shown");
    let (maker, player, ad) = market(&app).await;
    let operator = app.operator().await;
    // Completed.
    let completed = take_id(&app, &player, ad, 100_000).await;
    app.step(&maker, completed, "confirm-paid")
        .await
        .expect(200);
    app.step(&player, completed, "confirm-received")
        .await
        .expect(200);
    // Cancelled.
    let cancelled = take_id(&app, &player, ad, 100_000).await;
    app.step(&player, cancelled, "cancel").await.expect(200);
    // Resolved.
    let resolved = take_id(&app, &player, ad, 100_000).await;
    app.step(&maker, resolved, "confirm-paid").await.expect(200);
    app.step(&maker, resolved, "call-operator")
        .await
        .expect(200);
    app.post(
        &format!("/api/v1/operator/orders/{resolved}/resolve"),
        Some(&operator.token),
        json!({"resolution": "refund", "note": "no payment"}),
    )
    .await
    .expect(200);
    // Expired (the shortest window the tests allow).
    let short = app
        .buy_ad(&maker, json!({"payment_window_seconds": 1}))
        .await;
    let expired = take_id(&app, &player, short, 100_000).await;

    // The receiver fails the first deliveries; the service keeps trying, and survives a restart.
    assert!(
        eventually(10, || async {
            receiver.attempts.load(Ordering::SeqCst) >= 2
        })
        .await,
        "deliveries were attempted"
    );
    let listed = app
        .get("/api/v1/admin/webhooks", Some(ADMIN))
        .await
        .expect(200);
    assert!(listed["items"][0]["attempts"].as_i64().unwrap() >= 1);
    assert!(
        listed["items"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("500")
    );
    let app = app.restart().await;
    receiver.failing.store(false, Ordering::SeqCst);
    let all_in = eventually(15, || async {
        let accepted = receiver.accepted.lock().unwrap();
        let mut ids: Vec<i64> = accepted
            .iter()
            .map(|(h, _)| h[EVENT_ID_HEADER].to_str().unwrap().parse().unwrap())
            .collect();
        ids.dedup();
        ids.len() >= 5
    })
    .await;
    assert!(all_in, "every event arrived");

    let accepted = receiver.accepted.lock().unwrap().clone();
    let mut seen = Vec::new();
    for (headers, body) in &accepted {
        let timestamp: i64 = headers[TIMESTAMP_HEADER].to_str().unwrap().parse().unwrap();
        assert_eq!(
            headers[SIGNATURE_HEADER].to_str().unwrap(),
            signature(SECRET, timestamp, body.as_bytes()),
            "signed with the secret"
        );
        let event: Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            headers[EVENT_ID_HEADER].to_str().unwrap(),
            event["id"].to_string()
        );
        seen.push((
            event["id"].as_i64().unwrap(),
            event["type"].as_str().unwrap().to_string(),
            event["data"]["id"].as_i64().unwrap(),
            event["data"]["status"].as_str().unwrap().to_string(),
        ));
    }
    seen.dedup();
    assert!(
        seen.windows(2).all(|w| w[0].0 < w[1].0),
        "in order: {seen:?}"
    );
    let summary: Vec<(&str, i64, &str)> = seen
        .iter()
        .map(|(_, kind, order, status)| (kind.as_str(), *order, status.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            ("order.completed", completed, "completed"),
            ("order.cancelled", cancelled, "cancelled"),
            ("order.disputed", resolved, "disputed"),
            ("order.resolved", resolved, "cancelled"),
            ("order.expired", expired, "cancelled"),
        ]
    );
    // The receiver answered before the service recorded it: wait for the record.
    let recorded = eventually(5, || async {
        let listed = app
            .get("/api/v1/admin/webhooks", Some(ADMIN))
            .await
            .expect(200);
        listed["items"][0]["delivered"].as_i64().unwrap() >= 5
    })
    .await;
    assert!(recorded, "the deliveries were recorded");
    let listed = app
        .get("/api/v1/admin/webhooks", Some(ADMIN))
        .await
        .expect(200);
    let state = &listed["items"][0];
    assert_eq!(state["attempts"], 0);
    assert_eq!(state["last_error"], Value::Null);

    // Admin only; a removed webhook hears nothing more.
    app.get("/api/v1/admin/webhooks", Some(&player.token))
        .await
        .refused(403, "FORBIDDEN");
    app.post(
        "/api/v1/admin/webhooks",
        Some(ADMIN),
        json!({"url": "ftp://nowhere", "secret": SECRET}),
    )
    .await
    .refused(400, "VALIDATION_ERROR");
    let id = state["id"].as_i64().unwrap();
    assert_eq!(
        app.delete(&format!("/api/v1/admin/webhooks/{id}"), Some(ADMIN))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    app.delete(&format!("/api/v1/admin/webhooks/{id}"), Some(ADMIN))
        .await
        .refused(404, "NOT_FOUND");
    let before = receiver.attempts.load(Ordering::SeqCst);
    let another = app.take(&player, ad, 100_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    app.step(&player, another, "cancel").await.expect(200);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(receiver.attempts.load(Ordering::SeqCst), before);
    app.assert_audit().await;
}
on_both_stores!(
    webhooks_deliver_every_finished_order_signed_despite_failures_and_a_restart,
    multi_thread
);

async fn history_lists_every_transition_and_orders_say_what_each_party_may_do(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let (maker, player, ad) = market(&app).await;
    let operator = app.operator().await;
    let order = app.take(&player, ad, 100_000).await.expect(201);
    assert_eq!(
        order["allowed_actions"],
        json!(["cancel", "update_payment_details", "message"])
    );
    let id = order["id"].as_i64().unwrap();
    let seen_by = |user: User| {
        let app = &app;
        async move { app.order(&user, id).await["allowed_actions"].clone() }
    };
    assert_eq!(
        seen_by(maker.clone()).await,
        json!(["confirm_paid", "cancel", "message"])
    );
    assert_eq!(seen_by(operator.clone()).await, json!(["message"]));
    let paid = app.step(&maker, id, "confirm-paid").await.expect(200);
    assert_eq!(
        paid["allowed_actions"],
        json!(["cancel", "call_operator", "message"])
    );
    app.post(
        &format!("/api/v1/p2p/orders/{id}/call-operator"),
        Some(&player.token),
        json!({"reason": "payment missing"}),
    )
    .await
    .expect(200);
    let resolved = app
        .post(
            &format!("/api/v1/operator/orders/{id}/resolve"),
            Some(&operator.token),
            json!({"resolution": "release", "note": "found it"}),
        )
        .await
        .expect(200);
    assert_eq!(resolved["allowed_actions"], json!(["message"]));
    assert_eq!(seen_by(player.clone()).await, json!(["message", "rate"]));
    app.post(
        &format!("/api/v1/p2p/orders/{id}/rate"),
        Some(&player.token),
        json!({"rating": 5}),
    )
    .await
    .expect(201);
    assert_eq!(seen_by(player.clone()).await, json!(["message"]));
    let listed = app
        .get("/api/v1/p2p/orders", Some(&maker.token))
        .await
        .expect(200);
    assert_eq!(
        listed["items"][0]["allowed_actions"],
        json!(["message", "rate"])
    );

    let history = app
        .get(
            &format!("/api/v1/p2p/orders/{id}/history"),
            Some(&maker.token),
        )
        .await
        .expect(200);
    let steps: Vec<(String, Value, Value, i64, String, Value)> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["event"].as_str().unwrap().to_string(),
                s["from_status"].clone(),
                s["to_status"].clone(),
                s["actor"]["id"].as_i64().unwrap_or(0),
                s["actor"]["role"].as_str().unwrap().to_string(),
                s["reason"].clone(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        vec![
            (
                "order.created".into(),
                Value::Null,
                json!("pending"),
                player.id,
                "seller".into(),
                Value::Null
            ),
            (
                "order.paid".into(),
                json!("pending"),
                json!("paid_by_buyer"),
                maker.id,
                "buyer".into(),
                Value::Null
            ),
            (
                "order.disputed".into(),
                json!("paid_by_buyer"),
                json!("disputed"),
                player.id,
                "seller".into(),
                json!("payment missing")
            ),
            (
                "order.resolved".into(),
                json!("disputed"),
                json!("completed"),
                operator.id,
                "operator".into(),
                json!("release")
            ),
        ]
    );
    assert!(history["items"][0]["at"].as_str().unwrap().ends_with('Z'));
    // Chat is not a transition; strangers learn nothing.
    let stranger = app.player("stranger", 0).await;
    app.get(
        &format!("/api/v1/p2p/orders/{id}/history"),
        Some(&stranger.token),
    )
    .await
    .refused(404, "NOT_FOUND");
    app.get(&format!("/api/v1/p2p/orders/{id}/history"), None)
        .await
        .refused(401, "UNAUTHORIZED");

    // An expiry is the system's, with its reason.
    let short = app
        .buy_ad(&maker, json!({"payment_window_seconds": 1}))
        .await;
    let expiring = app.take(&player, short, 100_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    let expired = eventually(5, || async {
        app.order(&player, expiring).await["status"] == "cancelled"
    })
    .await;
    assert!(expired);
    let history = app
        .get(
            &format!("/api/v1/p2p/orders/{expiring}/history"),
            Some(&player.token),
        )
        .await
        .expect(200);
    let last = &history["items"][1];
    assert_eq!(last["event"], "order.expired");
    assert_eq!(last["actor"], json!({"id": null, "role": "system"}));
    assert_eq!(last["reason"], "timeout");
}
on_both_stores!(history_lists_every_transition_and_orders_say_what_each_party_may_do);

/// The ids of the buy ads on the listing's first page (100), as `viewer` (or anyone) sees it.
pub async fn listed_ad_ids(app: &TestApp, viewer: Option<&User>) -> Vec<i64> {
    let page = app
        .get(
            "/api/v1/p2p/ads?type=buy&limit=100",
            viewer.map(|u| u.token.as_str()),
        )
        .await
        .expect(200);
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ad| ad["id"].as_i64().unwrap())
        .collect()
}

async fn a_block_hides_ads_and_stops_trading_both_ways(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let (maker, player, ad) = market(&app).await;
    let other = app.player("other maker", 0).await;
    let other_ad = app.buy_ad(&other, json!({})).await;
    let player_sell_ad = {
        let seller = app.player("player2", 10_000_000).await;
        (seller.clone(), app.sell_ad(&seller, json!({})).await)
    };
    let blocked = app
        .post(
            &format!("/api/v1/users/{}/block", player.id),
            Some(&maker.token),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(blocked["user_id"], player.id);
    // Blocking again changes nothing.
    app.post(
        &format!("/api/v1/users/{}/block", player.id),
        Some(&maker.token),
        json!({}),
    )
    .await
    .expect(200);
    let mine = app
        .get("/api/v1/me/blocks", Some(&maker.token))
        .await
        .expect(200);
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine["items"][0]["user_id"], player.id);

    // The blocked player no longer sees the maker's ads, nor can take them.
    assert_eq!(listed_ad_ids(&app, Some(&player)).await, vec![other_ad]);
    let mut everyone = listed_ad_ids(&app, None).await;
    everyone.sort();
    assert_eq!(everyone, vec![ad, other_ad]);
    app.take(&player, ad, 100_000)
        .await
        .refused(403, "USER_BLOCKED");
    // And the blocker neither trades with the blocked user.
    app.post(
        &format!("/api/v1/users/{}/block", maker.id),
        Some(&player_sell_ad.0.token),
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        "/api/v1/p2p/orders",
        Some(&maker.token),
        json!({"ad_id": player_sell_ad.1, "usdt_amount": 100_000, "payment_method": "card"}),
    )
    .await
    .refused(403, "USER_BLOCKED");
    app.take(&player, other_ad, 100_000).await.expect(201);

    // Bad blocks.
    app.post(
        &format!("/api/v1/users/{}/block", maker.id),
        Some(&maker.token),
        json!({}),
    )
    .await
    .refused(422, "CANNOT_BLOCK_SELF");
    app.post("/api/v1/users/999999/block", Some(&maker.token), json!({}))
        .await
        .refused(404, "NOT_FOUND");
    app.post(
        &format!("/api/v1/users/{}/block", player.id),
        None,
        json!({}),
    )
    .await
    .refused(401, "UNAUTHORIZED");

    // A restart keeps the block; unblocking lifts it.
    let app = app.restart().await;
    app.take(&player, ad, 100_000)
        .await
        .refused(403, "USER_BLOCKED");
    assert_eq!(
        app.delete(
            &format!("/api/v1/users/{}/block", player.id),
            Some(&maker.token)
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert!(listed_ad_ids(&app, Some(&player)).await.contains(&ad));
    let mine = app
        .get("/api/v1/me/blocks", Some(&maker.token))
        .await
        .expect(200);
    assert_eq!(mine["items"], json!([]));
    app.assert_audit().await;
}
on_both_stores!(a_block_hides_ads_and_stops_trading_both_ways);

async fn a_taker_who_cancels_too_often_is_paused(backend: Backend) {
    let app = spawn_app_with(backend, |config| {
        config.taker_cancel_limit = 2;
        config.taker_pause_secs = 600;
    })
    .await;
    let maker = app.player("maker", 0).await;
    let ad = app.buy_ad(&maker, json!({})).await;
    let taker = app.player("taker", 1_000_000).await;
    // The maker's cancels do not count against the taker.
    for _ in 0..2 {
        let order = app.take(&taker, ad, 100_000).await.expect(201).id_of();
        app.step(&maker, order, "cancel").await.expect(200);
    }
    for _ in 0..2 {
        let order = app.take(&taker, ad, 100_000).await.expect(201).id_of();
        app.step(&taker, order, "cancel").await.expect(200);
    }
    let refused = app.take(&taker, ad, 100_000).await;
    refused.refused(429, "TAKING_PAUSED");
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cancelled 2")
    );
    // Other takers are not affected; the pause survives a restart.
    let other = app.player("other", 1_000_000).await;
    app.take(&other, ad, 100_000).await.expect(201);
    let app = app.restart().await;
    let answer = app
        .client
        .post(format!("{}/api/v1/p2p/orders", app.address))
        .bearer_auth(&taker.token)
        .json(&json!({
            "ad_id": ad, "usdt_amount": 100_000, "payment_method": "card",
            "payment_details": {"card_number": "2200 1234 5678 9012"},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = answer.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((590..=600).contains(&retry_after), "{retry_after}");
    // When the pause ends, the taker may take again.
    app.clock.advance_ms(601_000);
    app.take(&taker, ad, 100_000).await.expect(201);
}
on_both_stores!(a_taker_who_cancels_too_often_is_paused);

trait IdOf {
    fn id_of(&self) -> i64;
}

impl IdOf for Value {
    fn id_of(&self) -> i64 {
        self["id"].as_i64().unwrap()
    }
}

async fn idle_streams_get_heartbeats(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.event_heartbeat_secs = 1).await;
    let user = app.player("idle", 0).await;
    let mut stream = Stream::open(&app, &user, None).await;
    // No event arrives, but the connection carries a comment within the interval.
    let started = tokio::time::Instant::now();
    let chunk = tokio::time::timeout(Duration::from_secs(3), stream.response.chunk())
        .await
        .expect("a heartbeat within 3 s")
        .unwrap()
        .expect("the stream is open");
    assert!(
        String::from_utf8_lossy(&chunk).starts_with(':'),
        "{chunk:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(500));
}
on_both_stores!(idle_streams_get_heartbeats);
