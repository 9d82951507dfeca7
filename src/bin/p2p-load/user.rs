//! A virtual user: its own players, its requests (each timed and tallied), and the steps the
//! scenarios are made of.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rand::RngExt;
use rand::rngs::StdRng;
use reqwest::Method;
use serde_json::{Value, json};

use crate::mix::Mix;
use crate::tally::{LATENCY_MAX_US, Shared, Tally, UNEXPECTED_KEPT, new_histogram};
use crate::world::{Api, Trader, World};

pub struct VirtualUser {
    pub api: Api,
    pub world: Arc<World>,
    pub shared: Arc<Shared>,
    pub rng: StdRng,
    pub players: Vec<usize>,
    pub next_player: usize,
    pub makers: Arc<HashMap<i64, Trader>>,
    pub tally: Tally,
}

impl VirtualUser {
    pub async fn run(mut self, mix: Mix, budget: Option<u64>) -> Tally {
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
    pub(crate) async fn request(
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

    pub(crate) fn next_player(&mut self) -> Trader {
        let index = self.players[self.next_player % self.players.len()];
        self.next_player += 1;
        self.world.players[index].clone()
    }

    pub(crate) fn amount(&mut self) -> i64 {
        self.rng.random_range(100..=1000) * 1000
    }

    pub(crate) fn book(&mut self, gains: i64, loses: i64, amount: i64) {
        *self.tally.book.entry(gains).or_default() += amount;
        *self.tally.book.entry(loses).or_default() -= amount;
        self.tally.completed_orders += 1;
        self.shared.orders.fetch_add(1, Ordering::Relaxed);
        self.shared.record(0, true);
    }

    /// Browses the ads of `ad_type` that accept `amount` and picks one (and its maker).
    pub(crate) async fn browse(
        &mut self,
        token: &str,
        ad_type: &str,
        amount: i64,
    ) -> Option<(i64, Trader)> {
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
    pub(crate) async fn open_withdrawal(&mut self, player: &Trader) -> Option<(i64, Trader, i64)> {
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

    pub(crate) async fn step(
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
}
