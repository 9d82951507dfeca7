//! Pure rules of the market: no I/O, no clocks, no actors.
//!
//! Every amount is [`Kopecks`]; time is [`Millis`], Unix milliseconds (`_ms` where a name needs
//! the unit).
//!
//! - [`money`], [`time`], [`ids`]: the units, and each entity's id as a type of its own.
//! - [`user`]: roles, who is calling, a user's public profile.
//! - [`ad`]: a maker's standing offer and the checks a take must pass (§7 steps 2–3).
//! - [`wallet`]: balances, the seller's prerequisites (§7 step 4), platform transactions.
//! - [`order`]: the order's state machine and the escrow each transition moves.
//! - [`desk`]: four eyes on large resolutions: proposed by one operator, approved by another.
//! - [`payment_method`]: a user's saved payment methods, and masked card numbers.
//! - [`track`], [`track_change`]: a trader's 30-day track record, kept as per-day sums, and
//!   what each order transition adds to it.
//! - [`pricing`]: fixed and floating prices, and a floating ad's price over the index.
//! - [`requirements`]: whom a maker trades with, and a taker's standing against it.
//! - [`restriction`]: the platform's self-exclusions and cool-offs of a user.
//! - [`review`]: the rules that hold a new withdrawal for an operator's review.
//! - [`attachment`]: files in an order's chat, their type sniffed from their bytes.
//! - [`chat`], [`event`], [`event_kind`]: an order's messages, the events its changes write, and
//!   what each event says happened.
//! - [`webhook`], [`idempotency`], [`audit`]: what the platform registers, keyed requests,
//!   the audit's findings.
//! - [`validate`]: untrusted input parsed into what the rules accept.
//! - [`error`]: every refusal's stable code.
//! - [`vocabulary`]: the closed sets of words the API speaks, each declared once.

#[macro_use]
pub mod vocabulary;

pub mod ad;
pub mod attachment;
pub mod audit;
pub mod chat;
pub mod desk;
pub mod error;
pub mod event;
pub mod event_kind;
pub mod idempotency;
pub mod ids;
pub mod money;
pub mod order;
pub mod payment_method;
pub mod pricing;
pub mod request;
pub mod requirements;
pub mod restriction;
pub mod review;
pub mod time;
pub mod track;
pub mod track_change;
pub mod user;
pub mod validate;
pub mod wallet;
pub mod webhook;

pub use error::{DomainError, ErrorCode};
pub use ids::{AdId, OrderId, UserId};
pub use money::Kopecks;
pub use time::{Millis, rfc3339};
pub use user::{Caller, Role, mean_rating};
