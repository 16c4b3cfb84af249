"""Scheduler classes live in the submodules; this package holds the state errors."""

from __future__ import annotations

__all__ = ("SchedulerAlreadyRunningError", "SchedulerNotRunningError")


class SchedulerAlreadyRunningError(Exception):
    """Raised when the scheduler is asked to start or be configured while it runs."""

    # The message comes from __str__ (not args), so ``exc.args == ()`` as upstream.
    def __str__(self) -> str:
        return "Scheduler is already running"


class SchedulerNotRunningError(Exception):
    """Raised when shutting down, pausing or resuming a scheduler that is not running."""

    def __str__(self) -> str:
        return "Scheduler is not running"
