"""The fast ``get_next_fire_time`` of interval and cron triggers (src/py/trigger/fast.rs).

A positional call whose two datetimes carry the trigger's own tzinfo takes the fast path;
keyword calls always take the general one. Walking schedules the way the scheduler and the
benchmarks do (``previous = now = last result``) through DST changes must give APScheduler
3.11.3's answers on both paths, and every call shape the fast path declines must behave as
before.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ap = pytest.importorskip("apscheduler")
from apscheduler.triggers.cron import CronTrigger as ApCron  # noqa: E402
from apscheduler.triggers.interval import IntervalTrigger as ApInterval  # noqa: E402

from apscheduler_rs.triggers.cron import CronTrigger  # noqa: E402
from apscheduler_rs.triggers.interval import IntervalTrigger  # noqa: E402

pytestmark = pytest.mark.timeout(300)
ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC"]
CRONS = [
    {"minute": "*/5"},
    {"hour": "9-17", "day_of_week": "mon-fri"},
    {"day": "last"},
    {"hour": "1-3", "minute": "*/20"},
    {"hour": "2", "minute": "30"},
    {"day": "2nd sun", "hour": "1-2"},
    {"week": "1-3,40", "second": "*/31"},
    {"month": "mar,oct", "day": "last sun", "hour": "*/1"},
    {"year": "2024-2026", "month": "*/5", "day": "31"},
]
START = datetime(2024, 1, 1, tzinfo=timezone.utc)


def same(a, b):
    if a is None or b is None:
        return a is None and b is None
    return (a.isoformat(), a.fold, str(a.tzinfo)) == (b.isoformat(), b.fold, str(b.tzinfo))


def walk(trigger, first, n, keywords=False):
    out, prev = [], trigger.get_next_fire_time(None, first)
    while prev is not None and len(out) < n:
        out.append(prev)
        if keywords:
            prev = trigger.get_next_fire_time(previous_fire_time=prev, now=prev)
        else:
            prev = trigger.get_next_fire_time(prev, prev)
    return out


examples = settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))


@examples
@given(zone=st.sampled_from(ZONES), spec=st.sampled_from(CRONS),
       offset=st.integers(0, 3 * 366 * 24 * 3600), n=st.integers(1, 60))
def test_cron_walks_match_apscheduler(zone, spec, offset, n):
    tz = ZoneInfo(zone)
    first = (START + timedelta(seconds=offset)).astimezone(tz)
    ours = walk(CronTrigger(timezone=tz, **spec), first, n)
    theirs = walk(ApCron(timezone=tz, **spec), first, n)
    assert len(ours) == len(theirs)
    for a, b in zip(theirs, ours):
        assert same(a, b), (spec, zone, a, b)
    assert all(same(a, b) for a, b in zip(ours, walk(CronTrigger(timezone=tz, **spec), first, n, keywords=True)))


@examples
@given(zone=st.sampled_from(ZONES), seconds=st.sampled_from([1, 7, 59.5, 900, 3600, 5400, 86400, 0.000001]),
       offset=st.integers(0, 3 * 366 * 24 * 3600), micro=st.integers(0, 999_999), n=st.integers(1, 200))
def test_interval_walks_match_apscheduler(zone, seconds, offset, micro, n):
    tz = ZoneInfo(zone)
    start = (START + timedelta(seconds=offset, microseconds=micro)).astimezone(tz)
    ours = walk(IntervalTrigger(seconds=seconds, start_date=start, timezone=tz), start, n)
    theirs = walk(ApInterval(seconds=seconds, start_date=start, timezone=tz), start, n)
    assert len(ours) == len(theirs)
    for a, b in zip(theirs, ours):
        assert same(a, b), (seconds, zone, a, b)
    keyword = walk(IntervalTrigger(seconds=seconds, start_date=start, timezone=tz), start, n, keywords=True)
    assert all(same(a, b) for a, b in zip(ours, keyword))


def test_fold_and_gap_values_through_the_fast_path():
    tz = ZoneInfo("Europe/Berlin")
    t = IntervalTrigger(minutes=20, start_date=datetime(2024, 10, 27, 1, 0, tzinfo=tz), timezone=tz)
    prev = datetime(2024, 10, 27, 2, 40, tzinfo=tz)  # first 02:40 (summer time)
    nxt = t.get_next_fire_time(prev, prev)
    assert (nxt.isoformat(), nxt.fold) == ("2024-10-27T02:00:00+01:00", 1)
    gap = datetime(2024, 3, 31, 2, 30, tzinfo=tz)  # does not exist: read as 03:30 CEST
    assert t.get_next_fire_time(gap, gap) == ApInterval(minutes=20, start_date=t.start_date,
                                                          timezone=tz).get_next_fire_time(gap, gap)
    c = CronTrigger(minute="*/30", timezone=tz)
    assert c.get_next_fire_time(gap, gap).isoformat() == "2024-03-31T04:00:00+02:00"


def test_calls_the_fast_path_declines_behave_as_before():
    tz = ZoneInfo("Europe/Berlin")
    other = ZoneInfo("America/New_York")
    now = datetime(2024, 5, 1, 12, 0, 1, tzinfo=tz)
    for t, a in ((CronTrigger(minute="*/5", timezone=tz), ApCron(minute="*/5", timezone=tz)),
                 (IntervalTrigger(seconds=7, start_date=now, timezone=tz),
                  ApInterval(seconds=7, start_date=now, timezone=tz))):
        assert same(t.get_next_fire_time(None, now), a.get_next_fire_time(None, now))
        assert same(t.get_next_fire_time(now, now.astimezone(other)), a.get_next_fire_time(now, now.astimezone(other)))
        assert same(t.get_next_fire_time(now.astimezone(other), now), a.get_next_fire_time(now.astimezone(other), now))
        assert same(t.get_next_fire_time(now, now=now), a.get_next_fire_time(now, now=now))

        class Sub(datetime):
            pass

        sub = Sub(2024, 5, 1, 12, 0, 1, tzinfo=tz)
        assert same(t.get_next_fire_time(sub, sub), a.get_next_fire_time(sub, sub))
        with pytest.raises(TypeError) as ours:
            t.get_next_fire_time(now)
        with pytest.raises(TypeError) as theirs:
            a.get_next_fire_time(now)
        assert "now" in str(ours.value) and "now" in str(theirs.value)
        with pytest.raises(TypeError):
            t.get_next_fire_time(now, now, now)
        with pytest.raises(TypeError):
            t.get_next_fire_time(now.replace(tzinfo=None), now.replace(tzinfo=None))
        with pytest.raises(TypeError):
            t.get_next_fire_time("x", "y")
    # end_date and jitter go through the general path (cron) or the same arithmetic (interval).
    end = datetime(2024, 5, 1, 12, 7, tzinfo=tz)
    for spec in ({"minute": "*/5"}, {"second": "*/20"}):
        ours, theirs = CronTrigger(end_date=end, timezone=tz, **spec), ApCron(end_date=end, timezone=tz, **spec)
        assert [x.isoformat() for x in walk(ours, now, 50)] == [x.isoformat() for x in walk(theirs, now, 50)]
    ours, theirs = (IntervalTrigger(seconds=61, end_date=end, timezone=tz, start_date=now),
                    ApInterval(seconds=61, end_date=end, timezone=tz, start_date=now))
    assert [x.isoformat() for x in walk(ours, now, 50)] == [x.isoformat() for x in walk(theirs, now, 50)]
    jittered = IntervalTrigger(seconds=60, jitter=5, start_date=now, timezone=tz)
    for prev in walk(IntervalTrigger(seconds=60, start_date=now, timezone=tz), now, 20):
        nxt = jittered.get_next_fire_time(prev, prev)
        assert timedelta(seconds=60) <= nxt - prev <= timedelta(seconds=65)


def test_method_identity_and_signature():
    import inspect

    t = CronTrigger(minute="*/5", timezone="UTC")
    assert type(t).get_next_fire_time is CronTrigger.get_next_fire_time
    assert list(inspect.signature(t.get_next_fire_time).parameters) == ["previous_fire_time", "now"]
    i = IntervalTrigger(seconds=7, timezone="UTC")
    assert list(inspect.signature(i.get_next_fire_time).parameters) == ["previous_fire_time", "now"]
