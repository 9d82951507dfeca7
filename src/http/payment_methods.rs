//! Saved payment methods: `GET`/`POST /api/v1/me/payment-methods`, `DELETE …/{id}`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiResult;
use super::extract::{AppJson, Authenticated, Id, Keyed};
use super::input::fields::Label;
use super::input::{PaymentDetails, PaymentMethod};
use super::state::AppState;
use crate::views::{self, Items, SavedMethodView};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, save))
        .routes(routes!(delete))
}

refusals!(ListRefusals: Forbidden);

#[utoipa::path(
    get,
    path = "/api/v1/me/payment-methods",
    operation_id = "listPaymentMethods",
    tag = "accounts",
    security(("bearer" = [])),
    responses((status = 200, description = "The caller's saved payment methods, oldest first; card numbers masked", body = crate::views::Items<crate::views::SavedMethodView>), ListRefusals)
)]
#[tracing::instrument(skip_all)]
async fn list(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> ApiResult<Json<Items<SavedMethodView>>> {
    let saved = state.market.saved_methods(caller).await?;
    Ok(Json(Items {
        items: saved.iter().map(views::saved_method).collect(),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SaveBody {
    #[schema(inline)]
    method: PaymentMethod,
    /// Checked as an order's inline details are.
    #[schema(inline)]
    details: PaymentDetails,
    /// The user's own name for it.
    #[schema(inline)]
    label: Option<Label>,
}

refusals!(SaveRefusals: ValidationError, Forbidden, IdempotencyKeyReused, PaymentMethodsLimit);

#[utoipa::path(
    post,
    path = "/api/v1/me/payment-methods",
    operation_id = "savePaymentMethod",
    tag = "accounts",
    description = "At most 20 a user. An order (`POST /api/v1/p2p/orders`) or a sell ad may name one by `payment_method_id` instead of inline `payment_details`.",
    request_body = SaveBody,
    security(("bearer" = [])),
    responses((status = 201, description = "The saved method; its card number masked", body = crate::views::SavedMethodView), SaveRefusals)
)]
#[tracing::instrument(skip_all)]
async fn save(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Keyed(key): Keyed,
    AppJson(body): AppJson<SaveBody>,
) -> ApiResult<(StatusCode, Json<SavedMethodView>)> {
    let details = serde_json::Value::Object(body.details.0);
    let label = body.label.map(|l| l.0);
    let saved = state
        .market
        .save_method(caller, &body.method.0, &details, label.as_deref(), key)
        .await?;
    Ok((StatusCode::CREATED, Json(views::saved_method(&saved))))
}

refusals!(DeleteRefusals: Forbidden, NotFound);

#[utoipa::path(
    delete,
    path = "/api/v1/me/payment-methods/{id}",
    operation_id = "deletePaymentMethod",
    tag = "accounts",
    description = "Orders and ads made with it keep the details they copied.",
    params(("id" = i64, Path, description = "The id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"), DeleteRefusals)
)]
#[tracing::instrument(skip_all, fields(method = id))]
async fn delete(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Id(id): Id<i64>,
) -> ApiResult<StatusCode> {
    state.market.delete_method(caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
