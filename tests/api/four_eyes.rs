//! Four eyes: a resolution of an order at or above `P2P_DUAL_CONTROL_KOPECKS` is proposed by one
//! operator and takes effect only when a second, different one approves it.

use serde_json::{Value, json};

use std::time::Duration;

use crate::events::Stream;
use crate::helpers::{Backend, TestApp, User, spawn_app_with};

/// Orders of 300,000 kopecks and more take two operators.
fn four_eyes_at_300_000(config: &mut p2p_market::config::Config) {
    config.dual_control_kopecks = 300_000;
}

async fn desk(
    app: &TestApp,
    operator: &User,
    order_id: i64,
    step: &str,
    body: Value,
) -> crate::helpers::Answer {
    app.post(
        &format!("/api/v1/operator/orders/{order_id}/{step}"),
        Some(&operator.token),
        body,
    )
    .await
}

/// The caller's `allowed_actions` in the next `kind` event of `order` on `stream`.
async fn actions_on(stream: &mut Stream, kind: &str, order: i64) -> Vec<String> {
    loop {
        let event = stream.next(Duration::from_secs(5)).await.expect("an event");
        if event.kind == kind && event.data["id"] == order {
            return actions(&event.data);
        }
    }
}

fn actions(order: &Value) -> Vec<String> {
    serde_json::from_value(order["allowed_actions"].clone()).unwrap()
}

on_both_stores!(a_large_resolution_takes_two_operators);
async fn a_large_resolution_takes_two_operators(backend: Backend) {
    let app = spawn_app_with(backend, four_eyes_at_300_000).await;
    let maker = app.player("maker", 0).await;
    let seller = app.player("seller", 2_000_000).await;
    let first = app.create_user("first operator", "operator").await;
    let second = app.create_user("second operator", "operator").await;
    let ad_id = app.buy_ad(&maker, json!({})).await;

    // Below the amount, one operator resolves at once.
    let small = app.disputed_order(&maker, &seller, ad_id, 200_000).await;
    let resolved = desk(
        &app,
        &first,
        small,
        "resolve",
        json!({"resolution": "refund"}),
    )
    .await
    .expect(200);
    assert_eq!(resolved["status"], "cancelled");

    // At the amount, the first operator's resolution is a proposal.
    let mut first_stream = Stream::open(&app, &first, None).await;
    let mut second_stream = Stream::open(&app, &second, None).await;
    let mut buyer_stream = Stream::open(&app, &maker, None).await;
    let large = app.disputed_order(&maker, &seller, ad_id, 300_000).await;
    let proposed = desk(
        &app,
        &first,
        large,
        "resolve",
        json!({"resolution": "release", "note": "the bank confirms"}),
    )
    .await
    .expect(202);
    assert_eq!(proposed["status"], "disputed");
    let proposal = &proposed["dispute"]["proposal"];
    assert_eq!(proposal["resolution"], "release");
    assert_eq!(proposal["note"], "the bank confirms");
    assert_eq!(proposal["proposed_by"], json!(first.id));
    assert_eq!(actions(&proposed), ["message", "reject"]);
    assert_eq!(
        actions(&app.order(&second, large).await),
        ["message", "approve", "reject"]
    );
    // Streams say the same: who may approve, and whom the dispute waits on.
    assert_eq!(
        actions_on(&mut first_stream, "order.resolution_proposed", large).await,
        ["message", "reject"]
    );
    assert_eq!(
        actions_on(&mut second_stream, "order.resolution_proposed", large).await,
        ["message", "approve", "reject"]
    );
    assert_eq!(
        actions_on(&mut buyer_stream, "order.disputed", large).await,
        ["message", "answer_dispute"]
    );
    // The deliberation is the desk's: a party sees no proposal.
    let seen_by_seller = app.order(&seller, large).await;
    assert_eq!(seen_by_seller["dispute"]["proposal"], Value::Null);
    assert_eq!(
        app.balance(&seller).await,
        (1_700_000, 300_000),
        "nothing moved yet"
    );

    // The same operator can neither approve it nor propose again; nor can anyone resolve past it.
    desk(&app, &first, large, "approve", json!({}))
        .await
        .refused(403, "FORBIDDEN");
    desk(
        &app,
        &second,
        large,
        "resolve",
        json!({"resolution": "refund"}),
    )
    .await
    .refused(409, "INVALID_ORDER_STATUS");
    // A party may not touch the desk.
    desk(&app, &seller, large, "approve", json!({}))
        .await
        .refused(403, "FORBIDDEN");

    // A rejection sends it back to the queue; the next proposal is the second operator's, and
    // the first approves it.
    let rejected = desk(&app, &second, large, "reject", json!({}))
        .await
        .expect(200);
    assert_eq!(rejected["status"], "disputed");
    assert_eq!(rejected["dispute"]["proposal"], Value::Null);
    desk(&app, &second, large, "approve", json!({}))
        .await
        .refused(409, "INVALID_ORDER_STATUS");
    desk(
        &app,
        &second,
        large,
        "resolve",
        json!({"resolution": "refund"}),
    )
    .await
    .expect(202);
    desk(&app, &second, large, "approve", json!({}))
        .await
        .refused(403, "FORBIDDEN");
    let approved = desk(&app, &first, large, "approve", json!({}))
        .await
        .expect(200);
    assert_eq!(approved["status"], "cancelled");
    assert_eq!(approved["dispute"]["resolution"], "refund");
    assert_eq!(approved["dispute"]["resolved_by"], json!(first.id));
    assert_eq!(
        approved["dispute"]["proposal"]["proposed_by"],
        json!(second.id)
    );
    assert_eq!(app.balance(&seller).await, (2_000_000, 0), "refunded once");
    desk(&app, &second, large, "approve", json!({}))
        .await
        .refused(409, "INVALID_ORDER_STATUS");

    // Every step is in the order's history.
    let history = app
        .get(
            &format!("/api/v1/p2p/orders/{large}/history"),
            Some(&first.token),
        )
        .await
        .expect(200);
    let steps: Vec<(String, Value, Value)> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| {
            (
                step["event"].as_str().unwrap().to_string(),
                step["actor"]["id"].clone(),
                step["reason"].clone(),
            )
        })
        .collect();
    assert_eq!(
        steps[3..],
        [
            (
                "order.resolution_proposed".to_string(),
                json!(first.id),
                json!("release")
            ),
            (
                "order.resolution_rejected".to_string(),
                json!(second.id),
                json!("release")
            ),
            (
                "order.resolution_proposed".to_string(),
                json!(second.id),
                json!("refund")
            ),
            (
                "order.resolved".to_string(),
                json!(first.id),
                json!("refund")
            ),
        ]
    );
    // The parties' history and stream carry the outcome, not the deliberation.
    let theirs = app
        .get(
            &format!("/api/v1/p2p/orders/{large}/history"),
            Some(&seller.token),
        )
        .await
        .expect(200);
    let kinds: Vec<&str> = theirs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "order.created",
            "order.paid",
            "order.disputed",
            "order.resolved"
        ]
    );
    loop {
        let event = buyer_stream
            .next(Duration::from_secs(5))
            .await
            .expect("an event");
        assert!(
            !event.kind.starts_with("order.resolution_"),
            "a party heard {}",
            event.kind
        );
        if event.kind == "order.resolved" && event.data["id"] == large {
            break;
        }
    }
    app.assert_audit().await;
}
