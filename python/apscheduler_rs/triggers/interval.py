"""``IntervalTrigger``: run on a fixed elapsed-time grid. The logic is native (``_core``)."""
from __future__ import annotations

from .._core import IntervalTrigger as _NativeIntervalTrigger
from .base import BaseTrigger

__all__ = ["IntervalTrigger"]


class IntervalTrigger(_NativeIntervalTrigger, BaseTrigger):
    """IntervalTrigger(weeks=0, days=0, hours=0, minutes=0, seconds=0, start_date=None,
    end_date=None, timezone=None, jitter=None)"""

    __slots__ = ()
