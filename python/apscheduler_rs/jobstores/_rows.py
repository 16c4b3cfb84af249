"""What the persistent stores share: the job state is pickled natively and kept as rows
``(id, next run timestamp, pickle)`` by a native row store (SQL table, Redis keys).

Exact store instances are driven by the engine natively; subclasses go through these
methods, so overriding ``_reconstitute_job`` (as ptbcontrib does) works.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .. import _compat
from .._core import RowJobStore
from ..job import Job
from .base import BaseJobStore, JobLookupError


class NativeRowsJobStore(BaseJobStore):
    """Base of the stores backed by a native ``RowJobStore`` in ``self._native``."""


    _native: RowJobStore
    #: The public class (``SQLAlchemyJobStore``, ``RedisJobStore``) whose exact instances
    #: the engine may drive natively.
    _native_class: type | None = None

    def _native_engine(self) -> RowJobStore | None:
        """What the engine may drive directly: only an exact store class (a subclass's
        overrides, such as ``_reconstitute_job``, must be called)."""
        return self._native if self._exact else None

    @property
    def _exact(self) -> bool:
        return type(self) is self._native_class

    def start(self, scheduler: Any, alias: str) -> None:
        super().start(scheduler, alias)
        self._native.start(scheduler, alias, self._logger)

    def shutdown(self) -> None:
        self._native.shutdown()

    def lookup_job(self, job_id: str) -> Job | None:
        if job_id.__class__ is not str:
            return None  # ids are strings: nothing else names a stored job (as in 3.x)
        if self._exact:
            return self._native.lookup(job_id)
        state = self._native.lookup_state(job_id)
        return self._reconstitute_job(state) if state is not None else None

    def get_due_jobs(self, now: datetime) -> list[Job]:
        if self._exact:
            return self._native.due_jobs(now)
        return self._restore_rows(self._native.due_states(now))

    def get_next_run_time(self) -> datetime | None:
        return self._native.next_run_time()

    def get_all_jobs(self) -> list[Job]:
        if self._exact:
            return self._native.all_jobs()
        return self._restore_rows(self._native.all_states())

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

    def unrestorable_jobs(self) -> list[tuple[str, str]]:
        """``(job id, error)`` of every row moved aside because it could not be restored."""
        return self._native.set_aside_rows()

    def restore_unrestorable_jobs(self) -> int:
        """Moves the rows kept aside back into the job table (for example after the missing
        module was installed); returns how many moved. Ids taken meanwhile stay aside."""
        return self._native.restore_set_aside()

    @property
    def node_id(self) -> str | None:
        """This scheduler's id among the schedulers sharing the store (``None`` until started)."""
        return self._native.node_id

    def lost_runs(self) -> list[tuple[str, datetime, str]]:
        """``(job id, scheduled run time, node id)`` of runs that had started on a scheduler
        that then died (SIGKILL, power loss, a pause longer than its lease). They are never run
        again: whether they finished is unknown. Kept for 7 days."""
        return self._native.lost_runs()

    def _reconstitute_job(self, job_state: bytes) -> Job:
        state = _compat.loads(job_state)
        state["jobstore"] = self
        job = Job.__new__(Job)
        job.__setstate__(state)
        job._scheduler = self._scheduler
        job._jobstore_alias = self._alias
        return job

    def _restore_rows(self, rows: list[tuple[str, bytes]]) -> list[Job]:
        jobs: list[Job] = []
        failed: list[tuple[str, str]] = []
        for job_id, state in rows:
            try:
                jobs.append(self._reconstitute_job(state))
            except BaseException as exc:
                self._logger.exception('Unable to restore job "%s" -- removing it', job_id)
                failed.append((job_id, f"{type(exc).__name__}: {exc}"))
        if failed:
            self._native.set_aside(failed)
        return jobs
