//! `Idempotency-Key`: what a keyed request records, and what a retry finds.

use super::time::Millis;

/// A keyed request's key, recorded in the same transaction as the change the request makes, so
/// a crash keeps both or neither.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// Who sent it (`admin`, `user:<id>`): keys are per caller.
    pub principal: String,
    pub key: String,
    /// A hash of the request's method, path and body.
    pub fingerprint: String,
    pub now: Millis,
}

/// A recorded idempotency key: the request's fingerprint and, once known, its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedKey {
    pub fingerprint: String,
    pub status: Option<i64>,
    pub body: Option<String>,
}
