"""``apscheduler.jobstores.redis``: jobs in Redis, with APScheduler 3.x's key layout.

A hash ``jobs_key`` (job id → pickled state) and a sorted set ``run_times_key`` (job id → UTC
timestamp; paused jobs are absent), written through a native client (the ``redis`` crate):
redis-py is not needed. Single-job writes are atomic Lua scripts; the scheduler's claims are
``WATCH``/``MULTI`` transactions, so several schedulers may share the keys. Rows that cannot
be restored are moved to ``{jobs_key}.unrestorable`` instead of being deleted.
"""

from __future__ import annotations

import pickle
from typing import Any
from urllib.parse import quote

from .._core import RowJobStore
from ._rows import NativeRowsJobStore

__all__ = ("RedisJobStore",)

_KNOWN_ARGS = {"host", "port", "password", "username", "unix_socket_path", "ssl"}


def _redis_url(db: int, args: dict[str, Any]) -> str:
    unknown = set(args) - _KNOWN_ARGS
    if unknown:
        raise TypeError(f"RedisJobStore: unsupported connection arguments: {', '.join(sorted(unknown))}")
    auth = ""
    if args.get("password") is not None or args.get("username") is not None:
        user = quote(str(args.get("username") or ""), safe="")
        password = quote(str(args.get("password") or ""), safe="")
        auth = f"{user}:{password}@"
    if args.get("unix_socket_path"):
        return f"redis+unix://{args['unix_socket_path']}?db={db}"
    scheme = "rediss" if args.get("ssl") else "redis"
    host = args.get("host") or "localhost"
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{auth}{host}:{int(args.get('port') or 6379)}/{db}"


class RedisJobStore(NativeRowsJobStore):
    """Stores jobs in a Redis database.

    :param db: the database number
    :param jobs_key: key of the hash holding the pickled jobs
    :param run_times_key: key of the sorted set holding the next run times
    :param pickle_protocol: pickle protocol of the stored job state
    :param shared: (apscheduler_rs) whether several schedulers may share the store; ``False``
        (one scheduler only) skips the lease, the run ledger and its fence, for speed
    :param lease_seconds: (apscheduler_rs) how long a scheduler sharing this store may go
        silent before the others take it for dead (see README, "Running several schedulers")
    :param connect_args: ``host``, ``port``, ``username``, ``password``,
        ``unix_socket_path``, ``ssl`` (others raise ``TypeError``)
    """

    def __init__(
        self,
        db: int = 0,
        jobs_key: str = "apscheduler.jobs",
        run_times_key: str = "apscheduler.run_times",
        pickle_protocol: int = pickle.HIGHEST_PROTOCOL,
        shared: bool = True,
        lease_seconds: float = 10.0,
        **connect_args: Any,
    ) -> None:
        super().__init__()
        if db is None:
            raise ValueError('The "db" parameter must not be empty')
        if not jobs_key:
            raise ValueError('The "jobs_key" parameter must not be empty')
        if not run_times_key:
            raise ValueError('The "run_times_key" parameter must not be empty')
        self.pickle_protocol = pickle_protocol
        self.jobs_key = jobs_key
        self.run_times_key = run_times_key
        self._connect_args = dict(connect_args, db=int(db))
        url = _redis_url(int(db), connect_args)
        sharing = (bool(shared), float(lease_seconds))
        self._native = RowJobStore.redis(url, jobs_key, run_times_key, pickle_protocol, sharing)
        self._redis_client: Any = None

    @property
    def redis(self) -> Any:
        """A redis-py client on the same database (3.x's attribute), if redis-py is installed."""
        if self._redis_client is None:
            import redis

            self._redis_client = redis.Redis(**self._connect_args)
        return self._redis_client

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__}>"


RedisJobStore._native_class = RedisJobStore
