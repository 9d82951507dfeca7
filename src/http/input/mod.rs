//! Request input as the OpenAPI document describes it. Each type refuses what its schema does
//! not allow and writes that schema from the same constants (`domain::validate`, `config`), so
//! the document and the service cannot disagree: a request the document allows is never
//! refused as malformed (`400`), and one it forbids never gets through.
//!
//! Fields of these types carry `#[schema(inline)]` (or `#[param(inline)]`): their schemas are
//! small and differ by their bounds, so they are written where they are used.
//!
//! - [`numbers`]: whole numbers within bounds, in bodies and in query strings.
//! - [`text`]: text, words of a vocabulary, and strings a pattern describes.
//! - [`payment`]: payment methods and payment details.
//! - [`fields`]: the API's fields, by what they hold.

pub mod fields;
mod numbers;
mod payment;
mod text;

pub use numbers::{Int, IntParam};
pub use payment::{DetailsPerMethod, PaymentDetails, PaymentMethods};
pub use text::{Choice, FiatCurrency, Instant, PaymentMethod, Secret, Text, WebhookUrl};
