"""Job functions of the cluster tests, imported by every node as ``cluster_jobs``.

They write into a *record*: a directory of SQLite files (WAL mode), separate from the store
under test. Each node process records the runs it executes in a file of its own
(``{pid}.sqlite``), so a node that is SIGSTOPped in the middle of a write blocks nobody
else's record; ``read_runs`` adds the files up. Only the ``max_instances`` test's gauge lives
in a file shared by all nodes (``shared.sqlite``; nothing is stopped in that test). Each
thread keeps its own connections; statements run in autocommit mode, so each is atomic.
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

RUNS_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    job_id  TEXT    NOT NULL,
    run_us  INTEGER NOT NULL,          -- scheduled run time, microseconds since the epoch (UTC)
    n       INTEGER NOT NULL DEFAULT 1, -- how many times this process executed this run
    pid     INTEGER NOT NULL,
    started REAL    NOT NULL,           -- time.time() when the job function began (first time)
    PRIMARY KEY (job_id, run_us)
);
"""
SHARED_SCHEMA = """
CREATE TABLE IF NOT EXISTS gauge (name TEXT PRIMARY KEY, running INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS spans (
    job_id  TEXT NOT NULL, pid INTEGER NOT NULL, started REAL NOT NULL, ended REAL NOT NULL,
    running_at_start INTEGER NOT NULL
);
"""
SHARED = "shared.sqlite"

_local = threading.local()


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 60000")
    return conn


def create(directory: str) -> None:
    """Create an empty record (parent side)."""
    os.makedirs(directory, exist_ok=True)
    conn = connect(os.path.join(directory, SHARED))
    conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(SHARED_SCHEMA)
    conn.close()


def shared(directory: str) -> sqlite3.Connection:
    """A connection to the file all nodes share (parent side)."""
    return connect(os.path.join(directory, SHARED))


_create_lock = threading.Lock()
_created: set[tuple[str, int]] = set()


def _db(directory: str, name: str | None = None) -> sqlite3.Connection:
    """This thread's connection to this process's record file (or to ``name``)."""
    conns = getattr(_local, "conns", None)
    if conns is None:
        conns = _local.conns = {}
    key = (directory, name)
    if key not in conns:
        conn = connect(os.path.join(directory, name or f"{os.getpid()}.sqlite"))
        if name is None:
            # Once per process: switching to WAL takes a lock that other threads' writes
            # hold, and SQLite does not wait for it ("database is locked").
            with _create_lock:
                if (directory, os.getpid()) not in _created:
                    conn.execute("PRAGMA journal_mode = WAL")
                    conn.executescript(RUNS_SCHEMA)
                    _created.add((directory, os.getpid()))
        conns[key] = conn
    return conns[key]


def read_runs(directory: str) -> list[tuple[str, int, int, int, float]]:
    """``(job_id, run_us, n, pid, started)`` of every recorded run, over all processes: ``n``
    counts the executions on all nodes, ``pid`` and ``started`` are the earliest one's."""
    merged: dict[tuple[str, int], list] = {}
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".sqlite") or name == SHARED:
            continue
        conn = connect(os.path.join(directory, name))
        try:
            rows = conn.execute("SELECT job_id, run_us, n, pid, started FROM runs").fetchall()
        except sqlite3.OperationalError:  # created a moment ago, table not there yet
            rows = []
        finally:
            conn.close()
        for job_id, run_us, n, pid, started in rows:
            seen = merged.get((job_id, run_us))
            if seen is None:
                merged[(job_id, run_us)] = [n, pid, started]
            else:
                seen[0] += n
                if started < seen[2]:
                    seen[1:] = [pid, started]
    return [(j, r, n, pid, started) for (j, r), (n, pid, started) in merged.items()]


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
        "ON CONFLICT (job_id, run_us) DO UPDATE SET n = n + 1",
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
    conn = _db(path, SHARED)
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
