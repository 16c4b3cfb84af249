"""RedisJobStore against the Redis server: APScheduler 3.x's key layout, both ways."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from datetime import datetime, timezone

import pytest

from apscheduler_rs.events import EVENT_JOB_EXECUTED
from apscheduler_rs.jobstores.base import ConflictingIdError, JobLookupError
from apscheduler_rs.jobstores.redis import RedisJobStore
from apscheduler_rs.schedulers.background import BackgroundScheduler
from apscheduler_rs.triggers.date import DateTrigger

from .conftest import REDIS_ADDR, add_after_drop, require_server

UTC = timezone.utc
HOST, PORT = REDIS_ADDR.rsplit(":", 1)


def noop(*args, **kwargs):
    return None


@pytest.fixture
def keys():
    require_server("Redis", HOST, int(PORT))
    import redis

    prefix = f"aps-test-{uuid.uuid4().hex[:10]}"
    jobs_key, run_times_key = f"{prefix}.jobs", f"{prefix}.run_times"
    yield jobs_key, run_times_key
    client = redis.Redis(host=HOST, port=int(PORT))
    for key in client.keys(f"{prefix}*"):
        client.delete(key)


def make_store(keys):
    jobs_key, run_times_key = keys
    return RedisJobStore(jobs_key=jobs_key, run_times_key=run_times_key, host=HOST, port=int(PORT))


def test_constructor_checks():
    with pytest.raises(ValueError, match='The "db" parameter must not be empty'):
        RedisJobStore(db=None)
    with pytest.raises(ValueError, match='The "jobs_key" parameter must not be empty'):
        RedisJobStore(jobs_key="")
    with pytest.raises(ValueError, match='The "run_times_key" parameter must not be empty'):
        RedisJobStore(run_times_key="")
    assert repr(RedisJobStore()) == "<RedisJobStore>"


def test_store_contract_and_key_layout(keys):
    store = make_store(keys)
    s = BackgroundScheduler(jobstores={"default": store}, timezone="UTC")
    s.start(paused=True)
    try:
        t = lambda d: DateTrigger(datetime(2030, 1, d, tzinfo=UTC))  # noqa: E731
        s.add_job(noop, t(3), id="b-later")
        s.add_job(noop, t(1), id="z-early")
        s.add_job(noop, t(1), id="a-early")
        s.add_job(noop, t(2), id="mid")
        s.add_job(noop, t(4), id="paused").pause()
        assert [j.id for j in store.get_due_jobs(datetime(2030, 1, 2, tzinfo=UTC))] == ["a-early", "z-early", "mid"]
        assert [j.id for j in store.get_all_jobs()][-1] == "paused"
        assert store.get_next_run_time() == datetime(2030, 1, 1, tzinfo=UTC)
        client = store.redis
        assert sorted(client.hkeys(keys[0])) == [b"a-early", b"b-later", b"mid", b"paused", b"z-early"]
        assert client.zrange(keys[1], 0, -1, withscores=True) == [
            (b"a-early", 1893456000.0), (b"z-early", 1893456000.0), (b"mid", 1893542400.0), (b"b-later", 1893628800.0)
        ]
        job = store.lookup_job("mid")
        with pytest.raises(ConflictingIdError):
            store.add_job(job)
        store.remove_job("mid")
        with pytest.raises(JobLookupError):
            store.remove_job("mid")
        with pytest.raises(JobLookupError):
            store.update_job(job)
        assert store.lookup_job("mid") is None
        store.remove_all_jobs()
        assert store.get_all_jobs() == [] and store.get_next_run_time() is None
    finally:
        s.shutdown()


def test_reads_what_apscheduler_wrote(keys):
    from apscheduler.jobstores.redis import RedisJobStore as UpstreamStore
    from apscheduler.schedulers.background import BackgroundScheduler as UpstreamScheduler

    upstream = UpstreamScheduler(
        jobstores={"default": UpstreamStore(jobs_key=keys[0], run_times_key=keys[1], host=HOST, port=int(PORT))},
        timezone="UTC",
    )
    upstream.start(paused=True)
    upstream.add_job(f"{__name__}:noop", "cron", hour=9, minute=30, id="cron", timezone="Europe/Berlin",
                     start_date=datetime(2030, 1, 1, tzinfo=UTC))
    upstream.add_job(f"{__name__}:noop", "interval", minutes=15, id="interval", start_date=datetime(2030, 1, 1, tzinfo=UTC))
    upstream.shutdown()
    s = BackgroundScheduler(jobstores={"default": make_store(keys)}, timezone="UTC")
    s.start(paused=True)
    try:
        jobs = {j.id: j for j in s.get_jobs()}
        assert str(jobs["interval"].next_run_time) == "2030-01-01 00:00:00+00:00"
        assert str(jobs["cron"].next_run_time) == "2030-01-01 09:30:00+01:00"
    finally:
        s.shutdown()


def test_two_schedulers_sharing_keys_run_each_due_job_once(keys):
    counts: Counter[str] = Counter()
    lock = threading.Lock()
    done = threading.Event()
    n = 150

    def listener(event):
        with lock:
            counts[event.job_id] += 1
            if sum(counts.values()) >= n:
                done.set()

    schedulers = []
    for _ in range(2):
        s = BackgroundScheduler(jobstores={"default": make_store(keys)}, timezone="UTC")
        s.add_listener(listener, EVENT_JOB_EXECUTED)
        s.start(paused=True)
        schedulers.append(s)
    try:
        now = datetime.now(UTC)
        for i in range(n):
            schedulers[0].add_job(noop, "date", run_date=now, id=f"j{i}", misfire_grace_time=None)
        for s in schedulers:
            s.resume()
        assert done.wait(15)
        time.sleep(0.3)
        assert len(counts) == n and set(counts.values()) == {1}
    finally:
        for s in schedulers:
            s.shutdown()


def test_unrestorable_jobs_are_kept_aside(keys, caplog):
    store = make_store(keys)
    s = BackgroundScheduler(jobstores={"default": store}, timezone="UTC")
    s.start(paused=True)
    try:
        s.add_job(noop, "interval", hours=1, id="good")
        s.add_job(noop, "interval", hours=1, id="bad")
        store.redis.hset(keys[0], "bad", b"\x80\x05corrupt")
        assert [j.id for j in s.get_jobs()] == ["good"]
        assert 'Unable to restore job "bad" -- removing it' in caplog.text
        assert [i for i, _ in store.unrestorable_jobs()] == ["bad"]
        assert store.redis.hget(f"{keys[0]}.unrestorable", "bad") == b"\x80\x05corrupt"
        assert store.redis.zscore(keys[1], "bad") is None
    finally:
        s.shutdown()


def test_scheduler_recovers_when_redis_drops_its_connections(keys):
    """The server drops every client connection (what a restart does to clients; this
    server keeps nothing on disk, so a real restart would also empty it): the store
    reconnects by itself, the lease thread too, and jobs keep running."""
    import redis

    ran = threading.Event()
    store = RedisJobStore(jobs_key=keys[0], run_times_key=keys[1], host=HOST, port=int(PORT), lease_seconds=0.9)
    s = BackgroundScheduler(jobstores={"default": store}, timezone="UTC", jobstore_retry_interval=0.2)
    s.start()
    try:
        s.add_job(noop, "interval", hours=1, id="warm")
        admin = redis.Redis(host=HOST, port=int(PORT))
        assert admin.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes") >= 2
        lease_at_kill = float(admin.hget(f"{keys[0]}.nodes", store.node_id))
        s.add_listener(lambda e: ran.set(), EVENT_JOB_EXECUTED)
        add_after_drop(s, noop, "after-drop")
        assert ran.wait(5)
        assert [j.id for j in s.get_jobs()] == ["warm"]
        deadline = time.time() + 5  # the lease thread renews on a new connection of its own
        while time.time() < deadline and float(admin.hget(f"{keys[0]}.nodes", store.node_id)) <= lease_at_kill:
            time.sleep(0.1)
        assert float(admin.hget(f"{keys[0]}.nodes", store.node_id)) > lease_at_kill
    finally:
        s.shutdown()
