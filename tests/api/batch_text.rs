//! Text a batch writes in its multi-row statements (on PostgreSQL, each column as one array's
//! text) comes back as it was sent: quotes, backslashes, braces, commas, the word `NULL`,
//! line breaks and letters beyond ASCII, read back from the database after a restart.

use serde_json::{Value, json};

use crate::helpers::{Backend, spawn_app_on};

/// Every character an array's text treats specially.
const AWKWARD: &str = "a \"quoted\" \\back\\slash\\, {braces}, NULL, 'single' ;\nline two\tü€😀";

on_both_stores!(awkward_text_survives_the_batch_statements);
async fn awkward_text_survives_the_batch_statements(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let seller = app.player("seller", 1_000_000).await;
    let operator = app.operator().await;
    let ad_id = app.buy_ad(&maker, json!({})).await;

    // Three orders of one seller, one after another: a dispute's reason and the desk's note are
    // written by the order claims, each reason also by its event.
    let texts = [AWKWARD, "NULL", ""];
    let mut orders = Vec::new();
    for text in texts {
        let order_id = app.paid_order(&maker, &seller, ad_id, 100_000).await;
        app.post(
            &format!("/api/v1/p2p/orders/{order_id}/call-operator"),
            Some(&seller.token),
            json!({"reason": text}),
        )
        .await
        .expect(200);
        app.post(
            &format!("/api/v1/operator/orders/{order_id}/resolve"),
            Some(&operator.token),
            json!({"resolution": "refund", "note": text}),
        )
        .await
        .expect(200);
        orders.push(order_id);
    }

    let app = app.restart().await;
    for (order_id, text) in orders.into_iter().zip(texts) {
        let order = app.order(&seller, order_id).await;
        let dispute = &order["dispute"];
        // An empty reason is no reason; any other comes back whole.
        let expected = if text.is_empty() {
            Value::Null
        } else {
            json!(text)
        };
        assert_eq!(
            dispute["reason"], expected,
            "the reason of order {order_id}"
        );
        assert_eq!(dispute["note"], expected, "the note of order {order_id}");
        let history = app
            .get(
                &format!("/api/v1/p2p/orders/{order_id}/history"),
                Some(&seller.token),
            )
            .await
            .expect(200);
        let disputed = history["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|step| step["event"] == "order.disputed")
            .expect("the dispute is in the history");
        assert_eq!(
            disputed["reason"], expected,
            "the event of order {order_id}"
        );
    }
}
