"""``CronTrigger``: cron-like calendar expressions. Parsing and search are native."""
from __future__ import annotations

from ..._core import CronTrigger as _NativeCronTrigger
from ..base import BaseTrigger
from .fields import (
    DEFAULT_VALUES,
    BaseField,
    DayOfMonthField,
    DayOfWeekField,
    MonthField,
    WeekField,
)

__all__ = ["CronTrigger", "BaseField", "DayOfMonthField", "DayOfWeekField", "MonthField",
           "WeekField", "DEFAULT_VALUES"]


class CronTrigger(_NativeCronTrigger, BaseTrigger):
    """CronTrigger(year=None, month=None, day=None, week=None, day_of_week=None, hour=None,
    minute=None, second=None, start_date=None, end_date=None, timezone=None, jitter=None)"""

    __slots__ = ()

    FIELD_NAMES = ("year", "month", "day", "week", "day_of_week", "hour", "minute", "second")
    FIELDS_MAP = {
        "year": BaseField,
        "month": MonthField,
        "week": WeekField,
        "day": DayOfMonthField,
        "day_of_week": DayOfWeekField,
        "hour": BaseField,
        "minute": BaseField,
        "second": BaseField,
    }

    @classmethod
    def from_crontab(cls, expr, timezone=None):
        """Build a trigger from a 5-field crontab line. Weekday 0 is Monday, as in APScheduler."""
        values = expr.split()
        if len(values) != 5:
            raise ValueError(f"Wrong number of fields; got {len(values)}, expected 5")
        return cls(minute=values[0], hour=values[1], day=values[2], month=values[3],
                   day_of_week=values[4], timezone=timezone)
