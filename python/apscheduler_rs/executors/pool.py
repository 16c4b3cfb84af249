"""``apscheduler.executors.pool``: thread and process pool executors."""

from __future__ import annotations

import atexit
import concurrent.futures
import multiprocessing
import weakref
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from typing import Any

from .._core import ThreadPool
from ..job import Job
from .base import BaseExecutor, run_job

__all__ = ("BasePoolExecutor", "ProcessPoolExecutor", "ThreadPoolExecutor")


class BasePoolExecutor(BaseExecutor):
    """Runs jobs through a ``concurrent.futures`` pool (used by ``ProcessPoolExecutor``)."""

    def __init__(self, pool: Any) -> None:
        super().__init__()
        self._pool = pool

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        def callback(future: concurrent.futures.Future) -> None:
            exc = future.exception()
            if exc is not None:
                self._run_job_error(job.id, exc, exc.__traceback__)
            else:
                self._run_job_success(job.id, future.result())

        future = self._pool.submit(run_job, job, job._jobstore_alias, run_times, self._logger.name)
        future.add_done_callback(callback)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait)


# Pools still running at interpreter exit are joined first (as concurrent.futures does),
# so no worker wakes up while the interpreter is being torn down.
_live_thread_pools: weakref.WeakSet[ThreadPoolExecutor] = weakref.WeakSet()


@atexit.register
def _join_thread_pools() -> None:
    for executor in list(_live_thread_pools):
        executor._pool.shutdown(True)


class ThreadPoolExecutor(BasePoolExecutor):
    """Runs jobs on ``max_workers`` native worker threads.

    The workers keep their Python thread state for life and take the GIL only to run jobs
    (see ``src/py/executor.rs``). ``max_instances`` is enforced natively.
    """

    def __init__(self, max_workers: int = 10, pool_kwargs: dict[str, Any] | None = None) -> None:
        max_workers = int(max_workers)
        if max_workers <= 0:
            raise ValueError("max_workers must be greater than 0")
        pool_kwargs = dict(pool_kwargs or {})
        prefix = pool_kwargs.pop("thread_name_prefix", None)
        if pool_kwargs:
            unsupported = ", ".join(pool_kwargs)
            raise TypeError(f"ThreadPoolExecutor does not support pool_kwargs: {unsupported}")
        super().__init__(ThreadPool(max_workers, prefix))

    def start(self, scheduler: Any, alias: str) -> None:
        super().start(scheduler, alias)
        self._pool.start(scheduler, self._logger)
        _live_thread_pools.add(self)

    def submit_job(self, job: Job, run_times: list[datetime]) -> None:
        if self._lock is None:
            raise AssertionError("This executor has not been started yet")
        self._pool.submit_job(job, run_times)

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:  # pragma: no cover
        self._pool.submit_job(job, run_times)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait)
        _live_thread_pools.discard(self)


class ProcessPoolExecutor(BasePoolExecutor):
    """Runs jobs in child processes (``spawn`` start method by default).

    Interim implementation on ``concurrent.futures``; the native, self-healing pool is
    issue #6. A broken pool is replaced on the next submission, as in APScheduler.
    """

    def __init__(self, max_workers: int = 10, pool_kwargs: dict[str, Any] | None = None) -> None:
        self.pool_kwargs = pool_kwargs or {}
        self.pool_kwargs.setdefault("mp_context", multiprocessing.get_context("spawn"))
        self._max_workers = int(max_workers)
        pool = concurrent.futures.ProcessPoolExecutor(self._max_workers, **self.pool_kwargs)
        super().__init__(pool)

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        try:
            super()._do_submit_job(job, run_times)
        except BrokenProcessPool:
            self._logger.warning("Process pool is broken; replacing pool with a fresh instance")
            self._pool = concurrent.futures.ProcessPoolExecutor(self._max_workers, **self.pool_kwargs)
            super()._do_submit_job(job, run_times)
