//! `/api/v1/me`, `/api/v1/users/{id}` and the platform's admin routes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiResult;
use super::extract::{Admin, AppJson, Authenticated, Id};
use crate::domain::wallet::TransactionKind;
use crate::domain::{DomainError, Role};
use crate::market::NewTransaction;
use crate::views;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me", get(me))
        .route("/api/v1/users/{id}", get(user))
        .route("/api/v1/admin/users", post(create_user))
        .route(
            "/api/v1/admin/users/{id}/transactions",
            post(post_transaction),
        )
        .route("/api/v1/admin/audit", get(audit))
}

#[tracing::instrument(skip_all)]
async fn me(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> ApiResult<Json<Value>> {
    let (user, wallet) = state.market.me(caller).await?;
    Ok(Json(views::me(&user, &wallet)))
}

#[tracing::instrument(skip_all, fields(user = id))]
async fn user(State(state): State<AppState>, Id(id): Id) -> ApiResult<Json<Value>> {
    let user = state.market.user(id).await?;
    Ok(Json(views::public_user(&user)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUserBody {
    name: String,
    role: Option<String>,
}

#[tracing::instrument(skip_all)]
async fn create_user(
    State(state): State<AppState>,
    _admin: Admin,
    AppJson(body): AppJson<CreateUserBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let role = match body.role.as_deref() {
        None => Role::User,
        Some(role) => Role::parse(role)
            .ok_or_else(|| DomainError::validation("role must be user or operator"))?,
    };
    let (user, token) = state.market.create_user(&body.name, role).await?;
    let body =
        json!({"id": user.id, "name": user.name, "role": user.role.as_str(), "token": token});
    Ok((StatusCode::CREATED, Json(body)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransactionBody {
    kind: String,
    amount: i64,
    reference: String,
    wagering_multiplier: Option<i64>,
}

#[tracing::instrument(skip_all, fields(user = id))]
async fn post_transaction(
    State(state): State<AppState>,
    _admin: Admin,
    Id(id): Id,
    AppJson(body): AppJson<TransactionBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let kind = TransactionKind::parse(&body.kind)
        .ok_or_else(|| DomainError::validation("kind must be deposit, bonus, bet or win"))?;
    let request = NewTransaction {
        kind,
        amount: body.amount,
        reference: body.reference,
        wagering_multiplier: body.wagering_multiplier,
    };
    let (view, replayed) = state.market.post_transaction(id, request).await?;
    let status = if replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(serde_json::to_value(view).unwrap_or_default())))
}

#[tracing::instrument(skip_all)]
async fn audit(State(state): State<AppState>, _admin: Admin) -> ApiResult<Json<Value>> {
    let report = state.market.store().audit().await?;
    Ok(Json(serde_json::to_value(report).unwrap_or_default()))
}
