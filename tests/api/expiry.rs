//! The payment window: pending orders expire within 2 s of their deadline, also across a restart.

use serde_json::json;

use crate::helpers::{Backend, TestApp, eventually, spawn_app_on, time_of};

async fn status(
    app: &TestApp,
    user: &crate::helpers::User,
    order_id: i64,
) -> (String, serde_json::Value) {
    let order = app.order(user, order_id).await;
    (order["status"].as_str().unwrap().to_string(), order)
}

on_both_stores!(a_pending_order_expires_when_its_payment_window_closes);
async fn a_pending_order_expires_when_its_payment_window_closes(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let seller = app.player("seller", 1_000_000).await;
    let ad_id = app
        .buy_ad(&maker, json!({"payment_window_seconds": 1}))
        .await;
    let order = app.take(&seller, ad_id, 300_000).await.expect(201);
    let order_id = order["id"].as_i64().unwrap();
    let created = time_of(&order["created_at"]);
    assert_eq!(time_of(&order["expires_at"]) - created, 1_000);

    // A paid order is not expired by its window.
    let paid_seller = app.player("paid seller", 1_000_000).await;
    let paid_id = app.take(&paid_seller, ad_id, 100_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    app.step(&maker, paid_id, "confirm-paid").await.expect(200);

    let expired = eventually(3, || async {
        status(&app, &seller, order_id).await.0 == "cancelled"
    })
    .await;
    assert!(
        expired,
        "the order did not expire within 2 s of its deadline"
    );
    let (_, order) = status(&app, &seller, order_id).await;
    assert_eq!(order["cancel_reason"], json!("timeout"));
    assert!(time_of(&order["cancelled_at"]) - time_of(&order["expires_at"]) < 2_000);
    assert_eq!(app.balance(&seller).await, (1_000_000, 0));
    assert_eq!(
        app.ad_json(ad_id).await["available_amount"],
        json!(4_900_000)
    );
    app.step(&maker, order_id, "confirm-paid")
        .await
        .refused(409, "INVALID_ORDER_STATUS");
    assert_eq!(status(&app, &paid_seller, paid_id).await.0, "paid_by_buyer");
    app.assert_audit().await;
}

on_both_stores!(expiry_catches_up_after_a_restart);
/// Orders whose window closed while the service was down expire at start; the others re-arm.
async fn expiry_catches_up_after_a_restart(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let early = app.player("early", 1_000_000).await;
    let late = app.player("late", 1_000_000).await;
    let short_ad = app
        .buy_ad(&maker, json!({"payment_window_seconds": 1}))
        .await;
    let long_ad = app
        .buy_ad(&maker, json!({"payment_window_seconds": 4}))
        .await;
    let overdue = app.take(&early, short_ad, 200_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    let pending = app.take(&late, long_ad, 200_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();

    let mut app = app;
    app.stop().await;
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let app = app.restart().await;

    let caught_up = eventually(2, || async {
        status(&app, &early, overdue).await.0 == "cancelled"
    })
    .await;
    assert!(
        caught_up,
        "an order overdue at start was not expired within 2 s"
    );
    assert_eq!(
        status(&app, &early, overdue).await.1["cancel_reason"],
        json!("timeout")
    );
    assert_eq!(status(&app, &late, pending).await.0, "pending");
    let rearmed = eventually(5, || async {
        status(&app, &late, pending).await.0 == "cancelled"
    })
    .await;
    assert!(rearmed, "the re-armed order did not expire");
    assert_eq!(app.balance(&early).await, (1_000_000, 0));
    assert_eq!(app.balance(&late).await, (1_000_000, 0));
    app.assert_audit().await;
}

on_both_stores!(the_sweep_expires_what_no_timer_will);
/// An order whose deadline passed without its timer firing (its node died, or the clock jumped)
/// is expired by the sweep every node runs each second.
async fn the_sweep_expires_what_no_timer_will(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let seller = app.player("seller", 1_000_000).await;
    let ad_id = app
        .buy_ad(&maker, json!({"payment_window_seconds": 900}))
        .await;
    let order_id = app.take(&seller, ad_id, 300_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    assert_eq!(status(&app, &seller, order_id).await.0, "pending");
    // The order's own timer waits 15 minutes of real time; the service's clock jumps past it.
    app.clock.advance_ms(901_000);
    let expired = eventually(3, || async {
        status(&app, &seller, order_id).await.0 == "cancelled"
    })
    .await;
    assert!(expired, "the sweep did not expire an overdue order");
    assert_eq!(
        status(&app, &seller, order_id).await.1["cancel_reason"],
        json!("timeout")
    );
    assert_eq!(app.balance(&seller).await, (1_000_000, 0));
    app.assert_audit().await;
}

on_both_stores!(an_ended_order_leaves_no_payment_window_timer_behind);
/// An order that ends before its window closes takes its timer with it: the timer holds the order
/// actor's mailbox, so a 15-minute window once kept every ended order's memory for 15 minutes.
async fn an_ended_order_leaves_no_payment_window_timer_behind(backend: Backend) {
    const ORDERS: usize = 30;
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let seller = app.player("seller", 100_000_000).await;
    let ad_id = app
        .buy_ad(
            &maker,
            json!({"payment_window_seconds": 900, "total_amount": 50_000_000}),
        )
        .await;
    // One order first, so every actor the orders use (both wallets, the ad) is resident.
    let first = app.take(&seller, ad_id, 100_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    app.step(&seller, first, "cancel").await.expect(200);
    let tasks = || {
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks()
    };
    let before = tasks();
    for i in 0..ORDERS {
        let order = app.take(&seller, ad_id, 100_000).await.expect(201)["id"]
            .as_i64()
            .unwrap();
        if i % 2 == 0 {
            app.step(&seller, order, "cancel").await.expect(200);
        } else {
            app.step(&maker, order, "confirm-paid").await.expect(200);
            app.step(&seller, order, "confirm-received")
                .await
                .expect(200);
        }
    }
    let settled = eventually(3, || async { tasks() < before + ORDERS / 3 }).await;
    assert!(
        settled,
        "{} tasks alive after {ORDERS} ended orders, {before} before",
        tasks()
    );
    app.assert_audit().await;
}
