//! The audit's findings: every invariant of SPEC.md §8, checked against the database.

use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Violation {
    /// The number of the invariant in SPEC.md §8.
    pub invariant: u8,
    pub subject: String,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq, utoipa::ToSchema)]
pub struct Totals {
    pub users: i64,
    pub available: i64,
    pub frozen: i64,
    pub deposits: i64,
    pub bonuses: i64,
    pub wins: i64,
    pub bets: i64,
    pub escrow_in_orders: i64,
    pub sell_ad_reserves: i64,
    pub active_orders: i64,
    pub open_disputes: i64,
    pub ledger_entries: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Report {
    pub ok: bool,
    pub violations: Vec<Violation>,
    pub totals: Totals,
}
