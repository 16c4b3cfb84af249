//! `IntervalTrigger`: a grid of elapsed (absolute) time anchored at `start_date`.
//!
//! APScheduler does this arithmetic on float POSIX timestamps, so wall-clock times drift by
//! the DST shift and results inherit `fromtimestamp`'s microsecond rounding; we use the same
//! f64 steps to match to the microsecond.

use super::{Trigger, pyrules};
use crate::core::time::{Wall, Zone, ZonedTime};

#[derive(Clone, Debug)]
pub struct IntervalTrigger {
    /// The interval in microseconds (never 0: an empty interval means one second).
    pub interval_micros: i64,
    /// `interval.total_seconds()`.
    pub length: f64,
    pub start: ZonedTime,
    pub end: Option<ZonedTime>,
    pub zone: Zone,
    pub jitter: Option<f64>,
}

impl IntervalTrigger {
    pub fn new(
        interval_micros: i64,
        start: ZonedTime,
        end: Option<ZonedTime>,
        zone: Zone,
        jitter: Option<f64>,
    ) -> Self {
        let interval_micros = if interval_micros == 0 { 1_000_000 } else { interval_micros };
        let length = interval_micros as f64 / 1e6;
        IntervalTrigger { interval_micros, length, start, end, zone, jitter }
    }

    /// No end, no jitter, and a start that its own instant gives back in the trigger's zone:
    /// all of such a trigger is its start instant, its interval and its zone (the compact form
    /// `py::job::TriggerSlot::Interval` holds).
    pub fn is_plain(&self) -> bool {
        self.end.is_none()
            && self.jitter.is_none()
            && ZonedTime::from_micros(self.start.micros(), self.zone) == self.start
    }

    /// `next_fire_time` with a previous fire time given as a wall time in the trigger's zone.
    /// `None` when this path does not apply (a jitter is set); `Some(None)` when the
    /// schedule is over. The same float arithmetic as the general path; the result's wall
    /// fields are the previous ones moved by the local difference, and only a step past
    /// midnight needs the calendar.
    #[inline]
    pub fn next_in_zone(&self, previous: &Wall) -> Option<Option<Wall>> {
        const MICROS: i64 = 1_000_000;
        const DAY: i64 = 86_400;
        if self.jitter.is_some_and(|j| j != 0.0) {
            return None;
        }
        let zone = self.zone;
        let local = previous.local_secs();
        let utc = local - zone.offset_of_local_secs(local, previous.fold) as i64;
        let prev_micros = utc * MICROS + previous.us;
        // The next instant as whole seconds + microseconds.
        let (secs, us) = match self.exact_step(prev_micros) {
            Some(_) => (utc + self.interval_micros / MICROS, previous.us),
            None => {
                let ts = prev_micros as f64 / 1e6 + self.length;
                if let Some(end) = &self.end
                    && ts > pyrules::timestamp(end)
                {
                    return Some(None);
                }
                let Some(micros) = pyrules::timestamp_micros(ts) else { return Some(None) };
                (micros.div_euclid(MICROS), micros.rem_euclid(MICROS))
            }
        };
        let (offset, fold) = zone.offset_and_fold_at_utc_secs(secs);
        let next_local = secs + offset as i64;
        let [y, mo, d, h, mi, s] = previous.v;
        let of_day = h * 3600 + mi * 60 + s + (next_local - local);
        let next = if (0..DAY).contains(&of_day) {
            Wall { v: [y, mo, d, of_day / 3600, of_day % 3600 / 60, of_day % 60], us, fold }
        } else {
            Wall::from_local_micros(next_local * MICROS + us, fold)
        };
        Some((1..=9999).contains(&next.v[0]).then_some(next))
    }

    /// `fromtimestamp(previous.timestamp() + length)` in microseconds, without the floats,
    /// where that is provably the exact sum: a whole-second interval and both instants
    /// within 2^32 s of the epoch (1833-2106). There the two rounded float operations err by
    /// at most half a unit in the last place each, 2^-22 s, together under half a
    /// microsecond, so `fromtimestamp`'s rounding to the microsecond recovers the exact value.
    /// (The float chain is long in latency; this is a single addition.) `None`: use floats.
    #[inline]
    fn exact_step(&self, prev_micros: i64) -> Option<i64> {
        const LIMIT: i64 = ((1 << 32) - 2) * 1_000_000;
        let next = prev_micros + self.interval_micros;
        let exact = self.end.is_none()
            && self.interval_micros % 1_000_000 == 0
            && (-LIMIT..LIMIT).contains(&prev_micros)
            && (-LIMIT..LIMIT).contains(&next);
        exact.then_some(next)
    }

    /// Jitter, the `end_date` check (jitter first: it can end a schedule early), conversion.
    fn finish(&self, mut ts: f64) -> Option<ZonedTime> {
        if let Some(j) = self.jitter {
            ts += pyrules::uniform(j);
        }
        match &self.end {
            Some(end) if ts > pyrules::timestamp(end) => None,
            _ => pyrules::from_timestamp(ts, self.zone),
        }
    }
}

impl Trigger for IntervalTrigger {
    fn next_fire_time(&self, previous: Option<&ZonedTime>, now: &ZonedTime) -> Option<ZonedTime> {
        if let Some(p) = previous
            && p.zone == self.zone
            && let Some(next) = self.next_in_zone(&Wall::from_zoned(p))
        {
            return next.and_then(|w| w.to_zoned(self.zone));
        }
        let ts = match previous {
            Some(p) => pyrules::timestamp(p) + self.length,
            None if pyrules::lt(now, &self.start) => pyrules::timestamp(&self.start),
            None => {
                let start = pyrules::timestamp(&self.start);
                let n = ((pyrules::timestamp(now) - start) / self.length).ceil();
                start + self.length * n
            }
        };
        self.finish(ts)
    }

    fn next_at_or_after(&self, own_previous: &ZonedTime, at: &ZonedTime) -> Option<ZonedTime> {
        if self.length <= 0.0 {
            return None;
        }
        let p = pyrules::timestamp(own_previous);
        let k = ((pyrules::timestamp(at) - p) / self.length).ceil().max(1.0);
        self.finish(p + self.length * k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[allow(clippy::too_many_arguments)]
    pub fn zt(zone: Zone, y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, us: u32) -> ZonedTime {
        let local = NaiveDate::from_ymd_opt(y, mo, d).unwrap().and_hms_micro_opt(h, mi, s, us).unwrap();
        ZonedTime::new(local, false, zone).normalized()
    }

    fn iso(t: &ZonedTime) -> String {
        let off = chrono::FixedOffset::east_opt(t.utc_offset()).unwrap();
        format!("{}{}{}", t.local.format("%Y-%m-%dT%H:%M:%S%.f"), off, if t.fold { " fold" } else { "" })
    }

    fn run(trig: &dyn Trigger, now: ZonedTime, n: usize) -> Vec<String> {
        let mut out = vec![];
        let mut r = trig.next_fire_time(None, &now);
        while let Some(t) = r {
            out.push(iso(&t));
            if out.len() == n {
                break;
            }
            r = trig.next_fire_time(Some(&t), &t);
        }
        out
    }

    #[test]
    fn int_2_grid_anchored_at_start() {
        let start = zt(Zone::Utc, 2024, 1, 1, 0, 0, 0, 0);
        let t = IntervalTrigger::new(7_200_000_000, start, None, Zone::Utc, None);
        assert_eq!(run(&t, zt(Zone::Utc, 2024, 1, 1, 5, 0, 0, 0), 1), ["2024-01-01T06:00:00+00:00"]);
        assert_eq!(run(&t, zt(Zone::Utc, 2024, 1, 1, 4, 0, 0, 0), 1), ["2024-01-01T04:00:00+00:00"]);
        assert_eq!(run(&t, zt(Zone::Utc, 2024, 1, 1, 4, 0, 0, 1), 1), ["2024-01-01T06:00:00+00:00"]);
    }

    #[test]
    fn int_8_days_across_spring_forward_drift() {
        let berlin = Zone::Iana(chrono_tz::Europe::Berlin);
        let start = zt(berlin, 2024, 3, 30, 0, 0, 0, 0);
        let t = IntervalTrigger::new(86_400_000_000, start, None, berlin, None);
        assert_eq!(
            run(&t, zt(berlin, 2024, 3, 29, 0, 0, 0, 0), 4),
            [
                "2024-03-30T00:00:00+01:00",
                "2024-03-31T00:00:00+01:00",
                "2024-04-01T01:00:00+02:00",
                "2024-04-02T01:00:00+02:00"
            ]
        );
    }

    #[test]
    fn int_9_hourly_across_fall_back_sets_fold() {
        let ny = Zone::Iana(chrono_tz::America::New_York);
        let start = zt(ny, 2024, 11, 3, 0, 0, 0, 0);
        let t = IntervalTrigger::new(3_600_000_000, start, None, ny, None);
        assert_eq!(
            run(&t, zt(ny, 2024, 11, 2, 0, 0, 0, 0), 4),
            [
                "2024-11-03T00:00:00-04:00",
                "2024-11-03T01:00:00-04:00",
                "2024-11-03T01:00:00-05:00 fold",
                "2024-11-03T02:00:00-05:00"
            ]
        );
    }

    #[test]
    fn int_6_7_end_date_inclusive_and_zero_interval() {
        let start = zt(Zone::Utc, 2024, 1, 1, 0, 0, 0, 0);
        let end = zt(Zone::Utc, 2024, 1, 1, 6, 0, 0, 0);
        let t = IntervalTrigger::new(7_200_000_000, start, Some(end), Zone::Utc, None);
        let p = zt(Zone::Utc, 2024, 1, 1, 4, 0, 0, 0);
        assert_eq!(t.next_fire_time(Some(&p), &p), Some(end));
        assert_eq!(t.next_fire_time(Some(&end), &end), None);
        assert_eq!(IntervalTrigger::new(0, start, None, Zone::Utc, None).length, 1.0);
    }

    /// The wall-time path agrees with the general one (float timestamps, `fromtimestamp`)
    /// across DST changes, midnight and folds, forward and backward intervals.
    #[test]
    fn wall_steps_match_general_arithmetic() {
        let mut rng = fastrand::Rng::with_seed(11);
        for zone in [
            Zone::Utc,
            Zone::Fixed(19_800),
            Zone::Iana(chrono_tz::Europe::Berlin),
            Zone::Iana(chrono_tz::America::New_York),
            Zone::Iana(chrono_tz::Australia::Lord_Howe),
        ] {
            for _ in 0..20_000 {
                let step = [7, 3600, 1800, 86_400, 90_000, -7, 604_800][rng.usize(0..7)] * rng.i64(1..5) * 1_000_000
                    + [0, 0, 1, 250_000, 999_999][rng.usize(0..5)];
                let start = ZonedTime::from_micros(rng.i64(-2_000_000_000..4_000_000_000) * 1_000_000, zone);
                let t = IntervalTrigger::new(step, start, None, zone, None);
                let us = [0, 0, 1, 123_456, 499_999, 500_000, 500_001, 999_999][rng.usize(0..8)];
                let secs = match rng.usize(0..4) {
                    0 => rng.i64(-2_000_000_000..4_000_000_000),
                    // Next to the binade edges where the float error bound changes.
                    1 => [1 << 30, 1 << 31, (1 << 32) - 2, -(1 << 31)][rng.usize(0..4)] + rng.i64(-100_000..100_000),
                    _ => rng.i64(0..1 << 33),
                };
                let prev = ZonedTime::from_micros(secs * 1_000_000 + us, zone);
                let prev = if rng.bool() { ZonedTime::new(prev.local, rng.bool(), zone) } else { prev };
                let float =
                    pyrules::from_timestamp(pyrules::timestamp(&prev) + t.length, zone).map(|z| Wall::from_zoned(&z));
                assert_eq!(t.next_in_zone(&Wall::from_zoned(&prev)), Some(float), "{prev:?} + {step}");
            }
        }
    }

    /// The integer step is the float arithmetic's answer wherever it is used.
    #[test]
    fn exact_step_matches_float_rounding() {
        let mut rng = fastrand::Rng::with_seed(5);
        let start = ZonedTime::from_micros(0, Zone::Utc);
        for _ in 0..400_000 {
            let step = rng.i64(-(1 << 31)..1 << 31) / [1, 1_000, 1_000_000][rng.usize(0..3)] * 1_000_000;
            let t = IntervalTrigger::new(step, start, None, Zone::Utc, None);
            let prev = rng.i64(-(1 << 32)..1 << 32) * 1_000_000 + rng.i64(0..1_000_000);
            if let Some(exact) = t.exact_step(prev) {
                assert_eq!(Some(exact), pyrules::timestamp_micros(prev as f64 / 1e6 + t.length), "{prev} + {step}");
            }
        }
    }

    #[test]
    fn int_13_keeps_start_microseconds() {
        let start = zt(Zone::Utc, 2024, 1, 1, 0, 0, 0, 250_000);
        let t = IntervalTrigger::new(600_000_000, start, None, Zone::Utc, None);
        assert_eq!(run(&t, zt(Zone::Utc, 2024, 1, 1, 0, 15, 0, 0), 1), ["2024-01-01T00:20:00.250+00:00"]);
    }
}
