//! P2P Market: a peer-to-peer RUB⇄USDT market with escrow for the players of a betting platform.
//!
//! # Layout
//! - [`config`]: every setting and every operational bound, in one place.
//! - [`clock`]: time from one place that tests can move.
//! - [`domain`]: the pure rules (ids and money, users, ads, wallets, the order state machine,
//!   events, validation, refusal codes); no I/O.
//! - [`views`]: the JSON shapes of SPEC.md §5, for answers, event data and the listing.
//! - [`safeguards`]: blocks between users and the taker cancel pause, in memory.
//! - [`telemetry`]: every metric's name, recording helpers, log setup.
//! - [`store`]: the database, the truth: reads on a pool, one committer for every write, the audit.
//! - [`read_model`]: ads as their actors publish them, for listings without the database.
//! - [`actors`]: ractor actors per wallet, ad and active order that serialise mutations.
//! - [`market`]: one function per thing a caller can ask; event fan-out, webhooks, upkeep.
//! - [`http`]: axum routers, extractors, error responses, the idempotency layer, OpenAPI.
//!
//! Dependencies point one way: `http → market → actors → store → domain`; `views`,
//! `safeguards`, `telemetry`, `config` and `clock` sit just above the domain, and nothing imports
//! a module above it.

pub mod actors;
pub mod clock;
pub mod config;
pub mod domain;
pub mod http;
pub mod market;
pub mod read_model;
pub mod safeguards;
pub mod store;
pub mod telemetry;
pub mod views;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::clock::Clock;
use crate::config::Config;
use crate::market::Market;
use crate::store::OpenError;

/// The running service: the market rebuilt from its store, and a bound listener.
pub struct Application {
    pub market: Arc<Market>,
    listener: TcpListener,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] OpenError),
    #[error("cannot listen on {0}: {1}")]
    Bind(String, std::io::Error),
}

impl Application {
    /// Opens the store, rebuilds the actors and binds `config.bind` (port 0 picks a free port).
    pub async fn build(
        config: Config,
        admin_token: &str,
        clock: Clock,
    ) -> Result<Application, StartError> {
        let bind = config.bind.clone();
        let listener = TcpListener::bind(&bind)
            .await
            .map_err(|e| StartError::Bind(bind.clone(), e))?;
        let market = Market::start(config, admin_token, clock).await?;
        Ok(Application { market, listener })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` completes (in-flight requests finish), then stops the actors.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let router = http::router(self.market.clone());
        let upkeep = market::upkeep::spawn(&self.market);
        let market = self.market.clone();
        let shutdown = async move {
            shutdown.await;
            // Event streams never end on their own: end them so the server can drain.
            market.close_streams();
        };
        let served = axum::serve(self.listener, router)
            .with_graceful_shutdown(shutdown)
            .await;
        upkeep.iter().for_each(|task| task.abort());
        self.market.shutdown().await;
        served
    }
}
