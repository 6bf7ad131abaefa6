"""Pre-charge casework: staffed units' slots and waiting lists, and work the victim's withdrawal can cut short.

The police investigation and the CPS charging decision have the same shape: the case waits for a
slot in a staffed unit, is worked on for a sampled time unless the victim withdraws first (then
it closes as a withdrawal before charge and frees the slot), and a decision follows. Both are
driven by event callbacks, one timeout per piece of work, because nearly every case passes here.
"""

from __future__ import annotations

from array import array
from typing import ClassVar

from ..scenario.schema import StaffedUnit
from .alarms import callbacks, set_alarm
from .metrics import Metric
from .pools import Pool
from .stage import Stage


def slots(unit: StaffedUnit) -> int:
    """Concurrent cases a staffed unit can work: FTE x caseload, at least one."""
    return max(1, round(unit.staff * unit.caseload))


class Casework(Stage):
    """A stage of staffed units. Subclasses name their units, columns and duration, and :meth:`decide`."""

    victim_withdrawal = True
    section: ClassVar[str]  # the scenario section holding the units ("police": police.units)
    step: ClassVar[str]  # the offence class's section naming its unit ("police": offences.<x>.police.unit)
    series: ClassVar[str]  # prefix of the units' monitored series, e.g. "investigators"
    queued_column: ClassVar[str]
    start_column: ClassVar[str]
    duration_column: ClassVar[str]

    @classmethod
    def units(cls, scenario) -> dict[str, StaffedUnit]:
        return getattr(scenario, cls.section).units

    @classmethod
    def unit_of(cls, offence) -> str:
        return getattr(offence, cls.step).unit

    def __init__(self, world):
        super().__init__(world)
        env = world.env
        self.pools = {n: Pool(env, slots(u), f"{self.series}:{n}", world.lapsed) for n, u in self.units(world.scenario).items()}
        self._pool_list = list(self.pools.values())
        self._unit_of_class = [self._pool_list.index(self.pools[self.unit_of(oc)]) for oc in world.offences]
        # the unit that took each case, so a class moved to another unit at an option's date frees
        # its slot in the unit it came from
        self._unit_of_case = array("h", [0]) * world.cases.n
        # the waiting each case has after its work, fixed when the work starts (an option's date
        # between start and finish does not change a piece of work already begun)
        self._rest = array("d", [0.0]) * world.cases.n
        c = world.cases
        self._queued, self._started, self._duration = getattr(c, self.queued_column), getattr(c, self.start_column), getattr(c, self.duration_column)
        self._start_when_free = self._start  # bound once: a waiting-list entry holds no method object of its own
        self._done_alarm = callbacks(lambda alarm: self._finish(alarm.i))
        self._wake_alarm = callbacks(lambda alarm: self._work(alarm.i, alarm.end))
        self._decide_alarm = callbacks(lambda alarm: self.decide(alarm.i, self.world.env.now))
        self._rewait_alarm = callbacks(lambda alarm: self._watch(alarm.i, alarm.end, self._decide_alarm, self._rewait_alarm, holding=False))

    def retune(self) -> None:
        """The option's units: staff changes resize slots (new staff take work at once; fewer staff
        take no new work until the busy slots fall below the new number); a class may move unit;
        work started from now on lasts the option's durations."""
        w = self.world
        for name, unit in self.units(w.scenario).items():
            if name in self.pools:
                self.pools[name].resize(slots(unit))
            else:
                self.pools[name] = Pool(w.env, slots(unit), f"{self.series}:{name}", w.lapsed)
                self._pool_list.append(self.pools[name])
        self._unit_of_class = [self._pool_list.index(self.pools[self.unit_of(oc)]) for oc in w.offences]
        self._duration = w.option_column(self.duration_column, self._duration)

    def take(self, i: int) -> None:
        """The case joins its unit's waiting list."""
        self._queued[i] = self.world.env.now
        unit = self._unit_of_class[self.world.cases.cls[i]]
        self._unit_of_case[i] = unit
        self._pool_list[unit].call_when_free(i, self._start_when_free)

    def _start(self, i: int) -> None:
        now = self.world.env.now
        self._started[i] = now
        self.started(i)
        share = self.effort_share(i)
        effort = self._duration[i] * share
        self._rest[i] = self._duration[i] - effort
        if self.victim_withdrawal:
            self._work(i, now + effort)
        else:
            set_alarm(self.world.env, effort, self._done_alarm, i)

    def effort_share(self, i: int) -> float:
        """The share of case ``i``'s elapsed time that is work holding a slot; the rest it waits on
        others (forensics, the suspect, a police action plan) and holds none."""
        return getattr(self.world.offence(i), self.step).effort_share

    def _work(self, i: int, end: float) -> None:
        """Work on case ``i`` until ``end`` unless the victim withdraws first.

        Finishes the work at ``end``, or closes the case as a withdrawal before charge at the
        moment it happened and frees the slot. One alarm per wake-up; a wake-up comes early only if
        support began meanwhile and postponed the withdrawal.
        """
        self._watch(i, end, self._done_alarm, self._wake_alarm, holding=True)

    def _watch(self, i: int, end: float, done: tuple, wake: tuple, holding: bool) -> None:
        w = self.world
        now = w.env.now
        tw = w.clock.time(i)
        if tw >= end:
            set_alarm(w.env, end - now, done, i)
        elif tw > now + 1e-9:
            set_alarm(w.env, tw - now, wake, i, end)
        else:
            w.withdraw_before_charge(i, min(tw, now))
            if holding:
                self._pool_list[self._unit_of_case[i]].release()

    def _finish(self, i: int) -> None:
        """The work is done: free the slot, then wait on others for the rest of the elapsed time
        (the victim may still withdraw), then decide."""
        self._pool_list[self._unit_of_case[i]].release()
        rest = self._rest[i]
        if rest > 1e-9 and self.victim_withdrawal:
            self._watch(i, self.world.env.now + rest, self._decide_alarm, self._rewait_alarm, holding=False)
        elif rest > 1e-9:
            set_alarm(self.world.env, rest, self._decide_alarm, i)
        else:
            self.decide(i, self.world.env.now)

    def started(self, i: int) -> None:
        """Hook: work on case ``i`` has begun."""

    def decide(self, i: int, now: float) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def catalogue(cls, scenario) -> list[Metric]:
        return [Metric(f"{cls.series}_{u}_utilisation", f"{cls.staff} utilisation: {u.replace('_', ' ')}", "share") for u in cls.units(scenario)]

    @classmethod
    def kpis(cls, scenario, output, start: float, end: float) -> list[tuple[str, str, float]]:
        """Each unit's mean utilisation over the measured period: a result of the demand, the effort
        a case takes and the staff, not an input."""
        ts = output.timeseries
        rows = []
        for unit in cls.units(scenario):
            s = ts[(ts["series"] == f"{cls.series}_{unit}_utilisation") & (ts["day"] >= start) & (ts["day"] <= end)]
            if len(s):
                rows.append((f"{cls.series}_{unit}_utilisation", "all", float(s["value"].mean())))
        return rows

    def snapshot(self):
        for name, pool in self.pools.items():
            yield from pool.snapshot(f"{self.series}_{name}")

    def finish(self) -> dict:
        return {"slots": {n: p.capacity for n, p in self.pools.items()}}

    def clear(self) -> None:
        for pool in self.pools.values():
            pool.clear()
