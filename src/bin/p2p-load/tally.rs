//! What the run measures: each virtual user's tally, the live counters they share, and the
//! outcome they add up to.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::world::Book;

/// Latencies are recorded in microseconds, up to a minute, to three significant figures.
pub const LATENCY_MAX_US: u64 = 60_000_000;
/// The first answers that were not what the scenario expected, kept for the report.
pub const UNEXPECTED_KEPT: usize = 20;

/// One second of the run.
pub struct Second {
    pub requests: u64,
    pub orders: u64,
    pub latency: Histogram<u64>,
}

/// Everything the run measured.
pub struct Outcome {
    pub elapsed: Duration,
    pub requests: u64,
    pub routes: BTreeMap<&'static str, Histogram<u64>>,
    pub statuses: BTreeMap<(&'static str, u16), u64>,
    pub refusals: BTreeMap<String, u64>,
    pub unexpected: Vec<String>,
    pub unexpected_count: u64,
    pub server_errors: u64,
    pub scenarios: BTreeMap<&'static str, u64>,
    pub completed_orders: u64,
    pub book: Book,
    pub timeline: Vec<Second>,
}

/// What the virtual users share: live counters for the progress bar and the timeline.
pub struct Shared {
    pub started: Instant,
    pub requests: AtomicU64,
    pub errors: AtomicU64,
    pub orders: AtomicU64,
    pub scenarios_started: AtomicU64,
    pub stop: AtomicBool,
    pub timeline: Mutex<Vec<Second>>,
}

impl Shared {
    fn second(&self) -> usize {
        self.started.elapsed().as_secs() as usize
    }

    pub fn record(&self, latency_us: u64, completed_order: bool) {
        let second = self.second();
        let mut timeline = self.timeline.lock().unwrap();
        while timeline.len() <= second {
            timeline.push(Second {
                requests: 0,
                orders: 0,
                latency: Histogram::new_with_bounds(1, LATENCY_MAX_US, 2).unwrap(),
            });
        }
        let bucket = &mut timeline[second];
        if completed_order {
            bucket.orders += 1;
        } else {
            bucket.requests += 1;
            let _ = bucket.latency.record(latency_us.clamp(1, LATENCY_MAX_US));
        }
    }
}

/// One virtual user's measurements, merged at the end.
#[derive(Default)]
pub struct Tally {
    pub requests: u64,
    pub routes: HashMap<&'static str, Histogram<u64>>,
    pub statuses: HashMap<(&'static str, u16), u64>,
    pub refusals: HashMap<String, u64>,
    pub unexpected: Vec<String>,
    pub unexpected_count: u64,
    pub server_errors: u64,
    pub scenarios: HashMap<&'static str, u64>,
    pub completed_orders: u64,
    pub book: Book,
}

pub fn merge(tallies: Vec<Tally>, elapsed: Duration, timeline: Vec<Second>) -> Outcome {
    let mut outcome = Outcome {
        elapsed,
        requests: 0,
        routes: BTreeMap::new(),
        statuses: BTreeMap::new(),
        refusals: BTreeMap::new(),
        unexpected: Vec::new(),
        unexpected_count: 0,
        server_errors: 0,
        scenarios: BTreeMap::new(),
        completed_orders: 0,
        book: Book::new(),
        timeline,
    };
    for tally in tallies {
        outcome.requests += tally.requests;
        for (route, histogram) in tally.routes {
            let merged = outcome.routes.entry(route).or_insert_with(new_histogram);
            let _ = merged.add(&histogram);
        }
        for (key, count) in tally.statuses {
            *outcome.statuses.entry(key).or_default() += count;
        }
        for (code, count) in tally.refusals {
            *outcome.refusals.entry(code).or_default() += count;
        }
        for (kind, count) in tally.scenarios {
            *outcome.scenarios.entry(kind).or_default() += count;
        }
        for (user, delta) in tally.book {
            *outcome.book.entry(user).or_default() += delta;
        }
        let room = UNEXPECTED_KEPT.saturating_sub(outcome.unexpected.len());
        outcome
            .unexpected
            .extend(tally.unexpected.into_iter().take(room));
        outcome.unexpected_count += tally.unexpected_count;
        outcome.server_errors += tally.server_errors;
        outcome.completed_orders += tally.completed_orders;
    }
    outcome
}

pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LATENCY_MAX_US, 3).expect("valid bounds")
}
