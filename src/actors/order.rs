//! The order actor: one per active order, serialising its life.
//!
//! Each transition is decided by the pure state machine, committed once (the guarded status
//! claim, every balance and capacity change, the ledger rows), and only then applied: the
//! parties' wallets are told they changed, a cancelled order's capacity goes back to its ad.
//! A pending order arms its payment-window timer here; at its end the actor drains and stops.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::call::Named;
use super::context::{Context, spawn_failed};
use super::idle::Timer;
use super::protocol::{AdMsg, OrderMsg, WalletMsg};
use crate::domain::order::{Action, EscrowMove, Order, OrderStatus, Participant, Proposal, Side};
use crate::domain::request::Request;
use crate::domain::wallet::{LedgerKind, WalletDelta};
use crate::domain::{DomainError, ErrorCode};
use crate::domain::{Kopecks, Millis, UserId};
use crate::store::{CapacityReturn, Commit, MoneyMove, Op, Receipt, RowRef};

pub struct OrderActor {
    pub context: Arc<Context>,
}

/// A resident order and its payment window's timer, which stops with the actor (a window of 15
/// minutes would otherwise keep every ended order's mailbox, kilobytes each, for that long).
pub struct Live {
    order: Order,
    timer: Option<Timer<Result<(), ractor::MessagingErr<OrderMsg>>>>,
}

impl Live {
    /// Sends `Deadline` after `wait`, replacing the timer armed before.
    fn arm(&mut self, myself: &ActorRef<OrderMsg>, wait: Duration) {
        self.timer = Some(Timer::new(myself.send_after(wait, || OrderMsg::Deadline)));
    }
}

impl Actor for OrderActor {
    type Msg = OrderMsg;
    type State = Live;
    type Arguments = Order;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        order: Order,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(Live { order, timer: None })
    }

    async fn post_start(
        &self,
        myself: ActorRef<Self::Msg>,
        live: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        self.arm_timer(&myself, live);
        Ok(())
    }

    async fn post_stop(
        &self,
        myself: ActorRef<Self::Msg>,
        live: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        self.context.orders.remove(live.order.id, myself.get_id());
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        live: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let (started, name) = (Instant::now(), message.name());
        let order = &mut live.order;
        match message {
            OrderMsg::Act(request, reply) => {
                let deadline = order.deadline();
                let outcome = self.act(order, request).await;
                let _ = reply.send(outcome);
                // Paid (the release window starts), cleared (the payment window starts), or
                // moved on: the timer follows the order's deadline.
                if live.order.deadline() != deadline {
                    self.arm_timer(&myself, live);
                }
            }
            OrderMsg::Deadline => self.meet_deadline(&myself, live).await,
        }
        let order = &live.order;
        if !order.status.is_active() {
            // Leave the directory first, so later requests read the ended order from the store
            // instead of knocking on a stopping actor; answer what is queued (each hears the
            // order's final status), then stop. The ended order is kept, for the requests
            // that follow its end.
            self.context.ended.keep(order);
            self.context.orders.remove(order.id, myself.get_id());
            let _ = myself.drain();
        }
        crate::telemetry::record_actor_message(OrderMsg::KIND, name, started);
        Ok(())
    }
}

impl OrderActor {
    /// Arms the timer for the order's deadline, if it has one now (a held order's payment
    /// window has not started; an ended or disputed order has none).
    fn arm_timer(&self, myself: &ActorRef<OrderMsg>, live: &mut Live) {
        match live.order.deadline() {
            Some((deadline, _)) => {
                let wait_ms = (deadline - self.context.clock.now_ms()).max(0) as u64;
                live.arm(myself, Duration::from_millis(wait_ms));
            }
            None => live.timer = None,
        }
    }

    /// Does what the order's deadline asks once it has passed: expires a pending order, or
    /// disputes a paid one for its buyer. Another node may have done it (or moved the order
    /// on) first: its guarded claim then refuses this one, and the order is read again.
    async fn meet_deadline(&self, myself: &ActorRef<OrderMsg>, live: &mut Live) {
        let now = self.context.clock.now_ms();
        let due = |order: &Order| order.deadline().filter(|(deadline, _)| *deadline <= now);
        if due(&live.order).is_none() {
            // Not due by this copy, yet the sweep found it due in the database: another node
            // moved the order since this copy was made (paid it, say).
            match self.context.store.order(live.order.id).await {
                Ok(Some(current)) => live.order = current,
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(order_id = live.order.id.get(), %error, "could not reread an order")
                }
            }
        }
        let Some((deadline, action)) = due(&live.order) else {
            self.arm_timer(myself, live);
            return;
        };
        let refused = self
            .act(&mut live.order, Request::system(action))
            .await
            .err();
        match refused {
            // Still due: the store could not take the commit now, so try again shortly.
            Some(refusal) if live.order.deadline() == Some((deadline, action)) => {
                tracing::warn!(order_id = live.order.id.get(), %refusal, "a deadline's step failed, retrying");
                live.arm(myself, Duration::from_secs(1));
            }
            _ => self.arm_timer(myself, live),
        }
    }

    /// Acts on the order. A refusal that its status explains is judged again against the
    /// database's copy when that differs from this one: another node may have moved the order
    /// since this copy was made, and a step that is valid now must not be refused for it.
    async fn act(&self, order: &mut Order, request: Request) -> Result<Order, DomainError> {
        if order.status == OrderStatus::Disputed {
            // The chat writes an open dispute's answer to the database, not to this copy; a
            // dispute is rare enough to read its order afresh.
            if let Some(current) = self.context.store.order(order.id).await? {
                *order = current;
            }
        }
        match self.attempt(order, request.clone()).await {
            Err(refusal) if refusal.code == ErrorCode::InvalidOrderStatus => {
                match self.context.store.order(order.id).await? {
                    Some(current) if current != *order => {
                        *order = current;
                        self.attempt(order, request).await
                    }
                    _ => Err(refusal),
                }
            }
            outcome => outcome,
        }
    }

    /// Judges the request against this copy of the order and commits the transition once.
    async fn attempt(&self, order: &mut Order, request: Request) -> Result<Order, DomainError> {
        let context = &self.context;
        let actor = order.participant(request.caller)?;
        let request = self.routed(order, actor, request)?;
        let step = crate::domain::order::decide(order.status, order.held(), actor, request.action)?;
        let now = context.clock.now_ms();
        let mut next = order.after(
            &step,
            request.action,
            request.caller.map(|c| c.user_id),
            now,
        );
        self.fill(order, &mut next, &request, now);
        let mut ops = transition_ops(order, &next, step.escrow, now);
        let wallets = wallet_changes(order, &ops);
        let track = crate::domain::track_change::changes(order, &next);
        ops.extend(track.iter().copied().map(Op::Track));
        ops.push(super::events::transition(
            order,
            &next,
            request.action,
            actor,
            request
                .caller
                .map(|c| c.user_id)
                .map(UserId::get)
                .map(UserId),
            now,
        ));
        ops.extend(request.key.map(Op::RecordIdempotencyKey));
        let commit = Commit::new(ops);
        // A guarded claim the database refuses (another node moved the order first) is
        // `INVALID_ORDER_STATUS`: `act` learns what the order is now and judges again.
        let receipt = context.store.commit(commit).await?;
        let taker_cancelled = request.action == Action::Cancel
            && order.status == OrderStatus::Pending
            && request.caller.is_some_and(|c| c.user_id == order.taker_id);
        if taker_cancelled {
            context
                .safeguards
                .record_cancel(order.taker_id, order.id, now, context.pause_rule());
        }
        *order = next;
        context.read_model.add_track(&track);
        self.announce(order, step.escrow, wallets, &receipt).await;
        crate::telemetry::record_transition(order, request.action);
        Ok(order.clone())
    }

    /// An operator's request as the desk's four eyes make it: a large resolution becomes a
    /// proposal, an approval the proposal's resolution.
    fn routed(
        &self,
        order: &Order,
        actor: Participant,
        request: Request,
    ) -> Result<Request, DomainError> {
        let Some(caller) = request.caller.filter(|_| actor == Participant::Operator) else {
            return Ok(request);
        };
        let dual_control = Kopecks(self.context.config.dual_control_kopecks);
        let action =
            crate::domain::desk::route(order, request.action, caller.user_id, dual_control)?;
        Ok(Request { action, ..request })
    }

    /// What the request writes into the order beside its status: a dispute's reason and its
    /// answer deadline, a proposal, a resolution's note, new payment details.
    fn fill(&self, order: &Order, next: &mut Order, request: &Request, now: Millis) {
        let caller = request.caller.map(|c| c.user_id);
        if let Some(dispute) = next.dispute.as_mut() {
            match request.action {
                Action::CallOperator => dispute.reason = request.text.clone(),
                Action::Propose(resolution) => {
                    dispute.proposal = caller.map(|proposed_by| Proposal {
                        resolution,
                        note: request.text.clone(),
                        proposed_by,
                        proposed_at: now,
                    })
                }
                Action::Reject => dispute.proposal = None,
                // An approval's note is the proposal's.
                Action::Resolve(_) => {
                    let proposed = dispute.proposal.as_ref().and_then(|p| p.note.clone());
                    dispute.note = request.text.clone().or(proposed);
                }
                _ => {}
            }
            // A dispute just opened: the party it was opened against has this long to answer.
            if order.dispute.is_none() {
                dispute.answer_due_at = Some(now + self.context.config.dispute_answer_secs * 1000);
            }
        }
        if request.action == Action::UpdatePaymentDetails {
            next.payment_details = request.payment_details.clone().unwrap_or_default();
        }
    }

    /// Tells the actors whose cached state the committed transition changed.
    async fn announce(
        &self,
        order: &Order,
        escrow: EscrowMove,
        wallets: Vec<(UserId, Option<WalletDelta>)>,
        receipt: &Receipt,
    ) {
        let context = &self.context;
        for (user_id, change) in wallets {
            if let Some(wallet) = context.wallets.resident(user_id).await {
                let _ = wallet.cast(match change {
                    Some(delta) => WalletMsg::Moved {
                        delta,
                        seq: receipt.seq,
                    },
                    None => WalletMsg::Touched,
                });
            }
        }
        let ad_version = receipt.ad_version;
        match escrow {
            EscrowMove::Release => context
                .read_model
                .count_completed([order.buyer_id, order.seller_id]),
            EscrowMove::Refund => match context.ads.resident(order.ad_id).await {
                Some(ad) => {
                    if let Some(version) = ad_version {
                        let _ = ad.cast(AdMsg::Return {
                            amount: order.usdt_amount,
                            version,
                        });
                    }
                }
                // The ad's actor passivated: reviving it reloads the ad, capacity returned
                // included, and publishes it to the listing.
                None => {
                    if let Err(error) = context.ad(order.ad_id.get()).await {
                        tracing::warn!(ad_id = order.ad_id.get(), %error, "could not revive an ad");
                    }
                }
            },
            EscrowMove::Keep => {}
        }
    }
}

/// What a transition does to the wallets nodes cache, read off its statements so the two cannot
/// disagree: each move of money, and one active order fewer for the taker once the order has
/// ended. `None` where only the database knows the amount: capacity returned to a sell ad
/// (`order` a deposit) goes to its reserve, or to its maker if the ad has closed.
fn wallet_changes(order: &Order, ops: &[Op]) -> Vec<(UserId, Option<WalletDelta>)> {
    ops.iter()
        .filter_map(|op| match op {
            Op::MoveMoney(MoneyMove { user_id, delta, .. }) => Some((*user_id, Some(*delta))),
            Op::ClaimOrder { order: next, .. } if !next.status.is_active() => {
                let one_fewer = match next.side {
                    Side::Withdraw => WalletDelta {
                        active_withdrawals: -1,
                        ..WalletDelta::default()
                    },
                    Side::Deposit => WalletDelta {
                        active_deposits: -1,
                        ..WalletDelta::default()
                    },
                };
                Some((next.taker_id, Some(one_fewer)))
            }
            Op::ReturnCapacity(CapacityReturn { maker_id, .. }) if order.side == Side::Deposit => {
                Some((*maker_id, None))
            }
            _ => None,
        })
        .collect()
}

/// The statements of one transition: the guarded claim, then the money.
fn transition_ops(order: &Order, next: &Order, escrow: EscrowMove, now: i64) -> Vec<Op> {
    let amount = order.usdt_amount;
    let mut ops = vec![Op::ClaimOrder {
        from: order.status,
        order: Box::new(next.clone()),
    }];
    let money = |user_id, kind, delta| {
        Op::MoveMoney(MoneyMove {
            user_id,
            kind,
            delta,
            order: RowRef::Id(order.id.get()),
            ad: RowRef::Id(order.ad_id.get()),
            tx: RowRef::None,
            now,
            refusal: ErrorCode::Internal,
        })
    };
    match escrow {
        EscrowMove::Keep => {}
        EscrowMove::Release => {
            ops.push(money(
                order.seller_id,
                LedgerKind::EscrowRelease,
                WalletDelta::debit_frozen(amount),
            ));
            ops.push(money(
                order.buyer_id,
                LedgerKind::EscrowReceive,
                WalletDelta::credit(amount),
            ));
            ops.push(Op::CountCompleted {
                user_ids: [order.buyer_id, order.seller_id],
            });
        }
        EscrowMove::Refund => {
            // A withdrawal's escrow came from the seller's balance; a deposit's from the sell
            // ad's reserve, to which it returns (or to the maker, if the ad has closed).
            if order.side == Side::Withdraw {
                ops.push(money(
                    order.seller_id,
                    LedgerKind::EscrowRefund,
                    WalletDelta::unfreeze(amount),
                ));
            }
            ops.push(Op::ReturnCapacity(CapacityReturn {
                ad_id: order.ad_id,
                maker_id: order.maker_id(),
                amount,
                order_id: order.id,
                now,
            }));
        }
    }
    ops
}

impl Context {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::order::CancelReason;
    use crate::domain::{AdId, Kopecks, OrderId};

    /// Profile 1, taker 2.
    fn order(side: Side) -> Order {
        let (buyer_id, seller_id) = match side {
            Side::Withdraw => (1, 2),
            Side::Deposit => (2, 1),
        };
        Order {
            id: OrderId(9),
            ad_id: AdId(3),
            side,
            buyer_id: UserId(buyer_id),
            seller_id: UserId(seller_id),
            taker_id: UserId(2),
            usdt_amount: Kopecks(500),
            fiat_amount: Kopecks(500),
            fiat_currency: "RUB".into(),
            price: Kopecks(9_500),
            payment_method: "card".into(),
            payment_details: serde_json::Map::new(),
            status: OrderStatus::PaidByBuyer,
            cancel_reason: None,
            created_at: 0,
            expires_at: 1_000,
            release_window_seconds: 1800,
            paid_at: Some(10),
            completed_at: None,
            cancelled_at: None,
            dispute: None,
            review: None,
        }
    }

    fn changes(order: &Order, escrow: EscrowMove) -> Vec<(UserId, Option<WalletDelta>)> {
        let mut next = order.clone();
        next.status = match escrow {
            EscrowMove::Keep => OrderStatus::Disputed,
            EscrowMove::Release => OrderStatus::Completed,
            EscrowMove::Refund => OrderStatus::Cancelled,
        };
        next.cancel_reason = (escrow == EscrowMove::Refund).then_some(CancelReason::Seller);
        wallet_changes(order, &transition_ops(order, &next, escrow, 20))
    }

    fn one_fewer_withdrawal() -> WalletDelta {
        WalletDelta {
            active_withdrawals: -1,
            ..WalletDelta::default()
        }
    }

    /// The caches hear what the transition's statements do to the wallets, and nothing when the
    /// escrow stays frozen.
    #[test]
    fn wallet_changes_follow_the_transitions_statements() {
        let withdrawal = order(Side::Withdraw);
        assert_eq!(changes(&withdrawal, EscrowMove::Keep), vec![]);
        assert_eq!(
            changes(&withdrawal, EscrowMove::Release),
            vec![
                (UserId(2), Some(one_fewer_withdrawal())),
                (UserId(2), Some(WalletDelta::debit_frozen(Kopecks(500)))),
                (UserId(1), Some(WalletDelta::credit(Kopecks(500)))),
            ]
        );
        assert_eq!(
            changes(&withdrawal, EscrowMove::Refund),
            vec![
                (UserId(2), Some(one_fewer_withdrawal())),
                (UserId(2), Some(WalletDelta::unfreeze(Kopecks(500)))),
            ]
        );
        // A deposit's escrow goes back to the sell ad (or its maker): only the database knows.
        assert_eq!(
            changes(&order(Side::Deposit), EscrowMove::Refund),
            vec![
                (
                    UserId(2),
                    Some(WalletDelta {
                        active_deposits: -1,
                        ..WalletDelta::default()
                    })
                ),
                (UserId(1), None),
            ]
        );
    }
}
