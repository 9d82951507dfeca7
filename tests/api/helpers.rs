//! `spawn_app()` and a small typed client for the tests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use p2p_market::Application;
use p2p_market::clock::Clock;
use p2p_market::config::Config;
use p2p_market::market::Market;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

pub const ADMIN: &str = "test-admin-token";

/// The smallest payment window the tests' service accepts, so expiry tests run in seconds.
pub const MIN_WINDOW_SECS: i64 = 1;

static REFERENCES: AtomicU64 = AtomicU64::new(1);

/// A running service on a free port, with its own database file.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// The service's database, for tests that inspect or tamper with it directly.
    pub database_url: String,
    /// The service's clock: tests may move it forward.
    pub clock: Clock,
    /// The service's core, for tests that look inside (none for a service in another process).
    pub market: Option<Arc<Market>>,
    dir: Arc<TempDir>,
    tweak: fn(&mut Config),
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

/// A user as the tests hold it.
#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub token: String,
}

/// An answer: its status and its JSON body (`Null` when there is none).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Answer {
    /// The error code of an error answer.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    pub fn id(&self) -> i64 {
        self.body["id"].as_i64().expect("the answer has an id")
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected answer: {}",
            self.body
        );
        self.body
    }

    #[track_caller]
    pub fn refused(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status.as_u16(), self.code()),
            (status, code),
            "unexpected answer: {}",
            self.body
        );
    }
}

/// Everything the service logs during the test run, as JSON lines (debug level), so tests can
/// check what reaches the logs.
pub fn captured_logs() -> LogSink {
    static SINK: OnceLock<LogSink> = OnceLock::new();
    SINK.get_or_init(|| {
        let sink = LogSink::default();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_env_filter(EnvFilter::new("p2p_market=debug,sqlx=debug,info"))
            .with_writer(sink.clone())
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        sink
    })
    .clone()
}

#[derive(Clone, Default)]
pub struct LogSink(Arc<Mutex<Vec<u8>>>);

impl LogSink {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for LogSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogSink {
    type Writer = LogSink;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// The variable that names the PostgreSQL server the tests may use; without it the PostgreSQL
/// half of every test prints a skip line.
pub const POSTGRES_URL_VAR: &str = "P2P_TEST_POSTGRES_URL";

/// The store a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates a test that runs `$name(backend)` on SQLite and one that runs it on PostgreSQL.
macro_rules! on_both_stores {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name($crate::helpers::Backend::Sqlite).await
            }

            #[tokio::test]
            async fn postgres() {
                if $crate::helpers::postgres_available(concat!(module_path!())) {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            }
        }
    };
    ($name:ident, multi_thread) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::helpers::Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::helpers::postgres_available(concat!(module_path!())) {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            }
        }
    };
}

/// A count a deeper run can raise: the variable's value, else `default` (a value that is not a
/// positive number is a mistake worth stopping for).
pub fn count_from_env(var: &str, default: u32) -> u32 {
    match std::env::var(var) {
        Ok(value) => value
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .unwrap_or_else(|| panic!("{var} must be a positive number, not {value:?}")),
        Err(_) => default,
    }
}

/// Whether PostgreSQL tests can run; prints the skip line when they cannot.
pub fn postgres_available(test: &str) -> bool {
    let available = std::env::var(POSTGRES_URL_VAR).is_ok_and(|url| !url.is_empty());
    if !available {
        println!(
            "skipping {test} on PostgreSQL: set {POSTGRES_URL_VAR} (e.g. postgres://postgres@127.0.0.1:5432/postgres)"
        );
    }
    available
}

static DATABASES: AtomicU64 = AtomicU64::new(1);

/// A fresh, empty PostgreSQL database for one test (those left by earlier runs are dropped).
pub async fn fresh_postgres_database() -> String {
    use sqlx::Connection;
    let server = std::env::var(POSTGRES_URL_VAR).expect("the PostgreSQL URL is set");
    let mut admin = sqlx::PgConnection::connect(&server)
        .await
        .expect("PostgreSQL answers");
    static CLEANED: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    let pid = std::process::id();
    CLEANED
        .get_or_init(|| async {
            let mut cleaner = sqlx::PgConnection::connect(&server)
                .await
                .expect("PostgreSQL answers");
            let stale: Vec<String> = sqlx::query_scalar(
                "SELECT datname FROM pg_database WHERE datname LIKE 'p2p_test_%'",
            )
            .fetch_all(&mut cleaner)
            .await
            .unwrap();
            for name in stale
                .into_iter()
                .filter(|n| !n.starts_with(&format!("p2p_test_{pid}_")))
            {
                let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(drop))
                    .execute(&mut cleaner)
                    .await;
            }
        })
        .await;
    let name = format!(
        "p2p_test_{pid}_{}",
        DATABASES.fetch_add(1, Ordering::Relaxed)
    );
    let create = format!("CREATE DATABASE {name}");
    sqlx::raw_sql(sqlx::AssertSqlSafe(create))
        .execute(&mut admin)
        .await
        .expect("a test database");
    let (base, _) = server.rsplit_once('/').expect("a URL with a database name");
    format!("{base}/{name}")
}

/// A service on the given store, in a fresh database.
pub async fn spawn_app_on(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// A service on the given store whose settings `tweak` changes (restarts keep the change).
pub async fn spawn_app_with(backend: Backend, tweak: fn(&mut Config)) -> TestApp {
    let dir = Arc::new(TempDir::new().expect("a temporary directory"));
    let database_url = match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.path().join("p2p.db").display()),
        Backend::Postgres => fresh_postgres_database().await,
    };
    start(dir, database_url, tweak, Clock::default()).await
}

async fn start(
    dir: Arc<TempDir>,
    database_url: String,
    tweak: fn(&mut Config),
    clock: Clock,
) -> TestApp {
    let mut config = Config::for_database(database_url.clone());
    config.min_payment_window_secs = MIN_WINDOW_SECS;
    config.min_release_window_secs = MIN_WINDOW_SECS;
    // Tests simulate crashes of the process, not of the machine.
    config.sqlite_synchronous_full = false;
    config.audit_interval_secs = 1;
    // Idle wallets passivate within seconds, so longer tests revive them as they go.
    config.actor_idle_secs = 2;
    // Failed webhook deliveries retry within a fraction of a second.
    config.webhook_backoff_ms = 50;
    // Many tests cancel as takers; the cancel pause has its own test.
    config.taker_cancel_limit = 0;
    // Tests drive one token hard; the rate limit has its own test.
    config.rate_limit_per_sec = 0;
    // Two PostgreSQL committers, so every test also drives the dispatcher's disjoint batches
    // (the default is one; the nodes' tests run it).
    config.pg_committers = 2;
    tweak(&mut config);
    captured_logs();
    let app = Application::build(config, ADMIN, clock.clone())
        .await
        .expect("the service starts");
    let address = format!("http://{}", app.local_addr());
    let market = Some(app.market.clone());
    let (shutdown, stop) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let _ = app
            .run(async {
                let _ = stop.await;
            })
            .await;
    });
    TestApp {
        address,
        client: reqwest::Client::new(),
        database_url,
        clock,
        market,
        dir,
        tweak,
        shutdown: Some(shutdown),
        server: Some(server),
    }
}

impl TestApp {
    /// A client of a service running elsewhere (another process), on `database_url`.
    pub fn remote(address: String, database_url: String) -> TestApp {
        TestApp {
            address,
            client: reqwest::Client::new(),
            database_url,
            clock: Clock::default(),
            market: None,
            dir: Arc::new(TempDir::new().expect("a temporary directory")),
            tweak: |_| {},
            shutdown: None,
            server: None,
        }
    }

    /// Stops the service (its actors and timers too) and starts a new one on the same database,
    /// with the same clock: a restart does not turn time back.
    pub async fn restart(mut self) -> TestApp {
        self.stop().await;
        let clock = self.clock.clone();
        start(
            self.dir.clone(),
            self.database_url.clone(),
            self.tweak,
            clock,
        )
        .await
    }

    /// Stops the service; the database file stays.
    pub async fn stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self
            .client
            .request(method, format!("{}{}", self.address, path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the service answers");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer { status, body }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.call(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Answer {
        self.call(Method::DELETE, path, token, None).await
    }

    pub async fn create_user(&self, name: &str, role: &str) -> User {
        let body = self
            .post(
                "/api/v1/admin/users",
                Some(ADMIN),
                json!({"name": name, "role": role}),
            )
            .await
            .expect(201);
        User {
            id: body["id"].as_i64().unwrap(),
            token: body["token"].as_str().unwrap().to_string(),
        }
    }

    pub async fn transaction(&self, user: &User, kind: &str, amount: i64) -> Answer {
        let reference = format!("ref-{}", REFERENCES.fetch_add(1, Ordering::Relaxed));
        self.post(
            &format!("/api/v1/admin/users/{}/transactions", user.id),
            Some(ADMIN),
            json!({"kind": kind, "amount": amount, "reference": reference}),
        )
        .await
    }

    /// A user who deposited `deposit` kopecks.
    pub async fn player(&self, name: &str, deposit: i64) -> User {
        let user = self.create_user(name, "user").await;
        if deposit > 0 {
            self.transaction(&user, "deposit", deposit)
                .await
                .expect(201);
        }
        user
    }

    pub async fn operator(&self) -> User {
        self.create_user("operator", "operator").await
    }

    /// A buy ad by `maker`: `fields` override the defaults (RUB, 95.50, 1,000–10,000 RUB of 50,000).
    pub async fn buy_ad(&self, maker: &User, fields: Value) -> i64 {
        self.ad(maker, "buy", fields).await
    }

    /// A sell ad by `maker`, with card and sbp details.
    pub async fn sell_ad(&self, maker: &User, fields: Value) -> i64 {
        self.ad(maker, "sell", fields).await
    }

    async fn ad(&self, maker: &User, ad_type: &str, fields: Value) -> i64 {
        let mut body = json!({
            "type": ad_type,
            "fiat_currency": "RUB",
            "price": 9550,
            "min_amount": 100_000,
            "max_amount": 1_000_000,
            "total_amount": 5_000_000,
            "payment_methods": ["card", "sbp"],
        });
        if ad_type == "sell" {
            body["payment_details"] = json!({
                "card": {"card_number": "2200 7000 0000 0001"},
                "sbp": {"phone": "+7 900 000-00-01"},
            });
        }
        for (key, value) in fields.as_object().expect("fields is an object") {
            body[key] = value.clone();
        }
        self.post("/api/v1/p2p/ads", Some(&maker.token), body)
            .await
            .expect(201)["id"]
            .as_i64()
            .unwrap()
    }

    /// Takes an ad; for a buy ad (a withdrawal) with card details.
    pub async fn take(&self, taker: &User, ad_id: i64, amount: i64) -> Answer {
        self.post(
            "/api/v1/p2p/orders",
            Some(&taker.token),
            json!({
                "ad_id": ad_id,
                "usdt_amount": amount,
                "payment_method": "card",
                "payment_details": {"card_number": "2200 1234 5678 9012"},
            }),
        )
        .await
    }

    /// Runs a lifecycle step (`confirm-paid`, `cancel`, …) on an order.
    pub async fn step(&self, user: &User, order_id: i64, step: &str) -> Answer {
        self.post(
            &format!("/api/v1/p2p/orders/{order_id}/{step}"),
            Some(&user.token),
            json!({}),
        )
        .await
    }

    /// A withdrawal of `amount` that `seller` takes from `buyer`'s buy ad `ad_id`, which `buyer`
    /// says they paid.
    pub async fn paid_order(&self, buyer: &User, seller: &User, ad_id: i64, amount: i64) -> i64 {
        let order_id = self.take(seller, ad_id, amount).await.expect(201)["id"]
            .as_i64()
            .unwrap();
        self.step(buyer, order_id, "confirm-paid").await.expect(200);
        order_id
    }

    /// [`TestApp::paid_order`], then disputed by its seller.
    pub async fn disputed_order(
        &self,
        buyer: &User,
        seller: &User,
        ad_id: i64,
        amount: i64,
    ) -> i64 {
        let order_id = self.paid_order(buyer, seller, ad_id, amount).await;
        self.step(seller, order_id, "call-operator")
            .await
            .expect(200);
        order_id
    }

    /// Posts `text` in the order's chat as `user`.
    pub async fn say(&self, user: &User, order_id: i64, text: &str) {
        self.post(
            &format!("/api/v1/p2p/orders/{order_id}/messages"),
            Some(&user.token),
            json!({"message": text}),
        )
        .await
        .expect(201);
    }

    pub async fn order(&self, user: &User, order_id: i64) -> Value {
        self.get(&format!("/api/v1/p2p/orders/{order_id}"), Some(&user.token))
            .await
            .expect(200)
    }

    pub async fn ad_json(&self, ad_id: i64) -> Value {
        self.get(&format!("/api/v1/p2p/ads/{ad_id}"), None)
            .await
            .expect(200)
    }

    /// `(available, frozen)` of a user's balance.
    pub async fn balance(&self, user: &User) -> (i64, i64) {
        let me = self.get("/api/v1/me", Some(&user.token)).await.expect(200);
        (
            me["balance"]["available"].as_i64().unwrap(),
            me["balance"]["frozen"].as_i64().unwrap(),
        )
    }

    /// Asserts that every invariant of SPEC.md §8 holds in the database.
    pub async fn assert_audit(&self) -> Value {
        let report = self
            .get("/api/v1/admin/audit", Some(ADMIN))
            .await
            .expect(200);
        assert_eq!(report["ok"], json!(true), "audit failed: {report}");
        report
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// The ids of a page's items, in order.
pub fn item_ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .expect("a page has items")
        .iter()
        .map(|item| item["id"].as_i64().expect("an item has an id"))
        .collect()
}

/// Waits (up to `seconds`) until `check` is true.
pub async fn eventually<F, Fut>(seconds: u64, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Unix milliseconds of an RFC 3339 timestamp of the API (`YYYY-MM-DDTHH:MM:SS.mmmZ`), counted
/// from the start of its month: for differences within a month.
pub fn time_of(value: &serde_json::Value) -> i64 {
    let text = value.as_str().expect("a timestamp");
    let parse = |range: std::ops::Range<usize>| text[range].parse::<i64>().unwrap();
    let (hours, minutes, seconds, millis) =
        (parse(11..13), parse(14..16), parse(17..19), parse(20..23));
    let day = parse(8..10);
    (((day * 24 + hours) * 60 + minutes) * 60 + seconds) * 1000 + millis
}
