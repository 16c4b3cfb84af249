"""``AndTrigger`` / ``OrTrigger``.

Called from Python, these ask their members through ``get_next_fire_time`` (so Python-written
members work); the scheduler engine uses the equivalent native trigger when every member is
native. Deliberate divergence from APScheduler 3.11.3: ``AndTrigger`` runs the same search as
long as it makes progress, but where 3.11.3 would loop forever (members that ignore ``now``),
it advances the lagging members along their own schedules and gives up with ``None`` after a
bounded number of rounds.
"""
from __future__ import annotations

from .. import _core
from ._util import ref_to_obj
from .base import BaseTrigger

__all__ = ["AndTrigger", "OrTrigger", "BaseCombiningTrigger"]

_MAX_STEPS = 10_000
_NATIVE_METHODS = (
    _core.DateTrigger.get_next_fire_time,
    _core.IntervalTrigger.get_next_fire_time,
    _core.CronTrigger.get_next_fire_time,
)


def _same(a, b):
    """Identical inputs for a trigger: same wall time, fold and tzinfo object."""
    return (a.tzinfo is b.tzinfo and a.fold == b.fold
            and a.replace(tzinfo=None) == b.replace(tzinfo=None))


def _advance(trigger, own_previous, at):
    """First fire time of ``trigger``'s own schedule after ``own_previous`` that is >= ``at``."""
    if type(trigger).get_next_fire_time in _NATIVE_METHODS:
        return trigger._next_at_or_after(own_previous, at)
    fire_time = own_previous
    for _ in range(_MAX_STEPS):
        fire_time = trigger.get_next_fire_time(fire_time, fire_time)
        if fire_time is None or not fire_time < at:
            return fire_time
    return None


class BaseCombiningTrigger(BaseTrigger):
    __slots__ = ("triggers", "jitter")

    def __init__(self, triggers, jitter=None):
        self.triggers = triggers
        self.jitter = jitter

    def __getstate__(self):
        return {
            "version": 1,
            "triggers": [(f"{type(t).__module__}:{type(t).__qualname__}", t.__getstate__())
                         for t in self.triggers],
            "jitter": self.jitter,
        }

    def __setstate__(self, state):
        if state.get("version", 1) > 1:
            raise ValueError(
                f"Got serialized data for version {state['version']} of "
                f"{self.__class__.__name__}, but only versions up to 1 can be handled"
            )
        self.jitter = state["jitter"]
        self.triggers = []
        for clsref, member_state in state["triggers"]:
            cls = ref_to_obj(clsref)
            member = cls.__new__(cls)
            member.__setstate__(member_state)
            self.triggers.append(member)

    def __repr__(self):
        jitter = f", jitter={self.jitter}" if self.jitter else ""
        return f"<{self.__class__.__name__}({self.triggers}{jitter})>"


class AndTrigger(BaseCombiningTrigger):
    """Fires when every member would fire at the same time."""

    __slots__ = ()

    def get_next_fire_time(self, previous_fire_time, now):
        for _ in range(_MAX_STEPS):
            fire_times = [t.get_next_fire_time(previous_fire_time, now) for t in self.triggers]
            if None in fire_times:
                return None
            # Agreement is min == max, so equal instants in different zones agree unless a
            # fold makes == false (and an empty member list fails in min(), as in 3.11.3).
            earliest, latest = min(fire_times), max(fire_times)
            if earliest == latest:
                return self._apply_jitter(earliest, self.jitter, now)
            if _same(latest, now):
                return self._apply_jitter(self._catch_up(fire_times), self.jitter, now)
            now = latest
        return None

    def _catch_up(self, fire_times):
        for _ in range(_MAX_STEPS):
            earliest, target = min(fire_times), max(fire_times)
            if earliest == target:
                return earliest
            for i, (trigger, fire_time) in enumerate(zip(self.triggers, fire_times)):
                if fire_time < target:
                    fire_times[i] = _advance(trigger, fire_time, target)
                    if fire_times[i] is None:
                        return None
        return None

    def __str__(self):
        return "and[{}]".format(", ".join(str(t) for t in self.triggers))


class OrTrigger(BaseCombiningTrigger):
    """Fires when any member fires."""

    __slots__ = ()

    def get_next_fire_time(self, previous_fire_time, now):
        fire_times = [t.get_next_fire_time(previous_fire_time, now) for t in self.triggers]
        fire_times = [ft for ft in fire_times if ft is not None]
        if fire_times:
            return self._apply_jitter(min(fire_times), self.jitter, now)
        return None

    def __str__(self):
        return "or[{}]".format(", ".join(str(t) for t in self.triggers))
