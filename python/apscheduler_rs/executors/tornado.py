"""``apscheduler.executors.tornado``: runs jobs for ``TornadoScheduler``."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tornado.gen import convert_yielded  # without tornado: the plain ModuleNotFoundError, as upstream

from ..util import iscoroutinefunction_partial
from .base import BaseExecutor, run_coroutine_job, run_job

if TYPE_CHECKING:
    from ..job import Job

__all__ = ("TornadoExecutor",)


class TornadoExecutor(BaseExecutor):
    """Coroutine functions run on the scheduler's IOLoop; everything else in a thread pool of
    ``max_workers`` threads (never shut down, as upstream)."""

    def __init__(self, max_workers: int = 10) -> None:
        super().__init__()
        self.executor = ThreadPoolExecutor(max_workers)

    def start(self, scheduler: Any, alias: str) -> None:
        super().start(scheduler, alias)
        self._ioloop = scheduler._ioloop

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        def callback(future: Any) -> None:
            try:
                events = future.result()
            except BaseException as exc:
                self._run_job_error(job.id, exc, exc.__traceback__)
            else:
                self._run_job_success(job.id, events)

        if iscoroutinefunction_partial(job.func):
            future = convert_yielded(run_coroutine_job(job, job._jobstore_alias, run_times, self._logger.name))
        else:
            future = self.executor.submit(run_job, job, job._jobstore_alias, run_times, self._logger.name)
        future.add_done_callback(callback)
