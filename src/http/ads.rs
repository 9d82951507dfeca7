//! `/api/v1/p2p/ads`: the public listing and the makers' ad management.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiResult;
use super::extract::{AppJson, AppQuery, Authenticated, Id, Keyed, MaybeAuthenticated, page};
use super::input::fields::{AccountAgeBound, CompletedOrdersBound, CompletionRateBound};
use super::input::fields::{AdTypeChoice, Amount, AmountParam, PageLimit, PageOffset};
use super::input::fields::{IdField, ReleaseWindowSeconds, SortByChoice, Terms, WindowSeconds};
use super::input::fields::{PremiumBp, PriceTypeChoice};
use super::input::{Choice, DetailsPerMethod, FiatCurrency, PaymentMethod, PaymentMethods};
use super::state::AppState;
use crate::domain::AdId;
use crate::domain::DomainError;
use crate::domain::Kopecks;
use crate::domain::ad::{AdPatch, AdStatus, AdType};
use crate::domain::pricing::PriceType;
use crate::domain::requirements::Requirements;
use crate::domain::vocabulary::vocabulary;
use crate::market::{AdQuery, NewAd, SortBy, Viewer};
use crate::views;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update))
        .routes(routes!(close))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// `buy` (the default): ads of makers who buy USDT, taken to withdraw; `sell` to deposit.
    #[serde(rename = "type")]
    #[param(inline)]
    ad_type: Option<AdTypeChoice>,
    /// `RUB` by default.
    #[param(inline)]
    fiat_currency: Option<FiatCurrency>,
    /// 20 by default.
    #[param(inline)]
    limit: Option<PageLimit>,
    #[param(inline)]
    offset: Option<PageOffset>,
    /// Only ads that take this amount: `min_amount ≤ amount ≤ min(max_amount, available_amount)`.
    #[param(inline)]
    amount: Option<AmountParam>,
    /// Only ads that accept this payment method.
    #[param(inline)]
    payment_method: Option<PaymentMethod>,
    /// `best_price` by default: buy ads' highest price first, sell ads' lowest first.
    #[param(inline)]
    sort_by: Option<SortByChoice>,
    /// `true`: with a bearer token, only the ads whose requirements the caller meets
    /// (`false` by default; an anonymous listing ignores it).
    #[param(inline)]
    eligible_only: Option<ToggleChoice>,
}

vocabulary! {
    /// A query flag.
    enum Toggle {
        True = "true",
        False = "false",
    }
}

type ToggleChoice = Choice<Toggle>;

/// What an ad asks of its takers; a bound left out (or `null`) asks nothing.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RequirementsBody {
    /// Completed orders in all (the taker's `orders_count`).
    #[schema(inline)]
    min_completed_orders: Option<CompletedOrdersBound>,
    /// Whole days since the taker's account was made.
    #[schema(inline)]
    min_account_age_days: Option<AccountAgeBound>,
    /// The taker's `completion_rate_30d` in basis points; a taker without one (no order ended
    /// in 30 days) falls short of any bound above 0.
    #[schema(inline)]
    min_completion_rate_bp: Option<CompletionRateBound>,
}

impl From<RequirementsBody> for Requirements {
    fn from(body: RequirementsBody) -> Self {
        Self {
            min_completed_orders: body.min_completed_orders.map(|b| b.0),
            min_account_age_days: body.min_account_age_days.map(|b| b.0),
            min_completion_rate_bp: body.min_completion_rate_bp.map(|b| b.0),
        }
    }
}

refusals!(ListRefusals: ValidationError);

#[utoipa::path(
    get,
    path = "/api/v1/p2p/ads",
    operation_id = "listAds",
    tag = "ads",
    description = "Anyone may list; a bearer token also hides the ads of users blocked either way and marks each ad `eligible` (whether the caller meets its requirements).",
    params(ListParams),
    responses((status = 200, description = "Active ads with capacity left, best first", body = crate::views::Page<crate::views::AdView>), ListRefusals)
)]
#[tracing::instrument(skip_all)]
async fn list(
    State(state): State<AppState>,
    MaybeAuthenticated(viewer): MaybeAuthenticated,
    AppQuery(params): AppQuery<ListParams>,
) -> ApiResult<Response> {
    let (limit, offset) = page(params.limit, params.offset);
    let query = AdQuery {
        ad_type: params.ad_type.map_or(AdType::Buy, |Choice(t)| t),
        fiat_currency: params
            .fiat_currency
            .map_or_else(|| "RUB".into(), |FiatCurrency(c)| c),
        amount: params.amount.map(|a| Kopecks(a.0)),
        payment_method: params.payment_method.map(|PaymentMethod(m)| m),
        sort_by: params.sort_by.map_or(SortBy::BestPrice, |Choice(s)| s),
        limit: limit as usize,
        offset: offset as usize,
        hidden_makers: viewer.and_then(|caller| state.market.hidden_makers(caller.user_id)),
        viewer: Viewer::Anonymous,
        eligible_only: matches!(params.eligible_only, Some(Choice(Toggle::True))),
    };
    let viewer = viewer.map(|caller| caller.user_id);
    let page = state.market.list_ads(query, viewer).await?;
    Ok(([(CONTENT_TYPE, "application/json")], page).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateAdBody {
    /// `buy`: the maker buys USDT for RUB; `sell`: the maker sells USDT reserved from their
    /// balance.
    #[serde(rename = "type")]
    #[schema(inline)]
    ad_type: AdTypeChoice,
    #[schema(inline)]
    fiat_currency: FiatCurrency,
    /// RUB kopecks per USDT: a fixed-price ad's price (a floating ad gives `premium_bp`).
    #[schema(inline)]
    price: Option<Amount>,
    /// `fixed` (the default) or `floating`: the index price of `fiat_currency` with
    /// `premium_bp` on top, following each index update.
    #[schema(inline)]
    price_type: Option<PriceTypeChoice>,
    /// A floating ad's premium over the index in basis points (−2000…2000; negative: below).
    #[schema(inline)]
    premium_bp: Option<PremiumBp>,
    /// The smallest order, in USDT kopecks; at most `max_amount` and `total_amount`.
    #[schema(inline)]
    min_amount: Amount,
    #[schema(inline)]
    max_amount: Amount,
    /// What the ad trades in all, in USDT kopecks.
    #[schema(inline)]
    total_amount: Amount,
    #[schema(inline)]
    payment_methods: PaymentMethods,
    /// 900 by default.
    #[schema(inline)]
    payment_window_seconds: Option<WindowSeconds>,
    /// How long the seller has, once the buyer says they paid, to release or dispute before
    /// the service disputes the order for the buyer: 1800 by default, within the service's
    /// bounds (`P2P_MIN_RELEASE_WINDOW_SECS`, `P2P_MAX_RELEASE_WINDOW_SECS`).
    #[schema(inline)]
    release_window_seconds: Option<ReleaseWindowSeconds>,
    #[schema(inline)]
    terms: Option<Terms>,
    /// Needed by a sell ad, for every method it lists; a buy ad's are ignored.
    #[schema(inline)]
    payment_details: Option<DetailsPerMethod>,
    /// One of the maker's saved payment methods, whose details become the ad's for its method,
    /// instead of `payment_details`: give one or the other.
    #[schema(inline)]
    payment_method_id: Option<IdField>,
    /// Whom the maker trades with; none by default.
    requirements: Option<RequirementsBody>,
}

refusals!(CreateRefusals: ValidationError, Forbidden, IdempotencyKeyReused, MinDepositRequired, WageringRequirementNotMet, SellerInsufficientBalance, BonusFundsNotWithdrawable, AccountRestricted, InvalidPaymentMethod, InvalidAmountLimits, PaymentDetailsRequired, InvalidPricing);

#[utoipa::path(
    post,
    path = "/api/v1/p2p/ads",
    operation_id = "createAd",
    tag = "ads",
    request_body = CreateAdBody,
    security(("bearer" = [])),
    responses((status = 201, description = "The ad", body = crate::views::AdView), CreateRefusals)
)]
#[tracing::instrument(skip_all)]
async fn create(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Keyed(key): Keyed,
    AppJson(body): AppJson<CreateAdBody>,
) -> ApiResult<Response> {
    if body.payment_details.is_some() && body.payment_method_id.is_some() {
        return Err(
            DomainError::validation("give payment_details or payment_method_id, not both").into(),
        );
    }
    let request = NewAd {
        ad_type: body.ad_type.0,
        fiat_currency: body.fiat_currency.0,
        price: body.price.map(|p| p.0),
        price_type: body.price_type.map_or(PriceType::Fixed, |Choice(t)| t),
        premium_bp: body.premium_bp.map(|p| p.0),
        min_amount: body.min_amount.0,
        max_amount: body.max_amount.0,
        total_amount: body.total_amount.0,
        payment_methods: body.payment_methods.0,
        payment_window_seconds: body.payment_window_seconds.map(|w| w.0),
        release_window_seconds: body.release_window_seconds.map(|w| w.0),
        terms: body.terms.map(|t| t.0),
        payment_details: body.payment_details.map(|d| Value::Object(d.0)),
        payment_method_id: body.payment_method_id.map(|id| id.0),
        requirements: body
            .requirements
            .map(Requirements::from)
            .unwrap_or_default(),
    };
    let (ad, maker) = state.market.create_ad(caller, request, key).await?;
    Ok((
        StatusCode::CREATED,
        Json(views::ad(&ad, &maker, state.market.now_ms())),
    )
        .into_response())
}

refusals!(ShowRefusals: NotFound);

#[utoipa::path(
    get,
    path = "/api/v1/p2p/ads/{id}",
    operation_id = "getAd",
    tag = "ads",
    params(("id" = i64, Path, description = "The id")),
    responses((status = 200, description = "The ad", body = crate::views::AdView), ShowRefusals)
)]
#[tracing::instrument(skip_all, fields(ad_id = id.get()))]
async fn show(State(state): State<AppState>, Id(id): Id<AdId>) -> ApiResult<Response> {
    let (ad, maker) = state.market.ad(id).await?;
    Ok(Json(views::ad(&ad, &maker, state.market.now_ms())).into_response())
}

vocabulary! {
    /// What a maker may set an ad's status to; closing has its own route.
    enum StatusChange {
        Active = "active",
        Paused = "paused",
    }
}

type StatusChangeChoice = Choice<StatusChange>;

/// The fields to change; those left out (or `null`) keep their value.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct UpdateAdBody {
    /// A fixed-price ad's new price.
    #[schema(inline)]
    price: Option<Amount>,
    /// A change of pricing: to `fixed` with `price`, to `floating` with `premium_bp`.
    #[schema(inline)]
    price_type: Option<PriceTypeChoice>,
    /// A floating ad's new premium.
    #[schema(inline)]
    premium_bp: Option<PremiumBp>,
    #[schema(inline)]
    min_amount: Option<Amount>,
    #[schema(inline)]
    max_amount: Option<Amount>,
    #[schema(inline)]
    payment_methods: Option<PaymentMethods>,
    #[schema(inline)]
    terms: Option<Terms>,
    #[schema(inline)]
    status: Option<StatusChangeChoice>,
    /// Replaces all the requirements: bounds left out are dropped, `{}` drops them all.
    requirements: Option<RequirementsBody>,
}

refusals!(UpdateRefusals: ValidationError, Forbidden, NotFound, AdNotActive, InvalidAmountLimits, PaymentDetailsRequired, InvalidPricing);

#[utoipa::path(
    patch,
    path = "/api/v1/p2p/ads/{id}",
    operation_id = "updateAd",
    tag = "ads",
    request_body = UpdateAdBody,
    params(("id" = i64, Path, description = "The id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The ad", body = crate::views::AdView), UpdateRefusals)
)]
#[tracing::instrument(skip_all, fields(ad_id = id.get()))]
async fn update(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Id(id): Id<AdId>,
    AppJson(body): AppJson<UpdateAdBody>,
) -> ApiResult<Response> {
    let patch = AdPatch {
        price: body.price.map(|p| p.0),
        price_type: body.price_type.map(|Choice(t)| t),
        premium_bp: body.premium_bp.map(|p| p.0),
        min_amount: body.min_amount.map(|a| a.0),
        max_amount: body.max_amount.map(|a| a.0),
        payment_methods: body.payment_methods.map(|m| m.0),
        terms: body.terms.map(|t| t.0),
        status: body.status.map(|Choice(status)| match status {
            StatusChange::Active => AdStatus::Active,
            StatusChange::Paused => AdStatus::Paused,
        }),
        requirements: body.requirements.map(Requirements::from),
    };
    let (ad, maker) = state.market.patch_ad(caller, id, patch).await?;
    Ok(Json(views::ad(&ad, &maker, state.market.now_ms())).into_response())
}

refusals!(CloseRefusals: Forbidden, NotFound, AdNotActive, IdempotencyKeyReused);

#[utoipa::path(
    post,
    path = "/api/v1/p2p/ads/{id}/close",
    operation_id = "closeAd",
    tag = "ads",
    params(("id" = i64, Path, description = "The id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The ad, closed", body = crate::views::AdView), CloseRefusals)
)]
#[tracing::instrument(skip_all, fields(ad_id = id.get()))]
async fn close(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Keyed(key): Keyed,
    Id(id): Id<AdId>,
) -> ApiResult<Response> {
    let (ad, maker) = state.market.close_ad(caller, id, key).await?;
    Ok(Json(views::ad(&ad, &maker, state.market.now_ms())).into_response())
}
