//! `/api/v1/me`, `/api/v1/users/{id}` and the platform's admin routes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiResult;
use super::extract::{Admin, AppJson, Authenticated, Id, Keyed};
use super::input::fields::WageringMultiplier;
use super::input::fields::{Amount, Name, Reference, RoleChoice, TransactionKindChoice};
use super::state::AppState;
use crate::domain::{Role, UserId};
use crate::market::NewTransaction;
use crate::views;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(user))
        .routes(routes!(create_user))
        .routes(routes!(post_transaction))
        .routes(routes!(audit))
}

refusals!(MeRefusals: Forbidden);

#[utoipa::path(
    get,
    path = "/api/v1/me",
    operation_id = "getMe",
    tag = "accounts",
    security(("bearer" = [])),
    responses((status = 200, description = "The caller's account", body = crate::views::MeView), MeRefusals)
)]
#[tracing::instrument(skip_all)]
async fn me(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> ApiResult<Json<views::MeView>> {
    let (user, wallet, held) = state.market.me(caller).await?;
    let now = state.market.now_ms();
    Ok(Json(views::me(&user, &wallet, held.as_ref(), now)))
}

refusals!(UserRefusals: NotFound);

#[utoipa::path(
    get,
    path = "/api/v1/users/{id}",
    operation_id = "getUser",
    tag = "accounts",
    params(("id" = i64, Path, description = "The id")),
    responses((status = 200, description = "A user's public figures", body = crate::views::PublicUserView), UserRefusals)
)]
#[tracing::instrument(skip_all, fields(user = id.get()))]
async fn user(
    State(state): State<AppState>,
    Id(id): Id<UserId>,
) -> ApiResult<Json<views::PublicUserView>> {
    let user = state.market.user(id).await?;
    Ok(Json(views::public_user(&user, state.market.now_ms())))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateUserBody {
    #[schema(inline)]
    name: Name,
    /// `user` by default.
    #[schema(inline)]
    role: Option<RoleChoice>,
}

refusals!(CreateUserRefusals: ValidationError, Forbidden, IdempotencyKeyReused);

#[utoipa::path(
    post,
    path = "/api/v1/admin/users",
    operation_id = "createUser",
    tag = "admin",
    request_body = CreateUserBody,
    security(("bearer" = [])),
    responses((status = 201, description = "The user and its token, shown once", body = crate::views::NewUserView), CreateUserRefusals)
)]
#[tracing::instrument(skip_all)]
async fn create_user(
    State(state): State<AppState>,
    _admin: Admin,
    Keyed(key): Keyed,
    AppJson(body): AppJson<CreateUserBody>,
) -> ApiResult<(StatusCode, Json<views::NewUserView>)> {
    let role = body.role.map_or(Role::User, |r| r.0);
    let (user, token) = state.market.create_user(&body.name.0, role, key).await?;
    let body = views::NewUserView {
        id: user.id.get(),
        name: user.name,
        role: user.role.as_str().into(),
        token,
    };
    Ok((StatusCode::CREATED, Json(body)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TransactionBody {
    /// `deposit` and `win` credit; `bonus` credits and adds to the wagering requirement; `bet`
    /// debits and counts as wagered.
    #[schema(inline)]
    kind: TransactionKindChoice,
    /// Kopecks.
    #[schema(inline)]
    amount: Amount,
    /// The platform's unique id of the transaction: a repeat answers the first.
    #[schema(inline)]
    reference: Reference,
    /// A bonus's wagering: `amount × wagering_multiplier` (5 by default) to bet.
    #[schema(inline)]
    wagering_multiplier: Option<WageringMultiplier>,
}

refusals!(PostTransactionRefusals: ValidationError, Forbidden, NotFound, DuplicateReference, IdempotencyKeyReused, InsufficientBalance);

#[utoipa::path(
    post,
    path = "/api/v1/admin/users/{id}/transactions",
    operation_id = "postTransaction",
    tag = "admin",
    request_body = TransactionBody,
    params(("id" = i64, Path, description = "The id")),
    security(("bearer" = [])),
    responses((status = 201, description = "The transaction", body = crate::views::TransactionView), (status = 200, description = "The first transaction with this reference", body = crate::views::TransactionView), PostTransactionRefusals)
)]
#[tracing::instrument(skip_all, fields(user = id.get()))]
async fn post_transaction(
    State(state): State<AppState>,
    _admin: Admin,
    Keyed(key): Keyed,
    Id(id): Id<UserId>,
    AppJson(body): AppJson<TransactionBody>,
) -> ApiResult<(StatusCode, Json<crate::views::TransactionView>)> {
    let request = NewTransaction {
        kind: body.kind.0,
        amount: body.amount.0,
        reference: body.reference.0,
        wagering_multiplier: body.wagering_multiplier.map(|m| m.0),
    };
    let (view, replayed) = state.market.post_transaction(id, request, key).await?;
    let status = if replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(view)))
}

refusals!(AuditRefusals: Forbidden);

#[utoipa::path(
    get,
    path = "/api/v1/admin/audit",
    operation_id = "runAudit",
    tag = "admin",
    security(("bearer" = [])),
    responses((status = 200, description = "Every invariant checked against the database", body = crate::domain::audit::Report), AuditRefusals)
)]
#[tracing::instrument(skip_all)]
async fn audit(
    State(state): State<AppState>,
    _admin: Admin,
) -> ApiResult<Json<crate::domain::audit::Report>> {
    Ok(Json(state.market.audit().await?))
}
