//! The rules that hold a new withdrawal for an operator's review: what a betting platform must
//! not let through unseen (money in and straight out, one card fed by many players, a new
//! account's large first cash-out). A match never refuses: the order is made, held.

use serde_json::{Map, Value};

use super::money::Kopecks;
use super::order::ReviewRule;
use super::time::Millis;

/// The platform's thresholds; a rule whose threshold is 0 is off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReviewRules {
    /// Hold a withdrawal made within `low_play_window_ms` of the seller's last deposit when less
    /// than this percentage of that deposit was wagered since.
    pub low_play_percent: i64,
    pub low_play_window_ms: i64,
    /// Hold a withdrawal to a card that withdrawals of this many different users (this one
    /// included) reached within `card_window_ms`.
    pub card_users: i64,
    pub card_window_ms: i64,
    /// Hold the first withdrawal of an account younger than `new_account_ms` when it is above
    /// this amount.
    pub new_account_limit: Kopecks,
    pub new_account_ms: Millis,
}

impl ReviewRules {
    /// Whether any rule is on (with none, a withdrawal gathers no facts).
    pub fn any(&self) -> bool {
        self.low_play_percent > 0 || self.card_users > 0 || self.new_account_limit.is_positive()
    }
}

/// What the rules look at, read from the database when a withdrawal is made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReviewFacts {
    /// The seller's last deposit: its amount and when.
    pub last_deposit: Option<(Kopecks, Millis)>,
    /// What the seller bet since that deposit.
    pub wagered_since_deposit: Kopecks,
    /// Users other than the seller whose withdrawals went to the same card within the window.
    pub other_card_users: i64,
    pub account_created_at: Millis,
    /// Withdrawals the seller completed before.
    pub completed_withdrawals: i64,
}

/// The first rule a withdrawal of `amount` at `now` matches, if any.
pub fn judge(
    rules: &ReviewRules,
    facts: &ReviewFacts,
    amount: Kopecks,
    now: Millis,
) -> Option<ReviewRule> {
    if rules.low_play_percent > 0
        && let Some((deposit, at)) = facts.last_deposit
        && now - at <= rules.low_play_window_ms
        && i128::from(facts.wagered_since_deposit.get()) * 100
            < i128::from(rules.low_play_percent) * i128::from(deposit.get())
    {
        return Some(ReviewRule::LowPlayAfterDeposit);
    }
    if rules.card_users > 0 && facts.other_card_users + 1 >= rules.card_users {
        return Some(ReviewRule::SharedCard);
    }
    if rules.new_account_limit.is_positive()
        && now - facts.account_created_at < rules.new_account_ms
        && facts.completed_withdrawals == 0
        && amount > rules.new_account_limit
    {
        return Some(ReviewRule::NewAccountLimit);
    }
    None
}

/// The digits of the card number in a withdrawal's payment details, if it names one: the same
/// card however it was spaced.
pub fn card_key(details: &Map<String, Value>) -> Option<String> {
    let digits: String = details
        .get("card_number")?
        .as_str()?
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    (!digits.is_empty()).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Millis = 3_600_000;
    const NOW: Millis = 100 * HOUR;

    fn rules() -> ReviewRules {
        ReviewRules {
            low_play_percent: 50,
            low_play_window_ms: 24 * HOUR,
            card_users: 3,
            card_window_ms: 30 * 24 * HOUR,
            new_account_limit: Kopecks(1_000_000),
            new_account_ms: 7 * 24 * HOUR,
        }
    }

    fn seasoned() -> ReviewFacts {
        ReviewFacts {
            last_deposit: Some((Kopecks(100_000), NOW - 48 * HOUR)),
            wagered_since_deposit: Kopecks(0),
            other_card_users: 0,
            account_created_at: 0,
            completed_withdrawals: 1,
        }
    }

    #[test]
    fn little_play_within_the_window_after_a_deposit_is_held_at_its_edges() {
        let r = rules();
        let mut facts = seasoned();
        assert_eq!(
            judge(&r, &facts, Kopecks(1), NOW),
            None,
            "the deposit is old"
        );
        facts.last_deposit = Some((Kopecks(100_000), NOW - 24 * HOUR));
        assert_eq!(
            judge(&r, &facts, Kopecks(1), NOW),
            Some(ReviewRule::LowPlayAfterDeposit),
            "at the window's edge"
        );
        facts.wagered_since_deposit = Kopecks(49_999);
        assert_eq!(
            judge(&r, &facts, Kopecks(1), NOW),
            Some(ReviewRule::LowPlayAfterDeposit)
        );
        facts.wagered_since_deposit = Kopecks(50_000);
        assert_eq!(judge(&r, &facts, Kopecks(1), NOW), None, "half was played");
        facts.wagered_since_deposit = Kopecks(0);
        let off = ReviewRules {
            low_play_percent: 0,
            ..r
        };
        assert_eq!(judge(&off, &facts, Kopecks(1), NOW), None);
    }

    #[test]
    fn a_card_of_as_many_users_as_the_rule_names_is_held() {
        let r = rules();
        let mut facts = seasoned();
        facts.other_card_users = 1;
        assert_eq!(judge(&r, &facts, Kopecks(1), NOW), None);
        facts.other_card_users = 2;
        assert_eq!(
            judge(&r, &facts, Kopecks(1), NOW),
            Some(ReviewRule::SharedCard)
        );
    }

    #[test]
    fn a_new_accounts_first_large_withdrawal_is_held() {
        let r = rules();
        let mut facts = seasoned();
        facts.completed_withdrawals = 0;
        facts.account_created_at = NOW - 7 * 24 * HOUR + 1;
        assert_eq!(
            judge(&r, &facts, Kopecks(1_000_000), NOW),
            None,
            "at the limit"
        );
        assert_eq!(
            judge(&r, &facts, Kopecks(1_000_001), NOW),
            Some(ReviewRule::NewAccountLimit)
        );
        facts.account_created_at = NOW - 7 * 24 * HOUR;
        assert_eq!(
            judge(&r, &facts, Kopecks(1_000_001), NOW),
            None,
            "a week old"
        );
        facts.account_created_at = NOW;
        facts.completed_withdrawals = 1;
        assert_eq!(
            judge(&r, &facts, Kopecks(1_000_001), NOW),
            None,
            "not the first"
        );
    }

    #[test]
    fn a_card_is_known_by_its_digits() {
        let details = |n: &str| {
            let mut map = Map::new();
            map.insert("card_number".into(), n.into());
            map
        };
        assert_eq!(
            card_key(&details("2200 1234-5678 9012")),
            card_key(&details("2200123456789012"))
        );
        assert_eq!(card_key(&Map::new()), None);
    }
}
