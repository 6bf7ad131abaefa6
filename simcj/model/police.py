"""Police: crime recording, investigation queued on investigator capacity, and the outcome.

A reported incident is recorded as a crime or not. A recorded crime waits for a slot in its
investigating unit (officers x concurrent caseload), is investigated for a sampled time unless the
victim withdraws first (outcome 16), and then ends with a Home Office outcome: no suspect
identified (O18), evidential difficulties with a supportive victim (O15), a caution, or a referral
to the CPS for a charging decision.
"""

from __future__ import annotations

from enum import Enum

from ..scenario.schema import Police
from .entities import HO_CAUTION, Exit, Stage
from .victims import serve_or_withdraw


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


def investigate(world, i: int):
    """SimPy sub-process: queue for an investigator, investigate, decide. True if referred to the CPS."""
    env, c = world.env, world.cases
    params = world.offence(i).police
    unit = world.investigators[params.unit]
    c.t_investigation_queued[i] = env.now
    grant = unit.request(i)
    if grant is not None:
        yield grant
    c.t_investigation_start[i] = env.now
    completed = yield from serve_or_withdraw(world, i, c.d_investigation[i])
    unit.release()
    if not completed:
        return False
    now = env.now
    c.t_police_outcome[i] = now
    if not suspect_identified(params, c.u_suspect[i]):
        c.close(i, Exit.NO_SUSPECT, now)
        return False
    c.arrested[i] = is_arrested(params, c.u_arrest[i])
    decision = police_decision(params, c.u_police[i])
    if decision is PoliceDecision.CAUTION:
        c.close(i, Exit.OUT_OF_COURT, now, HO_CAUTION)
        return False
    if decision is PoliceDecision.EVIDENTIAL_DIFFICULTIES:
        c.close(i, Exit.EVIDENTIAL_DIFFICULTIES, now)
        return False
    c.stage[i] = int(Stage.CPS)
    return True
