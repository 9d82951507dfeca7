//! The [`Writer`] that applies one commit's ops in order, and what a failed op answers.

use crate::domain::{DomainError, ErrorCode};
use crate::store::commit::deferred::Deferred;
use crate::store::commit::op::{Commit, Op, Receipt, RowRef};
use crate::store::connection::{Connection, DbError};
use crate::store::dialect::Dialect;

/// Why a commit did not apply.
pub(in crate::store::commit) enum Failure {
    /// A guard refused: the change would break a rule. Answered as this error.
    Refused(DomainError),
    Store(DbError),
}

impl From<DbError> for Failure {
    fn from(error: DbError) -> Self {
        Failure::Store(error)
    }
}

pub(super) fn refused(code: ErrorCode) -> Failure {
    Failure::Refused(code.into())
}

/// An insert that a unique constraint may refuse: the violation is the refusal `code`.
pub(super) fn unique_or<T>(outcome: Result<T, DbError>, code: ErrorCode) -> Result<T, Failure> {
    outcome.map_err(|error| match error {
        DbError::Unique(_) => refused(code),
        other => other.into(),
    })
}

/// Applies the ops of one commit: the statements that must run now on the connection, the rest
/// gathered in the batch's deferred writes.
pub(super) struct Writer<'a, C> {
    pub conn: &'a mut C,
    pub dialect: Dialect,
    pub deferred: &'a mut Deferred,
    pub receipt: Receipt,
}

/// Applies `commit` and answers what it produced.
pub(in crate::store::commit) async fn apply(
    conn: &mut impl Connection,
    dialect: Dialect,
    commit: &Commit,
    deferred: &mut Deferred,
) -> Result<Receipt, Failure> {
    let mut writer = Writer {
        conn,
        dialect,
        deferred,
        receipt: Receipt::default(),
    };
    for op in &commit.ops {
        writer.apply(op).await?;
    }
    Ok(writer.receipt)
}

impl<C: Connection> Writer<'_, C> {
    /// Checks that a hot row (a user, ad or wallet) may be written now, with a statement of its
    /// own. In a batch that locks its hot rows late (see `LockSet::late`) it may not: the write
    /// would lock the row out of the one lock order. `LockSet` sends every such commit to lock
    /// early, so this fails only if the two disagree, and the batch then runs carefully.
    pub(super) fn hot_write_now(&self) -> Result<(), Failure> {
        match self.deferred.late_locks {
            Some(_) => Err(Failure::Store(DbError::other(
                "a hot row written before the batch's late locks",
            ))),
            None => Ok(()),
        }
    }

    /// The row `row` names: none, a known id, or the one this commit inserted last.
    pub(super) fn resolve(&self, row: RowRef) -> Option<i64> {
        match row {
            RowRef::None => None,
            RowRef::Id(id) => Some(id),
            RowRef::Inserted => self.receipt.inserted_ids.last().copied(),
        }
    }

    async fn apply(&mut self, op: &Op) -> Result<(), Failure> {
        match op {
            Op::InsertUser(user) => self.insert_user(user).await,
            Op::InsertAd(ad) => self.insert_ad(ad).await,
            Op::UpdateAd(ad) => self.update_ad(ad).await,
            Op::CloseAd { ad_id, now, .. } => self.close_ad(*ad_id, *now).await,
            Op::TakeCapacity {
                ad_id,
                amount,
                terms_version,
            } => self.take_capacity(*ad_id, *amount, *terms_version).await,
            Op::ReturnCapacity(given) => self.return_capacity(given).await,
            Op::InsertOrder(order) => self.insert_order(order).await,
            Op::ClaimOrder { from, order } => self.claim_order(*from, order).await,
            Op::CheckDepositLimit { taker_id, max } => self.deposit_limit(*taker_id, *max).await,
            Op::MoveMoney(money) => self.move_money(money).await,
            // Its row lock is taken with the batch's others (see `LockSet`).
            Op::LockUser { .. } => Ok(()),
            Op::InsertTransaction(transaction) => self.insert_transaction(transaction).await,
            Op::InsertMessage(message) => self.insert_message(message).await,
            Op::InsertAttachment(attachment) => self.insert_attachment(attachment).await,
            Op::AnswerDispute { order_id, at } => self.answer_dispute(*order_id, *at).await,
            Op::SaveSigningSeed { seed, now } => self.save_signing_seed(seed, *now).await,
            Op::InsertRating(rating) => self.insert_rating(rating).await,
            Op::CountCompleted { user_ids } => {
                self.count_completed(*user_ids);
                Ok(())
            }
            Op::Track(change) => {
                self.deferred.add_track(change);
                Ok(())
            }
            Op::Seen(seen) => self.seen(seen).await,
            Op::InsertIndexPrice(index) => self.insert_index_price(index).await,
            Op::Event(event) => {
                self.defer_event(event);
                Ok(())
            }
            Op::InsertWebhook { url, secret, now } => self.insert_webhook(url, secret, *now).await,
            Op::DeleteWebhook { id, now } => self.delete_webhook(*id, *now).await,
            Op::LeaseWebhook { id, until, now } => self.lease_webhook(*id, *until, *now).await,
            Op::WebhookDelivered { id, cursor } => self.webhook_delivered(*id, *cursor).await,
            Op::WebhookFailed(failure) => self.webhook_failed(failure).await,
            Op::EndWebhookLease { id } => self.end_webhook_lease(*id).await,
            Op::Block(block) => self.block(block).await,
            Op::Unblock {
                blocker_id,
                blocked_id,
            } => self.unblock(*blocker_id, *blocked_id).await,
            Op::SavePaymentMethod(saved) => self.save_payment_method(saved).await,
            Op::DeletePaymentMethod { id, user_id, now } => {
                self.delete_payment_method(*id, *user_id, *now).await
            }
            Op::Restrict(restriction) => self.restrict(restriction).await,
            Op::LiftRestrictions { user_id, now } => self.lift_restrictions(*user_id, *now).await,
            Op::RecordIdempotencyKey(key) => self.record_key(key).await,
            Op::RecordIdempotentAnswer { key, status, body } => {
                self.record_answer(key, *status, body).await
            }
            Op::PurgeIdempotencyKeys { before } => self.purge_keys(*before).await,
        }
    }
}
