//! The eight cron fields: their ranges, how a value is read from a wall time, and how a field
//! (a list of expressions) finds its next allowed value.

use super::expr::Expr;
use chrono::{Datelike, NaiveDateTime, Timelike};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    Year,
    Month,
    Day,
    Week,
    DayOfWeek,
    Hour,
    Minute,
    Second,
}

impl FieldKind {
    /// In search order, most significant first (also `CronTrigger.FIELD_NAMES`).
    pub const ALL: [FieldKind; 8] = [
        FieldKind::Year,
        FieldKind::Month,
        FieldKind::Day,
        FieldKind::Week,
        FieldKind::DayOfWeek,
        FieldKind::Hour,
        FieldKind::Minute,
        FieldKind::Second,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        ["year", "month", "day", "week", "day_of_week", "hour", "minute", "second"][self.index()]
    }

    pub fn from_name(name: &str) -> Option<FieldKind> {
        FieldKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Lower bound, for validation and for the search.
    pub fn min(self) -> i64 {
        [1970, 1, 1, 1, 0, 0, 0, 0][self.index()]
    }

    /// Upper bound used by validation (`MAX_VALUES`).
    pub fn max(self) -> i64 {
        [9999, 12, 31, 53, 6, 23, 59, 59][self.index()]
    }

    /// Upper bound used by the search: the day field stops at the month's length.
    pub fn search_max(self, d: &NaiveDateTime) -> i64 {
        match self {
            FieldKind::Day => days_in_month(d.year(), d.month()),
            k => k.max(),
        }
    }

    /// Real fields are components of a datetime; week and weekday can only be reached by
    /// moving the date forward.
    pub fn is_real(self) -> bool {
        !matches!(self, FieldKind::Week | FieldKind::DayOfWeek)
    }

    /// `DEFAULT_VALUES`: the text a field right of the last given one gets.
    pub fn default_text(self) -> &'static str {
        ["*", "1", "1", "*", "*", "0", "0", "0"][self.index()]
    }

    pub fn value(self, d: &NaiveDateTime) -> i64 {
        (match self {
            FieldKind::Year => return d.year() as i64,
            FieldKind::Month => d.month(),
            FieldKind::Day => d.day(),
            FieldKind::Week => d.iso_week().week(),
            FieldKind::DayOfWeek => d.weekday().num_days_from_monday(),
            FieldKind::Hour => d.hour(),
            FieldKind::Minute => d.minute(),
            FieldKind::Second => d.second(),
        }) as i64
    }
}

pub fn days_in_month(year: i32, month: u32) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// How the search finds a field's next value, worked out once from the expressions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Matcher {
    /// A lone `*`: every value from the field's minimum on.
    Any,
    /// The allowed values as a bit set (bit `v` = value `v`), for fields below 64 whose
    /// expressions do not depend on the date.
    Bits(u64),
    /// Ask each expression (years, `last`, `<nth> <weekday>`).
    Exprs,
}

impl Matcher {
    fn new(kind: FieldKind, exprs: &[Expr]) -> Matcher {
        if let [Expr::All { step: None }] = exprs {
            return Matcher::Any;
        }
        if kind.max() > 63 || !exprs.iter().all(Expr::is_date_free) {
            return Matcher::Exprs;
        }
        // A date-free expression allows `v` exactly when its next value from `v` is `v`.
        let (lo, hi) = (kind.min(), kind.max());
        let bits = (lo..=hi)
            .filter(|&v| exprs.iter().any(|e| e.next_value((1970, 1, 1), v, lo, hi) == Some(v)))
            .fold(0u64, |b, v| b | 1 << v);
        Matcher::Bits(bits)
    }
}

/// One field of a cron trigger: its expressions and whether the user gave it.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub kind: FieldKind,
    pub is_default: bool,
    pub exprs: Vec<Expr>,
    /// Derived from `exprs`.
    pub matcher: Matcher,
}

impl Field {
    pub fn new(kind: FieldKind, is_default: bool, exprs: Vec<Expr>) -> Field {
        let matcher = Matcher::new(kind, &exprs);
        Field { kind, is_default, exprs, matcher }
    }

    /// The smallest value >= `cur` (the field's value on the date `ymd`) any expression
    /// allows up to `hi` (the field's maximum for that date), if any.
    #[inline]
    pub fn next_value(&self, ymd: (i64, i64, i64), cur: i64, hi: i64) -> Option<i64> {
        let lo = self.kind.min();
        match self.matcher {
            // `*` matches any value already in range (values never exceed the maximum).
            Matcher::Any if cur >= lo => Some(cur),
            Matcher::Any => (lo <= hi).then_some(lo),
            Matcher::Bits(bits) => {
                let from = cur.max(0);
                if from > 63 {
                    return None;
                }
                let allowed = bits & (u64::MAX << from);
                let v = allowed.trailing_zeros() as i64;
                (allowed != 0 && v <= hi).then_some(v)
            }
            Matcher::Exprs => self.exprs.iter().filter_map(|e| e.next_value(ymd, cur, lo, hi)).min(),
        }
    }

    /// `str(field)`: expressions joined by commas.
    pub fn text(&self) -> String {
        self.exprs.iter().map(|e| e.text()).collect::<Vec<_>>().join(",")
    }
}
