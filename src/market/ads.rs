//! Makers' ads: posting, changing, closing; and the public listing.

use serde_json::{Map, Value};

use super::service::Market;
use crate::actors::protocol::AdMsg;

use crate::actors::protocol::{Rule, WalletMsg};
use crate::config::{DEFAULT_PAYMENT_WINDOW_SECS, DEFAULT_RELEASE_WINDOW_SECS};
use crate::domain::AdId;
use crate::domain::ad::{Ad, AdPatch, AdStatus, AdType};
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::pricing::{self, PriceType};
use crate::domain::requirements::{Requirements, Standing};
use crate::domain::user::Profile;
use crate::domain::wallet::{LedgerKind, WalletDelta};
use crate::domain::{Caller, DomainError, ErrorCode, Kopecks, Millis, Role, UserId, validate};
use crate::read_model::{AdQuery, Viewer, render_page};
use crate::store::{Commit, MoneyMove, Op, RowRef};

/// An ad as a maker posts it (`POST /ads`).
#[derive(Debug, Clone)]
pub struct NewAd {
    pub ad_type: AdType,
    pub fiat_currency: String,
    /// Amounts as the maker sent them, checked when the ad is made. A fixed ad gives `price`, a
    /// floating one `premium_bp` over its currency's index price.
    pub price: Option<i64>,
    pub price_type: PriceType,
    pub premium_bp: Option<i64>,
    pub min_amount: i64,
    pub max_amount: i64,
    pub total_amount: i64,
    pub payment_methods: Vec<String>,
    pub payment_window_seconds: Option<i64>,
    /// How long a seller has to release or dispute once the buyer paid (config bounds it).
    pub release_window_seconds: Option<i64>,
    pub terms: Option<String>,
    /// A sell ad's details, one object per payment method.
    pub payment_details: Option<Value>,
    /// A saved method of the maker's instead of `payment_details` (never both).
    pub payment_method_id: Option<i64>,
    /// Whom the maker trades with (none: anyone).
    pub requirements: Requirements,
}

/// Trading is for users; operators judge trades and take no part in them.
pub(super) fn require_trader(caller: Caller) -> Result<(), DomainError> {
    if caller.role != Role::User {
        return Err(DomainError::new(
            ErrorCode::Forbidden,
            "Operators do not trade",
        ));
    }
    Ok(())
}

impl Market {
    pub async fn create_ad(
        &self,
        caller: Caller,
        request: NewAd,
        key: Option<IdempotencyKey>,
    ) -> Result<(Ad, Profile), DomainError> {
        require_trader(caller)?;
        self.check_maker(caller.user_id)?;
        let request = self.ad_with_saved_details(caller, request).await?;
        let ad = self.validate_new_ad(caller, request)?;
        let context = &self.context;
        let receipt = match ad.ad_type {
            AdType::Buy => {
                context
                    .store
                    .commit(Commit::new(vec![Op::InsertAd(Box::new(ad.clone()))]).keyed(key))
                    .await?
            }
            AdType::Sell => {
                // The reserve leaves the maker's balance now, so every later order is covered.
                let delta = WalletDelta::freeze(ad.total_amount);
                let commit = Commit::new(vec![
                    Op::InsertAd(Box::new(ad.clone())),
                    Op::MoveMoney(MoneyMove {
                        user_id: caller.user_id,
                        kind: LedgerKind::AdReserve,
                        delta,
                        order: RowRef::None,
                        ad: RowRef::Inserted,
                        tx: RowRef::None,
                        now: ad.created_at_ms,
                        refusal: ErrorCode::SellerInsufficientBalance,
                    }),
                ])
                .keyed(key);
                let rule = Rule::SellAd {
                    amount: ad.total_amount,
                    min_deposit: context.min_deposit(),
                };
                context
                    .change_wallet(caller.user_id, rule, commit, delta)
                    .await?
            }
        };
        let ad = Ad {
            id: AdId(receipt.first_id()),
            ..ad
        };
        if !context.read_model.has_maker(caller.user_id) {
            let maker = self.user(caller.user_id).await?;
            self.list_maker(maker);
        }
        context.spawn_ad(ad.clone()).await?;
        metrics::counter!(crate::telemetry::ADS_CREATED, "type" => ad.ad_type.as_str())
            .increment(1);
        self.with_maker(ad).await
    }

    /// The release window a new ad asked for, or the default, within the configured bounds.
    fn release_window(&self, asked: Option<i64>) -> Result<i64, DomainError> {
        let config = &self.context.config;
        let (min, max) = (
            config.min_release_window_secs,
            config.max_release_window_secs,
        );
        match asked {
            None => Ok(DEFAULT_RELEASE_WINDOW_SECS.clamp(min, max.max(min))),
            Some(window) if (min..=max).contains(&window) => Ok(window),
            Some(_) => Err(DomainError::validation(format!(
                "release_window_seconds must be {min} to {max}"
            ))),
        }
    }

    fn validate_new_ad(&self, caller: Caller, request: NewAd) -> Result<Ad, DomainError> {
        validate::fiat_currency(&request.fiat_currency)?;
        validate::payment_methods(&request.payment_methods)?;
        let window = request
            .payment_window_seconds
            .unwrap_or(DEFAULT_PAYMENT_WINDOW_SECS);
        let min_window = self.context.config.min_payment_window_secs;
        if !(min_window..=validate::MAX_PAYMENT_WINDOW_SECONDS).contains(&window) {
            return Err(DomainError::validation(format!(
                "payment_window_seconds must be {min_window} to {}",
                validate::MAX_PAYMENT_WINDOW_SECONDS
            )));
        }
        let release_window = self.release_window(request.release_window_seconds)?;
        let terms = validate::text(
            "terms",
            request.terms.as_deref().unwrap_or(""),
            0,
            validate::MAX_TERMS_CHARS,
        )?;
        let payment_details = match (request.ad_type, &request.payment_details) {
            (AdType::Sell, Some(Value::Object(per_method))) => {
                let mut checked = Map::new();
                for (method, details) in per_method {
                    if !request.payment_methods.contains(method) {
                        return Err(DomainError::new(
                            ErrorCode::InvalidPaymentMethod,
                            format!(
                                "payment_details.{method} is not one of the ad's payment_methods"
                            ),
                        ));
                    }
                    checked.insert(
                        method.clone(),
                        Value::Object(validate::payment_details(details)?),
                    );
                }
                Some(checked)
            }
            (AdType::Sell, _) => {
                return Err(DomainError::new(
                    ErrorCode::PaymentDetailsRequired,
                    "a sell ad needs payment_details: an object with the details of each payment method",
                ));
            }
            (AdType::Buy, _) => None,
        };
        let total = validate::amount("total_amount", request.total_amount)?;
        let (price, premium_bp) =
            pricing::checked(request.price_type, request.price, request.premium_bp)?;
        let ad = Ad {
            id: AdId::default(),
            maker_id: caller.user_id,
            ad_type: request.ad_type,
            fiat_currency: request.fiat_currency,
            price,
            price_type: request.price_type,
            premium_bp,
            min_amount: validate::amount("min_amount", request.min_amount)?,
            max_amount: validate::amount("max_amount", request.max_amount)?,
            total_amount: total,
            available_amount: total,
            closed_amount: Kopecks::ZERO,
            payment_methods: request.payment_methods,
            payment_window_seconds: window,
            release_window_seconds: release_window,
            terms,
            payment_details,
            requirements: request.requirements.validated("requirements")?,
            status: AdStatus::Active,
            created_at_ms: self.now_ms(),
            version: 1,
            terms_version: 1,
        };
        ad.check_terms()?;
        Ok(ad)
    }

    pub async fn patch_ad(
        &self,
        caller: Caller,
        ad_id: AdId,
        patch: AdPatch,
    ) -> Result<(Ad, Profile), DomainError> {
        let (_, updated) = self
            .context
            .ask_ad(ad_id.get(), |reply| AdMsg::Update {
                maker_id: caller.user_id,
                patch: patch.clone(),
                reply,
            })
            .await?;
        let ad = updated?;
        self.with_maker(ad).await
    }

    pub async fn close_ad(
        &self,
        caller: Caller,
        ad_id: AdId,
        key: Option<IdempotencyKey>,
    ) -> Result<(Ad, Profile), DomainError> {
        let now = self.now_ms();
        let (_, closed) = self
            .context
            .ask_ad(ad_id.get(), |reply| AdMsg::Close {
                maker_id: caller.user_id,
                now,
                key: key.clone(),
                reply,
            })
            .await?;
        let (ad, closed) = closed?;
        let reserve_unfrozen = ad.ad_type == AdType::Sell && closed.is_positive();
        if reserve_unfrozen && let Some(wallet) = self.context.wallets.resident(ad.maker_id).await {
            let _ = wallet.cast(WalletMsg::Touched);
        }
        self.with_maker(ad).await
    }

    pub async fn ad(&self, ad_id: AdId) -> Result<(Ad, Profile), DomainError> {
        if let Some((ad, maker)) = self.context.read_model.get(ad_id) {
            return Ok((self.as_shown(ad), maker));
        }
        let ad = self
            .store()
            .ad(ad_id)
            .await?
            .ok_or_else(|| DomainError::from(ErrorCode::NotFound))?;
        self.with_maker(ad).await
    }

    /// A page of the public listing, rendered as the JSON of `Page<AdView>`; a `viewer` with a
    /// token sees whether they meet each ad's requirements (their standing is read only when
    /// an ad of the market has some).
    pub async fn list_ads(
        &self,
        mut query: AdQuery,
        viewer: Option<UserId>,
    ) -> Result<Vec<u8>, DomainError> {
        let now = self.now_ms();
        if let Some(viewer) = viewer {
            let standing = match self.context.read_model.demanding(&query, now) {
                true => Some(Standing::of(&self.user(viewer).await?, now)),
                false => None,
            };
            query.viewer = Viewer::Trader(standing);
        }
        Ok(self.render_listing(&query, now))
    }

    fn render_listing(&self, query: &AdQuery, now: Millis) -> Vec<u8> {
        let (ads, total) = match self.restricted_makers() {
            None => self.context.read_model.list(query, now),
            Some(restricted) => {
                // Restricted makers' ads are paused for everyone while it lasts.
                let mut query = query.clone();
                query
                    .hidden_makers
                    .get_or_insert_with(Default::default)
                    .extend(restricted);
                self.context.read_model.list(&query, now)
            }
        };
        render_page(&ads, total, query.limit as i64, query.offset as i64, now)
    }

    async fn with_maker(&self, ad: Ad) -> Result<(Ad, Profile), DomainError> {
        let maker = match self.context.read_model.maker(ad.maker_id) {
            Some(maker) => maker,
            None => Profile::from(&self.user(ad.maker_id).await?),
        };
        Ok((self.as_shown(ad), maker))
    }

    /// The ad as the API shows it: at its price now, paused while its maker is restricted.
    fn as_shown(&self, ad: Ad) -> Ad {
        let mut ad = self.context.read_model.priced(ad);
        if ad.status == AdStatus::Active && self.maker_restricted(ad.maker_id) {
            ad.status = AdStatus::Paused;
        }
        ad
    }
}
