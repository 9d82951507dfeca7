//! Wallets: money moved with its ledger row, platform transactions.

use std::sync::LazyLock;

use super::writer::{Failure, Writer, refused, unique_or};
use crate::domain::{ErrorCode, Kopecks};
use crate::store::commit::deferred::LedgerRow;
use crate::store::commit::op::{MoneyMove, NewWalletTransaction};
use crate::store::connection::{Connection, query};
use crate::store::schema::bonus_after;

/// One guarded move: never below zero, never below the unwagered bonus.
static GUARDED_MOVE: LazyLock<String> = LazyLock::new(|| {
    let bonus = bonus_after("", "$7", "$8");
    format!(
        "UPDATE wallets SET available = available + $1, frozen = frozen + $2, \
         deposits_total = deposits_total + $3, wagering_required = wagering_required + $4, \
         wagered = wagered + $5, bonus = {bonus} \
         WHERE user_id = $6 AND available + $1 >= 0 AND frozen + $2 >= 0 \
           AND available + $1 >= {bonus}"
    )
});

impl<C: Connection> Writer<'_, C> {
    /// Applies a move to a wallet and records its ledger row. A move that takes from
    /// `available` (or touches the platform totals) runs now, guarded never to go negative nor
    /// below the unwagered bonus, and is refused with its `refusal`; one that only gives to `available` or releases `frozen`
    /// cannot fail and joins the batch's deferred writes. The ledger row is always deferred.
    pub(super) async fn move_money(&mut self, money: &MoneyMove) -> Result<(), Failure> {
        let delta = &money.delta;
        let cannot_fail = !delta.available.is_negative()
            && delta.deposits_total == Kopecks::ZERO
            && delta.wagering_required == Kopecks::ZERO
            && delta.wagered == Kopecks::ZERO
            && !delta.touches_bonus();
        if cannot_fail {
            let balance = self.deferred.wallets.entry(money.user_id).or_default();
            balance.0 += delta.available;
            balance.1 += delta.frozen;
        } else if self.deferred.group_rows && !delta.touches_bonus() {
            // Grouped moves are summed per wallet: the bonus's floor at zero does not sum, so a
            // bonus or a bet runs alone, now. The sum is guarded above the unwagered bonus.
            self.deferred
                .guarded
                .entry(money.user_id)
                .or_default()
                .add(delta);
        } else {
            self.hot_write_now()?;
            let moved = query(GUARDED_MOVE.as_str())
                .bind(delta.available)
                .bind(delta.frozen)
                .bind(delta.deposits_total)
                .bind(delta.wagering_required)
                .bind(delta.wagered)
                .bind(money.user_id)
                .bind(delta.bonus_spent)
                .bind(delta.bonus)
                .execute(&mut *self.conn)
                .await?;
            if moved == 0 {
                return Err(refused(money.refusal));
            }
        }
        if delta.available != Kopecks::ZERO || delta.frozen != Kopecks::ZERO {
            let row = LedgerRow {
                user_id: money.user_id,
                kind: money.kind,
                d_available: delta.available,
                d_frozen: delta.frozen,
                order_id: self.resolve(money.order),
                ad_id: self.resolve(money.ad),
                tx_id: self.resolve(money.tx),
                created_at: money.now,
            };
            self.deferred.ledger.push(row);
        }
        Ok(())
    }

    pub(super) async fn insert_transaction(
        &mut self,
        transaction: &NewWalletTransaction,
    ) -> Result<(), Failure> {
        let insert = query(
            "INSERT INTO wallet_transactions (user_id, kind, amount, reference, \
             wagering_multiplier, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(transaction.user_id)
        .bind(transaction.kind.as_str())
        .bind(transaction.amount)
        .bind(transaction.reference.clone())
        .bind(transaction.wagering_multiplier)
        .bind(transaction.now)
        .fetch_one(&mut *self.conn)
        .await;
        let id = unique_or(insert, ErrorCode::DuplicateReference)?;
        self.receipt.inserted_ids.push(id);
        Ok(())
    }
}
