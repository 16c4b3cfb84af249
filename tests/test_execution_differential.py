"""Job EXECUTION behaviour of apscheduler_rs compared with APScheduler 3.11.3.

Every assertion states what APScheduler 3.x does (proven with APSCHEDULER_RS_ORACLE=1).
Covers the thread pool, process pool, debug and asyncio executors, events and their
attributes, listener masks and failures, misfires, coalescing, max_instances, log
messages, self-modifying jobs and shutdown/pause while jobs run.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import re
import os
import threading
import time
import traceback as tb_module
from datetime import datetime, timedelta, timezone

import pytest

import execution_jobs as jobs
from apscheduler_rs.events import (
    EVENT_ALL,
    EVENT_JOB_ADDED,
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_JOB_MODIFIED,
    EVENT_JOB_REMOVED,
    EVENT_JOB_SUBMITTED,
    EVENT_SCHEDULER_SHUTDOWN,
    JobEvent,
    JobExecutionEvent,
    JobSubmissionEvent,
)
from apscheduler_rs.executors.base import BaseExecutor
from apscheduler_rs.executors.debug import DebugExecutor
from apscheduler_rs.executors.pool import ProcessPoolExecutor, ThreadPoolExecutor
from apscheduler_rs.schedulers.background import BackgroundScheduler

pytestmark = pytest.mark.timeout(60)

UTC = timezone.utc
WAIT = 5.0


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
class Collector:
    def __init__(self):
        self.events = []
        self.threads = []
        self.cond = threading.Condition()

    def __call__(self, event):
        with self.cond:
            self.events.append(event)
            self.threads.append(threading.current_thread().name)
            self.cond.notify_all()

    def wait(self, pred, timeout=WAIT):
        with self.cond:
            ok = self.cond.wait_for(lambda: pred(self.events), timeout)
        assert ok, [(e.code, getattr(e, "job_id", None)) for e in self.events]
        return list(self.events)

    def wait_code(self, code, count=1, job_id=None, timeout=WAIT):
        def pred(events):
            return len(self._match(events, code, job_id)) >= count

        return self._match(self.wait(pred, timeout), code, job_id)

    @staticmethod
    def _match(events, code, job_id):
        return [e for e in events if e.code == code and (job_id is None or e.job_id == job_id)]

    def codes(self, job_id=None):
        with self.cond:
            return [e.code for e in self.events if job_id is None or getattr(e, "job_id", None) == job_id]


@pytest.fixture
def logs():
    """Like conftest's logs, but records carry the message formatted at emit time
    (LogRecord.getMessage() is lazy and the job object changes later)."""
    installed = []

    def install(name="apscheduler", level=logging.DEBUG):
        records = []

        class _Handler(logging.Handler):
            def emit(self, record):
                record.emitted = record.getMessage()
                records.append(record)

        logger = logging.getLogger(name)
        handler = _Handler(level)
        installed.append((logger, handler, logger.level))
        logger.addHandler(handler)
        if logger.level == logging.NOTSET or logger.level > level:
            logger.setLevel(level)
        return records

    yield install
    for logger, handler, level in reversed(installed):
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture
def make_sched():
    made = []

    def make(mask=EVENT_ALL, start=True, paused=False, **options):
        options.setdefault("timezone", "UTC")
        sched = BackgroundScheduler(**options)
        collector = Collector()
        sched.add_listener(collector, mask)
        made.append(sched)
        if start:
            sched.start(paused=paused)
        return sched, collector

    yield make
    for sched in made:
        if sched.running:
            sched.shutdown(wait=False)


def wait_until(cond, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def fmt(dt):
    """datetime_repr as APScheduler uses it in job/trigger strings."""
    return dt.strftime("%Y-%m-%d %H:%M:%S %Z")


def messages(records, name=None, level=None):
    return [
        r.emitted
        for r in list(records)
        if (name is None or r.name == name) and (level is None or r.levelno == level)
    ]


def returns_sentinel(obj):
    return obj


def failing():
    raise FAILURE


FAILURE = ValueError("boom")


# --------------------------------------------------------------------------------------
# Thread pool: events and their attributes
# --------------------------------------------------------------------------------------
def test_executed_event_attributes_thread_pool(make_sched):
    sched, got = make_sched(mask=EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    sentinel = object()
    run_date = datetime.now(UTC) - timedelta(milliseconds=100)
    sched.add_job(returns_sentinel, "date", run_date=run_date, args=[sentinel], id="ok")
    (event,) = got.wait_code(EVENT_JOB_EXECUTED)
    assert type(event) is JobExecutionEvent
    assert event.code == EVENT_JOB_EXECUTED
    assert event.job_id == "ok" and event.jobstore == "default" and event.alias is None
    assert event.retval is sentinel
    assert event.exception is None and event.traceback is None
    assert event.scheduled_run_time == run_date
    assert event.scheduled_run_time.tzinfo is UTC  # the trigger's own datetime is passed on
    time.sleep(0.1)
    assert got.codes() == [EVENT_JOB_EXECUTED]


def test_immediate_job_scheduled_run_time_is_in_scheduler_timezone(make_sched):
    sched, got = make_sched(mask=EVENT_JOB_EXECUTED, timezone="Europe/Berlin")
    job = sched.add_job(jobs.add, args=[1, 2], id="now")
    (event,) = got.wait_code(EVENT_JOB_EXECUTED)
    assert event.retval == 3
    assert str(event.scheduled_run_time.tzinfo) == "Europe/Berlin"
    assert event.scheduled_run_time == job.trigger.run_date


def test_error_event_attributes_and_log_record(make_sched, logs):
    records = logs("apscheduler.executors.default", logging.DEBUG)
    sched, got = make_sched(mask=EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    run_date = datetime.now(UTC).replace(microsecond=0) - timedelta(milliseconds=1)
    sched.add_job(failing, "date", run_date=run_date, id="bad")
    (event,) = got.wait_code(EVENT_JOB_ERROR)
    assert type(event) is JobExecutionEvent and event.code == EVENT_JOB_ERROR
    assert (event.job_id, event.jobstore, event.retval) == ("bad", "default", None)
    assert event.scheduled_run_time == run_date
    assert event.exception is FAILURE
    assert isinstance(event.traceback, str)
    assert event.traceback.rstrip().endswith("raise FAILURE")
    assert "in failing" in event.traceback.splitlines()[-2]
    job_str = f"failing (trigger: date[{fmt(run_date)}], next run at: {fmt(run_date)})"
    errors = [r for r in records if r.levelno == logging.ERROR]
    assert [r.emitted for r in errors] == [f'Job "{job_str}" raised an exception']
    assert errors[0].exc_info[1] is FAILURE
    assert messages(records, level=logging.INFO) == [
        f'Running job "{job_str}" (scheduled at {run_date})'
    ]


def test_error_event_exception_keeps_its_traceback(make_sched):
    """event.exception.__traceback__ is what traceback.print_exception / Sentry use."""
    sched, got = make_sched(mask=EVENT_JOB_ERROR)

    def raises_local():
        raise KeyError("local")

    sched.add_job(raises_local, id="bad")
    (event,) = got.wait_code(EVENT_JOB_ERROR)
    assert event.exception.__traceback__ is not None
    frames = tb_module.extract_tb(event.exception.__traceback__)
    assert frames[-1].name == "raises_local"
    assert event.traceback.endswith("".join(tb_module.format_tb(event.exception.__traceback__)[-1:]))


def test_success_log_messages_exact(make_sched, logs):
    records = logs("apscheduler.executors.default", logging.DEBUG)
    sched, got = make_sched(mask=EVENT_JOB_EXECUTED)
    run_date = datetime.now(UTC).replace(microsecond=0) - timedelta(milliseconds=1)
    sched.add_job(jobs.add, "date", run_date=run_date, args=[1], name="adder", id="x")
    got.wait_code(EVENT_JOB_EXECUTED)
    job_str = f"adder (trigger: date[{fmt(run_date)}], next run at: {fmt(run_date)})"
    assert [(r.name, r.levelname, r.emitted) for r in records] == [
        ("apscheduler.executors.default", "INFO", f'Running job "{job_str}" (scheduled at {run_date})'),
        ("apscheduler.executors.default", "INFO", f'Job "{job_str}" executed successfully'),
    ]


def test_executor_alias_names_the_logger(make_sched, logs):
    records = logs("apscheduler.executors", logging.INFO)
    sched, got = make_sched(mask=EVENT_JOB_EXECUTED)
    sched.add_executor(ThreadPoolExecutor(2), "other")
    sched.add_job(jobs.add, args=[5], executor="other", id="o")
    got.wait_code(EVENT_JOB_EXECUTED)
    assert {r.name for r in records} == {"apscheduler.executors.other"}


def test_retval_various_types(make_sched):
    sched, got = make_sched(mask=EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    value = {"a": [1, 2]}
    sched.add_job(returns_sentinel, args=[value], id="dict")
    sched.add_job(jobs.add, args=(1, 2), kwargs={"c": 3}, id="argskw")
    sched.add_job(functools.partial(jobs.add, 10, c=5), args=[1], id="partial")
    sched.add_job(jobs.Multiplier(3), args=[7], id="instance")
    sched.add_job(jobs.Multiplier(4).times, args=[5], id="bound")
    sched.add_job(lambda: None, id="none")
    sched.add_job(len, args=["abcd"], id="builtin")
    sched.add_job(jobs.echo_kwargs, kwargs={"b": 2, "a": 1}, id="kw")
    events = got.wait_code(EVENT_JOB_EXECUTED, count=8)
    by_id = {e.job_id: e.retval for e in events}
    assert by_id["dict"] is value
    assert by_id == {
        "dict": value, "argskw": 6, "partial": 16, "instance": 21, "bound": 20,
        "none": None, "builtin": 4, "kw": {"a": 1, "b": 2},
    }


def test_system_exit_and_keyboard_interrupt_are_job_errors(make_sched):
    sched, got = make_sched(mask=EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)

    def kbi():
        raise KeyboardInterrupt

    sched.add_job(jobs.system_exit, id="exit")
    sched.add_job(kbi, id="kbi")
    errors = got.wait_code(EVENT_JOB_ERROR, count=2)
    by_id = {e.job_id: e.exception for e in errors}
    assert type(by_id["exit"]) is SystemExit and by_id["exit"].code == 3
    assert type(by_id["kbi"]) is KeyboardInterrupt
    # the scheduler is unaffected
    sched.add_job(jobs.add, args=[1], id="after")
    (after,) = got.wait_code(EVENT_JOB_EXECUTED, job_id="after")
    assert after.retval == 1 and sched.running


def test_coroutine_function_in_thread_pool_returns_an_unawaited_coroutine(make_sched):
    sched, got = make_sched(mask=EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    calls = []

    async def coro_job(x):
        calls.append(x)
        return x

    sched.add_job(coro_job, args=[1], id="c")
    (event,) = got.wait_code(EVENT_JOB_EXECUTED)
    assert inspect.iscoroutine(event.retval)
    assert calls == []
    event.retval.close()


def test_job_runs_in_a_pool_thread_named_like_concurrent_futures(make_sched):
    sched, got = make_sched(mask=EVENT_JOB_EXECUTED | EVENT_JOB_SUBMITTED)
    sched.add_job(lambda: threading.current_thread().name, id="t")
    (event,) = got.wait_code(EVENT_JOB_EXECUTED)
    assert re.fullmatch(r"ThreadPoolExecutor-\d+_\d+", event.retval), event.retval
    got.wait_code(EVENT_JOB_SUBMITTED)
    # SUBMITTED comes from the scheduler's own thread
    names = dict(zip(got.codes(), got.threads))
    assert names[EVENT_JOB_SUBMITTED] == "APScheduler"


def test_thread_name_prefix_pool_kwarg(make_sched):
    sched, got = make_sched(
        mask=EVENT_JOB_EXECUTED,
        executors={"default": ThreadPoolExecutor(2, {"thread_name_prefix": "jobs"})},
    )
    sched.add_job(lambda: threading.current_thread().name, id="t")
    (event,) = got.wait_code(EVENT_JOB_EXECUTED)
    assert re.fullmatch(r"jobs_\d+", event.retval), event.retval


# --------------------------------------------------------------------------------------
# Listeners
# --------------------------------------------------------------------------------------
def test_listener_exception_is_logged_and_others_still_called(make_sched, logs):
    records = logs("apscheduler.scheduler", logging.ERROR)
    sched, got = make_sched(mask=EVENT_JOB_EXECUTED)

    def bad_listener(event):
        raise RuntimeError("listener failed")

    def exiting_listener(event):
        raise SystemExit(1)

    after = Collector()
    sched.add_listener(bad_listener, EVENT_JOB_EXECUTED)
    sched.add_listener(exiting_listener, EVENT_JOB_EXECUTED)
    sched.add_listener(after, EVENT_JOB_EXECUTED)
    sched.add_job(jobs.add, args=[1], id="a")
    after.wait_code(EVENT_JOB_EXECUTED)
    errors = [r for r in records if r.levelno == logging.ERROR]
    assert [r.emitted for r in errors] == ["Error notifying listener"] * 2
    assert [type(r.exc_info[1]) for r in errors] == [RuntimeError, SystemExit]
    assert {r.name for r in errors} == {"apscheduler.scheduler"}
    # the scheduler keeps working
    sched.add_job(jobs.add, args=[2], id="b")
    after.wait_code(EVENT_JOB_EXECUTED, job_id="b")


def test_masks_filter_events(make_sched):
    sched, everything = make_sched(mask=EVENT_ALL)
    results, errors_only, nothing = Collector(), Collector(), Collector()
    sched.add_listener(results, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    sched.add_listener(errors_only, EVENT_JOB_ERROR)
    sched.add_listener(nothing, 0)
    sched.add_job(jobs.add, args=[1], id="ok")
    sched.add_job(failing, id="bad")
    results.wait(lambda ev: len(ev) >= 2)
    everything.wait_code(EVENT_JOB_SUBMITTED, count=2)
    everything.wait_code(EVENT_JOB_REMOVED, count=2)
    time.sleep(0.1)
    assert sorted(results.codes()) == [EVENT_JOB_EXECUTED, EVENT_JOB_ERROR]
    assert errors_only.codes() == [EVENT_JOB_ERROR]
    assert nothing.codes() == []
    for job_id in ("ok", "bad"):
        codes = everything.codes(job_id)
        assert codes[0] == EVENT_JOB_ADDED
        assert codes.index(EVENT_JOB_REMOVED) < codes.index(EVENT_JOB_SUBMITTED)
        assert sorted(codes) == sorted(
            [EVENT_JOB_ADDED, EVENT_JOB_REMOVED, EVENT_JOB_SUBMITTED,
             EVENT_JOB_EXECUTED if job_id == "ok" else EVENT_JOB_ERROR]
        )


def test_listener_list_is_snapshotted_per_dispatch(make_sched):
    sched, _ = make_sched(mask=0)
    seen_b, seen_c = [], []

    def listener_c(event):
        seen_c.append(event.job_id)

    def listener_b(event):
        seen_b.append(event.job_id)

    def listener_a(event):
        if event.job_id == "first":
            sched.remove_listener(listener_b)
            sched.add_listener(listener_c, EVENT_JOB_EXECUTED)

    done = Collector()
    sched.add_listener(listener_a, EVENT_JOB_EXECUTED)
    sched.add_listener(listener_b, EVENT_JOB_EXECUTED)
    sched.add_listener(done, EVENT_JOB_EXECUTED)
    sched.add_job(jobs.add, args=[1], id="first")
    done.wait_code(EVENT_JOB_EXECUTED, job_id="first")
    sched.add_job(jobs.add, args=[1], id="second")
    done.wait_code(EVENT_JOB_EXECUTED, job_id="second")
    assert seen_b == ["first"]  # removed during the dispatch, still called for that event
    assert seen_c == ["second"]  # added during the dispatch, not called for that event


# --------------------------------------------------------------------------------------
# Misfires, coalescing
# --------------------------------------------------------------------------------------
def test_missed_date_job_event_warning_and_removal(make_sched, logs):
    records = logs("apscheduler", logging.DEBUG)
    sched, got = make_sched()
    calls = []
    run_date = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
    sched.add_job(calls.append, "date", run_date=run_date, args=[1], misfire_grace_time=2, id="late")
    (event,) = got.wait_code(EVENT_JOB_MISSED)
    got.wait_code(EVENT_JOB_SUBMITTED)
    assert type(event) is JobExecutionEvent
    assert (event.job_id, event.jobstore, event.scheduled_run_time) == ("late", "default", run_date)
    assert event.retval is None and event.exception is None and event.traceback is None
    assert calls == []
    assert sched.get_job("late") is None
    (submitted,) = [e for e in got.events if e.code == EVENT_JOB_SUBMITTED]
    assert submitted.scheduled_run_times == [run_date]
    job_str = f"list.append (trigger: date[{fmt(run_date)}], next run at: {fmt(run_date)})"
    warnings = [r for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].name == "apscheduler.executors.default"
    assert re.fullmatch(
        re.escape(f'Run time of job "{job_str}" was missed by ') + r"0:00:0[5-7]\.\d{6}",
        warnings[0].emitted,
    ), warnings[0].emitted
    assert not [m for m in messages(records) if m.startswith("Running job")]


def test_uncoalesced_run_times_some_missed_some_run(make_sched):
    sched, got = make_sched(mask=EVENT_JOB_EXECUTED | EVENT_JOB_MISSED | EVENT_JOB_SUBMITTED)
    calls = []
    first = datetime.now(UTC) - timedelta(seconds=5)
    sched.add_job(calls.append, "interval", seconds=2, args=["x"], next_run_time=first,
                  coalesce=False, misfire_grace_time=2, id="c")
    got.wait(lambda ev: len([e for e in ev if e.code != EVENT_JOB_SUBMITTED]) >= 3)
    got.wait_code(EVENT_JOB_SUBMITTED)  # may come after the runs' events, in both libraries
    sched.remove_job("c")
    (submitted,) = [e for e in got.events if e.code == EVENT_JOB_SUBMITTED][:1]
    assert submitted.scheduled_run_times == [first, first + timedelta(seconds=2), first + timedelta(seconds=4)]
    results = [(e.code, e.scheduled_run_time) for e in got.events if e.code != EVENT_JOB_SUBMITTED][:3]
    assert results == [
        (EVENT_JOB_MISSED, first),
        (EVENT_JOB_MISSED, first + timedelta(seconds=2)),
        (EVENT_JOB_EXECUTED, first + timedelta(seconds=4)),
    ]
    assert calls == ["x"]


def test_no_grace_time_runs_however_late(make_sched):
    sched, got = make_sched(mask=EVENT_JOB_EXECUTED | EVENT_JOB_MISSED)
    run_date = datetime.now(UTC) - timedelta(days=3)
    sched.add_job(jobs.add, "date", run_date=run_date, args=[4], misfire_grace_time=None, id="old")
    (event,) = got.wait_code(EVENT_JOB_EXECUTED)
    assert event.scheduled_run_time == run_date and event.retval == 4


def test_job_defaults_misfire_grace_time_applies(make_sched):
    sched, got = make_sched(mask=EVENT_JOB_EXECUTED | EVENT_JOB_MISSED,
                            job_defaults={"misfire_grace_time": 30})
    run_date = datetime.now(UTC) - timedelta(seconds=5)
    job = sched.add_job(jobs.add, "date", run_date=run_date, args=[4], id="old")
    assert job.misfire_grace_time == 30
    (event,) = got.wait_code(EVENT_JOB_EXECUTED)
    assert event.retval == 4


def test_queued_job_misses_when_pool_is_saturated(make_sched):
    sched, got = make_sched(mask=EVENT_JOB_EXECUTED | EVENT_JOB_MISSED,
                            executors={"default": ThreadPoolExecutor(1)})
    release = threading.Event()
    sched.add_job(release.wait, args=[3], id="blocker", misfire_grace_time=None)
    time.sleep(0.1)
    sched.add_job(jobs.add, args=[1], id="queued", misfire_grace_time=1)
    time.sleep(1.4)
    release.set()
    (missed,) = got.wait_code(EVENT_JOB_MISSED)
    assert missed.job_id == "queued"
    got.wait_code(EVENT_JOB_EXECUTED, job_id="blocker")
    assert [e.job_id for e in got.events if e.code == EVENT_JOB_EXECUTED] == ["blocker"]


def test_misfire_after_pause_and_resume(make_sched):
    sched, got = make_sched(mask=EVENT_JOB_EXECUTED | EVENT_JOB_MISSED, paused=True)
    sched.add_job(jobs.add, args=[1], id="p", misfire_grace_time=1)
    time.sleep(0.3)
    assert got.codes() == []
    sched.add_job(jobs.add, args=[2], id="q", misfire_grace_time=10)
    time.sleep(1.2)
    sched.resume()
    got.wait(lambda ev: len(ev) >= 2)
    by_id = {e.job_id: e.code for e in got.events}
    assert by_id == {"p": EVENT_JOB_MISSED, "q": EVENT_JOB_EXECUTED}


def test_pause_holds_due_jobs_until_resume(make_sched, logs):
    records = logs("apscheduler.scheduler", logging.INFO)
    sched, got = make_sched(mask=EVENT_JOB_EXECUTED)
    sched.pause()
    sched.add_job(jobs.add, args=[7], id="held")
    time.sleep(0.4)
    assert got.codes() == []
    sched.pause()  # pausing twice is a no-op
    sched.resume()
    (event,) = got.wait_code(EVENT_JOB_EXECUTED)
    assert event.retval == 7
    msgs = messages(records)
    assert msgs.count("Paused scheduler job processing") == 1
    assert msgs.count("Resumed scheduler job processing") == 1


# --------------------------------------------------------------------------------------
# max_instances
# --------------------------------------------------------------------------------------
def test_max_instances_event_and_warning(make_sched, logs):
    records = logs("apscheduler.scheduler", logging.WARNING)
    sched, got = make_sched(mask=EVENT_JOB_MAX_INSTANCES | EVENT_JOB_EXECUTED)
    release = threading.Event()
    sched.add_job(release.wait, "interval", seconds=0.2, args=[5], id="slow", name="slowjob")
    (event,) = got.wait_code(EVENT_JOB_MAX_INSTANCES)[:1]
    sched.pause_job("slow")
    release.set()
    got.wait_code(EVENT_JOB_EXECUTED)
    assert type(event) is JobSubmissionEvent
    assert (event.code, event.job_id, event.jobstore) == (EVENT_JOB_MAX_INSTANCES, "slow", "default")
    assert isinstance(event.scheduled_run_times, list) and len(event.scheduled_run_times) == 1
    warning = records[0]
    assert warning.name == "apscheduler.scheduler" and warning.levelno == logging.WARNING
    assert re.fullmatch(
        r'Execution of job "slowjob \(trigger: interval\[0:00:00\.200000\], next run at: '
        r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)" skipped: maximum number of running instances '
        r"reached \(1\)",
        warning.emitted,
    ), warning.emitted


def test_max_instances_two_allows_two_concurrent_runs(make_sched):
    sched, got = make_sched(mask=EVENT_JOB_MAX_INSTANCES | EVENT_JOB_EXECUTED)
    release = threading.Event()
    running = []
    lock = threading.Lock()

    def job():
        with lock:
            running.append(1)
        release.wait(5)

    sched.add_job(job, "interval", seconds=0.15, id="two", max_instances=2)
    got.wait_code(EVENT_JOB_MAX_INSTANCES)
    sched.pause_job("two")
    assert len(running) == 2
    release.set()
    got.wait_code(EVENT_JOB_EXECUTED, count=2)


# --------------------------------------------------------------------------------------
# Jobs changing the scheduler while they run
# --------------------------------------------------------------------------------------
def test_job_removes_itself(make_sched, logs):
    records = logs("apscheduler.scheduler", logging.INFO)
    sched, got = make_sched()
    submitted = threading.Event()
    sched.add_listener(lambda e: submitted.set(), EVENT_JOB_SUBMITTED)

    def job():
        submitted.wait(5)
        sched.remove_job("self")
        return "gone"

    sched.add_job(job, "interval", seconds=0.2, id="self")
    (executed,) = got.wait_code(EVENT_JOB_EXECUTED)
    (removed,) = got.wait_code(EVENT_JOB_REMOVED)
    assert type(removed) is JobEvent and (removed.job_id, removed.jobstore) == ("self", "default")
    assert executed.retval == "gone"
    assert sched.get_job("self") is None
    time.sleep(0.4)
    assert got.codes("self").count(EVENT_JOB_SUBMITTED) == 1
    assert "Removed job self" in messages(records)


def test_remove_job_of_an_already_removed_date_job_is_a_job_error(make_sched):
    sched, got = make_sched(mask=EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_SUBMITTED)
    submitted = threading.Event()
    sched.add_listener(lambda e: submitted.set(), EVENT_JOB_SUBMITTED)

    def job():
        submitted.wait(5)
        sched.remove_job("once")

    sched.add_job(job, id="once")
    (event,) = got.wait_code(EVENT_JOB_ERROR)
    assert type(event.exception).__name__ == "JobLookupError"
    assert str(event.exception) == "'No job by the id of once was found'"


def test_job_modifies_its_own_args(make_sched):
    sched, got = make_sched(mask=EVENT_JOB_EXECUTED | EVENT_JOB_MODIFIED | EVENT_JOB_SUBMITTED)
    submitted = threading.Event()
    sched.add_listener(lambda e: submitted.set(), EVENT_JOB_SUBMITTED)

    def job(n):
        submitted.wait(5)
        if n == 1:
            sched.modify_job("mod", args=[2])
        return n

    sched.add_job(job, "interval", seconds=0.3, args=[1], id="mod")
    executed = got.wait_code(EVENT_JOB_EXECUTED, count=2)
    sched.remove_job("mod")
    assert [e.retval for e in executed[:2]] == [1, 2]
    modified = [e for e in got.events if e.code == EVENT_JOB_MODIFIED]
    assert len(modified) == 1 and type(modified[0]) is JobEvent
    assert (modified[0].job_id, modified[0].jobstore) == ("mod", "default")


def test_job_adds_another_job(make_sched):
    sched, got = make_sched(mask=EVENT_JOB_EXECUTED | EVENT_JOB_ADDED)

    def parent():
        child = sched.add_job(jobs.add, args=[40, 2], id="child")
        return child.id

    sched.add_job(parent, id="parent")
    (child,) = got.wait_code(EVENT_JOB_EXECUTED, job_id="child")
    (parent_ev,) = got.wait_code(EVENT_JOB_EXECUTED, job_id="parent")
    assert child.retval == 42 and parent_ev.retval == "child"
    assert [e.job_id for e in got.events if e.code == EVENT_JOB_ADDED] == ["parent", "child"]


def test_job_pauses_scheduler(make_sched):
    sched, got = make_sched(mask=EVENT_JOB_EXECUTED)

    def job():
        sched.pause()
        return sched.state

    sched.add_job(job, id="p")
    (event,) = got.wait_code(EVENT_JOB_EXECUTED)
    assert event.retval == 2  # STATE_PAUSED
    sched.add_job(jobs.add, args=[1], id="later")
    time.sleep(0.3)
    assert [e.job_id for e in got.events] == ["p"]
    sched.resume()
    got.wait_code(EVENT_JOB_EXECUTED, job_id="later")


# --------------------------------------------------------------------------------------
# Run-once jobs, shutdown
# --------------------------------------------------------------------------------------
def test_date_job_removed_after_running(make_sched, logs):
    records = logs("apscheduler.scheduler", logging.INFO)
    sched, got = make_sched()
    job = sched.add_job(jobs.add, "date", run_date=datetime.now(UTC), args=[1], id="once")
    got.wait_code(EVENT_JOB_SUBMITTED)
    got.wait_code(EVENT_JOB_EXECUTED)
    (removed,) = [e for e in got.events if e.code == EVENT_JOB_REMOVED]
    assert type(removed) is JobEvent and (removed.job_id, removed.jobstore) == ("once", "default")
    assert sched.get_job("once") is None and sched.get_jobs() == []
    assert "Removed job once" in messages(records)
    assert job.id == "once"


def test_interval_job_with_end_date_is_removed_after_last_run(make_sched):
    sched, got = make_sched()
    now = datetime.now(UTC)
    sched.add_job(jobs.add, "interval", seconds=0.2, args=[1], end_date=now + timedelta(seconds=0.3),
                  start_date=now - timedelta(seconds=0.1), id="ending")
    got.wait_code(EVENT_JOB_REMOVED)
    time.sleep(0.3)
    assert sched.get_job("ending") is None
    assert got.codes("ending").count(EVENT_JOB_EXECUTED) >= 1


def test_shutdown_wait_true_waits_for_running_job(make_sched):
    sched, got = make_sched()
    started = threading.Event()

    def job():
        started.set()
        time.sleep(0.5)
        return "finished"

    sched.add_job(job, id="slow")
    assert started.wait(5)
    got.wait_code(EVENT_JOB_SUBMITTED)  # the scheduler thread is done with the job
    sched.shutdown(wait=True)
    codes = got.codes()
    assert EVENT_JOB_EXECUTED in codes
    assert codes.index(EVENT_JOB_EXECUTED) < codes.index(EVENT_SCHEDULER_SHUTDOWN)
    assert [e.retval for e in got.events if e.code == EVENT_JOB_EXECUTED] == ["finished"]


def test_shutdown_wait_false_returns_and_event_still_dispatched(make_sched):
    sched, got = make_sched()
    started, release = threading.Event(), threading.Event()

    def job():
        started.set()
        release.wait(5)
        return "late result"

    sched.add_job(job, id="slow")
    assert started.wait(5)
    got.wait_code(EVENT_JOB_SUBMITTED)  # the scheduler thread is done with the job
    t0 = time.monotonic()
    sched.shutdown(wait=False)
    assert time.monotonic() - t0 < 1
    assert not sched.running
    assert EVENT_JOB_EXECUTED not in got.codes()
    release.set()
    (event,) = got.wait_code(EVENT_JOB_EXECUTED)
    assert event.retval == "late result"


def test_shutdown_wait_true_also_runs_queued_jobs(make_sched):
    sched, got = make_sched(executors={"default": ThreadPoolExecutor(1)})
    sched.add_job(time.sleep, args=[0.3], id="first", misfire_grace_time=None)
    sched.add_job(jobs.add, args=[1], id="queued", misfire_grace_time=None)
    got.wait_code(EVENT_JOB_SUBMITTED, count=2)
    sched.shutdown(wait=True)
    executed = [e.job_id for e in got.events if e.code == EVENT_JOB_EXECUTED]
    assert sorted(executed) == ["first", "queued"]
    assert got.codes()[-1] == EVENT_SCHEDULER_SHUTDOWN


def test_shutdown_wait_false_does_not_drop_queued_jobs(make_sched):
    sched, got = make_sched(executors={"default": ThreadPoolExecutor(1)})
    sched.add_job(time.sleep, args=[0.3], id="first", misfire_grace_time=None)
    sched.add_job(jobs.add, args=[1], id="queued", misfire_grace_time=None)
    got.wait_code(EVENT_JOB_SUBMITTED, count=2)
    sched.shutdown(wait=False)
    got.wait_code(EVENT_JOB_EXECUTED, job_id="queued")


def test_pool_threads_are_gone_after_shutdown(make_sched):
    sched, got = make_sched(mask=EVENT_JOB_EXECUTED)
    sched.add_job(lambda: threading.current_thread().name, id="t")
    (event,) = got.wait_code(EVENT_JOB_EXECUTED)
    worker = event.retval
    assert worker in {t.name for t in threading.enumerate()}
    sched.shutdown(wait=True)
    wait_until(lambda: not [t for t in threading.enumerate() if t.name.startswith("ThreadPoolExecutor-")],
               timeout=2)


def _os_threads():
    import os

    return len(os.listdir("/proc/self/task"))


@pytest.mark.skipif(not __import__("os").path.isdir("/proc/self/task"), reason="needs procfs")
def test_pool_threads_are_started_on_demand(make_sched):
    before = _os_threads()
    sched, got = make_sched(mask=EVENT_JOB_EXECUTED, executors={"default": ThreadPoolExecutor(8)})
    sched.add_job(jobs.add, args=[1], id="one")
    got.wait_code(EVENT_JOB_EXECUTED)
    # concurrent.futures starts workers only as work arrives: one job, one worker thread
    # (plus the scheduler's own thread) -- not all eight
    assert _os_threads() - before <= 3


def test_due_jobs_run_in_run_time_then_id_order(make_sched):
    sched, got = make_sched(mask=EVENT_JOB_EXECUTED, paused=True,
                            executors={"default": DebugExecutor()})
    now = datetime.now(UTC)
    for job_id, offset in [("b", 2), ("c", 1), ("a", 1), ("z", 3), ("m", 1)]:
        sched.add_job(jobs.add, "date", run_date=now - timedelta(seconds=offset), args=[0], id=job_id,
                      misfire_grace_time=None)
    sched.resume()
    events = got.wait_code(EVENT_JOB_EXECUTED, count=5)
    assert [e.job_id for e in events] == ["z", "b", "a", "c", "m"]


def test_shutdown_from_inside_a_job_without_waiting(make_sched):
    sched, got = make_sched()
    submitted = threading.Event()
    sched.add_listener(lambda e: submitted.set(), EVENT_JOB_SUBMITTED)

    def job():
        submitted.wait(5)
        sched.shutdown(wait=False)
        return sched.running

    sched.add_job(job, "interval", seconds=30, next_run_time=datetime.now(UTC), id="stopper")
    (event,) = got.wait_code(EVENT_JOB_EXECUTED)
    assert event.retval is False
    got.wait_code(EVENT_SCHEDULER_SHUTDOWN)
    assert not sched.running


@pytest.mark.skipif(os.environ.get("APSCHEDULER_RS_ORACLE", "") not in ("", "0"),
                    reason="a deliberate difference: 3.x fails the job with 'cannot join current thread'")
def test_shutdown_wait_true_from_inside_a_job_stops_the_scheduler(make_sched):
    # 3.x: the job fails with RuntimeError('cannot join current thread') and the shutdown is
    # left half done. apscheduler_rs waits for every worker but the job's own thread.
    sched, got = make_sched()
    submitted = threading.Event()
    sched.add_listener(lambda e: submitted.set(), EVENT_JOB_SUBMITTED)

    def job():
        submitted.wait(5)
        sched.shutdown(wait=True)
        return sched.running

    sched.add_job(job, "interval", seconds=30, next_run_time=datetime.now(UTC), id="stopper")
    (event,) = got.wait_code(EVENT_JOB_EXECUTED)
    assert event.retval is False
    assert not sched.running


# --------------------------------------------------------------------------------------
# Scheduler-side failures: executor lookup / submission
# --------------------------------------------------------------------------------------
def test_unknown_executor_is_logged_and_job_removed(make_sched, logs):
    records = logs("apscheduler.scheduler", logging.ERROR)
    sched, got = make_sched()
    run_date = datetime.now(UTC).replace(microsecond=0)
    sched.add_job(jobs.add, "date", run_date=run_date, args=[1], executor="nope", id="lost")
    (removed,) = got.wait_code(EVENT_JOB_REMOVED)
    assert removed.job_id == "lost"
    job_str = f"add (trigger: date[{fmt(run_date)}], next run at: {fmt(run_date)})"
    assert messages(records, level=logging.ERROR) == [
        f'Executor lookup ("nope") failed for job "{job_str}" -- removing it from the job store'
    ]
    assert EVENT_JOB_SUBMITTED not in got.codes()


class RefusingExecutor(BaseExecutor):
    def _do_submit_job(self, job, run_times):
        raise RuntimeError("refused")


class MachineryErrorExecutor(BaseExecutor):
    def _do_submit_job(self, job, run_times):
        try:
            raise OSError("machinery broke")
        except OSError as exc:
            self._run_job_error(job.id, exc, exc.__traceback__)


def test_submission_error_is_logged_and_no_submitted_event(make_sched, logs):
    records = logs("apscheduler.scheduler", logging.ERROR)
    sched, got = make_sched()
    sched.add_executor(RefusingExecutor(), "refusing")
    run_date = datetime.now(UTC).replace(microsecond=0)
    sched.add_job(jobs.add, "date", run_date=run_date, args=[1], executor="refusing", id="r")
    got.wait_code(EVENT_JOB_REMOVED)
    time.sleep(0.1)
    job_str = f"add (trigger: date[{fmt(run_date)}], next run at: {fmt(run_date)})"
    (record,) = records
    assert record.emitted == f'Error submitting job "{job_str}" to executor "refusing"'
    assert type(record.exc_info[1]) is RuntimeError
    assert EVENT_JOB_SUBMITTED not in got.codes()


def test_run_job_error_is_logged_on_the_executor_logger(make_sched, logs):
    records = logs("apscheduler.executors", logging.ERROR)
    sched, got = make_sched()
    executor = MachineryErrorExecutor()
    sched.add_executor(executor, "broken")
    sched.add_job(jobs.add, args=[1], executor="broken", id="m")
    got.wait_code(EVENT_JOB_SUBMITTED)
    wait_until(lambda: records)
    (record,) = records
    assert record.name == "apscheduler.executors.broken"
    assert record.emitted == "Error running job m"
    assert type(record.exc_info[1]) is OSError
    assert executor._instances.get("m", 0) == 0
    assert {EVENT_JOB_EXECUTED, EVENT_JOB_ERROR} & set(got.codes()) == set()


# --------------------------------------------------------------------------------------
# Subclass hooks and configuration that reach execution
# --------------------------------------------------------------------------------------
class RecordingScheduler(BackgroundScheduler):
    def __init__(self, *args, **kwargs):
        self.dispatched = []
        super().__init__(*args, **kwargs)

    def _dispatch_event(self, event):
        self.dispatched.append(event.code)
        super()._dispatch_event(event)


def test_overridden_dispatch_event_sees_execution_events():
    sched = RecordingScheduler(timezone="UTC")
    got = Collector()
    sched.add_listener(got, EVENT_ALL)
    sched.start()
    try:
        release = threading.Event()
        sched.add_job(jobs.add, args=[1], id="ok")
        sched.add_job(failing, id="bad")
        sched.add_job(jobs.add, "date", run_date=datetime.now(UTC) - timedelta(seconds=10), args=[1],
                      id="late")
        sched.add_job(release.wait, "interval", seconds=0.2, args=[5], id="busy")
        got.wait_code(EVENT_JOB_MAX_INSTANCES)
        sched.remove_job("busy")
        release.set()
        got.wait_code(EVENT_JOB_EXECUTED, count=2)
        got.wait_code(EVENT_JOB_MISSED)
        got.wait_code(EVENT_JOB_ERROR)
        # every event a listener received went through the overridable _dispatch_event
        assert set(got.codes()) - set(sched.dispatched) == set()
    finally:
        sched.shutdown(wait=False)


class HookedThreadPool(ThreadPoolExecutor):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.submitted, self.succeeded = [], []

    def _do_submit_job(self, job, run_times):
        self.submitted.append((job.id, len(run_times)))
        super()._do_submit_job(job, run_times)

    def _run_job_success(self, job_id, events):
        events = list(events)
        self.succeeded.append((job_id, [e.code for e in events]))
        super()._run_job_success(job_id, events)


def test_thread_pool_subclass_hooks_are_called(make_sched):
    pool = HookedThreadPool(2)
    sched, got = make_sched(mask=EVENT_JOB_EXECUTED, executors={"default": pool})
    sched.add_job(jobs.add, args=[1], id="hooked")
    (event,) = got.wait_code(EVENT_JOB_EXECUTED)
    assert event.retval == 1
    assert pool.submitted == [("hooked", 1)]
    assert pool.succeeded == [("hooked", [EVENT_JOB_EXECUTED])]


def test_thread_pool_instances_are_counted_on_the_executor(make_sched):
    sched, got = make_sched(mask=EVENT_JOB_EXECUTED | EVENT_JOB_SUBMITTED)
    started, release = threading.Event(), threading.Event()

    def job():
        started.set()
        release.wait(5)

    sched.add_job(job, id="counted")
    assert started.wait(5)
    got.wait_code(EVENT_JOB_SUBMITTED)
    executor = sched._executors["default"]
    try:
        assert dict(executor._instances) == {"counted": 1}
    finally:
        release.set()
    got.wait_code(EVENT_JOB_EXECUTED)
    wait_until(lambda: dict(executor._instances) == {})


def test_custom_scheduler_logger_gets_scheduler_messages(make_sched, logs):
    custom = logging.getLogger("myapp.scheduler")
    custom_records = logs("myapp.scheduler", logging.DEBUG)
    executor_records = logs("apscheduler.executors.default", logging.INFO)
    sched, got = make_sched(mask=EVENT_JOB_EXECUTED | EVENT_JOB_MAX_INSTANCES, logger=custom)

    def bad_listener(event):
        raise RuntimeError("listener")

    sched.add_listener(bad_listener, EVENT_JOB_EXECUTED)
    release = threading.Event()
    sched.add_job(release.wait, "interval", seconds=0.2, args=[5], id="slow")
    got.wait_code(EVENT_JOB_MAX_INSTANCES)
    sched.pause_job("slow")
    release.set()
    got.wait_code(EVENT_JOB_EXECUTED)
    wait_until(lambda: "Error notifying listener" in messages(custom_records))
    msgs = messages(custom_records)
    assert "Scheduler started" in msgs
    assert 'Added job "Event.wait" to job store "default"' in msgs
    assert any(m.startswith('Execution of job "Event.wait (trigger: interval') for m in msgs)
    # the executors keep their own loggers
    assert {r.name for r in executor_records} == {"apscheduler.executors.default"}
    assert len(executor_records) == 2


def test_coalescing_in_the_thread_pool(make_sched):
    sched, got = make_sched(mask=EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED)
    first = datetime.now(UTC) - timedelta(seconds=5)
    sched.add_job("execution_jobs:add", "interval", seconds=2, args=[1], next_run_time=first,
                  coalesce=True, misfire_grace_time=None, id="co")
    sched.add_job("execution_jobs:add", "interval", seconds=2, args=[2], next_run_time=first,
                  coalesce=False, misfire_grace_time=None, id="noco")
    got.wait_code(EVENT_JOB_EXECUTED, job_id="co")
    got.wait_code(EVENT_JOB_EXECUTED, count=3, job_id="noco")
    # A submission's event may come after its run's (in both libraries): wait for it too.
    got.wait_code(EVENT_JOB_SUBMITTED, job_id="co")
    got.wait_code(EVENT_JOB_SUBMITTED, job_id="noco")
    sched.pause()
    (co_sub,) = [e for e in got.events if e.code == EVENT_JOB_SUBMITTED and e.job_id == "co"][:1]
    (noco_sub,) = [e for e in got.events if e.code == EVENT_JOB_SUBMITTED and e.job_id == "noco"][:1]
    assert co_sub.scheduled_run_times == [first + timedelta(seconds=4)]
    assert noco_sub.scheduled_run_times == [first + timedelta(seconds=s) for s in (0, 2, 4)]
    co_runs = [e.scheduled_run_time for e in got.events if e.code == EVENT_JOB_EXECUTED and e.job_id == "co"]
    assert co_runs[0] == first + timedelta(seconds=4)
    noco_runs = [e.scheduled_run_time for e in got.events
                 if e.code == EVENT_JOB_EXECUTED and e.job_id == "noco"][:3]
    assert noco_runs == [first + timedelta(seconds=s) for s in (0, 2, 4)]


# --------------------------------------------------------------------------------------
# DebugExecutor
# --------------------------------------------------------------------------------------
def test_debug_executor_runs_in_scheduler_thread_and_reports_errors(make_sched, logs):
    records = logs("apscheduler.executors", logging.INFO)
    sched, got = make_sched(executors={"default": DebugExecutor()})
    sched.add_job(lambda: threading.current_thread().name, id="where")
    sched.add_job(failing, id="bad")
    (ok,) = got.wait_code(EVENT_JOB_EXECUTED)
    (bad,) = got.wait_code(EVENT_JOB_ERROR)
    assert ok.retval == "APScheduler"
    assert bad.exception is FAILURE
    assert {r.name for r in records} == {"apscheduler.executors.default"}
    assert [r.levelname for r in records].count("ERROR") == 1


# --------------------------------------------------------------------------------------
# Process pool
# --------------------------------------------------------------------------------------
def test_process_pool_results_errors_and_misses(make_sched, logs):
    records = logs("apscheduler.executors", logging.DEBUG)
    sched, got = make_sched(mask=EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED,
                            executors={"default": ProcessPoolExecutor(2)})
    run_date = datetime.now(UTC) - timedelta(milliseconds=10)
    sched.add_job(jobs.add, "date", run_date=run_date, args=(1, 2), kwargs={"c": 3}, id="add",
                  misfire_grace_time=30)
    sched.add_job(functools.partial(jobs.add, 10), args=[5], id="partial", misfire_grace_time=30)
    sched.add_job(jobs.Multiplier(3), args=[4], id="instance", misfire_grace_time=30)
    sched.add_job(jobs.raise_custom, args=["bad"], id="custom", misfire_grace_time=30)
    sched.add_job(jobs.system_exit, id="exit", misfire_grace_time=30)
    sched.add_job(jobs.add, "date", run_date=datetime.now(UTC) - timedelta(seconds=60), args=[1],
                  id="late", misfire_grace_time=2)
    events = got.wait(lambda ev: len(ev) >= 5, timeout=30)
    wait_until(lambda: records)
    by_id = {e.job_id: e for e in events}
    assert "partial" not in by_id  # the job cannot be pickled: no textual reference
    assert by_id["add"].code == EVENT_JOB_EXECUTED and by_id["add"].retval == 6
    assert by_id["add"].scheduled_run_time == run_date
    # upstream quirk: the instance is pickled by reference to its class ("module:Class"),
    # so the worker calls Multiplier(4) and returns a new instance
    instance = by_id["instance"].retval
    assert type(instance) is jobs.Multiplier and instance.factor == 4
    custom = by_id["custom"]
    assert custom.code == EVENT_JOB_ERROR and type(custom.exception) is jobs.CustomError
    assert str(custom.exception) == "bad" and "in raise_custom" in custom.traceback
    assert by_id["exit"].code == EVENT_JOB_ERROR and type(by_id["exit"].exception) is SystemExit
    late = by_id["late"]
    assert late.code == EVENT_JOB_MISSED and late.jobstore == "default"
    # run_job logs inside the worker processes: only the pickling failure reaches the
    # parent's loggers
    assert [(r.name, r.levelname, r.emitted) for r in records] == [
        ("apscheduler.executors.default", "ERROR", "Error running job partial")
    ]
    assert type(records[0].exc_info[1]) is ValueError


# --------------------------------------------------------------------------------------
# AsyncIO
# --------------------------------------------------------------------------------------
async def _coro_add(a, b):
    await asyncio.sleep(0)
    return a + b


async def _coro_fail():
    await asyncio.sleep(0)
    raise FAILURE


async def test_asyncio_coroutine_logs_and_events(logs):
    from apscheduler_rs.schedulers.asyncio import AsyncIOScheduler

    records = logs("apscheduler.executors.default", logging.DEBUG)
    sched = AsyncIOScheduler(timezone="UTC")
    got = Collector()
    sched.add_listener(got, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    sched.start()
    run_date = datetime.now(UTC).replace(microsecond=0) - timedelta(milliseconds=1)
    sched.add_job(_coro_add, "date", run_date=run_date, args=[1, 2], id="ok", name="adder")
    sched.add_job(_coro_fail, "date", run_date=run_date, id="bad", name="failer")
    sched.add_job(_coro_add, "date", run_date=run_date - timedelta(seconds=10), args=[0, 0],
                  id="late", name="lateone", misfire_grace_time=1)
    deadline = time.monotonic() + WAIT
    while len(got.events) < 3:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    sched.shutdown()
    by_id = {e.job_id: e for e in got.events}
    assert by_id["ok"].retval == 3 and by_id["ok"].scheduled_run_time == run_date
    assert by_id["bad"].exception is FAILURE
    assert by_id["bad"].traceback == "".join(tb_module.format_tb(FAILURE.__traceback__))
    assert by_id["late"].code == EVENT_JOB_MISSED
    ok_str = f"adder (trigger: date[{fmt(run_date)}], next run at: {fmt(run_date)})"
    bad_str = f"failer (trigger: date[{fmt(run_date)}], next run at: {fmt(run_date)})"
    msgs = messages(records)
    assert f'Running job "{ok_str}" (scheduled at {run_date})' in msgs
    assert f'Job "{ok_str}" executed successfully' in msgs
    assert f'Running job "{bad_str}" (scheduled at {run_date})' in msgs
    assert f'Job "{bad_str}" raised an exception' in msgs
    assert len([m for m in msgs if m.startswith('Run time of job "lateone')]) == 1
    assert len(msgs) == 5


async def test_asyncio_scheduler_with_thread_pool_gets_unawaited_coroutine():
    from apscheduler_rs.schedulers.asyncio import AsyncIOScheduler

    sched = AsyncIOScheduler(timezone="UTC")
    sched.add_executor(ThreadPoolExecutor(2), "threads")
    got = Collector()
    sched.add_listener(got, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    sched.start()
    sched.add_job(_coro_add, args=[1, 2], executor="threads", id="c")
    deadline = time.monotonic() + WAIT
    while not got.events:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    sched.shutdown()
    (event,) = got.events
    assert event.code == EVENT_JOB_EXECUTED and inspect.iscoroutine(event.retval)
    event.retval.close()


async def test_asyncio_shutdown_cancels_running_coroutine_job(logs):
    from apscheduler_rs.schedulers.asyncio import AsyncIOScheduler

    records = logs("apscheduler.executors.default", logging.ERROR)
    sched = AsyncIOScheduler(timezone="UTC")
    got = Collector()
    sched.add_listener(got, EVENT_ALL)
    started = asyncio.Event()

    async def forever():
        started.set()
        await asyncio.sleep(30)

    sched.start()
    sched.add_job(forever, id="f")
    await asyncio.wait_for(started.wait(), WAIT)
    sched.shutdown()
    await asyncio.sleep(0.1)
    # run_coroutine_job catches BaseException: the cancellation is the job's error
    (event,) = [e for e in got.events if e.code in (EVENT_JOB_EXECUTED, EVENT_JOB_ERROR)]
    assert event.code == EVENT_JOB_ERROR and type(event.exception) is asyncio.CancelledError
    (record,) = records
    assert record.emitted.startswith('Job "test_asyncio_shutdown_cancels_running_coroutine_job.'
                                     '<locals>.forever (trigger: date[')
    assert record.emitted.endswith(')" raised an exception')
    assert type(record.exc_info[1]) is asyncio.CancelledError
