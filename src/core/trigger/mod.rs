//! Triggers: given the previous fire time and "now", when does a job fire next?
//!
//! Every trigger reproduces APScheduler 3.x's arithmetic exactly, including its DST behaviour,
//! so results are [`ZonedTime`]s (wall time + fold + zone), never bare instants.
//!
//! - [`date`]: fire once.
//! - [`interval`]: fixed elapsed-time grid anchored at a start date.
//! - [`cron`]: calendar expressions with APScheduler's carry-based search.
//! - [`calendar_interval`]: every N years/months/weeks/days at a fixed wall time.
//! - [`combining`]: AND / OR of other triggers.
//! - [`pyrules`]: Python `datetime` comparison/rounding rules the others rely on.

pub mod calendar_interval;
pub mod combining;
pub mod cron;
pub mod date;
pub mod interval;
pub mod pyrules;

use crate::core::time::ZonedTime;
use std::fmt::Debug;

/// The contract every native trigger implements.
///
/// `previous` is the last fire time this trigger produced (or `None` when the job is added,
/// resumed or rescheduled); `now` is the scheduler's current time. `None` means "never again".
pub trait Trigger: Send + Sync + Debug {
    fn next_fire_time(&self, previous: Option<&ZonedTime>, now: &ZonedTime) -> Option<ZonedTime>;

    /// The first fire time of this trigger's own sequence, continued after `own_previous`,
    /// that is not earlier than `at`. Used by [`combining::AndTrigger`] to catch a member
    /// up with the others. The default walks the sequence one fire time at a time.
    fn next_at_or_after(&self, own_previous: &ZonedTime, at: &ZonedTime) -> Option<ZonedTime> {
        let mut t = *own_previous;
        for _ in 0..combining::MAX_STEPS {
            t = self.next_fire_time(Some(&t), &t)?;
            if !pyrules::lt(&t, at) {
                return Some(t);
            }
        }
        None
    }
}
