//! The market's read side: ads as their actors last published them, and their makers' public
//! profiles, so listing ads never touches the database.
//!
//! - [`model`]: the [`ReadModel`]: what ad actors publish, what a listing reads.
//! - [`index`]: each market's book of active ads in each sort order, rebuilt only when an ad
//!   appears, leaves or changes a listed field.
//! - [`capacities`]: the ads' capacities, side by side in chunks that never move, changed in
//!   place as orders take and return capacity.
//! - [`listed`]: an ad as the listing holds it and as a page shows it.
//! - [`query`]: a listing query and its sort orders.

mod capacities;
mod index;
mod listed;
mod model;
mod query;

pub use listed::{Shown, render_page};
pub use model::ReadModel;
pub use query::{AdQuery, SortBy, Viewer};
