"""A real BackgroundScheduler on an SQLite job store: interval and date jobs firing, listeners
reporting, and the jobs surviving a restart.

Run with `make demo`. The first run schedules the jobs into examples/demo-jobs.sqlite (a file
in APScheduler's own format) and shuts down; the second run opens the same file and finds them.
"""

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from apscheduler_rs.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
from apscheduler_rs.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler_rs.schedulers.background import BackgroundScheduler

DB = Path(__file__).resolve().parent / "demo-jobs.sqlite"

started = time.monotonic()


def stamp() -> str:
    return f"[{time.monotonic() - started:5.2f}s]"


def heartbeat(name: str) -> str:
    print(f"{stamp()} {name}: tick")
    return name


def once(message: str) -> None:
    print(f"{stamp()} date job: {message}")


def failing() -> None:
    raise RuntimeError("this job fails on purpose")


def listener(event) -> None:
    if event.code == EVENT_JOB_EXECUTED:
        print(f"{stamp()}   listener: {event.job_id} returned {event.retval!r}")
    elif event.code == EVENT_JOB_ERROR:
        print(f"{stamp()}   listener: {event.job_id} raised {event.exception!r}")
    else:
        print(f"{stamp()}   listener: {event.job_id} missed its run at {event.scheduled_run_time}")


def new_scheduler() -> BackgroundScheduler:
    store = SQLAlchemyJobStore(url=f"sqlite:///{DB}")
    scheduler = BackgroundScheduler(jobstores={"default": store}, timezone="UTC")
    scheduler.add_listener(listener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    return scheduler


def first_run() -> None:
    print(f"--- run 1: a fresh store in {DB.name}")
    scheduler = new_scheduler()
    scheduler.start()
    scheduler.remove_all_jobs()
    # Stored jobs name their function by reference ("module:function"), so they can be
    # restored by a later process.
    scheduler.add_job(heartbeat, "interval", seconds=0.5, args=["fast"], id="fast")
    scheduler.add_job(heartbeat, "interval", seconds=1.2, args=["slow"], id="slow")
    soon = datetime.now(timezone.utc) + timedelta(seconds=1.5)
    scheduler.add_job(once, "date", run_date=soon, args=["fired once, then removed"], id="once")
    scheduler.add_job(failing, "interval", seconds=2, id="failing")
    later = datetime.now(timezone.utc) + timedelta(seconds=4)
    scheduler.add_job(once, "date", run_date=later, args=["scheduled by run 1, fired by run 2"], id="later")
    print("Scheduled jobs:")
    scheduler.print_jobs()
    time.sleep(2.6)
    scheduler.shutdown()
    print(f"{stamp()} scheduler shut down (a restart follows)")


def second_run() -> None:
    print(f"--- run 2: a new scheduler opens {DB.name}")
    scheduler = new_scheduler()
    scheduler.start()
    print(f"{stamp()} found {len(scheduler.get_jobs())} stored jobs:")
    scheduler.print_jobs()
    time.sleep(2.6)
    scheduler.remove_all_jobs()
    scheduler.shutdown()
    print(f"{stamp()} scheduler shut down")


def main() -> None:
    first_run()
    second_run()


if __name__ == "__main__":
    main()
