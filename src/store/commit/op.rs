//! What a state change is made of: its [`Op`]s, committed together as one [`Commit`], and the
//! [`Receipt`] of what the commit produced.

use crate::domain::ad::Ad;
use crate::domain::event_kind::EventKind;
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::order::{Order, OrderStatus, Participant};
use crate::domain::pricing::IndexPrice;
use crate::domain::restriction::RestrictionKind;
use crate::domain::track_change::TrackChange;
use crate::domain::wallet::{LedgerKind, TransactionKind, WalletDelta};
use crate::domain::{AdId, ErrorCode, Kopecks, Millis, OrderId, Role, UserId};

/// Which row a ledger entry points at: none, a known id, or the row inserted earlier in the
/// same commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowRef {
    None,
    Id(i64),
    Inserted,
}

/// One statement (or a few that belong together) of a state change.
#[derive(Debug, Clone)]
pub enum Op {
    InsertUser(NewUser),
    InsertAd(Box<Ad>),
    /// Rewrites an ad's terms and status; refused once the ad is closed.
    UpdateAd(Box<Ad>),
    /// Closes an ad: its remaining capacity is released, a sell ad's reserve goes back to the maker.
    CloseAd {
        ad_id: AdId,
        maker_id: UserId,
        now: Millis,
    },
    InsertOrder(Box<Order>),
    /// Takes `amount` of an ad's capacity for a new order.
    TakeCapacity {
        ad_id: AdId,
        amount: Kopecks,
        /// The terms the take was judged by: refused if the ad changed since, or is not active.
        terms_version: i64,
    },
    ReturnCapacity(CapacityReturn),
    /// Writes the order's new state, only if its status is still `from` (the claim).
    ClaimOrder {
        from: OrderStatus,
        order: Box<Order>,
    },
    MoveMoney(MoneyMove),
    InsertTransaction(NewWalletTransaction),
    InsertMessage(NewMessage),
    /// Keeps an attachment, refused once the order has the most allowed.
    InsertAttachment(Box<NewAttachment>),
    /// Marks an open dispute answered at `at` (the awaited party's first message), unless it
    /// was already, or has ended.
    AnswerDispute {
        order_id: OrderId,
        at: Millis,
    },
    /// Records a rating (once per rater and order) and adds it to the ratee's figures.
    InsertRating(NewRating),
    /// Counts a completed order for both its parties.
    CountCompleted {
        user_ids: [UserId; 2],
    },
    /// Adds what a transition did to one party's track record for its day.
    Track(TrackChange),
    /// Records users' last authenticated requests, each only ever moving forward.
    Seen(Vec<(UserId, Millis)>),
    /// Keeps the seed of the key evidence bundles are signed with, unless a node kept one first.
    SaveSigningSeed {
        seed: String,
        now: Millis,
    },
    /// Records the platform's index price of a fiat currency (kept with every earlier one).
    InsertIndexPrice(IndexPrice),
    /// Serialises a user's checks that span several rows across nodes: on PostgreSQL the user's
    /// row, locked with the batch's other early locks before any statement runs (SQLite has one
    /// writer already). Nothing else.
    LockUser {
        user_id: UserId,
    },
    /// Refuses a deposit taker who already holds `max` active deposit orders.
    CheckDepositLimit {
        taker_id: UserId,
        max: i64,
    },
    /// Records an order event (a transition or a chat message); it cannot fail, so it joins the
    /// batch's deferred writes.
    Event(Box<NewEvent>),
    /// Registers a webhook; it starts after the newest event.
    InsertWebhook {
        url: String,
        secret: String,
        now: Millis,
    },
    /// Removes a webhook (kept as a row, no longer delivered).
    DeleteWebhook {
        id: i64,
        now: Millis,
    },
    /// Takes a webhook for delivery until `until`; refused (`NOT_FOUND`) if another node holds it
    /// or nothing is due.
    LeaseWebhook {
        id: i64,
        until: Millis,
        now: Millis,
    },
    /// Records that the webhook acknowledged every event up to `cursor`.
    WebhookDelivered {
        id: i64,
        cursor: i64,
    },
    WebhookFailed(WebhookFailure),
    /// Gives a webhook's lease up.
    EndWebhookLease {
        id: i64,
    },
    /// `blocker` no longer trades with `blocked` (a repeat changes nothing).
    Block(NewBlock),
    Unblock {
        blocker_id: UserId,
        blocked_id: UserId,
    },
    /// Saves a payment method of a user (its id in the receipt), unless they keep the most
    /// allowed (`PAYMENT_METHODS_LIMIT`). Comes after the user's `LockUser`, which serialises
    /// the count across nodes.
    SavePaymentMethod(NewSavedMethod),
    /// Deletes a saved method of `user_id` (`NOT_FOUND` if it is none of theirs).
    DeletePaymentMethod {
        id: i64,
        user_id: UserId,
        now: Millis,
    },
    /// The platform restricts a user (its id in the receipt).
    Restrict(NewRestriction),
    /// Lifts every restriction of `user_id` that still holds at `now`.
    LiftRestrictions {
        user_id: UserId,
        now: Millis,
    },
    /// Records an idempotency key with the change its request made; refused
    /// (`IDEMPOTENCY_KEY_REUSED`) if the key is already there.
    RecordIdempotencyKey(IdempotencyKey),
    /// Stores the first answer to a keyed request (never over another request's key).
    RecordIdempotentAnswer {
        key: IdempotencyKey,
        status: i64,
        body: String,
    },
    /// Forgets keys recorded before `before`.
    PurgeIdempotencyKeys {
        before: Millis,
    },
}

/// A user and their empty wallet.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub name: String,
    pub role: Role,
    pub token_hash: String,
    pub now: Millis,
}

/// Gives a cancelled order's amount back: to the ad's capacity, or, if the ad is closed, to its
/// released amount (and a sell ad's maker gets the escrow back).
#[derive(Debug, Clone)]
pub struct CapacityReturn {
    pub ad_id: AdId,
    pub maker_id: UserId,
    pub amount: Kopecks,
    pub order_id: OrderId,
    pub now: Millis,
}

/// Moves a wallet's balances (guarded never to go negative) with its ledger row.
#[derive(Debug, Clone)]
pub struct MoneyMove {
    pub user_id: UserId,
    pub kind: LedgerKind,
    pub delta: WalletDelta,
    pub order: RowRef,
    pub ad: RowRef,
    pub tx: RowRef,
    pub now: Millis,
    /// What a guard that refuses the move answers.
    pub refusal: ErrorCode,
}

/// A platform transaction; its `reference` is unique (`DUPLICATE_REFERENCE`).
#[derive(Debug, Clone)]
pub struct NewWalletTransaction {
    pub user_id: UserId,
    pub kind: TransactionKind,
    pub amount: Kopecks,
    pub reference: String,
    pub wagering_multiplier: i64,
    pub now: Millis,
}

/// A chat message.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub order_id: OrderId,
    pub sender_id: Option<UserId>,
    pub sender_role: Participant,
    pub message: String,
    /// The SHA-256 of the attachment the message carries, if any.
    pub attachment: Option<String>,
    pub now: Millis,
}

/// A file a party or an operator put in an order's chat, its type sniffed from its bytes.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub order_id: OrderId,
    pub uploader_id: UserId,
    pub uploader_role: Participant,
    pub content_type: &'static str,
    pub sha256: String,
    pub data: Vec<u8>,
    pub now: Millis,
}

/// A party's rating of the counterparty of a completed order.
#[derive(Debug, Clone)]
pub struct NewRating {
    pub order_id: OrderId,
    pub rater_id: UserId,
    pub ratee_id: UserId,
    pub rating: i64,
    pub comment: Option<String>,
    pub now: Millis,
}

/// A failed webhook delivery, and when to try again; gives the lease up.
#[derive(Debug, Clone)]
pub struct WebhookFailure {
    pub id: i64,
    pub attempts: i64,
    pub next_attempt_at: Millis,
    pub error: String,
}

/// `blocker` no longer trades with `blocked`.
#[derive(Debug, Clone)]
pub struct NewBlock {
    pub blocker_id: UserId,
    pub blocked_id: UserId,
    pub now: Millis,
}

/// A payment method a user saves.
#[derive(Debug, Clone)]
pub struct NewSavedMethod {
    pub user_id: UserId,
    pub method: String,
    pub details: serde_json::Map<String, serde_json::Value>,
    pub label: String,
    pub now: Millis,
}

/// A restriction of a user, from `now` to `until`.
#[derive(Debug, Clone)]
pub struct NewRestriction {
    pub user_id: UserId,
    pub kind: RestrictionKind,
    pub until: Millis,
    pub now: Millis,
}

/// An order event as the change that causes it writes it.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub kind: EventKind,
    pub order: RowRef,
    pub message: RowRef,
    pub buyer_id: UserId,
    pub seller_id: UserId,
    pub disputed: bool,
    pub actor_id: Option<UserId>,
    pub actor_role: Participant,
    pub from_status: Option<OrderStatus>,
    pub to_status: Option<OrderStatus>,
    pub reason: Option<String>,
    /// The Order or Message JSON after the change (an order created in the same commit has id 0
    /// here: readers take the id from the row).
    pub payload: String,
    pub now: Millis,
}

/// The statements of one state change, committed all or nothing.
#[derive(Debug, Clone, Default)]
pub struct Commit {
    pub ops: Vec<Op>,
}

impl Commit {
    pub fn new(ops: Vec<Op>) -> Self {
        Self { ops }
    }

    /// Records the request's idempotency key, if it has one, with the change it makes: a
    /// crash then keeps both or neither.
    pub fn keyed(mut self, key: Option<IdempotencyKey>) -> Self {
        self.ops.extend(key.map(Op::RecordIdempotencyKey));
        self
    }

    pub(super) fn has_events(&self) -> bool {
        self.ops.iter().any(|op| matches!(op, Op::Event(_)))
    }
}

/// What a committed change produced: the ids its inserts were given, in order, and the version
/// it left the ad it changed at (an actor's cache skips changes older than what it loaded).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Receipt {
    pub inserted_ids: Vec<i64>,
    pub ad_version: Option<i64>,
    /// The commit's place in this committer's order: a wallet loaded at [`WalletLoad::seq`]
    /// includes exactly the commits before it.
    pub seq: u64,
}

impl Receipt {
    pub fn first_id(&self) -> i64 {
        self.inserted_ids.first().copied().unwrap_or_default()
    }
}
