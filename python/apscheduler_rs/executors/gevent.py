"""Placeholder for ``apscheduler.executors.gevent``: GeventExecutor is planned in issue #6."""

from __future__ import annotations

from .._unavailable import unavailable

unavailable(
    "GeventExecutor",
    6,
    requires=("gevent",),
    missing_message="GeventExecutor requires gevent installed",
)
