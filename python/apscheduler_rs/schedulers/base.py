"""``apscheduler.schedulers.base``: the scheduler API shared by every scheduler class.

The registries (executors, job stores, listeners, pending jobs) and the public API live here
in Python, exactly as ecosystem code expects to find them (``_jobstores``, ``_executors``,
``_listeners``, ``_create_lock``); the processing loop, the job index and the thread pool are
native (``self._engine``), and every registry change is mirrored into the engine.
"""

from __future__ import annotations

import base64
import json
import logging
import pickle
import sys
import threading
import warnings
from abc import ABCMeta, abstractmethod
from collections.abc import Callable, Mapping, MutableMapping
from datetime import datetime, tzinfo
from importlib.metadata import entry_points
from typing import Any, TextIO

from tzlocal import get_localzone

from .. import _compat
from .. import release as _release
from .._core import Engine, add_job_native
from ..events import (
    EVENT_ALL,
    EVENT_ALL_JOBS_REMOVED,
    EVENT_EXECUTOR_ADDED,
    EVENT_EXECUTOR_REMOVED,
    EVENT_JOB_ADDED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MODIFIED,
    EVENT_JOB_REMOVED,
    EVENT_JOB_SUBMITTED,
    EVENT_JOBSTORE_ADDED,
    EVENT_JOBSTORE_REMOVED,
    EVENT_SCHEDULER_PAUSED,
    EVENT_SCHEDULER_RESUMED,
    EVENT_SCHEDULER_SHUTDOWN,
    EVENT_SCHEDULER_START,
    EVENT_SCHEDULER_STARTED,
    JobEvent,
    JobSubmissionEvent,
    SchedulerEvent,
)
from ..executors.base import BaseExecutor, MaxInstancesReachedError
from ..executors.pool import ThreadPoolExecutor
from ..job import Job
from ..jobstores.base import BaseJobStore, ConflictingIdError, JobLookupError
from ..jobstores._rows import NativeRowsJobStore
from ..jobstores.memory import MemoryJobStore
from ..triggers.base import BaseTrigger
from ..util import (
    TIMEOUT_MAX,
    asbool,
    asint,
    astimezone,
    maybe_ref,
    ref_to_obj,
    undefined,
)
from . import SchedulerAlreadyRunningError, SchedulerNotRunningError

__all__ = (
    "BaseScheduler",
    "STATE_PAUSED",
    "STATE_RUNNING",
    "STATE_STOPPED",
    # Importable from here in APScheduler too.
    "BaseExecutor",
    "BaseJobStore",
    "BaseTrigger",
    "ConflictingIdError",
    "EVENT_ALL_JOBS_REMOVED",
    "EVENT_EXECUTOR_ADDED",
    "EVENT_EXECUTOR_REMOVED",
    "EVENT_JOBSTORE_ADDED",
    "EVENT_JOBSTORE_REMOVED",
    "EVENT_JOB_ADDED",
    "EVENT_JOB_MAX_INSTANCES",
    "EVENT_JOB_MODIFIED",
    "EVENT_JOB_REMOVED",
    "EVENT_JOB_SUBMITTED",
    "EVENT_SCHEDULER_PAUSED",
    "EVENT_SCHEDULER_RESUMED",
    "EVENT_SCHEDULER_SHUTDOWN",
    "EVENT_SCHEDULER_START",
    "EVENT_SCHEDULER_STARTED",
    "Job",
    "JobEvent",
    "JobLookupError",
    "JobSubmissionEvent",
    "MaxInstancesReachedError",
    "MemoryJobStore",
    "SchedulerAlreadyRunningError",
    "SchedulerEvent",
    "SchedulerNotRunningError",
    "ThreadPoolExecutor",
    "TIMEOUT_MAX",
    "undefined",
)

#: constants for scheduler state
STATE_STOPPED = 0
STATE_RUNNING = 1
STATE_PAUSED = 2

_TRIGGERS = {
    "date": "apscheduler_rs.triggers.date:DateTrigger",
    "interval": "apscheduler_rs.triggers.interval:IntervalTrigger",
    "cron": "apscheduler_rs.triggers.cron:CronTrigger",
    "calendarinterval": "apscheduler_rs.triggers.calendarinterval:CalendarIntervalTrigger",
    "and": "apscheduler_rs.triggers.combining:AndTrigger",
    "or": "apscheduler_rs.triggers.combining:OrTrigger",
}
_EXECUTORS = {
    "threadpool": "apscheduler_rs.executors.pool:ThreadPoolExecutor",
    "processpool": "apscheduler_rs.executors.pool:ProcessPoolExecutor",
    "asyncio": "apscheduler_rs.executors.asyncio:AsyncIOExecutor",
    "debug": "apscheduler_rs.executors.debug:DebugExecutor",
    "gevent": "apscheduler_rs.executors.gevent:GeventExecutor",
    "tornado": "apscheduler_rs.executors.tornado:TornadoExecutor",
    "twisted": "apscheduler_rs.executors.twisted:TwistedExecutor",
}
_JOBSTORES = {
    "memory": "apscheduler_rs.jobstores.memory:MemoryJobStore",
    "sqlalchemy": "apscheduler_rs.jobstores.sqlalchemy:SQLAlchemyJobStore",
    "mongodb": "apscheduler_rs.jobstores.mongodb:MongoDBJobStore",
    "rethinkdb": "apscheduler_rs.jobstores.rethinkdb:RethinkDBJobStore",
    "redis": "apscheduler_rs.jobstores.redis:RedisJobStore",
    "zookeeper": "apscheduler_rs.jobstores.zookeeper:ZooKeeperJobStore",
    "etcd": "apscheduler_rs.jobstores.etcd:EtcdJobStore",
}

_SERIALIZATION_ERROR = (
    "Schedulers cannot be serialized. Ensure that you are not passing a scheduler instance as "
    "an argument to a job, or scheduling an instance method where the instance contains a "
    "scheduler as an attribute."
)


def _no_native() -> None:
    return None


def _native_target(store: Any) -> Any:
    """The native store ``add_job`` may add to directly: a ``MemoryJobStore``'s index, or the
    rows of an exact ``SQLAlchemyJobStore``/``RedisJobStore`` (subclasses keep their Python
    overrides); ``None`` for every other store."""
    if store.__class__ is MemoryJobStore:
        return store._native
    if isinstance(store, NativeRowsJobStore):
        return store._native_engine()
    return None


def _plugin_entry_point(group: str, name: str) -> Any:
    """A third-party plugin registered under APScheduler's entry-point groups."""
    for ep in entry_points(group=group):
        # APScheduler's own entry points name its classes, not ours: skip them.
        if ep.name == name and not ep.value.startswith("apscheduler."):
            return ep.load()
    return None


class BaseScheduler(metaclass=ABCMeta):
    """Abstract base class for all schedulers.

    Takes the following keyword arguments (or the same keys, prefixed with ``apscheduler.``,
    in ``gconfig``): ``logger``, ``timezone``, ``jobstore_retry_interval``, ``job_defaults``,
    ``jobstores``, ``executors``.
    """

    _trigger_plugins = _TRIGGERS
    _executor_plugins = _EXECUTORS
    _jobstore_plugins = _JOBSTORES
    _trigger_classes: dict[str, type] = {}
    _executor_classes: dict[str, type] = {}
    _jobstore_classes: dict[str, type] = {}

    def __init__(self, gconfig: Mapping[str, Any] = {}, **options: Any) -> None:  # noqa: B006
        super().__init__()
        self._engine = Engine()
        self._executors: dict[str, BaseExecutor] = {}
        self._executors_lock = self._create_lock()
        self._jobstores: dict[str, BaseJobStore] = {}
        self._jobstores_lock = self._create_lock()
        self._listeners: list[tuple[Callable[[Any], Any], int]] = []
        self._listeners_lock = self._create_lock()
        self._listener_mask = 0
        self._pending_jobs: list[tuple[Job, str, bool]] = []
        # A subclass with a wakeup() of its own (as 3.x's docs on custom schedulers show) gets it
        # called wherever 3.x calls it; ours let the engine decide whether a pass is needed.
        self._own_wakeup = not type(self).wakeup.__module__.startswith("apscheduler_rs.")
        # Likewise a _dispatch_event() of its own sees every event, also those sent natively.
        self._own_dispatch = not type(self)._dispatch_event.__module__.startswith("apscheduler_rs.")
        self.state = STATE_STOPPED
        if self._own_dispatch:
            self._update_listener_mask()
        self.configure(gconfig, **options)

    def __getstate__(self) -> Any:
        raise TypeError(_SERIALIZATION_ERROR)

    # --- state mirrored into the engine -----------------------------------------------------

    @property
    def state(self) -> int:
        return self._engine.state

    @state.setter
    def state(self, value: int) -> None:
        self._engine.state = value

    @property
    def timezone(self) -> tzinfo:
        return self._timezone

    @timezone.setter
    def timezone(self, value: tzinfo) -> None:
        self._timezone = value
        self._engine.set_timezone(value)

    @property
    def jobstore_retry_interval(self) -> float:
        return self._jobstore_retry_interval

    @jobstore_retry_interval.setter
    def jobstore_retry_interval(self, value: float) -> None:
        self._jobstore_retry_interval = float(value)
        self._engine.set_retry_interval(self._jobstore_retry_interval)

    @property
    def running(self) -> bool:
        """``True`` unless the scheduler is stopped (so also while paused)."""
        return self.state != STATE_STOPPED

    def _sync_jobstores(self) -> None:
        self._engine.set_stores(
            [
                (alias, store, getattr(store, "_native_engine", _no_native)())
                for alias, store in self._jobstores.items()
            ]
        )

    def _sync_executors(self) -> None:
        self._engine.set_executors(
            [
                (alias, ex, ex._pool if type(ex) is ThreadPoolExecutor else getattr(ex, "_native_runner", None))
                for alias, ex in self._executors.items()
            ]
        )

    # --- configuration ----------------------------------------------------------------------

    def configure(
        self, gconfig: Mapping[str, Any] = {}, prefix: str = "apscheduler.", **options: Any  # noqa: B006
    ) -> None:
        """Reconfigure the scheduler (only while stopped); replaces the earlier configuration."""
        if self.state != STATE_STOPPED:
            raise SchedulerAlreadyRunningError
        if prefix:
            gconfig = {k[len(prefix) :]: v for k, v in gconfig.items() if k.startswith(prefix)}
        config: dict[str, Any] = {}
        for key, value in gconfig.items():
            parts = key.split(".")
            parent = config
            key = parts.pop(0)
            while parts:
                parent = parent.setdefault(key, {})
                key = parts.pop(0)
            parent[key] = value
        config.update(options)
        self._configure(config)

    def _configure(self, config: dict[str, Any]) -> None:
        self._logger = maybe_ref(config.pop("logger", None)) or logging.getLogger("apscheduler.scheduler")
        self._engine.set_logger(self._logger)
        self.timezone = astimezone(config.pop("timezone", None)) or get_localzone()
        self.jobstore_retry_interval = float(config.pop("jobstore_retry_interval", 10))

        job_defaults = config.get("job_defaults", {})
        self._job_defaults = {
            "misfire_grace_time": asint(job_defaults.get("misfire_grace_time", 1)),
            "coalesce": asbool(job_defaults.get("coalesce", True)),
            "max_instances": asint(job_defaults.get("max_instances", 1)),
        }
        self._job_defaults_tuple = tuple(self._job_defaults.values())

        self._executors.clear()
        self._sync_executors()
        for alias, value in config.get("executors", {}).items():
            self.add_executor(self._configured_plugin("executor", alias, value), alias)

        self._jobstores.clear()
        self._sync_jobstores()
        for alias, value in config.get("jobstores", {}).items():
            self.add_jobstore(self._configured_plugin("jobstore", alias, value), alias)

    def _configured_plugin(self, kind: str, alias: str, value: Any) -> Any:
        base, label, key = {
            "executor": (BaseExecutor, "executor", "executors"),
            "jobstore": (BaseJobStore, "job store", "jobstores"),
        }[kind]
        if isinstance(value, base):
            return value
        if isinstance(value, MutableMapping):
            cls = value.pop("class", None)
            plugin = value.pop("type", None)
            if plugin:
                return self._create_plugin_instance(kind, plugin, value)
            if cls:
                return maybe_ref(cls)(**value)
            raise ValueError(f'Cannot create {label} "{alias}" -- either "type" or "class" must be defined')
        raise TypeError(
            f"Expected {label} instance or dict for {key}['{alias}'], got {value.__class__.__name__} instead"
        )

    # --- lifecycle --------------------------------------------------------------------------

    def start(self, paused: bool = False) -> None:
        """Start the scheduler: executors and stores start, pending jobs are really added."""
        if self.state != STATE_STOPPED:
            raise SchedulerAlreadyRunningError
        self._check_uwsgi_threads()
        self._engine.prepare()

        # Stopped again if the start fails: no worker threads or cluster leases are left behind.
        executors, stores = [], []
        try:
            with self._executors_lock:
                if "default" not in self._executors:
                    self.add_executor(self._create_default_executor(), "default")
                for alias, executor in self._executors.items():
                    executor.start(self, alias)
                    executors.append(executor)
                self._sync_executors()

            with self._jobstores_lock:
                if "default" not in self._jobstores:
                    self.add_jobstore(self._create_default_jobstore(), "default")
                for alias, store in self._jobstores.items():
                    store.start(self, alias)
                    stores.append(store)
                self._sync_jobstores()
                added = 0  # those added stay in their stores, so a new start does not add them again
                try:
                    for job, jobstore_alias, replace_existing in self._pending_jobs:
                        self._real_add_job(job, jobstore_alias, replace_existing)
                        added += 1
                finally:
                    del self._pending_jobs[:added]
        except BaseException:
            # Nothing was submitted yet: waiting for the executors only joins their idle threads.
            stops = [store.shutdown for store in stores] + [executor.shutdown for executor in executors]
            for stop in stops:
                try:
                    stop()
                except Exception:
                    self._logger.exception("Error stopping a part of the scheduler after a failed start")
            raise

        self.state = STATE_PAUSED if paused else STATE_RUNNING
        self._logger.info("Scheduler started")
        self._dispatch_event(SchedulerEvent(EVENT_SCHEDULER_START))
        if not paused:
            self.wakeup()

    @staticmethod
    def _check_uwsgi_threads() -> None:
        uwsgi = sys.modules.get("uwsgi")
        if uwsgi is not None and not getattr(uwsgi, "has_threads", True):
            raise RuntimeError(
                "The scheduler seems to be running under uWSGI, but threads have been disabled. "
                "You must run uWSGI with the --enable-threads option for the scheduler to work."
            )

    @abstractmethod
    def shutdown(self, wait: bool = True) -> None:
        """Stop the scheduler; with ``wait``, let running jobs finish first."""
        if self.state == STATE_STOPPED:
            raise SchedulerNotRunningError
        self.state = STATE_STOPPED
        # Executors are shut down outside the store lock: a running job may still call the
        # scheduler (get_jobs, add_job, ...) while we wait for it.
        with self._executors_lock:
            executors = list(self._executors.values())
        for executor in executors:
            executor.shutdown(wait)
        with self._jobstores_lock:
            for store in self._jobstores.values():
                store.shutdown()
        self._logger.info("Scheduler has been shut down")
        self._dispatch_event(SchedulerEvent(EVENT_SCHEDULER_SHUTDOWN))

    def pause(self) -> None:
        """Stop processing jobs until ``resume()``; running jobs are not interrupted."""
        if self.state == STATE_STOPPED:
            raise SchedulerNotRunningError
        if self.state == STATE_RUNNING:
            self.state = STATE_PAUSED
            self._logger.info("Paused scheduler job processing")
            self._dispatch_event(SchedulerEvent(EVENT_SCHEDULER_PAUSED))

    def resume(self) -> None:
        """Resume job processing after ``pause()``."""
        if self.state == STATE_STOPPED:
            raise SchedulerNotRunningError
        if self.state == STATE_PAUSED:
            self.state = STATE_RUNNING
            self._logger.info("Resumed scheduler job processing")
            self._dispatch_event(SchedulerEvent(EVENT_SCHEDULER_RESUMED))
            self.wakeup()

    @abstractmethod
    def wakeup(self) -> None:
        """Ask for a processing pass as soon as possible."""

    def _process_jobs(self) -> float | None:
        """One processing pass, for subclasses that schedule their own (as in 3.x): runs the due
        jobs and returns the seconds until the next one (``None``: no job is scheduled)."""
        if self.state == STATE_PAUSED:
            self._logger.debug("Scheduler is paused -- not processing jobs")
            return None
        return self._engine.process_pass(self)

    # --- executors and job stores -------------------------------------------------------------

    def add_executor(self, executor: BaseExecutor | str, alias: str = "default", **executor_opts: Any) -> None:
        with self._executors_lock:
            if alias in self._executors:
                raise ValueError(f'This scheduler already has an executor by the alias of "{alias}"')
            if isinstance(executor, BaseExecutor):
                pass
            elif isinstance(executor, str):
                executor = self._create_plugin_instance("executor", executor, executor_opts)
            else:
                raise TypeError(
                    f"Expected an executor instance or a string, got {executor.__class__.__name__} instead"
                )
            self._executors[alias] = executor
            if self.state != STATE_STOPPED:
                executor.start(self, alias)
            self._sync_executors()
        self._dispatch_event(SchedulerEvent(EVENT_EXECUTOR_ADDED, alias))

    def remove_executor(self, alias: str, shutdown: bool = True) -> None:
        with self._executors_lock:
            executor = self._lookup_executor(alias)
            del self._executors[alias]
            self._sync_executors()
        if shutdown:
            executor.shutdown()
        self._dispatch_event(SchedulerEvent(EVENT_EXECUTOR_REMOVED, alias))

    def add_jobstore(self, jobstore: BaseJobStore | str, alias: str = "default", **jobstore_opts: Any) -> None:
        with self._jobstores_lock:
            if alias in self._jobstores:
                raise ValueError(f'This scheduler already has a job store by the alias of "{alias}"')
            if isinstance(jobstore, BaseJobStore):
                pass
            elif isinstance(jobstore, str):
                jobstore = self._create_plugin_instance("jobstore", jobstore, jobstore_opts)
            else:
                raise TypeError(
                    f"Expected a job store instance or a string, got {jobstore.__class__.__name__} instead"
                )
            self._jobstores[alias] = jobstore
            if self.state != STATE_STOPPED:
                jobstore.start(self, alias)
            self._sync_jobstores()
        self._dispatch_event(SchedulerEvent(EVENT_JOBSTORE_ADDED, alias))
        if self.state != STATE_STOPPED:
            self.wakeup()

    def remove_jobstore(self, alias: str, shutdown: bool = True) -> None:
        with self._jobstores_lock:
            jobstore = self._lookup_jobstore(alias)
            del self._jobstores[alias]
            self._sync_jobstores()
        if shutdown:
            jobstore.shutdown()
        self._dispatch_event(SchedulerEvent(EVENT_JOBSTORE_REMOVED, alias))

    # --- listeners ----------------------------------------------------------------------------

    def add_listener(self, callback: Callable[[Any], Any], mask: int = EVENT_ALL) -> None:
        """Call ``callback(event)`` for every event whose code matches ``mask``."""
        with self._listeners_lock:
            self._listeners.append((callback, mask))
            self._update_listener_mask()

    def remove_listener(self, callback: Callable[[Any], Any]) -> None:
        """Remove every registration of ``callback`` (unknown callbacks are ignored)."""
        with self._listeners_lock:
            self._listeners[:] = [(cb, mask) for cb, mask in self._listeners if cb != callback]
            self._update_listener_mask()

    def _update_listener_mask(self) -> None:
        if self._own_dispatch:
            # Every event goes to the subclass's _dispatch_event(), which calls the listeners.
            self._listener_mask = EVENT_ALL
            self._engine.set_listeners([(self._dispatch_event, EVENT_ALL & 0xFFFFFFFF)])
            return
        mask = 0
        for _, listener_mask in self._listeners:
            mask |= listener_mask
        self._listener_mask = mask
        # Native threads (workers, the loop) call the listeners through the engine's copy.
        self._engine.set_listeners([(cb, m & 0xFFFFFFFF) for cb, m in self._listeners])

    def _dispatch_event(self, event: SchedulerEvent) -> None:
        """Call each listener whose mask matches, in registration order; one that raises is
        logged as ``Error notifying listener`` and the others are still called."""
        if not self._own_dispatch:
            self._engine.dispatch(event)
            return
        with self._listeners_lock:
            listeners = tuple(self._listeners)
        for callback, mask in listeners:
            if event.code & mask:
                try:
                    callback(event)
                except BaseException:
                    self._logger.exception("Error notifying listener")

    # --- jobs -----------------------------------------------------------------------------------

    def add_job(
        self,
        func: Callable[..., Any] | str,
        trigger: BaseTrigger | str | None = None,
        args: Any = None,
        kwargs: Any = None,
        id: str | None = None,
        name: str | None = None,
        misfire_grace_time: Any = undefined,
        coalesce: Any = undefined,
        max_instances: Any = undefined,
        next_run_time: Any = undefined,
        jobstore: str = "default",
        executor: str = "default",
        replace_existing: bool = False,
        **trigger_args: Any,
    ) -> Job:
        """Add a job; it is stored at once if the scheduler runs, otherwise at ``start()``."""
        private = trigger.__class__ is str  # made here from an alias: nobody else holds it
        trigger = self._create_trigger(trigger, trigger_args)
        store = self._jobstores.get(jobstore) if jobstore.__class__ is str else None
        native = _native_target(store) if self._engine.state != STATE_STOPPED else None
        if native is not None:
            # The common case, natively: same validation, events, logs and wake-up.
            job = add_job_native(
                self._engine, self, native, jobstore, replace_existing, self._job_defaults_tuple,
                trigger, executor, func, args, kwargs, id, name, misfire_grace_time, coalesce,
                max_instances, next_run_time, private,
            )  # fmt: skip
            if self._own_wakeup and self.state == STATE_RUNNING:
                self.wakeup()
            return job
        job_kwargs: dict[str, Any] = {
            "trigger": trigger,
            "executor": executor,
            "func": func,
            "args": tuple(args) if args is not None else (),
            "kwargs": dict(kwargs) if kwargs is not None else {},
            "id": id,
            "name": name,
        }
        if misfire_grace_time is not undefined:
            job_kwargs["misfire_grace_time"] = misfire_grace_time
        if coalesce is not undefined:
            job_kwargs["coalesce"] = coalesce
        if max_instances is not undefined:
            job_kwargs["max_instances"] = max_instances
        if next_run_time is not undefined:
            job_kwargs["next_run_time"] = next_run_time
        job = Job(self, **job_kwargs)

        with self._jobstores_lock:
            if self.state == STATE_STOPPED:
                self._pending_jobs.append((job, jobstore, replace_existing))
                self._logger.info(
                    "Adding job tentatively -- it will be properly scheduled when the scheduler starts"
                )
            else:
                self._real_add_job(job, jobstore, replace_existing)
        return job

    def scheduled_job(
        self,
        trigger: BaseTrigger | str,
        args: Any = None,
        kwargs: Any = None,
        id: str | None = None,
        name: str | None = None,
        misfire_grace_time: Any = undefined,
        coalesce: Any = undefined,
        max_instances: Any = undefined,
        next_run_time: Any = undefined,
        jobstore: str = "default",
        executor: str = "default",
        **trigger_args: Any,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator form of ``add_job`` (with ``replace_existing=True``); returns the function."""

        def inner(func: Callable[..., Any]) -> Callable[..., Any]:
            self.add_job(
                func, trigger, args, kwargs, id, name, misfire_grace_time, coalesce,
                max_instances, next_run_time, jobstore, executor, True, **trigger_args,
            )  # fmt: skip
            return func

        return inner

    def modify_job(self, job_id: str, jobstore: str | None = None, **changes: Any) -> Job:
        """Change attributes of a job (validated all-or-nothing)."""
        with self._jobstores_lock:
            job, jobstore = self._lookup_job(job_id, jobstore)
            job._modify(**changes)
            if jobstore:
                self._lookup_jobstore(jobstore).update_job(job)
        if self._listener_mask & EVENT_JOB_MODIFIED:
            self._dispatch_event(JobEvent(EVENT_JOB_MODIFIED, job_id, jobstore))
        if self.state == STATE_RUNNING:
            self.wakeup()
        return job

    def reschedule_job(
        self, job_id: str, jobstore: str | None = None, trigger: BaseTrigger | str | None = None, **trigger_args: Any
    ) -> Job:
        """Give a job a new trigger; its next run time is computed from now."""
        trigger = self._create_trigger(trigger, trigger_args)
        now = datetime.now(self.timezone)
        next_run_time = trigger.get_next_fire_time(None, now)
        return self.modify_job(job_id, jobstore, trigger=trigger, next_run_time=next_run_time)

    def pause_job(self, job_id: str, jobstore: str | None = None) -> Job:
        return self.modify_job(job_id, jobstore, next_run_time=None)

    def resume_job(self, job_id: str, jobstore: str | None = None) -> Job | None:
        """Recompute the next run time from now; a job that will never run again is removed."""
        with self._jobstores_lock:
            job, jobstore = self._lookup_job(job_id, jobstore)
            now = datetime.now(self.timezone)
            next_run_time = job.trigger.get_next_fire_time(None, now)
            if next_run_time:
                return self.modify_job(job_id, jobstore, next_run_time=next_run_time)
            self.remove_job(job.id, jobstore)
            return None

    def get_jobs(self, jobstore: str | None = None, pending: bool | None = None) -> list[Job]:
        if pending is not None:
            warnings.warn(
                'The "pending" option is deprecated -- get_jobs() always returns scheduled jobs if '
                "the scheduler has been started and pending jobs otherwise",
                DeprecationWarning,  # attributed to this module, as 3.x does
            )
        with self._jobstores_lock:
            if self.state == STATE_STOPPED:
                return [job for job, alias, _ in self._pending_jobs if jobstore is None or alias == jobstore]
            jobs: list[Job] = []
            for alias, store in self._jobstores.items():
                if jobstore is None or alias == jobstore:
                    jobs.extend(store.get_all_jobs())
            return jobs

    def get_job(self, job_id: str, jobstore: str | None = None) -> Job | None:
        with self._jobstores_lock:
            try:
                return self._lookup_job(job_id, jobstore)[0]
            except JobLookupError:
                return None

    def remove_job(self, job_id: str, jobstore: str | None = None) -> None:
        removed_from = None
        with self._jobstores_lock:
            if self.state == STATE_STOPPED:
                for i, (job, alias, _) in enumerate(self._pending_jobs):
                    if job.id == job_id and jobstore in (None, alias):
                        del self._pending_jobs[i]
                        removed_from = alias
                        break
            else:
                for alias, store in self._jobstores.items():
                    if jobstore in (None, alias):
                        try:
                            store.remove_job(job_id)
                        except JobLookupError:
                            continue
                        removed_from = alias
                        break
        if removed_from is None:
            raise JobLookupError(job_id)
        if self._listener_mask & EVENT_JOB_REMOVED:
            self._dispatch_event(JobEvent(EVENT_JOB_REMOVED, job_id, removed_from))
        self._logger.info("Removed job %s", job_id)

    def remove_all_jobs(self, jobstore: str | None = None) -> None:
        with self._jobstores_lock:
            if self.state == STATE_STOPPED:
                if jobstore:
                    self._pending_jobs = [p for p in self._pending_jobs if p[1] != jobstore]
                else:
                    self._pending_jobs = []
            else:
                for alias, store in self._jobstores.items():
                    if jobstore in (None, alias):
                        store.remove_all_jobs()
        self._dispatch_event(SchedulerEvent(EVENT_ALL_JOBS_REMOVED, jobstore))

    def print_jobs(self, jobstore: str | None = None, out: TextIO | None = None) -> None:
        """Print the jobs (pending ones while stopped, else per store sorted by alias)."""
        out = out or sys.stdout
        with self._jobstores_lock:
            if self.state == STATE_STOPPED:
                print("Pending jobs:", file=out)
                if self._pending_jobs:
                    for job, alias, _ in self._pending_jobs:
                        if jobstore in (None, alias):
                            print(f"    {job}", file=out)
                else:
                    print("    No pending jobs", file=out)
            else:
                for alias, store in sorted(self._jobstores.items()):
                    if jobstore in (None, alias):
                        print(f"Jobstore {alias}:", file=out)
                        jobs = store.get_all_jobs()
                        if jobs:
                            for job in jobs:
                                print(f"    {job}", file=out)
                        else:
                            print("    No scheduled jobs", file=out)

    def export_jobs(self, outfile: str | TextIO, jobstore: str | None = None) -> None:
        """Write the jobs as APScheduler 3.11's JSON export document."""
        if self.state == STATE_STOPPED:
            raise RuntimeError("the scheduler must have been started for job export to work")

        def encode(obj: Any) -> Any:
            getstate = getattr(obj, "__getstate__", None)
            if getstate is not None and hasattr(obj, "__setstate__"):
                state = getstate()
                if isinstance(state, Mapping):
                    return {
                        "__apscheduler_class__": f"{type(obj).__module__}:{type(obj).__qualname__}",
                        "__apscheduler_state__": state,
                    }
            data = pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)
            return {"__apscheduler_pickle__": base64.b64encode(data).decode("ascii")}

        with self._jobstores_lock:
            states = [job.__getstate__() for job in self.get_jobs(jobstore)]
        document = {"version": 1, "scheduler_version": _release, "jobs": states}
        if isinstance(outfile, str):
            with open(outfile, "w", encoding="utf-8") as f:
                json.dump(document, f, default=encode)
        else:
            json.dump(document, outfile, default=encode)

    def import_jobs(self, infile: str | TextIO, jobstore: str = "default") -> None:
        """Load jobs from an export document (ours or APScheduler's) into ``jobstore``."""

        def decode(obj: dict[str, Any]) -> Any:
            if obj.get("__apscheduler_pickle__"):
                return _compat.loads(base64.b64decode(obj["__apscheduler_pickle__"]))
            if obj.get("__apscheduler_class__") and obj.get("__apscheduler_state__"):
                cls = ref_to_obj(_compat.native_ref(obj["__apscheduler_class__"]))
                instance = cls.__new__(cls)
                instance.__setstate__(obj["__apscheduler_state__"])
                return instance
            return obj

        if isinstance(infile, str):
            with open(infile, encoding="utf-8") as f:
                document = json.load(f, object_hook=decode)
        else:
            document = json.load(infile, object_hook=decode)
        if not isinstance(document, dict):
            raise ValueError
        if (version := document.get("version", 1)) != 1:
            raise ValueError(f"unrecognized version: {version}")
        with self._jobstores_lock:
            store = self._jobstores[jobstore]
            for state in document["jobs"]:
                job = Job.__new__(Job)
                job.__setstate__(state)
                job._scheduler = self
                job._jobstore_alias = jobstore
                store.add_job(job)

    # --- internals ------------------------------------------------------------------------------

    def _create_default_executor(self) -> BaseExecutor:
        return ThreadPoolExecutor()

    def _create_default_jobstore(self) -> BaseJobStore:
        return MemoryJobStore()

    def _lookup_executor(self, alias: str) -> BaseExecutor:
        try:
            return self._executors[alias]
        except KeyError:
            raise KeyError(f"No such executor: {alias}") from None

    def _lookup_jobstore(self, alias: str) -> BaseJobStore:
        try:
            return self._jobstores[alias]
        except KeyError:
            raise KeyError(f"No such job store: {alias}") from None

    def _lookup_job(self, job_id: str, jobstore_alias: str | None) -> tuple[Job, str | None]:
        if self.state == STATE_STOPPED:
            for job, _, _ in self._pending_jobs:
                if job.id == job_id:
                    return job, None
        else:
            for alias, store in self._jobstores.items():
                if jobstore_alias in (None, alias):
                    job = store.lookup_job(job_id)
                    if job is not None:
                        return job, alias
        raise JobLookupError(job_id)

    def _real_add_job(self, job: Job, jobstore_alias: str, replace_existing: bool) -> None:
        replacements = {}
        for key, value in self._job_defaults.items():
            if not hasattr(job, key):
                replacements[key] = value
        if not hasattr(job, "next_run_time"):
            now = datetime.now(self.timezone)
            replacements["next_run_time"] = job.trigger.get_next_fire_time(None, now)
        job._modify(**replacements)

        store = self._lookup_jobstore(jobstore_alias)
        try:
            store.add_job(job)
        except ConflictingIdError:
            if replace_existing:
                store.update_job(job)
            else:
                raise
        job._jobstore_alias = jobstore_alias

        if self._listener_mask & EVENT_JOB_ADDED:
            self._dispatch_event(JobEvent(EVENT_JOB_ADDED, job.id, jobstore_alias))
        self._logger.info('Added job "%s" to job store "%s"', job.name, jobstore_alias)
        if self.state == STATE_RUNNING:
            if self._own_wakeup:
                self.wakeup()
            else:
                # The loop only needs waking if this job runs before it would wake anyway.
                self._engine.wakeup_for(job.next_run_time)

    def _create_plugin_instance(self, type_: str, alias: str, constructor_kwargs: dict[str, Any]) -> Any:
        plugins, classes, base = {
            "trigger": (self._trigger_plugins, self._trigger_classes, BaseTrigger),
            "executor": (self._executor_plugins, self._executor_classes, BaseExecutor),
            "jobstore": (self._jobstore_plugins, self._jobstore_classes, BaseJobStore),
        }[type_]
        try:
            plugin_cls = classes[alias]
        except KeyError:
            if alias in plugins:
                plugin_cls = ref_to_obj(plugins[alias])
            else:
                plugin_cls = _plugin_entry_point(f"apscheduler.{type_}s", alias)
                if plugin_cls is None:
                    raise LookupError(f'No {type_} by the name "{alias}" was found') from None
            if not issubclass(plugin_cls, base):
                raise TypeError(f"The {type_} entry point does not point to a {type_} class") from None
            classes[alias] = plugin_cls
        return plugin_cls(**constructor_kwargs)

    def _create_trigger(self, trigger: Any, trigger_args: dict[str, Any]) -> BaseTrigger:
        if trigger.__class__ is str:  # the common case first: an alias
            trigger_args.setdefault("timezone", self._timezone)
            cls = self._trigger_classes.get(trigger)
            if cls is not None:
                return cls(**trigger_args)
            return self._create_plugin_instance("trigger", trigger, trigger_args)
        if isinstance(trigger, BaseTrigger):
            return trigger
        if trigger is None:
            trigger = "date"
        elif not isinstance(trigger, str):
            raise TypeError(f"Expected a trigger instance or string, got {trigger.__class__.__name__} instead")
        trigger_args.setdefault("timezone", self._timezone)
        return self._create_plugin_instance("trigger", trigger, trigger_args)

    def _create_lock(self) -> Any:
        """Creates a reentrant lock object."""
        return threading.RLock()
