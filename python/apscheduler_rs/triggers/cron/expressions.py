"""Cron expression classes. They carry the state (pickled as their ``__dict__``), their text
forms and ``get_next_value``; the trigger itself parses and searches natively."""
from __future__ import annotations

import calendar

__all__ = ["AllExpression", "LastDayOfMonthExpression", "RangeExpression",
           "WeekdayPositionExpression", "WeekdayRangeExpression"]

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]


def _int(value):
    return None if value is None else int(value)


class AllExpression:
    """``*`` or ``*/step``."""

    def __init__(self, step=None):
        self.step = _int(step)
        if self.step == 0:
            raise ValueError("Increment must be higher than 0")

    def _step_up(self, value, minval):
        if self.step:
            value += (self.step - (value - minval)) % self.step
        return value

    def get_next_value(self, date, field):
        """Smallest allowed value >= the field's current value, or None (cron.md §6)."""
        start = max(field.get_value(date), field.get_min(date))
        value = self._step_up(start, field.get_min(date))
        return value if value <= field.get_max(date) else None

    def __eq__(self, other):
        return isinstance(other, self.__class__) and self.step == other.step

    def __str__(self):
        return f"*/{self.step}" if self.step else "*"

    def __repr__(self):
        return f"{self.__class__.__name__}({self.step})"


class RangeExpression(AllExpression):
    """``first[-last][/step]``; ``last`` is ``None`` only for ``first/step``."""

    def __init__(self, first, last=None, step=None):
        super().__init__(step)
        first, last = _int(first), _int(last)
        if last is None and step is None:
            last = first
        if last is not None and first > last:
            raise ValueError("The minimum value in a range must not be higher than the maximum")
        self.first = first
        self.last = last

    def get_next_value(self, date, field):
        minval = max(field.get_min(date), self.first)
        maxval = field.get_max(date) if self.last is None else min(field.get_max(date), self.last)
        value = self._step_up(max(minval, field.get_value(date)), minval)
        return value if value <= maxval else None

    def __eq__(self, other):
        # Like APScheduler: the step is not compared.
        return isinstance(other, self.__class__) and (self.first, self.last) == (other.first, other.last)

    def __str__(self):
        text = f"{self.first}-{self.last}" if self.last is not None and self.last != self.first else str(self.first)
        return f"{text}/{self.step}" if self.step else text

    def __repr__(self):
        args = [str(self.first)]
        if (self.last is not None and self.last != self.first) or self.step:
            args.append(str(self.last))
        if self.step:
            args.append(str(self.step))
        return f"{self.__class__.__name__}({', '.join(args)})"


def _lookup(names, name, message):
    try:
        return names.index(name.lower())
    except ValueError:
        raise ValueError(message.format(name)) from None


class MonthRangeExpression(RangeExpression):
    """``jan`` or ``jan-mar``."""

    def __init__(self, first, last=None):
        first_num = _lookup(MONTHS, first, 'Invalid month name "{}"') + 1
        last_num = _lookup(MONTHS, last, 'Invalid month name "{}"') + 1 if last else None
        super().__init__(first_num, last_num)

    def __str__(self):
        if self.last is not None and self.last != self.first:
            return f"{MONTHS[self.first - 1]}-{MONTHS[self.last - 1]}"
        return MONTHS[self.first - 1]

    def __repr__(self):
        # APScheduler 3.11 quirk kept: the first name is looked up one position too far.
        args = [f"'{MONTHS[self.first]}'"]
        if self.last is not None and self.last != self.first:
            args.append(f"'{MONTHS[self.last - 1]}'")
        return f"{self.__class__.__name__}({', '.join(args)})"


class WeekdayRangeExpression(RangeExpression):
    """``mon`` or ``mon-fri`` (0 = Monday)."""

    def __init__(self, first, last=None):
        first_num = _lookup(WEEKDAYS, first, 'Invalid weekday name "{}"')
        last_num = _lookup(WEEKDAYS, last, 'Invalid weekday name "{}"') if last else None
        super().__init__(first_num, last_num)

    def __str__(self):
        if self.last is not None and self.last != self.first:
            return f"{WEEKDAYS[self.first]}-{WEEKDAYS[self.last]}"
        return WEEKDAYS[self.first]

    def __repr__(self):
        args = [f"'{WEEKDAYS[self.first]}'"]
        if self.last is not None and self.last != self.first:
            args.append(f"'{WEEKDAYS[self.last]}'")
        return f"{self.__class__.__name__}({', '.join(args)})"


class WeekdayPositionExpression(AllExpression):
    """``1st fri`` ... ``5th fri``, ``last fri``."""

    options = ["1st", "2nd", "3rd", "4th", "5th", "last"]

    def __init__(self, option_name, weekday_name):
        super().__init__(None)
        self.option_num = _lookup(self.options, option_name, 'Invalid weekday position "{}"')
        self.weekday = _lookup(WEEKDAYS, weekday_name, 'Invalid weekday name "{}"')

    def get_next_value(self, date, field):
        first_weekday, last_day = calendar.monthrange(date.year, date.month)
        first_hit = self.weekday - first_weekday + 1
        if first_hit <= 0:
            first_hit += 7
        if self.option_num < 5:
            target = first_hit + self.option_num * 7
        else:
            target = first_hit + (last_day - first_hit) // 7 * 7
        return target if date.day <= target <= last_day else None

    def __eq__(self, other):
        return (isinstance(other, self.__class__) and self.option_num == other.option_num
                and self.weekday == other.weekday)

    def __str__(self):
        return f"{self.options[self.option_num]} {WEEKDAYS[self.weekday]}"

    def __repr__(self):
        return f"{self.__class__.__name__}('{self.options[self.option_num]}', '{WEEKDAYS[self.weekday]}')"


class LastDayOfMonthExpression(AllExpression):
    """``last``: the last day of the month."""

    def __init__(self):
        super().__init__(None)

    def get_next_value(self, date, field):
        return calendar.monthrange(date.year, date.month)[1]

    def __str__(self):
        return "last"

    def __repr__(self):
        return f"{self.__class__.__name__}()"
