//! `CronTrigger`: fields, expressions, and APScheduler 3.11's carry-based search.
//!
//! - [`fields`]: the eight fields, their ranges and values.
//! - [`expr`]: expressions and the next value each allows.
//! - [`parse`]: text -> expressions, with the exact error messages.
//! - [`search`]: the field-by-field search with its DST behaviour.

pub mod expr;
pub mod fields;
pub mod parse;
pub mod search;

use super::{Trigger, pyrules};
use crate::core::time::{Wall, Zone, ZonedTime};
use fields::{Field, FieldKind};

#[derive(Clone, Debug)]
pub struct CronTrigger {
    pub fields: [Field; 8],
    pub start: Option<ZonedTime>,
    pub end: Option<ZonedTime>,
    pub zone: Zone,
    pub jitter: Option<f64>,
}

/// Builds the eight fields from the user's values (`None` = not given), applying the
/// defaults rule: fields left of the least significant given one become `*`, fields right of
/// it their `DEFAULT_VALUES`.
pub fn build_fields(values: [Option<&str>; 8]) -> Result<[Field; 8], String> {
    let last_given = values.iter().rposition(Option::is_some);
    let mut out = Vec::with_capacity(8);
    for (i, kind) in FieldKind::ALL.into_iter().enumerate() {
        let (text, is_default) = match values[i] {
            Some(t) => (t, false),
            None if last_given.is_some_and(|l| i > l) => (kind.default_text(), true),
            None => ("*", true),
        };
        out.push(Field::new(kind, is_default, parse::parse_field(kind, text)?));
    }
    out.try_into().map_err(|_| "internal error: field count".to_owned())
}

impl CronTrigger {
    /// `str(trigger)`: `cron[name='expr', ...]` over the fields the user gave.
    pub fn text(&self) -> String {
        format!("cron[{}]", self.field_items().join(", "))
    }

    /// `name='expr'` for every non-default field.
    pub fn field_items(&self) -> Vec<String> {
        self.fields.iter().filter(|f| !f.is_default).map(|f| format!("{}='{}'", f.kind.name(), f.text())).collect()
    }

    /// `next_fire_time` with a previous fire time, for `previous` and `now` given as wall times
    /// in the trigger's zone. `None` when this path does not apply (a jitter or an `end_date`
    /// is set); `Some(None)` when the schedule is over.
    ///
    /// This is the general path specialised to one zone: the earlier of `now` and
    /// `previous + 1 µs` (compared as instants), pushed one more microsecond when it is the
    /// wall time `previous` itself, rounded up to a whole second on the UTC line, searched.
    #[inline]
    pub fn next_in_zone(&self, previous: &Wall, now: &Wall) -> Option<Option<Wall>> {
        if self.end.is_some() || self.jitter.is_some_and(|j| j != 0.0) {
            return None;
        }
        let z = self.zone;
        let after = previous.micros(z) + 1;
        let mut s = if after < now.micros(z) { Wall::from_utc_micros(after, z) } else { *now };
        if (s.v, s.us) == (previous.v, previous.us) {
            s = s.utc_add(z, 1);
        }
        if s.us != 0 {
            s = s.utc_add(z, 1_000_000 - s.us);
        }
        Some(search::search_wall(&self.fields, s, z, None))
    }

    /// Search from `start`, then jitter and the `end_date` cap.
    fn search_from(&self, start: &ZonedTime) -> Option<ZonedTime> {
        let c = pyrules::astimezone(&pyrules::ceil_second(start), self.zone);
        let found = search::search(&self.fields, c, self.end.as_ref())?;
        let found = pyrules::apply_jitter(Some(found), self.jitter)?;
        Some(match &self.end {
            Some(end) => *pyrules::min(&found, end),
            None => found,
        })
    }
}

impl Trigger for CronTrigger {
    fn next_fire_time(&self, previous: Option<&ZonedTime>, now: &ZonedTime) -> Option<ZonedTime> {
        if let Some(p) = previous
            && p.zone == self.zone
            && now.zone == self.zone
            && let Some(found) = self.next_in_zone(&Wall::from_zoned(p), &Wall::from_zoned(now))
        {
            return found.and_then(|w| w.to_zoned(self.zone));
        }
        // Candidates are compared as instants, then expressed in the trigger zone; only then
        // is the "equals previous" test made (a wall-clock test within one zone).
        let earlier = |a: &ZonedTime, b: &ZonedTime| if b.micros() < a.micros() { *b } else { *a };
        let later = |a: &ZonedTime, b: &ZonedTime| if b.micros() > a.micros() { *b } else { *a };
        let start = match previous {
            Some(p) => {
                let s = pyrules::astimezone(&earlier(now, &pyrules::utc_add(p, 1)), self.zone);
                if pyrules::eq(&s, p) { pyrules::utc_add(&s, 1) } else { s }
            }
            None => match &self.start {
                Some(sd) => later(now, sd),
                None => *now,
            },
        };
        self.search_from(&start)
    }

    fn next_at_or_after(&self, _own_previous: &ZonedTime, at: &ZonedTime) -> Option<ZonedTime> {
        self.search_from(at)
    }
}

#[cfg(test)]
mod tests;
