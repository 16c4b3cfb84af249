"""Placeholder for ``apscheduler.schedulers.gevent``: GeventScheduler is planned in issue #6."""

from __future__ import annotations

from .._unavailable import unavailable

unavailable(
    "GeventScheduler",
    6,
    requires=("gevent",),
    missing_message="GeventScheduler requires gevent installed",
)
