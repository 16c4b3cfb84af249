"""A job's state pickled natively is byte for byte what Python's pickle makes of it.

``add_job`` on a persistent store pickles the job's state. For the common shapes (an interval
trigger made from the ``'interval'`` alias, a date or a cron trigger, plain arguments) the store writes the pickle
itself (``src/py/state_pickle.rs``); everything else goes through ``pickle.dumps``. The native
bytes must equal ``pickle.dumps(job.__getstate__(), protocol)`` exactly — including which
objects CPython's pickler refers back to because they are the same object.
"""

from __future__ import annotations

import pickle
import sqlite3
import zoneinfo
from datetime import datetime, timedelta, timezone

import pytest
import pytz
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apscheduler_rs import _core
from apscheduler_rs.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler_rs.schedulers.background import BackgroundScheduler


def noop(*args, **kwargs):
    return None


class Owner:
    def method(self):
        return None


# Strings CPython shares with the pickler's own: an interned module name, one-character
# strings, the empty string, and names that are only equal (not identical) to its strings.
SPECIAL_STRINGS = ["datetime", "zoneinfo", "timedelta", "builtins", "getattr", "_unpickle", "UTC",
                   "Europe/Berlin", "a", "", "é", "default", "version", "noop"]
texts = st.one_of(st.sampled_from(SPECIAL_STRINGS), st.text(max_size=300))
plain = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from([0, 255, 256, 65535, 65536, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1]),
    st.floats(allow_nan=False),
    texts,
    st.binary(max_size=300),
)
# (A pytz zone is made a ZoneInfo of its name, as APScheduler 3.11 does.)
SUPPORTED_ZONES = [timezone.utc, "UTC", zoneinfo.ZoneInfo("Europe/Berlin"), zoneinfo.ZoneInfo("America/New_York"),
                   "Asia/Kolkata", pytz.timezone("Australia/Adelaide"), pytz.utc]


@pytest.fixture
def scheduler():  # per test: conftest shuts down every scheduler a test leaves running
    s = BackgroundScheduler(timezone=timezone.utc)
    s.start(paused=True)
    yield s
    s.shutdown(wait=False)


def next_run_option(next_run, zone):
    if next_run is None:
        return {}
    if next_run == "paused":
        return {"next_run_time": None}
    wall, fold = next_run
    if isinstance(zone, str):
        tz = timezone.utc if zone == "UTC" else zoneinfo.ZoneInfo(zone)
    elif hasattr(zone, "localize"):  # pytz: the scheduler makes it the ZoneInfo of its name
        tz = zoneinfo.ZoneInfo(zone.zone)
    else:
        tz = zone
    return {"next_run_time": wall.replace(tzinfo=tz, fold=fold)}


def native_and_python(job, protocol):
    # Native first: `__getstate__` turns the compact trigger into an object.
    native = _core._native_pickle_state(job, protocol)
    return native, pickle.dumps(job.__getstate__(), protocol)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    zone=st.sampled_from(SUPPORTED_ZONES),
    seconds=st.integers(min_value=1, max_value=10**9),
    days=st.integers(min_value=0, max_value=3_000),
    start=st.one_of(st.none(), st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1))),
    args=st.lists(plain, max_size=6),
    kwargs=st.dictionaries(texts, plain, max_size=4),
    job_id=st.one_of(st.sampled_from(["a", "1", "é", "datetime", "x" * 300]), st.text(min_size=1, max_size=40)),
    name=st.one_of(st.none(), texts.filter(bool)),
    misfire=st.one_of(st.none(), st.integers(min_value=1, max_value=2**40)),
    coalesce=st.booleans(),
    max_instances=st.integers(min_value=1, max_value=2**40),
    executor=st.sampled_from(["default", "a"]),
    # computed from now, paused, or given in the trigger's zone (wall times in DST overlaps,
    # with either fold: the fold bit lives in the pickled datetime's bytes)
    next_run=st.one_of(st.none(), st.just("paused"), st.tuples(
        st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1)), st.sampled_from([0, 1]))),
    protocol=st.sampled_from([4, 5, -1]),
)
def test_native_pickles_equal_pythons(scheduler, zone, seconds, days, start, args, kwargs, job_id, name, misfire,
                                      coalesce, max_instances, executor, next_run, protocol):
    if start is not None:
        start = start.replace(tzinfo=timezone.utc)
    job = scheduler.add_job(
        noop, "interval", seconds=seconds, days=days, start_date=start, timezone=zone, args=args,
        kwargs=kwargs, id=job_id, name=name, misfire_grace_time=misfire, coalesce=coalesce,
        max_instances=max_instances, executor=executor, replace_existing=True,
        **next_run_option(next_run, zone),
    )
    try:
        native, python = native_and_python(job, protocol)
        # A given start date is kept as the object it was (its own tzinfo), so such a job
        # holds a trigger object and is left to Python.
        assert (native is not None) == (start is None), "this shape must take the native path"
        assert native is None or native == python
    finally:
        scheduler.remove_job(job_id)


DATE_ZONES = [None, timezone.utc, "UTC", zoneinfo.ZoneInfo("Europe/Berlin"), "Asia/Kolkata",
              pytz.timezone("US/Eastern"), timezone(timedelta(hours=2))]


def natively_pickled_zone(tz):
    return tz is timezone.utc or (type(tz) is zoneinfo.ZoneInfo and zoneinfo.ZoneInfo(tz.key) is tz)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    zone=st.sampled_from(DATE_ZONES),
    wall=st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1)),
    fold=st.sampled_from([0, 1]),
    form=st.sampled_from(["aware", "naive", "text"]),
    args=st.lists(plain, max_size=4),
    kwargs=st.dictionaries(texts, plain, max_size=3),
    job_id=st.one_of(st.sampled_from(["a", "datetime", "UTC"]), st.text(min_size=1, max_size=40)),
    paused=st.booleans(),
    protocol=st.sampled_from([4, 5, -1]),
)
def test_date_jobs_pickle_natively_as_python_does(scheduler, zone, wall, fold, form, args, kwargs, job_id, paused,
                                                   protocol):
    if form == "aware":
        tz = zoneinfo.ZoneInfo(zone) if isinstance(zone, str) and zone != "UTC" else zone
        tz = timezone.utc if tz in (None, "UTC") else tz
        run_date = tz.localize(wall) if hasattr(tz, "localize") else wall.replace(tzinfo=tz, fold=fold)
    else:
        run_date = wall if form == "naive" else wall.isoformat(sep=" ")
    job = scheduler.add_job(noop, "date", run_date=run_date, timezone=zone, args=args, kwargs=kwargs, id=job_id,
                            replace_existing=True, **({"next_run_time": None} if paused else {}))
    try:
        native = _core._native_pickle_state(job, protocol)
        assert (native is not None) == natively_pickled_zone(job.trigger.run_date.tzinfo)
        assert native is None or native == pickle.dumps(job.__getstate__(), protocol)
    finally:
        scheduler.remove_job(job_id)


CRON_PIECES = {
    "year": ["*", "2030", "2030-2040", "*/2", "2031/3"],
    "month": ["*", "1", "jan", "feb-apr", "*/3", "2-11/2", "dec"],
    "day": ["*", "1", "last", "1st fri", "last sun", "5-20", "*/7", "3rd mon"],
    "week": ["*", "1", "10-20", "*/4"],
    "day_of_week": ["*", "mon", "mon-fri", "sun", "0-6/2", "2", "sat-sun"],
    "hour": ["*", "0", "9-17", "*/6", "23", "1-22/7"],
    "minute": ["*", "0", "*/5", "30", "10-50/20"],
    "second": ["*", "0", "*/15", "59", "1-5"],
}
cron_fields = st.fixed_dictionaries({}, optional={
    name: st.lists(st.sampled_from(pieces), min_size=1, max_size=3).map(",".join)
    for name, pieces in CRON_PIECES.items()
}).filter(bool)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fields=cron_fields,
    zone=st.sampled_from(DATE_ZONES),
    args=st.lists(plain, max_size=4),
    # interned attribute names of the field and expression objects, as argument names
    kwargs=st.dictionaries(st.one_of(texts, st.sampled_from(["step", "first", "last", "name", "expressions"])),
                           plain, max_size=3),
    job_id=st.one_of(st.sampled_from(["a", "step", "is_default"]), st.text(min_size=1, max_size=40)),
    paused=st.booleans(),
    protocol=st.sampled_from([4, 5, -1]),
)
def test_cron_jobs_pickle_natively_as_python_does(scheduler, fields, zone, args, kwargs, job_id, paused, protocol):
    job = scheduler.add_job(noop, "cron", timezone=zone, args=args, kwargs=kwargs, id=job_id, replace_existing=True,
                            **fields, **({"next_run_time": None} if paused else {}))
    try:
        native = _core._native_pickle_state(job, protocol)  # before `__getstate__` makes the field objects
        assert (native is not None) == natively_pickled_zone(job.trigger.timezone)
        assert native is None or native == pickle.dumps(job.__getstate__(), protocol)
    finally:
        scheduler.remove_job(job_id)


@pytest.mark.parametrize(
    "options",
    [dict(jitter=5), dict(start_date=datetime(2030, 1, 1, tzinfo=timezone.utc)),
     dict(end_date=datetime(2100, 1, 1, tzinfo=timezone.utc))],
)
def test_cron_jobs_with_dates_or_jitter_are_left_to_python(scheduler, options):
    job = scheduler.add_job(noop, "cron", minute="*/5", id="other", **options)
    assert _core._native_pickle_state(job, 5) is None


def test_a_cron_trigger_whose_fields_were_handed_out_is_left_to_python(scheduler):
    job = scheduler.add_job(noop, "cron", minute="*/5", id="c")
    assert _core._native_pickle_state(job, 5) is not None
    job.trigger.fields[6].expressions.clear()  # changed in place: only Python's pickle sees it
    assert _core._native_pickle_state(job, 5) is None


@pytest.mark.parametrize(
    "options",
    [
        dict(timezone=timezone(timedelta(hours=2))),  # a fixed offset: a new tzinfo per datetime
        dict(jitter=5),
        dict(end_date=datetime(2100, 1, 1, tzinfo=timezone.utc)),
        dict(args=[[1, 2]]),
        dict(args=[2**64]),
        dict(kwargs={"x": object()}),
        dict(args=["\ud800"]),  # a lone surrogate: CPython pickles it with surrogatepass
        dict(next_run_time=datetime(2100, 1, 1, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))),
    ],
)
def test_other_shapes_are_left_to_python(scheduler, options):
    job = scheduler.add_job(noop, "interval", seconds=5, id="other", replace_existing=True, **options)
    try:
        assert _core._native_pickle_state(job, 5) is None
    finally:
        scheduler.remove_job("other")


def test_methods_triggers_objects_and_old_protocols_are_left_to_python(scheduler):
    from apscheduler_rs.triggers.date import DateTrigger
    from apscheduler_rs.triggers.interval import IntervalTrigger

    class MyDateTrigger(DateTrigger):
        __slots__ = ()

    for job in (
        scheduler.add_job(Owner().method, "interval", seconds=5, id="method"),
        scheduler.add_job(noop, IntervalTrigger(seconds=5), id="object"),
        scheduler.add_job(noop, MyDateTrigger(datetime(2100, 1, 1, tzinfo=timezone.utc)), id="subclass"),
        scheduler.add_job(noop, "interval", seconds=5, id="protocol"),
    ):
        assert _core._native_pickle_state(job, 2 if job.id == "protocol" else 5) is None
        scheduler.remove_job(job.id)


def test_a_store_writes_the_native_pickle_and_reads_it_back(tmp_path):
    db = tmp_path / "jobs.sqlite"
    s = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{db}")}, timezone="UTC")
    s.start(paused=True)
    job = s.add_job(noop, "interval", seconds=90, id="j", args=(1, "datetime", "datetime"), kwargs={"k": b"v"},
                    timezone=zoneinfo.ZoneInfo("Europe/Berlin"))
    assert _core._native_pickle_state(job, 5) is not None  # the store took the native path
    with sqlite3.connect(db) as conn:
        (stored,) = conn.execute("SELECT job_state FROM apscheduler_jobs WHERE id = 'j'").fetchone()
    assert _core._native_restorable(stored)
    assert stored == pickle.dumps(job.__getstate__(), pickle.HIGHEST_PROTOCOL)
    s.shutdown(wait=False)
    s = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{db}")}, timezone="UTC")
    s.start(paused=True)
    (again,) = s.get_jobs()
    assert (again.args, again.kwargs, again.trigger.interval, again.next_run_time) == (
        job.args, job.kwargs, job.trigger.interval, job.next_run_time)
    s.shutdown(wait=False)
