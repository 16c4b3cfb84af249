"""Placeholder for ``apscheduler.schedulers.twisted``: TwistedScheduler is planned in issue #6."""

from __future__ import annotations

from .._unavailable import unavailable

unavailable(
    "TwistedScheduler",
    6,
    requires=("twisted",),
    missing_message="TwistedScheduler requires Twisted installed",
)
