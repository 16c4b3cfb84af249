"""Public API shape of apscheduler_rs.triggers: class hierarchy, slots, strings, subclassing,
and which triggers the native engine may run without Python."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from apscheduler_rs import _core
from apscheduler_rs.triggers.base import BaseTrigger
from apscheduler_rs.triggers.calendarinterval import CalendarIntervalTrigger
from apscheduler_rs.triggers.combining import AndTrigger, BaseCombiningTrigger, OrTrigger
from apscheduler_rs.triggers.cron import CronTrigger
from apscheduler_rs.triggers.cron.fields import DEFAULT_VALUES, MAX_VALUES, MIN_VALUES
from apscheduler_rs.triggers.date import DateTrigger
from apscheduler_rs.triggers.interval import IntervalTrigger

UTC = timezone.utc
NOW = datetime(2024, 1, 1, 1, tzinfo=UTC)
ALL = [
    DateTrigger("2024-05-01 12:00:00", timezone="UTC"),
    IntervalTrigger(hours=1, start_date="2024-01-01 00:00:00", timezone="UTC"),
    CronTrigger(hour=5, timezone="UTC"),
    CalendarIntervalTrigger(days=1, start_date="2024-01-01", timezone="UTC"),
    AndTrigger([CronTrigger(hour="*/2", timezone="UTC")]),
    OrTrigger([CronTrigger(hour="*/2", timezone="UTC")]),
]


@pytest.mark.parametrize("trigger", ALL, ids=lambda t: type(t).__name__)
def test_every_trigger_is_a_base_trigger_with_slots(trigger):
    assert isinstance(trigger, BaseTrigger)
    assert type(trigger).__module__.startswith("apscheduler_rs.triggers.")
    with pytest.raises(AttributeError):
        trigger.some_new_attribute = 1
    assert _core._native_next_fire_time(trigger, None, NOW) is not None or isinstance(trigger, DateTrigger)


def test_base_trigger_is_abstract_and_user_subclasses_work():
    with pytest.raises(TypeError):
        BaseTrigger()

    class EveryMinute(BaseTrigger):
        def get_next_fire_time(self, previous_fire_time, now):
            return (previous_fire_time or now) + timedelta(minutes=1)

    t = EveryMinute()
    assert t.get_next_fire_time(None, NOW) == NOW + timedelta(minutes=1)
    assert t._apply_jitter(NOW, None, NOW) is NOW
    assert NOW <= t._apply_jitter(NOW, 5, NOW) <= NOW + timedelta(seconds=5)
    with pytest.raises(LookupError):
        _core._native_next_fire_time(t, None, NOW)
    # A combining trigger with a Python member runs in Python, with the same results.
    both = OrTrigger([t, CronTrigger(minute="*/30", timezone="UTC")])
    later = NOW + timedelta(minutes=10)
    assert both.get_next_fire_time(None, later) == later + timedelta(minutes=1)
    with pytest.raises(LookupError):
        _core._native_next_fire_time(both, None, NOW)


def test_overriding_get_next_fire_time_disables_the_native_path():
    class Shifted(IntervalTrigger):
        __slots__ = ()

        def get_next_fire_time(self, previous_fire_time, now):
            t = super().get_next_fire_time(previous_fire_time, now)
            return t and t + timedelta(seconds=1)

    class Plain(IntervalTrigger):
        __slots__ = ()

    s = Shifted(hours=1, start_date="2024-01-01 00:00:00", timezone="UTC")
    assert s.get_next_fire_time(None, NOW) == datetime(2024, 1, 1, 1, 0, 1, tzinfo=UTC)
    with pytest.raises(LookupError):
        _core._native_next_fire_time(s, None, NOW)
    p = Plain(hours=1, start_date="2024-01-01 00:00:00", timezone="UTC")
    assert _core._native_next_fire_time(p, None, NOW) == NOW
    assert repr(p).startswith("<Plain (interval=")


def test_strings_from_the_spec():
    assert str(IntervalTrigger(days=9, hours=3, minutes=4, seconds=5, timezone="UTC")) == "interval[9 days, 3:04:05]"
    assert str(IntervalTrigger(seconds=0.5, timezone="UTC")) == "interval[0:00:00.500000]"
    assert repr(IntervalTrigger(days=9, seconds=11045, start_date="2024-01-01", end_date="2025-01-01",
                                jitter=30, timezone="UTC")) == (
        "<IntervalTrigger (interval=datetime.timedelta(days=9, seconds=11045), start_date='2024-01-01 00:00:00 UTC', "
        "end_date='2025-01-01 00:00:00 UTC', jitter=30, timezone='UTC')>")
    assert repr(DateTrigger("2024-05-01T12:00:00+02:00")) == "<DateTrigger (run_date='2024-05-01 12:00:00 UTC+02:00')>"
    assert repr(CronTrigger(timezone="Europe/Berlin")) == "<CronTrigger (, timezone='Europe/Berlin')>"
    assert repr(CronTrigger(day_of_week="mon-fri", hour="9-17/2", start_date="2024-01-01",
                            end_date="2024-12-31 23:59:59", jitter=10, timezone="UTC")) == (
        "<CronTrigger (day_of_week='mon-fri', hour='9-17/2', start_date='2024-01-01 00:00:00 UTC', "
        "end_date='2024-12-31 23:59:59 UTC', jitter=10, timezone='UTC')>")
    t = CronTrigger.from_crontab("0 0 1-15 may-aug *", timezone="UTC")
    assert str(t) == "cron[month='may-aug', day='1-15', day_of_week='*', hour='0', minute='0']"
    assert [f.name for f in t.fields] == list(CronTrigger.FIELD_NAMES)
    assert [f.is_default for f in t.fields] == [True, False, False, True, False, False, False, True]
    assert repr(CronTrigger(hour="*/3,5-9/2,10").fields[5]) == "BaseField('hour', '*/3,5-9/2,10')"
    assert repr(OrTrigger([CronTrigger(hour=5, timezone="UTC"), DateTrigger("2024-05-01 00:00:00", timezone="UTC")], jitter=5)) == (
        "<OrTrigger([<CronTrigger (hour='5', timezone='UTC')>, <DateTrigger (run_date='2024-05-01 00:00:00 UTC')>], jitter=5)>")
    assert str(AndTrigger([CronTrigger(hour=5, timezone="UTC"), IntervalTrigger(hours=1, timezone="UTC")])) == (
        "and[cron[hour='5'], interval[1:00:00]]")
    assert repr(CalendarIntervalTrigger(years=1, weeks=2, days=3, hour=9, minute=5, second=7, start_date="2024-01-31",
                                        end_date="2030-01-01", timezone="UTC")) == (
        "CalendarIntervalTrigger(years=1, weeks=2, days=3, time='09:05:07+00:00', start_date='2024-01-31', "
        "end_date='2030-01-01', timezone='datetime.timezone.utc')")
    assert (MIN_VALUES["year"], MAX_VALUES["week"], DEFAULT_VALUES["month"]) == (1970, 53, 1)
    assert issubclass(AndTrigger, BaseCombiningTrigger)


def test_errors_from_the_spec():
    with pytest.raises(ValueError, match=r"^Wrong number of fields; got 1, expected 5$"):
        CronTrigger.from_crontab("@daily")
    with pytest.raises(TypeError, match=r"^Unsupported type for start_date: int$"):
        CronTrigger(start_date=5)
    with pytest.raises(TypeError, match=r"^Expected tzinfo, got int instead$"):
        DateTrigger(timezone=5)
    with pytest.raises(TypeError, match="unsupported type for timedelta seconds component: str"):
        IntervalTrigger(seconds="5")
    with pytest.raises(ValueError, match=r"^Invalid date string$"):
        DateTrigger("2024-05-06 07:08")
    with pytest.raises(ValueError, match="interval must be at least 1 day long"):
        CalendarIntervalTrigger()
    with pytest.raises(ValueError, match="min\\(\\) arg is an empty sequence"):
        AndTrigger([]).get_next_fire_time(None, NOW)


def test_defaults_local_zone_and_now():
    t = IntervalTrigger(minutes=5)
    assert t.timezone is not None
    before = datetime.now(UTC)
    start = t.start_date
    assert before < start <= datetime.now(UTC) + timedelta(minutes=5)
    assert start.tzinfo is t.timezone
    d = DateTrigger(timezone=ZoneInfo("Europe/Berlin"))
    assert d.get_next_fire_time(None, NOW) is d.run_date


def test_and_trigger_continues_where_apscheduler_hangs():
    t = AndTrigger([CronTrigger(hour="*/2", timezone="UTC"), CronTrigger(hour="*/3", timezone="UTC")])
    first = t.get_next_fire_time(None, NOW)
    assert first == datetime(2024, 1, 1, 6, tzinfo=UTC)
    second = t.get_next_fire_time(first, first)  # 3.11.3 never returns here
    assert second == datetime(2024, 1, 1, 12, tzinfo=UTC)
    assert _core._native_next_fire_time(t, first, first) == second
    cal = AndTrigger([CalendarIntervalTrigger(days=3, start_date="2024-01-01", timezone="UTC"),
                      CronTrigger(day_of_week="sat,sun", timezone="UTC")])
    assert cal.get_next_fire_time(None, NOW) == datetime(2024, 1, 7, tzinfo=UTC)
    assert _core._native_next_fire_time(cal, None, NOW) == datetime(2024, 1, 7, tzinfo=UTC)
    never = AndTrigger([CronTrigger(hour=1, timezone="UTC"), CronTrigger(hour=2, timezone="UTC")])
    assert never.get_next_fire_time(None, NOW) is None


def test_date_attributes_are_assignable_like_apscheduler_slots():
    c = CronTrigger(hour=5, timezone="UTC")
    c.jitter = 10
    c.end_date = datetime(2024, 1, 1, 4, tzinfo=UTC)
    assert repr(c) == "<CronTrigger (hour='5', end_date='2024-01-01 04:00:00 UTC', jitter=10, timezone='UTC')>"
    c.jitter = None
    assert c.get_next_fire_time(None, datetime(2024, 1, 1, tzinfo=UTC)) is None
    i = IntervalTrigger(hours=1, start_date="2024-01-01 00:00:00", timezone="UTC")
    i.start_date = datetime(2024, 1, 1, 0, 30, tzinfo=UTC)
    assert i.get_next_fire_time(None, NOW) == datetime(2024, 1, 1, 1, 30, tzinfo=UTC)
    d = DateTrigger("2024-05-01 12:00:00", timezone="UTC")
    d.run_date = NOW
    assert d.get_next_fire_time(None, NOW) is NOW


def test_old_interval_state_with_a_pytz_zone():
    pytz = pytest.importorskip("pytz")
    ny = pytz.timezone("America/New_York")
    start = ny.localize(datetime(2024, 11, 3))
    t = IntervalTrigger.__new__(IntervalTrigger)
    t.__setstate__({"version": 2, "timezone": ny, "start_date": start, "end_date": None,
                    "interval": timedelta(hours=1), "jitter": None})
    got, prev = [], None
    for _ in range(3):
        prev = t.get_next_fire_time(prev, start)
        got.append(prev.isoformat())
    assert got == ["2024-11-03T00:00:00-04:00", "2024-11-03T01:00:00-04:00", "2024-11-03T01:00:00-05:00"]


def test_field_objects_compute_next_values_like_apscheduler():
    ap_cron = pytest.importorskip("apscheduler.triggers.cron")
    ours = CronTrigger(month="*/5,jan-feb", day="2nd tue,last,*/10", day_of_week="mon-fri", hour="5-9/2",
                       week="1-30", timezone="UTC")
    theirs = ap_cron.CronTrigger(month="*/5,jan-feb", day="2nd tue,last,*/10", day_of_week="mon-fri",
                                 hour="5-9/2", week="1-30", timezone="UTC")
    for day in range(0, 400, 7):
        d = datetime(2024, 1, 1, 3) + timedelta(days=day, hours=day % 24)
        assert [f.get_next_value(d) for f in ours.fields] == [f.get_next_value(d) for f in theirs.fields]


def test_jitter_rules():
    start = datetime(2024, 1, 1, tzinfo=UTC)
    cron = CronTrigger(minute="*/10", end_date=start + timedelta(minutes=20, seconds=30), jitter=120, timezone="UTC")
    for _ in range(200):  # cron: 0..120 s late, capped at end_date
        t = cron.get_next_fire_time(start + timedelta(minutes=15), start + timedelta(minutes=15))
        assert start + timedelta(minutes=20) <= t <= start + timedelta(minutes=20, seconds=30)
    iv = IntervalTrigger(minutes=10, start_date=start, end_date=start + timedelta(minutes=20, seconds=30),
                         jitter=120, timezone="UTC")
    seen = {iv.get_next_fire_time(start + timedelta(minutes=10), start) is None for _ in range(300)}
    assert seen == {True, False}  # interval: jitter is added before the end_date check
    for trigger in (cron, iv):
        native = _core._native_next_fire_time(trigger, start, start)
        assert native is None or start < native <= start + timedelta(minutes=20, seconds=30)


def test_calendar_interval_attributes_stay_in_step_with_the_engine():
    t = CalendarIntervalTrigger(days=1, start_date="2024-01-01", timezone="UTC")
    t.days = 7
    first = t.get_next_fire_time(None, NOW)
    assert t.get_next_fire_time(first, first) == datetime(2024, 1, 8, tzinfo=UTC)
    assert _core._native_next_fire_time(t, first, first) == datetime(2024, 1, 8, tzinfo=UTC)
