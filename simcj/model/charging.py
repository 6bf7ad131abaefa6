"""Charging: the CPS decision, queued on lawyer capacity.

A referred case waits for a slot in its CPS unit (lawyers x concurrent files), is considered for a
sampled time unless the victim withdraws first (still outcome 16: it is before charge), and the
legal decision is charge, out-of-court disposal, or no further action. A case charged in custody
(``in_custody``) is decided at once by CPS Direct, the national out-of-hours service, and takes no
slot of a London unit. From referral the victim's
withdrawal hazard is multiplied by ``withdrawal.hr_awaiting_cps`` and from charge by
``withdrawal.hr_post_charge`` instead (both against the hazard before referral). The CPS charging rate is
charges over these legal decisions only, as the CPS publishes it; withdrawals during
consideration are administrative finalisations, outside that denominator.
"""

from __future__ import annotations

from array import array
from enum import Enum

from ..scenario.schema import Charging
from .casework import Casework
from .entities import HO_CAUTION, HO_CHARGE, Exit, Phase
from .stage import register


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


@register
class ChargingUnit(Casework):
    """The CPS units' pre-charge decisions; a charged case goes on as ``charged``."""

    name = "charging"
    entries = ("police.referred",)
    outcomes = ("charged",)
    uniforms = ("u_cps",)
    durations = {"d_cps": lambda sc, oc: oc.charging.decision_time}
    columns = {
        "t_cps_referral": ("d", float("nan")),
        "t_cps_start": ("d", float("nan")),
        "t_charge_decision": ("d", float("nan")),
        "t_charge": ("d", float("nan")),
    }
    section, step, series = "cps", "charging", "cps"
    queued_column = "t_cps_referral"
    start_column = "t_cps_start"
    duration_column = "d_cps"

    def __init__(self, world):
        super().__init__(world)
        self._awaiting = array("d", [1.0]) * world.cases.n  # the CPS-stage factor each case was given

    def bound(self) -> None:
        self._charged = self.onward["charged"]

    def take(self, i: int) -> None:
        """The file joins the unit's list (or, from custody, is decided now); the victim's hazard from
        now is the CPS stage's."""
        w = self.world
        oc, now = w.offence(i), w.env.now
        if oc.withdrawal is not None:
            self._awaiting[i] = oc.withdrawal.hr_awaiting_cps
            w.clock.scale_hazard(i, now, oc.withdrawal.hr_awaiting_cps)
        if w.cases.in_custody[i]:
            w.cases.t_cps_referral[i] = w.cases.t_cps_start[i] = now
            self.decide(i, now)
            return
        super().take(i)

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
            c.phase[i] = int(Phase.CHARGED)
            if oc.withdrawal is not None:  # from the CPS stage's hazard to the post-charge one
                w.clock.scale_hazard(i, now, oc.withdrawal.hr_post_charge / self._awaiting[i])
            self._charged(i)

    case_metrics = {"charged_in_custody": "charged_in_custody", "share_charged_in_custody": ("charged_in_custody", "charged")}

    @classmethod
    def indicators(cls, scenario, cases, start: float, end: float) -> dict[str, object]:
        """Charges made while the suspect was held (charge in custody), in the window."""
        t = cases["t_charge"]
        return {"charged_in_custody": ((t >= start) & (t < end) & cases["in_custody"].astype(bool)).to_numpy()}

    @classmethod
    def metric_names(cls, scenario) -> set[str]:
        return super().metric_names(scenario) | {"cost_cps"}

    @classmethod
    def costs(cls, scenario, get) -> dict[str, float]:
        return {"cost_cps": ("delivery", sum(u.staff for u in scenario.cps.units.values()) * scenario.costs.cps_lawyer_year)}
