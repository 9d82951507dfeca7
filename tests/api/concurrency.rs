//! Races: simultaneous requests against the same ad, wallet and order.

use futures_util::future::join_all;
use serde_json::json;

use crate::helpers::{Backend, spawn_app_on};

on_both_stores!(fifty_takers_race_for_ten_orders_of_capacity, multi_thread);
/// 50 simultaneous orders against an ad with room for 10: exactly 10 succeed.
async fn fifty_takers_race_for_ten_orders_of_capacity(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let ad_id = app
        .buy_ad(
            &maker,
            json!({"min_amount": 100_000, "max_amount": 100_000, "total_amount": 1_000_000}),
        )
        .await;
    let mut sellers = Vec::new();
    for i in 0..50 {
        sellers.push(app.player(&format!("seller {i}"), 500_000).await);
    }
    let answers = join_all(
        sellers
            .iter()
            .map(|seller| app.take(seller, ad_id, 100_000)),
    )
    .await;
    let won = answers.iter().filter(|a| a.status.as_u16() == 201).count();
    assert_eq!(won, 10);
    for answer in answers.iter().filter(|a| a.status.as_u16() != 201) {
        answer.refused(422, "AMOUNT_EXCEEDS_AVAILABLE");
    }
    assert_eq!(app.ad_json(ad_id).await["available_amount"], json!(0));
    let listed = app.get("/api/v1/p2p/ads?type=buy", None).await.expect(200);
    assert_eq!(
        listed["total"],
        json!(0),
        "a sold-out ad leaves the listing"
    );
    app.assert_audit().await;
}

on_both_stores!(one_user_racing_twenty_withdrawals_gets_one, multi_thread);
/// 20 simultaneous withdrawals by one user: exactly one succeeds.
async fn one_user_racing_twenty_withdrawals_gets_one(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let seller = app.player("seller", 10_000_000).await;
    let mut ads = Vec::new();
    for i in 0..4 {
        let maker = app.player(&format!("maker {i}"), 0).await;
        ads.push(app.buy_ad(&maker, json!({})).await);
    }
    let answers = join_all((0..20).map(|i| app.take(&seller, ads[i % ads.len()], 100_000))).await;
    let won = answers.iter().filter(|a| a.status.as_u16() == 201).count();
    assert_eq!(won, 1);
    for answer in answers.iter().filter(|a| a.status.as_u16() != 201) {
        answer.refused(409, "ACTIVE_WITHDRAW_ORDER_EXISTS");
    }
    assert_eq!(app.balance(&seller).await, (9_900_000, 100_000));
    app.assert_audit().await;
}

on_both_stores!(cancel_and_confirm_paid_race_to_one_winner, multi_thread);
/// A seller's cancel and the buyer's confirm-paid racing on one order: one wins, the other is
/// told `INVALID_ORDER_STATUS`. Repeated to let both orders of arrival happen.
async fn cancel_and_confirm_paid_race_to_one_winner(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let seller = app.player("seller", 5_000_000).await;
    let ad_id = app
        .buy_ad(&maker, json!({"total_amount": 10_000_000}))
        .await;
    let mut outcomes = (0, 0);
    for _ in 0..30 {
        let order_id = app.take(&seller, ad_id, 100_000).await.expect(201)["id"]
            .as_i64()
            .unwrap();
        let (cancel, paid) = tokio::join!(
            app.step(&seller, order_id, "cancel"),
            app.step(&maker, order_id, "confirm-paid"),
        );
        match (cancel.status.as_u16(), paid.status.as_u16()) {
            (200, _) => {
                paid.refused(409, "INVALID_ORDER_STATUS");
                outcomes.0 += 1;
            }
            (_, 200) => {
                cancel.refused(409, "INVALID_ORDER_STATUS");
                outcomes.1 += 1;
                // Settle it so the seller may withdraw again.
                app.step(&seller, order_id, "confirm-received")
                    .await
                    .expect(200);
            }
            other => panic!("no winner: {other:?} {} {}", cancel.body, paid.body),
        }
    }
    assert_eq!(outcomes.0 + outcomes.1, 30);
    app.assert_audit().await;
}

on_both_stores!(a_disputed_order_is_released_or_refunded_once, multi_thread);
/// Releases racing refunds on a disputed order: the escrow moves exactly once.
async fn a_disputed_order_is_released_or_refunded_once(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let seller = app.player("seller", 1_000_000).await;
    let operator = app.operator().await;
    let ad_id = app
        .buy_ad(&maker, json!({"total_amount": 10_000_000}))
        .await;
    for _ in 0..10 {
        let order_id = app.take(&seller, ad_id, 100_000).await.expect(201)["id"]
            .as_i64()
            .unwrap();
        app.step(&maker, order_id, "confirm-paid").await.expect(200);
        app.step(&maker, order_id, "call-operator")
            .await
            .expect(200);
        let resolve = format!("/api/v1/operator/orders/{order_id}/resolve");
        let (release, refund, received) = tokio::join!(
            app.post(
                &resolve,
                Some(&operator.token),
                json!({"resolution": "release"})
            ),
            app.post(
                &resolve,
                Some(&operator.token),
                json!({"resolution": "refund"})
            ),
            app.step(&seller, order_id, "confirm-received"),
        );
        let winners = [&release, &refund, &received]
            .iter()
            .filter(|a| a.status.as_u16() == 200)
            .count();
        assert_eq!(
            winners, 1,
            "{} {} {}",
            release.body, refund.body, received.body
        );
    }
    let (available, frozen) = app.balance(&seller).await;
    let (maker_available, _) = app.balance(&maker).await;
    assert_eq!(frozen, 0);
    assert_eq!(
        available + maker_available,
        1_000_000,
        "money was made or lost"
    );
    app.assert_audit().await;
}

on_both_stores!(ratings_of_many_orders_at_once_each_count_once, multi_thread);
/// Both parties of 20 completed orders rate at once, each twice: every first rating counts, every
/// second is `ALREADY_RATED`, and the figures add up (PostgreSQL batches insert their ratings
/// together, at their end).
async fn ratings_of_many_orders_at_once_each_count_once(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let ad = app.buy_ad(&maker, json!({"total_amount": 5_000_000})).await;
    let mut done = Vec::new();
    for i in 0..20 {
        let seller = app.player(&format!("seller {i}"), 1_000_000).await;
        let order = app.take(&seller, ad, 100_000).await.expect(201)["id"]
            .as_i64()
            .unwrap();
        app.step(&maker, order, "confirm-paid").await.expect(200);
        app.step(&seller, order, "confirm-received")
            .await
            .expect(200);
        done.push((seller, order));
    }
    let rates = done.iter().flat_map(|(seller, order)| {
        let path = format!("/api/v1/p2p/orders/{order}/rate");
        [(seller, 5), (seller, 1), (&maker, 4), (&maker, 2)].map(|(rater, stars)| {
            let path = path.clone();
            let app = &app;
            async move {
                app.post(&path, Some(&rater.token), json!({"rating": stars}))
                    .await
            }
        })
    });
    let answers = join_all(rates).await;
    let created = answers.iter().filter(|a| a.status.as_u16() == 201).count();
    assert_eq!(created, 40);
    for answer in answers.iter().filter(|a| a.status.as_u16() != 201) {
        answer.refused(409, "ALREADY_RATED");
    }
    let me = app.get("/api/v1/me", Some(&maker.token)).await.expect(200);
    assert_eq!(me["ratings_count"], json!(20), "{me}");
    app.assert_audit().await;
}
