//! The dashboards and the alerting rules against a real Prometheus: promtool checks the config,
//! the rules and the scrape and runs the rules' unit tests; then Prometheus scrapes the service
//! through a workload of every order path, and every panel's query and every alert's value must
//! evaluate, without error, to data. Without `prometheus` and `promtool` on the PATH (Debian's
//! package `prometheus`; `.ci/run` installs it) the test prints a skip line.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::helpers::{Backend, TestApp, eventually, spawn_app_on};
use crate::observability::workload;

fn grafana() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("grafana")
}

fn installed(tool: &str) -> bool {
    std::process::Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Runs promtool; fails the test with its output unless it succeeds and says nothing is wrong.
fn promtool(args: &[&str], input: Option<&str>) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("promtool")
        .args(args)
        .current_dir(grafana())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    if let Some(input) = input {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let output = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool {args:?}: {text}");
    text
}

/// Every `(where, expression)` the dashboards query.
fn panel_queries() -> Vec<(String, String)> {
    let mut queries = Vec::new();
    for entry in std::fs::read_dir(grafana().join("dashboards")).unwrap() {
        let path = entry.unwrap().path();
        let dashboard: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        for panel in dashboard["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().unwrap() {
                let place = format!("{file}: {}", panel["title"].as_str().unwrap());
                queries.push((place, target["expr"].as_str().unwrap().to_string()));
            }
        }
    }
    queries
}

/// Every alert's name, expression, and the value it compares (the expression before its last
/// comparison: the rules are written `<value> <comparison> <threshold>`).
fn alert_rules() -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(grafana().join("alerts.yml")).unwrap();
    let mut rules = Vec::new();
    let mut name = None;
    for line in text.lines().map(str::trim) {
        if let Some(alert) = line.strip_prefix("- alert: ") {
            name = Some(alert.to_string());
        } else if let (Some(expr), Some(alert)) = (line.strip_prefix("expr: "), name.take()) {
            let cut = [" > ", " < ", " >= ", " <= ", " == ", " != "]
                .iter()
                .filter_map(|op| expr.rfind(op))
                .max()
                .unwrap_or_else(|| panic!("{alert}: {expr} compares nothing"));
            rules.push((alert, expr.to_string(), expr[..cut].to_string()));
        }
    }
    rules
}

/// A running Prometheus scraping `app` every second, with the shipped rules; killed when dropped.
struct Prometheus {
    _child: tokio::process::Child,
    _dir: tempfile::TempDir,
    url: String,
}

async fn prometheus(app: &TestApp) -> Prometheus {
    let dir = tempfile::TempDir::new().unwrap();
    let target = app.address.trim_start_matches("http://");
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {rules}\n\
         scrape_configs:\n  - job_name: p2p-market\n    static_configs:\n      - targets: [\"{target}\"]\n",
        rules = grafana().join("alerts.yml").display()
    );
    let config_path = dir.path().join("prometheus.yml");
    std::fs::write(&config_path, config).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = tokio::process::Command::new("prometheus")
        .arg(format!("--config.file={}", config_path.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("prometheus starts");
    Prometheus {
        _child: child,
        _dir: dir,
        url: format!("http://127.0.0.1:{port}"),
    }
}

impl Prometheus {
    /// The result of an instant query, or the error Prometheus answered.
    async fn query(&self, client: &reqwest::Client, expr: &str) -> Result<Vec<Value>, String> {
        let answer: Value = client
            .get(format!("{}/api/v1/query", self.url))
            .query(&[("query", expr)])
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        if answer["status"] != "success" {
            return Err(answer.to_string());
        }
        Ok(answer["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }
}

#[tokio::test]
async fn every_panel_and_alert_reads_data_from_a_real_prometheus() {
    if !installed("prometheus") || !installed("promtool") {
        println!(
            "skipping the Prometheus test: install `prometheus` and `promtool` (apt-get install prometheus)"
        );
        return;
    }
    promtool(&["check", "config", "prometheus.yml"], None);
    promtool(&["check", "rules", "alerts.yml"], None);
    promtool(&["test", "rules", "alerts_test.yml"], None);

    let app = spawn_app_on(Backend::Sqlite).await;
    let prometheus = prometheus(&app).await;
    let client = reqwest::Client::new();
    workload(&app).await;
    let scrape = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let complaints = promtool(&["check", "metrics"], Some(&scrape));
    assert!(
        complaints.trim().is_empty(),
        "promtool check metrics: {complaints}"
    );

    // Enough scrapes after the workload for every rate to have two samples of it.
    let scraped = eventually(30, || async {
        let up = prometheus
            .query(&client, "count_over_time(up{job=\"p2p-market\"}[1m])")
            .await;
        up.is_ok_and(|result| {
            result
                .first()
                .and_then(|sample| sample["value"][1].as_str()?.parse::<f64>().ok())
                .is_some_and(|count| count >= 8.0)
        })
    })
    .await;
    assert!(scraped, "Prometheus did not scrape the service");
    tokio::time::sleep(Duration::from_secs(2)).await;

    let mut failures = Vec::new();
    let queries = panel_queries();
    assert!(queries.len() > 40, "{} panel queries", queries.len());
    for (place, expr) in &queries {
        match prometheus.query(&client, expr).await {
            Ok(result) if result.is_empty() => failures.push(format!("{place}: {expr}: no data")),
            Ok(_) => {}
            Err(error) => failures.push(format!("{place}: {expr}: {error}")),
        }
    }
    let rules = alert_rules();
    assert_eq!(rules.len(), 8, "alerting rules");
    for (alert, expr, value) in &rules {
        if let Err(error) = prometheus.query(&client, expr).await {
            failures.push(format!("alert {alert}: {expr}: {error}"));
        }
        match prometheus.query(&client, value).await {
            Ok(result) if result.is_empty() => {
                failures.push(format!("alert {alert}: {value}: no data"))
            }
            Ok(_) => {}
            Err(error) => failures.push(format!("alert {alert}: {value}: {error}")),
        }
    }
    let loaded: Value = client
        .get(format!("{}/api/v1/rules", prometheus.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let loaded_rules: Vec<&Value> = loaded["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|group| group["rules"].as_array().unwrap())
        .collect();
    assert_eq!(
        loaded_rules.len(),
        rules.len(),
        "Prometheus loaded {loaded}"
    );
    for rule in loaded_rules {
        if rule["health"] == "err" {
            failures.push(format!("rule {}: {}", rule["name"], rule["lastError"]));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every family a fresh service exports says what it measures (`# HELP`, with its unit) and what
/// it is (`# TYPE`), and the counters whose labels are known exist before anything happened.
#[tokio::test]
async fn a_fresh_service_describes_every_family_and_starts_known_counters_at_zero() {
    let app = spawn_app_on(Backend::Sqlite).await;
    let scrape = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut families = std::collections::BTreeSet::new();
    for line in scrape
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let name = line.split(['{', ' ']).next().unwrap();
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .filter(|base| scrape.contains(&format!("# TYPE {base} histogram")))
            .unwrap_or(name);
        families.insert(family.to_string());
    }
    for family in &families {
        assert!(
            scrape.contains(&format!("# HELP {family} ")),
            "{family} has no help"
        );
        assert!(
            scrape.contains(&format!("# TYPE {family} ")),
            "{family} has no type"
        );
    }
    for series in [
        r#"p2p_orders_expired_total{side="withdraw"}"#,
        r#"p2p_orders_resolved_total{side="deposit",resolution="refund"}"#,
        r#"p2p_escrow_refunded_kopecks_total{side="withdraw"}"#,
        r#"p2p_orders_cancelled_total{side="deposit",reason="timeout"}"#,
        r#"p2p_refusals_total{code="ACTIVE_ORDER_LIMIT"}"#,
        r#"p2p_webhook_deliveries_total{outcome="failed"}"#,
        "p2p_http_requests_shed_total",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
    ] {
        assert!(scrape.contains(series), "{series} is not exported");
    }
}
