//! A user's wallet and the prerequisites of selling from it (§7, step 4).

use super::error::ErrorCode;
use super::ids::UserId;
use super::money::Kopecks;
use super::time::Millis;

/// A taker holds at most this many active deposit orders (§7).
pub const MAX_ACTIVE_DEPOSIT_ORDERS: i64 = 3;

/// The largest wagering multiplier a bonus may carry.
pub const MAX_WAGERING_MULTIPLIER: i64 = 100;

/// The wagering multiplier of a bonus when the platform does not name one.
pub const DEFAULT_WAGERING_MULTIPLIER: i64 = 5;

/// A wallet as committed, plus the counts of active orders the rules need.
///
/// `bonus` is the part of `available` that is bonus money not yet wagered: a bonus adds its
/// amount, a bet spends it first (then real money), and nothing else touches it. It never
/// exceeds `available` (the database refuses a move that would make it), so no escrow and no
/// sell ad's reserve ever holds unwagered bonus: what may leave is [`Wallet::withdrawable`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wallet {
    pub available: Kopecks,
    pub frozen: Kopecks,
    pub deposits_total: Kopecks,
    pub wagering_required: Kopecks,
    pub wagered: Kopecks,
    pub bonus: Kopecks,
    /// Active withdrawal orders where this user is the seller.
    pub active_withdrawals: i64,
    /// Active deposit orders this user took.
    pub active_deposits: i64,
}

/// A committed change to a wallet; applying it keeps the cache equal to the store.
///
/// The unwagered bonus first loses `bonus_spent` (down to zero, never below), then gains
/// `bonus`: the store writes the same rule in SQL, so it holds whatever the cache missed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WalletDelta {
    pub available: Kopecks,
    pub frozen: Kopecks,
    pub deposits_total: Kopecks,
    pub wagering_required: Kopecks,
    pub wagered: Kopecks,
    pub bonus: Kopecks,
    pub bonus_spent: Kopecks,
    pub active_withdrawals: i64,
    pub active_deposits: i64,
}

impl WalletDelta {
    /// Escrow frozen for an order or a sell ad: available → frozen.
    pub fn freeze(amount: Kopecks) -> Self {
        Self {
            available: -amount,
            frozen: amount,
            ..Self::default()
        }
    }

    /// Escrow voided back to the seller: frozen → available.
    pub fn unfreeze(amount: Kopecks) -> Self {
        Self {
            available: amount,
            frozen: -amount,
            ..Self::default()
        }
    }

    pub fn credit(amount: Kopecks) -> Self {
        Self {
            available: amount,
            ..Self::default()
        }
    }

    /// Adds `other` to this delta, field by field.
    pub fn add(&mut self, other: &WalletDelta) {
        self.available += other.available;
        self.frozen += other.frozen;
        self.deposits_total += other.deposits_total;
        self.wagering_required += other.wagering_required;
        self.wagered += other.wagered;
        self.bonus += other.bonus;
        self.bonus_spent += other.bonus_spent;
        self.active_withdrawals += other.active_withdrawals;
        self.active_deposits += other.active_deposits;
    }

    /// Whether the delta changes the unwagered bonus (a bonus or a bet).
    pub fn touches_bonus(&self) -> bool {
        self.bonus != Kopecks::ZERO || self.bonus_spent != Kopecks::ZERO
    }

    pub fn debit_frozen(amount: Kopecks) -> Self {
        Self {
            frozen: -amount,
            ..Self::default()
        }
    }
}

vocabulary! {
    /// A platform transaction on a wallet (§6 admin transactions).
    pub enum TransactionKind {
        Deposit = "deposit",
        Bonus = "bonus",
        Bet = "bet",
        Win = "win",
    }
}

impl TransactionKind {
    /// What the transaction does to the wallet.
    pub fn delta(self, amount: Kopecks, wagering_multiplier: i64) -> WalletDelta {
        match self {
            Self::Deposit => WalletDelta {
                available: amount,
                deposits_total: amount,
                ..WalletDelta::default()
            },
            Self::Bonus => WalletDelta {
                available: amount,
                wagering_required: Kopecks(amount.get().saturating_mul(wagering_multiplier)),
                bonus: amount,
                ..WalletDelta::default()
            },
            Self::Bet => WalletDelta {
                available: -amount,
                wagered: amount,
                bonus_spent: amount,
                ..WalletDelta::default()
            },
            Self::Win => WalletDelta::credit(amount),
        }
    }
}

impl Wallet {
    /// Whether `delta` leaves every balance and count of this wallet at zero or more (a cache
    /// that missed another node's change may not be able to take this node's next one).
    pub fn can_apply(&self, delta: &WalletDelta) -> bool {
        let mut after = *self;
        after.apply_unchecked(delta);
        !after.available.is_negative()
            && !after.frozen.is_negative()
            && after.bonus <= after.available
            && self.active_withdrawals + delta.active_withdrawals >= 0
            && self.active_deposits + delta.active_deposits >= 0
    }

    pub fn apply(&mut self, delta: &WalletDelta) {
        self.apply_unchecked(delta);
        debug_assert!(
            !self.available.is_negative()
                && !self.frozen.is_negative()
                && self.bonus <= self.available,
            "wallet went negative or below its unwagered bonus: {self:?}"
        );
    }

    fn apply_unchecked(&mut self, delta: &WalletDelta) {
        self.available += delta.available;
        self.frozen += delta.frozen;
        self.deposits_total += delta.deposits_total;
        self.wagering_required += delta.wagering_required;
        self.wagered += delta.wagered;
        self.bonus = (self.bonus - delta.bonus_spent).max(Kopecks::ZERO) + delta.bonus;
        self.active_withdrawals += delta.active_withdrawals;
        self.active_deposits += delta.active_deposits;
    }

    /// What may leave the wallet (as a withdrawal's escrow or a sell ad's reserve): the
    /// available balance less its unwagered bonus.
    pub fn withdrawable(&self) -> Kopecks {
        (self.available - self.bonus).max(Kopecks::ZERO)
    }

    /// The prerequisites of selling `amount` from this wallet (a withdrawal or a sell ad).
    pub fn check_seller(&self, amount: Kopecks, min_deposit: Kopecks) -> Result<(), ErrorCode> {
        self.check_eligible(min_deposit)?;
        self.check_covers(amount)
    }

    /// §7 step 4 for a withdrawal, in its order.
    pub fn check_withdrawal(&self, amount: Kopecks, min_deposit: Kopecks) -> Result<(), ErrorCode> {
        self.check_eligible(min_deposit)?;
        if self.active_withdrawals > 0 {
            return Err(ErrorCode::ActiveWithdrawOrderExists);
        }
        self.check_covers(amount)
    }

    /// §7 step 4 for a deposit taker.
    pub fn check_deposit_taker(&self) -> Result<(), ErrorCode> {
        if self.active_deposits >= MAX_ACTIVE_DEPOSIT_ORDERS {
            return Err(ErrorCode::ActiveOrderLimit);
        }
        Ok(())
    }

    /// Whether a platform transaction may apply (only a bet can fail).
    pub fn check_transaction(
        &self,
        kind: TransactionKind,
        amount: Kopecks,
    ) -> Result<(), ErrorCode> {
        if kind == TransactionKind::Bet && self.available < amount {
            return Err(ErrorCode::InsufficientBalance);
        }
        Ok(())
    }

    fn check_eligible(&self, min_deposit: Kopecks) -> Result<(), ErrorCode> {
        if self.deposits_total < min_deposit {
            return Err(ErrorCode::MinDepositRequired);
        }
        if self.wagered < self.wagering_required {
            return Err(ErrorCode::WageringRequirementNotMet);
        }
        Ok(())
    }

    fn check_covers(&self, amount: Kopecks) -> Result<(), ErrorCode> {
        if self.available < amount {
            return Err(ErrorCode::SellerInsufficientBalance);
        }
        if self.withdrawable() < amount {
            return Err(ErrorCode::BonusFundsNotWithdrawable);
        }
        Ok(())
    }
}

/// Why a ledger row moved a wallet's balances: a platform transaction, or a step of escrow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerKind {
    Deposit,
    Bonus,
    Bet,
    Win,
    /// A withdrawal's escrow leaves the seller's available balance.
    EscrowFreeze,
    /// A completed order's escrow leaves the seller's frozen balance…
    EscrowRelease,
    /// …and reaches the buyer's available balance.
    EscrowReceive,
    /// A cancelled order's escrow goes back to the seller (or a closed sell ad's maker).
    EscrowRefund,
    /// A sell ad's total is frozen when it is posted.
    AdReserve,
    /// A closed sell ad's unsold reserve is unfrozen.
    AdUnreserve,
}

impl LedgerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deposit => "deposit",
            Self::Bonus => "bonus",
            Self::Bet => "bet",
            Self::Win => "win",
            Self::EscrowFreeze => "escrow_freeze",
            Self::EscrowRelease => "escrow_release",
            Self::EscrowReceive => "escrow_receive",
            Self::EscrowRefund => "escrow_refund",
            Self::AdReserve => "ad_reserve",
            Self::AdUnreserve => "ad_unreserve",
        }
    }
}

impl From<TransactionKind> for LedgerKind {
    fn from(kind: TransactionKind) -> Self {
        match kind {
            TransactionKind::Deposit => Self::Deposit,
            TransactionKind::Bonus => Self::Bonus,
            TransactionKind::Bet => Self::Bet,
            TransactionKind::Win => Self::Win,
        }
    }
}

/// A platform transaction as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    pub id: i64,
    pub user_id: UserId,
    pub kind: TransactionKind,
    pub amount: Kopecks,
    pub reference: String,
    pub wagering_multiplier: i64,
    pub created_at: Millis,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn funded() -> Wallet {
        Wallet {
            available: Kopecks(500_000),
            deposits_total: Kopecks(500_000),
            ..Wallet::default()
        }
    }

    #[test]
    fn withdrawal_checks_run_in_the_order_of_the_spec() {
        let broke = Wallet {
            wagering_required: Kopecks(10),
            active_withdrawals: 1,
            ..Wallet::default()
        };
        assert_eq!(
            broke.check_withdrawal(Kopecks(1), Kopecks(100_000)),
            Err(ErrorCode::MinDepositRequired)
        );
        let unwagered = Wallet {
            deposits_total: Kopecks(100_000),
            ..broke
        };
        assert_eq!(
            unwagered.check_withdrawal(Kopecks(1), Kopecks(100_000)),
            Err(ErrorCode::WageringRequirementNotMet)
        );
        let busy = Wallet {
            wagered: Kopecks(10),
            ..unwagered
        };
        assert_eq!(
            busy.check_withdrawal(Kopecks(1), Kopecks(100_000)),
            Err(ErrorCode::ActiveWithdrawOrderExists)
        );
        let idle = Wallet {
            active_withdrawals: 0,
            ..busy
        };
        assert_eq!(
            idle.check_withdrawal(Kopecks(1), Kopecks(100_000)),
            Err(ErrorCode::SellerInsufficientBalance)
        );
        assert_eq!(
            funded().check_withdrawal(Kopecks(500_000), Kopecks(100_000)),
            Ok(())
        );
    }

    #[test]
    fn deposit_takers_hold_at_most_three_active_orders() {
        let mut wallet = Wallet::default();
        for _ in 0..MAX_ACTIVE_DEPOSIT_ORDERS {
            assert_eq!(wallet.check_deposit_taker(), Ok(()));
            wallet.active_deposits += 1;
        }
        assert_eq!(
            wallet.check_deposit_taker(),
            Err(ErrorCode::ActiveOrderLimit)
        );
    }

    #[test]
    fn transactions_move_the_right_totals() {
        let mut wallet = Wallet::default();
        wallet.apply(&TransactionKind::Deposit.delta(Kopecks(1000), 5));
        wallet.apply(&TransactionKind::Bonus.delta(Kopecks(100), 5));
        wallet.apply(&TransactionKind::Bet.delta(Kopecks(300), 5));
        wallet.apply(&TransactionKind::Win.delta(Kopecks(50), 5));
        assert_eq!(wallet.available, Kopecks(850));
        assert_eq!(wallet.deposits_total, Kopecks(1000));
        assert_eq!(wallet.wagering_required, Kopecks(500));
        assert_eq!(wallet.wagered, Kopecks(300));
        assert_eq!(
            wallet.check_transaction(TransactionKind::Bet, Kopecks(851)),
            Err(ErrorCode::InsufficientBalance)
        );
    }

    #[test]
    fn bets_spend_unwagered_bonus_first_and_only_real_money_is_withdrawable() {
        let mut wallet = funded();
        wallet.apply(&TransactionKind::Bonus.delta(Kopecks(100_000), 0));
        assert_eq!(wallet.bonus, Kopecks(100_000));
        assert_eq!(wallet.withdrawable(), Kopecks(500_000));
        assert_eq!(
            wallet.check_withdrawal(Kopecks(500_001), Kopecks(100_000)),
            Err(ErrorCode::BonusFundsNotWithdrawable)
        );
        assert_eq!(
            wallet.check_withdrawal(Kopecks(600_001), Kopecks(100_000)),
            Err(ErrorCode::SellerInsufficientBalance)
        );
        // A bet takes the bonus first: 60,000 of it is now at stake, 40,000 left unwagered.
        wallet.apply(&TransactionKind::Bet.delta(Kopecks(60_000), 5));
        assert_eq!(
            (wallet.available, wallet.bonus, wallet.withdrawable()),
            (Kopecks(540_000), Kopecks(40_000), Kopecks(500_000))
        );
        // A win is real money; a bet larger than the bonus spends it all, then real money.
        wallet.apply(&TransactionKind::Win.delta(Kopecks(10_000), 5));
        wallet.apply(&TransactionKind::Bet.delta(Kopecks(50_000), 5));
        assert_eq!(
            (wallet.available, wallet.bonus, wallet.withdrawable()),
            (Kopecks(500_000), Kopecks(0), Kopecks(500_000))
        );
        assert_eq!(
            wallet.check_seller(Kopecks(500_000), Kopecks(100_000)),
            Ok(())
        );
    }

    #[test]
    fn no_move_may_take_the_balance_below_the_unwagered_bonus() {
        let mut wallet = funded();
        wallet.apply(&TransactionKind::Bonus.delta(Kopecks(100_000), 5));
        assert!(wallet.can_apply(&WalletDelta::freeze(Kopecks(500_000))));
        assert!(!wallet.can_apply(&WalletDelta::freeze(Kopecks(500_001))));
        assert!(wallet.can_apply(&TransactionKind::Bet.delta(Kopecks(600_000), 5)));
    }

    #[test]
    fn bonuses_and_bets_in_turn_leave_what_was_not_yet_staked() {
        let transactions = [
            (TransactionKind::Deposit, Kopecks(1_000)),
            (TransactionKind::Bonus, Kopecks(300)),
            (TransactionKind::Bet, Kopecks(100)),
            (TransactionKind::Win, Kopecks(900)),
            (TransactionKind::Bonus, Kopecks(50)),
            (TransactionKind::Bet, Kopecks(500)),
            (TransactionKind::Bonus, Kopecks(70)),
        ];
        let mut wallet = Wallet::default();
        for (kind, amount) in transactions {
            wallet.apply(&kind.delta(amount, 5));
        }
        // 300 − 100 = 200; +50 = 250; the 500 bet spends all 250; then the last 70 arrives.
        assert_eq!(wallet.bonus, Kopecks(70));
        assert_eq!(wallet.withdrawable(), wallet.available - Kopecks(70));
    }

    #[test]
    fn freezing_and_unfreezing_conserve_the_balance() {
        let mut wallet = funded();
        wallet.apply(&WalletDelta::freeze(Kopecks(200_000)));
        assert_eq!(
            (wallet.available, wallet.frozen),
            (Kopecks(300_000), Kopecks(200_000))
        );
        wallet.apply(&WalletDelta::unfreeze(Kopecks(200_000)));
        assert_eq!(
            (wallet.available, wallet.frozen),
            (Kopecks(500_000), Kopecks(0))
        );
    }
}
