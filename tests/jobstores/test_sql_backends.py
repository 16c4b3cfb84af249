"""The SQLAlchemyJobStore contract on every SQL backend (SQLite, PostgreSQL, MariaDB/MySQL)."""

from __future__ import annotations

import importlib
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timezone

import pytest

from apscheduler_rs.events import EVENT_JOB_EXECUTED
from apscheduler_rs.jobstores.base import ConflictingIdError, JobLookupError
from apscheduler_rs.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler_rs.schedulers.background import BackgroundScheduler
from apscheduler_rs.triggers.date import DateTrigger

from .conftest import count_rows

UTC = timezone.utc


def noop(*args, **kwargs):
    return None


def scheduler_on(url, table, **kwargs):
    store = SQLAlchemyJobStore(url=url, tablename=table)
    return BackgroundScheduler(jobstores={"default": store}, timezone="UTC", **kwargs), store


def test_store_contract(sql_target):
    url, table = sql_target
    s, store = scheduler_on(url, table)
    s.start(paused=True)
    try:
        t = lambda d: DateTrigger(datetime(2030, 1, d, 0, 0, 0, 250000, tzinfo=UTC))  # noqa: E731
        s.add_job(noop, t(3), id="b-later")
        s.add_job(noop, t(1), id="z-early")
        s.add_job(noop, t(2), id="mid", args=(1, "two"), kwargs={"k": [3]})
        s.add_job(noop, t(4), id="paused").pause()
        assert [j.id for j in store.get_all_jobs()] == ["z-early", "mid", "b-later", "paused"]
        assert [j.id for j in store.get_due_jobs(datetime(2030, 1, 2, 1, tzinfo=UTC))] == ["z-early", "mid"]
        assert store.get_next_run_time() == datetime(2030, 1, 1, 0, 0, 0, 250000, tzinfo=UTC)
        job = store.lookup_job("mid")
        assert (job.args, job.kwargs, job._jobstore_alias) == ((1, "two"), {"k": [3]}, "default")
        assert store.lookup_job("nope") is None
        with pytest.raises(ConflictingIdError):
            store.add_job(job)
        job._modify(name="renamed")
        store.update_job(job)
        assert store.lookup_job("mid").name == "renamed"
        store.remove_job("mid")
        with pytest.raises(JobLookupError):
            store.remove_job("mid")
        with pytest.raises(JobLookupError):
            store.update_job(job)
        store.remove_all_jobs()
        assert store.get_all_jobs() == [] and store.get_next_run_time() is None
    finally:
        s.shutdown()


def test_unrestorable_rows_are_set_aside(sql_target, caplog, tmp_path, monkeypatch):
    url, table = sql_target
    module = f"gone_{table}"
    (tmp_path / f"{module}.py").write_text("def f():\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    s, store = scheduler_on(url, table)
    s.start(paused=True)
    try:
        s.add_job(noop, "interval", hours=1, id="good")
        s.add_job(f"{module}:f", "interval", hours=1, id="bad")
        (tmp_path / f"{module}.py").rename(tmp_path / "elsewhere.txt")
        sys.modules.pop(module, None)
        importlib.invalidate_caches()
        assert [j.id for j in s.get_jobs()] == ["good"]
        assert 'Unable to restore job "bad" -- removing it' in caplog.text
        assert store.unrestorable_jobs() == [("bad", f"LookupError: Error resolving reference {module}:f: could not import module")]
        assert store.restore_unrestorable_jobs() == 1  # back in the table: fails again, set aside again
        assert [j.id for j in s.get_jobs()] == ["good"]
        (tmp_path / "elsewhere.txt").rename(tmp_path / f"{module}.py")
        importlib.invalidate_caches()
        assert store.restore_unrestorable_jobs() == 1
        assert sorted(j.id for j in s.get_jobs()) == ["bad", "good"]
        assert store.unrestorable_jobs() == []
    finally:
        sys.modules.pop(module, None)
        s.shutdown()


def test_two_schedulers_sharing_a_table_run_each_due_job_once(sql_target):
    url, table = sql_target
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
        s, _store = scheduler_on(url, table)
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
        assert sorted(counts) == sorted(f"j{i}" for i in range(n))
        assert set(counts.values()) == {1}
        assert schedulers[1].get_jobs() == []
    finally:
        for s in schedulers:
            s.shutdown()
    # Every run went through the fence and its end was written: no run is left in the ledger.
    assert count_rows(url, f"{table}_runs") == 0


def test_scheduler_recovers_when_the_server_drops_its_connection(tmp_path):
    """PostgreSQL terminates the store's connection (as a server restart would): the pass
    fails, is retried after jobstore_retry_interval on a new connection, and the job runs."""
    from .conftest import PG_URL, _drop_pg, add_after_drop, require_server

    require_server("PostgreSQL", "127.0.0.1", 5432)
    import psycopg

    app = f"apsrs-{time.time_ns()}"
    table = f"aps_drop_{time.time_ns() % 10**9}"
    ran = threading.Event()
    s, store = scheduler_on(f"{PG_URL}?application_name={app}", table, jobstore_retry_interval=0.2)
    s.start()
    try:
        s.add_job(noop, "interval", hours=1, id="warm")
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s", (app,)
            ).fetchone()[0]
        assert killed == 2  # the store's connection and its lease connection
        s.add_listener(lambda e: ran.set(), EVENT_JOB_EXECUTED)
        add_after_drop(s, noop, "after-drop")
        assert ran.wait(5)
        assert [j.id for j in s.get_jobs()] == ["warm"]
    finally:
        s.shutdown()
        _drop_pg(table)


def test_tableschema_puts_every_table_in_that_postgresql_schema():
    """``tableschema``: APScheduler's table, its index and our side tables live in the schema."""
    from .conftest import PG_URL, require_server

    require_server("PostgreSQL", "127.0.0.1", 5432)
    import psycopg

    schema = f"aps_schema_{time.time_ns() % 10**9}"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    ran = threading.Event()
    store = SQLAlchemyJobStore(url=PG_URL, tablename="jobs", tableschema=schema)
    s = BackgroundScheduler(jobstores={"default": store}, timezone="UTC")
    try:
        s.start()
        s.add_listener(lambda e: ran.set(), EVENT_JOB_EXECUTED)
        s.add_job(noop, "interval", hours=1, id="kept")
        s.add_job(noop, id="now")
        assert ran.wait(5)
        assert [j.id for j in s.get_jobs()] == ["kept"]
        with psycopg.connect(PG_URL) as admin:
            tables = admin.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1", (schema,)
            ).fetchall()
            index = admin.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = 'jobs' AND indexname LIKE 'ix_%%'",
                (schema,),
            ).fetchall()
            (count,) = admin.execute(f"SELECT count(*) FROM {schema}.jobs").fetchone()
        assert [t for (t,) in tables] == ["jobs", "jobs_nodes", "jobs_runs", "jobs_unrestorable"]
        assert index == [(f"ix_{schema}_jobs_next_run_time",)]
        assert count == 1
    finally:
        s.shutdown()
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")
