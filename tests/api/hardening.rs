//! Retries, floods and shutdowns (issue #6): idempotency keys, rate limits, load shedding, and
//! draining at shutdown.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{ADMIN, Backend, TestApp, User, spawn_app_on, spawn_app_with};

/// A keyed POST: `(status, replayed?, body)`.
async fn keyed(
    app: &TestApp,
    path: &str,
    token: &str,
    key: &str,
    body: Value,
) -> (StatusCode, bool, Value) {
    let response = app
        .client
        .post(format!("{}{}", app.address, path))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .await
        .expect("the service answers");
    let status = response.status();
    let replayed = response.headers().contains_key("idempotent-replayed");
    let body = response.json().await.unwrap_or(Value::Null);
    (status, replayed, body)
}

fn withdrawal(ad: i64, amount: i64) -> Value {
    json!({
        "ad_id": ad,
        "usdt_amount": amount,
        "payment_method": "card",
        "payment_details": {"card_number": "2200 1234 5678 9012"},
    })
}

async fn orders_of(app: &TestApp, user: &User) -> Vec<Value> {
    app.get("/api/v1/p2p/orders?limit=100", Some(&user.token))
        .await
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn an_idempotency_key_runs_a_post_once_and_replays_its_first_answer(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let ad = app.buy_ad(&maker, json!({})).await;
    let player = app.player("player", 1_000_000).await;

    let first = keyed(
        &app,
        "/api/v1/p2p/orders",
        &player.token,
        "k-1",
        withdrawal(ad, 200_000),
    )
    .await;
    assert_eq!((first.0, first.1), (StatusCode::CREATED, false));
    let again = keyed(
        &app,
        "/api/v1/p2p/orders",
        &player.token,
        "k-1",
        withdrawal(ad, 200_000),
    )
    .await;
    assert_eq!((again.0, again.1), (StatusCode::CREATED, true));
    assert_eq!(again.2, first.2, "the same body");
    // However the client spells the scheme, the key is the caller's.
    let lowercase = app
        .client
        .post(format!("{}/api/v1/p2p/orders", app.address))
        .header("authorization", format!("bearer {}", player.token))
        .header("idempotency-key", "k-1")
        .json(&withdrawal(ad, 200_000))
        .send()
        .await
        .unwrap();
    assert!(lowercase.headers().contains_key("idempotent-replayed"));
    assert_eq!(orders_of(&app, &player).await.len(), 1, "one order");
    assert_eq!(
        app.balance(&player).await,
        (800_000, 200_000),
        "frozen once"
    );

    // Another request under the same key is refused; the same key of another caller is theirs.
    let other = keyed(
        &app,
        "/api/v1/p2p/orders",
        &player.token,
        "k-1",
        withdrawal(ad, 300_000),
    )
    .await;
    assert_eq!(other.0, StatusCode::CONFLICT);
    assert_eq!(other.2["error"]["code"], "IDEMPOTENCY_KEY_REUSED");
    let order = first.2["id"].as_i64().unwrap();

    // A lifecycle step replays its answer instead of hearing INVALID_ORDER_STATUS.
    let path = format!("/api/v1/p2p/orders/{order}/confirm-paid");
    let paid = keyed(&app, &path, &maker.token, "pay-1", json!({})).await;
    let paid_again = keyed(&app, &path, &maker.token, "pay-1", json!({})).await;
    assert_eq!((paid.0, paid_again.0), (StatusCode::OK, StatusCode::OK));
    assert!(paid_again.1);
    assert_eq!(paid.2, paid_again.2);
    let unkeyed = app.step(&maker, order, "confirm-paid").await;
    unkeyed.refused(409, "INVALID_ORDER_STATUS");

    // A refusal is an answer too: replayed even after the reason went away.
    let poor = app.player("poor", 0).await;
    let refused = keyed(
        &app,
        "/api/v1/p2p/orders",
        &poor.token,
        "try",
        withdrawal(ad, 100_000),
    )
    .await;
    assert_eq!(refused.2["error"]["code"], "MIN_DEPOSIT_REQUIRED");
    app.transaction(&poor, "deposit", 1_000_000)
        .await
        .expect(201);
    let replayed = keyed(
        &app,
        "/api/v1/p2p/orders",
        &poor.token,
        "try",
        withdrawal(ad, 100_000),
    )
    .await;
    assert_eq!(
        (replayed.0, replayed.1),
        (StatusCode::UNPROCESSABLE_ENTITY, true)
    );
    assert_eq!(replayed.2, refused.2);

    // The admin's keys: one user, however often the platform retries.
    let created = keyed(
        &app,
        "/api/v1/admin/users",
        ADMIN,
        "user-7",
        json!({"name": "seven"}),
    )
    .await;
    let retried = keyed(
        &app,
        "/api/v1/admin/users",
        ADMIN,
        "user-7",
        json!({"name": "seven"}),
    )
    .await;
    assert_eq!(created.2["id"], retried.2["id"]);
    assert_eq!(created.2["token"], retried.2["token"]);

    // Keys must be sane.
    let long = "k".repeat(256);
    let bad = keyed(
        &app,
        "/api/v1/p2p/orders",
        &player.token,
        &long,
        withdrawal(ad, 100_000),
    )
    .await;
    assert_eq!(bad.0, StatusCode::BAD_REQUEST);

    // Kept a day; forgotten after.
    app.clock.advance_ms(25 * 3_600_000);
    app.market
        .as_ref()
        .unwrap()
        .purge_idempotency_keys()
        .await
        .unwrap();
    let late = keyed(&app, &path, &maker.token, "pay-1", json!({})).await;
    assert_eq!(late.2["error"]["code"], "INVALID_ORDER_STATUS");
    app.assert_audit().await;
}
on_both_stores!(an_idempotency_key_runs_a_post_once_and_replays_its_first_answer);

async fn concurrent_retries_of_one_key_create_one_order(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let ad = app
        .sell_ad(&app.player("seller", 10_000_000).await, json!({}))
        .await;
    let _ = maker;
    let buyer = app.player("buyer", 0).await;
    let body = json!({"ad_id": ad, "usdt_amount": 100_000, "payment_method": "card"});
    let answers = futures_util::future::join_all((0..16).map(|_| {
        keyed(
            &app,
            "/api/v1/p2p/orders",
            &buyer.token,
            "same",
            body.clone(),
        )
    }))
    .await;
    let created: Vec<&Value> = answers
        .iter()
        .filter(|(status, _, _)| *status == StatusCode::CREATED)
        .map(|(_, _, body)| body)
        .collect();
    assert!(!created.is_empty());
    assert!(created.iter().all(|b| b["id"] == created[0]["id"]));
    for (status, _, body) in &answers {
        assert!(
            *status == StatusCode::CREATED
                || (*status == StatusCode::CONFLICT
                    && body["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"),
            "{status} {body}"
        );
    }
    assert_eq!(orders_of(&app, &buyer).await.len(), 1);
    app.assert_audit().await;
}
on_both_stores!(concurrent_retries_of_one_key_create_one_order, multi_thread);

async fn a_token_over_its_rate_is_told_to_wait(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.rate_limit_per_sec = 5).await;
    let hasty = app.player("hasty", 0).await;
    let calm = app.player("calm", 0).await;
    let mut limited = None;
    for _ in 0..40 {
        let response = app
            .client
            .get(format!("{}/api/v1/me", app.address))
            .bearer_auth(&hasty.token)
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(response);
            break;
        }
    }
    let limited = limited.expect("the burst ran out");
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after));
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["error"]["code"], "RATE_LIMITED");
    // Other users, the platform and anonymous readers are not held back.
    app.get("/api/v1/me", Some(&calm.token)).await.expect(200);
    app.get("/api/v1/admin/audit", Some(ADMIN))
        .await
        .expect(200);
    app.get("/api/v1/p2p/ads", None).await.expect(200);
    // The token recovers with time.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.get("/api/v1/me", Some(&hasty.token)).await.expect(200);
}
on_both_stores!(a_token_over_its_rate_is_told_to_wait);

async fn past_its_bound_the_service_sheds_load_instead_of_queueing(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.max_in_flight = 2).await;
    let maker = app.player("maker", 0).await;
    let ad = app
        .buy_ad(&maker, json!({"total_amount": 100_000_000}))
        .await;
    let mut players = Vec::new();
    for i in 0..24 {
        players.push(app.player(&format!("p{i}"), 1_000_000).await);
    }
    let answers = futures_util::future::join_all(players.iter().map(|p| async {
        let response = app
            .client
            .post(format!("{}/api/v1/p2p/orders", app.address))
            .bearer_auth(&p.token)
            .json(&withdrawal(ad, 100_000))
            .send()
            .await
            .unwrap();
        let retry_after = response.headers().get("retry-after").cloned();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        (status, retry_after, body)
    }))
    .await;
    let mut shed = 0;
    for (status, retry_after, body) in &answers {
        match *status {
            StatusCode::CREATED => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(body["error"]["code"], "OVERLOADED");
                assert!(retry_after.is_some());
                shed += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(shed > 0, "some requests were shed");
    app.assert_audit().await;
}
on_both_stores!(
    past_its_bound_the_service_sheds_load_instead_of_queueing,
    multi_thread
);

async fn shutdown_drains_even_with_open_event_streams(backend: Backend) {
    let mut app = spawn_app_on(backend).await;
    let user = app.player("watcher", 0).await;
    let stream = app
        .client
        .get(format!("{}/api/v1/p2p/events", app.address))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let stopped = tokio::time::timeout(Duration::from_secs(10), app.stop()).await;
    assert!(stopped.is_ok(), "the server stopped with a stream open");
    drop(stream);
}
on_both_stores!(shutdown_drains_even_with_open_event_streams);
