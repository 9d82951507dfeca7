//! The run: virtual users started together, user `i` on node `i % nodes`, a progress bar, and
//! their tallies added up.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::Args;
use crate::tally::{Outcome, Shared, Tally, merge};
use crate::user::VirtualUser;
use crate::world::{Api, Trader, World};

/// Runs the virtual users, user `i` talking to node `i % nodes.len()`.
pub async fn run(nodes: Vec<Api>, world: Arc<World>, args: &Args) -> Outcome {
    let shared = Arc::new(Shared {
        started: Instant::now(),
        requests: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        orders: AtomicU64::new(0),
        scenarios_started: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        timeline: Mutex::new(Vec::new()),
    });
    let makers: Arc<HashMap<i64, Trader>> =
        Arc::new(world.makers.iter().map(|m| (m.id, m.clone())).collect());
    let progress = progress_bar(args);
    let ticker = tokio::spawn(tick(
        shared.clone(),
        progress.clone(),
        args.duration,
        args.orders,
    ));
    let mut users = Vec::new();
    for index in 0..args.concurrency {
        let user = VirtualUser {
            api: nodes[index % nodes.len()].clone(),
            world: world.clone(),
            shared: shared.clone(),
            rng: StdRng::seed_from_u64(
                args.seed.wrapping_mul(1_000_003).wrapping_add(index as u64),
            ),
            players: (index..world.players.len())
                .step_by(args.concurrency)
                .collect(),
            next_player: 0,
            makers: makers.clone(),
            tally: Tally::default(),
        };
        let (mix, budget) = (args.mix.clone(), args.orders);
        users.push(tokio::spawn(user.run(mix, budget)));
    }
    let mut tallies = Vec::new();
    for user in users {
        if let Ok(tally) = user.await {
            tallies.push(tally);
        }
    }
    let elapsed = shared.started.elapsed();
    shared.stop.store(true, Ordering::Relaxed);
    let _ = ticker.await;
    progress.finish_and_clear();
    let timeline = std::mem::take(&mut *shared.timeline.lock().unwrap());
    merge(tallies, elapsed, timeline)
}

fn progress_bar(args: &Args) -> ProgressBar {
    let length = args.orders.unwrap_or(args.duration.as_secs().max(1));
    let bar = ProgressBar::new(length);
    let unit = if args.orders.is_some() {
        "scenarios"
    } else {
        "s"
    };
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{elapsed_precise}} [{{bar:30}}] {{pos}}/{{len}} {unit}  {{msg}}"
        ))
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar
}

async fn tick(shared: Arc<Shared>, bar: ProgressBar, duration: Duration, budget: Option<u64>) {
    let mut last = (Instant::now(), 0u64, 0u64);
    while !shared.stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let (requests, orders) = (
            shared.requests.load(Ordering::Relaxed),
            shared.orders.load(Ordering::Relaxed),
        );
        let seconds = last.0.elapsed().as_secs_f64().max(1e-3);
        bar.set_message(format!(
            "{:>7.0} req/s {:>6.0} orders/s  errors {}",
            (requests - last.1) as f64 / seconds,
            (orders - last.2) as f64 / seconds,
            shared.errors.load(Ordering::Relaxed)
        ));
        last = (Instant::now(), requests, orders);
        bar.set_position(match budget {
            Some(_) => shared.scenarios_started.load(Ordering::Relaxed),
            None => shared.started.elapsed().as_secs().min(duration.as_secs()),
        });
    }
}
