//! The market service: its state, how it starts from the store, and who a token belongs to.

use std::sync::Arc;

use dashmap::DashMap;
use sha2::{Digest, Sha256};

use super::hub::{Hub, Subscription};
use super::running::InFlight;
use crate::actors::Context;
use crate::actors::directory::Directory;
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::UserId;
use crate::domain::event::{Audience, Event};
use crate::domain::{Caller, DomainError, ErrorCode};
use crate::read_model::ReadModel;
use crate::store::{OpenError, Store};

/// Each user's last seen minute on this node, and whether it is written (see `seen.rs`).
#[derive(Default)]
pub struct Seen(pub(super) DashMap<UserId, (crate::domain::Millis, bool)>);

/// Who a bearer token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    /// The platform, with the admin token.
    Admin,
    User(Caller),
}

pub struct Market {
    pub(super) context: Arc<Context>,
    admin_token_hash: String,
    /// Bearer tokens already seen, by their hash. Roles never change, so entries never go stale.
    principals: DashMap<String, Caller>,
    /// Live order events for the event streams.
    pub(super) hub: Arc<Hub>,
    /// Idempotency keys whose requests run on this node now.
    pub(super) keys_in_flight: InFlight,
    /// Users' last-seen minutes on this node, written once a second.
    pub(super) seen: Seen,
    /// The key evidence bundles are signed with.
    pub(super) signer: ed25519_dalek::SigningKey,
    /// Requests per user token and second, if limited.
    rate_limiter: Option<governor::DefaultKeyedRateLimiter<UserId>>,
}

fn rate_limiter(per_sec: u32) -> Option<governor::DefaultKeyedRateLimiter<UserId>> {
    let per_sec = std::num::NonZeroU32::new(per_sec)?;
    let burst = per_sec.saturating_mul(std::num::NonZeroU32::MIN.saturating_add(1));
    Some(governor::RateLimiter::keyed(
        governor::Quota::per_second(per_sec).allow_burst(burst),
    ))
}

/// A fresh random token: 256 bits, hex.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source is unavailable");
    format!("p2p_{}", hex::encode(bytes))
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Market {
    /// Opens the store and rebuilds every actor from it: open ads (and the listing), and active
    /// orders, whose timers re-arm; orders whose payment window ended while the service was down
    /// expire at once.
    pub async fn start(
        config: Config,
        admin_token: &str,
        clock: Clock,
    ) -> Result<Arc<Market>, OpenError> {
        let store = Store::open(&config).await?;
        let signer = super::signing::signing_key(&store, &config, clock.now_ms())
            .await
            .map_err(OpenError::Rebuild)?;
        let context = Arc::new(Context {
            store,
            clock,
            config,
            read_model: Arc::new(ReadModel::default()),
            wallets: Directory::new("wallet"),
            ads: Directory::new("ad"),
            orders: Directory::new("order"),
            ended: Default::default(),
            safeguards: Default::default(),
        });
        let market = Arc::new(Market {
            context: context.clone(),
            admin_token_hash: token_hash(admin_token),
            principals: DashMap::new(),
            hub: Hub::new(),
            keys_in_flight: Default::default(),
            seen: Default::default(),
            signer,
            rate_limiter: rate_limiter(context.config.rate_limit_per_sec),
        });
        market
            .rebuild()
            .await
            .map_err(|e| OpenError::Rebuild(e.to_string()))?;
        Ok(market)
    }

    async fn rebuild(&self) -> Result<(), DomainError> {
        let context = &self.context;
        self.reload_safeguards().await?;
        self.load_index_prices().await?;
        for maker in context
            .store
            .makers_of_open_ads(self.window_start())
            .await?
        {
            self.list_maker(maker);
        }
        for ad in context.store.open_ads().await? {
            context.spawn_ad(ad).await?;
        }
        let active = context.store.active_orders().await?;
        let overdue = active
            .iter()
            .filter(|o| {
                o.expires_at <= context.clock.now_ms()
                    && o.status == crate::domain::order::OrderStatus::Pending
            })
            .count();
        for order in active {
            context.spawn_order(order).await?;
        }
        tracing::info!(
            ads = context.ads.len(),
            orders = context.orders.len(),
            overdue,
            "rebuilt from the store"
        );
        Ok(())
    }

    /// Stops every actor and closes the store's read pool.
    pub async fn shutdown(&self) {
        self.context.stop_all();
        self.context.store.close().await;
    }

    /// Who `token` belongs to; unknown tokens are `UNAUTHORIZED`.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, DomainError> {
        let hash = token_hash(token);
        if hash == self.admin_token_hash {
            return Ok(Principal::Admin);
        }
        if let Some(caller) = self.principals.get(&hash) {
            self.note_seen(caller.user_id);
            return Ok(Principal::User(*caller));
        }
        let user = self
            .context
            .store
            .user_by_token_hash(&hash)
            .await?
            .ok_or_else(|| DomainError::from(ErrorCode::Unauthorized))?;
        let caller = Caller {
            user_id: user.id,
            role: user.role,
        };
        self.principals.insert(hash, caller);
        self.note_seen(caller.user_id);
        Ok(Principal::User(caller))
    }

    /// Counts a request of `user_id` against its rate limit: `RATE_LIMITED`, with the wait, once
    /// the user is over it.
    pub fn admit(&self, user_id: UserId) -> Result<(), DomainError> {
        let Some(limiter) = &self.rate_limiter else {
            return Ok(());
        };
        limiter.check_key(&user_id).map_err(|not_until| {
            metrics::counter!(crate::telemetry::RATE_LIMITED).increment(1);
            let clock = governor::clock::DefaultClock::default();
            let wait = not_until.wait_time_from(governor::clock::Clock::now(&clock));
            DomainError::new(
                ErrorCode::RateLimited,
                format!(
                    "Too many requests: at most {} a second",
                    self.context.config.rate_limit_per_sec
                ),
            )
            .retry_after(wait.as_secs_f64().ceil() as u64)
        })
    }

    /// Forgets the rate-limit state of users who have been quiet.
    pub fn forget_quiet_users(&self) {
        if let Some(limiter) = &self.rate_limiter {
            limiter.retain_recent();
        }
    }

    pub fn now_ms(&self) -> i64 {
        self.context.clock.now_ms()
    }

    /// The first day of the track records' window that ends today.
    pub(super) fn window_start(&self) -> i64 {
        crate::domain::track::day_of(self.now_ms()) - crate::domain::track::WINDOW_DAYS + 1
    }

    pub(crate) fn store(&self) -> &Store {
        &self.context.store
    }

    pub fn config(&self) -> &Config {
        &self.context.config
    }

    /// Whether the database answers.
    pub async fn ready(&self) -> bool {
        self.store().ping().await
    }

    /// Every invariant of SPEC.md §8, checked against the database.
    pub async fn audit(&self) -> Result<crate::domain::audit::Report, DomainError> {
        self.store().audit().await
    }

    /// How many actors of each kind are resident on this node now.
    pub fn resident_actors(&self) -> ResidentActors {
        ResidentActors {
            wallets: self.context.wallets.len(),
            ads: self.context.ads.len(),
            orders: self.context.orders.len(),
        }
    }
}

/// Actors resident on a node, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResidentActors {
    pub wallets: usize,
    pub ads: usize,
    pub orders: usize,
}

impl Market {
    /// A stream's subscription to live events of `audience`.
    pub fn subscribe(&self, audience: Audience) -> Subscription {
        self.hub.subscribe(audience)
    }

    /// Ends every event stream, now and from now on (at shutdown, so requests can drain).
    pub fn close_streams(&self) {
        self.hub.close();
    }

    /// Committed events of `audience` after `after_id`, oldest first.
    pub async fn events(
        &self,
        audience: Audience,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<Event>, DomainError> {
        self.store().events(audience, after_id, limit).await
    }

    /// The newest committed event's id (0 before any).
    pub async fn last_event_id(&self) -> Result<i64, DomainError> {
        self.store().last_event_id().await
    }
}
