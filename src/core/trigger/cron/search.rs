//! The cron search (cron.md §7): walk the fields from year to second, setting a field
//! directly when a later value matches (`assign`, wall clock, keeps `fold`) and bumping the
//! next more significant field otherwise (`carry`, which adds the wall-clock difference on
//! the UTC line). Mixing the two is what produces APScheduler's DST behaviour, so both are
//! kept exactly as specified.
//!
//! The walk works on a [`Wall`] of plain integers: a field value is an array read (the
//! weekday and ISO week are computed only for fields that are not `*`), and a field's next
//! value is a bit scan for most fields (see [`super::fields::Matcher`]).

use super::fields::{Field, FieldKind, Matcher, days_in_month};
use crate::core::time::{Wall, Zone, ZonedTime, civil};
use std::cmp::Ordering;

/// Safety net against hand-made pickled states with nonsense steps; a valid trigger needs at
/// most a few million steps (day by day until year 9999).
const MAX_ITERATIONS: u32 = 20_000_000;

/// Position of a real field in [`Wall::v`].
#[inline]
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

/// The value of any field, real or virtual.
#[inline]
fn value(c: &Wall, kind: FieldKind) -> i64 {
    let [y, mo, d, ..] = c.v;
    match kind {
        FieldKind::Week => civil::iso_week(y, mo, d),
        FieldKind::DayOfWeek => civil::weekday(civil::days_from_civil(y, mo, d)),
        k => c.v[real_slot(k).unwrap_or(0)],
    }
}

/// The field's upper bound for the search: the day field stops at the month's length.
#[inline]
fn search_max(c: &Wall, kind: FieldKind) -> i64 {
    match kind {
        FieldKind::Day => days_in_month(c.v[0] as i32, c.v[1] as u32),
        k => k.max(),
    }
}

/// The wall time with real fields before `slot` kept, `slot` set to `value`, the rest
/// (microseconds included) minimal; `fold` kept. `None` when that date does not exist.
#[inline]
fn with_slot(c: &Wall, slot: usize, value: i64) -> Option<Wall> {
    const MINS: [i64; 6] = [1970, 1, 1, 0, 0, 0];
    let v: [i64; 6] = std::array::from_fn(|i| match i.cmp(&slot) {
        Ordering::Less => c.v[i],
        Ordering::Equal => value,
        Ordering::Greater => MINS[i],
    });
    let valid = (-262_000..=262_000).contains(&v[0])
        && (1..=12).contains(&v[1])
        && v[2] >= 1
        && v[2] <= days_in_month(v[0] as i32, v[1] as u32)
        && (0..24).contains(&v[3])
        && (0..60).contains(&v[4])
        && (0..60).contains(&v[5]);
    valid.then_some(Wall { v, us: 0, fold: c.fold })
}

/// Python's ordering of a wall time in `zone` against `end` (see `pyrules::cmp`).
fn cmp_end(c: &Wall, zone: Zone, end: &EndBound) -> Ordering {
    match end {
        EndBound::Wall(e) => (c.v, c.us).cmp(&(e.v, e.us)),
        EndBound::Instant(micros) => c.micros(zone).cmp(micros),
    }
}

/// `end_date` prepared for the comparisons after every step.
enum EndBound {
    /// Same zone: Python compares wall fields.
    Wall(Wall),
    /// Another zone: Python compares instants.
    Instant(i64),
}

/// `carry`: increment field `k` (moving left past virtual fields and fields at their
/// maximum), reset lower fields, and move by that wall-clock difference on the UTC line.
/// `None` when the year would pass its maximum: the schedule is exhausted.
#[inline]
fn carry(c: &Wall, zone: Zone, mut k: isize) -> Option<(Wall, isize)> {
    loop {
        let kind = *FieldKind::ALL.get(usize::try_from(k).ok()?)?;
        if let Some(slot) = real_slot(kind)
            && c.v[slot] != search_max(c, kind)
        {
            let target = with_slot(c, slot, c.v[slot] + 1)?;
            let delta = target.local_micros() - c.local_micros();
            return Some((c.utc_add(zone, delta), k));
        }
        k -= 1;
    }
}

/// The first matching wall time at or after `start` (already rounded and in the trigger zone).
pub fn search(fields: &[Field; 8], start: ZonedTime, end: Option<&ZonedTime>) -> Option<ZonedTime> {
    search_wall(fields, Wall::from_zoned(&start), start.zone, end)?.to_zoned(start.zone)
}

/// [`search`] on a wall time in `zone`.
pub fn search_wall(fields: &[Field; 8], start: Wall, zone: Zone, end: Option<&ZonedTime>) -> Option<Wall> {
    let end =
        end.map(|e| if e.zone == zone { EndBound::Wall(Wall::from_zoned(e)) } else { EndBound::Instant(e.micros()) });
    let mut c = start;
    let mut i: isize = 0;
    for _ in 0..MAX_ITERATIONS {
        let Some(field) = usize::try_from(i).ok().and_then(|i| fields.get(i)) else {
            return if i < 0 { None } else { Some(c) };
        };
        let kind = field.kind;
        // A lone `*` matches any value already in range: only a year before 1970 is not.
        if field.matcher == Matcher::Any && (kind != FieldKind::Year || c.v[0] >= kind.min()) {
            i += 1;
        } else {
            let cur = value(&c, kind);
            let ymd = (c.v[0], c.v[1], c.v[2]);
            match field.next_value(ymd, cur, search_max(&c, kind)) {
                None => (c, i) = carry(&c, zone, i - 1)?,
                Some(next) if next > cur => match real_slot(kind) {
                    Some(slot) => {
                        c = with_slot(&c, slot, next)?;
                        i += 1;
                    }
                    None => (c, i) = carry(&c, zone, i)?,
                },
                Some(_) => i += 1,
            }
        }
        if let Some(e) = &end
            && cmp_end(&c, zone, e) == Ordering::Greater
        {
            return None;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::time::naive_from_micros;
    use crate::core::trigger::pyrules;

    const MICROS_PER_SECOND: i64 = 1_000_000;

    fn utc_add_via_wall(t: &ZonedTime, delta: i64) -> Option<ZonedTime> {
        Wall::from_zoned(t).utc_add(t.zone, delta).to_zoned(t.zone)
    }

    /// The wall arithmetic gives `pyrules::utc_add`'s answers, DST edges included.
    #[test]
    fn wall_utc_add_matches_pyrules() {
        let mut rng = fastrand::Rng::with_seed(3);
        for zone in [
            Zone::Utc,
            Zone::Fixed(-5 * 3600),
            Zone::Iana(chrono_tz::Europe::Berlin),
            Zone::Iana(chrono_tz::America::New_York),
            Zone::Iana(chrono_tz::Australia::Lord_Howe),
        ] {
            for _ in 0..20_000 {
                let micros = rng.i64(0..4_000_000_000) * MICROS_PER_SECOND + rng.i64(0..2) * rng.i64(0..1_000_000);
                let mut t = ZonedTime::from_micros(micros, zone);
                if rng.bool() {
                    // Arbitrary wall times too, gaps and folds included.
                    t = ZonedTime::new(t.local, rng.bool(), zone);
                }
                let delta = [1, 1_000_000, 3_600_000_000, 86_400_000_000][rng.usize(0..4)] * rng.i64(1..40);
                assert_eq!(utc_add_via_wall(&t, delta), Some(pyrules::utc_add(&t, delta)), "{t:?} + {delta}");
                assert_eq!(Wall::from_zoned(&t).micros(zone), t.micros(), "{t:?}");
            }
        }
    }

    #[test]
    fn wall_round_trips() {
        let t = ZonedTime::from_micros(1_767_225_600_123_456, Zone::Iana(chrono_tz::Europe::Berlin));
        let c = Wall::from_zoned(&t);
        assert_eq!(c.to_zoned(t.zone), Some(t));
        assert_eq!(Wall::from_local_micros(c.local_micros(), c.fold), c);
        assert_eq!(naive_from_micros(c.local_micros()), t.local);
    }
}
