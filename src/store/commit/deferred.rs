//! The writes that cannot fail, gathered across a batch and written with one multi-row
//! statement per table: ledger rows, credits and unfreezes of wallets, order claims, users'
//! figures, events.

mod flight;

use std::collections::BTreeMap;

use super::locks::LockSet;
use super::one_statement::Write;
use super::op::{NewEvent, NewRating};
use super::order_rows::{Claim, active_claims, active_inserts, claims_statement, order_values};
use super::rows::{ROWS, UNNEST, chunked, with_rows};
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::order::{Order, OrderStatus};
use crate::domain::track::DayFigures;
use crate::domain::wallet::{LedgerKind, WalletDelta};
use crate::domain::{AdId, Kopecks, Millis, OrderId, UserId};
use crate::store::connection::{Connection, DbError, Statement, query};
use crate::store::dialect::{Dialect, EVENTS_PER_TRANSACTION, postgres_event_id};

pub(super) use flight::Flight;

/// A ledger row waiting for its batch's one insert.
#[derive(Debug, Clone)]
pub(super) struct LedgerRow {
    pub user_id: UserId,
    pub kind: LedgerKind,
    pub d_available: Kopecks,
    pub d_frozen: Kopecks,
    pub order_id: Option<i64>,
    pub ad_id: Option<i64>,
    pub tx_id: Option<i64>,
    pub created_at: Millis,
}

/// An event waiting for its batch's one insert, its order and message ids known.
#[derive(Debug, Clone)]
pub(super) struct EventRow {
    pub order_id: OrderId,
    pub message_id: Option<i64>,
    pub event: Box<NewEvent>,
}

/// A user's public figures changed by a batch.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct UserFigures {
    pub orders_count: i64,
    pub rating_sum: i64,
    pub ratings_count: i64,
}

/// The answer to a keyed request, waiting for its batch's one statement of answers.
#[derive(Debug, Clone)]
pub(super) struct KeyAnswer {
    pub key: IdempotencyKey,
    pub status: i64,
    pub body: String,
}

/// A change of an ad's capacity by the commit at `place` in its batch: a take, judged by the
/// ad's terms at `take_terms`, or a cancelled order's return (`None`).
#[derive(Debug, Clone, Copy)]
pub(super) struct AdChange {
    pub place: usize,
    pub ad_id: AdId,
    pub amount: Kopecks,
    pub take_terms: Option<i64>,
}

#[derive(Debug, Default)]
pub(super) struct Deferred {
    /// Whether order claims wait for the batch's one guarded update (fast batches) or run at
    /// once (careful batches, where a refused claim must roll back only its own commit).
    pub group_claims: bool,
    pub claims: Vec<Claim>,
    /// Ids taken for the batch's new orders (PostgreSQL fast batches): each new order takes
    /// the next and waits in `orders` for the batch's one insert.
    pub order_ids: std::collections::VecDeque<i64>,
    /// New orders, their ids set, for the batch's one insert (PostgreSQL fast batches).
    pub orders: Vec<Order>,
    /// Whether ratings, idempotency keys and answers, guarded moves of money, changes of ads'
    /// capacity and deposit limits wait for the batch's last statements (PostgreSQL fast
    /// batches).
    pub group_rows: bool,
    pub ratings: Vec<NewRating>,
    /// Idempotency keys to insert, each new: a key already there fails the batch, which then
    /// runs carefully.
    pub keys: Vec<IdempotencyKey>,
    /// Answers to keyed requests, each stored over its key's row unless one is stored already.
    pub answers: Vec<KeyAnswer>,
    /// Takes and returns of ads' capacity waiting for the batch's one guarded update
    /// (PostgreSQL fast batches), in the batch's order.
    pub ad_changes: Vec<AdChange>,
    /// Deposit takers' limits (PostgreSQL fast batches): each must hold fewer active deposit
    /// orders than this before the batch, or the batch runs carefully.
    pub deposit_limits: BTreeMap<UserId, i64>,
    /// The hot rows a batch locks after its cold statement, before its last statement changes
    /// them (PostgreSQL fast batches whose commits all allow it, see [`LockSet`]).
    pub late_locks: Option<LockSet>,
    /// The place in its batch of the commit being applied.
    pub commit_place: usize,
    /// Moves of money that must not take a wallet below zero, added up by wallet for the
    /// batch's one guarded update: if any wallet's sum would, the batch runs carefully, where
    /// each move is judged alone in its turn.
    pub guarded: BTreeMap<UserId, WalletDelta>,
    pub ledger: Vec<LedgerRow>,
    pub events: Vec<EventRow>,
    /// `(d_available, d_frozen)` by wallet.
    pub wallets: BTreeMap<UserId, (Kopecks, Kopecks)>,
    pub users: BTreeMap<UserId, UserFigures>,
    /// What the batch's transitions add to track records, by user and day.
    pub track: BTreeMap<(UserId, i64), DayFigures>,
    /// The earliest new order of each party of the batch's new orders.
    pub first_orders: BTreeMap<UserId, Millis>,
}

/// Binds a rating's columns, in the order of the ratings insert's columns.
pub(super) fn rating_values(query: Statement, rating: &NewRating) -> Statement {
    query
        .bind(rating.order_id)
        .bind(rating.rater_id)
        .bind(rating.ratee_id)
        .bind(rating.rating)
        .bind(rating.comment.clone())
        .bind(rating.now)
}

impl Deferred {
    /// The deferred writes of a whole fast batch: order claims wait for its one guarded update,
    /// and on PostgreSQL new orders, ratings, guarded moves of money and changes of capacity
    /// wait too, for the batch's last statements (see [`Deferred::flush_and_commit`]).
    pub(super) fn for_fast_batch(dialect: Dialect) -> Deferred {
        Deferred {
            group_claims: true,
            group_rows: dialect == Dialect::Postgres,
            ..Deferred::default()
        }
    }

    /// Writes everything gathered, one multi-row statement per table (and chunk).
    /// `places` counts the events the transaction wrote so far (see [`Deferred::events`]).
    pub(super) async fn flush(
        &self,
        conn: &mut impl Connection,
        dialect: Dialect,
        places: &mut i64,
    ) -> Result<(), DbError> {
        for write in self.writes(dialect, places)? {
            write.run(&mut *conn).await?;
        }
        Ok(())
    }

    /// The writes, in the order a statement at a time runs them.
    fn writes(&self, dialect: Dialect, places: &mut i64) -> Result<Vec<Write>, DbError> {
        let mut writes = self.cold_writes(dialect, places)?;
        writes.extend(self.hot_writes(dialect));
        Ok(writes)
    }

    /// The writes of rows no other node's batch waits for: new rows, and the orders the batch
    /// locked first.
    fn cold_writes(&self, dialect: Dialect, places: &mut i64) -> Result<Vec<Write>, DbError> {
        let mut writes = Vec::new();
        // First: the ledger and events name these orders.
        writes.extend(self.orders(dialect));
        writes.extend(self.ratings(dialect));
        writes.extend(self.ledger(dialect));
        for chunk in chunked(&self.claims, dialect) {
            let statement = claims_statement(dialect, chunk);
            writes.push(Write::all_of(statement, chunk.len(), "order claims"));
        }
        for (statement, rows) in active_claims(dialect, &self.claims) {
            writes.push(Write::all_of(statement, rows, "active orders"));
        }
        writes.extend(self.keys(dialect));
        writes.extend(self.events(dialect, places)?);
        Ok(writes)
    }

    /// The writes of hot rows, which makers' orders on every node share: users' figures and
    /// track records, wallets (ads' capacity is written apart, see [`Deferred::ads_write`]).
    fn hot_writes(&self, dialect: Dialect) -> Vec<Write> {
        let mut writes = self.user_figures(dialect);
        writes.extend(self.track_rows(dialect));
        writes.extend(self.wallet_moves(dialect));
        writes
    }

    /// The takers among `deposit_limits` who hold their limit of active deposit orders or more:
    /// a guard that must find none. It reads after the batch's first locks, which hold each
    /// taker's row, so no other node adds one of their orders meanwhile.
    fn deposit_guard(&self) -> Option<Statement> {
        if self.deposit_limits.is_empty() {
            return None;
        }
        let sql = format!(
            "WITH v(id, below) AS ({ROWS}) SELECT v.id FROM v WHERE \
             (SELECT COUNT(*) FROM active_orders WHERE taker_id = v.id AND side = 'deposit') \
             >= v.below"
        );
        let mut query = query(sql);
        for (taker, below) in &self.deposit_limits {
            query = query.bind(*taker).bind(*below);
        }
        Some(with_rows(query, 2, Dialect::Postgres))
    }

    /// Moves money, one statement per chunk of wallets: each wallet's guarded moves added up and
    /// guarded never to take it below zero nor below its unwagered bonus, then its moves that
    /// cannot fail (credits, releases of frozen money). The guard counts only the guarded sum:
    /// no spend counts on money the batch gives later.
    fn wallet_moves(&self, dialect: Dialect) -> Vec<Write> {
        let mut wallets: BTreeMap<UserId, (Option<WalletDelta>, (Kopecks, Kopecks))> =
            BTreeMap::new();
        for (user, delta) in &self.guarded {
            wallets.entry(*user).or_default().0 = Some(*delta);
        }
        for (user, credit) in &self.wallets {
            wallets.entry(*user).or_default().1 = *credit;
        }
        let wallets: Vec<_> = wallets.into_iter().collect();
        let mut writes = Vec::new();
        for chunk in chunked(&wallets, dialect) {
            let sql = format!(
                "WITH v(user_id, guarded, d_available, d_frozen, d_deposits, d_required, \
                   d_wagered, c_available, c_frozen) AS ({ROWS}) \
                 UPDATE wallets SET \
                   available = wallets.available + v.d_available + v.c_available, \
                   frozen = wallets.frozen + v.d_frozen + v.c_frozen, \
                   deposits_total = wallets.deposits_total + v.d_deposits, \
                   wagering_required = wallets.wagering_required + v.d_required, \
                   wagered = wallets.wagered + v.d_wagered \
                 FROM v WHERE wallets.user_id = v.user_id \
                   AND (v.guarded = 0 OR (wallets.available + v.d_available >= wallets.bonus \
                     AND wallets.frozen + v.d_frozen >= 0))"
            );
            let mut query = query(sql);
            for (user, (guarded, (available, frozen))) in chunk {
                let delta = guarded.unwrap_or_default();
                query = query
                    .bind(*user)
                    .bind(i64::from(guarded.is_some()))
                    .bind(delta.available)
                    .bind(delta.frozen)
                    .bind(delta.deposits_total)
                    .bind(delta.wagering_required)
                    .bind(delta.wagered)
                    .bind(*available)
                    .bind(*frozen);
            }
            let statement = with_rows(query, 9, dialect);
            writes.push(Write::all_of(statement, chunk.len(), "wallet moves"));
        }
        writes
    }

    fn ledger(&self, dialect: Dialect) -> Vec<Write> {
        let mut writes = Vec::new();
        for chunk in chunked(&self.ledger, dialect) {
            let sql = format!(
                "INSERT INTO ledger (user_id, kind, d_available, d_frozen, order_id, ad_id, tx_id, \
                 created_at) {ROWS}"
            );
            let mut query = query(sql);
            for row in chunk {
                query = query
                    .bind(row.user_id)
                    .bind(row.kind.as_str())
                    .bind(row.d_available)
                    .bind(row.d_frozen)
                    .bind(row.order_id)
                    .bind(row.ad_id)
                    .bind(row.tx_id)
                    .bind(row.created_at);
            }
            writes.push(Write::new(with_rows(query, 8, dialect)));
        }
        writes
    }

    /// Adds to users' public figures and sets the first order of the parties who had none, one
    /// statement per chunk of users. A user whose figures do not change and who has a first
    /// order is not written (nor, on PostgreSQL, locked): after a user's first order a new one
    /// costs a read of the row.
    fn user_figures(&self, dialect: Dialect) -> Vec<Write> {
        let mut users: BTreeMap<UserId, (UserFigures, Option<Millis>)> = BTreeMap::new();
        for (user, figures) in &self.users {
            users.entry(*user).or_default().0 = *figures;
        }
        for (user, at) in &self.first_orders {
            users.entry(*user).or_default().1 = Some(*at);
        }
        let users: Vec<_> = users.into_iter().collect();
        let mut writes = Vec::new();
        for chunk in chunked(&users, dialect) {
            let sql = format!(
                "WITH v(id, orders_count, rating_sum, ratings_count, first_order_at) AS ({ROWS}) \
                 UPDATE users SET orders_count = users.orders_count + v.orders_count, \
                   rating_sum = users.rating_sum + v.rating_sum, \
                   ratings_count = users.ratings_count + v.ratings_count, \
                   first_order_at = COALESCE(users.first_order_at, v.first_order_at) \
                 FROM v WHERE users.id = v.id AND (v.orders_count <> 0 OR v.rating_sum <> 0 \
                   OR v.ratings_count <> 0 \
                   OR (users.first_order_at IS NULL AND v.first_order_at IS NOT NULL))"
            );
            let mut query = query(sql);
            for (user, (figures, first_order_at)) in chunk {
                query = query
                    .bind(*user)
                    .bind(figures.orders_count)
                    .bind(figures.rating_sum)
                    .bind(figures.ratings_count)
                    .bind(first_order_at.map(i64::from));
            }
            writes.push(Write::new(with_rows(query, 5, dialect)));
        }
        writes
    }

    /// Inserts the new orders with their ids taken beforehand (PostgreSQL fast batches only), and
    /// their rows of `active_orders`, whose unique index refuses a second active withdrawal; the
    /// batch then runs carefully, where that order's commit hears why.
    fn orders(&self, dialect: Dialect) -> Vec<Write> {
        let mut writes = Vec::new();
        for chunk in chunked(&self.orders, dialect) {
            let sql = format!(
                "INSERT INTO orders (id, ad_id, side, buyer_id, seller_id, taker_id, usdt_amount, \
                 fiat_amount, fiat_currency, price, payment_method, payment_details, status, \
                 created_at, expires_at, review_rule, review_since, card_key, \
                 release_window_seconds) {ROWS}"
            );
            let mut query = query(sql);
            for order in chunk {
                query = order_values(query.bind(order.id), order);
            }
            writes.push(Write::new(with_rows(query, 19, dialect)));
        }
        writes.extend(
            active_inserts(dialect, &self.orders)
                .into_iter()
                .map(Write::new),
        );
        writes
    }

    /// Inserts the idempotency keys waiting for it, then stores the answers waiting (as each
    /// alone would, see `Writer::record_answer`). A key already there breaks the unique index,
    /// and two answers to one key make the upsert fail: the batch then runs carefully.
    fn keys(&self, dialect: Dialect) -> Vec<Write> {
        let mut writes = Vec::new();
        for chunk in chunked(&self.keys, dialect) {
            let sql = format!(
                "INSERT INTO idempotency_keys (principal, key, fingerprint, created_at) {ROWS}"
            );
            let mut query = query(sql);
            for key in chunk {
                query = query
                    .bind(key.principal.clone())
                    .bind(key.key.clone())
                    .bind(key.fingerprint.clone())
                    .bind(key.now);
            }
            let statement = with_rows(query, 4, dialect);
            writes.push(Write::all_of(statement, chunk.len(), "idempotency keys"));
        }
        for chunk in chunked(&self.answers, dialect) {
            let sql = format!(
                "INSERT INTO idempotency_keys (principal, key, fingerprint, status, body, \
                 created_at) {ROWS} ON CONFLICT (principal, key) DO UPDATE \
                 SET status = excluded.status, body = excluded.body \
                 WHERE idempotency_keys.fingerprint = excluded.fingerprint \
                 AND idempotency_keys.status IS NULL"
            );
            let mut query = query(sql);
            for answer in chunk {
                query = query
                    .bind(answer.key.principal.clone())
                    .bind(answer.key.key.clone())
                    .bind(answer.key.fingerprint.clone())
                    .bind(answer.status)
                    .bind(answer.body.clone())
                    .bind(answer.key.now);
            }
            writes.push(Write::new(with_rows(query, 6, dialect)));
        }
        writes
    }

    /// Inserts the ratings waiting for it; a second rating of one order by one rater breaks the
    /// unique index, and the batch then runs carefully, where that commit hears why.
    fn ratings(&self, dialect: Dialect) -> Vec<Write> {
        let mut writes = Vec::new();
        for chunk in chunked(&self.ratings, dialect) {
            let sql = format!(
                "INSERT INTO ratings (order_id, rater_id, ratee_id, rating, comment, created_at) \
                 {ROWS}"
            );
            let mut query = query(sql);
            for rating in chunk {
                query = rating_values(query, rating);
            }
            writes.push(Write::new(with_rows(query, 6, dialect)));
        }
        writes
    }

    /// Inserts the events, last: on PostgreSQL each gets its id from the transaction's id and
    /// `places`, the count of events the transaction wrote before (see [`postgres_event_id`]).
    fn events(&self, dialect: Dialect, places: &mut i64) -> Result<Vec<Write>, DbError> {
        const COLUMNS: &str = "kind, order_id, message_id, buyer_id, seller_id, disputed, \
             actor_id, actor_role, from_status, to_status, reason, payload, created_at";
        if *places + self.events.len() as i64 > EVENTS_PER_TRANSACTION {
            return Err(DbError::other("more events than one transaction may write"));
        }
        let mut writes = Vec::new();
        for chunk in chunked(&self.events, dialect) {
            let sql = match dialect {
                Dialect::Sqlite => format!("INSERT INTO events ({COLUMNS}) {ROWS}"),
                // Each row's id from its place: the first row's (the last parameter) plus its
                // ordinal.
                Dialect::Postgres => format!(
                    "INSERT INTO events (id, {COLUMNS}) SELECT {}, {COLUMNS} \
                     FROM {UNNEST} WITH ORDINALITY AS r({COLUMNS}, place)",
                    postgres_event_id("($14 + r.place - 1)")
                ),
            };
            let mut query = query(sql);
            for row in chunk {
                let event = &row.event;
                query = query
                    .bind(event.kind.as_str())
                    .bind(row.order_id)
                    .bind(row.message_id)
                    .bind(event.buyer_id)
                    .bind(event.seller_id)
                    .bind(i64::from(event.disputed))
                    .bind(event.actor_id)
                    .bind(event.actor_role.as_str())
                    .bind(event.from_status.map(OrderStatus::as_str))
                    .bind(event.to_status.map(OrderStatus::as_str))
                    .bind(event.reason.clone())
                    .bind(event.payload.clone())
                    .bind(event.now);
            }
            let mut query = with_rows(query, 13, dialect);
            if dialect == Dialect::Postgres {
                query = query.bind(*places);
                *places += chunk.len() as i64;
            }
            writes.push(Write::new(query));
        }
        Ok(writes)
    }
}
