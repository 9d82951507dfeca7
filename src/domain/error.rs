//! The stable machine codes of every refusal (SPEC.md §4).

use std::fmt;

/// A refusal's stable code. The HTTP layer maps each to its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    ValidationError,
    Unauthorized,
    Forbidden,
    NotFound,
    AdNotActive,
    ActiveWithdrawOrderExists,
    ActiveOrderLimit,
    InvalidOrderStatus,
    AlreadyRated,
    IdempotencyKeyReused,
    DuplicateReference,
    PayloadTooLarge,
    OwnAd,
    MinDepositRequired,
    WageringRequirementNotMet,
    SellerInsufficientBalance,
    InsufficientBalance,
    AmountTooLow,
    AmountTooHigh,
    AmountExceedsAvailable,
    InvalidPaymentMethod,
    /// The caller blocked the counterparty or was blocked by them.
    UserBlocked,
    /// The taker cancelled too many pending orders lately and may not take for a while.
    TakingPaused,
    /// The path exists, the method does not (the answer's `Allow` lists those that do).
    MethodNotAllowed,
    /// An ad's `min_amount` above its `max_amount` or its `total_amount`.
    InvalidAmountLimits,
    /// Payment details missing where the trade needs them: a sell ad's, for each of its
    /// methods; the taker's, to sell to a buy ad.
    PaymentDetailsRequired,
    /// A user blocking themselves.
    CannotBlockSelf,
    /// The balance covers the amount only with bonus money not yet wagered.
    BonusFundsNotWithdrawable,
    /// The platform restricted the account (self-exclusion, cool-off): no taking, no posting.
    AccountRestricted,
    /// A user already keeps the most saved payment methods allowed.
    PaymentMethodsLimit,
    /// The taker falls short of the ad's counterparty requirements (`details` names which).
    CounterpartyRequirementsNotMet,
    /// An ad's pricing without what its type needs: a fixed ad's `price`, a floating ad's
    /// `premium_bp` (and not the other).
    InvalidPricing,
    /// A restriction's `until` that is not a real instant after now (nor within 100 years).
    InvalidRestrictionEnd,
    /// An attachment that is not PNG, JPEG or PDF by its bytes (or whose bytes contradict its
    /// `Content-Type`).
    UnsupportedMediaType,
    /// The order keeps the most attachments allowed already.
    AttachmentsLimit,
    RateLimited,
    Overloaded,
    /// A fault of ours (a bug or a store failure). Never caused by input.
    Internal,
}

impl ErrorCode {
    /// A refusal of a wallet's guarded update: the balance (or what of it may leave) is short.
    pub fn is_money_refusal(self) -> bool {
        matches!(
            self,
            Self::SellerInsufficientBalance
                | Self::InsufficientBalance
                | Self::BonusFundsNotWithdrawable
        )
    }

    /// Every code, in the order of the table of SPEC.md §4 (and the service's own after it).
    pub const ALL: [ErrorCode; 38] = [
        Self::ValidationError,
        Self::Unauthorized,
        Self::Forbidden,
        Self::NotFound,
        Self::AdNotActive,
        Self::ActiveWithdrawOrderExists,
        Self::ActiveOrderLimit,
        Self::InvalidOrderStatus,
        Self::AlreadyRated,
        Self::IdempotencyKeyReused,
        Self::DuplicateReference,
        Self::PayloadTooLarge,
        Self::OwnAd,
        Self::MinDepositRequired,
        Self::WageringRequirementNotMet,
        Self::SellerInsufficientBalance,
        Self::InsufficientBalance,
        Self::AmountTooLow,
        Self::AmountTooHigh,
        Self::AmountExceedsAvailable,
        Self::InvalidPaymentMethod,
        Self::UserBlocked,
        Self::TakingPaused,
        Self::MethodNotAllowed,
        Self::InvalidAmountLimits,
        Self::PaymentDetailsRequired,
        Self::CannotBlockSelf,
        Self::BonusFundsNotWithdrawable,
        Self::AccountRestricted,
        Self::InvalidRestrictionEnd,
        Self::PaymentMethodsLimit,
        Self::CounterpartyRequirementsNotMet,
        Self::InvalidPricing,
        Self::UnsupportedMediaType,
        Self::AttachmentsLimit,
        Self::RateLimited,
        Self::Overloaded,
        Self::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            ValidationError => "VALIDATION_ERROR",
            Unauthorized => "UNAUTHORIZED",
            Forbidden => "FORBIDDEN",
            NotFound => "NOT_FOUND",
            AdNotActive => "AD_NOT_ACTIVE",
            ActiveWithdrawOrderExists => "ACTIVE_WITHDRAW_ORDER_EXISTS",
            ActiveOrderLimit => "ACTIVE_ORDER_LIMIT",
            InvalidOrderStatus => "INVALID_ORDER_STATUS",
            AlreadyRated => "ALREADY_RATED",
            IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            DuplicateReference => "DUPLICATE_REFERENCE",
            PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            OwnAd => "OWN_AD",
            MinDepositRequired => "MIN_DEPOSIT_REQUIRED",
            WageringRequirementNotMet => "WAGERING_REQUIREMENT_NOT_MET",
            SellerInsufficientBalance => "SELLER_INSUFFICIENT_BALANCE",
            InsufficientBalance => "INSUFFICIENT_BALANCE",
            AmountTooLow => "AMOUNT_TOO_LOW",
            AmountTooHigh => "AMOUNT_TOO_HIGH",
            AmountExceedsAvailable => "AMOUNT_EXCEEDS_AVAILABLE",
            InvalidPaymentMethod => "INVALID_PAYMENT_METHOD",
            UserBlocked => "USER_BLOCKED",
            TakingPaused => "TAKING_PAUSED",
            MethodNotAllowed => "METHOD_NOT_ALLOWED",
            InvalidAmountLimits => "INVALID_AMOUNT_LIMITS",
            PaymentDetailsRequired => "PAYMENT_DETAILS_REQUIRED",
            CannotBlockSelf => "CANNOT_BLOCK_SELF",
            BonusFundsNotWithdrawable => "BONUS_FUNDS_NOT_WITHDRAWABLE",
            AccountRestricted => "ACCOUNT_RESTRICTED",
            InvalidRestrictionEnd => "INVALID_RESTRICTION_END",
            UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            AttachmentsLimit => "ATTACHMENTS_LIMIT",
            PaymentMethodsLimit => "PAYMENT_METHODS_LIMIT",
            CounterpartyRequirementsNotMet => "COUNTERPARTY_REQUIREMENTS_NOT_MET",
            InvalidPricing => "INVALID_PRICING",
            RateLimited => "RATE_LIMITED",
            Overloaded => "OVERLOADED",
            Internal => "INTERNAL_ERROR",
        }
    }

    /// The message shown when the refusal has nothing more specific to say.
    pub fn default_message(self) -> &'static str {
        use ErrorCode::*;
        match self {
            ValidationError => "The request is not valid",
            Unauthorized => "A valid bearer token is required",
            Forbidden => "You may not do this",
            NotFound => "Not found",
            AdNotActive => "The ad is no longer active",
            ActiveWithdrawOrderExists => "You already have an active withdrawal order",
            ActiveOrderLimit => "You already hold the most active deposit orders allowed",
            InvalidOrderStatus => "The order's status does not allow this",
            AlreadyRated => "You have already rated this order",
            IdempotencyKeyReused => "The idempotency key was used with another request",
            DuplicateReference => "The reference was used with another transaction",
            PayloadTooLarge => "The request body is too large",
            OwnAd => "You cannot create an order for your own ad",
            MinDepositRequired => "Minimum 1,000 RUB deposit required before P2P withdrawal",
            WageringRequirementNotMet => "Wagering requirement not met",
            SellerInsufficientBalance => "Your balance is insufficient to cover the escrow",
            InsufficientBalance => "The balance is insufficient",
            AmountTooLow => "Amount is below the ad's minimum",
            AmountTooHigh => "Amount exceeds the ad's maximum",
            AmountExceedsAvailable => "Amount exceeds remaining available on the ad",
            InvalidPaymentMethod => "Selected payment method not accepted by this ad",
            UserBlocked => "You and this user do not trade with each other",
            TakingPaused => "You cancelled too many orders lately; taking is paused",
            MethodNotAllowed => "The path does not serve this method",
            InvalidAmountLimits => "min_amount must not exceed max_amount nor total_amount",
            PaymentDetailsRequired => "Payment details are required for this trade",
            CannotBlockSelf => "You cannot block yourself",
            AccountRestricted => "Your account is restricted: you may not take or post ads",
            InvalidRestrictionEnd => "until must be an instant in the future",
            UnsupportedMediaType => "an attachment must be a PNG, JPEG or PDF file",
            AttachmentsLimit => "the order keeps the most attachments allowed (20)",
            PaymentMethodsLimit => "You keep the most saved payment methods allowed (20)",
            CounterpartyRequirementsNotMet => "You do not meet this ad's counterparty requirements",
            InvalidPricing => {
                "A fixed-price ad gives price, a floating one premium_bp, and not the other"
            }
            BonusFundsNotWithdrawable => {
                "Bonus money not yet wagered cannot leave the platform: the amount exceeds your withdrawable balance"
            }
            RateLimited => "Too many requests",
            Overloaded => "The service is overloaded, retry later",
            Internal => "Internal error",
        }
    }
}

/// A business refusal: a stable code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainError {
    pub code: ErrorCode,
    pub message: String,
    /// For a refusal that passes with time: how many seconds to wait (`Retry-After`).
    pub retry_after_secs: Option<u64>,
    /// The refusal may lift within milliseconds: capacity is held by takes still committing,
    /// which may fail and give it back. Never leaves the service.
    pub held_in_flight: bool,
    /// What the refusal says beyond its message, as `error.details` (the unmet requirements).
    pub details: Option<serde_json::Value>,
}

impl DomainError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after_secs: None,
            held_in_flight: false,
            details: None,
        }
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs.max(1));
        self
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationError, message)
    }
}

impl From<ErrorCode> for DomainError {
    fn from(code: ErrorCode) -> Self {
        Self::new(code, code.default_message())
    }
}

impl fmt::Display for DomainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for DomainError {}
