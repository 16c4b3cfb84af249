"""``DebugExecutor``: runs each job synchronously inside ``submit_job`` (for tests and debugging).

Because the job runs during submission, its execution events reach listeners before the
scheduler's ``EVENT_JOB_SUBMITTED``, as upstream.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from .base import BaseExecutor, run_job

if TYPE_CHECKING:
    from ..job import Job

__all__ = ("DebugExecutor",)


class DebugExecutor(BaseExecutor):
    """Runs the job in the calling thread (the scheduler's), right away."""

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        try:
            events = run_job(job, job._jobstore_alias, run_times, self._logger.name)
        except BaseException as exc:
            self._run_job_error(job.id, exc, exc.__traceback__)
        else:
            self._run_job_success(job.id, events)
