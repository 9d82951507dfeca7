//! The actors that serialise the market's mutations, and the directory that finds them.
//!
//! - [`wallet`]: one per user wallet; checks a seller's prerequisites and commits the changes
//!   that spend from the wallet, one at a time.
//! - [`ad`]: one per open ad; holds capacity for orders being created.
//! - [`order`]: one per active order; serialises the order's life and its payment-window timer.
//! - [`protocol`]: what they say to each other: each kind's messages.
//! - [`context`]: what they share (store, clock, settings, listing, directories).
//! - [`directory`], [`call`], [`idle`]: finding or starting an actor, asking it with bounds, and
//!   letting an idle one stop.
//! - [`events`], [`ended`]: the events a change writes; orders that ended here lately.
//!
//! Actors never fail on a business refusal: refusals travel in replies. An actor's state is a
//! cache of the database, which is the truth.

pub mod ad;
pub mod call;
pub mod context;
pub mod directory;
pub mod ended;
pub mod events;
pub mod idle;
pub mod order;
pub mod protocol;
pub mod wallet;

pub use call::{Named, NoAnswer, ask};
pub use context::Context;
