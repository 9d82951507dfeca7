//! The capacities of the listed ads, side by side in chunks that never move.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use crate::config::CAPACITY_CHUNK;
use crate::domain::Kopecks;

/// The capacities of the ads in the read model, side by side in chunks that never move: a listing
/// reads every candidate's capacity, and reading them from one dense array instead of one heap
/// entry per ad keeps a scan of thousands of ads in the cache. A slot is reused once no entry and
/// no index holds it any more.
#[derive(Default)]
pub(super) struct Capacities {
    pub(super) pool: Mutex<CapacityPool>,
}

#[derive(Default)]
pub(super) struct CapacityPool {
    pub(super) chunks: Vec<Arc<[AtomicI64]>>,
    pub(super) free: Vec<usize>,
}

impl Capacities {
    pub(super) fn take(self: &Arc<Self>, value: Kopecks) -> Capacity {
        let mut pool = self
            .pool
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let slot = match pool.free.pop() {
            Some(slot) => slot,
            None => {
                let first = pool.chunks.len() * CAPACITY_CHUNK;
                pool.chunks
                    .push((0..CAPACITY_CHUNK).map(|_| AtomicI64::new(0)).collect());
                // Handed out lowest first, so the ads of a market sit close together.
                pool.free.extend((first + 1..first + CAPACITY_CHUNK).rev());
                first
            }
        };
        let capacity = Capacity {
            chunk: pool.chunks[slot / CAPACITY_CHUNK].clone(),
            offset: slot % CAPACITY_CHUNK,
            slot,
            pool: self.clone(),
        };
        capacity.set(value);
        capacity
    }
}

/// One ad's capacity: a slot of [`Capacities`], given back when dropped.
pub(super) struct Capacity {
    pub(super) chunk: Arc<[AtomicI64]>,
    pub(super) offset: usize,
    pub(super) slot: usize,
    pub(super) pool: Arc<Capacities>,
}

impl Capacity {
    #[inline]
    pub(super) fn get(&self) -> Kopecks {
        Kopecks(self.chunk[self.offset].load(Ordering::Relaxed))
    }

    #[inline]
    pub(super) fn set(&self, value: Kopecks) {
        self.chunk[self.offset].store(value.get(), Ordering::Relaxed);
    }
}

impl Drop for Capacity {
    fn drop(&mut self) {
        self.pool
            .pool
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .free
            .push(self.slot);
    }
}
