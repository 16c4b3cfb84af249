"""One scheduler process of the ``cluster``/``cluster_pg`` workloads (see workloads.py).

    python benches/cluster_node.py {apscheduler|apscheduler_rs} URL TABLE

Starts a paused ``BackgroundScheduler`` (``ThreadPoolExecutor(10)``) on
``SQLAlchemyJobStore(url=URL, tablename=TABLE)``, prints ``ready`` and obeys one command per
line on stdin, answering each with one JSON line:

* ``add N PREFIX`` adds N ``date`` jobs due now with ids ``PREFIX0 …`` (paused: none runs);
* ``go`` resumes the scheduler; ``pause`` pauses it;
* ``count`` answers how many jobs this process executed and when the last one finished
  (``time.monotonic()``, comparable between processes on Linux);
* ``ids`` answers the ids of the jobs it executed and forgets them;
* ``quit`` shuts the scheduler down and exits.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import threading
import time
from datetime import datetime, timezone


def main(impl: str, url: str, table: str) -> None:
    m = {name: importlib.import_module(f"{impl}.{name}")
         for name in ("schedulers.background", "executors.pool", "jobstores.sqlalchemy", "events")}
    ev = m["events"]
    store = m["jobstores.sqlalchemy"].SQLAlchemyJobStore(url=url, tablename=table)
    sched = m["schedulers.background"].BackgroundScheduler(
        executors={"default": m["executors.pool"].ThreadPoolExecutor(10)},
        jobstores={"default": store}, timezone=timezone.utc)
    lock = threading.Lock()
    state = {"ids": [], "last": 0.0, "errors": 0}

    def executed(event):
        now = time.monotonic()
        with lock:
            state["ids"].append(event.job_id)
            state["last"] = now

    def failed(event):
        with lock:
            state["errors"] += 1

    sched.add_listener(executed, ev.EVENT_JOB_EXECUTED)
    sched.add_listener(failed, ev.EVENT_JOB_ERROR | ev.EVENT_JOB_MISSED)
    sched.start(paused=True)

    def say(**fields):
        sys.stdout.write(json.dumps(fields) + "\n")
        sys.stdout.flush()

    say(ready=os.getpid())
    for line in sys.stdin:
        cmd, *args = line.split()
        if cmd == "add":
            now = datetime.now(timezone.utc)
            for i in range(int(args[0])):
                sched.add_job("time:time", "date", run_date=now, id=f"{args[1]}{i}", misfire_grace_time=None)
            say(added=int(args[0]))
        elif cmd == "go":
            sched.resume()
        elif cmd == "pause":
            sched.pause()
            say(paused=True)
        elif cmd == "count":
            with lock:
                say(count=len(state["ids"]), last=state["last"], errors=state["errors"])
        elif cmd == "ids":
            with lock:
                ids, state["ids"] = state["ids"], []
            say(ids=ids)
        elif cmd == "quit":
            sched.shutdown(wait=False)
            say(bye=True)
            os._exit(0)


if __name__ == "__main__":
    main(*sys.argv[1:4])
