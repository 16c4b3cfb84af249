"""Placeholder for ``apscheduler.jobstores.rethinkdb``: RethinkDBJobStore is planned in issue #4."""

from __future__ import annotations

from .._unavailable import unavailable

unavailable(
    "RethinkDBJobStore",
    4,
    requires=("rethinkdb",),
    missing_message="RethinkDBJobStore requires rethinkdb installed",
)
