//! The market's read side: ads as their actors last published them, and their makers' public
//! figures, so listing ads never touches the database.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

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
    /// Makers the viewer does not see (blocks either way).
    pub hidden_makers: Option<std::collections::HashSet<i64>>,
}

/// An ad in the read model: its listing fields, and its capacity as an atomic that changes in
/// place, so the common change (an order taking or returning capacity) moves no index.
struct Listed {
    ad: Ad,
    available: AtomicI64,
}

impl Listed {
    fn new(ad: &Ad) -> Self {
        Self {
            available: AtomicI64::new(ad.available_amount),
            ad: ad.clone(),
        }
    }

    fn available(&self) -> Kopecks {
        self.available.load(Ordering::Relaxed)
    }

    /// The ad as it is now.
    fn current(&self) -> Ad {
        Ad {
            available_amount: self.available(),
            ..self.ad.clone()
        }
    }

    /// Whether `ad` differs from this entry only in capacity (and the store's counters).
    fn same_listing(&self, ad: &Ad) -> bool {
        let mine = &self.ad;
        mine.status == ad.status
            && mine.price == ad.price
            && mine.min_amount == ad.min_amount
            && mine.max_amount == ad.max_amount
            && mine.total_amount == ad.total_amount
            && mine.payment_methods == ad.payment_methods
            && mine.payment_window_seconds == ad.payment_window_seconds
            && mine.terms == ad.terms
            && mine.maker_id == ad.maker_id
            && mine.ad_type == ad.ad_type
            && mine.fiat_currency == ad.fiat_currency
    }

    fn matches(&self, query: &AdQuery) -> bool {
        let (ad, available) = (&self.ad, self.available());
        ad.is_listed_with(available)
            && query
                .amount
                .is_none_or(|amount| ad.accepts_amount_with(amount, available))
            && query
                .payment_method
                .as_ref()
                .is_none_or(|method| ad.payment_methods.contains(method))
            && query
                .hidden_makers
                .as_ref()
                .is_none_or(|hidden| !hidden.contains(&ad.maker_id))
    }
}

/// How stale the makers' figures behind the `rating` and `orders_count` orders may grow before
/// the next query re-sorts them (they change with every completed order; the figures shown and
/// the capacities are always current).
pub const MAKER_ORDER_STALENESS: std::time::Duration = std::time::Duration::from_secs(1);

/// The active ads of each market (type and currency) in each listing order, ties by id.
#[derive(Default)]
struct Index {
    layout: u64,
    makers_version: u64,
    built_at: Option<std::time::Instant>,
    markets: HashMap<(AdType, String), Market>,
}

#[derive(Default)]
struct Market {
    by_price: Vec<Arc<Listed>>,
    by_rating: Vec<Arc<Listed>>,
    by_orders: Vec<Arc<Listed>>,
}

impl Index {
    fn fresh(&self, layout: u64, makers_version: u64) -> bool {
        let makers_fresh = self.makers_version == makers_version
            || self
                .built_at
                .is_some_and(|at| at.elapsed() < MAKER_ORDER_STALENESS);
        self.built_at.is_some() && self.layout == layout && makers_fresh
    }
}

#[derive(Default)]
pub struct ReadModel {
    ads: DashMap<i64, Arc<Listed>>,
    makers: DashMap<i64, Maker>,
    /// Bumped whenever an ad appears, disappears or changes a field the index sorts or filters
    /// on; the index is rebuilt on the next query after a bump, never for a change of capacity.
    layout: AtomicU64,
    /// Bumped whenever a maker's figures change.
    makers_version: AtomicU64,
    index: RwLock<Arc<Index>>,
}

impl ReadModel {
    /// Shows the ad as committed now; a closed ad leaves the listing.
    pub fn publish(&self, ad: &Ad) {
        if ad.status == AdStatus::Closed {
            if self.ads.remove(&ad.id).is_some() {
                self.layout.fetch_add(1, Ordering::Release);
            }
            return;
        }
        if let Some(listed) = self.ads.get(&ad.id)
            && listed.same_listing(ad)
        {
            listed
                .available
                .store(ad.available_amount, Ordering::Relaxed);
            return;
        }
        self.ads.insert(ad.id, Arc::new(Listed::new(ad)));
        self.layout.fetch_add(1, Ordering::Release);
    }

    /// Drops the ads whose id `keep` refuses (closed elsewhere).
    pub fn retain(&self, keep: impl Fn(i64) -> bool) {
        let before = self.ads.len();
        self.ads.retain(|id, _| keep(*id));
        if self.ads.len() != before {
            self.layout.fetch_add(1, Ordering::Release);
        }
    }

    /// The index as of the current layout, rebuilt if an ad's listing changed since (or the
    /// makers' figures did, more than `MAKER_ORDER_STALENESS` ago).
    fn index(&self) -> Arc<Index> {
        let layout = self.layout.load(Ordering::Acquire);
        let makers_version = self.makers_version.load(Ordering::Acquire);
        {
            let index = self
                .index
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if index.fresh(layout, makers_version) {
                return index.clone();
            }
        }
        let mut index = self
            .index
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if index.fresh(layout, makers_version) {
            return index.clone();
        }
        let mut markets: HashMap<(AdType, String), Market> = HashMap::new();
        for entry in self.ads.iter() {
            let listed = entry.value();
            if listed.ad.status == AdStatus::Active {
                let market = (listed.ad.ad_type, listed.ad.fiat_currency.clone());
                markets
                    .entry(market)
                    .or_default()
                    .by_price
                    .push(listed.clone());
            }
        }
        let figures = |listed: &Listed| {
            self.makers
                .get(&listed.ad.maker_id)
                .map_or((-1.0, -1), |maker| {
                    (maker.rating().unwrap_or(-1.0), maker.orders_count)
                })
        };
        for ((ad_type, _), market) in markets.iter_mut() {
            let ad_type = *ad_type;
            market
                .by_price
                .sort_by_key(|listed| (best_price_key(ad_type, listed.ad.price), listed.ad.id));
            let mut keyed: Vec<((f64, i64), Arc<Listed>)> = market
                .by_price
                .iter()
                .map(|listed| (figures(listed), listed.clone()))
                .collect();
            keyed
                .sort_by(|((ra, _), a), ((rb, _), b)| rb.total_cmp(ra).then(a.ad.id.cmp(&b.ad.id)));
            market.by_rating = keyed.iter().map(|(_, listed)| listed.clone()).collect();
            keyed.sort_by(|((_, oa), a), ((_, ob), b)| ob.cmp(oa).then(a.ad.id.cmp(&b.ad.id)));
            market.by_orders = keyed.into_iter().map(|(_, listed)| listed).collect();
        }
        *index = Arc::new(Index {
            layout,
            makers_version,
            built_at: Some(std::time::Instant::now()),
            markets,
        });
        index.clone()
    }

    pub fn add_maker(&self, maker: Maker) {
        self.makers.insert(maker.id, maker);
        self.makers_version.fetch_add(1, Ordering::Release);
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
                self.makers_version.fetch_add(1, Ordering::Release);
            }
        }
    }

    pub fn add_rating(&self, user_id: i64, rating: i64) {
        if let Some(mut maker) = self.makers.get_mut(&user_id) {
            maker.rating_sum += rating;
            maker.ratings_count += 1;
            self.makers_version.fetch_add(1, Ordering::Release);
        }
    }

    /// One page of the ads that match, with their makers, and how many match in all. Capacity and
    /// the figures shown are read as they are now; the order comes from the index.
    pub fn list(&self, query: &AdQuery) -> (Vec<(Ad, Maker)>, usize) {
        let index = self.index();
        let market = (query.ad_type, query.fiat_currency.clone());
        let Some(market) = index.markets.get(&market) else {
            return (Vec::new(), 0);
        };
        let ordered = match query.sort_by {
            SortBy::BestPrice => &market.by_price,
            SortBy::Rating => &market.by_rating,
            SortBy::OrdersCount => &market.by_orders,
        };
        let mut total = 0;
        let mut page = Vec::with_capacity(query.limit);
        for listed in ordered.iter().filter(|listed| listed.matches(query)) {
            if total >= query.offset && page.len() < query.limit {
                let maker = self.maker(listed.ad.maker_id).unwrap_or_default();
                page.push((listed.current(), maker));
            }
            total += 1;
        }
        (page, total)
    }

    /// The maker of an ad that is not closed.
    pub fn maker_of(&self, ad_id: i64) -> Option<i64> {
        self.ads.get(&ad_id).map(|listed| listed.ad.maker_id)
    }

    /// An ad that is not closed, with its maker.
    pub fn get(&self, id: i64) -> Option<(Ad, Maker)> {
        let ad = self.ads.get(&id)?.current();
        let maker = self.maker(ad.maker_id).unwrap_or_default();
        Some((ad, maker))
    }
}

/// Sort key of the best price: a seller wants the buyer who pays most, a buyer the seller who
/// asks least.
fn best_price_key(ad_type: AdType, price: Kopecks) -> Kopecks {
    match ad_type {
        AdType::Buy => -price,
        AdType::Sell => price,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ad(id: i64, ad_type: AdType, price: Kopecks, available: Kopecks) -> Ad {
        Ad {
            id,
            maker_id: 1,
            ad_type,
            fiat_currency: "RUB".into(),
            price,
            min_amount: 100_000,
            max_amount: 1_000_000,
            total_amount: 5_000_000,
            available_amount: available,
            released_amount: 0,
            payment_methods: vec!["card".into()],
            payment_window_seconds: 900,
            terms: String::new(),
            payment_details: None,
            status: AdStatus::Active,
            created_at_ms: 0,
            version: 1,
        }
    }

    fn query(ad_type: AdType, amount: Option<Kopecks>) -> AdQuery {
        AdQuery {
            ad_type,
            fiat_currency: "RUB".into(),
            amount,
            payment_method: None,
            sort_by: SortBy::BestPrice,
            limit: 20,
            offset: 0,
            hidden_makers: None,
        }
    }

    fn ids(model: &ReadModel, query: &AdQuery) -> Vec<i64> {
        model.list(query).0.iter().map(|(ad, _)| ad.id).collect()
    }

    #[test]
    fn capacity_changes_show_at_once_without_a_rebuild() {
        let model = ReadModel::default();
        model.publish(&ad(1, AdType::Buy, 9500, 1_000_000));
        model.publish(&ad(2, AdType::Buy, 9600, 1_000_000));
        assert_eq!(ids(&model, &query(AdType::Buy, None)), vec![2, 1]);
        let layout = model.layout.load(Ordering::Acquire);
        // Sold below its minimum: out of the listing, and no index rebuild was needed.
        model.publish(&ad(2, AdType::Buy, 9600, 99_999));
        assert_eq!(model.layout.load(Ordering::Acquire), layout);
        assert_eq!(ids(&model, &query(AdType::Buy, None)), vec![1]);
        model.publish(&ad(2, AdType::Buy, 9600, 300_000));
        assert_eq!(ids(&model, &query(AdType::Buy, Some(300_000))), vec![2, 1]);
        assert_eq!(ids(&model, &query(AdType::Buy, Some(300_001))), vec![1]);
        assert_eq!(
            model.list(&query(AdType::Buy, None)).0[0]
                .0
                .available_amount,
            300_000
        );
        assert_eq!(model.get(2).unwrap().0.available_amount, 300_000);
    }

    #[test]
    fn best_price_is_highest_for_buy_ads_and_lowest_for_sell_ads() {
        let model = ReadModel::default();
        for (id, price) in [(1, 9500), (2, 9700), (3, 9600), (4, 9700)] {
            model.publish(&ad(id, AdType::Buy, price, 1_000_000));
            model.publish(&ad(id + 10, AdType::Sell, price, 1_000_000));
        }
        assert_eq!(ids(&model, &query(AdType::Buy, None)), vec![2, 4, 3, 1]);
        assert_eq!(
            ids(&model, &query(AdType::Sell, None)),
            vec![11, 13, 12, 14]
        );
        let (page, total) = model.list(&AdQuery {
            offset: 1,
            limit: 2,
            ..query(AdType::Buy, None)
        });
        assert_eq!(
            (page.iter().map(|(ad, _)| ad.id).collect::<Vec<_>>(), total),
            (vec![4, 3], 4)
        );
    }

    #[test]
    fn paused_closed_and_repriced_ads_move_the_index() {
        let model = ReadModel::default();
        model.publish(&ad(1, AdType::Buy, 9500, 1_000_000));
        model.publish(&ad(2, AdType::Buy, 9600, 1_000_000));
        let mut paused = ad(2, AdType::Buy, 9600, 1_000_000);
        paused.status = AdStatus::Paused;
        model.publish(&paused);
        assert_eq!(ids(&model, &query(AdType::Buy, None)), vec![1]);
        model.publish(&ad(2, AdType::Buy, 9400, 1_000_000));
        assert_eq!(ids(&model, &query(AdType::Buy, None)), vec![1, 2]);
        let mut closed = ad(1, AdType::Buy, 9500, 0);
        closed.status = AdStatus::Closed;
        model.publish(&closed);
        assert_eq!(ids(&model, &query(AdType::Buy, None)), vec![2]);
        assert!(model.get(1).is_none());
    }

    #[test]
    fn maker_orders_follow_new_figures_within_the_staleness_bound() {
        let model = ReadModel::default();
        for maker in [1, 2] {
            model.add_maker(Maker {
                id: maker,
                name: format!("maker {maker}"),
                ..Maker::default()
            });
            let mut theirs = ad(maker, AdType::Buy, 9500, 1_000_000);
            theirs.maker_id = maker;
            model.publish(&theirs);
        }
        let by_rating = AdQuery {
            sort_by: SortBy::Rating,
            ..query(AdType::Buy, None)
        };
        assert_eq!(ids(&model, &by_rating), vec![1, 2]);
        model.add_rating(2, 5);
        // The figure shows at once; the order follows once the bound has passed.
        assert_eq!(
            model
                .list(&by_rating)
                .0
                .iter()
                .find(|(ad, _)| ad.id == 2)
                .unwrap()
                .1
                .rating(),
            Some(5.0)
        );
        std::thread::sleep(MAKER_ORDER_STALENESS + std::time::Duration::from_millis(50));
        assert_eq!(ids(&model, &by_rating), vec![2, 1]);
    }
}
