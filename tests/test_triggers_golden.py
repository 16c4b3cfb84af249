"""Every golden case of golden-triggers.json (computed with APScheduler 3.11.3), run against
apscheduler_rs, through the Python API and through the native trigger the engine uses."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from apscheduler_rs import _core
from apscheduler_rs.triggers.calendarinterval import CalendarIntervalTrigger
from apscheduler_rs.triggers.combining import AndTrigger, OrTrigger
from apscheduler_rs.triggers.cron import CronTrigger
from apscheduler_rs.triggers.date import DateTrigger
from apscheduler_rs.triggers.interval import IntervalTrigger

CASES = json.loads((Path(__file__).parent / "data" / "golden-triggers.json").read_text())["cases"]
SCOPE = dict(DateTrigger=DateTrigger, IntervalTrigger=IntervalTrigger, CronTrigger=CronTrigger,
             CalendarIntervalTrigger=CalendarIntervalTrigger, AndTrigger=AndTrigger,
             OrTrigger=OrTrigger, datetime=datetime, date=date, timezone=timezone,
             timedelta=timedelta)


def zone(name):
    return timezone.utc if name == "UTC" else ZoneInfo(name)


def aware(text, name):
    return None if text is None else datetime.fromisoformat(text).astimezone(zone(name))


def run(case, next_fire_time):
    trigger = eval(case["trigger"], SCOPE)  # noqa: S307 - trusted fixture text
    prev = aware(case["previous_fire_time"], case["input_tz"])
    now = aware(case["now"], case["input_tz"])
    results = []
    result = next_fire_time(trigger, prev, now)
    while True:
        results.append(result)
        if result is None or len(results) == case["count"]:
            return trigger, results
        result = next_fire_time(trigger, result, result)


def check(case, results):
    assert len(results) == len(case["results"])
    for got, want in zip(results, case["results"]):
        if want is None:
            assert got is None
            continue
        assert got.isoformat() == want["iso"]
        assert got.fold == want["fold"]
        assert got.timestamp() == datetime.fromisoformat(want["utc"]).timestamp()
        assert str(got.tzinfo) == want["tz"]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_golden_python_api(case):
    trigger, results = run(case, lambda t, p, n: t.get_next_fire_time(p, n))
    assert str(trigger) == case["str"]
    check(case, results)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_golden_native_engine_path(case):
    """The Arc<dyn Trigger> handed to the engine gives the same instants, walls and folds."""
    _, results = run(case, _core._native_next_fire_time)
    assert len(results) == len(case["results"])
    for got, want in zip(results, case["results"]):
        if want is None:
            assert got is None
        else:
            assert got.isoformat() == want["iso"] and got.fold == want["fold"]
