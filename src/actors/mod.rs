//! The actors that serialise the market's mutations, and the directory that finds them.
//!
//! - [`wallet`]: one per user wallet; checks a seller's prerequisites and commits the changes
//!   that spend from the wallet, one at a time.
//! - [`ad`]: one per open ad; holds capacity for orders being created.
//! - [`order`]: one per active order; serialises the order's life and its payment-window timer.
//!
//! Actors never fail on a business refusal: refusals travel in replies. An actor's state is a
//! cache of the database, which is the truth.

pub mod ad;
pub mod directory;
pub mod ended;
pub mod events;
pub mod order;
pub mod wallet;

use ractor::rpc::CallResult;
use std::time::Duration;

use ractor::{ActorRef, Message, RpcReplyPort};

use crate::config::{ACTOR_CALL_TIMEOUT, ACTOR_MAILBOX_BOUND};
use crate::domain::{DomainError, ErrorCode};

/// Why an actor gave no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoAnswer {
    /// The message never reached the actor: it had stopped (an order that ended, a wallet
    /// passivated). Nothing was done, so asking its successor is safe.
    NotDelivered,
    /// The actor took the message but stopped without answering: it may have acted, so the
    /// request must not be repeated.
    NoReply,
    /// The actor did not answer in time: it is overloaded.
    Timeout,
    /// The actor already has [`ACTOR_MAILBOX_BOUND`] calls waiting: nothing was sent.
    Full,
}

impl From<NoAnswer> for DomainError {
    fn from(no_answer: NoAnswer) -> Self {
        match no_answer {
            NoAnswer::Timeout | NoAnswer::Full => {
                DomainError::new(ErrorCode::Overloaded, "The service is busy, retry later")
            }
            NoAnswer::NotDelivered | NoAnswer::NoReply => DomainError::new(
                ErrorCode::Overloaded,
                "The service is restarting, retry later",
            ),
        }
    }
}

/// A kind of actor's messages: names for metrics and logs.
pub trait Named {
    /// The actor kind (`wallet`, `ad`, `order`).
    const KIND: &'static str;
    /// The message's name.
    fn name(&self) -> &'static str;
}

/// Sends a request to an actor and waits (bounded) for its answer.
pub async fn ask<M, T>(
    actor: &ActorRef<M>,
    request: impl FnOnce(RpcReplyPort<T>) -> M,
) -> Result<T, NoAnswer>
where
    M: Message + Named,
    T: Send + 'static,
{
    let Some(_waiting) = Waiting::enter(actor.get_id()) else {
        metrics::counter!(crate::telemetry::ACTOR_CALLS_SHED, "kind" => M::KIND).increment(1);
        return Err(NoAnswer::Full);
    };
    let in_flight = metrics::gauge!(crate::telemetry::ACTOR_CALLS_IN_FLIGHT, "kind" => M::KIND);
    in_flight.increment(1.0);
    let answer = actor.call(request, Some(ACTOR_CALL_TIMEOUT)).await;
    in_flight.decrement(1.0);
    match answer {
        Ok(CallResult::Success(answer)) => Ok(answer),
        Ok(CallResult::Timeout) => Err(NoAnswer::Timeout),
        Ok(CallResult::SenderError) => Err(NoAnswer::NoReply),
        Err(_) => Err(NoAnswer::NotDelivered),
    }
}

/// A timer of an actor's (`send_after`, `send_interval`), kept in the actor's state. ractor's
/// timer is a task that holds the actor's reference, and with it the mailbox, until it fires;
/// this one is aborted when dropped, so it ends with the state, whichever way the actor stops.
pub type Timer<T = ()> = tokio_util::task::AbortOnDropHandle<T>;

/// Sends `check` to `myself` every half `idle` (every 500 ms at least), so an actor passivates
/// between one and 1.5 idle times after its last use.
pub fn idle_checks<M: Message>(myself: &ActorRef<M>, idle: Duration, check: fn() -> M) -> Timer {
    Timer::new(myself.send_interval((idle / 2).max(Duration::from_millis(500)), check))
}

/// Calls waiting on each actor that has any: its mailbox's bound is enforced here, since ractor's
/// mailboxes are unbounded.
static WAITING: std::sync::LazyLock<dashmap::DashMap<ractor::ActorId, usize>> =
    std::sync::LazyLock::new(dashmap::DashMap::new);

/// One call counted against its actor's mailbox bound, until dropped.
struct Waiting(ractor::ActorId);

impl Waiting {
    fn enter(actor: ractor::ActorId) -> Option<Waiting> {
        let mut waiting = WAITING.entry(actor).or_insert(0);
        if *waiting >= ACTOR_MAILBOX_BOUND {
            return None;
        }
        *waiting += 1;
        Some(Waiting(actor))
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(mut waiting) = WAITING.get_mut(&self.0) {
            *waiting -= 1;
        }
        WAITING.remove_if(&self.0, |_, waiting| *waiting == 0);
    }
}

use std::sync::Arc;

use ractor::Actor;

use self::ad::{AdActor, AdMsg};
use self::directory::Directory;
use self::order::{OrderActor, OrderMsg};
use self::wallet::{Rule, WalletActor, WalletMsg};
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::order::Order;
use crate::domain::wallet::WalletDelta;
use crate::read_model::ReadModel;
use crate::store::{Commit, Receipt, Store};

/// What every actor shares: the store, the clock, the read model and the directories.
pub struct Context {
    pub store: Store,
    pub clock: Clock,
    pub config: Config,
    pub read_model: Arc<ReadModel>,
    pub wallets: Directory<WalletMsg>,
    pub ads: Directory<AdMsg>,
    pub orders: Directory<OrderMsg>,
    /// Orders that ended here lately.
    pub ended: ended::EndedOrders,
    pub safeguards: crate::safeguards::Safeguards,
}

fn spawn_failed(error: ractor::SpawnErr) -> DomainError {
    tracing::error!(%error, "actor failed to start");
    ErrorCode::Internal.into()
}

/// How often a request looks for an actor again when the one it found had just stopped.
pub const ACTOR_ATTEMPTS: usize = 3;

impl Context {
    /// How long a wallet or ad actor waits unused before it passivates.
    pub fn actor_idle(&self) -> Duration {
        Duration::from_secs(self.config.actor_idle_secs.max(1))
    }

    /// When a taker's cancels pause their taking.
    pub fn pause_rule(&self) -> crate::safeguards::PauseRule {
        crate::safeguards::PauseRule {
            limit: self.config.taker_cancel_limit,
            window_ms: crate::config::TAKER_CANCEL_WINDOW_MS,
            pause_ms: self.config.taker_pause_secs.saturating_mul(1000),
        }
    }

    /// The wallet actor of `user_id`, loaded from the store on first use.
    pub async fn wallet(
        self: &Arc<Self>,
        user_id: i64,
    ) -> Result<ActorRef<WalletMsg>, DomainError> {
        self.wallets
            .get_or_spawn(user_id, || async {
                let wallet = self
                    .store
                    .load_wallet(user_id)
                    .await?
                    .ok_or_else(|| DomainError::from(ErrorCode::NotFound))?;
                let actor = WalletActor {
                    context: self.clone(),
                };
                let (actor, _) = Actor::spawn(None, actor, (user_id, wallet))
                    .await
                    .map_err(spawn_failed)?;
                Ok(actor)
            })
            .await
    }

    /// Asks `user_id`'s wallet actor to check `rule`, commit `commit` and apply `delta`. A wallet
    /// that passivated as the request arrived is revived and asked again.
    pub async fn change_wallet(
        self: &Arc<Self>,
        user_id: i64,
        rule: Rule,
        commit: Commit,
        delta: WalletDelta,
    ) -> Result<Receipt, DomainError> {
        for _ in 0..ACTOR_ATTEMPTS {
            let wallet = self.wallet(user_id).await?;
            let commit = commit.clone();
            match ask(&wallet, |reply| WalletMsg::Change {
                rule,
                commit,
                delta,
                reply,
            })
            .await
            {
                Ok(outcome) => return outcome,
                Err(NoAnswer::NotDelivered) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(NoAnswer::NotDelivered.into())
    }

    /// The ad actor of `ad_id`, loaded from the store on first use.
    pub async fn ad(self: &Arc<Self>, ad_id: i64) -> Result<ActorRef<AdMsg>, DomainError> {
        self.ads
            .get_or_spawn(ad_id, || async {
                let ad = self
                    .store
                    .ad(ad_id)
                    .await?
                    .ok_or_else(|| DomainError::from(ErrorCode::NotFound))?;
                let actor = self.ad_actor();
                let (actor, _) = Actor::spawn(None, actor, ad).await.map_err(spawn_failed)?;
                Ok(actor)
            })
            .await
    }

    /// Starts the actor of a committed, active order (which arms its timer) and registers it.
    pub async fn spawn_order(
        self: &Arc<Self>,
        order: Order,
    ) -> Result<ActorRef<OrderMsg>, DomainError> {
        let id = order.id;
        let actor = self.start_order(order).await?;
        self.orders.insert(id, actor.clone());
        Ok(actor)
    }

    /// The actor of an active order, loaded from the store if it is not resident; `None` for an
    /// order that has ended (it needs no actor).
    pub async fn order_actor(
        self: &Arc<Self>,
        order: Order,
    ) -> Result<Option<ActorRef<OrderMsg>>, DomainError> {
        if let Some(actor) = self.orders.resident(order.id).await {
            return Ok(Some(actor));
        }
        if !order.status.is_active() {
            return Ok(None);
        }
        let actor = self
            .orders
            .get_or_spawn(order.id, || async {
                let actor = self.start_order(order).await?;
                Ok(actor)
            })
            .await?;
        Ok(Some(actor))
    }

    async fn start_order(
        self: &Arc<Self>,
        order: Order,
    ) -> Result<ActorRef<OrderMsg>, DomainError> {
        let actor = OrderActor {
            context: self.clone(),
        };
        let (actor, _) = Actor::spawn(None, actor, order)
            .await
            .map_err(spawn_failed)?;
        Ok(actor)
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

    /// Stops every actor (at shutdown, or when a test restarts the service).
    pub fn stop_all(&self) {
        self.orders.stop_all();
        self.ads.stop_all();
        self.wallets.stop_all();
    }
}

#[cfg(test)]
mod mailbox_tests {
    use super::*;
    use ractor::{ActorProcessingErr, ActorRef};

    struct Slow;

    struct Wait(RpcReplyPort<()>);

    impl Named for Wait {
        const KIND: &'static str = "test";
        fn name(&self) -> &'static str {
            "wait"
        }
    }

    impl Actor for Slow {
        type Msg = Wait;
        type State = ();
        type Arguments = ();

        async fn pre_start(&self, _: ActorRef<Wait>, _: ()) -> Result<(), ActorProcessingErr> {
            Ok(())
        }

        async fn handle(
            &self,
            _: ActorRef<Wait>,
            Wait(reply): Wait,
            _: &mut (),
        ) -> Result<(), ActorProcessingErr> {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            let _ = reply.send(());
            Ok(())
        }
    }

    #[tokio::test]
    async fn calls_past_the_mailbox_bound_are_refused_at_once() {
        let (actor, _) = Actor::spawn(None, Slow, ()).await.unwrap();
        let calls = ACTOR_MAILBOX_BOUND + 100;
        let answers = futures_util::future::join_all((0..calls).map(|_| ask(&actor, Wait))).await;
        let full = answers
            .iter()
            .filter(|a| **a == Err(NoAnswer::Full))
            .count();
        let answered = answers.iter().filter(|a| a.is_ok()).count();
        assert!(full >= 100, "{full} refused");
        assert_eq!(full + answered, calls);
        // Once the queue drains, calls go through again, and nothing is left counted.
        assert_eq!(ask(&actor, Wait).await, Ok(()));
        assert!(!WAITING.contains_key(&actor.get_id()));
        actor.stop(None);
    }
}
