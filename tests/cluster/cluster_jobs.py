"""Job functions of the cluster tests, imported by every node as ``cluster_jobs``.

They write into a *record* database: an SQLite file in WAL mode, separate from the store
under test, shared by all the node processes of one test. Each thread keeps its own
connection; statements run in autocommit mode, so each one is atomic.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time

try:
    from apscheduler_rs import current_run
except ImportError:  # the core of issue #5 is not in this build: the jobs fail (and the test)
    current_run = None

# Harness check only: with APS_CLUSTER_RECORD_VIA_EVENTS=1 the nodes record runs from
# EVENT_JOB_SUBMITTED listeners instead of current_run() (see node.py); never set in the suite.
VIA_EVENTS = os.environ.get("APS_CLUSTER_RECORD_VIA_EVENTS") == "1"

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    job_id  TEXT    NOT NULL,
    run_us  INTEGER NOT NULL,          -- scheduled run time, microseconds since the epoch (UTC)
    n       INTEGER NOT NULL DEFAULT 1, -- how many times this run was executed
    pid     INTEGER NOT NULL,           -- the node that executed it (first time)
    started REAL    NOT NULL,           -- time.time() when the job function began
    dup_pid INTEGER,                    -- the node of the last duplicate, if any
    PRIMARY KEY (job_id, run_us)
);
CREATE TABLE IF NOT EXISTS gauge (name TEXT PRIMARY KEY, running INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS spans (
    job_id  TEXT NOT NULL, pid INTEGER NOT NULL, started REAL NOT NULL, ended REAL NOT NULL,
    running_at_start INTEGER NOT NULL
);
"""

_local = threading.local()


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 60000")
    return conn


def create(path: str) -> None:
    """Create an empty record database (parent side)."""
    conn = connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(SCHEMA)
    conn.close()


def _db(path: str) -> sqlite3.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = connect(path)
    return conn


def _this_run() -> tuple[str, int]:
    if current_run is None:
        raise RuntimeError("apscheduler_rs.current_run is missing from this build (issue #5)")
    run = current_run()
    if run is None:
        raise RuntimeError("current_run() returned None inside a job")
    job_id, run_time = run
    if run_time.utcoffset() is None:
        raise RuntimeError(f"current_run() gave a naive run time: {run_time!r}")
    return job_id, round(run_time.timestamp() * 1_000_000)


def note_run(path: str, job_id: str, run_us: int, started: float) -> None:
    _db(path).execute(
        "INSERT INTO runs (job_id, run_us, pid, started) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (job_id, run_us) DO UPDATE SET n = n + 1, dup_pid = excluded.pid",
        (job_id, run_us, os.getpid(), started),
    )


def record(path: str, max_pause: float = 0.0) -> None:
    """Record which scheduled run this is, then linger up to ``max_pause`` seconds."""
    started = time.time()
    if not VIA_EVENTS:
        job_id, run_us = _this_run()
        note_run(path, job_id, run_us, started)
    if max_pause:
        time.sleep(random.uniform(0, max_pause))


def slow(path: str, seconds: float, job_id: str) -> None:
    """A job slower than its interval that checks that no other instance of it is running
    anywhere: ``gauge.running`` counts the instances inside this function."""
    conn = _db(path)
    (running,) = conn.execute(
        "UPDATE gauge SET running = running + 1 WHERE name = ? RETURNING running", (job_id,)
    ).fetchone()
    started = time.time()
    try:
        if not VIA_EVENTS:
            run_id, run_us = _this_run()
            note_run(path, run_id, run_us, started)
        time.sleep(seconds)
    finally:
        ended = time.time()
        conn.execute("UPDATE gauge SET running = running - 1 WHERE name = ?", (job_id,))
        conn.execute("INSERT INTO spans VALUES (?, ?, ?, ?, ?)", (job_id, os.getpid(), started, ended, running))
