//! The seed document's walk-through, step by step, in both directions.

use serde_json::json;

use crate::helpers::{Backend, TestApp, spawn_app_on};

on_both_stores!(a_withdrawal_walks_through_the_seed_lifecycle);
/// The seed's withdrawal: browse buy ads, take one, the buyer pays and confirms, the seller
/// confirms receipt, escrow goes to the buyer; then both rate.
async fn a_withdrawal_walks_through_the_seed_lifecycle(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let seller = app.player("seller", 1_000_000).await;
    let ad_id = app.buy_ad(&maker, json!({"price": 9600})).await;

    // 1. Browse buy ads.
    let page = app
        .get(
            "/api/v1/p2p/ads?type=buy&fiat_currency=RUB&limit=20&offset=0",
            None,
        )
        .await
        .expect(200);
    assert_eq!(page["total"], json!(1));
    assert_eq!(page["items"][0]["id"], json!(ad_id));
    assert_eq!(page["items"][0]["maker"]["id"], json!(maker.id));
    assert_eq!(page["items"][0]["type"], json!("buy"));

    // 2. Create an order: the seller's USDT is frozen in escrow.
    let order = app.take(&seller, ad_id, 300_000).await.expect(201);
    let order_id = order["id"].as_i64().unwrap();
    assert_eq!(order["status"], json!("pending"));
    assert_eq!(order["side"], json!("withdraw"));
    assert_eq!(order["seller_id"], json!(seller.id));
    assert_eq!(order["buyer_id"], json!(maker.id));
    assert_eq!(order["usdt_amount"], json!(300_000));
    assert_eq!(order["fiat_amount"], json!(300_000));
    assert_eq!(order["price"], json!(9600));
    assert_eq!(
        order["payment_details"]["card_number"],
        json!("2200 1234 5678 9012")
    );
    assert_eq!(order["cancel_reason"], json!(null));
    assert_eq!(app.balance(&seller).await, (700_000, 300_000));
    assert_eq!(
        app.ad_json(ad_id).await["available_amount"],
        json!(4_700_000)
    );

    // Updating payment details while pending: the seller only.
    let new_details = json!({"payment_details": {"card_number": "2200 9876 5432 1000"}});
    let path = format!("/api/v1/p2p/orders/{order_id}");
    app.patch(&path, Some(&maker.token), new_details.clone())
        .await
        .refused(403, "FORBIDDEN");
    let updated = app
        .patch(&path, Some(&seller.token), new_details)
        .await
        .expect(200);
    assert_eq!(
        updated["payment_details"]["card_number"],
        json!("2200 9876 5432 1000")
    );

    // Chat.
    let message = app
        .post(
            &format!("/api/v1/p2p/orders/{order_id}/messages"),
            Some(&seller.token),
            json!({"message": "I have not received the payment yet, please check."}),
        )
        .await
        .expect(201);
    assert_eq!(message["sender_role"], json!("seller"));

    // 4. The buyer marks the order paid.
    let paid = app.step(&maker, order_id, "confirm-paid").await.expect(200);
    assert_eq!(paid["status"], json!("paid_by_buyer"));
    assert!(paid["paid_at"].is_string());
    let late_details = json!({"payment_details": {"card_number": "2200 0000 0000 0000"}});
    app.patch(&path, Some(&seller.token), late_details)
        .await
        .refused(409, "INVALID_ORDER_STATUS");

    // 5. The seller confirms receipt: escrow is released to the buyer.
    let done = app
        .step(&seller, order_id, "confirm-received")
        .await
        .expect(200);
    assert_eq!(done["status"], json!("completed"));
    assert!(done["completed_at"].is_string());
    assert_eq!(app.balance(&seller).await, (700_000, 0));
    assert_eq!(app.balance(&maker).await, (300_000, 0));

    // Ratings: each party rates the other once.
    let rating = app
        .post(
            &format!("/api/v1/p2p/orders/{order_id}/rate"),
            Some(&seller.token),
            json!({"rating": 4}),
        )
        .await
        .expect(201);
    assert_eq!(rating["ratee_id"], json!(maker.id));
    app.post(
        &format!("/api/v1/p2p/orders/{order_id}/rate"),
        Some(&seller.token),
        json!({"rating": 5}),
    )
    .await
    .refused(409, "ALREADY_RATED");
    let profile = app
        .get(&format!("/api/v1/users/{}", maker.id), None)
        .await
        .expect(200);
    assert_eq!(profile["rating"], json!(4.0));
    assert_eq!(profile["ratings_count"], json!(1));
    assert_eq!(profile["orders_count"], json!(1));
    let listed = app.ad_json(ad_id).await;
    assert_eq!(listed["maker"]["rating"], json!(4.0));
    assert_eq!(listed["maker"]["orders_count"], json!(1));

    // The history lists it for both parties.
    let mine = app
        .get("/api/v1/p2p/orders?status=completed", Some(&seller.token))
        .await
        .expect(200);
    assert_eq!(mine["total"], json!(1));
    assert_eq!(mine["items"][0]["id"], json!(order_id));
    app.assert_audit().await;
}

on_both_stores!(a_deposit_takes_a_sell_ad_and_ends_in_the_players_balance);
/// The reverse: a player takes a sell ad whose reserve was frozen when it was posted; the player
/// pays the maker (details from the ad), the maker confirms, escrow goes to the player.
async fn a_deposit_takes_a_sell_ad_and_ends_in_the_players_balance(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 5_000_000).await;
    let player = app.player("player", 0).await;
    let ad_id = app
        .sell_ad(&maker, json!({"total_amount": 2_000_000}))
        .await;
    assert_eq!(app.balance(&maker).await, (3_000_000, 2_000_000));

    let order = app
        .post(
            "/api/v1/p2p/orders",
            Some(&player.token),
            json!({"ad_id": ad_id, "usdt_amount": 500_000, "payment_method": "sbp"}),
        )
        .await
        .expect(201);
    let order_id = order["id"].as_i64().unwrap();
    assert_eq!(order["side"], json!("deposit"));
    assert_eq!(order["buyer_id"], json!(player.id));
    assert_eq!(order["seller_id"], json!(maker.id));
    assert_eq!(
        order["payment_details"],
        json!({"phone": "+7 900 000-00-01"})
    );
    // The escrow moved from the ad's reserve to the order: the maker's frozen is unchanged.
    assert_eq!(app.balance(&maker).await, (3_000_000, 2_000_000));
    assert_eq!(
        app.ad_json(ad_id).await["available_amount"],
        json!(1_500_000)
    );

    app.step(&player, order_id, "confirm-paid")
        .await
        .expect(200);
    app.step(&maker, order_id, "confirm-received")
        .await
        .expect(200);
    assert_eq!(app.balance(&player).await, (500_000, 0));
    assert_eq!(app.balance(&maker).await, (3_000_000, 1_500_000));

    // Closing the ad gives the unsold reserve back to the maker.
    let closed = app
        .post(
            &format!("/api/v1/p2p/ads/{ad_id}/close"),
            Some(&maker.token),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(closed["status"], json!("closed"));
    assert_eq!(closed["available_amount"], json!(0));
    assert_eq!(app.balance(&maker).await, (4_500_000, 0));
    app.assert_audit().await;
}

on_both_stores!(disputes_are_settled_by_an_operator_either_way);
/// A dispute: either party calls an operator after payment; the operator releases or refunds.
async fn disputes_are_settled_by_an_operator_either_way(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let seller = app.player("seller", 1_000_000).await;
    let operator = app.operator().await;
    let ad_id = app.buy_ad(&maker, json!({})).await;

    for (resolution, status) in [("release", "completed"), ("refund", "cancelled")] {
        let order_id = app.take(&seller, ad_id, 200_000).await.expect(201)["id"]
            .as_i64()
            .unwrap();
        app.post(
            &format!("/api/v1/p2p/orders/{order_id}/call-operator"),
            Some(&seller.token),
            json!({}),
        )
        .await
        .refused(409, "INVALID_ORDER_STATUS");
        app.step(&maker, order_id, "confirm-paid").await.expect(200);
        let disputed = app
            .post(
                &format!("/api/v1/p2p/orders/{order_id}/call-operator"),
                Some(&seller.token),
                json!({"reason": "No payment arrived"}),
            )
            .await
            .expect(200);
        assert_eq!(disputed["status"], json!("disputed"));
        assert_eq!(disputed["dispute"]["opened_by"], json!(seller.id));
        assert_eq!(disputed["dispute"]["reason"], json!("No payment arrived"));

        let open = app
            .get(
                "/api/v1/operator/disputes?status=open",
                Some(&operator.token),
            )
            .await
            .expect(200);
        assert_eq!(open["items"][0]["id"], json!(order_id));
        // The operator reads the order and its chat, and writes in it.
        app.order(&operator, order_id).await;
        let note = app
            .post(
                &format!("/api/v1/p2p/orders/{order_id}/messages"),
                Some(&operator.token),
                json!({"message": "Please upload the receipt."}),
            )
            .await
            .expect(201);
        assert_eq!(note["sender_role"], json!("operator"));

        let resolved = app
            .post(
                &format!("/api/v1/operator/orders/{order_id}/resolve"),
                Some(&operator.token),
                json!({"resolution": resolution, "note": "checked the bank statement"}),
            )
            .await
            .expect(200);
        assert_eq!(resolved["status"], json!(status));
        assert_eq!(resolved["dispute"]["resolution"], json!(resolution));
        assert_eq!(resolved["dispute"]["resolved_by"], json!(operator.id));
        assert_eq!(
            resolved["dispute"]["note"],
            json!("checked the bank statement")
        );
        // No order is released or refunded twice.
        app.post(
            &format!("/api/v1/operator/orders/{order_id}/resolve"),
            Some(&operator.token),
            json!({"resolution": "refund"}),
        )
        .await
        .refused(409, "INVALID_ORDER_STATUS");
    }
    // Released 200,000 to the maker; refunded the other 200,000 to the seller.
    assert_eq!(app.balance(&seller).await, (800_000, 0));
    assert_eq!(app.balance(&maker).await, (200_000, 0));
    let resolved = app
        .get(
            "/api/v1/operator/disputes?status=resolved",
            Some(&operator.token),
        )
        .await
        .expect(200);
    assert_eq!(resolved["total"], json!(2));
    let refunded = app
        .get("/api/v1/p2p/orders?status=cancelled", Some(&seller.token))
        .await
        .expect(200);
    assert_eq!(refunded["items"][0]["cancel_reason"], json!("operator"));
    app.assert_audit().await;
}

on_both_stores!(a_seller_can_end_a_dispute_by_confirming_receipt);
/// The seller may also settle a dispute by confirming receipt.
async fn a_seller_can_end_a_dispute_by_confirming_receipt(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let seller = app.player("seller", 1_000_000).await;
    let ad_id = app.buy_ad(&maker, json!({})).await;
    let order_id = app.take(&seller, ad_id, 200_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    app.step(&maker, order_id, "confirm-paid").await.expect(200);
    app.step(&maker, order_id, "call-operator")
        .await
        .expect(200);
    let done = app
        .step(&seller, order_id, "confirm-received")
        .await
        .expect(200);
    assert_eq!(done["status"], json!("completed"));
    assert_eq!(app.balance(&maker).await, (200_000, 0));
    app.assert_audit().await;
}

on_both_stores!(cancelling_returns_escrow_and_capacity);
/// Cancelling: either party while pending, the buyer after paying; escrow and capacity return.
async fn cancelling_returns_escrow_and_capacity(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let seller = app.player("seller", 1_000_000).await;
    let ad_id = app.buy_ad(&maker, json!({})).await;

    let first = app.take(&seller, ad_id, 300_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    let cancelled = app.step(&seller, first, "cancel").await.expect(200);
    assert_eq!(cancelled["status"], json!("cancelled"));
    assert_eq!(cancelled["cancel_reason"], json!("seller"));
    assert_eq!(app.balance(&seller).await, (1_000_000, 0));
    assert_eq!(
        app.ad_json(ad_id).await["available_amount"],
        json!(5_000_000)
    );

    let second = app.take(&seller, ad_id, 300_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    app.step(&maker, second, "confirm-paid").await.expect(200);
    app.step(&seller, second, "cancel")
        .await
        .refused(409, "INVALID_ORDER_STATUS");
    let by_buyer = app.step(&maker, second, "cancel").await.expect(200);
    assert_eq!(by_buyer["cancel_reason"], json!("buyer"));
    assert_eq!(app.balance(&seller).await, (1_000_000, 0));
    app.step(&maker, second, "cancel")
        .await
        .refused(409, "INVALID_ORDER_STATUS");
    app.post(
        &format!("/api/v1/p2p/orders/{second}/rate"),
        Some(&seller.token),
        json!({"rating": 1}),
    )
    .await
    .refused(409, "INVALID_ORDER_STATUS");
    app.assert_audit().await;
}

on_both_stores!(a_deposit_cancelled_after_its_ad_closed_refunds_the_maker);
/// A deposit cancelled after its sell ad closed returns the escrow to the maker's balance.
async fn a_deposit_cancelled_after_its_ad_closed_refunds_the_maker(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 2_000_000).await;
    let player = app.player("player", 0).await;
    let ad_id = app
        .sell_ad(&maker, json!({"total_amount": 1_000_000}))
        .await;
    let order_id = app
        .post(
            "/api/v1/p2p/orders",
            Some(&player.token),
            json!({"ad_id": ad_id, "usdt_amount": 400_000, "payment_method": "card"}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    app.post(
        &format!("/api/v1/p2p/ads/{ad_id}/close"),
        Some(&maker.token),
        json!({}),
    )
    .await
    .expect(200);
    // Open orders run to their end: the unsold 600,000 came back, the order's 400,000 not yet.
    assert_eq!(app.balance(&maker).await, (1_600_000, 400_000));
    app.step(&player, order_id, "cancel").await.expect(200);
    assert_eq!(app.balance(&maker).await, (2_000_000, 0));
    assert_eq!(app.ad_json(ad_id).await["available_amount"], json!(0));
    app.assert_audit().await;
}

on_both_stores!(a_restart_rebuilds_the_market_from_the_database);
/// Restarting keeps everything acknowledged and the market running.
async fn a_restart_rebuilds_the_market_from_the_database(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let seller = app.player("seller", 1_000_000).await;
    let ad_id = app.buy_ad(&maker, json!({})).await;
    let order_id = app.take(&seller, ad_id, 300_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    app.step(&maker, order_id, "confirm-paid").await.expect(200);

    let app: TestApp = app.restart().await;
    assert_eq!(
        app.ad_json(ad_id).await["available_amount"],
        json!(4_700_000)
    );
    let listed = app.get("/api/v1/p2p/ads?type=buy", None).await.expect(200);
    assert_eq!(listed["total"], json!(1));
    app.take(&seller, ad_id, 100_000)
        .await
        .refused(409, "ACTIVE_WITHDRAW_ORDER_EXISTS");
    app.step(&seller, order_id, "confirm-received")
        .await
        .expect(200);
    assert_eq!(app.balance(&maker).await, (300_000, 0));
    app.take(&seller, ad_id, 100_000).await.expect(201);
    app.assert_audit().await;
}

on_both_stores!(the_demo_seeds_a_live_market_once);
/// `serve --demo` fills an empty database with a live market, and leaves a used one alone.
async fn the_demo_seeds_a_live_market_once(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let market = p2p_market::market::Market::start(
        p2p_market::config::Config::for_database(app.database_url.clone()),
        "demo-admin",
        p2p_market::clock::Clock::default(),
    )
    .await
    .unwrap();
    let world = p2p_market::market::demo::seed(&market)
        .await
        .unwrap()
        .expect("an empty database is seeded");
    assert_eq!((world.makers.len(), world.players.len()), (3, 3));
    let text = world.describe("127.0.0.1:8080".parse().unwrap(), "demo-admin");
    assert!(text.contains(&world.players[0].1) && text.contains("curl"));
    assert!(
        p2p_market::market::demo::seed(&market)
            .await
            .unwrap()
            .is_none()
    );
    market.shutdown().await;

    // The service sees the demo's market after a restart.
    let app = app.restart().await;
    let buy = app.get("/api/v1/p2p/ads?type=buy", None).await.expect(200);
    let sell = app.get("/api/v1/p2p/ads?type=sell", None).await.expect(200);
    assert_eq!(
        (buy["total"].clone(), sell["total"].clone()),
        (json!(3), json!(3))
    );
    let player = crate::helpers::User {
        id: 4,
        token: world.players[0].1.clone(),
    };
    let order = app
        .take(&player, world.buy_ad_id.get(), 300_000)
        .await
        .expect(201);
    assert_eq!(order["side"], json!("withdraw"));
    app.assert_audit().await;
}
