//! The market's read side: ads as their actors last published them, and their makers' public
//! figures, so listing ads never touches the database.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use dashmap::DashMap;

use crate::domain::Kopecks;
use crate::domain::ad::{Ad, AdStatus, AdType};
use crate::domain::user::Profile;
use crate::views::AdJson;

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

impl AdQuery {
    /// A market's first page by best price, without filters.
    pub fn market(ad_type: AdType, fiat_currency: &str) -> Self {
        Self {
            ad_type,
            fiat_currency: fiat_currency.into(),
            amount: None,
            payment_method: None,
            sort_by: SortBy::BestPrice,
            limit: crate::config::DEFAULT_PAGE_LIMIT as usize,
            offset: 0,
            hidden_makers: None,
        }
    }
}

/// How many capacities one chunk of [`Capacities`] holds.
const CAPACITY_CHUNK: usize = 4096;

/// The capacities of the ads in the read model, side by side in chunks that never move: a listing
/// reads every candidate's capacity, and reading them from one dense array instead of one heap
/// entry per ad keeps a scan of thousands of ads in the cache. A slot is reused once no entry and
/// no index holds it any more.
#[derive(Default)]
struct Capacities {
    pool: Mutex<CapacityPool>,
}

#[derive(Default)]
struct CapacityPool {
    chunks: Vec<Arc<[AtomicI64]>>,
    free: Vec<usize>,
}

impl Capacities {
    fn take(self: &Arc<Self>, value: Kopecks) -> Capacity {
        let mut pool = self
            .pool
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let slot = match pool.free.pop() {
            Some(slot) => slot,
            None => {
                let first = pool.chunks.len() * CAPACITY_CHUNK;
                pool.chunks
                    .push((0..CAPACITY_CHUNK).map(|_| AtomicI64::new(0)).collect());
                // Handed out lowest first, so the ads of a market sit close together.
                pool.free.extend((first + 1..first + CAPACITY_CHUNK).rev());
                first
            }
        };
        let capacity = Capacity {
            chunk: pool.chunks[slot / CAPACITY_CHUNK].clone(),
            offset: slot % CAPACITY_CHUNK,
            slot,
            pool: self.clone(),
        };
        capacity.set(value);
        capacity
    }
}

/// One ad's capacity: a slot of [`Capacities`], given back when dropped.
struct Capacity {
    chunk: Arc<[AtomicI64]>,
    offset: usize,
    slot: usize,
    pool: Arc<Capacities>,
}

impl Capacity {
    fn get(&self) -> Kopecks {
        self.chunk[self.offset].load(Ordering::Relaxed)
    }

    fn set(&self, value: Kopecks) {
        self.chunk[self.offset].store(value, Ordering::Relaxed);
    }
}

impl Drop for Capacity {
    fn drop(&mut self) {
        self.pool
            .pool
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .free
            .push(self.slot);
    }
}

/// An ad in the read model: its listing fields, its JSON as far as it never changes, and its
/// capacity, which changes in place: the common change (an order taking or returning capacity)
/// moves no index and renders nothing.
struct Listed {
    ad: Ad,
    json: AdJson,
    capacity: Capacity,
}

impl Listed {
    fn available(&self) -> Kopecks {
        self.capacity.get()
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
}

/// An ad of a listing page: the entry, its capacity when the page was read, and its maker.
pub struct Shown {
    listed: Arc<Listed>,
    available: Kopecks,
    maker: Profile,
}

impl Shown {
    pub fn id(&self) -> i64 {
        self.listed.ad.id
    }

    /// The ad as the page read it.
    pub fn ad(&self) -> Ad {
        Ad {
            available_amount: self.available,
            ..self.listed.ad.clone()
        }
    }

    pub fn maker(&self) -> &Profile {
        &self.maker
    }

    /// Appends the ad's JSON, the same as serialising [`crate::views::ad`].
    pub fn write_json(&self, out: &mut Vec<u8>) {
        self.listed.json.write(out, self.available, &self.maker);
    }
}

/// An ad's place in one listing order: what a query filters on, copied out of the entry so a scan
/// reads one dense array (and the capacities' chunk) rather than every entry.
#[derive(Clone)]
struct Slot {
    min_amount: Kopecks,
    max_amount: Kopecks,
    maker_id: i64,
    /// Bit `i` for the market's `i`-th payment method; [`OTHER_METHODS`] for any past the 63rd.
    methods: u64,
    capacity: Arc<[AtomicI64]>,
    offset: usize,
    listed: Arc<Listed>,
}

/// The bit of a slot's methods that stands for every method past the 63rd of its market (checked
/// against the ad itself).
const OTHER_METHODS: u64 = 1 << 63;

impl Slot {
    fn new(listed: &Arc<Listed>, methods: &mut HashMap<String, u64>) -> Self {
        let mut mask = 0;
        for method in &listed.ad.payment_methods {
            let next = match methods.len() {
                known @ 0..63 => 1 << known,
                _ => OTHER_METHODS,
            };
            mask |= *methods.entry(method.clone()).or_insert(next);
        }
        Self {
            min_amount: listed.ad.min_amount,
            max_amount: listed.ad.max_amount,
            maker_id: listed.ad.maker_id,
            methods: mask,
            capacity: listed.capacity.chunk.clone(),
            offset: listed.capacity.offset,
            listed: listed.clone(),
        }
    }

    fn id(&self) -> i64 {
        self.listed.ad.id
    }

    fn available(&self) -> Kopecks {
        self.capacity[self.offset].load(Ordering::Relaxed)
    }

    /// Whether the ad shows for `filter`, with `available` capacity left.
    fn matches(&self, filter: &Filter, available: Kopecks) -> bool {
        available >= self.min_amount
            && filter.amount.is_none_or(|amount| {
                self.min_amount <= amount && amount <= self.max_amount.min(available)
            })
            && match filter.method {
                MethodFilter::Any => true,
                MethodFilter::Bit(bit) => self.methods & bit != 0,
                MethodFilter::Other(method) => {
                    self.methods & OTHER_METHODS != 0
                        && self.listed.ad.payment_methods.iter().any(|m| m == method)
                }
                MethodFilter::Unknown => false,
            }
            && filter
                .hidden_makers
                .is_none_or(|hidden| !hidden.contains(&self.maker_id))
    }
}

/// A query's filters, resolved against one index.
struct Filter<'a> {
    amount: Option<Kopecks>,
    method: MethodFilter<'a>,
    hidden_makers: Option<&'a std::collections::HashSet<i64>>,
}

enum MethodFilter<'a> {
    Any,
    Bit(u64),
    /// A method past the market's 63rd: checked against each ad's list.
    Other(&'a str),
    /// No listed ad of the market takes it.
    Unknown,
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
    by_price: Vec<Slot>,
    by_rating: Vec<Slot>,
    by_orders: Vec<Slot>,
    /// The bit of each payment method the market's ads take.
    methods: HashMap<String, u64>,
}

impl Market {
    fn filter<'a>(&self, query: &'a AdQuery) -> Filter<'a> {
        let method = match query.payment_method.as_deref() {
            None => MethodFilter::Any,
            Some(method) => match self.methods.get(method) {
                Some(&OTHER_METHODS) => MethodFilter::Other(method),
                Some(&bit) => MethodFilter::Bit(bit),
                None => MethodFilter::Unknown,
            },
        };
        Filter {
            amount: query.amount,
            method,
            hidden_makers: query.hidden_makers.as_ref(),
        }
    }
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
    capacities: Arc<Capacities>,
    makers: DashMap<i64, Profile>,
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
            listed.capacity.set(ad.available_amount);
            return;
        }
        let listed = Listed {
            ad: ad.clone(),
            json: AdJson::new(ad),
            capacity: self.capacities.take(ad.available_amount),
        };
        self.ads.insert(ad.id, Arc::new(listed));
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
        let mut markets: HashMap<(AdType, String), Vec<Arc<Listed>>> = HashMap::new();
        for entry in self.ads.iter() {
            let listed = entry.value();
            if listed.ad.status == AdStatus::Active {
                let market = (listed.ad.ad_type, listed.ad.fiat_currency.clone());
                markets.entry(market).or_default().push(listed.clone());
            }
        }
        // The makers' figures as sort keys: ratings are means to one decimal, so in tenths
        // they order exactly as they read; no figures sorts last.
        let figures = |slot: &Slot| {
            self.makers.get(&slot.maker_id).map_or((-1, -1), |maker| {
                let tenths = maker
                    .rating()
                    .map_or(-1, |rating| (rating * 10.0).round() as i64);
                (tenths, maker.orders_count)
            })
        };
        let markets = markets
            .into_iter()
            .map(|((ad_type, currency), ads)| {
                let mut methods = HashMap::new();
                let mut by_price: Vec<Slot> = ads
                    .iter()
                    .map(|listed| Slot::new(listed, &mut methods))
                    .collect();
                by_price
                    .sort_by_key(|slot| (best_price_key(ad_type, slot.listed.ad.price), slot.id()));
                let mut by_rating = by_price.clone();
                by_rating.sort_by_cached_key(|slot| (Reverse(figures(slot).0), slot.id()));
                let mut by_orders = by_price.clone();
                by_orders.sort_by_cached_key(|slot| (Reverse(figures(slot).1), slot.id()));
                let market = Market {
                    by_price,
                    by_rating,
                    by_orders,
                    methods,
                };
                ((ad_type, currency), market)
            })
            .collect();
        *index = Arc::new(Index {
            layout,
            makers_version,
            built_at: Some(std::time::Instant::now()),
            markets,
        });
        index.clone()
    }

    pub fn add_maker(&self, maker: Profile) {
        self.makers.insert(maker.id, maker);
        self.makers_version.fetch_add(1, Ordering::Release);
    }

    pub fn has_maker(&self, id: i64) -> bool {
        self.makers.contains_key(&id)
    }

    pub fn maker(&self, id: i64) -> Option<Profile> {
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
    pub fn list(&self, query: &AdQuery) -> (Vec<Shown>, usize) {
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
        let filter = market.filter(query);
        let mut total = 0;
        let mut page = Vec::with_capacity(query.limit);
        for slot in ordered {
            let available = slot.available();
            if !slot.matches(&filter, available) {
                continue;
            }
            if total >= query.offset && page.len() < query.limit {
                page.push(Shown {
                    listed: slot.listed.clone(),
                    available,
                    maker: self.maker(slot.maker_id).unwrap_or_default(),
                });
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
    pub fn get(&self, id: i64) -> Option<(Ad, Profile)> {
        let ad = self.ads.get(&id)?.current();
        let maker = self.maker(ad.maker_id).unwrap_or_default();
        Some((ad, maker))
    }
}

/// A listing page of ads as `Page<AdView>` renders it (see [`AdJson`]).
pub fn render_page(ads: &[Shown], total: usize, limit: i64, offset: i64) -> Vec<u8> {
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
            amount,
            ..AdQuery::market(ad_type, "RUB")
        }
    }

    fn ids(model: &ReadModel, query: &AdQuery) -> Vec<i64> {
        model.list(query).0.iter().map(Shown::id).collect()
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
                .ad()
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
            (page.iter().map(Shown::id).collect::<Vec<_>>(), total),
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
            model.add_maker(Profile {
                id: maker,
                name: format!("maker {maker}"),
                ..Profile::default()
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
                .find(|shown| shown.id() == 2)
                .unwrap()
                .maker()
                .rating(),
            Some(5.0)
        );
        std::thread::sleep(MAKER_ORDER_STALENESS + std::time::Duration::from_millis(50));
        assert_eq!(ids(&model, &by_rating), vec![2, 1]);
    }

    #[test]
    fn payment_methods_filter_past_the_63_a_mask_holds() {
        let model = ReadModel::default();
        for id in 1..=70 {
            let mut theirs = ad(id, AdType::Buy, 9000 + id, 1_000_000);
            theirs.payment_methods = vec![format!("method {id}"), "card".into()];
            model.publish(&theirs);
        }
        let by_method = |method: &str| AdQuery {
            payment_method: Some(method.into()),
            limit: 100,
            ..query(AdType::Buy, None)
        };
        assert_eq!(ids(&model, &by_method("method 5")), vec![5]);
        assert_eq!(ids(&model, &by_method("method 66")), vec![66]);
        assert_eq!(ids(&model, &by_method("method 70")), vec![70]);
        assert_eq!(model.list(&by_method("card")).1, 70);
        assert_eq!(model.list(&by_method("cash")).1, 0);
    }

    #[test]
    fn a_closed_ad_gives_its_capacity_slot_back_once_no_index_holds_it() {
        let model = ReadModel::default();
        let free = |model: &ReadModel| model.capacities.pool.lock().unwrap().free.len();
        model.publish(&ad(1, AdType::Buy, 9500, 1_000_000));
        model.publish(&ad(2, AdType::Buy, 9600, 1_000_000));
        assert_eq!(ids(&model, &query(AdType::Buy, None)), vec![2, 1]);
        let taken = free(&model);
        let mut closed = ad(2, AdType::Buy, 9600, 1_000_000);
        closed.status = AdStatus::Closed;
        model.publish(&closed);
        // The index built before the close still holds the slot until the next query rebuilds it.
        assert_eq!(free(&model), taken);
        assert_eq!(ids(&model, &query(AdType::Buy, None)), vec![1]);
        assert_eq!(free(&model), taken + 1);
        model.publish(&ad(3, AdType::Buy, 9700, 400_000));
        assert_eq!(free(&model), taken);
        assert_eq!(ids(&model, &query(AdType::Buy, None)), vec![3, 1]);
        assert_eq!(model.get(1).unwrap().0.available_amount, 1_000_000);
        assert_eq!(model.get(3).unwrap().0.available_amount, 400_000);
    }

    #[test]
    fn an_ads_page_renders_as_the_page_of_views() {
        let model = ReadModel::default();
        model.add_maker(Profile {
            id: 3,
            name: "Ёлка \"3\"".into(),
            rating_sum: 14,
            ratings_count: 3,
            orders_count: 9,
        });
        for (id, price) in [(1, 9500), (2, 9400)] {
            let mut listed = ad(id, AdType::Sell, price, 300_000);
            listed.maker_id = 3;
            listed.terms = "line\nbreak".into();
            model.publish(&listed);
        }
        let query = AdQuery::market(AdType::Sell, "RUB");
        let (shown, total) = model.list(&query);
        let ads: Vec<(Ad, Profile)> = shown.iter().map(|s| (s.ad(), s.maker().clone())).collect();
        let page = crate::views::Page {
            items: ads
                .iter()
                .map(|(ad, maker)| crate::views::ad(ad, maker))
                .collect(),
            total: total as i64,
            limit: 20,
            offset: 0,
        };
        assert_eq!(
            String::from_utf8(render_page(&shown, total, 20, 0)).unwrap(),
            serde_json::to_string(&page).unwrap()
        );
        assert_eq!(total, 2);
    }
}
