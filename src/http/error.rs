//! Every error leaves as the JSON of SPEC.md §4 with its status, and each route's OpenAPI
//! description lists the refusals it may answer under the status this file maps them to, so
//! the document and the answers cannot drift.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::config::DEFAULT_RETRY_AFTER_SECS;
use crate::domain::{DomainError, ErrorCode, validate};
use crate::telemetry;

#[derive(Debug)]
pub struct ApiError(pub DomainError);

pub type ApiResult<T> = Result<T, ApiError>;

impl<E: Into<DomainError>> From<E> for ApiError {
    fn from(error: E) -> Self {
        ApiError(error.into())
    }
}

pub fn status_of(code: ErrorCode) -> StatusCode {
    use ErrorCode::*;
    match code {
        ValidationError => StatusCode::BAD_REQUEST,
        Unauthorized => StatusCode::UNAUTHORIZED,
        Forbidden => StatusCode::FORBIDDEN,
        NotFound => StatusCode::NOT_FOUND,
        AdNotActive
        | ActiveWithdrawOrderExists
        | ActiveOrderLimit
        | InvalidOrderStatus
        | AlreadyRated
        | IdempotencyKeyReused
        | DuplicateReference => StatusCode::CONFLICT,
        PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        OwnAd
        | MinDepositRequired
        | WageringRequirementNotMet
        | SellerInsufficientBalance
        | BonusFundsNotWithdrawable
        | InsufficientBalance
        | AmountTooLow
        | AmountTooHigh
        | AmountExceedsAvailable
        | InvalidPaymentMethod
        | InvalidAmountLimits
        | PaymentDetailsRequired
        | CannotBlockSelf
        | InvalidRestrictionEnd
        | PaymentMethodsLimit
        | CounterpartyRequirementsNotMet
        | InvalidPricing
        | AttachmentsLimit => StatusCode::UNPROCESSABLE_ENTITY,
        UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        UserBlocked | AccountRestricted => StatusCode::FORBIDDEN,
        TakingPaused | RateLimited => StatusCode::TOO_MANY_REQUESTS,
        Overloaded => StatusCode::SERVICE_UNAVAILABLE,
        Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.0.code;
        let status = status_of(code);
        if status.is_client_error() {
            metrics::counter!(telemetry::REFUSALS, "code" => code.as_str()).increment(1);
        } else {
            let message = validate::mask_card_numbers(&self.0.message);
            tracing::warn!(code = code.as_str(), %message, "request failed");
        }
        let retry_after = self.0.retry_after_secs.or(matches!(
            status,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
        )
        .then_some(DEFAULT_RETRY_AFTER_SECS));
        let mut body = json!({"error": {"code": code.as_str(), "message": self.0.message}});
        if let Some(details) = self.0.details {
            body["error"]["details"] = details;
        }
        let mut response = (status, Json(body)).into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// A route's refusals as OpenAPI responses: one response per status, its description the codes
/// answered with that status (`status_of` decides which), its body the error's shape.
pub fn refusal_responses(
    codes: &[ErrorCode],
) -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::Response>> {
    use utoipa::ToSchema;
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let mut by_status: std::collections::BTreeMap<u16, Vec<&str>> = Default::default();
    for code in codes {
        by_status
            .entry(status_of(*code).as_u16())
            .or_default()
            .push(code.as_str());
    }
    by_status
        .into_iter()
        .map(|(status, names)| {
            let body = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(crate::views::ErrorBody::name())))
                .build();
            let response = ResponseBuilder::new()
                .description(names.join(", "))
                .content("application/json", body)
                .build();
            (status.to_string(), response.into())
        })
        .collect()
}

/// Declares a route's refusals, as a type its `#[utoipa::path]` lists among its `responses`.
macro_rules! refusals {
    ($name:ident: $($code:ident),+ $(,)?) => {
        struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> std::collections::BTreeMap<
                String,
                utoipa::openapi::RefOr<utoipa::openapi::Response>,
            > {
                $crate::http::error::refusal_responses(&[
                    $($crate::domain::ErrorCode::$code),+
                ])
            }
        }
    };
}
