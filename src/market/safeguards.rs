//! Blocks between users, the pause of takers who cancel too much, and the platform's
//! restrictions of responsible gaming.

use super::ads::require_trader;
use super::service::Market;
use crate::config::TAKER_CANCEL_WINDOW_MS;
use crate::domain::UserId;
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::restriction::{Restriction, RestrictionKind, restricted, restriction_end};
use crate::domain::{Caller, DomainError, ErrorCode, rfc3339};
use crate::store::{Commit, NewBlock, NewRestriction, Op};
use crate::views::BlockView;

impl Market {
    /// Loads the restrictions holding from the database; the blocks, the first time all of
    /// them, then only the pairs changed since the last read; and the takers' cancels it has not
    /// read yet: the first time those of the last window, then only those after the last read
    /// (the others' nodes', each once).
    pub async fn reload_safeguards(&self) -> Result<(), DomainError> {
        let context = &self.context;
        let store = &context.store;
        let guards = &context.safeguards;
        let rule = context.pause_rule();
        // A block, unblock or restriction made here while the rows were read is newer than
        // them: keep it, and take the database's view at the next refresh.
        let changes = guards.changes();
        let restrictions = store.active_restrictions(self.now_ms()).await?;
        guards.reload_restrictions_unless_changed(changes, &restrictions);
        match guards.blocks_read() {
            Some(after) => {
                let (pairs, read) = store.block_changes_after(after).await?;
                if guards.update_blocks_unless_changed(changes, &pairs) {
                    guards.set_blocks_read(read);
                }
            }
            None => {
                // Where the reads after this one start, taken first: a change both this load
                // and the next read find is read twice, to the same end.
                let read = store.last_block_change_id().await?;
                let blocks = store.blocks().await?;
                if guards.reload_blocks_unless_changed(changes, &blocks) {
                    guards.set_blocks_read(read);
                }
            }
        }
        let (cancels, read) = match guards.cancels_read() {
            Some(after) => store.taker_cancels_after(after).await?,
            None => {
                // Where the reads after this one start, taken first: a cancel both this load
                // and the next read find counts once.
                let read = store.last_taker_cancel_id().await?;
                let since =
                    self.now_ms() - rule.window_ms.max(TAKER_CANCEL_WINDOW_MS) - rule.pause_ms;
                (store.taker_cancels(since).await?, read)
            }
        };
        guards.add_cancels(&cancels, self.now_ms(), rule);
        guards.set_cancels_read(read);
        Ok(())
    }

    /// The caller no longer trades with `user_id` nor sees their ads (nor they the caller's).
    pub async fn block(
        &self,
        caller: Caller,
        user_id: UserId,
        key: Option<IdempotencyKey>,
    ) -> Result<BlockView, DomainError> {
        require_trader(caller)?;
        if user_id == caller.user_id {
            return Err(ErrorCode::CannotBlockSelf.into());
        }
        let user = self.user(user_id).await?;
        let now = self.now_ms();
        self.store()
            .commit(
                Commit::new(vec![Op::Block(NewBlock {
                    blocker_id: caller.user_id,
                    blocked_id: user_id,
                    now,
                })])
                .keyed(key),
            )
            .await?;
        self.context.safeguards.block(caller.user_id, user_id);
        let blocked_at = self
            .blocks(caller)
            .await?
            .into_iter()
            .find(|b| b.user_id == user_id.get())
            .map_or_else(|| rfc3339(now), |b| b.blocked_at);
        Ok(BlockView {
            user_id: user_id.get(),
            name: user.name,
            blocked_at,
        })
    }

    pub async fn unblock(&self, caller: Caller, user_id: UserId) -> Result<(), DomainError> {
        require_trader(caller)?;
        self.user(user_id).await?;
        self.store()
            .commit(Commit::new(vec![Op::Unblock {
                blocker_id: caller.user_id,
                blocked_id: user_id,
            }]))
            .await?;
        self.context.safeguards.unblock(caller.user_id, user_id);
        Ok(())
    }

    /// The users the caller blocked, oldest block first.
    pub async fn blocks(&self, caller: Caller) -> Result<Vec<BlockView>, DomainError> {
        require_trader(caller)?;
        Ok(self
            .store()
            .blocked_by(caller.user_id)
            .await?
            .into_iter()
            .map(|(user_id, name, at)| BlockView {
                user_id: user_id.get(),
                name,
                blocked_at: rfc3339(at),
            })
            .collect())
    }

    /// The makers whose ads `viewer` does not see listed.
    pub fn hidden_makers(&self, viewer: UserId) -> Option<std::collections::HashSet<UserId>> {
        self.context.safeguards.hidden_from(viewer)
    }

    /// The platform restricts `user_id` until `until` (RFC 3339): they stop taking and posting
    /// ads, and their ads are paused and hidden while it lasts.
    pub async fn restrict(
        &self,
        user_id: UserId,
        kind: RestrictionKind,
        until: &str,
        key: Option<IdempotencyKey>,
    ) -> Result<Restriction, DomainError> {
        self.user(user_id).await?;
        let now = self.now_ms();
        let until = restriction_end(until, now)?;
        let receipt = self
            .store()
            .commit(
                Commit::new(vec![Op::Restrict(NewRestriction {
                    user_id,
                    kind,
                    until,
                    now,
                })])
                .keyed(key),
            )
            .await?;
        self.context.safeguards.restrict(user_id, until);
        Ok(Restriction {
            id: receipt.first_id(),
            user_id,
            kind,
            until,
            created_at: now,
            lifted_at: None,
        })
    }

    /// Lifts every restriction of `user_id` that still holds; their ads come back at once.
    pub async fn lift_restrictions(&self, user_id: UserId) -> Result<(), DomainError> {
        self.user(user_id).await?;
        let now = self.now_ms();
        self.store()
            .commit(Commit::new(vec![Op::LiftRestrictions { user_id, now }]))
            .await?;
        self.context.safeguards.lift(user_id);
        Ok(())
    }

    /// Every restriction of `user_id`, newest first, lifted and ended ones included.
    pub async fn restrictions(&self, user_id: UserId) -> Result<Vec<Restriction>, DomainError> {
        self.user(user_id).await?;
        self.store().restrictions_of(user_id).await
    }

    /// The restriction of `user_id` that holds now and ends last, if any.
    pub async fn restriction(&self, user_id: UserId) -> Result<Option<Restriction>, DomainError> {
        let now = self.now_ms();
        if self
            .context
            .safeguards
            .restricted_until(user_id, now)
            .is_none()
        {
            return Ok(None);
        }
        let held = self.store().restrictions_of(user_id).await?;
        Ok(held
            .into_iter()
            .filter(|r| r.is_active(now))
            .max_by_key(|r| r.until))
    }

    /// Refuses a restricted user posting an ad.
    pub(super) fn check_maker(&self, maker: UserId) -> Result<(), DomainError> {
        match self
            .context
            .safeguards
            .restricted_until(maker, self.now_ms())
        {
            Some(until) => Err(restricted(until)),
            None => Ok(()),
        }
    }

    /// Whether `maker`'s ads are paused by a restriction now.
    pub(super) fn maker_restricted(&self, maker: UserId) -> bool {
        self.context
            .safeguards
            .restricted_until(maker, self.now_ms())
            .is_some()
    }

    /// The makers no one sees listed: those restricted now.
    pub(super) fn restricted_makers(&self) -> Option<std::collections::HashSet<UserId>> {
        self.context.safeguards.restricted(self.now_ms())
    }

    /// Refuses a taker who is restricted or paused, or who and the ad's maker blocked each
    /// other, or an ad whose maker is restricted (its ads are paused meanwhile).
    pub(super) fn check_taker(
        &self,
        taker: UserId,
        maker: Option<UserId>,
    ) -> Result<(), DomainError> {
        let context = &self.context;
        let now = self.now_ms();
        self.check_maker(taker)?;
        if let Some(until) = context
            .safeguards
            .paused_until(taker, now, context.pause_rule())
        {
            let wait_secs = ((until - now) as u64).div_ceil(1000);
            return Err(DomainError::new(
                ErrorCode::TakingPaused,
                format!(
                    "You cancelled {} pending orders within a day; you may take ads again at {}",
                    context.config.taker_cancel_limit,
                    rfc3339(until)
                ),
            )
            .retry_after(wait_secs));
        }
        if maker.is_some_and(|maker| context.safeguards.between(taker, maker)) {
            return Err(ErrorCode::UserBlocked.into());
        }
        if maker.is_some_and(|maker| self.maker_restricted(maker)) {
            return Err(DomainError::new(
                ErrorCode::AdNotActive,
                "The ad is paused while its maker's account is restricted",
            ));
        }
        Ok(())
    }
}
