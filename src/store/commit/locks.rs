//! The rows a PostgreSQL batch locks before it changes any.

use super::op::{CapacityReturn, Commit, MoneyMove, Op};
use super::queue::Job;
use std::collections::VecDeque;

use crate::domain::UserId;
use crate::store::connection::{Connection, DbError, query};

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

    /// Locks the set's rows and takes `new_orders` ids from the orders' identity, in one
    /// statement (a round trip is a fifth of a batch's time): each table's rows by ascending id,
    /// the tables one after another (an `Append` runs its branches in turn), then the ids.
    pub(super) async fn lock_taking_ids(
        &self,
        conn: &mut impl Connection,
        new_orders: usize,
    ) -> Result<VecDeque<i64>, DbError> {
        let tables = [
            ("ads", "id", &self.ads),
            ("wallets", "user_id", &self.wallets),
            ("orders", "id", &self.orders),
            ("users", "id", &self.users),
        ];
        let locks: Vec<String> = (tables.iter().enumerate())
            .map(|(i, (table, key, _))| {
                format!(
                    "SELECT 1 FROM (SELECT {key} FROM {table} WHERE {key} = ANY(${}::text::bigint[]) \
                     ORDER BY {key} FOR NO KEY UPDATE) {table}",
                    i + 1
                )
            })
            .collect();
        // One SQL text whatever the counts: the ids go as arrays' text (the driver binds no
        // arrays), the driver reads none either, so the new ids come back as text.
        let sql = format!(
            "SELECT (SELECT COUNT(*) FROM ({}) locked), \
             (SELECT COALESCE(string_agg(id::text, ',' ORDER BY id), '') FROM \
              (SELECT nextval(pg_get_serial_sequence('orders', 'id')) AS id \
               FROM generate_series(1, $5)) taken)",
            locks.join(" UNION ALL ")
        );
        let statement = (tables.iter())
            .fold(query(sql), |statement, (_, _, ids)| {
                statement.bind(array_text(ids))
            })
            .bind(new_orders as i64);
        let (_, ids): (i64, String) = statement.fetch_one(&mut *conn).await?;
        let ids: VecDeque<i64> = (ids.split(',').filter_map(|id| id.parse().ok())).collect();
        if ids.len() != new_orders {
            return Err(DbError::other("the orders' identity gave too few ids"));
        }
        Ok(ids)
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

/// `{1,2,3}`: ids as a PostgreSQL array's text.
fn array_text(ids: &[i64]) -> String {
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    format!("{{{}}}", ids.join(","))
}
