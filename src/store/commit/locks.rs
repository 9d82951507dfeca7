//! The rows a PostgreSQL batch locks before it changes any.

use super::op::{
    CapacityReturn, Commit, MoneyMove, NewBlock, NewRestriction, NewSavedMethod, Op, WebhookFailure,
};
use super::queue::Job;
use sha2::{Digest, Sha256};
use std::collections::VecDeque;

use crate::domain::UserId;
use crate::store::connection::{Connection, DbError, FromRow, Statement, Value, query};

/// What a batch locks, always in one order: orders, users' checks, names, users, ads, wallets,
/// each by ascending id (names by their hash). Orders (one order's, which two nodes seldom step
/// at once), users' checks (an advisory lock per user, which serialises a check that counts
/// several rows, like a taker's active deposits, and the inserts a unique index allows once per
/// user, like a seller's one active withdrawal) and names (an advisory lock per key a unique
/// index or a row serialises across users: an idempotency key, a transaction's reference, a
/// block, a webhook) are locked before any statement runs. Users, ads and wallets (the hot rows:
/// makers', which nearly every batch of every node touches) are locked with them, unless the
/// batch is [`late`](LockSet::late): then it locks them after its cold statement's writes, and
/// its last statement changes them, so another node waits for them a fraction of a batch
/// instead of a whole one.
///
/// Each transaction takes its locks in the one order, so no two can wait for each other in a
/// cycle, provided nothing else makes one wait: every row a batch writes, and every key it
/// inserts that another transaction could insert too, is in its set. A batch that locks its hot
/// rows first and then inserts a key a late batch inserted before its hot locks would wait for
/// that batch while holding what it waits for (PostgreSQL breaks the cycle after a second); the
/// key's check or name, taken by both before any hot row, orders them instead. A new order's
/// parties' rows are written only by their first order (`first_order_at`), so they are locked
/// only while that is unset.
///
/// The row lock is `FOR NO KEY UPDATE`, what PostgreSQL's own non-key updates take: it excludes
/// the other writers of the row but not the `KEY SHARE` locks of foreign-key checks. A user's
/// check lock is the transaction-scoped advisory lock whose key is minus the user's id (no
/// other advisory key of ours is negative); a name's is the two-key advisory lock
/// ([`NAME_LOCKS`], the first 32 bits of the name's SHA-256), a key space apart from the one-key
/// locks.
#[derive(Debug, Default)]
pub(super) struct LockSet {
    orders: Vec<i64>,
    checks: Vec<i64>,
    /// The names' keys (see [`name_key`]).
    names: Vec<i64>,
    users: Vec<i64>,
    /// New orders' parties: their rows are locked if their first order is still unset.
    first_orders: Vec<i64>,
    ads: Vec<i64>,
    wallets: Vec<i64>,
    /// Whether a commit writes a hot row with a statement of its own (not deferred to the
    /// batch's last statements), which must then hold its lock from the start.
    writes_hot_rows_early: bool,
}

/// The first key of the two-key advisory locks of names.
const NAME_LOCKS: i32 = 1;

/// The sequence of the orders' identity, by the name PostgreSQL gave it (migration 1), named
/// here rather than asked of `pg_get_serial_sequence` for each new order: that lookup was 1.2 %
/// of the committer's PostgreSQL CPU (`benches/README.md`, day 22).
pub(super) const ORDER_IDS: &str = "orders_id_seq";

impl LockSet {
    pub(super) fn of(batch: &[Job]) -> LockSet {
        let mut rows = LockSet::default();
        for job in batch {
            rows.add(&job.commit);
        }
        for ids in [
            &mut rows.orders,
            &mut rows.checks,
            &mut rows.names,
            &mut rows.users,
            &mut rows.first_orders,
            &mut rows.ads,
            &mut rows.wallets,
        ] {
            ids.sort_unstable();
            ids.dedup();
        }
        rows
    }

    /// Every row of the set, by table (users' checks as their users, names' keys as `names`),
    /// but new orders' parties, locked only until their first order is written.
    pub(super) fn rows(&self) -> impl Iterator<Item = (&'static str, i64)> + '_ {
        let tables = [
            ("orders", &self.orders),
            ("users", &self.checks),
            ("names", &self.names),
            ("users", &self.users),
            ("ads", &self.ads),
            ("wallets", &self.wallets),
        ];
        (tables.into_iter()).flat_map(|(table, ids)| ids.iter().map(move |id| (table, *id)))
    }

    /// Whether a fast batch may lock its hot rows late, after its cold statement: none
    /// of its commits writes one with a statement of its own (`Writer::hot_write_now` refuses
    /// one that would).
    pub(super) fn late(&self) -> bool {
        !self.writes_hot_rows_early
    }

    /// Begins the transaction, locks the set (only its orders, users' checks and names if
    /// `late`) and draws `draw` ids from the orders' identity, in one flight and one statement
    /// (see [`LockSet::opening`]); answers the ids.
    pub(super) async fn lock_taking_ids(
        &self,
        conn: &mut impl Connection,
        draw: usize,
        late: bool,
    ) -> Result<VecDeque<i64>, DbError> {
        let mut answers = conn.pipeline(self.opening(draw, late).into()).await;
        let row = (answers.pop().expect("two answers")?)
            .ok_or_else(|| DbError::other("the locks returned no row"))?;
        answers.pop().expect("two answers")?;
        let (_, _, _, _, ids): (i64, i64, i64, i64, String) = FromRow::from_row(row)?;
        let ids: VecDeque<i64> = (ids.split(',').filter_map(|id| id.parse().ok())).collect();
        if ids.len() != draw {
            return Err(DbError::other("the orders' identity gave too few ids"));
        }
        Ok(ids)
    }

    /// The transaction's `BEGIN` and one statement that locks the set (only its orders, users'
    /// checks and names if `late`) and draws `draw` ids from the orders' identity: the
    /// statement's columns run in turn, each table's rows by ascending id, then the ids.
    pub(super) fn opening(&self, draw: usize, late: bool) -> [Statement; 2] {
        let hot = match late {
            true => "0".to_string(),
            false => format!("(SELECT COUNT(*) FROM ({}) locked)", hot_locks_sql(5)),
        };
        // One SQL text whatever the counts: the ids go as arrays, and the new ids come back as
        // one text (the `Any` driver of the tests' connections reads no arrays).
        let sql = format!(
            "SELECT (SELECT COUNT(*) FROM ({}) locked), \
             (SELECT COUNT(*) FROM (SELECT pg_advisory_xact_lock(-k) \
               FROM unnest($2::bigint[]) k) checked), \
             (SELECT COUNT(*) FROM (SELECT pg_advisory_xact_lock({NAME_LOCKS}, k) \
               FROM unnest($4::int[]) k) named), {hot}, \
             (SELECT COALESCE(string_agg(id::text, ',' ORDER BY id), '') FROM \
              (SELECT nextval('{ORDER_IDS}') AS id \
               FROM generate_series(1, $1)) taken)",
            row_locks_sql("orders", "id", "id = ANY($3::bigint[])"),
        );
        let mut statement = query(sql)
            .bind(draw as i64)
            .bind(array(&self.checks))
            .bind(array(&self.orders))
            .bind(array(&self.names));
        if !late {
            statement = self.bind_hot(statement);
        }
        [query("BEGIN"), statement]
    }

    /// The late locks of the hot rows, users then ads then wallets, as a read that runs after the
    /// batch's cold statement (its rows are the rows locked); `None` if the set has none.
    pub(super) fn hot_locks(&self) -> Option<Statement> {
        if [&self.users, &self.first_orders, &self.ads, &self.wallets]
            .iter()
            .all(|ids| ids.is_empty())
        {
            return None;
        }
        let sql = format!("SELECT 1 FROM ({}) locked", hot_locks_sql(1));
        Some(self.bind_hot(query(sql)))
    }

    /// Binds the parameters of [`hot_locks_sql`].
    fn bind_hot(&self, statement: Statement) -> Statement {
        let mut users: Vec<i64> = self
            .users
            .iter()
            .chain(&self.first_orders)
            .copied()
            .collect();
        users.sort_unstable();
        users.dedup();
        statement
            .bind(array(&users))
            .bind(array(&self.users))
            .bind(array(&self.ads))
            .bind(array(&self.wallets))
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
                // One active withdrawal per seller (who takes it), and a deposit taker's limit.
                Op::InsertOrder(order) => {
                    rows.checks.push(order.taker_id.get());
                    rows.first_orders.push(order.buyer_id.get());
                    rows.first_orders.push(order.seller_id.get());
                }
                Op::AnswerDispute { order_id, .. } => rows.orders.push(order_id.get()),
                // The order's row serialises its attachments' count across nodes.
                Op::InsertAttachment(attachment) => rows.orders.push(attachment.order_id.get()),
                Op::MoveMoney(MoneyMove { user_id, .. }) => rows.wallets.push(user_id.get()),
                Op::LockUser { user_id } => rows.checks.push(user_id.get()),
                // The order's row serialises its ratings (one per rater).
                Op::InsertRating(rating) => {
                    rows.orders.push(rating.order_id.get());
                    rows.users.push(rating.ratee_id.get());
                }
                Op::CountCompleted { user_ids } => rows.users.extend(user_ids.map(UserId::get)),
                Op::Track(change) => rows.users.push(change.user_id.get()),
                Op::Seen(seen) => rows.users.extend(seen.iter().map(|(id, _)| id.get())),
                Op::SavePaymentMethod(NewSavedMethod { user_id, .. })
                | Op::DeletePaymentMethod { user_id, .. }
                | Op::Restrict(NewRestriction { user_id, .. })
                | Op::LiftRestrictions { user_id, .. } => rows.checks.push(user_id.get()),
                Op::InsertTransaction(transaction) => {
                    rows.name(&format!("transaction {}", transaction.reference))
                }
                Op::RecordIdempotencyKey(key) | Op::RecordIdempotentAnswer { key, .. } => {
                    rows.name(&format!("key {} {}", key.principal, key.key))
                }
                Op::Block(NewBlock {
                    blocker_id,
                    blocked_id,
                    ..
                })
                | Op::Unblock {
                    blocker_id,
                    blocked_id,
                } => rows.name(&format!("block {blocker_id} {blocked_id}")),
                Op::DeleteWebhook { id, .. }
                | Op::LeaseWebhook { id, .. }
                | Op::WebhookDelivered { id, .. }
                | Op::EndWebhookLease { id }
                | Op::WebhookFailed(WebhookFailure { id, .. }) => {
                    rows.name(&format!("webhook {id}"))
                }
                Op::SaveSigningSeed { .. } => rows.name("signing seed"),
                // New rows no unique key of another transaction's can meet (a user's token
                // is random), or old rows nobody writes (purged keys).
                Op::InsertUser(_)
                | Op::InsertIndexPrice(_)
                | Op::InsertAd(_)
                | Op::InsertMessage(_)
                | Op::CheckDepositLimit { .. }
                | Op::Event(_)
                | Op::InsertWebhook { .. }
                | Op::PurgeIdempotencyKeys { .. } => {}
            }
        }
    }

    /// Adds the lock of a name.
    fn name(&mut self, name: &str) {
        self.names.push(name_key(name));
    }
}

/// A name's advisory key: the first 32 bits of its SHA-256 (the same on every node; two names
/// that share one only wait for each other).
fn name_key(name: &str) -> i64 {
    let digest = Sha256::digest(name.as_bytes());
    i64::from(i32::from_be_bytes([
        digest[0], digest[1], digest[2], digest[3],
    ]))
}

/// The lock of `table`'s rows that `filter` finds, by ascending key.
fn row_locks_sql(table: &str, key: &str, filter: &str) -> String {
    format!(
        "SELECT 1 FROM (SELECT {key} FROM {table} WHERE {filter} \
         ORDER BY {key} FOR NO KEY UPDATE) {table}"
    )
}

/// The locks of the hot rows, their ids the parameters from `$first` on: users (those of the
/// second array always, the rest while their first order is unset), ads, wallets; joined by
/// `UNION ALL` (run in turn).
fn hot_locks_sql(first: usize) -> String {
    let (users, always, ads, wallets) = (first, first + 1, first + 2, first + 3);
    [
        row_locks_sql(
            "users",
            "id",
            &format!(
                "id = ANY(${users}::bigint[]) \
                 AND (first_order_at IS NULL OR id = ANY(${always}::bigint[]))"
            ),
        ),
        row_locks_sql("ads", "id", &format!("id = ANY(${ads}::bigint[])")),
        row_locks_sql(
            "wallets",
            "user_id",
            &format!("user_id = ANY(${wallets}::bigint[])"),
        ),
    ]
    .join(" UNION ALL ")
}

/// Ids as an array parameter (`bigint[]`).
fn array(ids: &[i64]) -> Value {
    Value::Ints(ids.iter().copied().map(Some).collect())
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

    /// A batch locks its hot rows late, after its cold statement, only if every write of a hot
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
