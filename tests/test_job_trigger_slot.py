"""A job whose trigger ``add_job`` made from an alias keeps only the native trigger and
rebuilds the Python trigger object on first use (issue #2): the rebuilt object must be the one
the job would have kept."""

from __future__ import annotations

import pickle
import zoneinfo
from datetime import datetime, timedelta, timezone

import pytest

from apscheduler_rs.schedulers.background import BackgroundScheduler
from apscheduler_rs.triggers.interval import IntervalTrigger


def noop():
    return None


@pytest.fixture(params=["UTC", "Europe/Berlin"])
def scheduler(request):
    s = BackgroundScheduler(timezone=zoneinfo.ZoneInfo(request.param))
    s.start(paused=True)
    yield s
    s.shutdown(wait=False)


@pytest.mark.parametrize("jitter", [None, 3, 0.5])
def test_rebuilt_trigger_is_the_one_add_job_made(scheduler, jitter):
    before = datetime.now(timezone.utc)
    job = scheduler.add_job(noop, "interval", minutes=5, jitter=jitter)
    after = datetime.now(timezone.utc)
    trigger = job.trigger
    assert type(trigger) is IntervalTrigger
    assert job.trigger is trigger  # created once, then kept
    assert trigger.timezone is scheduler.timezone
    assert trigger.interval == timedelta(minutes=5)
    assert trigger.jitter == jitter and type(trigger.jitter) is type(jitter)
    assert trigger.end_date is None
    assert before + timedelta(minutes=5) <= trigger.start_date <= after + timedelta(minutes=5)
    assert trigger.start_date.tzinfo is scheduler.timezone
    if jitter is None:
        assert job.next_run_time == trigger.start_date
    state = trigger.__getstate__()
    assert list(state) == ["version", "timezone", "start_date", "end_date", "interval", "jitter"]
    assert pickle.loads(pickle.dumps(trigger)).__getstate__() == state
    assert job.__getstate__()["trigger"] is trigger
    assert str(job).startswith("noop (trigger: interval[0:05:00], next run at: ")


def test_rebuilt_trigger_repr_and_schedule_match_a_directly_made_one(scheduler):
    job = scheduler.add_job(noop, "interval", hours=2)
    direct = IntervalTrigger(hours=2, start_date=job.trigger.start_date, timezone=scheduler.timezone)
    assert repr(job.trigger) == repr(direct)
    now = datetime.now(timezone.utc) + timedelta(days=3)
    assert job.trigger.get_next_fire_time(None, now) == direct.get_next_fire_time(None, now)
    assert job._get_run_times(now) == [t for t in job._get_run_times(now)]


def test_triggers_the_caller_holds_are_kept_as_they_are(scheduler):
    mine = IntervalTrigger(seconds=30, timezone=scheduler.timezone)
    job = scheduler.add_job(noop, mine)
    assert job.trigger is mine
    start = datetime(2030, 1, 1, tzinfo=timezone.utc)
    job2 = scheduler.add_job(noop, "interval", seconds=30, start_date=start, end_date=start + timedelta(days=1))
    assert job2.trigger.start_date == start and job2.trigger.start_date.tzinfo is timezone.utc
    assert job2.trigger.end_date == start + timedelta(days=1)


def test_modify_and_reschedule_replace_the_rebuilt_trigger(scheduler):
    job = scheduler.add_job(noop, "interval", seconds=10, id="j")
    scheduler.reschedule_job("j", trigger="interval", seconds=20)
    assert scheduler.get_job("j").trigger.interval == timedelta(seconds=20)
    replacement = IntervalTrigger(seconds=40, timezone=scheduler.timezone)
    job.modify(trigger=replacement)
    assert scheduler.get_job("j").trigger is replacement
