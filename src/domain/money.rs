//! Money: integer kopecks, never a float.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

/// An amount of money in kopecks (300000 is 3,000 RUB). Never a float; signed, because a change
/// of a balance may take as well as give.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct Kopecks(pub i64);

impl Kopecks {
    pub const ZERO: Kopecks = Kopecks(0);

    pub fn get(self) -> i64 {
        self.0
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }
}

impl From<i64> for Kopecks {
    fn from(kopecks: i64) -> Self {
        Self(kopecks)
    }
}

impl From<Kopecks> for i64 {
    fn from(amount: Kopecks) -> Self {
        amount.0
    }
}

impl fmt::Display for Kopecks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Add for Kopecks {
    type Output = Kopecks;
    fn add(self, other: Kopecks) -> Kopecks {
        Kopecks(self.0 + other.0)
    }
}

impl Sub for Kopecks {
    type Output = Kopecks;
    fn sub(self, other: Kopecks) -> Kopecks {
        Kopecks(self.0 - other.0)
    }
}

impl Neg for Kopecks {
    type Output = Kopecks;
    fn neg(self) -> Kopecks {
        Kopecks(-self.0)
    }
}

impl AddAssign for Kopecks {
    fn add_assign(&mut self, other: Kopecks) {
        self.0 += other.0;
    }
}

impl SubAssign for Kopecks {
    fn sub_assign(&mut self, other: Kopecks) {
        self.0 -= other.0;
    }
}

impl Sum for Kopecks {
    fn sum<I: Iterator<Item = Kopecks>>(amounts: I) -> Kopecks {
        Kopecks(amounts.map(|amount| amount.0).sum())
    }
}
