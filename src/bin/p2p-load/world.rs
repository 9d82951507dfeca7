//! The harness's own world: makers with ads, funded players, an operator; and the final check
//! of every balance against the harness's bookkeeping.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Client, Method};
use serde_json::{Value, json};

use crate::Args;

/// Each maker's deposit: enough to back a large sell ad.
const MAKER_FUNDS: i64 = 100_000_000_000;
/// Each player's deposit: enough for many withdrawals.
const PLAYER_FUNDS: i64 = 1_000_000_000;
/// Each ad's total: more than a long run takes.
const AD_TOTAL: i64 = 50_000_000_000;

/// A thin HTTP client that times every call.
#[derive(Clone)]
pub struct Api {
    client: Client,
    /// Parsed once: each call only sets its path and query, never parses a host again.
    base: reqwest::Url,
}

/// One answer: status, raw body and how long it took. The body is parsed only as far as the
/// caller needs, so the harness spends its CPU on load, not on JSON.
pub struct Answer {
    pub status: u16,
    pub bytes: axum::body::Bytes,
    pub elapsed: Duration,
    /// What `Retry-After` asked of a `429` or `503`.
    pub retry_after: Option<Duration>,
}

impl Answer {
    pub fn body(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }

    pub fn code(&self) -> String {
        self.body()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }
}

impl Api {
    pub fn new(client: Client, base: &str) -> Result<Self, String> {
        let base = reqwest::Url::parse(base).map_err(|error| format!("--url {base:?}: {error}"))?;
        Ok(Self { client, base })
    }

    fn url(&self, path: &str) -> reqwest::Url {
        let mut url = self.base.clone();
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        url.set_path(path);
        url.set_query((!query.is_empty()).then_some(query));
        url
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> Answer {
        self.send(method, path, token, body, None).await
    }

    /// A call of the world's setup: a `429` or `503` is tried again after its `Retry-After`
    /// (a second if it names none), up to [`SETUP_ATTEMPTS`] times, a POST under one
    /// `Idempotency-Key` so that a retried write never happens twice.
    pub async fn call_patiently(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> Answer {
        let number = SETUP_KEYS.fetch_add(1, Ordering::Relaxed);
        let key = format!("load-setup-{}-{number}", std::process::id());
        let key = (method == Method::POST).then_some(key.as_str());
        let mut attempt = 1;
        loop {
            let answer = self.send(method.clone(), path, token, body, key).await;
            if !matches!(answer.status, 429 | 503) || attempt == SETUP_ATTEMPTS {
                return answer;
            }
            attempt += 1;
            tokio::time::sleep(answer.retry_after.unwrap_or(Duration::from_secs(1))).await;
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> Answer {
        let started = Instant::now();
        let mut request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after = matches!(status, 429 | 503)
                    .then(|| response.headers().get(reqwest::header::RETRY_AFTER))
                    .flatten()
                    .and_then(|value| value.to_str().ok()?.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                let bytes = response.bytes().await.unwrap_or_default();
                Answer {
                    status,
                    bytes,
                    elapsed: started.elapsed(),
                    retry_after,
                }
            }
            // No answer at all counts as a server failure.
            Err(error) => Answer {
                status: 599,
                bytes: json!({"error": {"code": "NO_ANSWER", "message": error.to_string()}})
                    .to_string()
                    .into(),
                elapsed: started.elapsed(),
                retry_after: None,
            },
        }
    }
}

/// How many times the world's setup asks again after `429` or `503`.
const SETUP_ATTEMPTS: u32 = 30;

/// Numbers the setup's idempotency keys.
static SETUP_KEYS: AtomicU64 = AtomicU64::new(0);

#[derive(Debug, Clone)]
pub struct Trader {
    pub id: i64,
    pub token: String,
}

pub struct World {
    pub admin_token: String,
    pub makers: Vec<Trader>,
    pub players: Vec<Trader>,
    pub operator: Trader,
    /// Each user's balance (available + frozen) when the run started.
    pub opening: HashMap<i64, i64>,
    /// How long the virtual users run (unless a scenario budget stops them first).
    pub duration: Duration,
}

/// The harness's expectation of each user's balance change.
pub type Book = HashMap<i64, i64>;

/// The final check: the audit, and every balance against the book.
pub struct Check {
    pub audit_ok: bool,
    pub audit: Value,
    pub mismatches: Vec<String>,
}

async fn expect(answer: Answer, status: u16, what: &str) -> Result<Value, String> {
    if answer.status == status {
        Ok(answer.body())
    } else {
        Err(format!("{what}: {} {}", answer.status, answer.body()))
    }
}

/// Creates a user (with `role`) through the admin API, and funds it with `funds` if any.
async fn create_user(
    api: Api,
    admin: String,
    body: Value,
    funds: Option<(i64, String)>,
) -> Result<Trader, String> {
    let created = expect(
        api.call_patiently(Method::POST, "/api/v1/admin/users", &admin, Some(&body))
            .await,
        201,
        "create user",
    )
    .await?;
    let trader = Trader {
        id: created["id"].as_i64().unwrap_or_default(),
        token: created["token"].as_str().unwrap_or_default().to_string(),
    };
    if let Some((amount, run)) = funds {
        let reference = format!("load-{run}-{}", trader.id);
        let deposit = json!({"kind": "deposit", "amount": amount, "reference": reference});
        let path = format!("/api/v1/admin/users/{}/transactions", trader.id);
        expect(
            api.call_patiently(Method::POST, &path, &admin, Some(&deposit))
                .await,
            201,
            "deposit",
        )
        .await?;
    }
    Ok(trader)
}

/// Posts the `index`-th maker's ad of `ad_type`; answers its id.
async fn post_ad(
    api: Api,
    maker: Trader,
    index: usize,
    ad_type: &'static str,
) -> Result<i64, String> {
    let mut body = json!({
        "type": ad_type, "fiat_currency": "RUB", "price": 9500 + (index as i64 * 7) % 200,
        "min_amount": 100_000, "max_amount": 1_000_000, "total_amount": AD_TOTAL,
        "payment_methods": ["card", "sbp"], "terms": "load test",
    });
    if ad_type == "sell" {
        body["payment_details"] = json!({"card": {"card_number": "2200 0000 0000 0000"}, "sbp": {"phone": "+7 900 000-00-00"}});
    }
    let created = expect(
        api.call_patiently(Method::POST, "/api/v1/p2p/ads", &maker.token, Some(&body))
            .await,
        201,
        "ad",
    )
    .await?;
    Ok(created["id"].as_i64().unwrap_or_default())
}

impl World {
    /// Makers with a buy and a sell ad each, funded players and an operator, made through the
    /// admin API; and everyone's opening balance.
    pub async fn create(api: &Api, args: &Args) -> Result<World, String> {
        let admin = args.admin_token.clone();
        let tag = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        let run = format!("{tag}-{}", args.seed);
        let trader = |name: String, funds: i64| {
            let body = json!({"name": name});
            create_user(api.clone(), admin.clone(), body, Some((funds, run.clone())))
        };
        let makers = in_parallel(args.makers, args.concurrency, |i| {
            trader(format!("load maker {i}"), MAKER_FUNDS)
        })
        .await?;
        let players = in_parallel(args.players, args.concurrency, |i| {
            trader(format!("load player {i}"), PLAYER_FUNDS)
        })
        .await?;
        let desk = json!({"name": "load operator", "role": "operator"});
        let operator = create_user(api.clone(), admin.clone(), desk, None).await?;
        for ad_type in ["buy", "sell"] {
            in_parallel(makers.len(), args.concurrency, |i| {
                post_ad(api.clone(), makers[i].clone(), i, ad_type)
            })
            .await?;
        }
        let mut world = World {
            admin_token: admin,
            makers,
            players,
            operator,
            opening: HashMap::new(),
            duration: args.duration,
        };
        world.opening = world.balances(api, args.concurrency).await?;
        Ok(world)
    }

    /// Every harness user's balance (available + frozen) now.
    async fn balances(&self, api: &Api, concurrency: usize) -> Result<HashMap<i64, i64>, String> {
        let everyone: Vec<&Trader> = self.makers.iter().chain(&self.players).collect();
        let found = in_parallel(everyone.len(), concurrency, |i| {
            let (api, trader) = (api.clone(), everyone[i].clone());
            async move {
                let me = expect(
                    api.call_patiently(Method::GET, "/api/v1/me", &trader.token, None)
                        .await,
                    200,
                    "me",
                )
                .await?;
                let balance = me["balance"]["available"].as_i64().unwrap_or_default()
                    + me["balance"]["frozen"].as_i64().unwrap_or_default();
                Ok::<(i64, i64), String>((trader.id, balance))
            }
        })
        .await?;
        Ok(found.into_iter().collect())
    }

    /// Runs the audit and compares every balance with the opening balance plus the book.
    pub async fn check(&self, api: &Api, book: &Book) -> Check {
        let audit = api
            .call_patiently(Method::GET, "/api/v1/admin/audit", &self.admin_token, None)
            .await;
        let report = audit.body();
        let audit_ok = audit.status == 200 && report["ok"] == json!(true);
        let mut mismatches = Vec::new();
        match self.balances(api, 32).await {
            Ok(closing) => {
                for (id, opening) in &self.opening {
                    let expected = opening + book.get(id).copied().unwrap_or_default();
                    let actual = closing.get(id).copied().unwrap_or_default();
                    if expected != actual {
                        mismatches.push(format!("user {id}: expected {expected}, found {actual}"));
                    }
                }
            }
            Err(error) => mismatches.push(format!("could not read the balances: {error}")),
        }
        Check {
            audit_ok,
            audit: report,
            mismatches,
        }
    }
}

/// Runs `make(i)` for `i` in `0..count`, at most `width` at once, in order of `i`.
async fn in_parallel<T, F, Fut>(count: usize, width: usize, make: F) -> Result<Vec<T>, String>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<T, String>> + Send + 'static,
{
    let next = Arc::new(AtomicUsize::new(0));
    let jobs: Vec<_> = (0..count).map(|i| Some(make(i))).collect();
    let jobs = Arc::new(std::sync::Mutex::new(jobs));
    let mut workers = Vec::new();
    for _ in 0..width.clamp(1, count.max(1)) {
        let (next, jobs) = (next.clone(), jobs.clone());
        workers.push(tokio::spawn(async move {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.lock().unwrap().get_mut(i).and_then(Option::take) else {
                    return Ok::<_, String>(done);
                };
                done.push((i, job.await?));
            }
        }));
    }
    let mut all = Vec::with_capacity(count);
    for worker in workers {
        all.extend(worker.await.map_err(|e| e.to_string())??);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, value)| value).collect())
}
