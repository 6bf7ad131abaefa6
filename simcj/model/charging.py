"""Charging: the CPS decision, queued on lawyer capacity.

A referred case waits for a slot in its CPS unit (lawyers x concurrent files), is considered for a
sampled time unless the victim withdraws first (still outcome 16: it is before charge), and the
legal decision is charge, out-of-court disposal, or no further action. The CPS charging rate is
charges over these legal decisions only, as the CPS publishes it; withdrawals during
consideration are administrative finalisations, outside that denominator.
"""

from __future__ import annotations

from enum import Enum

from ..scenario.schema import Charging
from .entities import HO_CAUTION, HO_CHARGE, Exit, Stage
from .victims import serve_or_withdraw


class ChargingDecision(Enum):
    CHARGE = "charge"
    OUT_OF_COURT = "out-of-court disposal"
    NFA = "NFA"


def charging_decision(p: Charging, u: float) -> ChargingDecision:
    if u < p.p_charge:
        return ChargingDecision.CHARGE
    if u < p.p_charge + p.p_out_of_court:
        return ChargingDecision.OUT_OF_COURT
    return ChargingDecision.NFA


def decide(world, i: int):
    """SimPy sub-process: the CPS charging decision. True if the suspect is charged."""
    env, c = world.env, world.cases
    oc = world.offence(i)
    unit = world.lawyers[oc.charging.unit]
    c.t_cps_referral[i] = env.now
    grant = unit.request(i)
    if grant is not None:
        yield grant
    c.t_cps_start[i] = env.now
    completed = yield from serve_or_withdraw(world, i, c.d_cps[i])
    unit.release()
    if not completed:
        return False
    now = env.now
    c.t_charge_decision[i] = now
    decision = charging_decision(oc.charging, c.u_cps[i])
    if decision is ChargingDecision.NFA:
        c.close(i, Exit.NFA, now)
        return False
    if decision is ChargingDecision.OUT_OF_COURT:
        c.close(i, Exit.OUT_OF_COURT, now, HO_CAUTION)
        return False
    c.t_charge[i] = now
    c.ho_outcome[i] = HO_CHARGE
    c.stage[i] = int(Stage.COURT)
    world.clock.scale_hazard(i, now, oc.withdrawal.hr_post_charge)
    return True
