//! The ad actor: one per open ad on this node, the only place the node promises its capacity.
//!
//! Taking an ad is a two-phase transfer of capacity: `Reserve` holds the amount (so two takers
//! can never be promised the same capacity), the order's commit takes it in the database, and
//! `Settle` turns the hold into state, or voids it if the commit failed. Capacity given back by
//! a cancelled order arrives as `Restore` after its commit. The maker's own changes (terms,
//! status, closing) are committed here, one at a time.
//!
//! The cache knows the ad's `version` as of its last load from the database: a settled or
//! restored change whose commit left the ad at an older version is already in the cache and is
//! not applied twice. When the database refuses what the cache allowed (another node sold the
//! capacity, or closed the ad) the actor reloads; with several nodes it also reloads before it
//! refuses a take, since another node may have given capacity back.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use super::{Named, Timer, idle_checks};

use crate::domain::ad::{Ad, AdPatch, AdStatus, AdType};
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::{DomainError, ErrorCode, Kopecks, Millis};
use crate::read_model::ReadModel;
use crate::store::{Commit, Dialect, Op, Store};

/// What a taker asks of an ad.
#[derive(Debug, Clone)]
pub struct Take {
    pub hold: u64,
    pub taker_id: i64,
    pub amount: Kopecks,
    pub method: String,
    /// Whether the taker sent payment details (a withdrawal needs them).
    pub has_payment_details: bool,
}

pub enum AdMsg {
    /// §7 steps 2–3; on success the amount is held and the ad (as it is now) answered.
    Reserve(Take, RpcReplyPort<Result<Ad, DomainError>>),
    /// The order that held `hold` committed (the capacity is taken) or did not (it is freed).
    Settle { hold: u64, outcome: Settled },
    /// A cancelled order's amount was given back in the database, leaving the ad at `version`.
    Restore { amount: Kopecks, version: i64 },
    Update {
        maker_id: i64,
        patch: AdPatch,
        reply: RpcReplyPort<Result<Ad, DomainError>>,
    },
    /// Time to see whether the ad has been idle long enough to passivate.
    IdleCheck,
    /// Closes the ad; answers the closed ad and how much of its capacity the close released.
    Close {
        maker_id: i64,
        now: Millis,
        /// The request's idempotency key, recorded with the close.
        key: Option<IdempotencyKey>,
        reply: RpcReplyPort<Result<(Ad, Kopecks), DomainError>>,
    },
}

impl Named for AdMsg {
    const KIND: &'static str = "ad";

    fn name(&self) -> &'static str {
        match self {
            AdMsg::Reserve(..) => "reserve",
            AdMsg::Settle { .. } => "settle",
            AdMsg::Restore { .. } => "restore",
            AdMsg::Update { .. } => "update",
            AdMsg::Close { .. } => "close",
            AdMsg::IdleCheck => "idle_check",
        }
    }
}

/// How the commit of a held take ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// Committed, leaving the ad at `version`.
    Committed { version: i64 },
    /// Not committed; `stale` when the database refused what the cache allowed.
    Refused { stale: bool },
}

pub struct AdActor {
    pub store: Store,
    pub read_model: Arc<ReadModel>,
    /// For leaving the directory when idle.
    pub context: std::sync::Weak<super::Context>,
    /// Left alone this long with nothing held, the actor stops; the next request revives it.
    pub idle: Duration,
}

pub struct AdState {
    /// The ad as loaded (at `ad.version`) plus the changes settled since.
    ad: Ad,
    holds: HashMap<u64, Kopecks>,
    held: Kopecks,
    stale: bool,
    last_active: Instant,
    /// Started once the actor runs.
    idle_checks: Option<Timer>,
}

impl Actor for AdActor {
    type Msg = AdMsg;
    type State = AdState;
    type Arguments = Ad;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        ad: Ad,
    ) -> Result<Self::State, ActorProcessingErr> {
        self.read_model.publish(&ad);
        Ok(AdState {
            ad,
            holds: HashMap::new(),
            held: 0,
            stale: false,
            last_active: Instant::now(),
            idle_checks: None,
        })
    }

    async fn post_start(
        &self,
        myself: ActorRef<Self::Msg>,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        state.idle_checks = Some(idle_checks(&myself, self.idle, || AdMsg::IdleCheck));
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let (started, name) = (Instant::now(), message.name());
        if !matches!(message, AdMsg::IdleCheck) {
            state.last_active = Instant::now();
        }
        match message {
            AdMsg::IdleCheck => {
                let idle = state.holds.is_empty() && state.last_active.elapsed() >= self.idle;
                if let (true, Some(context)) = (idle, self.context.upgrade()) {
                    // Leave the directory first, so a new request revives a fresh actor; answer
                    // what is queued, then stop. The listing keeps the ad as it is.
                    context.ads.remove(state.ad.id, myself.get_id());
                    let _ = myself.drain();
                }
            }
            AdMsg::Reserve(take, reply) => {
                let _ = reply.send(self.reserve(state, take).await);
            }
            AdMsg::Settle { hold, outcome } => {
                let Some(amount) = state.holds.remove(&hold) else {
                    return Ok(());
                };
                state.held -= amount;
                match outcome {
                    Settled::Committed { version } => self.apply_change(state, -amount, version),
                    Settled::Refused { stale } => state.stale |= stale,
                }
            }
            AdMsg::Restore { amount, version } => self.apply_change(state, amount, version),
            AdMsg::Update {
                maker_id,
                patch,
                reply,
            } => {
                let _ = reply.send(self.update(state, maker_id, &patch).await);
            }
            AdMsg::Close {
                maker_id,
                now,
                key,
                reply,
            } => {
                let _ = reply.send(self.close(state, maker_id, now, key).await);
            }
        }
        crate::telemetry::record_actor_message(AdMsg::KIND, name, started);
        Ok(())
    }
}

impl AdActor {
    async fn reserve(&self, state: &mut AdState, take: Take) -> Result<Ad, DomainError> {
        if state.ad.ad_type == AdType::Buy && !take.has_payment_details {
            return Err(DomainError::validation(
                "payment_details are required to sell: where should the buyer send the RUB?",
            ));
        }
        let mut reloaded = false;
        if state.stale {
            self.reload(state).await?;
            reloaded = true;
        }
        let mut checked = state
            .ad
            .check_take(take.taker_id, take.amount, &take.method, state.held);
        let maybe_stale = matches!(
            checked,
            Err(ErrorCode::AmountExceedsAvailable | ErrorCode::AdNotActive)
        );
        if maybe_stale && !reloaded && self.store.dialect() == Dialect::Postgres {
            // Another node may have given capacity back or changed the ad: ask the truth.
            self.reload(state).await?;
            checked = state
                .ad
                .check_take(take.taker_id, take.amount, &take.method, state.held);
        }
        if checked == Err(ErrorCode::AmountExceedsAvailable)
            && state.held > 0
            && state
                .ad
                .check_take(take.taker_id, take.amount, &take.method, 0)
                .is_ok()
        {
            // Only takes still committing stand in the way; they may fail and free it.
            let mut refusal = DomainError::from(ErrorCode::AmountExceedsAvailable);
            refusal.held_in_flight = true;
            return Err(refusal);
        }
        checked?;
        state.holds.insert(take.hold, take.amount);
        state.held += take.amount;
        Ok(state.ad.clone())
    }

    /// Applies a committed change of capacity, unless the cache was loaded after it.
    fn apply_change(&self, state: &mut AdState, amount: Kopecks, version: i64) {
        // A closed ad's capacity never comes back: the store released it instead.
        if version > state.ad.version && state.ad.status != AdStatus::Closed {
            state.ad.available_amount += amount;
            self.read_model.publish(&state.ad);
        }
    }

    /// Replaces the cache with the ad as the database has it now.
    async fn reload(&self, state: &mut AdState) -> Result<(), DomainError> {
        state.ad = self
            .store
            .ad(state.ad.id)
            .await?
            .ok_or_else(|| DomainError::from(ErrorCode::NotFound))?;
        state.stale = false;
        self.read_model.publish(&state.ad);
        Ok(())
    }

    async fn update(
        &self,
        state: &mut AdState,
        maker_id: i64,
        patch: &AdPatch,
    ) -> Result<Ad, DomainError> {
        if state.ad.maker_id != maker_id {
            return Err(ErrorCode::Forbidden.into());
        }
        let next = state.ad.patched(patch)?;
        if let Err(refusal) = self
            .store
            .commit(Commit::new(vec![Op::UpdateAd(Box::new(next.clone()))]))
            .await
        {
            state.stale = true;
            return Err(refusal);
        }
        state.ad = next;
        self.read_model.publish(&state.ad);
        Ok(state.ad.clone())
    }

    async fn close(
        &self,
        state: &mut AdState,
        maker_id: i64,
        now: Millis,
        key: Option<IdempotencyKey>,
    ) -> Result<(Ad, Kopecks), DomainError> {
        if state.ad.maker_id != maker_id {
            return Err(ErrorCode::Forbidden.into());
        }
        if state.ad.status == AdStatus::Closed {
            return Err(ErrorCode::AdNotActive.into());
        }
        if let Err(refusal) = self
            .store
            .commit(
                Commit::new(vec![Op::CloseAd {
                    ad_id: state.ad.id,
                    maker_id: state.ad.maker_id,
                    now,
                }])
                .keyed(key),
            )
            .await
        {
            state.stale = true;
            return Err(refusal);
        }
        // The store released what was available when it committed (holds still in flight
        // will find the ad closed and fail); read back exactly what it did.
        let before = state.ad.released_amount;
        self.reload(state).await?;
        let released = state.ad.released_amount - before;
        Ok((state.ad.clone(), released))
    }
}
