//! The cron search (cron.md §7): walk the fields from year to second, setting a field
//! directly when a later value matches (`assign`, wall clock, keeps `fold`) and bumping the
//! next more significant field otherwise (`carry`, which adds the wall-clock difference on
//! the UTC line). Mixing the two is what produces APScheduler's DST behaviour, so both are
//! kept exactly as specified.

use super::fields::{Field, FieldKind};
use crate::core::time::ZonedTime;
use crate::core::trigger::pyrules;
use chrono::{NaiveDate, NaiveDateTime};
use std::cmp::Ordering;

/// Safety net against hand-made pickled states with nonsense steps; a valid trigger needs at
/// most a few million steps (day by day until year 9999).
const MAX_ITERATIONS: u32 = 20_000_000;

/// Real field values `[year, month, day, hour, minute, second]` of a wall time.
fn real_values(d: &NaiveDateTime) -> [i64; 6] {
    [FieldKind::Year, FieldKind::Month, FieldKind::Day, FieldKind::Hour, FieldKind::Minute, FieldKind::Second]
        .map(|k| k.value(d))
}

/// Position of a real field in [`real_values`].
fn real_slot(kind: FieldKind) -> Option<usize> {
    match kind {
        FieldKind::Year => Some(0),
        FieldKind::Month => Some(1),
        FieldKind::Day => Some(2),
        FieldKind::Hour => Some(3),
        FieldKind::Minute => Some(4),
        FieldKind::Second => Some(5),
        _ => None,
    }
}

/// Wall time with real fields before `slot` kept, `slot` set to `value`, the rest minimal.
fn build(d: &NaiveDateTime, slot: usize, value: i64) -> Option<NaiveDateTime> {
    const MINS: [i64; 6] = [1970, 1, 1, 0, 0, 0];
    let cur = real_values(d);
    let v: [i64; 6] = std::array::from_fn(|i| match i.cmp(&slot) {
        Ordering::Less => cur[i],
        Ordering::Equal => value,
        Ordering::Greater => MINS[i],
    });
    let u = |x: i64| u32::try_from(x).ok();
    NaiveDate::from_ymd_opt(i32::try_from(v[0]).ok()?, u(v[1])?, u(v[2])?)?.and_hms_opt(u(v[3])?, u(v[4])?, u(v[5])?)
}

/// `assign`: set a real field on the wall clock, keeping zone and fold, no normalisation.
fn assign(c: &ZonedTime, kind: FieldKind, value: i64) -> Option<ZonedTime> {
    let local = build(&c.local, real_slot(kind)?, value)?;
    Some(ZonedTime::new(local, c.fold, c.zone))
}

/// `carry`: increment field `k` (moving left past virtual fields and fields at their
/// maximum), reset lower fields, and move by that wall-clock difference on the UTC line.
/// `None` when the year would pass its maximum: the schedule is exhausted.
fn carry(c: &ZonedTime, mut k: isize) -> Option<(ZonedTime, isize)> {
    loop {
        let kind = *FieldKind::ALL.get(usize::try_from(k).ok()?)?;
        if kind.is_real() && kind.value(&c.local) != kind.search_max(&c.local) {
            let target = build(&c.local, real_slot(kind)?, kind.value(&c.local) + 1)?;
            let delta = (target - c.local).num_microseconds()?;
            return Some((pyrules::utc_add(c, delta), k));
        }
        k -= 1;
    }
}

/// The first matching wall time at or after `c` (already rounded and in the trigger zone).
pub fn search(fields: &[Field; 8], mut c: ZonedTime, end: Option<&ZonedTime>) -> Option<ZonedTime> {
    let mut i: isize = 0;
    for _ in 0..MAX_ITERATIONS {
        let Some(field) = usize::try_from(i).ok().and_then(|i| fields.get(i)) else {
            return if i < 0 { None } else { Some(c) };
        };
        let cur = field.kind.value(&c.local);
        match field.next_value(&c.local, cur) {
            None => (c, i) = carry(&c, i - 1)?,
            Some(next) if next > cur => {
                if field.kind.is_real() {
                    c = assign(&c, field.kind, next)?;
                    i += 1;
                } else {
                    (c, i) = carry(&c, i)?;
                }
            }
            Some(_) => i += 1,
        }
        if end.is_some_and(|e| pyrules::cmp(&c, e) == Ordering::Greater) {
            return None;
        }
    }
    None
}
