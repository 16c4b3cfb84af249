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
from typing import Any

from .._core import RowJobStore
from ..util import maybe_ref
from ._rows import NativeRowsJobStore

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


class SQLAlchemyJobStore(NativeRowsJobStore):
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
    :param shared: (apscheduler_rs) whether several schedulers may share the store; ``False``
        (one scheduler only) skips the lease, the run ledger and its fence, for speed
    :param lease_seconds: (apscheduler_rs) how long a scheduler sharing this store may go
        silent before the others take it for dead (see README, "Running several schedulers")
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
        shared: bool = True,
        lease_seconds: float = 10.0,
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
        sharing = (bool(shared), float(lease_seconds))
        self._native = RowJobStore.sql(self._url, tablename, tableschema, pickle_protocol, sharing)

    def shutdown(self) -> None:
        super().shutdown()
        dispose = getattr(self.engine, "dispose", None)
        if dispose is not None and not isinstance(self.engine, _EngineInfo):
            dispose()

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__} (url={self.engine.url})>"


SQLAlchemyJobStore._native_class = SQLAlchemyJobStore
