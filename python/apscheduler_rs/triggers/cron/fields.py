"""Cron field classes. Their instance dicts (``name``, ``is_default``, ``expressions``) are the
pickled format; expression parsing is native (same grammar and messages as APScheduler)."""
from __future__ import annotations

import re

from ..._core import cron_parse_field
from . import expressions as _expressions
from .expressions import (
    AllExpression,
    LastDayOfMonthExpression,
    MonthRangeExpression,
    RangeExpression,
    WeekdayPositionExpression,
    WeekdayRangeExpression,
)

__all__ = ["MIN_VALUES", "MAX_VALUES", "DEFAULT_VALUES", "BaseField", "WeekField",
           "DayOfMonthField", "DayOfWeekField"]

MIN_VALUES = {"year": 1970, "month": 1, "day": 1, "week": 1, "day_of_week": 0, "hour": 0,
              "minute": 0, "second": 0}
MAX_VALUES = {"year": 9999, "month": 12, "day": 31, "week": 53, "day_of_week": 6, "hour": 23,
              "minute": 59, "second": 59}
DEFAULT_VALUES = {"year": "*", "month": 1, "day": 1, "week": "*", "day_of_week": "*", "hour": 0,
                  "minute": 0, "second": 0}
SEPARATOR = re.compile(" *, *")


def _expressions_from_specs(specs):
    result = []
    for class_name, attrs in specs:
        cls = getattr(_expressions, class_name)
        expr = cls.__new__(cls)
        expr.__dict__.update(attrs)
        result.append(expr)
    return result


def _fields_from_specs(specs):
    """Field objects for a native trigger's fields (built without re-parsing)."""
    from . import CronTrigger

    fields = []
    for name, is_default, expr_specs in specs:
        cls = CronTrigger.FIELDS_MAP[name]
        field = cls.__new__(cls)
        field.name = name
        field.is_default = is_default
        field.expressions = _expressions_from_specs(expr_specs)
        fields.append(field)
    return fields


class BaseField:
    REAL = True
    COMPILERS = [AllExpression, RangeExpression]

    def __init__(self, name, exprs, is_default=False):
        self.name = name
        self.is_default = is_default
        self.compile_expressions(exprs)

    def get_min(self, dateval):
        return MIN_VALUES[self.name]

    def get_max(self, dateval):
        return MAX_VALUES[self.name]

    def get_value(self, dateval):
        return getattr(dateval, self.name)

    def get_next_value(self, dateval):
        values = [v for v in (e.get_next_value(dateval, self) for e in self.expressions) if v is not None]
        return min(values) if values else None

    def compile_expressions(self, exprs):
        self.expressions = _expressions_from_specs(cron_parse_field(self.name, exprs))

    def compile_expression(self, expr):
        self.expressions.extend(_expressions_from_specs(cron_parse_field(self.name, expr)))

    def __eq__(self, other):
        return isinstance(self, self.__class__) and self.expressions == other.expressions

    def __str__(self):
        return ",".join(str(e) for e in self.expressions)

    def __repr__(self):
        return f"{self.__class__.__name__}('{self.name}', '{self}')"


class WeekField(BaseField):
    REAL = False

    def get_value(self, dateval):
        return dateval.isocalendar()[1]


class DayOfMonthField(BaseField):
    COMPILERS = BaseField.COMPILERS + [WeekdayPositionExpression, LastDayOfMonthExpression]

    def get_max(self, dateval):
        import calendar

        return calendar.monthrange(dateval.year, dateval.month)[1]


class DayOfWeekField(BaseField):
    REAL = False
    COMPILERS = BaseField.COMPILERS + [WeekdayRangeExpression]

    def get_value(self, dateval):
        return dateval.weekday()


class MonthField(BaseField):
    COMPILERS = BaseField.COMPILERS + [MonthRangeExpression]
