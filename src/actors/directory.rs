//! Finds the actor of an entity, spawning it on first use.

use std::future::Future;
use std::sync::Arc;

use dashmap::DashMap;
use ractor::{ActorId, ActorRef, Message};
use tokio::sync::OnceCell;

use crate::domain::DomainError;

/// Actors of one kind by entity id. A cell being filled makes concurrent callers wait for the
/// one spawn rather than spawning twice.
pub struct Directory<K, M: Message> {
    kind: &'static str,
    entries: DashMap<K, Arc<OnceCell<ActorRef<M>>>>,
}

impl<K: Copy + Eq + std::hash::Hash, M: Message> Directory<K, M> {
    pub fn new(kind: &'static str) -> Self {
        Self {
            kind,
            entries: DashMap::new(),
        }
    }

    /// The entity's actor, spawned by `spawn` if it is not resident. `spawn` answers `NOT_FOUND`
    /// for an entity that does not exist, and nothing is kept then.
    pub async fn get_or_spawn<F, Fut>(&self, id: K, spawn: F) -> Result<ActorRef<M>, DomainError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<ActorRef<M>, DomainError>>,
    {
        let cell = self.entries.entry(id).or_default().clone();
        let outcome = cell
            .get_or_try_init(|| async {
                let actor = spawn().await?;
                self.count_live(1.0);
                Ok(actor)
            })
            .await
            .cloned();
        if outcome.is_err() {
            self.entries.remove_if(&id, |_, current| {
                Arc::ptr_eq(current, &cell) && current.get().is_none()
            });
        }
        outcome
    }

    /// The entity's actor if it is resident (waiting for one being spawned right now).
    pub async fn resident(&self, id: K) -> Option<ActorRef<M>> {
        let cell = self.entries.get(&id)?.clone();
        if let Some(actor) = cell.get() {
            return Some(actor.clone());
        }
        cell.get_or_try_init(|| async { Err(()) })
            .await
            .ok()
            .cloned()
    }

    /// Registers an actor spawned elsewhere (for an entity just created).
    pub fn insert(&self, id: K, actor: ActorRef<M>) {
        self.entries
            .insert(id, Arc::new(OnceCell::new_with(Some(actor))));
        self.count_live(1.0);
    }

    /// Forgets the entity's actor, if it is still `actor` (not a newer one).
    pub fn remove(&self, id: K, actor: ActorId) {
        let removed = self.entries.remove_if(&id, |_, cell| {
            cell.get().is_some_and(|a| a.get_id() == actor)
        });
        if removed.is_some() {
            self.count_live(-1.0);
        }
    }

    /// Passivates `actor`, the entity's: it leaves the directory first, so the next request
    /// revives a fresh actor instead of finding this one, then answers what is queued and stops.
    pub fn passivate(&self, id: K, actor: &ActorRef<M>) {
        self.remove(id, actor.get_id());
        let _ = actor.drain();
    }

    /// Stops every resident actor (at shutdown).
    pub fn stop_all(&self) {
        for entry in self.entries.iter() {
            if let Some(actor) = entry.value().get() {
                actor.stop(None);
            }
        }
        self.count_live(-(self.entries.len() as f64));
        self.entries.clear();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn count_live(&self, change: f64) {
        metrics::gauge!(crate::telemetry::ACTORS_LIVE, "kind" => self.kind).increment(change);
    }
}
