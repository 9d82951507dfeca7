//! Every error code of the seed (and of SPEC.md §4) provoked at least once, and the order of the
//! checks of §7.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{ADMIN, Backend, spawn_app_on};

on_both_stores!(every_seed_error_code_of_order_creation_is_provoked);
async fn every_seed_error_code_of_order_creation_is_provoked(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let seller = app.player("seller", 1_000_000).await;
    let ad_id = app.buy_ad(&maker, json!({"total_amount": 1_500_000})).await;

    // OWN_AD
    app.take(&maker, ad_id, 200_000)
        .await
        .refused(422, "OWN_AD");
    // INVALID_PAYMENT_METHOD
    app.post(
        "/api/v1/p2p/orders",
        Some(&seller.token),
        json!({"ad_id": ad_id, "usdt_amount": 200_000, "payment_method": "cash",
               "payment_details": {"card_number": "2200 1234 5678 9012"}}),
    )
    .await
    .refused(422, "INVALID_PAYMENT_METHOD");
    // AMOUNT_TOO_LOW, AMOUNT_TOO_HIGH
    app.take(&seller, ad_id, 99_999)
        .await
        .refused(422, "AMOUNT_TOO_LOW");
    app.take(&seller, ad_id, 1_000_001)
        .await
        .refused(422, "AMOUNT_TOO_HIGH");
    // MIN_DEPOSIT_REQUIRED: 999.99 RUB deposited.
    let newcomer = app.player("newcomer", 99_999).await;
    app.take(&newcomer, ad_id, 100_000)
        .await
        .refused(422, "MIN_DEPOSIT_REQUIRED");
    // WAGERING_REQUIREMENT_NOT_MET: a bonus of 100 RUB requires 500 RUB of bets.
    let bonus_hunter = app.player("bonus hunter", 200_000).await;
    app.transaction(&bonus_hunter, "bonus", 10_000)
        .await
        .expect(201);
    app.take(&bonus_hunter, ad_id, 100_000)
        .await
        .refused(422, "WAGERING_REQUIREMENT_NOT_MET");
    app.transaction(&bonus_hunter, "bet", 50_000)
        .await
        .expect(201);
    app.take(&bonus_hunter, ad_id, 100_000).await.expect(201);
    // SELLER_INSUFFICIENT_BALANCE
    let poor = app.player("poor", 150_000).await;
    app.take(&poor, ad_id, 200_000)
        .await
        .refused(422, "SELLER_INSUFFICIENT_BALANCE");
    // ACTIVE_WITHDRAW_ORDER_EXISTS
    app.take(&seller, ad_id, 300_000).await.expect(201);
    app.take(&seller, ad_id, 300_000)
        .await
        .refused(409, "ACTIVE_WITHDRAW_ORDER_EXISTS");
    // AMOUNT_EXCEEDS_AVAILABLE: 1,500,000 - 100,000 - 300,000 = 1,100,000 left.
    let rich = app.player("rich", 5_000_000).await;
    let other_ad = app
        .buy_ad(
            &maker,
            json!({"min_amount": 100_000, "max_amount": 2_000_000, "total_amount": 3_000_000}),
        )
        .await;
    app.take(&rich, other_ad, 2_000_000).await.expect(201);
    let richer = app.player("richer", 5_000_000).await;
    app.take(&richer, other_ad, 1_000_001)
        .await
        .refused(422, "AMOUNT_EXCEEDS_AVAILABLE");
    // AD_NOT_ACTIVE: paused, then closed.
    app.patch(
        &format!("/api/v1/p2p/ads/{other_ad}"),
        Some(&maker.token),
        json!({"status": "paused"}),
    )
    .await
    .expect(200);
    app.take(&richer, other_ad, 100_000)
        .await
        .refused(409, "AD_NOT_ACTIVE");
    app.post(
        &format!("/api/v1/p2p/ads/{other_ad}/close"),
        Some(&maker.token),
        json!({}),
    )
    .await
    .expect(200);
    app.take(&richer, other_ad, 100_000)
        .await
        .refused(409, "AD_NOT_ACTIVE");
    // NOT_FOUND
    app.take(&richer, 999_999, 100_000)
        .await
        .refused(404, "NOT_FOUND");
    app.assert_audit().await;
}

on_both_stores!(order_creation_checks_run_in_the_order_of_the_spec);
async fn order_creation_checks_run_in_the_order_of_the_spec(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let broke = app.player("broke", 0).await;
    let ad_id = app.buy_ad(&maker, json!({})).await;
    // Every check would fail for this request; each answer is the first failing one.
    let bad = |ad: i64, amount: i64, method: &str| {
        json!({"ad_id": ad, "usdt_amount": amount, "payment_method": method,
               "payment_details": {"card_number": "2200 1234 5678 9012"}})
    };
    app.post(
        "/api/v1/p2p/orders",
        Some(&broke.token),
        json!({"ad_id": 999_999, "usdt_amount": 0, "payment_method": "card"}),
    )
    .await
    .refused(400, "VALIDATION_ERROR");
    app.post(
        "/api/v1/p2p/orders",
        Some(&broke.token),
        bad(999_999, 1, "cash"),
    )
    .await
    .refused(404, "NOT_FOUND");
    app.patch(
        &format!("/api/v1/p2p/ads/{ad_id}"),
        Some(&maker.token),
        json!({"status": "paused"}),
    )
    .await
    .expect(200);
    app.post(
        "/api/v1/p2p/orders",
        Some(&maker.token),
        bad(ad_id, 1, "cash"),
    )
    .await
    .refused(409, "AD_NOT_ACTIVE");
    app.patch(
        &format!("/api/v1/p2p/ads/{ad_id}"),
        Some(&maker.token),
        json!({"status": "active"}),
    )
    .await
    .expect(200);
    app.post(
        "/api/v1/p2p/orders",
        Some(&maker.token),
        bad(ad_id, 1, "cash"),
    )
    .await
    .refused(422, "OWN_AD");
    app.post(
        "/api/v1/p2p/orders",
        Some(&broke.token),
        bad(ad_id, 1, "cash"),
    )
    .await
    .refused(422, "INVALID_PAYMENT_METHOD");
    app.post(
        "/api/v1/p2p/orders",
        Some(&broke.token),
        bad(ad_id, 1, "card"),
    )
    .await
    .refused(422, "AMOUNT_TOO_LOW");
    app.post(
        "/api/v1/p2p/orders",
        Some(&broke.token),
        bad(ad_id, 100_000, "card"),
    )
    .await
    .refused(422, "MIN_DEPOSIT_REQUIRED");
    // A withdrawal without payment details: the body is well formed, but selling to a buy ad
    // needs them (the seller must say where to pay).
    app.post(
        "/api/v1/p2p/orders",
        Some(&broke.token),
        json!({"ad_id": ad_id, "usdt_amount": 100_000, "payment_method": "card"}),
    )
    .await
    .refused(422, "PAYMENT_DETAILS_REQUIRED");
}

on_both_stores!(a_deposit_taker_holds_at_most_three_active_orders);
async fn a_deposit_taker_holds_at_most_three_active_orders(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 5_000_000).await;
    let player = app.player("player", 0).await;
    let ad_id = app.sell_ad(&maker, json!({})).await;
    let take = json!({"ad_id": ad_id, "usdt_amount": 100_000, "payment_method": "card"});
    let mut orders = Vec::new();
    for _ in 0..3 {
        orders.push(
            app.post("/api/v1/p2p/orders", Some(&player.token), take.clone())
                .await
                .expect(201)["id"]
                .as_i64()
                .unwrap(),
        );
    }
    app.post("/api/v1/p2p/orders", Some(&player.token), take.clone())
        .await
        .refused(409, "ACTIVE_ORDER_LIMIT");
    app.step(&player, orders[0], "cancel").await.expect(200);
    app.post("/api/v1/p2p/orders", Some(&player.token), take)
        .await
        .expect(201);
    app.assert_audit().await;
}

on_both_stores!(sell_ads_need_the_sellers_prerequisites);
async fn sell_ads_need_the_sellers_prerequisites(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let newcomer = app.player("newcomer", 50_000).await;
    let sell = |total: i64| {
        json!({"type": "sell", "fiat_currency": "RUB", "price": 9600, "min_amount": 10_000,
               "max_amount": 100_000, "total_amount": total, "payment_methods": ["card"],
               "payment_details": {"card": {"card_number": "2200 1234 5678 9012"}}})
    };
    app.post("/api/v1/p2p/ads", Some(&newcomer.token), sell(40_000))
        .await
        .refused(422, "MIN_DEPOSIT_REQUIRED");
    let maker = app.player("maker", 200_000).await;
    app.post("/api/v1/p2p/ads", Some(&maker.token), sell(200_001))
        .await
        .refused(422, "SELLER_INSUFFICIENT_BALANCE");
    app.post("/api/v1/p2p/ads", Some(&maker.token), sell(200_000))
        .await
        .expect(201);
    assert_eq!(app.balance(&maker).await, (0, 200_000));
    let mut no_details = sell(1_000);
    no_details
        .as_object_mut()
        .unwrap()
        .remove("payment_details");
    app.post("/api/v1/p2p/ads", Some(&maker.token), no_details)
        .await
        .refused(422, "PAYMENT_DETAILS_REQUIRED");
    app.assert_audit().await;
}

on_both_stores!(platform_transactions_are_idempotent_by_reference);
async fn platform_transactions_are_idempotent_by_reference(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let user = app.player("user", 0).await;
    let path = format!("/api/v1/admin/users/{}/transactions", user.id);
    let deposit = json!({"kind": "deposit", "amount": 100_000, "reference": "pay-1"});
    let first = app
        .post(&path, Some(ADMIN), deposit.clone())
        .await
        .expect(201);
    let replay = app.post(&path, Some(ADMIN), deposit).await.expect(200);
    assert_eq!(first, replay);
    app.post(
        &path,
        Some(ADMIN),
        json!({"kind": "deposit", "amount": 100_001, "reference": "pay-1"}),
    )
    .await
    .refused(409, "DUPLICATE_REFERENCE");
    app.post(
        &path,
        Some(ADMIN),
        json!({"kind": "bet", "amount": 100_001, "reference": "bet-1"}),
    )
    .await
    .refused(422, "INSUFFICIENT_BALANCE");
    app.post(
        &path,
        Some(ADMIN),
        json!({"kind": "bonus", "amount": 1_000, "reference": "b-1", "wagering_multiplier": 3}),
    )
    .await
    .expect(201);
    app.post(
        &path,
        Some(ADMIN),
        json!({"kind": "win", "amount": 500, "reference": "w-1"}),
    )
    .await
    .expect(201);
    let me = app.get("/api/v1/me", Some(&user.token)).await.expect(200);
    assert_eq!(
        me["balance"],
        json!({"available": 101_500, "frozen": 0, "unwagered_bonus": 1_000, "withdrawable": 100_500})
    );
    assert_eq!(me["deposits_total"], json!(100_000));
    assert_eq!(me["wagering"], json!({"required": 3_000, "wagered": 0}));
    app.post(
        &path,
        Some(ADMIN),
        json!({"kind": "loan", "amount": 1, "reference": "x"}),
    )
    .await
    .refused(400, "VALIDATION_ERROR");
    app.post(
        "/api/v1/admin/users/999999/transactions",
        Some(ADMIN),
        json!({"kind": "deposit", "amount": 1, "reference": "nobody"}),
    )
    .await
    .refused(404, "NOT_FOUND");
    let report = app.assert_audit().await;
    assert_eq!(report["totals"]["deposits"], json!(100_000));
}

on_both_stores!(malformed_requests_get_json_errors_never_a_500);
async fn malformed_requests_get_json_errors_never_a_500(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let user = app.player("user", 1_000_000).await;
    let auth = Some(user.token.as_str());
    // Malformed JSON, wrong types, unknown fields, missing fields.
    for body in [
        "{",
        "[]",
        "null",
        "\"text\"",
        "{\"ad_id\": \"1\", \"usdt_amount\": 1, \"payment_method\": \"card\"}",
        "{\"ad_id\": 1, \"usdt_amount\": 1.5, \"payment_method\": \"card\"}",
        "{\"ad_id\": 1, \"usdt_amount\": 99999999999999999999, \"payment_method\": \"card\"}",
        "{\"ad_id\": 1, \"usdt_amount\": 100, \"payment_method\": \"card\", \"status\": \"completed\"}",
        "{\"usdt_amount\": 100}",
    ] {
        let response = app
            .client
            .post(format!("{}/api/v1/p2p/orders", app.address))
            .bearer_auth(&user.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 400, "body {body}");
        let error: serde_json::Value = response.json().await.unwrap();
        assert_eq!(
            error["error"]["code"],
            json!("VALIDATION_ERROR"),
            "body {body}"
        );
    }
    // Too large.
    let huge = format!("{{\"message\": \"{}\"}}", "x".repeat(70 * 1024));
    let response = app
        .client
        .post(format!("{}/api/v1/p2p/orders/1/messages", app.address))
        .bearer_auth(&user.token)
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
    // Bad query parameters and paths.
    app.get("/api/v1/p2p/ads?type=swap", None)
        .await
        .refused(400, "VALIDATION_ERROR");
    app.get("/api/v1/p2p/ads?limit=0", None)
        .await
        .refused(400, "VALIDATION_ERROR");
    app.get("/api/v1/p2p/ads?limit=101", None)
        .await
        .refused(400, "VALIDATION_ERROR");
    app.get("/api/v1/p2p/ads?offset=-1", None)
        .await
        .refused(400, "VALIDATION_ERROR");
    app.get("/api/v1/p2p/ads?sort_by=cheapest", None)
        .await
        .refused(400, "VALIDATION_ERROR");
    app.get("/api/v1/p2p/ads?limit=abc", None)
        .await
        .refused(400, "VALIDATION_ERROR");
    app.get("/api/v1/p2p/ads/abc", None)
        .await
        .refused(404, "NOT_FOUND");
    app.get("/api/v1/p2p/ads/-1", None)
        .await
        .refused(404, "NOT_FOUND");
    app.get("/api/v1/p2p/orders?status=lost", auth)
        .await
        .refused(400, "VALIDATION_ERROR");
    app.get("/nowhere", None).await.refused(404, "NOT_FOUND");
    app.call(Method::DELETE, "/api/v1/p2p/ads", None, None)
        .await
        .refused(405, "METHOD_NOT_ALLOWED");
    // Bad payment details and ad terms.
    let maker = app.player("maker", 0).await;
    let ad_id = app.buy_ad(&maker, json!({})).await;
    for details in [
        json!("2200"),
        json!({"card_number": "12"}),
        json!({"card_number": 2200123456789012u64}),
        json!({}),
    ] {
        app.post(
            "/api/v1/p2p/orders",
            auth,
            json!({"ad_id": ad_id, "usdt_amount": 100_000, "payment_method": "card", "payment_details": details}),
        )
        .await
        .refused(400, "VALIDATION_ERROR");
    }
    for terms in [
        json!({"payment_methods": []}),
        json!({"payment_methods": ["Card"]}),
        json!({"price": 0}),
        json!({"fiat_currency": "rub"}),
        json!({"payment_window_seconds": 0}),
    ] {
        let mut body = json!({"type": "buy", "fiat_currency": "RUB", "price": 9550, "min_amount": 100_000,
                              "max_amount": 1_000_000, "total_amount": 5_000_000, "payment_methods": ["card"]});
        for (key, value) in terms.as_object().unwrap() {
            body[key] = value.clone();
        }
        app.post("/api/v1/p2p/ads", Some(&maker.token), body)
            .await
            .refused(400, "VALIDATION_ERROR");
    }
    // Each field valid, together not: the document cannot say so, so it is not a 400.
    let inverted = json!({"type": "buy", "fiat_currency": "RUB", "price": 9550, "min_amount": 2_000_000,
                          "max_amount": 1_000_000, "total_amount": 5_000_000, "payment_methods": ["card"]});
    app.post("/api/v1/p2p/ads", Some(&maker.token), inverted)
        .await
        .refused(422, "INVALID_AMOUNT_LIMITS");
    // A malformed body is refused as such whatever the id names (so it hints at nothing).
    app.post(
        &format!("/api/v1/p2p/orders/{ad_id}/messages"),
        auth,
        json!({"message": ""}),
    )
    .await
    .refused(400, "VALIDATION_ERROR");
    app.assert_audit().await;
}
