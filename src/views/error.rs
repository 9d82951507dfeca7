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
    /// What the refusal says beyond its message, where it has more to say: for
    /// `COUNTERPARTY_REQUIREMENTS_NOT_MET`, each unmet requirement with what it asks and what
    /// the caller has (`{"min_completed_orders": {"required": 10, "actual": 3}}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}
