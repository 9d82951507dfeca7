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
use super::state::AppState;
use crate::domain::AdId;
use crate::domain::DomainError;
use crate::domain::Kopecks;
use crate::domain::ad::{AdPatch, AdStatus, AdType};
use crate::market::{AdQuery, NewAd, SortBy};
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
    #[serde(rename = "type")]
    ad_type: Option<String>,
    fiat_currency: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
    amount: Option<i64>,
    payment_method: Option<String>,
    sort_by: Option<String>,
}

fn parse<T>(field: &str, value: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T, DomainError> {
    parse(value)
        .ok_or_else(|| DomainError::validation(format!("{field} has an unknown value {value:?}")))
}

refusals!(ListRefusals: ValidationError);

#[utoipa::path(
    get,
    path = "/api/v1/p2p/ads",
    tag = "ads",
    description = "Anyone may list; a bearer token also hides the ads of users blocked either way.",
    params(ListParams),
    responses((status = 200, description = "Active ads with capacity left, best first", body = crate::views::Page<crate::views::AdView>), ListRefusals)
)]
#[tracing::instrument(skip_all)]
async fn list(
    State(state): State<AppState>,
    MaybeAuthenticated(viewer): MaybeAuthenticated,
    AppQuery(params): AppQuery<ListParams>,
) -> ApiResult<Response> {
    let ad_type = parse(
        "type",
        params.ad_type.as_deref().unwrap_or("buy"),
        AdType::parse,
    )?;
    let sort_by = match params.sort_by.as_deref() {
        Some(sort) => parse("sort_by", sort, SortBy::parse)?,
        None => SortBy::BestPrice,
    };
    let (limit, offset) = page(params.limit, params.offset)?;
    if params.amount.is_some_and(|a| a <= 0) {
        return Err(DomainError::validation("amount must be positive").into());
    }
    let query = AdQuery {
        ad_type,
        fiat_currency: params.fiat_currency.unwrap_or_else(|| "RUB".into()),
        amount: params.amount.map(Kopecks),
        payment_method: params.payment_method,
        sort_by,
        limit: limit as usize,
        offset: offset as usize,
        hidden_makers: viewer.and_then(|caller| state.market.hidden_makers(caller.user_id)),
    };
    Ok((
        [(CONTENT_TYPE, "application/json")],
        state.market.list_ads(&query),
    )
        .into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    #[serde(rename = "type")]
    ad_type: String,
    fiat_currency: String,
    price: i64,
    min_amount: i64,
    max_amount: i64,
    total_amount: i64,
    payment_methods: Vec<String>,
    payment_window_seconds: Option<i64>,
    terms: Option<String>,
    payment_details: Option<Value>,
}

refusals!(CreateRefusals: ValidationError, Forbidden, IdempotencyKeyReused, MinDepositRequired, WageringRequirementNotMet, SellerInsufficientBalance, InvalidPaymentMethod);

#[utoipa::path(
    post,
    path = "/api/v1/p2p/ads",
    tag = "ads",
    request_body = CreateBody,
    security(("bearer" = [])),
    responses((status = 201, description = "The ad", body = crate::views::AdView), CreateRefusals)
)]
#[tracing::instrument(skip_all)]
async fn create(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Keyed(key): Keyed,
    AppJson(body): AppJson<CreateBody>,
) -> ApiResult<Response> {
    let request = NewAd {
        ad_type: parse("type", &body.ad_type, AdType::parse)?,
        fiat_currency: body.fiat_currency,
        price: body.price,
        min_amount: body.min_amount,
        max_amount: body.max_amount,
        total_amount: body.total_amount,
        payment_methods: body.payment_methods,
        payment_window_seconds: body.payment_window_seconds,
        terms: body.terms,
        payment_details: body.payment_details,
    };
    let (ad, maker) = state.market.create_ad(caller, request, key).await?;
    Ok((StatusCode::CREATED, Json(views::ad(&ad, &maker))).into_response())
}

refusals!(ShowRefusals: NotFound);

#[utoipa::path(
    get,
    path = "/api/v1/p2p/ads/{id}",
    tag = "ads",
    params(("id" = i64, Path, description = "The id")),
    responses((status = 200, description = "The ad", body = crate::views::AdView), ShowRefusals)
)]
#[tracing::instrument(skip_all, fields(ad_id = id.get()))]
async fn show(State(state): State<AppState>, Id(id): Id<AdId>) -> ApiResult<Response> {
    let (ad, maker) = state.market.ad(id).await?;
    Ok(Json(views::ad(&ad, &maker)).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    price: Option<i64>,
    min_amount: Option<i64>,
    max_amount: Option<i64>,
    payment_methods: Option<Vec<String>>,
    terms: Option<String>,
    status: Option<String>,
}

refusals!(UpdateRefusals: ValidationError, Forbidden, NotFound, AdNotActive);

#[utoipa::path(
    patch,
    path = "/api/v1/p2p/ads/{id}",
    tag = "ads",
    request_body = UpdateBody,
    params(("id" = i64, Path, description = "The id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The ad", body = crate::views::AdView), UpdateRefusals)
)]
#[tracing::instrument(skip_all, fields(ad_id = id.get()))]
async fn update(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Id(id): Id<AdId>,
    AppJson(body): AppJson<UpdateBody>,
) -> ApiResult<Response> {
    let patch = AdPatch {
        price: body.price,
        min_amount: body.min_amount,
        max_amount: body.max_amount,
        payment_methods: body.payment_methods,
        terms: body.terms,
        status: body
            .status
            .as_deref()
            .map(|s| parse("status", s, AdStatus::parse))
            .transpose()?,
    };
    let (ad, maker) = state.market.patch_ad(caller, id, patch).await?;
    Ok(Json(views::ad(&ad, &maker)).into_response())
}

refusals!(CloseRefusals: Forbidden, NotFound, AdNotActive, IdempotencyKeyReused);

#[utoipa::path(
    post,
    path = "/api/v1/p2p/ads/{id}/close",
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
    Ok(Json(views::ad(&ad, &maker)).into_response())
}
