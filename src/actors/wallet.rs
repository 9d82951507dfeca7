//! The wallet actor: one per user, the only place a user's balance is spent from.
//!
//! Every change that spends from the wallet (an escrow freeze, a sell ad's reserve, a bet) is
//! checked against the cached wallet, committed, and applied here, one at a time, so two
//! requests can never both spend the same kopecks. Changes committed elsewhere (an order's
//! release or refund) are sent here with their place in the committer's order and applied
//! unless the cache was loaded after them; a change whose amount only the database knows marks
//! the cache stale, to reload before the next check. The database's guarded updates refuse
//! anything the cache got wrong.
//!
//! Memory follows the active users, not the registered ones: a wallet left alone for
//! `P2P_ACTOR_IDLE_SECS` leaves the directory, finishes what is queued and stops; its next
//! request revives it from the database.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::call::{Named, NoAnswer, ask};
use super::context::{Context, spawn_failed};
use super::idle::Idle;
use super::protocol::{Rule, WalletMsg};
use crate::config::ACTOR_ATTEMPTS;

use crate::domain::UserId;
use crate::domain::wallet::{Wallet, WalletDelta};
use crate::domain::{DomainError, ErrorCode};
use crate::store::{Commit, Dialect, Receipt, Store, WalletLoad};

pub struct WalletActor {
    pub context: Arc<Context>,
}

pub struct WalletState {
    user_id: UserId,
    wallet: Wallet,
    /// The committer's place when the wallet was read: it includes every commit before it.
    loaded_seq: u64,
    stale: bool,
    /// Since the last change asked of it.
    idle: Idle,
}

impl WalletState {
    /// Reloads the wallet if it is stale; answers whether it did.
    async fn refresh(&mut self, store: &Store) -> Result<bool, DomainError> {
        if !self.stale {
            return Ok(false);
        }
        let loaded = store
            .load_wallet(self.user_id)
            .await?
            .ok_or_else(|| DomainError::from(ErrorCode::NotFound))?;
        self.wallet = loaded.wallet;
        self.loaded_seq = loaded.seq;
        self.stale = false;
        Ok(true)
    }

    fn check(&self, rule: Rule) -> Result<(), ErrorCode> {
        match rule {
            Rule::Withdrawal {
                amount,
                min_deposit,
            } => self.wallet.check_withdrawal(amount, min_deposit),
            Rule::DepositTaker => self.wallet.check_deposit_taker(),
            Rule::SellAd {
                amount,
                min_deposit,
            } => self.wallet.check_seller(amount, min_deposit),
            Rule::Transaction { kind, amount } => self.wallet.check_transaction(kind, amount),
        }
    }
}

impl Actor for WalletActor {
    type Msg = WalletMsg;
    type State = WalletState;
    /// The user and the wallet as the committer just read it.
    type Arguments = (UserId, WalletLoad);

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        (user_id, loaded): Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(WalletState {
            user_id,
            wallet: loaded.wallet,
            loaded_seq: loaded.seq,
            stale: false,
            idle: Idle::new(),
        })
    }

    async fn post_start(
        &self,
        myself: ActorRef<Self::Msg>,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        state
            .idle
            .start(&myself, self.idle(), || WalletMsg::IdleCheck);
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let (started, name) = (Instant::now(), message.name());
        match message {
            WalletMsg::Moved { delta, seq } => {
                if seq < state.loaded_seq {
                    // The cache was read after this change: it has it already.
                } else if state.wallet.can_apply(&delta) {
                    state.wallet.apply(&delta);
                } else {
                    // The cache missed a change (another node's): read the wallet again.
                    state.stale = true;
                }
            }
            WalletMsg::Touched => state.stale = true,
            WalletMsg::IdleCheck => {
                if state.idle.is_over(self.idle()) {
                    self.context.wallets.passivate(state.user_id, &myself);
                }
            }
            WalletMsg::Change {
                rule,
                commit,
                delta,
                reply,
            } => {
                state.idle.touch();
                let outcome = self.change(state, rule, commit, delta).await;
                let _ = reply.send(outcome);
            }
        }
        crate::telemetry::record_actor_message(WalletMsg::KIND, name, started);
        Ok(())
    }
}

impl WalletActor {
    fn idle(&self) -> Duration {
        self.context.actor_idle()
    }

    async fn change(
        &self,
        state: &mut WalletState,
        rule: Rule,
        commit: Commit,
        delta: WalletDelta,
    ) -> Result<Receipt, DomainError> {
        let mut fresh = state.refresh(&self.context.store).await?;
        if let Err(refusal) = state.check(rule) {
            // With several nodes, another may have credited or refunded this wallet: refuse
            // only what the database itself shows.
            if fresh || self.context.store.dialect() != Dialect::Postgres {
                return Err(refusal.into());
            }
            state.stale = true;
            fresh = state.refresh(&self.context.store).await?;
            state.check(rule)?;
        }
        loop {
            match self.context.store.commit(commit.clone()).await {
                Ok(receipt) => {
                    state.wallet.apply(&delta);
                    return Ok(receipt);
                }
                Err(refusal) => {
                    // The database refused what the cache allowed: the cache is stale (another
                    // node, or a change not yet announced). Reload before the next check.
                    state.stale = true;
                    if fresh || !refusal.code.is_money_refusal() {
                        return Err(refusal);
                    }
                    // Judge again by what the database holds, so the answer names the rule
                    // that really refuses (the guard cannot tell a short balance from
                    // unwagered bonus), and commit once more if none does.
                    fresh = state.refresh(&self.context.store).await?;
                    state.check(rule)?;
                }
            }
        }
    }
}

impl Context {
    /// The wallet actor of `user_id`, loaded from the store on first use.
    pub async fn wallet(
        self: &Arc<Self>,
        user_id: UserId,
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
        user_id: UserId,
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
}
