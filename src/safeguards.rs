//! What traders protect themselves with: blocks between users, and the pause of a taker who
//! cancels too many pending orders; and what the platform protects its players with: the
//! restrictions of responsible gaming (self-exclusion, cool-off).
//!
//! All are small and read on every take and listing, so they live in memory, loaded from the
//! database at start; this node's changes apply at once, other nodes' (PostgreSQL) within a
//! second of the upkeep's refresh.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use dashmap::DashMap;

use crate::domain::{Millis, OrderId, UserId};

pub struct Safeguards {
    /// For each user, the users they blocked.
    blocked: DashMap<UserId, HashSet<UserId>>,
    /// For each user, the users who blocked them.
    blocked_by: DashMap<UserId, HashSet<UserId>>,
    /// For each taker, their cancels of pending orders (when, which order), oldest first. Each
    /// order counts once, however many times it is heard of: here, and from the database.
    cancels: DashMap<UserId, VecDeque<(Millis, OrderId)>>,
    /// The id of the last cancel read from the database, where the next read starts; `NONE_READ`
    /// before the first.
    cancels_read: AtomicI64,
    /// Bumped by every block or unblock made here, so a reload read before one does not undo it.
    block_changes: AtomicU64,
    /// The id of the last block change read from the database, where the next read starts;
    /// `NONE_READ` before the first load of every block.
    blocks_read: AtomicI64,
    /// For each restricted user, when their latest restriction ends (entries past their end
    /// are dead and ignored until the next reload drops them).
    restrictions: DashMap<UserId, Millis>,
    /// The same for the restrictions made or lifted here.
    restriction_changes: AtomicU64,
}

impl Default for Safeguards {
    fn default() -> Self {
        Safeguards {
            blocked: DashMap::new(),
            blocked_by: DashMap::new(),
            cancels: DashMap::new(),
            cancels_read: AtomicI64::new(NONE_READ),
            block_changes: AtomicU64::new(0),
            blocks_read: AtomicI64::new(NONE_READ),
            restrictions: DashMap::new(),
            restriction_changes: AtomicU64::new(0),
        }
    }
}

/// `cancels_read` and `blocks_read` before the first read from the database.
const NONE_READ: i64 = i64::MIN;

/// Where the local changes stood when a reload began to read the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Changes {
    blocks: u64,
    restrictions: u64,
}

/// The pause rule: `limit` cancels within `window_ms` pause taking for `pause_ms` after the
/// last of them.
#[derive(Debug, Clone, Copy)]
pub struct PauseRule {
    pub limit: usize,
    pub window_ms: i64,
    pub pause_ms: i64,
}

impl PauseRule {
    /// Cancels older than this no longer matter.
    fn horizon(self, now: Millis) -> Millis {
        now - self.window_ms - self.pause_ms
    }
}

impl Safeguards {
    /// Where the local changes stand; read it before reading the database for a reload.
    pub fn changes(&self) -> Changes {
        Changes {
            blocks: self.block_changes.load(Ordering::SeqCst),
            restrictions: self.restriction_changes.load(Ordering::SeqCst),
        }
    }

    /// Replaces the blocks held with what the database holds (every block `(blocker, blocked)`),
    /// only if no block changed here since `since` was read: the rows read may predate that
    /// change. Answers whether it replaced them.
    pub fn reload_blocks_unless_changed(
        &self,
        since: Changes,
        blocks: &[(UserId, UserId)],
    ) -> bool {
        let unchanged = self.changes().blocks == since.blocks;
        if unchanged {
            self.replace_blocks(blocks);
        }
        unchanged
    }

    /// Sets each pair's block as the database holds it now (`(blocker, blocked, holds)`, read
    /// after the pairs changed), only if no block changed here since `since` was read. Answers
    /// whether it set them; if not, the caller reads the same changes again next time.
    pub fn update_blocks_unless_changed(
        &self,
        since: Changes,
        pairs: &[(UserId, UserId, bool)],
    ) -> bool {
        if self.changes().blocks != since.blocks {
            return false;
        }
        for &(blocker, blocked, holds) in pairs {
            match holds {
                true => self.add_block(blocker, blocked),
                false => self.remove_block(blocker, blocked),
            }
        }
        true
    }

    /// Replaces the restrictions held with those the database holds (`(user, until)`), only if
    /// none was made or lifted here since `since` was read. Answers whether it replaced them.
    pub fn reload_restrictions_unless_changed(
        &self,
        since: Changes,
        restrictions: &[(UserId, Millis)],
    ) -> bool {
        let unchanged = self.changes().restrictions == since.restrictions;
        if unchanged {
            replace(&self.restrictions, restrictions.iter().copied().collect());
        }
        unchanged
    }

    /// The id of the last block change read from the database; `None` before every block was
    /// loaded once.
    pub fn blocks_read(&self) -> Option<i64> {
        let id = self.blocks_read.load(Ordering::SeqCst);
        (id != NONE_READ).then_some(id)
    }

    /// The next read of block changes starts after `id`.
    pub fn set_blocks_read(&self, id: i64) {
        self.blocks_read.store(id, Ordering::SeqCst);
    }

    /// `user` is restricted until `until` (a later end of theirs stands).
    pub fn restrict(&self, user: UserId, until: Millis) {
        self.restriction_changes.fetch_add(1, Ordering::SeqCst);
        let mut end = self.restrictions.entry(user).or_insert(until);
        *end = (*end).max(until);
    }

    /// Every restriction of `user` is lifted.
    pub fn lift(&self, user: UserId) {
        self.restriction_changes.fetch_add(1, Ordering::SeqCst);
        self.restrictions.remove(&user);
    }

    /// Until when `user` is restricted, if they are at `now`.
    pub fn restricted_until(&self, user: UserId, now: Millis) -> Option<Millis> {
        let until = *self.restrictions.get(&user)?;
        (until > now).then_some(until)
    }

    /// The users restricted at `now`; `None` when there are none (the common case costs nothing).
    pub fn restricted(&self, now: Millis) -> Option<HashSet<UserId>> {
        if self.restrictions.is_empty() {
            return None;
        }
        let users: HashSet<UserId> = self
            .restrictions
            .iter()
            .filter(|entry| *entry.value() > now)
            .map(|entry| *entry.key())
            .collect();
        (!users.is_empty()).then_some(users)
    }

    fn replace_blocks(&self, blocks: &[(UserId, UserId)]) {
        let mut blocked: HashMap<UserId, HashSet<UserId>> = HashMap::new();
        let mut blocked_by: HashMap<UserId, HashSet<UserId>> = HashMap::new();
        for &(blocker, target) in blocks {
            blocked.entry(blocker).or_default().insert(target);
            blocked_by.entry(target).or_default().insert(blocker);
        }
        replace(&self.blocked, blocked);
        replace(&self.blocked_by, blocked_by);
    }

    pub fn block(&self, blocker: UserId, target: UserId) {
        self.block_changes.fetch_add(1, Ordering::SeqCst);
        self.add_block(blocker, target);
    }

    pub fn unblock(&self, blocker: UserId, target: UserId) {
        self.block_changes.fetch_add(1, Ordering::SeqCst);
        self.remove_block(blocker, target);
    }

    fn add_block(&self, blocker: UserId, target: UserId) {
        self.blocked.entry(blocker).or_default().insert(target);
        self.blocked_by.entry(target).or_default().insert(blocker);
    }

    fn remove_block(&self, blocker: UserId, target: UserId) {
        if let Some(mut set) = self.blocked.get_mut(&blocker) {
            set.remove(&target);
        }
        if let Some(mut set) = self.blocked_by.get_mut(&target) {
            set.remove(&blocker);
        }
        self.blocked.remove_if(&blocker, |_, set| set.is_empty());
        self.blocked_by.remove_if(&target, |_, set| set.is_empty());
    }

    /// Whether either of the two blocked the other: then they do not trade.
    pub fn between(&self, a: UserId, b: UserId) -> bool {
        let blocks =
            |x: UserId, y: UserId| self.blocked.get(&x).is_some_and(|set| set.contains(&y));
        blocks(a, b) || blocks(b, a)
    }

    /// The makers whose ads `viewer` does not see: those the viewer blocked and those who
    /// blocked the viewer. `None` when there are none (the common case costs nothing).
    pub fn hidden_from(&self, viewer: UserId) -> Option<HashSet<UserId>> {
        let mut hidden = HashSet::new();
        if let Some(set) = self.blocked.get(&viewer) {
            hidden.extend(set.iter().copied());
        }
        if let Some(set) = self.blocked_by.get(&viewer) {
            hidden.extend(set.iter().copied());
        }
        (!hidden.is_empty()).then_some(hidden)
    }

    /// Counts a taker's cancel of a pending order, made here, once.
    pub fn record_cancel(&self, taker: UserId, order: OrderId, at: Millis, rule: PauseRule) {
        let mut times = self.cancels.entry(taker).or_default();
        add_cancel(&mut times, order, at);
        prune(&mut times, rule.horizon(at));
    }

    /// Counts cancels read from the database `(taker, order, at)`, each order once (this node's
    /// own are among them, already counted), and forgets those too old to matter at `now`.
    pub fn add_cancels(&self, cancels: &[(UserId, OrderId, Millis)], now: Millis, rule: PauseRule) {
        for &(taker, order, at) in cancels {
            add_cancel(&mut self.cancels.entry(taker).or_default(), order, at);
        }
        self.cancels.retain(|_, times| {
            prune(times, rule.horizon(now));
            !times.is_empty()
        });
    }

    /// The id of the last cancel read from the database; `None` before the first read.
    pub fn cancels_read(&self) -> Option<i64> {
        Some(self.cancels_read.load(Ordering::SeqCst)).filter(|&id| id != NONE_READ)
    }

    /// The next read of cancels from the database starts after `id`.
    pub fn set_cancels_read(&self, id: i64) {
        self.cancels_read.store(id, Ordering::SeqCst);
    }

    /// Until when `taker` may not take, if paused at `now`: the pause follows the cancel that
    /// brought the count within one window to the limit.
    pub fn paused_until(&self, taker: UserId, now: Millis, rule: PauseRule) -> Option<Millis> {
        if rule.limit == 0 {
            return None;
        }
        let times = self.cancels.get(&taker)?;
        let times: Vec<Millis> = times.iter().map(|&(at, _)| at).collect();
        // The latest cancel that completed a run of `limit` within the window.
        let mut until = None;
        for end in (rule.limit - 1)..times.len() {
            let start = times[end + 1 - rule.limit];
            if times[end] - start <= rule.window_ms {
                until = Some(times[end] + rule.pause_ms);
            }
        }
        until.filter(|&until| until > now)
    }
}

/// Adds the cancel of `order` at `at` in its place by time, unless it is counted already.
fn add_cancel(times: &mut VecDeque<(Millis, OrderId)>, order: OrderId, at: Millis) {
    if times.iter().any(|&(_, counted)| counted == order) {
        return;
    }
    let place = times.partition_point(|&(t, _)| t <= at);
    times.insert(place, (at, order));
}

/// Forgets the cancels before `horizon`.
fn prune(times: &mut VecDeque<(Millis, OrderId)>, horizon: Millis) {
    while times.front().is_some_and(|&(t, _)| t < horizon) {
        times.pop_front();
    }
}

fn replace<V>(map: &DashMap<UserId, V>, with: HashMap<UserId, V>) {
    map.retain(|key, _| with.contains_key(key));
    for (key, value) in with {
        map.insert(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: PauseRule = PauseRule {
        limit: 3,
        window_ms: 1000,
        pause_ms: 500,
    };

    #[test]
    fn a_block_either_way_stops_trading_and_hides_ads() {
        let guards = Safeguards::default();
        guards.block(UserId(1), UserId(2));
        assert!(guards.between(UserId(1), UserId(2)) && guards.between(UserId(2), UserId(1)));
        assert!(!guards.between(UserId(1), UserId(3)));
        assert_eq!(
            guards.hidden_from(UserId(2)),
            Some(HashSet::from([UserId(1)]))
        );
        assert_eq!(
            guards.hidden_from(UserId(1)),
            Some(HashSet::from([UserId(2)]))
        );
        assert_eq!(guards.hidden_from(UserId(3)), None);
        guards.unblock(UserId(1), UserId(2));
        assert!(!guards.between(UserId(1), UserId(2)));
        assert_eq!(guards.hidden_from(UserId(2)), None);
    }

    #[test]
    fn the_limit_within_a_window_pauses_after_the_last_cancel() {
        let guards = Safeguards::default();
        guards.record_cancel(UserId(7), OrderId(1), 0, RULE);
        guards.record_cancel(UserId(7), OrderId(2), 600, RULE);
        assert_eq!(guards.paused_until(UserId(7), 700, RULE), None);
        guards.record_cancel(UserId(7), OrderId(3), 900, RULE);
        assert_eq!(guards.paused_until(UserId(7), 900, RULE), Some(1400));
        assert_eq!(guards.paused_until(UserId(7), 1400, RULE), None);
        // Spread wider than the window, three cancels do not pause.
        guards.record_cancel(UserId(8), OrderId(4), 0, RULE);
        guards.record_cancel(UserId(8), OrderId(5), 600, RULE);
        guards.record_cancel(UserId(8), OrderId(6), 1200, RULE);
        assert_eq!(guards.paused_until(UserId(8), 1200, RULE), None);
    }

    #[test]
    fn a_reload_read_before_a_change_does_not_undo_it() {
        let guards = Safeguards::default();
        guards.block(UserId(1), UserId(2));
        let before = guards.changes();
        // The database was read here, still holding the block; then the user unblocked.
        guards.unblock(UserId(1), UserId(2));
        assert!(!guards.reload_blocks_unless_changed(before, &[(UserId(1), UserId(2))]));
        assert!(!guards.update_blocks_unless_changed(before, &[(UserId(1), UserId(2), true)]));
        assert!(!guards.between(UserId(1), UserId(2)), "the unblock stands");
        assert!(guards.reload_blocks_unless_changed(guards.changes(), &[(UserId(3), UserId(4))]));
        assert!(guards.between(UserId(3), UserId(4)));
    }

    #[test]
    fn changed_pairs_read_from_the_database_set_those_pairs_only() {
        let guards = Safeguards::default();
        assert_eq!(guards.blocks_read(), None);
        assert!(guards.reload_blocks_unless_changed(
            guards.changes(),
            &[(UserId(1), UserId(2)), (UserId(3), UserId(4))]
        ));
        guards.set_blocks_read(7);
        assert_eq!(guards.blocks_read(), Some(7));
        let pairs = [(UserId(1), UserId(2), false), (UserId(5), UserId(6), true)];
        assert!(guards.update_blocks_unless_changed(guards.changes(), &pairs));
        assert!(!guards.between(UserId(2), UserId(1)), "lifted");
        assert!(guards.between(UserId(6), UserId(5)), "added");
        assert!(guards.between(UserId(3), UserId(4)), "not read again, kept");
        assert_eq!(
            guards.hidden_from(UserId(6)),
            Some(HashSet::from([UserId(5)]))
        );
        assert!(
            !guards.blocked.contains_key(&UserId(1)),
            "no empty set left behind"
        );
    }

    #[test]
    fn each_cancel_counts_once_whether_made_here_or_read_from_the_database() {
        let guards = Safeguards::default();
        assert_eq!(guards.cancels_read(), None);
        guards.record_cancel(UserId(9), OrderId(1), 100, RULE);
        guards.record_cancel(UserId(9), OrderId(1), 100, RULE);
        // The database holds this node's cancel too, and another node's, older.
        let read = [(UserId(9), OrderId(1), 100), (UserId(9), OrderId(2), 0)];
        guards.add_cancels(&read, 100, RULE);
        guards.add_cancels(&read, 100, RULE);
        guards.set_cancels_read(42);
        assert_eq!(guards.cancels_read(), Some(42));
        assert_eq!(
            guards.paused_until(UserId(9), 100, RULE),
            None,
            "two, not four"
        );
        // The third, read before this node records it, pauses once, after the latest.
        guards.add_cancels(&[(UserId(9), OrderId(3), 200)], 200, RULE);
        guards.record_cancel(UserId(9), OrderId(3), 200, RULE);
        assert_eq!(guards.paused_until(UserId(9), 200, RULE), Some(700));
        assert_eq!(guards.cancels.get(&UserId(9)).unwrap().len(), 3);
        // Past the window and the pause, a refresh forgets them and the taker.
        guards.add_cancels(&[], 1_801, RULE);
        assert!(guards.cancels.is_empty());
    }

    #[test]
    fn a_restriction_holds_until_its_end_or_its_lifting() {
        let guards = Safeguards::default();
        assert_eq!(guards.restricted(0), None);
        guards.restrict(UserId(1), 100);
        guards.restrict(UserId(1), 50);
        assert_eq!(guards.restricted_until(UserId(1), 99), Some(100));
        assert_eq!(guards.restricted(99), Some(HashSet::from([UserId(1)])));
        assert_eq!(guards.restricted_until(UserId(1), 100), None);
        assert_eq!(guards.restricted(100), None);
        guards.restrict(UserId(2), 100);
        guards.lift(UserId(2));
        assert_eq!(guards.restricted_until(UserId(2), 0), None);
        // A reload read before the lifting does not bring it back.
        let before = guards.changes();
        guards.lift(UserId(1));
        assert!(!guards.reload_restrictions_unless_changed(before, &[(UserId(1), 100)]));
        assert_eq!(guards.restricted_until(UserId(1), 0), None);
    }

    #[test]
    fn reload_replaces_what_was_there() {
        let guards = Safeguards::default();
        guards.block(UserId(1), UserId(2));
        guards.restrict(UserId(7), 100);
        let since = guards.changes();
        assert!(guards.reload_blocks_unless_changed(since, &[(UserId(3), UserId(4))]));
        assert!(guards.reload_restrictions_unless_changed(since, &[(UserId(6), 100)]));
        assert_eq!(guards.restricted_until(UserId(6), 99), Some(100));
        assert_eq!(guards.restricted_until(UserId(7), 99), None);
        assert!(!guards.between(UserId(1), UserId(2)));
        assert!(guards.between(UserId(4), UserId(3)));
    }

    #[test]
    fn cancels_read_out_of_order_count_in_time_order() {
        let guards = Safeguards::default();
        let read = [
            (UserId(5), OrderId(1), 10),
            (UserId(5), OrderId(2), 0),
            (UserId(5), OrderId(3), 5),
        ];
        guards.add_cancels(&read, 10, RULE);
        assert_eq!(guards.paused_until(UserId(5), 10, RULE), Some(510));
    }
}
