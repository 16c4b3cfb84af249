"""Database servers for the store tests.

PostgreSQL (127.0.0.1:5432, user postgres, db test), MariaDB/MySQL (127.0.0.1:3306, root, db
test) and Redis (127.0.0.1:6379) are used when reachable. Otherwise their tests are skipped
with the reason, except under ``CI=true``, where an unreachable server fails the test.
Override the addresses with ``APSCHEDULER_RS_PG_URL``, ``APSCHEDULER_RS_MYSQL_URL`` and
``APSCHEDULER_RS_REDIS``.
"""

from __future__ import annotations

import os
import socket
import uuid

import pytest

PG_URL = os.environ.get("APSCHEDULER_RS_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
MYSQL_URL = os.environ.get("APSCHEDULER_RS_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
REDIS_ADDR = os.environ.get("APSCHEDULER_RS_REDIS", "127.0.0.1:6379")
IN_CI = os.environ.get("CI", "").lower() == "true"


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_server(name: str, host: str, port: int) -> None:
    if reachable(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: the server tests must run)")
    pytest.skip(message)


def add_after_drop(scheduler, func, job_id: str) -> None:
    """Adds a job due now right after the server dropped the store's connections: the first
    command on a dropped connection may fail; the store reconnects for the next one."""
    for attempt in range(2):
        try:
            scheduler.add_job(func, id=job_id)
            return
        except RuntimeError:
            if attempt:
                raise


#: APScheduler's table and ours beside it.
TABLE_SUFFIXES = ("", "_unrestorable", "_nodes", "_runs")


def count_rows(url: str, table: str) -> int:
    """Rows in ``table`` of the database behind a ``sql_target`` URL."""
    if url.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(url[len("sqlite:///"):]) as conn:
            return conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    if url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(PG_URL, autocommit=True) as conn:
            return conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    import pymysql

    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", database="test")
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM `{table}`")
            return cur.fetchone()[0]
    finally:
        conn.close()


def _drop_pg(table: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        tables = ", ".join(f'"{table}{suffix}"' for suffix in TABLE_SUFFIXES)
        conn.execute(f"DROP TABLE IF EXISTS {tables}")


def _drop_mysql(table: str) -> None:
    import pymysql

    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", database="test")
    try:
        with conn.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS " + ", ".join(f"`{table}{suffix}`" for suffix in TABLE_SUFFIXES))
        conn.commit()
    finally:
        conn.close()


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def sql_target(request, tmp_path):
    """``(url, tablename)`` of an empty job table on each SQL backend; dropped afterwards."""
    table = f"aps_{uuid.uuid4().hex[:12]}"
    kind = request.param
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'jobs.sqlite'}", table
        return
    if kind == "postgresql":
        require_server("PostgreSQL", "127.0.0.1", 5432)
        yield PG_URL.replace("postgresql://", "postgresql+psycopg2://"), table
        _drop_pg(table)
    else:
        require_server("MariaDB/MySQL", "127.0.0.1", 3306)
        yield MYSQL_URL.replace("mysql://", "mysql+pymysql://"), table
        _drop_mysql(table)
