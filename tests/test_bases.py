"""Base classes and exceptions (schedulers, job stores, executors) against APScheduler 3.11.3.

Also: ``run_job``/``run_coroutine_job``, ``DebugExecutor`` and the not-yet-built placeholders.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import re
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone

import apscheduler.executors.base as theirs_executors
import apscheduler.executors.debug as theirs_debug
import apscheduler.jobstores.base as theirs_stores
import apscheduler.schedulers as theirs_schedulers
import pytest
from hypothesis import given
from hypothesis import strategies as st
from oracle_helpers import outcome

import apscheduler_rs.executors.base as ours_executors
import apscheduler_rs.executors.debug as ours_debug
import apscheduler_rs.jobstores.base as ours_stores
import apscheduler_rs.schedulers as ours_schedulers

JOB_IDS = st.one_of(st.text(max_size=12), st.integers(), st.none())


# --- exceptions -------------------------------------------------------------------------


def _exception_view(exc):
    return (
        type(exc).__name__,
        [c.__name__ for c in type(exc).__mro__],
        str(exc),
        repr(exc),
        exc.args,
    )


@pytest.mark.parametrize("name", ["SchedulerAlreadyRunningError", "SchedulerNotRunningError"])
@pytest.mark.parametrize("args", [(), ("foo",), (1, 2)])
def test_scheduler_errors_match_upstream(name, args):
    ours_exc, theirs_exc = (
        getattr(ours_schedulers, name)(*args),
        getattr(theirs_schedulers, name)(*args),
    )
    assert _exception_view(ours_exc) == _exception_view(theirs_exc)


def test_scheduler_error_messages():
    assert str(ours_schedulers.SchedulerAlreadyRunningError()) == "Scheduler is already running"
    assert str(ours_schedulers.SchedulerNotRunningError()) == "Scheduler is not running"
    assert ours_schedulers.SchedulerNotRunningError().args == ()


@pytest.mark.parametrize("name", ["JobLookupError", "ConflictingIdError", "TransientJobError"])
@given(job_id=JOB_IDS)
def test_store_errors_match_upstream(name, job_id):
    ours_exc, theirs_exc = getattr(ours_stores, name)(job_id), getattr(theirs_stores, name)(job_id)
    assert _exception_view(ours_exc) == _exception_view(theirs_exc)


def test_store_error_messages():
    assert str(ours_stores.JobLookupError("nope")) == "'No job by the id of nope was found'"
    assert ours_stores.JobLookupError("nope").args[0] == "No job by the id of nope was found"
    assert str(ours_stores.ConflictingIdError("mid")) == (
        "'Job identifier (mid) conflicts with an existing job'"
    )
    assert str(ours_stores.TransientJobError("t")) == (
        "Job (t) cannot be added to this job store because a reference to the callable could "
        "not be determined."
    )
    assert isinstance(ours_stores.JobLookupError("x"), KeyError)
    assert isinstance(ours_stores.TransientJobError("x"), ValueError)


class _JobRef:
    def __init__(self, id, max_instances):
        self.id, self.max_instances = id, max_instances


@given(JOB_IDS, st.integers(-2, 10))
def test_max_instances_error_matches_upstream(job_id, limit):
    job = _JobRef(job_id, limit)
    assert _exception_view(ours_executors.MaxInstancesReachedError(job)) == _exception_view(
        theirs_executors.MaxInstancesReachedError(job)
    )


def test_max_instances_message():
    assert str(ours_executors.MaxInstancesReachedError(_JobRef("j1", 3))) == (
        'Job "j1" has already reached its maximum number of instances (3)'
    )


# --- BaseJobStore -----------------------------------------------------------------------


def _store_classes(module):
    class Store(module.BaseJobStore):
        lookup_job = get_due_jobs = get_next_run_time = get_all_jobs = None
        add_job = update_job = remove_job = remove_all_jobs = None

    return Store


def test_job_store_interface_matches_upstream():
    ours_cls, theirs_cls = ours_stores.BaseJobStore, theirs_stores.BaseJobStore
    assert ours_cls.__abstractmethods__ == theirs_cls.__abstractmethods__
    assert type(ours_cls) is type(theirs_cls)
    for attr in ["_scheduler", "_alias"]:
        assert getattr(ours_cls, attr) is None
    assert ours_cls._logger.name == theirs_cls._logger.name == "apscheduler.jobstores"
    assert outcome(type("S", (ours_cls,), {})) == outcome(type("S", (theirs_cls,), {}))


def test_job_store_start_shutdown_repr():
    store = _store_classes(ours_stores)()
    assert repr(store) == "<Store>"
    assert store.shutdown() is None
    store.start("the scheduler", "default")
    assert (store._scheduler, store._alias) == ("the scheduler", "default")
    assert store._logger is logging.getLogger("apscheduler.jobstores.default")
    assert ours_stores.BaseJobStore._logger.name == "apscheduler.jobstores"  # class default kept


class _Paused:
    def __init__(self, tag, next_run_time):
        self.tag, self.next_run_time = tag, next_run_time


@given(st.lists(st.one_of(st.none(), st.integers(0, 3)), max_size=8))
def test_fix_paused_jobs_sorting_matches_upstream(run_times):
    ours_jobs = [_Paused(i, t) for i, t in enumerate(run_times)]
    theirs_jobs = list(ours_jobs)
    ours_list, theirs_list = ours_jobs, theirs_jobs
    assert _store_classes(ours_stores)()._fix_paused_jobs_sorting(ours_jobs) is None
    _store_classes(theirs_stores)()._fix_paused_jobs_sorting(theirs_jobs)
    assert [j.tag for j in ours_list] == [j.tag for j in theirs_list]


# --- BaseExecutor -----------------------------------------------------------------------


class FakeScheduler:
    def __init__(self):
        self.dispatched = []

    def _create_lock(self):
        return threading.RLock()

    def _dispatch_event(self, event):
        self.dispatched.append(event)


class FakeJob:
    """Just the attributes executors read."""

    def __init__(
        self,
        func,
        args=(),
        kwargs=None,
        *,
        id="j1",
        misfire_grace_time=1,
        max_instances=1,
        alias="default",
    ):
        self.id, self.func, self.args, self.kwargs = id, func, args, kwargs or {}
        self.misfire_grace_time, self.max_instances = misfire_grace_time, max_instances
        self._jobstore_alias = alias

    def __str__(self):
        return f"{self.id} (trigger: fake, paused)"


def _recording_executor(module):
    class Recording(module.BaseExecutor):
        def __init__(self):
            super().__init__()
            self.submitted = []
            self.fail_next = False

        def _do_submit_job(self, job, run_times):
            if self.fail_next:
                raise RuntimeError("pool broken")
            self.submitted.append((job.id, run_times))

    return Recording


def test_executor_interface_matches_upstream():
    ours_cls, theirs_cls = ours_executors.BaseExecutor, theirs_executors.BaseExecutor
    assert ours_cls.__abstractmethods__ == theirs_cls.__abstractmethods__ == {"_do_submit_job"}
    assert ours_cls._logger.name == "apscheduler.executors"
    assert ours_cls._scheduler is None and ours_cls._lock is None
    assert outcome(type("E", (ours_cls,), {})) == outcome(type("E", (theirs_cls,), {}))


def test_submit_before_start_is_an_assertion_error():
    executor = _recording_executor(ours_executors)()
    with pytest.raises(AssertionError, match="^This executor has not been started yet$"):
        executor.submit_job(FakeJob(print), [])


def test_start_binds_scheduler_lock_and_logger():
    executor, scheduler = _recording_executor(ours_executors)(), FakeScheduler()
    executor.start(scheduler, "default")
    assert executor._scheduler is scheduler
    assert executor._logger is logging.getLogger("apscheduler.executors.default")
    assert executor._lock is not None
    assert executor.shutdown() is None and executor.shutdown(wait=False) is None


OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["submit", "submit_failing", "success", "error"]),
        st.sampled_from(["a", "b"]),
        st.integers(0, 3),
    ),
    max_size=12,
)


@given(OPERATIONS)
def test_instance_counting_matches_upstream(operations):
    """Same sequence of submissions/completions -> same refusals, counts and events."""
    runs = []
    for module in (ours_executors, theirs_executors):
        executor, scheduler = _recording_executor(module)(), FakeScheduler()
        executor.start(scheduler, "x")
        trace = []
        for op, job_id, limit in operations:
            job = FakeJob(print, id=job_id, max_instances=limit)
            if op.startswith("submit"):
                executor.fail_next = op == "submit_failing"
                trace.append(outcome(executor.submit_job, job, ["t"]))
            elif op == "success":
                executor._run_job_success(job_id, [f"event-{len(trace)}"])
            else:
                executor._run_job_error(job_id, ValueError("x"))
            trace.append(dict(executor._instances))
        runs.append((trace, executor.submitted, scheduler.dispatched))
    assert runs[0] == runs[1]


def test_run_job_error_logs_without_event(caplog):
    executor, scheduler = _recording_executor(ours_executors)(), FakeScheduler()
    executor.start(scheduler, "default")
    executor.submit_job(FakeJob(print), [])
    caplog.set_level(logging.DEBUG, "apscheduler")
    try:
        raise ValueError("pickling failed")
    except ValueError as exc:
        executor._run_job_error("j1", exc, exc.__traceback__)
    (record,) = caplog.records
    assert (record.name, record.levelname, record.getMessage()) == (
        "apscheduler.executors.default",
        "ERROR",
        "Error running job j1",
    )
    assert record.exc_info[1].args == ("pickling failed",)
    assert scheduler.dispatched == [] and dict(executor._instances) == {}


# --- run_job / run_coroutine_job --------------------------------------------------------


def _ok(x, y=0):
    return x + y


def _fail(x):
    raise ValueError(f"bad {x}")


def _exit():
    raise SystemExit(3)


async def _async_ok(x):
    await asyncio.sleep(0)
    return x * 2


async def _async_fail():
    raise KeyError("k")


NOW = datetime.now(timezone.utc)
SCENARIOS = {
    "success": (FakeJob(_ok, (1,), {"y": 2}), [NOW]),
    "error": (FakeJob(_fail, (7,)), [NOW]),
    "system_exit": (FakeJob(_exit), [NOW]),
    "missed_then_run": (FakeJob(_ok, (1,)), [NOW - timedelta(hours=1), NOW]),
    "no_grace_limit": (FakeJob(_ok, (1,), misfire_grace_time=None), [NOW - timedelta(days=3)]),
    "several": (FakeJob(_ok, (2,), misfire_grace_time=3600), [NOW - timedelta(minutes=1), NOW]),
    "bad_args": (FakeJob(_ok, (), {}), [NOW]),
    "no_run_times": (FakeJob(_ok, (1,)), []),
}


def _event_view(event):
    view = dict(vars(event))
    exception = view.pop("exception")
    view["exception"] = None if exception is None else (type(exception).__name__, str(exception))
    view["traceback"] = view["traceback"] is not None
    return type(event).__name__, view


def _log_view(records):
    # The lateness in the misfire warning depends on the clock; keep only its shape.
    return [
        (
            r.name,
            r.levelname,
            re.sub(r"missed by \d+:\d\d:\d\d(\.\d+)?$", "missed by <late>", r.getMessage()),
            r.exc_info is not None,
        )
        for r in records
        if r.name.startswith("apscheduler")
    ]


def _fresh_scenario(name):
    job, run_times = SCENARIOS[name]
    # Recompute the misfire-relevant times so the scenario doesn't age during the session.
    now = datetime.now(timezone.utc)
    return job, [now - (NOW - t) for t in run_times]


@pytest.mark.parametrize("name", SCENARIOS)
def test_run_job_matches_upstream(caplog, name):
    caplog.set_level(logging.DEBUG)
    results = []
    job, run_times = _fresh_scenario(name)
    for module in (ours_executors, theirs_executors):
        caplog.clear()
        events = module.run_job(job, "store", run_times, "apscheduler.executors.tst")
        results.append(([_event_view(e) for e in events], _log_view(caplog.records)))
    assert results[0] == results[1]


ASYNC_SCENARIOS = {
    "success": (FakeJob(_async_ok, (4,)), [NOW]),
    "error": (FakeJob(_async_fail), [NOW]),
    "missed": (FakeJob(_async_ok, (4,)), [NOW - timedelta(hours=1)]),
}


@pytest.mark.parametrize("name", ASYNC_SCENARIOS)
def test_run_coroutine_job_matches_upstream(caplog, name):
    caplog.set_level(logging.DEBUG)
    results = []
    job, run_times = ASYNC_SCENARIOS[name]
    run_times = [datetime.now(timezone.utc) - (NOW - t) for t in run_times]
    for module in (ours_executors, theirs_executors):
        caplog.clear()
        events = asyncio.run(
            module.run_coroutine_job(job, None, run_times, "apscheduler.executors.a")
        )
        results.append(([_event_view(e) for e in events], _log_view(caplog.records)))
    assert results[0] == results[1]


def test_run_job_log_texts(caplog):
    caplog.set_level(logging.INFO)
    run_time = datetime.now(timezone.utc)
    ours_executors.run_job(
        FakeJob(_ok, (1,)), "default", [run_time], "apscheduler.executors.default"
    )
    assert [r.getMessage() for r in caplog.records] == [
        f'Running job "j1 (trigger: fake, paused)" (scheduled at {run_time})',
        'Job "j1 (trigger: fake, paused)" executed successfully',
    ]
    caplog.clear()
    late = run_time - timedelta(seconds=5)
    (event,) = ours_executors.run_job(
        FakeJob(_ok, (1,)), "default", [late], "apscheduler.executors.x"
    )
    assert event.code == 16384 and event.scheduled_run_time == late
    (record,) = caplog.records
    assert record.levelname == "WARNING"
    assert re.fullmatch(
        r'Run time of job "j1 \(trigger: fake, paused\)" was missed by '
        r"0:00:05\.\d{6}",
        record.getMessage(),
    )


def test_error_traceback_shape_and_cleared_frames():
    class Payload:
        pass

    def job_func():
        payload = Payload()  # noqa: F841 - must not stay reachable through the traceback
        raise ValueError("boom")

    (event,) = ours_executors.run_job(
        FakeJob(job_func), "default", [datetime.now(timezone.utc)], "apscheduler.executors.default"
    )
    assert event.code == 8192 and isinstance(event.exception, ValueError)
    lines = event.traceback.splitlines()
    assert lines[0].startswith('  File "') and "apscheduler_rs/executors/base.py" in lines[0]
    assert lines[0].endswith("in run_job")
    assert "Traceback (most recent call last)" not in event.traceback
    assert "ValueError: boom" not in event.traceback and "in job_func" in event.traceback
    frames = []
    tb = event.exception.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    assert frames[-1].f_code.co_name == "job_func" and frames[-1].f_locals == {}


def test_base_exceptions_from_jobs_become_error_events():
    def interrupt():
        raise KeyboardInterrupt

    (event,) = ours_executors.run_job(FakeJob(interrupt), None, [datetime.now(timezone.utc)], "x")
    assert event.code == 8192 and isinstance(event.exception, KeyboardInterrupt)


# --- DebugExecutor ----------------------------------------------------------------------


class _NoAlias(FakeJob):
    @property
    def _jobstore_alias(self):
        raise AttributeError("'Job' object has no attribute '_jobstore_alias'")

    @_jobstore_alias.setter
    def _jobstore_alias(self, value):
        pass


@pytest.mark.parametrize(
    "job",
    [
        FakeJob(_ok, (1,)),
        FakeJob(_fail, (2,)),
        FakeJob(_ok, (1,), max_instances=0),
        _NoAlias(_ok, (1,)),
    ],
    ids=["ok", "fail", "refused", "machinery_error"],
)
def test_debug_executor_matches_upstream(caplog, job):
    caplog.set_level(logging.DEBUG)
    results = []
    run_times = [datetime.now(timezone.utc)]
    for module in (ours_debug, theirs_debug):
        caplog.clear()
        executor, scheduler = module.DebugExecutor(), FakeScheduler()
        executor.start(scheduler, "debug")
        first = outcome(executor.submit_job, job, run_times)
        second = outcome(executor.submit_job, job, run_times)
        results.append(
            (
                first,
                second,
                [_event_view(e) for e in scheduler.dispatched],
                dict(executor._instances),
                _log_view(caplog.records),
            )
        )
    assert results[0] == results[1]


def test_debug_executor_runs_in_calling_thread():
    seen = []
    executor, scheduler = ours_debug.DebugExecutor(), FakeScheduler()
    executor.start(scheduler, "default")
    executor.submit_job(
        FakeJob(lambda: seen.append(threading.current_thread())), [datetime.now(timezone.utc)]
    )
    assert seen == [threading.current_thread()]
    assert [e.code for e in scheduler.dispatched] == [4096]


# --- placeholders -----------------------------------------------------------------------

PLACEHOLDERS = {
    "jobstores.rethinkdb": (ImportError, r"^RethinkDBJobStore requires rethinkdb installed$"),
    "jobstores.zookeeper": (ModuleNotFoundError, r"^No module named 'kazoo'$"),
    "jobstores.etcd": (ImportError, r"^EtcdJobStore requires etcd3 be installed$"),
}


@pytest.mark.parametrize("module", PLACEHOLDERS)
def test_placeholder_refuses_import(module):
    error, message = PLACEHOLDERS[module]
    with pytest.raises(error, match=message):
        importlib.import_module(f"apscheduler_rs.{module}")
    assert f"apscheduler_rs.{module}" not in sys.modules


# Modules built on an optional library: with the library hidden, the same import error as
# upstream (the libraries themselves are installed in the test environment).
MISSING_LIBRARY = {
    "schedulers.gevent": ("gevent", ImportError, r"^GeventScheduler requires gevent installed$"),
    "schedulers.tornado": ("tornado", ImportError, r"^TornadoScheduler requires tornado installed$"),
    "schedulers.twisted": ("twisted", ImportError, r"^TwistedScheduler requires Twisted installed$"),
    "executors.gevent": ("gevent", ImportError, r"^GeventExecutor requires gevent installed$"),
    "executors.tornado": ("tornado", ModuleNotFoundError, r"^No module named 'tornado'$"),
}


@pytest.mark.parametrize("module", MISSING_LIBRARY)
def test_missing_optional_library_gives_upstreams_import_error(module):
    library, error, message = MISSING_LIBRARY[module]
    code = f"""
import importlib.abc, re, sys
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == {library!r} or name.startswith({library!r} + "."):
            raise ModuleNotFoundError(f"No module named '{{name}}'", name=name)
sys.meta_path.insert(0, Hide())
try:
    import apscheduler_rs.{module}
except {error.__name__} as exc:
    assert re.search({message!r}, str(exc)), str(exc)
    assert "apscheduler_rs.{module}" not in sys.modules
else:
    raise SystemExit("imported")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr + out.stdout


def test_qt_scheduler_without_any_binding():
    try:
        importlib.import_module("apscheduler_rs.schedulers.qt")
    except ImportError as exc:
        assert str(exc) == "QtScheduler requires either PySide/PyQt (v6 to v2) installed"
    else:  # a Qt binding is installed
        pass


def test_twisted_executor_imports_without_twisted():
    from apscheduler_rs.executors.twisted import TwistedExecutor

    assert TwistedExecutor.__module__ == "apscheduler_rs.executors.twisted"


def test_placeholder_names_issue_when_library_is_present(monkeypatch):
    from apscheduler_rs import _unavailable

    monkeypatch.setattr(_unavailable, "_installed", lambda name: True)
    sys.modules.pop("apscheduler_rs.jobstores.rethinkdb", None)
    with pytest.raises(
        ImportError,
        match=r"^RethinkDBJobStore is not implemented in apscheduler_rs "
        r"yet \(tracked in issue #4\)$",
    ):
        importlib.import_module("apscheduler_rs.jobstores.rethinkdb")


def test_pure_python_modules_do_not_need_the_extension():
    code = (
        "import sys\n"
        "import apscheduler_rs.util, apscheduler_rs.events, apscheduler_rs.schedulers\n"
        "import apscheduler_rs.jobstores.base, apscheduler_rs.executors.base\n"
        "import apscheduler_rs.executors.debug\n"
        "assert not [m for m in sys.modules if m.startswith('apscheduler_rs._core')]\n"
        "assert 'apscheduler' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
