"""The configuration from the project's seed notes runs as written (issue #6).

Only the imports change (``apscheduler`` -> ``apscheduler_rs``); the MongoDB store is left
out because no MongoDB server exists in the test environment.
"""

from __future__ import annotations

import threading

import pytest

import procpool_jobs as jobs

pytestmark = pytest.mark.timeout(60)


def build_seed_scheduler():
    """The seed's "Method 1", minus ``'mongo': MongoDBJobStore()``."""
    from pytz import utc

    from apscheduler_rs.executors.pool import ProcessPoolExecutor, ThreadPoolExecutor
    from apscheduler_rs.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler_rs.schedulers.background import BackgroundScheduler

    jobstores = {
        "default": SQLAlchemyJobStore(url="sqlite:///jobs.sqlite"),
    }
    executors = {
        "default": ThreadPoolExecutor(20),
        "processpool": ProcessPoolExecutor(5),
    }
    job_defaults = {
        "coalesce": False,
        "max_instances": 3,
    }
    return BackgroundScheduler(jobstores=jobstores, executors=executors, job_defaults=job_defaults, timezone=utc)


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # 'sqlite:///jobs.sqlite' is relative to the working directory
    return tmp_path


def test_seed_configuration_runs_jobs_on_both_executors_and_persists_them(in_tmp):
    pytest.importorskip("apscheduler_rs.jobstores.sqlalchemy", reason="SQL job store not built yet (issue #4)")
    from apscheduler_rs.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED

    scheduler = build_seed_scheduler()
    events, cond = [], threading.Condition()

    def my_listener(event):
        with cond:
            events.append(event)
            cond.notify_all()

    scheduler.add_listener(my_listener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    scheduler.start()
    try:
        assert scheduler._job_defaults["coalesce"] is False and scheduler._job_defaults["max_instances"] == 3
        scheduler.add_job(jobs.square, args=[6], id="threaded")
        scheduler.add_job(jobs.pid, executor="processpool", id="in-process-pool")
        scheduler.add_job(jobs.square, "interval", minutes=2, args=[2], id="my_job_id")
        with cond:
            assert cond.wait_for(lambda: len(events) >= 2, 30), events
        by_id = {e.job_id: e for e in events}
        assert by_id["threaded"].retval == 36
        assert by_id["in-process-pool"].code == EVENT_JOB_EXECUTED
        job = scheduler.get_job("my_job_id")
        assert (job.coalesce, job.max_instances) == (False, 3)
    finally:
        scheduler.shutdown()
    assert (in_tmp / "jobs.sqlite").exists()

    # The interval job is on disk: a new scheduler with the same configuration finds it.
    again = build_seed_scheduler()
    again.start(paused=True)
    try:
        assert [j.id for j in again.get_jobs()] == ["my_job_id"]
    finally:
        again.shutdown()
