//! Suspicious withdrawals held for review: made `pending` with the escrow frozen, unseen by the
//! buyer and with no payment window running until an operator clears them.

use serde_json::{Value, json};

use crate::events::{Receiver, Stream, webhook_receiver};
use crate::helpers::{ADMIN, Backend, TestApp, User, item_ids, spawn_app_with};

fn take_with_card(
    app: &TestApp,
    taker: &User,
    ad_id: i64,
    amount: i64,
    card: &str,
) -> impl Future<Output = crate::helpers::Answer> {
    app.post(
        "/api/v1/p2p/orders",
        Some(&taker.token),
        json!({"ad_id": ad_id, "usdt_amount": amount, "payment_method": "card",
               "payment_details": {"card_number": card}}),
    )
}

/// An RFC 3339 field as Unix milliseconds.
fn ms(value: &Value) -> i128 {
    let at = time::OffsetDateTime::parse(
        value.as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    at.unix_timestamp_nanos() / 1_000_000
}

async fn sweep(app: &TestApp) {
    app.market.as_ref().unwrap().sweep_overdue().await.unwrap();
}

on_both_stores!(a_withdrawal_soon_after_a_deposit_with_little_play_waits_for_an_operator);
async fn a_withdrawal_soon_after_a_deposit_with_little_play_waits_for_an_operator(
    backend: Backend,
) {
    let mut app = spawn_app_with(backend, |config| {
        config.review_low_play_percent = 100;
        config.review_low_play_hours = 24;
    })
    .await;
    let maker = app.player("maker", 3_000_000).await;
    let ad = app.buy_ad(&maker, json!({})).await;
    let player = app.player("player", 1_000_000).await;
    let operator = app.operator().await;
    app.transaction(&player, "bet", 400_000).await.expect(201);
    let mut desk = Stream::open(&app, &operator, None).await;

    let order = app.take(&player, ad, 200_000).await.expect(201);
    let id = order["id"].as_i64().unwrap();
    assert_eq!(order["status"], json!("pending"));
    assert_eq!(order["review"]["rule"], json!("low_play_after_deposit"));
    assert_eq!(order["review"]["cleared_at"], json!(null));
    assert_eq!(
        order["allowed_actions"],
        json!(["cancel", "update_payment_details", "message"])
    );
    assert_eq!(
        app.balance(&player).await,
        (400_000, 200_000),
        "escrow frozen"
    );

    let announced = desk.take(1).await;
    assert_eq!(announced[0].kind, "order.held");
    assert_eq!(announced[0].data["id"], json!(id));
    drop(desk);

    // The buyer does not see it at all.
    let orders_path = format!("/api/v1/p2p/orders/{id}");
    app.get(&orders_path, Some(&maker.token))
        .await
        .refused(404, "NOT_FOUND");
    app.step(&maker, id, "confirm-paid")
        .await
        .refused(404, "NOT_FOUND");
    app.post(
        &format!("{orders_path}/messages"),
        Some(&maker.token),
        json!({"message": "hello?"}),
    )
    .await
    .refused(404, "NOT_FOUND");
    let mine = app
        .get("/api/v1/p2p/orders", Some(&maker.token))
        .await
        .expect(200);
    assert_eq!((item_ids(&mine), mine["total"].clone()), (vec![], json!(0)));
    let history = app
        .get(&format!("{orders_path}/history"), Some(&player.token))
        .await
        .expect(200);
    assert_eq!(
        history["items"][0]["event"],
        json!("order.held"),
        "{history}"
    );

    // The operators' queue lists it, oldest first.
    let queue = app
        .get("/api/v1/operator/reviews", Some(&operator.token))
        .await
        .expect(200);
    assert_eq!(item_ids(&queue), vec![id]);
    assert_eq!(
        queue["items"][0]["allowed_actions"],
        json!(["clear", "cancel", "message"])
    );
    app.get("/api/v1/operator/reviews", Some(&player.token))
        .await
        .refused(403, "FORBIDDEN");

    // No window runs while it waits, across a restart too.
    app = app.restart().await;
    app.clock.advance_ms(3_600_000);
    sweep(&app).await;
    assert_eq!(app.order(&player, id).await["status"], json!("pending"));

    let cleared = app
        .post(
            &format!("/api/v1/operator/orders/{id}/clear"),
            Some(&operator.token),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(cleared["review"]["cleared_by"], json!(operator.id));
    assert_eq!(
        ms(&cleared["expires_at"]) - ms(&cleared["review"]["cleared_at"]),
        900_000,
        "the ad's whole window starts at clearance: {cleared}"
    );
    app.post(
        &format!("/api/v1/operator/orders/{id}/clear"),
        Some(&operator.token),
        json!({}),
    )
    .await
    .refused(409, "INVALID_ORDER_STATUS");
    // The buyer's stream starts with the clearance; the seller's with the hold.
    let buyer_events = Stream::open(&app, &maker, Some(0)).await.take(1).await;
    assert_eq!(buyer_events[0].kind, "order.cleared");
    assert_eq!(buyer_events[0].data["id"], json!(id));
    let seller_events = Stream::open(&app, &player, Some(0)).await.take(2).await;
    assert_eq!(seller_events[0].kind, "order.held");
    assert_eq!(seller_events[1].kind, "order.cleared");
    let told = app
        .get(&format!("{orders_path}/history"), Some(&maker.token))
        .await
        .expect(200);
    assert_eq!(told["items"][0]["event"], json!("order.cleared"), "{told}");
    let seen = app.order(&maker, id).await;
    assert!(
        seen["allowed_actions"]
            .as_array()
            .unwrap()
            .contains(&json!("confirm_paid")),
        "{seen}"
    );
    app.step(&maker, id, "confirm-paid").await.expect(200);
    app.step(&player, id, "confirm-received").await.expect(200);
    let queue = app
        .get("/api/v1/operator/reviews", Some(&operator.token))
        .await
        .expect(200);
    assert_eq!(queue["total"], json!(0));

    // Enough play since the last deposit: not held.
    app.transaction(&player, "deposit", 500_000)
        .await
        .expect(201);
    app.transaction(&player, "bet", 500_000).await.expect(201);
    let free = app.take(&player, ad, 100_000).await.expect(201);
    assert_eq!(free["review"], json!(null));
    app.step(&player, free["id"].as_i64().unwrap(), "cancel")
        .await
        .expect(200);

    // An operator may cancel a held order instead: the escrow goes back.
    app.transaction(&player, "deposit", 300_000)
        .await
        .expect(201);
    let (available, frozen) = app.balance(&player).await;
    let held = app.take(&player, ad, 100_000).await.expect(201);
    let held_id = held["id"].as_i64().unwrap();
    assert!(held["review"].is_object());
    let cancelled = app.step(&operator, held_id, "cancel").await.expect(200);
    assert_eq!(cancelled["cancel_reason"], json!("operator"));
    assert_eq!(app.balance(&player).await, (available, frozen));

    // Cleared, its window runs out like any other's.
    let late = app.take(&player, ad, 100_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    app.post(
        &format!("/api/v1/operator/orders/{late}/clear"),
        Some(&operator.token),
        json!({}),
    )
    .await
    .expect(200);
    app.clock.advance_ms(901_000);
    sweep(&app).await;
    let expired = crate::helpers::eventually(5, || async {
        app.order(&player, late).await["cancel_reason"] == json!("timeout")
    })
    .await;
    assert!(expired, "the cleared order expired after its window");
    app.assert_audit().await;
}

on_both_stores!(a_card_that_several_users_withdraw_to_is_held);
async fn a_card_that_several_users_withdraw_to_is_held(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.review_card_users = 2).await;
    let receiver = std::sync::Arc::new(Receiver::default());
    let url = webhook_receiver(receiver.clone()).await;
    app.post(
        "/api/v1/admin/webhooks",
        Some(ADMIN),
        json!({"url": url, "secret": "a-webhook-secret-of-some-length"}),
    )
    .await
    .expect(201);
    let maker = app.player("maker", 3_000_000).await;
    let ad = app.buy_ad(&maker, json!({})).await;
    let first = app.player("first", 1_000_000).await;
    let second = app.player("second", 1_000_000).await;
    let third = app.player("third", 1_000_000).await;
    let one = take_with_card(&app, &first, ad, 100_000, "2200 1111 2222 3333")
        .await
        .expect(201);
    assert_eq!(one["review"], json!(null), "one user so far");
    // The same user again is still one user.
    app.step(&first, one["id"].as_i64().unwrap(), "cancel")
        .await
        .expect(200);
    let again = take_with_card(&app, &first, ad, 100_000, "2200111122223333")
        .await
        .expect(201);
    assert_eq!(again["review"], json!(null));
    let shared = take_with_card(&app, &second, ad, 100_000, "2200-1111-2222-3333")
        .await
        .expect(201);
    assert_eq!(shared["review"]["rule"], json!("shared_card"));
    // The platform hears of it by webhook.
    let announced = crate::helpers::eventually(10, || async {
        receiver.accepted.lock().unwrap().iter().any(|(_, body)| {
            let event: Value = serde_json::from_str(body).unwrap();
            event["type"] == "order.held" && event["data"]["id"] == shared["id"]
        })
    })
    .await;
    assert!(announced, "order.held reached the webhook");
    let other = take_with_card(&app, &third, ad, 100_000, "2200 9999 2222 3333")
        .await
        .expect(201);
    assert_eq!(other["review"], json!(null));
    app.assert_audit().await;
}

on_both_stores!(a_new_accounts_first_large_withdrawal_is_held);
async fn a_new_accounts_first_large_withdrawal_is_held(backend: Backend) {
    let app = spawn_app_with(backend, |config| {
        config.review_new_account_limit = 500_000;
        config.review_new_account_days = 7;
    })
    .await;
    let maker = app.player("maker", 3_000_000).await;
    let ad = app.buy_ad(&maker, json!({})).await;
    let player = app.player("player", 2_000_000).await;
    let at_limit = app.take(&player, ad, 500_000).await.expect(201);
    assert_eq!(at_limit["review"], json!(null), "at the limit");
    app.step(&player, at_limit["id"].as_i64().unwrap(), "cancel")
        .await
        .expect(200);
    let large = app.take(&player, ad, 500_001).await.expect(201);
    assert_eq!(large["review"]["rule"], json!("new_account_limit"));
    app.step(&player, large["id"].as_i64().unwrap(), "cancel")
        .await
        .expect(200);
    // After one completed withdrawal it is no longer the first.
    let small = app.take(&player, ad, 100_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    app.step(&maker, small, "confirm-paid").await.expect(200);
    app.step(&player, small, "confirm-received")
        .await
        .expect(200);
    let later = app.take(&player, ad, 600_000).await.expect(201);
    assert_eq!(later["review"], json!(null));
    // A week on, an account is no longer new.
    let newcomer = app.player("newcomer", 2_000_000).await;
    app.clock.advance_ms(7 * 24 * 3_600_000);
    let aged = app.take(&newcomer, ad, 600_000).await.expect(201);
    assert_eq!(aged["review"], json!(null));
    app.assert_audit().await;
}
