//! The release deadline: a seller who neither releases nor disputes a paid order within its
//! release window sees it disputed for the buyer, once, also across a restart and two nodes.

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, User, eventually, spawn_app_on, time_of};

async fn history(app: &TestApp, user: &User, order_id: i64) -> Vec<Value> {
    app.get(
        &format!("/api/v1/p2p/orders/{order_id}/history"),
        Some(&user.token),
    )
    .await
    .expect(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// The order's `order.disputed` steps.
async fn disputes(app: &TestApp, user: &User, order_id: i64) -> Vec<Value> {
    history(app, user, order_id)
        .await
        .into_iter()
        .filter(|step| step["event"] == "order.disputed")
        .collect()
}

on_both_stores!(a_paid_order_the_seller_sits_on_is_disputed_for_the_buyer);
async fn a_paid_order_the_seller_sits_on_is_disputed_for_the_buyer(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let seller = app.player("seller", 1_000_000).await;
    let operator = app.operator().await;

    // The window is the ad's, within the service's bounds; 1800 s unless it says.
    let plain = app.buy_ad(&maker, json!({})).await;
    assert_eq!(app.ad_json(plain).await["release_window_seconds"], 1800);
    for refused in [0, 86_401] {
        app.post(
            "/api/v1/p2p/ads",
            Some(&maker.token),
            json!({"type": "buy", "fiat_currency": "RUB", "price": 9500,
                   "min_amount": 100_000, "max_amount": 1_000_000, "total_amount": 5_000_000,
                   "payment_methods": ["card"], "release_window_seconds": refused}),
        )
        .await
        .refused(400, "VALIDATION_ERROR");
    }
    let short = app
        .buy_ad(&maker, json!({"release_window_seconds": 1}))
        .await;

    // Pending: no release deadline yet.
    let order_id = app.take(&seller, short, 200_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    let pending = app.order(&seller, order_id).await;
    assert_eq!(pending["release_window_seconds"], 1);
    assert_eq!(pending["release_deadline_at"], Value::Null);
    let paid = app.step(&maker, order_id, "confirm-paid").await.expect(200);
    assert!(paid["release_deadline_at"].is_string());
    assert_eq!(
        time_of(&paid["release_deadline_at"]) - time_of(&paid["paid_at"]),
        1_000
    );

    let disputed = eventually(4, || async {
        app.order(&seller, order_id).await["status"] == "disputed"
    })
    .await;
    assert!(disputed, "the release deadline did not dispute the order");
    let order = app.order(&seller, order_id).await;
    assert_eq!(
        order["dispute"]["opened_by"],
        Value::Null,
        "the service opened it"
    );
    assert_eq!(order["dispute"]["opened_by_role"], "system");
    assert_eq!(order["dispute"]["reason"], "release_timeout");
    assert_eq!(order["release_deadline_at"], Value::Null);
    assert!(time_of(&order["dispute"]["opened_at"]) - time_of(&order["paid_at"]) >= 1_000);
    // The seller may still release; the buyer waits for the desk.
    let actions = |order: &Value| order["allowed_actions"].clone();
    assert_eq!(
        actions(&order),
        json!(["confirm_received", "message", "answer_dispute"])
    );
    assert_eq!(
        actions(&app.order(&maker, order_id).await),
        json!(["message"])
    );
    let steps = disputes(&app, &seller, order_id).await;
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0]["actor"], json!({"id": null, "role": "system"}));
    assert_eq!(steps[0]["reason"], "release_timeout");
    let open = app
        .get(
            "/api/v1/operator/disputes?status=open",
            Some(&operator.token),
        )
        .await
        .expect(200);
    assert_eq!(open["items"][0]["id"], json!(order_id));
    app.post(
        &format!("/api/v1/operator/orders/{order_id}/resolve"),
        Some(&operator.token),
        json!({"resolution": "release", "note": "the buyer's receipt checks out"}),
    )
    .await
    .expect(200);

    // A seller who answers in time, and a party's own dispute, are not the service's.
    let long = app
        .buy_ad(&maker, json!({"release_window_seconds": 300}))
        .await;
    let released = app.paid_order(&maker, &seller, long, 200_000).await;
    app.step(&seller, released, "confirm-received")
        .await
        .expect(200);
    let called = app.paid_order(&maker, &seller, long, 200_000).await;
    let by_buyer = app.step(&maker, called, "call-operator").await.expect(200);
    assert_eq!(by_buyer["dispute"]["opened_by"], json!(maker.id));
    assert_eq!(by_buyer["dispute"]["opened_by_role"], "buyer");
    app.assert_audit().await;
}

on_both_stores!(the_release_deadline_is_met_after_a_restart_and_only_once);
/// An order whose release window closed while the service was down is disputed at start (the
/// sweep), once: the timers and the sweeps that follow find nothing more to do.
async fn the_release_deadline_is_met_after_a_restart_and_only_once(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let seller = app.player("seller", 1_000_000).await;
    let waiting = app.player("waiting", 1_000_000).await;
    let ad_id = app
        .buy_ad(&maker, json!({"release_window_seconds": 300}))
        .await;
    let overdue = app.paid_order(&maker, &seller, ad_id, 200_000).await;

    let mut app = app;
    app.stop().await;
    // Five minutes pass while the service is down.
    app.clock.advance_ms(301_000);
    let app = app.restart().await;
    let later = app.paid_order(&maker, &waiting, ad_id, 200_000).await;

    let caught_up = eventually(3, || async {
        app.order(&seller, overdue).await["status"] == "disputed"
    })
    .await;
    assert!(caught_up, "an order overdue at start was not disputed");
    // Two more sweeps: still one dispute, and the order paid after the restart keeps its window.
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    assert_eq!(disputes(&app, &seller, overdue).await.len(), 1);
    assert_eq!(app.order(&waiting, later).await["status"], "paid_by_buyer");
    app.clock.advance_ms(301_000);
    let swept = eventually(3, || async {
        app.order(&waiting, later).await["status"] == "disputed"
    })
    .await;
    assert!(
        swept,
        "the sweep did not dispute an order past its deadline"
    );
    assert_eq!(disputes(&app, &waiting, later).await.len(), 1);
    assert_eq!(app.balance(&seller).await, (800_000, 200_000));
    app.assert_audit().await;
}
