"""SQLAlchemyJobStore on SQLite files: APScheduler's format, durability and bad data."""

from __future__ import annotations

import logging
import pickle
import os
import shutil
import sqlite3
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from apscheduler_rs.jobstores.base import ConflictingIdError, JobLookupError
from apscheduler_rs.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler_rs.schedulers.background import BackgroundScheduler
from apscheduler_rs.triggers.date import DateTrigger

DATA = Path(__file__).resolve().parent.parent / "data"
FIXTURE = DATA / "apscheduler-3.11-jobs.sqlite"
UTC = timezone.utc


def noop(*args, **kwargs):
    return None


def rows(path, table="apscheduler_jobs"):
    with sqlite3.connect(path) as conn:
        return conn.execute(f"SELECT id, next_run_time, job_state FROM {table} ORDER BY id").fetchall()


@pytest.fixture
def db(tmp_path):
    return tmp_path / "jobs.sqlite"


@pytest.fixture
def scheduler(db):
    s = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{db}")}, timezone="UTC")
    yield s
    if s.running:
        s.shutdown(wait=False)


@pytest.fixture
def fixture_module_importable(monkeypatch):
    monkeypatch.syspath_prepend(str(DATA))
    yield
    sys.modules.pop("fixture_jobs", None)


def test_fixture_database_opens_with_the_right_run_times(tmp_path, fixture_module_importable):
    copy = tmp_path / "fixture.sqlite"
    shutil.copy(FIXTURE, copy)
    s = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{copy}")})
    s.start(paused=True)
    try:
        jobs = {job.id: job for job in s.get_jobs()}
        assert [job.id for job in s.get_jobs()] == ["interval-job", "cron-job", "date-job"]
        assert str(jobs["interval-job"]) == "tick (trigger: interval[0:15:00], next run at: 2030-01-01 00:00:00 UTC)"
        assert str(jobs["cron-job"]) == (
            "Weekday greeting (trigger: cron[day_of_week='mon-fri', hour='9', minute='30'], "
            "next run at: 2030-01-01 09:30:00 CET)"
        )
        assert str(jobs["date-job"]) == "add (trigger: date[2030-06-15 12:00:00 EDT], next run at: 2030-06-15 12:00:00 EDT)"
        nxt = {k: j.trigger.get_next_fire_time(j.next_run_time, j.next_run_time) for k, j in jobs.items()}
        assert nxt["interval-job"] == datetime(2030, 1, 1, 0, 15, tzinfo=UTC)
        assert str(nxt["cron-job"]) == "2030-01-02 09:30:00+01:00"
        assert nxt["date-job"] is None
        assert s._jobstores["default"].get_next_run_time() == datetime(2030, 1, 1, tzinfo=UTC)
        assert jobs["cron-job"].args == ("world",)
        assert jobs["date-job"].func(*jobs["date-job"].args) == 5
    finally:
        s.shutdown()
    assert len(rows(copy)) == 3


def test_fixture_jobs_run_when_due(tmp_path, fixture_module_importable):
    """Move the fixture's interval job to now: it runs once (its grace time is 1 s) and its
    next run time is stored as APScheduler would."""
    copy = tmp_path / "fixture.sqlite"
    shutil.copy(FIXTURE, copy)
    import fixture_jobs

    fixture_jobs.CALLS.clear()
    s = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{copy}")})
    s.start(paused=True)
    at = datetime.now(UTC)
    s.modify_job("interval-job", next_run_time=at)
    s.resume()
    deadline = time.monotonic() + 5
    while not fixture_jobs.CALLS and time.monotonic() < deadline:
        time.sleep(0.02)
    s.shutdown()
    assert fixture_jobs.CALLS == [("tick",)]
    stored = {r[0]: r[1] for r in rows(copy)}
    # IntervalTrigger: the run time plus the interval.
    assert stored == {"interval-job": (at + timedelta(minutes=15)).timestamp(), "cron-job": 1893486600.0,
                      "date-job": 1907769600.0}


def test_unrestorable_rows_are_logged_and_kept_aside(tmp_path, caplog):
    copy = tmp_path / "fixture.sqlite"
    shutil.copy(FIXTURE, copy)
    sys.modules.pop("fixture_jobs", None)
    store = SQLAlchemyJobStore(url=f"sqlite:///{copy}")
    s = BackgroundScheduler(jobstores={"default": store})
    s.start(paused=True)
    with caplog.at_level(logging.ERROR, logger="apscheduler.jobstores.default"):
        assert s.get_jobs() == []
    messages = [r.getMessage() for r in caplog.records if r.name == "apscheduler.jobstores.default"]
    assert sorted(messages) == sorted(f'Unable to restore job "{i}" -- removing it' for i in ("interval-job", "cron-job", "date-job"))
    assert all(r.exc_info for r in caplog.records if r.name == "apscheduler.jobstores.default")
    aside = store.unrestorable_jobs()
    assert sorted(i for i, _ in aside) == ["cron-job", "date-job", "interval-job"]
    assert "fixture_jobs" in aside[0][1]
    assert rows(copy) == []
    with sqlite3.connect(copy) as conn:
        assert conn.execute("SELECT COUNT(*) FROM apscheduler_jobs_unrestorable").fetchone() == (3,)
    # Once the module is importable again, the rows come back unchanged.
    sys.path.insert(0, str(DATA))
    try:
        assert store.restore_unrestorable_jobs() == 3
        assert sorted(j.id for j in s.get_jobs()) == ["cron-job", "date-job", "interval-job"]
    finally:
        sys.path.remove(str(DATA))
        sys.modules.pop("fixture_jobs", None)
        s.shutdown()
    assert len(rows(copy)) == 3


def test_a_corrupt_row_is_set_aside_and_nothing_else_is_lost(scheduler, db, caplog):
    ran = threading.Event()
    scheduler.start()
    for i in range(5):
        scheduler.add_job(noop, "interval", hours=1, id=f"keep{i}")
    scheduler.add_job(f"{__name__}:noop", "date", run_date=datetime(2099, 1, 1, tzinfo=UTC), id="victim")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE apscheduler_jobs SET job_state = X'80049500deadbeef', next_run_time = 0 WHERE id = 'victim'")
    from apscheduler_rs.events import EVENT_JOB_EXECUTED

    scheduler.add_listener(lambda e: ran.set(), EVENT_JOB_EXECUTED)
    with caplog.at_level(logging.ERROR):
        scheduler.add_job(noop, id="trigger-pass")  # runs now: the pass meets the corrupt row
        assert ran.wait(5)
    assert 'Unable to restore job "victim" -- removing it' in caplog.text
    assert sorted(j.id for j in scheduler.get_jobs()) == [f"keep{i}" for i in range(5)]
    assert [i for i, _ in scheduler._jobstores["default"].unrestorable_jobs()] == ["victim"]
    with sqlite3.connect(db) as conn:
        (state,) = conn.execute("SELECT job_state FROM apscheduler_jobs_unrestorable").fetchone()
    assert state == b"\x80\x04\x95\x00\xde\xad\xbe\xef"


def test_store_contract(db):
    store = SQLAlchemyJobStore(url=f"sqlite:///{db}")
    s = BackgroundScheduler(jobstores={"default": store}, timezone="UTC")
    s.start(paused=True)
    try:
        t = lambda d: DateTrigger(datetime(2030, 1, d, tzinfo=UTC))  # noqa: E731
        s.add_job(noop, t(3), id="b-later")
        s.add_job(noop, t(1), id="z-early")
        s.add_job(noop, t(1), id="a-early")
        s.add_job(noop, t(2), id="mid")
        s.add_job(noop, t(4), id="paused").pause()
        assert [j.id for j in store.get_all_jobs()] == ["z-early", "a-early", "mid", "b-later", "paused"]
        assert [j.id for j in store.get_due_jobs(datetime(2030, 1, 2, tzinfo=UTC))] == ["z-early", "a-early", "mid"]
        assert store.get_next_run_time() == datetime(2030, 1, 1, tzinfo=UTC)
        job = store.lookup_job("mid")
        assert job._jobstore_alias == "default" and job._scheduler is s
        assert store.lookup_job("nope") is None
        with pytest.raises(ConflictingIdError, match=r"Job identifier \(mid\) conflicts with an existing job"):
            store.add_job(job)
        store.remove_job("mid")
        with pytest.raises(JobLookupError, match="No job by the id of mid was found"):
            store.remove_job("mid")
        with pytest.raises(JobLookupError):
            store.update_job(job)
        assert repr(store) == f"<SQLAlchemyJobStore (url=sqlite:///{db})>"
        store.remove_all_jobs()
        assert store.get_all_jobs() == [] and store.get_next_run_time() is None
    finally:
        s.shutdown()


def test_table_layout_is_apschedulers(db):
    s = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{db}")}, timezone="UTC")
    s.start(paused=True)
    s.add_job(noop, "date", run_date=datetime(2030, 1, 1, 0, 0, 0, 123456, tzinfo=UTC), id="j")
    s.shutdown()
    with sqlite3.connect(db) as conn, sqlite3.connect(FIXTURE) as ref:
        schema = "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'apscheduler_jobs' ORDER BY name"
        assert conn.execute(schema).fetchall() == ref.execute(schema).fetchall()
        # Our own tables sit beside APScheduler's, under names of their own.
        ours = "SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'apscheduler_jobs' ORDER BY name"
        assert [n for (n,) in conn.execute(ours)] == [
            "apscheduler_jobs_nodes", "apscheduler_jobs_runs", "apscheduler_jobs_unrestorable"]
        ((ts, state),) = conn.execute("SELECT next_run_time, job_state FROM apscheduler_jobs").fetchall()
    assert ts == 1893456000 + 0.123456
    state = pickle.loads(state)
    assert list(state) == ["version", "id", "func", "trigger", "executor", "args", "kwargs", "name",
                           "misfire_grace_time", "coalesce", "max_instances", "next_run_time"]
    assert state["func"] == f"{__name__}:noop"


def test_unpicklable_arguments_fail_at_add_job_and_write_nothing(scheduler, db):
    scheduler.start(paused=True)
    with pytest.raises(TypeError, match="pickle"):
        scheduler.add_job(noop, "interval", seconds=5, args=[threading.Lock()], id="bad")
    with pytest.raises(ValueError, match="cannot be serialized"):
        scheduler.add_job(lambda: None, "interval", seconds=5, id="lambda")
    assert rows(db) == []
    assert scheduler.get_jobs() == []


def test_jobs_survive_a_restart(db):
    url = f"sqlite:///{db}"
    s1 = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=url)}, timezone="UTC")
    s1.start()
    s1.add_job(noop, "interval", minutes=5, id="five", args=(1, "x"), kwargs={"k": [1]})
    first = s1.get_job("five").next_run_time
    s1.shutdown()
    s2 = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=url)}, timezone="UTC")
    s2.start(paused=True)
    job = s2.get_job("five")
    assert job.next_run_time == first and job.args == (1, "x") and job.kwargs == {"k": [1]}
    s2.shutdown()


def _jobs_in_database_file(db, backup, expected, timeout=5.0):
    """How many jobs a copy of the database file alone (no -wal) holds, once it holds
    `expected` or when `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        shutil.copy(db, backup)
        try:
            found = len(rows(backup))
        except sqlite3.DatabaseError:  # no table yet, or a copy taken mid-checkpoint
            found = -1
        if found == expected or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_added_jobs_reach_the_database_file_itself_soon_without_a_shutdown(scheduler, db, tmp_path):
    """The WAL is copied into the file by the store's checkpoint thread within a fraction of a
    second, not only when 1,000 pages have piled up (SQLite's default): a copy of the `.sqlite`
    file alone, as a file backup takes it, holds the jobs while the scheduler keeps running."""
    scheduler.start(paused=True)
    for i in range(50):  # ~150 log pages: SQLite's own automatic checkpoint would not run yet
        scheduler.add_job(noop, "interval", minutes=5, id=f"job{i}")
    assert _jobs_in_database_file(db, tmp_path / "backup.sqlite", 50) == 50
    assert scheduler.running and len(rows(db)) == 50


def test_due_jobs_run_and_are_advanced_or_removed(scheduler, db):
    done = threading.Event()
    calls = []

    def listener(event):
        calls.append(event.job_id)
        if len(calls) >= 2:
            done.set()

    from apscheduler_rs.events import EVENT_JOB_EXECUTED

    scheduler.add_listener(listener, EVENT_JOB_EXECUTED)
    scheduler.start()
    scheduler.add_job(noop, "date", id="once")
    scheduler.add_job(noop, "interval", hours=1, id="hourly", next_run_time=datetime.now(UTC))
    assert done.wait(5)
    ids = [r[0] for r in rows(db)]
    assert ids == ["hourly"]
    assert rows(db)[0][1] > time.time() + 3500


def test_in_memory_url_and_engine_argument():
    sqlalchemy = pytest.importorskip("sqlalchemy")
    s = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url="sqlite://")}, timezone="UTC")
    s.start(paused=True)
    s.add_job(noop, "interval", seconds=3, id="m")
    assert [j.id for j in s.get_jobs()] == ["m"]
    s.shutdown()
    engine = sqlalchemy.create_engine("sqlite://")
    store = SQLAlchemyJobStore(engine=engine)
    assert store.engine is engine
    with pytest.raises(ValueError, match='Need either "engine" or "url" defined'):
        SQLAlchemyJobStore()


def test_subclass_reconstitute_hook_is_used(db):
    seen = []

    class Custom(SQLAlchemyJobStore):
        def _reconstitute_job(self, job_state):
            job = super()._reconstitute_job(job_state)
            seen.append(job.id)
            return job

    s = BackgroundScheduler(jobstores={"default": Custom(url=f"sqlite:///{db}")}, timezone="UTC")
    s.start(paused=True)
    s.add_job(noop, "interval", seconds=3, id="c")
    assert [j.id for j in s.get_jobs()] == ["c"]
    assert s.get_job("c").id == "c"
    assert seen == ["c", "c"]
    s.shutdown()


def test_configured_by_plugin_alias_and_gconfig(db):
    s = BackgroundScheduler({"apscheduler.jobstores.default": {"type": "sqlalchemy", "url": f"sqlite:///{db}"},
                             "apscheduler.timezone": "UTC"})
    assert type(s._jobstores["default"]) is SQLAlchemyJobStore
    s.start(paused=True)
    s.add_job(noop, "interval", seconds=5, id="cfg")
    s.shutdown()
    assert [r[0] for r in rows(db)] == ["cfg"]
    s2 = BackgroundScheduler(timezone="UTC")
    s2.add_jobstore("sqlalchemy", "db", url=f"sqlite:///{db}")
    s2.start(paused=True)
    assert [j.id for j in s2.get_jobs(jobstore="db")] == ["cfg"]
    s2.shutdown()


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="reads the process's memory map (Linux)")
def test_the_store_and_pythons_sqlite3_share_one_sqlite_library():
    """Two copies of SQLite in one process break each other's locks on a file: `F_GETLK` does
    not report a process's own locks, so the second copy takes itself for the file's only
    user and truncates the WAL index the first has mapped (SIGBUS), and closing either's file
    drops both's locks. The store therefore runs on the libsqlite3 Python's sqlite3 loads."""
    from apscheduler_rs._core import _sqlite_library

    library = _sqlite_library()
    assert library is not None, "SQLite is compiled into the extension (built with bundled-sqlite)"
    with open("/proc/self/maps") as maps:
        mapped = {os.path.realpath(line.split()[-1]) for line in maps if "libsqlite3" in line}
    assert mapped == {os.path.realpath(library)}


SEEN: list = []


def look_around(db):
    """A job that records which run it is and what the sharing tables hold while it runs."""
    from apscheduler_rs import current_run

    with sqlite3.connect(db) as conn:
        runs = conn.execute("SELECT job_id, state FROM apscheduler_jobs_runs").fetchall()
        (nodes,) = conn.execute("SELECT count(*) FROM apscheduler_jobs_nodes").fetchone()
    SEEN.append((current_run(), runs, nodes))


def test_sharing_tables_and_the_single_scheduler_mode(db):
    """A shared store (the default) registers its scheduler and records runs while they run;
    ``shared=False`` keeps the tables but writes nothing to them. Bad leases are refused."""
    from apscheduler_rs import current_run
    from apscheduler_rs.events import EVENT_JOB_EXECUTED

    with pytest.raises(ValueError, match="lease_seconds"):
        SQLAlchemyJobStore(url=f"sqlite:///{db}", lease_seconds=0)
    for shared in (True, False):
        done = threading.Event()
        SEEN.clear()
        store = SQLAlchemyJobStore(url=f"sqlite:///{db}", shared=shared)
        s = BackgroundScheduler(jobstores={"default": store}, timezone="UTC")
        s.add_listener(lambda e: done.set(), EVENT_JOB_EXECUTED)
        s.start()
        try:
            at = datetime.now(UTC).replace(microsecond=0)
            s.add_job(look_around, "date", args=(str(db),), run_date=at, id=f"j-{shared}", misfire_grace_time=None)
            assert done.wait(5)
            assert (store.node_id is not None) == shared
        finally:
            s.shutdown()
        ((run, rows, nodes),) = SEEN
        assert run == (f"j-{shared}", at)
        assert (rows, nodes) == (([(f"j-{shared}", 1)], 1) if shared else ([], 0))
        assert current_run() is None
    with sqlite3.connect(db) as conn:  # the clean shutdowns unregistered and left no runs behind
        assert conn.execute("SELECT count(*) FROM apscheduler_jobs_nodes").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM apscheduler_jobs_runs").fetchone() == (0,)


RUNNING_SEEN: list[int] = []
ENDED: set[str] = set()


def count_running(path, job_id):
    """A job that lingers, noting how many runs that have not ended the store has marked
    running meanwhile (an ended run's row is deleted a little later, off the run's path)."""
    for _ in range(3):
        with sqlite3.connect(path) as conn:
            marked = [j for (j,) in conn.execute("SELECT job_id FROM apscheduler_jobs_runs WHERE state = 1")]
        RUNNING_SEEN.append(len(set(marked) - ENDED))
        time.sleep(0.05)
    ENDED.add(job_id)


def test_runs_marked_running_never_outnumber_the_free_workers(db):
    """The fence marks a run running only when a worker is free to start it: a burst of slow
    jobs on a two-worker pool never has more than two running rows, and every run happens."""
    from apscheduler_rs.events import EVENT_JOB_EXECUTED
    from apscheduler_rs.executors.pool import ThreadPoolExecutor

    RUNNING_SEEN.clear()
    ENDED.clear()
    done = threading.Semaphore(0)
    s = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{db}")},
                            executors={"default": ThreadPoolExecutor(2)}, timezone="UTC")
    s.add_listener(lambda e: done.release(), EVENT_JOB_EXECUTED)
    s.start(paused=True)
    try:
        now = datetime.now(UTC)
        for i in range(8):
            s.add_job(count_running, "date", args=(str(db), f"slow{i}"), run_date=now, id=f"slow{i}",
                      misfire_grace_time=None)
        s.resume()
        for _ in range(8):
            assert done.acquire(timeout=10)
    finally:
        s.shutdown()
    assert len(RUNNING_SEEN) == 24
    assert max(RUNNING_SEEN) == 2, RUNNING_SEEN
    assert min(RUNNING_SEEN) >= 1


def test_add_job_on_a_running_scheduler_commits_events_logs_and_replaces(scheduler, db, caplog):
    from apscheduler_rs.events import EVENT_JOB_ADDED

    added = []
    scheduler.add_listener(lambda e: added.append((e.job_id, e.jobstore)), EVENT_JOB_ADDED)
    scheduler.start(paused=True)
    caplog.set_level(logging.INFO, logger="apscheduler.scheduler")
    job = scheduler.add_job(noop, "interval", seconds=30, id="j", name="first", args=(1,))
    [(job_id, ts, state)] = rows(db)  # committed before add_job returned
    assert (job_id, ts) == ("j", job.next_run_time.timestamp())
    assert pickle.loads(state)["name"] == "first" and pickle.loads(state)["args"] == (1,)
    assert added == [("j", "default")]
    assert 'Added job "first" to job store "default"' in caplog.messages
    assert job._jobstore_alias == "default" and job._scheduler is scheduler
    with pytest.raises(ConflictingIdError):
        scheduler.add_job(noop, "interval", seconds=30, id="j", name="second")
    scheduler.add_job(noop, "interval", seconds=60, id="j", name="third", replace_existing=True)
    [(_, _, state)] = rows(db)
    assert pickle.loads(state)["name"] == "third"
    assert [j.name for j in scheduler.get_jobs()] == ["third"]


def test_a_store_subclass_keeps_its_own_add_job(db):
    class Recording(SQLAlchemyJobStore):
        def add_job(self, job):
            self.seen = job.id
            super().add_job(job)

    store = Recording(url=f"sqlite:///{db}")
    s = BackgroundScheduler(jobstores={"default": store}, timezone="UTC")
    s.start(paused=True)
    try:
        s.add_job(noop, "interval", seconds=30, id="sub")
        assert store.seen == "sub" and [r[0] for r in rows(db)] == ["sub"]
    finally:
        s.shutdown(wait=False)
