//! When users were last seen: each authenticated request notes its minute in memory, and the
//! upkeep writes the minutes not yet written once a second in one commit, so a user costs the
//! database at most one write a minute however often they call.

use super::service::{Market, Seen};
use crate::domain::track::to_minute;
use crate::domain::{DomainError, Millis, UserId};
use crate::store::{Commit, Op};

/// Seen minutes that stay in memory after they were written, so the next request of the same
/// minute writes nothing.
const KEEP_WRITTEN_MS: Millis = 2 * 60_000;

impl Seen {
    /// The minute of `user_id`'s last request on this node, if any.
    pub fn minute(&self, user_id: UserId) -> Option<Millis> {
        self.0.get(&user_id).map(|entry| entry.0)
    }
}

impl Market {
    /// Notes an authenticated request of `user_id` now.
    pub(super) fn note_seen(&self, user_id: UserId) {
        let minute = to_minute(self.now_ms());
        if self.seen.minute(user_id).is_some_and(|seen| seen >= minute) {
            return;
        }
        self.seen.0.insert(user_id, (minute, false));
        self.context.read_model.seen(user_id, minute);
    }

    /// Writes the minutes not yet written, in one commit; forgets written ones that are old.
    pub async fn write_seen(&self) -> Result<(), DomainError> {
        let forget_before = self.now_ms() - KEEP_WRITTEN_MS;
        self.seen
            .0
            .retain(|_, (minute, written)| !*written || *minute >= forget_before);
        let mut unwritten = Vec::new();
        for mut entry in self.seen.0.iter_mut() {
            if !entry.1 {
                entry.1 = true;
                unwritten.push((*entry.key(), entry.0));
            }
        }
        if unwritten.is_empty() {
            return Ok(());
        }
        let outcome = self
            .store()
            .commit(Commit::new(vec![Op::Seen(unwritten.clone())]))
            .await;
        if outcome.is_err() {
            // Written at the next tick, unless a later minute replaced it.
            for (user_id, minute) in unwritten {
                if let Some(mut entry) = self.seen.0.get_mut(&user_id)
                    && entry.0 == minute
                {
                    entry.1 = false;
                }
            }
        }
        outcome.map(|_| ())
    }

    /// Lists `user` as a maker, last seen as this node knows it: the store's minute may not have
    /// been written yet (the seen writes run once a second).
    pub(super) fn list_maker(&self, user: crate::domain::user::User) {
        let profile = crate::domain::user::Profile::from(&self.with_seen(user));
        self.context.read_model.add_maker(profile);
    }

    /// `user`'s last-seen time as this node knows it, if later than the store's.
    pub(super) fn with_seen(
        &self,
        mut user: crate::domain::user::User,
    ) -> crate::domain::user::User {
        let seen = &mut user.track.last_seen_at;
        *seen = (*seen).max(self.seen.minute(user.id));
        user
    }
}
