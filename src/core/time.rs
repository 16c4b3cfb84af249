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

/// Offsets of recently used hours, per thread: a trigger search asks about the same few
/// hours again and again, and each chrono-tz lookup is a binary search over the whole
/// transition table. An hour is cached only when its first and last second have the same
/// offset (no transition inside it: tzdata has no two transitions within one hour).
mod offset_cache {
    use std::cell::RefCell;

    const SLOTS: usize = 256;
    /// (zone id, hour since the epoch, offset); `zone id` 0 marks an empty slot.
    type Slot = (u32, i64, i32);

    thread_local! {
        static UTC_HOURS: RefCell<[Slot; SLOTS]> = const { RefCell::new([(0, 0, 0); SLOTS]) };
        static LOCAL_HOURS: RefCell<[Slot; SLOTS]> = const { RefCell::new([(0, 0, 0); SLOTS]) };
    }

    fn slot(zone: u32, hour: i64) -> usize {
        (hour as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(zone as u64) as usize % SLOTS
    }

    fn get(table: &'static std::thread::LocalKey<RefCell<[Slot; SLOTS]>>, zone: u32, hour: i64) -> Option<i32> {
        table.with(|t| {
            let (z, h, offset) = t.borrow()[slot(zone, hour)];
            (z == zone && h == hour).then_some(offset)
        })
    }

    fn put(table: &'static std::thread::LocalKey<RefCell<[Slot; SLOTS]>>, zone: u32, hour: i64, offset: i32) {
        table.with(|t| t.borrow_mut()[slot(zone, hour)] = (zone, hour, offset));
    }

    pub fn utc(zone: u32, hour: i64) -> Option<i32> {
        get(&UTC_HOURS, zone, hour)
    }
    pub fn put_utc(zone: u32, hour: i64, offset: i32) {
        put(&UTC_HOURS, zone, hour, offset)
    }
    pub fn local(zone: u32, hour: i64) -> Option<i32> {
        get(&LOCAL_HOURS, zone, hour)
    }
    pub fn put_local(zone: u32, hour: i64, offset: i32) {
        put(&LOCAL_HOURS, zone, hour, offset)
    }
}

/// Seconds since the epoch of a naive date-time read as UTC, and its hour.
fn hour_of(t: NaiveDateTime) -> (i64, i64) {
    let secs = t.and_utc().timestamp();
    (secs, secs.div_euclid(3600))
}

fn zone_id(tz: Tz) -> u32 {
    tz as u32 + 1
}

impl Zone {
    /// UTC offset (seconds) in force at a UTC instant.
    pub fn offset_at_utc(&self, utc: NaiveDateTime) -> i32 {
        match self {
            Zone::Utc => 0,
            Zone::Fixed(s) | Zone::NamedFixed(s, _) => *s,
            Zone::Iana(tz) => {
                let (_, hour) = hour_of(utc);
                if let Some(offset) = offset_cache::utc(zone_id(*tz), hour) {
                    return offset;
                }
                let lookup = |t: NaiveDateTime| tz.offset_from_utc_datetime(&in_table_range(t)).fix().local_minus_utc();
                let offset = lookup(utc);
                let start = utc - Duration::seconds(hour_of(utc).0 - hour * 3600);
                if lookup(start) == offset && lookup(start + Duration::seconds(3599)) == offset {
                    offset_cache::put_utc(zone_id(*tz), hour, offset);
                }
                offset
            }
        }
    }

    /// The offset of a local wall time when its whole local hour has one unambiguous offset.
    fn plain_local_offset(tz: Tz, local: NaiveDateTime) -> Option<i32> {
        let (secs, hour) = hour_of(local);
        if let Some(offset) = offset_cache::local(zone_id(tz), hour) {
            return Some(offset);
        }
        let single = |t: NaiveDateTime| match tz.offset_from_local_datetime(&in_table_range(t)) {
            LocalResult::Single(o) => Some(o.fix().local_minus_utc()),
            _ => None,
        };
        let start = local - Duration::seconds(secs - hour * 3600);
        let offset = single(start)?;
        if single(start + Duration::seconds(3599)) == Some(offset) {
            offset_cache::put_local(zone_id(tz), hour, offset);
            return Some(offset);
        }
        None
    }

    /// UTC offset (seconds) of a wall time, with Python's `fold` rules: in an overlap fold=0 is
    /// the first occurrence; in a gap fold=0 uses the offset from before the gap (so the instant
    /// lands after the transition) and fold=1 the offset from after it.
    pub fn offset_of_local(&self, local: NaiveDateTime, fold: bool) -> i32 {
        match self {
            Zone::Utc => 0,
            Zone::Fixed(s) | Zone::NamedFixed(s, _) => *s,
            Zone::Iana(tz) => match Self::plain_local_offset(*tz, local) {
                Some(offset) => offset,
                None => self.offset_of_local_slow(*tz, local, fold),
            },
        }
    }

    fn offset_of_local_slow(&self, tz: Tz, local: NaiveDateTime, fold: bool) -> i32 {
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
                let before = self.offset_at_utc(local - Duration::hours(24));
                let after = self.offset_at_utc(local + Duration::hours(24));
                if fold { after } else { before }
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
        let utc = instant.naive_utc();
        let offset = zone.offset_at_utc(utc);
        let local = utc + Duration::seconds(offset as i64);
        let fold = zone.offset_of_local(local, false) != offset;
        ZonedTime { local, fold, zone }
    }

    pub fn from_micros(micros: i64, zone: Zone) -> Self {
        Self::from_instant(micros_to_instant(micros), zone)
    }

    /// The UTC offset Python's `utcoffset()` gives for this value.
    pub fn utc_offset(&self) -> i32 {
        self.zone.offset_of_local(self.local, self.fold)
    }

    /// The instant this wall time denotes (`dt.timestamp()`).
    pub fn instant(&self) -> DateTime<Utc> {
        (self.local - Duration::seconds(self.utc_offset() as i64)).and_utc()
    }

    /// Microseconds since the epoch: the sort key of run times everywhere in the core.
    pub fn micros(&self) -> i64 {
        // Same value as `instant()`, without chrono's checked date arithmetic (hot in searches).
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

    /// `%Z` for this value.
    pub fn abbreviation(&self) -> String {
        self.zone.abbreviation(self.instant().naive_utc())
    }

    /// `datetime_repr`: `%Y-%m-%d %H:%M:%S %Z`.
    pub fn repr(&self) -> String {
        format!("{} {}", self.local.format("%Y-%m-%d %H:%M:%S"), self.abbreviation())
    }
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
