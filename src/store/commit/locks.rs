//! The rows a PostgreSQL batch locks before it changes any.

use super::op::{CapacityReturn, Commit, MoneyMove, Op};
use super::queue::Job;
use std::collections::VecDeque;

use crate::domain::UserId;
use crate::store::connection::{Connection, DbError, Statement, query};

/// What a batch locks, always in one order: orders, users' checks, users, ads, wallets, each
/// by ascending id. Orders (one order's, which two nodes seldom step at once) and users' checks
/// (an advisory lock per user, which serialises a check that counts several rows, like a
/// taker's active deposits) are locked before any statement runs. Users, ads and wallets (the
/// hot rows: makers', which nearly every batch of every node touches) are locked with them,
/// unless the batch is [`late`](LockSet::late): then its cold statement locks them after its
/// other writes, and its last statement changes them, so another node waits for them a
/// fraction of a batch instead of a whole one. Either way each transaction takes its locks in the one order,
/// and one holding hot rows waits for nothing else but its commit, so two nodes' batches can
/// never wait for each other in a cycle.
///
/// The row lock is `FOR NO KEY UPDATE`, what PostgreSQL's own non-key updates take: it excludes
/// the other writers of the row but not the `KEY SHARE` locks of foreign-key checks. A user's
/// check lock is the transaction-scoped advisory lock whose key is minus the user's id (no
/// other advisory key of ours is negative).
#[derive(Debug, Default)]
pub(super) struct LockSet {
    orders: Vec<i64>,
    checks: Vec<i64>,
    users: Vec<i64>,
    ads: Vec<i64>,
    wallets: Vec<i64>,
    /// Whether a commit writes a hot row with a statement of its own (not deferred to the
    /// batch's last statements), which must then hold its lock from the start.
    writes_hot_rows_early: bool,
}

/// The hot rows' tables in their lock order, with their key columns.
const HOT: [(&str, &str); 3] = [("users", "id"), ("ads", "id"), ("wallets", "user_id")];

impl LockSet {
    pub(super) fn of(batch: &[Job]) -> LockSet {
        let mut rows = LockSet::default();
        for job in batch {
            rows.add(&job.commit);
        }
        for ids in [
            &mut rows.orders,
            &mut rows.checks,
            &mut rows.users,
            &mut rows.ads,
            &mut rows.wallets,
        ] {
            ids.sort_unstable();
            ids.dedup();
        }
        rows
    }

    /// Every row of the set, by table (users' checks as their users).
    pub(super) fn rows(&self) -> impl Iterator<Item = (&'static str, i64)> + '_ {
        let tables = [
            ("orders", &self.orders),
            ("users", &self.checks),
            ("users", &self.users),
            ("ads", &self.ads),
            ("wallets", &self.wallets),
        ];
        (tables.into_iter()).flat_map(|(table, ids)| ids.iter().map(move |id| (table, *id)))
    }

    /// Whether a fast batch may lock its hot rows late, at the end of its cold statement: none
    /// of its commits writes one with a statement of its own (`Writer::hot_write_now` refuses
    /// one that would).
    pub(super) fn late(&self) -> bool {
        !self.writes_hot_rows_early
    }

    /// Locks the set (only its orders and users' checks if `late`) and takes `new_orders` ids
    /// from the orders' identity, in one statement (a round trip is a fifth of a batch's time):
    /// the statement's columns run in turn, each table's rows by ascending id, then the ids.
    pub(super) async fn lock_taking_ids(
        &self,
        conn: &mut impl Connection,
        new_orders: usize,
        late: bool,
    ) -> Result<VecDeque<i64>, DbError> {
        let hot = match late {
            true => "0".to_string(),
            false => format!("(SELECT COUNT(*) FROM ({}) locked)", locks_sql(&HOT, 4)),
        };
        // One SQL text whatever the counts: the ids go as arrays' text (the driver binds no
        // arrays), the driver reads none either, so the new ids come back as text.
        let sql = format!(
            "SELECT (SELECT COUNT(*) FROM ({}) locked), \
             (SELECT COUNT(*) FROM (SELECT pg_advisory_xact_lock(-k) \
               FROM unnest($2::text::bigint[]) k) checked), {hot}, \
             (SELECT COALESCE(string_agg(id::text, ',' ORDER BY id), '') FROM \
              (SELECT nextval(pg_get_serial_sequence('orders', 'id')) AS id \
               FROM generate_series(1, $1)) taken)",
            locks_sql(&[("orders", "id")], 3),
        );
        let mut statement = query(sql)
            .bind(new_orders as i64)
            .bind(array_text(&self.checks))
            .bind(array_text(&self.orders));
        if !late {
            for ids in [&self.users, &self.ads, &self.wallets] {
                statement = statement.bind(array_text(ids));
            }
        }
        let (_, _, _, ids): (i64, i64, i64, String) = statement.fetch_one(&mut *conn).await?;
        let ids: VecDeque<i64> = (ids.split(',').filter_map(|id| id.parse().ok())).collect();
        if ids.len() != new_orders {
            return Err(DbError::other("the orders' identity gave too few ids"));
        }
        Ok(ids)
    }

    /// The late locks of the hot rows, users then ads then wallets, as a read for the end of the
    /// batch's cold statement (its rows are the rows locked); `None` if the set has none.
    pub(super) fn hot_locks(&self) -> Option<Statement> {
        if self.users.is_empty() && self.ads.is_empty() && self.wallets.is_empty() {
            return None;
        }
        let sql = format!("SELECT 1 FROM ({}) locked", locks_sql(&HOT, 1));
        let statement = query(sql)
            .bind(array_text(&self.users))
            .bind(array_text(&self.ads))
            .bind(array_text(&self.wallets));
        Some(statement)
    }

    /// The existing rows `commit` may change.
    fn add(&mut self, commit: &Commit) {
        let rows = self;
        for op in &commit.ops {
            rows.writes_hot_rows_early |= match op {
                Op::UpdateAd(_) | Op::CloseAd { .. } | Op::Seen(_) => true,
                // A move of a bonus runs at once (see `Writer::move_money`).
                Op::MoveMoney(money) => money.delta.touches_bonus(),
                _ => false,
            };
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
                Op::MoveMoney(MoneyMove { user_id, .. }) => rows.wallets.push(user_id.get()),
                Op::LockUser { user_id } => rows.checks.push(user_id.get()),
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

/// The locks of `tables`' rows, their ids the parameters from `$first` on: one `SELECT 1` per
/// table, each table's rows by ascending id, joined by `UNION ALL` (run in turn).
fn locks_sql(tables: &[(&str, &str)], first: usize) -> String {
    let locks: Vec<String> = (tables.iter().enumerate())
        .map(|(i, (table, key))| {
            format!(
                "SELECT 1 FROM (SELECT {key} FROM {table} WHERE {key} = ANY(${}::text::bigint[]) \
                 ORDER BY {key} FOR NO KEY UPDATE) {table}",
                i + first
            )
        })
        .collect();
    locks.join(" UNION ALL ")
}

/// `{1,2,3}`: ids as a PostgreSQL array's text.
fn array_text(ids: &[i64]) -> String {
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    format!("{{{}}}", ids.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::wallet::{LedgerKind, WalletDelta};
    use crate::domain::{AdId, Kopecks};

    fn late(ops: Vec<Op>) -> bool {
        let job = Job {
            commit: Commit::new(ops),
            reply: tokio::sync::oneshot::channel().0,
        };
        LockSet::of(&[job]).late()
    }

    fn moving(delta: WalletDelta) -> Op {
        crate::store::commit::tests::money_op(3, LedgerKind::EscrowFreeze, delta)
    }

    /// A batch leaves its hot rows' locks to its cold statement only if every write of a hot
    /// row waits for its last statement.
    #[test]
    fn a_batch_locks_its_hot_rows_late_unless_a_commit_writes_one_at_once() {
        let take = Op::TakeCapacity {
            ad_id: AdId(1),
            amount: Kopecks(5),
            terms_version: 1,
        };
        let give_back = Op::ReturnCapacity(CapacityReturn {
            ad_id: AdId(1),
            maker_id: UserId(2),
            amount: Kopecks(5),
            order_id: crate::domain::OrderId(4),
            now: 0,
        });
        let freeze = moving(WalletDelta::freeze(Kopecks(5)));
        assert!(late(vec![
            take,
            give_back,
            freeze,
            Op::LockUser { user_id: UserId(3) }
        ]));

        let bonus = moving(WalletDelta {
            bonus: Kopecks(5),
            ..WalletDelta::default()
        });
        let ad = crate::domain::ad::tests::ad();
        let close = Op::CloseAd {
            ad_id: AdId(1),
            maker_id: UserId(2),
            now: 0,
        };
        let seen = Op::Seen(vec![(UserId(2), 0)]);
        for early in [bonus, Op::UpdateAd(Box::new(ad)), close, seen] {
            assert!(!late(vec![early]));
        }
    }
}
