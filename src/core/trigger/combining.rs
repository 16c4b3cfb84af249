//! `AndTrigger` / `OrTrigger`: combine other triggers.
//!
//! Or: every member is asked with the same `(previous, now)`; the earliest answer wins.
//!
//! And: members are asked with `(previous, now)`, and while they disagree `now` moves to the
//! latest answer. APScheduler 3.11 stops there and can loop forever, because members that
//! ignore `now` (date and calendar triggers always; cron and interval once `previous` is
//! given) never move. We run the same loop while it makes progress, so every answer
//! APScheduler gives is reproduced; once `now` stops changing we switch to a bounded
//! catch-up: each member that is behind advances along its own sequence
//! ([`Trigger::next_at_or_after`]) to the latest answer. If the members still do not agree
//! within [`MAX_STEPS`] rounds, the result is `None` (the schedule ends) instead of a hang.

use super::{Trigger, pyrules};
use crate::core::time::ZonedTime;
use std::sync::Arc;

/// Upper bound on rounds of the AND search (and on single-stepping a member).
pub const MAX_STEPS: usize = 10_000;

#[derive(Clone, Debug)]
pub struct OrTrigger {
    pub members: Vec<Arc<dyn Trigger>>,
    pub jitter: Option<f64>,
}

#[derive(Clone, Debug)]
pub struct AndTrigger {
    pub members: Vec<Arc<dyn Trigger>>,
    pub jitter: Option<f64>,
}

/// The earliest time (the first one among equals), as Python's `min()` picks it.
fn earliest(times: &[ZonedTime]) -> Option<&ZonedTime> {
    times.iter().reduce(|best, t| if pyrules::lt(t, best) { t } else { best })
}

/// The latest time (the first one among equals), as Python's `max()` picks it.
fn latest(times: &[ZonedTime]) -> Option<ZonedTime> {
    times.iter().reduce(|best, t| if pyrules::lt(best, t) { t } else { best }).copied()
}

/// The agreed time, if the members agree: Python's `min(times) == max(times)` (so equal
/// instants in different zones agree unless a fold makes `==` false, as in 3.11.3).
fn agreed(times: &[ZonedTime]) -> Option<ZonedTime> {
    let first = earliest(times)?;
    pyrules::eq(first, &latest(times)?).then_some(*first)
}

impl Trigger for OrTrigger {
    fn next_fire_time(&self, previous: Option<&ZonedTime>, now: &ZonedTime) -> Option<ZonedTime> {
        let times: Vec<ZonedTime> = self.members.iter().filter_map(|m| m.next_fire_time(previous, now)).collect();
        pyrules::apply_jitter(earliest(&times).copied(), self.jitter)
    }
}

impl AndTrigger {
    fn ask_all(&self, previous: Option<&ZonedTime>, now: &ZonedTime) -> Option<Vec<ZonedTime>> {
        self.members.iter().map(|m| m.next_fire_time(previous, now)).collect()
    }

    /// The bounded replacement for APScheduler's endless loop (see the module docs).
    fn catch_up(&self, mut times: Vec<ZonedTime>) -> Option<ZonedTime> {
        for _ in 0..MAX_STEPS {
            if let Some(t) = agreed(&times) {
                return Some(t);
            }
            let target = latest(&times)?;
            for (member, t) in self.members.iter().zip(times.iter_mut()) {
                if pyrules::lt(t, &target) {
                    *t = member.next_at_or_after(t, &target)?;
                }
            }
        }
        None
    }

    fn search(&self, previous: Option<&ZonedTime>, now: &ZonedTime) -> Option<ZonedTime> {
        if self.members.is_empty() {
            return None; // APScheduler raises IndexError here; the bindings reproduce that
        }
        let mut now = *now;
        for _ in 0..MAX_STEPS {
            let times = self.ask_all(previous, &now)?;
            if let Some(t) = agreed(&times) {
                return Some(t);
            }
            let target = latest(&times)?;
            if target == now {
                return self.catch_up(times); // APScheduler would repeat this round forever
            }
            now = target;
        }
        None
    }
}

impl Trigger for AndTrigger {
    fn next_fire_time(&self, previous: Option<&ZonedTime>, now: &ZonedTime) -> Option<ZonedTime> {
        pyrules::apply_jitter(self.search(previous, now), self.jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::time::Zone;
    use crate::core::trigger::cron::{CronTrigger, build_fields};
    use crate::core::trigger::date::DateTrigger;

    fn utc(h: i64) -> ZonedTime {
        ZonedTime::from_micros(1_704_067_200_000_000 + h * 3_600_000_000, Zone::Utc) // 2024-01-01 + h hours
    }

    fn hours(expr: &'static str) -> Arc<dyn Trigger> {
        let fields = build_fields([None, None, None, None, None, Some(expr), None, None]).unwrap();
        Arc::new(CronTrigger { fields, start: None, end: None, zone: Zone::Utc, jitter: None })
    }

    #[test]
    fn and_2_first_call_matches_apscheduler_and_later_calls_terminate() {
        let t = AndTrigger { members: vec![hours("*/2"), hours("*/3")], jitter: None };
        let first = t.next_fire_time(None, &utc(1)).unwrap();
        assert_eq!(first, utc(6));
        // APScheduler 3.11.3 never returns from this call; we continue the intersection.
        assert_eq!(t.next_fire_time(Some(&first), &first), Some(utc(12)));
    }

    #[test]
    fn and_3_ends_when_a_member_ends() {
        let date: Arc<dyn Trigger> = Arc::new(DateTrigger { run_date: utc(6) });
        let t = AndTrigger { members: vec![date, hours("6")], jitter: None };
        assert_eq!(t.next_fire_time(None, &utc(0)), Some(utc(6)));
        assert_eq!(t.next_fire_time(Some(&utc(6)), &utc(6)), None);
    }

    #[test]
    fn disjoint_members_give_none_not_a_hang() {
        let t = AndTrigger { members: vec![hours("1"), hours("2")], jitter: None };
        let first = t.next_fire_time(None, &utc(0));
        assert_eq!(first, None);
    }

    #[test]
    fn or_4_members_share_previous() {
        let start = utc(0);
        let iv: Arc<dyn Trigger> = Arc::new(crate::core::trigger::interval::IntervalTrigger::new(
            5 * 3_600_000_000,
            start,
            None,
            Zone::Utc,
            None,
        ));
        let t = OrTrigger { members: vec![iv, hours("2")], jitter: None };
        let mut got = vec![t.next_fire_time(None, &utc(0)).unwrap()];
        for _ in 0..3 {
            let p = *got.last().unwrap();
            got.push(t.next_fire_time(Some(&p), &p).unwrap());
        }
        assert_eq!(got, [utc(0), utc(2), utc(7), utc(12)]);
    }
}
