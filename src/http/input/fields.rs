//! The API's fields, by what they hold: each a bounded input type with the bounds of its rule.

use super::{Choice, Int, IntParam, Text};
use crate::config::{MAX_PAGE_LIMIT, MAX_RELEASE_WINDOW_SECONDS};
use crate::domain::Role;
use crate::domain::ad::AdType;
use crate::domain::order::{OrderStatus, Resolution, Side};
use crate::domain::pricing::{MAX_PREMIUM_BP, PriceType};
use crate::domain::restriction::RestrictionKind;
use crate::domain::validate::*;
use crate::domain::wallet::{MAX_WAGERING_MULTIPLIER, TransactionKind};
use crate::market::SortBy;

// Named so the OpenAPI derive sees one type (it would take `Choice<AdType>` for a generic
// wrapper of a schema of its own).
pub type AdTypeChoice = Choice<AdType>;
pub type SortByChoice = Choice<SortBy>;
pub type OrderStatusChoice = Choice<OrderStatus>;
pub type SideChoice = Choice<Side>;
pub type ResolutionChoice = Choice<Resolution>;
pub type RoleChoice = Choice<Role>;
pub type TransactionKindChoice = Choice<TransactionKind>;
pub type RestrictionKindChoice = Choice<RestrictionKind>;
pub type PriceTypeChoice = Choice<PriceType>;

/// Kopecks: a price or an amount.
pub type Amount = Int<1, MAX_AMOUNT_KOPECKS>;
pub type AmountParam = IntParam<1, MAX_AMOUNT_KOPECKS>;
/// An id in a body (ids are positive).
pub type IdField = Int<1, { i64::MAX }>;
pub type PageLimit = IntParam<1, MAX_PAGE_LIMIT>;
pub type PageOffset = IntParam<0, { i64::MAX }>;
/// Messages after this id; 0 for all.
pub type AfterId = IntParam<0, { i64::MAX }>;
/// The payment window; the document states the running service's smallest.
pub type WindowSeconds = Int<1, MAX_PAYMENT_WINDOW_SECONDS>;
/// The release window; the document states the running service's bounds.
pub type ReleaseWindowSeconds = Int<1, MAX_RELEASE_WINDOW_SECONDS>;
/// Counterparty requirements' bounds.
pub type CompletedOrdersBound = Int<0, { crate::domain::requirements::MAX_COMPLETED_ORDERS }>;
pub type AccountAgeBound = Int<0, { crate::domain::requirements::MAX_ACCOUNT_AGE_DAYS }>;
pub type CompletionRateBound = Int<0, { crate::domain::requirements::MAX_COMPLETION_RATE_BP }>;
/// A floating ad's premium over the index, in basis points.
pub type PremiumBp = Int<{ -MAX_PREMIUM_BP }, MAX_PREMIUM_BP>;
pub type WageringMultiplier = Int<0, MAX_WAGERING_MULTIPLIER>;
pub type Stars = Int<MIN_RATING, MAX_RATING>;
pub type Name = Text<1, MAX_NAME_CHARS>;
pub type Message = Text<1, MAX_MESSAGE_CHARS>;
pub type Terms = Text<0, MAX_TERMS_CHARS>;
pub type Reason = Text<0, MAX_REASON_CHARS>;
pub type Comment = Text<0, MAX_MESSAGE_CHARS>;
pub type Reference = Text<1, MAX_REFERENCE_CHARS>;
pub type Label = Text<0, { crate::domain::payment_method::MAX_LABEL_CHARS }>;
