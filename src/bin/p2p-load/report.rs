//! The run's report: text for people, JSON for machines, an SVG plot for eyes.

use std::fmt::Write;

use hdrhistogram::Histogram;
use serde_json::{Value, json};

use crate::Args;
use crate::tally::{Outcome, Second};
use crate::world::Check;

pub struct Report {
    value: Value,
    passed: bool,
}

fn percentiles(histogram: &Histogram<u64>) -> Value {
    let ms = |us: u64| (us as f64 / 10.0).round() / 100.0;
    json!({
        "count": histogram.len(),
        "p50_ms": ms(histogram.value_at_quantile(0.50)),
        "p90_ms": ms(histogram.value_at_quantile(0.90)),
        "p99_ms": ms(histogram.value_at_quantile(0.99)),
        "p99_9_ms": ms(histogram.value_at_quantile(0.999)),
        "max_ms": ms(histogram.max()),
    })
}

impl Report {
    pub fn new(
        args: &Args,
        outcome: &Outcome,
        check: &Check,
        servers: Value,
        watched: Value,
    ) -> Report {
        let seconds = outcome.elapsed.as_secs_f64().max(1e-9);
        let mut all = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
        let mut routes = serde_json::Map::new();
        for (route, histogram) in &outcome.routes {
            let _ = all.add(histogram);
            routes.insert(route.to_string(), percentiles(histogram));
        }
        let statuses: serde_json::Map<String, Value> = outcome
            .statuses
            .iter()
            .map(|((route, status), count)| (format!("{route} {status}"), json!(count)))
            .collect();
        let passed = check.audit_ok
            && check.mismatches.is_empty()
            && outcome.server_errors == 0
            && outcome.unexpected_count == 0;
        let value = json!({
            "workload": {
                "url": args.url,
                "makers": args.makers,
                "players": args.players,
                "concurrency": args.concurrency,
                "duration_s": args.duration.as_secs_f64(),
                "orders": args.orders,
                "mix": format!("{:?}", args.mix),
                "seed": args.seed,
            },
            "elapsed_s": seconds,
            "requests": outcome.requests,
            "requests_per_s": outcome.requests as f64 / seconds,
            "completed_orders": outcome.completed_orders,
            "completed_orders_per_s": outcome.completed_orders as f64 / seconds,
            "scenarios": outcome.scenarios,
            "latency": percentiles(&all),
            "servers": servers,
            "watched": watched,
            "routes": routes,
            "statuses": statuses,
            "refusals": outcome.refusals,
            "unexpected": outcome.unexpected_count,
            "unexpected_examples": outcome.unexpected,
            "server_errors": outcome.server_errors,
            "audit_ok": check.audit_ok,
            "audit": check.audit,
            "money_mismatches": check.mismatches,
            "passed": passed,
        });
        Report { value, passed }
    }

    pub fn passed(&self) -> bool {
        self.passed
    }

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(&self.value).unwrap_or_default()
    }

    pub fn text(&self) -> String {
        let v = &self.value;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\n{:.1} s, {} requests ({:.0}/s), {} completed orders ({:.0}/s)",
            v["elapsed_s"].as_f64().unwrap_or_default(),
            v["requests"],
            v["requests_per_s"].as_f64().unwrap_or_default(),
            v["completed_orders"],
            v["completed_orders_per_s"].as_f64().unwrap_or_default(),
        );
        let _ = writeln!(out, "scenarios: {}", v["scenarios"]);
        let servers = &v["servers"];
        if servers.is_null() {
            let _ = writeln!(out, "servers: their process metrics could not be read");
        } else {
            let _ = writeln!(
                out,
                "servers: {} CPU-s, {} CPU-ms per completed order, RSS at the end {} MiB",
                servers["cpu_seconds"],
                servers["cpu_ms_per_completed_order"],
                servers["rss_mib_at_end"]
            );
        }
        for process in v["watched"].as_array().into_iter().flatten() {
            let _ = writeln!(
                out,
                "{} ({} processes): {} CPU-s, {} CPU-ms per completed order",
                process["name"].as_str().unwrap_or_default(),
                process["processes"],
                process["cpu_seconds"],
                process["cpu_ms_per_completed_order"]
            );
        }
        let _ = writeln!(
            out,
            "\n{:<40} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
            "route", "count", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms"
        );
        let row = |out: &mut String, name: &str, p: &Value| {
            let _ = writeln!(
                out,
                "{:<40} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
                name, p["count"], p["p50_ms"], p["p90_ms"], p["p99_ms"], p["p99_9_ms"], p["max_ms"]
            );
        };
        if let Some(routes) = v["routes"].as_object() {
            for (route, p) in routes {
                row(&mut out, route, p);
            }
        }
        row(&mut out, "all", &v["latency"]);
        let _ = writeln!(out, "\nrefusals by code: {}", v["refusals"]);
        let _ = writeln!(
            out,
            "unexpected answers: {}, server errors: {}",
            v["unexpected"], v["server_errors"]
        );
        if let Some(examples) = v["unexpected_examples"].as_array() {
            for example in examples.iter().take(5) {
                let _ = writeln!(out, "  {}", example.as_str().unwrap_or_default());
            }
        }
        let _ = writeln!(
            out,
            "audit: {}",
            if v["audit_ok"] == json!(true) {
                "ok"
            } else {
                "VIOLATIONS"
            }
        );
        let mismatches = v["money_mismatches"].as_array().map_or(0, Vec::len);
        let _ = writeln!(
            out,
            "money against the harness's book: {}",
            if mismatches == 0 {
                "adds up".to_string()
            } else {
                format!("{mismatches} MISMATCHES")
            }
        );
        let _ = writeln!(out, "{}", if self.passed { "PASSED" } else { "FAILED" });
        out
    }
}

/// Throughput (requests/s, completed orders/s) and p99 latency per second, as an SVG picture.
pub fn plot(timeline: &[Second]) -> String {
    let (width, height, margin) = (960.0, 560.0, 60.0);
    let panel = (height - 3.0 * margin) / 2.0;
    let seconds = timeline.len().max(2) as f64;
    let x = |i: usize| margin + (width - 2.0 * margin) * i as f64 / (seconds - 1.0);
    let requests: Vec<f64> = timeline.iter().map(|s| s.requests as f64).collect();
    let orders: Vec<f64> = timeline.iter().map(|s| s.orders as f64).collect();
    let p99: Vec<f64> = timeline
        .iter()
        .map(|s| {
            if s.latency.is_empty() {
                0.0
            } else {
                s.latency.value_at_quantile(0.99) as f64 / 1000.0
            }
        })
        .collect();
    let mut svg = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' font-family='sans-serif' font-size='12'>\
         <rect width='100%' height='100%' fill='white'/>"
    );
    let mut chart = |top: f64, title: &str, series: &[(&str, &str, &[f64])]| {
        let max = series
            .iter()
            .flat_map(|(_, _, v)| v.iter().copied())
            .fold(1.0, f64::max);
        let y = |v: f64| top + panel - panel * v / max;
        let _ = write!(
            svg,
            "<text x='{margin}' y='{}' font-size='14' font-weight='bold'>{title}</text>\
             <line x1='{margin}' y1='{}' x2='{}' y2='{}' stroke='black'/>\
             <line x1='{margin}' y1='{top}' x2='{margin}' y2='{}' stroke='black'/>\
             <text x='5' y='{}'>{max:.0}</text><text x='5' y='{}'>0</text>\
             <text x='{}' y='{}'>{:.0} s</text>",
            top - 8.0,
            top + panel,
            width - margin,
            top + panel,
            top + panel,
            top + 12.0,
            top + panel,
            width - margin - 20.0,
            top + panel + 16.0,
            seconds - 1.0
        );
        for (i, (name, color, values)) in series.iter().enumerate() {
            let points: Vec<String> = values
                .iter()
                .enumerate()
                .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
                .collect();
            let _ = write!(
                svg,
                "<polyline fill='none' stroke='{color}' stroke-width='2' points='{}'/>\
                 <text x='{}' y='{}' fill='{color}'>{name}</text>",
                points.join(" "),
                width - margin - 160.0,
                top + 14.0 * (i as f64 + 1.0)
            );
        }
    };
    chart(
        margin,
        "Throughput per second",
        &[
            ("requests/s", "#1f77b4", &requests),
            ("completed orders/s", "#2ca02c", &orders),
        ],
    );
    chart(
        2.0 * margin + panel,
        "p99 latency per second (ms)",
        &[("p99 ms", "#d62728", &p99)],
    );
    svg.push_str("</svg>\n");
    svg
}
