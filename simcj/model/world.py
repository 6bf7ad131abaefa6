"""One replication of the pathway: the SimPy environment, its capacity, and its cases.

The world builds every stage's resources from the scenario, releases each reported case into the
pathway at its report time, runs to the horizon and hands back the case table, the incident counts
and the time series. Police, CPS and advocacy support are driven by event callbacks (most cases
never get past the police, so that is where the volume is); a charged case's court journey is a
SimPy process.
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

from ..scenario.schema import OFFENCE_CLASSES, OffenceClass, Scenario, StaffedUnit
from . import charging, courts, police, reporting, sentencing, support
from .entities import HO_WITHDREW_NO_SUSPECT, CaseTable, Exit, Stage, Venue
from .monitors import Monitor
from .pools import Pool
from .streams import Streams
from .victims import WithdrawalClock

PROGRESS_STEP_DAYS = 30.0


class Environment(simpy.Environment):
    """SimPy's environment, able to drop its pending events when a replication is over."""

    def discard_pending(self) -> None:
        # SimPy 4 keeps its event heap in ``_queue`` and offers no public way to empty it; the
        # dependency is pinned below SimPy 5 for this reason.
        self._queue.clear()


def slots(unit: StaffedUnit) -> int:
    """Concurrent cases a staffed unit can work: FTE x caseload, at least one."""
    return max(1, round(unit.staff * unit.caseload))


@dataclass
class ReplicationOutput:
    """What one replication produces; analysis works on these."""

    replication: int
    warmup: float
    horizon: float
    cases: pd.DataFrame
    timeseries: pd.DataFrame
    incident_times: dict[str, np.ndarray]
    unreported_times: dict[str, np.ndarray]
    support_slots: dict[str, int]
    # For pools whose waits were tracked: (joined, served) pairs and when those still waiting joined.
    queue_log: dict[str, tuple[list, list]]


class World:
    def __init__(self, scenario: Scenario, replication: int, seed: int):
        self.scenario = sc = scenario
        self.replication = replication
        self.env = env = Environment()
        self.streams = streams = Streams(seed, replication)
        self.warmup = sc.run.warmup_years * reporting.DAYS_PER_YEAR
        self.horizon = self.warmup + sc.run.years * reporting.DAYS_PER_YEAR

        self.incidents = reporting.generate(sc, streams, self.horizon)
        self.cases = c = CaseTable(self.incidents.inputs)
        self._offences: list[Optional[OffenceClass]] = [getattr(sc.offences, n) for n in OFFENCE_CLASSES]
        shapes = [oc.withdrawal.weibull_shape if oc else 1.0 for oc in self._offences]
        scales = [oc.withdrawal.weibull_scale_days if oc else 1.0 for oc in self._offences]
        self.clock = WithdrawalClock(c.t_report, c.e_withdraw, c.cls, shapes, scales)

        lapse = self._lapsed
        self.investigators = {n: Pool(env, slots(u), f"investigators:{n}", lapse) for n, u in sc.police.units.items()}
        self.lawyers = {n: Pool(env, slots(u), f"cps:{n}", lapse) for n, u in sc.cps.units.items()}
        self._charging = {n: charging.ChargingUnit(self, pool, self._charged) for n, pool in self.lawyers.items()}
        self._investigations = {n: police.Investigation(self, pool, self._referred) for n, pool in self.investigators.items()}
        self.support_services = {n: support.AdvocacyServiceModel(self, n, s) for n, s in sc.support.services.items()}
        self.crown = courts.CourtTierList(env, "crown", sc.courts.crown, streams["background_crown"], self.horizon)
        self.magistrates = courts.CourtTierList(env, "magistrates", sc.courts.magistrates, streams["background_magistrates"], self.horizon)
        self.sdvc = courts.SpecialistCourtList(env, sc.courts.sdvc) if sc.courts.sdvc.courts > 0 else None
        self._courts = {Venue.CROWN: self.crown, Venue.MAGISTRATES: self.magistrates, Venue.SDVC: self.sdvc}
        rasso = sc.courts.rasso
        self.rasso = courts.DedicatedCourtList(env, "rasso", rasso) if rasso is not None else None
        self._rasso_classes = {OFFENCE_CLASSES.index(o) for o in rasso.offences} if rasso is not None else set()
        self._listing_rng = streams["listing"]
        self._listing_buffer: list[float] = []
        self.monitor = Monitor(self, sc.run.monitor_interval_days)

    # ------------------------------------------------------------------ helpers used by the stages

    def offence(self, i: int) -> OffenceClass:
        return self._offences[self.cases.cls[i]]

    def court_for(self, venue: Venue, i: int):
        """The trial list a case at ``venue`` is heard in: Crown cases of a specialist list's offences go there."""
        if venue is Venue.CROWN and self.cases.cls[i] in self._rasso_classes:
            return self.rasso
        return self._courts[venue]

    def listing_uniform(self) -> float:
        """Next draw of the listing stream (ineffective trials, re-listing delays)."""
        if not self._listing_buffer:
            self._listing_buffer = self._listing_rng.random(4096).tolist()[::-1]
        return self._listing_buffer.pop()

    def withdraw_before_charge(self, i: int, t: float) -> None:
        """The victim withdraws before charge: O16, or O14 while no suspect has been identified."""
        c = self.cases
        c.t_withdrawal[i] = t
        no_suspect_yet = math.isnan(c.t_police_outcome[i]) and not police.suspect_identified(self.offence(i).police, c.u_suspect[i])
        c.close(i, Exit.WITHDREW_PRE_CHARGE, t, HO_WITHDREW_NO_SUSPECT if no_suspect_yet else None)

    def case_open(self, i: int, now: float) -> bool:
        """Is case ``i`` still open at ``now``? Closes it if the victim has withdrawn before charge."""
        c = self.cases
        if c.exit[i] != Exit.OPEN:
            return False
        if c.stage[i] < Stage.COURT:
            tw = self.clock.time(i)
            if tw <= now:
                self.withdraw_before_charge(i, tw)
                return False
        return True

    def _lapsed(self, i: int, now: float) -> bool:
        return not self.case_open(i, now)

    def victim_engaged(self, i: int, now: float) -> bool:
        """After charge: is the victim still supporting the prosecution? Records when she stopped."""
        tw = self.clock.time(i)
        if tw > now:
            return True
        if math.isnan(self.cases.t_withdrawal[i]):
            self.cases.t_withdrawal[i] = tw
        return False

    def complete(self, i: int, exit_: Exit, t: float) -> None:
        """A prosecution ends; a conviction is sentenced."""
        c = self.cases
        c.t_completion[i] = t
        c.close(i, exit_, t, ho_outcome="")
        rules = self.offence(i).sentencing
        if exit_ is Exit.CONVICTED and rules is not None:
            c.custody_years[i] = sentencing.custodial_term(rules, Venue(c.venue[i]), c.u_custody[i], c.u_sentence[i])

    # ------------------------------------------------------------------ the pathway

    def _record_reports(self) -> list[int]:
        """Recording is decided at the report, so reports not recorded are closed here, with no event.

        Returns the recorded cases, in report order.
        """
        c = self.cases
        p_record = np.array([oc.reporting.p_record if oc else 0.0 for oc in self._offences])
        recorded = police.is_recorded(p_record[np.frombuffer(c.cls, dtype=np.int8)], np.frombuffer(c.u_record))
        for i in np.flatnonzero(~recorded).tolist():
            c.close(i, Exit.NOT_RECORDED, c.t_report[i])
        return np.flatnonzero(recorded).tolist()

    def _arrive(self, queue: list, k: int) -> None:
        """Receive every recorded report due now, then wait for the next (a callback chain, no process)."""
        env, t_report = self.env, self.cases.t_report
        n = len(queue)
        while k < n and t_report[queue[k]] <= env.now:
            self._receive(queue[k])
            k += 1
        if k < n:
            env.timeout(t_report[queue[k]] - env.now).callbacks.append(lambda _e: self._arrive(queue, k))

    def _receive(self, i: int) -> None:
        c, oc = self.cases, self.offence(i)
        svc = oc.support.service
        if svc is not None and support.is_referred(oc.support, c.risk[i], c.u_referral[i]):
            self.support_services[svc].refer(i)
        self._investigations[oc.police.unit].take(i)

    def _referred(self, i: int) -> None:
        self._charging[self.offence(i).charging.unit].take(i)

    def _charged(self, i: int) -> None:
        self.env.process(courts.prosecute(self, i))

    # ------------------------------------------------------------------ running

    def run(self, progress: Optional[Callable[[float], None]] = None) -> ReplicationOutput:
        env = self.env
        self._arrive(self._record_reports(), 0)
        self.crown.start_background()
        self.magistrates.start_background()
        self.monitor.start()
        # The event loop makes no reference cycles (events, closures and finished processes are freed
        # by reference counting; tests/test_withdrawal_and_pools.py checks it), but the cyclic
        # collector's full passes walk the whole live heap, which grows with volume: paused, a London
        # year runs about 35% faster and cost stays close to linear in volume.
        collecting = gc.isenabled()
        gc.disable()
        try:
            t = 0.0
            while t < self.horizon:
                t = min(self.horizon, t + PROGRESS_STEP_DAYS)
                env.run(until=t)
                if progress is not None:
                    progress(t / self.horizon)
            self._settle_at_horizon()
            output = self._output()
            self._teardown()
            return output
        finally:
            if collecting:
                gc.enable()

    def _settle_at_horizon(self) -> None:
        """Cases waiting in a queue whose victim withdrew before the horizon are closed as such."""
        c = self.cases
        for i in range(c.n):
            if c.exit[i] == Exit.OPEN:
                self.case_open(i, self.horizon)

    def court_lists(self) -> list:
        """The courtroom lists with sitting-day capacity: Crown, magistrates' and a specialist list if any."""
        return [self.crown, self.magistrates] + ([self.rasso] if self.rasso is not None else [])

    def _teardown(self) -> None:
        """Drop pending events and waiting lists, so that the spent world is freed by reference
        counting now instead of by a full pass of the cyclic collector over hundreds of thousands of
        callbacks (which costs more than linearly in volume)."""
        self.env.discard_pending()
        pools = [*self.investigators.values(), *self.lawyers.values(), *(t.pool for t in self.court_lists())]
        for pool in pools + [s.pool for s in self.support_services.values()]:
            pool.clear()
        if self.sdvc is not None:
            self.sdvc.clear()

    def _output(self) -> ReplicationOutput:
        # copy=False: one block per column, viewing the case table's arrays (no copy is made).
        frame = pd.DataFrame({**self.incidents.attributes, **self.cases.columns()}, copy=False)
        return ReplicationOutput(
            replication=self.replication,
            warmup=self.warmup,
            horizon=self.horizon,
            cases=frame,
            timeseries=self.monitor.frame(),
            incident_times=self.incidents.incident_times,
            unreported_times=self.incidents.unreported_times,
            support_slots={n: s.pool.capacity for n, s in self.support_services.items()},
            queue_log={
                tier.name: (tier.pool.waits, tier.pool.still_waiting_since())
                for tier in (self.crown, self.magistrates)
                if tier.pool.waits is not None
            },
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
