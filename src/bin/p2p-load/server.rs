//! What the servers spent: CPU and resident memory read from each node's standard process
//! metrics before and after the run, so a run shows where the CPU went without a profiler.

use reqwest::Method;
use serde_json::{Value, json};

use crate::world::Api;

/// One node's process figures at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// CPU time spent so far, in seconds (to the tick where the server says so).
    pub cpu_seconds: f64,
    pub rss_bytes: f64,
}

/// Each node's figures now; `None` for a node whose `/metrics` did not answer with them.
pub async fn sample(nodes: &[Api], token: &str) -> Vec<Option<Sample>> {
    let mut samples = Vec::with_capacity(nodes.len());
    for node in nodes {
        let answer = node.call(Method::GET, "/metrics", token, None).await;
        let text = String::from_utf8_lossy(&answer.bytes);
        samples.push((answer.status == 200).then(|| parse(&text)).flatten());
    }
    samples
}

/// Reads the figures from Prometheus text: the tick-exact CPU gauge if the server exports it,
/// else the standard whole-second counter.
fn parse(text: &str) -> Option<Sample> {
    let value = |name: &str| {
        text.lines()
            .filter(|line| !line.starts_with('#'))
            .find_map(|line| {
                let (metric, value) = line.split_once(' ')?;
                (metric == name).then(|| value.trim().parse::<f64>().ok())?
            })
    };
    Some(Sample {
        cpu_seconds: value("p2p_process_cpu_seconds")
            .or_else(|| value("process_cpu_seconds_total"))?,
        rss_bytes: value("process_resident_memory_bytes")?,
    })
}

/// The report's `servers` part: CPU per completed order over all nodes, and each node's RSS at
/// the end.
pub fn report(before: &[Option<Sample>], after: &[Option<Sample>], completed: u64) -> Value {
    let pairs: Vec<(Sample, Sample)> = before
        .iter()
        .zip(after)
        .filter_map(|(before, after)| Some(((*before)?, (*after)?)))
        .collect();
    if pairs.len() != before.len() || pairs.is_empty() {
        return Value::Null;
    }
    let cpu: f64 = pairs
        .iter()
        .map(|(b, a)| a.cpu_seconds - b.cpu_seconds)
        .sum();
    let mib = |bytes: f64| (bytes / 1_048_576.0 * 10.0).round() / 10.0;
    let mut figures = cpu_figures(cpu, completed);
    figures.insert(
        "rss_mib_at_end".into(),
        json!(
            pairs
                .iter()
                .map(|(_, a)| mib(a.rss_bytes))
                .collect::<Vec<_>>()
        ),
    );
    Value::Object(figures)
}

/// `cpu_seconds` spent over the run, and per completed order in milliseconds, to the
/// thousandth: the servers' and the watched processes' figures alike.
pub fn cpu_figures(cpu_seconds: f64, completed: u64) -> serde_json::Map<String, Value> {
    let thousandths = |value: f64| (value * 1000.0).round() / 1000.0;
    let mut figures = serde_json::Map::new();
    figures.insert("cpu_seconds".into(), json!(thousandths(cpu_seconds)));
    figures.insert(
        "cpu_ms_per_completed_order".into(),
        json!(thousandths(cpu_seconds * 1000.0 / completed.max(1) as f64)),
    );
    figures
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_tick_exact_gauge_before_the_whole_second_counter() {
        let text = "# HELP process_cpu_seconds_total x\nprocess_cpu_seconds_total 12\n\
                    p2p_process_cpu_seconds 12.34\nprocess_resident_memory_bytes 1048576\n";
        let sample = parse(text).unwrap();
        assert_eq!(sample.cpu_seconds, 12.34);
        assert_eq!(sample.rss_bytes, 1_048_576.0);
        let older = parse("process_cpu_seconds_total 7\nprocess_resident_memory_bytes 5\n");
        assert_eq!(older.unwrap().cpu_seconds, 7.0);
        assert!(parse("process_resident_memory_bytes 5\n").is_none());
    }

    #[test]
    fn cpu_per_order_adds_the_nodes_up() {
        let at = |cpu_seconds, rss_bytes| {
            Some(Sample {
                cpu_seconds,
                rss_bytes,
            })
        };
        let value = report(
            &[at(1.0, 0.0), at(2.0, 0.0)],
            &[at(3.0, 104_857_600.0), at(3.5, 52_428_800.0)],
            3500,
        );
        assert_eq!(value["cpu_seconds"], json!(3.5));
        assert_eq!(value["cpu_ms_per_completed_order"], json!(1.0));
        assert_eq!(value["rss_mib_at_end"], json!([100.0, 50.0]));
        assert_eq!(report(&[at(1.0, 0.0)], &[None], 10), Value::Null);
    }
}
