"""``DateTrigger``: run once at a given time. The logic is native (``_core``)."""
from __future__ import annotations

from .._core import DateTrigger as _NativeDateTrigger
from .base import BaseTrigger

__all__ = ["DateTrigger"]


class DateTrigger(_NativeDateTrigger, BaseTrigger):
    """DateTrigger(run_date=None, timezone=None): fire once at ``run_date`` (default: now)."""

    __slots__ = ()
