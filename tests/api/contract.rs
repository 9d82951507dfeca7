//! The API contract, exact: what the OpenAPI document promises is what the service does, on
//! both stores. One test per kind of defect a client generated from the document would meet.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN, Backend, spawn_app_on};

/// A known path asked with a method it does not serve is `405 METHOD_NOT_ALLOWED` with `Allow`;
/// an unknown path is still `404`.
async fn unserved_methods_are_405_with_allow(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let user = app.player("caller", 0).await;
    for (path, allowed) in [
        ("/health", "GET,HEAD"),
        ("/metrics", "GET,HEAD"),
        ("/ready", "GET,HEAD"),
        ("/api/v1/p2p/ads", "GET,HEAD,POST"),
        ("/api/v1/p2p/orders", "GET,HEAD,POST"),
        ("/api/v1/me", "GET,HEAD"),
        ("/api/v1/me/blocks", "GET,HEAD"),
        ("/api/v1/admin/users", "POST"),
        ("/api/v1/admin/webhooks", "GET,HEAD,POST"),
        ("/api/v1/operator/disputes", "GET,HEAD"),
        ("/api/v1/p2p/orders/1/confirm-paid", "POST"),
    ] {
        for method in ["TRACE", "PUT", "OPTIONS", "DELETE"] {
            if allowed.contains(method) {
                continue;
            }
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let response = app
                .client
                .request(method.clone(), format!("{}{path}", app.address))
                .bearer_auth(&user.token)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 405, "{method} {path}");
            let allow = response.headers()["allow"].to_str().unwrap().to_string();
            let body: Value = response.json().await.unwrap();
            assert_eq!(
                body["error"]["code"], "METHOD_NOT_ALLOWED",
                "{method} {path}"
            );
            assert_eq!(allow, allowed, "{method} {path}");
        }
    }
    app.call(Method::TRACE, "/nowhere", None, None)
        .await
        .refused(404, "NOT_FOUND");
}
on_both_stores!(unserved_methods_are_405_with_allow);

/// The bounds the document states are the bounds the service enforces: the edge of each is
/// accepted, one past it refused, and a whole number may be written `5.0`, as JSON Schema
/// counts it.
async fn what_the_document_allows_is_accepted(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let document = app.get("/api/v1/openapi.json", None).await.expect(200);
    let limit = parameter(&document, "/api/v1/p2p/ads", "get", "limit");
    assert_eq!(
        (limit["minimum"].as_i64(), limit["maximum"].as_i64()),
        (Some(1), Some(100))
    );
    let sort = parameter(&document, "/api/v1/p2p/ads", "get", "sort_by");
    assert_eq!(
        sort["enum"],
        json!(["best_price", "rating", "orders_count", "completion_rate"])
    );
    for accepted in [
        "limit=1",
        "limit=100",
        "limit=5.0",
        "offset=0",
        "sort_by=rating",
        "amount=1",
    ] {
        app.get(&format!("/api/v1/p2p/ads?{accepted}"), None)
            .await
            .expect(200);
    }
    for refused in [
        "limit=0",
        "limit=101",
        "limit=1.5",
        "offset=-1",
        "sort_by=",
        "amount=0",
        "type=BUY",
    ] {
        app.get(&format!("/api/v1/p2p/ads?{refused}"), None)
            .await
            .refused(400, "VALIDATION_ERROR");
    }
    // Whole numbers written with a zero fraction, in every kind of body.
    let maker = app.player("maker", 0).await;
    let seller = app.player("seller", 10_000_000).await;
    let ad = app
        .post(
            "/api/v1/p2p/ads",
            Some(&maker.token),
            json!({"type": "buy", "fiat_currency": "RUB", "price": 9550.0, "min_amount": 100000.0,
                   "max_amount": 1e6, "total_amount": 5000000, "payment_methods": ["card"],
                   "payment_window_seconds": 900.0}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    app.patch(
        &format!("/api/v1/p2p/ads/{ad}"),
        Some(&maker.token),
        json!({"max_amount": 2000000.0}),
    )
    .await
    .expect(200);
    let order = app
        .post(
            "/api/v1/p2p/orders",
            Some(&seller.token),
            json!({"ad_id": (ad as f64), "usdt_amount": 100000.0, "payment_method": "card",
                   "payment_details": {"card_number": "2200 1234 5678 9012"}}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    app.step(&maker, order, "confirm-paid").await.expect(200);
    app.step(&seller, order, "confirm-received")
        .await
        .expect(200);
    app.post(
        &format!("/api/v1/p2p/orders/{order}/rate"),
        Some(&seller.token),
        json!({"rating": 5.0}),
    )
    .await
    .expect(201);
    let messages = app
        .get(
            &format!("/api/v1/p2p/orders/{order}/messages?after_id=0&limit=100"),
            Some(&seller.token),
        )
        .await
        .expect(200);
    assert!(messages["items"].is_array());
    // Each field within its bounds, together not: a refusal of the market, not of the body.
    app.patch(
        &format!("/api/v1/p2p/ads/{ad}"),
        Some(&maker.token),
        json!({"min_amount": 3_000_000}),
    )
    .await
    .refused(422, "INVALID_AMOUNT_LIMITS");
    app.post(
        &format!("/api/v1/users/{}/block", maker.id),
        Some(&maker.token),
        json!({}),
    )
    .await
    .refused(422, "CANNOT_BLOCK_SELF");
    app.assert_audit().await;
}
on_both_stores!(what_the_document_allows_is_accepted);

fn parameter<'a>(document: &'a Value, path: &str, method: &str, name: &str) -> &'a Value {
    document["paths"][path][method]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .map(|p| &p["schema"])
        .unwrap_or_else(|| panic!("{method} {path} has no parameter {name}"))
}

/// Every input the document describes is bounded: each integer has a minimum and a maximum,
/// each string a pattern or an enum, each array a size, each object a closed set of fields or
/// a bounded map. What the document leaves open, a generated client cannot check.
async fn every_input_of_the_document_is_bounded(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let document = app.get("/api/v1/openapi.json", None).await.expect(200);
    let mut open = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let at = format!("{method} {path}");
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                if parameter["in"] == "path" {
                    continue;
                }
                let name = parameter["name"].as_str().unwrap();
                bounded(
                    &document,
                    &parameter["schema"],
                    &format!("{at} ?{name}"),
                    &mut open,
                );
            }
            if let Some(body) =
                operation["requestBody"]["content"]["application/json"].get("schema")
            {
                bounded(&document, body, &format!("{at} body"), &mut open);
            }
        }
    }
    assert!(
        open.is_empty(),
        "inputs the document leaves unbounded: {open:#?}"
    );
}
on_both_stores!(every_input_of_the_document_is_bounded);

fn bounded(document: &Value, schema: &Value, at: &str, open: &mut Vec<String>) {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap();
        return bounded(document, &document["components"]["schemas"][name], at, open);
    }
    if let Some(alternatives) = schema["oneOf"].as_array() {
        for alternative in alternatives {
            bounded(document, alternative, at, open);
        }
        return;
    }
    match schema["type"].as_str() {
        Some("null") | Some("boolean") => {}
        Some("integer") => {
            if schema["minimum"].is_null() || schema["maximum"].is_null() {
                open.push(format!("{at}: an integer without bounds"));
            }
        }
        Some("string") => {
            if schema["pattern"].is_null() && schema["enum"].is_null() {
                open.push(format!("{at}: a string without a pattern"));
            }
        }
        Some("array") => {
            if schema["maxItems"].is_null() {
                open.push(format!("{at}: an array without a size"));
            }
            bounded(document, &schema["items"], &format!("{at}[]"), open);
        }
        Some("object") => {
            let properties = schema["properties"].as_object();
            for (name, property) in properties.into_iter().flatten() {
                bounded(document, property, &format!("{at}.{name}"), open);
            }
            match &schema["additionalProperties"] {
                Value::Bool(false) => {}
                Value::Object(_) if !schema["maxProperties"].is_null() => {
                    bounded(
                        document,
                        &schema["propertyNames"],
                        &format!("{at} names"),
                        open,
                    );
                    bounded(
                        document,
                        &schema["additionalProperties"],
                        &format!("{at}.*"),
                        open,
                    );
                }
                _ => open.push(format!("{at}: an object open to any field")),
            }
        }
        other => open.push(format!("{at}: a value of type {other:?}")),
    }
}

/// A body is a JSON object: serde would read a struct from an array of its fields in order, so
/// arrays (and every other kind of value) are refused before anything is made of them.
async fn bodies_that_are_not_objects_are_refused(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let seller = app.player("seller", 10_000_000).await;
    let ad = app.buy_ad(&maker, json!({})).await;
    let order = app.take(&seller, ad, 100_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    let refused = |answer: crate::helpers::Answer| {
        answer.refused(400, "VALIDATION_ERROR");
        let message = answer.body["error"]["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(message.contains("JSON object"), "{message}");
    };
    refused(
        app.post(
            "/api/v1/p2p/orders",
            Some(&seller.token),
            json!([ad, 100000, "card", {"card_number": "2200 1234 5678 9012"}]),
        )
        .await,
    );
    refused(
        app.post(
            "/api/v1/admin/users",
            Some(ADMIN),
            json!(["arrayman", "operator"]),
        )
        .await,
    );
    refused(
        app.post(
            &format!("/api/v1/p2p/orders/{order}/messages"),
            Some(&seller.token),
            json!(["hello"]),
        )
        .await,
    );
    for other in [json!("text"), json!(5), json!(true), json!(null)] {
        refused(app.post("/api/v1/admin/users", Some(ADMIN), other).await);
    }
    // Nothing was made of them: the seller still has one order, and the chat no "hello".
    let orders = app
        .get("/api/v1/p2p/orders", Some(&seller.token))
        .await
        .expect(200);
    assert_eq!(orders["total"], 1);
    let chat = app
        .get(
            &format!("/api/v1/p2p/orders/{order}/messages"),
            Some(&seller.token),
        )
        .await
        .expect(200);
    assert!(
        chat["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["message"] != "hello"),
        "{chat}"
    );
    // A required body may not be left out; an optional one may, or be null.
    app.call(
        Method::PATCH,
        &format!("/api/v1/p2p/ads/{ad}"),
        Some(&maker.token),
        None,
    )
    .await
    .refused(400, "VALIDATION_ERROR");
    app.step(&maker, order, "confirm-paid").await.expect(200);
    app.post(
        &format!("/api/v1/p2p/orders/{order}/call-operator"),
        Some(&seller.token),
        Value::Null,
    )
    .await
    .expect(200);
    app.assert_audit().await;
}
on_both_stores!(bodies_that_are_not_objects_are_refused);

/// No text may hold NUL (PostgreSQL's text cannot, SQLite's can): it is refused at the edge on
/// both stores alike, `400 VALIDATION_ERROR`, wherever it appears, and nothing is stored.
async fn nul_in_any_text_is_refused_on_both_stores(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let seller = app.player("seller", 10_000_000).await;
    let ad = app.buy_ad(&maker, json!({})).await;
    let order = app.take(&seller, ad, 100_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    let nul = "a\u{0}b";
    let ad_body = |terms: &str| {
        json!({"type": "buy", "fiat_currency": "RUB", "price": 9550, "min_amount": 100_000,
               "max_amount": 1_000_000, "total_amount": 5_000_000, "payment_methods": ["card"],
               "terms": terms})
    };
    let attempts = [
        ("/api/v1/p2p/ads", Some(&maker.token), ad_body(nul)),
        (
            "/api/v1/admin/users",
            Some(&ADMIN.to_string()),
            json!({"name": nul}),
        ),
        (
            &*format!("/api/v1/p2p/orders/{order}/messages"),
            Some(&seller.token),
            json!({"message": nul}),
        ),
        (
            "/api/v1/p2p/orders",
            Some(&seller.token),
            json!({"ad_id": ad, "usdt_amount": 100_000, "payment_method": "card",
                   "payment_details": {"bank": nul}}),
        ),
        (
            "/api/v1/p2p/orders",
            Some(&seller.token),
            json!({"ad_id": ad, "usdt_amount": 100_000, "payment_method": "card",
                   "payment_details": {nul: "Tinkoff"}}),
        ),
        (
            &*format!("/api/v1/admin/users/{}/transactions", seller.id),
            Some(&ADMIN.to_string()),
            json!({"kind": "deposit", "amount": 100, "reference": nul}),
        ),
        (
            "/api/v1/admin/webhooks",
            Some(&ADMIN.to_string()),
            json!({"url": "http://127.0.0.1:9/hook", "secret": format!("0123456789abcdef{nul}")}),
        ),
    ];
    for (path, token, body) in attempts {
        let answer = app
            .post(path, token.map(String::as_str), body.clone())
            .await;
        assert_eq!(
            (answer.status.as_u16(), answer.code()),
            (400, "VALIDATION_ERROR"),
            "POST {path} {body}: {}",
            answer.body
        );
    }
    app.patch(
        &format!("/api/v1/p2p/ads/{ad}"),
        Some(&maker.token),
        json!({"terms": nul}),
    )
    .await
    .refused(400, "VALIDATION_ERROR");
    app.patch(
        &format!("/api/v1/p2p/orders/{order}"),
        Some(&seller.token),
        json!({"payment_details": {"card_number": "2200 1234 5678 9012", "holder": nul}}),
    )
    .await
    .refused(400, "VALIDATION_ERROR");
    app.step(&maker, order, "confirm-paid").await.expect(200);
    app.post(
        &format!("/api/v1/p2p/orders/{order}/call-operator"),
        Some(&seller.token),
        json!({"reason": nul}),
    )
    .await
    .refused(400, "VALIDATION_ERROR");
    // The same texts without NUL go through: the refusal was for NUL alone.
    app.post(
        &format!("/api/v1/p2p/orders/{order}/messages"),
        Some(&seller.token),
        json!({"message": "ab"}),
    )
    .await
    .expect(201);
    app.post("/api/v1/p2p/ads", Some(&maker.token), ad_body("ab"))
        .await
        .expect(201);
    assert_eq!(app.get("/health", None).await.status.as_u16(), 200);
    app.assert_audit().await;
}
on_both_stores!(nul_in_any_text_is_refused_on_both_stores);

/// Inputs whose fate could depend on the store get one rule: lengths count characters (not
/// bytes) before trimming, numbers past `i64` are out of bounds, and text is kept as sent
/// (no Unicode normalisation on either store).
async fn lengths_numbers_and_unicode_have_one_rule(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    // 100 characters of 4 bytes each is a valid name; 101 characters is not.
    let emoji = "😀".repeat(100);
    app.post("/api/v1/admin/users", Some(ADMIN), json!({"name": emoji}))
        .await
        .expect(201);
    app.post(
        "/api/v1/admin/users",
        Some(ADMIN),
        json!({"name": format!("{emoji}😀")}),
    )
    .await
    .refused(400, "VALIDATION_ERROR");
    // Whitespace around a name counts toward its length, and is trimmed off what is kept.
    let padded = format!(" {} ", "n".repeat(99));
    app.post("/api/v1/admin/users", Some(ADMIN), json!({"name": padded}))
        .await
        .refused(400, "VALIDATION_ERROR");
    let user = app
        .post(
            "/api/v1/admin/users",
            Some(ADMIN),
            json!({"name": "  Анна  "}),
        )
        .await
        .expect(201);
    assert_eq!(user["name"], "Анна");
    // Two spellings of "é" (precomposed, and e + combining accent) stay two names.
    for name in ["caf\u{e9}", "cafe\u{301}"] {
        let created = app
            .post("/api/v1/admin/users", Some(ADMIN), json!({"name": name}))
            .await
            .expect(201);
        let id = created["id"].as_i64().unwrap();
        let public = app
            .get(&format!("/api/v1/users/{id}"), None)
            .await
            .expect(200);
        assert_eq!(public["name"], name);
    }
    // Numbers past i64, or past the largest amount, are out of bounds, not a store error.
    for amount in [
        json!(9_223_372_036_854_775_808u64),
        json!(1e19),
        json!(10_000_000_000_001i64),
    ] {
        let mut body = json!({"type": "buy", "fiat_currency": "RUB", "price": 9550, "min_amount": 100_000,
                              "max_amount": 1_000_000, "total_amount": 5_000_000, "payment_methods": ["card"]});
        body["total_amount"] = amount;
        app.post("/api/v1/p2p/ads", Some(&maker.token), body)
            .await
            .refused(400, "VALIDATION_ERROR");
    }
    // The largest offset reaches each store's SQL and pages past everything.
    let operator = app.operator().await;
    for (path, token) in [
        ("/api/v1/p2p/ads", None),
        ("/api/v1/p2p/orders", Some(maker.token.as_str())),
        ("/api/v1/operator/disputes", Some(operator.token.as_str())),
    ] {
        let page = app
            .get(
                &format!("{path}?offset=9223372036854775807&limit=100"),
                token,
            )
            .await
            .expect(200);
        assert_eq!(page["items"], json!([]), "{path}");
    }
    app.get("/api/v1/p2p/ads?offset=9223372036854775808", None)
        .await
        .refused(400, "VALIDATION_ERROR");
    app.assert_audit().await;
}
on_both_stores!(lengths_numbers_and_unicode_have_one_rule);

/// Chat lists after the last id the caller saw: any id from 0 up to the largest; not below.
async fn message_cursors_are_bounded(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let seller = app.player("seller", 10_000_000).await;
    let ad = app.buy_ad(&maker, json!({})).await;
    let order = app.take(&seller, ad, 100_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    for after in ["0", "9223372036854775807"] {
        app.get(
            &format!("/api/v1/p2p/orders/{order}/messages?after_id={after}"),
            Some(&seller.token),
        )
        .await
        .expect(200);
    }
    app.get(
        &format!("/api/v1/p2p/orders/{order}/messages?after_id=-1"),
        Some(&seller.token),
    )
    .await
    .refused(400, "VALIDATION_ERROR");
}
on_both_stores!(message_cursors_are_bounded);
