//! The OpenAPI document, and the authorisation matrix generated from it: every route it lists,
//! called by each kind of caller. A route without a rule here fails the test, and so does an
//! answer the document does not list.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ADMIN, Backend, TestApp, User, spawn_app_on};

/// Who calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Anonymous,
    /// A user with no part in the resource.
    Stranger,
    /// The resource's owner: the maker of the ad, the party the action is for, the user named.
    Owner,
    /// The other party of the order (or another user).
    Counterparty,
    Operator,
    Admin,
}

const ROLES: [Role; 6] = [
    Role::Anonymous,
    Role::Stranger,
    Role::Operator,
    Role::Admin,
    Role::Counterparty,
    Role::Owner,
];

/// What a role hears: let through (any answer but 401, 403 and 404), or refused with a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Through,
    Refused(u16),
}

use Expect::{Refused, Through};

/// The rule of each route: what each role hears. `None`: the route has no rule.
fn rule(method: &str, path: &str, role: Role) -> Option<Expect> {
    use Role::*;
    let anyone = Through;
    let user_only = |role| match role {
        Anonymous => Refused(401),
        Operator | Admin => Refused(403),
        _ => Through,
    };
    let user_or_operator = |role| match role {
        Anonymous => Refused(401),
        Admin => Refused(403),
        _ => Through,
    };
    let admin_only = |role| match role {
        Anonymous => Refused(401),
        Admin => Through,
        _ => Refused(403),
    };
    let operator_only = |role| match role {
        Anonymous => Refused(401),
        Operator => Through,
        _ => Refused(403),
    };
    // The ad's maker only; other users and operators are forbidden.
    let maker_only = |role| match role {
        Anonymous => Refused(401),
        Owner => Through,
        _ => Refused(403),
    };
    // On an order: the owner acts; the other party is forbidden; strangers do not see it.
    let party_action = |role, other_party_may: bool| match role {
        Anonymous => Refused(401),
        Admin | Operator => Refused(403),
        Stranger => Refused(404),
        Owner => Through,
        Counterparty if other_party_may => Through,
        Counterparty => Refused(403),
    };
    // Reading an order, or its chat: the parties and operators.
    let order_reader = |role| match role {
        Anonymous => Refused(401),
        Admin => Refused(403),
        Stranger => Refused(404),
        _ => Through,
    };
    Some(match (method, path) {
        ("get", "/health" | "/ready" | "/metrics" | "/api/v1/openapi.json") => anyone,
        ("get", "/api/v1/p2p/ads" | "/api/v1/p2p/ads/{id}" | "/api/v1/users/{id}") => anyone,
        ("get", "/api/v1/p2p/index-prices") => anyone,
        ("get", "/api/v1/signing-key") => anyone,
        ("post", "/api/v1/p2p/ads") => user_only(role),
        ("patch", "/api/v1/p2p/ads/{id}") | ("post", "/api/v1/p2p/ads/{id}/close") => {
            maker_only(role)
        }
        ("post", "/api/v1/p2p/orders") => user_only(role),
        ("get", "/api/v1/p2p/orders") => user_or_operator(role),
        ("get", "/api/v1/p2p/orders/{id}")
        | ("get", "/api/v1/p2p/orders/{id}/history")
        | ("get", "/api/v1/p2p/orders/{id}/messages")
        | ("post", "/api/v1/p2p/orders/{id}/messages")
        | ("post", "/api/v1/p2p/orders/{id}/attachments")
        | ("get", "/api/v1/p2p/orders/{id}/attachments/{sha256}") => order_reader(role),
        ("patch", "/api/v1/p2p/orders/{id}")
        | ("post", "/api/v1/p2p/orders/{id}/confirm-received") => party_action(role, false),
        ("post", "/api/v1/p2p/orders/{id}/confirm-paid") => party_action(role, false),
        ("post", "/api/v1/p2p/orders/{id}/cancel")
        | ("post", "/api/v1/p2p/orders/{id}/call-operator")
        | ("post", "/api/v1/p2p/orders/{id}/rate") => party_action(role, true),
        ("get", "/api/v1/p2p/events") => user_or_operator(role),
        ("get", "/api/v1/me") => user_or_operator(role),
        ("get", "/api/v1/me/blocks") => user_only(role),
        ("get" | "post", "/api/v1/me/payment-methods") => user_only(role),
        ("delete", "/api/v1/me/payment-methods/{id}") => match role {
            // The owner's own: anyone else's is not found.
            Anonymous => Refused(401),
            Operator | Admin => Refused(403),
            Owner => Through,
            Stranger | Counterparty => Refused(404),
        },
        ("post" | "delete", "/api/v1/users/{id}/block") => user_only(role),
        ("get", "/api/v1/operator/disputes")
        | ("post", "/api/v1/operator/orders/{id}/resolve")
        | ("post", "/api/v1/operator/orders/{id}/approve")
        | ("get", "/api/v1/operator/orders/{id}/bundle")
        | ("post", "/api/v1/operator/orders/{id}/reject")
        | ("get", "/api/v1/operator/reviews")
        | ("post", "/api/v1/operator/orders/{id}/clear") => operator_only(role),
        ("post", "/api/v1/admin/users")
        | ("post", "/api/v1/admin/users/{id}/transactions")
        | ("get" | "post" | "delete", "/api/v1/admin/users/{id}/restrictions")
        | ("get", "/api/v1/admin/audit")
        | ("get" | "post", "/api/v1/admin/index-prices")
        | ("get" | "post", "/api/v1/admin/webhooks")
        | ("delete", "/api/v1/admin/webhooks/{id}") => admin_only(role),
        _ => return None,
    })
}

struct Fixture {
    maker: User,
    seller: User,
    stranger: User,
    target: User,
    operator: User,
    ad: i64,
    order: i64,
    webhook: i64,
    /// A payment method the seller saved.
    saved: i64,
    /// The SHA-256 of a file in the order's chat.
    attachment: String,
}

impl Fixture {
    /// The token of `role` for a route: the order's routes name their owner by the action.
    fn token(&self, role: Role, method: &str, path: &str) -> Option<String> {
        // The buyer (the maker of the buy ad) confirms payment; the seller everything else.
        let buyer_acts = path.ends_with("confirm-paid");
        let order_route = path.starts_with("/api/v1/p2p/orders/");
        let (owner, counterparty) = if order_route && buyer_acts {
            (&self.maker, &self.seller)
        } else if order_route {
            (&self.seller, &self.maker)
        } else if path.starts_with("/api/v1/p2p/ads/") {
            (&self.maker, &self.seller)
        } else {
            (&self.seller, &self.maker)
        };
        let _ = method;
        match role {
            Role::Anonymous => None,
            Role::Stranger => Some(self.stranger.token.clone()),
            Role::Owner => Some(owner.token.clone()),
            Role::Counterparty => Some(counterparty.token.clone()),
            Role::Operator => Some(self.operator.token.clone()),
            Role::Admin => Some(ADMIN.to_string()),
        }
    }

    /// The concrete path and a valid body for a route.
    fn request(&self, method: &str, path: &str) -> (String, Option<Value>) {
        let id = if path.starts_with("/api/v1/p2p/ads/") {
            self.ad
        } else if path.starts_with("/api/v1/p2p/orders/") || path.starts_with("/api/v1/operator/") {
            self.order
        } else if path.starts_with("/api/v1/admin/webhooks/") {
            self.webhook
        } else if path.starts_with("/api/v1/me/payment-methods/") {
            self.saved
        } else if (path.starts_with("/api/v1/users/") && path.ends_with("/block"))
            || path.ends_with("/restrictions")
        {
            // The target trades in no other route: its restriction changes nothing else here.
            self.target.id
        } else {
            self.seller.id
        };
        let concrete = path
            .replace("{id}", &id.to_string())
            .replace("{sha256}", &self.attachment);
        let body = match (method, path) {
            ("post", "/api/v1/p2p/ads") => Some(json!({
                "type": "buy", "fiat_currency": "RUB", "price": 9000, "min_amount": 100_000,
                "max_amount": 200_000, "total_amount": 1_000_000, "payment_methods": ["card"],
            })),
            ("patch", "/api/v1/p2p/ads/{id}") => Some(json!({"terms": "fast"})),
            ("post", "/api/v1/p2p/orders") => Some(json!({
                "ad_id": self.ad, "usdt_amount": 100_000, "payment_method": "card",
                "payment_details": {"card_number": "2200 1234 5678 9012"},
            })),
            ("patch", "/api/v1/p2p/orders/{id}") => {
                Some(json!({"payment_details": {"card_number": "2200 0000 0000 0002"}}))
            }
            ("post", "/api/v1/p2p/orders/{id}/messages") => Some(json!({"message": "hello"})),
            ("post", "/api/v1/p2p/orders/{id}/rate") => Some(json!({"rating": 5})),
            ("post", "/api/v1/operator/orders/{id}/resolve") => {
                Some(json!({"resolution": "refund"}))
            }
            ("post", "/api/v1/admin/users") => Some(json!({"name": "new"})),
            ("post", "/api/v1/admin/index-prices") => {
                Some(json!({"fiat_currency": "RUB", "price": 9000}))
            }
            ("post", "/api/v1/admin/users/{id}/transactions") => Some(json!({
                "kind": "deposit", "amount": 100, "reference": format!("matrix-{}", rand_suffix()),
            })),
            ("post", "/api/v1/me/payment-methods") => Some(json!({
                "method": "card", "details": {"card_number": "2200 0000 0000 0003"},
            })),
            ("post", "/api/v1/admin/users/{id}/restrictions") => Some(json!({
                "kind": "cool_off", "until": "2099-01-01T00:00:00Z",
            })),
            ("post", "/api/v1/admin/webhooks") => Some(json!({
                "url": "http://127.0.0.1:9/hook", "secret": "0123456789abcdef",
            })),
            ("post", _) | ("patch", _) => Some(json!({})),
            _ => None,
        };
        (concrete, body)
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

async fn fixture(app: &TestApp) -> Fixture {
    let maker = app.player("maker", 0).await;
    let seller = app.player("seller", 10_000_000).await;
    let ad = app.buy_ad(&maker, json!({})).await;
    let order = app.take(&seller, ad, 100_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    let webhook = app
        .post(
            "/api/v1/admin/webhooks",
            Some(ADMIN),
            json!({"url": "http://127.0.0.1:9/hook", "secret": "0123456789abcdef"}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    let saved = app
        .post(
            "/api/v1/me/payment-methods",
            Some(&seller.token),
            json!({"method": "card", "details": {"card_number": "2200 0000 0000 0004"}}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let attachment = app
        .client
        .post(format!(
            "{}/api/v1/p2p/orders/{order}/attachments",
            app.address
        ))
        .bearer_auth(&seller.token)
        .header("content-type", "image/png")
        .body(png)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    Fixture {
        attachment,
        saved,
        maker,
        seller,
        stranger: app.player("stranger", 10_000_000).await,
        target: app.player("target", 0).await,
        operator: app.operator().await,
        ad,
        order,
        webhook,
    }
}

async fn status_of(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> StatusCode {
    let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let mut request = app.client.request(method, format!("{}{path}", app.address));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    // The answer's head is enough (the event stream's body never ends).
    request.send().await.expect("the service answers").status()
}

async fn the_document_covers_every_route_and_each_obeys_its_rule(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let document = app.get("/api/v1/openapi.json", None).await.expect(200);
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(document["components"]["securitySchemes"]["bearer"].is_object());
    let f = fixture(&app).await;
    let mut checked = 0;
    let mut missing = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if !["get", "post", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let Some(_) = rule(method, path, Role::Anonymous) else {
                missing.push(format!("{method} {path}"));
                continue;
            };
            // Every operation documents its answers, errors as the common error body.
            let responses = operation["responses"].as_object().unwrap();
            assert!(responses.contains_key("503"), "{method} {path}");
            let secured = operation["security"]
                .as_array()
                .is_some_and(|s| !s.is_empty());
            assert_eq!(
                secured,
                rule(method, path, Role::Anonymous) == Some(Refused(401)),
                "{method} {path}: the document says whether a token is needed"
            );
            for role in ROLES {
                let expect = rule(method, path, role).unwrap();
                let (concrete, body) = f.request(method, path);
                let token = f.token(role, method, path);
                let status = status_of(&app, method, &concrete, token.as_deref(), body).await;
                // What a generated client can get is in the document.
                assert!(
                    responses.contains_key(status.as_str()),
                    "{method} {path} as {role:?}: {status} is not documented"
                );
                match expect {
                    Through => assert!(
                        ![401, 403, 404].contains(&status.as_u16()),
                        "{method} {path} as {role:?}: {status}"
                    ),
                    Refused(code) => {
                        assert_eq!(status.as_u16(), code, "{method} {path} as {role:?}")
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(
        missing.is_empty(),
        "routes without an authorisation rule: {missing:?}"
    );
    assert_eq!(checked, 52 * ROLES.len());
    app.assert_audit().await;
}
on_both_stores!(the_document_covers_every_route_and_each_obeys_its_rule);
