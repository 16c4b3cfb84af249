"""The way back to APScheduler 3.x: rewrite stored jobs so that APScheduler can read them.

apscheduler_rs stores APScheduler's own table/key layout and state dicts, but the pickles name
its own classes (``apscheduler_rs.triggers.cron.CronTrigger`` …), which APScheduler cannot
import. This tool rewrites every stored job so that its pickle names the ``apscheduler.*``
classes instead, with the same state. apscheduler_rs reads the result too (it maps
``apscheduler.*`` names to its own), so running it is harmless if you stay.

Run it with both packages installed (APScheduler 3.x is needed to name its classes), with the
schedulers that use the store stopped::

    python -m apscheduler_rs.jobstores.downgrade sqlite:///jobs.sqlite [--tablename apscheduler_jobs]
    python -m apscheduler_rs.jobstores.downgrade redis://localhost:6379/0 [--jobs-key …] [--run-times-key …]
"""

from __future__ import annotations

import argparse
import importlib
import io
import operator
import pickle
import sys
from typing import Any

from .. import _compat

_OURS = "apscheduler_rs"


def _upstream_name(module: str) -> str:
    return "apscheduler" + module[len(_OURS):]


def _upstream_ref(ref: str) -> str:
    return _upstream_name(ref) if ref.startswith(_OURS + ".") else ref


class UpstreamPickler(pickle.Pickler):
    """Pickles apscheduler_rs objects as the equivalent APScheduler 3.x objects."""

    def __init__(self, file: Any, protocol: int) -> None:
        super().__init__(file, protocol)
        self._protocol = protocol

    def reducer_override(self, obj: Any) -> Any:
        cls = type(obj)
        module = getattr(cls, "__module__", "") or ""
        if isinstance(obj, type) or not module.startswith(_OURS + "."):
            return NotImplemented
        upstream = getattr(importlib.import_module(_upstream_name(module)), cls.__qualname__)
        new = upstream.__new__(upstream)
        attrs = getattr(obj, "__dict__", None)
        if attrs:  # cron fields and expressions: plain instance dicts
            new.__dict__.update(attrs)
        else:  # triggers: their version-N state dicts
            state = dict(obj.__getstate__())
            if "triggers" in state:  # combining triggers name their members as text
                state["triggers"] = [(_upstream_ref(ref), member) for ref, member in state["triggers"]]
            new.__setstate__(state)
        # Not NEWOBJ (the pickler checks that its class is the original object's): an explicit
        # ``cls.__new__(cls)`` call, then BUILD with the state. Both libraries read that.
        state = dict(new.__dict__) if attrs else new.__getstate__()
        return operator.methodcaller("__new__", upstream), (upstream,), state


def upstream_dumps(state: Any, protocol: int = pickle.HIGHEST_PROTOCOL) -> bytes:
    buffer = io.BytesIO()
    UpstreamPickler(buffer, protocol).dump(state)
    return buffer.getvalue()


def downgrade_store(store: Any) -> int:
    """Rewrites every job of a started-or-not ``SQLAlchemyJobStore``/``RedisJobStore``;
    returns how many were rewritten."""
    native = store._native
    count = 0
    for job_id, data in native.all_states():
        state = _compat.loads(data)
        native.write_state(job_id, state["next_run_time"], upstream_dumps(state, store.pickle_protocol))
        count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="a database URL (sqlite:///…, postgresql://…, mysql://…) or redis://host:port/db")
    parser.add_argument("--tablename", default="apscheduler_jobs")
    parser.add_argument("--tableschema", default=None)
    parser.add_argument("--jobs-key", default="apscheduler.jobs")
    parser.add_argument("--run-times-key", default="apscheduler.run_times")
    args = parser.parse_args(argv)
    try:
        importlib.import_module("apscheduler.triggers.base")
    except ImportError:
        parser.error("APScheduler 3.x must be installed to write its class names")
    if args.url.startswith(("redis://", "rediss://")):
        from .._core import RowJobStore
        from .redis import RedisJobStore

        store = RedisJobStore(jobs_key=args.jobs_key, run_times_key=args.run_times_key)
        # A one-off rewrite: no cluster lease (sharing off).
        store._native = RowJobStore.redis(args.url, args.jobs_key, args.run_times_key, store.pickle_protocol, (False, 10.0))
    else:
        from .sqlalchemy import SQLAlchemyJobStore

        store = SQLAlchemyJobStore(url=args.url, tablename=args.tablename, tableschema=args.tableschema)
    count = downgrade_store(store)
    store.shutdown()
    print(f"rewrote {count} job(s) for APScheduler 3.x", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
