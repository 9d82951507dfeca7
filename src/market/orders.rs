//! Orders: taking an ad, every later step of the order's life, chat, ratings, disputes.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value};

use super::ads::require_trader;
use super::service::Market;
use crate::actors::protocol::OrderMsg;
use crate::actors::protocol::Rule;
use crate::actors::protocol::{AdMsg, Settled, Take};
use crate::actors::{NoAnswer, ask};
use crate::config::ACTOR_ATTEMPTS;
use crate::config::{EVENT_PAGE, HELD_CAPACITY_WAIT, HELD_CAPACITY_WAITS};
use crate::domain::AdId;
use crate::domain::OrderId;
use crate::domain::ad::Ad;
use crate::domain::chat::Message;
use crate::domain::event::Audience;
use crate::domain::event_kind::EventKind;
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::order::{self, Order, OrderStatus, Side};
use crate::domain::request::Request;
use crate::domain::requirements::Standing;
use crate::domain::wallet::LedgerKind;
use crate::domain::wallet::{MAX_ACTIVE_DEPOSIT_ORDERS, WalletDelta};
use crate::domain::{Caller, DomainError, ErrorCode, Kopecks, rfc3339, validate};
use crate::store::{
    Commit, MoneyMove, NewAttachment, NewMessage, NewRating, Op, OrderFilter, RowRef,
};
use crate::views::RatingView;
use ractor::ActorRef;

/// Identifies a capacity hold between `Reserve` and `Settle`.
static NEXT_HOLD: AtomicU64 = AtomicU64::new(1);

/// A taker's order (`POST /orders`).
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub ad_id: AdId,
    /// As the taker sent it, checked when the order is made.
    pub usdt_amount: i64,
    pub payment_method: String,
    pub payment_details: Option<Value>,
    /// A saved method of the taker's instead of `payment_details` (never both).
    pub payment_method_id: Option<i64>,
}

impl Market {
    /// Takes an ad: holds its capacity, checks and freezes the seller's escrow, commits the order
    /// once, and only then settles the hold. A refusal at any step voids what was held.
    pub async fn create_order(
        &self,
        caller: Caller,
        request: NewOrder,
        key: Option<IdempotencyKey>,
    ) -> Result<Order, DomainError> {
        require_trader(caller)?;
        let request = self.with_saved_details(caller, request).await?;
        let amount = validate::amount("usdt_amount", request.usdt_amount)?;
        validate::payment_method(&request.payment_method)?;
        let details = request
            .payment_details
            .as_ref()
            .map(validate::payment_details)
            .transpose()?;
        let context = &self.context;
        context.ad(request.ad_id.get()).await?;
        self.check_taker(caller.user_id, context.read_model.maker_of(request.ad_id))?;
        let now = self.now_ms();
        let standing = match context.read_model.requirements_of(request.ad_id) {
            Some(requirements) if !requirements.is_empty() => {
                Some(Standing::of(&self.user(caller.user_id).await?, now))
            }
            _ => None,
        };
        let mut take = Take {
            hold: 0,
            taker_id: caller.user_id,
            amount,
            method: request.payment_method.clone(),
            has_payment_details: details.is_some(),
            standing,
            now,
        };
        let mut judged_again = false;
        let (order, _) = loop {
            take.hold = NEXT_HOLD.fetch_add(1, Ordering::Relaxed);
            let (ad_actor, ad) = self.hold(request.ad_id, &take).await?;
            let method = &request.payment_method;
            let committed = self
                .commit_new_order(caller, &ad, amount, method, details.clone(), key.clone())
                .await;
            let outcome = match &committed {
                Ok((_, version)) => Settled::Committed { version: *version },
                Err(refusal) => Settled::Refused {
                    stale: matches!(
                        refusal.code,
                        ErrorCode::AmountExceedsAvailable | ErrorCode::AdNotActive
                    ),
                },
            };
            let hold = take.hold;
            let _ = ad_actor.cast(AdMsg::Settle { hold, outcome });
            match committed {
                // Judged by a copy of the ad that a change on another node made stale (its
                // terms, or its status): the actor reloads it, and judges the take again once.
                Err(refusal) if refusal.code == ErrorCode::AdNotActive && !judged_again => {
                    judged_again = true;
                }
                committed => break committed?,
            }
        };
        context
            .read_model
            .first_order([order.buyer_id, order.seller_id], order.created_at);
        context.spawn_order(order.clone()).await?;
        crate::telemetry::record_order_created(&order);
        Ok(order)
    }

    /// Holds `take` on the ad: §7 steps 2–3 in its actor. Capacity held by takes still
    /// committing is waited for a little rather than refused at once.
    async fn hold(&self, ad_id: AdId, take: &Take) -> Result<(ActorRef<AdMsg>, Ad), DomainError> {
        let mut waits = 0;
        loop {
            let (actor, reserved) = self
                .context
                .ask_ad(ad_id.get(), |reply| AdMsg::Hold(take.clone(), reply))
                .await?;
            match reserved {
                Ok(ad) => return Ok((actor, ad)),
                Err(refusal) if refusal.held_in_flight && waits < HELD_CAPACITY_WAITS => {
                    waits += 1;
                    tokio::time::sleep(HELD_CAPACITY_WAIT).await;
                }
                Err(mut refusal) => {
                    refusal.held_in_flight = false;
                    return Err(refusal);
                }
            }
        }
    }

    /// §7 step 4 in the taker's wallet actor, and the one commit of the new order; answers the
    /// order and the version the commit left the ad at.
    async fn commit_new_order(
        &self,
        caller: Caller,
        ad: &Ad,
        amount: Kopecks,
        method: &str,
        details: Option<Map<String, Value>>,
        key: Option<IdempotencyKey>,
    ) -> Result<(Order, i64), DomainError> {
        let mut order = ad.order_for(caller.user_id, amount, method, details, self.now_ms());
        self.judge_withdrawal(&mut order).await?;
        let min_deposit = self.context.min_deposit();
        let (ops, rule, delta) = new_order_ops(&order, ad.terms_version, min_deposit);
        let receipt = self
            .context
            .change_wallet(caller.user_id, rule, Commit::new(ops).keyed(key), delta)
            .await?;
        order.id = OrderId(receipt.first_id());
        Ok((order, receipt.ad_version.unwrap_or(i64::MAX)))
    }

    /// Asks the order's actor to do `request`; an ended order answers from the store.
    pub async fn act(&self, order_id: OrderId, request: Request) -> Result<Order, DomainError> {
        for _ in 0..ACTOR_ATTEMPTS {
            let actor = match self.context.orders.resident(order_id).await {
                Some(actor) => actor,
                None => {
                    let order = self.stored_order(order_id).await?;
                    match self.context.order_actor(order.clone()).await? {
                        Some(actor) => actor,
                        // An ended order has no actor: the state machine refuses every action.
                        None => {
                            let actor = order.participant(request.caller)?;
                            order::transition(order.status, actor, request.action)?;
                            return Err(ErrorCode::InvalidOrderStatus.into());
                        }
                    }
                }
            };
            match ask(&actor, |reply| OrderMsg::Act(request.clone(), reply)).await {
                Ok(outcome) => return outcome,
                // It ended and stopped between our look-up and our message: look again.
                Err(NoAnswer::NotDelivered) => continue,
                Err(timeout) => return Err(timeout.into()),
            }
        }
        Err(DomainError::new(
            ErrorCode::Overloaded,
            "The order is changing hands, retry",
        ))
    }

    /// The order as the store has it (an order that ended here lately, from memory: it no
    /// longer changes).
    async fn stored_order(&self, order_id: OrderId) -> Result<Order, DomainError> {
        if let Some(order) = self.context.ended.get(order_id) {
            return Ok(order);
        }
        self.store()
            .order(order_id)
            .await?
            .ok_or_else(|| ErrorCode::NotFound.into())
    }

    /// An order its parties and operators may see; to anyone else it does not exist.
    pub async fn order(&self, caller: Caller, order_id: OrderId) -> Result<Order, DomainError> {
        let order = self.stored_order(order_id).await?;
        order.participant(Some(caller))?;
        Ok(order)
    }

    /// The caller's orders, newest first (an operator sees everyone's).
    pub async fn orders(
        &self,
        caller: Caller,
        status: Option<OrderStatus>,
        side: Option<Side>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Order>, i64), DomainError> {
        let party = (caller.role != crate::domain::Role::Operator).then_some(caller.user_id);
        let filter = OrderFilter {
            party,
            status,
            side,
            disputes: None,
            held: false,
        };
        self.store().orders_page(filter, limit, offset).await
    }

    /// Every transition of an order, oldest first, for those who may see the order.
    pub async fn history(
        &self,
        caller: Caller,
        order_id: OrderId,
    ) -> Result<Vec<crate::domain::event::Event>, DomainError> {
        let order = self.order(caller, order_id).await?;
        // That the order was held for review is the seller's and the desk's to know.
        let buyer = order.party(caller.user_id) == Some(order::Participant::Buyer);
        // The desk's deliberation is the operators' alone.
        let party = order.party(caller.user_id).is_some();
        let mut history = Vec::new();
        let mut after = 0;
        loop {
            let page = self
                .store()
                .events(Audience::Order(order_id), after, EVENT_PAGE)
                .await?;
            let full = page.len() as i64 == EVENT_PAGE;
            after = page.last().map_or(after, |event| event.id);
            history.extend(
                page.into_iter()
                    .filter(|event| !(buyer && event.kind == EventKind::OrderHeld))
                    .filter(|event| !(party && event.kind.is_desk_only())),
            );
            if !full {
                return Ok(history);
            }
        }
    }

    /// The orders as `caller` sees them: each with the actions the caller may take now.
    pub async fn order_views(
        &self,
        caller: Caller,
        orders: &[Order],
    ) -> Result<Vec<crate::views::OrderView>, DomainError> {
        let completed: Vec<OrderId> = orders
            .iter()
            .filter(|o| o.status == OrderStatus::Completed && o.party(caller.user_id).is_some())
            .map(|o| o.id)
            .collect();
        let rated = self.store().rated(caller.user_id, &completed).await?;
        Ok(orders
            .iter()
            .map(|order| {
                let actor = order
                    .participant(Some(caller))
                    .unwrap_or(order::Participant::Operator);
                crate::views::order_for(order, actor, caller.user_id, rated.contains(&order.id))
            })
            .collect())
    }

    pub async fn disputes(
        &self,
        open: bool,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Order>, i64), DomainError> {
        let filter = OrderFilter {
            disputes: Some(open),
            ..OrderFilter::default()
        };
        self.store().orders_page(filter, limit, offset).await
    }

    pub async fn post_message(
        &self,
        caller: Caller,
        order_id: OrderId,
        text: &str,
        key: Option<IdempotencyKey>,
    ) -> Result<Message, DomainError> {
        let order = self.stored_order(order_id).await?;
        let message = validate::text("message", text, 1, validate::MAX_MESSAGE_CHARS)?;
        self.say(caller, &order, message, None, key).await
    }

    /// Writes a message (and the attachment it carries) in the order's chat, with its event; the
    /// first word of the party a dispute waits on answers it.
    pub(super) async fn say(
        &self,
        caller: Caller,
        order: &Order,
        message: String,
        attachment: Option<NewAttachment>,
        key: Option<IdempotencyKey>,
    ) -> Result<Message, DomainError> {
        // Whoever else may see the order (an operator) speaks as an operator.
        let sender_role = order.participant(Some(caller))?;
        let now = self.now_ms();
        let order_id = order.id;
        let mut record = Message {
            id: 0,
            order_id,
            sender_id: Some(caller.user_id),
            sender_role,
            message: message.clone(),
            attachment: attachment.as_ref().map(|a| a.sha256.clone()),
            created_at: now,
        };
        let mut ops: Vec<Op> = attachment
            .map(|a| Op::InsertAttachment(Box::new(a)))
            .into_iter()
            .collect();
        ops.push(Op::InsertMessage(NewMessage {
            order_id,
            sender_id: Some(caller.user_id),
            sender_role,
            message,
            attachment: record.attachment.clone(),
            now,
        }));
        ops.push(crate::actors::events::message(order, &record));
        if order.awaited() == Some(sender_role) {
            ops.push(Op::AnswerDispute { order_id, at: now });
        }
        let receipt = self.store().commit(Commit::new(ops).keyed(key)).await?;
        record.id = receipt.first_id();
        Ok(record)
    }

    pub async fn messages(
        &self,
        caller: Caller,
        order_id: OrderId,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<Message>, DomainError> {
        self.order(caller, order_id).await?;
        self.store().messages(order_id, after_id, limit).await
    }

    /// A party rates the counterparty of a completed order, once.
    pub async fn rate(
        &self,
        caller: Caller,
        order_id: OrderId,
        rating: i64,
        comment: Option<String>,
        key: Option<IdempotencyKey>,
    ) -> Result<RatingView, DomainError> {
        let order = self.stored_order(order_id).await?;
        let ratee_id = match order.participant(Some(caller))? {
            order::Participant::Buyer => order.seller_id,
            order::Participant::Seller => order.buyer_id,
            _ => {
                return Err(DomainError::new(
                    ErrorCode::Forbidden,
                    "Only the parties rate an order",
                ));
            }
        };
        if !(validate::MIN_RATING..=validate::MAX_RATING).contains(&rating) {
            return Err(DomainError::validation(format!(
                "rating must be {} to {}",
                validate::MIN_RATING,
                validate::MAX_RATING
            )));
        }
        let comment = comment
            .map(|c| validate::text("comment", &c, 0, validate::MAX_MESSAGE_CHARS))
            .transpose()?
            .filter(|c| !c.is_empty());
        if order.status != OrderStatus::Completed {
            return Err(DomainError::new(
                ErrorCode::InvalidOrderStatus,
                "Only a completed order can be rated",
            ));
        }
        let now = self.now_ms();
        self.store()
            .commit(
                Commit::new(vec![Op::InsertRating(NewRating {
                    order_id,
                    rater_id: caller.user_id,
                    ratee_id,
                    rating,
                    comment: comment.clone(),
                    now,
                })])
                .keyed(key),
            )
            .await?;
        self.context.read_model.add_rating(ratee_id, rating);
        Ok(RatingView {
            order_id: order_id.get(),
            rater_id: caller.user_id.get(),
            ratee_id: ratee_id.get(),
            rating,
            comment,
            created_at: rfc3339(now),
        })
    }
}

/// The statements of a new order, the rule its taker's wallet checks first (§7 step 4), and
/// what the commit does to that wallet.
fn new_order_ops(
    order: &Order,
    terms_version: i64,
    min_deposit: Kopecks,
) -> (Vec<Op>, Rule, WalletDelta) {
    let taker = order.taker_id;
    let amount = order.usdt_amount;
    let mut ops = Vec::with_capacity(5);
    if order.side == Side::Deposit {
        // The limit spans several rows: serialise the taker's deposits across nodes.
        ops.push(Op::LockUser { user_id: taker });
        ops.push(Op::CheckDepositLimit {
            taker_id: taker,
            max: MAX_ACTIVE_DEPOSIT_ORDERS,
        });
    }
    ops.push(Op::InsertOrder(Box::new(order.clone())));
    ops.push(crate::actors::events::created(order, order.created_at));
    ops.push(Op::TakeCapacity {
        ad_id: order.ad_id,
        amount,
        terms_version,
    });
    match order.side {
        Side::Withdraw => {
            let freeze = WalletDelta::freeze(amount);
            ops.push(Op::MoveMoney(MoneyMove {
                user_id: taker,
                kind: LedgerKind::EscrowFreeze,
                delta: freeze,
                order: RowRef::Inserted,
                ad: RowRef::Id(order.ad_id.get()),
                tx: RowRef::None,
                now: order.created_at,
                refusal: ErrorCode::SellerInsufficientBalance,
            }));
            let rule = Rule::Withdrawal {
                amount,
                min_deposit,
            };
            let delta = WalletDelta {
                active_withdrawals: 1,
                ..freeze
            };
            (ops, rule, delta)
        }
        // The escrow is already frozen: it moves from the sell ad's reserve to the order.
        Side::Deposit => {
            let delta = WalletDelta {
                active_deposits: 1,
                ..WalletDelta::default()
            };
            (ops, Rule::DepositTaker, delta)
        }
    }
}
