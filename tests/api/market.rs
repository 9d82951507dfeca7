//! The public listing (filters, sorts, pages) and ad management.

use serde_json::{Value, json};

use crate::helpers::{Backend, spawn_app_on};

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ad| ad["id"].as_i64().unwrap())
        .collect()
}

on_both_stores!(listing_filters_sorts_and_pages_as_the_seed_says);
async fn listing_filters_sorts_and_pages_as_the_seed_says(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let low = app.player("low", 0).await;
    let high = app.player("high", 0).await;
    let busy = app.player("busy", 0).await;
    let a = app
        .buy_ad(&low, json!({"price": 9500, "payment_methods": ["card"]}))
        .await;
    let b = app
        .buy_ad(
            &high,
            json!({"price": 9700, "payment_methods": ["sbp"], "min_amount": 500_000}),
        )
        .await;
    let c = app
        .buy_ad(
            &busy,
            json!({"price": 9600, "payment_methods": ["card", "sbp"]}),
        )
        .await;
    let d = app
        .buy_ad(&low, json!({"price": 9600, "fiat_currency": "KZT"}))
        .await;
    let seller_maker = app.player("seller maker", 5_000_000).await;
    let s1 = app
        .sell_ad(
            &seller_maker,
            json!({"price": 9800, "total_amount": 2_000_000}),
        )
        .await;
    let s2 = app
        .sell_ad(
            &seller_maker,
            json!({"price": 9650, "total_amount": 2_000_000}),
        )
        .await;

    // Buy ads: the highest price first; ties by id.
    let page = app
        .get("/api/v1/p2p/ads?type=buy&fiat_currency=RUB", None)
        .await
        .expect(200);
    assert_eq!(ids(&page), vec![b, c, a]);
    assert_eq!(page["total"], json!(3));
    assert_eq!(
        (page["limit"].clone(), page["offset"].clone()),
        (json!(20), json!(0))
    );
    // Sell ads: the lowest price first.
    let page = app
        .get("/api/v1/p2p/ads?type=sell&fiat_currency=RUB", None)
        .await
        .expect(200);
    assert_eq!(ids(&page), vec![s2, s1]);
    assert_eq!(
        ids(&app
            .get("/api/v1/p2p/ads?type=buy&fiat_currency=KZT", None)
            .await
            .expect(200)),
        vec![d]
    );
    // Filters.
    let card = app
        .get("/api/v1/p2p/ads?type=buy&payment_method=card", None)
        .await
        .expect(200);
    assert_eq!(ids(&card), vec![c, a]);
    let small = app
        .get("/api/v1/p2p/ads?type=buy&amount=200000", None)
        .await
        .expect(200);
    assert_eq!(
        ids(&small),
        vec![c, a],
        "the ad with min 5,000 RUB does not accept 2,000"
    );
    // Pages.
    let second = app
        .get("/api/v1/p2p/ads?type=buy&limit=1&offset=1", None)
        .await
        .expect(200);
    assert_eq!((ids(&second), second["total"].clone()), (vec![c], json!(3)));

    // Sorting by the makers' figures: complete an order with `busy` and rate it.
    let seller = app.player("seller", 1_000_000).await;
    let order_id = app.take(&seller, c, 100_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    app.step(&busy, order_id, "confirm-paid").await.expect(200);
    app.step(&seller, order_id, "confirm-received")
        .await
        .expect(200);
    app.post(
        &format!("/api/v1/p2p/orders/{order_id}/rate"),
        Some(&seller.token),
        json!({"rating": 5}),
    )
    .await
    .expect(201);
    // The orders by makers' figures follow within a second (the figures shown are current).
    let sorted = crate::helpers::eventually(3, || async {
        let by_orders = app
            .get("/api/v1/p2p/ads?type=buy&sort_by=orders_count", None)
            .await
            .expect(200);
        let by_rating = app
            .get("/api/v1/p2p/ads?type=buy&sort_by=rating", None)
            .await
            .expect(200);
        ids(&by_orders) == vec![c, a, b] && ids(&by_rating)[0] == c
    })
    .await;
    assert!(sorted, "the listing never sorted by the new figures");
    let by_rating = app
        .get("/api/v1/p2p/ads?type=buy&sort_by=rating", None)
        .await
        .expect(200);
    assert_eq!(by_rating["items"][0]["maker"]["rating"], json!(5.0));
}

on_both_stores!(makers_change_pause_and_close_their_ads);
async fn makers_change_pause_and_close_their_ads(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let ad_id = app.buy_ad(&maker, json!({})).await;
    let path = format!("/api/v1/p2p/ads/{ad_id}");
    let changed = app
        .patch(
            &path,
            Some(&maker.token),
            json!({"price": 9900, "terms": "Only Tinkoff", "payment_methods": ["sbp"]}),
        )
        .await
        .expect(200);
    assert_eq!(changed["price"], json!(9900));
    assert_eq!(changed["terms"], json!("Only Tinkoff"));
    assert_eq!(changed["payment_methods"], json!(["sbp"]));
    app.patch(&path, Some(&maker.token), json!({"status": "paused"}))
        .await
        .expect(200);
    let listed = app.get("/api/v1/p2p/ads?type=buy", None).await.expect(200);
    assert_eq!(listed["total"], json!(0), "a paused ad is not listed");
    assert_eq!(app.ad_json(ad_id).await["status"], json!("paused"));
    app.patch(&path, Some(&maker.token), json!({"status": "active"}))
        .await
        .expect(200);
    app.patch(&path, Some(&maker.token), json!({"min_amount": 2_000_000}))
        .await
        .refused(422, "INVALID_AMOUNT_LIMITS");
    app.patch(&path, Some(&maker.token), json!({"status": "closed"}))
        .await
        .refused(400, "VALIDATION_ERROR");
    app.patch(&path, Some(&maker.token), json!({"owner": 1}))
        .await
        .refused(400, "VALIDATION_ERROR");
    app.post(&format!("{path}/close"), Some(&maker.token), json!({}))
        .await
        .expect(200);
    app.post(&format!("{path}/close"), Some(&maker.token), json!({}))
        .await
        .refused(409, "AD_NOT_ACTIVE");
    app.patch(&path, Some(&maker.token), json!({"price": 1}))
        .await
        .refused(409, "AD_NOT_ACTIVE");
    let closed = app.ad_json(ad_id).await;
    assert_eq!(
        (closed["status"].clone(), closed["available_amount"].clone()),
        (json!("closed"), json!(0))
    );
    app.get("/api/v1/p2p/ads/424242", None)
        .await
        .refused(404, "NOT_FOUND");
    app.get("/api/v1/users/424242", None)
        .await
        .refused(404, "NOT_FOUND");
    app.assert_audit().await;
}

on_both_stores!(chat_lists_messages_oldest_first_after_an_id);
async fn chat_lists_messages_oldest_first_after_an_id(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let seller = app.player("seller", 1_000_000).await;
    let ad_id = app.buy_ad(&maker, json!({})).await;
    let order_id = app.take(&seller, ad_id, 100_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/p2p/orders/{order_id}/messages");
    let mut sent = Vec::new();
    for (i, who) in [&seller, &maker, &seller].into_iter().enumerate() {
        sent.push(
            app.post(
                &path,
                Some(&who.token),
                json!({"message": format!("message {i}")}),
            )
            .await
            .id(),
        );
    }
    let all = app.get(&path, Some(&maker.token)).await.expect(200);
    let got: Vec<i64> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, sent);
    assert_eq!(all["items"][1]["sender_role"], json!("buyer"));
    let after = app
        .get(
            &format!("{path}?after_id={}&limit=1", sent[0]),
            Some(&seller.token),
        )
        .await
        .expect(200);
    assert_eq!(after["items"][0]["id"], json!(sent[1]));
    assert_eq!(after["items"].as_array().unwrap().len(), 1);
    app.post(&path, Some(&seller.token), json!({"message": "   "}))
        .await
        .refused(400, "VALIDATION_ERROR");
    app.post(
        &path,
        Some(&seller.token),
        json!({"message": "x".repeat(2001)}),
    )
    .await
    .refused(400, "VALIDATION_ERROR");
}

on_both_stores!(idle_wallets_leave_memory_and_come_back_intact);
/// Memory follows the active users: an idle wallet actor stops, and the next request revives it
/// from the database with every balance and count it had.
async fn idle_wallets_leave_memory_and_come_back_intact(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let market = app.market.clone().expect("a local service");
    let maker = app.player("maker", 0).await;
    let seller = app.player("seller", 1_000_000).await;
    let ad_id = app.buy_ad(&maker, json!({})).await;
    let order_id = app.take(&seller, ad_id, 300_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    assert!(market.resident_actors().wallets > 0);
    let passivated =
        crate::helpers::eventually(6, || async { market.resident_actors().wallets == 0 }).await;
    assert!(passivated, "idle wallets are still resident");
    // Revived from the database: the active withdrawal still counts, the frozen escrow is there.
    app.take(&seller, ad_id, 100_000)
        .await
        .refused(409, "ACTIVE_WITHDRAW_ORDER_EXISTS");
    assert_eq!(app.balance(&seller).await, (700_000, 300_000));
    app.step(&maker, order_id, "confirm-paid").await.expect(200);
    app.step(&seller, order_id, "confirm-received")
        .await
        .expect(200);
    app.take(&seller, ad_id, 100_000).await.expect(201);
    app.transaction(&seller, "bet", 600_000).await.expect(201);
    app.transaction(&seller, "bet", 1)
        .await
        .refused(422, "INSUFFICIENT_BALANCE");
    app.assert_audit().await;
}

on_both_stores!(idle_ads_leave_memory_and_come_back_intact);
/// An idle ad actor stops too; the listing keeps the ad, a cancel while it is away gives the
/// capacity back, and the next take, change or close revives it from the database.
async fn idle_ads_leave_memory_and_come_back_intact(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let market = app.market.clone().expect("a local service");
    let maker = app.player("maker", 0).await;
    let seller = app.player("seller", 1_000_000).await;
    let ad_id = app.buy_ad(&maker, json!({"total_amount": 1_000_000})).await;
    let order_id = app.take(&seller, ad_id, 300_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    assert!(market.resident_actors().ads > 0);
    let passivated =
        crate::helpers::eventually(6, || async { market.resident_actors().ads == 0 }).await;
    assert!(passivated, "the idle ad is still resident");
    let page = app.get("/api/v1/p2p/ads?type=buy", None).await.expect(200);
    assert_eq!(
        page["items"][0]["available_amount"],
        json!(700_000),
        "still listed"
    );
    // Cancelled while the ad is away: the capacity comes back, in the listing too.
    app.step(&seller, order_id, "cancel").await.expect(200);
    assert_eq!(
        app.ad_json(ad_id).await["available_amount"],
        json!(1_000_000)
    );
    let page = app.get("/api/v1/p2p/ads?type=buy", None).await.expect(200);
    assert_eq!(page["items"][0]["available_amount"], json!(1_000_000));
    let passivated =
        crate::helpers::eventually(6, || async { market.resident_actors().ads == 0 }).await;
    assert!(passivated);
    // Revived by a take, then by a change and a close.
    app.take(&seller, ad_id, 200_000).await.expect(201);
    assert_eq!(app.ad_json(ad_id).await["available_amount"], json!(800_000));
    assert!(crate::helpers::eventually(6, || async { market.resident_actors().ads == 0 }).await);
    app.patch(
        &format!("/api/v1/p2p/ads/{ad_id}"),
        Some(&maker.token),
        json!({"terms": "quick"}),
    )
    .await
    .expect(200);
    assert!(crate::helpers::eventually(6, || async { market.resident_actors().ads == 0 }).await);
    let closed = app
        .post(
            &format!("/api/v1/p2p/ads/{ad_id}/close"),
            Some(&maker.token),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(closed["status"], "closed");
    app.assert_audit().await;
}
