//! Golden cases from golden-triggers.md (computed by APScheduler 3.11.3).

use super::*;
use chrono::{NaiveDate, NaiveDateTime};

fn zone(name: &str) -> Zone {
    if name == "UTC" { Zone::Utc } else { Zone::Iana(name.parse().unwrap()) }
}

/// `datetime.fromisoformat(text).astimezone(zone)`.
fn at(text: &str, z: Zone) -> ZonedTime {
    let dt = chrono::DateTime::parse_from_rfc3339(text).unwrap();
    ZonedTime::from_instant(dt.with_timezone(&chrono::Utc), z)
}

fn iso(t: &ZonedTime) -> String {
    let off = chrono::FixedOffset::east_opt(t.utc_offset()).unwrap();
    format!("{}{}{}", t.local.format("%Y-%m-%dT%H:%M:%S"), off, if t.fold { " fold=1" } else { "" })
}

fn cron(values: [Option<&str>; 8], z: &str) -> CronTrigger {
    CronTrigger { fields: build_fields(values).unwrap(), start: None, end: None, zone: zone(z), jitter: None }
}

fn hm(hour: Option<&str>, minute: Option<&str>) -> [Option<&'static str>; 8] {
    let leak = |s: Option<&str>| s.map(|s| &*Box::leak(s.to_owned().into_boxed_str()));
    [None, None, None, None, None, leak(hour), leak(minute), None]
}

fn run(t: &CronTrigger, prev: Option<&str>, now: &str, n: usize) -> Vec<String> {
    let z = t.zone;
    let prev = prev.map(|p| at(p, z));
    let mut out = vec![];
    let mut r = t.next_fire_time(prev.as_ref(), &at(now, z));
    while let Some(x) = r {
        out.push(iso(&x));
        if out.len() == n {
            break;
        }
        r = t.next_fire_time(Some(&x), &x);
    }
    out
}

#[test]
fn cron_1_to_6_start_point_rules() {
    let t = cron(hm(Some("5"), None), "UTC");
    assert_eq!(run(&t, None, "2024-01-01T04:00:00+00:00", 1), ["2024-01-01T05:00:00+00:00"]);
    assert_eq!(run(&t, None, "2024-01-01T05:00:00+00:00", 1), ["2024-01-01T05:00:00+00:00"]);
    assert_eq!(run(&t, None, "2024-01-01T05:00:00.000001+00:00", 1), ["2024-01-02T05:00:00+00:00"]);
    assert_eq!(
        run(&t, Some("2024-01-01T05:00:00+00:00"), "2024-03-01T00:00:00+00:00", 1),
        ["2024-01-02T05:00:00+00:00"]
    );
    assert_eq!(
        run(&t, Some("2024-01-05T05:00:00+00:00"), "2024-01-02T00:00:00+00:00", 1),
        ["2024-01-02T05:00:00+00:00"]
    );
}

#[test]
fn cron_22_fifth_friday_and_26_impossible_date() {
    let mut v = [None; 8];
    v[2] = Some("5th fri");
    let t = cron(v, "UTC");
    assert_eq!(
        run(&t, None, "2024-01-01T00:00:00+00:00", 3),
        ["2024-03-29T00:00:00+00:00", "2024-05-31T00:00:00+00:00", "2024-08-30T00:00:00+00:00"]
    );
    let mut v = [None; 8];
    v[1] = Some("2");
    v[2] = Some("30");
    assert!(run(&cron(v, "UTC"), None, "2024-01-01T00:00:00+00:00", 1).is_empty());
}

#[test]
fn cron_28_29_iso_weeks() {
    let mut v = [None; 8];
    (v[0], v[3], v[4]) = (Some("2024"), Some("1"), Some("mon"));
    assert_eq!(run(&cron(v, "UTC"), None, "2024-06-01T00:00:00+00:00", 2), ["2024-12-30T00:00:00+00:00"]);
    let mut v = [None; 8];
    (v[3], v[4]) = (Some("53"), Some("mon"));
    assert_eq!(run(&cron(v, "UTC"), None, "2024-01-01T00:00:00+00:00", 1), ["2026-12-28T00:00:00+00:00"]);
}

#[test]
fn cron_41_nonexistent_wall_time_returned_in_gap() {
    let t = cron(hm(Some("2"), Some("30")), "Europe/Berlin");
    assert_eq!(
        run(&t, None, "2024-03-30T12:00:00+01:00", 3),
        ["2024-03-31T02:30:00+01:00", "2024-04-01T02:30:00+02:00", "2024-04-02T02:30:00+02:00"]
    );
}

#[test]
fn cron_42_44_fall_back_fires_twice() {
    let t = cron(hm(Some("2"), Some("30")), "Europe/Berlin");
    assert_eq!(
        run(&t, None, "2024-10-26T12:00:00+02:00", 3),
        ["2024-10-27T02:30:00+02:00", "2024-10-27T02:30:00+01:00 fold=1", "2024-10-28T02:30:00+01:00"]
    );
    let t = cron(hm(None, Some("*/30")), "Europe/Berlin");
    assert_eq!(
        run(&t, None, "2024-10-27T01:30:00+02:00", 6),
        [
            "2024-10-27T01:30:00+02:00",
            "2024-10-27T02:00:00+02:00",
            "2024-10-27T02:30:00+02:00",
            "2024-10-27T02:00:00+01:00 fold=1",
            "2024-10-27T02:30:00+01:00 fold=1",
            "2024-10-27T03:00:00+01:00"
        ]
    );
}

#[test]
fn cron_43_57_58_59_dst_edges() {
    let t = cron(hm(None, Some("*/30")), "Europe/Berlin");
    assert_eq!(
        run(&t, None, "2024-03-31T01:00:00+01:00", 4),
        [
            "2024-03-31T01:00:00+01:00",
            "2024-03-31T01:30:00+01:00",
            "2024-03-31T03:00:00+02:00",
            "2024-03-31T03:30:00+02:00"
        ]
    );
    let t = cron(hm(Some("5"), None), "Europe/Berlin");
    assert_eq!(run(&t, None, "2024-10-27T02:45:00+01:00", 1), ["2024-10-27T05:00:00+01:00 fold=1"]);
    let t = cron(hm(Some("0"), None), "America/Santiago");
    assert_eq!(
        run(&t, None, "2024-09-06T12:00:00-04:00", 3),
        ["2024-09-07T00:00:00-04:00", "2024-09-09T00:00:00-03:00", "2024-09-10T00:00:00-03:00"]
    );
    let t = cron(hm(None, Some("*/15")), "Australia/Lord_Howe");
    assert_eq!(
        run(&t, None, "2024-10-06T01:30:00+10:30", 4),
        [
            "2024-10-06T01:30:00+10:30",
            "2024-10-06T01:45:00+10:30",
            "2024-10-06T02:30:00+11:00",
            "2024-10-06T02:45:00+11:00"
        ]
    );
}

#[test]
fn defaults_rule() {
    let t = cron([None, None, Some("1"), None, None, None, Some("20"), None], "UTC");
    let texts: Vec<String> = t.fields.iter().map(|f| f.text()).collect();
    assert_eq!(texts, ["*", "*", "1", "*", "*", "*", "20", "0"]);
    assert_eq!(t.text(), "cron[day='1', minute='20']");
    let _ = NaiveDate::from_ymd_opt(2024, 1, 1).map(NaiveDateTime::from);
}
