//! The listing's index: each market's active ads in each sort order, as dense arrays of what a
//! query filters on.

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use super::listed::Listed;
use super::query::AdQuery;
use crate::config::MAKER_ORDER_STALENESS;
use crate::domain::ad::{Ad, AdStatus, AdType};
use crate::domain::{AdId, Kopecks, UserId};

/// An ad's place in one listing order: what a query filters on, copied out of the entry so a scan
/// reads one dense array (and the capacities' chunk) rather than every entry.
#[derive(Clone)]
pub(super) struct Slot {
    pub(super) min_amount: Kopecks,
    pub(super) max_amount: Kopecks,
    pub(super) maker_id: UserId,
    /// Bit `i` for the market's `i`-th payment method; [`OTHER_METHODS`] for any past the 63rd.
    pub(super) methods: u64,
    pub(super) capacity: Arc<[AtomicI64]>,
    /// Within the chunk (under `CAPACITY_CHUNK`).
    pub(super) offset: u32,
    /// Whether the ad has counterparty requirements (beside `offset`, so the slot stays 64
    /// bytes).
    pub(super) demanding: bool,
    pub(super) listed: Arc<Listed>,
}

// A scan reads thousands of slots: one more word each shows in every listing.
const _: () = assert!(std::mem::size_of::<Slot>() == 64);

/// The bit of a slot's methods that stands for every method past the 63rd of its market (checked
/// against the ad itself).
const OTHER_METHODS: u64 = 1 << 63;

impl Slot {
    pub(super) fn new(listed: &Arc<Listed>, methods: &mut HashMap<String, u64>) -> Self {
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
            offset: listed.capacity.offset as u32,
            demanding: !listed.ad.requirements.is_empty(),
            listed: listed.clone(),
        }
    }

    #[inline]
    pub(super) fn id(&self) -> AdId {
        self.listed.ad.id
    }

    #[inline]
    pub(super) fn available(&self) -> Kopecks {
        Kopecks(self.capacity[self.offset as usize].load(Ordering::Relaxed))
    }

    /// Whether the ad takes an order of `amount` with `available` capacity left.
    #[inline]
    pub(super) fn takes(&self, amount: Kopecks, available: Kopecks) -> bool {
        self.min_amount <= amount && amount <= self.max_amount.min(available)
    }

    /// Whether the ad shows for `filter`, with `available` capacity left.
    #[inline]
    pub(super) fn matches(&self, filter: &Filter, available: Kopecks) -> bool {
        available >= self.min_amount
            && filter
                .amount
                .is_none_or(|amount| self.takes(amount, available))
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
pub(super) struct Filter<'a> {
    pub(super) amount: Option<Kopecks>,
    pub(super) method: MethodFilter<'a>,
    pub(super) hidden_makers: Option<&'a HashSet<UserId>>,
}

pub(super) enum MethodFilter<'a> {
    Any,
    Bit(u64),
    /// A method past the market's 63rd: checked against each ad's list.
    Other(&'a str),
    /// No listed ad of the market takes it.
    Unknown,
}

/// A market: the ads of one type in one fiat currency.
type Market = (AdType, String);

/// The active ads of each market (type and currency) in each listing order, ties by id: one
/// [`Book`] per market.
#[derive(Default)]
pub(super) struct Index {
    pub(super) layout: u64,
    pub(super) makers_version: u64,
    /// The day whose 30-day figures the completion-rate order was sorted by.
    pub(super) day: i64,
    pub(super) built_at: Option<std::time::Instant>,
    pub books: HashMap<Market, Book>,
}

#[derive(Default)]
pub(super) struct Book {
    pub(super) by_price: Vec<Slot>,
    pub(super) by_rating: Vec<Slot>,
    pub(super) by_orders: Vec<Slot>,
    pub(super) by_completion: Vec<Slot>,
    /// The bit of each payment method the market's ads take.
    pub(super) methods: HashMap<String, u64>,
    /// Whether any of the market's ads has counterparty requirements.
    pub(super) demanding: bool,
}

impl Book {
    pub(super) fn filter<'a>(&self, query: &'a AdQuery) -> Filter<'a> {
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
    pub(super) fn fresh(&self, layout: u64, makers_version: u64, day: i64) -> bool {
        let makers_fresh = self.makers_version == makers_version
            || self
                .built_at
                .is_some_and(|at| at.elapsed() < MAKER_ORDER_STALENESS);
        self.built_at.is_some() && self.layout == layout && self.day == day && makers_fresh
    }
}

impl Index {
    /// The active ads among `ads` in each market's listing orders, at `layout` and with the
    /// makers' figures (`(rating in tenths, orders, completion rate)`, `None` sorting last) at
    /// `makers_version` and on `day`.
    pub(super) fn build(
        ads: impl Iterator<Item = Arc<Listed>>,
        (figures, price_of): (
            impl Fn(UserId) -> Option<(i64, i64, i64)>,
            impl Fn(&Ad) -> Kopecks,
        ),
        (layout, makers_version, day): (u64, u64, i64),
    ) -> Index {
        // Each active ad with a price (a floating ad has none before its index), with it.
        let mut markets: HashMap<Market, Vec<(Arc<Listed>, Kopecks)>> = HashMap::new();
        for listed in ads {
            let price = price_of(&listed.ad);
            if listed.ad.status == AdStatus::Active && price.is_positive() {
                let market = (listed.ad.ad_type, listed.ad.fiat_currency.clone());
                markets.entry(market).or_default().push((listed, price));
            }
        }
        let figures = |slot: &Slot| figures(slot.maker_id).unwrap_or((-1, -1, -1));
        let books = markets
            .into_iter()
            .map(|((ad_type, currency), ads)| {
                let mut methods = HashMap::new();
                let mut priced: Vec<(Slot, Kopecks)> = ads
                    .iter()
                    .map(|(listed, price)| (Slot::new(listed, &mut methods), *price))
                    .collect();
                priced.sort_by_key(|(slot, price)| (best_price_key(ad_type, *price), slot.id()));
                let by_price: Vec<Slot> = priced.into_iter().map(|(slot, _)| slot).collect();
                let mut by_rating = by_price.clone();
                by_rating.sort_by_cached_key(|slot| (Reverse(figures(slot).0), slot.id()));
                let mut by_orders = by_price.clone();
                by_orders.sort_by_cached_key(|slot| (Reverse(figures(slot).1), slot.id()));
                let mut by_completion = by_price.clone();
                by_completion.sort_by_cached_key(|slot| (Reverse(figures(slot).2), slot.id()));
                let demanding = by_price.iter().any(|slot| slot.demanding);
                let book = Book {
                    demanding,
                    by_price,
                    by_rating,
                    by_orders,
                    by_completion,
                    methods,
                };
                ((ad_type, currency), book)
            })
            .collect();
        Index {
            layout,
            makers_version,
            day,
            built_at: Some(std::time::Instant::now()),
            books,
        }
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
