"""Rows written by apscheduler_rs, after `python -m apscheduler_rs.jobstores.downgrade`, open in
the real APScheduler 3.11.3 with the same schedules (and still open in apscheduler_rs)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from apscheduler_rs.jobstores.downgrade import main as downgrade
from apscheduler_rs.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler_rs.schedulers.background import BackgroundScheduler
from apscheduler_rs.triggers.combining import OrTrigger
from apscheduler_rs.triggers.cron import CronTrigger
from apscheduler_rs.triggers.interval import IntervalTrigger

UTC = timezone.utc
START = datetime(2030, 1, 1, tzinfo=UTC)


def noop(*args):
    return None


def test_downgraded_rows_open_in_apscheduler(tmp_path):
    pytest.importorskip("sqlalchemy")
    url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    ours = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=url)}, timezone="UTC")
    ours.start(paused=True)
    ours.add_job(noop, "interval", minutes=15, start_date=START, id="interval", args=(1, "a"))
    ours.add_job(noop, "cron", day="last", hour=9, minute=30, timezone="Europe/Berlin", start_date=START, id="cron")
    ours.add_job(noop, "date", run_date=datetime(2030, 6, 15, 12, tzinfo=UTC), id="date")
    ours.add_job(noop, OrTrigger([CronTrigger(hour=6, timezone="UTC", start_date=START),
                                  IntervalTrigger(hours=5, start_date=START)]), id="or")
    ours.add_job(noop, "interval", hours=1, start_date=START, id="paused").pause()
    expected = {j.id: (j.next_run_time, j.trigger.get_next_fire_time(j.next_run_time, j.next_run_time)
                       if j.next_run_time else None) for j in ours.get_jobs()}
    ours.shutdown()

    assert downgrade([url]) == 0

    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore as UpstreamStore
    from apscheduler.schedulers.background import BackgroundScheduler as UpstreamScheduler

    upstream = UpstreamScheduler(jobstores={"default": UpstreamStore(url=url)}, timezone="UTC")
    upstream.start(paused=True)
    try:
        jobs = {j.id: j for j in upstream.get_jobs()}
        assert type(jobs["cron"].trigger).__module__ == "apscheduler.triggers.cron"
        got = {i: (j.next_run_time, j.trigger.get_next_fire_time(j.next_run_time, j.next_run_time) if j.next_run_time else None)
               for i, j in jobs.items()}
        assert got == expected
        assert jobs["interval"].args == (1, "a")
    finally:
        upstream.shutdown()

    again = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=url)}, timezone="UTC")
    again.start(paused=True)
    assert sorted(j.id for j in again.get_jobs()) == sorted(expected)
    assert type(again.get_job("cron").trigger).__module__ == "apscheduler_rs.triggers.cron"
    again.shutdown()


def test_downgraded_redis_jobs_open_in_apscheduler():
    from .conftest import require_server

    require_server("Redis", "127.0.0.1", 6379)
    import uuid

    import redis

    from apscheduler.jobstores.redis import RedisJobStore as UpstreamRedis
    from apscheduler.schedulers.background import BackgroundScheduler as UpstreamScheduler
    from apscheduler_rs.jobstores.redis import RedisJobStore

    keys = {"jobs_key": f"downgrade.{uuid.uuid4().hex}.jobs", "run_times_key": f"downgrade.{uuid.uuid4().hex}.rt"}
    client = redis.Redis(host="127.0.0.1", port=6379)
    try:
        ours = BackgroundScheduler(jobstores={"default": RedisJobStore(**keys)}, timezone="UTC")
        ours.start(paused=True)
        ours.add_job(noop, "interval", minutes=15, start_date=START, id="interval", args=(1, "a"))
        ours.add_job(noop, "cron", hour=9, timezone="Europe/Berlin", start_date=START, id="cron")
        expected = {j.id: j.next_run_time for j in ours.get_jobs()}
        ours.shutdown()

        assert downgrade(["redis://127.0.0.1:6379/0", "--jobs-key", keys["jobs_key"],
                          "--run-times-key", keys["run_times_key"]]) == 0

        upstream = UpstreamScheduler(jobstores={"default": UpstreamRedis(**keys)}, timezone="UTC")
        upstream.start(paused=True)
        try:
            jobs = {j.id: j for j in upstream.get_jobs()}
            assert type(jobs["cron"].trigger).__module__ == "apscheduler.triggers.cron"
            assert {i: j.next_run_time for i, j in jobs.items()} == expected
        finally:
            upstream.shutdown()
    finally:
        client.delete(*[k for k in client.keys(keys["jobs_key"] + "*")], keys["run_times_key"])
