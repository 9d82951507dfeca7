//! Timers kept in an actor's state, and the idle checks that let wallet and ad actors
//! passivate: memory follows the active users and ads, not the registered ones.

use std::time::{Duration, Instant};

use ractor::{ActorRef, Message};

/// A timer of an actor's (`send_after`, `send_interval`), kept in the actor's state. ractor's
/// timer is a task that holds the actor's reference, and with it the mailbox, until it fires;
/// this one is aborted when dropped, so it ends with the state, whichever way the actor stops.
pub type Timer<T = ()> = tokio_util::task::AbortOnDropHandle<T>;

/// Sends `check` to `myself` every half `idle` (every 500 ms at least), so an actor passivates
/// between one and 1.5 idle times after its last use.
fn idle_checks<M: Message>(myself: &ActorRef<M>, idle: Duration, check: fn() -> M) -> Timer {
    Timer::new(myself.send_interval((idle / 2).max(Duration::from_millis(500)), check))
}

/// When an actor was last used, and its idle checks (started once the actor runs).
pub struct Idle {
    last_active: Instant,
    checks: Option<Timer>,
}

impl Idle {
    pub fn new() -> Self {
        Self {
            last_active: Instant::now(),
            checks: None,
        }
    }

    /// Starts sending `check` to `myself`, so the actor can ask [`Idle::is_over`].
    pub fn start<M: Message>(&mut self, myself: &ActorRef<M>, idle: Duration, check: fn() -> M) {
        self.checks = Some(idle_checks(myself, idle, check));
    }

    /// The actor was used now.
    pub fn touch(&mut self) {
        self.last_active = Instant::now();
    }

    /// Whether the actor has been left alone for `idle`.
    pub fn is_over(&self, idle: Duration) -> bool {
        self.last_active.elapsed() >= idle
    }
}

impl Default for Idle {
    fn default() -> Self {
        Self::new()
    }
}
