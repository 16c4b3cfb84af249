"""Event codes and event objects, mirroring ``apscheduler.events`` (APScheduler 3.11.3).

Codes are bit flags so listeners can subscribe with a mask; the native engine uses the same
integers. Event objects are plain mutable Python objects (instance ``__dict__``, no equality),
and their ``vars()`` order is part of the contract.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

__all__ = (
    "EVENT_ALL",
    "EVENT_ALL_JOBS_REMOVED",
    "EVENT_EXECUTOR_ADDED",
    "EVENT_EXECUTOR_REMOVED",
    "EVENT_JOBSTORE_ADDED",
    "EVENT_JOBSTORE_REMOVED",
    "EVENT_JOB_ADDED",
    "EVENT_JOB_ERROR",
    "EVENT_JOB_EXECUTED",
    "EVENT_JOB_MAX_INSTANCES",
    "EVENT_JOB_MISSED",
    "EVENT_JOB_MODIFIED",
    "EVENT_JOB_REMOVED",
    "EVENT_JOB_SUBMITTED",
    "EVENT_SCHEDULER_PAUSED",
    "EVENT_SCHEDULER_RESUMED",
    "EVENT_SCHEDULER_SHUTDOWN",
    "EVENT_SCHEDULER_STARTED",
    "JobEvent",
    "JobExecutionEvent",
    "JobSubmissionEvent",
    "SchedulerEvent",
)

EVENT_SCHEDULER_STARTED = EVENT_SCHEDULER_START = 2**0
EVENT_SCHEDULER_SHUTDOWN = 2**1
EVENT_SCHEDULER_PAUSED = 2**2
EVENT_SCHEDULER_RESUMED = 2**3
EVENT_EXECUTOR_ADDED = 2**4
EVENT_EXECUTOR_REMOVED = 2**5
EVENT_JOBSTORE_ADDED = 2**6
EVENT_JOBSTORE_REMOVED = 2**7
EVENT_ALL_JOBS_REMOVED = 2**8
EVENT_JOB_ADDED = 2**9
EVENT_JOB_REMOVED = 2**10
EVENT_JOB_MODIFIED = 2**11
EVENT_JOB_EXECUTED = 2**12
EVENT_JOB_ERROR = 2**13
EVENT_JOB_MISSED = 2**14
EVENT_JOB_SUBMITTED = 2**15
EVENT_JOB_MAX_INSTANCES = 2**16
EVENT_ALL = (
    EVENT_SCHEDULER_STARTED
    | EVENT_SCHEDULER_SHUTDOWN
    | EVENT_SCHEDULER_PAUSED
    | EVENT_SCHEDULER_RESUMED
    | EVENT_EXECUTOR_ADDED
    | EVENT_EXECUTOR_REMOVED
    | EVENT_JOBSTORE_ADDED
    | EVENT_JOBSTORE_REMOVED
    | EVENT_ALL_JOBS_REMOVED
    | EVENT_JOB_ADDED
    | EVENT_JOB_REMOVED
    | EVENT_JOB_MODIFIED
    | EVENT_JOB_EXECUTED
    | EVENT_JOB_ERROR
    | EVENT_JOB_MISSED
    | EVENT_JOB_SUBMITTED
    | EVENT_JOB_MAX_INSTANCES
)


class SchedulerEvent:
    """Something happened to the scheduler, or to one of its executors or job stores.

    :ivar code: the event type (one of the ``EVENT_*`` flags)
    :ivar alias: alias of the executor or job store added/removed, if the event concerns one
    """

    def __init__(self, code: int, alias: str | None = None) -> None:
        super().__init__()
        self.code = code
        self.alias = alias

    def __repr__(self) -> str:
        # Kept verbatim for fidelity: upstream meant to interpolate the class name here but
        # never did, so every event prints this literal text (spec jobs-and-events.md §2.3).
        return f"<self.__class__.__name__ (code={self.code})>"


class JobEvent(SchedulerEvent):
    """Something happened to a job.

    :ivar job_id: id of the job concerned
    :ivar jobstore: alias of the store the job is in (``None`` for a pending job)
    """

    def __init__(self, code: int, job_id: str, jobstore: str | None) -> None:
        super().__init__(code)
        self.job_id = job_id
        self.jobstore = jobstore


class JobSubmissionEvent(JobEvent):
    """A job was handed to an executor, or refused by it.

    :ivar scheduled_run_times: the run times submitted (after coalescing)
    """

    def __init__(
        self, code: int, job_id: str, jobstore: str | None, scheduled_run_times: list[datetime]
    ) -> None:
        super().__init__(code, job_id, jobstore)
        self.scheduled_run_times = scheduled_run_times


class JobExecutionEvent(JobEvent):
    """A job ran (successfully or not), or one of its run times was missed.

    :ivar scheduled_run_time: the run time this event is about
    :ivar retval: what the job returned, on success
    :ivar exception: what the job raised, on error
    :ivar traceback: the stack frames of that error, formatted as text
    """

    def __init__(
        self,
        code: int,
        job_id: str,
        jobstore: str | None,
        scheduled_run_time: datetime,
        retval: Any = None,
        exception: BaseException | None = None,
        traceback: str | None = None,
    ) -> None:
        super().__init__(code, job_id, jobstore)
        self.scheduled_run_time = scheduled_run_time
        self.retval = retval
        self.exception = exception
        self.traceback = traceback
