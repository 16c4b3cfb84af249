"""Lifecycle edges: restarting after shutdown, and leaving the interpreter while running."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

from apscheduler_rs.events import EVENT_JOB_EXECUTED
from apscheduler_rs.schedulers.background import BackgroundScheduler


def test_a_scheduler_restarts_after_shutdown():
    # A deliberate divergence: APScheduler's pool executors stay closed after shutdown().
    scheduler = BackgroundScheduler(timezone="UTC")
    executed = []
    scheduler.add_listener(lambda e: executed.append(e.job_id), EVENT_JOB_EXECUTED)
    for round_ in range(2):
        scheduler.start()
        scheduler.add_job(print, args=[f"round {round_}"], id=f"r{round_}")
        deadline = time.monotonic() + 5
        while f"r{round_}" not in executed and time.monotonic() < deadline:
            time.sleep(0.01)
        scheduler.shutdown()
    assert executed == ["r0", "r1"]


EXIT_SCRIPT = textwrap.dedent(
    """
    import time
    from apscheduler_rs.schedulers.background import BackgroundScheduler

    def slow():
        time.sleep(0.3)
        print("slow job finished", flush=True)

    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(slow)
    scheduler.add_job(print, "interval", seconds=0.01, args=["tick"])
    scheduler.start()
    time.sleep(0.1)
    print("leaving without shutdown", flush=True)
    """
)


def test_the_interpreter_exits_cleanly_while_a_scheduler_runs():
    # Native threads must be stopped before the interpreter is torn down; a running job is
    # waited for, as concurrent.futures' workers are.
    done = subprocess.run([sys.executable, "-c", EXIT_SCRIPT], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "leaving without shutdown" in done.stdout
    assert "slow job finished" in done.stdout
    assert "Fatal" not in done.stderr and "panicked" not in done.stderr


def _nested_function():
    def nested():
        return None

    return nested


def test_a_failed_start_stops_what_it_started_and_can_be_retried(tmp_path):
    # A pending job that cannot be stored makes start() raise, as in 3.x. The worker threads
    # and the store's cluster lease it had started are stopped again (3.x leaves its pools
    # and stores started), and the pending jobs already stored are not added twice on retry.
    import os
    import sqlite3

    from apscheduler_rs.jobstores.sqlalchemy import SQLAlchemyJobStore

    def threads():
        return len(os.listdir("/proc/self/task"))

    db = tmp_path / "jobs.sqlite"
    scheduler = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{db}")}, timezone="UTC")
    scheduler.add_job(print, "interval", seconds=60, id="fine")
    scheduler.add_job(_nested_function(), "interval", seconds=60, id="nested")
    before = threads()
    try:
        scheduler.start(paused=True)
    except ValueError as e:
        assert "cannot be serialized" in str(e)
    else:
        raise AssertionError("start() should fail")
    assert not scheduler.running
    deadline = time.monotonic() + 5
    while threads() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threads() == before
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM apscheduler_jobs_nodes").fetchone() == (0,)
    scheduler.remove_job("nested")
    scheduler.start(paused=True)
    assert [job.id for job in scheduler.get_jobs()] == ["fine"]
    scheduler.shutdown()
