"""Police: crime recording, investigation queued on investigator capacity, and the outcome.

A reported incident is recorded as a crime or not. A recorded crime waits for a slot in its
investigating unit (officers x concurrent caseload), the suspect may be arrested when work starts,
and the crime is investigated for a sampled time unless the
victim withdraws first (outcome 16), and then ends with a Home Office outcome: no suspect
identified (O18), evidential difficulties with a supportive victim (O15), a caution, or a referral
to the CPS for a charging decision.

This is the highest-volume stage, so it is driven by event callbacks (one timeout per
investigation) rather than by a SimPy process per case.
"""

from __future__ import annotations

from enum import Enum

from ..scenario.schema import Police
from .entities import HO_CAUTION, Exit, Stage
from .victims import work_on


class PoliceDecision(Enum):
    REFER_CPS = "refer to CPS"
    CAUTION = "caution"
    EVIDENTIAL_DIFFICULTIES = "O15"


def is_recorded(p_record: float, u: float) -> bool:
    return u < p_record


def suspect_identified(p: Police, u: float) -> bool:
    return u < p.p_suspect_identified


def is_arrested(p: Police, u: float) -> bool:
    return u < p.p_arrest


def police_decision(p: Police, u: float) -> PoliceDecision:
    """Outcome of a completed investigation with a suspect and a victim still engaged."""
    if u < p.p_refer_cps:
        return PoliceDecision.REFER_CPS
    if u < p.p_refer_cps + p.p_caution:
        return PoliceDecision.CAUTION
    return PoliceDecision.EVIDENTIAL_DIFFICULTIES


class Investigation:
    """One investigating unit's handling of its cases; ``referred(i)`` is called for a CPS referral."""

    def __init__(self, world, unit, referred):
        self.world = world
        self.unit = unit
        self.referred = referred

    def open(self, i: int) -> None:
        """A recorded crime joins the unit's list."""
        self.world.cases.t_investigation_queued[i] = self.world.env.now
        self.unit.call_when_free(i, self._start)

    def _start(self, i: int) -> None:
        w, c = self.world, self.world.cases
        c.t_investigation_start[i] = w.env.now
        c.arrested[i] = is_arrested(w.offence(i).police, c.u_arrest[i])
        work_on(self.world, i, c.d_investigation[i], self._finish)

    def _finish(self, i: int, completed: bool) -> None:
        self.unit.release()
        if not completed:
            return
        w, c = self.world, self.world.cases
        now = w.env.now
        params = w.offence(i).police
        c.t_police_outcome[i] = now
        if not suspect_identified(params, c.u_suspect[i]):
            c.close(i, Exit.NO_SUSPECT, now)
            return
        decision = police_decision(params, c.u_police[i])
        if decision is PoliceDecision.CAUTION:
            c.close(i, Exit.OUT_OF_COURT, now, HO_CAUTION)
        elif decision is PoliceDecision.EVIDENTIAL_DIFFICULTIES:
            c.close(i, Exit.EVIDENTIAL_DIFFICULTIES, now)
        else:
            c.stage[i] = int(Stage.CPS)
            self.referred(i)
