//! Every route's authorisation: owner, counterparty, stranger, operator, anonymous, admin.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN, Backend, TestApp, User, spawn_app_on};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    Buyer,
    Seller,
    Stranger,
    Operator,
    Anonymous,
    Admin,
    UnknownToken,
}

use Who::*;

struct Cast {
    maker: User,
    stranger: User,
    operator: User,
    ad_id: i64,
}

/// A fresh withdrawal order (a new seller each time) brought to `status`.
async fn order_in(app: &TestApp, cast: &Cast, status: &str) -> (i64, User) {
    let seller = app.player("seller", 1_000_000).await;
    let id = app.take(&seller, cast.ad_id, 100_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    if status != "pending" {
        app.step(&cast.maker, id, "confirm-paid").await.expect(200);
    }
    match status {
        "disputed" => {
            app.step(&seller, id, "call-operator").await.expect(200);
        }
        "completed" => {
            app.step(&seller, id, "confirm-received").await.expect(200);
        }
        _ => {}
    }
    (id, seller)
}

fn token<'a>(who: Who, cast: &'a Cast, seller: &'a User) -> Option<&'a str> {
    match who {
        Buyer => Some(&cast.maker.token),
        Seller => Some(&seller.token),
        Stranger => Some(&cast.stranger.token),
        Operator => Some(&cast.operator.token),
        Admin => Some(ADMIN),
        UnknownToken => Some("p2p_not_a_token"),
        Anonymous => None,
    }
}

/// A route on an order: its name, method, path after the order, the status the order must be
/// in for the permitted callers to succeed, and the expected status for each caller.
type OrderRoute = (
    &'static str,
    Method,
    &'static str,
    &'static str,
    &'static [(Who, u16)],
);

const ORDER_ROUTES: &[OrderRoute] = &[
    (
        "read",
        Method::GET,
        "",
        "pending",
        &[
            (Buyer, 200),
            (Seller, 200),
            (Operator, 200),
            (Stranger, 404),
            (Anonymous, 401),
            (Admin, 403),
            (UnknownToken, 401),
        ],
    ),
    (
        "update details",
        Method::PATCH,
        "",
        "pending",
        &[
            (Seller, 200),
            (Buyer, 403),
            (Operator, 403),
            (Stranger, 404),
            (Anonymous, 401),
            (Admin, 403),
        ],
    ),
    (
        "confirm paid",
        Method::POST,
        "/confirm-paid",
        "pending",
        &[
            (Buyer, 200),
            (Seller, 403),
            (Operator, 403),
            (Stranger, 404),
            (Anonymous, 401),
            (Admin, 403),
        ],
    ),
    (
        "confirm received",
        Method::POST,
        "/confirm-received",
        "paid_by_buyer",
        &[
            (Seller, 200),
            (Buyer, 403),
            (Operator, 403),
            (Stranger, 404),
            (Anonymous, 401),
            (Admin, 403),
        ],
    ),
    (
        "cancel",
        Method::POST,
        "/cancel",
        "pending",
        &[
            (Buyer, 200),
            (Seller, 200),
            (Operator, 403),
            (Stranger, 404),
            (Anonymous, 401),
            (Admin, 403),
        ],
    ),
    (
        "call operator",
        Method::POST,
        "/call-operator",
        "paid_by_buyer",
        &[
            (Buyer, 200),
            (Seller, 200),
            (Operator, 403),
            (Stranger, 404),
            (Anonymous, 401),
            (Admin, 403),
        ],
    ),
    (
        "post message",
        Method::POST,
        "/messages",
        "pending",
        &[
            (Buyer, 201),
            (Seller, 201),
            (Operator, 201),
            (Stranger, 404),
            (Anonymous, 401),
            (Admin, 403),
        ],
    ),
    (
        "read messages",
        Method::GET,
        "/messages",
        "pending",
        &[
            (Buyer, 200),
            (Seller, 200),
            (Operator, 200),
            (Stranger, 404),
            (Anonymous, 401),
            (Admin, 403),
        ],
    ),
    (
        "rate",
        Method::POST,
        "/rate",
        "completed",
        &[
            (Buyer, 201),
            (Seller, 201),
            (Operator, 403),
            (Stranger, 404),
            (Anonymous, 401),
            (Admin, 403),
        ],
    ),
];

fn body_for(suffix: &str) -> Option<Value> {
    match suffix {
        "" => Some(json!({"payment_details": {"card_number": "2200 1111 2222 3333"}})),
        "/messages" => Some(json!({"message": "hello"})),
        "/rate" => Some(json!({"rating": 5})),
        _ => Some(json!({})),
    }
}

on_both_stores!(order_routes_admit_only_their_parties_and_operators);
async fn order_routes_admit_only_their_parties_and_operators(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let ad_id = app
        .buy_ad(&maker, json!({"total_amount": 10_000_000}))
        .await;
    let cast = Cast {
        maker,
        stranger: app.player("stranger", 1_000_000).await,
        operator: app.operator().await,
        ad_id,
    };
    for (name, method, suffix, status, cases) in ORDER_ROUTES {
        for (who, expected) in cases.iter() {
            let (id, seller) = order_in(&app, &cast, status).await;
            let path = format!("/api/v1/p2p/orders/{id}{suffix}");
            let body = if *method == Method::GET {
                None
            } else {
                body_for(suffix)
            };
            let answer = app
                .call(method.clone(), &path, token(*who, &cast, &seller), body)
                .await;
            assert_eq!(
                answer.status.as_u16(),
                *expected,
                "{name} by {who:?}: {}",
                answer.body
            );
            // A stranger never learns that the order exists; its answer equals a missing order's.
            if *who == Stranger {
                let missing = app
                    .call(
                        method.clone(),
                        &format!("/api/v1/p2p/orders/999999{suffix}"),
                        Some(&cast.stranger.token),
                        body_for(suffix),
                    )
                    .await;
                assert_eq!(answer.body, missing.body);
            }
        }
    }
    app.assert_audit().await;
}

on_both_stores!(operator_routes_admit_only_operators);
async fn operator_routes_admit_only_operators(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let ad_id = app
        .buy_ad(&maker, json!({"total_amount": 10_000_000}))
        .await;
    let cast = Cast {
        maker,
        stranger: app.player("stranger", 0).await,
        operator: app.operator().await,
        ad_id,
    };
    for (who, expected) in [
        (Operator, 200),
        (Buyer, 403),
        (Seller, 403),
        (Stranger, 403),
        (Anonymous, 401),
        (Admin, 403),
    ] {
        let (id, seller) = order_in(&app, &cast, "disputed").await;
        let answer = app
            .post(
                &format!("/api/v1/operator/orders/{id}/resolve"),
                token(who, &cast, &seller),
                json!({"resolution": "refund"}),
            )
            .await;
        assert_eq!(
            answer.status.as_u16(),
            expected,
            "resolve by {who:?}: {}",
            answer.body
        );
        let list = app
            .get("/api/v1/operator/disputes", token(who, &cast, &seller))
            .await;
        assert_eq!(list.status.as_u16(), expected, "disputes by {who:?}");
    }
    app.assert_audit().await;
}

on_both_stores!(ad_routes_admit_their_maker_for_changes_and_anyone_for_reads);
async fn ad_routes_admit_their_maker_for_changes_and_anyone_for_reads(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let owner = app.player("owner", 0).await;
    let other = app.player("other", 0).await;
    let operator = app.operator().await;
    let ad_body = json!({"type": "buy", "fiat_currency": "RUB", "price": 9550, "min_amount": 100_000,
                         "max_amount": 1_000_000, "total_amount": 5_000_000, "payment_methods": ["card"]});
    for (who, token, expected) in [
        ("user", Some(owner.token.as_str()), 201),
        ("operator", Some(operator.token.as_str()), 403),
        ("admin", Some(ADMIN), 403),
        ("anonymous", None, 401),
    ] {
        let answer = app.post("/api/v1/p2p/ads", token, ad_body.clone()).await;
        assert_eq!(
            answer.status.as_u16(),
            expected,
            "create by {who}: {}",
            answer.body
        );
    }
    let ad_id = app.buy_ad(&owner, json!({})).await;
    for (route, method, body) in [
        (
            format!("/api/v1/p2p/ads/{ad_id}"),
            Method::PATCH,
            Some(json!({"price": 9700})),
        ),
        (
            format!("/api/v1/p2p/ads/{ad_id}/close"),
            Method::POST,
            Some(json!({})),
        ),
    ] {
        for (who, token, expected) in [
            ("other user", Some(other.token.as_str()), 403),
            ("operator", Some(operator.token.as_str()), 403),
            ("admin", Some(ADMIN), 403),
            ("anonymous", None, 401),
            ("owner", Some(owner.token.as_str()), 200),
        ] {
            let answer = app.call(method.clone(), &route, token, body.clone()).await;
            assert_eq!(
                answer.status.as_u16(),
                expected,
                "{route} by {who}: {}",
                answer.body
            );
        }
    }
    for path in [
        "/api/v1/p2p/ads?type=buy".to_string(),
        format!("/api/v1/p2p/ads/{ad_id}"),
        format!("/api/v1/users/{}", owner.id),
        "/health".into(),
        "/ready".into(),
    ] {
        app.get(&path, None).await.expect(200);
    }
    let metrics = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status().as_u16(), 200);
}

on_both_stores!(account_and_admin_routes_admit_their_callers);
async fn account_and_admin_routes_admit_their_callers(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let user = app.player("user", 0).await;
    let operator = app.operator().await;
    let cases: [(&str, Option<&str>, u16); 5] = [
        ("user", Some(&user.token), 200),
        ("operator", Some(&operator.token), 200),
        ("admin", Some(ADMIN), 403),
        ("anonymous", None, 401),
        ("unknown token", Some("nope"), 401),
    ];
    for (who, token, expected) in cases {
        assert_eq!(
            app.get("/api/v1/me", token).await.status.as_u16(),
            expected,
            "/me by {who}"
        );
        assert_eq!(
            app.get("/api/v1/p2p/orders", token).await.status.as_u16(),
            expected,
            "/orders by {who}"
        );
    }
    let me = app
        .get("/api/v1/me", Some(&operator.token))
        .await
        .expect(200);
    assert_eq!(me["role"], json!("operator"));
    let admin_calls = [
        (
            Method::POST,
            "/api/v1/admin/users".to_string(),
            Some(json!({"name": "new"})),
            201,
        ),
        (
            Method::POST,
            format!("/api/v1/admin/users/{}/transactions", user.id),
            Some(json!({"kind": "deposit", "amount": 5, "reference": "authz"})),
            201,
        ),
        (Method::GET, "/api/v1/admin/audit".to_string(), None, 200),
    ];
    for (method, path, body, success) in admin_calls {
        for (who, token, expected) in [
            ("user", Some(user.token.as_str()), 403),
            ("operator", Some(operator.token.as_str()), 403),
            ("anonymous", None, 401),
            ("admin", Some(ADMIN), success),
        ] {
            let answer = app.call(method.clone(), &path, token, body.clone()).await;
            assert_eq!(
                answer.status.as_u16(),
                expected,
                "{path} by {who}: {}",
                answer.body
            );
        }
    }
    // Operators do not trade.
    app.post(
        "/api/v1/p2p/orders",
        Some(&operator.token),
        json!({"ad_id": 1, "usdt_amount": 100_000, "payment_method": "card"}),
    )
    .await
    .refused(403, "FORBIDDEN");
}

on_both_stores!(payment_details_stay_with_the_parties);
/// Payment details are shown only to the parties and operators: listings and public profiles
/// never carry them.
async fn payment_details_stay_with_the_parties(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 5_000_000).await;
    let sell_ad = app.sell_ad(&maker, json!({})).await;
    let listed = app
        .get("/api/v1/p2p/ads?type=sell", None)
        .await
        .expect(200)
        .to_string();
    let single = app.ad_json(sell_ad).await.to_string();
    for public in [listed, single] {
        assert!(
            !public.contains("2200 7000"),
            "a card number leaked: {public}"
        );
        assert!(
            !public.contains("payment_details"),
            "payment details leaked: {public}"
        );
    }
}
