"""Differential tests: apscheduler_rs triggers against the real APScheduler 3.11.3.

Random triggers (every cron expression kind, names, positions, invalid text), DST zones,
fixed offsets, random start/end/previous/now; results are compared by ISO text, fold and
tzinfo, errors by type and message. About 20,000 cases per run (``DIFF_SCALE`` scales it).
AND triggers are only compared where 3.11.3 terminates (it can loop forever, see
combining.py); elsewhere ours must simply return.
"""
from __future__ import annotations

import os
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ap = pytest.importorskip("apscheduler")
from apscheduler.triggers import calendarinterval as ap_cal  # noqa: E402
from apscheduler.triggers import combining as ap_comb  # noqa: E402
from apscheduler.triggers import cron as ap_cron  # noqa: E402
from apscheduler.triggers import date as ap_date  # noqa: E402
from apscheduler.triggers import interval as ap_interval  # noqa: E402

from apscheduler_rs.triggers import calendarinterval as rs_cal  # noqa: E402
from apscheduler_rs.triggers import combining as rs_comb  # noqa: E402
from apscheduler_rs.triggers import cron as rs_cron  # noqa: E402
from apscheduler_rs.triggers import date as rs_date  # noqa: E402
from apscheduler_rs.triggers import interval as rs_interval  # noqa: E402

SCALE = float(os.environ.get("DIFF_SCALE", "1"))
# Each test runs thousands of examples; the project-wide 120 s timeout is for ordinary tests.
pytestmark = pytest.mark.timeout(max(300, int(300 * SCALE)))
COUNTS = {"cron": 0, "interval": 0, "calendar": 0, "date": 0, "combining": 0}
STATS = {"errors": 0, "fire_times": 0, "none": 0, "and_hangs": 0}


def examples(n):
    return settings(max_examples=max(1, int(n * SCALE)), deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


ZONE_NAMES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC"]
# DST transitions (UTC) of the zones above, to aim random times at.
TRANSITIONS = [datetime(2024, 3, 31, 1), datetime(2024, 10, 27, 1), datetime(2024, 3, 10, 7),
               datetime(2024, 11, 3, 6), datetime(2024, 4, 6, 15), datetime(2024, 10, 5, 15),
               datetime(2025, 3, 30, 1), datetime(2025, 11, 2, 6)]

zones = st.one_of(
    st.sampled_from(ZONE_NAMES).map(ZoneInfo),
    st.just(timezone.utc),
    st.builds(lambda m: timezone(timedelta(minutes=m)), st.integers(-12 * 60, 14 * 60).map(lambda m: m - m % 15)),
)
try:
    import pytz
except ImportError:  # pragma: no cover
    pytz = None
zone_args = st.one_of(
    zones,
    st.sampled_from(["Europe/Berlin", "UTC", "America/New_York", "Australia/Lord_Howe"]),
    *([st.sampled_from(ZONE_NAMES).map(pytz.timezone)] if pytz else []),
)


@st.composite
def instants(draw):
    """A UTC instant, often close to a DST transition."""
    if draw(st.booleans()):
        base = draw(st.sampled_from(TRANSITIONS)).replace(tzinfo=timezone.utc)
        delta = timedelta(seconds=draw(st.integers(-3 * 86400, 3 * 86400)))
        if draw(st.booleans()):
            delta = timedelta(minutes=delta.total_seconds() // 60)
    else:
        base = datetime(2023, 1, 1, tzinfo=timezone.utc)
        delta = timedelta(seconds=draw(st.integers(0, 4 * 365 * 86400)))
    micro = draw(st.sampled_from([0, 0, 0, 1, 500000, 999999]))
    return base + delta + timedelta(microseconds=micro)


@st.composite
def aware_times(draw, zone=None):
    return draw(instants()).astimezone(zone if zone is not None else draw(zones))


@st.composite
def date_args(draw, zone):
    """start/end/run dates: strings, naive or aware datetimes, dates."""
    t = draw(aware_times(zone))
    kind = draw(st.sampled_from(["str", "str_us", "str_off", "naive", "aware", "date", "date_str"]))
    if kind == "str":
        return t.strftime("%Y-%m-%d %H:%M:%S")
    if kind == "str_us":
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + str(draw(st.integers(0, 999999)))
    if kind == "str_off":
        return t.strftime("%Y-%m-%d %H:%M:%S") + draw(st.sampled_from(["Z", "+05:30", "-03:00"]))
    if kind == "naive":
        return t.replace(tzinfo=None)
    if kind == "aware":
        if pytz and draw(st.integers(0, 3)) == 0:  # pytz-aware values are kept as given
            return t.astimezone(pytz.timezone(draw(st.sampled_from(ZONE_NAMES))))
        return t
    if kind == "date":
        return t.date()
    return t.strftime("%Y-%m-%d")


def outcome(fn):
    try:
        return "ok", fn()
    except Exception as exc:  # noqa: BLE001 - comparing errors is the point
        return "error", (type(exc).__name__, str(exc))


def same_time(a, b):
    if a is None or b is None:
        return a is None and b is None
    return (a.isoformat(), a.fold, str(a.tzinfo)) == (b.isoformat(), b.fold, str(b.tzinfo))


def compare_build(ap_factory, rs_factory):
    ap_kind, ap_value = outcome(ap_factory)
    rs_kind, rs_value = outcome(rs_factory)
    assert ap_kind == rs_kind, (ap_value, rs_value)
    if ap_kind == "error":
        STATS["errors"] += 1
        assert ap_value == rs_value
        return None, None
    return ap_value, rs_value


def compare_calls(ap_t, rs_t, prev, now, n=3):
    a_prev = r_prev = prev
    for _ in range(n):
        a = ap_t.get_next_fire_time(a_prev, now)
        r = rs_t.get_next_fire_time(r_prev, now)
        assert same_time(a, r), (str(ap_t), a_prev, now, a, r)
        STATS["none" if a is None else "fire_times"] += 1
        if a is None:
            return
        a_prev, r_prev, now = a, r, a


# ---------------------------------------------------------------- cron
def step_text(draw, lo, hi):
    return str(draw(st.integers(1, max(1, hi - lo + 2))))


@st.composite
def cron_piece(draw, name, lo, hi):
    kind = draw(st.sampled_from(["*", "*/", "a", "a-b", "a-b/", "a/", "name", "pos", "last", "junk"]))
    a = draw(st.integers(lo - 1, hi + 1))
    b = draw(st.integers(a, hi + 1)) if draw(st.booleans()) else draw(st.integers(lo, hi))
    if kind == "*":
        return "*"
    if kind == "*/":
        return "*/" + step_text(draw, lo, hi)
    if kind == "a":
        return str(a)
    if kind == "a-b":
        return f"{a}-{b}"
    if kind == "a-b/":
        return f"{a}-{b}/" + step_text(draw, lo, hi)
    if kind == "a/":
        return f"{a}/" + step_text(draw, lo, hi)
    if kind == "name" and name == "month":
        names = ["jan", "Feb", "MAR", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", "foo"]
        first = draw(st.sampled_from(names))
        return first + (("-" + draw(st.sampled_from(names))) if draw(st.booleans()) else "")
    if kind == "name" and name == "day_of_week":
        names = ["mon", "Tue", "WED", "thu", "fri", "sat", "sun", "monday"]
        first = draw(st.sampled_from(names))
        return first + (("-" + draw(st.sampled_from(names))) if draw(st.booleans()) else "")
    if kind == "pos" and name == "day":
        return draw(st.sampled_from(["1st", "2nd", "3rd", "4th", "5th", "last", "LAST"])) + " " + \
            draw(st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun", "xyz"]))
    if kind == "last" and name == "day":
        return "last"
    if kind == "junk" and draw(st.integers(0, 9)) == 0:
        return draw(st.text(alphabet="0123456789*/-abcdefjlmnorstuvwy \u0663\uff11\t\n", min_size=0, max_size=6))
    return str(draw(st.integers(lo, hi)))


CRON_RANGES = {"year": (2022, 2030), "month": (1, 12), "day": (1, 31), "week": (1, 53),
               "day_of_week": (0, 6), "hour": (0, 23), "minute": (0, 59), "second": (0, 59)}


@st.composite
def cron_value(draw, name):
    lo, hi = CRON_RANGES[name]
    pieces = draw(st.lists(cron_piece(name, lo, hi), min_size=1, max_size=3))
    if draw(st.integers(0, 5)) == 0 and all(p.isdigit() for p in pieces) and len(pieces) == 1:
        return int(pieces[0])
    return draw(st.sampled_from([",", ", ", " , "])).join(pieces)


@st.composite
def cron_kwargs(draw):
    names = draw(st.lists(st.sampled_from(list(CRON_RANGES)), unique=True, max_size=5))
    kwargs = {n: draw(cron_value(n)) for n in names}
    zone = draw(zones)
    if draw(st.booleans()):
        kwargs["timezone"] = draw(zone_args)
    if draw(st.integers(0, 3)) == 0:
        kwargs["start_date"] = draw(date_args(zone))
    # Keep APScheduler's own search bounded: it scans until year 9999 without an end date.
    if "year" not in kwargs or draw(st.booleans()):
        kwargs["end_date"] = draw(aware_times(zone)) + timedelta(days=draw(st.integers(0, 400)))
    return kwargs


@examples(8000)
@given(kwargs=cron_kwargs(), now=aware_times(), prev_kind=st.sampled_from(["none", "none", "random"]),
       prev=aware_times())
def test_cron_matches_apscheduler(kwargs, now, prev_kind, prev):
    COUNTS["cron"] += 1
    ap_t, rs_t = compare_build(lambda: ap_cron.CronTrigger(**kwargs), lambda: rs_cron.CronTrigger(**kwargs))
    if ap_t is None:
        return
    assert str(ap_t) == str(rs_t)
    assert repr(ap_t) == repr(rs_t)
    assert [repr(f) for f in ap_t.fields] == [repr(f) for f in rs_t.fields]
    compare_calls(ap_t, rs_t, prev if prev_kind == "random" else None, now)


@examples(1500)
@given(expr=st.lists(st.sampled_from(["*", "*/5", "0", "1-5", "mon-fri", "jan", "15", "0-6/2", "7", "x"]),
                     min_size=4, max_size=6).map(" ".join), zone=zones, now=aware_times())
def test_from_crontab_matches_apscheduler(expr, zone, now):
    COUNTS["cron"] += 1
    ap_t, rs_t = compare_build(lambda: ap_cron.CronTrigger.from_crontab(expr, zone),
                               lambda: rs_cron.CronTrigger.from_crontab(expr, zone))
    if ap_t is None:
        return
    assert str(ap_t) == str(rs_t)
    # Unbounded crontab schedules can be slow in APScheduler; one call from a valid start.
    a = ap_t.get_next_fire_time(None, now)
    assert same_time(a, rs_t.get_next_fire_time(None, now))


# ---------------------------------------------------------------- interval
@st.composite
def interval_kwargs(draw):
    zone = draw(zones)
    kwargs = {}
    for unit, hi in [("weeks", 2), ("days", 10), ("hours", 30), ("minutes", 200), ("seconds", 5000)]:
        if draw(st.integers(0, 2)) == 0:
            kwargs[unit] = draw(st.integers(0, hi))
    if draw(st.integers(0, 5)) == 0:
        kwargs["seconds"] = draw(st.floats(0.001, 1000, allow_nan=False).map(lambda f: round(f, 6)))
    if draw(st.booleans()):
        kwargs["timezone"] = draw(zone_args)
    kwargs["start_date"] = draw(date_args(zone))
    if draw(st.booleans()):
        kwargs["end_date"] = draw(date_args(zone))
    return kwargs


@examples(5000)
@given(kwargs=interval_kwargs(), now=aware_times(), prev_kind=st.sampled_from(["none", "random"]),
       prev=aware_times())
def test_interval_matches_apscheduler(kwargs, now, prev_kind, prev):
    COUNTS["interval"] += 1
    ap_t, rs_t = compare_build(lambda: ap_interval.IntervalTrigger(**kwargs),
                               lambda: rs_interval.IntervalTrigger(**kwargs))
    if ap_t is None:
        return
    assert (str(ap_t), repr(ap_t)) == (str(rs_t), repr(rs_t))
    assert ap_t.interval_length == rs_t.interval_length
    compare_calls(ap_t, rs_t, prev if prev_kind == "random" else None, now, n=4)


# ---------------------------------------------------------------- calendar interval
@st.composite
def calendar_kwargs(draw):
    kwargs = {}
    for unit, hi in [("years", 2), ("months", 14), ("weeks", 3), ("days", 40)]:
        if draw(st.integers(0, 2)) == 0:
            kwargs[unit] = draw(st.integers(0, hi))
    for unit, hi in [("hour", 23), ("minute", 59), ("second", 59)]:
        if draw(st.booleans()):
            kwargs[unit] = draw(st.integers(0, hi))
    if draw(st.booleans()):
        kwargs["hour"] = draw(st.sampled_from([1, 2, 3]))  # DST-sensitive hours
    kwargs["timezone"] = draw(zone_args)
    start = draw(instants()).date()
    kwargs["start_date"] = start.isoformat() if draw(st.booleans()) else start
    if draw(st.booleans()):
        kwargs["end_date"] = start + timedelta(days=draw(st.integers(-5, 800)))
    return kwargs


@examples(3000)
@given(kwargs=calendar_kwargs(), now=aware_times(), prev_kind=st.sampled_from(["none", "random"]),
       prev=aware_times())
def test_calendar_interval_matches_apscheduler(kwargs, now, prev_kind, prev):
    COUNTS["calendar"] += 1
    ap_t, rs_t = compare_build(lambda: ap_cal.CalendarIntervalTrigger(**kwargs),
                               lambda: rs_cal.CalendarIntervalTrigger(**kwargs))
    if ap_t is None:
        return
    assert repr(ap_t) == repr(rs_t)
    assert str(ap_t) == str(rs_t)
    compare_calls(ap_t, rs_t, prev if prev_kind == "random" else None, now, n=4)


# ---------------------------------------------------------------- date
@examples(1500)
@given(data=st.data(), zone=zones, tz_arg=st.one_of(st.none(), zone_args), now=aware_times())
def test_date_matches_apscheduler(data, zone, tz_arg, now):
    COUNTS["date"] += 1
    run_date = data.draw(date_args(zone))
    ap_t, rs_t = compare_build(lambda: ap_date.DateTrigger(run_date, tz_arg),
                               lambda: rs_date.DateTrigger(run_date, tz_arg))
    if ap_t is None:
        return
    assert (str(ap_t), repr(ap_t)) == (str(rs_t), repr(rs_t))
    compare_calls(ap_t, rs_t, None, now, n=2)


# ---------------------------------------------------------------- and / or
class Hang(Exception):
    pass


class Counting:
    """Wraps an APScheduler member; raises Hang once 3.11.3's AND loop runs away."""

    def __init__(self, trigger, budget):
        self.trigger, self.budget = trigger, budget

    def get_next_fire_time(self, prev, now):
        self.budget[0] -= 1
        if self.budget[0] < 0:
            raise Hang
        return self.trigger.get_next_fire_time(prev, now)

    def __str__(self):
        return str(self.trigger)


@st.composite
def member_kwargs(draw):
    kind = draw(st.sampled_from(["cron", "cron", "interval", "date", "calendar"]))
    zone = draw(zones)
    base = draw(aware_times(zone))
    if kind == "cron":
        values = {"hour": ["*/2", "*/3", "1-5", "0", "*/6", "2"], "minute": ["0", "*/30", "15"],
                  "day_of_week": ["mon-fri", "sat,sun", "0", "*/2"], "day": ["1", "1,15", "last", "*/3"]}
        kw = {name: draw(st.sampled_from(options)) for name, options in values.items()
              if draw(st.booleans())}
        return kind, dict(kw, timezone=zone, end_date=base + timedelta(days=60))
    if kind == "interval":
        return kind, dict(hours=draw(st.integers(1, 12)), start_date=base, timezone=zone)
    if kind == "date":
        return kind, dict(run_date=base, timezone=zone)
    return kind, dict(days=draw(st.integers(1, 4)), start_date=base.date(), timezone=zone)


def build_member(lib, kind, kw):
    mods = {"ap": (ap_cron.CronTrigger, ap_interval.IntervalTrigger, ap_date.DateTrigger, ap_cal.CalendarIntervalTrigger),
            "rs": (rs_cron.CronTrigger, rs_interval.IntervalTrigger, rs_date.DateTrigger, rs_cal.CalendarIntervalTrigger)}
    cls = dict(zip(["cron", "interval", "date", "calendar"], mods[lib]))[kind]
    if kind == "date":
        return cls(kw["run_date"], kw["timezone"])
    return cls(**kw)


@examples(3000)
@given(members=st.lists(member_kwargs(), min_size=1, max_size=3), op=st.sampled_from(["and", "or"]),
       now=aware_times(), prev_kind=st.sampled_from(["none", "none", "random"]), prev=aware_times())
def test_combining_matches_apscheduler_where_it_terminates(members, op, now, prev_kind, prev):
    COUNTS["combining"] += 1
    budget = [2000]
    ap_members = [Counting(build_member("ap", k, kw), budget) for k, kw in members]
    rs_members = [build_member("rs", k, kw) for k, kw in members]
    ap_cls, rs_cls = (ap_comb.AndTrigger, rs_comb.AndTrigger) if op == "and" else (ap_comb.OrTrigger, rs_comb.OrTrigger)
    ap_t, rs_t = ap_cls(ap_members), rs_cls(rs_members)
    assert str(ap_t) == str(rs_t)
    from apscheduler_rs import _core

    p = prev if prev_kind == "random" else None
    for _ in range(3):
        try:
            a = ap_t.get_next_fire_time(p, now)
        except Hang:
            STATS["and_hangs"] += 1
            rs_t.get_next_fire_time(p, now)  # must return (bounded), whatever it returns
            return
        r = rs_t.get_next_fire_time(p, now)
        assert same_time(a, r), (str(ap_t), p, now, a, r)
        native = _core._native_next_fire_time(rs_t, p, now)
        assert (native is None) == (r is None)
        if r is not None:
            assert (native.isoformat(), native.fold) == (r.isoformat(), r.fold)
        if a is None:
            return
        p = now = a
        budget[0] = 2000


def test_case_count_reaches_target():
    """Runs last (file order): the suite above must have compared >= 20,000 cases."""
    print("differential cases:", COUNTS, STATS)
    if SCALE < 1:
        pytest.skip("scaled-down run")
    print("differential cases:", COUNTS, STATS)
    assert sum(COUNTS.values()) >= 20_000, COUNTS
