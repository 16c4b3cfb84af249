"""The helpers the trigger bindings call back into (from Rust, for the uncommon argument
forms). They are `apscheduler_rs.util`'s, except that references read APScheduler's own class
paths as ours: combining-trigger states written by APScheduler name
``apscheduler.triggers.cron:CronTrigger`` and friends."""

from __future__ import annotations

from typing import Any

from tzlocal import get_localzone

from .. import util
from .._compat import native_ref
from ..util import asdate, astimezone, convert_to_datetime, datetime_repr, localize, normalize, timezone_repr

__all__ = (
    "asdate",
    "astimezone",
    "convert_to_datetime",
    "datetime_repr",
    "get_localzone",
    "localize",
    "normalize",
    "ref_to_obj",
    "timezone_repr",
)


def ref_to_obj(ref: str) -> Any:
    if isinstance(ref, str):
        return util.ref_to_obj(native_ref(ref))
    return util.ref_to_obj(ref)
