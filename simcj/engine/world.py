"""One replication of the pathway: the SimPy environment, its stages, and its cases.

The world is assembled from the stages the scenario names (``pathway:``; see
:mod:`simcj.engine.stage`): it draws every case's inputs, builds each stage (which builds its own
resources), binds the routing table once, runs to the horizon and hands back the case table, the
time series and what each stage keeps for its KPIs. It also keeps what every stage shares: the
victims' withdrawal clocks, and what a victim's withdrawal means at each point of a case.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd
import simpy

from ..scenario.schema import OffenceClass, Scenario
from ..scenario.variants import at_day, schedule
from .arrivals import DAYS_PER_YEAR
from .cases import HO_WITHDREW_NO_SUSPECT, CaseTable, Exit, Phase, no_incidents
from .monitors import Monitor
from .stage import Stage, bind_routes, pathway
from .streams import Streams
from .withdrawal import WithdrawalClock

PROGRESS_STEP_DAYS = 30.0


class Environment(simpy.Environment):
    """SimPy's environment, able to drop its pending events when a replication is over."""

    def discard_pending(self) -> None:
        # SimPy 4 keeps its event heap in ``_queue`` and offers no public way to empty it; the
        # dependency is pinned below SimPy 5 for this reason.
        self._queue.clear()


@dataclass
class ReplicationOutput:
    """What one replication produces; analysis works on these."""

    replication: int
    warmup: float
    horizon: float
    cases: pd.DataFrame
    timeseries: pd.DataFrame
    stage_data: dict[str, dict]  # what each stage's finish() kept for its KPIs, by stage name


class World:
    def __init__(self, scenario: Scenario, replication: int, seed: int, branches: tuple = ()):
        """``branches``: options this world (a base) will be branched into at their date (see
        :meth:`branch`); their durations are drawn now, with everything else."""
        self.replication = replication
        self.env = Environment()
        self.streams = Streams(seed, replication)
        self.warmup = scenario.run.warmup_years * DAYS_PER_YEAR
        self.horizon = self.warmup + scenario.run.years * DAYS_PER_YEAR
        # An option runs the scenario it extends until its intervention date, then its own settings.
        day = scenario.intervention_day()
        self.intervention_day = day if day is not None and 0.0 < day < self.horizon else None
        self.option = scenario if self.intervention_day is not None else None
        if day is not None and day >= self.horizon:
            scenario = scenario.before  # the date is beyond the run: the option never takes effect
        self.scenario = sc = scenario.before if self.option is not None else scenario
        self.offences: list[OffenceClass] = [oc for _, oc in sc.offences.items()]
        # The days the settings change: each dated setting's (simcj.scenario.timelines), and an option's date.
        if self.option is None:
            self.changes = schedule(sc, 0.0, self.horizon)
        else:
            day = self.intervention_day
            self.changes = [*schedule(sc, 0.0, day), (day, at_day(self.option, day)), *schedule(self.option, day, self.horizon)]

        kinds = pathway(sc)
        self.pathway = {kind.name for kind in kinds}
        self.options = options = tuple(branches) + ((self.option,) if self.option is not None else ())
        # One case table per ``table`` the stages work on, drawn by the stage of that table that draws;
        # the victims' always (the withdrawal clocks and the monitor read it), empty without them.
        self.tables: dict[str, CaseTable] = {}
        for table in dict.fromkeys(["victims", *(kind.table for kind in kinds)]):
            mine = [kind for kind in kinds if kind.table == table]
            drawn = next((d for d in (kind.draw(sc, mine, self.streams, self.horizon, options) for kind in mine) if d is not None), None)
            if table == "victims":
                self.incidents = drawn = drawn or no_incidents(sc)
            if drawn is not None:
                self.tables[table] = CaseTable(drawn, {k: v for kind in mine for k, v in kind.columns.items()})
        self.cases = c = self.tables["victims"]
        self.women = self.tables.get("women")
        shapes = [oc.withdrawal.weibull_shape if oc.withdrawal else 1.0 for oc in self.offences]
        scales = [oc.withdrawal.weibull_scale_days if oc.withdrawal else 1.0 for oc in self.offences]
        self.clock = WithdrawalClock(c.t_report, c.e_withdraw, c.cls, shapes, scales)

        self.stages: dict[str, Stage] = {}
        for kind in kinds:
            self.stages[kind.name] = kind(self)
        self.routes = bind_routes(list(self.stages.values()))
        # A withdrawal before charge is O14 while no suspect is identified, if a stage knows (the police).
        self._no_suspect_yet = next((s.no_suspect_yet for s in self.stages.values() if "no_suspect_yet" in s.provides), lambda i: False)
        self.monitor = Monitor(self, sc.run.monitor_interval_days)

    # ------------------------------------------------------------------ what the stages share

    def offence(self, i: int) -> OffenceClass:
        return self.offences[self.cases.cls[i]]

    def withdraw_before_charge(self, i: int, t: float) -> None:
        """The victim withdraws before charge: O16, or O14 while no suspect has been identified."""
        c = self.cases
        c.t_withdrawal[i] = t
        c.close(i, Exit.WITHDREW_PRE_CHARGE, t, HO_WITHDREW_NO_SUSPECT if self._no_suspect_yet(i) else None)

    def case_open(self, i: int, now: float) -> bool:
        """Is case ``i`` still open at ``now``? Closes it if the victim has withdrawn before charge."""
        c = self.cases
        if c.exit[i] != Exit.OPEN:
            return False
        if c.phase[i] == Phase.PRE_CHARGE:
            tw = self.clock.time(i)
            if tw <= now:
                self.withdraw_before_charge(i, tw)
                return False
        return True

    def lapsed(self, i: int, now: float) -> bool:
        """For waiting lists: has the case closed (or its victim withdrawn) while it waited?"""
        return not self.case_open(i, now)

    def victim_engaged(self, i: int, now: float) -> bool:
        """After charge: is the victim still supporting the prosecution? Records when she stopped."""
        tw = self.clock.time(i)
        if tw > now:
            return True
        if math.isnan(self.cases.t_withdrawal[i]):
            self.cases.t_withdrawal[i] = tw
        return False

    # ------------------------------------------------------------------ running

    def option_column(self, column: str, default):
        """The option's version of a per-case input column (its durations) once the option is in
        force, or ``default`` (a dated setting's change before the option's date keeps the base's)."""
        if self.option is None or self.env.now < self.intervention_day:
            return default
        return getattr(self.cases, f"{column}@{self.option.name}", default)

    def branch(self, option: Scenario) -> None:
        """Now, at the option's date, become the option's world (in a process forked from the base's)."""
        if option.intervention_day() != self.env.now:
            raise ValueError(f"{option.name}: its date is day {option.intervention_day()}, the world is at day {self.env.now}")
        self.option, self.intervention_day = option, self.env.now
        self.changes = schedule(option, self.env.now, self.horizon)
        self.switch(at_day(option, self.env.now))

    def switch(self, scenario: Scenario) -> None:
        """These settings take effect now: decisions read them from here on, stages retune."""
        self.scenario = scenario
        self.offences = [oc for _, oc in scenario.offences.items()]
        for stage in self.stages.values():
            stage.retune()

    def run(self, progress: Optional[Callable[[float], None]] = None) -> ReplicationOutput:
        """Run to the horizon (switching to the option's settings at its date) and hand back the output."""
        self.start()
        self.advance(self.horizon, progress)
        return self.finish()

    def start(self) -> None:
        for stage in self.stages.values():
            stage.start()
        self.monitor.start()

    def advance(self, until: float, progress: Optional[Callable[[float], None]] = None) -> None:
        """Run the event loop up to ``until`` in steps (for the progress bar), switching settings on
        the days they change (an option's date, a dated setting's).

        Every event before such a day happens under the settings in force before it, and the switch
        comes before any event on the day itself, exactly as when a run is branched at an option's date.
        """
        env = self.env
        steps = {min(until, env.now + PROGRESS_STEP_DAYS * k) for k in range(1, int((until - env.now) / PROGRESS_STEP_DAYS) + 2)}
        due = {day: sc for day, sc in self.changes if env.now < day <= until}
        steps |= set(due)
        # The event loop makes no reference cycles (events, closures and finished processes are freed
        # by reference counting; tests/test_withdrawal_and_pools.py checks it), but the cyclic
        # collector's full passes walk the whole live heap, which grows with volume: paused, a London
        # year runs about 35% faster and cost stays close to linear in volume.
        collecting = gc.isenabled()
        gc.disable()
        try:
            for t in sorted(s for s in steps if s > env.now):
                env.run(until=t)
                if t in due:
                    self.switch(due[t])
                if progress is not None:
                    progress(t / self.horizon)
        finally:
            if collecting:
                gc.enable()

    def finish(self) -> ReplicationOutput:
        """At the horizon: settle the cases whose victim withdrew while waiting, and hand back the output."""
        self._settle_at_horizon()
        output = self._output()
        self._teardown()
        return output

    def _settle_at_horizon(self) -> None:
        """Cases waiting in a queue whose victim withdrew before the horizon are closed as such."""
        c = self.cases
        exits = np.frombuffer(c.exit, dtype=np.int8)
        for i in np.flatnonzero(exits == Exit.OPEN).tolist():
            self.case_open(i, self.horizon)

    def _teardown(self) -> None:
        """Drop pending events and waiting lists, so that the spent world is freed by reference
        counting now instead of by a full pass of the cyclic collector over hundreds of thousands of
        callbacks (which costs more than linearly in volume)."""
        self.env.discard_pending()
        for stage in self.stages.values():
            stage.clear()

    def _output(self) -> ReplicationOutput:
        stage_data = {name: stage.finish() for name, stage in self.stages.items()}
        keep = np.frombuffer(self.cases.exit, dtype=np.int8) != Exit.NOT_OCCURRED  # candidate further incidents (repeats)
        if not keep.all():
            self.cases.compact(keep)
        # copy=False: one block per column, viewing the case table's arrays (no copy is made).
        frame = pd.DataFrame({**self.cases.attributes, **self.cases.columns()}, copy=False)
        return ReplicationOutput(
            replication=self.replication,
            warmup=self.warmup,
            horizon=self.horizon,
            cases=frame,
            timeseries=self.monitor.frame(),
            stage_data=stage_data,
        )


def run_replication(scenario: Scenario, replication: int, seed: int, progress=None) -> ReplicationOutput:
    """Build and run one replication.

    What is left of the spent world after its teardown is a small web of reference cycles (the
    stages and the world refer to each other); it is collected here, before the analysis of the
    output needs the memory.
    """
    output = World(scenario, replication, seed).run(progress)
    gc.collect()
    return output
