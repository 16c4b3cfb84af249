"""Differential test: the job-management API of apscheduler-rs against APScheduler 3.11.3.

Hypothesis generates one random sequence of scheduler operations (add_job with
interval/date/cron aliases or trigger instances, modify_job, reschedule_job,
pause/resume/remove/get_job, remove_all_jobs, Job methods, a late start) and
the SAME sequence is driven through two schedulers in one process:

* the reference: ``apscheduler`` (the real 3.11.3, imported directly), and
* the subject:   ``apscheduler_rs`` (imported directly).

After every step the two are compared: the op's result or exception (type
name, builtin base classes, ``str``), ``get_jobs()`` (ids, names, next run time
as a UTC instant, ``str``/``repr`` of job and trigger, args, kwargs, the
option values, ``pending``, ``func_ref``), per-store listings, ``get_job`` for
every id in the pool, ``state``, and ``print_jobs()`` for every store filter.

Nothing may fire, so results never depend on the moment a call is made: the
schedulers are either never started (pending jobs) or started with
``start(paused=True)``, and every trigger gets an explicit ``start_date`` /
``run_date`` (interval and cron start dates lie in 2090..2150, so "now" never
influences the next fire time).  A trigger never gets ``jitter``, and no
``add_job`` call is left without a trigger (that would mean "now").

Oracle mode (``APSCHEDULER_RS_ORACLE=1``): conftest.py aliases
``apscheduler_rs`` to ``apscheduler``, so this compares two independent
APScheduler 3.11.3 schedulers with each other -- that validates the harness
itself (and ``test_harness_detects_divergence`` proves it can fail).

Known, deliberately excluded upstream quirk: when ``start()`` fails while adding
pending jobs (a duplicate id without ``replace_existing``), upstream leaves a
half-started scheduler (scheduler.md §8.3 item 2).  The exception is compared,
then the example ends, because apscheduler-rs may fix that state on purpose.
"""

from __future__ import annotations

import importlib
import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

pytestmark = [pytest.mark.differential, pytest.mark.timeout(300)]

REF_PACKAGE = "apscheduler"       # the real APScheduler 3.11.3
IMPL_PACKAGE = "apscheduler_rs"   # aliased to "apscheduler" in oracle mode by conftest.py


# --------------------------------------------------------------------------------------
# Job functions: module level, so both packages name and reference them the same way
# --------------------------------------------------------------------------------------
def job_noargs():
    return None


def job_one(x):
    return x


def job_two(a, b=2):
    return a + b


def job_any(*args, **kwargs):
    return args, kwargs


def job_kwonly(a, *, flag):
    return a, flag


class CallableThing:
    def __call__(self, x=0):
        return x


CALLABLE_THING = CallableThing()

FUNCS = [
    job_noargs, job_one, job_two, job_any, job_kwonly, CALLABLE_THING, len,
    f"{__name__}:job_one", "builtins:print", "os.path:nosuchthing", "nosuchmodule:x", "no_colon", 5,
]


# --------------------------------------------------------------------------------------
# Op descriptions: plain data, materialized separately for each side
# --------------------------------------------------------------------------------------
class _Undef:
    def __repr__(self):
        return "UNDEF"


UNDEF = _Undef()  # "do not pass this argument at all"


@dataclass(frozen=True)
class Trig:
    """A trigger *instance*, built from each package's own trigger class."""

    alias: str
    kwargs: dict = field(hash=False)


@dataclass
class Op:
    name: str
    kwargs: dict

    def __repr__(self):
        return f"{self.name}({', '.join(f'{k}={v!r}' for k, v in self.kwargs.items())})"


IDS = ["a", "b", "c"]
STORES = ["default", "other"]
STORE_FILTERS = [None, "default", "other", "nope"]
TZ_NAMES = ["UTC", "Europe/Helsinki", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
TZ_OBJECTS = [timezone.utc, ZoneInfo("Europe/Helsinki"), ZoneInfo("America/New_York"),
              timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-3), "BRT")]

# far in the future: "now" never matters for interval/cron start dates
far_naive = st.datetimes(min_value=datetime(2090, 1, 1), max_value=datetime(2150, 12, 31))
# run dates and next_run_time values may also lie in the past (a paused scheduler never fires)
any_naive = st.datetimes(min_value=datetime(1999, 1, 1), max_value=datetime(2150, 12, 31))


def datetime_values(naive):
    return st.one_of(
        naive,
        st.builds(lambda dt, tz: dt.replace(tzinfo=tz), naive, st.sampled_from(TZ_OBJECTS)),
        naive.map(lambda dt: dt.strftime("%Y-%m-%d %H:%M:%S")),
        naive.map(lambda dt: dt.isoformat()),
        st.builds(lambda dt, off: dt.strftime("%Y-%m-%dT%H:%M:%S") + off, naive,
                  st.sampled_from(["Z", "+02:00", "-05:30"])),
        naive.map(lambda dt: dt.date()),
    )


far_dt = datetime_values(far_naive)
any_dt = datetime_values(any_naive)

interval_kwargs = st.fixed_dictionaries(
    {"start_date": far_dt},
    optional={
        "weeks": st.integers(0, 2),
        "days": st.integers(0, 3),
        "hours": st.integers(0, 30),
        "minutes": st.integers(0, 90),
        "seconds": st.sampled_from([0, 1, 30, 0.5, 2.25, 3600]),
        "end_date": far_dt,
        "timezone": st.sampled_from(TZ_NAMES),
    },
)

# Field values are chosen so that every combination can match some day: an impossible
# combination makes upstream search up to year 9999, which costs about a second per call.
cron_kwargs = st.fixed_dictionaries(
    {"start_date": far_dt},
    optional={
        "year": st.sampled_from(["*", "2100", "2095-2200", "*/2"]),
        "month": st.sampled_from(["*", "1", "6-8", "*/4", "jan,jul"]),
        "day": st.sampled_from(["*", "1", "15", "last", "1-7", "*/10"]),
        "week": st.sampled_from(["*", "*/2"]),
        "day_of_week": st.sampled_from(["*", "mon-fri", "sun", "0", "sat,sun"]),
        "hour": st.sampled_from(["*", "3", "*/6", "1-5", "0,12"]),
        "minute": st.sampled_from(["*", "*/5", "0", "15,45", "10-20/3"]),
        "second": st.sampled_from(["0", "*/30", "59"]),
        "end_date": far_dt,
        "timezone": st.sampled_from(TZ_NAMES),
    },
)

date_kwargs = st.fixed_dictionaries(
    {"run_date": any_dt}, optional={"timezone": st.sampled_from(TZ_NAMES)}
)

bad_trigger_kwargs = st.sampled_from([
    ("interval", {"start_date": datetime(2100, 1, 1), "foo": 1}),
    ("cron", {"start_date": datetime(2100, 1, 1), "minute": "61"}),
    ("cron", {"start_date": datetime(2100, 1, 1), "hour": "x"}),
    ("cron", {"start_date": datetime(2100, 1, 1), "day_of_week": "funday"}),
    ("date", {"run_date": "not a date"}),
    ("interval", {"start_date": "2100-13-01 00:00:00"}),
])

good_trigger_specs = st.one_of(
    st.tuples(st.just("interval"), interval_kwargs),
    st.tuples(st.just("cron"), cron_kwargs),
    st.tuples(st.just("date"), date_kwargs),
)


def weighted(*pairs):
    """Pick one of several strategies with the given integer weights (first = simplest)."""
    pool = [strategy for weight, strategy in pairs for _ in range(weight)]
    return st.sampled_from(pool).flatmap(lambda strategy: strategy)


def mostly(valid, invalid, ratio=5):
    """``valid`` about ``ratio`` times as often as ``invalid``."""
    return weighted((ratio, valid), (1, invalid))


trigger_specs = mostly(good_trigger_specs, bad_trigger_kwargs, ratio=10)

# (func, args, kwargs) that fit each other; UNDEF = not passed
GOOD_CALLS = [
    (job_noargs, UNDEF, UNDEF),
    (job_one, (1,), UNDEF),
    (job_one, UNDEF, {"x": 1}),
    (job_two, [4], UNDEF),
    (job_two, (1, 2), UNDEF),
    (job_two, (1,), [("b", 3)]),
    (job_any, "ab", [("x", 1)]),
    (job_kwonly, (1,), {"flag": True}),
    (CALLABLE_THING, UNDEF, UNDEF),
    (len, ("abc",), UNDEF),
    (f"{__name__}:job_one", (1,), UNDEF),
    ("builtins:print", (1, 2), {"sep": "-"}),
]
args_values = st.sampled_from([(), (1,), (1, 2), (1, 2, 3), [4], "ab"])
kwargs_values = st.sampled_from([{}, {"x": 1}, {"b": 5}, {"z": 0}, {"flag": True}, [("x", 1)]])
any_calls = st.tuples(st.sampled_from(FUNCS), st.one_of(st.just(UNDEF), args_values),
                      st.one_of(st.just(UNDEF), kwargs_values))
calls = mostly(st.sampled_from(GOOD_CALLS), any_calls, ratio=6)

name_values = mostly(st.sampled_from([None, "alpha", "beta gamma"]), st.sampled_from(["", 5]), 10)
grace_values = mostly(st.sampled_from([None, 1, 30, True]), st.sampled_from([0, -1, "5", 1.5]), 10)
coalesce_values = st.sampled_from([True, False, "no", 0])
max_inst_values = mostly(st.sampled_from([1, 3, True]), st.sampled_from([0, None, "3"]), 10)
nrt_values = mostly(st.one_of(st.none(), any_dt),
                    st.sampled_from(["garbage", "2095-01-02 03:04", 5]), 10)
executor_values = mostly(st.sampled_from(["default", "nope"]), st.just(5), 10)
store_filters = st.sampled_from(STORE_FILTERS)
lookup_stores = st.sampled_from([None] * 6 + ["default", "other", "nope"])


@st.composite
def add_job_ops(draw, ids):
    alias, tkw = draw(trigger_specs)
    func, args, kwargs = draw(calls)
    kw = {"func": func, "args": args, "kwargs": kwargs}
    if draw(st.integers(0, 4)) == 0:
        kw["trigger"] = Trig(alias, tkw)          # a trigger instance
        kw["trigger_args"] = {}
    else:
        kw["trigger"] = alias                     # a plugin alias plus trigger kwargs
        kw["trigger_args"] = tkw
    kw["id"] = draw(ids)
    for key, strat in [("name", name_values), ("misfire_grace_time", grace_values),
                       ("coalesce", coalesce_values), ("max_instances", max_inst_values),
                       ("next_run_time", nrt_values), ("executor", executor_values)]:
        if draw(st.integers(0, 2)) == 0:
            kw[key] = draw(strat)
    kw["jobstore"] = draw(st.sampled_from(STORES))
    kw["replace_existing"] = draw(st.booleans())
    return Op("add_job", kw)


def _with_call(changes):
    call_ = changes.pop("call", None)
    if call_ is not None:
        for key, value in zip(("func", "args", "kwargs"), call_):
            if value is not UNDEF:
                changes[key] = value
    return changes


valid_changes = st.fixed_dictionaries(
    {},
    optional={
        "name": st.sampled_from(["alpha", "beta gamma", "renamed"]),
        "max_instances": st.sampled_from([1, 3, True]),
        "coalesce": coalesce_values,
        "misfire_grace_time": st.sampled_from([None, 1, 30]),
        "next_run_time": st.one_of(st.none(), any_dt),
        "executor": st.sampled_from(["default", "nope"]),
        "trigger": good_trigger_specs.map(lambda t: Trig(*t)),
        "call": st.sampled_from(GOOD_CALLS),
    },
).map(_with_call)

BAD_CHANGES = [
    ("name", ""), ("name", 5), ("max_instances", 0), ("max_instances", None), ("max_instances", "3"),
    ("misfire_grace_time", 0), ("misfire_grace_time", -1), ("misfire_grace_time", "5"),
    ("misfire_grace_time", 1.5), ("args", "x"), ("args", ()), ("args", (1, 2, 3, 4)), ("kwargs", "s"),
    ("kwargs", {"zz": 1}), ("trigger", "cron"), ("id", "other"), ("id", "a"), ("foo", 1),
    ("executor", 5), ("next_run_time", "garbage"), ("next_run_time", 5), ("func", 5),
    ("func", "no_colon"), ("func", "nosuchmodule:x"),
]
bad_changes = st.builds(lambda ch, bad: {**ch, bad[0]: bad[1]}, valid_changes,
                        st.sampled_from(BAD_CHANGES))
change_sets = mostly(valid_changes, bad_changes, ratio=3)


@st.composite
def reschedule_ops(draw, ids):
    alias, tkw = draw(trigger_specs)
    kw = {"id": draw(ids), "jobstore": draw(lookup_stores)}
    if draw(st.booleans()):
        kw["trigger"], kw["trigger_args"] = alias, tkw
    else:
        kw["trigger"], kw["trigger_args"] = Trig(alias, tkw), {}
    return Op("reschedule_job", kw)


def op_strategy(existing_ids):
    """The next op; ids mostly name jobs that exist right now (in the reference scheduler)."""
    ids = st.sampled_from(IDS)
    if existing_ids:
        ids = weighted((3, st.sampled_from(sorted(existing_ids))), (1, ids))
    id_ops = st.builds(lambda name, i, js: Op(name, {"id": i, "jobstore": js}),
                       st.sampled_from(["pause_job", "resume_job", "remove_job", "get_job"]),
                       ids, lookup_stores)
    modify_ops = st.builds(lambda i, js, ch: Op("modify_job", {"id": i, "jobstore": js, "changes": ch}),
                           ids, lookup_stores, change_sets)
    job_method_ops = st.builds(lambda i, m, ch: Op("job_method", {"id": i, "method": m, "changes": ch}),
                               ids, st.sampled_from(["pause", "resume", "remove", "modify"]),
                               change_sets)
    return weighted(
        (8, add_job_ops(ids)),
        (5, modify_ops),
        (3, reschedule_ops(ids)),
        (5, id_ops),
        (3, job_method_ops),
        (1, st.builds(lambda js: Op("remove_all_jobs", {"jobstore": js}), store_filters)),
        (1, st.just(Op("start_paused", {}))),
    )


job_defaults = st.fixed_dictionaries(
    {},
    optional={
        "coalesce": st.sampled_from([True, False, "false", "yes"]),
        "max_instances": st.sampled_from([1, 2, "3"]),
        "misfire_grace_time": st.sampled_from([None, 1, "30"]),
    },
)


# --------------------------------------------------------------------------------------
# One side of the comparison
# --------------------------------------------------------------------------------------
class Side:
    def __init__(self, package: str) -> None:
        self.package = package
        self.background = importlib.import_module(package + ".schedulers.background")
        self.triggers = {
            "interval": importlib.import_module(package + ".triggers.interval").IntervalTrigger,
            "cron": importlib.import_module(package + ".triggers.cron").CronTrigger,
            "date": importlib.import_module(package + ".triggers.date").DateTrigger,
        }
        self.scheduler = None

    def new_scheduler(self, defaults):
        self.scheduler = self.background.BackgroundScheduler(
            timezone="UTC", job_defaults=dict(defaults)
        )
        self.scheduler.add_jobstore("memory", "other")
        return self.scheduler

    def materialize(self, value):
        """A fresh copy of an op value; trigger specs become this package's trigger instances."""
        if isinstance(value, Trig):
            return self.triggers[value.alias](**self.materialize(value.kwargs))
        if isinstance(value, dict):
            return {k: self.materialize(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.materialize(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.materialize(v) for v in value)
        return value

    def run(self, op: Op):
        sched = self.scheduler
        kw = self.materialize(op.kwargs)
        if op.name == "add_job":
            func, trigger, trigger_args = kw.pop("func"), kw.pop("trigger"), kw.pop("trigger_args")
            kw = {k: v for k, v in kw.items() if v is not UNDEF}
            return sched.add_job(func, trigger, **kw, **trigger_args)
        if op.name == "modify_job":
            return sched.modify_job(kw["id"], kw["jobstore"], **kw["changes"])
        if op.name == "reschedule_job":
            return sched.reschedule_job(kw["id"], kw["jobstore"], kw["trigger"], **kw["trigger_args"])
        if op.name in ("pause_job", "resume_job", "remove_job", "get_job"):
            return getattr(sched, op.name)(kw["id"], kw["jobstore"])
        if op.name == "remove_all_jobs":
            return sched.remove_all_jobs(kw["jobstore"])
        if op.name == "job_method":
            job = sched.get_job(kw["id"])
            if job is None:
                return "no such job"
            if kw["method"] == "modify":
                return job.modify(**kw["changes"])
            return getattr(job, kw["method"])()
        if op.name == "start_paused":
            return sched.start(paused=True)
        raise AssertionError(f"unknown op {op.name}")

    def shutdown(self):
        sched = self.scheduler
        if sched is not None and sched.running:
            sched.shutdown(wait=False)


# --------------------------------------------------------------------------------------
# Normalization and comparison
# --------------------------------------------------------------------------------------
UNSET = "<unset>"


def _attr(obj, name):
    try:
        return getattr(obj, name)
    except AttributeError:
        return UNSET


def _instant(value):
    if isinstance(value, datetime):
        return ("datetime", value.astimezone(timezone.utc) if value.tzinfo else ("naive", value))
    return value


def _plain(value):
    """Values that compare across packages (containers keep their type name)."""
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_plain(v) for v in value])
    if isinstance(value, dict):
        return ("dict", sorted((repr(k), _plain(v)) for k, v in value.items()))
    return value


def _func_name(func):
    if func is UNSET:
        return UNSET
    return getattr(func, "__qualname__", type(func).__qualname__)


def describe_job(job):
    if job is None:
        return None
    trigger = _attr(job, "trigger")
    return {
        "id": job.id,
        "name": _attr(job, "name"),
        "repr": repr(job),
        "str": str(job),
        "trigger_type": type(trigger).__name__,
        "trigger_str": str(trigger),
        "trigger_repr": repr(trigger),
        "next_run_time": _instant(_attr(job, "next_run_time")),
        "args": _plain(_attr(job, "args")),
        "kwargs": _plain(_attr(job, "kwargs")),
        "coalesce": _attr(job, "coalesce"),
        "max_instances": _attr(job, "max_instances"),
        "misfire_grace_time": _attr(job, "misfire_grace_time"),
        "executor": _attr(job, "executor"),
        "pending": job.pending,
        "func": _func_name(_attr(job, "func")),
        "func_ref": _attr(job, "func_ref"),
    }


def describe_result(value):
    if type(value).__name__ == "Job":
        return ("Job", describe_job(value))
    return ("value", _plain(value))


def describe_exception(exc):
    builtin_bases = tuple(c.__name__ for c in type(exc).__mro__ if c.__module__ == "builtins")
    return ("raised", type(exc).__name__, builtin_bases, str(exc))


def snapshot(sched):
    prints = {}
    for js in STORE_FILTERS:
        out = io.StringIO()
        sched.print_jobs(jobstore=js, out=out)
        prints[js] = out.getvalue()
    return {
        "state": sched.state,
        "running": sched.running,
        "jobs": [describe_job(j) for j in sched.get_jobs()],
        "per_store": {js: [j.id for j in sched.get_jobs(js)] for js in STORE_FILTERS[1:]},
        "get_job": {i: describe_job(sched.get_job(i)) for i in IDS},
        "print_jobs": prints,
    }


def call(side, op):
    try:
        return False, describe_result(side.run(op))
    except Exception as exc:  # noqa: BLE001 - every exception is part of the behaviour
        return True, describe_exception(exc)


def _differences(expected, actual, path="", out=None):
    """Leaf-level differences between two nested descriptions, as readable lines."""
    out = [] if out is None else out
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in list(expected) + [k for k in actual if k not in expected]:
            _differences(expected.get(key, "<missing>"), actual.get(key, "<missing>"),
                         f"{path}[{key!r}]", out)
    elif (isinstance(expected, (list, tuple)) and isinstance(actual, (list, tuple))
          and len(expected) == len(actual) and type(expected) is type(actual)):
        for index, (e, a) in enumerate(zip(expected, actual)):
            _differences(e, a, f"{path}[{index}]", out)
    elif expected != actual:
        out.append(f"  at {path or '<top>'}:\n    {REF_PACKAGE:<15} {expected!r}\n    {IMPL_PACKAGE:<15} {actual!r}")
    return out


def assert_same(step, what, expected, actual):
    if actual != expected:
        lines = _differences(expected, actual)
        raise AssertionError(f"step {step}: {what} differs\n" + "\n".join(lines[:12]))


def run_sequence(ref: Side, impl: Side, defaults, start_first: bool, sequence, record=True):
    log = note if record else (lambda text: None)
    ref.new_scheduler(defaults)
    impl.new_scheduler(defaults)
    try:
        if start_first:
            ref.scheduler.start(paused=True)
            impl.scheduler.start(paused=True)
        assert_same("setup", "state", snapshot(ref.scheduler), snapshot(impl.scheduler))
        for step, op in enumerate(sequence):
            log(f"step {step}: {op!r}")
            ref_raised, ref_result = call(ref, op)
            log(f"    -> {ref_result!r}")
            if record:
                event(f"{op.name}: {('raised ' + ref_result[1] + ' ' + ref_result[3][:70]) if ref_raised else 'ok'}")
            _, impl_result = call(impl, op)
            assert_same(step, f"result of {op!r}", ref_result, impl_result)
            if op.name == "start_paused" and ref_raised:
                return  # upstream leaves a half-started scheduler here; see module docstring
            assert_same(step, f"state after {op!r}", snapshot(ref.scheduler), snapshot(impl.scheduler))
    finally:
        ref.shutdown()
        impl.shutdown()


@pytest.fixture(scope="module")
def sides():
    return Side(REF_PACKAGE), Side(IMPL_PACKAGE)


# --------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------
@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(defaults=job_defaults, start_first=st.booleans(), data=st.data())
def test_job_api_matches_apscheduler(sides, defaults, start_first, data):
    ref, impl = sides
    length = data.draw(st.integers(2, 30), label="number of ops")

    def sequence():
        for _ in range(length):
            yield data.draw(op_strategy({j.id for j in ref.scheduler.get_jobs()}), label="op")

    run_sequence(ref, impl, defaults, start_first, sequence())


def test_harness_detects_divergence(sides):
    """The comparison must fail when the two schedulers really differ."""
    ref, impl = sides
    ref.new_scheduler({})
    impl.new_scheduler({})
    try:
        for side in (ref, impl):
            side.scheduler.start(paused=True)
        seq = [Op("add_job", {"func": job_noargs, "trigger": "date", "id": "a", "jobstore": "default",
                              "trigger_args": {"run_date": datetime(2100, 1, 1)}})]
        for side in (ref, impl):
            side.run(seq[0])
        assert snapshot(ref.scheduler) == snapshot(impl.scheduler)
        impl.scheduler.modify_job("a", name="tampered")
        with pytest.raises(AssertionError, match="differs"):
            assert_same(0, "state", snapshot(ref.scheduler), snapshot(impl.scheduler))
        # an exception on one side only is a difference too
        raised, result = call(ref, Op("remove_job", {"id": "zz", "jobstore": None}))
        assert raised and result == ("raised", "JobLookupError",
                                     ("KeyError", "LookupError", "Exception", "BaseException", "object"),
                                     "'No job by the id of zz was found'")
        with pytest.raises(AssertionError, match="differs"):
            assert_same(0, "result", result, describe_result(None))
    finally:
        ref.shutdown()
        impl.shutdown()


def test_fixed_sequence_covers_pending_then_start(sides):
    """A hand-written sequence that must always be in the generated space, as a smoke test."""
    ref, impl = sides
    seq = [
        Op("add_job", {"func": job_one, "trigger": "interval", "id": "a", "jobstore": "other",
                       "args": [1], "replace_existing": False,
                       "trigger_args": {"minutes": 5, "start_date": datetime(2100, 1, 1, 12)}}),
        Op("add_job", {"func": job_noargs, "trigger": "cron", "id": "b", "jobstore": "default",
                       "replace_existing": False,
                       "trigger_args": {"hour": "3", "start_date": "2100-06-01 00:00:00",
                                        "timezone": "Europe/Helsinki"}}),
        Op("modify_job", {"id": "a", "jobstore": None, "changes": {"name": "renamed"}}),
        Op("pause_job", {"id": "b", "jobstore": None}),
        Op("start_paused", {}),
        Op("resume_job", {"id": "b", "jobstore": None}),
        Op("reschedule_job", {"id": "a", "jobstore": "other", "trigger": "date",
                              "trigger_args": {"run_date": date(2101, 2, 3)}}),
        Op("remove_job", {"id": "a", "jobstore": "default"}),
        Op("remove_all_jobs", {"jobstore": "other"}),
    ]
    run_sequence(ref, impl, {}, False, seq, record=False)
