//! `Idempotency-Key` on `POST` requests (SPEC.md §6).
//!
//! The same key from the same caller with the same request replays the first answer (status and
//! body); with another request it is `409 IDEMPOTENCY_KEY_REUSED`; while the first is still
//! running, a second is refused the same way (with `Retry-After`) instead of running twice.
//!
//! The key travels down as data: this layer puts the request's [`IdempotencyKey`] in the
//! request's extensions, the handler takes it ([`Keyed`](super::extract::Keyed)) and hands it to
//! the market, whose commit records it in the same transaction as the change the request makes.
//! So a crash either loses both (a retry runs afresh) or keeps both (a retry cannot run twice).
//! The answer is stored right after, and kept at least
//! [`IDEMPOTENCY_TTL_MS`](crate::config::IDEMPOTENCY_TTL_MS). Answers that ask to be retried
//! (`429`, `503`) are not stored.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::extract::bearer_token;
use super::state::AppState;
use crate::config::{MAX_BODY_BYTES, MAX_IDEMPOTENCY_KEY_LEN};
use crate::domain::attachment::MAX_ATTACHMENT_BYTES;
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::{DomainError, ErrorCode};
use crate::market::{Market, Principal};

/// The header of a replayed answer.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

fn refusal(message: &str) -> Response {
    ApiError(DomainError::new(ErrorCode::IdempotencyKeyReused, message)).into_response()
}

fn still_running() -> Response {
    ApiError(
        DomainError::new(
            ErrorCode::IdempotencyKeyReused,
            "A request with this idempotency key is still running; retry shortly",
        )
        .retry_after(1),
    )
    .into_response()
}

/// Who the request is from, as idempotency keys are kept: `None` for anonymous or bad tokens
/// (the handler answers those).
async fn principal_of(market: &Market, token: Option<String>) -> Option<String> {
    match market.authenticate(&token?).await.ok()? {
        Principal::Admin => Some("admin".into()),
        Principal::User(caller) => Some(format!("user:{}", caller.user_id)),
    }
}

/// The middleware: runs a keyed `POST` at most once per caller and key.
pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let Some(key) = request.headers().get("idempotency-key").cloned() else {
        return next.run(request).await;
    };
    let key = match key.to_str() {
        Ok(key) if !key.is_empty() && key.len() <= MAX_IDEMPOTENCY_KEY_LEN => key.to_owned(),
        _ => {
            return ApiError(DomainError::validation(
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
            ))
            .into_response();
        }
    };
    let market = state.market.clone();
    let token = bearer_token(request.headers()).map(str::to_owned);
    let Some(principal) = principal_of(&market, token).await else {
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    // An attachment is the one body larger than the rest.
    let limit = if parts.uri.path().ends_with("/attachments") {
        MAX_ATTACHMENT_BYTES
    } else {
        MAX_BODY_BYTES
    };
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return ApiError(ErrorCode::PayloadTooLarge.into()).into_response();
    };
    let fingerprint = fingerprint(&parts, &bytes);
    let Some(_running) = market.begin_keyed(&principal, &key) else {
        return still_running();
    };
    if let Some(answer) = earlier_answer(&market, &principal, &key, &fingerprint).await {
        return answer;
    }
    let keyed = IdempotencyKey {
        principal,
        key,
        fingerprint,
        now: market.now_ms(),
    };
    let mut request = Request::from_parts(parts, Body::from(bytes));
    request.extensions_mut().insert(keyed.clone());
    let response = next.run(request).await;
    keep_answer(&market, keyed, response).await
}

/// A hash of the request's method, path and body: what "the same request" means.
fn fingerprint(parts: &axum::http::request::Parts, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(parts.method.as_str());
    hash.update(b" ");
    hash.update(parts.uri.to_string());
    hash.update(b"\n");
    hash.update(body);
    hex::encode(hash.finalize())
}

/// What an earlier request with this key answers this one, if there was one: its answer
/// replayed, a refusal for another request under the key, or "still running".
async fn earlier_answer(
    market: &Market,
    principal: &str,
    key: &str,
    fingerprint: &str,
) -> Option<Response> {
    match market.recorded_key(principal, key).await {
        Err(error) => Some(ApiError(error).into_response()),
        Ok(Some(stored)) if stored.fingerprint != fingerprint => {
            Some(refusal("The idempotency key was used with another request"))
        }
        Ok(Some(stored)) => Some(match (stored.status, stored.body) {
            (Some(status), Some(body)) => replay(status, body),
            // Committed on another node (or before a crash) with its answer not yet stored.
            _ => still_running(),
        }),
        Ok(None) => None,
    }
}

/// Records the answer for the key's retries, unless it asks to be retried or is not ours.
async fn keep_answer(market: &Market, keyed: IdempotencyKey, response: Response) -> Response {
    let status = response.status();
    let (parts, body) = response.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return ApiError(ErrorCode::Internal.into()).into_response();
    };
    let transient = matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
    ) || status.is_server_error();
    // Refused because the key is taken (by a request on another node): that answer is not ours.
    let lost_the_key = status == StatusCode::CONFLICT
        && serde_json::from_slice::<serde_json::Value>(&body)
            .is_ok_and(|error| error["error"]["code"] == ErrorCode::IdempotencyKeyReused.as_str());
    if !transient && !lost_the_key {
        let text = String::from_utf8_lossy(&body).into_owned();
        if let Err(error) = market.record_answer(keyed, status.as_u16(), text).await {
            // The change itself is committed; a retry hears "still running" until the key
            // expires.
            tracing::warn!(%error, "an idempotent answer could not be stored");
        }
    }
    Response::from_parts(parts, Body::from(body))
}

fn replay(status: i64, body: String) -> Response {
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let has_body = !body.is_empty();
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    if has_body {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    response
}
