//! Responsible gaming: `POST`, `GET` and `DELETE /api/v1/admin/users/{id}/restrictions`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiResult;
use super::extract::{Admin, AppJson, Id, Keyed};
use super::input::Instant;
use super::input::fields::RestrictionKindChoice;
use super::state::AppState;
use crate::domain::UserId;
use crate::views::{self, Items, RestrictionView};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(restrict, restrictions, lift))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RestrictBody {
    /// `self_exclusion` (the player's own request) or `cool_off` (a short break).
    #[schema(inline)]
    kind: RestrictionKindChoice,
    /// When it ends: after now, at most 100 years on (`422 INVALID_RESTRICTION_END` otherwise).
    #[schema(inline)]
    until: Instant,
}

refusals!(RestrictRefusals: ValidationError, Forbidden, NotFound, IdempotencyKeyReused, InvalidRestrictionEnd);

#[utoipa::path(
    post,
    path = "/api/v1/admin/users/{id}/restrictions",
    operation_id = "restrictUser",
    tag = "admin",
    description = "While it lasts the user may not take or post ads (`403 ACCOUNT_RESTRICTED`) and their ads are paused and hidden; orders already open run to their end.",
    request_body = RestrictBody,
    params(("id" = i64, Path, description = "The id")),
    security(("bearer" = [])),
    responses((status = 201, description = "The restriction", body = crate::views::RestrictionView), RestrictRefusals)
)]
#[tracing::instrument(skip_all, fields(user = id.get()))]
async fn restrict(
    State(state): State<AppState>,
    _admin: Admin,
    Keyed(key): Keyed,
    Id(id): Id<UserId>,
    AppJson(body): AppJson<RestrictBody>,
) -> ApiResult<(StatusCode, Json<RestrictionView>)> {
    let market = &state.market;
    let held = market.restrict(id, body.kind.0, &body.until.0, key).await?;
    Ok((
        StatusCode::CREATED,
        Json(views::restriction(&held, market.now_ms())),
    ))
}

refusals!(RestrictionsRefusals: Forbidden, NotFound);

#[utoipa::path(
    get,
    path = "/api/v1/admin/users/{id}/restrictions",
    operation_id = "listRestrictions",
    tag = "admin",
    params(("id" = i64, Path, description = "The id")),
    security(("bearer" = [])),
    responses((status = 200, description = "Every restriction of the user, newest first, lifted and ended ones included", body = crate::views::Items<crate::views::RestrictionView>), RestrictionsRefusals)
)]
#[tracing::instrument(skip_all, fields(user = id.get()))]
async fn restrictions(
    State(state): State<AppState>,
    _admin: Admin,
    Id(id): Id<UserId>,
) -> ApiResult<Json<Items<RestrictionView>>> {
    let market = &state.market;
    let now = market.now_ms();
    let items = market
        .restrictions(id)
        .await?
        .iter()
        .map(|held| views::restriction(held, now))
        .collect();
    Ok(Json(Items { items }))
}

refusals!(LiftRefusals: Forbidden, NotFound);

#[utoipa::path(
    delete,
    path = "/api/v1/admin/users/{id}/restrictions",
    operation_id = "liftRestrictions",
    tag = "admin",
    description = "Lifts every restriction of the user that still holds (their history keeps them, with `lifted_at`).",
    params(("id" = i64, Path, description = "The id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Lifted (also when none held)"), LiftRefusals)
)]
#[tracing::instrument(skip_all, fields(user = id.get()))]
async fn lift(
    State(state): State<AppState>,
    _admin: Admin,
    Id(id): Id<UserId>,
) -> ApiResult<StatusCode> {
    state.market.lift_restrictions(id).await?;
    Ok(StatusCode::NO_CONTENT)
}
