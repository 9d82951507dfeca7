//! Floating prices: an ad priced as a premium over its currency's index price follows each index
//! update in listings, in `best_price` order and where it is taken; an order keeps the price it
//! was made at; without an index price the ad is neither listed nor taken.

use serde_json::{Value, json};

use crate::helpers::{ADMIN, Backend, TestApp, eventually, item_ids, spawn_app_on};
use crate::nodes::start_two_nodes;

async fn set_index(app: &TestApp, price: i64) -> Value {
    let body = json!({"fiat_currency": "RUB", "price": price});
    app.post("/api/v1/admin/index-prices", Some(ADMIN), body)
        .await
        .expect(201)
}

/// The buy listing's `(id, price)` pairs, best price first.
async fn buy_prices(app: &TestApp) -> Vec<(i64, Value)> {
    let page = app.get("/api/v1/p2p/ads?type=buy", None).await.expect(200);
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ad| (ad["id"].as_i64().unwrap(), ad["price"].clone()))
        .collect()
}

on_both_stores!(a_floating_ad_follows_the_index_and_an_order_keeps_its_price);
async fn a_floating_ad_follows_the_index_and_an_order_keeps_its_price(backend: Backend) {
    let mut app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let fixed = app.buy_ad(&maker, json!({"price": 9_100})).await;
    let floating = app
        .buy_ad(
            &maker,
            json!({"price": null, "price_type": "floating", "premium_bp": 150}),
        )
        .await;
    let shown = app.ad_json(floating).await;
    assert_eq!(
        (&shown["price"], &shown["price_type"], &shown["premium_bp"]),
        (&json!(null), &json!("floating"), &json!(150))
    );
    let fixed_shown = app.ad_json(fixed).await;
    assert_eq!(
        (&fixed_shown["price_type"], &fixed_shown["premium_bp"]),
        (&json!("fixed"), &json!(null))
    );

    // No index price yet: not listed, not taken.
    assert_eq!(buy_prices(&app).await, [(fixed, json!(9_100))]);
    let seller = app.player("seller", 1_000_000).await;
    let refused = app.take(&seller, floating, 100_000).await;
    refused.refused(409, "AD_NOT_ACTIVE");
    let message = refused.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("index price"), "{message}");
    app.post(
        "/api/v1/admin/index-prices",
        Some(&maker.token),
        json!({"fiat_currency": "RUB", "price": 9_000}),
    )
    .await
    .refused(403, "FORBIDDEN");

    // 9,000 × 1.015 = 9,135: above the fixed ad, so first for a seller.
    let first = set_index(&app, 9_000).await;
    assert_eq!(
        (&first["fiat_currency"], &first["price"]),
        (&json!("RUB"), &json!(9_000))
    );
    assert_eq!(
        buy_prices(&app).await,
        [(floating, json!(9_135)), (fixed, json!(9_100))]
    );
    assert_eq!(app.ad_json(floating).await["price"], 9_135);
    let order = app.take(&seller, floating, 100_000).await.expect(201);
    assert_eq!(order["price"], 9_135);

    // 8,900 × 1.015 = 9,033.5, rounded up: now below the fixed ad. The order keeps its price.
    set_index(&app, 8_900).await;
    assert_eq!(
        buy_prices(&app).await,
        [(fixed, json!(9_100)), (floating, json!(9_034))]
    );
    let order_id = order["id"].as_i64().unwrap();
    assert_eq!(app.order(&seller, order_id).await["price"], 9_135);
    let current = app.get("/api/v1/p2p/index-prices", None).await.expect(200);
    assert_eq!(current["items"][0]["price"], 8_900);
    assert_eq!(current["items"].as_array().unwrap().len(), 1);
    let history = app
        .get("/api/v1/admin/index-prices?fiat_currency=RUB", Some(ADMIN))
        .await
        .expect(200);
    let prices: Vec<&Value> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| &item["price"])
        .collect();
    assert_eq!(prices, [&json!(8_900), &json!(9_000)]);
    assert_eq!(history["total"], 2);
    let empty = app
        .get("/api/v1/admin/index-prices?fiat_currency=USD", Some(ADMIN))
        .await
        .expect(200);
    assert_eq!((&empty["items"], &empty["total"]), (&json!([]), &json!(0)));

    // The index price is the database's: a restart prices the same, and the order completes at
    // its own price.
    app = app.restart().await;
    assert_eq!(
        buy_prices(&app).await,
        [(fixed, json!(9_100)), (floating, json!(9_034))]
    );
    app.step(&maker, order_id, "confirm-paid").await.expect(200);
    let done = app
        .step(&seller, order_id, "confirm-received")
        .await
        .expect(200);
    assert_eq!(done["price"], 9_135);
    app.assert_audit().await;
}

on_both_stores!(pricing_is_checked_and_a_patch_switches_it);
async fn pricing_is_checked_and_a_patch_switches_it(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let base = json!({
        "type": "buy", "fiat_currency": "RUB", "min_amount": 100_000, "max_amount": 1_000_000,
        "total_amount": 5_000_000, "payment_methods": ["card"],
    });
    // The document allows these; the market refuses them.
    let inconsistent = [
        json!({}),
        json!({"price_type": "fixed"}),
        json!({"price": 9_500, "premium_bp": 10}),
        json!({"price_type": "floating"}),
        json!({"price_type": "floating", "premium_bp": 10, "price": 9_500}),
    ];
    // These break the document.
    let malformed = [
        json!({"price_type": "floating", "premium_bp": 2_001}),
        json!({"price_type": "floating", "premium_bp": -2_001}),
        json!({"price_type": "market", "premium_bp": 10}),
        json!({"price_type": "floating", "premium_bp": "10"}),
    ];
    let refusals = inconsistent
        .iter()
        .map(|pricing| (pricing, 422, "INVALID_PRICING"))
        .chain(
            malformed
                .iter()
                .map(|pricing| (pricing, 400, "VALIDATION_ERROR")),
        );
    for (pricing, status, code) in refusals {
        let mut body = base.clone();
        for (key, value) in pricing.as_object().unwrap() {
            body[key] = value.clone();
        }
        app.post("/api/v1/p2p/ads", Some(&maker.token), body)
            .await
            .refused(status, code);
    }
    for index in [
        json!({"fiat_currency": "RUB", "price": 0}),
        json!({"fiat_currency": "rub", "price": 9_000}),
        json!({"fiat_currency": "RUB"}),
        json!({"fiat_currency": "RUB", "price": 9_000, "source": "x"}),
    ] {
        app.post("/api/v1/admin/index-prices", Some(ADMIN), index)
            .await
            .refused(400, "VALIDATION_ERROR");
    }
    set_index(&app, 10_000).await;

    // Fixed → floating at −1 %, then a new premium, then back to fixed.
    let ad = app.buy_ad(&maker, json!({"price": 9_500})).await;
    let path = format!("/api/v1/p2p/ads/{ad}");
    let patch = |body: Value| app.patch(&path, Some(&maker.token), body);
    patch(json!({"price_type": "floating"}))
        .await
        .refused(422, "INVALID_PRICING");
    let floating = patch(json!({"price_type": "floating", "premium_bp": -100}))
        .await
        .expect(200);
    assert_eq!(
        (&floating["price"], &floating["premium_bp"]),
        (&json!(9_900), &json!(-100))
    );
    patch(json!({"price": 9_800}))
        .await
        .refused(422, "INVALID_PRICING");
    let repremium = patch(json!({"premium_bp": 2_000})).await.expect(200);
    assert_eq!(repremium["price"], 12_000);
    assert_eq!(buy_prices(&app).await, [(ad, json!(12_000))]);
    patch(json!({"price_type": "fixed"}))
        .await
        .refused(422, "INVALID_PRICING");
    let fixed = patch(json!({"price_type": "fixed", "price": 9_700}))
        .await
        .expect(200);
    assert_eq!(
        (&fixed["price"], &fixed["price_type"], &fixed["premium_bp"]),
        (&json!(9_700), &json!("fixed"), &json!(null))
    );
    set_index(&app, 11_000).await;
    assert_eq!(buy_prices(&app).await, [(ad, json!(9_700))]);
    assert_eq!(
        item_ids(&app.get("/api/v1/p2p/ads", None).await.expect(200)),
        [ad]
    );
}

/// An index update made on one node moves the other node's listing within a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_node_follows_an_index_update_within_a_second() {
    if !crate::helpers::postgres_available(
        "floating_prices::another_node_follows_an_index_update_within_a_second",
    ) {
        return;
    }
    let (node_a, node_b) = start_two_nodes().await;
    let (a, b) = (&node_a.app, &node_b.app);
    let maker = a.player("maker", 0).await;
    let floating = json!({"price": null, "price_type": "floating", "premium_bp": 0});
    let ad = a.buy_ad(&maker, floating).await;
    set_index(a, 9_000).await;
    // Node B reads index prices with its once-a-second listing refresh; 5 s only bounds the wait.
    assert!(
        eventually(5, || async { buy_prices(b).await == [(ad, json!(9_000))] }).await,
        "node B never listed the ad at the index set on node A"
    );
    set_index(a, 9_200).await;
    assert!(
        eventually(5, || async { buy_prices(b).await == [(ad, json!(9_200))] }).await,
        "node B never followed the second index update"
    );
    // A take on node B is at the new price.
    let seller = b.player("seller", 1_000_000).await;
    let order = b.take(&seller, ad, 100_000).await.expect(201);
    assert_eq!(order["price"], 9_200);
}
