//! Wall-clock times the way Python's aware `datetime` holds them.
//!
//! APScheduler's trigger arithmetic happens on wall-clock fields plus a `fold` bit, and it can
//! produce wall times that do not exist (a DST gap): Python simply maps them to an instant with
//! the offset in force before the gap. To give the same answers we keep that model instead of
//! chrono's "an instant with an offset": a [`ZonedTime`] is local fields + fold + zone, and its
//! instant is computed with `zoneinfo`'s rules.

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::{OffsetName, Tz};

/// A time zone: what a `tzinfo` maps to in the core.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Zone {
    /// `datetime.timezone.utc`.
    Utc,
    /// `datetime.timezone(timedelta(...))`: a fixed offset (seconds east of UTC).
    Fixed(i32),
    /// An IANA zone (`zoneinfo.ZoneInfo`, pytz zones, zone names).
    Iana(Tz),
    /// `datetime.timezone(timedelta(...), name)`: a fixed offset with its own `%Z` text.
    NamedFixed(i32, ZoneName),
}

/// An interned zone name, so [`Zone`] stays `Copy` and small.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ZoneName(u32);

static ZONE_NAMES: std::sync::Mutex<Vec<std::sync::Arc<str>>> = std::sync::Mutex::new(Vec::new());

impl ZoneName {
    pub fn intern(name: &str) -> Self {
        let mut names = ZONE_NAMES.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = names.iter().position(|n| &**n == name) {
            return ZoneName(i as u32);
        }
        names.push(std::sync::Arc::from(name));
        ZoneName((names.len() - 1) as u32)
    }

    pub fn as_str(&self) -> std::sync::Arc<str> {
        let names = ZONE_NAMES.lock().unwrap_or_else(|e| e.into_inner());
        names.get(self.0 as usize).cloned().unwrap_or_else(|| std::sync::Arc::from(""))
    }
}

/// chrono-tz's tables end with 2099, while `zoneinfo` applies a zone's last rule forever.
/// A year's DST transitions depend only on whether it is a leap year and on the weekday of
/// January 1st, so a later year is answered by an equivalent year of the last covered cycle.
const LAST_TABLE_YEAR: i32 = 2099;

fn in_table_range(t: NaiveDateTime) -> NaiveDateTime {
    use chrono::Datelike;
    if t.year() <= LAST_TABLE_YEAR {
        return t;
    }
    let key = |y: i32| {
        let jan1 = chrono::NaiveDate::from_ymd_opt(y, 1, 1).map(|d| d.weekday());
        (chrono::NaiveDate::from_ymd_opt(y, 2, 29).is_some(), jan1)
    };
    let wanted = key(t.year());
    (LAST_TABLE_YEAR - 27..=LAST_TABLE_YEAR).find(|y| key(*y) == wanted).and_then(|y| t.with_year(y)).unwrap_or(t)
}

/// Offsets of IANA zones from per-zone tables of their offset changes.
///
/// A table lists every change of a zone's UTC offset from 1800 to the end of 2099 (where
/// chrono-tz's tables end). It is built once per zone and process, on first use, by probing
/// chrono-tz every 72 hours and bisecting each change to the second: that finds every change
/// because no tzdata zone keeps an offset for less than 95 hours (the shortest spans are
/// checked by `short_offset_spans_are_found`), so a probe step never hides a change or
/// holds two. With the changes at hand both directions (UTC -> offset, and wall
/// time + fold -> offset) are an index lookup plus a comparison or two, where each chrono-tz
/// lookup is a binary search over the zone's history, and no thread-local state is involved.
mod tables {
    use chrono::{DateTime, Offset, TimeZone};
    use chrono_tz::Tz;
    use std::sync::OnceLock;

    /// 1800-01-01 and 2099-12-01 UTC: outside, callers ask chrono-tz directly.
    const LO: i64 = -5_364_662_400;
    const HI: i64 = 4_099_766_400;
    const STEP: i64 = 72 * 3600;
    /// Index buckets of 2^21 s (about 24 days).
    const SHIFT: u32 = 21;
    /// More than any UTC offset (Python requires |offset| < 24 h).
    const DAY: i64 = 86_400;
    const MAX_ZONES: usize = 1024;

    struct Table {
        first: i32,
        /// (UTC second of the change, offset from then on), ascending.
        changes: Vec<(i64, i32)>,
        /// Per bucket: index of the first change at or after the bucket's start.
        bucket: Vec<u32>,
        /// Per bucket: its offset when no change lies within a day of it (then every UTC
        /// second and every wall time in it has that offset), else `DIRTY`.
        plain: Vec<i32>,
    }

    const DIRTY: i32 = i32::MIN;

    static TABLES: [OnceLock<Table>; MAX_ZONES] = [const { OnceLock::new() }; MAX_ZONES];

    fn probe(tz: Tz, secs: i64) -> i32 {
        let t = DateTime::from_timestamp(secs, 0).map(|d| d.naive_utc()).unwrap_or_default();
        tz.offset_from_utc_datetime(&t).fix().local_minus_utc()
    }

    fn build(tz: Tz) -> Table {
        let first = probe(tz, LO);
        let mut changes = Vec::new();
        let (mut t, mut current) = (LO, first);
        while t < HI {
            let next = (t + STEP).min(HI);
            let o = probe(tz, next);
            if o != current {
                let (mut a, mut b) = (t, next);
                while b - a > 1 {
                    let m = a + (b - a) / 2;
                    if probe(tz, m) == current { a = m } else { b = m }
                }
                changes.push((b, o));
                current = o;
            }
            t = next;
        }
        let buckets = ((HI - LO) >> SHIFT) as usize + 1;
        let mut bucket = Vec::with_capacity(buckets);
        let mut plain = Vec::with_capacity(buckets);
        let mut i = 0;
        for b in 0..buckets {
            let start = LO + ((b as i64) << SHIFT);
            while i < changes.len() && changes[i].0 < start {
                i += 1;
            }
            bucket.push(i as u32);
            let end = start + (1 << SHIFT);
            let quiet_before = i == 0 || changes[i - 1].0 < start - DAY;
            let quiet_after = changes.get(i).is_none_or(|c| c.0 > end + DAY);
            plain.push(if quiet_before && quiet_after { if i == 0 { first } else { changes[i - 1].1 } } else { DIRTY });
        }
        Table { first, changes, bucket, plain }
    }

    fn table(tz: Tz) -> Option<&'static Table> {
        Some(TABLES.get(tz as usize)?.get_or_init(|| build(tz)))
    }

    impl Table {
        /// Index of the first change at or after the bucket holding `secs` (in range).
        #[inline]
        fn start_index(&self, secs: i64) -> usize {
            self.bucket[((secs - LO) >> SHIFT) as usize] as usize
        }

        #[inline]
        fn offset_before(&self, i: usize) -> i32 {
            if i == 0 { self.first } else { self.changes[i - 1].1 }
        }
    }

    /// Offset in force at a UTC second and whether its wall time is the second occurrence
    /// of a repeated one (`fold`); `None` outside the tabled range. Far from any change
    /// (a plain bucket) the wall time cannot be repeated.
    #[inline]
    pub fn at_utc_with_fold(tz: Tz, secs: i64) -> Option<(i32, bool)> {
        if !(LO + DAY..HI - DAY).contains(&secs) {
            return None;
        }
        let t = table(tz)?;
        let plain = t.plain[((secs - LO) >> SHIFT) as usize];
        if plain != DIRTY {
            return Some((plain, false));
        }
        let offset = t.at_utc_near_change(secs);
        let local = secs + offset as i64;
        Some((offset, of_local(tz, local, false)? != offset))
    }

    /// Offset in force at a UTC second; `None` outside the tabled range.
    #[inline]
    pub fn at_utc(tz: Tz, secs: i64) -> Option<i32> {
        if !(LO..HI).contains(&secs) {
            return None;
        }
        let t = table(tz)?;
        let plain = t.plain[((secs - LO) >> SHIFT) as usize];
        if plain != DIRTY {
            return Some(plain);
        }
        Some(t.at_utc_near_change(secs))
    }

    /// Offset of a wall time (seconds on the local time line) with Python's `fold` rules,
    /// as `zoneinfo` applies them: a change at UTC `t` from `before` to `after` starts on the
    /// wall clock at `t + max(before, after)` for fold=0 and at `t + min(before, after)` for
    /// fold=1, and a wall time takes the offset of the last change started at or before it.
    #[inline]
    pub fn of_local(tz: Tz, local: i64, fold: bool) -> Option<i32> {
        if !(LO + DAY..HI - DAY).contains(&local) {
            return None;
        }
        let t = table(tz)?;
        let plain = t.plain[((local - LO) >> SHIFT) as usize];
        if plain != DIRTY {
            return Some(plain);
        }
        Some(t.of_local_near_change(local, fold))
    }

    impl Table {
        #[inline(never)]
        fn at_utc_near_change(&self, secs: i64) -> i32 {
            let mut i = self.start_index(secs);
            let mut o = self.offset_before(i);
            while let Some(&(at, after)) = self.changes.get(i)
                && at <= secs
            {
                o = after;
                i += 1;
            }
            o
        }

        #[inline(never)]
        fn of_local_near_change(&self, local: i64, fold: bool) -> i32 {
            let t = self;
            // Changes more than a day before `local` have started on the wall clock; changes
            // more than a day after it have not.
            let mut i = t.start_index(local - DAY);
            let mut before = t.offset_before(i);
            let mut o = before;
            while let Some(&(at, after)) = t.changes.get(i)
                && at <= local + DAY
            {
                let start = at + if fold { before.min(after) } else { before.max(after) } as i64;
                if local >= start {
                    o = after;
                }
                before = after;
                i += 1;
            }
            o
        }
    }

    #[cfg(test)]
    pub fn changes(tz: Tz) -> Vec<(i64, i32)> {
        table(tz).map(|t| t.changes.clone()).unwrap_or_default()
    }
}

fn naive_secs(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp()
}

impl Zone {
    /// UTC offset (seconds) in force at a UTC instant.
    pub fn offset_at_utc(&self, utc: NaiveDateTime) -> i32 {
        match self {
            Zone::Iana(tz) => Self::iana_at_utc(*tz, naive_secs(utc)),
            _ => self.offset_at_utc_secs(0),
        }
    }

    /// UTC offset (seconds) in force at a UTC second.
    #[inline]
    pub fn offset_at_utc_secs(&self, secs: i64) -> i32 {
        match self {
            Zone::Utc => 0,
            Zone::Fixed(s) | Zone::NamedFixed(s, _) => *s,
            Zone::Iana(tz) => Self::iana_at_utc(*tz, secs),
        }
    }

    #[inline]
    fn iana_at_utc(tz: Tz, secs: i64) -> i32 {
        match tables::at_utc(tz, secs) {
            Some(offset) => offset,
            None => Self::iana_at_utc_untabled(tz, secs),
        }
    }

    #[cold]
    #[inline(never)]
    fn iana_at_utc_untabled(tz: Tz, secs: i64) -> i32 {
        let utc = DateTime::from_timestamp(secs, 0).map(|d| d.naive_utc()).unwrap_or_default();
        tz.offset_from_utc_datetime(&in_table_range(utc)).fix().local_minus_utc()
    }

    /// UTC offset in force at a UTC second, and the `fold` of its wall time in this zone
    /// (`datetime.fromtimestamp` sets it on the second occurrence of a repeated wall time).
    #[inline]
    pub fn offset_and_fold_at_utc_secs(&self, secs: i64) -> (i32, bool) {
        match self {
            Zone::Iana(tz) => match tables::at_utc_with_fold(*tz, secs) {
                Some(answer) => answer,
                None => {
                    let offset = Self::iana_at_utc(*tz, secs);
                    (offset, Self::iana_of_local(*tz, secs + offset as i64, false) != offset)
                }
            },
            _ => (self.offset_at_utc_secs(secs), false),
        }
    }

    /// UTC offset (seconds) of a wall time, with Python's `fold` rules: in an overlap fold=0 is
    /// the first occurrence; in a gap fold=0 uses the offset from before the gap (so the instant
    /// lands after the transition) and fold=1 the offset from after it.
    pub fn offset_of_local(&self, local: NaiveDateTime, fold: bool) -> i32 {
        match self {
            Zone::Iana(tz) => Self::iana_of_local(*tz, naive_secs(local), fold),
            _ => self.offset_of_local_secs(0, fold),
        }
    }

    /// [`Zone::offset_of_local`] for a wall time given as seconds on the local time line.
    #[inline]
    pub fn offset_of_local_secs(&self, local: i64, fold: bool) -> i32 {
        match self {
            Zone::Utc => 0,
            Zone::Fixed(s) | Zone::NamedFixed(s, _) => *s,
            Zone::Iana(tz) => Self::iana_of_local(*tz, local, fold),
        }
    }

    #[inline]
    fn iana_of_local(tz: Tz, local: i64, fold: bool) -> i32 {
        match tables::of_local(tz, local, fold) {
            Some(offset) => offset,
            None => Self::iana_of_local_untabled(tz, local, fold),
        }
    }

    #[cold]
    #[inline(never)]
    fn iana_of_local_untabled(tz: Tz, local: i64, fold: bool) -> i32 {
        let naive = DateTime::from_timestamp(local, 0).map(|d| d.naive_utc()).unwrap_or_default();
        Self::offset_of_local_slow(tz, naive, fold)
    }

    fn offset_of_local_slow(tz: Tz, local: NaiveDateTime, fold: bool) -> i32 {
        match tz.offset_from_local_datetime(&in_table_range(local)) {
            LocalResult::Single(o) => o.fix().local_minus_utc(),
            LocalResult::Ambiguous(first, second) => {
                if fold {
                    second.fix().local_minus_utc()
                } else {
                    first.fix().local_minus_utc()
                }
            }
            LocalResult::None => {
                // Offsets on either side of the gap; no zone has two transitions within a day.
                let at = |t: NaiveDateTime| tz.offset_from_utc_datetime(&in_table_range(t)).fix().local_minus_utc();
                if fold { at(local + Duration::hours(24)) } else { at(local - Duration::hours(24)) }
            }
        }
    }

    /// The `%Z` text Python prints for a time in this zone.
    pub fn abbreviation(&self, utc: NaiveDateTime) -> String {
        match self {
            Zone::Utc => "UTC".to_owned(),
            Zone::Fixed(s) => format_utc_offset(*s),
            Zone::NamedFixed(_, name) => name.as_str().to_string(),
            Zone::Iana(tz) => {
                let off = tz.offset_from_utc_datetime(&in_table_range(utc));
                match off.abbreviation() {
                    Some(a) => a.to_owned(),
                    None => format_short_offset(off.fix().local_minus_utc()),
                }
            }
        }
    }
}

/// `UTC+05:30`, as `datetime.timezone` names an unnamed fixed offset.
pub fn format_utc_offset(seconds: i32) -> String {
    if seconds == 0 {
        return "UTC".to_owned();
    }
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    if sec != 0 { format!("UTC{sign}{h:02}:{m:02}:{sec:02}") } else { format!("UTC{sign}{h:02}:{m:02}") }
}

/// `-03` / `+0530`: the tzdata name of a zone without an abbreviation.
fn format_short_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    let (h, m) = (s / 3600, (s % 3600) / 60);
    if m != 0 { format!("{sign}{h:02}{m:02}") } else { format!("{sign}{h:02}") }
}

/// Proleptic Gregorian calendar arithmetic on plain integers (days since 1970-01-01), with
/// Neri and Schneider's "Euclidean affine functions" (2022): a few multiplications and shifts
/// instead of chrono's packed dates or the classic era formulas' divisions. Valid for years
/// -30,000..=30,000, a superset of what Python's `datetime` holds.
pub mod civil {
    /// Shift (in 400-year eras) that makes every supported date non-negative.
    const ERAS: i64 = 82;
    const K: i64 = 719_468 + 146_097 * ERAS;
    const L: i64 = 400 * ERAS;

    /// Days since 1970-01-01 of a date (any month/day in range).
    #[inline]
    pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
        let j = (m <= 2) as i64;
        let y = (y + L - j) as u64;
        let m = (m + 12 * j) as u64;
        let c = y / 100;
        let y_days = 1461 * y / 4 - c + c / 4;
        let m_days = (979 * m - 2919) / 32;
        (y_days + m_days) as i64 + d - 1 - K
    }

    /// The date of a day number: (year, month, day).
    #[inline]
    pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
        let n = (days + K) as u64;
        let n1 = 4 * n + 3;
        let c = n1 / 146_097;
        let nc = n1 % 146_097 / 4;
        let n2 = 4 * nc + 3;
        let p2 = 2_939_745 * n2;
        let z = p2 >> 32;
        let ny = (p2 & 0xFFFF_FFFF) / 2_939_745 / 4;
        let y = 100 * c + z;
        let n3 = 2141 * ny + 197_913;
        let m = n3 >> 16;
        let d = (n3 & 0xFFFF) / 2141;
        let j = (ny >= 306) as u64;
        ((y + j) as i64 - L, (m - 12 * j) as i64, d as i64 + 1)
    }

    /// Monday = 0 ... Sunday = 6 (1970-01-01 was a Thursday).
    #[inline]
    pub fn weekday(days: i64) -> i64 {
        (days + 3).rem_euclid(7)
    }

    /// ISO 8601 week number (1..=53) of a date.
    pub fn iso_week(y: i64, m: i64, d: i64) -> i64 {
        let days = days_from_civil(y, m, d);
        // The week belongs to the year of its Thursday.
        let thursday = days - weekday(days) + 3;
        let (ty, _, _) = civil_from_days(thursday);
        (thursday - days_from_civil(ty, 1, 1)) / 7 + 1
    }
}

const MICROS_PER_SECOND: i64 = 1_000_000;

/// A wall time as plain integers: `[year, month, day, hour, minute, second]`, microseconds
/// and Python's `fold`, in a zone the holder knows. The hot trigger paths (the cron search,
/// the Python fast paths) compute on this form; [`ZonedTime`] is the general currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wall {
    pub v: [i64; 6],
    pub us: i64,
    pub fold: bool,
}

impl Wall {
    pub fn from_zoned(t: &ZonedTime) -> Wall {
        use chrono::{Datelike, Timelike};
        let l = &t.local;
        Wall {
            v: [
                l.year() as i64,
                l.month() as i64,
                l.day() as i64,
                l.hour() as i64,
                l.minute() as i64,
                l.second() as i64,
            ],
            us: (l.nanosecond() / 1_000) as i64,
            fold: t.fold,
        }
    }

    /// `None` when the fields are not a valid date and time.
    pub fn to_zoned(self, zone: Zone) -> Option<ZonedTime> {
        let u = |x: i64| u32::try_from(x).ok();
        let [y, mo, d, h, mi, s] = self.v;
        let local = chrono::NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, u(mo)?, u(d)?)?.and_hms_micro_opt(
            u(h)?,
            u(mi)?,
            u(s)?,
            u(self.us)?,
        )?;
        Some(ZonedTime::new(local, self.fold, zone))
    }

    /// Seconds on the local time line (whole seconds; `us` is separate).
    #[inline]
    pub fn local_secs(&self) -> i64 {
        let [y, mo, d, h, mi, s] = self.v;
        civil::days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s
    }

    /// Microseconds on the local time line.
    #[inline]
    pub fn local_micros(&self) -> i64 {
        self.local_secs() * MICROS_PER_SECOND + self.us
    }

    #[inline]
    pub fn from_local_micros(local: i64, fold: bool) -> Wall {
        let secs = local.div_euclid(MICROS_PER_SECOND);
        let days = secs.div_euclid(86_400);
        let rest = secs - days * 86_400;
        let (y, mo, d) = civil::civil_from_days(days);
        Wall { v: [y, mo, d, rest / 3600, rest % 3600 / 60, rest % 60], us: local - secs * MICROS_PER_SECOND, fold }
    }

    /// Microseconds since the epoch of this wall time in `zone` (`ZonedTime::micros`).
    #[inline]
    pub fn micros(&self, zone: Zone) -> i64 {
        let secs = self.local_secs();
        (secs - zone.offset_of_local_secs(secs, self.fold) as i64) * MICROS_PER_SECOND + self.us
    }

    /// The wall time of an instant in `zone` (`ZonedTime::from_micros`).
    #[inline]
    pub fn from_utc_micros(micros: i64, zone: Zone) -> Wall {
        let secs = micros.div_euclid(MICROS_PER_SECOND);
        let (offset, fold) = zone.offset_and_fold_at_utc_secs(secs);
        Wall::from_local_micros(micros + offset as i64 * MICROS_PER_SECOND, fold)
    }

    /// `pyrules::utc_add`: move by `delta` microseconds on the UTC line, then read the wall
    /// time (and `fold`) back in the same zone.
    #[inline]
    pub fn utc_add(&self, zone: Zone, delta: i64) -> Wall {
        Wall::from_utc_micros(self.micros(zone) + delta, zone)
    }
}

/// An aware wall-clock time: local fields, Python's `fold` bit, and the zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ZonedTime {
    pub local: NaiveDateTime,
    pub fold: bool,
    pub zone: Zone,
}

impl ZonedTime {
    pub fn new(local: NaiveDateTime, fold: bool, zone: Zone) -> Self {
        ZonedTime { local, fold, zone }
    }

    /// `datetime.fromtimestamp(ts, tz)`: the wall time of an instant, with `fold` set on the
    /// second occurrence of a repeated wall time.
    pub fn from_instant(instant: DateTime<Utc>, zone: Zone) -> Self {
        Self::from_micros(instant.timestamp_micros(), zone)
    }

    pub fn from_micros(micros: i64, zone: Zone) -> Self {
        let secs = micros.div_euclid(1_000_000);
        let (offset, fold) = zone.offset_and_fold_at_utc_secs(secs);
        let local = naive_from_micros(micros.saturating_add(offset as i64 * 1_000_000));
        ZonedTime { local, fold, zone }
    }

    /// The UTC offset Python's `utcoffset()` gives for this value.
    #[inline]
    pub fn utc_offset(&self) -> i32 {
        match self.zone {
            Zone::Iana(_) => self.zone.offset_of_local_secs(naive_secs(self.local), self.fold),
            _ => self.zone.offset_of_local_secs(0, false),
        }
    }

    /// The instant this wall time denotes (`dt.timestamp()`).
    pub fn instant(&self) -> DateTime<Utc> {
        micros_to_instant(self.micros())
    }

    /// Microseconds since the epoch: the sort key of run times everywhere in the core.
    #[inline]
    pub fn micros(&self) -> i64 {
        self.local.and_utc().timestamp_micros() - self.utc_offset() as i64 * 1_000_000
    }

    /// `normalize()`: re-derive the wall time from the instant (moves gap times forward).
    pub fn normalized(&self) -> Self {
        Self::from_instant(self.instant(), self.zone)
    }

    /// The same instant seen in another zone (`astimezone`).
    pub fn in_zone(&self, zone: Zone) -> Self {
        Self::from_instant(self.instant(), zone)
    }

    /// `%Z` for this value. Like `utcoffset`, Python names the zone from the wall time and
    /// `fold`, not from the instant: a wall time in a gap keeps the name before the
    /// transition (fold 0) or after it (fold 1).
    pub fn abbreviation(&self) -> String {
        let Zone::Iana(tz) = self.zone else { return self.zone.abbreviation(self.instant().naive_utc()) };
        let off = match tz.offset_from_local_datetime(&in_table_range(self.local)) {
            LocalResult::Single(o) => o,
            LocalResult::Ambiguous(first, second) => {
                if self.fold {
                    second
                } else {
                    first
                }
            }
            LocalResult::None => {
                let away = if self.fold { self.local + Duration::hours(24) } else { self.local - Duration::hours(24) };
                tz.offset_from_utc_datetime(&in_table_range(away))
            }
        };
        match off.abbreviation() {
            Some(a) => a.to_owned(),
            None => format_short_offset(off.fix().local_minus_utc()),
        }
    }

    /// `datetime_repr`: `%Y-%m-%d %H:%M:%S %Z`.
    pub fn repr(&self) -> String {
        format!("{} {}", self.local.format("%Y-%m-%d %H:%M:%S"), self.abbreviation())
    }
}

/// A wall time from microseconds on the local time line (saturating like `micros_to_instant`).
pub fn naive_from_micros(micros: i64) -> NaiveDateTime {
    micros_to_instant(micros).naive_utc()
}

pub fn micros_to_instant(micros: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_micros(micros).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn local(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d).unwrap().and_hms_opt(h, mi, 0).unwrap()
    }

    fn chrono_offset(tz: Tz, secs: i64) -> i32 {
        let t = DateTime::from_timestamp(secs, 0).unwrap().naive_utc();
        tz.offset_from_utc_datetime(&t).fix().local_minus_utc()
    }

    fn chrono_local(tz: Tz, local: i64, fold: bool) -> i32 {
        Zone::offset_of_local_slow(tz, DateTime::from_timestamp(local, 0).unwrap().naive_utc(), fold)
    }

    /// Zones with odd rules (half-hour and negative DST, skipped days, Ramadan DST, the
    /// shortest offset spans in tzdata) plus a spread of all the others.
    fn sample_zones() -> Vec<Tz> {
        use chrono_tz::*;
        let mut zones = vec![
            Europe::Berlin,
            America::New_York,
            Australia::Lord_Howe,
            Africa::Casablanca,
            Asia::Gaza,
            Africa::Freetown,
            Pacific::Chatham,
            Pacific::Apia,
            Europe::Dublin,
            Antarctica::Troll,
            America::Recife,
            Africa::Tunis,
            Europe::Simferopol,
        ];
        zones.extend(TZ_VARIANTS.iter().step_by(23));
        zones
    }

    #[test]
    fn offset_tables_agree_with_chrono_tz() {
        let mut rng = fastrand::Rng::with_seed(7);
        for tz in sample_zones() {
            let changes = tables::changes(tz);
            // Around every change, both directions, to the second.
            for &(at, after) in &changes {
                for d in [-7200, -3601, -1, 0, 1, 1800, 3599, 3600, 7200] {
                    assert_eq!(tables::at_utc(tz, at + d), Some(chrono_offset(tz, at + d)), "{tz} utc {}", at + d);
                }
                for d in [-90_000, -7200, -3601, -3600, -1, 0, 1, 1800, 3599, 3600, 7200, 90_000] {
                    let local = at + after as i64 + d;
                    for fold in [false, true] {
                        assert_eq!(
                            tables::of_local(tz, local, fold),
                            Some(chrono_local(tz, local, fold)),
                            "{tz} local {local} fold {fold}"
                        );
                    }
                }
            }
            for &(at, _) in &changes {
                for d in [-90_000, -7200, -3601, -1, 0, 1, 1800, 3599, 3600, 7200, 90_000] {
                    let secs = at + d;
                    let offset = chrono_offset(tz, secs);
                    let fold = chrono_local(tz, secs + offset as i64, false) != offset;
                    assert_eq!(Zone::Iana(tz).offset_and_fold_at_utc_secs(secs), (offset, fold), "{tz} {secs}");
                }
            }
            for _ in 0..300 {
                let secs = rng.i64(-5_300_000_000..4_090_000_000);
                let offset = chrono_offset(tz, secs);
                let fold = chrono_local(tz, secs + offset as i64, false) != offset;
                assert_eq!(Zone::Iana(tz).offset_and_fold_at_utc_secs(secs), (offset, fold), "{tz} {secs}");
                assert_eq!(tables::at_utc(tz, secs), Some(chrono_offset(tz, secs)), "{tz} utc {secs}");
                assert_eq!(tables::of_local(tz, secs, false), Some(chrono_local(tz, secs, false)), "{tz} {secs}");
            }
        }
    }

    /// The tables probe every 72 hours; the shortest offset spans of tzdata 2025b (167 h in
    /// Brazil 2000 and in Gaza's Ramadan rules, 193 h in Tunis 1943; Africa/Freetown's 95 h
    /// of 1939 are backzone data, which chrono-tz leaves out) must still show up, as an
    /// hour-by-hour scan sees them.
    #[test]
    fn short_offset_spans_are_found() {
        use chrono_tz::*;
        let year = |y: i32| chrono::NaiveDate::from_ymd_opt(y, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
        for (tz, from, to) in [
            (Africa::Tunis, 1939, 1946),
            (Europe::Simferopol, 1940, 1946),
            (America::Recife, 1999, 2002),
            (Asia::Gaza, 2040, 2045),
            (Asia::Gaza, 2054, 2057),
        ] {
            let (lo, hi) = (year(from).and_utc().timestamp(), year(to).and_utc().timestamp());
            let mut hourly = Vec::new();
            let mut current = chrono_offset(tz, lo);
            let mut t = lo;
            while t < hi {
                let o = chrono_offset(tz, t);
                if o != current {
                    hourly.push(o);
                    current = o;
                }
                t += 3600;
            }
            let tabled: Vec<i32> =
                tables::changes(tz).into_iter().filter(|&(at, _)| at > lo && at < hi).map(|(_, o)| o).collect();
            assert_eq!(tabled, hourly, "{tz} {from}-{to}");
            assert!(hourly.len() >= 2, "{tz} {from}-{to}");
        }
    }

    #[test]
    fn civil_arithmetic_matches_chrono() {
        use chrono::{Datelike, NaiveDate};
        let mut day = NaiveDate::from_ymd_opt(1, 1, 1).unwrap();
        let end = NaiveDate::from_ymd_opt(10_000, 1, 10).unwrap();
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        while day < end {
            let (y, m, d) = (day.year() as i64, day.month() as i64, day.day() as i64);
            let n = (day - epoch).num_days();
            assert_eq!(civil::days_from_civil(y, m, d), n, "{day}");
            assert_eq!(civil::civil_from_days(n), (y, m, d), "{day}");
            assert_eq!(civil::weekday(n), day.weekday().num_days_from_monday() as i64, "{day}");
            assert_eq!(civil::iso_week(y, m, d), day.iso_week().week() as i64, "{day}");
            day = day.succ_opt().unwrap();
        }
    }

    #[test]
    fn gap_time_maps_like_zoneinfo() {
        let ny = Zone::Iana(chrono_tz::America::New_York);
        // 02:30 does not exist on 2026-03-08; fold=0 uses EST (-5) -> 07:30Z = 03:30 EDT.
        let t = ZonedTime::new(local(2026, 3, 8, 2, 30), false, ny);
        assert_eq!(t.instant(), Utc.with_ymd_and_hms(2026, 3, 8, 7, 30, 0).unwrap());
        assert_eq!(t.normalized().local, local(2026, 3, 8, 3, 30));
        let t1 = ZonedTime::new(local(2026, 3, 8, 2, 30), true, ny);
        assert_eq!(t1.instant(), Utc.with_ymd_and_hms(2026, 3, 8, 6, 30, 0).unwrap());
    }

    #[test]
    fn overlap_sets_fold_on_second_occurrence() {
        let ny = Zone::Iana(chrono_tz::America::New_York);
        let first = ZonedTime::from_instant(Utc.with_ymd_and_hms(2026, 11, 1, 5, 30, 0).unwrap(), ny);
        let second = ZonedTime::from_instant(Utc.with_ymd_and_hms(2026, 11, 1, 6, 30, 0).unwrap(), ny);
        assert_eq!((first.local, first.fold), (local(2026, 11, 1, 1, 30), false));
        assert_eq!((second.local, second.fold), (local(2026, 11, 1, 1, 30), true));
        assert_eq!(first.abbreviation(), "EDT");
        assert_eq!(second.abbreviation(), "EST");
    }

    #[test]
    fn zones_keep_their_last_rule_after_2099() {
        let helsinki = Zone::Iana(chrono_tz::Europe::Helsinki);
        let summer = ZonedTime::new(local(2100, 4, 1, 0, 0), false, helsinki);
        assert_eq!(summer.utc_offset(), 3 * 3600);
        assert_eq!(summer.abbreviation(), "EEST");
        let winter = ZonedTime::new(local(2150, 1, 10, 12, 0), false, helsinki);
        assert_eq!(winter.utc_offset(), 2 * 3600);
        // 2100-03-28 is the last Sunday of March: 03:30 does not exist.
        let gap = ZonedTime::new(local(2100, 3, 28, 3, 30), false, helsinki);
        assert_eq!(gap.normalized().local, local(2100, 3, 28, 4, 30));
    }

    #[test]
    fn fixed_offsets_print_like_datetime_timezone() {
        assert_eq!(format_utc_offset(19800), "UTC+05:30");
        assert_eq!(format_utc_offset(-3600), "UTC-01:00");
        assert_eq!(Zone::Utc.abbreviation(local(2026, 1, 1, 0, 0)), "UTC");
        let sp = Zone::Iana(chrono_tz::America::Sao_Paulo);
        assert_eq!(sp.abbreviation(local(2026, 1, 1, 0, 0)), "-03");
    }
}
