"""Stored jobs restored by the native decoder are the jobs Python's pickle restores.

The exact store class restores rows natively when their shape is a common one (see
``src/py/restore.rs``); a subclass that overrides ``_reconstitute_job`` always goes through
``pickle`` and ``Job.__setstate__``. Both must give the same jobs, for every shape, including
the shapes the decoder leaves to Python.
"""

from __future__ import annotations

import os
import pickle
import shutil
import sqlite3
import subprocess
import sys
import zoneinfo
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import pytz

from apscheduler_rs.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler_rs.schedulers.background import BackgroundScheduler
from apscheduler_rs.triggers.cron import CronTrigger
from apscheduler_rs.triggers.date import DateTrigger
from apscheduler_rs.triggers.interval import IntervalTrigger

DATA = Path(__file__).resolve().parent.parent / "data"
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
PLUS2 = timezone(timedelta(hours=2))
MINUS_HALF = timezone(timedelta(hours=-3, minutes=-30))


def noop(*args, **kwargs):
    return None


class Bag:
    def __init__(self, x):
        self.x = x

    def __eq__(self, other):
        return isinstance(other, Bag) and other.x == self.x

    def __repr__(self):
        return f"Bag({self.x!r})"


class PythonPath(SQLAlchemyJobStore):
    """Same store, but rows are restored by Python (the hook forces the Python path)."""

    def _reconstitute_job(self, job_state):
        return super()._reconstitute_job(job_state)


START = datetime(2030, 3, 31, 1, 30, tzinfo=BERLIN)

JOBS = {
    "interval-utc": dict(trigger=IntervalTrigger(seconds=90, start_date=datetime(2030, 1, 1, tzinfo=timezone.utc))),
    "interval-berlin": dict(
        trigger=IntervalTrigger(hours=1, start_date=START, end_date=datetime(2031, 1, 1, tzinfo=BERLIN)),
        args=(1, "a", b"x", 2.5, None, True, [1, 2], {"k": (1,)}, -(2**40)),
        kwargs={"a": 1, "b": [None]},
    ),
    "interval-fixed": dict(
        trigger=IntervalTrigger(minutes=15, start_date=datetime(2030, 1, 1, tzinfo=PLUS2), jitter=3),
        misfire_grace_time=None,
        coalesce=False,
        max_instances=4,
    ),
    "interval-negative-offset": dict(
        trigger=IntervalTrigger(days=2, start_date=datetime(2030, 1, 1, tzinfo=MINUS_HALF), jitter=0.5),
    ),
    "interval-fold": dict(trigger=IntervalTrigger(seconds=30, start_date=datetime(2030, 10, 27, 2, 30, fold=1, tzinfo=BERLIN))),
    "date": dict(trigger=DateTrigger(datetime(2030, 6, 1, 12, 0, 0, 123456, tzinfo=BERLIN)), name="a date job"),
    "paused": dict(trigger=IntervalTrigger(seconds=5, start_date=START), next_run_time=None),
    "cron": dict(trigger=CronTrigger(hour="9-17", day_of_week="mon-fri", timezone=BERLIN)),
    "cron-every-kind": dict(
        trigger=CronTrigger(
            year="2030-2040/2", month="jan-mar,7", day="last", hour="*/6", minute="5,35", second="0",
            start_date=datetime(2030, 1, 1, tzinfo=PLUS2), end_date=datetime(2039, 1, 1, tzinfo=PLUS2),
            timezone=PLUS2,
        )
    ),
    "cron-positions": dict(trigger=CronTrigger(day="2nd fri,last sun", month="*/3", timezone=BERLIN)),
    "cron-weekdays": dict(trigger=CronTrigger(day_of_week="mon-wed/2,sat", week="1-20", timezone="UTC")),
    "cron-jitter": dict(trigger=CronTrigger(minute="*/10", jitter=1.5, timezone="UTC")),
    # shapes left to Python
    "pytz": dict(trigger=IntervalTrigger(seconds=5, start_date=pytz.timezone("Europe/Paris").localize(datetime(2030, 1, 1)))),
    "object-arg": dict(trigger=DateTrigger(datetime(2030, 1, 1, tzinfo=timezone.utc)), args=(Bag(1),)),
    "named-zone": dict(trigger=IntervalTrigger(seconds=5, start_date=datetime(2030, 1, 1, tzinfo=timezone(timedelta(hours=1), "CET*")))),
}


def fill(url):
    s = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=url)}, timezone="UTC")
    s.start(paused=True)
    for job_id, options in JOBS.items():
        s.add_job(f"{__name__}:noop", id=job_id, **options)
    s.shutdown(wait=False)


def restore(url, store_class):
    s = BackgroundScheduler(jobstores={"default": store_class(url=url)}, timezone="UTC")
    s.start(paused=True)
    try:
        return {job.id: job for job in s.get_jobs()}, s
    finally:
        s.shutdown(wait=False)


def describe(job):
    state = job.__getstate__()
    return (
        repr(job),
        str(job),
        type(job.trigger),
        repr(job.trigger),
        str(job.trigger),
        job.func,
        job.func_ref,
        job.args,
        type(job.args),
        job.kwargs,
        job.name,
        job.executor,
        job.misfire_grace_time,
        job.coalesce,
        job.max_instances,
        repr(job.next_run_time),
        repr(state),
        pickle.dumps(state, 5) == pickle.dumps(state, 5),
    )


NATIVE = {
    "interval-utc", "interval-berlin", "interval-fixed", "interval-negative-offset", "interval-fold", "date", "paused",
    "cron", "cron-every-kind", "cron-positions", "cron-weekdays", "cron-jitter",
}


def test_common_shapes_take_the_native_path(tmp_path):
    from apscheduler_rs._core import _native_restorable

    db = tmp_path / "jobs.sqlite"
    fill(f"sqlite:///{db}")
    with sqlite3.connect(db) as conn:
        rows = dict(conn.execute("SELECT id, job_state FROM apscheduler_jobs"))
    assert {job_id for job_id, state in rows.items() if _native_restorable(state)} == NATIVE
    assert not _native_restorable(b"")
    assert not _native_restorable(pickle.dumps({"version": 1}, 5))


def test_native_and_python_restores_agree(tmp_path):
    url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    fill(url)
    native, s1 = restore(url, SQLAlchemyJobStore)
    python, s2 = restore(url, PythonPath)
    assert sorted(native) == sorted(JOBS)
    assert [j.id for j in native.values()] == [j.id for j in python.values()]  # same order
    for job_id in JOBS:
        assert describe(native[job_id]) == describe(python[job_id]), job_id
        assert native[job_id]._scheduler is s1
        assert native[job_id]._jobstore_alias == "default"
    # the next fire times the engine computes come from the same native triggers
    now = datetime(2030, 7, 1, tzinfo=timezone.utc)
    for job_id in ("interval-utc", "interval-berlin", "interval-fold", "date", "cron", "cron-every-kind",
                   "cron-positions", "cron-weekdays", "pytz"):
        a, b = native[job_id], python[job_id]
        assert a._get_run_times(now) == b._get_run_times(now), job_id


def _neighbours(n):
    """`n` jobs of one pickle shape, each differing from the one before in one place (the
    native reader reuses what did not change from the row before, so every part must be
    seen to change): ids of one length, dates, numbers, strings, zones of equal-length names."""
    zones = [zoneinfo.ZoneInfo("Europe/Berlin"), zoneinfo.ZoneInfo("Europe/Zurich")]
    for i in range(n):
        k = i % 9
        yield f"neighbour-{i:05d}", dict(
            trigger=IntervalTrigger(
                seconds=60 + (i % 7 if k == 0 else 0),
                start_date=datetime(2030, 1, 1, 0, 0, i % 60 if k == 1 else 0, tzinfo=zones[i % 2 if k == 2 else 0]),
            ),
            args=(i % 10 if k == 3 else 0, "x"),
            kwargs={"key": "abc"[i % 3] if k == 4 else "a"},
            name=f"name{i % 10}" if k == 5 else "name0",
            misfire_grace_time=100 + i % 10 if k == 6 else 100,
            max_instances=1 + i % 5 if k == 7 else 1,
            next_run_time=datetime(2030, 1, 2, 0, i % 60, tzinfo=timezone.utc) if k == 8 else datetime(2030, 1, 2, tzinfo=timezone.utc),
        )


def test_rows_of_one_shape_restore_each_with_its_own_values(tmp_path):
    url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    jobs = dict(_neighbours(2500))  # more than one chunk of rows: decoded on both threads
    s = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=url)}, timezone="UTC")
    s.start(paused=True)
    for job_id, options in jobs.items():
        s.add_job(f"{__name__}:noop", id=job_id, **options)
    s.shutdown(wait=False)
    native, _ = restore(url, SQLAlchemyJobStore)
    python, _ = restore(url, PythonPath)
    assert sorted(native) == sorted(jobs)
    assert [j.id for j in native.values()] == [j.id for j in python.values()]
    now = datetime(2030, 1, 2, 0, 3, tzinfo=timezone.utc)
    for job_id in jobs:
        assert describe(native[job_id]) == describe(python[job_id]), job_id
        assert native[job_id]._get_run_times(now) == python[job_id]._get_run_times(now), job_id
    # the values that vary really are there
    assert {native[f"neighbour-{i:05d}"].trigger.timezone.key for i in (2, 11)} == {"Europe/Berlin", "Europe/Zurich"}
    assert native["neighbour-00003"].args == (3, "x") and native["neighbour-00012"].args == (2, "x")


def test_bad_rows_among_many_chunks_are_set_aside_and_the_rest_restore(tmp_path, caplog):
    """Rows are read in chunks that are recycled once decoded; a plain interval job keeps no
    bytes, so one whose callable turns out not to resolve is read again for Python's path."""
    db = tmp_path / "jobs.sqlite"
    url = f"sqlite:///{db}"
    jobs = dict(_neighbours(6000))
    s = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=url)}, timezone="UTC")
    s.start(paused=True)
    for job_id, options in jobs.items():
        s.add_job(f"{__name__}:noop", id=job_id, **options)
    s.shutdown(wait=False)
    missing_func, corrupt = ["neighbour-01500", "neighbour-05999"], "neighbour-03001"
    for job_id in missing_func:
        _rewrite(db, job_id, lambda state: state.update(func=f"{__name__}:missing"))
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE apscheduler_jobs SET job_state = ? WHERE id = ?", (b"\x80\x05garbage", corrupt))
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the copy below takes the main file only
    python, _ = restore(f"sqlite:///{shutil.copy(db, tmp_path / 'python.sqlite')}", PythonPath)
    caplog.clear()
    native, _ = restore(url, SQLAlchemyJobStore)
    bad = {*missing_func, corrupt}
    assert sorted(native) == sorted(set(jobs) - bad)
    assert [j.id for j in native.values()] == [j.id for j in python.values()]
    for job_id in ("neighbour-01499", "neighbour-01501", "neighbour-03000", "neighbour-05998", "neighbour-04242"):
        assert describe(native[job_id]) == describe(python[job_id]), job_id
    assert {job_id for job_id, _ in SQLAlchemyJobStore(url=url).unrestorable_jobs()} == bad
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("apscheduler.jobstores")]
    assert sorted(logged) == sorted(f'Unable to restore job "{job_id}" -- removing it' for job_id in bad)


ZONELESS_CHILD = """
import sys
sys.modules["tzdata"] = None  # with PYTHONTZPATH empty, zoneinfo then knows no zone at all
import logging
from apscheduler_rs.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler_rs.schedulers.background import BackgroundScheduler
logging.basicConfig(level=logging.ERROR, format="%(name)s|%(message)s", stream=sys.stdout)
s = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=sys.argv[1])}, timezone="UTC")
s.start(paused=True)
print("jobs", len(s.get_jobs()), flush=True)
s.shutdown(wait=False)
"""


def test_rows_in_a_zone_python_does_not_know_are_set_aside_not_restored_with_the_compiled_one(tmp_path):
    """The decoder looks zones up in the IANA database compiled in; a row whose zone Python's
    ``zoneinfo`` cannot load (a system without that zone) must fail as it does in Python, even
    when it comes chunks after the first."""
    db = tmp_path / "jobs.sqlite"
    url = f"sqlite:///{db}"
    s = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=url)}, timezone="UTC")
    s.start(paused=True)
    for i in range(3000):
        # a callable the child can import: this module cannot be (it makes zones at import)
        s.add_job("os:getpid", "interval", seconds=60, id=f"utc-{i:04d}", timezone=timezone.utc)
        if i == 2500:
            s.add_job("os:getpid", "cron", minute="*", id="berlin", timezone=BERLIN)
    s.shutdown(wait=False)
    env = {**os.environ, "PYTHONTZPATH": ""}
    out = subprocess.run([sys.executable, "-c", ZONELESS_CHILD, url], env=env, capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert "jobs 3000" in out
    assert 'apscheduler.jobstores.default|Unable to restore job "berlin" -- removing it' in out
    assert [job_id for job_id, _ in SQLAlchemyJobStore(url=url).unrestorable_jobs()] == ["berlin"]


def test_a_restored_trigger_is_created_once_and_then_kept(tmp_path):
    url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    fill(url)
    jobs, _ = restore(url, SQLAlchemyJobStore)
    job = jobs["interval-berlin"]
    assert job.trigger is job.trigger
    replacement = IntervalTrigger(seconds=7, start_date=START)
    job._modify(trigger=replacement)
    assert job.trigger is replacement
    assert job.__getstate__()["trigger"] is replacement


def test_apscheduler_class_paths_restore_natively_to_our_classes(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(DATA))
    copy = tmp_path / "fixture.sqlite"
    shutil.copy(DATA / "apscheduler-3.11-jobs.sqlite", copy)
    try:
        native, _ = restore(f"sqlite:///{copy}", SQLAlchemyJobStore)
        python, _ = restore(f"sqlite:///{copy}", PythonPath)
        assert sorted(native) == sorted(python) and native
        from apscheduler_rs._core import _native_restorable

        with sqlite3.connect(copy) as conn:
            states = dict(conn.execute("SELECT id, job_state FROM apscheduler_jobs"))
        # APScheduler's own rows: the interval, date and cron jobs take the native path
        assert {k for k, v in states.items() if _native_restorable(v)} == {"interval-job", "date-job", "cron-job"}
        for job_id in native:
            assert describe(native[job_id]) == describe(python[job_id]), job_id
            assert type(native[job_id].trigger).__module__.startswith("apscheduler_rs.")
    finally:
        sys.modules.pop("fixture_jobs", None)


def _rewrite(path, job_id, change):
    with sqlite3.connect(path) as conn:
        (blob,) = conn.execute("SELECT job_state FROM apscheduler_jobs WHERE id = ?", (job_id,)).fetchone()
        state = pickle.loads(blob)
        change(state)
        conn.execute("UPDATE apscheduler_jobs SET job_state = ? WHERE id = ?", (pickle.dumps(state, 5), job_id))
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda s: s.update(version=2), "Job has version 2"),
        (lambda s: s.update(func="no_such_module_xyz:f"), "could not import module"),
        (lambda s: s.update(func=f"{__name__}:missing"), "error looking up object"),
        (lambda s: s.pop("name"), "name"),
        (lambda s: s["trigger"].__setstate__, None),  # untouched row: restores
    ],
)
def test_bad_states_fail_as_in_python(tmp_path, caplog, change, message):
    db = tmp_path / "jobs.sqlite"
    fill(f"sqlite:///{db}")
    _rewrite(db, "interval-utc", change)
    for store_class in (SQLAlchemyJobStore, PythonPath):
        copy = tmp_path / f"{store_class.__name__}.sqlite"
        shutil.copy(db, copy)
        caplog.clear()
        jobs, _ = restore(f"sqlite:///{copy}", store_class)
        if message is None:
            assert "interval-utc" in jobs
            continue
        assert "interval-utc" not in jobs
        assert len(jobs) == len(JOBS) - 1
        store = SQLAlchemyJobStore(url=f"sqlite:///{copy}")
        [(job_id, error)] = store.unrestorable_jobs()
        assert job_id == "interval-utc" and message in error, error


def _states(path):
    with sqlite3.connect(path) as conn:
        return dict(conn.execute("SELECT id, job_state FROM apscheduler_jobs"))


@pytest.mark.parametrize("protocol", [5, 3])
def test_a_run_stores_the_next_run_time_and_nothing_else(tmp_path, protocol):
    """After a run, a stored job's row differs from the one before in its next run time only
    (written into the stored bytes in place; a protocol below 4 cannot keep `fold`, so those
    stores pickle the whole state again)."""
    import threading

    from apscheduler_rs.events import EVENT_JOB_EXECUTED

    db = tmp_path / "jobs.sqlite"
    s = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{db}", pickle_protocol=protocol)},
                            timezone="UTC")
    s.start(paused=True)
    now = datetime.now(BERLIN)
    s.add_job(f"{__name__}:noop", "interval", id="interval", seconds=7, start_date=now - timedelta(seconds=30),
              args=(1, "a"), next_run_time=now.astimezone(timezone.utc) - timedelta(seconds=1), misfire_grace_time=None)
    s.add_job(f"{__name__}:noop", CronTrigger(second="*/5", minute="*", timezone=BERLIN), id="cron",
              next_run_time=now - timedelta(seconds=1), misfire_grace_time=None)
    before = _states(db)
    ran = set()
    done = threading.Event()

    def executed(event):
        ran.add(event.job_id)
        if ran == {"interval", "cron"}:
            done.set()

    s.add_listener(executed, EVENT_JOB_EXECUTED)
    s.resume()
    assert done.wait(10), f"only {ran} ran"
    s.shutdown()
    after = _states(db)
    for job_id in ("interval", "cron"):
        old, new = pickle.loads(before[job_id]), pickle.loads(after[job_id])
        assert new["next_run_time"] > now, job_id
        assert new["next_run_time"].tzinfo == old["next_run_time"].tzinfo == new["trigger"].timezone
        step = new["next_run_time"] - old["next_run_time"]
        if job_id == "interval":  # previous run time + k intervals
            assert step > timedelta(0) and step % timedelta(seconds=7) == timedelta(0), step
        else:  # a time of the cron schedule
            assert new["next_run_time"] == new["trigger"].get_next_fire_time(None, new["next_run_time"])
        assert new["trigger"].__getstate__() == old["trigger"].__getstate__()
        assert {k: v for k, v in new.items() if k not in ("next_run_time", "trigger")} == \
               {k: v for k, v in old.items() if k not in ("next_run_time", "trigger")}
        if protocol >= 4:
            changed = [i for i, (a, b) in enumerate(zip(before[job_id], after[job_id])) if a != b]
            assert len(before[job_id]) == len(after[job_id]) and changed[-1] - changed[0] < 10, job_id


# --- the native cron decoder against the Python object, on random expressions ---------------

from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

CRON_RANGES = {"year": (2025, 2035), "month": (1, 12), "day": (1, 31), "week": (1, 53),
               "day_of_week": (0, 6), "hour": (0, 23), "minute": (0, 59), "second": (0, 59)}
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def cron_piece(name):
    lo, hi = CRON_RANGES[name]
    value = st.integers(lo, hi)
    pieces = [
        st.just("*"),
        st.integers(1, hi - lo + 1).map(lambda s: f"*/{s}"),
        value.map(str),
        st.tuples(value, value).map(lambda ab: f"{min(ab)}-{max(ab)}"),
        st.tuples(value, value, st.integers(1, 7)).map(lambda t: f"{min(t[:2])}-{max(t[:2])}/{t[2]}"),
    ]
    if name == "month":
        pieces.append(st.tuples(st.sampled_from(MONTHS), st.sampled_from(MONTHS)).map(
            lambda ab: ab[0] if MONTHS.index(ab[0]) >= MONTHS.index(ab[1]) else f"{ab[0]}-{ab[1]}"))
    if name == "day_of_week":
        pieces.append(st.tuples(st.sampled_from(WEEKDAYS), st.sampled_from(WEEKDAYS)).map(
            lambda ab: ab[0] if WEEKDAYS.index(ab[0]) >= WEEKDAYS.index(ab[1]) else f"{ab[0]}-{ab[1]}"))
    if name == "day":
        pieces.append(st.just("last"))
        pieces.append(st.tuples(st.sampled_from(["1st", "2nd", "3rd", "4th", "5th", "last"]),
                                st.sampled_from(WEEKDAYS)).map(" ".join))
    return st.one_of(pieces)


@st.composite
def cron_triggers(draw):
    names = draw(st.lists(st.sampled_from(list(CRON_RANGES)), unique=True, min_size=1, max_size=4))
    kwargs = {n: ",".join(draw(st.lists(cron_piece(n), min_size=1, max_size=3))) for n in names}
    kwargs["timezone"] = draw(st.sampled_from([timezone.utc, BERLIN, zoneinfo.ZoneInfo("America/New_York"),
                                               zoneinfo.ZoneInfo("Australia/Lord_Howe"), PLUS2, MINUS_HALF]))
    if draw(st.booleans()):
        kwargs["start_date"] = datetime(2026, 1, 1, tzinfo=kwargs["timezone"]) + timedelta(hours=draw(st.integers(0, 20000)))
    try:
        return CronTrigger(**kwargs)
    except ValueError:
        assume(False)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
@given(triggers=st.lists(cron_triggers(), min_size=1, max_size=8),
       instant=st.datetimes(datetime(2026, 1, 1), datetime(2031, 1, 1), timezones=st.just(timezone.utc)))
def test_natively_restored_cron_triggers_fire_as_the_python_objects_do(tmp_path_factory, triggers, instant):
    """Random cron expressions, stored: the decoder's native trigger (which the engine uses)
    gives the same next run times as the trigger object that Python's pickle rebuilds, and as
    the original."""
    url = f"sqlite:///{tmp_path_factory.mktemp('cron') / 'jobs.sqlite'}"
    s = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=url)}, timezone="UTC")
    s.start(paused=True)
    expected = {}
    for i, trigger in enumerate(triggers):
        times = [trigger.get_next_fire_time(None, instant)]
        while times[-1] is not None and len(times) < 6:
            times.append(trigger.get_next_fire_time(times[-1], times[-1]))
        if times[0] is None or times[-1] is None:
            continue
        s.add_job(f"{__name__}:noop", trigger, id=f"cron{i}", next_run_time=times[0])
        expected[f"cron{i}"] = times
    s.shutdown(wait=False)
    from apscheduler_rs._core import _native_restorable

    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        assert all(_native_restorable(state) for (state,) in conn.execute("SELECT job_state FROM apscheduler_jobs"))
    native, _ = restore(url, SQLAlchemyJobStore)
    python, _ = restore(url, PythonPath)
    for job_id, times in expected.items():
        # run times first: they come from the decoded native trigger until `.trigger` is made
        assert native[job_id]._get_run_times(times[-1]) == python[job_id]._get_run_times(times[-1]) == times, \
            (job_id, str(python[job_id].trigger))
        assert str(native[job_id].trigger) == str(python[job_id].trigger)
