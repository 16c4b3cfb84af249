"""Differential QA: scheduler configuration and the scheduler-level API (APScheduler 3.11.3).

Every test asserts what APScheduler 3.x does; run with ``APSCHEDULER_RS_ORACLE=1`` to prove
that against the real package.
"""

from __future__ import annotations

import asyncio
import io
import threading
import warnings
import zoneinfo
from datetime import datetime, timedelta, timezone

import pytest

from apscheduler_rs import events as ev
from apscheduler_rs.executors.base import BaseExecutor
from apscheduler_rs.executors.debug import DebugExecutor
from apscheduler_rs.executors.pool import ProcessPoolExecutor, ThreadPoolExecutor
from apscheduler_rs.jobstores.base import ConflictingIdError, JobLookupError
from apscheduler_rs.jobstores.memory import MemoryJobStore
from apscheduler_rs.schedulers import SchedulerAlreadyRunningError, SchedulerNotRunningError
from apscheduler_rs.schedulers.background import BackgroundScheduler
from apscheduler_rs.schedulers.base import STATE_PAUSED, STATE_RUNNING, STATE_STOPPED
from apscheduler_rs.schedulers.blocking import BlockingScheduler

pytestmark = pytest.mark.timeout(60)

FAR = datetime(2099, 1, 1, tzinfo=timezone.utc)


def noop(*args, **kwargs):
    return None


class RecordingExecutor(DebugExecutor):
    def __init__(self):
        super().__init__()
        self.calls = []

    def start(self, scheduler, alias):
        self.calls.append(("start", alias))
        super().start(scheduler, alias)

    def shutdown(self, wait=True):
        self.calls.append(("shutdown", wait))
        super().shutdown(wait)


class RecordingStore(MemoryJobStore):
    def __init__(self):
        super().__init__()
        self.calls = []

    def start(self, scheduler, alias):
        self.calls.append(("start", alias))
        super().start(scheduler, alias)

    def shutdown(self):
        self.calls.append(("shutdown",))
        super().shutdown()


@pytest.fixture
def sched():
    s = BackgroundScheduler(timezone="UTC")
    yield s
    if s.running:
        s.shutdown(wait=False)


def events_of(scheduler, mask=ev.EVENT_ALL):
    seen = []
    scheduler.add_listener(lambda e: seen.append((e.code, getattr(e, "job_id", e.alias))), mask)
    return seen


# ---------------------------------------------------------------------------------------------
# gconfig / prefix / keyword forms
# ---------------------------------------------------------------------------------------------
def test_documented_gconfig_with_sqlalchemy_and_processpool(tmp_path):
    pytest.importorskip("sqlalchemy")
    from apscheduler_rs.jobstores.sqlalchemy import SQLAlchemyJobStore

    url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    s = BackgroundScheduler({
        "apscheduler.jobstores.default": {"type": "sqlalchemy", "url": url},
        "apscheduler.executors.default": {"class": "apscheduler_rs.executors.pool:ThreadPoolExecutor",
                                          "max_workers": "20"},
        "apscheduler.executors.processpool": {"type": "processpool", "max_workers": "5"},
        "apscheduler.job_defaults.coalesce": "false",
        "apscheduler.job_defaults.max_instances": "3",
        "apscheduler.timezone": "UTC",
    })
    assert isinstance(s._jobstores["default"], SQLAlchemyJobStore)
    assert isinstance(s._executors["default"], ThreadPoolExecutor)
    assert isinstance(s._executors["processpool"], ProcessPoolExecutor)
    assert s._job_defaults == {"misfire_grace_time": 1, "coalesce": False, "max_instances": 3}
    assert s.timezone is timezone.utc
    s.start(paused=True)
    try:
        job = s.add_job(noop, "interval", hours=1, id="persisted")
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (False, 3, 1)
    finally:
        s.shutdown()
    again = BackgroundScheduler({"apscheduler.jobstores.default": {"type": "sqlalchemy", "url": url}},
                                timezone="UTC")
    again.start(paused=True)
    try:
        assert [j.id for j in again.get_jobs()] == ["persisted"]
        assert again.get_job("persisted").coalesce is False
    finally:
        again.shutdown()


def test_custom_prefix_selects_only_its_keys():
    s = BackgroundScheduler()
    s.configure({"myapp.timezone": "Europe/Helsinki", "apscheduler.timezone": "UTC",
                 "myapp.job_defaults.max_instances": "7"}, prefix="myapp.")
    assert s.timezone == zoneinfo.ZoneInfo("Europe/Helsinki")
    assert s._job_defaults["max_instances"] == 7


@pytest.mark.parametrize("prefix", ["", None])
def test_empty_prefix_uses_every_key(prefix):
    s = BackgroundScheduler()
    s.configure({"timezone": "Europe/Paris", "job_defaults.misfire_grace_time": "15",
                 "executors.side.type": "debug"}, prefix=prefix)
    assert s.timezone == zoneinfo.ZoneInfo("Europe/Paris")
    assert s._job_defaults["misfire_grace_time"] == 15
    assert isinstance(s._executors["side"], DebugExecutor)


def test_default_prefix_ignores_unprefixed_keys():
    s = BackgroundScheduler({"timezone": "Europe/Paris", "apscheduler.timezone": "UTC"})
    assert s.timezone is timezone.utc


def test_keyword_option_overrides_gconfig_key():
    s = BackgroundScheduler({"apscheduler.timezone": "Europe/Paris",
                             "apscheduler.jobstore_retry_interval": "3"},
                            timezone="Asia/Tokyo")
    assert s.timezone == zoneinfo.ZoneInfo("Asia/Tokyo")
    assert s.jobstore_retry_interval == 3.0 and isinstance(s.jobstore_retry_interval, float)


def test_configure_replaces_previous_configuration_and_keeps_pending_jobs():
    s = BackgroundScheduler(timezone="UTC", executors={"side": {"type": "debug"}},
                            jobstores={"other": {"type": "memory"}},
                            job_defaults={"max_instances": 5})
    s.add_job(noop, "interval", hours=1, id="p")
    seen = events_of(s)
    s.configure(timezone="Europe/Paris")
    assert seen == []  # executors/stores dropped silently, no *_REMOVED events
    assert s._executors == {} and s._jobstores == {}
    assert s._job_defaults == {"misfire_grace_time": 1, "coalesce": True, "max_instances": 1}
    assert s.timezone == zoneinfo.ZoneInfo("Europe/Paris")
    assert [j.id for j in s.get_jobs()] == ["p"]


def test_configure_after_shutdown_is_allowed(sched):
    sched.start(paused=True)
    with pytest.raises(SchedulerAlreadyRunningError):
        sched.configure({"apscheduler.timezone": "UTC"})
    sched.shutdown()
    sched.configure(timezone="Europe/Paris")
    assert sched.timezone == zoneinfo.ZoneInfo("Europe/Paris")
    sched.start(paused=True)
    assert sched.state == STATE_PAUSED


# ---------------------------------------------------------------------------------------------
# instances, dicts, class references and plugin aliases
# ---------------------------------------------------------------------------------------------
def test_instances_dict_type_and_class_reference_forms():
    tp = ThreadPoolExecutor(2)
    store = MemoryJobStore()
    s = BackgroundScheduler(
        timezone="UTC",
        executors={"a": tp, "b": {"type": "threadpool", "max_workers": 3},
                   "c": {"class": "apscheduler_rs.executors.debug:DebugExecutor"},
                   "d": {"class": DebugExecutor}},
        jobstores={"x": store, "y": {"type": "memory"},
                   "z": {"class": "apscheduler_rs.jobstores.memory:MemoryJobStore"},
                   "w": {"class": MemoryJobStore}},
    )
    assert s._executors["a"] is tp and s._jobstores["x"] is store
    assert isinstance(s._executors["b"], ThreadPoolExecutor)
    assert type(s._executors["c"]) is DebugExecutor and type(s._executors["d"]) is DebugExecutor
    assert all(type(s._jobstores[k]) is MemoryJobStore for k in "yzw")
    assert list(s._executors) == ["a", "b", "c", "d"]
    assert list(s._jobstores) == ["x", "y", "z", "w"]


def test_type_takes_precedence_over_class_and_both_are_popped():
    cfg = {"type": "debug", "class": "apscheduler_rs.executors.pool:ThreadPoolExecutor"}
    s = BackgroundScheduler(timezone="UTC", executors={"e": cfg})
    assert type(s._executors["e"]) is DebugExecutor
    assert cfg == {}  # upstream pops 'class' and 'type' from the user's dict


@pytest.mark.parametrize("alias, module, cls", [
    ("threadpool", "pool", "ThreadPoolExecutor"),
    ("processpool", "pool", "ProcessPoolExecutor"),
    ("debug", "debug", "DebugExecutor"),
    ("asyncio", "asyncio", "AsyncIOExecutor"),
])
def test_executor_plugin_aliases(alias, module, cls):
    import importlib

    expected = getattr(importlib.import_module(f"apscheduler_rs.executors.{module}"), cls)
    s = BackgroundScheduler(timezone="UTC")
    s.add_executor(alias, "x")
    assert type(s._executors["x"]) is expected
    assert type(s._create_plugin_instance("executor", alias, {})) is expected


def test_jobstore_plugin_aliases(tmp_path):
    import importlib

    s = BackgroundScheduler(timezone="UTC")
    s.add_jobstore("memory", "m")
    s.add_jobstore("sqlalchemy", "sql", url=f"sqlite:///{tmp_path / 'a.sqlite'}", tablename="t")
    s.add_jobstore("redis", "r", jobs_key="k.jobs", run_times_key="k.times")
    mongomock = pytest.importorskip("mongomock")
    s.add_jobstore("mongodb", "mongo", client=mongomock.MongoClient())
    for alias, module, cls in [("m", "memory", "MemoryJobStore"), ("sql", "sqlalchemy", "SQLAlchemyJobStore"),
                               ("r", "redis", "RedisJobStore"), ("mongo", "mongodb", "MongoDBJobStore")]:
        expected = getattr(importlib.import_module(f"apscheduler_rs.jobstores.{module}"), cls)
        assert type(s._jobstores[alias]) is expected, alias
    assert s._jobstores["r"].jobs_key == "k.jobs"


def test_plugin_registries_list_the_documented_aliases():
    assert set(BackgroundScheduler._trigger_plugins) >= {"date", "interval", "cron", "and", "or",
                                                         "calendarinterval"}
    assert set(BackgroundScheduler._executor_plugins) >= {"threadpool", "processpool", "asyncio",
                                                          "debug", "gevent", "tornado", "twisted"}
    assert set(BackgroundScheduler._jobstore_plugins) >= {"memory", "sqlalchemy", "mongodb", "redis",
                                                          "rethinkdb", "zookeeper", "etcd"}


def test_create_plugin_instance_for_triggers():
    from apscheduler_rs.triggers.interval import IntervalTrigger

    s = BackgroundScheduler(timezone="UTC")
    trig = s._create_plugin_instance("trigger", "interval", {"seconds": 5, "timezone": "UTC"})
    assert type(trig) is IntervalTrigger and trig.interval == timedelta(seconds=5)
    with pytest.raises(LookupError) as exc:
        s._create_plugin_instance("trigger", "weekly", {})
    assert str(exc.value) == 'No trigger by the name "weekly" was found'


# ---------------------------------------------------------------------------------------------
# configuration errors
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, exc_type, message", [
    ({"executors": {"x": {"type": "nope"}}}, LookupError, 'No executor by the name "nope" was found'),
    ({"jobstores": {"x": {"type": "nope"}}}, LookupError, 'No jobstore by the name "nope" was found'),
    ({"jobstores": {"x": {"url": "sqlite://"}}}, ValueError,
     'Cannot create job store "x" -- either "type" or "class" must be defined'),
    ({"executors": {"x": 5}}, TypeError, "Expected executor instance or dict for executors['x'], got int instead"),
    ({"jobstores": {"x": ["memory"]}}, TypeError,
     "Expected job store instance or dict for jobstores['x'], got list instead"),
    ({"executors": {"x": {"class": "no_such_module_qa:Thing"}}}, LookupError,
     "Error resolving reference no_such_module_qa:Thing: could not import module"),
    ({"jobstores": {"x": {"class": "apscheduler_rs.jobstores.memory:Nope"}}}, LookupError,
     "Error resolving reference apscheduler_rs.jobstores.memory:Nope: error looking up object"),
    ({"executors": {"x": {"class": "notareference"}}}, ValueError, "Invalid reference"),
    ({"job_defaults": {"max_instances": "many"}}, ValueError,
     "invalid literal for int() with base 10: 'many'"),
    ({"job_defaults": {"misfire_grace_time": "1.5"}}, ValueError,
     "invalid literal for int() with base 10: '1.5'"),
    ({"jobstore_retry_interval": "soon"}, ValueError, "could not convert string to float: 'soon'"),
    ({"daemon": "perhaps"}, ValueError, 'Unable to interpret value "perhaps" as boolean'),
    ({"timezone": "Mars/Olympus"}, zoneinfo.ZoneInfoNotFoundError, "'No time zone found with key Mars/Olympus'"),
    ({"executors": {"x": {"type": "threadpool", "max_workers": "ten"}}}, ValueError,
     "invalid literal for int() with base 10: 'ten'"),
])
def test_configuration_errors(kwargs, exc_type, message):
    with pytest.raises(exc_type) as exc:
        BackgroundScheduler(**kwargs)
    assert type(exc.value) is exc_type
    assert str(exc.value) == message


def test_job_defaults_conversions():
    s = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": "off", "max_instances": 2.9,
                                                          "misfire_grace_time": None})
    assert s._job_defaults == {"misfire_grace_time": None, "coalesce": False, "max_instances": 2}
    job = s.add_job(noop, "interval", hours=1)
    s.start(paused=True)
    assert (job.misfire_grace_time, job.coalesce, job.max_instances) == (None, False, 2)
    s.shutdown()


def test_timezone_forms():
    import pytz

    assert BackgroundScheduler(timezone="UTC").timezone is timezone.utc
    hel = zoneinfo.ZoneInfo("Europe/Helsinki")
    assert BackgroundScheduler(timezone=hel).timezone is hel
    got = BackgroundScheduler(timezone=pytz.timezone("America/New_York")).timezone
    assert type(got) is zoneinfo.ZoneInfo and got.key == "America/New_York"
    assert BackgroundScheduler(timezone=pytz.utc).timezone == zoneinfo.ZoneInfo("UTC")
    fixed = timezone(timedelta(hours=3))
    assert BackgroundScheduler(timezone=fixed).timezone is fixed
    s = BackgroundScheduler(timezone="Asia/Tokyo")
    job = s.add_job(noop, "cron", hour=3)
    assert job.trigger.timezone == zoneinfo.ZoneInfo("Asia/Tokyo")


def test_logger_option_as_reference_and_instance():
    import logging

    lg = logging.getLogger("qa.custom")
    assert BackgroundScheduler(timezone="UTC", logger=lg)._logger is lg
    assert BackgroundScheduler({"apscheduler.logger": "logging:root"}, timezone="UTC")._logger is logging.root
    assert BackgroundScheduler(timezone="UTC")._logger.name == "apscheduler.scheduler"


# ---------------------------------------------------------------------------------------------
# BackgroundScheduler daemon
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("options, daemon", [
    ({}, True),
    ({"daemon": False}, False),
    ({"daemon": "false"}, False),
    ({"gconfig": {"apscheduler.daemon": "no"}}, False),
])
def test_background_thread_attributes(options, daemon):
    gconfig = options.pop("gconfig", {})
    s = BackgroundScheduler(gconfig, timezone="UTC", **options)
    assert s._daemon is daemon
    assert s._thread is None
    s.start(paused=True)
    try:
        assert isinstance(s._thread, threading.Thread)
        assert s._thread.name == "APScheduler" and s._thread.daemon is daemon
        assert s._thread.is_alive()
    finally:
        s.shutdown()
    assert s._thread is None


# ---------------------------------------------------------------------------------------------
# executors and job stores before/after start
# ---------------------------------------------------------------------------------------------
def test_start_adds_defaults_and_event_order(sched):
    seen = events_of(sched)
    sched.add_job(noop, "date", run_date=FAR, id="j")
    sched.start(paused=True)
    assert seen == [(ev.EVENT_EXECUTOR_ADDED, "default"), (ev.EVENT_JOBSTORE_ADDED, "default"),
                    (ev.EVENT_JOB_ADDED, "j"), (ev.EVENT_SCHEDULER_STARTED, None)]
    assert type(sched._executors["default"]) is ThreadPoolExecutor
    assert type(sched._jobstores["default"]) is MemoryJobStore
    sched.resume()
    sched.resume()   # already running: no event
    sched.pause()
    sched.shutdown()
    assert seen[4:] == [(ev.EVENT_SCHEDULER_RESUMED, None), (ev.EVENT_SCHEDULER_PAUSED, None),
                        (ev.EVENT_SCHEDULER_SHUTDOWN, None)]


def test_add_remove_executor_before_and_after_start(sched):
    seen = events_of(sched, ev.EVENT_EXECUTOR_ADDED | ev.EVENT_EXECUTOR_REMOVED)
    before = RecordingExecutor()
    sched.add_executor(before, "before")
    assert before.calls == []              # not started while the scheduler is stopped
    sched.start(paused=True)
    assert before.calls == [("start", "before")]
    after = RecordingExecutor()
    sched.add_executor(after, "after")
    assert after.calls == [("start", "after")]
    with pytest.raises(ValueError) as exc:
        sched.add_executor(RecordingExecutor(), "after")
    assert str(exc.value) == 'This scheduler already has an executor by the alias of "after"'
    sched.remove_executor("after")
    assert after.calls[-1] == ("shutdown", True)
    sched.remove_executor("before", shutdown=False)
    assert before.calls == [("start", "before")]
    with pytest.raises(KeyError) as exc:
        sched.remove_executor("before")
    assert exc.value.args == ("No such executor: before",)
    assert seen == [(ev.EVENT_EXECUTOR_ADDED, "before"), (ev.EVENT_EXECUTOR_ADDED, "default"),
                    (ev.EVENT_EXECUTOR_ADDED, "after"), (ev.EVENT_EXECUTOR_REMOVED, "after"),
                    (ev.EVENT_EXECUTOR_REMOVED, "before")]


def test_add_remove_jobstore_before_and_after_start(sched):
    seen = events_of(sched, ev.EVENT_JOBSTORE_ADDED | ev.EVENT_JOBSTORE_REMOVED)
    before = RecordingStore()
    sched.add_jobstore(before, "before")
    assert before.calls == []
    sched.start(paused=True)
    assert before.calls == [("start", "before")]
    after = RecordingStore()
    sched.add_jobstore(after, "after")
    assert after.calls == [("start", "after")]
    with pytest.raises(ValueError) as exc:
        sched.add_jobstore(MemoryJobStore(), "after")
    assert str(exc.value) == 'This scheduler already has a job store by the alias of "after"'
    with pytest.raises(TypeError) as exc:
        sched.add_jobstore(42, "bad")
    assert str(exc.value) == "Expected a job store instance or a string, got int instead"
    with pytest.raises(TypeError) as exc:
        sched.add_executor(42, "bad")
    assert str(exc.value) == "Expected an executor instance or a string, got int instead"
    with pytest.raises(LookupError) as exc:
        sched.add_jobstore("nope", "bad")
    assert str(exc.value) == 'No jobstore by the name "nope" was found'
    sched.remove_jobstore("after")
    assert after.calls[-1] == ("shutdown",)
    sched.remove_jobstore("before", shutdown=False)
    assert before.calls == [("start", "before")]
    with pytest.raises(KeyError) as exc:
        sched.remove_jobstore("before")
    assert exc.value.args == ("No such job store: before",)
    assert seen == [(ev.EVENT_JOBSTORE_ADDED, "before"), (ev.EVENT_JOBSTORE_ADDED, "default"),
                    (ev.EVENT_JOBSTORE_ADDED, "after"), (ev.EVENT_JOBSTORE_REMOVED, "after"),
                    (ev.EVENT_JOBSTORE_REMOVED, "before")]
    assert "bad" not in sched._jobstores and "bad" not in sched._executors


def test_jobs_of_a_removed_store_disappear_and_come_back_with_it(sched):
    store = MemoryJobStore()
    sched.add_jobstore(store, "extra")
    sched.start(paused=True)
    sched.add_job(noop, "date", run_date=FAR, id="x", jobstore="extra")
    sched.add_job(noop, "date", run_date=FAR, id="d")
    sched.remove_jobstore("extra", shutdown=False)
    assert [j.id for j in sched.get_jobs()] == ["d"]
    assert sched.get_job("x") is None
    with pytest.raises(JobLookupError):
        sched.remove_job("x")
    with pytest.raises(KeyError) as exc:
        sched.add_job(noop, "date", run_date=FAR, id="y", jobstore="extra")
    assert exc.value.args == ("No such job store: extra",)
    sched.add_jobstore(store, "again")
    assert [j.id for j in sched.get_jobs()] == ["d", "x"]
    assert sched.get_job("x", jobstore="again").id == "x"


def test_add_job_to_missing_store_while_stopped_fails_at_start(sched):
    sched.add_job(noop, "date", run_date=FAR, id="bad", jobstore="missing")
    assert [j.id for j in sched.get_jobs(jobstore="missing")] == ["bad"]
    with pytest.raises(KeyError) as exc:
        sched.start()
    assert exc.value.args == ("No such job store: missing",)
    assert sched.state == STATE_STOPPED and not sched.running


def test_add_job_with_unknown_executor_is_accepted(sched):
    sched.start(paused=True)
    job = sched.add_job(noop, "date", run_date=FAR, executor="nonexistent")
    assert job.executor == "nonexistent"
    assert sched.get_job(job.id) == job


# ---------------------------------------------------------------------------------------------
# state / lifecycle
# ---------------------------------------------------------------------------------------------
def test_shutdown_twice_and_start_twice(sched):
    sched.start()
    assert (sched.state, sched.running) == (STATE_RUNNING, True)
    with pytest.raises(SchedulerAlreadyRunningError) as exc:
        sched.start(paused=True)
    assert exc.value.args == () and str(exc.value) == "Scheduler is already running"
    sched.shutdown(wait=False)
    with pytest.raises(SchedulerNotRunningError) as exc:
        sched.shutdown()
    assert exc.value.args == () and str(exc.value) == "Scheduler is not running"
    assert (sched.state, sched.running) == (STATE_STOPPED, False)


def test_wakeup_when_running_processes_a_job_added_directly_to_a_store(sched):
    done = threading.Event()
    sched.start()
    from apscheduler_rs.job import Job
    from apscheduler_rs.triggers.date import DateTrigger

    store = sched._jobstores["default"]
    job = Job(sched, id="direct", func=done.set, args=(), kwargs={}, trigger=DateTrigger(FAR, "UTC"),
              executor="default", misfire_grace_time=60, coalesce=True, max_instances=1,
              name="direct", next_run_time=datetime.now(timezone.utc))
    store.add_job(job)
    sched.wakeup()
    assert done.wait(10)


def test_blocking_scheduler_runs_until_a_job_shuts_it_down():
    s = BlockingScheduler(timezone="UTC")
    seen = events_of(s, ev.EVENT_SCHEDULER_STARTED | ev.EVENT_SCHEDULER_SHUTDOWN | ev.EVENT_JOB_EXECUTED)
    ran = []

    def stop():
        ran.append(threading.current_thread() is threading.main_thread())
        s.shutdown(wait=False)

    s.add_job(stop, "interval", hours=1, id="stopper", next_run_time=datetime.now(timezone.utc))
    s.start()
    assert s.state == STATE_STOPPED and ran == [False]
    assert seen[0] == (ev.EVENT_SCHEDULER_STARTED, None)
    with pytest.raises(SchedulerNotRunningError):
        s.shutdown()


# ---------------------------------------------------------------------------------------------
# get_jobs / get_job / print_jobs
# ---------------------------------------------------------------------------------------------
def test_get_jobs_pending_argument_is_deprecated(sched):
    sched.add_job(noop, "date", run_date=FAR, id="a")
    with pytest.warns(DeprecationWarning) as rec:
        jobs = sched.get_jobs(pending=True)
    assert [j.id for j in jobs] == ["a"]
    assert str(rec[0].message) == ('The "pending" option is deprecated -- get_jobs() always returns '
                                   "scheduled jobs if the scheduler has been started and pending jobs "
                                   "otherwise")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.get_jobs()  # no warning without the option


def test_get_job_with_jobstore_while_stopped_and_running(sched):
    sched.add_job(noop, "date", run_date=FAR, id="a", jobstore="other")
    # While stopped the jobstore argument is not used to filter pending jobs.
    assert sched.get_job("a", jobstore="default").id == "a"
    assert sched.get_job("zz") is None
    assert sched.get_jobs(jobstore="default") == []
    sched.add_jobstore(MemoryJobStore(), "other")
    sched.start(paused=True)
    assert sched.get_job("a", jobstore="default") is None
    assert sched.get_job("a", jobstore="other").id == "a"
    assert sched.get_job("a", jobstore="nonexistent") is None
    assert sched.get_jobs(jobstore="nonexistent") == []


def test_print_jobs_pending_with_jobstore_filter(sched):
    sched.add_job(noop, "date", run_date=FAR, id="a", name="alpha", jobstore="s1")
    sched.add_job(noop, "interval", minutes=1, id="b", name="beta", jobstore="s2")
    out = io.StringIO()
    sched.print_jobs(jobstore="s2", out=out)
    assert out.getvalue() == "Pending jobs:\n    beta (trigger: interval[0:01:00], pending)\n"
    out = io.StringIO()
    sched.print_jobs(jobstore="none-such", out=out)
    assert out.getvalue() == "Pending jobs:\n"   # no "No pending jobs" line when others exist


def test_print_jobs_several_stores_and_stdout(sched, capsys):
    sched.add_jobstore(MemoryJobStore(), "zeta")
    sched.add_jobstore(MemoryJobStore(), "alpha")
    sched.start(paused=True)
    sched.add_job(noop, "date", run_date=FAR, id="a", name="in-zeta", jobstore="zeta")
    sched.print_jobs()
    assert capsys.readouterr().out == (
        "Jobstore alpha:\n    No scheduled jobs\n"
        "Jobstore default:\n    No scheduled jobs\n"
        "Jobstore zeta:\n    in-zeta (trigger: date[2099-01-01 00:00:00 UTC], next run at: "
        "2099-01-01 00:00:00 UTC)\n")
    sched.print_jobs(jobstore="missing")
    assert capsys.readouterr().out == ""


# ---------------------------------------------------------------------------------------------
# add_job / scheduled_job
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("trigger, kwargs, exc_type, message", [
    ("interval", {"hourz": 1}, TypeError, "IntervalTrigger.__init__() got an unexpected keyword argument 'hourz'"),
    ("cron", {"hour": "25"}, ValueError, "Error validating expression '25': the last value (25) is higher than the maximum value (23)"),
    ("cron", {"minute": "*/x"}, ValueError, "Unrecognized expression \"*/x\" for field \"minute\""),
    ("date", {"run_date": "tomorrow"}, ValueError, "Invalid date string"),
    ("date", {"run_date": FAR, "seconds": 1}, TypeError, "DateTrigger.__init__() got an unexpected keyword argument 'seconds'"),
    ("interval", {"hours": 1, "start_date": "2024-13-01"}, ValueError, "month must be in 1..12"),
    ("cron", {"day_of_week": "funday"}, ValueError, 'Invalid weekday name "funday"'),
    ("Interval", {"hours": 1}, LookupError, 'No trigger by the name "Interval" was found'),
    ("interval", {"hours": "x"}, TypeError, "unsupported type for timedelta hours component: str"),
    ("date", {"run_date": 5}, TypeError, "Unsupported type for run_date: int"),
    ("cron", {"year": "*/0"}, ValueError, "Increment must be higher than 0"),
    ("cron", {"hour": 5, "timezone": "Nowhere/Land"}, zoneinfo.ZoneInfoNotFoundError,
     "'No time zone found with key Nowhere/Land'"),
    ("and", {}, TypeError, "BaseCombiningTrigger.__init__() got an unexpected keyword argument 'timezone'"),
])
def test_add_job_invalid_trigger_arguments(sched, trigger, kwargs, exc_type, message):
    with pytest.raises(exc_type) as exc:
        sched.add_job(noop, trigger, **kwargs)
    assert str(exc.value) == message
    assert sched.get_jobs() == []


def test_scheduled_job_returns_function_and_replaces_existing(sched):
    sched.start(paused=True)

    @sched.scheduled_job("interval", minutes=5, id="deco")
    def first():
        pass

    assert callable(first) and first.__name__ == "first"

    @sched.scheduled_job("cron", hour=1, id="deco")
    def second():
        pass

    assert sched.get_job("deco").func is second
    with pytest.raises(ConflictingIdError):
        sched.add_job(noop, "interval", minutes=1, id="deco")


def test_add_job_default_trigger_is_date_now(sched):
    job = sched.add_job(noop)
    from apscheduler_rs.triggers.date import DateTrigger

    assert type(job.trigger) is DateTrigger
    assert job.trigger.run_date.tzinfo is timezone.utc


# ---------------------------------------------------------------------------------------------
# AsyncIOScheduler
# ---------------------------------------------------------------------------------------------
def test_asyncio_scheduler_event_loop_option():
    from apscheduler_rs.schedulers.asyncio import AsyncIOScheduler

    loop = asyncio.new_event_loop()
    try:
        s = AsyncIOScheduler(event_loop=loop, timezone="UTC")
        assert s._eventloop is loop
        s.start(paused=True)            # no running loop needed when one was configured
        assert s._eventloop is loop and s.state == STATE_PAUSED
        from apscheduler_rs.executors.asyncio import AsyncIOExecutor

        assert type(s._executors["default"]) is AsyncIOExecutor
        s.shutdown()
        assert s.running                # the shutdown runs on the loop
        loop.run_until_complete(asyncio.sleep(0.01))
        assert not s.running and s._eventloop is None
    finally:
        loop.close()


def test_asyncio_scheduler_without_loop_outside_a_running_loop():
    from apscheduler_rs.schedulers.asyncio import AsyncIOScheduler

    s = AsyncIOScheduler(timezone="UTC")
    assert s._eventloop is None
    with pytest.raises(RuntimeError) as exc:
        s.start()
    assert str(exc.value) == "no running event loop"
    assert s.state == STATE_STOPPED


def test_asyncio_scheduler_picks_running_loop_and_reference():
    from apscheduler_rs.schedulers.asyncio import AsyncIOScheduler

    async def main():
        s = AsyncIOScheduler(timezone="UTC")
        s.start()
        assert s._eventloop is asyncio.get_running_loop()
        s.shutdown()
        await asyncio.sleep(0.01)
        assert not s.running

    asyncio.run(main())
    import sys

    mod = type(sys)("qa_loop_holder")
    mod.loop = asyncio.new_event_loop()
    sys.modules["qa_loop_holder"] = mod
    try:
        s = AsyncIOScheduler({"apscheduler.event_loop": "qa_loop_holder:loop"}, timezone="UTC")
        assert s._eventloop is mod.loop
    finally:
        mod.loop.close()
        del sys.modules["qa_loop_holder"]


# ---------------------------------------------------------------------------------------------
# job_defaults validated when the job is scheduled
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("job_defaults, message", [
    ({"max_instances": 0}, "max_instances must be a positive integer"),
    ({"max_instances": "-1"}, "max_instances must be a positive integer"),
    ({"misfire_grace_time": "-5"}, "misfire_grace_time must be either None or a positive integer"),
    ({"misfire_grace_time": 0}, "misfire_grace_time must be either None or a positive integer"),
])
def test_invalid_job_defaults_fail_when_jobs_are_scheduled(job_defaults, message):
    s = BackgroundScheduler(timezone="UTC", job_defaults=job_defaults)  # accepted here
    s.add_job(noop, "interval", hours=1, id="p")
    with pytest.raises(TypeError) as exc:
        s.start(paused=True)
    assert str(exc.value) == message
    assert s.state == STATE_STOPPED and [j.id for j in s.get_jobs()] == ["p"]
    s.remove_job("p")
    s.start(paused=True)
    try:
        with pytest.raises(TypeError) as exc:
            s.add_job(noop, "interval", hours=1)
        assert str(exc.value) == message
        assert s.get_jobs() == []
        job = s.add_job(noop, "interval", hours=1, max_instances=2, misfire_grace_time=None)
        assert (job.max_instances, job.misfire_grace_time) == (2, None)
    finally:
        s.shutdown()


# ---------------------------------------------------------------------------------------------
# extension points for scheduler subclasses ("Extending APScheduler" -> custom schedulers)
# ---------------------------------------------------------------------------------------------
def test_custom_scheduler_subclass_drives_processing_with_process_jobs():
    from apscheduler_rs.schedulers.base import BaseScheduler

    class ManualScheduler(BaseScheduler):
        def shutdown(self, wait=True):
            super().shutdown(wait)

        def wakeup(self):
            pass

    s = ManualScheduler(timezone="UTC", executors={"default": {"type": "debug"}})
    ran = []
    s.add_job(ran.append, "interval", hours=1, args=[1], next_run_time=datetime.now(timezone.utc))
    s.start()
    try:
        wait = s._process_jobs()  # one processing pass; returns the seconds until the next one
        assert ran == [1]
        assert isinstance(wait, float) and 3590 < wait <= 3600
    finally:
        s.shutdown()


def test_overridden_wakeup_is_called_when_a_job_is_added():
    calls = []

    class Tracking(BackgroundScheduler):
        def wakeup(self):
            calls.append("wakeup")
            super().wakeup()

    s = Tracking(timezone="UTC")
    s.start()
    try:
        calls.clear()
        s.add_job(noop, "date", run_date=FAR)
        assert calls == ["wakeup"]
        s.add_jobstore(MemoryJobStore(), "x")
        assert calls == ["wakeup", "wakeup"]
    finally:
        s.shutdown()


def test_asyncio_subclass_with_own_wakeup_using_timer_helpers():
    from apscheduler_rs.schedulers.asyncio import AsyncIOScheduler

    class RetryingScheduler(AsyncIOScheduler):
        def wakeup(self):
            self._stop_timer()
            try:
                wait_seconds = self._process_jobs()
            except Exception:
                wait_seconds = self.jobstore_retry_interval
            self._start_timer(wait_seconds)

    ran = []

    async def main():
        s = RetryingScheduler(timezone="UTC")
        s.add_job(ran.append, args=["now"])
        s.start()
        for _ in range(50):
            if ran:
                break
            await asyncio.sleep(0.02)
        s.shutdown()
        await asyncio.sleep(0.02)

    asyncio.run(main())
    assert ran == ["now"]


def test_custom_default_executor_jobstore_and_lock_hooks():
    import threading as th

    made = []

    class Custom(BackgroundScheduler):
        def _create_default_executor(self):
            made.append("executor")
            return RecordingExecutor()

        def _create_default_jobstore(self):
            made.append("jobstore")
            return RecordingStore()

        def _create_lock(self):
            made.append("lock")
            return th.RLock()

    s = Custom(timezone="UTC")
    assert made == ["lock", "lock", "lock"]
    s.start(paused=True)
    try:
        assert made[3:] == ["executor", "lock", "jobstore"]
        assert s._executors["default"].calls == [("start", "default")]
        assert s._jobstores["default"].calls == [("start", "default")]
    finally:
        s.shutdown()
    assert s._jobstores["default"].calls[-1] == ("shutdown",)


def test_get_jobs_pending_warning_is_attributed_to_apscheduler(sched):
    import os

    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        sched.get_jobs(pending=False)
    assert len(rec) == 1 and rec[0].category is DeprecationWarning
    # Attributed to the library (stacklevel 1), so Python's default filters hide it in scripts.
    assert rec[0].filename.endswith(os.path.join("schedulers", "base.py"))


PLUGIN_SCRIPT = r'''
import os, sys
sys.path.insert(0, os.environ["QA_TESTS_DIR"])
if os.environ.get("APSCHEDULER_RS_ORACLE"):
    import conftest  # installs the apscheduler_rs -> apscheduler alias
sys.path.insert(0, os.environ["QA_PLUGIN_DIR"])
from apscheduler_rs.schedulers.background import BackgroundScheduler
s = BackgroundScheduler(timezone="UTC", executors={"e": {"type": "qa_exec", "flag": 1}},
                        jobstores={"j": {"type": "qa_store", "flag": 2}})
print(type(s._executors["e"]).__name__, s._executors["e"].flag, type(s._jobstores["j"]).__name__,
      s._jobstores["j"].flag)
j = s.add_job(print, "qa_every", minutes=5)
print(type(j.trigger).__name__, j.trigger.minutes, j.trigger.tz)
try:
    s.add_job(print, "qa_bad")
except TypeError as e:
    print("TypeError", e)
try:
    s.add_executor("qa_nope", "x")
except LookupError as e:
    print("LookupError", e)
'''

PLUGIN_MODULE = '''
from datetime import timedelta
from apscheduler_rs.triggers.base import BaseTrigger
from apscheduler_rs.executors.debug import DebugExecutor
from apscheduler_rs.jobstores.memory import MemoryJobStore
class EveryTrigger(BaseTrigger):
    def __init__(self, minutes=1, timezone=None):
        self.minutes = minutes; self.tz = timezone
    def get_next_fire_time(self, previous_fire_time, now):
        return (previous_fire_time or now) + timedelta(minutes=self.minutes)
class NotATrigger:
    def __init__(self, **kw): pass
class QAExecutor(DebugExecutor):
    def __init__(self, flag=None):
        super().__init__(); self.flag = flag
class QAStore(MemoryJobStore):
    def __init__(self, flag=None):
        super().__init__(); self.flag = flag
'''


def test_entry_point_plugins_for_triggers_executors_and_jobstores(tmp_path):
    import os
    import subprocess
    import sys

    dist = tmp_path / "qa_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: qa-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[apscheduler.triggers]\nqa_every = qa_plugin_mod:EveryTrigger\nqa_bad = qa_plugin_mod:NotATrigger\n\n"
        "[apscheduler.executors]\nqa_exec = qa_plugin_mod:QAExecutor\n\n"
        "[apscheduler.jobstores]\nqa_store = qa_plugin_mod:QAStore\n")
    (tmp_path / "qa_plugin_mod.py").write_text(PLUGIN_MODULE)
    env = dict(os.environ, QA_PLUGIN_DIR=str(tmp_path), QA_TESTS_DIR=os.path.dirname(__file__))
    out = subprocess.run([sys.executable, "-c", PLUGIN_SCRIPT], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "QAExecutor 1 QAStore 2",
        "EveryTrigger 5 UTC",
        "TypeError The trigger entry point does not point to a trigger class",
        'LookupError No executor by the name "qa_nope" was found',
    ]


def test_trigger_instance_ignores_extra_trigger_arguments(sched):
    from apscheduler_rs.triggers.interval import IntervalTrigger

    trig = IntervalTrigger(hours=1, timezone="UTC")
    sched.start(paused=True)
    job = sched.add_job(noop, trig, minutes=5, timezone="Asia/Tokyo")
    assert str(job.trigger) == "interval[1:00:00]" and job.trigger.timezone is timezone.utc


def test_logger_option_receives_scheduler_messages():
    import logging

    records = []

    class Grab(logging.Handler):
        def emit(self, record):
            records.append((record.levelname, record.getMessage()))

    lg = logging.getLogger("qa.config.sched")
    lg.setLevel(logging.INFO)
    lg.propagate = False
    handler = Grab()
    lg.addHandler(handler)
    try:
        s = BackgroundScheduler(timezone="UTC", logger=lg)
        s.add_job(noop, "date", run_date=FAR, id="j", name="later")
        s.start(paused=True)
        s.remove_job("j")
        s.resume()
        s.pause()
        s.shutdown()
    finally:
        lg.removeHandler(handler)
    assert records == [
        ("INFO", "Adding job tentatively -- it will be properly scheduled when the scheduler starts"),
        ("INFO", 'Added job "later" to job store "default"'),
        ("INFO", "Scheduler started"),
        ("INFO", "Removed job j"),
        ("INFO", "Resumed scheduler job processing"),
        ("INFO", "Paused scheduler job processing"),
        ("INFO", "Scheduler has been shut down"),
    ]


def test_event_loop_options_of_loop_schedulers():
    from apscheduler_rs.schedulers.asyncio import AsyncIOScheduler

    loop = asyncio.new_event_loop()
    try:
        s = AsyncIOScheduler(event_loop=loop, timezone="UTC")
        ran = []

        async def coro():
            ran.append("coro")

        s.add_job(coro)
        s.add_job(ran.append, args=["plain"])
        s.start()                      # before the loop runs: jobs run once it does
        assert ran == []
        loop.run_until_complete(asyncio.sleep(0.2))
        assert sorted(ran) == ["coro", "plain"]
        s.shutdown()
        loop.run_until_complete(asyncio.sleep(0.02))
        with pytest.raises(SchedulerNotRunningError):
            s.shutdown()
    finally:
        loop.close()

    tornado_ioloop = pytest.importorskip("tornado.ioloop")
    from apscheduler_rs.schedulers.tornado import TornadoScheduler

    io_loop = tornado_ioloop.IOLoop(make_current=False)
    try:
        assert TornadoScheduler(io_loop=io_loop, timezone="UTC")._ioloop is io_loop
    finally:
        io_loop.close()
    pytest.importorskip("twisted")
    from apscheduler_rs.schedulers.twisted import TwistedScheduler

    fake_reactor = object()
    assert TwistedScheduler(reactor=fake_reactor, timezone="UTC")._reactor is fake_reactor
