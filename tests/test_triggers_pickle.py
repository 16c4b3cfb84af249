"""Trigger pickling: round trips, state dicts identical to APScheduler 3.11.3's, and loading
pickles written by APScheduler (module names mapped ``apscheduler.`` -> ``apscheduler_rs.``)."""
from __future__ import annotations

import io
import pickle
import sqlite3
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from apscheduler_rs.triggers.calendarinterval import CalendarIntervalTrigger
from apscheduler_rs.triggers.combining import AndTrigger, OrTrigger
from apscheduler_rs.triggers.cron import CronTrigger
from apscheduler_rs.triggers.date import DateTrigger
from apscheduler_rs.triggers.interval import IntervalTrigger

ap = pytest.importorskip("apscheduler")
import apscheduler.triggers.calendarinterval as ap_cal  # noqa: E402
import apscheduler.triggers.combining as ap_comb  # noqa: E402
import apscheduler.triggers.cron as ap_cron  # noqa: E402
import apscheduler.triggers.date as ap_date  # noqa: E402
import apscheduler.triggers.interval as ap_interval  # noqa: E402

DATA = Path(__file__).parent / "data"
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2024, 3, 30, 12, 0, tzinfo=BERLIN)


class MappingUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if module == "apscheduler" or module.startswith("apscheduler."):
            module = "apscheduler_rs" + module[len("apscheduler"):]
        return super().find_class(module, name)


def load_mapped(data: bytes):
    return MappingUnpickler(io.BytesIO(data)).load()


# Constructor text evaluated with either library, so both build the same trigger.
TRIGGERS = [
    "DateTrigger('2024-05-01 12:00:00', timezone='Europe/Berlin')",
    "IntervalTrigger(hours=2, start_date='2024-01-01 00:00:00', timezone='UTC')",
    "IntervalTrigger(minutes=15, start_date='2024-03-30 00:00:00.25', end_date='2025-01-01', timezone='Europe/Berlin', jitter=5)",
    "CronTrigger(day_of_week='mon-fri', hour=9, minute=30, timezone='Europe/Berlin')",
    "CronTrigger(month='jan-mar', day='2nd tue,last', hour='*/3', start_date='2024-01-01', end_date='2030-01-01', timezone='UTC', jitter=3)",
    "CronTrigger(year='2024-2030', week='1-10/2', day='last fri', second='*/15', timezone=timezone(timedelta(hours=5)))",
    "CronTrigger.from_crontab('0 9 * * 0', timezone='America/New_York')",
    "CalendarIntervalTrigger(months=1, hour=9, start_date='2024-01-31', end_date='2025-01-01', timezone='Europe/Berlin', jitter=3)",
    "CalendarIntervalTrigger(years=1, weeks=2, days=3, hour=2, minute=30, start_date='2024-03-30', timezone='UTC')",
    "AndTrigger([CronTrigger(hour='*/2', timezone='UTC'), CronTrigger(hour='*/3', timezone='UTC')])",
    "OrTrigger([CronTrigger(day_of_week='mon', hour=2, timezone='UTC'), DateTrigger('2024-05-01 00:00:00', timezone='UTC')], jitter=5)",
]


def scope(lib):
    if lib == "rs":
        names = dict(DateTrigger=DateTrigger, IntervalTrigger=IntervalTrigger, CronTrigger=CronTrigger,
                     CalendarIntervalTrigger=CalendarIntervalTrigger, AndTrigger=AndTrigger, OrTrigger=OrTrigger)
    else:
        names = dict(DateTrigger=ap_date.DateTrigger, IntervalTrigger=ap_interval.IntervalTrigger,
                     CronTrigger=ap_cron.CronTrigger, CalendarIntervalTrigger=ap_cal.CalendarIntervalTrigger,
                     AndTrigger=ap_comb.AndTrigger, OrTrigger=ap_comb.OrTrigger)
    return dict(names, timezone=timezone, timedelta=timedelta)


def plain(value):
    """A comparable form of a state value: objects become (class name, their dict)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    if hasattr(value, "__dict__") and not isinstance(value, (datetime, date, timedelta)):
        return (type(value).__name__, plain(vars(value)))
    if isinstance(value, str) and value.startswith("apscheduler."):
        return "apscheduler_rs." + value[len("apscheduler."):]
    return value


def schedule(trigger, count=4):
    out, prev, now = [], None, NOW
    for _ in range(count):
        t = trigger.get_next_fire_time(prev, now)
        out.append(None if t is None else (t.isoformat(), t.fold))
        if t is None:
            break
        prev = now = t
    return out


def without_jitter(text):
    return text.replace(", jitter=5", "").replace(", jitter=3", "")


@pytest.mark.parametrize("text", TRIGGERS)
def test_state_dict_equals_apscheduler(text):
    ours = eval(text, scope("rs"))  # noqa: S307 - fixed test text
    theirs = eval(text, scope("ap"))  # noqa: S307
    assert list(ours.__getstate__()) == list(theirs.__getstate__())
    assert plain(ours.__getstate__()) == plain(theirs.__getstate__())


@pytest.mark.parametrize("text", TRIGGERS)
def test_round_trip(text):
    trigger = eval(without_jitter(text), scope("rs"))  # noqa: S307
    loaded = pickle.loads(pickle.dumps(trigger))
    assert type(loaded) is type(trigger)
    assert (str(loaded), repr(loaded)) == (str(trigger), repr(trigger))
    assert schedule(loaded) == schedule(trigger)


@pytest.mark.parametrize("text", TRIGGERS)
def test_loads_apscheduler_written_pickle(text):
    theirs = eval(without_jitter(text), scope("ap"))  # noqa: S307
    loaded = load_mapped(pickle.dumps(theirs, pickle.HIGHEST_PROTOCOL))
    assert type(loaded).__module__.startswith("apscheduler_rs.")
    assert (str(loaded), repr(loaded)) == (str(theirs), repr(theirs))
    # APScheduler's AndTrigger never returns once a previous fire time is given.
    count = 1 if text.startswith("AndTrigger") else 4
    assert schedule(loaded, count) == schedule(theirs, count)
    assert plain(loaded.__getstate__()) == plain(theirs.__getstate__())


def test_fixture_database_job_states():
    rows = dict(sqlite3.connect(DATA / "apscheduler-3.11-jobs.sqlite").execute(
        "select id, job_state from apscheduler_jobs"))
    expected = {
        "interval-job": ("<IntervalTrigger (interval=datetime.timedelta(seconds=900), start_date='2030-01-01 00:00:00 UTC', "
                         "end_date='2031-01-01 00:00:00 UTC', timezone='UTC')>", "2030-01-01 00:15:00+00:00"),
        "cron-job": ("<CronTrigger (day_of_week='mon-fri', hour='9', minute='30', start_date='2030-01-01 00:00:00 CET', "
                     "timezone='Europe/Berlin')>", "2030-01-02 09:30:00+01:00"),
        "date-job": ("<DateTrigger (run_date='2030-06-15 12:00:00 EDT')>", "None"),
    }
    assert set(rows) == set(expected)
    for job_id, blob in rows.items():
        state = load_mapped(blob)
        trigger = state["trigger"]
        want_repr, want_next = expected[job_id]
        assert repr(trigger) == want_repr
        nrt = state["next_run_time"]
        assert str(trigger.get_next_fire_time(nrt, nrt)) == want_next


def test_cron_fields_after_loading_keep_layout():
    theirs = ap_cron.CronTrigger(month="jan-mar", day="2nd tue,last", timezone="UTC")
    loaded = load_mapped(pickle.dumps(theirs))
    month, day = loaded.fields[1], loaded.fields[2]
    assert type(month).__name__ == "MonthField" and vars(month) == {
        "name": "month", "is_default": False, "expressions": month.expressions}
    assert vars(month.expressions[0]) == {"step": None, "first": 1, "last": 3}
    assert [vars(e) for e in day.expressions] == [{"step": None, "option_num": 1, "weekday": 1}, {"step": None}]
    assert repr(month.expressions[0]) == "MonthRangeExpression('feb', 'mar')"  # upstream quirk


def test_version_errors_and_legacy_states():
    t = DateTrigger.__new__(DateTrigger)
    with pytest.raises(ValueError, match=r"^Got serialized data for version 2 of DateTrigger, but only version 1 can be handled$"):
        t.__setstate__({"version": 2, "run_date": NOW})
    t.__setstate__((None, {"run_date": NOW}))  # 3.0.x form
    assert t.get_next_fire_time(None, NOW) is NOW

    i = IntervalTrigger.__new__(IntervalTrigger)
    with pytest.raises(ValueError, match="version 3 of IntervalTrigger, but only versions up to 2"):
        i.__setstate__({"version": 3})
    i.__setstate__({"version": 1, "timezone": timezone.utc, "start_date": NOW, "end_date": None,
                    "interval": timedelta(minutes=5)})
    assert i.jitter is None and i.interval_length == 300.0

    c = CronTrigger.__new__(CronTrigger)
    with pytest.raises(ValueError, match="version 3 of CronTrigger, but only versions up to 2"):
        c.__setstate__({"version": 3})

    cal = CalendarIntervalTrigger(days=1, start_date="2024-01-01", timezone="UTC")
    state = cal.__getstate__()
    del state["jitter"]
    with pytest.raises(KeyError, match="jitter"):
        CalendarIntervalTrigger.__new__(CalendarIntervalTrigger).__setstate__(state)
    with pytest.raises(ValueError, match="version 2 of AndTrigger, but only versions up to 1"):
        AndTrigger.__new__(AndTrigger).__setstate__({"version": 2})
