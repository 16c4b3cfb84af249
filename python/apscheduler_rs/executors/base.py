"""The executor contract, mirroring ``apscheduler.executors.base`` (APScheduler 3.11.3).

Native executors implement it in Rust; this Python version exists so that user-written
executors (subclasses of ``BaseExecutor``) and ``DebugExecutor`` behave exactly as upstream.
``run_job`` / ``run_coroutine_job`` run one submission of a job and return its events.
"""

from __future__ import annotations

import logging
import sys
import traceback
from abc import ABCMeta, abstractmethod
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobExecutionEvent

if TYPE_CHECKING:
    from ..job import Job

__all__ = ("BaseExecutor", "MaxInstancesReachedError", "run_coroutine_job", "run_job")


class MaxInstancesReachedError(Exception):
    """The job already has ``max_instances`` submissions running in this executor."""

    def __init__(self, job: Job) -> None:
        super().__init__(
            f'Job "{job.id}" has already reached its maximum number of instances '
            f"({job.max_instances})"
        )


class BaseExecutor(metaclass=ABCMeta):
    """Abstract base for executors.

    Counts running *submissions* per job id (one batch of run times is one instance) and
    refuses a submission once ``job.max_instances`` is reached. Subclasses implement
    ``_do_submit_job`` and report back through ``_run_job_success`` or ``_run_job_error``.
    """

    _scheduler: Any = None
    _lock: Any = None
    _logger: logging.Logger = logging.getLogger("apscheduler.executors")

    def __init__(self) -> None:
        super().__init__()
        self._instances: defaultdict[str, int] = defaultdict(int)

    def start(self, scheduler: Any, alias: str) -> None:
        """Bind to the scheduler (called at its start, or when added to a running one)."""
        self._scheduler = scheduler
        self._lock = scheduler._create_lock()
        self._logger = logging.getLogger(f"apscheduler.executors.{alias}")

    def shutdown(self, wait: bool = True) -> None:  # noqa: B027 - optional hook
        """Release resources; ``wait`` asks to let running jobs finish first."""

    def submit_job(self, job: Job, run_times: list[datetime]) -> None:
        """Submit one batch of run times; ``MaxInstancesReachedError`` when at the limit."""
        if self._lock is None:
            # Raised explicitly rather than with `assert`, so it also holds under `python -O`.
            raise AssertionError("This executor has not been started yet")
        with self._lock:
            if self._instances[job.id] >= job.max_instances:
                raise MaxInstancesReachedError(job)
            self._do_submit_job(job, run_times)
            # Counted only once the submission was accepted.
            self._instances[job.id] += 1

    @abstractmethod
    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        """Arrange for ``run_job`` to run somewhere.

        Report back with ``_run_job_success`` or ``_run_job_error``.
        """

    def _release_instance(self, job_id: str) -> None:
        with self._lock:
            self._instances[job_id] -= 1
            if self._instances[job_id] == 0:
                del self._instances[job_id]

    def _run_job_success(self, job_id: str, events: Iterable[JobExecutionEvent]) -> None:
        """A submission finished: release its instance and dispatch its events in order."""
        self._release_instance(job_id)
        for event in events:
            self._scheduler._dispatch_event(event)

    def _run_job_error(
        self, job_id: str, exc: BaseException, traceback: TracebackType | None = None
    ) -> None:
        """The executor machinery failed (not the job): release and log, with no event."""
        self._release_instance(job_id)
        self._logger.error("Error running job %s", job_id, exc_info=(type(exc), exc, traceback))


def _missed_by(job: Job, run_time: datetime) -> timedelta | None:
    """How late ``run_time`` is, if that exceeds the job's misfire grace time."""
    if job.misfire_grace_time is None:
        return None
    late = datetime.now(timezone.utc) - run_time
    return late if late > timedelta(seconds=job.misfire_grace_time) else None


def _error_event(
    job: Job, jobstore_alias: str | None, run_time: datetime, logger: logging.Logger
) -> JobExecutionEvent:
    """Build the error event for the exception being handled, log it, then drop frame refs."""
    exc, tb = sys.exc_info()[1:]
    assert exc is not None
    event = JobExecutionEvent(
        EVENT_JOB_ERROR,
        job.id,
        jobstore_alias,
        run_time,
        exception=exc,
        traceback="".join(traceback.format_tb(tb)),
    )
    logger.exception('Job "%s" raised an exception', job)
    # The exception keeps the traceback alive; clear the finished frames' locals so the
    # job's locals don't form reference cycles through the event.
    traceback.clear_frames(tb)
    return event


def _missed_event(
    job: Job,
    jobstore_alias: str | None,
    run_time: datetime,
    late: timedelta,
    logger: logging.Logger,
) -> JobExecutionEvent:
    logger.warning('Run time of job "%s" was missed by %s', job, late)
    return JobExecutionEvent(EVENT_JOB_MISSED, job.id, jobstore_alias, run_time)


def run_job(
    job: Job, jobstore_alias: str | None, run_times: list[datetime], logger_name: str
) -> list[JobExecutionEvent]:
    """Run ``job`` once per run time (skipping misfired ones) and return the events."""
    events: list[JobExecutionEvent] = []
    logger = logging.getLogger(logger_name)
    for run_time in run_times:
        # Lateness is measured when execution starts, so time spent queued counts too.
        late = _missed_by(job, run_time)
        if late is not None:
            events.append(_missed_event(job, jobstore_alias, run_time, late, logger))
            continue

        logger.info('Running job "%s" (scheduled at %s)', job, run_time)
        try:
            retval = job.func(*job.args, **job.kwargs)
        except BaseException:  # SystemExit and KeyboardInterrupt too: upstream reports them all
            events.append(_error_event(job, jobstore_alias, run_time, logger))
        else:
            events.append(
                JobExecutionEvent(
                    EVENT_JOB_EXECUTED, job.id, jobstore_alias, run_time, retval=retval
                )
            )
            logger.info('Job "%s" executed successfully', job)
    return events


async def run_coroutine_job(
    job: Job, jobstore_alias: str | None, run_times: list[datetime], logger_name: str
) -> list[JobExecutionEvent]:
    """``run_job`` for coroutine functions: the call is awaited."""
    events: list[JobExecutionEvent] = []
    logger = logging.getLogger(logger_name)
    for run_time in run_times:
        late = _missed_by(job, run_time)
        if late is not None:
            events.append(_missed_event(job, jobstore_alias, run_time, late, logger))
            continue

        logger.info('Running job "%s" (scheduled at %s)', job, run_time)
        try:
            retval = await job.func(*job.args, **job.kwargs)
        except BaseException:
            events.append(_error_event(job, jobstore_alias, run_time, logger))
        else:
            events.append(
                JobExecutionEvent(
                    EVENT_JOB_EXECUTED, job.id, jobstore_alias, run_time, retval=retval
                )
            )
            logger.info('Job "%s" executed successfully', job)
    return events
