//! Money: integer kopecks, never a float.

/// An amount of money in kopecks. Never a float.
pub type Kopecks = i64;
