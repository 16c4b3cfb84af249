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

/// One field of a cron trigger: its expressions and whether the user gave it.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub kind: FieldKind,
    pub is_default: bool,
    pub exprs: Vec<Expr>,
}

impl Field {
    /// The smallest value >= `cur` (the field's value in `d`) any expression allows, if any.
    pub fn next_value(&self, d: &NaiveDateTime, cur: i64) -> Option<i64> {
        if let ([Expr::All { step: None }], true) = (self.exprs.as_slice(), cur >= self.kind.min()) {
            return Some(cur); // `*` within range (values never exceed the maximum): matches
        }
        let (lo, hi) = (self.kind.min(), self.kind.search_max(d));
        self.exprs.iter().filter_map(|e| e.next_value(d, cur, lo, hi)).min()
    }

    /// `str(field)`: expressions joined by commas.
    pub fn text(&self) -> String {
        self.exprs.iter().map(|e| e.text()).collect::<Vec<_>>().join(",")
    }
}
