//! The market's read side: ads as their actors last published them, and their makers' public
//! figures, so listing ads never touches the database.

use std::sync::Arc;

use dashmap::DashMap;

use crate::domain::ad::{Ad, AdStatus, AdType};
use crate::domain::{Kopecks, mean_rating};
use crate::store::UserRecord;

/// A maker's public figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Maker {
    pub id: i64,
    pub name: String,
    pub rating_sum: i64,
    pub ratings_count: i64,
    pub orders_count: i64,
}

impl Maker {
    pub fn rating(&self) -> Option<f64> {
        mean_rating(self.rating_sum, self.ratings_count)
    }
}

impl From<&UserRecord> for Maker {
    fn from(user: &UserRecord) -> Self {
        Self {
            id: user.id,
            name: user.name.clone(),
            rating_sum: user.rating_sum,
            ratings_count: user.ratings_count,
            orders_count: user.orders_count,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    #[default]
    BestPrice,
    Rating,
    OrdersCount,
}

impl SortBy {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "best_price" => Some(Self::BestPrice),
            "rating" => Some(Self::Rating),
            "orders_count" => Some(Self::OrdersCount),
            _ => None,
        }
    }
}

/// A listing query (SPEC.md §6, `GET /ads`).
#[derive(Debug, Clone)]
pub struct AdQuery {
    pub ad_type: AdType,
    pub fiat_currency: String,
    pub amount: Option<Kopecks>,
    pub payment_method: Option<String>,
    pub sort_by: SortBy,
    pub limit: usize,
    pub offset: usize,
}

#[derive(Default)]
pub struct ReadModel {
    /// Shared, immutable copies: a listing clones pointers, not ads.
    ads: DashMap<i64, Arc<Ad>>,
    makers: DashMap<i64, Maker>,
}

impl ReadModel {
    /// Shows the ad as committed now; a closed ad leaves the listing.
    pub fn publish(&self, ad: &Ad) {
        if ad.status == AdStatus::Closed {
            self.ads.remove(&ad.id);
        } else {
            self.ads.insert(ad.id, Arc::new(ad.clone()));
        }
    }

    /// Drops the ads whose id `keep` refuses (closed elsewhere).
    pub fn retain(&self, keep: impl Fn(i64) -> bool) {
        self.ads.retain(|id, _| keep(*id));
    }

    pub fn add_maker(&self, maker: Maker) {
        self.makers.insert(maker.id, maker);
    }

    pub fn has_maker(&self, id: i64) -> bool {
        self.makers.contains_key(&id)
    }

    pub fn maker(&self, id: i64) -> Option<Maker> {
        self.makers.get(&id).map(|m| m.clone())
    }

    pub fn count_completed(&self, user_ids: [i64; 2]) {
        for id in user_ids {
            if let Some(mut maker) = self.makers.get_mut(&id) {
                maker.orders_count += 1;
            }
        }
    }

    pub fn add_rating(&self, user_id: i64, rating: i64) {
        if let Some(mut maker) = self.makers.get_mut(&user_id) {
            maker.rating_sum += rating;
            maker.ratings_count += 1;
        }
    }

    /// One page of the ads that match, with their makers, and how many match in all.
    pub fn list(&self, query: &AdQuery) -> (Vec<(Arc<Ad>, Maker)>, usize) {
        let mut matching: Vec<Arc<Ad>> = self
            .ads
            .iter()
            .filter(|entry| {
                let ad = entry.value();
                ad.ad_type == query.ad_type
                    && ad.fiat_currency == query.fiat_currency
                    && ad.is_listed()
                    && query.amount.is_none_or(|amount| ad.accepts_amount(amount))
                    && query
                        .payment_method
                        .as_ref()
                        .is_none_or(|method| ad.payment_methods.contains(method))
            })
            .map(|entry| entry.value().clone())
            .collect();
        let by_price = |ad: &Ad| match query.ad_type {
            // A seller wants the buyer who pays most; a buyer the seller who asks least.
            AdType::Buy => -ad.price,
            AdType::Sell => ad.price,
        };
        match query.sort_by {
            SortBy::BestPrice => matching.sort_by_key(|ad| (by_price(ad), ad.id)),
            SortBy::Rating | SortBy::OrdersCount => {
                let figure = |ad: &Ad| {
                    self.makers
                        .get(&ad.maker_id)
                        .map_or(-1.0, |maker| match query.sort_by {
                            SortBy::Rating => maker.rating().unwrap_or(-1.0),
                            _ => maker.orders_count as f64,
                        })
                };
                let mut keyed: Vec<(f64, Arc<Ad>)> =
                    matching.into_iter().map(|ad| (figure(&ad), ad)).collect();
                keyed.sort_by(|(fa, a), (fb, b)| fb.total_cmp(fa).then(a.id.cmp(&b.id)));
                matching = keyed.into_iter().map(|(_, ad)| ad).collect();
            }
        }
        let total = matching.len();
        let page = matching
            .into_iter()
            .skip(query.offset)
            .take(query.limit)
            .map(|ad| {
                let maker = self.maker(ad.maker_id).unwrap_or_default();
                (ad, maker)
            })
            .collect();
        (page, total)
    }

    /// An ad that is not closed, with its maker.
    pub fn get(&self, id: i64) -> Option<(Ad, Maker)> {
        let ad = Ad::clone(self.ads.get(&id)?.value());
        let maker = self.maker(ad.maker_id).unwrap_or_default();
        Some((ad, maker))
    }
}
