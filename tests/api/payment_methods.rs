//! Saved payment methods: kept per user (at most 20), masked in their list, named by orders and
//! sell ads instead of inline details.

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, User, spawn_app_on};

const PATH: &str = "/api/v1/me/payment-methods";

async fn save(app: &TestApp, user: &User, card: &str) -> crate::helpers::Answer {
    app.post(
        PATH,
        Some(&user.token),
        json!({"method": "card", "details": {"card_number": card, "holder": "I. Petrov"},
               "label": "salary card"}),
    )
    .await
}

fn take_saved(
    app: &TestApp,
    user: &User,
    ad: i64,
    saved: i64,
    method: &str,
) -> impl Future<Output = crate::helpers::Answer> {
    app.post(
        "/api/v1/p2p/orders",
        Some(&user.token),
        json!({"ad_id": ad, "usdt_amount": 100_000, "payment_method": method,
               "payment_method_id": saved}),
    )
}

on_both_stores!(a_saved_card_is_masked_in_its_list_and_whole_in_the_orders_that_name_it);
async fn a_saved_card_is_masked_in_its_list_and_whole_in_the_orders_that_name_it(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 3_000_000).await;
    let ad = app.buy_ad(&maker, json!({})).await;
    let player = app.player("player", 1_000_000).await;
    let stranger = app.player("stranger", 1_000_000).await;

    let saved = save(&app, &player, "2200 1234 5678 9012").await.expect(201);
    assert_eq!(
        saved["details"]["card_number"],
        json!("2200 **** **** 9012")
    );
    assert_eq!(saved["label"], json!("salary card"));
    let id = saved["id"].as_i64().unwrap();
    let list = app.get(PATH, Some(&player.token)).await.expect(200);
    assert_eq!(list["items"], json!([saved]));
    assert_eq!(
        app.get(PATH, Some(&stranger.token)).await.expect(200)["items"],
        json!([])
    );

    // An order that names it carries its whole details, to its parties.
    let order = take_saved(&app, &player, ad, id, "card").await.expect(201);
    let whole = json!({"card_number": "2200 1234 5678 9012", "holder": "I. Petrov"});
    assert_eq!(order["payment_details"], whole);
    let order_id = order["id"].as_i64().unwrap();
    assert_eq!(app.order(&maker, order_id).await["payment_details"], whole);

    // One or the other; someone else's, or one for another method, is not the taker's to name.
    app.post(
        "/api/v1/p2p/orders",
        Some(&player.token),
        json!({"ad_id": ad, "usdt_amount": 100_000, "payment_method": "card",
               "payment_method_id": id, "payment_details": {"card_number": "2200 0000 0000 0001"}}),
    )
    .await
    .refused(400, "VALIDATION_ERROR");
    take_saved(&app, &stranger, ad, id, "card")
        .await
        .refused(422, "INVALID_PAYMENT_METHOD");
    take_saved(&app, &player, ad, id, "sbp")
        .await
        .refused(422, "INVALID_PAYMENT_METHOD");

    // Deleted: no longer listed nor named; the order keeps what it copied.
    app.delete(&format!("{PATH}/{id}"), Some(&stranger.token))
        .await
        .refused(404, "NOT_FOUND");
    app.delete(&format!("{PATH}/{id}"), Some(&player.token))
        .await
        .expect(204);
    app.delete(&format!("{PATH}/{id}"), Some(&player.token))
        .await
        .refused(404, "NOT_FOUND");
    assert_eq!(
        app.get(PATH, Some(&player.token)).await.expect(200)["items"],
        json!([])
    );
    app.step(&player, order_id, "cancel").await.expect(200);
    take_saved(&app, &player, ad, id, "card")
        .await
        .refused(422, "INVALID_PAYMENT_METHOD");
    assert_eq!(app.order(&player, order_id).await["payment_details"], whole);
}

on_both_stores!(a_sell_ad_may_name_a_saved_method_and_its_deposits_carry_it);
async fn a_sell_ad_may_name_a_saved_method_and_its_deposits_carry_it(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 3_000_000).await;
    let buyer = app.player("buyer", 0).await;
    let id = save(&app, &maker, "2200-7777-8888-9999").await.expect(201)["id"]
        .as_i64()
        .unwrap();
    let ad = app
        .post(
            "/api/v1/p2p/ads",
            Some(&maker.token),
            json!({"type": "sell", "fiat_currency": "RUB", "price": 9550, "min_amount": 100_000,
                   "max_amount": 1_000_000, "total_amount": 1_000_000, "payment_methods": ["card"],
                   "payment_method_id": id}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    let order = app
        .post(
            "/api/v1/p2p/orders",
            Some(&buyer.token),
            json!({"ad_id": ad, "usdt_amount": 100_000, "payment_method": "card"}),
        )
        .await
        .expect(201);
    assert_eq!(
        order["payment_details"],
        json!({"card_number": "2200-7777-8888-9999", "holder": "I. Petrov"})
    );
    // A sell ad's other methods still need their details.
    app.post(
        "/api/v1/p2p/ads",
        Some(&maker.token),
        json!({"type": "sell", "fiat_currency": "RUB", "price": 9550, "min_amount": 100_000,
               "max_amount": 1_000_000, "total_amount": 1_000_000, "payment_methods": ["card", "sbp"],
               "payment_method_id": id}),
    )
    .await
    .refused(422, "PAYMENT_DETAILS_REQUIRED");
    app.assert_audit().await;
}

on_both_stores!(a_user_keeps_at_most_twenty_methods_with_details_checked_as_inline_ones);
async fn a_user_keeps_at_most_twenty_methods_with_details_checked_as_inline_ones(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let user = app.player("player", 0).await;
    for i in 0..20 {
        save(&app, &user, &format!("2200 0000 0000 {i:04}"))
            .await
            .expect(201);
    }
    save(&app, &user, "2200 0000 0000 9999")
        .await
        .refused(422, "PAYMENT_METHODS_LIMIT");
    let list: Value = app.get(PATH, Some(&user.token)).await.expect(200);
    let first = list["items"][0]["id"].as_i64().unwrap();
    app.delete(&format!("{PATH}/{first}"), Some(&user.token))
        .await
        .expect(204);
    save(&app, &user, "2200 0000 0000 9999").await.expect(201);
    // The same checks as inline details.
    save(&app, &user, "12ab")
        .await
        .refused(400, "VALIDATION_ERROR");
    let operator = app.operator().await;
    save(&app, &operator, "2200 0000 0000 1111")
        .await
        .refused(403, "FORBIDDEN");
}

on_both_stores!(the_document_says_a_body_takes_details_or_a_saved_method_not_both);
async fn the_document_says_a_body_takes_details_or_a_saved_method_not_both(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let document = app.get("/api/v1/openapi.json", None).await.expect(200);
    for body in ["CreateOrderBody", "CreateAdBody"] {
        let not = &document["components"]["schemas"][body]["not"];
        assert_eq!(
            not["required"],
            json!(["payment_details", "payment_method_id"]),
            "{body}: {not}"
        );
    }
    // A null is no value: details with a null id pass.
    let maker = app.player("maker", 3_000_000).await;
    let ad = app.buy_ad(&maker, json!({})).await;
    let player = app.player("player", 1_000_000).await;
    app.post(
        "/api/v1/p2p/orders",
        Some(&player.token),
        json!({"ad_id": ad, "usdt_amount": 100_000, "payment_method": "card",
               "payment_details": {"card_number": "2200 1234 5678 9012"}, "payment_method_id": null}),
    )
    .await
    .expect(201);
}
