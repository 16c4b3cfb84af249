"""Placeholder for ``apscheduler.jobstores.redis``: RedisJobStore is planned in issue #4."""

from __future__ import annotations

from .._unavailable import unavailable

unavailable(
    "RedisJobStore",
    4,
    requires=("redis",),
    missing_message="RedisJobStore requires redis installed",
)
