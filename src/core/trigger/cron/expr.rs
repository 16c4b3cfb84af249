//! Cron expressions: the pieces of a field between commas, and the next value each allows.

use super::fields::days_in_month;
use crate::core::time::civil;

pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
pub const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
pub const POSITIONS: [&str; 6] = ["1st", "2nd", "3rd", "4th", "5th", "last"];

/// One compiled expression. The variants mirror APScheduler's expression classes because
/// their attributes are the pickled state; a `step` of `None` or 0 means "no step".
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// `*` or `*/step`.
    All { step: Option<i64> },
    /// `a`, `a-b`, `a/s`, `a-b/s`; `last` is `None` only for `a/s`.
    Range { first: i64, last: Option<i64>, step: Option<i64> },
    /// `jan`, `jan-mar` (1-based months).
    MonthRange { first: i64, last: Option<i64>, step: Option<i64> },
    /// `mon`, `mon-fri` (0 = Monday).
    WeekdayRange { first: i64, last: Option<i64>, step: Option<i64> },
    /// `1st fri` ... `5th fri` (option 0..=4), `last fri` (option 5).
    WeekdayPosition { option_num: i64, weekday: i64 },
    /// `last`: the month's last day.
    LastDayOfMonth,
}

/// Python's `%` (result has the divisor's sign).
fn py_mod(a: i64, b: i64) -> i64 {
    ((a % b) + b) % b
}

/// Round `v` up to the next `lo + k*step` (Python's formula, so odd steps behave the same).
fn apply_step(v: i64, lo: i64, step: Option<i64>) -> i64 {
    match step {
        Some(s) if s != 0 => v + py_mod(s - (v - lo), s),
        _ => v,
    }
}

impl Expr {
    /// True when the values this expression allows do not depend on the date (all but
    /// `last` and `<nth> <weekday>`) and its step is a plain positive one.
    pub fn is_date_free(&self) -> bool {
        match *self {
            Expr::All { step }
            | Expr::Range { step, .. }
            | Expr::MonthRange { step, .. }
            | Expr::WeekdayRange { step, .. } => step.is_none_or(|s| s >= 0),
            Expr::WeekdayPosition { .. } | Expr::LastDayOfMonth => false,
        }
    }

    /// The smallest value `>=` the field's current value `cur` that this expression allows
    /// within the field's range `lo..=hi`, or `None`; `year`, `month` and `day` are the date
    /// being searched.
    pub fn next_value(&self, (year, month, day): (i64, i64, i64), cur: i64, lo: i64, hi: i64) -> Option<i64> {
        match *self {
            Expr::All { step } => {
                let v = apply_step(cur.max(lo), lo, step);
                (v <= hi).then_some(v)
            }
            Expr::Range { first, last, step }
            | Expr::MonthRange { first, last, step }
            | Expr::WeekdayRange { first, last, step } => {
                let lo = lo.max(first);
                let hi = last.map_or(hi, |l| hi.min(l));
                let v = apply_step(lo.max(cur), lo, step);
                (v <= hi).then_some(v)
            }
            Expr::WeekdayPosition { option_num, weekday } => {
                let last_day = days_in_month(year as i32, month as u32);
                let first_wd = civil::weekday(civil::days_from_civil(year, month, 1));
                let mut first_hit = weekday - first_wd + 1;
                if first_hit <= 0 {
                    first_hit += 7;
                }
                let target = if option_num < 5 {
                    first_hit + option_num * 7
                } else {
                    first_hit + (last_day - first_hit).div_euclid(7) * 7
                };
                (target <= last_day && target >= day).then_some(target)
            }
            Expr::LastDayOfMonth => Some(days_in_month(year as i32, month as u32)),
        }
    }

    /// `str(expression)`, as it appears in `str(trigger)`.
    pub fn text(&self) -> String {
        let name = |names: &[&str], i: i64| names.get(i as usize).copied().unwrap_or("?").to_owned();
        match *self {
            Expr::All { step: Some(s) } if s != 0 => format!("*/{s}"),
            Expr::All { .. } => "*".to_owned(),
            Expr::Range { first, last, step } => {
                let mut s = match last {
                    Some(l) if l != first => format!("{first}-{l}"),
                    _ => first.to_string(),
                };
                if let Some(st) = step.filter(|s| *s != 0) {
                    s = format!("{s}/{st}");
                }
                s
            }
            Expr::MonthRange { first, last, .. } => match last {
                Some(l) if l != first => {
                    format!("{}-{}", name(&MONTHS, first - 1), name(&MONTHS, l - 1))
                }
                _ => name(&MONTHS, first - 1),
            },
            Expr::WeekdayRange { first, last, .. } => match last {
                Some(l) if l != first => {
                    format!("{}-{}", name(&WEEKDAYS, first), name(&WEEKDAYS, l))
                }
                _ => name(&WEEKDAYS, first),
            },
            Expr::WeekdayPosition { option_num, weekday } => {
                format!("{} {}", name(&POSITIONS, option_num), name(&WEEKDAYS, weekday))
            }
            Expr::LastDayOfMonth => "last".to_owned(),
        }
    }
}
