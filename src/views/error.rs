//! Every error's body.

use serde::Serialize;
use utoipa::ToSchema;

/// Every error: `{"error": {"code", "message"}}` (SPEC.md §4).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// The stable machine code.
    #[schema(value_type = String, example = "AD_NOT_ACTIVE")]
    pub code: &'static str,
    pub message: String,
}
