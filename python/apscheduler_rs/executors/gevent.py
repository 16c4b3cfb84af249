"""``apscheduler.executors.gevent``: runs each job in its own greenlet."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

try:
    import gevent
except ImportError as exc:  # same message as upstream
    raise ImportError("GeventExecutor requires gevent installed") from exc

from .base import BaseExecutor, run_job

if TYPE_CHECKING:
    from ..job import Job

__all__ = ("GeventExecutor",)


class GeventExecutor(BaseExecutor):
    """Spawns a greenlet per submission; completion is reported from its link callback."""

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        def callback(greenlet: Any) -> None:
            try:
                events = greenlet.get()
            except BaseException as exc:
                self._run_job_error(job.id, exc, exc.__traceback__)
            else:
                self._run_job_success(job.id, events)

        gevent.spawn(run_job, job, job._jobstore_alias, run_times, self._logger.name).link(callback)
