//! The JSON shapes of SPEC.md §5.

use serde::Serialize;
use serde_json::{Value, json};

use crate::domain::ad::Ad;
use crate::domain::order::{self, Order};
use crate::domain::wallet::Wallet;
use crate::domain::{mean_rating, rfc3339};
use crate::read_model::Maker;
use crate::store::{EventRecord, MessageRecord, UserRecord};

/// An ad as the public sees it (never its payment details). Serialised straight from borrowed
/// fields: listings render many of these per request.
#[derive(Serialize)]
pub struct AdView<'a> {
    id: i64,
    #[serde(rename = "type")]
    ad_type: &'static str,
    fiat_currency: &'a str,
    price: i64,
    min_amount: i64,
    max_amount: i64,
    total_amount: i64,
    available_amount: i64,
    payment_methods: &'a [String],
    payment_window_seconds: i64,
    terms: &'a str,
    status: &'static str,
    maker: MakerView<'a>,
    created_at: String,
}

#[derive(Serialize)]
struct MakerView<'a> {
    id: i64,
    name: &'a str,
    rating: Option<f64>,
    ratings_count: i64,
    orders_count: i64,
}

pub fn ad<'a>(ad: &'a Ad, maker: &'a Maker) -> AdView<'a> {
    AdView {
        id: ad.id,
        ad_type: ad.ad_type.as_str(),
        fiat_currency: &ad.fiat_currency,
        price: ad.price,
        min_amount: ad.min_amount,
        max_amount: ad.max_amount,
        total_amount: ad.total_amount,
        available_amount: ad.available_amount,
        payment_methods: &ad.payment_methods,
        payment_window_seconds: ad.payment_window_seconds,
        terms: &ad.terms,
        status: ad.status.as_str(),
        maker: MakerView {
            id: maker.id,
            name: &maker.name,
            rating: maker.rating(),
            ratings_count: maker.ratings_count,
            orders_count: maker.orders_count,
        },
        created_at: rfc3339(ad.created_at_ms),
    }
}

/// A page of a listing.
#[derive(Serialize)]
pub struct Page<T: Serialize> {
    pub items: Vec<T>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// An order, for its parties and operators only (it carries the payment details).
pub fn order(order: &Order) -> Value {
    let opt_time = |t: Option<i64>| t.map(rfc3339);
    let dispute = order.dispute.as_ref().map(|d| {
        json!({
            "opened_by": d.opened_by,
            "reason": d.reason,
            "opened_at": rfc3339(d.opened_at),
            "resolution": d.resolution.map(|r| r.as_str()),
            "resolved_by": d.resolved_by,
            "resolved_at": opt_time(d.resolved_at),
            "note": d.note,
        })
    });
    json!({
        "id": order.id,
        "ad_id": order.ad_id,
        "side": order.side.as_str(),
        "buyer_id": order.buyer_id,
        "seller_id": order.seller_id,
        "usdt_amount": order.usdt_amount,
        "fiat_amount": order.fiat_amount,
        "fiat_currency": order.fiat_currency,
        "price": order.price,
        "payment_method": order.payment_method,
        "payment_details": order.payment_details,
        "status": order.status.as_str(),
        "cancel_reason": order.cancel_reason.map(|r| r.as_str()),
        "created_at": rfc3339(order.created_at),
        "expires_at": rfc3339(order.expires_at),
        "paid_at": opt_time(order.paid_at),
        "completed_at": opt_time(order.completed_at),
        "cancelled_at": opt_time(order.cancelled_at),
        "dispute": dispute,
    })
}

/// An order as `actor` sees it: with the actions they may take now.
pub fn order_for(order_record: &Order, actor: order::Actor, rated: bool) -> Value {
    let mut value = order(order_record);
    if let Some(object) = value.as_object_mut() {
        let allowed = order::allowed_actions(order_record.status, actor, rated);
        object.insert("allowed_actions".into(), allowed.into());
    }
    value
}

/// One step of an order's history.
pub fn history_entry(event: &EventRecord) -> Value {
    json!({
        "event_id": event.id,
        "event": event.kind,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "actor": {"id": event.actor_id, "role": event.actor_role},
        "reason": event.reason,
        "at": rfc3339(event.created_at),
    })
}

pub fn message(message: &MessageRecord) -> Value {
    json!({
        "id": message.id,
        "order_id": message.order_id,
        "sender_id": message.sender_id,
        "sender_role": message.sender_role,
        "message": message.message,
        "created_at": rfc3339(message.created_at),
    })
}

pub fn public_user(user: &UserRecord) -> Value {
    json!({
        "id": user.id,
        "name": user.name,
        "rating": mean_rating(user.rating_sum, user.ratings_count),
        "ratings_count": user.ratings_count,
        "orders_count": user.orders_count,
    })
}

pub fn me(user: &UserRecord, wallet: &Wallet) -> Value {
    json!({
        "id": user.id,
        "name": user.name,
        "role": user.role.as_str(),
        "balance": {"available": wallet.available, "frozen": wallet.frozen},
        "deposits_total": wallet.deposits_total,
        "wagering": {"required": wallet.wagering_required, "wagered": wallet.wagered},
        "rating": mean_rating(user.rating_sum, user.ratings_count),
        "ratings_count": user.ratings_count,
        "orders_count": user.orders_count,
    })
}

pub fn page(items: Vec<Value>, total: i64, limit: i64, offset: i64) -> Value {
    json!({"items": items, "total": total, "limit": limit, "offset": offset})
}
