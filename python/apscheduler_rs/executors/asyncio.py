"""Placeholder for ``apscheduler.executors.asyncio``: AsyncIOExecutor is planned in issue #6."""

from __future__ import annotations

from .._unavailable import unavailable

unavailable("AsyncIOExecutor", 6)
