//! How an ad is priced: a fixed price, or a premium over the platform's index price for its fiat
//! currency, which follows each index update.

use super::error::{DomainError, ErrorCode};
use super::money::Kopecks;
use super::time::Millis;
use super::validate;

vocabulary! {
    /// How an ad's price is set.
    #[derive(Default)]
    pub enum PriceType {
        /// The maker's `price`, until they change it.
        #[default]
        Fixed = "fixed",
        /// The index price of the ad's fiat currency with the ad's `premium_bp` on top.
        Floating = "floating",
    }
}

/// The platform's index price of a fiat currency, as set at `created_at`: what floating ads of
/// that currency price over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexPrice {
    pub id: i64,
    pub fiat_currency: String,
    /// RUB kopecks (of the currency) per USDT.
    pub price: Kopecks,
    pub created_at: Millis,
}

/// The largest premium (or discount) a floating ad may take over the index, in basis points.
pub const MAX_PREMIUM_BP: i64 = 2_000;

/// The price a floating ad with `premium_bp` shows over `index`: `index × (10,000 + premium) /
/// 10,000` kopecks, rounded to the nearest kopeck (halves up), and never below one kopeck.
pub fn floating_price(index: Kopecks, premium_bp: i64) -> Kopecks {
    let scaled = i128::from(index.get()) * i128::from(10_000 + premium_bp);
    let rounded = (scaled + 5_000).div_euclid(10_000);
    Kopecks(i64::try_from(rounded).unwrap_or(i64::MAX).max(1))
}

/// `premium_bp` checked against [`MAX_PREMIUM_BP`].
pub fn premium(premium_bp: i64) -> Result<i64, DomainError> {
    if (-MAX_PREMIUM_BP..=MAX_PREMIUM_BP).contains(&premium_bp) {
        Ok(premium_bp)
    } else {
        Err(DomainError::validation(format!(
            "premium_bp must be between -{MAX_PREMIUM_BP} and {MAX_PREMIUM_BP}"
        )))
    }
}

/// An ad's pricing as a request states it, checked: a fixed ad gives `price` and no premium, a
/// floating one `premium_bp` and no price. Answers the stored price (zero for a floating ad,
/// whose price the index sets) and the premium.
pub fn checked(
    price_type: PriceType,
    price: Option<i64>,
    premium_bp: Option<i64>,
) -> Result<(Kopecks, Option<i64>), DomainError> {
    match (price_type, price, premium_bp) {
        (PriceType::Fixed, Some(price), None) => Ok((validate::amount("price", price)?, None)),
        (PriceType::Fixed, None, _) => Err(refused("a fixed-price ad needs price")),
        (PriceType::Fixed, Some(_), Some(_)) => Err(refused(
            "premium_bp is for floating ads (price_type: floating)",
        )),
        (PriceType::Floating, None, Some(premium_bp)) => {
            Ok((Kopecks::ZERO, Some(premium(premium_bp)?)))
        }
        (PriceType::Floating, None, None) => Err(refused(
            "a floating ad needs premium_bp: its price is the index price with that premium",
        )),
        (PriceType::Floating, Some(_), _) => Err(refused(
            "a floating ad's price follows the index: give premium_bp, not price",
        )),
    }
}

fn refused(message: &str) -> DomainError {
    DomainError::new(ErrorCode::InvalidPricing, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_premium_scales_the_index_rounded_to_the_kopeck() {
        assert_eq!(floating_price(Kopecks(9_000), 0), Kopecks(9_000));
        assert_eq!(floating_price(Kopecks(9_000), 150), Kopecks(9_135));
        assert_eq!(floating_price(Kopecks(9_000), -2_000), Kopecks(7_200));
        // 9,999 × 1.0005 = 10,003.9995: rounds to 10,004; 1 × 0.8 rounds to 1.
        assert_eq!(floating_price(Kopecks(9_999), 5), Kopecks(10_004));
        assert_eq!(floating_price(Kopecks(1), -2_000), Kopecks(1));
        // 10 × 1.0005 = 10.005 rounds down; 100 × 1.005 = 100.5 is a half and rounds up.
        assert_eq!(floating_price(Kopecks(10), 5), Kopecks(10));
        assert_eq!(floating_price(Kopecks(100), 50), Kopecks(101));
    }

    #[test]
    fn a_fixed_ad_gives_a_price_and_a_floating_one_a_premium() {
        use PriceType::*;
        assert_eq!(
            checked(Fixed, Some(9_500), None),
            Ok((Kopecks(9_500), None))
        );
        assert_eq!(
            checked(Floating, None, Some(-150)),
            Ok((Kopecks::ZERO, Some(-150)))
        );
        for (price_type, price, premium_bp) in [
            (Fixed, None, None),
            (Fixed, Some(9_500), Some(0)),
            (Fixed, Some(0), None),
            (Floating, None, None),
            (Floating, Some(9_500), Some(0)),
            (Floating, None, Some(2_001)),
        ] {
            assert!(checked(price_type, price, premium_bp).is_err());
        }
    }

    #[test]
    fn premiums_past_twenty_percent_are_refused() {
        assert!(premium(2_000).is_ok() && premium(-2_000).is_ok());
        assert!(premium(2_001).is_err() && premium(-2_001).is_err());
    }
}
