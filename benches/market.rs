//! In-process benchmarks (no HTTP): the order lifecycle through the actors on SQLite, the ad
//! listing over 10,000 ads, and the actor directory. `cargo bench` runs them.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures_util::future::join_all;
use p2p_market::actors::directory::Directory;
use p2p_market::actors::{Named, ask};
use p2p_market::clock::Clock;
use p2p_market::config::Config;
use p2p_market::domain::ad::{Ad, AdStatus, AdType};
use p2p_market::domain::order::Action;
use p2p_market::domain::request::Request;
use p2p_market::domain::requirements::Standing;
use p2p_market::domain::track::{DayFigures, Track, day_of};
use p2p_market::domain::user::Profile;
use p2p_market::domain::wallet::TransactionKind;
use p2p_market::domain::{AdId, Kopecks, UserId};
use p2p_market::domain::{Caller, Role};
use p2p_market::market::{Market, NewAd, NewOrder, NewTransaction};
use p2p_market::read_model::{AdQuery, ReadModel, SortBy, Viewer};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use serde_json::json;

/// Lifecycles run at once per iteration, one per seller (a seller has one withdrawal at a time).
const CONCURRENT_ORDERS: usize = 128;

struct Bench {
    market: Arc<Market>,
    maker: Caller,
    sellers: Vec<Caller>,
    ad_id: i64,
    _dir: tempfile::TempDir,
}

async fn user(market: &Market, name: &str, funds: i64) -> Caller {
    let (user, _) = market.create_user(name, Role::User, None).await.unwrap();
    let deposit = NewTransaction {
        kind: TransactionKind::Deposit,
        amount: funds,
        reference: format!("bench {name}"),
        wagering_multiplier: None,
    };
    market
        .post_transaction(user.id, deposit, None)
        .await
        .unwrap();
    Caller {
        user_id: user.id,
        role: Role::User,
    }
}

async fn setup() -> Bench {
    let dir = tempfile::TempDir::new().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let market = Market::start(Config::for_database(url), "bench", Clock::default())
        .await
        .unwrap();
    let maker = user(&market, "maker", 1_000_000).await;
    let ad = NewAd {
        ad_type: AdType::Buy,
        fiat_currency: "RUB".into(),
        price: Some(9550),
        min_amount: 100_000,
        max_amount: 1_000_000,
        total_amount: 9_000_000_000_000,
        payment_methods: vec!["card".into()],
        payment_window_seconds: None,
        release_window_seconds: None,
        terms: None,
        payment_details: None,
        payment_method_id: None,
        requirements: Default::default(),
        price_type: Default::default(),
        premium_bp: None,
    };
    let (ad, _) = market.create_ad(maker, ad, None).await.unwrap();
    let mut sellers = Vec::new();
    for i in 0..CONCURRENT_ORDERS {
        sellers.push(user(&market, &format!("seller {i}"), 9_000_000_000).await);
    }
    Bench {
        market,
        maker,
        sellers,
        ad_id: ad.id.get(),
        _dir: dir,
    }
}

async fn withdrawal(bench: &Bench, seller: Caller) {
    let take = NewOrder {
        ad_id: AdId(bench.ad_id),
        usdt_amount: 100_000,
        payment_method: "card".into(),
        payment_details: Some(json!({"card_number": "2200 1234 5678 9012"})),
        payment_method_id: None,
    };
    let order = bench.market.create_order(seller, take, None).await.unwrap();
    bench
        .market
        .act(order.id, Request::by(bench.maker, Action::ConfirmPaid))
        .await
        .unwrap();
    bench
        .market
        .act(order.id, Request::by(seller, Action::ConfirmReceived))
        .await
        .unwrap();
}

fn order_lifecycle(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let bench = runtime.block_on(setup());
    let mut group = c.benchmark_group("order lifecycle, SQLite, in process");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(CONCURRENT_ORDERS as u64));
    group.bench_function(
        "create + confirm-paid + confirm-received, 128 at once",
        |b| {
            b.to_async(&runtime).iter(|| {
                join_all(
                    bench
                        .sellers
                        .iter()
                        .map(|seller| withdrawal(&bench, *seller)),
                )
            });
        },
    );
    group.finish();
    runtime.block_on(bench.market.shutdown());
}

/// The instant the listing is read at: a track record's window ends on its day.
const LISTED_AT_MS: i64 = 1_800_000_000_000;

/// A maker's track record with orders on each of the last 30 days, seen a minute ago.
fn busy_track(maker: i64) -> Track {
    let mut track = Track {
        first_order_at: Some(LISTED_AT_MS - 90 * 86_400_000),
        last_seen_at: Some(LISTED_AT_MS - 60_000),
        ..Track::default()
    };
    for days_ago in 0..30 {
        let figures = DayFigures {
            completed: 3 + maker % 5,
            cancelled: maker % 2,
            expired: days_ago % 2,
            paid: 2,
            pay_ms: 400_000,
            released: 2,
            release_ms: 300_000,
        };
        track.add(day_of(LISTED_AT_MS) - days_ago, &figures);
    }
    track
}

/// 10,000 active ads (half buy, half sell) of 500 makers, with varied prices, limits and methods,
/// each maker with a track record of 30 busy days.
fn listing_model() -> ReadModel {
    let model = ReadModel::default();
    for maker in 0..500 {
        model.add_maker(Profile {
            id: UserId(maker),
            name: format!("maker {maker}"),
            rating_sum: maker % 50,
            ratings_count: maker % 11,
            orders_count: maker * 3 % 97,
            track: busy_track(maker),
        });
    }
    let methods = ["card", "sbp", "bank_transfer"];
    for id in 0..10_000i64 {
        model.publish(&Ad {
            id: AdId(id),
            maker_id: UserId(id % 500),
            ad_type: if id % 2 == 0 {
                AdType::Buy
            } else {
                AdType::Sell
            },
            fiat_currency: "RUB".into(),
            price: Kopecks(9400 + id * 7 % 400),
            min_amount: Kopecks(100_000 * (1 + id % 5)),
            max_amount: Kopecks(1_000_000 * (1 + id % 3)),
            total_amount: Kopecks(10_000_000),
            available_amount: Kopecks(10_000_000 - id % 7 * 1_000_000),
            closed_amount: Kopecks(0),
            payment_methods: vec![
                methods[id as usize % 3].into(),
                methods[(id as usize + 1) % 3].into(),
            ],
            payment_window_seconds: 900,
            release_window_seconds: 1800,
            terms: "benchmark".into(),
            payment_details: None,
            requirements: Default::default(),
            price_type: Default::default(),
            premium_bp: None,
            status: AdStatus::Active,
            created_at_ms: 0,
            version: 1,
            terms_version: 1,
        });
    }
    model
}

fn ad_listing(c: &mut Criterion) {
    let model = listing_model();
    let query = |sort_by, amount, method: Option<&str>| AdQuery {
        amount,
        payment_method: method.map(str::to_string),
        sort_by,
        ..AdQuery::market(AdType::Buy, "RUB")
    };
    let cases = [
        ("best_price", query(SortBy::BestPrice, None, None)),
        ("rating", query(SortBy::Rating, None, None)),
        ("orders_count", query(SortBy::OrdersCount, None, None)),
        ("completion_rate", query(SortBy::CompletionRate, None, None)),
        (
            "amount filter",
            query(SortBy::BestPrice, Some(Kopecks(300_000)), None),
        ),
        (
            "payment_method filter",
            query(SortBy::BestPrice, None, Some("sbp")),
        ),
        (
            "amount and method",
            query(SortBy::BestPrice, Some(Kopecks(300_000)), Some("sbp")),
        ),
        (
            "trader, eligible_only",
            AdQuery {
                viewer: Viewer::Trader(Some(Standing {
                    completed_orders: 12,
                    account_age_days: 40,
                    completion_rate_bp: Some(9_500),
                })),
                eligible_only: true,
                ..query(SortBy::BestPrice, None, None)
            },
        ),
    ];
    let mut group = c.benchmark_group("ad listing, 10,000 ads");
    group.throughput(Throughput::Elements(1));
    for (name, query) in &cases {
        group.bench_with_input(BenchmarkId::from_parameter(name), query, |b, query| {
            b.iter(|| {
                let (ads, total) = model.list(query, LISTED_AT_MS);
                black_box(p2p_market::read_model::render_page(
                    &ads,
                    total,
                    20,
                    0,
                    LISTED_AT_MS,
                ))
            });
        });
    }
    group.finish();
}

/// The smallest actor: answers what it is asked.
struct Echo;

enum EchoMsg {
    Ping(u64, RpcReplyPort<u64>),
}

impl Named for EchoMsg {
    const KIND: &'static str = "echo";

    fn name(&self) -> &'static str {
        "ping"
    }
}

impl Actor for Echo {
    type Msg = EchoMsg;
    type State = ();
    type Arguments = ();

    async fn pre_start(&self, _: ActorRef<EchoMsg>, _: ()) -> Result<(), ActorProcessingErr> {
        Ok(())
    }

    async fn handle(
        &self,
        _: ActorRef<EchoMsg>,
        message: EchoMsg,
        _: &mut (),
    ) -> Result<(), ActorProcessingErr> {
        let EchoMsg::Ping(n, reply) = message;
        let _ = reply.send(n);
        Ok(())
    }
}

async fn spawn_echo() -> Result<ActorRef<EchoMsg>, p2p_market::domain::DomainError> {
    let (actor, _) = Actor::spawn(None, Echo, ()).await.expect("an actor starts");
    Ok(actor)
}

fn actor_directory(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let directory = Directory::<i64, EchoMsg>::new("echo");
    let resident = runtime
        .block_on(directory.get_or_spawn(0, spawn_echo))
        .unwrap();
    let mut group = c.benchmark_group("actor directory");
    group.throughput(Throughput::Elements(1));
    group.bench_function("get resident actor", |b| {
        b.to_async(&runtime)
            .iter(|| directory.get_or_spawn(0, spawn_echo));
    });
    let mut next_id = 1;
    group.bench_function("spawn new actor", |b| {
        b.to_async(&runtime).iter(|| {
            next_id += 1;
            directory.get_or_spawn(next_id, spawn_echo)
        });
    });
    group.bench_function("message round trip (ask)", |b| {
        b.to_async(&runtime)
            .iter(|| ask(&resident, |reply| EchoMsg::Ping(7, reply)));
    });
    group.throughput(Throughput::Elements(64));
    group.bench_function("message round trips, 64 callers", |b| {
        b.to_async(&runtime).iter(|| {
            join_all((0..64).map(|n| ask(&resident, move |reply| EchoMsg::Ping(n, reply))))
        });
    });
    group.finish();
    directory.stop_all();
}

criterion_group!(benches, order_lifecycle, ad_listing, actor_directory);
criterion_main!(benches);
