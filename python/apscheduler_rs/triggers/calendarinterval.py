"""``CalendarIntervalTrigger``: every N years/months/weeks/days at a fixed wall-clock time.
Argument handling is Python (it is all about ``date``/``time`` objects); the date arithmetic is
native."""
from __future__ import annotations

from datetime import date, time

from .._core import calendar_native
from ._util import asdate, astimezone, get_localzone, timezone_repr
from .base import BaseTrigger

__all__ = ["CalendarIntervalTrigger"]


class CalendarIntervalTrigger(BaseTrigger):
    """CalendarIntervalTrigger(*, years=0, months=0, weeks=0, days=0, hour=0, minute=0,
    second=0, start_date=None, end_date=None, timezone=None, jitter=None)"""

    __slots__ = ("_time", "days", "end_date", "jitter", "months", "start_date", "timezone",
                 "weeks", "years", "_native")

    def __init__(self, *, years=0, months=0, weeks=0, days=0, hour=0, minute=0, second=0,
                 start_date=None, end_date=None, timezone=None, jitter=None):
        self.timezone = astimezone(timezone) if timezone else astimezone(get_localzone())
        self.years = years
        self.months = months
        self.weeks = weeks
        self.days = days
        self.start_date = asdate(start_date) or date.today()
        self.end_date = asdate(end_date)
        self.jitter = jitter
        self._time = time(hour, minute, second, tzinfo=self.timezone)
        if self.years == self.months == self.weeks == self.days == 0:
            raise ValueError("interval must be at least 1 day long")
        if self.end_date and self.start_date > self.end_date:
            raise ValueError("end_date cannot be earlier than start_date")
        self._build()

    def _build(self):
        try:
            self._native = calendar_native(
                self.years, self.months, self.weeks, self.days,
                (self._time.hour, self._time.minute, self._time.second),
                self.start_date, self.end_date, self.timezone, self.jitter)
        except (TypeError, ValueError, OverflowError) as exc:
            # Odd values APScheduler accepts at construction (and fails on later).
            self._native = exc

    def __setattr__(self, name, value):
        # Attributes stay assignable as in APScheduler; keep the native engine in step.
        object.__setattr__(self, name, value)
        if name != "_native" and hasattr(self, "_native"):
            self._build()

    def get_next_fire_time(self, previous_fire_time, now):
        native = self._native
        if isinstance(native, Exception):
            raise TypeError(f"unsupported CalendarIntervalTrigger arguments: {native}")
        return native.next(previous_fire_time, now)

    def __getstate__(self):
        return {
            "version": 1,
            "interval": [self.years, self.months, self.weeks, self.days],
            "time": [self._time.hour, self._time.minute, self._time.second],
            "start_date": self.start_date,
            "end_date": self.end_date,
            "timezone": self.timezone,
            "jitter": self.jitter,
        }

    def __setstate__(self, state):
        if state.get("version", 1) > 1:
            raise ValueError(
                f"Got serialized data for version {state['version']} of "
                f"{self.__class__.__name__}, but only versions up to 1 can be handled"
            )
        self.years, self.months, self.weeks, self.days = state["interval"]
        self.start_date = state["start_date"]
        self.end_date = state["end_date"]
        self.timezone = state["timezone"]
        self.jitter = state["jitter"]
        self._time = time(*state["time"], tzinfo=self.timezone)
        self._build()

    def __repr__(self):
        fields = [f"{name}={getattr(self, name)}" for name in ("years", "months", "weeks", "days")
                  if getattr(self, name) > 0]
        fields.append(f"time={self._time.isoformat()!r}")
        fields.append(f"start_date='{self.start_date}'")
        if self.end_date:
            fields.append(f"end_date='{self.end_date}'")
        fields.append(f"timezone={timezone_repr(self.timezone)!r}")
        return f"{self.__class__.__name__}({', '.join(fields)})"
