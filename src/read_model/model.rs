//! The read model: ads as their actors last published them, and their makers' public profiles.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use dashmap::DashMap;

use super::capacities::Capacities;
use super::index::{Index, MethodFilter, Slot};
use super::listed::{Listed, Maker, Shown};
use super::query::{AdQuery, SortBy};
use crate::domain::ad::{Ad, AdStatus};
use crate::domain::pricing::PriceType;
use crate::domain::requirements::Requirements;
use crate::domain::user::Profile;
use crate::domain::{AdId, Kopecks, Millis, UserId};
use crate::domain::{track::day_of, track_change::TrackChange};
use crate::views::AdJson;

#[derive(Default)]
pub struct ReadModel {
    ads: DashMap<AdId, Arc<Listed>>,
    capacities: Arc<Capacities>,
    makers: DashMap<UserId, Arc<Maker>>,
    /// Bumped whenever an ad appears, disappears or changes a field the index sorts or filters
    /// on; the index is rebuilt on the next query after a bump, never for a change of capacity.
    layout: AtomicU64,
    /// Bumped whenever a maker's figures change.
    makers_version: AtomicU64,
    index: RwLock<Arc<Index>>,
    /// The newest index price of each fiat currency that has one: floating ads' prices follow
    /// it where they are sorted, shown and taken.
    index_prices: DashMap<String, Kopecks>,
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

    /// The index price of `fiat_currency` now, if the platform set one.
    pub fn index_price(&self, fiat_currency: &str) -> Option<Kopecks> {
        self.index_prices.get(fiat_currency).map(|price| *price)
    }

    /// A new index price: floating ads of the currency follow it from the next listing on.
    pub fn set_index_price(&self, fiat_currency: &str, price: Kopecks) {
        let previous = self.index_prices.insert(fiat_currency.to_owned(), price);
        if previous != Some(price) {
            self.layout.fetch_add(1, Ordering::Release);
        }
    }

    /// `ad`'s price now: a floating ad's over its currency's index price (zero without one).
    pub fn price_of(&self, ad: &Ad) -> Kopecks {
        match ad.price_type {
            PriceType::Fixed => ad.price,
            PriceType::Floating => ad.price_over(self.index_price(&ad.fiat_currency)),
        }
    }

    /// `ad` with its price now.
    pub fn priced(&self, ad: Ad) -> Ad {
        Ad {
            price: self.price_of(&ad),
            ..ad
        }
    }

    /// Drops the ads whose id `keep` refuses (closed elsewhere).
    pub fn retain(&self, keep: impl Fn(AdId) -> bool) {
        let before = self.ads.len();
        self.ads.retain(|id, _| keep(*id));
        if self.ads.len() != before {
            self.layout.fetch_add(1, Ordering::Release);
        }
    }

    /// The index as of the current layout, rebuilt if an ad's listing changed since (or the
    /// makers' figures did, more than `MAKER_ORDER_STALENESS` ago, or the day of `now` is not
    /// the one the makers' 30-day figures were sorted for).
    fn index(&self, now: Millis) -> Arc<Index> {
        let layout = self.layout.load(Ordering::Acquire);
        let makers_version = self.makers_version.load(Ordering::Acquire);
        let today = day_of(now);
        {
            let index = self
                .index
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if index.fresh(layout, makers_version, today) {
                return index.clone();
            }
        }
        let mut index = self
            .index
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if index.fresh(layout, makers_version, today) {
            return index.clone();
        }
        let figures = |maker_id: UserId| {
            self.makers.get(&maker_id).map(|maker| {
                let maker = maker.profile();
                // Ratings are means to one decimal, so in tenths they order exactly as they read.
                let tenths = maker
                    .rating()
                    .map_or(-1, |rating| (rating * 10.0).round() as i64);
                let rate = maker.track.summary(now).completion_rate_bp.unwrap_or(-1);
                (tenths, maker.orders_count, rate)
            })
        };
        let active = self.ads.iter().map(|entry| entry.value().clone());
        let versions = (layout, makers_version, today);
        let price_of = |ad: &Ad| self.price_of(ad);
        *index = Arc::new(Index::build(active, (figures, price_of), versions));
        index.clone()
    }
    pub fn add_maker(&self, maker: Profile) {
        self.makers.insert(maker.id, Arc::new(Maker::new(maker)));
        self.makers_version.fetch_add(1, Ordering::Release);
    }

    pub fn has_maker(&self, id: UserId) -> bool {
        self.makers.contains_key(&id)
    }

    pub fn maker(&self, id: UserId) -> Option<Profile> {
        self.makers.get(&id).map(|maker| maker.profile().clone())
    }

    pub fn count_completed(&self, user_ids: [UserId; 2]) {
        for id in user_ids {
            if let Some(mut maker) = self.makers.get_mut(&id) {
                Arc::make_mut(&mut *maker).edit().orders_count += 1;
                self.makers_version.fetch_add(1, Ordering::Release);
            }
        }
    }

    /// Adds a committed transition's changes to the track records of the makers among its
    /// parties.
    pub fn add_track(&self, changes: &[TrackChange]) {
        for change in changes {
            if let Some(mut maker) = self.makers.get_mut(&change.user_id) {
                Arc::make_mut(&mut *maker)
                    .edit()
                    .track
                    .add(change.day, &change.figures);
                self.makers_version.fetch_add(1, Ordering::Release);
            }
        }
    }

    /// A new order of `user_ids` at `at`: the first order of a maker who had none.
    pub fn first_order(&self, user_ids: [UserId; 2], at: Millis) {
        for id in user_ids {
            if let Some(mut maker) = self.makers.get_mut(&id)
                && maker.profile().track.first_order_at.is_none()
            {
                Arc::make_mut(&mut *maker).edit().track.first_order_at = Some(at);
            }
        }
    }

    /// A maker's authenticated request at `minute`.
    pub fn seen(&self, user_id: UserId, minute: Millis) {
        if let Some(mut maker) = self.makers.get_mut(&user_id)
            && maker.profile().track.last_seen_at < Some(minute)
        {
            Arc::make_mut(&mut *maker).edit().track.last_seen_at = Some(minute);
        }
    }

    pub fn add_rating(&self, user_id: UserId, rating: i64) {
        if let Some(mut maker) = self.makers.get_mut(&user_id) {
            let maker = Arc::make_mut(&mut *maker).edit();
            maker.rating_sum += rating;
            maker.ratings_count += 1;
            self.makers_version.fetch_add(1, Ordering::Release);
        }
    }

    /// One page of the ads that match, with their makers, and how many match in all. Capacity and
    /// the figures shown are read as they are now; the order comes from the index.
    pub fn list(&self, query: &AdQuery, now: Millis) -> (Vec<Shown>, usize) {
        let index = self.index(now);
        let market = (query.ad_type, query.fiat_currency.clone());
        let Some(book) = index.books.get(&market) else {
            return (Vec::new(), 0);
        };
        let ordered = match query.sort_by {
            SortBy::BestPrice => &book.by_price,
            SortBy::Rating => &book.by_rating,
            SortBy::OrdersCount => &book.by_orders,
            SortBy::CompletionRate => &book.by_completion,
        };
        let filter = book.filter(query);
        let eligible = |slot: &Slot| query.viewer.eligible(&slot.listed.ad.requirements);
        // Only a market with a demanding ad can hide one from a trader.
        let judge_eligibility = query.eligible_only && book.demanding;
        // The scan of thousands of slots is the listing's cost, and a few instructions a slot
        // show in it: the common queries get loops of their own, with nothing judged in them
        // that does not change from slot to slot.
        let plain = filter.hidden_makers.is_none() && !judge_eligibility;
        let (found, total) = match (plain, filter.amount, &filter.method) {
            (_, _, MethodFilter::Unknown) => (Vec::new(), 0),
            (true, None, MethodFilter::Any) => scan(ordered, query, |slot, available| {
                available >= slot.min_amount
            }),
            (true, Some(amount), MethodFilter::Any) => scan(ordered, query, |slot, available| {
                slot.takes(amount, available)
            }),
            (true, None, &MethodFilter::Bit(bit)) => scan(ordered, query, |slot, available| {
                available >= slot.min_amount && slot.methods & bit != 0
            }),
            (true, Some(amount), &MethodFilter::Bit(bit)) => {
                scan(ordered, query, |slot, available| {
                    slot.takes(amount, available) && slot.methods & bit != 0
                })
            }
            _ => scan(ordered, query, |slot, available| {
                slot.matches(&filter, available)
                    && !(judge_eligibility && slot.demanding && eligible(slot) == Some(false))
            }),
        };
        let page = found
            .into_iter()
            .map(|(slot, available)| Shown {
                listed: slot.listed.clone(),
                available,
                price: self.price_of(&slot.listed.ad),
                eligible: eligible(slot),
                maker: self
                    .makers
                    .get(&slot.maker_id)
                    .map(|maker| maker.clone())
                    .unwrap_or_default(),
            })
            .collect();
        (page, total)
    }

    /// Whether an ad of the market `query` lists has counterparty requirements.
    pub fn demanding(&self, query: &AdQuery, now: Millis) -> bool {
        let market = (query.ad_type, query.fiat_currency.clone());
        self.index(now)
            .books
            .get(&market)
            .is_some_and(|book| book.demanding)
    }

    /// The maker of an ad that is not closed.
    pub fn maker_of(&self, ad_id: AdId) -> Option<UserId> {
        self.ads.get(&ad_id).map(|listed| listed.ad.maker_id)
    }

    /// What an ad that is not closed asks of its takers.
    pub fn requirements_of(&self, ad_id: AdId) -> Option<Requirements> {
        self.ads.get(&ad_id).map(|listed| listed.ad.requirements)
    }

    /// An ad that is not closed, with its maker.
    pub fn get(&self, id: AdId) -> Option<(Ad, Profile)> {
        let ad = self.priced(self.ads.get(&id)?.current());
        let maker = self.maker(ad.maker_id).unwrap_or_default();
        Some((ad, maker))
    }
}

/// The slots of `ordered` that `shows` passes: those of the query's page, with the capacity each
/// was judged by, and how many pass in all.
#[inline]
fn scan<'a>(
    ordered: &'a [Slot],
    query: &AdQuery,
    shows: impl Fn(&Slot, Kopecks) -> bool,
) -> (Vec<(&'a Slot, Kopecks)>, usize) {
    let mut page = Vec::with_capacity(query.limit.min(ordered.len()));
    let mut total = 0;
    let mut rest = ordered.iter();
    // Up to the end of the page, each passing slot is kept or skipped; past it, only counted.
    let end = query.offset.saturating_add(query.limit);
    if end > 0 {
        for slot in rest.by_ref() {
            let available = slot.available();
            if shows(slot, available) {
                if total >= query.offset {
                    page.push((slot, available));
                }
                total += 1;
                if total == end {
                    break;
                }
            }
        }
    }
    total += rest.filter(|slot| shows(slot, slot.available())).count();
    (page, total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MAKER_ORDER_STALENESS;
    use crate::domain::Kopecks;
    use crate::domain::ad::AdType;
    use crate::domain::requirements::Standing;
    use crate::read_model::listed::render_page;
    use crate::read_model::query::Viewer;
    use std::cmp::Reverse;

    fn ad(id: i64, ad_type: AdType, price: Kopecks, available: Kopecks) -> Ad {
        Ad {
            id: AdId(id),
            maker_id: UserId(1),
            ad_type,
            fiat_currency: "RUB".into(),
            price,
            min_amount: Kopecks(100_000),
            max_amount: Kopecks(1_000_000),
            total_amount: Kopecks(5_000_000),
            available_amount: available,
            closed_amount: Kopecks(0),
            payment_methods: vec!["card".into()],
            payment_window_seconds: 900,
            release_window_seconds: 1800,
            terms: String::new(),
            payment_details: None,
            requirements: Default::default(),
            price_type: Default::default(),
            premium_bp: None,
            status: AdStatus::Active,
            created_at_ms: 0,
            version: 1,
            terms_version: 1,
        }
    }

    fn query(ad_type: AdType, amount: Option<Kopecks>) -> AdQuery {
        AdQuery {
            amount,
            ..AdQuery::market(ad_type, "RUB")
        }
    }

    fn ids(model: &ReadModel, query: &AdQuery) -> Vec<i64> {
        model
            .list(query, 0)
            .0
            .iter()
            .map(|shown| shown.id().get())
            .collect()
    }

    #[test]
    fn capacity_changes_show_at_once_without_a_rebuild() {
        let model = ReadModel::default();
        model.publish(&ad(1, AdType::Buy, Kopecks(9500), Kopecks(1_000_000)));
        model.publish(&ad(2, AdType::Buy, Kopecks(9600), Kopecks(1_000_000)));
        assert_eq!(ids(&model, &query(AdType::Buy, None)), vec![2, 1]);
        let layout = model.layout.load(Ordering::Acquire);
        // Sold below its minimum: out of the listing, and no index rebuild was needed.
        model.publish(&ad(2, AdType::Buy, Kopecks(9600), Kopecks(99_999)));
        assert_eq!(model.layout.load(Ordering::Acquire), layout);
        assert_eq!(ids(&model, &query(AdType::Buy, None)), vec![1]);
        model.publish(&ad(2, AdType::Buy, Kopecks(9600), Kopecks(300_000)));
        assert_eq!(
            ids(&model, &query(AdType::Buy, Some(Kopecks(300_000)))),
            vec![2, 1]
        );
        assert_eq!(
            ids(&model, &query(AdType::Buy, Some(Kopecks(300_001)))),
            vec![1]
        );
        assert_eq!(
            model.list(&query(AdType::Buy, None), 0).0[0]
                .ad()
                .available_amount,
            Kopecks(300_000)
        );
        assert_eq!(
            model.get(AdId(2)).unwrap().0.available_amount,
            Kopecks(300_000)
        );
    }

    #[test]
    fn best_price_is_highest_for_buy_ads_and_lowest_for_sell_ads() {
        let model = ReadModel::default();
        for (id, price) in [(1, 9500), (2, 9700), (3, 9600), (4, 9700)] {
            model.publish(&ad(id, AdType::Buy, Kopecks(price), Kopecks(1_000_000)));
            model.publish(&ad(
                id + 10,
                AdType::Sell,
                Kopecks(price),
                Kopecks(1_000_000),
            ));
        }
        assert_eq!(ids(&model, &query(AdType::Buy, None)), vec![2, 4, 3, 1]);
        assert_eq!(
            ids(&model, &query(AdType::Sell, None)),
            vec![11, 13, 12, 14]
        );
        let (page, total) = model.list(
            &AdQuery {
                offset: 1,
                limit: 2,
                ..query(AdType::Buy, None)
            },
            0,
        );
        assert_eq!(
            (
                page.iter()
                    .map(|shown| shown.id().get())
                    .collect::<Vec<_>>(),
                total
            ),
            (vec![4, 3], 4)
        );
    }

    #[test]
    fn paused_closed_and_repriced_ads_move_the_index() {
        let model = ReadModel::default();
        model.publish(&ad(1, AdType::Buy, Kopecks(9500), Kopecks(1_000_000)));
        model.publish(&ad(2, AdType::Buy, Kopecks(9600), Kopecks(1_000_000)));
        let mut paused = ad(2, AdType::Buy, Kopecks(9600), Kopecks(1_000_000));
        paused.status = AdStatus::Paused;
        model.publish(&paused);
        assert_eq!(ids(&model, &query(AdType::Buy, None)), vec![1]);
        model.publish(&ad(2, AdType::Buy, Kopecks(9400), Kopecks(1_000_000)));
        assert_eq!(ids(&model, &query(AdType::Buy, None)), vec![1, 2]);
        let mut closed = ad(1, AdType::Buy, Kopecks(9500), Kopecks(0));
        closed.status = AdStatus::Closed;
        model.publish(&closed);
        assert_eq!(ids(&model, &query(AdType::Buy, None)), vec![2]);
        assert!(model.get(AdId(1)).is_none());
    }

    #[test]
    fn maker_orders_follow_new_figures_within_the_staleness_bound() {
        let model = ReadModel::default();
        for maker in [1, 2] {
            model.add_maker(Profile {
                id: UserId(maker),
                name: format!("maker {maker}"),
                ..Profile::default()
            });
            let mut theirs = ad(maker, AdType::Buy, Kopecks(9500), Kopecks(1_000_000));
            theirs.maker_id = UserId(maker);
            model.publish(&theirs);
        }
        let by_rating = AdQuery {
            sort_by: SortBy::Rating,
            ..query(AdType::Buy, None)
        };
        assert_eq!(ids(&model, &by_rating), vec![1, 2]);
        model.add_rating(UserId(2), 5);
        // The figure shows at once; the order follows once the bound has passed.
        assert_eq!(
            model
                .list(&by_rating, 0)
                .0
                .iter()
                .find(|shown| shown.id() == AdId(2))
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
            let mut theirs = ad(id, AdType::Buy, Kopecks(9000 + id), Kopecks(1_000_000));
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
        assert_eq!(model.list(&by_method("card"), 0).1, 70);
        assert_eq!(model.list(&by_method("cash"), 0).1, 0);
    }

    #[test]
    fn a_closed_ad_gives_its_capacity_slot_back_once_no_index_holds_it() {
        let model = ReadModel::default();
        let free = |model: &ReadModel| model.capacities.pool.lock().unwrap().free.len();
        model.publish(&ad(1, AdType::Buy, Kopecks(9500), Kopecks(1_000_000)));
        model.publish(&ad(2, AdType::Buy, Kopecks(9600), Kopecks(1_000_000)));
        assert_eq!(ids(&model, &query(AdType::Buy, None)), vec![2, 1]);
        let taken = free(&model);
        let mut closed = ad(2, AdType::Buy, Kopecks(9600), Kopecks(1_000_000));
        closed.status = AdStatus::Closed;
        model.publish(&closed);
        // The index built before the close still holds the slot until the next query rebuilds it.
        assert_eq!(free(&model), taken);
        assert_eq!(ids(&model, &query(AdType::Buy, None)), vec![1]);
        assert_eq!(free(&model), taken + 1);
        model.publish(&ad(3, AdType::Buy, Kopecks(9700), Kopecks(400_000)));
        assert_eq!(free(&model), taken);
        assert_eq!(ids(&model, &query(AdType::Buy, None)), vec![3, 1]);
        assert_eq!(
            model.get(AdId(1)).unwrap().0.available_amount,
            Kopecks(1_000_000)
        );
        assert_eq!(
            model.get(AdId(3)).unwrap().0.available_amount,
            Kopecks(400_000)
        );
    }

    #[test]
    fn an_ads_page_renders_as_the_page_of_views() {
        let model = ReadModel::default();
        model.add_maker(Profile {
            id: UserId(3),
            name: "Ёлка \"3\"".into(),
            rating_sum: 14,
            ratings_count: 3,
            orders_count: 9,
            track: Default::default(),
        });
        for (id, price) in [(1, 9500), (2, 9400)] {
            let mut listed = ad(id, AdType::Sell, Kopecks(price), Kopecks(300_000));
            listed.maker_id = UserId(3);
            listed.terms = "line\nbreak".into();
            model.publish(&listed);
        }
        let query = AdQuery::market(AdType::Sell, "RUB");
        let (shown, total) = model.list(&query, 0);
        let ads: Vec<(Ad, Profile)> = shown.iter().map(|s| (s.ad(), s.maker().clone())).collect();
        let page = crate::views::Page {
            items: ads
                .iter()
                .map(|(ad, maker)| crate::views::ad(ad, maker, 0))
                .collect(),
            total: total as i64,
            limit: 20,
            offset: 0,
        };
        assert_eq!(
            String::from_utf8(render_page(&shown, total, 20, 0, 0)).unwrap(),
            serde_json::to_string(&page).unwrap()
        );
        assert_eq!(total, 2);
    }

    /// What a listing shows, judged ad by ad from the SPEC's words, with none of the index.
    fn reference(ads: &[Ad], query: &AdQuery) -> (Vec<i64>, usize) {
        let mut passing: Vec<&Ad> = ads
            .iter()
            .filter(|ad| {
                let amount_fits = query.amount.is_none_or(|amount| {
                    ad.min_amount <= amount && amount <= ad.max_amount.min(ad.available_amount)
                });
                let method_fits = query
                    .payment_method
                    .as_ref()
                    .is_none_or(|method| ad.payment_methods.contains(method));
                let hidden = query
                    .hidden_makers
                    .as_ref()
                    .is_some_and(|hidden| hidden.contains(&ad.maker_id));
                let shut_out =
                    query.eligible_only && query.viewer.eligible(&ad.requirements) == Some(false);
                ad.ad_type == query.ad_type
                    && ad.available_amount >= ad.min_amount
                    && amount_fits
                    && method_fits
                    && !hidden
                    && !shut_out
            })
            .collect();
        passing.sort_by_key(|ad| (Reverse(ad.price), ad.id));
        let total = passing.len();
        let page = passing
            .iter()
            .skip(query.offset)
            .take(query.limit)
            .map(|ad| ad.id.get())
            .collect();
        (page, total)
    }

    proptest::proptest! {
        /// Every query takes the loop made for it, and each loop shows what the words say.
        #[test]
        fn each_scan_shows_what_the_reference_does(
            listed in proptest::collection::vec(
                (9_000i64..9_010, 1i64..6, 1i64..8, 0i64..9, 0u8..8, 0i64..4, proptest::bool::ANY),
                0..40,
            ),
            amount in proptest::option::of(1i64..9),
            method in proptest::option::of(0usize..4),
            hidden in proptest::option::of(0i64..4),
            (offset, limit) in (0usize..6, 0usize..6),
            trader in proptest::option::of(0i64..30),
            eligible_only in proptest::bool::ANY,
        ) {
            let methods = ["card", "sbp", "cash", "unknown"];
            let model = ReadModel::default();
            let ads: Vec<Ad> = listed
                .iter()
                .enumerate()
                .map(|(id, &(price, min, max, available, mask, maker, demanding))| Ad {
                    maker_id: UserId(maker),
                    min_amount: Kopecks(min * 100_000),
                    max_amount: Kopecks((min + max) * 100_000),
                    payment_methods: (0..3)
                        .filter(|bit| mask & (1 << bit) != 0)
                        .map(|bit| methods[bit].to_string())
                        .chain(Some("card".to_string()).filter(|_| mask == 0))
                        .collect(),
                    requirements: Requirements {
                        min_completed_orders: Some(10).filter(|_| demanding),
                        ..Requirements::default()
                    },
                    ..ad(id as i64, AdType::Buy, Kopecks(price), Kopecks(available * 100_000))
                })
                .collect();
            for ad in &ads {
                model.publish(ad);
            }
            let query = AdQuery {
                amount: amount.map(|a| Kopecks(a * 100_000)),
                payment_method: method.map(|m| methods[m].to_string()),
                hidden_makers: hidden.map(|maker| [UserId(maker)].into_iter().collect()),
                offset,
                limit,
                viewer: trader.map_or(Viewer::Anonymous, |completed| {
                    Viewer::Trader(Some(Standing {
                        completed_orders: completed,
                        account_age_days: 100,
                        completion_rate_bp: Some(10_000),
                    }))
                }),
                eligible_only,
                ..AdQuery::market(AdType::Buy, "RUB")
            };
            let (page, total) = reference(&ads, &query);
            proptest::prop_assert_eq!(ids(&model, &query), page);
            proptest::prop_assert_eq!(model.list(&query, 0).1, total);
        }
    }
}
