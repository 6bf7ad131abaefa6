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
from .casework import Casework
from .entities import HO_CAUTION, HO_CHARGE, Exit, Stage


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


class ChargingUnit(Casework):
    """One CPS unit's pre-charge decisions; a charged case is passed ``onward`` to the courts."""

    queued_column = "t_cps_referral"
    start_column = "t_cps_start"
    duration_column = "d_cps"

    def decide(self, i: int, now: float) -> None:
        w, c = self.world, self.world.cases
        oc = w.offence(i)
        c.t_charge_decision[i] = now
        decision = charging_decision(oc.charging, c.u_cps[i])
        if decision is ChargingDecision.NFA:
            c.close(i, Exit.NFA, now)
        elif decision is ChargingDecision.OUT_OF_COURT:
            c.close(i, Exit.OUT_OF_COURT, now, HO_CAUTION)
        else:
            c.t_charge[i] = now
            c.ho_outcome[i] = HO_CHARGE
            c.stage[i] = int(Stage.COURT)
            w.clock.scale_hazard(i, now, oc.withdrawal.hr_post_charge)
            self.onward(i)
