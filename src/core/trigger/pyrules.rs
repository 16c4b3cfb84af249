//! Python `datetime` rules that APScheduler's trigger arithmetic depends on.
//!
//! Why this exists: the triggers compare and add aware datetimes with Python's operators, and
//! those are not instant arithmetic. Two datetimes sharing a tzinfo object compare by their wall
//! fields (ignoring `fold`); `timestamp()`/`fromtimestamp()` go through an f64 with
//! round-half-even microseconds. Reproducing these rules here keeps every trigger exact.
//!
//! "Same tzinfo object" is modelled as "same [`Zone`]": `ZoneInfo` instances are cached per
//! key and fixed offsets behave identically under both rules, so the two notions agree.

use crate::core::time::{Zone, ZonedTime};
use std::cmp::Ordering;

/// True when Python would compare `a` and `b` by wall fields instead of instants.
fn same_tzinfo(a: &ZonedTime, b: &ZonedTime) -> bool {
    a.zone == b.zone
}

/// `a < b`, `a == b` ... as Python orders aware datetimes.
pub fn cmp(a: &ZonedTime, b: &ZonedTime) -> Ordering {
    if same_tzinfo(a, b) { a.local.cmp(&b.local) } else { a.micros().cmp(&b.micros()) }
}

pub fn lt(a: &ZonedTime, b: &ZonedTime) -> bool {
    cmp(a, b) == Ordering::Less
}

/// Whether the UTC offset of this wall time depends on `fold` (gap or repeated hour).
fn fold_matters(t: &ZonedTime) -> bool {
    t.zone.offset_of_local(t.local, false) != t.zone.offset_of_local(t.local, true)
}

/// Python `==`: inter-zone equality is never true for a fold-dependent time (PEP 495).
pub fn eq(a: &ZonedTime, b: &ZonedTime) -> bool {
    if same_tzinfo(a, b) {
        a.local == b.local
    } else {
        a.micros() == b.micros() && !fold_matters(a) && !fold_matters(b)
    }
}

/// `min(a, b)`: the first argument unless the second is strictly smaller.
pub fn min<'a>(a: &'a ZonedTime, b: &'a ZonedTime) -> &'a ZonedTime {
    if lt(b, a) { b } else { a }
}

/// `max(a, b)`: the first argument unless the second is strictly greater.
pub fn max<'a>(a: &'a ZonedTime, b: &'a ZonedTime) -> &'a ZonedTime {
    if lt(a, b) { b } else { a }
}

/// `dt.timestamp()`: exact microseconds divided by 10**6, correctly rounded.
pub fn timestamp(t: &ZonedTime) -> f64 {
    t.micros() as f64 / 1e6
}

/// `datetime.fromtimestamp(ts, zone)`: the fraction becomes microseconds rounded half-even.
/// `None` when the value is not finite or out of `datetime`'s range.
pub fn from_timestamp(ts: f64, zone: Zone) -> Option<ZonedTime> {
    in_range(ZonedTime::from_micros(timestamp_micros(ts)?, zone))
}

/// The microseconds since the epoch `datetime.fromtimestamp(ts, ...)` lands on; `None` when
/// `ts` is not finite or beyond `datetime`'s range.
#[inline]
pub fn timestamp_micros(ts: f64) -> Option<i64> {
    if !ts.is_finite() {
        return None;
    }
    // `trunc` and `round_ties_even` without libm calls: casts saturate (huge values fail the
    // range check below) and adding 1.5 * 2^52 rounds half-even for |x| < 2^51.
    const ROUND: f64 = 6_755_399_441_055_744.0;
    let mut int_part = ts as i64 as f64;
    if ts.abs() >= 9.0e18 {
        return None;
    }
    let mut frac = ((ts - int_part) * 1e6 + ROUND) - ROUND;
    if frac >= 1e6 {
        frac -= 1e6;
        int_part += 1.0;
    } else if frac < 0.0 {
        frac += 1e6;
        int_part -= 1.0;
    }
    // datetime covers years 1..=9999: about ±2.6e11 s around the epoch.
    if !(-62_135_596_800.0..=253_402_300_799.0).contains(&int_part) {
        return None;
    }
    Some(int_part as i64 * 1_000_000 + frac as i64)
}

/// Rejects values Python could not represent (year outside 1..=9999).
pub fn in_range(t: ZonedTime) -> Option<ZonedTime> {
    use chrono::Datelike;
    (1..=9999).contains(&t.local.year()).then_some(t)
}

/// `datetime_utc_add`: add on the UTC line, then express the result in the same zone.
pub fn utc_add(t: &ZonedTime, micros: i64) -> ZonedTime {
    ZonedTime::from_micros(t.micros() + micros, t.zone)
}

/// `datetime_ceil`: round up to a whole second on the UTC line.
pub fn ceil_second(t: &ZonedTime) -> ZonedTime {
    use chrono::Timelike;
    let us = t.local.nanosecond() as i64 / 1_000;
    if us == 0 { *t } else { utc_add(t, 1_000_000 - us) }
}

/// `dt.astimezone(zone)`: unchanged when already in that zone, else through the instant.
pub fn astimezone(t: &ZonedTime, zone: Zone) -> ZonedTime {
    if t.zone == zone { *t } else { t.in_zone(zone) }
}

/// `dt + timedelta(seconds=s)`: wall-clock addition, fold reset to 0, microseconds rounded
/// half-even like the `timedelta` constructor.
pub fn wall_add_seconds(t: &ZonedTime, seconds: f64) -> Option<ZonedTime> {
    let micros = (seconds * 1e6).round_ties_even();
    if !micros.is_finite() || micros.abs() > 3.2e17 {
        return None;
    }
    let local = t.local.checked_add_signed(chrono::Duration::microseconds(micros as i64))?;
    in_range(ZonedTime::new(local, false, t.zone))
}

/// `random.uniform(0, jitter)`.
pub fn uniform(jitter: f64) -> f64 {
    jitter * fastrand::f64()
}

/// `BaseTrigger._apply_jitter`: falsy jitter (None, 0) leaves the time alone.
pub fn apply_jitter(t: Option<ZonedTime>, jitter: Option<f64>) -> Option<ZonedTime> {
    match (t, jitter) {
        (Some(t), Some(j)) if j != 0.0 => wall_add_seconds(&t, uniform(j)),
        (t, _) => t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn berlin(d: u32, h: u32, m: u32, fold: bool) -> ZonedTime {
        let local = NaiveDate::from_ymd_opt(2024, 10, d).unwrap().and_hms_opt(h, m, 0).unwrap();
        ZonedTime::new(local, fold, Zone::Iana(chrono_tz::Europe::Berlin))
    }

    #[test]
    fn same_zone_compares_wall_fields_ignoring_fold() {
        let a = berlin(27, 2, 30, false);
        let b = berlin(27, 2, 10, true); // later instant, earlier wall time
        assert!(lt(&b, &a));
        assert!(eq(&berlin(27, 2, 30, true), &a));
        let utc_b = b.in_zone(Zone::Utc);
        assert!(lt(&a, &utc_b));
        // PEP 495: inter-zone == fails inside the fold even for the same instant.
        assert!(!eq(&a, &a.in_zone(Zone::Utc)));
    }

    #[test]
    fn fromtimestamp_rounds_half_even() {
        let t = from_timestamp(1.5e-6, Zone::Utc).unwrap();
        assert_eq!(t.micros(), 2);
        let t = from_timestamp(-0.0000005, Zone::Utc).unwrap();
        assert_eq!(t.micros(), 0);
        assert!(from_timestamp(f64::NAN, Zone::Utc).is_none());
        assert!(from_timestamp(1e300, Zone::Utc).is_none());
    }
}
