//! Index prices: the platform sets each fiat currency's (`/api/v1/admin/index-prices`, every
//! update kept), and anyone reads the current ones (`/api/v1/p2p/index-prices`). Floating ads
//! price over them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiResult;
use super::extract::{Admin, AppJson, AppQuery, Keyed, page};
use super::input::FiatCurrency;
use super::input::fields::{Amount, PageLimit, PageOffset};
use super::state::AppState;
use crate::views::{self, IndexPriceView, Items, Page};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(set_index_price, index_price_history))
        .routes(routes!(index_prices))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct IndexPriceBody {
    #[schema(inline)]
    fiat_currency: FiatCurrency,
    /// Kopecks of the currency per USDT.
    #[schema(inline)]
    price: Amount,
}

refusals!(SetRefusals: ValidationError, Forbidden, IdempotencyKeyReused);

#[utoipa::path(
    post,
    path = "/api/v1/admin/index-prices",
    operation_id = "setIndexPrice",
    tag = "admin",
    description = "Sets a fiat currency's index price; floating ads of the currency follow it at once on this node and within a second on the others. Every update is kept.",
    request_body = IndexPriceBody,
    security(("bearer" = [])),
    responses((status = 201, description = "The index price, recorded", body = IndexPriceView), SetRefusals)
)]
#[tracing::instrument(skip_all)]
async fn set_index_price(
    State(state): State<AppState>,
    _admin: Admin,
    Keyed(key): Keyed,
    AppJson(body): AppJson<IndexPriceBody>,
) -> ApiResult<(StatusCode, Json<IndexPriceView>)> {
    let index = state
        .market
        .set_index_price(body.fiat_currency.0, body.price.0, key)
        .await?;
    Ok((StatusCode::CREATED, Json(IndexPriceView::from(&index))))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct HistoryParams {
    /// `RUB` by default.
    #[param(inline)]
    fiat_currency: Option<FiatCurrency>,
    #[param(inline)]
    limit: Option<PageLimit>,
    #[param(inline)]
    offset: Option<PageOffset>,
}

refusals!(HistoryRefusals: ValidationError, Forbidden);

#[utoipa::path(
    get,
    path = "/api/v1/admin/index-prices",
    operation_id = "indexPriceHistory",
    tag = "admin",
    params(HistoryParams),
    security(("bearer" = [])),
    responses((status = 200, description = "The currency's index prices, newest first", body = Page<IndexPriceView>), HistoryRefusals)
)]
#[tracing::instrument(skip_all)]
async fn index_price_history(
    State(state): State<AppState>,
    _admin: Admin,
    AppQuery(params): AppQuery<HistoryParams>,
) -> ApiResult<Json<Page<IndexPriceView>>> {
    let (limit, offset) = page(params.limit, params.offset);
    let currency = params
        .fiat_currency
        .map_or_else(|| "RUB".into(), |FiatCurrency(c)| c);
    let (items, total) = state
        .market
        .index_price_history(&currency, (limit, offset))
        .await?;
    Ok(Json(Page {
        items: items.iter().map(IndexPriceView::from).collect(),
        total,
        limit,
        offset,
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/p2p/index-prices",
    operation_id = "indexPrices",
    tag = "ads",
    description = "The current index price of each fiat currency that has one: what floating ads price over.",
    responses((status = 200, description = "The current index prices", body = Items<IndexPriceView>))
)]
#[tracing::instrument(skip_all)]
async fn index_prices(State(state): State<AppState>) -> ApiResult<Json<Items<IndexPriceView>>> {
    let current = state.market.index_prices().await?;
    Ok(Json(views::Items {
        items: current.iter().map(IndexPriceView::from).collect(),
    }))
}
