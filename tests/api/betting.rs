//! Betting-platform safeguards: bonus money not yet wagered stays on the platform.

use serde_json::{Value, json};

use crate::helpers::{ADMIN, Backend, TestApp, User, spawn_app_on};

async fn play(app: &TestApp, user: &User, body: Value) -> Value {
    app.post(
        &format!("/api/v1/admin/users/{}/transactions", user.id),
        Some(ADMIN),
        body,
    )
    .await
    .expect(201)
}

async fn balance(app: &TestApp, user: &User) -> Value {
    app.get("/api/v1/me", Some(&user.token)).await.expect(200)["balance"].clone()
}

on_both_stores!(bonus_money_leaves_only_once_a_bet_has_spent_it);
async fn bonus_money_leaves_only_once_a_bet_has_spent_it(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 3_000_000).await;
    let ad_id = app.buy_ad(&maker, json!({})).await;
    let player = app.player("player", 1_000_000).await;
    play(
        &app,
        &player,
        json!({"kind": "bet", "amount": 600_000, "reference": "b1"}),
    )
    .await;
    // The bets before it already cover the bonus's wagering (100,000 × 5), so the seed's rule
    // alone would let the bonus itself leave at once.
    play(
        &app,
        &player,
        json!({"kind": "bonus", "amount": 100_000, "reference": "x1"}),
    )
    .await;
    assert_eq!(
        balance(&app, &player).await,
        json!({"available": 500_000, "frozen": 0, "unwagered_bonus": 100_000, "withdrawable": 400_000})
    );
    app.take(&player, ad_id, 450_000)
        .await
        .refused(422, "BONUS_FUNDS_NOT_WITHDRAWABLE");
    app.take(&player, ad_id, 500_001)
        .await
        .refused(422, "SELLER_INSUFFICIENT_BALANCE");
    let sell = json!({
        "type": "sell", "fiat_currency": "RUB", "price": 9550, "min_amount": 100_000,
        "max_amount": 450_000, "total_amount": 450_000, "payment_methods": ["card"],
        "payment_details": {"card": {"card_number": "2200 7000 0000 0001"}},
    });
    app.post("/api/v1/p2p/ads", Some(&player.token), sell.clone())
        .await
        .refused(422, "BONUS_FUNDS_NOT_WITHDRAWABLE");
    let mut too_much = sell.clone();
    too_much["total_amount"] = json!(500_001);
    app.post("/api/v1/p2p/ads", Some(&player.token), too_much)
        .await
        .refused(422, "SELLER_INSUFFICIENT_BALANCE");

    // All the real money may leave; the bonus stays behind, available but not withdrawable.
    let order = app.take(&player, ad_id, 400_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        balance(&app, &player).await,
        json!({"available": 100_000, "frozen": 400_000, "unwagered_bonus": 100_000, "withdrawable": 0})
    );
    app.assert_audit().await;

    // A bet spends the bonus first; a win is real money.
    play(
        &app,
        &player,
        json!({"kind": "bet", "amount": 30_000, "reference": "b2"}),
    )
    .await;
    play(
        &app,
        &player,
        json!({"kind": "win", "amount": 50_000, "reference": "w1"}),
    )
    .await;
    assert_eq!(
        balance(&app, &player).await,
        json!({"available": 120_000, "frozen": 400_000, "unwagered_bonus": 70_000, "withdrawable": 50_000})
    );
    // The refund of a cancelled withdrawal is real money again.
    app.step(&player, order, "cancel").await.expect(200);
    assert_eq!(
        balance(&app, &player).await,
        json!({"available": 520_000, "frozen": 0, "unwagered_bonus": 70_000, "withdrawable": 450_000})
    );
    // A bet larger than the bonus spends all of it, then real money: everything may leave.
    play(
        &app,
        &player,
        json!({"kind": "bet", "amount": 100_000, "reference": "b3"}),
    )
    .await;
    assert_eq!(
        balance(&app, &player).await,
        json!({"available": 420_000, "frozen": 0, "unwagered_bonus": 0, "withdrawable": 420_000})
    );
    app.take(&player, ad_id, 420_000).await.expect(201);
    app.assert_audit().await;
}

on_both_stores!(the_wagering_rule_still_comes_first);
async fn the_wagering_rule_still_comes_first(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 3_000_000).await;
    let ad_id = app.buy_ad(&maker, json!({})).await;
    let player = app.player("player", 1_000_000).await;
    play(
        &app,
        &player,
        json!({"kind": "bonus", "amount": 100_000, "reference": "x1", "wagering_multiplier": 2}),
    )
    .await;
    app.take(&player, ad_id, 1_000_000)
        .await
        .refused(422, "WAGERING_REQUIREMENT_NOT_MET");
    // 200,000 of bets meet the wagering and spend the whole bonus on the way.
    play(
        &app,
        &player,
        json!({"kind": "bet", "amount": 200_000, "reference": "b1"}),
    )
    .await;
    assert_eq!(
        balance(&app, &player).await,
        json!({"available": 900_000, "frozen": 0, "unwagered_bonus": 0, "withdrawable": 900_000})
    );
    app.take(&player, ad_id, 900_000).await.expect(201);
    app.assert_audit().await;
}
