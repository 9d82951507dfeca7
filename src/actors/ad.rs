//! The ad actor: one per open ad, the only place its capacity is promised.
//!
//! Taking an ad is a two-phase transfer of capacity: `Reserve` holds the amount (so two takers
//! can never be promised the same capacity), the order's commit takes it in the database, and
//! `Settle` turns the hold into state, or voids it if the commit failed. Capacity given back by
//! a cancelled order arrives as `Restore` after its commit. The maker's own changes (terms,
//! status, closing) are committed here, one at a time.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use super::Named;

use crate::domain::ad::{Ad, AdPatch, AdStatus, AdType};
use crate::domain::{DomainError, ErrorCode, Kopecks, Millis};
use crate::read_model::ReadModel;
use crate::store::{Commit, Op, Store};

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
    Settle { hold: u64, committed: bool },
    /// A cancelled order's amount was given back in the database.
    Restore { amount: Kopecks },
    Update {
        maker_id: i64,
        patch: AdPatch,
        reply: RpcReplyPort<Result<Ad, DomainError>>,
    },
    /// Closes the ad; answers the closed ad and how much of its capacity the close released.
    Close {
        maker_id: i64,
        now: Millis,
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
        }
    }
}

pub struct AdActor {
    pub store: Store,
    pub read_model: Arc<ReadModel>,
}

pub struct AdState {
    ad: Ad,
    holds: HashMap<u64, Kopecks>,
    held: Kopecks,
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
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let (started, name) = (Instant::now(), message.name());
        match message {
            AdMsg::Reserve(take, reply) => {
                let _ = reply.send(reserve(state, take));
            }
            AdMsg::Settle { hold, committed } => {
                let Some(amount) = state.holds.remove(&hold) else {
                    return Ok(());
                };
                state.held -= amount;
                if committed && state.ad.status != AdStatus::Closed {
                    state.ad.available_amount -= amount;
                    self.read_model.publish(&state.ad);
                }
            }
            AdMsg::Restore { amount } => {
                // A closed ad's capacity never comes back: the store released it instead.
                if state.ad.status != AdStatus::Closed {
                    state.ad.available_amount += amount;
                    self.read_model.publish(&state.ad);
                }
            }
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
                reply,
            } => {
                let _ = reply.send(self.close(state, maker_id, now).await);
            }
        }
        crate::telemetry::record_actor_message(AdMsg::KIND, name, started);
        Ok(())
    }
}

fn reserve(state: &mut AdState, take: Take) -> Result<Ad, DomainError> {
    if state.ad.ad_type == AdType::Buy && !take.has_payment_details {
        return Err(DomainError::validation(
            "payment_details are required to sell: where should the buyer send the RUB?",
        ));
    }
    state
        .ad
        .check_take(take.taker_id, take.amount, &take.method, state.held)?;
    state.holds.insert(take.hold, take.amount);
    state.held += take.amount;
    Ok(state.ad.clone())
}

impl AdActor {
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
        self.store
            .commit(Commit::new(vec![Op::UpdateAd(Box::new(next.clone()))]))
            .await?;
        state.ad = next;
        self.read_model.publish(&state.ad);
        Ok(state.ad.clone())
    }

    async fn close(
        &self,
        state: &mut AdState,
        maker_id: i64,
        now: Millis,
    ) -> Result<(Ad, Kopecks), DomainError> {
        if state.ad.maker_id != maker_id {
            return Err(ErrorCode::Forbidden.into());
        }
        if state.ad.status == AdStatus::Closed {
            return Err(ErrorCode::AdNotActive.into());
        }
        self.store
            .commit(Commit::new(vec![Op::CloseAd {
                ad_id: state.ad.id,
                now,
            }]))
            .await?;
        // The store released what was available when it committed (holds still in flight
        // will find the ad closed and fail); read back exactly what it did.
        let before = state.ad.released_amount;
        state.ad = self
            .store
            .ad(state.ad.id)
            .await?
            .ok_or_else(|| DomainError::from(ErrorCode::NotFound))?;
        let released = state.ad.released_amount - before;
        self.read_model.publish(&state.ad);
        Ok((state.ad.clone(), released))
    }
}
