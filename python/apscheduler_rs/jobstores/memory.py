"""``apscheduler.jobstores.memory``: jobs kept in memory, ordered by a native index."""

from __future__ import annotations

from datetime import datetime

from .._core import MemoryIndexStore
from ..job import Job
from .base import BaseJobStore, JobLookupError

__all__ = ("MemoryJobStore",)


class MemoryJobStore(BaseJobStore):
    """Keeps the jobs' native records (no serialization), ordered by next run time then id,
    paused jobs last. Lookups return new ``Job`` handles on the stored records: they see the
    job's live state and compare equal to the added ``Job``, but are not the same object.

    The scheduler drives an exact ``MemoryJobStore`` through its native index directly;
    a subclass that overrides methods is called through those methods instead.
    """

    def __init__(self) -> None:
        super().__init__()
        self._native = MemoryIndexStore()

    def _native_engine(self) -> MemoryIndexStore | None:
        """What the scheduler's engine may drive directly (not a subclass's overrides)."""
        return self._native if type(self) is MemoryJobStore else None

    def lookup_job(self, job_id: str) -> Job | None:
        if job_id.__class__ is not str:
            return None  # ids are strings: nothing else names a stored job (as in 3.x)
        return self._native.lookup(job_id)

    def get_due_jobs(self, now: datetime) -> list[Job]:
        if now.tzinfo is None:
            now = now.astimezone()  # a naive "now" is local time, as in 3.x
        return self._native.due_jobs(now)

    def get_next_run_time(self) -> datetime | None:
        return self._native.next_run_time()

    def get_all_jobs(self) -> list[Job]:
        return self._native.all_jobs()

    def add_job(self, job: Job) -> None:
        self._native.add(job)

    def update_job(self, job: Job) -> None:
        self._native.update(job)

    def remove_job(self, job_id: str) -> None:
        if job_id.__class__ is not str:
            raise JobLookupError(job_id)
        self._native.remove(job_id)

    def remove_all_jobs(self) -> None:
        self._native.remove_all()

    def shutdown(self) -> None:
        self.remove_all_jobs()
