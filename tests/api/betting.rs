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
    app.transaction(&player, "bet", 600_000).await.expect(201);
    // The bets before it already cover the bonus's wagering (100,000 × 5), so the seed's rule
    // alone would let the bonus itself leave at once.
    app.transaction(&player, "bonus", 100_000).await.expect(201);
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
    app.transaction(&player, "bet", 30_000).await.expect(201);
    app.transaction(&player, "win", 50_000).await.expect(201);
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
    app.transaction(&player, "bet", 100_000).await.expect(201);
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
    app.transaction(&player, "bet", 200_000).await.expect(201);
    assert_eq!(
        balance(&app, &player).await,
        json!({"available": 900_000, "frozen": 0, "unwagered_bonus": 0, "withdrawable": 900_000})
    );
    app.take(&player, ad_id, 900_000).await.expect(201);
    app.assert_audit().await;
}

fn in_ms(app: &TestApp, ms: i64) -> String {
    p2p_market::domain::rfc3339(app.clock.now_ms() + ms)
}

async fn restrict(app: &TestApp, user: &User, kind: &str, until: &str) -> crate::helpers::Answer {
    app.post(
        &format!("/api/v1/admin/users/{}/restrictions", user.id),
        Some(ADMIN),
        json!({"kind": kind, "until": until}),
    )
    .await
}

async fn listed(app: &TestApp, ad_type: &str) -> Vec<i64> {
    let page = app
        .get(&format!("/api/v1/p2p/ads?type={ad_type}"), None)
        .await
        .expect(200);
    crate::helpers::item_ids(&page)
}

on_both_stores!(a_restricted_user_neither_takes_nor_posts_and_their_ads_pause_until_it_ends);
async fn a_restricted_user_neither_takes_nor_posts_and_their_ads_pause_until_it_ends(
    backend: Backend,
) {
    let mut app = spawn_app_on(backend).await;
    let maker = app.player("maker", 3_000_000).await;
    let other = app.player("other maker", 3_000_000).await;
    let player = app.player("player", 1_000_000).await;
    let buy = app.buy_ad(&maker, json!({})).await;
    let sell = app
        .sell_ad(&maker, json!({"total_amount": 1_000_000}))
        .await;
    let others = app.buy_ad(&other, json!({})).await;
    let open = app.take(&player, buy, 200_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();

    let until = in_ms(&app, 3_600_000);
    let held = restrict(&app, &maker, "cool_off", &until).await.expect(201);
    assert_eq!(held["kind"], json!("cool_off"));
    assert_eq!(held["active"], json!(true));
    assert_eq!(held["lifted_at"], json!(null));

    // Their ads are paused for everyone and hidden from every listing.
    assert_eq!(listed(&app, "buy").await, vec![others]);
    assert!(listed(&app, "sell").await.is_empty());
    assert_eq!(app.ad_json(buy).await["status"], json!("paused"));
    app.take(&player, buy, 100_000)
        .await
        .refused(409, "AD_NOT_ACTIVE");
    // They may not take nor post, and hear until when.
    let refused = app.take(&maker, others, 100_000).await;
    refused.refused(403, "ACCOUNT_RESTRICTED");
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&until[..19]),
        "{}",
        refused.body
    );
    let ad = json!({"type": "buy", "fiat_currency": "RUB", "price": 9550, "min_amount": 100_000,
                    "max_amount": 1_000_000, "total_amount": 2_000_000, "payment_methods": ["card"]});
    app.post("/api/v1/p2p/ads", Some(&maker.token), ad.clone())
        .await
        .refused(403, "ACCOUNT_RESTRICTED");
    let me = app.get("/api/v1/me", Some(&maker.token)).await.expect(200);
    assert_eq!(me["restriction"]["kind"], json!("cool_off"));
    assert_eq!(me["restriction"]["until"], held["until"]);
    let me = app.get("/api/v1/me", Some(&player.token)).await.expect(200);
    assert_eq!(me["restriction"], json!(null));

    // The order opened before runs to its end.
    app.step(&maker, open, "confirm-paid").await.expect(200);
    app.step(&player, open, "confirm-received")
        .await
        .expect(200);

    // A restart rebuilds the restriction from the database.
    app = app.restart().await;
    assert_eq!(app.ad_json(buy).await["status"], json!("paused"));
    app.post("/api/v1/p2p/ads", Some(&maker.token), ad.clone())
        .await
        .refused(403, "ACCOUNT_RESTRICTED");

    // When it ends, everything comes back without anyone touching it.
    app.clock.advance_ms(3_600_000 + 1_000);
    assert_eq!(app.ad_json(buy).await["status"], json!("active"));
    let mut back = listed(&app, "buy").await;
    back.sort_unstable();
    assert_eq!(back, vec![buy, others]);
    assert_eq!(listed(&app, "sell").await, vec![sell]);
    app.take(&player, buy, 100_000).await.expect(201);
    app.post("/api/v1/p2p/ads", Some(&maker.token), ad.clone())
        .await
        .expect(201);

    // Lifted early by the platform: at once, and the history keeps both.
    restrict(&app, &maker, "self_exclusion", &in_ms(&app, 86_400_000))
        .await
        .expect(201);
    app.post("/api/v1/p2p/ads", Some(&maker.token), ad.clone())
        .await
        .refused(403, "ACCOUNT_RESTRICTED");
    app.delete(
        &format!("/api/v1/admin/users/{}/restrictions", maker.id),
        Some(ADMIN),
    )
    .await
    .expect(204);
    app.post("/api/v1/p2p/ads", Some(&maker.token), ad)
        .await
        .expect(201);
    let history = app
        .get(
            &format!("/api/v1/admin/users/{}/restrictions", maker.id),
            Some(ADMIN),
        )
        .await
        .expect(200);
    let items = history["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{history}");
    assert_eq!(items[0]["kind"], json!("self_exclusion"));
    assert!(items[0]["lifted_at"].is_string(), "{history}");
    assert_eq!(items[0]["active"], json!(false));
    assert_eq!(items[1]["kind"], json!("cool_off"));
    assert_eq!(items[1]["lifted_at"], json!(null));
    assert_eq!(items[1]["active"], json!(false));
    app.assert_audit().await;
}

on_both_stores!(a_restriction_needs_a_real_end_in_the_future);
async fn a_restriction_needs_a_real_end_in_the_future(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let user = app.player("player", 0).await;
    for until in [
        in_ms(&app, -1_000),
        "2027-02-30T00:00:00Z".to_string(),
        "2999-01-01T00:00:00Z".to_string(),
    ] {
        restrict(&app, &user, "cool_off", &until)
            .await
            .refused(422, "INVALID_RESTRICTION_END");
    }
    restrict(&app, &user, "cool_off", "tomorrow")
        .await
        .refused(400, "VALIDATION_ERROR");
    restrict(&app, &user, "forever", &in_ms(&app, 1_000))
        .await
        .refused(400, "VALIDATION_ERROR");
    let stranger = User {
        id: 999_999,
        token: String::new(),
    };
    restrict(&app, &stranger, "cool_off", &in_ms(&app, 1_000))
        .await
        .refused(404, "NOT_FOUND");
    app.post(
        &format!("/api/v1/admin/users/{}/restrictions", user.id),
        Some(&user.token),
        json!({"kind": "cool_off", "until": in_ms(&app, 1_000)}),
    )
    .await
    .refused(403, "FORBIDDEN");
}

/// A restriction made through one node holds on the other within the upkeep's second, and so
/// does its lifting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restriction_made_on_one_node_holds_on_the_other() {
    if !crate::helpers::postgres_available(
        "betting::a_restriction_made_on_one_node_holds_on_the_other",
    ) {
        return;
    }
    let (node_a, node_b) = crate::nodes::start_two_nodes().await;
    let (a, b) = (&node_a.app, &node_b.app);
    let maker = a.player("maker", 3_000_000).await;
    let player = a.player("player", 1_000_000).await;
    let ad = a.buy_ad(&maker, json!({})).await;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let until = p2p_market::domain::rfc3339(now_ms + 3_600_000);
    restrict(a, &maker, "cool_off", &until).await.expect(201);
    let held_on_b = crate::helpers::eventually(5, || async {
        b.ad_json(ad).await["status"] == json!("paused")
    })
    .await;
    assert!(held_on_b, "node B pauses the restricted maker's ad");
    b.take(&player, ad, 100_000)
        .await
        .refused(409, "AD_NOT_ACTIVE");
    assert!(listed(b, "buy").await.is_empty());
    b.delete(
        &format!("/api/v1/admin/users/{}/restrictions", maker.id),
        Some(ADMIN),
    )
    .await
    .expect(204);
    let back_on_a = crate::helpers::eventually(5, || async {
        a.ad_json(ad).await["status"] == json!("active")
    })
    .await;
    assert!(back_on_a, "node A sees the lifting");
    a.take(&player, ad, 100_000).await.expect(201);
}

/// A node whose cached wallet missed another node's bonus and sell ad still names the rule
/// that refuses: the database's guard refuses the escrow, and the wallet judges again by what
/// the database holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_wallet_names_the_bonus_rule_that_really_refuses() {
    if !crate::helpers::postgres_available(
        "betting::a_stale_wallet_names_the_bonus_rule_that_really_refuses",
    ) {
        return;
    }
    let (node_a, node_b) = crate::nodes::start_two_nodes().await;
    let (a, b) = (&node_a.app, &node_b.app);
    let maker = a.player("maker", 3_000_000).await;
    let ad = a.buy_ad(&maker, json!({})).await;
    // Node A's wallet actor caches the player's 1,000,000 of real money.
    let player = a.player("player", 1_000_000).await;
    // Node B: a bonus (no wagering), then a sell ad that takes 900,000 of the real money.
    play(
        b,
        &player,
        json!({"kind": "bonus", "amount": 500_000, "reference": "x1", "wagering_multiplier": 0}),
    )
    .await;
    let sell = json!({
        "type": "sell", "fiat_currency": "RUB", "price": 9550, "min_amount": 100_000,
        "max_amount": 900_000, "total_amount": 900_000, "payment_methods": ["card"],
        "payment_details": {"card": {"card_number": "2200 7000 0000 0001"}},
    });
    b.post("/api/v1/p2p/ads", Some(&player.token), sell)
        .await
        .expect(201);
    // A's cache still sees 1,000,000 withdrawable; the database holds 600,000 of which 500,000
    // is unwagered bonus.
    a.take(&player, ad, 200_000)
        .await
        .refused(422, "BONUS_FUNDS_NOT_WITHDRAWABLE");
    a.take(&player, ad, 100_000).await.expect(201);
    a.assert_audit().await;
}
