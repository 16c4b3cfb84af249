"""SIGKILL a scheduler mid-run, many times (SQLite and PostgreSQL): no job and no row may be
lost or corrupt."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from apscheduler_rs import _compat

CHILD = Path(__file__).with_name("crash_child.py")
KILLS = 8


def run_and_kill(url: str, table: str, run: int, seen: list[str]) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), url, table, str(run)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None

    def reader() -> None:
        for line in proc.stdout:
            seen.append(line.strip())

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    deadline = time.monotonic() + 15
    while "ready" not in seen and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "ready" in seen, "child did not start"
    time.sleep(random.uniform(0.2, 0.7))
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    t.join(5)
    seen.remove("ready")


def stored_rows(url: str, table: str) -> tuple[dict[str, bytes], float, int]:
    """``({id: state}, earliest run time of the job* rows, rows set aside)``."""
    if url.startswith("sqlite"):
        with sqlite3.connect(url[len("sqlite:///"):]) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            stored = dict(conn.execute(f"SELECT id, job_state FROM {table}").fetchall())
            first = conn.execute(f"SELECT MIN(next_run_time) FROM {table} WHERE id LIKE 'job%'").fetchone()[0]
            aside = conn.execute(f"SELECT COUNT(*) FROM {table}_unrestorable").fetchone()[0]
        return stored, first, aside
    if url.startswith("mysql"):
        import pymysql

        conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", database="test")
    else:
        import psycopg

        conn = psycopg.connect(url)
    try:
        cur = conn.cursor()
        cur.execute(f"SELECT id, job_state FROM {table}")
        stored = {i: bytes(s) for i, s in cur.fetchall()}
        cur.execute(f"SELECT MIN(next_run_time) FROM {table} WHERE id LIKE 'job%'")
        first = cur.fetchone()[0]
        cur.execute(f"SELECT COUNT(*) FROM {table}_unrestorable")
        aside = cur.fetchone()[0]
    finally:
        conn.close()
    return stored, first, aside


@pytest.mark.timeout(60)
def test_sigkill_mid_run_loses_no_job_and_corrupts_no_row(sql_target):
    url, table = sql_target
    added: list[str] = []
    started = time.time()
    for run in range(KILLS):
        run_and_kill(url, table, run, added)
    stored, first_runs, aside = stored_rows(url.replace("+psycopg2", "").replace("+pymysql", ""), table)
    assert aside == 0
    # The schedules kept moving across the kills: every job ran after the first restart.
    assert first_runs > started + 1.0
    expected = {f"job{i}" for i in range(200)} | set(added)
    assert len(added) > KILLS  # the children did add jobs before dying
    missing = expected - set(stored)
    assert not missing, f"{len(missing)} jobs lost, e.g. {sorted(missing)[:5]}"
    for job_id, state in stored.items():
        restored = _compat.loads(state)
        assert restored["id"] == job_id and restored["func"] == "time:time"
