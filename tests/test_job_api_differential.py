"""Differential QA: the ``Job`` object API and ``MemoryJobStore`` against APScheduler 3.x.

Every expectation below is APScheduler 3.11.3 behaviour (run with ``APSCHEDULER_RS_ORACLE=1``
to check that against the real package).  Nothing here fires a job: schedulers are never
started or started with ``start(paused=True)``, and run times lie in 2100+.
"""

from __future__ import annotations

import collections.abc
import functools
import pickle
from datetime import datetime, timedelta, timezone

import pytest

from apscheduler_rs.job import Job
from apscheduler_rs.jobstores.base import BaseJobStore, ConflictingIdError, JobLookupError
from apscheduler_rs.jobstores.memory import MemoryJobStore
from apscheduler_rs.schedulers.background import BackgroundScheduler
from apscheduler_rs.triggers.cron import CronTrigger
from apscheduler_rs.triggers.date import DateTrigger
from apscheduler_rs.triggers.interval import IntervalTrigger

UTC = timezone.utc
FAR = datetime(2100, 1, 1, tzinfo=UTC)


# --------------------------------------------------------------------------------------
# Callables (module level so that references resolve)
# --------------------------------------------------------------------------------------
def plain(a, b=1):
    return a, b


def noargs():
    return None


class Thing:
    def meth(self, x=0):
        return x

    @classmethod
    def cm(cls, x=0):
        return x

    @staticmethod
    def sm(x=0):
        return x

    def __call__(self, x=0):
        return x


INSTANCE = Thing()
LAMBDA = lambda x=0: x  # noqa: E731
PARTIAL = functools.partial(plain, 1)


def _outer():
    def inner():
        return None

    return inner


NESTED = _outer()


def describe(exc: BaseException) -> tuple[str, str]:
    return type(exc).__name__, str(exc)


def outcome(fn):
    try:
        return ("ok", fn())
    except Exception as exc:  # noqa: BLE001
        return ("error",) + describe(exc)


@pytest.fixture
def sched():
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.start(paused=True)
    yield scheduler
    if scheduler.running:
        scheduler.shutdown(wait=False)


@pytest.fixture
def pending_sched():
    return BackgroundScheduler(timezone="UTC")


def make_job(scheduler, job_id, next_run_time, **overrides):
    kwargs = dict(func=noargs, trigger=IntervalTrigger(seconds=10, start_date=datetime(2020, 1, 1, tzinfo=UTC)),
                  executor="default", args=(), kwargs={}, name=None, misfire_grace_time=1,
                  coalesce=True, max_instances=1, next_run_time=next_run_time)
    kwargs.update(overrides)
    return Job(scheduler, id=job_id, **kwargs)


# --------------------------------------------------------------------------------------
# Attributes, repr/str in each state
# --------------------------------------------------------------------------------------
def test_pending_job_attributes_and_missing_defaults(pending_sched):
    job = pending_sched.add_job(plain, "interval", seconds=5, args=(1,), id="x")
    assert (job.id, job.name, job.func, job.func_ref, job.args, job.kwargs, job.executor) == (
        "x", "plain", plain, f"{__name__}:plain", (1,), {}, "default")
    assert job.pending is True
    assert job._jobstore_alias is None and job._scheduler is pending_sched
    # the scheduler's job defaults are applied only when the job is really added
    for attr in ("misfire_grace_time", "coalesce", "max_instances", "next_run_time"):
        with pytest.raises(AttributeError, match=f"'Job' object has no attribute '{attr}'"):
            getattr(job, attr)
    with pytest.raises(AttributeError, match="misfire_grace_time"):
        job.__getstate__()
    assert repr(job) == "<Job (id=x name=plain)>"
    assert str(job) == "plain (trigger: interval[0:00:05], pending)"


def test_repr_str_scheduled_paused_pending_paused(sched, pending_sched):
    job = sched.add_job(plain, "interval", seconds=5, args=(1,), id="x", start_date=FAR)
    assert str(job) == "plain (trigger: interval[0:00:05], next run at: 2100-01-01 00:00:00 UTC)"
    job.pause()
    assert str(job) == "plain (trigger: interval[0:00:05], paused)"
    assert repr(job) == "<Job (id=x name=plain)>"
    pend = pending_sched.add_job(plain, "interval", seconds=5, args=(1,), id="p")
    pend.pause()  # a pending job gets next_run_time=None, stays pending
    assert str(pend) == "plain (trigger: interval[0:00:05], paused)"
    assert pend.pending is True and pend.next_run_time is None


def test_equality_and_hash(sched):
    a = sched.add_job(noargs, "date", run_date=FAR, id="a")
    b = sched.add_job(noargs, "date", run_date=FAR, id="b")
    assert a == sched.get_job("a") and a != b and a != "a" and not (a == "a")
    assert Job.__eq__(a, 5) is NotImplemented
    assert a in [make_job(sched, "a", None)]
    with pytest.raises(TypeError, match="unhashable type: 'Job'"):
        hash(a)
    with pytest.raises(TypeError):
        a < b  # noqa: B015


# --------------------------------------------------------------------------------------
# modify(): every field, invalid values, atomicity
# --------------------------------------------------------------------------------------
MODIFY_ERRORS = [
    ({"id": "y"}, ValueError, "The job ID may not be changed"),
    ({"id": "x"}, ValueError, "The job ID may not be changed"),
    ({"bogus": 1}, AttributeError, "The following are not modifiable attributes of Job: bogus"),
    ({"zeta": 1, "alpha": 2}, AttributeError,
     "The following are not modifiable attributes of Job: zeta, alpha"),
    ({"func": 5}, TypeError, "func must be a callable or a textual reference to one"),
    ({"func": "nomod_qa:xx"}, LookupError,
     "Error resolving reference nomod_qa:xx: could not import module"),
    ({"func": "os:getcwd"}, ValueError,
     "The list of positional arguments is longer than the target callable can handle "
     "(allowed: 0, given in args: 1)"),
    ({"args": 5}, TypeError, "args must be a non-string iterable"),
    ({"args": "ab"}, TypeError, "args must be a non-string iterable"),
    ({"kwargs": [1]}, TypeError, "kwargs must be a dict-like object"),
    ({"args": (1, 2, 3)}, ValueError, "The list of positional arguments is longer than the target "
                                      "callable can handle (allowed: 2, given in args: 3)"),
    ({"kwargs": {"zz": 1}}, ValueError,
     "The target callable does not accept the following keyword arguments: zz"),
    ({"max_instances": 0}, TypeError, "max_instances must be a positive integer"),
    ({"max_instances": 2.5}, TypeError, "max_instances must be a positive integer"),
    ({"misfire_grace_time": 0}, TypeError,
     "misfire_grace_time must be either None or a positive integer"),
    ({"misfire_grace_time": "5"}, TypeError,
     "misfire_grace_time must be either None or a positive integer"),
    ({"executor": 5}, TypeError, "executor must be a string"),
    ({"name": ""}, TypeError, "name must be a nonempty string"),
    ({"name": None}, TypeError, "name must be a nonempty string"),
    ({"next_run_time": 5}, TypeError, "Unsupported type for next_run_time: int"),
    ({"trigger": "interval"}, TypeError, "Expected a trigger instance, got str instead"),
    ({"trigger": None}, TypeError, "Expected a trigger instance, got NoneType instead"),
]


@pytest.mark.parametrize("changes, exc_type, message", MODIFY_ERRORS,
                         ids=[",".join(c) + f"={list(c.values())[0]!r}" for c, _, _ in MODIFY_ERRORS])
def test_modify_errors_are_atomic(sched, changes, exc_type, message):
    job = sched.add_job(plain, "interval", seconds=5, args=(1,), id="x", start_date=FAR)
    with pytest.raises(exc_type) as info:
        job.modify(name="changed", **changes) if "name" not in changes else job.modify(**changes)
    text = str(info.value.args[0]) if isinstance(info.value, KeyError) else str(info.value)
    assert text == message
    stored = sched.get_job("x")
    assert (stored.name, stored.args, stored.max_instances) == ("plain", (1,), 1)


def test_modify_every_field_success(sched):
    job = sched.add_job(plain, "interval", seconds=5, args=(1,), id="x", start_date=FAR)
    kw = {"b": 2}
    job.modify(args=[7], kwargs=kw, name="n", misfire_grace_time=None, coalesce=0, max_instances=3,
               executor="nope", next_run_time="2101-01-01 00:00:00",
               trigger=IntervalTrigger(hours=1, start_date=FAR))
    stored = sched.get_job("x")
    for j in (job, stored):
        assert (j.args, j.kwargs, j.name, j.misfire_grace_time, j.coalesce, j.max_instances,
                j.executor, j.next_run_time, str(j.trigger)) == (
            [7], {"b": 2}, "n", None, False, 3, "nope", datetime(2101, 1, 1, tzinfo=UTC),
            "interval[1:00:00]")
    assert stored.args is job.args and stored.kwargs is kw  # no copies in 3.x
    job.modify(func="os.path:join", args=("a", "b"), kwargs={})
    assert (job.func_ref, job.name) == ("os.path:join", "n")  # name kept once set
    job.modify(func=PARTIAL, args=())
    assert job.func_ref is None and job.func is PARTIAL


def test_modify_unusual_iterables_kept_as_given(sched):
    job = sched.add_job(plain, "date", run_date=FAR, args=(1,), id="x")
    job.modify(args=range(1))
    assert sched.get_job("x").args == range(1)
    job.modify(kwargs=collections.OrderedDict(b=5))
    assert type(sched.get_job("x").kwargs) is collections.OrderedDict


def test_add_job_id_rules(sched):
    with pytest.raises(TypeError, match="id must be a nonempty string"):
        sched.add_job(noargs, "date", run_date=FAR, id=5)
    assert len(sched.add_job(noargs, "date", run_date=FAR, id="").id) == 32
    sched.add_job(noargs, "date", run_date=FAR, id="dup")
    with pytest.raises(ConflictingIdError) as info:
        sched.add_job(noargs, "date", run_date=FAR, id="dup")
    assert str(info.value) == "'Job identifier (dup) conflicts with an existing job'"


# --------------------------------------------------------------------------------------
# reschedule / pause / resume / remove, on stored and pending jobs
# --------------------------------------------------------------------------------------
def test_pending_job_methods(pending_sched):
    job = pending_sched.add_job(plain, "interval", seconds=5, args=(1,), id="x", start_date=FAR)
    assert job.modify(name="n1") is job
    job.modify(next_run_time="2101-01-01 00:00:00")
    assert str(job) == "n1 (trigger: interval[0:00:05], next run at: 2101-01-01 00:00:00 UTC)"
    assert job.pending is True
    job.pause()
    assert job.next_run_time is None
    job.resume()
    assert job.next_run_time == FAR
    job.reschedule("date", run_date="2102-01-01")
    assert str(job.trigger) == "date[2102-01-01 00:00:00 UTC]"
    with pytest.raises(LookupError, match='No trigger by the name "bogus" was found'):
        job.reschedule("bogus")
    with pytest.raises(TypeError, match="Expected a trigger instance or string, got int instead"):
        job.reschedule(5)
    assert job.remove() is None
    assert pending_sched.get_jobs() == []
    for call in (job.remove, job.pause, lambda: job.modify(name="z")):
        with pytest.raises(JobLookupError) as info:
            call()
        assert str(info.value) == "'No job by the id of x was found'"
    # the detached object keeps its last state
    assert str(job) == "n1 (trigger: date[2102-01-01 00:00:00 UTC], next run at: 2102-01-01 00:00:00 UTC)"


def test_pending_job_becomes_stored_on_start():
    scheduler = BackgroundScheduler(timezone="UTC")
    job = scheduler.add_job(plain, "interval", seconds=5, args=[1], id="x", start_date=FAR)
    assert job.args == (1,)  # add_job makes a tuple
    scheduler.start(paused=True)
    try:
        assert job.pending is False and job._jobstore_alias == "default"
        assert (job.misfire_grace_time, job.coalesce, job.max_instances, job.next_run_time) == (
            1, True, 1, FAR)
    finally:
        scheduler.shutdown(wait=False)


def test_reschedule_resumes_paused_and_resume_removes_finished(sched):
    job = sched.add_job(noargs, "interval", hours=1, start_date=FAR, id="q")
    job.pause()
    job.reschedule("interval", hours=2, start_date=datetime(2101, 1, 1, tzinfo=UTC))
    assert job.next_run_time == datetime(2101, 1, 1, tzinfo=UTC)
    done = sched.add_job(noargs, "interval", hours=1, start_date=datetime(2000, 1, 1, tzinfo=UTC),
                         end_date=datetime(2000, 1, 2, tzinfo=UTC), id="r")
    assert done.next_run_time is None  # added paused: nothing left to run
    done.resume()
    assert sched.get_job("r") is None


def test_handles_after_replace_and_remove(sched):
    first = sched.add_job(plain, "date", run_date=FAR, id="a", name="one", args=(1,))
    looked_up = sched.get_job("a")
    second = sched.add_job(Thing.sm, "date", run_date=datetime(2101, 1, 1, tzinfo=UTC), id="a",
                           name="two", replace_existing=True)
    assert (first.name, first.args, looked_up.name) == ("one", (1,), "one")
    assert (second.name, second.args) == ("two", ())
    assert first == second
    sched.remove_all_jobs()
    assert str(second) == "two (trigger: date[2101-01-01 00:00:00 UTC], next run at: 2101-01-01 00:00:00 UTC)"
    second.name = "after"
    assert second.__getstate__()["name"] == "after"


# --------------------------------------------------------------------------------------
# Direct attribute assignment (3.x Job has plain __slots__, no validation)
# --------------------------------------------------------------------------------------
def test_setattr_is_unvalidated_for_loose_values(sched):
    job = sched.add_job(noargs, "date", run_date=FAR, id="a")
    job.name = 5
    job.args = [1]
    job.misfire_grace_time = -5
    job.max_instances = 0
    assert (job.name, job.args, job.misfire_grace_time, job.max_instances) == (5, [1], -5, 0)
    assert sched.get_job("a").args == [1]


@pytest.mark.parametrize("value", [0, 1])
def test_setattr_coalesce_non_bool(sched, value):
    job = sched.add_job(noargs, "date", run_date=FAR, id="a")
    job.coalesce = value  # e.g. a 0/1 column read back from a database
    assert job.coalesce == value


def test_setattr_misfire_grace_time_float(sched):
    job = sched.add_job(noargs, "date", run_date=FAR, id="a")
    job.misfire_grace_time = 30.0  # e.g. a JSON number read back
    assert job.misfire_grace_time == 30


# --------------------------------------------------------------------------------------
# __getstate__ / __setstate__ / Job.__new__
# --------------------------------------------------------------------------------------
def test_getstate_contents_and_types(sched):
    job = sched.add_job("os.path:join", "interval", seconds=5, args=("a", "b"), id="x", start_date=FAR)
    state = job.__getstate__()
    assert list(state) == ["version", "id", "func", "trigger", "executor", "args", "kwargs", "name",
                           "misfire_grace_time", "coalesce", "max_instances", "next_run_time"]
    assert {k: type(v).__name__ for k, v in state.items()} == {
        "version": "int", "id": "str", "func": "str", "trigger": "IntervalTrigger", "executor": "str",
        "args": "tuple", "kwargs": "dict", "name": "str", "misfire_grace_time": "int",
        "coalesce": "bool", "max_instances": "int", "next_run_time": "datetime"}
    assert (state["version"], state["func"], state["args"], state["name"], state["next_run_time"]) == (
        1, "os.path:join", ("a", "b"), "join", FAR)
    assert job.__getstate__() is not state


def test_getstate_bound_method_puts_self_in_args(sched):
    job = sched.add_job(INSTANCE.meth, "date", run_date=FAR, args=(5,))
    state = job.__getstate__()
    assert state["func"] == f"{__name__}:Thing.meth"
    assert state["args"] == (INSTANCE, 5) and state["args"][0] is INSTANCE
    clone = Job.__new__(Job)
    clone.__setstate__(state)
    assert clone.func is Thing.meth and clone.args == (INSTANCE, 5)


@pytest.mark.parametrize("func", [LAMBDA, PARTIAL, NESTED], ids=["lambda", "partial", "nested"])
def test_getstate_unserializable_message(sched, func):
    job = sched.add_job(func, "date", run_date=FAR)
    with pytest.raises(ValueError) as info:
        job.__getstate__()
    assert str(info.value) == (
        f"This Job cannot be serialized since the reference to its callable ({func!r}) could not "
        "be determined. Consider giving a textual reference (module:function name) instead.")
    with pytest.raises(ValueError, match="cannot be serialized"):
        pickle.dumps(job)


def _state(sched):
    return sched.add_job("os.path:join", "date", run_date=FAR, args=("a", "b"), id="x").__getstate__()


@pytest.mark.parametrize("changes, exc_type, message", [
    ({"version": 2}, ValueError, "Job has version 2, but only version 1 can be handled"),
    ({"func": "nomod_qa:x"}, LookupError, "Error resolving reference nomod_qa:x: could not import module"),
    ({"func": "os.path:nosuch"}, LookupError, "Error resolving reference os.path:nosuch: error looking up object"),
    ({"func": len}, TypeError, "References must be strings"),
])
def test_setstate_errors(sched, changes, exc_type, message):
    state = dict(_state(sched), **changes)
    with pytest.raises(exc_type) as info:
        Job.__new__(Job).__setstate__(state)
    assert str(info.value) == message


def test_setstate_missing_keys_and_old_version(sched):
    with pytest.raises(KeyError, match="'id'"):
        Job.__new__(Job).__setstate__({"version": 1})
    job = Job.__new__(Job)
    job.__setstate__(dict(_state(sched), version=0, jobstore=object(), extra="ignored"))
    assert (job.id, job.func_ref, job.name) == ("x", "os.path:join", "join")


@pytest.mark.parametrize("key, value", [("coalesce", 1), ("coalesce", 0), ("misfire_grace_time", 30.0)])
def test_setstate_does_not_validate(sched, key, value):
    """Third-party stores rebuild jobs from their own columns (0/1 booleans, floats)."""
    job = Job.__new__(Job)
    job.__setstate__(dict(_state(sched), **{key: value}))
    assert getattr(job, key) == value


def test_new_job_plus_setstate_django_pattern(sched):
    job = Job.__new__(Job)
    job.__setstate__(_state(sched))
    assert repr(job) == "<Job (id=x name=join)>"
    with pytest.raises(AttributeError, match="_scheduler"):
        job.modify(name="z")
    job._scheduler = sched
    job._jobstore_alias = "default"
    assert job.pending is False
    job.modify(name="zz")
    assert sched.get_job("x").name == "zz"
    job.pause()
    assert sched.get_job("x").next_run_time is None


def test_unpickled_job_equals_original(sched):
    job = sched.add_job("os.path:join", "date", run_date=FAR, args=("a", "b"), id="x")
    clone = pickle.loads(pickle.dumps(job))
    assert clone == job and str(clone) == str(job) and clone.func_ref == "os.path:join"
    with pytest.raises(AttributeError, match="_scheduler"):
        clone.modify(name="z")


# --------------------------------------------------------------------------------------
# _get_run_times
# --------------------------------------------------------------------------------------
def test_get_run_times_several_missed(sched):
    start = datetime(2020, 1, 1, tzinfo=UTC)
    interval = sched.add_job(noargs, IntervalTrigger(seconds=10, start_date=start), next_run_time=start)
    cron = sched.add_job(noargs, CronTrigger(minute="*/15", timezone="UTC"), next_run_time=start)
    date = sched.add_job(noargs, DateTrigger(start), next_run_time=start)
    paused = sched.add_job(noargs, IntervalTrigger(seconds=10), next_run_time=None)
    assert interval._get_run_times(start + timedelta(seconds=35)) == [
        start + timedelta(seconds=s) for s in (0, 10, 20, 30)]
    assert interval._get_run_times(start) == [start]
    assert interval._get_run_times(start - timedelta(days=1)) == []
    assert cron._get_run_times(start + timedelta(hours=1)) == [
        start + timedelta(minutes=m) for m in (0, 15, 30, 45, 60)]
    assert date._get_run_times(datetime(2021, 1, 1, tzinfo=UTC)) == [start]
    assert paused._get_run_times(datetime(2021, 1, 1, tzinfo=UTC)) == []
    other = timezone(timedelta(hours=2))
    assert interval._get_run_times(datetime(2020, 1, 1, 2, 0, 20, tzinfo=other)) == [
        start + timedelta(seconds=s) for s in (0, 10, 20)]


# --------------------------------------------------------------------------------------
# Callable references
# --------------------------------------------------------------------------------------
M = __name__
CALLABLES = [
    (plain, "plain", f"{M}:plain", {"args": (1,)}),
    (INSTANCE.meth, "Thing.meth", f"{M}:Thing.meth", {}),
    (Thing.meth, "Thing.meth", f"{M}:Thing.meth", {"args": (INSTANCE,)}),
    (Thing.cm, "Thing.cm", f"{M}:Thing.cm", {}),
    (INSTANCE.cm, "Thing.cm", f"{M}:Thing.cm", {}),
    (Thing.sm, "Thing.sm", f"{M}:Thing.sm", {}),
    (INSTANCE, "Thing", f"{M}:Thing", {}),
    (LAMBDA, "<lambda>", None, {}),
    (PARTIAL, "partial", None, {}),
    (NESTED, "_outer.<locals>.inner", None, {}),
    (print, "print", "builtins:print", {}),
    ([].append, "list.append", "None:list.append", {"args": (1,)}),
    (f"{M}:Thing.cm", "Thing.cm", f"{M}:Thing.cm", {}),
    (f"{M}:INSTANCE.meth", "Thing.meth", f"{M}:INSTANCE.meth", {}),
    (f"{M}:INSTANCE", "Thing", f"{M}:INSTANCE", {}),
    (f"{M}:LAMBDA", "<lambda>", f"{M}:LAMBDA", {}),
    (f"{M}:PARTIAL", "partial", f"{M}:PARTIAL", {}),
]


@pytest.mark.parametrize("func, name, ref, extra", CALLABLES, ids=[str(i) for i in range(len(CALLABLES))])
def test_callable_name_and_ref(sched, func, name, ref, extra):
    job = sched.add_job(func, "date", run_date=FAR, **extra)
    assert (job.name, job.func_ref) == (name, ref)
    stored = sched.get_job(job.id)
    assert (stored.name, stored.func_ref) == (name, ref)
    if not isinstance(func, str):
        assert stored.func is job.func


@pytest.mark.parametrize("ref, exc_type, message", [
    ("no_colon_here", ValueError, "Invalid reference"),
    (":plain", ValueError, "Empty module name"),
    (f"{M}:", LookupError, f"Error resolving reference {M}:: error looking up object"),
    (f"{M}:nope", LookupError, f"Error resolving reference {M}:nope: error looking up object"),
])
def test_bad_textual_references(sched, ref, exc_type, message):
    with pytest.raises(exc_type) as info:
        sched.add_job(ref, "date", run_date=FAR)
    assert str(info.value) == message


class PickleStore(BaseJobStore):
    """A minimal persistent-style store (the SQLAlchemy/django-apscheduler pattern)."""

    def __init__(self):
        super().__init__()
        self.rows = {}

    def _rebuild(self, blob):
        state = pickle.loads(blob)
        state["jobstore"] = self
        job = Job.__new__(Job)
        job.__setstate__(state)
        job._scheduler = self._scheduler
        job._jobstore_alias = self._alias
        return job

    def _ordered(self):
        return sorted(self.rows.items(), key=lambda kv: (kv[1][1] is None, kv[1][1] or 0, kv[0]))

    def lookup_job(self, job_id):
        row = self.rows.get(job_id)
        return self._rebuild(row[0]) if row else None

    def get_due_jobs(self, now):
        return [self._rebuild(b) for _, (b, ts) in self._ordered() if ts is not None and ts <= now.timestamp()]

    def get_next_run_time(self):
        return next((datetime.fromtimestamp(ts, UTC) for _, (_, ts) in self._ordered() if ts is not None), None)

    def get_all_jobs(self):
        return [self._rebuild(b) for _, (b, _) in self._ordered()]

    def _row(self, job):
        return pickle.dumps(job.__getstate__()), (job.next_run_time.timestamp() if job.next_run_time else None)

    def add_job(self, job):
        if job.id in self.rows:
            raise ConflictingIdError(job.id)
        self.rows[job.id] = self._row(job)

    def update_job(self, job):
        if job.id not in self.rows:
            raise JobLookupError(job.id)
        self.rows[job.id] = self._row(job)

    def remove_job(self, job_id):
        if job_id not in self.rows:
            raise JobLookupError(job_id)
        del self.rows[job_id]

    def remove_all_jobs(self):
        self.rows.clear()


def test_python_store_subclass_roundtrip():
    store = PickleStore()
    scheduler = BackgroundScheduler(timezone="UTC", jobstores={"default": store})
    try:
        job = scheduler.add_job(plain, "date", run_date=FAR, id="p1", args=(1,))
        scheduler.start(paused=True)
        with pytest.raises(ValueError, match="cannot be serialized"):
            scheduler.add_job(LAMBDA, "date", run_date=FAR, id="lam")
        bound = scheduler.add_job(INSTANCE.meth, "date", run_date=FAR, id="bm", args=(5,))
        assert bound.args == (5,)
        rebuilt = scheduler.get_job("bm")
        assert rebuilt.func is Thing.meth and len(rebuilt.args) == 2 and rebuilt.args[1] == 5
        assert scheduler.get_job("p1") is not scheduler.get_job("p1")
        job.modify(name="renamed")
        assert scheduler.get_job("p1").name == "renamed" and job.name == "plain"
        job.pause()
        assert str(scheduler.get_job("p1")) == "renamed (trigger: date[2100-01-01 00:00:00 UTC], paused)"
        job.reschedule("date", run_date="2105-01-01")
        assert scheduler.get_job("p1").next_run_time == datetime(2105, 1, 1, tzinfo=UTC)
        scheduler.get_job("p1").remove()
        assert sorted(store.rows) == ["bm"]
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)


# --------------------------------------------------------------------------------------
# MemoryJobStore used directly
# --------------------------------------------------------------------------------------
@pytest.fixture
def store(pending_sched):
    store = MemoryJobStore()
    jobs = {
        "a": make_job(pending_sched, "a", datetime(2020, 1, 1, 0, 0, 20, tzinfo=UTC)),
        "b": make_job(pending_sched, "b", datetime(2020, 1, 1, 0, 0, 10, tzinfo=UTC)),
        "c": make_job(pending_sched, "c", None),
        "d": make_job(pending_sched, "d", datetime(2020, 1, 1, 0, 0, 10, tzinfo=UTC)),
    }
    for key in "acdb":
        store.add_job(jobs[key])
    store.jobs = jobs
    return store


def ids(jobs):
    return [job.id for job in jobs]


def test_memory_store_ordering_and_queries(store):
    assert repr(store) == "<MemoryJobStore>"
    assert ids(store.get_all_jobs()) == ["b", "d", "a", "c"]
    assert store.get_next_run_time() == datetime(2020, 1, 1, 0, 0, 10, tzinfo=UTC)
    assert ids(store.get_due_jobs(datetime(2020, 1, 1, 0, 0, 15, tzinfo=UTC))) == ["b", "d"]
    assert ids(store.get_due_jobs(datetime(2020, 1, 1, 0, 0, 20, tzinfo=UTC))) == ["b", "d", "a"]
    assert store.get_due_jobs(datetime(2019, 1, 1, tzinfo=UTC)) == []
    assert store.lookup_job("zz") is None
    assert store.lookup_job("a") == store.jobs["a"]
    assert MemoryJobStore().get_next_run_time() is None


def test_memory_store_update_and_remove(pending_sched, store):
    store.update_job(make_job(pending_sched, "a", datetime(2019, 1, 1, tzinfo=UTC)))
    assert ids(store.get_all_jobs()) == ["a", "b", "d", "c"]
    store.update_job(make_job(pending_sched, "a", None, name="renamed"))
    assert ids(store.get_all_jobs()) == ["b", "d", "a", "c"]
    assert store.lookup_job("a").name == "renamed"
    store.remove_job("b")
    assert ids(store.get_all_jobs()) == ["d", "a", "c"]
    store.remove_all_jobs()
    assert store.get_all_jobs() == [] and store.get_next_run_time() is None


def test_memory_store_errors(pending_sched, store):
    with pytest.raises(ConflictingIdError) as info:
        store.add_job(make_job(pending_sched, "a", None))
    assert str(info.value) == "'Job identifier (a) conflicts with an existing job'"
    for call in (lambda: store.update_job(make_job(pending_sched, "zz", None)),
                 lambda: store.remove_job("zz")):
        with pytest.raises(JobLookupError) as info:
            call()
        assert str(info.value) == "'No job by the id of zz was found'"


def test_memory_store_naive_now_is_local_time(store):
    naive = datetime(2020, 1, 1, 0, 0, 20)
    assert ids(store.get_due_jobs(naive)) == ids(store.get_due_jobs(naive.astimezone()))


def test_memory_store_non_string_ids(store):
    assert store.lookup_job(5) is None
    with pytest.raises(JobLookupError):
        store.remove_job(5)


def test_scheduler_lookups_with_non_string_ids(sched):
    """An int primary key or a missing (None) id is simply "not found" in 3.x."""
    sched.add_job(noargs, "date", run_date=FAR, id="5")
    assert sched.get_job(5) is None
    assert sched.get_job(None) is None
    for call in (sched.remove_job, sched.pause_job, lambda i: sched.modify_job(i, name="x")):
        with pytest.raises(JobLookupError) as info:
            call(5)
        assert str(info.value) == "'No job by the id of 5 was found'"
