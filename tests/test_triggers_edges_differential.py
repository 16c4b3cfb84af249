"""Trigger corner cases against APScheduler 3.11.3 (exploratory differential QA).

Most tests state APScheduler's behaviour as literals (so they also prove themselves in oracle
mode, ``APSCHEDULER_RS_ORACLE=1``); a few compare with the real ``apscheduler`` side by side.
Covered: CalendarIntervalTrigger month-end / leap day / DST / zone-of-previous rules, And/Or
(jitter, nesting, members ending, pickling), IntervalTrigger around DST in five zones,
microsecond and huge intervals, DateTrigger text forms, CronTrigger errors and naive ``now``,
attribute assignment, time zone types, pickles written by APScheduler.
"""
from __future__ import annotations

import pickle
import random
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

try:
    from apscheduler_rs._compat import loads as compat_loads
except ImportError:  # oracle mode: the pickles already name the classes that load them
    compat_loads = pickle.loads
from apscheduler_rs.triggers.calendarinterval import CalendarIntervalTrigger
from apscheduler_rs.triggers.combining import AndTrigger, OrTrigger
from apscheduler_rs.triggers.cron import CronTrigger
from apscheduler_rs.triggers.date import DateTrigger
from apscheduler_rs.triggers.interval import IntervalTrigger

ap_cal = pytest.importorskip("apscheduler.triggers.calendarinterval")
import apscheduler.triggers.combining as ap_comb  # noqa: E402
import apscheduler.triggers.cron as ap_cron  # noqa: E402
import apscheduler.triggers.date as ap_date  # noqa: E402
import apscheduler.triggers.interval as ap_interval  # noqa: E402

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
NY = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
CHATHAM = ZoneInfo("Pacific/Chatham")
KOLKATA = ZoneInfo("Asia/Kolkata")
TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2024, 1, 1, tzinfo=UTC)


def walk(trigger, prev=None, now=NOW, n=4):
    """Follow the schedule like the scheduler does; (isoformat, fold) of each fire time."""
    out = []
    for _ in range(n):
        t = trigger.get_next_fire_time(prev, now)
        out.append(None if t is None else (t.isoformat(), t.fold))
        if t is None:
            break
        prev = now = t
    return out


def full(t):
    """Everything observable about an aware datetime, not just its instant."""
    return None if t is None else (t.isoformat(), t.fold, t.utcoffset(), type(t.tzinfo).__name__, str(t.tzinfo))


# ====================================================================== CalendarIntervalTrigger
def test_calendar_month_end_start_skips_short_months():
    t = CalendarIntervalTrigger(months=1, hour=5, start_date="2024-01-31", timezone="Europe/Berlin")
    assert walk(t, n=5) == [("2024-01-31T05:00:00+01:00", 0), ("2024-03-31T05:00:00+02:00", 0),
                            ("2024-05-31T05:00:00+02:00", 0), ("2024-07-31T05:00:00+02:00", 0),
                            ("2024-08-31T05:00:00+02:00", 0)]


def test_calendar_leap_day_and_year_month_combination():
    leap = CalendarIntervalTrigger(years=1, start_date=date(2024, 2, 29), timezone="UTC")
    assert walk(leap, n=3) == [("2024-02-29T00:00:00+00:00", 0), ("2028-02-29T00:00:00+00:00", 0),
                               ("2032-02-29T00:00:00+00:00", 0)]
    # 3.x re-adds years *and* months on every retry of a nonexistent day.
    both = CalendarIntervalTrigger(years=1, months=1, start_date="2024-01-31", timezone="UTC")
    assert walk(both, n=3) == [("2024-01-31T00:00:00+00:00", 0), ("2026-03-31T00:00:00+00:00", 0),
                               ("2028-05-31T00:00:00+00:00", 0)]
    # weeks/days are added after the month arithmetic
    mixed = CalendarIntervalTrigger(months=1, weeks=1, days=1, start_date="2024-01-31", timezone="UTC")
    assert walk(mixed, n=3) == [("2024-01-31T00:00:00+00:00", 0), ("2024-04-08T00:00:00+00:00", 0),
                                ("2024-05-16T00:00:00+00:00", 0)]


@pytest.mark.parametrize("zone, hour, minute, start, expected", [
    ("Europe/Berlin", 2, 30, "2024-03-30", ["2024-03-30T02:30:00+01:00", "2024-04-01T02:30:00+02:00"]),
    ("Australia/Lord_Howe", 2, 15, "2024-10-05", ["2024-10-05T02:15:00+10:30", "2024-10-07T02:15:00+11:00"]),
    ("Pacific/Chatham", 2, 45, "2024-09-28", ["2024-09-28T02:45:00+12:45", "2024-09-30T02:45:00+13:45"]),
    ("America/New_York", 2, 0, "2024-03-10", ["2024-03-11T02:00:00-04:00", "2024-03-12T02:00:00-04:00"]),
])
def test_calendar_wall_time_in_dst_gap_skips_the_day(zone, hour, minute, start, expected):
    t = CalendarIntervalTrigger(days=1, hour=hour, minute=minute, start_date=start, timezone=zone)
    assert [iso for iso, _ in walk(t, n=2)] == expected


@pytest.mark.parametrize("zone, hour, minute, start, offset", [
    ("America/New_York", 1, 30, "2024-11-03", timedelta(hours=-4)),
    ("Australia/Lord_Howe", 1, 45, "2024-04-07", timedelta(hours=11)),
    ("Pacific/Chatham", 2, 50, "2024-04-07", timedelta(hours=13, minutes=45)),
    ("Europe/Berlin", 2, 0, "2024-10-27", timedelta(hours=2)),
])
def test_calendar_wall_time_in_overlap_uses_first_occurrence(zone, hour, minute, start, offset):
    t = CalendarIntervalTrigger(days=7, hour=hour, minute=minute, start_date=start, timezone=zone)
    first = t.get_next_fire_time(None, NOW)
    assert (first.fold, first.utcoffset(), first.tzinfo) == (0, offset, ZoneInfo(zone))
    assert first.tzinfo is t.timezone


def test_calendar_previous_fire_time_in_another_zone_uses_its_own_wall_date():
    t = CalendarIntervalTrigger(days=1, hour=23, start_date="2024-01-02", timezone="Asia/Tokyo")
    prev = datetime(2024, 1, 5, 20, tzinfo=UTC)  # already 2024-01-06 05:00 in Tokyo
    got = t.get_next_fire_time(prev, prev)
    assert full(got) == ("2024-01-06T23:00:00+09:00", 0, timedelta(hours=9), "ZoneInfo", "Asia/Tokyo")


def test_calendar_ignores_now_without_previous_fire_time():
    t = CalendarIntervalTrigger(weeks=1, start_date="2024-01-01", timezone="UTC")
    # start_date is returned even though it lies months before "now"
    assert walk(t, now=datetime(2024, 6, 1, tzinfo=UTC), n=1) == [("2024-01-01T00:00:00+00:00", 0)]
    # an end_date before start_date is an error, equal dates are fine
    with pytest.raises(ValueError, match=r"^end_date cannot be earlier than start_date$"):
        CalendarIntervalTrigger(days=1, start_date="2024-01-02", end_date="2024-01-01", timezone="UTC")
    same = CalendarIntervalTrigger(days=1, start_date="2024-01-02", end_date="2024-01-02", timezone="UTC")
    assert walk(same) == [("2024-01-02T00:00:00+00:00", 0), None]


@pytest.mark.parametrize("now", [datetime(2024, 6, 1, 12)], ids=["naive"])
def test_calendar_now_is_not_inspected(now):
    """3.x only passes ``now`` on to the jitter helper: a naive or missing now works."""
    t = CalendarIntervalTrigger(days=1, hour=23, start_date="2024-01-02", timezone="Asia/Tokyo")
    assert full(t.get_next_fire_time(None, now)) == (
        "2024-01-02T23:00:00+09:00", 0, timedelta(hours=9), "ZoneInfo", "Asia/Tokyo")


@pytest.mark.parametrize("kwargs, message", [
    (dict(days=1, hour=24), "hour must be in 0..23"),
    (dict(days=1, minute=60), "minute must be in 0..59"),
    (dict(days=1, second=-1), "second must be in 0..59"),
    (dict(days=1, start_date="2024-13-01"), "month must be in 1..12"),
    (dict(days=1, start_date="2024-01-01T00:00"), "Invalid isoformat string: '2024-01-01T00:00'"),
    (dict(), "interval must be at least 1 day long"),
    (dict(days=0, weeks=0, months=0, years=0), "interval must be at least 1 day long"),
])
def test_calendar_constructor_errors(kwargs, message):
    with pytest.raises(ValueError) as info:
        CalendarIntervalTrigger(timezone="UTC", **kwargs)
    assert str(info.value) == message


def test_calendar_datetime_start_date_and_repr():
    zone = timezone(timedelta(hours=5, minutes=45))
    t = CalendarIntervalTrigger(weeks=1, minute=5, start_date=datetime(2024, 1, 1, 15, 30), timezone=zone)
    assert repr(t) == ("CalendarIntervalTrigger(weeks=1, time='00:05:00+05:45', start_date='2024-01-01 15:30:00', "
                       "timezone='datetime.timezone(datetime.timedelta(seconds=20700))')")
    assert str(t) == repr(t)
    # the datetime's time of day is ignored; only its date is used
    assert walk(t, n=3) == [("2024-01-01T00:05:00+05:45", 0), ("2024-01-08T00:05:00+05:45", 0),
                            ("2024-01-15T00:05:00+05:45", 0)]
    with pytest.raises(TypeError, match=r"^can't compare datetime.datetime to datetime.date$"):
        CalendarIntervalTrigger(weeks=1, start_date=datetime(2024, 1, 1, 15, 30), end_date=date(2024, 1, 20),
                                timezone=zone)


def test_calendar_pickles_written_by_apscheduler_load_and_run():
    pytz = pytest.importorskip("pytz")
    for theirs in [
        ap_cal.CalendarIntervalTrigger(days=1, hour=2, minute=15, start_date="2024-10-05", end_date="2024-10-20",
                                       timezone="Australia/Lord_Howe", jitter=None),
        ap_cal.CalendarIntervalTrigger(years=1, start_date="2024-02-29", timezone=pytz.timezone("Pacific/Chatham")),
        ap_cal.CalendarIntervalTrigger(months=1, start_date="2024-01-31", timezone=timezone(timedelta(hours=-3))),
    ]:
        ours = compat_loads(pickle.dumps(theirs))
        assert type(ours).__module__.split(".")[0] in ("apscheduler_rs", "apscheduler")
        assert repr(ours) == repr(theirs)
        assert ours.__getstate__() == theirs.__getstate__()
        assert walk(ours, n=5) == walk(theirs, n=5)
        again = pickle.loads(pickle.dumps(ours))
        assert walk(again, n=5) == walk(theirs, n=5)


# ====================================================================== And / Or
def test_or_equal_instants_return_first_members_object():
    utc_member = DateTrigger(datetime(2024, 2, 1, tzinfo=UTC))
    berlin_member = DateTrigger(datetime(2024, 2, 1, 1, tzinfo=BERLIN))
    a = OrTrigger([utc_member, berlin_member]).get_next_fire_time(None, NOW)
    b = OrTrigger([berlin_member, utc_member]).get_next_fire_time(None, NOW)
    assert a is utc_member.run_date and a.tzinfo is UTC
    assert b is berlin_member.run_date and b.tzinfo is BERLIN


def test_members_ending():
    end_soon = CronTrigger(hour=0, end_date="2024-01-03", timezone="UTC")
    date_member = DateTrigger("2024-01-05", timezone="UTC")
    # a DateTrigger member only answers while previous_fire_time is None: it is lost after the
    # first fire time of the OR trigger
    assert walk(OrTrigger([date_member, end_soon]), n=6) == [
        ("2024-01-01T00:00:00+00:00", 0), ("2024-01-02T00:00:00+00:00", 0), ("2024-01-03T00:00:00+00:00", 0),
        None]
    # AND: finished as soon as any member is finished
    and_t = AndTrigger([CronTrigger(hour=0, timezone="UTC"), DateTrigger("2024-01-05", timezone="UTC")])
    assert walk(and_t) == [("2024-01-05T00:00:00+00:00", 0), None]
    assert AndTrigger([CronTrigger(hour=0, timezone="UTC", end_date="2023-01-01")]).get_next_fire_time(None, NOW) is None
    assert OrTrigger([]).get_next_fire_time(None, NOW) is None


def test_nested_combinations_across_zones():
    t = OrTrigger([
        AndTrigger([CronTrigger(day="*/2", timezone="UTC"), CronTrigger(day_of_week="mon", timezone="UTC")]),
        DateTrigger("2024-01-05 12:00:00", timezone="UTC"),
    ])
    assert full(t.get_next_fire_time(None, NOW)) == (
        "2024-01-01T00:00:00+00:00", 0, timedelta(0), "timezone", "UTC")
    cross = AndTrigger([CronTrigger(hour=1, timezone="Europe/Berlin"), CronTrigger(hour=0, timezone="UTC")])
    first = cross.get_next_fire_time(None, NOW)
    assert full(first) == ("2024-01-01T01:00:00+01:00", 0, timedelta(hours=1), "ZoneInfo", "Europe/Berlin")


@pytest.mark.parametrize("cls", [AndTrigger, OrTrigger])
def test_combining_jitter_is_wall_clock_addition(cls):
    """_apply_jitter adds a timedelta to an aware datetime: wall-clock arithmetic, so a
    jittered time can land in a DST gap (wall 02:00:xx with the +01:00 offset)."""
    base = CronTrigger(hour=1, minute=59, second=50, end_date="2024-04-01", timezone="Europe/Berlin")
    t = cls([base], jitter=30)
    start = datetime(2024, 3, 31, tzinfo=BERLIN)
    random.seed(12)
    seen_gap = False
    for _ in range(200):
        got = t.get_next_fire_time(None, start)
        wall = got.replace(tzinfo=None)
        assert datetime(2024, 3, 31, 1, 59, 50) <= wall <= datetime(2024, 3, 31, 2, 0, 20)
        assert got.tzinfo is BERLIN and got.fold == 0 and got.utcoffset() == timedelta(hours=1)
        seen_gap |= wall.hour == 2
    assert seen_gap


def test_combining_repr_str_and_jitter_values():
    inner = AndTrigger([CronTrigger(hour=1, timezone="UTC"),
                        CalendarIntervalTrigger(days=1, start_date="2024-01-01", timezone="UTC")], jitter=2)
    t = OrTrigger((OrTrigger([DateTrigger("2024-02-01", timezone="UTC")]), inner), jitter=3)
    assert str(t) == ("or[or[date[2024-02-01 00:00:00 UTC]], and[cron[hour='1'], "
                      "CalendarIntervalTrigger(days=1, time='00:00:00+00:00', start_date='2024-01-01', timezone='datetime.timezone.utc')]]")
    assert repr(t) == (
        "<OrTrigger((<OrTrigger([<DateTrigger (run_date='2024-02-01 00:00:00 UTC')>])>, "
        "<AndTrigger([<CronTrigger (hour='1', timezone='UTC')>, CalendarIntervalTrigger(days=1, "
        "time='00:00:00+00:00', start_date='2024-01-01', timezone='datetime.timezone.utc')], jitter=2)>), jitter=3)>")
    assert repr(OrTrigger([], jitter=0)) == "<OrTrigger([])>"
    assert repr(AndTrigger([], jitter=-1)) == "<AndTrigger([], jitter=-1)>"
    assert type(OrTrigger(iter([])).triggers).__name__ == "list_iterator"
    with pytest.raises(TypeError, match="unsupported operand"):
        OrTrigger([DateTrigger("2024-02-01", timezone="UTC")], jitter="5").get_next_fire_time(None, NOW)


def test_nested_combination_pickles_both_ways():
    # (AND members must agree after a previous fire time: 3.11.3 loops forever otherwise)
    text = ("Or([And([Cron(hour='*/2', timezone='UTC', end_date='2025-01-01'), Cron(hour='0-23/2', timezone='UTC')]),"
            " Or([Date('2024-04-01', 'UTC'), Cal(days=1, hour=3, start_date='2024-03-01', timezone='Pacific/Chatham')]),"
            " Cron(hour=2, minute='*/30', timezone='Australia/Lord_Howe', end_date='2024-05-01')], jitter=None)")
    names = lambda m1, m2, m3, m4, m5: dict(Or=m1.OrTrigger, And=m1.AndTrigger, Cron=m2.CronTrigger,  # noqa: E731
                                           Date=m3.DateTrigger, Cal=m4.CalendarIntervalTrigger)
    ours = eval(text, names(*[__import__(f"apscheduler_rs.triggers.{m}", fromlist=["x"]) for m in  # noqa: S307
                               ("combining", "cron", "date", "calendarinterval", "interval")]))
    theirs = eval(text, names(ap_comb, ap_cron, ap_date, ap_cal, ap_interval))  # noqa: S307
    now = datetime(2024, 3, 30, 12, tzinfo=UTC)
    expected = walk(theirs, now=now, n=6)
    loaded = compat_loads(pickle.dumps(theirs))
    assert (repr(loaded), str(loaded)) == (repr(theirs), str(theirs))
    assert walk(loaded, now=now, n=6) == expected
    assert walk(pickle.loads(pickle.dumps(ours)), now=now, n=6) == expected


@pytest.mark.parametrize("build", [
    lambda: OrTrigger([CronTrigger(hour=1, timezone="UTC")]),
    lambda: AndTrigger([CronTrigger(hour=1, timezone="UTC"), CronTrigger(minute=0, timezone="UTC")]),
    lambda: OrTrigger([CalendarIntervalTrigger(days=1, hour=1, start_date="2024-01-01", timezone="UTC")]),
    lambda: CronTrigger(hour=1, timezone="UTC"),
    lambda: CronTrigger(hour=1, start_date="2023-06-01", timezone="UTC"),
], ids=["or-cron", "and-cron", "or-calendar", "cron", "cron-start_date"])
def test_naive_now_is_read_as_local_time(build):
    """3.x converts ``now`` with ``.astimezone(UTC)``: a naive now is taken as local time."""
    naive = datetime(2024, 1, 1, 0, 30)
    expected = build().get_next_fire_time(None, naive.astimezone())
    assert full(build().get_next_fire_time(None, naive)) == full(expected)


# ====================================================================== IntervalTrigger
DST_ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Pacific/Chatham", "Asia/Kolkata"]
TRANSITIONS = {  # an instant (UTC) shortly before a change of offset, both directions
    "Europe/Berlin": [datetime(2024, 3, 31, 0, 40), datetime(2024, 10, 27, 0, 40)],
    "America/New_York": [datetime(2024, 3, 10, 6, 40), datetime(2024, 11, 3, 5, 40)],
    "Australia/Lord_Howe": [datetime(2024, 4, 6, 14, 40), datetime(2024, 10, 5, 15, 10)],
    "Pacific/Chatham": [datetime(2024, 4, 6, 13, 40), datetime(2024, 9, 28, 13, 40)],
    "Asia/Kolkata": [datetime(2024, 3, 31, 0, 40)],
}


@pytest.mark.parametrize("zone", DST_ZONES)
@pytest.mark.parametrize("minutes", [15, 30, 60, 24 * 60])
def test_interval_across_dst_is_elapsed_time_with_correct_fold(zone, minutes):
    tz = ZoneInfo(zone)
    for instant in TRANSITIONS[zone]:
        start = instant.replace(tzinfo=UTC).astimezone(tz)
        for start_arg in (start, start.replace(tzinfo=None, fold=start.fold), start.strftime("%Y-%m-%d %H:%M:%S")):
            ours = IntervalTrigger(minutes=minutes, start_date=start_arg, timezone=zone)
            theirs = ap_interval.IntervalTrigger(minutes=minutes, start_date=start_arg, timezone=zone)
            assert repr(ours) == repr(theirs)
            prev_o = prev_t = None
            for _ in range(6):
                o = ours.get_next_fire_time(prev_o, start)
                t = theirs.get_next_fire_time(prev_t, start)
                assert full(o) == full(t)
                assert o.tzinfo is ours.timezone
                assert datetime.fromtimestamp(o.timestamp(), tz).fold == o.fold
                if prev_o is not None:
                    assert o.timestamp() - prev_o.timestamp() == minutes * 60
                prev_o, prev_t = o, t


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(micros=st.integers(1, 3_000_000), offset=st.integers(0, 10**7),
       start_us=st.integers(0, 999_999), zone=st.sampled_from(DST_ZONES + ["UTC"]),
       use_prev=st.booleans())
def test_interval_float_timestamp_rounding_matches(micros, offset, start_us, zone, use_prev):
    """3.x computes with float timestamps (fromtimestamp rounds half-even): small and odd
    intervals must round exactly the same way."""
    seconds = micros / 1_000_000
    start = datetime(2024, 3, 31, 0, 59, 59, start_us, tzinfo=UTC)
    now = start + timedelta(microseconds=offset)
    ours = IntervalTrigger(seconds=seconds, start_date=start, timezone=zone)
    theirs = ap_interval.IntervalTrigger(seconds=seconds, start_date=start, timezone=zone)
    prev = now if use_prev else None
    o, t = ours.get_next_fire_time(prev, now), theirs.get_next_fire_time(prev, now)
    for _ in range(3):
        assert full(o) == full(t)
        o, t = ours.get_next_fire_time(o, o), theirs.get_next_fire_time(t, t)


def test_interval_odd_arguments():
    neg = IntervalTrigger(seconds=-5, start_date="2024-01-01 00:00:00", timezone="UTC")
    assert str(neg) == "interval[-1 day, 23:59:55]"
    assert walk(neg, now=datetime(2024, 6, 1, tzinfo=UTC), n=2) == [
        ("2024-06-01T00:00:00+00:00", 0), ("2024-05-31T23:59:55+00:00", 0)]
    tiny = IntervalTrigger(seconds=0.0000004, start_date="2024-01-01", timezone="UTC")
    # rounds to a zero timedelta, which 3.x replaces with one second
    assert (str(tiny), tiny.interval_length) == ("interval[0:00:01]", 1)
    # end_date before start_date is accepted; nothing ever fires
    backwards = IntervalTrigger(hours=1, start_date="2024-01-02", end_date="2024-01-01", timezone="UTC")
    assert backwards.get_next_fire_time(None, NOW) is None
    # falsy start_date means "now + interval"; an empty end_date string is an error
    assert IntervalTrigger(hours=1, start_date="", timezone="UTC").start_date > datetime.now(UTC)
    with pytest.raises(ValueError, match=r"^Invalid date string$"):
        IntervalTrigger(hours=1, start_date="2024-01-01", end_date="", timezone="UTC")
    # the zone comes from an aware end_date when neither timezone nor an aware start is given
    inferred = IntervalTrigger(hours=1, start_date=datetime(2024, 1, 1), end_date=datetime(2024, 1, 3, tzinfo=KOLKATA))
    assert inferred.timezone is KOLKATA and inferred.start_date.tzinfo is KOLKATA


# ====================================================================== DateTrigger
@pytest.mark.parametrize("text, zone, expected", [
    ("2024-1-2 3:4:5", "Europe/Berlin", "2024-01-02T03:04:05+01:00"),
    ("2024-01-01 01:02:03.5", "UTC", "2024-01-01T01:02:03.000005+00:00"),  # ".5" is 5 microseconds
    ("2024-01-01T01:02:03.123456Z", "Europe/Berlin", "2024-01-01T01:02:03.123456+00:00"),
    ("2024-01-01 01:02:03-00:00", "Europe/Berlin", "2024-01-01T01:02:03+00:00"),
    ("2024-01-01 01:02:03+05:99", "UTC", "2024-01-01T01:02:03+06:39"),
    ("2024-01-01 01:02:03+23:59", "UTC", "2024-01-01T01:02:03+23:59"),
    ("2024-01-01\n", "UTC", "2024-01-01T00:00:00+00:00"),  # "$" matches before a final newline
    ("\u0662\u0660\u0662\u0664-\u0660\u0661-\u0660\u0662", "UTC", "2024-01-02T00:00:00+00:00"),  # Arabic-Indic digits
    ("\uff12\uff10\uff12\uff14-01-01", "UTC", "2024-01-01T00:00:00+00:00"),  # fullwidth digits
    ("2024-03-31 02:30:00", "Europe/Berlin", "2024-03-31T03:30:00+02:00"),  # gap: normalized forward
    ("2024-10-06 02:15:00", "Australia/Lord_Howe", "2024-10-06T02:45:00+11:00"),
    ("2024-09-29 02:45:00", "Pacific/Chatham", "2024-09-29T03:45:00+13:45"),
    ("2024-04-07 01:45:00", "Australia/Lord_Howe", "2024-04-07T01:45:00+11:00"),  # overlap: first
    ("2024-04-07 02:50:00", "Pacific/Chatham", "2024-04-07T02:50:00+13:45"),
])
def test_date_text_forms_accepted(text, zone, expected):
    t = DateTrigger(text, zone)
    assert t.run_date.isoformat() == expected
    assert t.run_date.fold == 0
    assert t.get_next_fire_time(None, NOW) is t.run_date
    assert t.get_next_fire_time(t.run_date, NOW) is None


@pytest.mark.parametrize("text, exc_type, message", [
    ("2024-01-01 01:02", ValueError, "Invalid date string"),
    ("2024-01-01Z", ValueError, "Invalid date string"),
    ("2024-01-01t01:02:03", ValueError, "Invalid date string"),
    ("2024-01-01 01:02:03z", ValueError, "Invalid date string"),
    ("2024-01-01 01:02:03+0530", ValueError, "Invalid date string"),
    ("2024-01-01 01:02:03.1234567", ValueError, "Invalid date string"),
    (" 2024-01-01", ValueError, "Invalid date string"),
    ("2024-01-01 ", ValueError, "Invalid date string"),
    ("", ValueError, "Invalid date string"),
    ("2024-13-01", ValueError, "month must be in 1..12"),
    ("2024-02-30", ValueError, "day is out of range for month"),
    ("0000-01-01", ValueError, "year 0 is out of range"),
    ("2024-01-01 24:00:00", ValueError, "hour must be in 0..23"),
    ("2024-01-01 23:59:60", ValueError, "second must be in 0..59"),
    ("2024-01-01 01:02:03+24:00", ValueError,
     "offset must be a timedelta strictly between -timedelta(hours=24) and timedelta(hours=24), "
     "not datetime.timedelta(days=1)."),
    (b"2024-01-01", TypeError, "Unsupported type for run_date: bytes"),
    (0, TypeError, "Unsupported type for run_date: int"),
])
def test_date_text_forms_rejected(text, exc_type, message):
    with pytest.raises(exc_type) as info:
        DateTrigger(text, "UTC")
    assert str(info.value) == message


def test_date_naive_fold_and_aware_identity():
    folded = DateTrigger(datetime(2024, 4, 7, 1, 45, fold=1), "Australia/Lord_Howe").run_date
    assert (folded.isoformat(), folded.fold) == ("2024-04-07T01:45:00+10:30", 1)
    aware = datetime(2024, 1, 1, tzinfo=TOKYO)
    t = DateTrigger(aware, "UTC")
    assert t.run_date is aware and t.get_next_fire_time(None, None) is aware
    assert repr(t) == "<DateTrigger (run_date='2024-01-01 00:00:00 JST')>"


# ====================================================================== CronTrigger
@pytest.mark.parametrize("kwargs, message", [
    (dict(year="2025-2024"), "The minimum value in a range must not be higher than the maximum"),
    (dict(year="1969"), "Error validating expression '1969': the first value (1969) is lower than the minimum value (1970)"),
    (dict(year="2024-2025-2026"), 'Unrecognized expression "2024-2025-2026" for field "year"'),
    (dict(month="january"), 'Invalid month name "january"'),
    (dict(month="dec-jan"), "The minimum value in a range must not be higher than the maximum"),
    (dict(day="6th fri"), 'Unrecognized expression "6th fri" for field "day"'),
    (dict(day="1st monday"), 'Invalid weekday name "monday"'),
    (dict(week="0"), "Error validating expression '0': the first value (0) is lower than the minimum value (1)"),
    (dict(day_of_week="last"), 'Invalid weekday name "last"'),
    (dict(day_of_week="sun-mon"), "The minimum value in a range must not be higher than the maximum"),
    (dict(hour="*/25"), "Error validating expression '*/25': the step value (25) is higher than the total range of the expression (23)"),
    (dict(hour=5.0), 'Unrecognized expression "5.0" for field "hour"'),
    (dict(hour=[1, 2]), 'Unrecognized expression "[1" for field "hour"'),
    (dict(hour=" "), 'Unrecognized expression "" for field "hour"'),
    (dict(second="*/0"), "Increment must be higher than 0"),
])
def test_cron_invalid_expressions_exact_messages(kwargs, message):
    with pytest.raises(ValueError) as info:
        CronTrigger(timezone="UTC", **kwargs)
    assert str(info.value) == message


@pytest.mark.parametrize("kwargs, text", [
    (dict(month="Jan - Mar"), "cron[month='jan']"),
    (dict(day="last-1"), "cron[day='last']"),
    (dict(day="LAST FRI"), "cron[day='last fri']"),
    (dict(day="1st  mon"), "cron[day='1st mon']"),
    (dict(day="2nd sun/2"), "cron[day='2nd sun']"),
    (dict(hour="\u0663"), "cron[hour='3']"),
    (dict(hour="007"), "cron[hour='7']"),
])
def test_cron_lenient_parsing_quirks(kwargs, text):
    assert str(CronTrigger(timezone="UTC", **kwargs)) == text


@pytest.mark.parametrize("expr, message", [
    ("", "Wrong number of fields; got 0, expected 5"),
    ("* * * * * *", "Wrong number of fields; got 6, expected 5"),
    ("* * L * *", 'Unrecognized expression "L" for field "day"'),
    ("* * * * 5#3", 'Unrecognized expression "5#3" for field "day_of_week"'),
    ("* * * * 8", "Error validating expression '8': the last value (8) is higher than the maximum value (6)"),
])
def test_from_crontab_errors(expr, message):
    with pytest.raises(ValueError) as info:
        CronTrigger.from_crontab(expr, "UTC")
    assert str(info.value) == message
    # whitespace of any kind separates fields
    assert str(CronTrigger.from_crontab("0\t9\n*\u00a0* mon", "UTC")) == (
        "cron[month='*', day='*', day_of_week='mon', hour='9', minute='0']")


def test_cron_positional_days_year_ranges_and_weeks_end():
    t = CronTrigger(year="2024-2025", day="5th mon", timezone="UTC")
    assert [x and x[0][:10] for x in walk(t, n=10)] == [
        "2024-01-29", "2024-04-29", "2024-07-29", "2024-09-30", "2024-12-30", "2025-03-31", "2025-06-30",
        "2025-09-29", "2025-12-29", None]
    wk = CronTrigger(year="2020-2026", week=53, timezone="UTC")
    assert [x and x[0][:10] for x in walk(wk, now=datetime(2019, 1, 1, tzinfo=UTC), n=9)] == [
        "2020-12-28", "2020-12-29", "2020-12-30", "2020-12-31", "2021-01-01", "2021-01-02", "2021-01-03",
        "2026-12-28", "2026-12-29"]
    last_sun = CronTrigger(year=2024, month="mar,oct", day="last sun", hour=2, minute=30, timezone="Europe/Berlin")
    # a wall time in the spring gap is returned as is (nonexistent 02:30+01:00); autumn fires twice
    assert walk(last_sun, n=4) == [("2024-03-31T02:30:00+01:00", 0), ("2024-10-27T02:30:00+02:00", 0),
                                   ("2024-10-27T02:30:00+01:00", 1), None]


def test_cron_fold_sequence_through_overlap_with_start_and_end():
    # Lord Howe goes back from 02:00 (+11) to 01:30 (+10:30): 01:30-02:00 happens twice
    t = CronTrigger(minute="*/20", start_date=datetime(2024, 4, 7, 1, 40, fold=1),
                    end_date="2024-04-07 02:30:00", timezone="Australia/Lord_Howe")
    assert t.start_date.fold == 1
    assert walk(t, n=8) == [("2024-04-07T01:40:00+10:30", 1), ("2024-04-07T02:00:00+10:30", 0),
                            ("2024-04-07T02:20:00+10:30", 0), None]
    u = CronTrigger(minute="*/20", end_date="2024-04-07 02:30:00", timezone="Australia/Lord_Howe")
    assert walk(u, now=datetime(2024, 4, 7, 1, 10, tzinfo=LORD_HOWE), n=8) == [
        ("2024-04-07T01:20:00+11:00", 0), ("2024-04-07T01:40:00+11:00", 0), ("2024-04-07T01:40:00+10:30", 1),
        ("2024-04-07T02:00:00+10:30", 0), ("2024-04-07T02:20:00+10:30", 0), None]


# ====================================================================== time zone types
def _tz_candidates():
    # apscheduler_rs takes dateutil's tzlocal, tzutc and tzoffset, not tzstr or tzinfo classes
    # of one's own (README, "Deliberate differences"); 3.x takes any tzinfo.
    from dateutil import tz as dtz

    return [("tzlocal", dtz.tzlocal())]


@pytest.mark.parametrize("name, zone", _tz_candidates(), ids=[n for n, _ in _tz_candidates()])
def test_any_tzinfo_is_accepted(name, zone):
    now = datetime(2024, 3, 30, 12, tzinfo=UTC)
    triggers = [
        CronTrigger(hour=2, minute=30, timezone=zone),
        IntervalTrigger(hours=5, start_date="2024-03-30 12:00:00", timezone=zone),
        DateTrigger("2024-04-01 00:00:00", zone),
        CalendarIntervalTrigger(days=1, hour=2, start_date="2024-03-31", timezone=zone),
    ]
    for t in triggers:
        got = t.get_next_fire_time(None, now)
        assert got.tzinfo is zone
        assert got > now - timedelta(days=1)
