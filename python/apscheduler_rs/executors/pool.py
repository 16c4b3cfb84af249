"""``apscheduler.executors.pool``: thread and process pool executors."""

from __future__ import annotations

import atexit
import concurrent.futures
import multiprocessing
import os
import pickle
import threading
from multiprocessing import spawn
import weakref
from collections import defaultdict
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from typing import Any

from .._core import ProcessPool, ThreadPool
from ..events import EVENT_JOB_ERROR, JobExecutionEvent
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


def _forget_this_thread() -> None:
    """Called by a native worker as it ends: drop the ``threading._DummyThread`` that naming the
    thread made (``threading`` keeps those for ever, so ended workers would stay listed)."""
    with threading._active_limbo_lock:  # type: ignore[attr-defined]
        threading._active.pop(threading.get_ident(), None)  # type: ignore[attr-defined]


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
        # A subclass that overrides a 3.x hook gets 3.x's path (a concurrent.futures pool and
        # the hooks), since the native pool runs jobs and reports their results itself.
        self._native = not any(getattr(type(self), hook) is not getattr(ThreadPoolExecutor, hook) for hook in _HOOKS)
        if self._native:
            super().__init__(ThreadPool(max_workers, prefix))
        else:
            super().__init__(concurrent.futures.ThreadPoolExecutor(max_workers, thread_name_prefix=prefix or ""))

    @property  # type: ignore[override]
    def _instances(self) -> defaultdict[str, int]:
        """Running submissions per job id (the native pool counts them; 3.x code reads this)."""
        if self._native:
            return defaultdict(int, self._pool.instances())
        return self.__dict__["_python_instances"]

    @_instances.setter
    def _instances(self, value: defaultdict[str, int]) -> None:
        self.__dict__["_python_instances"] = value

    def start(self, scheduler: Any, alias: str) -> None:
        super().start(scheduler, alias)
        if self._native:
            self._pool.start(scheduler, self._logger)
            _live_thread_pools.add(self)

    def submit_job(self, job: Job, run_times: list[datetime]) -> None:
        if not self._native:
            return super().submit_job(job, run_times)
        if self._lock is None:
            raise AssertionError("This executor has not been started yet")
        self._pool.submit_job(job, run_times)

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        if self._native:  # pragma: no cover - the native pool is given jobs by submit_job
            self._pool.submit_job(job, run_times)
        else:
            super()._do_submit_job(job, run_times)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait)
        _live_thread_pools.discard(self)


_HOOKS = ("_do_submit_job", "_run_job_success", "_run_job_error")


_live_process_pools: weakref.WeakSet[ProcessPoolExecutor] = weakref.WeakSet()


@atexit.register
def _join_process_pools() -> None:
    for executor in list(_live_process_pools):
        executor._pool.shutdown(True)


_POOL_KWARGS = ("mp_context", "initializer", "initargs", "max_tasks_per_child")


class ProcessPoolExecutor(BasePoolExecutor):
    """Runs jobs in up to ``max_workers`` worker processes managed natively.

    Workers are fresh interpreters (``spawn`` semantics: the main module is re-imported as
    ``__mp_main__``, so scripts need their ``if __name__ == "__main__":`` guard), started when
    work arrives. Jobs travel as pickles over pipes. A worker that dies mid-job (``os._exit``,
    a crash, ``SIGKILL``) fails only that job, with ``EVENT_JOB_ERROR``, and the next job gets
    a fresh worker. ``pool_kwargs`` accepts ``initializer``, ``initargs`` and
    ``max_tasks_per_child`` (a worker is replaced after that many jobs); ``mp_context`` is
    accepted and kept, but workers are always spawned.
    """

    def __init__(self, max_workers: int = 10, pool_kwargs: dict[str, Any] | None = None) -> None:
        self.pool_kwargs = pool_kwargs or {}
        self.pool_kwargs.setdefault("mp_context", multiprocessing.get_context("spawn"))
        max_workers = int(max_workers)
        if max_workers <= 0:
            raise ValueError("max_workers must be greater than 0")
        unknown = [key for key in self.pool_kwargs if key not in _POOL_KWARGS]
        if unknown:
            raise TypeError(f"ProcessPoolExecutor does not support pool_kwargs: {', '.join(unknown)}")
        max_tasks = self.pool_kwargs.get("max_tasks_per_child")
        if max_tasks is not None:
            if not isinstance(max_tasks, int):
                raise TypeError("max_tasks_per_child must be an integer")
            if max_tasks <= 0:
                raise ValueError("max_tasks_per_child must be >= 1")
        initializer = self.pool_kwargs.get("initializer")
        if initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable")
        self._max_workers = max_workers
        super().__init__(ProcessPool(max_workers, os.fsdecode(spawn.get_executable()), max_tasks))

    def start(self, scheduler: Any, alias: str) -> None:
        super().start(scheduler, alias)
        preparation = spawn.get_preparation_data("apscheduler-worker")
        # Only multiprocessing's own pickler may carry the authkey; ours sends plain bytes.
        if "authkey" in preparation:
            preparation["authkey"] = bytes(preparation["authkey"])
        config: dict[str, Any] = {"preparation": preparation}
        initializer = self.pool_kwargs.get("initializer")
        if initializer is not None:
            config["initializer"] = pickle.dumps((initializer, tuple(self.pool_kwargs.get("initargs", ()))))
        self._pool.start(pickle.dumps(config, pickle.HIGHEST_PROTOCOL))
        _live_process_pools.add(self)

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        alias = job._jobstore_alias
        logger_name = self._logger.name

        def done(status: int, data: Any) -> None:
            if status == 0:
                try:
                    answer = pickle.loads(data)
                except BaseException as exc:
                    self._run_job_error(job.id, exc, exc.__traceback__)
                    return
                if answer[0]:
                    self._run_job_success(job.id, [JobExecutionEvent(*fields) for fields in answer[1]])
                else:
                    exc, text = answer[1], answer[2]
                    exc.__cause__ = _RemoteTraceback(text)
                    self._run_job_error(job.id, exc, exc.__traceback__)
            elif status == 1:
                self._run_job_success(job.id, self._lost_worker_events(job, alias, run_times, data))
            else:
                self._run_job_error(job.id, data, data.__traceback__)

        try:
            payload = pickle.dumps((job, alias, run_times, logger_name), pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            # Reported like upstream (an "Error running job" log, no job event), but only after
            # the submission has been counted, so the instance count stays right.
            self._pool.submit_refused(exc, done)
        else:
            self._pool.submit(payload, done)

    def _lost_worker_events(
        self, job: Job, alias: str | None, run_times: list[datetime], how: str
    ) -> list[JobExecutionEvent]:
        """The job's worker died: each of its run times failed with ``BrokenProcessPool``."""
        exc = BrokenProcessPool(how)
        self._logger.error('Job "%s" raised an exception', job, exc_info=exc)
        return [
            JobExecutionEvent(EVENT_JOB_ERROR, job.id, alias, run_time, exception=exc, traceback=how)
            for run_time in run_times
        ]

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait)
        if wait:
            _live_process_pools.discard(self)


class _RemoteTraceback(Exception):
    """Carries the worker's traceback text as the ``__cause__`` of a machinery error."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return self.text
