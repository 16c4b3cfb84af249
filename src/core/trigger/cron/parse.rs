//! Field text -> expressions, with APScheduler 3.11's exact `ValueError` messages.
//!
//! The grammar is re-stated from the spec (cron.md §4-5), not translated from APScheduler:
//! pieces are split at commas (spaces around commas dropped), then each field tries its
//! compilers in a fixed order and the first whose pattern matches wins, even if its values are
//! then rejected. Some patterns only need to match a prefix (`'jan/2'` reads as `'jan'`).

use super::expr::{Expr, MONTHS, POSITIONS, WEEKDAYS};
use super::fields::FieldKind;

/// Python's `str.isspace()` set: Rust's White_Space plus the four ASCII separators.
pub fn py_isspace(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

pub fn py_strip(s: &str) -> &str {
    s.trim_matches(py_isspace)
}

/// Parses a whole field value (`str(value)` of what the user passed).
pub fn parse_field(kind: FieldKind, text: &str) -> Result<Vec<Expr>, String> {
    py_strip(text).split(',').map(|piece| parse_piece(kind, piece.trim_matches(' '))).collect()
}

/// A regex `$`: end of text, or just before a final newline.
fn at_end(rest: &str) -> bool {
    rest.is_empty() || rest == "\n"
}

/// First code point of every run of ten Unicode decimal digits (category Nd, Unicode 14 as in
/// CPython 3.11): Python's `\d` and `int()` accept all of them (`'٣'` is 3).
const NON_ASCII_ZEROS: [u32; 65] = [
    0x660, 0x6f0, 0x7c0, 0x966, 0x9e6, 0xa66, 0xae6, 0xb66, 0xbe6, 0xc66, 0xce6, 0xd66, 0xde6, 0xe50, 0xed0, 0xf20,
    0x1040, 0x1090, 0x17e0, 0x1810, 0x1946, 0x19d0, 0x1a80, 0x1a90, 0x1b50, 0x1bb0, 0x1c40, 0x1c50, 0xa620, 0xa8d0,
    0xa900, 0xa9d0, 0xa9f0, 0xaa50, 0xabf0, 0xff10, 0x104a0, 0x10d30, 0x11066, 0x110f0, 0x11136, 0x111d0, 0x112f0,
    0x11450, 0x114d0, 0x11650, 0x116c0, 0x11730, 0x118e0, 0x11950, 0x11c50, 0x11d50, 0x11da0, 0x16a60, 0x16ac0,
    0x16b50, 0x1d7ce, 0x1d7d8, 0x1d7e2, 0x1d7ec, 0x1d7f6, 0x1e140, 0x1e2f0, 0x1e950, 0x1fbf0,
];

/// The value of a decimal digit character, as Python's `\d` + `int()` read it.
fn digit_value(c: char) -> Option<u32> {
    if c.is_ascii_digit() {
        return Some(c as u32 - '0' as u32);
    }
    let cp = c as u32;
    let i = NON_ASCII_ZEROS.partition_point(|z| *z <= cp).checked_sub(1)?;
    let v = cp - NON_ASCII_ZEROS[i];
    (v < 10).then_some(v)
}

/// Leading decimal digits and the rest. The value saturates (only used for error messages
/// beyond `i64`, where every such value is rejected anyway).
fn digits(s: &str) -> Option<(u128, &str)> {
    let mut value = 0u128;
    let mut len = 0;
    for c in s.chars() {
        let Some(d) = digit_value(c) else { break };
        value = value.saturating_mul(10).saturating_add(d as u128);
        len += c.len_utf8();
    }
    (len > 0).then(|| (value, &s[len..]))
}

fn letters(s: &str) -> Option<(&str, &str)> {
    let n = s.bytes().take_while(u8::is_ascii_alphabetic).count();
    (n > 0).then(|| s.split_at(n))
}

/// Text parts matched by a compiler's pattern, before its constructor runs.
enum Matched<'a> {
    All(Option<u128>),
    Range(u128, Option<u128>, Option<u128>),
    MonthRange(&'a str, Option<&'a str>),
    WeekdayRange(&'a str, Option<&'a str>),
    Position(usize, &'a str),
    Last,
}

fn match_all(p: &str) -> Option<Matched<'_>> {
    let rest = p.strip_prefix('*')?;
    if at_end(rest) {
        return Some(Matched::All(None));
    }
    let (step, rest) = digits(rest.strip_prefix('/')?)?;
    at_end(rest).then_some(Matched::All(Some(step)))
}

fn match_range(p: &str) -> Option<Matched<'_>> {
    let (first, mut rest) = digits(p)?;
    let mut last = None;
    if let Some((l, r)) = rest.strip_prefix('-').and_then(digits) {
        last = Some(l);
        rest = r;
    }
    let mut step = None;
    if let Some((s, r)) = rest.strip_prefix('/').and_then(digits) {
        step = Some(s);
        rest = r;
    }
    at_end(rest).then_some(Matched::Range(first, last, step))
}

/// `name` or `name-name` (prefix match: trailing text is ignored).
fn match_names(p: &str) -> Option<(&str, Option<&str>)> {
    let (first, rest) = letters(p)?;
    let last = rest.strip_prefix('-').and_then(letters).map(|(l, _)| l);
    Some((first, last))
}

fn match_position(p: &str) -> Option<Matched<'_>> {
    let lower = p.get(..p.len().min(4))?.to_ascii_lowercase();
    let (option, rest) =
        POSITIONS.iter().enumerate().find(|(_, o)| lower.starts_with(*o)).map(|(i, o)| (i, &p[o.len()..]))?;
    let after = rest.trim_start_matches(' ');
    if after.len() == rest.len() {
        return None; // at least one space
    }
    let n: usize = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').map(char::len_utf8).sum();
    (n > 0).then(|| Matched::Position(option, &after[..n]))
}

fn match_last(p: &str) -> Option<Matched<'_>> {
    p.get(..4).filter(|s| s.eq_ignore_ascii_case("last")).map(|_| Matched::Last)
}

fn match_piece(kind: FieldKind, p: &str) -> Option<Matched<'_>> {
    if let Some(m) = match_all(p).or_else(|| match_range(p)) {
        return Some(m);
    }
    match kind {
        FieldKind::Month => match_names(p).map(|(f, l)| Matched::MonthRange(f, l)),
        FieldKind::DayOfWeek => match_names(p).map(|(f, l)| Matched::WeekdayRange(f, l)),
        FieldKind::Day => match_position(p).or_else(|| match_last(p)),
        _ => None,
    }
}

const STEP_ZERO: &str = "Increment must be higher than 0";
const MIN_ABOVE_MAX: &str = "The minimum value in a range must not be higher than the maximum";

fn lookup(names: &[&str], name: &str) -> Option<i64> {
    let lower = name.to_lowercase();
    names.iter().position(|n| *n == lower).map(|i| i as i64)
}

fn step_error(step: u128, range: i128) -> String {
    format!("the step value ({step}) is higher than the total range of the expression ({range})")
}

/// The range checks of `validate_range`; `Err` holds the detail text.
fn validate(kind: FieldKind, m: &Matched<'_>) -> Result<(), String> {
    let (min, max) = (kind.min() as i128, kind.max() as i128);
    match *m {
        Matched::All(Some(step)) if step as i128 > max - min => Err(step_error(step, max - min)),
        Matched::Range(first, last, step) => {
            let step = step.filter(|s| *s != 0);
            if let Some(s) = step.filter(|s| *s as i128 > max - min) {
                return Err(step_error(s, max - min));
            }
            let last = last.or(if step.is_none() { Some(first) } else { None });
            if (first as i128) < min {
                return Err(format!("the first value ({first}) is lower than the minimum value ({min})"));
            }
            if let Some(l) = last.filter(|l| *l as i128 > max) {
                return Err(format!("the last value ({l}) is higher than the maximum value ({max})"));
            }
            let end = match last {
                Some(l) if l != 0 => l as i128,
                _ => max,
            };
            let range = end - first as i128;
            match step {
                Some(s) if s as i128 > range => Err(step_error(s, range)),
                _ => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

/// Python `repr()` of a piece, as used in "Error validating expression ...".
pub fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::from(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

fn small(v: u128) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn parse_piece(kind: FieldKind, piece: &str) -> Result<Expr, String> {
    let Some(m) = match_piece(kind, piece) else {
        return Err(format!("Unrecognized expression \"{piece}\" for field \"{}\"", kind.name()));
    };
    // Constructor checks: raised as they are.
    let expr = match m {
        Matched::All(step) => {
            if step == Some(0) {
                return Err(STEP_ZERO.into());
            }
            Expr::All { step: step.map(small) }
        }
        Matched::Range(first, last, step) => {
            if step == Some(0) {
                return Err(STEP_ZERO.into());
            }
            let last = if last.is_none() && step.is_none() { Some(first) } else { last };
            if last.is_some_and(|l| first > l) {
                return Err(MIN_ABOVE_MAX.into());
            }
            Expr::Range { first: small(first), last: last.map(small), step: step.map(small) }
        }
        Matched::MonthRange(f, l) => {
            let num = |n: &str| lookup(&MONTHS, n).map(|i| i + 1).ok_or_else(|| format!("Invalid month name \"{n}\""));
            let first = num(f)?;
            let last = l.map(num).transpose()?.or(Some(first));
            if last.is_some_and(|l| first > l) {
                return Err(MIN_ABOVE_MAX.into());
            }
            Expr::MonthRange { first, last, step: None }
        }
        Matched::WeekdayRange(f, l) => {
            let num = |n: &str| lookup(&WEEKDAYS, n).ok_or_else(|| format!("Invalid weekday name \"{n}\""));
            let first = num(f)?;
            let last = l.map(num).transpose()?.or(Some(first));
            if last.is_some_and(|l| first > l) {
                return Err(MIN_ABOVE_MAX.into());
            }
            Expr::WeekdayRange { first, last, step: None }
        }
        Matched::Position(option, name) => {
            let weekday = lookup(&WEEKDAYS, name).ok_or_else(|| format!("Invalid weekday name \"{name}\""))?;
            Expr::WeekdayPosition { option_num: option as i64, weekday }
        }
        Matched::Last => Expr::LastDayOfMonth,
    };
    validate(kind, &m).map_err(|detail| format!("Error validating expression {}: {detail}", py_repr(piece)))?;
    Ok(expr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(kind: FieldKind, text: &str) -> String {
        parse_field(kind, text).unwrap_err()
    }

    #[test]
    fn spec_error_messages() {
        use FieldKind::*;
        let cases = [
            (Hour, "24", "Error validating expression '24': the last value (24) is higher than the maximum value (23)"),
            (Hour, "-1", "Unrecognized expression \"-1\" for field \"hour\""),
            (Second, "5-3", MIN_ABOVE_MAX),
            (Second, "*/0", STEP_ZERO),
            (
                Second,
                "*/60",
                "Error validating expression '*/60': the step value (60) is higher than the total range of the expression (59)",
            ),
            (
                Second,
                "10-20/11",
                "Error validating expression '10-20/11': the step value (11) is higher than the total range of the expression (10)",
            ),
            (
                Second,
                "50/10",
                "Error validating expression '50/10': the step value (10) is higher than the total range of the expression (9)",
            ),
            (Day, "0", "Error validating expression '0': the first value (0) is lower than the minimum value (1)"),
            (
                Month,
                "13",
                "Error validating expression '13': the last value (13) is higher than the maximum value (12)",
            ),
            (Month, "foo", "Invalid month name \"foo\""),
            (Month, "January", "Invalid month name \"January\""),
            (Month, "jan-foo", "Invalid month name \"foo\""),
            (Month, "mar-jan", MIN_ABOVE_MAX),
            (
                DayOfWeek,
                "7",
                "Error validating expression '7': the last value (7) is higher than the maximum value (6)",
            ),
            (DayOfWeek, "monday", "Invalid weekday name \"monday\""),
            (DayOfWeek, "last", "Invalid weekday name \"last\""),
            (DayOfWeek, "?", "Unrecognized expression \"?\" for field \"day_of_week\""),
            (Day, "6th fri", "Unrecognized expression \"6th fri\" for field \"day\""),
            (Day, "1st 4", "Invalid weekday name \"4\""),
            (
                Year,
                "1969",
                "Error validating expression '1969': the first value (1969) is lower than the minimum value (1970)",
            ),
            (
                Year,
                "*/8030",
                "Error validating expression '*/8030': the step value (8030) is higher than the total range of the expression (8029)",
            ),
            (Week, "54", "Error validating expression '54': the last value (54) is higher than the maximum value (53)"),
            (
                Hour,
                "0-1/5",
                "Error validating expression '0-1/5': the step value (5) is higher than the total range of the expression (1)",
            ),
            (Day, "1,,2", "Unrecognized expression \"\" for field \"day\""),
        ];
        for (kind, text, msg) in cases {
            assert_eq!(err(kind, text), msg, "{text}");
        }
    }

    #[test]
    fn odd_but_accepted() {
        use FieldKind::*;
        let text = |k, t| parse_field(k, t).unwrap().iter().map(|e| e.text()).collect::<Vec<_>>().join(",");
        assert_eq!(text(Day, "1ST FRI"), "1st fri");
        assert_eq!(text(Day, "LAST"), "last");
        assert_eq!(text(Day, "lastly"), "last");
        assert_eq!(text(Day, "last fri extra"), "last fri");
        assert_eq!(text(Month, "jan/2"), "jan");
        assert_eq!(text(DayOfWeek, "mon-fri/2"), "mon-fri");
        assert_eq!(text(Hour, "0-0/5"), "0/5");
        assert_eq!(text(Hour, "007"), "7");
        assert_eq!(text(Hour, "\u{663}-\u{ff11}\u{ff12}"), "3-12"); // Arabic-Indic 3, fullwidth 12
        assert_eq!(text(Hour, "  1 , 2,3  "), "1,2,3");
        assert_eq!(text(Hour, "*/3,5-9/2,10"), "*/3,5-9/2,10");
    }
}
