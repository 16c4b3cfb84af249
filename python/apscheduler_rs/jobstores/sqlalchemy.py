"""``apscheduler.jobstores.sqlalchemy``: jobs in an SQL table, through native clients.

The table is APScheduler 3.x's (``id``, ``next_run_time``, ``job_state``), so an existing
``jobs.sqlite`` opens unchanged. SQLAlchemy itself is not needed: ``sqlite://`` URLs go
through a bundled SQLite (WAL mode); ``engine=`` accepts a SQLAlchemy ``Engine`` and uses its
URL. Differences from 3.x (see the README):

* a row that cannot be restored is moved to ``{tablename}_unrestorable`` (logged with 3.x's
  message) instead of being deleted; :meth:`SQLAlchemyJobStore.unrestorable_jobs` lists them
  and :meth:`SQLAlchemyJobStore.restore_unrestorable_jobs` puts them back;
* the scheduler claims due jobs and records their next run times in one transaction, so
  several processes may share one database file.
"""

from __future__ import annotations

import pickle
from datetime import datetime
from typing import Any

from .. import _compat
from .._core import RowJobStore
from ..job import Job
from ..util import maybe_ref
from .base import BaseJobStore

__all__ = ("SQLAlchemyJobStore",)


class _EngineInfo:
    """Stands in for a SQLAlchemy ``Engine`` when the store was given a URL."""

    def __init__(self, url: str) -> None:
        self.url = RowJobStore.masked_url(url)
        self._url = url

    def dispose(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"Engine({self.url})"


def _engine_url(engine: Any) -> str:
    url = engine.url
    render = getattr(url, "render_as_string", None)
    return render(hide_password=False) if render else str(url)


class SQLAlchemyJobStore(BaseJobStore):
    """Stores jobs in a database table.

    :param url: a database URL: ``sqlite:///path``, ``sqlite://`` (in memory),
        ``postgresql[+driver]://…``, ``mysql[+driver]://…``, ``mariadb[+driver]://…``
    :param engine: a SQLAlchemy ``Engine`` (or a ``module:name`` reference to one); its URL
        is used, and it wins over ``url``
    :param tablename: name of the job table
    :param metadata: accepted for compatibility (the table is created natively)
    :param pickle_protocol: pickle protocol of the stored job state
    :param tableschema: schema of the table (it must exist)
    :param engine_options: accepted for compatibility (ignored)
    """

    def __init__(
        self,
        url: str | None = None,
        engine: Any = None,
        tablename: str = "apscheduler_jobs",
        metadata: Any = None,
        pickle_protocol: int = pickle.HIGHEST_PROTOCOL,
        tableschema: str | None = None,
        engine_options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.pickle_protocol = pickle_protocol
        self.metadata = maybe_ref(metadata) if metadata else None
        self.tablename = tablename
        self.tableschema = tableschema
        self.engine_options = engine_options or {}
        if engine:
            self.engine = maybe_ref(engine)
            url = _engine_url(self.engine)
        elif url:
            self.engine = _EngineInfo(str(url))
        else:
            raise ValueError('Need either "engine" or "url" defined')
        self._url = str(url)
        self._native = RowJobStore.sql(self._url, tablename, tableschema, pickle_protocol)

    def _native_engine(self) -> RowJobStore | None:
        """What the engine may drive directly: only an exact ``SQLAlchemyJobStore`` (a
        subclass's overrides, such as ``_reconstitute_job``, must be called)."""
        return self._native if type(self) is SQLAlchemyJobStore else None

    @property
    def _exact(self) -> bool:
        return type(self) is SQLAlchemyJobStore

    def start(self, scheduler: Any, alias: str) -> None:
        super().start(scheduler, alias)
        self._native.start(scheduler, alias, self._logger)

    def shutdown(self) -> None:
        self._native.shutdown()
        dispose = getattr(self.engine, "dispose", None)
        if dispose is not None and not isinstance(self.engine, _EngineInfo):
            dispose()

    def lookup_job(self, job_id: str) -> Job | None:
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

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__} (url={self.engine.url})>"
