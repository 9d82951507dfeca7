//! The rows a PostgreSQL batch locks before it changes any.

use super::op::{CapacityReturn, Commit, MoneyMove, Op};
use super::queue::Job;
use super::rows::{ROWS, with_rows};
use crate::domain::UserId;
use crate::store::connection::{Connection, DbError, query};
use crate::store::dialect::Dialect;

/// Rows a batch locks before it changes any, always in the same order (ads, wallets, orders,
/// users; each by ascending id), so two nodes' batches can never wait for each other in a cycle.
/// The lock is `FOR NO KEY UPDATE`, what PostgreSQL's own non-key updates take: it excludes the
/// other writers of the row but not the `KEY SHARE` locks of foreign-key checks (inserting an
/// order or a ledger row locks its user and ad that way, outside this order).
#[derive(Debug, Default)]
pub(super) struct LockSet {
    ads: Vec<i64>,
    wallets: Vec<i64>,
    orders: Vec<i64>,
    users: Vec<i64>,
}

impl LockSet {
    pub(super) fn of(batch: &[Job]) -> LockSet {
        let mut rows = LockSet::default();
        for job in batch {
            rows.add(&job.commit);
        }
        for ids in [
            &mut rows.ads,
            &mut rows.wallets,
            &mut rows.orders,
            &mut rows.users,
        ] {
            ids.sort_unstable();
            ids.dedup();
        }
        rows
    }

    /// Every row of the set, by table.
    pub(super) fn rows(&self) -> impl Iterator<Item = (&'static str, i64)> + '_ {
        let tables = [
            ("ads", &self.ads),
            ("wallets", &self.wallets),
            ("orders", &self.orders),
            ("users", &self.users),
        ];
        tables
            .into_iter()
            .flat_map(|(table, ids)| ids.iter().map(move |id| (table, *id)))
    }

    pub(super) async fn lock(&self, conn: &mut impl Connection) -> Result<(), DbError> {
        let tables = [
            ("ads", "id", &self.ads),
            ("wallets", "user_id", &self.wallets),
            ("orders", "id", &self.orders),
            ("users", "id", &self.users),
        ];
        for (table, key, ids) in tables {
            if ids.is_empty() {
                continue;
            }
            // The ids as one array (see `with_rows`): one SQL text whatever their count.
            let sql = format!(
                "SELECT {key} FROM {table} WHERE {key} IN ({ROWS}) ORDER BY {key} FOR NO KEY UPDATE"
            );
            let query = ids.iter().fold(query(sql), |query, id| query.bind(*id));
            with_rows(query, 1, Dialect::Postgres)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    /// The existing rows `commit` may change.
    fn add(&mut self, commit: &Commit) {
        let rows = self;
        for op in &commit.ops {
            match op {
                Op::UpdateAd(ad) => rows.ads.push(ad.id.get()),
                Op::CloseAd {
                    ad_id, maker_id, ..
                }
                | Op::ReturnCapacity(CapacityReturn {
                    ad_id, maker_id, ..
                }) => {
                    rows.ads.push(ad_id.get());
                    rows.wallets.push(maker_id.get());
                }
                Op::TakeCapacity { ad_id, .. } => rows.ads.push(ad_id.get()),
                Op::ClaimOrder { order, .. } => rows.orders.push(order.id.get()),
                Op::AnswerDispute { order_id, .. } => rows.orders.push(order_id.get()),
                // The order's row serialises its attachments' count across nodes.
                Op::InsertAttachment(attachment) => rows.orders.push(attachment.order_id.get()),
                Op::MoveMoney(MoneyMove { user_id, .. }) | Op::LockWallet { user_id } => {
                    rows.wallets.push(user_id.get())
                }
                Op::InsertRating(rating) => rows.users.push(rating.ratee_id.get()),
                Op::CountCompleted { user_ids } => rows.users.extend(user_ids.map(UserId::get)),
                Op::Track(change) => rows.users.push(change.user_id.get()),
                Op::Seen(seen) => rows.users.extend(seen.iter().map(|(id, _)| id.get())),
                Op::InsertUser(_)
                | Op::InsertIndexPrice(_)
                | Op::SaveSigningSeed { .. }
                | Op::InsertAd(_)
                | Op::InsertOrder(_)
                | Op::InsertTransaction(_)
                | Op::InsertMessage(_)
                | Op::CheckDepositLimit { .. }
                | Op::Event(_)
                | Op::InsertWebhook { .. }
                | Op::DeleteWebhook { .. }
                | Op::LeaseWebhook { .. }
                | Op::WebhookDelivered { .. }
                | Op::WebhookFailed(_)
                | Op::EndWebhookLease { .. }
                | Op::Block(_)
                | Op::Unblock { .. }
                | Op::SavePaymentMethod(_)
                | Op::DeletePaymentMethod { .. }
                | Op::Restrict(_)
                | Op::LiftRestrictions { .. }
                | Op::RecordIdempotencyKey(_)
                | Op::RecordIdempotentAnswer { .. }
                | Op::PurgeIdempotencyKeys { .. } => {}
            }
        }
    }
}
