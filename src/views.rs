//! The JSON shapes of SPEC.md §5.

use std::io::Write;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::domain::ad::Ad;
use crate::domain::order::{self, Order};
use crate::domain::wallet::Wallet;
use crate::domain::{mean_rating, rfc3339};
use crate::read_model::{Maker, Shown};
use crate::store::{EventRecord, MessageRecord, UserRecord};

/// An ad as the public sees it (never its payment details). Serialised straight from borrowed
/// fields: listings render many of these per request.
#[derive(Serialize, ToSchema)]
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

#[derive(Serialize, ToSchema)]
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

/// An ad's JSON as [`ad`] renders it, cut around the figures that change without the ad changing
/// (its capacity and its maker's figures): a listing writes each page's ads by copying the three
/// pieces and formatting five numbers.
pub struct AdJson {
    /// Up to `"available_amount":`.
    head: Box<str>,
    /// From the payment methods up to the maker's `"id":…`.
    middle: Box<str>,
    /// From the end of the maker on.
    tail: Box<str>,
}

impl AdJson {
    pub fn new(ad: &Ad) -> Self {
        let head = format!(
            r#"{{"id":{},"type":{},"fiat_currency":{},"price":{},"min_amount":{},"max_amount":{},"total_amount":{},"available_amount":"#,
            ad.id,
            json(&ad.ad_type.as_str()),
            json(&ad.fiat_currency),
            ad.price,
            ad.min_amount,
            ad.max_amount,
            ad.total_amount,
        );
        let middle = format!(
            r#","payment_methods":{},"payment_window_seconds":{},"terms":{},"status":{},"maker":{{"id":{}"#,
            json(&ad.payment_methods),
            ad.payment_window_seconds,
            json(&ad.terms),
            json(&ad.status.as_str()),
            ad.maker_id,
        );
        let tail = format!(r#"}},"created_at":{}}}"#, json(&rfc3339(ad.created_at_ms)));
        Self {
            head: head.into(),
            middle: middle.into(),
            tail: tail.into(),
        }
    }

    /// Appends the ad with `available` capacity and `maker`'s figures.
    pub fn write(&self, out: &mut Vec<u8>, available: i64, maker: &Maker) {
        let mut number = itoa::Buffer::new();
        out.extend_from_slice(self.head.as_bytes());
        out.extend_from_slice(number.format(available).as_bytes());
        out.extend_from_slice(self.middle.as_bytes());
        out.extend_from_slice(b",\"name\":");
        // Writing a string or a number to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, &maker.name);
        out.extend_from_slice(b",\"rating\":");
        let _ = serde_json::to_writer(&mut *out, &maker.rating());
        out.extend_from_slice(b",\"ratings_count\":");
        out.extend_from_slice(number.format(maker.ratings_count).as_bytes());
        out.extend_from_slice(b",\"orders_count\":");
        out.extend_from_slice(number.format(maker.orders_count).as_bytes());
        out.extend_from_slice(self.tail.as_bytes());
    }
}

/// A listing page of ads as `Page<AdView>` renders it (see [`AdJson`]).
pub fn ads_page(ads: &[Shown], total: usize, limit: i64, offset: i64) -> Vec<u8> {
    /// Room for one ad with a short name and terms: most pages need no second allocation.
    const AD_BYTES: usize = 512;
    let mut out = Vec::with_capacity(64 + ads.len() * AD_BYTES);
    out.extend_from_slice(b"{\"items\":[");
    for (i, ad) in ads.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        ad.write_json(&mut out);
    }
    // Writing to a Vec cannot fail.
    let _ = write!(
        out,
        r#"],"total":{total},"limit":{limit},"offset":{offset}}}"#
    );
    out
}

/// `value` as JSON (a string or a list of strings cannot fail to serialise).
fn json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// A page of a listing.
#[derive(Serialize, ToSchema)]
pub struct Page<T: Serialize> {
    pub items: Vec<T>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// A list without paging.
#[derive(Serialize, ToSchema)]
pub struct Items<T: Serialize> {
    pub items: Vec<T>,
}

/// An operator's involvement in an order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DisputeView {
    pub opened_by: i64,
    pub reason: Option<String>,
    pub opened_at: String,
    /// `release` or `refund`, once resolved.
    pub resolution: Option<String>,
    pub resolved_by: Option<i64>,
    pub resolved_at: Option<String>,
    pub note: Option<String>,
}

/// An order, for its parties and operators only (it carries the payment details).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderView {
    pub id: i64,
    pub ad_id: i64,
    /// `withdraw` or `deposit`, seen from the taker.
    pub side: String,
    pub buyer_id: i64,
    pub seller_id: i64,
    pub usdt_amount: i64,
    pub fiat_amount: i64,
    pub fiat_currency: String,
    pub price: i64,
    pub payment_method: String,
    #[schema(value_type = Object)]
    pub payment_details: serde_json::Map<String, Value>,
    /// `pending`, `paid_by_buyer`, `disputed`, `completed` or `cancelled`.
    pub status: String,
    /// `buyer`, `seller`, `timeout` or `operator`, once cancelled.
    pub cancel_reason: Option<String>,
    pub created_at: String,
    /// The payment deadline: a pending order is cancelled (`timeout`) when it passes.
    pub expires_at: String,
    pub paid_at: Option<String>,
    pub completed_at: Option<String>,
    pub cancelled_at: Option<String>,
    pub dispute: Option<DisputeView>,
    /// What the caller may do with the order now (`confirm_paid`, `confirm_received`, `cancel`,
    /// `call_operator`, `resolve`, `update_payment_details`, `message`, `rate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_actions: Option<Vec<String>>,
}

/// An order as committed, without what only a caller can be told.
pub fn order(order: &Order) -> OrderView {
    let opt_time = |t: Option<i64>| t.map(rfc3339);
    OrderView {
        id: order.id,
        ad_id: order.ad_id,
        side: order.side.as_str().into(),
        buyer_id: order.buyer_id,
        seller_id: order.seller_id,
        usdt_amount: order.usdt_amount,
        fiat_amount: order.fiat_amount,
        fiat_currency: order.fiat_currency.clone(),
        price: order.price,
        payment_method: order.payment_method.clone(),
        payment_details: order.payment_details.clone(),
        status: order.status.as_str().into(),
        cancel_reason: order.cancel_reason.map(|r| r.as_str().into()),
        created_at: rfc3339(order.created_at),
        expires_at: rfc3339(order.expires_at),
        paid_at: opt_time(order.paid_at),
        completed_at: opt_time(order.completed_at),
        cancelled_at: opt_time(order.cancelled_at),
        dispute: order.dispute.as_ref().map(|d| DisputeView {
            opened_by: d.opened_by,
            reason: d.reason.clone(),
            opened_at: rfc3339(d.opened_at),
            resolution: d.resolution.map(|r| r.as_str().into()),
            resolved_by: d.resolved_by,
            resolved_at: opt_time(d.resolved_at),
            note: d.note.clone(),
        }),
        allowed_actions: None,
    }
}

/// An order as `actor` sees it: with the actions they may take now.
pub fn order_for(order_record: &Order, actor: order::Actor, rated: bool) -> OrderView {
    let mut view = order(order_record);
    view.allowed_actions = Some(
        order::allowed_actions(order_record.status, actor, rated)
            .into_iter()
            .map(String::from)
            .collect(),
    );
    view
}

/// One step of an order's history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryEntry {
    pub event_id: i64,
    /// The event's kind (`order.created`, `order.paid`, …).
    pub event: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub actor: HistoryActor,
    /// Why: a cancel's reason, a dispute's reason, a resolution.
    pub reason: Option<String>,
    pub at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryActor {
    /// None for the service itself.
    pub id: Option<i64>,
    /// `buyer`, `seller`, `operator` or `system`.
    pub role: String,
}

pub fn history_entry(event: &EventRecord) -> HistoryEntry {
    HistoryEntry {
        event_id: event.id,
        event: event.kind.clone(),
        from_status: event.from_status.clone(),
        to_status: event.to_status.clone(),
        actor: HistoryActor {
            id: event.actor_id,
            role: event.actor_role.clone(),
        },
        reason: event.reason.clone(),
        at: rfc3339(event.created_at),
    }
}

/// A chat message.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageView {
    pub id: i64,
    pub order_id: i64,
    pub sender_id: Option<i64>,
    /// `buyer`, `seller`, `operator` or `system`.
    pub sender_role: String,
    pub message: String,
    pub created_at: String,
}

pub fn message(message: &MessageRecord) -> MessageView {
    MessageView {
        id: message.id,
        order_id: message.order_id,
        sender_id: message.sender_id,
        sender_role: message.sender_role.clone(),
        message: message.message.clone(),
        created_at: rfc3339(message.created_at),
    }
}

/// A user's public figures.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicUserView {
    pub id: i64,
    pub name: String,
    /// The mean of ratings received, one decimal; null before any.
    pub rating: Option<f64>,
    pub ratings_count: i64,
    pub orders_count: i64,
}

pub fn public_user(user: &UserRecord) -> PublicUserView {
    PublicUserView {
        id: user.id,
        name: user.name.clone(),
        rating: mean_rating(user.rating_sum, user.ratings_count),
        ratings_count: user.ratings_count,
        orders_count: user.orders_count,
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BalanceView {
    pub available: i64,
    pub frozen: i64,
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
}

pub fn me(user: &UserRecord, wallet: &Wallet) -> MeView {
    MeView {
        id: user.id,
        name: user.name.clone(),
        role: user.role.as_str().into(),
        balance: BalanceView {
            available: wallet.available,
            frozen: wallet.frozen,
        },
        deposits_total: wallet.deposits_total,
        wagering: WageringView {
            required: wallet.wagering_required,
            wagered: wallet.wagered,
        },
        rating: mean_rating(user.rating_sum, user.ratings_count),
        ratings_count: user.ratings_count,
        orders_count: user.orders_count,
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

/// Every error: `{"error": {"code", "message"}}` (SPEC.md §4).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// The stable machine code.
    #[schema(value_type = String, example = "AD_NOT_ACTIVE")]
    pub code: &'static str,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::ad::{AdStatus, AdType};

    fn listed_ad(terms: String, methods: Vec<String>, figures: (i64, i64, i64)) -> Ad {
        let (price, available, created_at_ms) = figures;
        Ad {
            id: 7,
            maker_id: 3,
            ad_type: AdType::Sell,
            fiat_currency: "RUB".into(),
            price,
            min_amount: 100_000,
            max_amount: 1_000_000,
            total_amount: 5_000_000,
            available_amount: available,
            released_amount: 0,
            payment_methods: methods,
            payment_window_seconds: 900,
            terms,
            payment_details: None,
            status: AdStatus::Active,
            created_at_ms,
            version: 1,
        }
    }

    proptest! {
        /// The listing's pieced-together JSON is byte for byte what serialising the view gives,
        /// whatever the text fields hold (quotes, escapes, any Unicode) and whatever the figures.
        #[test]
        fn ad_json_renders_the_ad_view(
            terms in any::<String>(),
            name in any::<String>(),
            methods in proptest::collection::vec(any::<String>(), 0..4),
            figures in (any::<i64>(), any::<i64>(), 0..4_000_000_000_000i64),
            ratings in (0..1_000i64, 0..200i64, any::<i64>()),
        ) {
            let ad = listed_ad(terms, methods, figures);
            let (rating_sum, ratings_count, orders_count) = ratings;
            let maker = Maker { id: 3, name, rating_sum, ratings_count, orders_count };
            let mut pieced = Vec::new();
            AdJson::new(&ad).write(&mut pieced, ad.available_amount, &maker);
            prop_assert_eq!(
                String::from_utf8(pieced).unwrap(),
                serde_json::to_string(&self::ad(&ad, &maker)).unwrap()
            );
        }
    }

    #[test]
    fn an_ads_page_renders_as_the_page_of_views() {
        let model = crate::read_model::ReadModel::default();
        model.add_maker(Maker {
            id: 3,
            name: "Ёлка \"3\"".into(),
            rating_sum: 14,
            ratings_count: 3,
            orders_count: 9,
        });
        for (id, price) in [(1, 9500), (2, 9400)] {
            model.publish(&Ad {
                id,
                ..listed_ad(
                    "line\nbreak".into(),
                    vec!["card".into()],
                    (price, 300_000, 0),
                )
            });
        }
        let query = crate::read_model::AdQuery::market(AdType::Sell, "RUB");
        let (shown, total) = model.list(&query);
        let ads: Vec<(Ad, Maker)> = shown.iter().map(|s| (s.ad(), s.maker().clone())).collect();
        let page = Page {
            items: ads.iter().map(|(ad, maker)| self::ad(ad, maker)).collect(),
            total: total as i64,
            limit: 20,
            offset: 0,
        };
        assert_eq!(
            String::from_utf8(ads_page(&shown, total, 20, 0)).unwrap(),
            serde_json::to_string(&page).unwrap()
        );
        assert_eq!(total, 2);
    }
}
