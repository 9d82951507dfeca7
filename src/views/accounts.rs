//! Accounts: the caller's own, public profiles, users just created.

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::mean_rating;
use crate::domain::payment_method::{SavedMethod, masked};
use crate::domain::restriction::Restriction;
use crate::domain::track::Track;
use crate::domain::user::User;
use crate::domain::wallet::{Transaction, Wallet};
use crate::domain::{Millis, rfc3339};

/// A user's public figures.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicUserView {
    pub id: i64,
    pub name: String,
    /// The mean of ratings received, one decimal; null before any.
    pub rating: Option<f64>,
    pub ratings_count: i64,
    pub orders_count: i64,
    #[serde(flatten)]
    pub track_record: TrackRecordView,
}

pub fn public_user(user: &User, now: Millis) -> PublicUserView {
    PublicUserView {
        id: user.id.get(),
        name: user.name.clone(),
        rating: mean_rating(user.rating_sum, user.ratings_count),
        ratings_count: user.ratings_count,
        orders_count: user.orders_count,
        track_record: track_record(&user.track, now),
    }
}

/// A trader's track record as every answer that shows a user shows it (see [`crate::domain::track`]
/// for the exact definitions).
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct TrackRecordView {
    /// Completed ÷ (completed + cancelled by this user + expired while this user had to pay), in
    /// basis points (9850 = 98.50 %), over the orders that ended in the last 30 days; null
    /// while none did.
    pub completion_rate_30d: Option<i64>,
    /// As buyer: the mean seconds from an order's creation to its payment, over the last 30
    /// days; null while none.
    pub avg_pay_seconds_30d: Option<i64>,
    /// As seller: the mean seconds from payment to completion, over the last 30 days; null while
    /// none.
    pub avg_release_seconds_30d: Option<i64>,
    /// Orders completed in the last 30 days, as either party.
    pub orders_30d: i64,
    /// When the first order this user was a party to was created; null before any.
    pub first_order_at: Option<String>,
    /// The user's last authenticated request, to the minute; null before any.
    pub last_seen_at: Option<String>,
    /// Whether `last_seen_at` is within the last 5 minutes.
    pub online: bool,
}

pub fn track_record(track: &Track, now: Millis) -> TrackRecordView {
    let summary = track.summary(now);
    TrackRecordView {
        completion_rate_30d: summary.completion_rate_bp,
        avg_pay_seconds_30d: summary.avg_pay_seconds,
        avg_release_seconds_30d: summary.avg_release_seconds,
        orders_30d: summary.orders,
        first_order_at: summary.first_order_at.map(rfc3339),
        last_seen_at: summary.last_seen_at.map(rfc3339),
        online: summary.online(now),
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BalanceView {
    pub available: i64,
    pub frozen: i64,
    /// The part of `available` that is bonus money not yet wagered: a bonus adds to it, a bet
    /// spends it before real money.
    pub unwagered_bonus: i64,
    /// What a withdrawal or a sell ad may take: `available − unwagered_bonus`.
    pub withdrawable: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WageringView {
    pub required: i64,
    pub wagered: i64,
}

/// The caller's own account.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MeView {
    pub id: i64,
    pub name: String,
    /// `user` or `operator`.
    pub role: String,
    pub balance: BalanceView,
    pub deposits_total: i64,
    pub wagering: WageringView,
    pub rating: Option<f64>,
    pub ratings_count: i64,
    pub orders_count: i64,
    #[serde(flatten)]
    pub track_record: TrackRecordView,
    /// The platform's restriction that holds now (the one ending last); null when none.
    pub restriction: Option<RestrictionView>,
}

/// A saved payment method, as its owner sees it: card numbers masked.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct SavedMethodView {
    pub id: i64,
    pub method: String,
    /// The details, each card number masked to its first and last four digits.
    #[schema(value_type = Object)]
    pub details: serde_json::Map<String, serde_json::Value>,
    pub label: String,
    pub created_at: String,
}

pub fn saved_method(saved: &SavedMethod) -> SavedMethodView {
    SavedMethodView {
        id: saved.id,
        method: saved.method.clone(),
        details: masked(&saved.details),
        label: saved.label.clone(),
        created_at: rfc3339(saved.created_at),
    }
}

/// A restriction of responsible gaming, as the platform set it.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct RestrictionView {
    pub id: i64,
    pub user_id: i64,
    /// `self_exclusion` or `cool_off`.
    pub kind: String,
    /// When it ends unless lifted before.
    pub until: String,
    pub created_at: String,
    /// When the platform lifted it early; null if it was not.
    pub lifted_at: Option<String>,
    /// Whether it holds now.
    pub active: bool,
}

pub fn restriction(restriction: &Restriction, now: Millis) -> RestrictionView {
    RestrictionView {
        id: restriction.id,
        user_id: restriction.user_id.get(),
        kind: restriction.kind.as_str().into(),
        until: rfc3339(restriction.until),
        created_at: rfc3339(restriction.created_at),
        lifted_at: restriction.lifted_at.map(rfc3339),
        active: restriction.is_active(now),
    }
}

pub fn me(user: &User, wallet: &Wallet, held: Option<&Restriction>, now: Millis) -> MeView {
    MeView {
        id: user.id.get(),
        name: user.name.clone(),
        role: user.role.as_str().into(),
        balance: BalanceView {
            available: wallet.available.get(),
            frozen: wallet.frozen.get(),
            unwagered_bonus: wallet.bonus.get(),
            withdrawable: wallet.withdrawable().get(),
        },
        deposits_total: wallet.deposits_total.get(),
        wagering: WageringView {
            required: wallet.wagering_required.get(),
            wagered: wallet.wagered.get(),
        },
        rating: mean_rating(user.rating_sum, user.ratings_count),
        ratings_count: user.ratings_count,
        orders_count: user.orders_count,
        track_record: track_record(&user.track, now),
        restriction: held.map(|held| restriction(held, now)),
    }
}

/// A user just created, with the token shown this once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NewUserView {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub token: String,
}

/// A committed platform transaction, as answered (and replayed) to the admin.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct TransactionView {
    pub id: i64,
    pub user_id: i64,
    pub kind: String,
    pub amount: i64,
    pub reference: String,
    pub wagering_multiplier: i64,
    pub created_at: String,
}

impl From<Transaction> for TransactionView {
    fn from(record: Transaction) -> Self {
        Self {
            id: record.id,
            user_id: record.user_id.get(),
            kind: record.kind.as_str().into(),
            amount: record.amount.get(),
            reference: record.reference,
            wagering_multiplier: record.wagering_multiplier,
            created_at: rfc3339(record.created_at),
        }
    }
}

/// A user the caller blocked.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct BlockView {
    pub user_id: i64,
    pub name: String,
    pub blocked_at: String,
}
