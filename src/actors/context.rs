//! What every actor shares: the store, the clock, the settings, the read model, the safeguards,
//! and the directories that find each kind of actor. Each actor's file adds the ways to find,
//! start and ask its kind.

use std::sync::Arc;
use std::time::Duration;

use super::directory::Directory;
use super::ended::EndedOrders;
use super::protocol::{AdMsg, OrderMsg, WalletMsg};
use crate::clock::Clock;
use crate::config::{Config, TAKER_CANCEL_WINDOW_MS};
use crate::domain::review::ReviewRules;
use crate::domain::{AdId, DomainError, ErrorCode, Kopecks, OrderId, UserId};
use crate::read_model::ReadModel;
use crate::safeguards::{PauseRule, Safeguards};
use crate::store::Store;

/// What every actor shares: the store, the clock, the read model and the directories.
pub struct Context {
    pub store: Store,
    pub clock: Clock,
    pub config: Config,
    pub read_model: Arc<ReadModel>,
    pub wallets: Directory<UserId, WalletMsg>,
    pub ads: Directory<AdId, AdMsg>,
    pub orders: Directory<OrderId, OrderMsg>,
    /// Orders that ended here lately.
    pub ended: EndedOrders,
    pub safeguards: Safeguards,
}

pub(super) fn spawn_failed(error: ractor::SpawnErr) -> DomainError {
    tracing::error!(%error, "actor failed to start");
    ErrorCode::Internal.into()
}

impl Context {
    /// How long a wallet or ad actor waits unused before it passivates.
    pub fn actor_idle(&self) -> Duration {
        Duration::from_secs(self.config.actor_idle_secs.max(1))
    }

    /// The cumulative deposits a seller needs before selling (§7 step 4).
    pub fn min_deposit(&self) -> Kopecks {
        Kopecks(self.config.min_deposit)
    }

    /// The rules that hold a new withdrawal for review.
    pub fn review_rules(&self) -> ReviewRules {
        const HOUR_MS: i64 = 3_600_000;
        let config = &self.config;
        ReviewRules {
            low_play_percent: config.review_low_play_percent,
            low_play_window_ms: config.review_low_play_hours * HOUR_MS,
            card_users: config.review_card_users,
            card_window_ms: config.review_card_days * 24 * HOUR_MS,
            new_account_limit: Kopecks(config.review_new_account_limit),
            new_account_ms: config.review_new_account_days * 24 * HOUR_MS,
        }
    }

    /// When a taker's cancels pause their taking.
    pub fn pause_rule(&self) -> PauseRule {
        PauseRule {
            limit: self.config.taker_cancel_limit,
            window_ms: TAKER_CANCEL_WINDOW_MS,
            pause_ms: self.config.taker_pause_secs.saturating_mul(1000),
        }
    }

    /// Stops every actor (at shutdown, or when a test restarts the service).
    pub fn stop_all(&self) {
        self.orders.stop_all();
        self.ads.stop_all();
        self.wallets.stop_all();
    }
}
