//! Metrics, dashboards and logs: every metric a dashboard queries exists, request ids travel,
//! and no card number ever reaches a log line or a metric.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Value, json};

use crate::helpers::{ADMIN, Backend, TestApp, captured_logs, eventually, spawn_app_on};

/// Drives every kind of event the dashboards show: each lifecycle step in both directions,
/// an expiry, disputes resolved both ways, platform transactions and refusals.
pub(crate) async fn workload(app: &TestApp) {
    let maker = app.player("maker", 5_000_000).await;
    let seller = app.player("seller", 5_000_000).await;
    let operator = app.operator().await;
    let buy = app
        .buy_ad(&maker, json!({"payment_window_seconds": 1}))
        .await;
    let sell = app
        .sell_ad(&maker, json!({"total_amount": 1_000_000}))
        .await;
    app.transaction(&seller, "bonus", 100).await.expect(201);
    app.transaction(&seller, "bet", 500).await.expect(201);
    app.transaction(&seller, "win", 50).await.expect(201);
    // Completed withdrawal; cancelled one; expired one.
    let done = app.take(&seller, buy, 100_000).await.id();
    app.step(&maker, done, "confirm-paid").await.expect(200);
    app.step(&seller, done, "confirm-received")
        .await
        .expect(200);
    let cancelled = app.take(&seller, buy, 100_000).await.id();
    app.step(&seller, cancelled, "cancel").await.expect(200);
    let expiring = app.take(&seller, buy, 100_000).await.id();
    let expired = eventually(4, || async {
        app.order(&seller, expiring).await["status"] == json!("cancelled")
    })
    .await;
    assert!(expired);
    // Disputes, resolved both ways, on deposits.
    for resolution in ["release", "refund"] {
        let id = app
            .post(
                "/api/v1/p2p/orders",
                Some(&seller.token),
                json!({"ad_id": sell, "usdt_amount": 100_000, "payment_method": "card"}),
            )
            .await
            .id();
        app.step(&seller, id, "confirm-paid").await.expect(200);
        app.step(&maker, id, "call-operator").await.expect(200);
        app.post(
            &format!("/api/v1/operator/orders/{id}/resolve"),
            Some(&operator.token),
            json!({"resolution": resolution}),
        )
        .await
        .expect(200);
    }
    app.take(&maker, buy, 100_000).await.refused(422, "OWN_AD");
    app.get("/api/v1/p2p/ads?type=buy", None).await.expect(200);
}

fn dashboards() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("grafana/dashboards");
    let mut found: Vec<_> = std::fs::read_dir(&dir)
        .expect("grafana/dashboards exists")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let dashboard: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?} is not JSON: {e}"));
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                dashboard,
            )
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

/// The names `p2p_…` and `process_…` a PromQL expression reads.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(start) = [rest.find("p2p_"), rest.find("process_")]
        .into_iter()
        .flatten()
        .min()
    {
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.push(tail[..end].to_string());
        rest = &tail[end..];
    }
    names
}

on_both_stores!(every_metric_in_every_dashboard_panel_is_exported);
async fn every_metric_in_every_dashboard_panel_is_exported(backend: Backend) {
    let app = spawn_app_on(backend).await;
    workload(&app).await;
    // Let the periodic audit (every second in tests) refresh the gauges.
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let scrape = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let exported: BTreeSet<&str> = scrape
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| line.split(['{', ' ']).next())
        .collect();

    let dashboards = dashboards();
    assert_eq!(dashboards.len(), 3, "market, API and internals dashboards");
    let mut queried = 0;
    for (file, dashboard) in &dashboards {
        assert!(
            dashboard["uid"].is_string() && dashboard["title"].is_string(),
            "{file}"
        );
        let variable = &dashboard["templating"]["list"][0];
        assert_eq!(
            (variable["name"].clone(), variable["type"].clone()),
            (json!("datasource"), json!("datasource")),
            "{file}: a datasource variable, so the dashboard imports into any Grafana 10+"
        );
        assert_eq!(
            variable["current"]["value"],
            json!("p2p-prometheus"),
            "{file}"
        );
        assert!(dashboard["schemaVersion"].as_i64() >= Some(36), "{file}");
        let panels = dashboard["panels"]
            .as_array()
            .unwrap_or_else(|| panic!("{file} has no panels"));
        assert!(!panels.is_empty(), "{file}");
        for panel in panels {
            let title = panel["title"].as_str().unwrap_or_default();
            assert!(
                !title.is_empty() && panel["type"].is_string() && panel["gridPos"].is_object(),
                "{file}: {panel}"
            );
            assert_eq!(
                panel["datasource"]["uid"],
                json!("${datasource}"),
                "{file}: {title}: the datasource comes from the dashboard's variable"
            );
            let targets = panel["targets"]
                .as_array()
                .unwrap_or_else(|| panic!("{file}: {title} has no targets"));
            assert!(!targets.is_empty(), "{file}: {title}");
            for target in targets {
                let expr = target["expr"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{file}: {title}: a target without expr"));
                let names = metric_names(expr);
                assert!(
                    !names.is_empty(),
                    "{file}: {title}: {expr} reads no metric of the service"
                );
                for name in names {
                    assert!(
                        exported.contains(name.as_str()),
                        "{file}: panel {title:?} queries {name}, which /metrics does not export"
                    );
                    queried += 1;
                }
            }
        }
    }
    assert!(queried > 40, "the dashboards query {queried} metrics");
    // Route labels are patterns, never raw paths.
    assert!(scrape.contains(r#"route="/api/v1/p2p/orders/{id}/confirm-paid""#));
    assert!(!scrape.contains("route=\"/api/v1/p2p/orders/1/"));
    let provisioning = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("grafana/provisioning/datasources/prometheus.yml");
    assert!(
        std::fs::read_to_string(provisioning)
            .unwrap()
            .contains("uid: p2p-prometheus")
    );
}

on_both_stores!(requests_carry_an_id_into_their_logs_and_back);
async fn requests_carry_an_id_into_their_logs_and_back(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let user = app.player("traced", 0).await;
    let response = app
        .client
        .get(format!("{}/api/v1/me", app.address))
        .bearer_auth(&user.token)
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me-42");
    let generated = app
        .client
        .get(format!("{}/health", app.address))
        .send()
        .await
        .unwrap();
    let id = generated.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(id.len(), 16, "a generated id: {id}");
    let logs = captured_logs();
    let found = eventually(2, || async { logs.text().contains("trace-me-42") }).await;
    assert!(found, "the request id is not in the logs");
    let line = logs
        .text()
        .lines()
        .find(|l| l.contains("trace-me-42") && l.contains("request completed"))
        .map(str::to_owned);
    let line: Value = serde_json::from_str(&line.expect("a completion line")).unwrap();
    let span = &line["span"];
    assert_eq!(
        (span["route"].clone(), span["user_id"].clone()),
        (json!("/api/v1/me"), json!(user.id))
    );
    assert_eq!(line["fields"]["status"], json!(200));
}

on_both_stores!(card_numbers_never_reach_logs_or_metrics);
async fn card_numbers_never_reach_logs_or_metrics(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 5_000_000).await;
    let seller = app.player("seller", 1_000_000).await;
    let buy = app.buy_ad(&maker, json!({})).await;
    let sell = app
        .sell_ad(&maker, json!({"payment_details": {"card": {"card_number": "4276 3800 5555 6666"}, "sbp": {"phone": "+7 900"}}}))
        .await;
    let cards = [
        "4276380011112222",
        "4276380033334444",
        "4276380055556666",
        "4276380077778888",
    ];
    let order = app
        .post(
            "/api/v1/p2p/orders",
            Some(&seller.token),
            json!({"ad_id": buy, "usdt_amount": 100_000, "payment_method": "card",
                   "payment_details": {"card_number": "4276 3800 1111 2222"}}),
        )
        .await
        .id();
    app.patch(
        &format!("/api/v1/p2p/orders/{order}"),
        Some(&seller.token),
        json!({"payment_details": {"card_number": "4276-3800-3333-4444"}}),
    )
    .await
    .expect(200);
    app.order(&maker, order).await;
    app.post(
        "/api/v1/p2p/orders",
        Some(&seller.token),
        json!({"ad_id": sell, "usdt_amount": 100_000, "payment_method": "card"}),
    )
    .await
    .expect(201);
    // A card number where a number belongs: refused, and the refusal is not logged with it.
    app.post(
        "/api/v1/p2p/orders",
        Some(&seller.token),
        json!({"ad_id": "4276 3800 7777 8888", "usdt_amount": 1, "payment_method": "card"}),
    )
    .await
    .refused(400, "VALIDATION_ERROR");
    app.get("/api/v1/admin/audit", Some(ADMIN))
        .await
        .expect(200);

    let logs = captured_logs().text();
    assert!(
        logs.contains(&format!("\"order_id\":{order}")),
        "the order's requests were logged"
    );
    let scrape = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for (place, text) in [("logs", logs), ("metrics", scrape)] {
        let digits_only: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        for card in cards {
            assert!(
                !digits_only.contains(card),
                "card number {card} appears in the {place}"
            );
        }
    }
}
