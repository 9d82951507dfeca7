//! Users: their role on the platform, who is calling, and the figures others see.

use super::ids::UserId;
use super::time::Millis;
use super::track::Track;

vocabulary! {
    /// A user's role on the platform.
    #[derive(serde::Serialize, serde::Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum Role {
        User = "user",
        Operator = "operator",
    }
}

/// Who is calling: a user or an operator, already authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub user_id: UserId,
    pub role: Role,
}

/// A user as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub role: Role,
    pub rating_sum: i64,
    pub ratings_count: i64,
    pub orders_count: i64,
    pub track: Track,
    /// When the account was made.
    pub created_at: Millis,
}

/// A user's public profile: what others see beside their ads and at `GET /users/{id}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    pub id: UserId,
    pub name: String,
    pub rating_sum: i64,
    pub ratings_count: i64,
    pub orders_count: i64,
    pub track: Track,
}

impl Profile {
    /// The mean of the ratings received, one decimal; `None` before any.
    pub fn rating(&self) -> Option<f64> {
        mean_rating(self.rating_sum, self.ratings_count)
    }
}

impl From<&User> for Profile {
    fn from(user: &User) -> Self {
        Self {
            id: user.id,
            name: user.name.clone(),
            rating_sum: user.rating_sum,
            ratings_count: user.ratings_count,
            orders_count: user.orders_count,
            track: user.track.clone(),
        }
    }
}

/// A user's rating as the mean of the ratings received, one decimal; `None` before any.
pub fn mean_rating(sum: i64, count: i64) -> Option<f64> {
    (count > 0).then(|| (sum as f64 / count as f64 * 10.0).round() / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_rating_rounds_to_one_decimal() {
        assert_eq!(mean_rating(0, 0), None);
        assert_eq!(mean_rating(14, 3), Some(4.7));
        assert_eq!(mean_rating(5, 1), Some(5.0));
    }
}
