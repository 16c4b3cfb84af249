"""One benchmark workload on one implementation, in this (fresh) process.

    python benches/workloads.py {apscheduler|apscheduler_rs} WORKLOAD [--quick]

Prints one JSON line: {"metrics": {name: value}, "notes": [...]} or {"error": "..."}.
``run.py`` spawns this once per (implementation, workload, repetition); a fresh process keeps
the runs independent and makes the RSS delta of ``add_job`` meaningful. Each workload runs a
small warm-up pass first, in the same process, then the measured pass.
"""

from __future__ import annotations

import gc
import importlib
import itertools
import json
import os
import sys
import threading
import time
import traceback
from datetime import datetime, timedelta, timezone

IMPLS = ("apscheduler", "apscheduler_rs")
TRIGGER_MODULES = ("base", "date", "interval", "cron", "calendarinterval", "combining")
# Sizes: full run, then --quick.
SIZES = {
    "dispatch": (20_000, 2_000),
    "lateness": (2_000, 500),
    "add_job": (100_000, 10_000),
    "trigger": (1.0, 0.1),  # seconds of calls per trigger
    "store_add": (10_000, 1_000),
    "store_fire": (2_000, 500),
    "store_fire_cron": (2_000, 500),
    "store_cold": (100_000, 10_000),
    "fetch_floor": (100_000, 10_000),
    "commit_floor": (10_000, 1_000),
    "commit_floor_sqlite": (10_000, 1_000),
    "procpool": (10_000, 1_000),
    "asyncio": (20_000, 2_000),
    "cluster": (5_000, 1_000),
}
PG_URL = os.environ.get("APSCHEDULER_RS_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
PAGE = os.sysconf("SC_PAGE_SIZE")


def noop():
    pass


def load(impl: str) -> tuple[dict, list[str]]:
    """Import the scheduler classes of ``impl``.

    apscheduler_rs's Python trigger modules may not be in this build yet (issue #3): each
    missing one is aliased to APScheduler's own module (the same dev shim the project uses)
    and reported in the notes, so the scheduler workloads still run.
    """
    notes = []
    if impl == "apscheduler_rs":
        for name in TRIGGER_MODULES:
            mod = f"apscheduler_rs.triggers.{name}"
            try:
                importlib.import_module(mod)
            except ModuleNotFoundError as exc:
                if exc.name != mod:
                    raise
                sys.modules[mod] = importlib.import_module(f"apscheduler.triggers.{name}")
                notes.append(name)
        if notes:
            notes = [f"apscheduler_rs.triggers.{{{','.join(notes)}}} missing: shimmed to apscheduler's"]
    m = {
        name: importlib.import_module(f"{impl}.{name}")
        for name in ("schedulers.background", "executors.pool", "jobstores.memory", "events",
                     "triggers.cron", "triggers.interval", "jobstores.sqlalchemy", "schedulers.asyncio")
    }
    return m, notes


def make_scheduler(m):
    return m["schedulers.background"].BackgroundScheduler(
        executors={"default": m["executors.pool"].ThreadPoolExecutor(10)},
        jobstores={"default": m["jobstores.memory"].MemoryJobStore()},
        timezone=timezone.utc,
    )


def wait_or_fail(done: threading.Event, counter, n: int, timeout: float, errors: list) -> None:
    if not done.wait(timeout):
        raise TimeoutError(f"only {next(counter)} of {n} jobs ran within {timeout:.0f} s"
                           + (f"; events: {errors[:3]}" if errors else ""))


# --- (a) dispatch: N due no-op jobs, 10 workers --------------------------------------------

def dispatch_once(m, n: int, via_listener: bool) -> float:
    ev = m["events"]
    sched = make_scheduler(m)
    sched.start(paused=True)
    counter, done, errors = itertools.count(), threading.Event(), []

    def count():
        if next(counter) == n - 1:
            done.set()

    sched.add_listener(lambda e: errors.append(e), ev.EVENT_JOB_ERROR | ev.EVENT_JOB_MISSED)
    if via_listener:
        sched.add_listener(lambda e: count(), ev.EVENT_JOB_EXECUTED)
    func = noop if via_listener else count
    now = datetime.now(timezone.utc)
    for _ in range(n):
        sched.add_job(func, "date", run_date=now, misfire_grace_time=None)
    t0 = time.perf_counter()
    sched.resume()
    wait_or_fail(done, counter, n, 30 + n / 1000, errors)
    elapsed = time.perf_counter() - t0
    sched.shutdown(wait=True)
    return n / elapsed


def bench_dispatch(m, n, via_listener=True):
    dispatch_once(m, max(n // 10, 100), via_listener)  # warm-up
    return {"exec/s": dispatch_once(m, n, via_listener)}


def bench_dispatch_fn(m, n):
    return bench_dispatch(m, n, via_listener=False)


# --- (b) lateness: N jobs due at one instant ~0.5 s ahead ----------------------------------

def burst_once(m, n: int, lead: float = 0.5) -> list[float]:
    sched = make_scheduler(m)
    sched.start(paused=True)
    due = time.time() + lead
    run_date = datetime.fromtimestamp(due, timezone.utc)
    due = run_date.timestamp()  # exactly what the trigger sees (µs precision)
    lateness, counter, done = [], itertools.count(), threading.Event()

    def job():
        lateness.append(time.time() - due)
        if next(counter) == n - 1:
            done.set()

    for _ in range(n):
        sched.add_job(job, "date", run_date=run_date, misfire_grace_time=None)
    if time.time() > due - 0.1:
        raise RuntimeError(f"adding {n} jobs took longer than {lead - 0.1:.1f} s")
    sched.resume()
    wait_or_fail(done, counter, n, 30 + lead, [])
    sched.shutdown(wait=True)
    return sorted(lateness)


def bench_lateness(m, n):
    burst_once(m, max(n // 10, 50), lead=0.2)  # warm-up
    lat = burst_once(m, n)
    pick = lambda q: 1000 * lat[min(len(lat) - 1, int(q * len(lat)))]  # noqa: E731
    return {"min ms": 1000 * lat[0], "p50 ms": pick(0.50), "p99 ms": pick(0.99), "max ms": 1000 * lat[-1]}


# --- (c) add_job: N interval jobs on a started, paused scheduler ---------------------------

def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def bench_add_job(m, n):
    sched = make_scheduler(m)
    sched.start(paused=True)
    for _ in range(1000):  # warm-up, then removed again
        sched.add_job(noop, "interval", seconds=3600)
    sched.remove_all_jobs()
    gc.collect()
    before = rss()
    t0 = time.perf_counter()
    for _ in range(n):
        sched.add_job(noop, "interval", seconds=3600)
    elapsed = time.perf_counter() - t0
    gc.collect()
    grown = rss() - before
    if len(sched.get_jobs()) != n:
        raise RuntimeError(f"expected {n} jobs in the store, found {len(sched.get_jobs())}")
    sched.shutdown(wait=False)
    return {"jobs/s": n / elapsed, "bytes/job": grown / n}


# --- (d) trigger throughput: get_next_fire_time along each trigger's schedule ---------------

def trigger_specs(m):
    cron, interval = m["triggers.cron"].CronTrigger, m["triggers.interval"].IntervalTrigger
    tz = "Europe/Berlin"
    return {
        "cron */5min": lambda: cron(minute="*/5", timezone=tz),
        "cron 9-17 mon-fri": lambda: cron(hour="9-17", day_of_week="mon-fri", timezone=tz),
        "cron day=last": lambda: cron(day="last", timezone=tz),
        "interval 7s": lambda: interval(seconds=7, timezone=tz),
    }


def calls_per_second(trigger, seconds: float, batch: int = 500) -> float:
    """Walk the trigger's fire times (previous = now = last result), in batches from the start."""
    start = datetime(2026, 1, 1, tzinfo=timezone.utc).astimezone(trigger.timezone)
    nxt = trigger.get_next_fire_time

    def walk():
        prev = nxt(None, start)
        for _ in range(batch - 1):
            prev = nxt(prev, prev)

    walk()  # warm-up
    calls, t0 = 0, time.perf_counter()
    while True:
        walk()
        calls += batch
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            return calls / elapsed


def bench_trigger(m, seconds):
    out = {}
    for name, make in trigger_specs(m).items():
        try:
            out[f"{name} calls/s"] = calls_per_second(make(), seconds)
        except Exception as exc:  # one broken trigger must not hide the others
            out[f"{name} calls/s"] = f"{type(exc).__name__}: {exc}"
    return out


# --- (e) persistent stores: SQLAlchemyJobStore on SQLite (a file) or PostgreSQL -----------

class StoreTarget:
    """A fresh job table: a new SQLite file, or a new PostgreSQL table dropped afterwards."""

    def __init__(self, kind: str) -> None:
        import tempfile
        import uuid

        self.kind = kind
        self.table = f"bench_{uuid.uuid4().hex[:10]}"
        if kind == "sqlite":
            self.dir = tempfile.mkdtemp(prefix="aps-bench-")
            self.url = f"sqlite:///{self.dir}/jobs.sqlite"
        else:  # APScheduler needs a driver: psycopg 3; apscheduler_rs ignores the driver part
            self.url = PG_URL.replace("postgresql://", "postgresql+psycopg://")

    def scheduler(self, m, solo=False):
        # solo: apscheduler_rs's one-scheduler mode (shared=False); 3.x has only that mode.
        extra = {"shared": False} if solo and "apscheduler_rs" in m["events"].__name__ else {}
        store = m["jobstores.sqlalchemy"].SQLAlchemyJobStore(url=self.url, tablename=self.table, **extra)
        return m["schedulers.background"].BackgroundScheduler(
            executors={"default": m["executors.pool"].ThreadPoolExecutor(10)},
            jobstores={"default": store},
            timezone=timezone.utc,
        )

    def insert_rows(self, rows: list) -> None:
        """Bulk-insert ``(id, next_run_time, job_state)`` rows (setup, not measured)."""
        if self.kind == "sqlite":
            import sqlite3

            with sqlite3.connect(self.url[len("sqlite:///"):]) as conn:
                conn.executemany(f"INSERT INTO {self.table} VALUES (?, ?, ?)", rows)
        else:
            import psycopg

            with psycopg.connect(PG_URL) as conn, conn.cursor() as cur:
                with cur.copy(f"COPY {self.table} (id, next_run_time, job_state) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)

    def close(self) -> None:
        if self.kind == "sqlite":
            import shutil

            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            import psycopg

            with psycopg.connect(PG_URL, autocommit=True) as conn:
                # The job table and whatever the store keeps beside it (_unrestorable, and the
                # _nodes/_runs tables of a shared store).
                tables = [r[0] for r in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE tablename LIKE %s", (self.table + "%",))]
                for table in tables:
                    conn.execute(f'DROP TABLE IF EXISTS "{table}"')


def bench_store_add(m, n, kind="sqlite"):
    target = StoreTarget(kind)
    try:
        sched = target.scheduler(m)
        sched.start(paused=True)
        for i in range(100):  # warm-up, then removed again
            sched.add_job(noop, "interval", seconds=3600, id=f"warm{i}")
        sched.remove_all_jobs()
        t0 = time.perf_counter()
        for _ in range(n):
            sched.add_job(noop, "interval", seconds=3600)
        elapsed = time.perf_counter() - t0
        if len(sched.get_jobs()) != n:
            raise RuntimeError(f"expected {n} jobs in the store, found {len(sched.get_jobs())}")
        sched.shutdown(wait=False)
        return {"jobs/s": n / elapsed}
    finally:
        target.close()


def bench_commit_floor_pg(m, n):
    """The server's floor under ``store_add_pg``: rows of the same size inserted over a bare
    psycopg connection, one autocommit ``INSERT`` each — what any library that commits every
    ``add_job`` before returning pays at least. The same code runs for both columns."""
    import psycopg

    table = f"floor_{os.getpid()}"
    blob = bytes(450)  # about the size of a pickled interval job
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id VARCHAR(191) PRIMARY KEY, next_run_time FLOAT, job_state BYTEA)")
        try:
            t0 = time.perf_counter()
            for i in range(n):
                conn.execute(f"INSERT INTO {table} VALUES (%s, %s, %s)", (f"job{i}", 1.0, blob))
            return {"jobs/s": n / (time.perf_counter() - t0)}
        finally:
            conn.execute(f"DROP TABLE {table}")


def bench_commit_floor_sqlite(m, n):
    """The floor under ``store_add`` with SQLite's default checkpoints: rows of the same size
    inserted into a new SQLite file with APScheduler's table and index, WAL,
    ``synchronous=NORMAL``, one autocommit ``INSERT`` each through Python's sqlite3. The same
    code runs for both columns."""
    import sqlite3
    import tempfile
    import uuid

    blob = bytes(478)  # the size of a pickled interval job
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(os.path.join(tmp, "floor.sqlite"), isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("CREATE TABLE apscheduler_jobs (id VARCHAR(191) NOT NULL PRIMARY KEY, "
                     "next_run_time FLOAT, job_state BLOB NOT NULL)")
        conn.execute("CREATE INDEX ix_apscheduler_jobs_next_run_time ON apscheduler_jobs (next_run_time)")
        ids = [uuid.uuid4().hex for _ in range(n)]
        t0 = time.perf_counter()
        for i, job_id in enumerate(ids):
            conn.execute("INSERT INTO apscheduler_jobs VALUES (?, ?, ?)", (job_id, 1e9 + i, blob))
        elapsed = time.perf_counter() - t0
        conn.close()
    return {"jobs/s": n / elapsed}


def bench_store_fire(m, n, kind="sqlite", solo=False, recurring=False):
    """N `date` jobs due now; with ``recurring``, N cron jobs (every second) due now instead,
    each run of which rewrites its job's row with the next run time (recurring jobs in a
    persistent store, the common production shape)."""
    ev = m["events"]
    target = StoreTarget(kind)
    try:
        sched = target.scheduler(m, solo)
        sched.start(paused=True)
        counter, done, errors = itertools.count(), threading.Event(), []

        def count(event):
            if next(counter) == n - 1:
                done.set()

        sched.add_listener(lambda e: errors.append(e), ev.EVENT_JOB_ERROR | ev.EVENT_JOB_MISSED)
        sched.add_listener(count, ev.EVENT_JOB_EXECUTED)
        now = datetime.now(timezone.utc)
        for _ in range(n):
            if recurring:
                sched.add_job(noop, "cron", second="*", hour="0-23", next_run_time=now, misfire_grace_time=None)
            else:
                sched.add_job(noop, "date", run_date=now, misfire_grace_time=None)
        t0 = time.perf_counter()
        sched.resume()
        wait_or_fail(done, counter, n, 60 + n / 50, errors)
        elapsed = time.perf_counter() - t0
        sched.shutdown(wait=True)
        return {"exec/s": n / elapsed}
    finally:
        target.close()


def stored_jobs(m, target, n):
    """Fills the target's table with N rows: this implementation's pickles of one interval job
    with other ids and next run times (bulk-inserted, not measured)."""
    import pickle

    from datetime import timedelta as td

    sched = target.scheduler(m)  # creates the table
    sched.start(paused=True)
    job = sched.add_job(noop, "interval", seconds=3600, id="template")
    state = job.__getstate__()
    sched.remove_all_jobs()
    sched.shutdown(wait=False)
    base = state["next_run_time"]
    rows = []
    for i in range(n):
        state["id"] = f"job{i}"
        state["next_run_time"] = base + td(seconds=i)
        rows.append((f"job{i}", state["next_run_time"].timestamp(), pickle.dumps(state, pickle.HIGHEST_PROTOCOL)))
    target.insert_rows(rows)
    del rows
    gc.collect()


def bench_store_cold(m, n, kind="sqlite"):
    """N stored jobs; measured: a new scheduler on the store, ``start(paused=True)`` and
    ``get_jobs()``."""
    target = StoreTarget(kind)
    try:
        stored_jobs(m, target, n)
        t0 = time.perf_counter()
        sched = target.scheduler(m)
        sched.start(paused=True)
        jobs = sched.get_jobs()
        elapsed = time.perf_counter() - t0
        if len(jobs) != n:
            raise RuntimeError(f"expected {n} jobs, got {len(jobs)}")
        sched.shutdown(wait=False)
        return {"s": elapsed}
    finally:
        target.close()


def bench_fetch_floor_pg(m, n):
    """The floor under ``store_cold_pg``: the same N rows fetched by libpq itself (psycopg's
    connection, binary results, all rows into libpq's memory, no Python object per row) — what
    the server and the loopback socket take before any library decodes a job. The same code
    runs for both columns."""
    import psycopg

    target = StoreTarget("pg")
    try:
        stored_jobs(m, target, n)
        with psycopg.connect(PG_URL) as conn:
            t0 = time.perf_counter()
            res = conn.pgconn.exec_params(f"SELECT id, next_run_time, job_state FROM {target.table}".encode(), None,
                                          result_format=1)
            elapsed = time.perf_counter() - t0
        if res.ntuples != n:
            raise RuntimeError(f"expected {n} rows, got {res.ntuples}")
        return {"s": elapsed}
    finally:
        target.close()


# --- (e) process pool: N small CPU jobs on ProcessPoolExecutor(2) -------------------------

def cpu_job(n=300):
    """A small CPU-bound job (about 20 µs): the pool's own overhead dominates."""
    return sum(i * i for i in range(n))


def procpool_once(m, sched, n: int) -> float:
    ev = m["events"]
    counter, done, errors = itertools.count(), threading.Event(), []

    def count(event):
        if event.code != ev.EVENT_JOB_EXECUTED:
            errors.append(event)
        if next(counter) == n - 1:
            done.set()

    sched.add_listener(count, ev.EVENT_JOB_EXECUTED | ev.EVENT_JOB_ERROR | ev.EVENT_JOB_MISSED)
    sched.pause()
    for i in range(n):
        sched.add_job(cpu_job, "date", run_date=datetime.now(timezone.utc), misfire_grace_time=None,
                      id=f"cpu-{n}-{i}")
    t0 = time.perf_counter()
    sched.resume()
    wait_or_fail(done, counter, n, 60 + n / 50, errors)
    elapsed = time.perf_counter() - t0
    sched.remove_listener(count)
    if errors:
        raise RuntimeError(f"{len(errors)} jobs failed: {errors[:3]}")
    return n / elapsed


def bench_procpool(m, n):
    sched = m["schedulers.background"].BackgroundScheduler(
        executors={"default": m["executors.pool"].ProcessPoolExecutor(2)},
        jobstores={"default": m["jobstores.memory"].MemoryJobStore()},
        timezone=timezone.utc,
    )
    sched.start()
    procpool_once(m, sched, 20)  # warm-up: starts the worker processes
    rate = procpool_once(m, sched, n)
    sched.shutdown(wait=True)
    return {"jobs/s": rate}


# --- (f) asyncio: N due coroutine jobs on AsyncIOScheduler ---------------------------------

async def coro_noop():
    pass


def asyncio_once(m, n: int) -> float:
    import asyncio

    ev = m["events"]

    async def main() -> float:
        sched = m["schedulers.asyncio"].AsyncIOScheduler(timezone=timezone.utc)
        sched.start(paused=True)
        done = asyncio.Event()
        counter, errors = itertools.count(), []

        def count(event):
            if event.code != ev.EVENT_JOB_EXECUTED:
                errors.append(event)
            if next(counter) == n - 1:
                done.set()

        sched.add_listener(count, ev.EVENT_JOB_EXECUTED | ev.EVENT_JOB_ERROR | ev.EVENT_JOB_MISSED)
        now = datetime.now(timezone.utc)
        for _ in range(n):
            sched.add_job(coro_noop, "date", run_date=now, misfire_grace_time=None)
        t0 = time.perf_counter()
        sched.resume()
        await asyncio.wait_for(done.wait(), 60 + n / 1000)
        elapsed = time.perf_counter() - t0
        sched.shutdown()
        await asyncio.sleep(0)
        if errors:
            raise RuntimeError(f"{len(errors)} jobs failed: {errors[:3]}")
        return n / elapsed

    return asyncio.run(main())


def bench_asyncio(m, n):
    asyncio_once(m, max(n // 10, 100))  # warm-up
    return {"exec/s": asyncio_once(m, n)}


# --- (h) one store, several scheduler processes (issue #5) --------------------------------

CLUSTER_SIZES = {"apscheduler": (1,), "apscheduler_rs": (1, 2, 4)}  # 3.x cannot share a store


class ClusterNode:
    """A ``cluster_node.py`` process: one paused scheduler on the shared store."""

    def __init__(self, impl: str, target: StoreTarget) -> None:
        import subprocess

        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "cluster_node.py"),
             impl, target.url, target.table],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def send(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def receive(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"cluster node exited with {self.proc.wait()}")
        return json.loads(line)

    def ask(self, line: str) -> dict:
        self.send(line)
        return self.receive()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.ask("quit")
                self.proc.wait(10)
            except Exception:  # noqa: BLE001
                self.proc.kill()


def cluster_round(nodes: list, n: int, prefix: str) -> float:
    """N date jobs due now, added while every node is paused; all nodes resume together.
    Returns runs/s from the resume until the last of the N runs finished (exactly once)."""
    nodes[0].ask(f"add {n} {prefix}")
    t0 = time.monotonic()
    for node in nodes:
        node.send("go")
    deadline = t0 + 60 + n / 50
    while True:
        counts = [node.ask("count") for node in nodes]
        if sum(c["errors"] for c in counts):
            raise RuntimeError(f"{sum(c['errors'] for c in counts)} job errors or misfires")
        if sum(c["count"] for c in counts) >= n:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {sum(c['count'] for c in counts)} of {n} jobs ran")
        time.sleep(0.02)
    elapsed = max(c["last"] for c in counts) - t0
    for node in nodes:
        node.ask("pause")
    ran = [job_id for node in nodes for job_id in node.ask("ids")["ids"]]
    if sorted(ran) != sorted(f"{prefix}{i}" for i in range(n)):
        raise RuntimeError(f"{len(ran)} runs for {n} jobs, {len(set(ran))} distinct: not exactly once")
    return n / elapsed


def bench_cluster(m, n, kind="sqlite"):
    impl = m["events"].__name__.split(".")[0]
    metrics = {}
    for count in CLUSTER_SIZES[impl]:
        target = StoreTarget(kind)
        nodes = []
        try:
            nodes.append(ClusterNode(impl, target))
            nodes[0].receive()  # the first node creates the table
            nodes += [ClusterNode(impl, target) for _ in range(count - 1)]
            for node in nodes[1:]:
                node.receive()
            cluster_round(nodes, max(n // 10, 100), "warm")
            label = f"runs/s, {count} scheduler{'s' if count > 1 else ''}"
            metrics[label] = cluster_round(nodes, n, "job")
        finally:
            for node in nodes:
                node.close()
            target.close()
    return metrics


WORKLOADS = {
    "dispatch": bench_dispatch,
    "dispatch_fn": bench_dispatch_fn,
    "lateness": bench_lateness,
    "add_job": bench_add_job,
    "trigger": bench_trigger,
    "store_add": bench_store_add,
    "store_fire": bench_store_fire,
    "store_fire_cron": lambda m, n: bench_store_fire(m, n, recurring=True),
    "store_fire_cron_pg": lambda m, n: bench_store_fire(m, n, "pg", recurring=True),
    "store_cold": bench_store_cold,
    "store_add_pg": lambda m, n: bench_store_add(m, n, "pg"),
    "commit_floor_pg": bench_commit_floor_pg,
    "commit_floor_sqlite": bench_commit_floor_sqlite,
    "fetch_floor_pg": bench_fetch_floor_pg,
    "store_fire_pg": lambda m, n: bench_store_fire(m, n, "pg"),
    "store_fire_solo": lambda m, n: bench_store_fire(m, n, "sqlite", solo=True),
    "store_fire_pg_solo": lambda m, n: bench_store_fire(m, n, "pg", solo=True),
    "store_cold_pg": lambda m, n: bench_store_cold(m, n, "pg"),
    "procpool": bench_procpool,
    "asyncio": bench_asyncio,
    "cluster": bench_cluster,
    "cluster_pg": lambda m, n: bench_cluster(m, n, "pg"),
}


def main(argv: list[str]) -> None:
    impl, workload, quick = argv[0], argv[1], "--quick" in argv
    assert impl in IMPLS and workload in WORKLOADS, argv
    try:
        m, notes = load(impl)
        size = SIZES[workload.removesuffix("_fn").removesuffix("_solo").removesuffix("_pg")][quick]
        result = {"metrics": WORKLOADS[workload](m, size), "notes": notes}
    except BaseException as exc:  # report, never hang the driver
        tb = traceback.format_exc(limit=-3)
        result = {"error": f"{type(exc).__name__}: {exc}", "traceback": tb}
    print(json.dumps(result), flush=True)
    # Skip interpreter teardown: a wedged scheduler thread must not hold the driver up.
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
