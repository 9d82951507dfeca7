//! Counterparty requirements: a maker says whom they trade with; a taker short of any bound is
//! refused with each unmet one, in §7's order, and a trader's listing says which ads they may
//! take.

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, User, item_ids, spawn_app_on};

const DAY_MS: i64 = 86_400_000;

async fn listing(app: &TestApp, token: Option<&str>, query: &str) -> Value {
    app.get(&format!("/api/v1/p2p/ads?type=buy{query}"), token)
        .await
        .expect(200)
}

/// Each listed ad's id and its `eligible` mark (`Null` when it has none).
fn marks(page: &Value) -> Vec<(i64, Value)> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ad| {
            let eligible = ad.get("eligible").cloned().unwrap_or(Value::Null);
            (ad["id"].as_i64().unwrap(), eligible)
        })
        .collect()
}

/// Takes `ad_id` (a sell ad: a deposit) for 1,000 RUB by card.
async fn deposit(app: &TestApp, taker: &User, ad_id: i64) -> crate::helpers::Answer {
    let body = json!({"ad_id": ad_id, "usdt_amount": 100_000, "payment_method": "card"});
    app.post("/api/v1/p2p/orders", Some(&taker.token), body)
        .await
}

on_both_stores!(a_taker_short_of_the_requirements_is_refused_with_each_unmet_one);
async fn a_taker_short_of_the_requirements_is_refused_with_each_unmet_one(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 10_000_000).await;
    let asks = json!({
        "min_completed_orders": 1,
        "min_account_age_days": 2,
        "min_completion_rate_bp": 9_000,
    });
    let demanding = app.buy_ad(&maker, json!({"requirements": asks})).await;
    let selling = app
        .sell_ad(&maker, json!({"requirements": {"min_account_age_days": 2}}))
        .await;
    let plain = app.buy_ad(&maker, json!({})).await;
    assert_eq!(app.ad_json(demanding).await["requirements"], asks);
    assert_eq!(
        app.ad_json(plain).await["requirements"],
        json!({"min_completed_orders": null, "min_account_age_days": null, "min_completion_rate_bp": null})
    );

    let seller = app.player("seller", 1_000_000).await;
    let refused = app.take(&seller, demanding, 100_000).await;
    refused.refused(422, "COUNTERPARTY_REQUIREMENTS_NOT_MET");
    assert_eq!(
        refused.body["error"]["details"],
        json!({
            "min_completed_orders": {"required": 1, "actual": 0},
            "min_account_age_days": {"required": 2, "actual": 0},
            "min_completion_rate_bp": {"required": 9000, "actual": null},
        })
    );
    let message = refused.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("min_account_age_days"), "{message}");
    deposit(&app, &seller, selling)
        .await
        .refused(422, "COUNTERPARTY_REQUIREMENTS_NOT_MET");
    // Nothing was held or frozen by the refusals.
    assert_eq!(app.balance(&seller).await, (1_000_000, 0));
    assert_eq!(app.ad_json(demanding).await["available_amount"], 5_000_000);

    // §7's order: the payment method is judged first, the amount after.
    let wrong_method = json!({
        "ad_id": demanding, "usdt_amount": 100_000, "payment_method": "cash",
        "payment_details": {"card_number": "2200 1234 5678 9012"},
    });
    app.post("/api/v1/p2p/orders", Some(&seller.token), wrong_method)
        .await
        .refused(422, "INVALID_PAYMENT_METHOD");
    app.take(&seller, demanding, 1)
        .await
        .refused(422, "COUNTERPARTY_REQUIREMENTS_NOT_MET");

    // One completed order and two days later the seller meets every bound.
    let order = app.take(&seller, plain, 100_000).await.id();
    app.step(&maker, order, "confirm-paid").await.expect(200);
    app.step(&seller, order, "confirm-received")
        .await
        .expect(200);
    app.clock.advance_ms(DAY_MS);
    let one_day = app.take(&seller, demanding, 100_000).await;
    one_day.refused(422, "COUNTERPARTY_REQUIREMENTS_NOT_MET");
    assert_eq!(
        one_day.body["error"]["details"],
        json!({"min_account_age_days": {"required": 2, "actual": 1}})
    );
    app.clock.advance_ms(DAY_MS);
    app.take(&seller, demanding, 100_000).await.expect(201);
    deposit(&app, &seller, selling).await.expect(201);
    app.assert_audit().await;
}

on_both_stores!(a_traders_listing_marks_and_filters_what_they_may_take);
async fn a_traders_listing_marks_and_filters_what_they_may_take(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let first = app.buy_ad(&maker, json!({"price": 9_600})).await;
    let second = app.buy_ad(&maker, json!({"price": 9_500})).await;
    let newcomer = app.player("newcomer", 0).await;

    // No ad asks anything: every ad is eligible; anonymous listings carry no mark.
    let anonymous = listing(&app, None, "").await;
    assert_eq!(
        marks(&anonymous),
        [(first, json!(null)), (second, json!(null))]
    );
    let mine = listing(&app, Some(&newcomer.token), "").await;
    assert_eq!(marks(&mine), [(first, json!(true)), (second, json!(true))]);

    // The maker asks for five completed orders on the first ad.
    let asks = json!({"requirements": {"min_completed_orders": 5}});
    let path = format!("/api/v1/p2p/ads/{first}");
    let patched = app.patch(&path, Some(&maker.token), asks).await.expect(200);
    assert_eq!(patched["requirements"]["min_completed_orders"], 5);
    assert_eq!(patched["requirements"]["min_account_age_days"], json!(null));
    let mine = listing(&app, Some(&newcomer.token), "").await;
    assert_eq!(marks(&mine), [(first, json!(false)), (second, json!(true))]);
    assert_eq!(mine["total"], 2);
    let eligible = listing(&app, Some(&newcomer.token), "&eligible_only=true").await;
    assert_eq!(marks(&eligible), [(second, json!(true))]);
    assert_eq!(eligible["total"], 1);
    let all = listing(&app, Some(&newcomer.token), "&eligible_only=false").await;
    assert_eq!(item_ids(&all), [first, second]);
    // Anonymous listings are unchanged, whatever they ask.
    let anonymous = listing(&app, None, "&eligible_only=true").await;
    assert_eq!(
        marks(&anonymous),
        [(first, json!(null)), (second, json!(null))]
    );
    // The maker's own figures meet nothing either: no completed order.
    let makers = listing(&app, Some(&maker.token), "").await;
    assert_eq!(
        marks(&makers),
        [(first, json!(false)), (second, json!(true))]
    );

    // A patch replaces the whole set: `{}` asks nothing again; leaving it out keeps it.
    let path_body = |body| app.patch(&path, Some(&maker.token), body);
    path_body(json!({"requirements": {"min_account_age_days": 1}}))
        .await
        .expect(200);
    let kept = path_body(json!({"terms": "new terms"})).await.expect(200);
    assert_eq!(
        kept["requirements"],
        json!({"min_completed_orders": null, "min_account_age_days": 1, "min_completion_rate_bp": null})
    );
    path_body(json!({"requirements": {}})).await.expect(200);
    let mine = listing(&app, Some(&newcomer.token), "&eligible_only=true").await;
    assert_eq!(marks(&mine), [(first, json!(true)), (second, json!(true))]);
}

on_both_stores!(requirements_out_of_range_or_malformed_are_refused);
async fn requirements_out_of_range_or_malformed_are_refused(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let ad = app.buy_ad(&maker, json!({})).await;
    let base = json!({
        "type": "buy", "fiat_currency": "RUB", "price": 9550, "min_amount": 100_000,
        "max_amount": 1_000_000, "total_amount": 5_000_000, "payment_methods": ["card"],
    });
    for requirements in [
        json!({"min_completion_rate_bp": 10_001}),
        json!({"min_completed_orders": -1}),
        json!({"min_account_age_days": 3_651}),
        json!({"min_account_age_days": "2"}),
        json!({"min_rating": 4}),
        json!([1, 2]),
    ] {
        let mut body = base.clone();
        body["requirements"] = requirements.clone();
        app.post("/api/v1/p2p/ads", Some(&maker.token), body)
            .await
            .refused(400, "VALIDATION_ERROR");
        let patch = json!({"requirements": requirements});
        app.patch(&format!("/api/v1/p2p/ads/{ad}"), Some(&maker.token), patch)
            .await
            .refused(400, "VALIDATION_ERROR");
    }
    app.get("/api/v1/p2p/ads?eligible_only=yes", Some(&maker.token))
        .await
        .refused(400, "VALIDATION_ERROR");
    let mut bounds = base.clone();
    bounds["requirements"] = json!({
        "min_completed_orders": 1_000_000, "min_account_age_days": 3_650,
        "min_completion_rate_bp": 10_000,
    });
    app.post("/api/v1/p2p/ads", Some(&maker.token), bounds)
        .await
        .expect(201);
}
