//! The ad actor: one per open ad on this node, the only place the node promises its capacity.
//!
//! Taking an ad is a two-phase transfer of capacity: `Hold` promises the amount to one take (so
//! two takers can never be promised the same capacity), the order's commit takes it in the
//! database, and `Settle` turns the hold into state, or drops it if the commit failed. Capacity
//! a cancelled order returns arrives as `Return` after its commit. The maker's own changes
//! (terms, status, closing) are committed here, one at a time.
//!
//! The cache knows the ad's `version` as of its last load from the database: a settled or
//! returned change whose commit left the ad at an older version is already in the cache and is
//! not applied twice. When the database refuses what the cache allowed (another node sold the
//! capacity, or closed the ad) the actor reloads; with several nodes it also reloads before it
//! refuses a take, since another node may have returned capacity.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use super::call::{Named, NoAnswer, ask};
use super::context::{Context, spawn_failed};
use super::idle::Idle;
use super::protocol::{AdMsg, Settled, Take};
use crate::config::ACTOR_ATTEMPTS;

use crate::domain::ad::{Ad, AdPatch, AdStatus, AdType};
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::pricing::PriceType;
use crate::domain::requirements::Standing;
use crate::domain::{AdId, UserId};
use crate::domain::{DomainError, ErrorCode, Kopecks, Millis};
use crate::read_model::ReadModel;
use crate::store::{Commit, Dialect, Op, Store};

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
    /// Since the last message other than an idle check.
    idle: Idle,
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
            held: Kopecks::ZERO,
            stale: false,
            idle: Idle::new(),
        })
    }

    async fn post_start(
        &self,
        myself: ActorRef<Self::Msg>,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        state.idle.start(&myself, self.idle, || AdMsg::IdleCheck);
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
            state.idle.touch();
        }
        match message {
            AdMsg::IdleCheck => {
                let idle = state.holds.is_empty() && state.idle.is_over(self.idle);
                if let (true, Some(context)) = (idle, self.context.upgrade()) {
                    // The listing keeps the ad as it is.
                    context.ads.passivate(state.ad.id, &myself);
                }
            }
            AdMsg::Hold(take, reply) => {
                let _ = reply.send(self.hold(state, take).await);
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
            AdMsg::Return { amount, version } => self.apply_change(state, amount, version),
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
    async fn hold(&self, state: &mut AdState, mut take: Take) -> Result<Ad, DomainError> {
        if state.ad.ad_type == AdType::Buy && !take.has_payment_details {
            return Err(DomainError::new(
                ErrorCode::PaymentDetailsRequired,
                "payment_details are required to sell: where should the buyer send the RUB?",
            ));
        }
        let mut reloaded = false;
        if state.stale {
            self.reload(state).await?;
            reloaded = true;
        }
        self.reprice(state);
        let mut checked = self.check(state, &mut take, state.held).await?;
        // Every refusal but one's own ad may come from a copy another node's change made stale
        // (capacity given back, terms or status changed).
        let maybe_stale = checked.is_err() && checked != Err(ErrorCode::OwnAd);
        if maybe_stale && !reloaded && self.store.dialect() == Dialect::Postgres {
            // Ask the truth before refusing.
            self.reload(state).await?;
            self.reprice(state);
            checked = self.check(state, &mut take, state.held).await?;
        }
        if checked == Err(ErrorCode::AmountExceedsAvailable)
            && state.held.is_positive()
            && self.check(state, &mut take, Kopecks::ZERO).await?.is_ok()
        {
            // Only takes still committing stand in the way; they may fail and free it.
            let mut refusal = DomainError::from(ErrorCode::AmountExceedsAvailable);
            refusal.held_in_flight = true;
            return Err(refusal);
        }
        checked.map_err(|code| match (code, &take.standing) {
            (ErrorCode::CounterpartyRequirementsNotMet, Some(standing)) => {
                state.ad.requirements.refusal(standing)
            }
            (ErrorCode::AdNotActive, _) => DomainError::new(code, state.ad.not_active_reason()),
            _ => DomainError::from(code),
        })?;
        state.holds.insert(take.hold, take.amount);
        state.held += take.amount;
        Ok(state.ad.clone())
    }

    /// §7 steps 2–3 for `take` with `held` promised to others; reads the taker's standing first
    /// if the ad has requirements and the take came without it.
    async fn check(
        &self,
        state: &AdState,
        take: &mut Take,
        held: Kopecks,
    ) -> Result<Result<(), ErrorCode>, DomainError> {
        let ad = &state.ad;
        if !ad.requirements.is_empty() && take.standing.is_none() {
            let taker = self.store.user(take.taker_id).await?;
            let taker = taker.ok_or_else(|| DomainError::from(ErrorCode::NotFound))?;
            take.standing = Some(Standing::of(&taker, take.now));
        }
        let standing = take.standing.as_ref();
        Ok(ad.check_take(take.taker_id, take.amount, &take.method, held, standing))
    }

    /// Prices a floating ad over its currency's index price now: it is taken at that price, and
    /// not at all while there is none.
    fn reprice(&self, state: &mut AdState) {
        if state.ad.price_type == PriceType::Floating {
            state.ad.price = self.read_model.price_of(&state.ad);
        }
    }

    /// Applies a committed change of capacity, unless the cache was loaded after it.
    fn apply_change(&self, state: &mut AdState, amount: Kopecks, version: i64) {
        // A closed ad's capacity never comes back: the store adds it to the closed amount.
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
        maker_id: UserId,
        patch: &AdPatch,
    ) -> Result<Ad, DomainError> {
        if state.ad.maker_id != maker_id {
            return Err(ErrorCode::Forbidden.into());
        }
        let mut next = state.ad.patched(patch)?;
        let committed = self
            .store
            .commit(Commit::new(vec![Op::UpdateAd(Box::new(next.clone()))]))
            .await;
        let receipt = match committed {
            Ok(receipt) => receipt,
            Err(refusal) => {
                state.stale = true;
                return Err(refusal);
            }
        };
        // The store counted the change of terms (from its own count: a copy that missed a
        // change on another node then misses a take, and reloads).
        next.terms_version += 1;
        next.version = receipt.ad_version.unwrap_or(next.version);
        state.ad = next;
        self.read_model.publish(&state.ad);
        Ok(state.ad.clone())
    }

    async fn close(
        &self,
        state: &mut AdState,
        maker_id: UserId,
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
        // The store took off the market what was available when it committed (holds still in
        // flight will find the ad closed and fail); read back exactly what it did.
        let before = state.ad.closed_amount;
        self.reload(state).await?;
        let closed = state.ad.closed_amount - before;
        Ok((state.ad.clone(), closed))
    }
}

impl Context {
    /// The ad actor of `ad_id`, loaded from the store on first use.
    pub async fn ad(self: &Arc<Self>, ad_id: i64) -> Result<ActorRef<AdMsg>, DomainError> {
        self.ads
            .get_or_spawn(AdId(ad_id), || async {
                let ad = self
                    .store
                    .ad(AdId(ad_id))
                    .await?
                    .ok_or_else(|| DomainError::from(ErrorCode::NotFound))?;
                let actor = self.ad_actor();
                let (actor, _) = Actor::spawn(None, actor, ad).await.map_err(spawn_failed)?;
                Ok(actor)
            })
            .await
    }

    /// Starts the actor of an ad just created (or found open at start) and registers it.
    pub async fn spawn_ad(
        self: &Arc<Self>,
        ad: crate::domain::ad::Ad,
    ) -> Result<ActorRef<AdMsg>, DomainError> {
        let id = ad.id;
        let actor = self.ad_actor();
        let (actor, _) = Actor::spawn(None, actor, ad).await.map_err(spawn_failed)?;
        self.ads.insert(id, actor.clone());
        Ok(actor)
    }

    /// Asks `ad_id`'s actor; one that passivated as the request arrived is revived and asked
    /// again. Answers the actor that answered (a hold must be settled with it).
    pub async fn ask_ad<T: Send + 'static>(
        self: &Arc<Self>,
        ad_id: i64,
        request: impl Fn(RpcReplyPort<T>) -> AdMsg,
    ) -> Result<(ActorRef<AdMsg>, T), DomainError> {
        for _ in 0..ACTOR_ATTEMPTS {
            let actor = self.ad(ad_id).await?;
            match ask(&actor, &request).await {
                Ok(answer) => return Ok((actor, answer)),
                Err(NoAnswer::NotDelivered) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(NoAnswer::NotDelivered.into())
    }

    fn ad_actor(self: &Arc<Self>) -> AdActor {
        AdActor {
            store: self.store.clone(),
            read_model: self.read_model.clone(),
            context: Arc::downgrade(self),
            idle: self.actor_idle(),
        }
    }
}
