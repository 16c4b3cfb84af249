"""Helpers mirroring ``apscheduler.util`` (APScheduler 3.11.3): same names, results and messages.

Pure Python on purpose: these are small conversions users and plug-ins call directly.
``check_callable_args`` and ``obj_to_ref`` run on every ``add_job``, so the first is
memoized (see ``_ArgCheckCache``) and the second avoids ``inspect`` entirely.
"""

from __future__ import annotations

import re
import threading
import weakref
from asyncio import coroutines as _asyncio_coroutines
from calendar import timegm
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from functools import partial
from inspect import Parameter, Signature, iscoroutinefunction, signature
from types import BuiltinFunctionType, FunctionType, MethodType, ModuleType
from typing import Any
from zoneinfo import ZoneInfo

__all__ = (
    "asbool",
    "asint",
    "astimezone",
    "check_callable_args",
    "convert_to_datetime",
    "datetime_ceil",
    "datetime_to_utc_timestamp",
    "get_callable_name",
    "localize",
    "maybe_ref",
    "normalize",
    "obj_to_ref",
    "ref_to_obj",
    "undefined",
    "utc_timestamp_to_datetime",
)

UTC = timezone.utc

#: Longest wait the scheduler loop asks for (``threading`` refuses anything larger).
TIMEOUT_MAX: float = threading.TIMEOUT_MAX


class _Undefined:
    """Marks an option the caller did not give (unlike ``None``, which is a real value)."""

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "<undefined>"


undefined = _Undefined()


# --- plain value conversions -------------------------------------------------------------

_TRUE_WORDS = frozenset(("true", "yes", "on", "y", "t", "1"))
_FALSE_WORDS = frozenset(("false", "no", "off", "n", "f", "0"))


def asint(text: Any) -> int | None:
    """``int(text)``, letting ``None`` through."""
    return None if text is None else int(text)


def asbool(obj: Any) -> bool:
    """Interpret config-file words (``'yes'``, ``'off'`` ...) as booleans; others use ``bool()``."""
    if not isinstance(obj, str):
        return bool(obj)
    word = obj.strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise ValueError(f'Unable to interpret value "{word}" as boolean')


_LOCAL_ZONE_ERROR = (
    "Unable to determine the name of the local timezone -- you must explicitly specify the "
    "name of the local timezone. Please refrain from using timezones like EST to prevent "
    "problems with daylight saving time. Instead, use a locale based timezone name (such as "
    "Europe/Helsinki)."
)


def astimezone(obj: str | tzinfo | None) -> tzinfo | None:
    """Turn a zone name or tzinfo into the tzinfo the scheduler and triggers keep."""
    if obj is None:
        return None
    if isinstance(obj, str):
        # 'UTC' is special-cased to the stdlib singleton; every other name goes to zoneinfo.
        return timezone.utc if obj == "UTC" else ZoneInfo(obj)
    if not isinstance(obj, tzinfo):
        raise TypeError(f"Expected tzinfo, got {type(obj).__name__} instead")
    if obj.tzname(None) == "local":
        raise ValueError(_LOCAL_ZONE_ERROR)
    if isinstance(obj, ZoneInfo):
        return obj
    if hasattr(obj, "zone"):
        # pytz zone: rebuild it as zoneinfo by name (a nameless one keeps its fixed offset).
        return ZoneInfo(obj.zone) if obj.zone else timezone(obj._offset)  # type: ignore[attr-defined]
    return obj


def asdate(obj: Any) -> Any:
    """ISO ``YYYY-MM-DD`` strings become dates; anything else is returned unchanged."""
    return date.fromisoformat(obj) if isinstance(obj, str) else obj


# YYYY-M[M]-D[D], optionally ' '/'T' + H[H]:M[M]:S[S], '.' + 1-6 digits, 'Z' or +-HH:MM.
# `re.match` + `$` on purpose: upstream accepts one trailing newline and any Unicode digits.
_DATE_STRING = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})"
    r"(?:[ T](?P<hour>\d{1,2}):(?P<minute>\d{1,2}):(?P<second>\d{1,2})"
    r"(?:\.(?P<microsecond>\d{1,6}))?"
    r"(?P<offset>Z|[+-]\d\d:\d\d)?)?$"
)


def _parse_date_string(text: str) -> tuple[datetime, tzinfo | None]:
    """The naive wall time in ``text`` and the fixed zone its offset names, if any."""
    match = _DATE_STRING.match(text)
    if match is None:
        raise ValueError("Invalid date string")
    parts = match.groupdict()
    offset = parts.pop("offset")
    zone: tzinfo | None = None
    if offset == "Z":
        zone = timezone.utc
    elif offset:
        # The zone is built before the datetime, so a bad offset is reported first.
        delta = timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))
        zone = timezone(-delta if offset[0] == "-" else delta)
    # Fraction digits are read as a plain integer of microseconds ('.5' == 5 us): a kept quirk.
    fields: dict[str, Any] = {k: int(v) for k, v in parts.items() if v is not None}
    return datetime(**fields), zone


def convert_to_datetime(input: Any, tz: str | tzinfo | None, arg_name: str) -> datetime | None:
    """Convert a datetime, date or date string to an aware datetime.

    Naive values are localized in ``tz``; aware ones are returned unchanged.
    """
    if input is None:
        return None
    if isinstance(input, datetime):
        value = input
    elif isinstance(input, date):
        value = datetime.combine(input, time())
    elif isinstance(input, str):
        value, offset_zone = _parse_date_string(input)
        if offset_zone is not None:
            # An explicit offset replaces ``tz`` and goes through the same localize() as any
            # naive value (so e.g. '0001-01-01 00:30:00+01:00' fails: its UTC year is 0).
            tz = offset_zone
    else:
        raise TypeError(f"Unsupported type for {arg_name}: {type(input).__name__}")

    if value.tzinfo is not None:
        return value
    if tz is None:
        raise ValueError(
            f'The "tz" argument must be specified if {arg_name} has no timezone information'
        )
    if isinstance(tz, str):
        tz = astimezone(tz)
    return localize(value, tz)


def datetime_to_utc_timestamp(timeval: datetime | None) -> float | None:
    """POSIX timestamp of ``timeval`` (naive values are read as UTC), or ``None``."""
    if timeval is None:
        return None
    # Whole seconds via timegm plus the fraction: the exact float every store has persisted.
    return timegm(timeval.utctimetuple()) + timeval.microsecond / 1000000


def utc_timestamp_to_datetime(timestamp: float | None) -> datetime | None:
    """Aware UTC datetime for a POSIX timestamp, or ``None``."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, timezone.utc)


def timedelta_seconds(delta: timedelta) -> float:
    """Total seconds of ``delta`` as a float."""
    return delta.days * 86400 + delta.seconds + delta.microseconds / 1000000.0


def datetime_utc_add(dateval: datetime, tdelta: timedelta) -> datetime:
    """Add elapsed time: aware values are shifted in UTC, then shown in their own zone again."""
    if dateval.tzinfo is None:
        return dateval + tdelta
    return (dateval.astimezone(timezone.utc) + tdelta).astimezone(dateval.tzinfo)


def datetime_ceil(dateval: datetime) -> datetime:
    """Round up to the next whole second when there are microseconds."""
    if dateval.microsecond:
        return datetime_utc_add(dateval, timedelta(seconds=1, microseconds=-dateval.microsecond))
    return dateval


def datetime_repr(dateval: datetime | None) -> str:
    return dateval.strftime("%Y-%m-%d %H:%M:%S %Z") if dateval else "None"


def timezone_repr(timezone: tzinfo) -> str:
    return timezone.key if isinstance(timezone, ZoneInfo) else repr(timezone)


def normalize(dt: datetime) -> datetime:
    """Re-derive the wall time from the instant (moves gap times forward, sets ``fold``)."""
    return datetime.fromtimestamp(dt.timestamp(), dt.tzinfo)


def localize(dt: datetime, tzinfo: tzinfo | None) -> datetime:
    """Attach ``tzinfo`` to a naive datetime (pytz zones use their own ``localize``)."""
    if hasattr(tzinfo, "localize"):
        return tzinfo.localize(dt)  # type: ignore[union-attr]
    return normalize(dt.replace(tzinfo=tzinfo))


# --- callables and references ------------------------------------------------------------


def get_callable_name(func: Any) -> str:
    """Best human-readable qualified name of a callable (used as the default job name)."""
    # Exact type checks are enough: functions, builtins and bound methods can't be subclassed.
    kind = type(func)
    if kind is FunctionType or kind is BuiltinFunctionType or isinstance(func, type):
        return func.__qualname__
    if kind is MethodType:
        # Bound method: name it after the receiver's class, so Sub.cm reads 'Sub.cm'.
        receiver = func.__self__
        owner = receiver if isinstance(receiver, type) else type(receiver)
        return f"{owner.__qualname__}.{func.__name__}"
    # Not plain callable(): an instance whose __call__ attribute is not callable has no name.
    if callable(getattr(func, "__call__", None)):  # noqa: B004
        return kind.__qualname__
    raise TypeError(f"Unable to determine a name for {func!r} -- maybe it is not a callable?")


def obj_to_ref(obj: Any) -> str:
    """Textual ``'module:qualname'`` reference to ``obj``; ``ValueError`` when none can exist."""
    if isinstance(obj, partial):
        raise ValueError("Cannot create a reference to a partial()")
    name = get_callable_name(obj)
    if "<lambda>" in name:
        raise ValueError("Cannot create a reference to a lambda")
    if "<locals>" in name:
        raise ValueError("Cannot create a reference to a nested function")
    # Methods are found through their receiver's module; plain method descriptors have no
    # __module__ at all and fail with AttributeError, as upstream does.
    module = obj.__self__.__module__ if type(obj) is MethodType else obj.__module__
    return f"{module}:{name}"


def ref_to_obj(ref: str) -> Any:
    """Import the module part of ``'module:attr.path'`` and walk the attribute path."""
    if not isinstance(ref, str):
        raise TypeError("References must be strings")
    if ":" not in ref:
        raise ValueError("Invalid reference")
    modulename, path = ref.split(":", 1)
    try:
        # fromlist makes __import__ return the leaf module (and mirrors upstream's handling
        # of 'package:Class.attr', which tries to import a submodule and fails).
        obj = __import__(modulename, fromlist=[path])
    except ImportError as exc:
        raise LookupError(f"Error resolving reference {ref}: could not import module") from exc
    try:
        for attr in path.split("."):
            obj = getattr(obj, attr)
    except Exception:  # the lookup error keeps the original as __context__, like upstream
        raise LookupError(f"Error resolving reference {ref}: error looking up object")  # noqa: B904
    return obj


def maybe_ref(ref: Any) -> Any:
    """``ref_to_obj`` for strings; anything else is already the object."""
    return ref_to_obj(ref) if isinstance(ref, str) else ref


_LEGACY_COROUTINE_MARK = getattr(_asyncio_coroutines, "_is_coroutine", None)


def iscoroutinefunction_partial(f: Any) -> bool:
    """Whether ``f``, after unwrapping nested ``functools.partial``, is a coroutine function."""
    while isinstance(f, partial):
        f = f.func
    if iscoroutinefunction(f):
        return True
    # asyncio also honours its legacy marker (set e.g. by AsyncMock on 3.11); check it by hand
    # because asyncio.iscoroutinefunction is deprecated from Python 3.14.
    return _LEGACY_COROUTINE_MARK is not None and (
        getattr(f, "_is_coroutine", None) is _LEGACY_COROUTINE_MARK
    )


# --- call compatibility check ------------------------------------------------------------

_POSITIONAL_ONLY = Parameter.POSITIONAL_ONLY
_POSITIONAL_OR_KEYWORD = Parameter.POSITIONAL_OR_KEYWORD
_KEYWORD_ONLY = Parameter.KEYWORD_ONLY
_VAR_POSITIONAL = Parameter.VAR_POSITIONAL
_EMPTY = Parameter.empty


def _call_mismatch(sig: Signature, n_args: int, kw_names: list[Any], args: Any) -> str | None:
    """Why ``func(*args, **kwargs)`` would not bind to ``sig``, or ``None`` when it would.

    Only the number of positional arguments and the keyword names matter, which is what makes
    the result cacheable. ``args`` is used solely for ``len()`` in the message.
    """
    positionals_left = n_args
    unclaimed = list(kw_names)  # a list, not a set: message order follows kwargs order
    in_both: list[str] = []
    posonly_by_keyword: list[str] = []
    missing: list[str] = []
    missing_kwonly: list[str] = []
    takes_var_args = takes_var_kwargs = False

    def claim(name: str) -> bool:
        if name in unclaimed:
            unclaimed.remove(name)
            return True
        return False

    for param in sig.parameters.values():
        kind, name = param.kind, param.name
        required = param.default is _EMPTY
        if kind is _POSITIONAL_OR_KEYWORD:
            if positionals_left and name in unclaimed:
                in_both.append(name)  # the positional stays unconsumed, as upstream counts it
            elif positionals_left:
                positionals_left -= 1
            elif not claim(name) and required:
                missing.append(name)
        elif kind is _POSITIONAL_ONLY:
            if positionals_left:
                positionals_left -= 1
            elif claim(name):
                posonly_by_keyword.append(name)
            elif required:
                missing.append(name)
        elif kind is _KEYWORD_ONLY:
            if not claim(name) and required:
                missing_kwonly.append(name)
        elif kind is _VAR_POSITIONAL:
            takes_var_args = True
        else:
            takes_var_kwargs = True

    if in_both:
        return "The following arguments are supplied in both args and kwargs: " + ", ".join(in_both)
    if posonly_by_keyword:
        return "The following arguments cannot be given as keyword arguments: " + ", ".join(
            posonly_by_keyword
        )
    if missing:
        return "The following arguments have not been supplied: " + ", ".join(missing)
    if missing_kwonly:
        return (
            "The following keyword-only arguments have not been supplied in kwargs: "
            + ", ".join(missing_kwonly)
        )
    if positionals_left and not takes_var_args:
        return (
            "The list of positional arguments is longer than the target callable can handle "
            f"(allowed: {n_args - positionals_left}, given in args: {len(args)})"
        )
    if unclaimed and not takes_var_kwargs:
        return "The target callable does not accept the following keyword arguments: " + ", ".join(
            unclaimed
        )
    return None


class _ArgCheckCache:
    """Bounded memo of ``check_callable_args`` results for functions, bound methods and builtins.

    Keyed by the function's identity (so unhashable callables are fine) plus the argument
    count and keyword names. An entry holds only a weak reference to the function and is
    trusted only while that reference still points at the very same function and the parts
    of it a signature is built from (code, defaults, keyword-only default names) are unchanged.
    Module-level builtins are immutable and cached as they are. Anything else -- classes,
    partials, callable instances, methods of builtin objects -- is checked uncached.
    """

    _ANY_SIGNATURE_OVERRIDE = ("__signature__", "_partialmethod", "__partialmethod__")

    def __init__(self, limit: int = 1024) -> None:
        self._limit = limit
        self._entries: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        self._lock = threading.Lock()

    @classmethod
    def target_of(cls, func: Any) -> tuple[Any, bool] | None:
        """The function whose signature decides, and whether it is called bound."""
        kind = type(func)
        if kind is BuiltinFunctionType:
            # Module-level builtins (print, len ...) are immutable: cache them as they are.
            # Builtin methods of instances are new objects on every access, so not worth it.
            owner = func.__self__
            return (func, False) if owner is None or type(owner) is ModuleType else None
        if kind is FunctionType:
            target, bound = func, False
        elif kind is MethodType and type(func.__func__) is FunctionType:
            target, bound = func.__func__, True
        else:
            return None
        attrs = target.__dict__
        if attrs and any(name in attrs for name in cls._ANY_SIGNATURE_OVERRIDE):
            return None
        return target, bound

    @staticmethod
    def _shape(target: FunctionType) -> tuple[Any, Any, Any]:
        if type(target) is BuiltinFunctionType:
            return None, None, ()
        kwdefaults = target.__kwdefaults__
        return target.__code__, target.__defaults__, tuple(kwdefaults) if kwdefaults else ()

    def lookup(self, key: tuple[Any, ...], target: FunctionType) -> tuple[bool, str | None]:
        entry = self._entries.get(key)
        if entry is None or entry[0]() is not target:
            return False, None
        code, defaults, kwdefault_names = self._shape(target)
        if entry[1] is not code or entry[2] is not defaults or entry[3] != kwdefault_names:
            return False, None
        return True, entry[4]

    def store(self, key: tuple[Any, ...], target: FunctionType, message: str | None) -> None:
        entry = (weakref.ref(target), *self._shape(target), message)
        with self._lock:
            if len(self._entries) >= self._limit:
                # FIFO eviction: dicts iterate in insertion order.
                self._entries.pop(next(iter(self._entries)), None)
            self._entries[key] = entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_arg_check_cache = _ArgCheckCache()


def check_callable_args(
    func: Callable[..., Any], args: Iterable[Any], kwargs: Mapping[str, Any]
) -> None:
    """Raise ``ValueError`` if ``func(*args, **kwargs)`` could not bind to ``func``'s signature."""
    kw_names = list(kwargs)
    sequence_args = type(args) is tuple or type(args) is list
    # Count any other iterable by iterating it (an iterator is consumed, as upstream does).
    n_args = len(args) if sequence_args else len(list(args))  # type: ignore[arg-type]

    cache_key = None
    target = _ArgCheckCache.target_of(func) if sequence_args else None
    if target is not None and all(type(name) is str for name in kw_names):
        cache_key = (id(target[0]), target[1], n_args, tuple(kw_names))
        hit, message = _arg_check_cache.lookup(cache_key, target[0])
        if hit:
            if message is not None:
                raise ValueError(message)
            return

    try:
        sig = signature(func, follow_wrapped=False)
    except ValueError:
        message = None  # no signature to check against (some builtins): accept the call
    else:
        message = _call_mismatch(sig, n_args, kw_names, args)

    if cache_key is not None:
        _arg_check_cache.store(cache_key, target[0], message)  # type: ignore[index]
    if message is not None:
        raise ValueError(message)
