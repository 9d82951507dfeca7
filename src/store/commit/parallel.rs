//! PostgreSQL's committers: several connections, each running a batch at a time, over disjoint
//! rows. A batch spends most of its time waiting on round trips, so one connection leaves the
//! database and the CPU idle; with several, the batches of commits that share no wallet, ad,
//! order or user overlap.
//!
//! One dispatcher keeps every guarantee of the single committer:
//! - A commit joins a batch only if no batch in flight, and no earlier commit still waiting,
//!   touches any of its rows ([`Keys`]): the commits of one wallet or ad commit in the order
//!   they were queued, one batch at a time, and two batches in flight never wait for each other.
//! - Each commit is answered after its transaction commits, with its place in the order of
//!   answers ([`Receipt::seq`]), given here as each batch ends.
//! - A wallet is read only while no batch in flight touches it, and stamped with the place of
//!   the next answer: it includes exactly the commits answered before it.
//! - A failed batch runs again carefully, then one commit at a time, on its own connection.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use tokio::sync::{Notify, mpsc};

use super::committer::{answer, load_wallets, run_batch};
use super::locks::LockSet;
use super::op::{Op, Receipt};
use super::order_ids::OrderIds;
use super::queue::{Job, Load};
use crate::domain::DomainError;
use crate::store::connection::Connection;
use crate::store::dialect::Dialect;

/// A row a commit may change, or a name it may take: two commits that share one never run in
/// two batches at once.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Ad(i64),
    Wallet(i64),
    Order(i64),
    /// A user's row or check.
    User(i64),
    /// A name's key (an idempotency key, a block, a webhook…; see `LockSet`).
    Name(i64),
    /// What touches many rows at once (purging old idempotency keys): runs alone.
    All,
}

/// The keys of one commit.
type Keys = HashSet<Key>;

/// The keys of a commit: what its transaction locks (see `LockSet`; a new order's parties, whose
/// rows it writes once, only make two batches wait, never wait in a cycle), and everything for a
/// purge.
fn keys_of(job: &Job) -> Keys {
    let mut keys: Keys = LockSet::of(std::slice::from_ref(job))
        .rows()
        .map(|(table, id)| match table {
            "ads" => Key::Ad(id),
            "wallets" => Key::Wallet(id),
            "orders" => Key::Order(id),
            "names" => Key::Name(id),
            _ => Key::User(id),
        })
        .collect();
    if (job.commit.ops.iter()).any(|op| matches!(op, Op::PurgeIdempotencyKeys { .. })) {
        keys.insert(Key::All);
    }
    keys
}

/// Whether `keys` meet any of `taken`.
fn meets(keys: &Keys, taken: &Keys) -> bool {
    taken.contains(&Key::All)
        || (keys.contains(&Key::All) && !taken.is_empty())
        || keys.iter().any(|key| taken.contains(key))
}

/// What a connection is asked to do.
enum Work {
    Batch(Vec<Job>),
    /// Wallet reads, stamped with the place of the next answer.
    Loads(Vec<Load>, u64),
}

/// What a connection did: the batch back with each commit's outcome, or the reads done.
enum Done {
    Batch(usize, Vec<Job>, Vec<Result<Receipt, DomainError>>),
    Loads(usize),
}

/// One connection's loop: it runs what the dispatcher hands it, one thing at a time.
async fn worker<C: Connection + 'static>(
    number: usize,
    mut conn: C,
    dialect: Dialect,
    mut work: mpsc::Receiver<Work>,
    done: mpsc::UnboundedSender<Done>,
) {
    let mut ids = OrderIds::default();
    while let Some(item) = work.recv().await {
        let report = match item {
            Work::Batch(batch) => {
                let outcomes = run_batch(&mut conn, dialect, &batch, &mut ids).await;
                Done::Batch(number, batch, outcomes)
            }
            Work::Loads(mut loads, seq) => {
                load_wallets(&mut conn, &mut loads, seq).await;
                Done::Loads(number)
            }
        };
        if done.send(report).is_err() {
            break;
        }
    }
}

/// The dispatcher: runs until every sender of commits is gone and every batch has ended.
pub(crate) async fn run<C: Connection + 'static>(
    conns: Vec<C>,
    dialect: Dialect,
    mut jobs: mpsc::Receiver<Job>,
    mut loads: mpsc::Receiver<Load>,
    batch_max: usize,
    events_committed: Arc<Notify>,
) {
    let (done_tx, mut done) = mpsc::unbounded_channel();
    let mut workers = Vec::with_capacity(conns.len());
    for (number, conn) in conns.into_iter().enumerate() {
        let (tx, rx) = mpsc::channel(1);
        tokio::spawn(worker(number, conn, dialect, rx, done_tx.clone()));
        workers.push(tx);
    }
    drop(done_tx);
    // One connection runs one thing at a time: nothing is in flight when it is handed work, so
    // no commit's keys can meet another's and none are worked out (a lock set and a hash set
    // per commit, on the thread every commit goes through).
    let keys_of = match workers.len() {
        1 => |_: &Job| Keys::new(),
        _ => keys_of,
    };
    let mut free: Vec<usize> = (0..workers.len()).rev().collect();
    // What each connection's current work holds.
    let mut holding: Vec<Keys> = vec![Keys::new(); workers.len()];
    let mut waiting: VecDeque<(Job, Keys)> = VecDeque::new();
    let mut waiting_loads: Vec<Load> = Vec::new();
    let mut next_seq: u64 = 0;
    let mut open = true;
    loop {
        if !open && waiting.is_empty() && free.len() == workers.len() {
            break;
        }
        tokio::select! {
            job = jobs.recv(), if open && waiting.len() < batch_max * workers.len() => match job {
                Some(job) => {
                    let keys = keys_of(&job);
                    waiting.push_back((job, keys));
                    while waiting.len() < batch_max * workers.len() {
                        let Ok(job) = jobs.try_recv() else { break };
                        let keys = keys_of(&job);
                        waiting.push_back((job, keys));
                    }
                }
                None => open = false,
            },
            Some(load) = loads.recv() => waiting_loads.push(load),
            Some(report) = done.recv() => match report {
                Done::Batch(number, batch, outcomes) => {
                    answer(batch, outcomes, &mut next_seq, &events_committed);
                    holding[number].clear();
                    free.push(number);
                }
                Done::Loads(number) => {
                    holding[number].clear();
                    free.push(number);
                }
            },
        }
        // Reads first: a wallet no work in flight touches is read at once.
        if !waiting_loads.is_empty() && !free.is_empty() {
            let busy: Keys = holding.iter().flatten().cloned().collect();
            let (ready, later): (Vec<Load>, Vec<Load>) = waiting_loads
                .drain(..)
                .partition(|load| !meets(&Keys::from([Key::Wallet(load.user_id.get())]), &busy));
            waiting_loads = later;
            if !ready.is_empty() {
                let number = free.pop().expect("a free connection");
                holding[number] = ready.iter().map(|l| Key::Wallet(l.user_id.get())).collect();
                let _ = workers[number].send(Work::Loads(ready, next_seq)).await;
            }
        }
        while let Some(&number) = free.last() {
            let batch = next_batch(&mut waiting, &holding, batch_max);
            if batch.is_empty() {
                break;
            }
            free.pop();
            let (batch, keys): (Vec<Job>, Vec<Keys>) = batch.into_iter().unzip();
            holding[number] = keys.into_iter().flatten().collect();
            let _ = workers[number].send(Work::Batch(batch)).await;
        }
    }
}

/// Takes from `waiting`, in order, the commits that meet no work in flight and no earlier commit
/// left waiting (so each row's commits keep their order), up to `batch_max`.
fn next_batch(
    waiting: &mut VecDeque<(Job, Keys)>,
    holding: &[Keys],
    batch_max: usize,
) -> Vec<(Job, Keys)> {
    let mut blocked: Keys = holding.iter().flatten().cloned().collect();
    let mut batch = Vec::new();
    let mut kept = VecDeque::with_capacity(waiting.len());
    while let Some((job, keys)) = waiting.pop_front() {
        if batch.len() < batch_max && !meets(&keys, &blocked) {
            batch.push((job, keys));
        } else {
            blocked.extend(keys.iter().cloned());
            kept.push_back((job, keys));
        }
    }
    *waiting = kept;
    batch
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(list: &[Key]) -> Keys {
        list.iter().cloned().collect()
    }

    fn job(users: &[i64]) -> (Job, Keys) {
        let ops = users
            .iter()
            .map(|&id| Op::LockUser {
                user_id: crate::domain::UserId(id),
            })
            .collect();
        let (reply, _) = tokio::sync::oneshot::channel();
        let job = Job {
            commit: super::super::op::Commit::new(ops),
            reply,
        };
        let keys = keys_of(&job);
        (job, keys)
    }

    /// Users each job of `waiting` locks.
    fn users(batch: &[(Job, Keys)]) -> Vec<Vec<i64>> {
        batch
            .iter()
            .map(|(_, keys)| {
                let mut ids: Vec<i64> = keys
                    .iter()
                    .map(|key| match key {
                        Key::User(id) => *id,
                        _ => -1,
                    })
                    .collect();
                ids.sort();
                ids
            })
            .collect()
    }

    #[test]
    fn a_batch_takes_what_meets_no_work_in_flight_and_no_earlier_commit_left_waiting() {
        let mut waiting: VecDeque<(Job, Keys)> = [
            job(&[1]),
            job(&[2, 3]),
            job(&[3]),
            job(&[4]),
            job(&[1, 5]),
            job(&[6]),
        ]
        .into();
        // User 2 is in flight: [2, 3] waits, so [3] after it waits too; [1] and [1, 5]
        // share a user but may share a batch, in their order.
        let holding = [keys(&[Key::User(2)])];
        let batch = next_batch(&mut waiting, &holding, 256);
        assert_eq!(users(&batch), vec![vec![1], vec![4], vec![1, 5], vec![6]]);
        assert_eq!(users(waiting.make_contiguous()), vec![vec![2, 3], vec![3]]);
        // Bounded by the batch size; what is left keeps its order.
        let mut waiting: VecDeque<(Job, Keys)> = [job(&[1]), job(&[2]), job(&[3])].into();
        let batch = next_batch(&mut waiting, &[], 2);
        assert_eq!(users(&batch), vec![vec![1], vec![2]]);
        assert_eq!(users(waiting.make_contiguous()), vec![vec![3]]);
    }

    #[test]
    fn keys_meet_when_they_share_one_and_all_meets_everything() {
        let a = keys(&[Key::Wallet(1), Key::Ad(2)]);
        assert!(meets(&a, &keys(&[Key::Ad(2)])));
        assert!(!meets(&a, &keys(&[Key::Ad(3), Key::Wallet(2)])));
        assert!(meets(&a, &keys(&[Key::All])));
        assert!(meets(&keys(&[Key::All]), &keys(&[Key::Order(9)])));
        assert!(!meets(&keys(&[Key::All]), &Keys::new()));
    }
}
