"""Garbage fed to every public entry point: a clear Python exception, never a Rust panic.

pyo3 turns a Rust panic into ``pyo3_runtime.PanicException``, a ``BaseException`` subclass;
these tests fail on it (and on any other ``BaseException`` that is not an ``Exception``).
"""

from __future__ import annotations

import datetime as dt
import io
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apscheduler_rs import _core
from apscheduler_rs.job import Job
from apscheduler_rs.jobstores.memory import MemoryJobStore
from apscheduler_rs.schedulers.background import BackgroundScheduler
from apscheduler_rs.schedulers.blocking import BlockingScheduler

garbage = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.just(object()),
    st.just(math.inf),
    st.just(dt.datetime(1, 1, 1)),
    st.just(dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc)),
    st.just(dt.date(2024, 2, 29)),
    st.just(dt.timedelta(days=-1)),
)


def noop(*args, **kwargs):
    return None


def call_safely(fn, *args, **kwargs):
    """Run ``fn``; an ``Exception`` is fine, anything else (a panic) fails the test."""
    try:
        fn(*args, **kwargs)
    except Exception:
        pass


@pytest.fixture
def running():
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.start(paused=True)
    yield scheduler
    if scheduler.running:
        scheduler.shutdown(wait=False)


garbage_settings = settings(max_examples=60, deadline=None,
                            suppress_health_check=[HealthCheck.function_scoped_fixture])

JOB_OPTIONS = ["id", "name", "misfire_grace_time", "coalesce", "max_instances",
               "next_run_time", "executor", "args", "kwargs", "func", "trigger", "jobstore"]


@garbage_settings
@given(option=st.sampled_from(JOB_OPTIONS), value=garbage)
def test_add_job_options(running, option, value):
    call_safely(running.add_job, noop, "interval", hours=1, **{option: value})
    call_safely(BlockingScheduler(timezone="UTC").add_job, noop, "date", **{option: value})


@garbage_settings
@given(option=st.sampled_from(JOB_OPTIONS + ["bogus"]), value=garbage)
def test_modify_job_options(running, option, value):
    job = running.add_job(noop, "interval", hours=1)
    call_safely(running.modify_job, job.id, **{option: value})
    call_safely(job.modify, **{option: value})
    call_safely(job._modify, **{option: value})
    running.remove_job(job.id)


@garbage_settings
@given(value=garbage, other=garbage)
def test_scheduler_methods(running, value, other):
    for method in ("get_job", "remove_job", "pause_job", "resume_job", "remove_all_jobs",
                   "get_jobs", "remove_executor", "remove_jobstore", "add_executor",
                   "add_jobstore", "add_listener", "remove_listener", "reschedule_job"):
        call_safely(getattr(running, method), value)
    call_safely(running.print_jobs, value, io.StringIO())
    call_safely(running.modify_job, value, other)
    call_safely(running.add_job, value)
    call_safely(running.add_job, noop, value)
    call_safely(running.configure, value)
    call_safely(BackgroundScheduler, value)
    call_safely(BackgroundScheduler, timezone=value)
    call_safely(BackgroundScheduler, job_defaults={"coalesce": value, "max_instances": other})
    call_safely(running.import_jobs, io.StringIO(str(value)))


@garbage_settings
@given(value=garbage)
def test_job_object(value):
    job = Job.__new__(Job)
    for attr in ("id", "name", "func", "args", "kwargs", "trigger", "executor", "misfire_grace_time",
                 "coalesce", "max_instances", "next_run_time", "func_ref", "_scheduler", "_jobstore_alias"):
        call_safely(setattr, job, attr, value)
        call_safely(getattr, job, attr)
    call_safely(job.__setstate__, value)
    call_safely(job.__setstate__, {"version": value})
    call_safely(job.__getstate__)
    call_safely(job._get_run_times, value)
    call_safely(str, job)
    call_safely(repr, job)
    call_safely(Job, value)
    call_safely(Job, None, value)


@garbage_settings
@given(value=garbage)
def test_native_pieces(value):
    store = MemoryJobStore()
    for method in ("lookup_job", "get_due_jobs", "add_job", "update_job", "remove_job"):
        call_safely(getattr(store, method), value)
    call_safely(_core.ThreadPool, value)
    engine = _core.Engine()
    for method in ("set_listeners", "set_logger", "dispatch", "set_retry_interval", "set_timezone", "set_stores",
                   "set_executors", "wakeup_for"):
        call_safely(getattr(engine, method), value)
    call_safely(setattr, engine, "state", value)
