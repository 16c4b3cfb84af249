"""Harness of the cluster tests (issue #5): real scheduler processes on one real store.

``backend`` gives, in turn, an SQLite file, a PostgreSQL table and a Redis key set, each
fresh and removed afterwards (PostgreSQL and Redis are skipped when unreachable, except under
``CI=true`` where they must run; addresses as in tests/jobstores/conftest.py). ``cluster``
starts node processes (``node.py``) on it; every job records into ``record`` (a directory of
SQLite files, one per node, independent of the store under test; see cluster_jobs.py).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from . import cluster_jobs

HERE = Path(__file__).resolve().parent
PG_URL = os.environ.get("APSCHEDULER_RS_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_ADDR = os.environ.get("APSCHEDULER_RS_REDIS", "127.0.0.1:6379")
IN_CI = os.environ.get("CI", "").lower() == "true"


def require_server(name: str, host: str, port: int) -> None:
    try:
        with socket.create_connection((host, port), timeout=1):
            return
    except OSError:
        message = f"{name} is not reachable at {host}:{port}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: the server tests must run)")
    pytest.skip(message)


def _pg_host_port() -> tuple[str, int]:
    from urllib.parse import urlsplit

    parts = urlsplit(PG_URL)
    return parts.hostname or "127.0.0.1", parts.port or 5432


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def backend(request, tmp_path):
    """The JSON-able description of a fresh shared store (without ``lease_seconds``)."""
    prefix = f"aps_cluster_{uuid.uuid4().hex[:10]}"
    if request.param == "sqlite":
        yield {"kind": "sqlite", "url": f"sqlite:///{tmp_path / 'store.sqlite'}", "table": prefix}
    elif request.param == "postgresql":
        require_server("PostgreSQL", *_pg_host_port())
        yield {"kind": "postgresql", "url": PG_URL, "table": prefix}
        import psycopg

        # The store may keep its cluster state in extra tables named after the job table.
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            tables = [r[0] for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE tablename LIKE %s", (prefix + "%",))]
            for table in tables:
                conn.execute(f'DROP TABLE IF EXISTS "{table}" CASCADE')
    else:
        host, port = REDIS_ADDR.rsplit(":", 1)
        require_server("Redis", host, int(port))
        yield {"kind": "redis", "host": host, "port": int(port),
               "jobs_key": f"{prefix}.jobs", "run_times_key": f"{prefix}.run_times"}
        import redis

        client = redis.Redis(host=host, port=int(port))
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
        client.close()


class NodeError(AssertionError):
    pass


class Node:
    """A scheduler process; ``call`` sends one command and waits for its answer."""

    def __init__(self, spec: dict, log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "node.py"), json.dumps(spec)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True, bufsize=1,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.pid = self.proc.pid
        self.replies: queue.Queue = queue.Queue()
        self.killed = self.stopped = False
        self.node_id: str | None = None  # the store's id for this scheduler (store.node_id)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                self.replies.put(json.loads(line))
            except ValueError:
                self.replies.put({"error": f"bad output: {line!r}"})
        self.replies.put({"error": f"node {self.pid} exited ({self.proc.poll()})"})

    def log_tail(self, lines: int = 15) -> str:
        self._log.flush()
        return "".join(self.log_path.read_text(errors="replace").splitlines(True)[-lines:])

    def receive(self, timeout: float = 30) -> dict:
        try:
            reply = self.replies.get(timeout=timeout)
        except queue.Empty:
            raise NodeError(f"node {self.pid}: no answer within {timeout} s\n{self.log_tail()}") from None
        if "error" in reply:
            raise NodeError(f"node {self.pid}: {reply['error']}\n{reply.get('traceback', '')}{self.log_tail()}")
        return reply

    def send(self, op: str, **args) -> None:
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()

    def call(self, op: str, timeout: float = 30, **args) -> dict:
        self.send(op, **args)
        return self.receive(timeout)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.killed = True

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGSTOP)
        self.stopped = True

    def cont(self) -> None:
        self.proc.send_signal(signal.SIGCONT)
        self.stopped = False

    def close(self) -> None:
        if self.proc.poll() is None:
            if self.stopped:
                self.cont()
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()


class Cluster:
    def __init__(self, spec: dict, tmp_path: Path) -> None:
        self.spec = spec
        self.tmp_path = tmp_path
        self.nodes: list[Node] = []

    def start(self, count: int, together: bool = False, **spec) -> list[Node]:
        """Start ``count`` nodes and wait until each is ready: all at once with ``together``,
        else the first alone (it creates the store's tables) and then the others at once."""
        def launch(k: int) -> list[Node]:
            new = [Node({**self.spec, **spec}, self.tmp_path / f"node{len(self.nodes) + i}.log") for i in range(k)]
            self.nodes += new
            for node in new:
                node.node_id = node.receive(timeout=60)["node_id"]
            return new

        if together or count == 1 or self.nodes:
            return launch(count)
        return launch(1) + launch(count - 1)

    def alive(self) -> list[Node]:
        return [n for n in self.nodes if not n.killed]

    def shutdown(self) -> None:
        """``shutdown(wait=True)`` on every live node, all at once; each must answer."""
        live = [n for n in self.alive() if n.proc.poll() is None]
        for node in live:
            if node.stopped:
                node.cont()
            node.send("shutdown")
        for node in live:
            node.receive(timeout=30)
            node.proc.wait(10)

    def close(self) -> None:
        for node in self.nodes:
            node.close()


@pytest.fixture
def record(tmp_path) -> str:
    path = str(tmp_path / "record")
    cluster_jobs.create(path)
    return path


@pytest.fixture
def cluster(backend, record, tmp_path):
    c = Cluster({**backend, "record": record}, tmp_path)
    yield c
    c.close()


read_runs = cluster_jobs.read_runs
