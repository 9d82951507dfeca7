//! The load harness against a real server: its world setup rides out `503`s by their
//! `Retry-After`, and its report says what the server spent.

use serde_json::Value;

use crate::helpers::ADMIN;
use crate::nodes::start_node_with;

/// A server that admits only 4 requests at once answers most of the harness's 64 parallel setup
/// calls with `503 OVERLOADED`: the setup asks again after `Retry-After` and finishes, and the
/// report carries the server's CPU per completed order and its memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_harness_sets_up_through_overload_and_reports_the_servers_cpu() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("harness.db").display());
    let node = start_node_with(&url, &[("P2P_MAX_IN_FLIGHT", "4")]).await;
    let report = dir.path().join("report.json");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_p2p-load"))
        .args(["--url", &node.app.address, "--admin-token", ADMIN])
        .args(["--makers", "20", "--players", "200", "--concurrency", "64"])
        .args(["--duration", "2s", "--json"])
        .arg(&report)
        .output()
        .await
        .expect("the harness runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("setting up the world failed"), "{stderr}");
    let report: Value = serde_json::from_slice(&std::fs::read(&report).expect("a report"))
        .expect("the report is JSON");
    // Overload is a failure of the run itself: only 503s may have gone wrong.
    let statuses = report["statuses"].as_object().unwrap();
    let overloaded: u64 = statuses
        .iter()
        .filter(|(key, _)| key.ends_with(" 503"))
        .map(|(_, count)| count.as_u64().unwrap())
        .sum();
    assert_eq!(
        report["server_errors"].as_u64(),
        Some(overloaded),
        "{report}"
    );
    assert_eq!(report["audit_ok"], true);
    assert_eq!(report["money_mismatches"], serde_json::json!([]));
    let servers = &report["servers"];
    assert!(report["completed_orders"].as_u64().unwrap() > 0, "{report}");
    assert!(servers["cpu_seconds"].as_f64().unwrap() > 0.0, "{servers}");
    assert!(
        servers["cpu_ms_per_completed_order"].as_f64().unwrap() > 0.0,
        "{servers}"
    );
    assert!(
        servers["rss_mib_at_end"][0].as_f64().unwrap() > 1.0,
        "{servers}"
    );
}
