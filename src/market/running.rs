//! Keyed requests running on this node now: a second request with the same caller and key
//! waits for the first's answer instead of running twice.

use dashmap::DashSet;

/// Keys whose requests run on this node now.
#[derive(Default)]
pub struct InFlight(DashSet<(String, String)>);

/// A keyed request running here; dropping it ends the run.
pub struct Running<'a> {
    set: &'a InFlight,
    entry: (String, String),
}

impl InFlight {
    /// Marks `entry` (caller, key) as running; `None` if it runs already.
    pub fn begin(&self, entry: (String, String)) -> Option<Running<'_>> {
        self.0
            .insert(entry.clone())
            .then_some(Running { set: self, entry })
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.set.0.remove(&self.entry);
    }
}
