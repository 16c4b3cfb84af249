"""The job store interface and its exceptions, mirroring ``apscheduler.jobstores.base``.

Native stores implement the same contract in Rust; a store written in Python subclasses
``BaseJobStore`` (django-apscheduler does) and the engine calls it through a bridge.
"""

from __future__ import annotations

import logging
from abc import ABCMeta, abstractmethod
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..job import Job

__all__ = ("BaseJobStore", "ConflictingIdError", "JobLookupError", "TransientJobError")


class JobLookupError(KeyError):
    """No job with the given id exists in the store."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"No job by the id of {job_id} was found")


class ConflictingIdError(KeyError):
    """A job with the given id already exists in the store."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"Job identifier ({job_id}) conflicts with an existing job")


class TransientJobError(ValueError):
    """A job without a textual callable reference cannot go into a persistent store."""

    def __init__(self, job_id: str) -> None:
        super().__init__(
            f"Job ({job_id}) cannot be added to this job store because a reference to the "
            "callable could not be determined."
        )


class BaseJobStore(metaclass=ABCMeta):
    """Abstract base for job stores.

    Until ``start()`` the class-level defaults below apply; ``start()`` binds the store to
    its scheduler and alias and switches to the per-alias logger.
    """

    _scheduler: Any = None
    _alias: str | None = None
    _logger: logging.Logger = logging.getLogger("apscheduler.jobstores")

    def start(self, scheduler: Any, alias: str) -> None:
        """Called when the scheduler starts, or when the store is added to a running one.

        Subclasses call this first, then do their own setup (tables, connections).
        """
        self._scheduler = scheduler
        self._alias = alias
        self._logger = logging.getLogger(f"apscheduler.jobstores.{alias}")

    def shutdown(self) -> None:  # noqa: B027 - optional hook
        """Free any resources the store holds."""

    def _fix_paused_jobs_sorting(self, jobs: list[Job]) -> None:
        """Move a leading run of paused jobs to the end of ``jobs``, in place.

        For backends that sort NULL run times first; the relative order is kept.
        """
        first_scheduled = next(
            (index for index, job in enumerate(jobs) if job.next_run_time is not None), None
        )
        if first_scheduled:  # None (all paused / empty) or 0 (nothing leads): leave as is
            jobs[:] = jobs[first_scheduled:] + jobs[:first_scheduled]

    @abstractmethod
    def lookup_job(self, job_id: str) -> Job | None:
        """The job with this id, or ``None``.

        The job returned must have ``_scheduler`` and ``_jobstore_alias`` set.
        """

    @abstractmethod
    def get_due_jobs(self, now: datetime) -> list[Job]:
        """Jobs whose ``next_run_time`` is ``<= now``, earliest first (paused jobs never)."""

    @abstractmethod
    def get_next_run_time(self) -> datetime | None:
        """The earliest ``next_run_time`` among the non-paused jobs, or ``None``."""

    @abstractmethod
    def get_all_jobs(self) -> list[Job]:
        """Every job, earliest ``next_run_time`` first and paused jobs last."""

    @abstractmethod
    def add_job(self, job: Job) -> None:
        """Store a new job; ``ConflictingIdError`` if its id is taken."""

    @abstractmethod
    def update_job(self, job: Job) -> None:
        """Replace the stored job of the same id; ``JobLookupError`` if there is none."""

    @abstractmethod
    def remove_job(self, job_id: str) -> None:
        """Remove a job; ``JobLookupError`` if there is none."""

    @abstractmethod
    def remove_all_jobs(self) -> None:
        """Remove every job."""

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__}>"
