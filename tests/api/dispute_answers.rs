//! The answer deadline: the party a dispute was opened against has `P2P_DISPUTE_ANSWER_SECS` to
//! answer in the order's chat; the desk sees whom each dispute waits on, and since when.

use serde_json::{Value, json};

use crate::helpers::{Backend, eventually, spawn_app_on, time_of};

fn answering(order: &Value) -> bool {
    order["allowed_actions"]
        .as_array()
        .unwrap()
        .contains(&json!("answer_dispute"))
}

on_both_stores!(a_dispute_waits_on_the_other_party_then_on_the_desk);
async fn a_dispute_waits_on_the_other_party_then_on_the_desk(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let seller = app.player("seller", 1_000_000).await;
    let operator = app.operator().await;
    let ad_id = app.buy_ad(&maker, json!({})).await;
    let order_id = app.paid_order(&maker, &seller, ad_id, 200_000).await;

    // The seller disputes: the buyer has 12 hours (the default) to answer.
    let disputed = app
        .post(
            &format!("/api/v1/p2p/orders/{order_id}/call-operator"),
            Some(&seller.token),
            json!({"reason": "nothing arrived"}),
        )
        .await
        .expect(200);
    let dispute = &disputed["dispute"];
    assert_eq!(
        time_of(&dispute["answer_due_at"]) - time_of(&dispute["opened_at"]),
        12 * 3600 * 1000
    );
    assert_eq!(dispute["answered_at"], Value::Null);
    assert_eq!(dispute["waiting_on"], "buyer");
    assert_eq!(dispute["waiting_since"], dispute["opened_at"]);
    assert!(answering(&app.order(&maker, order_id).await));
    assert!(!answering(&disputed), "the opener does not answer");

    // Neither the opener's nor an operator's words answer it.
    app.say(&seller, order_id, "still nothing").await;
    app.say(&operator, order_id, "buyer, your receipt please")
        .await;
    let queue = app
        .get(
            "/api/v1/operator/disputes?status=open",
            Some(&operator.token),
        )
        .await
        .expect(200);
    assert_eq!(queue["items"][0]["dispute"]["waiting_on"], "buyer");

    // The buyer's first word does; the dispute now waits on the desk.
    app.say(&maker, order_id, "receipt attached below").await;
    let answered = app.order(&maker, order_id).await;
    assert!(answered["dispute"]["answered_at"].is_string());
    assert_eq!(answered["dispute"]["waiting_on"], "operator");
    assert_eq!(
        answered["dispute"]["waiting_since"],
        answered["dispute"]["answered_at"]
    );
    assert!(!answering(&answered));
    let first_answer = answered["dispute"]["answered_at"].clone();
    app.say(&maker, order_id, "and another").await;
    assert_eq!(
        app.order(&seller, order_id).await["dispute"]["answered_at"],
        first_answer,
        "the first answer counts"
    );
    let queue = app
        .get(
            "/api/v1/operator/disputes?status=open",
            Some(&operator.token),
        )
        .await
        .expect(200);
    assert_eq!(queue["items"][0]["dispute"]["waiting_on"], "operator");

    // Resolved, it waits on no one, and keeps its answer.
    let resolved = app
        .post(
            &format!("/api/v1/operator/orders/{order_id}/resolve"),
            Some(&operator.token),
            json!({"resolution": "release"}),
        )
        .await
        .expect(200);
    assert_eq!(resolved["dispute"]["waiting_on"], Value::Null);
    assert_eq!(resolved["dispute"]["answered_at"], first_answer);
    app.assert_audit().await;
}

on_both_stores!(a_dispute_the_service_opened_waits_on_the_seller);
async fn a_dispute_the_service_opened_waits_on_the_seller(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let seller = app.player("seller", 1_000_000).await;
    let ad_id = app
        .buy_ad(&maker, json!({"release_window_seconds": 1}))
        .await;
    let order_id = app.paid_order(&maker, &seller, ad_id, 200_000).await;
    let disputed = eventually(4, || async {
        app.order(&seller, order_id).await["status"] == "disputed"
    })
    .await;
    assert!(disputed);
    let order = app.order(&seller, order_id).await;
    assert_eq!(order["dispute"]["waiting_on"], "seller");
    assert!(answering(&order));
    assert!(!answering(&app.order(&maker, order_id).await));
    app.say(&seller, order_id, "checking my bank").await;
    assert_eq!(
        app.order(&maker, order_id).await["dispute"]["waiting_on"],
        "operator"
    );
}
