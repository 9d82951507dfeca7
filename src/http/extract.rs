//! Extractors that answer malformed input in the app's error format, and bearer-token auth.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::state::AppState;
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::{Caller, DomainError, ErrorCode};
use crate::market::Principal;

/// A JSON body, which is always an object (serde would read a struct from an array too).
/// Malformed JSON, another kind of value, a wrong type, a missing or unknown field, a value out
/// of its bounds: `VALIDATION_ERROR`, naming the field; too large: `PAYLOAD_TOO_LARGE`. The
/// content type is not required.
pub struct AppJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AppJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match object(&body(request, state).await?)? {
            Some(value) => Ok(AppJson(value)),
            None => Err(ApiError(DomainError::validation(
                "the request needs a JSON object body",
            ))),
        }
    }
}

/// An optional JSON body: none, or `null`, is `T::default()`; anything else is read as
/// [`AppJson`] reads it.
pub struct MaybeJson<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for MaybeJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = body(request, state).await?;
        if bytes.trim_ascii() == b"null" {
            return Ok(MaybeJson(T::default()));
        }
        Ok(MaybeJson(object(&bytes)?.unwrap_or_default()))
    }
}

async fn body<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection: BytesRejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError(ErrorCode::PayloadTooLarge.into())
            } else {
                ApiError(DomainError::validation(
                    "the request body could not be read",
                ))
            }
        })
}

/// The body read as a `T` from a JSON object; `None` when there is no body.
fn object<T: DeserializeOwned>(bytes: &[u8]) -> Result<Option<T>, ApiError> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => return Ok(None),
        Some(b'{') => {}
        Some(_) => {
            return Err(ApiError(DomainError::validation(
                "the request body must be a JSON object",
            )));
        }
    }
    let mut json = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut json).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        ApiError(DomainError::validation(if path == "." {
            format!("invalid JSON body: {inner}")
        } else {
            format!("{path}: {inner}")
        }))
    })?;
    json.end()
        .map_err(|e| ApiError(DomainError::validation(format!("invalid JSON body: {e}"))))?;
    Ok(Some(value))
}

/// Query parameters; anything malformed is `VALIDATION_ERROR`.
pub struct AppQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for AppQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| AppQuery(value))
            .map_err(|rejection: QueryRejection| {
                ApiError(DomainError::validation(rejection.body_text()))
            })
    }
}

/// A positive id in the path, as the id type of what it names; anything else names nothing, so
/// it is `NOT_FOUND`.
pub struct Id<T>(pub T);

impl<T: From<i64>, S: Send + Sync> FromRequestParts<S> for Id<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(id) = Path::<i64>::from_request_parts(parts, state)
            .await
            .map_err(|_: PathRejection| ApiError(ErrorCode::NotFound.into()))?;
        if id <= 0 {
            return Err(ApiError(ErrorCode::NotFound.into()));
        }
        Ok(Id(T::from(id)))
    }
}

/// The request's idempotency key, if it sent one (the idempotency layer puts it in the
/// request's extensions); the handler hands it to the market, which records it with the change.
pub struct Keyed(pub Option<IdempotencyKey>);

impl<S: Send + Sync> FromRequestParts<S> for Keyed {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Keyed(parts.extensions.get::<IdempotencyKey>().cloned()))
    }
}

/// The bearer token of a request, if it carries one.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?
        .trim();
    (!token.is_empty()).then_some(token)
}

async fn principal(parts: &Parts, state: &AppState) -> Result<Principal, ApiError> {
    let token =
        bearer_token(&parts.headers).ok_or_else(|| ApiError(ErrorCode::Unauthorized.into()))?;
    let principal = state.market.authenticate(token).await?;
    if let Principal::User(caller) = principal {
        state.market.admit(caller.user_id)?;
    }
    Ok(principal)
}

/// A user or operator, by bearer token. The admin token is not a user: `FORBIDDEN`.
pub struct Authenticated(pub Caller);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match principal(parts, state).await? {
            Principal::User(caller) => {
                tracing::Span::current().record("user_id", caller.user_id.get());
                Ok(Authenticated(caller))
            }
            Principal::Admin => Err(ApiError(DomainError::new(
                ErrorCode::Forbidden,
                "The admin token acts for the platform, not for a user",
            ))),
        }
    }
}

/// A user or operator if the request carries a token (a bad token is still `UNAUTHORIZED`);
/// the admin token and no token are anonymous.
pub struct MaybeAuthenticated(pub Option<Caller>);

impl FromRequestParts<AppState> for MaybeAuthenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            return Ok(MaybeAuthenticated(None));
        }
        match principal(parts, state).await? {
            Principal::User(caller) => Ok(MaybeAuthenticated(Some(caller))),
            Principal::Admin => Ok(MaybeAuthenticated(None)),
        }
    }
}

/// An operator, by bearer token.
pub struct Operator(pub Caller);

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Authenticated(caller) = Authenticated::from_request_parts(parts, state).await?;
        if caller.role != crate::domain::Role::Operator {
            return Err(ApiError(DomainError::new(
                ErrorCode::Forbidden,
                "Operators only",
            )));
        }
        Ok(Operator(caller))
    }
}

/// The platform, by the admin token.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match principal(parts, state).await? {
            Principal::Admin => Ok(Admin),
            Principal::User(_) => Err(ApiError(DomainError::new(
                ErrorCode::Forbidden,
                "Admin only",
            ))),
        }
    }
}

/// Page bounds of a listing: `limit` (default 20) and `offset` (default 0), their bounds
/// checked as they were read.
pub fn page(
    limit: Option<super::input::fields::PageLimit>,
    offset: Option<super::input::fields::PageOffset>,
) -> (i64, i64) {
    (
        limit.map_or(crate::config::DEFAULT_PAGE_LIMIT, |l| l.0),
        offset.map_or(0, |o| o.0),
    )
}
