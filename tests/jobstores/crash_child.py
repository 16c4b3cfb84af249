"""Child process of test_crash.py: runs a scheduler on a SQL store until it is killed.

Every job's function is ``time:time`` (resolvable in any process). The first start schedules
``JOBS`` fast interval jobs; every start then keeps adding ``dur-…`` jobs and prints each id
once ``add_job`` has returned, so the parent knows which rows must have been committed.
"""

import sys
import time

from apscheduler_rs.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler_rs.schedulers.background import BackgroundScheduler

JOBS = 200


def main(url: str, table: str, run: int) -> None:
    store = SQLAlchemyJobStore(url=url, tablename=table)
    scheduler = BackgroundScheduler(jobstores={"default": store}, timezone="UTC")
    scheduler.start()
    if run == 0:
        for i in range(JOBS):
            scheduler.add_job("time:time", "interval", seconds=0.05 + (i % 7) * 0.03, id=f"job{i}",
                              misfire_grace_time=None, coalesce=True)
    print("ready", flush=True)
    i = 0
    while True:
        job_id = f"dur-{run}-{i}"
        scheduler.add_job("time:time", "interval", seconds=0.2, id=job_id, coalesce=True)
        print(job_id, flush=True)
        i += 1
        time.sleep(0.005)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
