"""A real BackgroundScheduler: interval and date jobs firing, listeners reporting.

Run with `make demo`. (The SQLite store arrives with issue #4; then this demo also shows jobs
surviving a restart.)
"""

import time
from datetime import datetime, timedelta, timezone

from apscheduler_rs.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
from apscheduler_rs.schedulers.background import BackgroundScheduler

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


def main() -> None:
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_listener(listener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    scheduler.add_job(heartbeat, "interval", seconds=0.5, args=["fast"], id="fast")
    scheduler.add_job(heartbeat, "interval", seconds=1.2, args=["slow"], id="slow")
    soon = datetime.now(timezone.utc) + timedelta(seconds=1.5)
    scheduler.add_job(once, "date", run_date=soon, args=["fired once, then removed"], id="once")
    scheduler.add_job(failing, "interval", seconds=2, id="failing")
    scheduler.start()
    print("Scheduled jobs:")
    scheduler.print_jobs()
    time.sleep(3.2)
    scheduler.shutdown()
    print(f"{stamp()} scheduler shut down")


if __name__ == "__main__":
    main()
