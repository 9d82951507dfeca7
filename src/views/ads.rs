//! An ad as the public sees it, and the listing's pre-rendered JSON of it.

use std::sync::{PoisonError, RwLock};

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::ad::Ad;
use crate::domain::pricing::IndexPrice;
use crate::domain::requirements::Requirements;
use crate::domain::user::Profile;
use crate::domain::{Millis, rfc3339};
use crate::views::accounts::{TrackRecordView, track_record};

/// An ad as the public sees it (never its payment details). Serialised straight from borrowed
/// fields: listings render many of these per request.
#[derive(Serialize, ToSchema)]
pub struct AdView<'a> {
    id: i64,
    #[serde(rename = "type")]
    ad_type: &'static str,
    fiat_currency: &'a str,
    /// RUB kopecks per USDT; a floating ad's is its currency's index price with its premium,
    /// `null` while there is no index price (the ad is then neither listed nor taken).
    price: Option<i64>,
    /// `fixed` or `floating`.
    price_type: &'static str,
    /// A floating ad's premium over the index in basis points (−2000…2000); `null` for a fixed
    /// ad.
    premium_bp: Option<i64>,
    min_amount: i64,
    max_amount: i64,
    total_amount: i64,
    available_amount: i64,
    payment_methods: &'a [String],
    payment_window_seconds: i64,
    /// How long the seller of an order has, once the buyer says they paid, to release or
    /// dispute before the service disputes the order for the buyer.
    release_window_seconds: i64,
    terms: &'a str,
    status: &'static str,
    requirements: RequirementsView,
    maker: MakerView<'a>,
    created_at: String,
    /// In a listing read with a bearer token: whether the caller meets the ad's requirements.
    #[serde(skip_serializing_if = "Option::is_none")]
    eligible: Option<bool>,
}

/// What the ad asks of its takers; `null` asks nothing.
#[derive(Serialize, ToSchema)]
pub struct RequirementsView {
    /// Completed orders in all (the taker's `orders_count`).
    min_completed_orders: Option<i64>,
    /// Whole days since the taker's account was made.
    min_account_age_days: Option<i64>,
    /// The taker's `completion_rate_30d`, in basis points; a taker without one falls short of
    /// any bound above 0.
    min_completion_rate_bp: Option<i64>,
}

impl From<&Requirements> for RequirementsView {
    fn from(requirements: &Requirements) -> Self {
        Self {
            min_completed_orders: requirements.min_completed_orders,
            min_account_age_days: requirements.min_account_age_days,
            min_completion_rate_bp: requirements.min_completion_rate_bp,
        }
    }
}

#[derive(Serialize, ToSchema)]
struct MakerView<'a> {
    id: i64,
    name: &'a str,
    rating: Option<f64>,
    ratings_count: i64,
    orders_count: i64,
    #[serde(flatten)]
    track_record: TrackRecordView,
}

/// `ad` with `maker`'s figures as they are at `now`.
pub fn ad<'a>(ad: &'a Ad, maker: &'a Profile, now: Millis) -> AdView<'a> {
    AdView {
        id: ad.id.get(),
        ad_type: ad.ad_type.as_str(),
        fiat_currency: &ad.fiat_currency,
        price: ad.price.is_positive().then_some(ad.price.get()),
        price_type: ad.price_type.as_str(),
        premium_bp: ad.premium_bp,
        min_amount: ad.min_amount.get(),
        max_amount: ad.max_amount.get(),
        total_amount: ad.total_amount.get(),
        available_amount: ad.available_amount.get(),
        payment_methods: &ad.payment_methods,
        payment_window_seconds: ad.payment_window_seconds,
        release_window_seconds: ad.release_window_seconds,
        terms: &ad.terms,
        status: ad.status.as_str(),
        requirements: RequirementsView::from(&ad.requirements),
        maker: MakerView {
            id: maker.id.get(),
            name: &maker.name,
            rating: maker.rating(),
            ratings_count: maker.ratings_count,
            orders_count: maker.orders_count,
            track_record: track_record(&maker.track, now),
        },
        created_at: rfc3339(ad.created_at_ms),
        eligible: None,
    }
}

impl AdView<'_> {
    /// The view as a listing read with a token shows it: with whether the viewer is eligible.
    pub fn with_eligible(self, eligible: Option<bool>) -> Self {
        Self { eligible, ..self }
    }
}

/// An ad's JSON as [`ad`] renders it, cut around the figures that change without the ad changing
/// (its capacity and its maker's figures): a listing writes each page's ads by copying the three
/// pieces and formatting five numbers.
pub struct AdJson {
    /// Up to `"price":`.
    head: Box<str>,
    /// From the pricing up to `"available_amount":`.
    priced: Box<str>,
    /// From the payment methods up to the maker's `"id":…`.
    middle: Box<str>,
    /// From the end of the maker up to the ad's closing brace.
    tail: Box<str>,
}

impl AdJson {
    pub fn new(ad: &Ad) -> Self {
        let head = format!(
            r#"{{"id":{},"type":{},"fiat_currency":{},"price":"#,
            ad.id,
            json(&ad.ad_type.as_str()),
            json(&ad.fiat_currency),
        );
        let priced = format!(
            r#","price_type":{},"premium_bp":{},"min_amount":{},"max_amount":{},"total_amount":{},"available_amount":"#,
            json(&ad.price_type.as_str()),
            json(&ad.premium_bp),
            ad.min_amount,
            ad.max_amount,
            ad.total_amount,
        );
        let middle = format!(
            r#","payment_methods":{},"payment_window_seconds":{},"release_window_seconds":{},"terms":{},"status":{},"requirements":{},"maker":{{"id":{}"#,
            json(&ad.payment_methods),
            ad.payment_window_seconds,
            ad.release_window_seconds,
            json(&ad.terms),
            json(&ad.status.as_str()),
            json(&RequirementsView::from(&ad.requirements)),
            ad.maker_id,
        );
        let tail = format!(r#"}},"created_at":{}"#, json(&rfc3339(ad.created_at_ms)));
        Self {
            head: head.into(),
            priced: priced.into(),
            middle: middle.into(),
            tail: tail.into(),
        }
    }

    /// Appends the ad at `price` (none yet, zero: `null`) with `available` capacity and `maker`'s figures
    /// at `now` (`fields` keeps what was rendered of them), and whether the viewer is
    /// `eligible` if the listing knows.
    pub fn write(
        &self,
        out: &mut Vec<u8>,
        (price, available, eligible): (i64, i64, Option<bool>),
        (maker, fields): (&Profile, &MakerJson),
        now: Millis,
    ) {
        let mut number = itoa::Buffer::new();
        out.extend_from_slice(self.head.as_bytes());
        if price > 0 {
            out.extend_from_slice(number.format(price).as_bytes());
        } else {
            out.extend_from_slice(b"null");
        }
        out.extend_from_slice(self.priced.as_bytes());
        out.extend_from_slice(number.format(available).as_bytes());
        out.extend_from_slice(self.middle.as_bytes());
        fields.write(out, maker, now);
        out.extend_from_slice(self.tail.as_bytes());
        match eligible {
            Some(true) => out.extend_from_slice(b",\"eligible\":true}"),
            Some(false) => out.extend_from_slice(b",\"eligible\":false}"),
            None => out.push(b'}'),
        }
    }
}

/// A maker's fields after its `"id":…` as [`ad`] renders them, kept while they read the same:
/// until a figure changes (the owner then starts a new one), the UTC day ends or the online flag
/// turns. Most listings then copy one slice per ad instead of summing and formatting a record.
#[derive(Default)]
pub struct MakerJson(RwLock<Option<Rendered>>);

struct Rendered {
    /// The instants at which it reads the same, `[from, until)`.
    from: Millis,
    until: Millis,
    json: Box<[u8]>,
}

impl MakerJson {
    /// Appends `maker`'s fields (with a leading comma) as they are at `now`.
    pub fn write(&self, out: &mut Vec<u8>, maker: &Profile, now: Millis) {
        let fits = |rendered: &Rendered| rendered.from <= now && now < rendered.until;
        {
            let kept = self.0.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(rendered) = kept.as_ref().filter(|rendered| fits(rendered)) {
                out.extend_from_slice(&rendered.json);
                return;
            }
        }
        let (from, until) = maker.track.steady_span(now);
        let json = maker_fields(maker, now);
        out.extend_from_slice(&json);
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Some(Rendered {
            from,
            until,
            json: json.into(),
        });
    }
}

/// `maker`'s fields after its id at `now`, with a leading comma.
fn maker_fields(maker: &Profile, now: Millis) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    let mut number = itoa::Buffer::new();
    out.extend_from_slice(b",\"name\":");
    // Writing a string or a number to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut out, &maker.name);
    out.extend_from_slice(b",\"rating\":");
    let _ = serde_json::to_writer(&mut out, &maker.rating());
    out.extend_from_slice(b",\"ratings_count\":");
    out.extend_from_slice(number.format(maker.ratings_count).as_bytes());
    out.extend_from_slice(b",\"orders_count\":");
    out.extend_from_slice(number.format(maker.orders_count).as_bytes());
    // The record's fields, flattened into the maker: its object without the braces.
    let record = serde_json::to_vec(&track_record(&maker.track, now)).unwrap_or_default();
    if let Some(fields) = record.get(1..record.len().saturating_sub(1)) {
        out.push(b',');
        out.extend_from_slice(fields);
    }
    out
}

/// The platform's index price of a fiat currency, as set at `created_at`.
#[derive(Serialize, ToSchema)]
pub struct IndexPriceView {
    pub id: i64,
    pub fiat_currency: String,
    /// Kopecks of the currency per USDT.
    pub price: i64,
    pub created_at: String,
}

impl From<&IndexPrice> for IndexPriceView {
    fn from(index: &IndexPrice) -> Self {
        Self {
            id: index.id,
            fiat_currency: index.fiat_currency.clone(),
            price: index.price.get(),
            created_at: rfc3339(index.created_at),
        }
    }
}

/// `value` as JSON (a string or a list of strings cannot fail to serialise).
fn json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::Kopecks;
    use crate::domain::ad::{AdStatus, AdType};
    use crate::domain::pricing::PriceType;
    use crate::domain::track::{DayFigures, Track, day_of};
    use crate::domain::{AdId, UserId};

    fn listed_ad(terms: String, methods: Vec<String>, figures: (i64, i64, i64)) -> Ad {
        let (price, available, created_at_ms) = figures;
        Ad {
            id: AdId(7),
            maker_id: UserId(3),
            ad_type: AdType::Sell,
            fiat_currency: "RUB".into(),
            price: Kopecks(price),
            min_amount: Kopecks(100_000),
            max_amount: Kopecks(1_000_000),
            total_amount: Kopecks(5_000_000),
            available_amount: Kopecks(available),
            closed_amount: Kopecks(0),
            payment_methods: methods,
            payment_window_seconds: 900,
            release_window_seconds: 1800,
            terms,
            payment_details: None,
            requirements: Default::default(),
            price_type: Default::default(),
            premium_bp: None,
            status: AdStatus::Active,
            created_at_ms,
            version: 1,
            terms_version: 1,
        }
    }

    proptest! {
        /// The listing's pieced-together JSON is byte for byte what serialising the view gives,
        /// whatever the text fields hold (quotes, escapes, any Unicode) and whatever the figures,
        /// also when the maker's fields were first rendered at an earlier instant.
        #[test]
        fn ad_json_renders_the_ad_view(
            terms in any::<String>(),
            name in any::<String>(),
            methods in proptest::collection::vec(any::<String>(), 0..4),
            figures in (any::<i64>(), any::<i64>(), 0..4_000_000_000_000i64),
            ratings in (0..1_000i64, 0..200i64, any::<i64>()),
            days in proptest::collection::vec((0..40i64, 0..5i64, 0..5i64, 0..5i64), 0..6),
            seen in proptest::option::of(0..4_000_000_000_000i64),
            now in 0..4_000_000_000_000i64,
            earlier in 0..2 * crate::domain::track::DAY_MS,
            asks in (proptest::option::of(0..100i64), proptest::option::of(0..100i64), proptest::option::of(0..10_000i64)),
            eligible in proptest::option::of(any::<bool>()),
            (price_type, premium_bp) in prop_oneof![
                Just((PriceType::Fixed, None)),
                (-2_000..=2_000i64).prop_map(|p| (PriceType::Floating, Some(p))),
            ],
        ) {
            let mut ad = listed_ad(terms, methods, figures);
            ad.requirements = Requirements {
                min_completed_orders: asks.0,
                min_account_age_days: asks.1,
                min_completion_rate_bp: asks.2,
            };
            ad.price_type = price_type;
            ad.premium_bp = premium_bp;
            let (rating_sum, ratings_count, orders_count) = ratings;
            let mut track = Track { last_seen_at: seen, first_order_at: seen, ..Track::default() };
            for (day, completed, cancelled, paid) in days {
                let figures = DayFigures { completed, cancelled, paid, pay_ms: paid * 1_500, ..DayFigures::default() };
                track.add(day_of(now) - day, &figures);
            }
            let maker = Profile { id: UserId(3), name, rating_sum, ratings_count, orders_count, track };
            let (json, fields) = (AdJson::new(&ad), MakerJson::default());
            let capacity = (ad.price.get(), ad.available_amount.get(), eligible);
            json.write(&mut Vec::new(), capacity, (&maker, &fields), now - earlier);
            let mut pieced = Vec::new();
            json.write(&mut pieced, capacity, (&maker, &fields), now);
            prop_assert_eq!(
                String::from_utf8(pieced).unwrap(),
                serde_json::to_string(&self::ad(&ad, &maker, now).with_eligible(eligible)).unwrap()
            );
        }
    }
}
