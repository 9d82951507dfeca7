//! Asking an actor: a bounded wait for its answer, and a bounded number of callers waiting on it
//! (ractor's mailboxes are unbounded: the bound is kept here).

use ractor::rpc::CallResult;
use ractor::{ActorRef, Message, RpcReplyPort};

use crate::config::{ACTOR_CALL_TIMEOUT, ACTOR_MAILBOX_BOUND};
use crate::domain::{DomainError, ErrorCode};

/// Why an actor gave no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoAnswer {
    /// The message never reached the actor: it had stopped (an order that ended, a wallet
    /// passivated). Nothing was done, so asking its successor is safe.
    NotDelivered,
    /// The actor took the message but stopped without answering: it may have acted, so the
    /// request must not be repeated.
    NoReply,
    /// The actor did not answer in time: it is overloaded.
    Timeout,
    /// The actor already has [`ACTOR_MAILBOX_BOUND`] calls waiting: nothing was sent.
    Full,
}

impl From<NoAnswer> for DomainError {
    fn from(no_answer: NoAnswer) -> Self {
        match no_answer {
            NoAnswer::Timeout | NoAnswer::Full => {
                DomainError::new(ErrorCode::Overloaded, "The service is busy, retry later")
            }
            NoAnswer::NotDelivered | NoAnswer::NoReply => DomainError::new(
                ErrorCode::Overloaded,
                "The service is restarting, retry later",
            ),
        }
    }
}

/// A kind of actor's messages: names for metrics and logs.
pub trait Named {
    /// The actor kind (`wallet`, `ad`, `order`).
    const KIND: &'static str;
    /// The message's name.
    fn name(&self) -> &'static str;
}

/// Sends a request to an actor and waits (bounded) for its answer.
pub async fn ask<M, T>(
    actor: &ActorRef<M>,
    request: impl FnOnce(RpcReplyPort<T>) -> M,
) -> Result<T, NoAnswer>
where
    M: Message + Named,
    T: Send + 'static,
{
    let Some(_waiting) = Waiting::enter(actor.get_id()) else {
        metrics::counter!(crate::telemetry::ACTOR_CALLS_SHED, "kind" => M::KIND).increment(1);
        return Err(NoAnswer::Full);
    };
    let in_flight = metrics::gauge!(crate::telemetry::ACTOR_CALLS_IN_FLIGHT, "kind" => M::KIND);
    in_flight.increment(1.0);
    let answer = actor.call(request, Some(ACTOR_CALL_TIMEOUT)).await;
    in_flight.decrement(1.0);
    match answer {
        Ok(CallResult::Success(answer)) => Ok(answer),
        Ok(CallResult::Timeout) => Err(NoAnswer::Timeout),
        Ok(CallResult::SenderError) => Err(NoAnswer::NoReply),
        Err(_) => Err(NoAnswer::NotDelivered),
    }
}

/// Calls waiting on each actor that has any: its mailbox's bound is enforced here, since ractor's
/// mailboxes are unbounded.
static WAITING: std::sync::LazyLock<dashmap::DashMap<ractor::ActorId, usize>> =
    std::sync::LazyLock::new(dashmap::DashMap::new);

/// One call counted against its actor's mailbox bound, until dropped.
struct Waiting(ractor::ActorId);

impl Waiting {
    fn enter(actor: ractor::ActorId) -> Option<Waiting> {
        let mut waiting = WAITING.entry(actor).or_insert(0);
        if *waiting >= ACTOR_MAILBOX_BOUND {
            return None;
        }
        *waiting += 1;
        Some(Waiting(actor))
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(mut waiting) = WAITING.get_mut(&self.0) {
            *waiting -= 1;
        }
        WAITING.remove_if(&self.0, |_, waiting| *waiting == 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ractor::{Actor, ActorProcessingErr, ActorRef};

    struct Slow;

    struct Wait(RpcReplyPort<()>);

    impl Named for Wait {
        const KIND: &'static str = "test";
        fn name(&self) -> &'static str {
            "wait"
        }
    }

    impl Actor for Slow {
        type Msg = Wait;
        type State = ();
        type Arguments = ();

        async fn pre_start(&self, _: ActorRef<Wait>, _: ()) -> Result<(), ActorProcessingErr> {
            Ok(())
        }

        async fn handle(
            &self,
            _: ActorRef<Wait>,
            Wait(reply): Wait,
            _: &mut (),
        ) -> Result<(), ActorProcessingErr> {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            let _ = reply.send(());
            Ok(())
        }
    }

    #[tokio::test]
    async fn calls_past_the_mailbox_bound_are_refused_at_once() {
        let (actor, _) = Actor::spawn(None, Slow, ()).await.unwrap();
        let calls = ACTOR_MAILBOX_BOUND + 100;
        let answers = futures_util::future::join_all((0..calls).map(|_| ask(&actor, Wait))).await;
        let full = answers
            .iter()
            .filter(|a| **a == Err(NoAnswer::Full))
            .count();
        let answered = answers.iter().filter(|a| a.is_ok()).count();
        assert!(full >= 100, "{full} refused");
        assert_eq!(full + answered, calls);
        // Once the queue drains, calls go through again, and nothing is left counted.
        assert_eq!(ask(&actor, Wait).await, Ok(()));
        assert!(!WAITING.contains_key(&actor.get_id()));
        actor.stop(None);
    }
}
