//! Virtual users: each runs whole scenarios (browse, take, chat, pay, confirm, rate; or cancel,
//! or dispute and an operator's resolution) one after another, with its own players, and keeps
//! the harness's book of who should have gained or lost what.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use reqwest::Method;
use serde_json::{Value, json};

use crate::Args;
use crate::world::{Api, Book, Trader, World};

/// Latencies are recorded in microseconds, up to a minute, to three significant figures.
const LATENCY_MAX_US: u64 = 60_000_000;
/// The first answers that were not what the scenario expected, kept for the report.
const UNEXPECTED_KEPT: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Withdraw,
    Deposit,
    Cancel,
    Dispute,
    Browse,
    Health,
}

impl Kind {
    fn parse(name: &str) -> Option<Kind> {
        Some(match name {
            "withdraw" => Kind::Withdraw,
            "deposit" => Kind::Deposit,
            "cancel" => Kind::Cancel,
            "dispute" => Kind::Dispute,
            "browse" => Kind::Browse,
            "health" => Kind::Health,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Withdraw => "withdraw",
            Kind::Deposit => "deposit",
            Kind::Cancel => "cancel",
            Kind::Dispute => "dispute",
            Kind::Browse => "browse",
            Kind::Health => "health",
        }
    }
}

/// Scenario weights, as `withdraw=70,deposit=20,cancel=5,dispute=5`.
#[derive(Debug, Clone)]
pub struct Mix {
    weights: Vec<(Kind, u32)>,
    total: u32,
}

impl Mix {
    pub fn parse(text: &str) -> Result<Mix, String> {
        let mut weights = Vec::new();
        for part in text.split(',').filter(|p| !p.is_empty()) {
            let (name, weight) = part
                .split_once('=')
                .ok_or_else(|| format!("{part}: use name=weight"))?;
            let kind =
                Kind::parse(name.trim()).ok_or_else(|| format!("unknown scenario {name}"))?;
            let weight: u32 = weight
                .trim()
                .parse()
                .map_err(|_| format!("{part}: the weight is not a number"))?;
            weights.push((kind, weight));
        }
        let total = weights.iter().map(|(_, w)| w).sum();
        if total == 0 {
            return Err("the mix has no weight".into());
        }
        Ok(Mix { weights, total })
    }

    fn pick(&self, rng: &mut StdRng) -> Kind {
        let mut roll = rng.random_range(0..self.total);
        for (kind, weight) in &self.weights {
            if roll < *weight {
                return *kind;
            }
            roll -= weight;
        }
        self.weights[0].0
    }
}

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
struct Shared {
    started: Instant,
    requests: AtomicU64,
    errors: AtomicU64,
    orders: AtomicU64,
    scenarios_started: AtomicU64,
    stop: AtomicBool,
    timeline: Mutex<Vec<Second>>,
}

impl Shared {
    fn second(&self) -> usize {
        self.started.elapsed().as_secs() as usize
    }

    fn record(&self, latency_us: u64, completed_order: bool) {
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
struct Tally {
    requests: u64,
    routes: HashMap<&'static str, Histogram<u64>>,
    statuses: HashMap<(&'static str, u16), u64>,
    refusals: HashMap<String, u64>,
    unexpected: Vec<String>,
    unexpected_count: u64,
    server_errors: u64,
    scenarios: HashMap<&'static str, u64>,
    completed_orders: u64,
    book: Book,
}

struct VirtualUser {
    api: Api,
    world: Arc<World>,
    shared: Arc<Shared>,
    rng: StdRng,
    players: Vec<usize>,
    next_player: usize,
    makers: Arc<HashMap<i64, Trader>>,
    tally: Tally,
}

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

fn merge(tallies: Vec<Tally>, elapsed: Duration, timeline: Vec<Second>) -> Outcome {
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

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LATENCY_MAX_US, 3).expect("valid bounds")
}

impl VirtualUser {
    async fn run(mut self, mix: Mix, budget: Option<u64>) -> Tally {
        let deadline = budget
            .is_none()
            .then(|| self.shared.started + self.world_duration());
        loop {
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                break;
            }
            let started = self
                .shared
                .scenarios_started
                .fetch_add(1, Ordering::Relaxed);
            if budget.is_some_and(|budget| started >= budget) {
                break;
            }
            let kind = mix.pick(&mut self.rng);
            if self.scenario(kind).await.is_some() {
                *self.tally.scenarios.entry(kind.name()).or_default() += 1;
            }
        }
        self.tally
    }

    fn world_duration(&self) -> Duration {
        self.world.duration
    }

    /// Sends one request; answers its raw body if it had the expected status.
    async fn send(
        &mut self,
        route: &'static str,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
        expected: u16,
    ) -> Option<axum::body::Bytes> {
        let answer = self.api.call(method, path, token, body.as_ref()).await;
        let latency_us = answer.elapsed.as_micros() as u64;
        self.tally.requests += 1;
        self.shared.requests.fetch_add(1, Ordering::Relaxed);
        self.shared.record(latency_us, false);
        let _ = self
            .tally
            .routes
            .entry(route)
            .or_insert_with(new_histogram)
            .record(latency_us.clamp(1, LATENCY_MAX_US));
        *self
            .tally
            .statuses
            .entry((route, answer.status))
            .or_default() += 1;
        if answer.status == expected {
            return Some(answer.bytes);
        }
        self.shared.errors.fetch_add(1, Ordering::Relaxed);
        if answer.status >= 500 {
            self.tally.server_errors += 1;
        } else if answer.status >= 400 {
            *self.tally.refusals.entry(answer.code()).or_default() += 1;
        }
        self.tally.unexpected_count += 1;
        if self.tally.unexpected.len() < UNEXPECTED_KEPT {
            self.tally.unexpected.push(format!(
                "{route}: expected {expected}, got {} {}",
                answer.status,
                answer.body()
            ));
        }
        None
    }

    /// Sends one request; answers the id of what it created or changed.
    async fn request(
        &mut self,
        route: &'static str,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
        expected: u16,
    ) -> Option<i64> {
        let bytes = self
            .send(route, method, path, token, body, expected)
            .await?;
        // Every answer the scenarios act on carries an `id`; nothing else is read.
        #[derive(serde::Deserialize)]
        struct WithId {
            id: Option<i64>,
        }
        Some(
            serde_json::from_slice::<WithId>(&bytes)
                .ok()?
                .id
                .unwrap_or_default(),
        )
    }

    fn next_player(&mut self) -> Trader {
        let index = self.players[self.next_player % self.players.len()];
        self.next_player += 1;
        self.world.players[index].clone()
    }

    fn amount(&mut self) -> i64 {
        self.rng.random_range(100..=1000) * 1000
    }

    fn book(&mut self, gains: i64, loses: i64, amount: i64) {
        *self.tally.book.entry(gains).or_default() += amount;
        *self.tally.book.entry(loses).or_default() -= amount;
        self.tally.completed_orders += 1;
        self.shared.orders.fetch_add(1, Ordering::Relaxed);
        self.shared.record(0, true);
    }

    /// Browses the ads of `ad_type` that accept `amount` and picks one (and its maker).
    async fn browse(&mut self, token: &str, ad_type: &str, amount: i64) -> Option<(i64, Trader)> {
        #[derive(serde::Deserialize)]
        struct Page {
            items: Vec<Listed>,
        }
        #[derive(serde::Deserialize)]
        struct Listed {
            id: i64,
            maker: ListedMaker,
        }
        #[derive(serde::Deserialize)]
        struct ListedMaker {
            id: i64,
        }
        let sort = ["best_price", "rating", "orders_count"][self.rng.random_range(0..3)];
        let path = format!(
            "/api/v1/p2p/ads?type={ad_type}&fiat_currency=RUB&amount={amount}&sort_by={sort}&limit=20"
        );
        let bytes = self
            .send("GET /ads", Method::GET, &path, token, None, 200)
            .await?;
        let page: Page = serde_json::from_slice(&bytes).ok()?;
        if page.items.is_empty() {
            return None;
        }
        let ad = &page.items[self.rng.random_range(0..page.items.len())];
        let maker = self.makers.get(&ad.maker.id)?.clone();
        Some((ad.id, maker))
    }

    /// Takes a buy ad as `player`; answers the order id, the maker and the amount.
    async fn open_withdrawal(&mut self, player: &Trader) -> Option<(i64, Trader, i64)> {
        let amount = self.amount();
        let (ad_id, maker) = self.browse(&player.token, "buy", amount).await?;
        let body = json!({"ad_id": ad_id, "usdt_amount": amount, "payment_method": "card",
                          "payment_details": {"card_number": "2200 1234 5678 9012"}});
        let order = self
            .request(
                "POST /orders",
                Method::POST,
                "/api/v1/p2p/orders",
                &player.token,
                Some(body),
                201,
            )
            .await?;
        Some((order, maker, amount))
    }

    async fn step(
        &mut self,
        route: &'static str,
        order: i64,
        action: &str,
        who: &Trader,
        body: Value,
    ) -> Option<i64> {
        let path = format!("/api/v1/p2p/orders/{order}/{action}");
        self.request(route, Method::POST, &path, &who.token, Some(body), 200)
            .await
    }

    async fn scenario(&mut self, kind: Kind) -> Option<()> {
        let player = self.next_player();
        match kind {
            Kind::Withdraw => {
                let (order, maker, amount) = self.open_withdrawal(&player).await?;
                if self.rng.random_range(0..10) == 0 {
                    let path = format!("/api/v1/p2p/orders/{order}/messages");
                    let body = json!({"message": "Sent, please check."});
                    self.request(
                        "POST /orders/{id}/messages",
                        Method::POST,
                        &path,
                        &maker.token,
                        Some(body),
                        201,
                    )
                    .await?;
                }
                self.step(
                    "POST /orders/{id}/confirm-paid",
                    order,
                    "confirm-paid",
                    &maker,
                    json!({}),
                )
                .await?;
                self.step(
                    "POST /orders/{id}/confirm-received",
                    order,
                    "confirm-received",
                    &player,
                    json!({}),
                )
                .await?;
                self.book(maker.id, player.id, amount);
                if self.rng.random_range(0..2) == 0 {
                    let path = format!("/api/v1/p2p/orders/{order}/rate");
                    let body = json!({"rating": self.rng.random_range(3..=5)});
                    self.request(
                        "POST /orders/{id}/rate",
                        Method::POST,
                        &path,
                        &player.token,
                        Some(body),
                        201,
                    )
                    .await?;
                }
            }
            Kind::Deposit => {
                let amount = self.amount();
                let (ad_id, maker) = self.browse(&player.token, "sell", amount).await?;
                let body = json!({"ad_id": ad_id, "usdt_amount": amount, "payment_method": "sbp"});
                let order = self
                    .request(
                        "POST /orders",
                        Method::POST,
                        "/api/v1/p2p/orders",
                        &player.token,
                        Some(body),
                        201,
                    )
                    .await?;
                self.step(
                    "POST /orders/{id}/confirm-paid",
                    order,
                    "confirm-paid",
                    &player,
                    json!({}),
                )
                .await?;
                self.step(
                    "POST /orders/{id}/confirm-received",
                    order,
                    "confirm-received",
                    &maker,
                    json!({}),
                )
                .await?;
                self.book(player.id, maker.id, amount);
            }
            Kind::Cancel => {
                let (order, _, _) = self.open_withdrawal(&player).await?;
                self.step(
                    "POST /orders/{id}/cancel",
                    order,
                    "cancel",
                    &player,
                    json!({}),
                )
                .await?;
            }
            Kind::Dispute => {
                let (order, maker, amount) = self.open_withdrawal(&player).await?;
                self.step(
                    "POST /orders/{id}/confirm-paid",
                    order,
                    "confirm-paid",
                    &maker,
                    json!({}),
                )
                .await?;
                let reason = json!({"reason": "The payment has not arrived"});
                self.step(
                    "POST /orders/{id}/call-operator",
                    order,
                    "call-operator",
                    &player,
                    reason,
                )
                .await?;
                let release = self.rng.random_range(0..2) == 0;
                let body = json!({"resolution": if release { "release" } else { "refund" }, "note": "load test"});
                let operator = self.world.operator.clone();
                let path = format!("/api/v1/operator/orders/{order}/resolve");
                self.request(
                    "POST /operator/orders/{id}/resolve",
                    Method::POST,
                    &path,
                    &operator.token,
                    Some(body),
                    200,
                )
                .await?;
                if release {
                    self.book(maker.id, player.id, amount);
                }
            }
            Kind::Browse => {
                let amount = self.amount();
                let ad_type = if self.rng.random_range(0..2) == 0 {
                    "buy"
                } else {
                    "sell"
                };
                self.browse(&player.token, ad_type, amount).await?;
            }
            Kind::Health => {
                self.request(
                    "GET /health",
                    Method::GET,
                    "/health",
                    &player.token,
                    None,
                    200,
                )
                .await?;
            }
        }
        Some(())
    }
}
