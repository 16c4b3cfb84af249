"""Wrong arguments to the trigger constructors fail with APScheduler's exact TypeError text."""

import apscheduler.triggers.cron
import apscheduler.triggers.date
import apscheduler.triggers.interval
import pytest

import apscheduler_rs.triggers.cron
import apscheduler_rs.triggers.date
import apscheduler_rs.triggers.interval

CASES = [
    ("interval.IntervalTrigger", (), {"foo": 1}),
    ("interval.IntervalTrigger", tuple(range(10)), {}),
    ("cron.CronTrigger", (), {"bogus": "*"}),
    ("cron.CronTrigger", tuple(range(13)), {}),
    ("date.DateTrigger", (), {"jitter": 1}),
    ("date.DateTrigger", (1, 2, 3), {}),
]


def construct(package, path, args, kwargs):
    module, cls = path.split(".")
    trigger_class = getattr(getattr(package.triggers, module), cls)
    with pytest.raises(TypeError) as excinfo:
        trigger_class(*args, **kwargs)
    return str(excinfo.value)


@pytest.mark.parametrize("path, args, kwargs", CASES)
def test_same_message_as_apscheduler(path, args, kwargs):
    import apscheduler
    import apscheduler_rs

    assert construct(apscheduler_rs, path, args, kwargs) == construct(apscheduler, path, args, kwargs)
