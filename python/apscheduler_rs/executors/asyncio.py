"""``apscheduler.executors.asyncio``: runs jobs on the scheduler's asyncio event loop."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .._core import CoroutineRunner
from ..util import iscoroutinefunction_partial
from .base import BaseExecutor, run_coroutine_job, run_job

if TYPE_CHECKING:
    from ..job import Job

__all__ = ("AsyncIOExecutor",)


class AsyncIOExecutor(BaseExecutor):
    """Coroutine functions (also behind ``functools.partial``) become tasks on the loop;
    anything else runs in the loop's default executor. Only works with ``AsyncIOScheduler``.

    ``_pending_futures`` holds every task/future from submission until it finishes
    (python-telegram-bot reads it).

    Instances are counted natively, and a due coroutine job with one run time is started by
    the native pass itself (``src/py/coroutine_runner.rs``); everything else goes through
    ``_do_submit_job``.
    """

    def __init__(self) -> None:
        super().__init__()
        self._runner = CoroutineRunner()

    def start(self, scheduler: Any, alias: str) -> None:
        super().start(scheduler, alias)
        self._eventloop = scheduler._eventloop
        self._pending_futures: set[asyncio.Future[Any]] = set()
        fast = type(self) is AsyncIOExecutor
        self._runner.start(self, scheduler, self._eventloop, self._pending_futures, self._logger, fast)
        # The engine submits straight to the runner (subclasses too: the runner then always
        # calls their _do_submit_job).
        self._native_runner = self._runner

    def submit_job(self, job: Job, run_times: list[datetime]) -> None:
        if self._lock is None:
            raise AssertionError("This executor has not been started yet")
        self._runner.submit_job(job, run_times)

    def _release_instance(self, job_id: str) -> None:
        self._runner.release(job_id)

    @property
    def _instances(self) -> dict[str, int]:  # type: ignore[override]
        return self._runner.instances()

    @_instances.setter
    def _instances(self, value: Any) -> None:
        pass  # BaseExecutor.__init__ sets it; the native runner keeps the counts

    def shutdown(self, wait: bool = True) -> None:
        # Running tasks and futures are cancelled; `wait` has no meaning here.
        for future in self._pending_futures:
            if not future.done():
                future.cancel()
        self._pending_futures.clear()
        self._runner.stop()

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        def on_done(future: asyncio.Future[Any]) -> None:
            self._pending_futures.discard(future)
            try:
                events = future.result()
            except BaseException as exc:  # cancelled, or the machinery failed
                self._run_job_error(job.id, exc, exc.__traceback__)
            else:
                self._run_job_success(job.id, events)

        if iscoroutinefunction_partial(job.func):
            coro = run_coroutine_job(job, job._jobstore_alias, run_times, self._logger.name)
            future: asyncio.Future[Any] = self._eventloop.create_task(coro)
        else:
            future = self._eventloop.run_in_executor(
                None, run_job, job, job._jobstore_alias, run_times, self._logger.name
            )
        future.add_done_callback(on_done)
        self._pending_futures.add(future)
