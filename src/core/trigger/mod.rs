//! Triggers: given the previous fire time and "now", when does a job fire next?
//!
//! Every trigger reproduces APScheduler 3.x's arithmetic exactly, including its DST behaviour,
//! so results are [`ZonedTime`]s (wall time + fold + zone), never bare instants.

use crate::core::time::ZonedTime;
use std::fmt::Debug;

/// The contract every native trigger implements.
///
/// `previous` is the last fire time this trigger produced (or `None` when the job is added,
/// resumed or rescheduled); `now` is the scheduler's current time. `None` means "never again".
pub trait Trigger: Send + Sync + Debug {
    fn next_fire_time(&self, previous: Option<&ZonedTime>, now: &ZonedTime) -> Option<ZonedTime>;
}
