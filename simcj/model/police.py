"""Police: crime recording, investigation queued on investigator capacity, and the outcome.

A reported incident is recorded as a crime or not. A recorded crime waits for a slot in its
investigating unit (officers x concurrent caseload), the suspect may be arrested when work starts,
and the crime is investigated for a sampled time unless the
victim withdraws first (outcome 16), and then ends with a Home Office outcome: no suspect
identified (O18), evidential difficulties with a supportive victim (O15), a caution, or a referral
to the CPS for a charging decision.

The queue-and-work mechanics are shared with charging (:mod:`simcj.model.casework`).
"""

from __future__ import annotations

from enum import Enum

from ..scenario.schema import Police
from .casework import Casework
from .entities import HO_CAUTION, Exit, Stage


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


class Investigation(Casework):
    """One investigating unit's handling of its cases; a CPS referral is passed ``onward``."""

    queued_column = "t_investigation_queued"
    start_column = "t_investigation_start"
    duration_column = "d_investigation"

    def started(self, i: int) -> None:
        c = self.world.cases
        c.arrested[i] = is_arrested(self.world.offence(i).police, c.u_arrest[i])

    def decide(self, i: int, now: float) -> None:
        w, c = self.world, self.world.cases
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
            self.onward(i)
