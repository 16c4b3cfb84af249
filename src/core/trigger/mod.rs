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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::time::Zone;
    use std::sync::Arc;

    /// The engine shares triggers across threads; results must not depend on the thread.
    #[test]
    fn triggers_are_shareable_across_threads() {
        let zone = Zone::Iana(chrono_tz::Europe::Berlin);
        let fields =
            cron::build_fields([None, None, None, None, Some("mon-fri"), Some("9"), Some("30"), None]).unwrap();
        let cron: Arc<dyn Trigger> = Arc::new(cron::CronTrigger { fields, start: None, end: None, zone, jitter: None });
        let start = ZonedTime::from_micros(1_711_756_800_000_000, zone); // 2024-03-30 00:00 UTC
        let interval: Arc<dyn Trigger> =
            Arc::new(interval::IntervalTrigger::new(3_600_000_000, start, None, zone, None));
        let both: Arc<dyn Trigger> = Arc::new(combining::OrTrigger { members: vec![cron, interval], jitter: None });
        let walk = move |t: Arc<dyn Trigger>| {
            let mut prev = None;
            (0..200)
                .map(|_| {
                    prev = t.next_fire_time(prev.as_ref(), &start);
                    prev.map(|p| p.micros())
                })
                .collect::<Vec<_>>()
        };
        let expected = walk(both.clone());
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let t = both.clone();
                std::thread::spawn(move || walk(t))
            })
            .collect::<Vec<_>>();
        for h in handles {
            assert_eq!(h.join().unwrap(), expected);
        }
    }
}
