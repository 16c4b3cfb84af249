"""Placeholder for ``apscheduler.executors.twisted``: TwistedExecutor is planned in issue #6."""

from __future__ import annotations

from .._unavailable import unavailable

unavailable("TwistedExecutor", 6)
