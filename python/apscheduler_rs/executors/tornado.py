"""Placeholder for ``apscheduler.executors.tornado``: TornadoExecutor is planned in issue #6."""

from __future__ import annotations

from .._unavailable import unavailable

unavailable("TornadoExecutor", 6, requires=("tornado",))
