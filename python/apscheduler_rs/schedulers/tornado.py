"""Placeholder for ``apscheduler.schedulers.tornado``: TornadoScheduler is planned in issue #6."""

from __future__ import annotations

from .._unavailable import unavailable

unavailable(
    "TornadoScheduler",
    6,
    requires=("tornado",),
    missing_message="TornadoScheduler requires tornado installed",
)
