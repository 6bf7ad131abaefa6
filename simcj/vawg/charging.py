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

import numpy as np
from pydantic import Field, model_validator

from ..engine.cases import HO_CAUTION, HO_CHARGE, PRE_CHARGE_EXITS, Exit, Phase, closed_in, within
from ..engine.casework import Casework
from ..engine.metrics import Metric
from ..engine.stage import register
from ..scenario.distributions import Duration
from ..scenario.schema import EffortShare, Prob, StaffedUnit, Strict, section, undeclared

# --------------------------------------------------------------------------- settings (the scenario's section)


@section
class Charging(Strict):
    unit: str = Field(description="CPS unit (a key of cps.units)")
    decision_time: Duration = Field(description="elapsed time from the start of CPS consideration to the charging decision, days")
    effort_share: EffortShare = Field(
        1.0, description="share of the elapsed decision time a lawyer works the file (holding a slot); the rest it waits on "
        "the police (action plans, further material) and holds none"
    )
    p_charge: Prob = Field(description="charge, of CPS legal decisions")
    p_out_of_court: Prob = Field(description="out-of-court disposal, of CPS legal decisions")

    @model_validator(mode="after")
    def _sum(self):
        if self.p_charge + self.p_out_of_court > 1.0 + 1e-9:
            raise ValueError("p_charge + p_out_of_court must not exceed 1 (the rest is NFA)")
        return self


@section
class CpsSettings(Strict):
    units: dict[str, StaffedUnit] = Field(min_length=1)


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
    needs = ("police.referred", "police.in_custody", "police.stranger")
    outcomes = ("charged",)
    uniforms = ("u_cps",)
    durations = {"d_cps": lambda sc, oc: oc.charging.decision_time}
    columns = {
        "t_cps_referral": ("d", float("nan")),
        "t_cps_start": ("d", float("nan")),
        "t_charge_decision": ("d", float("nan")),
        "t_charge": ("d", float("nan")),
    }
    section, step, series, staff = "cps", "charging", "cps", "CPS lawyers'"
    queued_column = "t_cps_referral"
    start_column = "t_cps_start"
    duration_column = "d_cps"


    @classmethod
    def problems(cls, scenario) -> list[tuple[str, str]]:
        return undeclared(scenario, "charging.unit", scenario.cps.units, "cps.units")

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

    # The pre-charge outcomes assigned (the Home Office's denominator) end with the CPS decision; a
    # victim's withdrawal is split by whether she knew the suspect (the police's ``stranger``).
    case_metrics = {
        "referred_cps": "referred",
        "charged": "charged",
        "rate_charge_recorded": ("charged", "recorded"),
        "rate_cps_charge": ("cps_charge", "cps_decision"),
        "rate_withdrawal_pre_charge": ("withdrew", "pre_charge_outcome"),
        "share_o15": ("o15", "pre_charge_outcome"),
        "share_o18": ("o18", "pre_charge_outcome"),
        "rate_withdrawal_pre_charge_known": ("withdrew_known", "pre_charge_outcome_known"),
        "rate_withdrawal_pre_charge_stranger": ("withdrew_stranger", "pre_charge_outcome_stranger"),
        "charged_in_custody": "charged_in_custody",
        "share_charged_in_custody": ("charged_in_custody", "charged"),
    }
    case_durations = {"days_report_to_charge": "d_report_to_charge"}
    derived_metrics = {"withdrawal_ratio_known_to_stranger": ("ratio", "rate_withdrawal_pre_charge_known", "rate_withdrawal_pre_charge_stranger")}

    @classmethod
    def indicators(cls, scenario, cases, start: float, end: float) -> dict[str, object]:
        """Referrals, CPS decisions and charges in the window, the pre-charge outcomes assigned, and
        charges made while the suspect was held (charge in custody)."""
        t_charge = cases["t_charge"]
        charged = within(t_charge, start, end)
        decided = within(cases["t_charge_decision"], start, end)
        outcome = closed_in(cases, start, end, PRE_CHARGE_EXITS) | charged
        withdrew = closed_in(cases, start, end, (Exit.WITHDREW_PRE_CHARGE,))
        stranger = cases["stranger"].astype(bool)
        return {
            "referred": within(cases["t_cps_referral"], start, end).to_numpy(),
            "charged": charged.to_numpy(),
            "cps_charge": (decided & t_charge.notna()).to_numpy(),
            "cps_decision": decided.to_numpy(),
            "pre_charge_outcome": outcome.to_numpy(),
            "withdrew_known": (withdrew & ~stranger).to_numpy(),
            "pre_charge_outcome_known": (outcome & ~stranger).to_numpy(),
            "withdrew_stranger": (withdrew & stranger).to_numpy(),
            "pre_charge_outcome_stranger": (outcome & stranger).to_numpy(),
            "charged_in_custody": (charged & cases["in_custody"].astype(bool)).to_numpy(),
            "d_report_to_charge": np.where(charged, t_charge - cases["t_report"], np.nan),
        }

    @classmethod
    def catalogue(cls, scenario) -> list[Metric]:
        return [
            *super().catalogue(scenario),
            Metric("referred_cps", "Referred to CPS a year", "a year", headline=40, funnel=40, short="Referred\nto CPS"),
            Metric("charged", "Charges a year", "a year", headline=50, compare=20, funnel=50, short="Charged", key=20),
            Metric("rate_withdrawal_pre_charge", "Pre-charge withdrawal", "share", headline=70, compare=30, key=30),
            Metric("rate_charge_recorded", "Charge/summons rate (of recorded)", "share", headline=80),
            Metric("rate_cps_charge", "CPS charging rate", "share", headline=90),
            Metric("days_report_to_charge_median", "Median days report to charge", "days", headline=120),
            Metric("withdrawal_ratio_known_to_stranger", "Withdrawal, known suspect to stranger (ratio)", "ratio"),
            Metric("cost_cps", "CPS lawyers' cost a year, £", "£ a year"),
        ]

    @classmethod
    def costs(cls, scenario, get) -> dict[str, float]:
        return {"cost_cps": ("delivery", sum(u.staff for u in scenario.cps.units.values()) * scenario.costs.cps_lawyer_year)}
