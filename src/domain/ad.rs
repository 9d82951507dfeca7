//! Ads: a maker's standing offer, and the checks a taker's order must pass against it (§7, 2–3).

use serde_json::{Map, Value};

use super::error::{DomainError, ErrorCode};
use super::ids::{AdId, OrderId, UserId};
use super::money::Kopecks;
use super::order::{self, Order, OrderStatus, Side};
use super::pricing::{self, PriceType, floating_price};
use super::requirements::{Requirements, Standing};
use super::time::Millis;
use super::validate;

vocabulary! {
    pub enum AdType {
        /// The maker buys USDT for RUB; a taker withdraws by selling to them.
        Buy = "buy",
        /// The maker sells USDT reserved from their balance; a taker deposits by buying.
        Sell = "sell",
    }
}

impl AdType {
    /// The side of the orders that take this ad, seen from the taker.
    pub fn taker_side(self) -> Side {
        match self {
            Self::Buy => Side::Withdraw,
            Self::Sell => Side::Deposit,
        }
    }
}

vocabulary! {
    pub enum AdStatus {
        Active = "active",
        Paused = "paused",
        Closed = "closed",
    }
}

/// An ad as committed in the store.
#[derive(Debug, Clone, PartialEq)]
pub struct Ad {
    pub id: AdId,
    pub maker_id: UserId,
    pub ad_type: AdType,
    pub fiat_currency: String,
    /// RUB kopecks per USDT. A floating ad's follows its fiat's index price: as stored (and in
    /// its actor) it is zero; [`Ad::reprice`] sets it from an index, and it stays zero while
    /// there is none (the ad is then neither listed nor taken).
    pub price: Kopecks,
    pub price_type: PriceType,
    /// A floating ad's premium over the index in basis points (negative: a discount).
    pub premium_bp: Option<i64>,
    pub min_amount: Kopecks,
    pub max_amount: Kopecks,
    pub total_amount: Kopecks,
    pub available_amount: Kopecks,
    /// The capacity closing the ad took off the market, and what orders cancelled after the
    /// close returned to it.
    pub closed_amount: Kopecks,
    pub payment_methods: Vec<String>,
    pub payment_window_seconds: i64,
    /// How long a seller of the ad's orders has to release or dispute once the buyer says they
    /// paid, before the service disputes the order for the buyer.
    pub release_window_seconds: i64,
    pub terms: String,
    /// A sell ad's payment details, one object per method; copied into its orders.
    pub payment_details: Option<Map<String, Value>>,
    /// Whom the maker trades with.
    pub requirements: Requirements,
    pub status: AdStatus,
    pub created_at_ms: Millis,
    /// The store's change counter of the ad: a cache knows which commits its copy includes.
    pub version: i64,
    /// The store's counter of changes to the ad's terms (a patch): a take commits only against
    /// the terms it was judged by, so a node with a stale copy cannot take past a change made
    /// on another.
    pub terms_version: i64,
}

impl Ad {
    /// Checks a take of `amount` by `taker_id` paying with `method`, in the order of SPEC.md §7,
    /// with `held` already promised to orders that are not committed yet. The taker's
    /// `standing` is needed only by an ad with requirements (unknown, it meets none).
    pub fn check_take(
        &self,
        taker_id: UserId,
        amount: Kopecks,
        method: &str,
        held: Kopecks,
        standing: Option<&Standing>,
    ) -> Result<(), ErrorCode> {
        if self.status != AdStatus::Active || !self.price.is_positive() {
            return Err(ErrorCode::AdNotActive);
        }
        if self.maker_id == taker_id {
            return Err(ErrorCode::OwnAd);
        }
        if !self.payment_methods.iter().any(|m| m == method) {
            return Err(ErrorCode::InvalidPaymentMethod);
        }
        let meets = |standing: &Standing| self.requirements.met_by(standing);
        if !self.requirements.is_empty() && !standing.is_some_and(meets) {
            return Err(ErrorCode::CounterpartyRequirementsNotMet);
        }
        if amount < self.min_amount {
            return Err(ErrorCode::AmountTooLow);
        }
        if amount > self.max_amount {
            return Err(ErrorCode::AmountTooHigh);
        }
        if amount > self.available_amount - held {
            return Err(ErrorCode::AmountExceedsAvailable);
        }
        Ok(())
    }

    /// Whether the ad shows in the public listing with `available` capacity left (the read
    /// model keeps capacity apart from the rest of the ad).
    pub fn is_listed_with(&self, available: Kopecks) -> bool {
        self.status == AdStatus::Active && self.price.is_positive() && available >= self.min_amount
    }

    /// Sets a floating ad's price from `index`, its fiat's index price if there is one (zero
    /// without: not listed, not taken); a fixed ad keeps its own.
    pub fn reprice(&mut self, index: Option<Kopecks>) {
        self.price = self.price_over(index);
    }

    /// The ad's price over `index`, its fiat's index price if there is one: a fixed ad's own;
    /// a floating ad's premium over the index, zero without one.
    pub fn price_over(&self, index: Option<Kopecks>) -> Kopecks {
        match (self.price_type, self.premium_bp) {
            (PriceType::Floating, Some(premium_bp)) => {
                index.map_or(Kopecks::ZERO, |index| floating_price(index, premium_bp))
            }
            _ => self.price,
        }
    }

    /// Why a take of an ad that is active may still be refused as not active.
    pub fn not_active_reason(&self) -> &'static str {
        if self.status == AdStatus::Active && !self.price.is_positive() {
            "The ad's price floats over the index price of its currency, and there is none yet"
        } else {
            ErrorCode::AdNotActive.default_message()
        }
    }

    /// Whether one order of `amount` fits the ad with `available` capacity left.
    pub fn accepts_amount_with(&self, amount: Kopecks, available: Kopecks) -> bool {
        self.min_amount <= amount && amount <= self.max_amount.min(available)
    }

    /// The pending order of `taker` taking `amount` of this ad at `now`, paying with `method`;
    /// a withdrawal carries the taker's `details` (where the buyer sends the RUB), a deposit
    /// the sell ad's own for the method.
    pub fn order_for(
        &self,
        taker: UserId,
        amount: Kopecks,
        method: &str,
        details: Option<Map<String, Value>>,
        now: Millis,
    ) -> Order {
        let side = self.ad_type.taker_side();
        let (buyer_id, seller_id, payment_details) = match side {
            Side::Withdraw => (self.maker_id, taker, details.unwrap_or_default()),
            Side::Deposit => {
                let from_ad = self
                    .details_for(method)
                    .and_then(|d| d.as_object().cloned());
                (taker, self.maker_id, from_ad.unwrap_or_default())
            }
        };
        Order {
            id: OrderId::default(),
            ad_id: self.id,
            side,
            buyer_id,
            seller_id,
            taker_id: taker,
            usdt_amount: amount,
            fiat_amount: order::fiat_amount(amount),
            fiat_currency: self.fiat_currency.clone(),
            price: self.price,
            payment_method: method.to_string(),
            payment_details,
            status: OrderStatus::Pending,
            cancel_reason: None,
            created_at: now,
            expires_at: order::expires_at(now, self.payment_window_seconds),
            release_window_seconds: self.release_window_seconds,
            paid_at: None,
            completed_at: None,
            cancelled_at: None,
            dispute: None,
            review: None,
        }
    }

    /// The payment details a sell ad's maker gave for `method`.
    pub fn details_for(&self, method: &str) -> Option<Value> {
        self.payment_details.as_ref()?.get(method).cloned()
    }
}

/// A maker's change to an ad's terms (`PATCH /ads/{id}`); absent fields stay.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AdPatch {
    /// Amounts as the maker sent them, checked when the patch applies.
    pub price: Option<i64>,
    /// A change of pricing needs what the new one needs (`price` or `premium_bp`).
    pub price_type: Option<PriceType>,
    pub premium_bp: Option<i64>,
    pub min_amount: Option<i64>,
    pub max_amount: Option<i64>,
    pub payment_methods: Option<Vec<String>>,
    pub terms: Option<String>,
    /// `active` or `paused`; closing has its own route.
    pub status: Option<AdStatus>,
    /// Replaces all the requirements (bounds left out are dropped).
    pub requirements: Option<Requirements>,
}

impl Ad {
    /// The ad with `patch` applied, if the result is a valid ad.
    pub fn patched(&self, patch: &AdPatch) -> Result<Ad, DomainError> {
        if self.status == AdStatus::Closed {
            return Err(ErrorCode::AdNotActive.into());
        }
        let mut next = self.clone();
        let price_type = patch.price_type.unwrap_or(self.price_type);
        // What the patch leaves out, the ad keeps, if its pricing stays.
        let kept = price_type == self.price_type;
        let price = patch
            .price
            .or_else(|| (kept && price_type == PriceType::Fixed).then_some(self.price.get()));
        let premium_bp = patch.premium_bp.or(self.premium_bp.filter(|_| kept));
        (next.price, next.premium_bp) = pricing::checked(price_type, price, premium_bp)?;
        next.price_type = price_type;
        if let Some(min) = patch.min_amount {
            next.min_amount = validate::amount("min_amount", min)?;
        }
        if let Some(max) = patch.max_amount {
            next.max_amount = validate::amount("max_amount", max)?;
        }
        if let Some(methods) = &patch.payment_methods {
            validate::payment_methods(methods)?;
            next.payment_methods = methods.clone();
        }
        if let Some(terms) = &patch.terms {
            next.terms = validate::text("terms", terms, 0, validate::MAX_TERMS_CHARS)?;
        }
        if let Some(requirements) = patch.requirements {
            next.requirements = requirements.validated("requirements")?;
        }
        if let Some(status) = patch.status {
            if status == AdStatus::Closed {
                return Err(DomainError::validation(
                    "status may be active or paused; close the ad with POST /ads/{id}/close",
                ));
            }
            next.status = status;
        }
        next.check_terms()?;
        Ok(next)
    }

    /// The rules every ad's terms obey.
    pub fn check_terms(&self) -> Result<(), DomainError> {
        if self.min_amount > self.max_amount {
            return Err(DomainError::new(
                ErrorCode::InvalidAmountLimits,
                "min_amount must not exceed max_amount",
            ));
        }
        if self.min_amount > self.total_amount {
            return Err(DomainError::new(
                ErrorCode::InvalidAmountLimits,
                "min_amount must not exceed total_amount",
            ));
        }
        if self.ad_type == AdType::Sell {
            let missing = self
                .payment_methods
                .iter()
                .find(|m| self.details_for(m).is_none());
            if let Some(method) = missing {
                return Err(DomainError::new(
                    ErrorCode::PaymentDetailsRequired,
                    format!("a sell ad needs payment_details for {method}"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An active buy ad of maker 7, for the domain's tests.
    pub(crate) fn ad() -> Ad {
        Ad {
            id: AdId(1),
            maker_id: UserId(7),
            ad_type: AdType::Buy,
            fiat_currency: "RUB".into(),
            price: Kopecks(9550),
            min_amount: Kopecks(100_000),
            max_amount: Kopecks(500_000),
            total_amount: Kopecks(1_000_000),
            available_amount: Kopecks(600_000),
            closed_amount: Kopecks(0),
            payment_methods: vec!["card".into(), "sbp".into()],
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

    #[test]
    fn a_fitting_take_passes() {
        assert_eq!(
            ad().check_take(UserId(8), Kopecks(300_000), "card", Kopecks(0), None),
            Ok(())
        );
    }

    #[test]
    fn checks_run_in_the_order_of_the_spec() {
        let mut paused = ad();
        paused.status = AdStatus::Paused;
        // Every check would fail; the status is reported first.
        assert_eq!(
            paused.check_take(UserId(7), Kopecks(1), "cash", Kopecks(0), None),
            Err(ErrorCode::AdNotActive)
        );
        assert_eq!(
            ad().check_take(UserId(7), Kopecks(1), "cash", Kopecks(0), None),
            Err(ErrorCode::OwnAd)
        );
        assert_eq!(
            ad().check_take(UserId(8), Kopecks(1), "cash", Kopecks(0), None),
            Err(ErrorCode::InvalidPaymentMethod)
        );
        let mut demanding = ad();
        demanding.requirements.min_completed_orders = Some(5);
        let short = Standing {
            completed_orders: 4,
            account_age_days: 0,
            completion_rate_bp: None,
        };
        let enough = Standing {
            completed_orders: 5,
            ..short
        };
        assert_eq!(
            demanding.check_take(UserId(8), Kopecks(1), "cash", Kopecks(0), Some(&short)),
            Err(ErrorCode::InvalidPaymentMethod)
        );
        for standing in [Some(&short), None] {
            assert_eq!(
                demanding.check_take(UserId(8), Kopecks(1), "card", Kopecks(0), standing),
                Err(ErrorCode::CounterpartyRequirementsNotMet)
            );
        }
        assert_eq!(
            demanding.check_take(UserId(8), Kopecks(1), "card", Kopecks(0), Some(&enough)),
            Err(ErrorCode::AmountTooLow)
        );
        assert_eq!(
            ad().check_take(UserId(8), Kopecks(1), "card", Kopecks(0), None),
            Err(ErrorCode::AmountTooLow)
        );
        assert_eq!(
            ad().check_take(UserId(8), Kopecks(500_001), "card", Kopecks(0), None),
            Err(ErrorCode::AmountTooHigh)
        );
        assert_eq!(
            ad().check_take(UserId(8), Kopecks(400_000), "card", Kopecks(300_000), None),
            Err(ErrorCode::AmountExceedsAvailable)
        );
    }

    #[test]
    fn held_capacity_counts_as_taken() {
        assert_eq!(
            ad().check_take(UserId(8), Kopecks(300_000), "card", Kopecks(300_000), None),
            Ok(())
        );
        assert_eq!(
            ad().check_take(UserId(8), Kopecks(300_000), "card", Kopecks(300_001), None),
            Err(ErrorCode::AmountExceedsAvailable)
        );
    }

    #[test]
    fn listing_hides_ads_that_cannot_take_their_minimum() {
        let mut drained = ad();
        drained.available_amount = Kopecks(99_999);
        assert!(ad().is_listed_with(ad().available_amount));
        assert!(!drained.is_listed_with(drained.available_amount));
        assert!(ad().accepts_amount_with(Kopecks(500_000), Kopecks(600_000)));
        assert!(!ad().accepts_amount_with(Kopecks(500_001), Kopecks(600_000)));
        assert!(!ad().accepts_amount_with(Kopecks(400_000), Kopecks(300_000)));
        assert!(!drained.accepts_amount_with(Kopecks(100_000), drained.available_amount));
    }

    #[test]
    fn patches_keep_the_terms_consistent() {
        let raised = AdPatch {
            min_amount: Some(200_000),
            status: Some(AdStatus::Paused),
            ..AdPatch::default()
        };
        let next = ad().patched(&raised).unwrap();
        assert_eq!(
            (next.min_amount, next.status),
            (Kopecks(200_000), AdStatus::Paused)
        );
        let inverted = AdPatch {
            min_amount: Some(600_000),
            ..AdPatch::default()
        };
        assert_eq!(
            ad().patched(&inverted).unwrap_err().code,
            ErrorCode::InvalidAmountLimits
        );
        let closing = AdPatch {
            status: Some(AdStatus::Closed),
            ..AdPatch::default()
        };
        assert_eq!(
            ad().patched(&closing).unwrap_err().code,
            ErrorCode::ValidationError
        );
        let mut closed = ad();
        closed.status = AdStatus::Closed;
        assert_eq!(
            closed.patched(&AdPatch::default()).unwrap_err().code,
            ErrorCode::AdNotActive
        );
    }

    #[test]
    fn sell_ads_need_details_for_every_method() {
        let mut sell = ad();
        sell.ad_type = AdType::Sell;
        assert!(sell.check_terms().is_err());
        let details = serde_json::json!({"card": {"card_number": "2200 1234 5678 9012"}, "sbp": {"phone": "+7 900"}});
        sell.payment_details = details.as_object().cloned();
        assert!(sell.check_terms().is_ok());
        assert_eq!(
            sell.details_for("sbp"),
            Some(serde_json::json!({"phone": "+7 900"}))
        );
    }
}
