"""apscheduler_rs.util against apscheduler.util (3.11.3): results, exception types and messages."""

from __future__ import annotations

import asyncio
import functools
import gc
import math
import os.path
import pickle
import re
import sys
import threading
from datetime import date, datetime, timedelta, timezone, tzinfo
from unittest.mock import AsyncMock
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import apscheduler.util as theirs
import pytest
import pytz
from hypothesis import given
from hypothesis import strategies as st
from oracle_helpers import outcome, same_outcome

import apscheduler_rs.util as ours

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")

ZONE_NAMES = [
    "UTC",
    "Etc/UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
    "America/Sao_Paulo",
    "utc",
    "",
    "Mars/Base",
    "../etc",
    "UTC ",
]
ZONES = st.sampled_from(
    [
        timezone.utc,
        timezone(timedelta(hours=5, minutes=30)),
        timezone(timedelta(hours=-3), "BRT"),
        BERLIN,
        NEW_YORK,
        ZoneInfo("UTC"),
        ZoneInfo("Australia/Lord_Howe"),
        pytz.utc,
        pytz.timezone("Europe/Berlin"),
        pytz.timezone("America/New_York"),
    ]
)
NAIVE = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 12, 31))
AWARE = st.builds(
    lambda d, z: d.replace(tzinfo=z) if not hasattr(z, "localize") else z.localize(d), NAIVE, ZONES
)
DATETIMES = st.one_of(NAIVE, AWARE, NAIVE.map(lambda d: d.replace(fold=1, tzinfo=BERLIN)))


def test_all_matches_upstream():
    assert ours.__all__ == theirs.__all__
    for name in [
        "datetime_repr",
        "timedelta_seconds",
        "iscoroutinefunction_partial",
        "timezone_repr",
        "asdate",
        "datetime_utc_add",
        "UTC",
    ]:
        assert hasattr(ours, name)


def test_undefined_sentinel():
    assert not ours.undefined
    assert repr(ours.undefined) == "<undefined>"
    assert type(ours.undefined).__name__ == "_Undefined"
    assert ours.undefined is ours.undefined


def test_timeout_max_is_threading_limit():
    assert ours.TIMEOUT_MAX == threading.TIMEOUT_MAX


# --- asbool / asint ---------------------------------------------------------------------

BOOL_WORDS = ["true", "yes", "on", "y", "t", "1", "false", "no", "off", "n", "f", "0", "maybe"]


@given(
    st.one_of(
        st.text(max_size=8),
        st.builds(
            lambda w, pad, up: pad + (w.upper() if up else w) + pad,
            st.sampled_from(BOOL_WORDS),
            st.sampled_from(["", " ", "\t", "\n "]),
            st.booleans(),
        ),
        st.integers(),
        st.floats(),
        st.none(),
        st.binary(max_size=4),
        st.lists(st.integers(), max_size=2),
    )
)
def test_asbool_matches_upstream(value):
    same_outcome(ours.asbool, theirs.asbool, value)


def test_asbool_message():
    with pytest.raises(ValueError, match=r'^Unable to interpret value "maybe" as boolean$'):
        ours.asbool("  MAYBE ")


@given(
    st.one_of(
        st.text(max_size=6),
        st.from_regex(r"\s*[+-]?[0-9_]{1,5}\s*", fullmatch=True),
        st.integers(),
        st.floats(),
        st.none(),
        st.binary(max_size=3),
        st.booleans(),
    )
)
def test_asint_matches_upstream(value):
    same_outcome(ours.asint, theirs.asint, value)


# --- time zones and dates ---------------------------------------------------------------


class _LocalZone(tzinfo):  # a tzinfo that cannot name itself
    def tzname(self, dt):
        return "local"

    def utcoffset(self, dt):
        return timedelta(0)


class _NamelessPytzLike(tzinfo):
    zone = None
    _offset = timedelta(hours=2)

    def tzname(self, dt):
        return None


@pytest.mark.parametrize(
    "value",
    [
        None,
        *ZONE_NAMES,
        timezone.utc,
        timezone(timedelta(hours=3)),
        BERLIN,
        pytz.utc,
        pytz.timezone("Europe/Paris"),
        pytz.FixedOffset(120),
        5,
        b"UTC",
        _LocalZone(),
        _NamelessPytzLike(),
    ],
)
def test_astimezone_matches_upstream(value):
    same_outcome(ours.astimezone, theirs.astimezone, value)


def test_astimezone_messages():
    assert ours.astimezone("UTC") is timezone.utc
    assert ours.astimezone(pytz.utc) == ZoneInfo("UTC")
    with pytest.raises(ZoneInfoNotFoundError, match="No time zone found with key Mars/Base"):
        ours.astimezone("Mars/Base")
    with pytest.raises(TypeError, match="^Expected tzinfo, got int instead$"):
        ours.astimezone(5)
    with pytest.raises(ValueError, match="^Unable to determine the name of the local timezone"):
        ours.astimezone(_LocalZone())


@given(st.one_of(st.dates().map(str), st.text(max_size=12), st.integers(), DATETIMES))
def test_asdate_matches_upstream(value):
    same_outcome(ours.asdate, theirs.asdate, value)


# --- convert_to_datetime ----------------------------------------------------------------


def _digits(lo, hi):
    return st.integers(lo, hi).map(str)


DATE_PART = st.builds(
    "{}-{}-{}".format,
    st.one_of(_digits(1, 9999).map(lambda s: s.zfill(4)), _digits(0, 99999)),
    st.one_of(_digits(1, 12), _digits(0, 13)),
    st.one_of(_digits(1, 28), _digits(0, 32)),
)
TIME_PART = st.builds(
    "{}{}:{}:{}".format,
    st.sampled_from([" ", "T"] * 4 + ["t", "  "]),
    _digits(0, 25),
    _digits(0, 61),
    _digits(0, 61),
)
FRACTION = st.one_of(
    st.just(""),
    st.from_regex(r"\.[0-9]{1,6}", fullmatch=True),
    st.from_regex(r"\.[0-9]{0,8}", fullmatch=True),
)
OFFSET = st.one_of(
    st.just(""),
    st.sampled_from(["Z", "z", "+00:00", "-00:00", "+24:00", "+05:30"]),
    st.from_regex(r"[+-][0-9]{1,2}:[0-9]{2}", fullmatch=True),
)
DATE_STRINGS = st.one_of(
    st.builds(
        lambda d, t, f, o, tail: d + t + f + o + tail,
        DATE_PART,
        st.one_of(st.just(""), TIME_PART),
        FRACTION,
        OFFSET,
        st.sampled_from([""] * 8 + ["\n", " ", "x"]),
    ),
    st.text(alphabet="0123456789-:T .Z+\n٢", max_size=26),
)
TZ_ARGS = st.one_of(st.none(), st.sampled_from(["UTC", "Europe/Berlin", "Mars/Base", ""]), ZONES)


@given(
    st.one_of(DATE_STRINGS, DATETIMES, st.dates(), st.integers(), st.binary(max_size=4)),
    TZ_ARGS,
    st.sampled_from(["run_date", "next_run_time", "start_date"]),
)
def test_convert_to_datetime_matches_upstream(value, tz, arg_name):
    same_outcome(ours.convert_to_datetime, theirs.convert_to_datetime, value, tz, arg_name)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2030-01-02 03:04:05", datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)),
        ("2030-01-02T03:04:05.5", datetime(2030, 1, 2, 3, 4, 5, 5, tzinfo=timezone.utc)),  # 5 us
        ("2030-1-2", datetime(2030, 1, 2, tzinfo=timezone.utc)),
        ("2030-01-02 03:04:05Z", datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)),
    ],
)
def test_convert_to_datetime_examples(text, expected):
    result = ours.convert_to_datetime(text, "UTC", "next_run_time")
    assert result == expected and result.microsecond == expected.microsecond


def test_convert_to_datetime_messages():
    plus_two = ours.convert_to_datetime("2030-01-02 03:04:05+02:00", None, "x")
    assert plus_two.utcoffset() == timedelta(hours=2)
    with pytest.raises(ValueError, match="^Invalid date string$"):
        ours.convert_to_datetime("2030-01-02 03:04", "UTC", "x")
    with pytest.raises(TypeError, match="^Unsupported type for next_run_time: int$"):
        ours.convert_to_datetime(5, "UTC", "next_run_time")
    with pytest.raises(
        ValueError,
        match='^The "tz" argument must be specified if run_date has no timezone information$',
    ):
        ours.convert_to_datetime(datetime(2030, 1, 1), None, "run_date")


# --- timestamps and datetime arithmetic -------------------------------------------------


@given(st.one_of(st.none(), DATETIMES))
def test_datetime_to_utc_timestamp_matches_upstream(value):
    same_outcome(ours.datetime_to_utc_timestamp, theirs.datetime_to_utc_timestamp, value)


@given(
    st.one_of(
        st.none(),
        st.floats(min_value=-1e11, max_value=1e11),
        st.integers(-(10**11), 10**11),
        st.floats(),
    )
)
def test_utc_timestamp_to_datetime_matches_upstream(value):
    same_outcome(ours.utc_timestamp_to_datetime, theirs.utc_timestamp_to_datetime, value)


@given(DATETIMES)
def test_datetime_ceil_matches_upstream(value):
    same_outcome(ours.datetime_ceil, theirs.datetime_ceil, value)


@given(DATETIMES, st.timedeltas(min_value=timedelta(days=-400), max_value=timedelta(days=400)))
def test_datetime_utc_add_matches_upstream(value, delta):
    same_outcome(ours.datetime_utc_add, theirs.datetime_utc_add, value, delta)


@given(st.one_of(st.none(), DATETIMES, st.dates(), st.just(0), st.just("")))
def test_datetime_repr_matches_upstream(value):
    same_outcome(ours.datetime_repr, theirs.datetime_repr, value)


@given(st.timedeltas())
def test_timedelta_seconds_matches_upstream(value):
    assert ours.timedelta_seconds(value) == theirs.timedelta_seconds(value)


@given(st.one_of(ZONES, st.none()))
def test_timezone_repr_matches_upstream(value):
    same_outcome(ours.timezone_repr, theirs.timezone_repr, value)


@given(NAIVE, st.one_of(ZONES, st.none()), st.booleans())
def test_localize_matches_upstream(value, zone, fold):
    same_outcome(ours.localize, theirs.localize, value.replace(fold=int(fold)), zone)


@given(DATETIMES)
def test_normalize_matches_upstream(value):
    same_outcome(ours.normalize, theirs.normalize, value)


def test_dst_helpers_examples():
    gap = datetime(2024, 3, 31, 2, 30)
    assert ours.localize(gap, BERLIN) == datetime(2024, 3, 31, 3, 30, tzinfo=BERLIN)
    ceiled = ours.datetime_ceil(datetime(2024, 10, 27, 2, 59, 59, 5, tzinfo=BERLIN))
    assert (ceiled.hour, ceiled.fold) == (2, 1)  # the second 02:00, one real second later


# --- callables and references -----------------------------------------------------------


def plain():
    pass


class Klass:
    def meth(self):
        pass

    @classmethod
    def cm(cls):
        pass

    @staticmethod
    def sm():
        pass

    def __call__(self):
        pass

    class Inner:
        def m(self):
            pass


class SubKlass(Klass):
    pass


class NotCallableCall:
    __call__ = None


def _outer():
    def inner():
        pass

    return inner


def _renamed(self):
    pass


_renamed.__qualname__ = "elsewhere.renamed"
Klass.renamed = _renamed
CALLABLES = [
    plain,
    print,
    len,
    math.sqrt,
    os.path.join,
    Klass,
    Klass().meth,
    Klass.meth,
    Klass.cm,
    Klass.sm,
    SubKlass.cm,
    Klass(),
    Klass.Inner.m,
    Klass.Inner().m,
    _outer(),
    lambda: 0,
    (lambda: lambda: 0)(),
    functools.partial(plain),
    str.upper,
    [].append,
    dict.fromkeys,
    int.__add__,
    (1).__add__,
    Klass().__call__,
    Klass.__dict__["sm"],
    Klass.__dict__["cm"],
    Klass().renamed,
    NotCallableCall(),
    object(),
    5,
    None,
    "plain",
    type,
    str,
    functools.wraps(plain)(lambda: 1),
]


@pytest.mark.parametrize("func", CALLABLES, ids=lambda f: repr(f)[:40])
def test_get_callable_name_matches_upstream(func):
    same_outcome(ours.get_callable_name, theirs.get_callable_name, func)


@pytest.mark.parametrize("func", CALLABLES, ids=lambda f: repr(f)[:40])
def test_obj_to_ref_matches_upstream(func):
    same_outcome(ours.obj_to_ref, theirs.obj_to_ref, func)


def test_obj_to_ref_examples():
    assert ours.obj_to_ref(print) == "builtins:print"
    assert ours.obj_to_ref(Klass().meth) == f"{__name__}:Klass.meth"
    assert ours.obj_to_ref(os.path.join) == f"{os.path.join.__module__}:join"
    for func, what in [
        (lambda: 0, "a lambda"),
        (_outer(), "a nested function"),
        (functools.partial(plain), "a partial()"),
    ]:
        with pytest.raises(
            ValueError, match=f"^{re.escape('Cannot create a reference to ' + what)}$"
        ):
            ours.obj_to_ref(func)


@pytest.fixture
def ref_modules(tmp_path, monkeypatch):
    pkg = tmp_path / "rs_refpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("class K:\n    def meth(self):\n        pass\n")
    (tmp_path / "rs_refmod.py").write_text(
        "class K:\n    def meth(self):\n        pass\n"
        "class Bad:\n    def __getattr__(self, name):\n        raise RuntimeError(name)\n"
        "bad = Bad()\n"
    )
    (tmp_path / "rs_boom.py").write_text("1 / 0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in ["rs_refpkg", "rs_refmod", "rs_boom"]:
        sys.modules.pop(name, None)


REFS = [
    "rs_refpkg:K",
    "rs_refpkg:K.meth",
    "rs_refmod:K.meth",
    "rs_refmod:nope",
    "rs_refmod:bad.x",
    "rs_refmod:",
    "rs_refmod:K:meth",
    "rs_refmod:K..meth",
    "nope",
    5,
    b"x:y",
    None,
    "no_such_module_xyz:x",
    ":x",
    ".x:y",
    "os.path:join",
    "os:path.join",
    "builtins:print",
    "rs_boom:x",
]


@pytest.mark.parametrize("ref", REFS)
def test_ref_to_obj_matches_upstream(ref_modules, ref):
    ours_result = outcome(ours.ref_to_obj, ref)
    sys.modules.pop("rs_boom", None)
    assert ours_result == outcome(theirs.ref_to_obj, ref)
    assert outcome(ours.maybe_ref, ref) == outcome(theirs.maybe_ref, ref)


def test_ref_to_obj_messages_and_chaining(ref_modules):
    with pytest.raises(LookupError) as info:
        ours.ref_to_obj("no_such_module_xyz:f")
    assert (
        str(info.value) == "Error resolving reference no_such_module_xyz:f: could not import module"
    )
    assert isinstance(info.value.__cause__, ImportError)
    with pytest.raises(
        LookupError, match="^Error resolving reference rs_refmod:nope: error looking up object$"
    ):
        ours.ref_to_obj("rs_refmod:nope")
    with pytest.raises(TypeError, match="^References must be strings$"):
        ours.ref_to_obj(1)
    with pytest.raises(ValueError, match="^Invalid reference$"):
        ours.ref_to_obj("mylog")


async def _coro():
    pass


@pytest.mark.parametrize(
    "func",
    [
        _coro,
        functools.partial(_coro),
        functools.partial(functools.partial(_coro)),
        plain,
        functools.partial(plain),
        5,
        AsyncMock(),
        Klass(),
        asyncio.sleep,
    ],
)
def test_iscoroutinefunction_partial_matches_upstream(func):
    assert ours.iscoroutinefunction_partial(func) is theirs.iscoroutinefunction_partial(func)


# --- check_callable_args ----------------------------------------------------------------

NAMES = ["a", "b", "c", "d", "e", "x"]


@st.composite
def signatures(draw):
    """Source text of a random valid ``def`` and the names it uses."""
    names = draw(st.permutations(NAMES))
    n_posonly, n_pos, n_kwonly = (draw(st.integers(0, 2)) for _ in range(3))
    positional = names[: n_posonly + n_pos]
    kwonly = names[n_posonly + n_pos : n_posonly + n_pos + n_kwonly]
    n_defaults = draw(st.integers(0, len(positional)))
    parts = [f"{n}=0" if i >= len(positional) - n_defaults else n for i, n in enumerate(positional)]
    if n_posonly:
        parts.insert(n_posonly, "/")
    varargs, varkw = draw(st.booleans()), draw(st.booleans())
    if varargs:
        parts.append("*args")
    elif kwonly:
        parts.append("*")
    parts += [f"{n}=0" if draw(st.booleans()) else n for n in kwonly]
    if varkw:
        parts.append("**kwargs")
    return f"def f({', '.join(parts)}):\n    pass\n"


def _build(source, bound):
    namespace = {}
    exec(source.replace("def f(", "def f(self, " if bound else "def f("), namespace)
    func = namespace["f"]
    if bound:
        return type("Holder", (), {"f": func})().f
    return func


CALL_ARGS = st.tuples(
    st.integers(0, 6),
    st.lists(st.sampled_from([*NAMES, "q", "w", "self"]), unique=True, max_size=5),
)


@given(signatures(), st.booleans(), CALL_ARGS)
def test_check_callable_args_matches_upstream(source, bound, call):
    n_args, kw_names = call
    func = _build(source, bound)
    args, kwargs = tuple(range(n_args)), dict.fromkeys(kw_names, 0)
    expected = outcome(theirs.check_callable_args, func, args, kwargs)
    assert outcome(ours.check_callable_args, func, args, kwargs) == expected
    # Second call: served from the memo, must be identical.
    assert outcome(ours.check_callable_args, func, list(args), kwargs) == expected


TWO = _build("def f(a, b): pass", False)


@pytest.mark.parametrize(
    "func, make_args, kwargs",
    [
        (print, lambda: (1, 2), {"sep": 1, "zz": 2}),
        (int, lambda: (1, 2, 3), {}),
        (dict, lambda: (1, 2, 3), {"a": 1}),
        (Klass, lambda: (1,), {}),
        (Klass().meth, lambda: (1,), {}),
        (functools.partial(_build("def f(a, b, c): pass", False), 1), lambda: (1,), {"a": 1}),
        (5, lambda: (), {}),
        (plain, lambda: iter([1, 2]), {}),
        (TWO, lambda: iter([1]), {"b": 1}),
        (TWO, lambda: iter([1, 2]), {"b": 1}),
        (TWO, lambda: iter([1, 2, 3]), {}),
        (TWO, lambda: {1: 1, 2: 2, 3: 3}, {}),
        (TWO, lambda: "abc", {}),
        (TWO, lambda: (1,), [("b", 1)]),
        (TWO, lambda: (1,), {"b": 1, 2: 3}),
        (TWO, lambda: 5, {}),
        (TWO, lambda: (), 5),
        (AsyncMock(), lambda: (1,), {"x": 2}),
        (str.upper, lambda: ("a",), {}),
    ],
)
def test_check_callable_args_odd_inputs_match_upstream(func, make_args, kwargs):
    expected = outcome(theirs.check_callable_args, func, make_args(), kwargs)
    assert outcome(ours.check_callable_args, func, make_args(), kwargs) == expected


@pytest.mark.parametrize(
    "source, args, kwargs, message",
    [
        (
            "def f(a, b, c, d): pass",
            (1, 2, 3),
            {"d": 1, "c": 1, "b": 1},
            "The following arguments are supplied in both args and kwargs: b, c, d",
        ),
        (
            "def f(z, a, /): pass",
            (),
            {"a": 1, "z": 2},
            "The following arguments cannot be given as keyword arguments: z, a",
        ),
        ("def f(z, a): pass", (), {}, "The following arguments have not been supplied: z, a"),
        (
            "def f(*, z, a): pass",
            (),
            {},
            "The following keyword-only arguments have not been supplied in kwargs: z, a",
        ),
        (
            "def f(a, b): pass",
            (1, 2, 3, 4),
            {"q": 1},
            "The list of positional arguments is longer than the target callable can handle "
            "(allowed: 2, given in args: 4)",
        ),
        (
            "def f(*, z, a): pass",
            (),
            {"zz": 1, "yy": 2, "a": 1, "z": 1},
            "The target callable does not accept the following keyword arguments: zz, yy",
        ),
    ],
)
def test_check_callable_args_messages(source, args, kwargs, message):
    with pytest.raises(ValueError) as info:
        ours.check_callable_args(_build(source, False), args, kwargs)
    assert str(info.value) == message


def test_check_callable_args_cache_sees_changed_defaults():
    func = _build("def f(a, b): pass", False)
    with pytest.raises(ValueError):
        ours.check_callable_args(func, (1,), {})
    func.__defaults__ = (0,)
    ours.check_callable_args(func, (1,), {})  # b now has a default
    func.__kwdefaults__ = None
    func.__code__ = _build("def f(a): pass", False).__code__
    with pytest.raises(ValueError, match="longer than"):
        ours.check_callable_args(func, (1, 2), {})


def test_check_callable_args_cache_respects_signature_override():
    import inspect

    func = _build("def f(a): pass", False)
    ours.check_callable_args(func, (1,), {})
    func.__signature__ = inspect.Signature()
    with pytest.raises(ValueError, match="longer than"):
        ours.check_callable_args(func, (1,), {})


def test_check_callable_args_cache_never_confuses_recycled_ids():
    # A dead function's id may be reused by a new function with a different signature.
    for _ in range(200):
        func = _build("def f(a): pass", False)
        ours.check_callable_args(func, (1,), {})
        del func
        gc.collect()
        other = _build("def f(): pass", False)
        with pytest.raises(ValueError, match="longer than"):
            ours.check_callable_args(other, (1,), {})
        del other


def test_check_callable_args_cache_is_bounded_and_does_not_keep_functions_alive():
    import weakref

    funcs = [_build("def f(a): pass", False) for _ in range(3000)]
    for func in funcs:
        ours.check_callable_args(func, (1,), {})
    assert len(ours._arg_check_cache._entries) <= 1024
    probe = weakref.ref(funcs[-1])
    del funcs, func
    gc.collect()
    assert probe() is None


def test_unhashable_callable_is_checked():
    class Unhashable:
        __hash__ = None

        def __call__(self, a):
            pass

        def meth(self, a):
            pass

    for _ in range(2):
        ours.check_callable_args(Unhashable(), (1,), {})
        ours.check_callable_args(Unhashable().meth, (1,), {})
        with pytest.raises(ValueError, match="have not been supplied: a"):
            ours.check_callable_args(Unhashable().meth, (), {})


def test_undefined_pickles_like_upstream():
    # Neither implementation keeps identity through pickling; both stay falsy.
    assert not pickle.loads(pickle.dumps(ours.undefined))


def test_misc_constants():
    assert ours.UTC is timezone.utc
    assert ours.convert_to_datetime(date(2030, 1, 1), BERLIN, "x") == datetime(
        2030, 1, 1, tzinfo=BERLIN
    )


def test_regression_offset_strings_are_localized_like_naive_ones():
    # Found by hypothesis: a string offset goes through localize(), i.e. via a float timestamp.
    assert ours.convert_to_datetime("0001-1-1 0:0:0.1Z", None, "x").microsecond == 0
    with pytest.raises(ValueError, match="^year 0 is out of range$"):
        ours.convert_to_datetime("0001-01-01 00:59:59+01:00", None, "x")


@pytest.mark.parametrize("func", [print, len, math.sqrt, sorted, [].append, dict.fromkeys])
@pytest.mark.parametrize("n_args, kw_names", [(0, []), (1, []), (2, ["sep"]), (1, ["zz", "key"])])
def test_check_callable_args_builtins_match_upstream_when_cached(func, n_args, kw_names):
    args, kwargs = tuple(range(n_args)), dict.fromkeys(kw_names, 0)
    expected = outcome(theirs.check_callable_args, func, args, kwargs)
    for _ in range(2):
        assert outcome(ours.check_callable_args, func, args, kwargs) == expected
