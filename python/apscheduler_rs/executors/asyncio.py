"""``apscheduler.executors.asyncio``: runs jobs on the scheduler's asyncio event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .._core import CoroutineJob, CoroutineRunner
from ..util import iscoroutinefunction_partial
from .base import BaseExecutor, run_coroutine_job, run_job

if TYPE_CHECKING:
    from ..job import Job

__all__ = ("AsyncIOExecutor",)

# The native coroutine each task of the native path drives (asyncio only accepts coroutines).
Coroutine.register(CoroutineJob)


class AsyncIOExecutor(BaseExecutor):
    """Coroutine functions (also behind ``functools.partial``) become tasks on the loop;
    anything else runs in the loop's default executor. Only works with ``AsyncIOScheduler``.

    ``_pending_futures`` holds every task/future from submission until it finishes
    (python-telegram-bot reads it).

    Instances are counted natively, and a due coroutine job with one run time is run by the
    native runner (``src/py/coroutine_runner.rs``): the pass queues it, and the loop starts
    queued runs as tasks a chunk per iteration. Reading ``_pending_futures`` starts every
    queued run first, so it always holds every submitted run's task. Everything else goes
    through ``_do_submit_job``.
    """

    def __init__(self) -> None:
        super().__init__()
        self._runner = CoroutineRunner()

    def start(self, scheduler: Any, alias: str) -> None:
        super().start(scheduler, alias)
        self._eventloop = scheduler._eventloop
        self._pending: set[asyncio.Future[Any]] = set()
        fast = type(self) is AsyncIOExecutor
        self._runner.start(self, scheduler, self._eventloop, self._pending, self._logger, fast)
        # The engine submits straight to the runner (subclasses too: the runner then always
        # calls their _do_submit_job).
        self._native_runner = self._runner

    @property
    def _pending_futures(self) -> set[asyncio.Future[Any]]:
        """Every task/future from submission until it finishes."""
        try:
            pending = self._pending
        except AttributeError:
            raise AttributeError(
                f"{type(self).__name__!r} object has no attribute '_pending_futures'"
            ) from None
        self._runner.flush()
        return pending

    @_pending_futures.setter
    def _pending_futures(self, value: set[asyncio.Future[Any]]) -> None:
        self._pending = value
        self._runner.set_pending(value)

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
        # Running tasks and futures are cancelled (queued runs get their tasks first, as if
        # they had been started at submission); `wait` has no meaning here.
        pending = self._pending_futures
        for future in pending:
            if not future.done():
                future.cancel()
        pending.clear()
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
