//! What the actors say to each other and to the market: each kind's messages, with the reply
//! port as the last field (business refusals travel in the reply; an actor never fails on one).

use ractor::RpcReplyPort;

use super::call::Named;
use crate::domain::UserId;
use crate::domain::ad::{Ad, AdPatch};
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::order::Order;
use crate::domain::request::Request;
use crate::domain::requirements::Standing;
use crate::domain::wallet::{TransactionKind, WalletDelta};
use crate::domain::{DomainError, Kopecks, Millis};
use crate::store::{Commit, Receipt};

/// The rule a change must pass before it is committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// §7 step 4 for the seller of a withdrawal.
    Withdrawal {
        amount: Kopecks,
        min_deposit: Kopecks,
    },
    /// §7 step 4 for the taker of a deposit.
    DepositTaker,
    /// A maker reserving a sell ad's amount: a withdrawal's prerequisites but for the count.
    SellAd {
        amount: Kopecks,
        min_deposit: Kopecks,
    },
    /// A platform transaction (only a bet can fail).
    Transaction {
        kind: TransactionKind,
        amount: Kopecks,
    },
}

pub enum WalletMsg {
    /// Checks `rule`, commits `commit`, applies `delta` to the cache, answers the receipt.
    Change {
        rule: Rule,
        commit: Commit,
        delta: WalletDelta,
        reply: RpcReplyPort<Result<Receipt, DomainError>>,
    },
    /// A change committed elsewhere moved this wallet by `delta`, at `seq` in the committer's
    /// order: applied unless the cache was loaded after it.
    Moved { delta: WalletDelta, seq: u64 },
    /// A change committed elsewhere touched this wallet by an amount only the database knows:
    /// reload before the next check.
    Touched,
    /// Time to see whether the wallet has been idle long enough to passivate.
    IdleCheck,
}

impl Named for WalletMsg {
    const KIND: &'static str = "wallet";

    fn name(&self) -> &'static str {
        match self {
            WalletMsg::Change { .. } => "change",
            WalletMsg::Moved { .. } => "moved",
            WalletMsg::Touched => "touched",
            WalletMsg::IdleCheck => "idle_check",
        }
    }
}

/// What a taker asks of an ad.
#[derive(Debug, Clone)]
pub struct Take {
    pub hold: u64,
    pub taker_id: UserId,
    pub amount: Kopecks,
    pub method: String,
    /// Whether the taker sent payment details (a withdrawal needs them).
    pub has_payment_details: bool,
    /// The taker's standing, when the ad was known to have requirements; the actor reads it
    /// itself if the ad has them and this does not.
    pub standing: Option<Standing>,
    /// When the take was asked.
    pub now: Millis,
}

pub enum AdMsg {
    /// §7 steps 2–3; on success the amount is held and the ad (as it is now) answered.
    Hold(Take, RpcReplyPort<Result<Ad, DomainError>>),
    /// The order that held `hold` committed (the capacity is taken) or did not (it is freed).
    Settle { hold: u64, outcome: Settled },
    /// A cancelled order's amount was returned in the database, leaving the ad at `version`.
    Return { amount: Kopecks, version: i64 },
    Update {
        maker_id: UserId,
        patch: AdPatch,
        reply: RpcReplyPort<Result<Ad, DomainError>>,
    },
    /// Time to see whether the ad has been idle long enough to passivate.
    IdleCheck,
    /// Closes the ad; answers the closed ad and how much of its capacity the close took off the
    /// market.
    Close {
        maker_id: UserId,
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
            AdMsg::Hold(..) => "hold",
            AdMsg::Settle { .. } => "settle",
            AdMsg::Return { .. } => "return",
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

pub enum OrderMsg {
    Act(Request, RpcReplyPort<Result<Order, DomainError>>),
    /// A deadline of the order may have passed: its payment window's (a pending order
    /// expires) or its release window's (a paid order is disputed for the buyer).
    Deadline,
}

impl Named for OrderMsg {
    const KIND: &'static str = "order";

    fn name(&self) -> &'static str {
        match self {
            OrderMsg::Act(..) => "act",
            OrderMsg::Deadline => "deadline",
        }
    }
}
