"""Private helpers for the triggers: APScheduler 3.x's ``util`` semantics, written from the spec.

Only the slow paths use these (string dates, naive datetimes, zone names); the common paths are
handled natively. To be deduplicated with ``apscheduler_rs.util`` once that module lands.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

__all__ = ["astimezone", "asdate", "convert_to_datetime", "datetime_repr", "get_localzone",
           "localize", "normalize", "timezone_repr"]

_LOCAL_MSG = (
    "Unable to determine the name of the local timezone -- you must explicitly specify the name "
    "of the local timezone. Please refrain from using timezones like EST to prevent problems "
    "with daylight saving time. Instead, use a locale based timezone name (such as "
    "Europe/Helsinki)."
)

# Whole-string date grammar (triggers.md §1.2): the offset is only allowed after a time.
# `$` (not fullmatch) on purpose: like APScheduler, a single trailing newline is accepted.
_DATE_RE = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})"
    r"(?:[ T](?P<hour>\d{1,2}):(?P<minute>\d{1,2}):(?P<second>\d{1,2})"
    r"(?:\.(?P<microsecond>\d{1,6}))?"
    r"(?P<tz>Z|[+-]\d\d:\d\d)?)?$"
)


def get_localzone() -> tzinfo:
    from tzlocal import get_localzone as _get

    return _get()


def astimezone(obj):
    """Zone argument -> tzinfo: 'UTC' is timezone.utc, other names are ZoneInfo, pytz zones
    become ZoneInfo, other tzinfo objects are kept."""
    if isinstance(obj, str):
        return timezone.utc if obj == "UTC" else ZoneInfo(obj)
    if isinstance(obj, tzinfo):
        if obj.tzname(None) == "local":
            raise ValueError(_LOCAL_MSG)
        if hasattr(obj, "localize"):  # pytz
            return ZoneInfo(obj.zone)
        return obj
    if obj is not None:
        raise TypeError(f"Expected tzinfo, got {obj.__class__.__name__} instead")
    return None


def normalize(dt: datetime) -> datetime:
    return datetime.fromtimestamp(dt.timestamp(), dt.tzinfo)


def localize(dt: datetime, tz) -> datetime:
    if hasattr(tz, "localize"):
        return tz.localize(dt)
    return normalize(dt.replace(tzinfo=tz))


def convert_to_datetime(value, tz, arg_name: str):
    if value is None:
        return None
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, date):
        result = datetime.combine(value, time())
    elif isinstance(value, str):
        m = _DATE_RE.match(value)
        if m is None:
            raise ValueError("Invalid date string")
        parts = m.groupdict()
        offset = parts.pop("tz")
        if parts["microsecond"] is not None:
            # Upstream quirk kept on purpose: the digits are whole microseconds (".5" = 5 µs).
            parts["microsecond"] = int(parts["microsecond"])
        fields = {k: int(v or 0) for k, v in parts.items()}
        zone = None
        if offset == "Z":
            zone = timezone.utc
        elif offset:
            sign = -1 if offset[0] == "-" else 1
            hours, minutes = int(offset[1:3]), int(offset[4:6])
            zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
        result = datetime(**fields, tzinfo=zone)
    else:
        raise TypeError(f"Unsupported type for {arg_name}: {value.__class__.__name__}")

    if result.tzinfo is not None:
        return result
    if tz is None:
        raise ValueError(
            f'The "tz" argument must be specified if {arg_name} has no timezone information'
        )
    if isinstance(tz, str):
        tz = astimezone(tz)
    return localize(result, tz)


def datetime_repr(dt) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S %Z") if dt else "None"


def timezone_repr(tz) -> str:
    return tz.key if isinstance(tz, ZoneInfo) else repr(tz)


def asdate(obj):
    return date.fromisoformat(obj) if isinstance(obj, str) else obj


def ref_to_obj(ref: str):
    """Resolve ``'module:qualname'``; APScheduler's ``apscheduler.`` modules map to ours."""
    if not isinstance(ref, str):
        raise TypeError("References must be strings")
    if ":" not in ref:
        raise ValueError("Invalid reference")
    modulename, rest = ref.split(":", 1)
    if modulename == "apscheduler" or modulename.startswith("apscheduler."):
        modulename = "apscheduler_rs" + modulename[len("apscheduler"):]
    try:
        obj = __import__(modulename, fromlist=[rest])
    except ImportError as exc:
        raise LookupError(f"Error resolving reference {ref}: could not import module") from exc
    try:
        for name in rest.split("."):
            obj = getattr(obj, name)
        return obj
    except Exception:
        raise LookupError(f"Error resolving reference {ref}: error looking up object") from None
