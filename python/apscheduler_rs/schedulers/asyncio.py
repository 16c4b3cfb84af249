"""Placeholder for ``apscheduler.schedulers.asyncio``: AsyncIOScheduler is planned in issue #6."""

from __future__ import annotations

from .._unavailable import unavailable

unavailable("AsyncIOScheduler", 6)
