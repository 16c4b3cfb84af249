//! `CalendarIntervalTrigger`: every N years/months/weeks/days at a fixed wall-clock time.
//!
//! Months and years are added first and a month without the day (Jan 31 + 1 month) is
//! skipped, not clamped; then days. A day whose configured time falls into a DST gap is
//! skipped; in a repeated hour the first occurrence is used. The first call returns
//! `start_date` even when it is in the past (APScheduler 3.11 behaviour).

use super::{Trigger, pyrules};
use crate::core::time::{Zone, ZonedTime};
use chrono::{Datelike, Duration, NaiveDate, NaiveTime};

/// Bound for the month-skipping and gap-skipping loops (APScheduler would loop forever on
/// some degenerate inputs, e.g. a date past year 9999).
const MAX_LOOPS: usize = 10_000;

#[derive(Clone, Debug)]
pub struct CalendarIntervalTrigger {
    pub years: i64,
    pub months: i64,
    /// `days + 7 * weeks`.
    pub step_days: i64,
    pub time: NaiveTime,
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
    pub zone: Zone,
    pub jitter: Option<f64>,
}

impl CalendarIntervalTrigger {
    /// The date after `p`: years/months (repeated until the day exists), then days.
    fn advance(&self, p: NaiveDate) -> Option<NaiveDate> {
        let (mut year, mut month) = (p.year() as i64, p.month() as i64);
        for _ in 0..MAX_LOOPS {
            month += self.months;
            year += self.years + (month - 1).div_euclid(12);
            month = (month - 1).rem_euclid(12) + 1;
            if !(1..=9999).contains(&year) {
                return None;
            }
            if let Some(d) = NaiveDate::from_ymd_opt(year as i32, month as u32, p.day()) {
                let d = d.checked_add_signed(Duration::try_days(self.step_days)?)?;
                return (1..=9999).contains(&d.year()).then_some(d);
            }
        }
        None
    }
}

impl Trigger for CalendarIntervalTrigger {
    fn next_fire_time(&self, previous: Option<&ZonedTime>, _now: &ZonedTime) -> Option<ZonedTime> {
        let mut prev = previous.map(|p| p.local.date());
        for _ in 0..MAX_LOOPS {
            let date = match prev {
                Some(p) => self.advance(p)?,
                None => self.start,
            };
            if self.end.is_some_and(|e| date > e) {
                return None;
            }
            let t = ZonedTime::new(date.and_time(self.time), false, self.zone).normalized();
            if t.local.time() == self.time {
                return pyrules::apply_jitter(pyrules::in_range(t), self.jitter);
            }
            prev = Some(t.local.date()); // the time does not exist that day: skip it
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trig(
        years: i64,
        months: i64,
        days: i64,
        time: (u32, u32),
        start: (i32, u32, u32),
        zone: Zone,
    ) -> CalendarIntervalTrigger {
        CalendarIntervalTrigger {
            years,
            months,
            step_days: days,
            time: NaiveTime::from_hms_opt(time.0, time.1, 0).unwrap(),
            start: NaiveDate::from_ymd_opt(start.0, start.1, start.2).unwrap(),
            end: None,
            zone,
            jitter: None,
        }
    }

    fn run(t: &CalendarIntervalTrigger, n: usize) -> Vec<String> {
        let now = ZonedTime::from_micros(0, Zone::Utc);
        let mut out = vec![];
        let mut r = t.next_fire_time(None, &now);
        while let Some(x) = r {
            let off = chrono::FixedOffset::east_opt(x.utc_offset()).unwrap();
            out.push(format!("{}{}", x.local.format("%Y-%m-%dT%H:%M"), off));
            if out.len() == n {
                break;
            }
            r = t.next_fire_time(Some(&x), &x);
        }
        out
    }

    #[test]
    fn cal_1_and_8_skip_missing_month_days() {
        let t = trig(0, 1, 0, (9, 0), (2024, 1, 31), Zone::Utc);
        assert_eq!(
            run(&t, 4),
            ["2024-01-31T09:00+00:00", "2024-03-31T09:00+00:00", "2024-05-31T09:00+00:00", "2024-07-31T09:00+00:00"]
        );
        let t = trig(0, 1, 1, (0, 0), (2024, 1, 31), Zone::Utc);
        assert_eq!(run(&t, 3), ["2024-01-31T00:00+00:00", "2024-04-01T00:00+00:00", "2024-05-02T00:00+00:00"]);
    }

    #[test]
    fn cal_4_5_dst_gap_skipped_overlap_first() {
        let berlin = Zone::Iana(chrono_tz::Europe::Berlin);
        let t = trig(0, 0, 1, (2, 30), (2024, 3, 30), berlin);
        assert_eq!(run(&t, 3), ["2024-03-30T02:30+01:00", "2024-04-01T02:30+02:00", "2024-04-02T02:30+02:00"]);
        let t = trig(0, 0, 1, (2, 30), (2024, 10, 26), berlin);
        assert_eq!(run(&t, 3), ["2024-10-26T02:30+02:00", "2024-10-27T02:30+02:00", "2024-10-28T02:30+01:00"]);
    }

    #[test]
    fn year_overflow_ends_instead_of_looping() {
        let t = trig(1, 0, 0, (0, 0), (9996, 2, 29), Zone::Utc);
        assert_eq!(run(&t, 5), ["9996-02-29T00:00+00:00"]);
    }
}
