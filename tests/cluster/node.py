"""One scheduler node of the cluster tests, in its own process.

    python node.py SPEC_JSON

``SPEC_JSON`` names the shared store (``kind``: sqlite/postgresql/redis, its URL and table or
keys, optional ``lease_seconds``) and the record database. The node starts a
``BackgroundScheduler`` with a ``ThreadPoolExecutor(20)`` on that store, prints
``{"ready": pid}`` and then obeys one JSON command per line on stdin, answering each with one
JSON line on stdout (``{"op": ..., "t": time.time() after the operation, ...}``).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cluster_jobs  # noqa: E402

from apscheduler_rs.executors.pool import ThreadPoolExecutor  # noqa: E402
from apscheduler_rs.jobstores.base import ConflictingIdError  # noqa: E402
from apscheduler_rs.schedulers.background import BackgroundScheduler  # noqa: E402

UTC = timezone.utc
TIME_FIELDS = {"start_date", "end_date", "run_date", "next_run_time"}


def make_store(spec: dict):
    extra = {}
    if spec.get("lease_seconds") is not None:
        extra["lease_seconds"] = spec["lease_seconds"]
    if spec["kind"] == "redis":
        from apscheduler_rs.jobstores.redis import RedisJobStore

        return RedisJobStore(jobs_key=spec["jobs_key"], run_times_key=spec["run_times_key"],
                             host=spec["host"], port=spec["port"], **extra)
    from apscheduler_rs.jobstores.sqlalchemy import SQLAlchemyJobStore

    return SQLAlchemyJobStore(url=spec["url"], tablename=spec["table"], **extra)


def times(fields: dict) -> dict:
    """Epoch seconds (JSON) -> aware UTC datetimes for the date-valued arguments."""
    return {k: datetime.fromtimestamp(v, UTC) if k in TIME_FIELDS and v is not None else v
            for k, v in fields.items()}


def record_via_events(scheduler, path: str) -> None:
    """Harness check only (APS_CLUSTER_RECORD_VIA_EVENTS=1): record each submitted run."""
    import time

    from apscheduler_rs.events import EVENT_JOB_SUBMITTED

    def submitted(event):
        for run_time in event.scheduled_run_times:
            cluster_jobs.note_run(path, event.job_id, round(run_time.timestamp() * 1_000_000), time.time())

    scheduler.add_listener(submitted, EVENT_JOB_SUBMITTED)


def main(spec: dict) -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")
    store = make_store(spec)
    scheduler = BackgroundScheduler(jobstores={"default": store},
                                    executors={"default": ThreadPoolExecutor(20)}, timezone=UTC)
    if cluster_jobs.VIA_EVENTS:
        record_via_events(scheduler, spec["record"])
    scheduler.start(paused=bool(spec.get("paused")))

    def reply(**fields) -> None:
        sys.stdout.write(json.dumps({"t": __import__("time").time(), **fields}) + "\n")
        sys.stdout.flush()

    reply(ready=os.getpid(), node_id=getattr(store, "node_id", None))
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd.pop("op")
        try:
            if op == "add":  # try to add every job; report which ids this node won
                won, conflicts = [], []
                for job in cmd["jobs"]:
                    job = times(job)
                    try:
                        scheduler.add_job(**job)
                        won.append(job["id"])
                    except ConflictingIdError:
                        conflicts.append(job["id"])
                reply(op=op, won=won, conflicts=conflicts)
            elif op == "job_ids":
                reply(op=op, ids=sorted(job.id for job in scheduler.get_jobs()))
            elif op in ("pause_job", "resume_job", "remove_job"):
                getattr(scheduler, op)(cmd["id"])
                reply(op=op)
            elif op == "modify_job":
                scheduler.modify_job(cmd["id"], **times(cmd["changes"]))
                reply(op=op)
            elif op in ("pause", "resume"):
                getattr(scheduler, op)()
                reply(op=op)
            elif op == "lost":
                lost = [[job_id, run_time.timestamp(), str(node)] for job_id, run_time, node in store.lost_runs()]
                reply(op=op, lost=lost)
            elif op == "shutdown":
                scheduler.shutdown(wait=True)
                reply(op=op)
                sys.stdout.flush()
                os._exit(0)
            else:
                reply(op=op, error=f"unknown op {op!r}")
        except Exception as exc:  # the parent fails the test with this
            reply(op=op, error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
