"""``apscheduler.executors.twisted``: runs jobs in the Twisted reactor's thread pool.

Importable without Twisted (as upstream); it needs the scheduler's ``_reactor`` at start.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from .base import BaseExecutor, run_job

if TYPE_CHECKING:
    from ..job import Job

__all__ = ("TwistedExecutor",)


class TwistedExecutor(BaseExecutor):
    """Jobs run through ``reactor.getThreadPool().callInThreadWithCallback``."""

    def start(self, scheduler: Any, alias: str) -> None:
        super().start(scheduler, alias)
        self._reactor = scheduler._reactor

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        def callback(success: bool, result: Any) -> None:
            if success:
                self._run_job_success(job.id, result)
            else:
                self._run_job_error(job.id, result.value, result.tb)

        self._reactor.getThreadPool().callInThreadWithCallback(
            callback, run_job, job, job._jobstore_alias, run_times, self._logger.name
        )
