"""apscheduler_rs.events against apscheduler.events (3.11.3)."""

from __future__ import annotations

import inspect
from datetime import datetime, timezone

import apscheduler.events as theirs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from oracle_helpers import outcome

import apscheduler_rs.events as ours

CODE_NAMES = [name for name in dir(theirs) if name.startswith("EVENT_")]
CLASSES = ["SchedulerEvent", "JobEvent", "JobSubmissionEvent", "JobExecutionEvent"]


def test_all_matches_upstream():
    assert ours.__all__ == theirs.__all__
    assert len([n for n in ours.__all__ if n.startswith("EVENT_")]) == 18
    assert "EVENT_SCHEDULER_START" not in ours.__all__


@pytest.mark.parametrize("name", CODE_NAMES)
def test_codes_match_upstream(name):
    assert getattr(ours, name) == getattr(theirs, name)


def test_code_values():
    assert ours.EVENT_SCHEDULER_START == ours.EVENT_SCHEDULER_STARTED == 1
    assert ours.EVENT_JOB_MAX_INSTANCES == 65536
    assert ours.EVENT_ALL == 131071 == 0x1FFFF
    codes = [getattr(ours, n) for n in ours.__all__ if n.startswith("EVENT_") and n != "EVENT_ALL"]
    assert sorted(codes) == [2**i for i in range(17)]


def _shape(cls):
    """Parameter names, kinds and defaults (annotations are ours alone)."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(cls).parameters.values()]


@pytest.mark.parametrize("name", CLASSES)
def test_class_shapes_match_upstream(name):
    ours_cls, theirs_cls = getattr(ours, name), getattr(theirs, name)
    assert _shape(ours_cls) == _shape(theirs_cls)
    assert [c.__name__ for c in ours_cls.__mro__] == [c.__name__ for c in theirs_cls.__mro__]
    assert ours_cls.__module__ == "apscheduler_rs.events"


VALUES = st.one_of(
    st.none(), st.integers(), st.text(max_size=5), st.datetimes(timezones=st.just(timezone.utc))
)
CONSTRUCTIONS = st.one_of(
    st.tuples(st.just("SchedulerEvent"), st.lists(VALUES, min_size=1, max_size=2)),
    st.tuples(st.just("JobEvent"), st.lists(VALUES, min_size=3, max_size=3)),
    st.tuples(st.just("JobSubmissionEvent"), st.lists(VALUES, min_size=4, max_size=4)),
    st.tuples(st.just("JobExecutionEvent"), st.lists(VALUES, min_size=4, max_size=7)),
    st.tuples(st.sampled_from(CLASSES), st.lists(VALUES, max_size=8)),  # bad arities too
)


@given(CONSTRUCTIONS)
def test_construction_vars_and_repr_match_upstream(construction):
    name, args = construction
    ours_out = outcome(getattr(ours, name), *args)
    theirs_out = outcome(getattr(theirs, name), *args)
    if ours_out[0] == "raised":
        # TypeError for wrong arity names the function; compare the type only.
        assert theirs_out[0] == "raised" and ours_out[1] == theirs_out[1]
        return
    assert theirs_out[0] == "returned"
    ours_event, theirs_event = getattr(ours, name)(*args), getattr(theirs, name)(*args)
    assert list(vars(ours_event).items()) == list(vars(theirs_event).items())
    assert repr(ours_event) == repr(theirs_event)
    assert str(ours_event) == str(theirs_event)


def test_repr_quirk_is_kept():
    assert repr(ours.SchedulerEvent(1)) == "<self.__class__.__name__ (code=1)>"
    assert str(ours.JobEvent(512, "x", "default")) == "<self.__class__.__name__ (code=512)>"


def test_vars_order_and_defaults():
    run_time = datetime(2030, 1, 1, tzinfo=timezone.utc)
    event = ours.JobExecutionEvent(ours.EVENT_JOB_ERROR, "j", "default", run_time)
    assert list(vars(event)) == [
        "code",
        "alias",
        "job_id",
        "jobstore",
        "scheduled_run_time",
        "retval",
        "exception",
        "traceback",
    ]
    assert (event.alias, event.retval, event.exception, event.traceback) == (None,) * 4
    submission = ours.JobSubmissionEvent(ours.EVENT_JOB_SUBMITTED, "j", None, [run_time])
    assert list(vars(submission)) == ["code", "alias", "job_id", "jobstore", "scheduled_run_times"]
    assert ours.SchedulerEvent(ours.EVENT_EXECUTOR_ADDED, "pool").alias == "pool"


def test_events_are_mutable_and_have_identity_equality():
    first, second = ours.SchedulerEvent(1), ours.SchedulerEvent(1)
    assert first != second and first == first
    first.extra = 5
    hash(first)
