//! Model-based test: random sequences of deposits, bonuses, bets, wins, ad posts, takes,
//! payments, confirmations, cancels, disputes, resolutions, closes and clock jumps, run against
//! the service and against a plain in-memory model of the rules. Each step must succeed or be
//! refused (with the same code) on both, and after every step every balance, frozen amount,
//! unwagered bonus, withdrawable amount and ad capacity must be equal.

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use serde_json::{Value, json};

use std::sync::atomic::{AtomicU64, Ordering};

use crate::helpers::{ADMIN, Backend, TestApp, User, spawn_app_on};

/// Unique references for the platform's transactions across the cases of one run.
static REFERENCES: AtomicU64 = AtomicU64::new(0);

/// How often a case saw escrow refused because only unwagered bonus would have covered it.
static BONUS_REFUSALS: AtomicU64 = AtomicU64::new(0);

const MAKERS: usize = 2;
const PLAYERS: usize = 3;
const WINDOW_SECS: i64 = 60;
const MIN: i64 = 50_000;
const MAX: i64 = 200_000;

#[derive(Debug, Clone, Copy)]
enum Step {
    Deposit {
        user: usize,
        amount: i64,
    },
    /// A platform transaction other than a deposit: a bonus (with its wagering multiplier),
    /// a bet or a win.
    Play {
        user: usize,
        kind: Play,
        amount: i64,
    },
    PostAd {
        maker: usize,
        sell: bool,
        total: i64,
    },
    Take {
        player: usize,
        ad: usize,
        amount: i64,
    },
    ConfirmPaid {
        order: usize,
    },
    ConfirmReceived {
        order: usize,
    },
    Cancel {
        order: usize,
        by_buyer: bool,
    },
    CallOperator {
        order: usize,
        by_buyer: bool,
    },
    Resolve {
        order: usize,
        release: bool,
    },
    Close {
        ad: usize,
    },
    ClockJump,
}

#[derive(Debug, Clone, Copy)]
enum Play {
    Bonus { multiplier: i64 },
    Bet,
    Win,
}

fn play() -> impl Strategy<Value = Play> {
    prop_oneof![
        prop::sample::select(vec![0i64, 0, 1, 5]).prop_map(|multiplier| Play::Bonus { multiplier }),
        Just(Play::Bet),
        Just(Play::Win),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => (0..MAKERS + PLAYERS, 1..400_000i64).prop_map(|(user, amount)| Step::Deposit { user, amount }),
        3 => (0..MAKERS + PLAYERS, play(), prop::sample::select(vec![30_000i64, 120_000, 450_000, 900_000]))
            .prop_map(|(user, kind, amount)| Step::Play { user, kind, amount }),
        2 => (0..MAKERS, any::<bool>(), prop::sample::select(vec![150_000i64, 400_000, 30_000_000]))
            .prop_map(|(maker, sell, total)| Step::PostAd { maker, sell, total }),
        5 => (0..PLAYERS, 0..64usize, prop::sample::select(vec![40_000i64, 50_000, 100_000, 200_000, 250_000]))
            .prop_map(|(player, ad, amount)| Step::Take { player, ad, amount }),
        3 => (0..64usize).prop_map(|order| Step::ConfirmPaid { order }),
        3 => (0..64usize).prop_map(|order| Step::ConfirmReceived { order }),
        2 => (0..64usize, any::<bool>()).prop_map(|(order, by_buyer)| Step::Cancel { order, by_buyer }),
        1 => (0..64usize, any::<bool>()).prop_map(|(order, by_buyer)| Step::CallOperator { order, by_buyer }),
        1 => (0..64usize, any::<bool>()).prop_map(|(order, release)| Step::Resolve { order, release }),
        1 => (0..64usize).prop_map(|ad| Step::Close { ad }),
        1 => Just(Step::ClockJump),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Status {
    Pending,
    Paid,
    Disputed,
    Completed,
    Cancelled,
}

#[derive(Debug, Clone)]
struct ModelAd {
    id: i64,
    maker: usize,
    sell: bool,
    available: i64,
    open: bool,
}

#[derive(Debug, Clone)]
struct ModelOrder {
    id: i64,
    ad: usize,
    buyer: usize,
    seller: usize,
    amount: i64,
    status: Status,
}

/// A wallet's figures beyond its balance.
#[derive(Debug, Clone, Copy, Default)]
struct Wagering {
    /// Bonus money not yet wagered: a bonus adds to it, a bet spends it first.
    bonus: i64,
    required: i64,
    wagered: i64,
}

/// The rules, as plainly as they can be written.
#[derive(Debug, Default)]
struct Model {
    /// `(available, frozen)` by user index (makers first, then players).
    wallets: Vec<(i64, i64)>,
    play: Vec<Wagering>,
    ads: Vec<ModelAd>,
    orders: Vec<ModelOrder>,
    /// Each user's track record as `(completed, cancelled by them, expired as buyer)`: a case's
    /// clock never leaves the 30-day window, so every ending counts.
    track: Vec<(i64, i64, i64)>,
}

impl Model {
    fn active(status: Status) -> bool {
        matches!(status, Status::Pending | Status::Paid | Status::Disputed)
    }

    fn take(&self, player: usize, ad: usize, amount: i64) -> Result<(), &'static str> {
        let a = &self.ads[ad];
        let taker = MAKERS + player;
        if !a.open {
            return Err("AD_NOT_ACTIVE");
        }
        if amount < MIN {
            return Err("AMOUNT_TOO_LOW");
        }
        if amount > MAX {
            return Err("AMOUNT_TOO_HIGH");
        }
        if amount > a.available {
            return Err("AMOUNT_EXCEEDS_AVAILABLE");
        }
        if a.sell {
            let deposits = self
                .orders
                .iter()
                .filter(|o| o.buyer == taker && self.ads[o.ad].sell && Self::active(o.status))
                .count();
            if deposits >= 3 {
                return Err("ACTIVE_ORDER_LIMIT");
            }
        } else {
            let withdrawing = self
                .orders
                .iter()
                .any(|o| o.seller == taker && !self.ads[o.ad].sell && Self::active(o.status));
            self.wagering_met(taker)?;
            if withdrawing {
                return Err("ACTIVE_WITHDRAW_ORDER_EXISTS");
            }
            self.covers(taker, amount)?;
        }
        Ok(())
    }

    fn wagering_met(&self, user: usize) -> Result<(), &'static str> {
        let play = self.play[user];
        if play.wagered < play.required {
            return Err("WAGERING_REQUIREMENT_NOT_MET");
        }
        Ok(())
    }

    /// Whether `user` may put `amount` in escrow: from real money only.
    fn covers(&self, user: usize, amount: i64) -> Result<(), &'static str> {
        if self.wallets[user].0 < amount {
            return Err("SELLER_INSUFFICIENT_BALANCE");
        }
        if self.wallets[user].0 - self.play[user].bonus < amount {
            return Err("BONUS_FUNDS_NOT_WITHDRAWABLE");
        }
        Ok(())
    }

    fn play(&mut self, user: usize, kind: Play, amount: i64) -> Result<(), &'static str> {
        let (wallet, play) = (&mut self.wallets[user], &mut self.play[user]);
        match kind {
            Play::Bonus { multiplier } => {
                wallet.0 += amount;
                play.bonus += amount;
                play.required += amount * multiplier;
            }
            Play::Bet if wallet.0 < amount => return Err("INSUFFICIENT_BALANCE"),
            Play::Bet => {
                wallet.0 -= amount;
                play.bonus = (play.bonus - amount).max(0);
                play.wagered += amount;
            }
            Play::Win => wallet.0 += amount,
        }
        Ok(())
    }

    fn release(&mut self, order: usize) {
        let o = self.orders[order].clone();
        self.wallets[o.seller].1 -= o.amount;
        self.wallets[o.buyer].0 += o.amount;
        self.orders[order].status = Status::Completed;
        self.track[o.buyer].0 += 1;
        self.track[o.seller].0 += 1;
    }

    /// The completion rate in basis points, as the track record shows it.
    fn completion_rate(&self, user: usize) -> Value {
        let (completed, cancelled, expired) = self.track[user];
        let ended = completed + cancelled + expired;
        if ended == 0 {
            Value::Null
        } else {
            json!(completed * 10_000 / ended)
        }
    }

    fn refund(&mut self, order: usize) {
        let o = self.orders[order].clone();
        let ad = &mut self.ads[o.ad];
        if !ad.sell {
            self.wallets[o.seller].1 -= o.amount;
            self.wallets[o.seller].0 += o.amount;
        }
        if ad.open {
            ad.available += o.amount;
        } else if ad.sell {
            self.wallets[ad.maker].1 -= o.amount;
            self.wallets[ad.maker].0 += o.amount;
        }
        self.orders[order].status = Status::Cancelled;
    }
}

struct World {
    users: Vec<User>,
    operator: User,
}

/// What the service answered: `Ok` or the error code.
fn outcome(answer: &crate::helpers::Answer) -> Result<(), String> {
    if answer.status.is_success() {
        Ok(())
    } else {
        assert!(
            answer.status.is_client_error(),
            "never a server error: {} {}",
            answer.status,
            answer.body
        );
        Err(answer.code().to_string())
    }
}

fn expect(step: &Step, model: Result<(), &str>, service: Result<(), String>) {
    if model == Err("BONUS_FUNDS_NOT_WITHDRAWABLE") {
        BONUS_REFUSALS.fetch_add(1, Ordering::Relaxed);
    }
    assert_eq!(
        service.as_ref().map(|_| ()).map_err(String::as_str),
        model,
        "the service and the model disagree on {step:?}"
    );
}

/// One of the `len` latest things, mostly the newest few (where the action is).
fn pick(selector: usize, len: usize) -> Option<usize> {
    (len > 0).then(|| len - 1 - selector % len.min(4))
}

async fn run(app: &TestApp, w: &World, model: &mut Model, step: &Step) {
    match *step {
        Step::Deposit { user, amount } => {
            app.transaction(&w.users[user], "deposit", amount)
                .await
                .expect(201);
            model.wallets[user].0 += amount;
        }
        Step::Play { user, kind, amount } => {
            let reference = format!("play-{}", REFERENCES.fetch_add(1, Ordering::Relaxed));
            let mut body = json!({"amount": amount, "reference": reference});
            body["kind"] = json!(match kind {
                Play::Bonus { multiplier } => {
                    body["wagering_multiplier"] = json!(multiplier);
                    "bonus"
                }
                Play::Bet => "bet",
                Play::Win => "win",
            });
            let answer = app
                .post(
                    &format!("/api/v1/admin/users/{}/transactions", w.users[user].id),
                    Some(ADMIN),
                    body,
                )
                .await;
            let predicted = model.play(user, kind, amount);
            expect(step, predicted, outcome(&answer));
        }
        Step::PostAd { maker, sell, total } => {
            let body = json!({
                "type": if sell { "sell" } else { "buy" }, "fiat_currency": "RUB", "price": 9500,
                "min_amount": MIN, "max_amount": MAX, "total_amount": total,
                "payment_methods": ["card"], "payment_window_seconds": WINDOW_SECS,
                "payment_details": {"card": {"card_number": "2200 7000 0000 0001"}},
            });
            let body = if sell {
                body
            } else {
                let mut b = body;
                b.as_object_mut().unwrap().remove("payment_details");
                b
            };
            let answer = app
                .post("/api/v1/p2p/ads", Some(&w.users[maker].token), body)
                .await;
            let predicted = if sell {
                model
                    .wagering_met(maker)
                    .and_then(|()| model.covers(maker, total))
            } else {
                Ok(())
            };
            expect(step, predicted, outcome(&answer));
            if answer.status.is_success() {
                if sell {
                    model.wallets[maker].0 -= total;
                    model.wallets[maker].1 += total;
                }
                model.ads.push(ModelAd {
                    id: answer.id(),
                    maker,
                    sell,
                    available: total,
                    open: true,
                });
            }
        }
        Step::Take { player, ad, amount } => {
            let Some(ad) = pick(ad, model.ads.len()) else {
                return;
            };
            let taker = MAKERS + player;
            let a = model.ads[ad].clone();
            let answer = if a.sell {
                app.post(
                    "/api/v1/p2p/orders",
                    Some(&w.users[taker].token),
                    json!({"ad_id": a.id, "usdt_amount": amount, "payment_method": "card"}),
                )
                .await
            } else {
                app.take(&w.users[taker], a.id, amount).await
            };
            let predicted = model.take(player, ad, amount);
            expect(step, predicted, outcome(&answer));
            if answer.status.is_success() {
                model.ads[ad].available -= amount;
                if !a.sell {
                    model.wallets[taker].0 -= amount;
                    model.wallets[taker].1 += amount;
                }
                let (buyer, seller) = if a.sell {
                    (taker, a.maker)
                } else {
                    (a.maker, taker)
                };
                model.orders.push(ModelOrder {
                    id: answer.id(),
                    ad,
                    buyer,
                    seller,
                    amount,
                    status: Status::Pending,
                });
            }
        }
        Step::ConfirmPaid { order }
        | Step::ConfirmReceived { order }
        | Step::Cancel { order, .. }
        | Step::CallOperator { order, .. }
        | Step::Resolve { order, .. } => {
            let Some(order) = pick(order, model.orders.len()) else {
                return;
            };
            let o = model.orders[order].clone();
            let (who, path, body) = match *step {
                Step::ConfirmPaid { .. } => (&w.users[o.buyer], "confirm-paid", json!({})),
                Step::ConfirmReceived { .. } => (&w.users[o.seller], "confirm-received", json!({})),
                Step::Cancel { by_buyer, .. } | Step::CallOperator { by_buyer, .. } => {
                    let who = if by_buyer { o.buyer } else { o.seller };
                    let path = if matches!(step, Step::Cancel { .. }) {
                        "cancel"
                    } else {
                        "call-operator"
                    };
                    (&w.users[who], path, json!({}))
                }
                Step::Resolve { release, .. } => (
                    &w.operator,
                    "resolve",
                    json!({"resolution": if release { "release" } else { "refund" }}),
                ),
                _ => unreachable!(),
            };
            let url = if path == "resolve" {
                format!("/api/v1/operator/orders/{}/resolve", o.id)
            } else {
                format!("/api/v1/p2p/orders/{}/{path}", o.id)
            };
            let answer = app.post(&url, Some(&who.token), body).await;
            let predicted = match (*step, o.status) {
                (Step::ConfirmPaid { .. }, Status::Pending) => Ok(()),
                (Step::ConfirmReceived { .. }, Status::Paid | Status::Disputed) => Ok(()),
                (Step::Cancel { .. }, Status::Pending) => Ok(()),
                (Step::Cancel { by_buyer: true, .. }, Status::Paid) => Ok(()),
                (Step::CallOperator { .. }, Status::Paid) => Ok(()),
                (Step::Resolve { .. }, Status::Disputed) => Ok(()),
                _ => Err("INVALID_ORDER_STATUS"),
            };
            expect(step, predicted, outcome(&answer));
            if predicted.is_ok() {
                match *step {
                    Step::ConfirmPaid { .. } => model.orders[order].status = Status::Paid,
                    Step::CallOperator { .. } => model.orders[order].status = Status::Disputed,
                    Step::ConfirmReceived { .. } | Step::Resolve { release: true, .. } => {
                        model.release(order)
                    }
                    Step::Cancel { by_buyer, .. } => {
                        model.track[if by_buyer { o.buyer } else { o.seller }].1 += 1;
                        model.refund(order)
                    }
                    _ => model.refund(order),
                }
            }
        }
        Step::Close { ad } => {
            let Some(ad) = pick(ad, model.ads.len()) else {
                return;
            };
            let a = model.ads[ad].clone();
            let answer = app
                .post(
                    &format!("/api/v1/p2p/ads/{}/close", a.id),
                    Some(&w.users[a.maker].token),
                    json!({}),
                )
                .await;
            let predicted = if a.open { Ok(()) } else { Err("AD_NOT_ACTIVE") };
            expect(step, predicted, outcome(&answer));
            if a.open {
                if a.sell {
                    model.wallets[a.maker].1 -= a.available;
                    model.wallets[a.maker].0 += a.available;
                }
                model.ads[ad].available = 0;
                model.ads[ad].open = false;
            }
        }
        Step::ClockJump => {
            app.clock.advance_ms((WINDOW_SECS + 1) * 1000);
            let market = app.market.as_ref().unwrap();
            market.sweep_overdue().await.unwrap();
            let pending: Vec<usize> = (0..model.orders.len())
                .filter(|&i| model.orders[i].status == Status::Pending)
                .collect();
            for i in pending {
                let id = model.orders[i].id;
                let buyer = &w.users[model.orders[i].buyer];
                let expired = crate::helpers::eventually(5, || async {
                    app.order(buyer, id).await["status"] == "cancelled"
                })
                .await;
                assert!(expired, "order {id} expired after the clock jump");
                model.track[model.orders[i].buyer].2 += 1;
                model.refund(i);
            }
        }
    }
}

async fn compare(app: &TestApp, w: &World, model: &Model, after: &Step) {
    for (i, user) in w.users.iter().enumerate() {
        let me = app.get("/api/v1/me", Some(&user.token)).await.expect(200);
        let (available, frozen) = model.wallets[i];
        let bonus = model.play[i].bonus;
        assert_eq!(
            me["balance"],
            json!({"available": available, "frozen": frozen,
                   "unwagered_bonus": bonus, "withdrawable": available - bonus}),
            "user {i}'s balance after {after:?}"
        );
        assert_eq!(
            me["wagering"],
            json!({"required": model.play[i].required, "wagered": model.play[i].wagered}),
            "user {i}'s wagering after {after:?}"
        );
        assert_eq!(
            (&me["completion_rate_30d"], &me["orders_30d"]),
            (&model.completion_rate(i), &json!(model.track[i].0)),
            "user {i}'s track record after {after:?}"
        );
    }
    for ad in &model.ads {
        let shown = app.ad_json(ad.id).await;
        assert_eq!(
            shown["available_amount"],
            json!(ad.available),
            "ad {}'s capacity after {after:?}",
            ad.id
        );
        assert_eq!(
            shown["maker"]["completion_rate_30d"],
            model.completion_rate(ad.maker),
            "the track record beside ad {} after {after:?}",
            ad.id
        );
    }
}

async fn run_case(backend: Backend, steps: Vec<Step>) {
    let app = spawn_app_on(backend).await;
    let mut users = Vec::new();
    let mut model = Model::default();
    for i in 0..MAKERS + PLAYERS {
        let deposit = if i < MAKERS { 2_000_000 } else { 100_000 };
        users.push(app.player(&format!("user {i}"), deposit).await);
        model.wallets.push((deposit, 0));
        model.play.push(Wagering::default());
        model.track.push((0, 0, 0));
    }
    let w = World {
        users,
        operator: app.operator().await,
    };
    let opening = [
        Step::PostAd {
            maker: 0,
            sell: false,
            total: 30_000_000,
        },
        Step::PostAd {
            maker: 1,
            sell: true,
            total: 1_000_000,
        },
    ];
    let steps: Vec<Step> = opening.into_iter().chain(steps).collect();
    for step in &steps {
        run(&app, &w, &mut model, step).await;
        compare(&app, &w, &model, step).await;
    }
    app.assert_audit().await;
    let count = |s: Status| model.orders.iter().filter(|o| o.status == s).count();
    eprintln!(
        "model case: {} steps, {} ads, orders: {} pending, {} paid, {} disputed, {} completed, {} cancelled; \
         {} refusals of unwagered bonus so far",
        steps.len(),
        model.ads.len(),
        count(Status::Pending),
        count(Status::Paid),
        count(Status::Disputed),
        count(Status::Completed),
        count(Status::Cancelled),
        BONUS_REFUSALS.load(Ordering::Relaxed)
    );
}

fn model_based(backend: Backend, cases: u32) {
    let mut runner = TestRunner::new(ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let result = runner.run(&prop::collection::vec(step(), 20..60), |steps| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(run_case(backend, steps));
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

#[test]
fn sqlite() {
    model_based(
        Backend::Sqlite,
        crate::helpers::count_from_env(MODEL_CASES_VAR, 24),
    );
}

#[test]
fn postgres() {
    if crate::helpers::postgres_available("model::postgres") {
        model_based(
            Backend::Postgres,
            crate::helpers::count_from_env(MODEL_CASES_VAR, 6),
        );
    }
}

/// How many cases each store runs (24 on SQLite and 6 on PostgreSQL without it).
const MODEL_CASES_VAR: &str = "P2P_MODEL_CASES";
