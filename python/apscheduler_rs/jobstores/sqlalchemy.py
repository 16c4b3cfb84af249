"""Placeholder for ``apscheduler.jobstores.sqlalchemy``: planned in issue #4."""

from __future__ import annotations

from .._unavailable import unavailable

unavailable(
    "SQLAlchemyJobStore",
    4,
    requires=("sqlalchemy",),
    missing_message="SQLAlchemyJobStore requires SQLAlchemy installed",
)
