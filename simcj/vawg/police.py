"""Police: investigation queued on investigator capacity, and the outcome.

A recorded crime's suspect may be arrested when it is recorded. An arrested suspect may be charged
in custody: the case goes to a charging decision (``referred``, marked ``in_custody``) within
``custody_days``, worked by custody and response officers rather than the investigating unit, and
the CPS decides it at once (CPS Direct). Otherwise he is released, on bail or under investigation,
and the crime waits for a slot in its
investigating unit (officers x concurrent caseload), and the crime is investigated for a sampled time unless
the victim withdraws first (outcome 16), and then ends with a Home Office outcome: no suspect
identified (O18), evidential difficulties with a supportive victim (O15), a caution, or a referral
to the CPS for a charging decision (``referred``).

The queue-and-work mechanics are shared with charging (:mod:`simcj.engine.casework`).
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import numpy as np
from pydantic import Field, model_validator

from ..engine.alarms import callbacks, set_alarm
from ..engine.cases import HO_CAUTION, Exit, within
from ..engine.casework import Casework
from ..engine.metrics import Metric
from ..engine.stage import register
from ..scenario.distributions import Duration
from ..scenario.schema import EffortShare, Prob, StaffedUnit, Strict, section, undeclared

# --------------------------------------------------------------------------- settings (the scenario's section)


@section
class Police(Strict):
    unit: str = Field(description="investigating unit (a key of police.units)")
    p_suspect_identified: Prob
    p_stranger: Prob = Field(0.0, description="share of recorded crimes whose victim does not know the suspect (a stranger)")
    p_arrest: Prob = Field(description="probability a suspect is arrested (reported per 100 recorded crimes)")
    p_decided_in_custody: Prob = Field(
        0.0, description="share of arrested suspects whose case goes to a charging decision while they are held (charge in "
        "custody); the others are released on bail or under investigation and the crime waits for an investigator"
    )
    custody_days: Annotated[float, Field(gt=0.0, le=4.0)] = Field(
        1.0, description="from arrest to the charging decision in custody, days (PACE: 24 hours, 36 with a superintendent's extension)"
    )
    investigation_time: Duration = Field(description="elapsed time from the start of the investigation to the police outcome, days")
    effort_share: EffortShare = Field(
        1.0, description="share of the elapsed investigation time an investigator works the case (holding a slot); the rest "
        "it waits on others (forensics, digital downloads, the suspect) and holds none"
    )
    p_refer_cps: Prob = Field(description="after investigation, victim still engaged: refer to the CPS")
    p_caution: Prob = Field(description="after investigation: police out-of-court disposal (caution)")

    @model_validator(mode="after")
    def _sum(self):
        if self.p_refer_cps + self.p_caution > 1.0 + 1e-9:
            raise ValueError("p_refer_cps + p_caution must not exceed 1 (the rest is outcome 15)")
        return self


@section
class PoliceSettings(Strict):
    units: dict[str, StaffedUnit] = Field(min_length=1)


class PoliceDecision(Enum):
    REFER_CPS = "refer to CPS"
    CAUTION = "caution"
    EVIDENTIAL_DIFFICULTIES = "O15"


def suspect_identified(p: Police, u: float) -> bool:
    return u < p.p_suspect_identified


def is_stranger(p: Police, u: float) -> bool:
    """Does the victim not know the suspect? Drawn apart from whether a suspect is identified: no
    identification rate by relationship is published, and the classes' no-suspect shares exceed
    their shares of strangers (the scenario's sources), so known suspects go unidentified too."""
    return u < p.p_stranger


def is_arrested(p: Police, u: float) -> bool:
    return u < p.p_arrest


def is_decided_in_custody(p: Police, arrested: bool, u: float) -> bool:
    """Is an arrested suspect's case put to a charging decision while he is held?"""
    return arrested and u < p.p_decided_in_custody


def police_decision(p: Police, u: float) -> PoliceDecision:
    """Outcome of a completed investigation with a suspect and a victim still engaged."""
    if u < p.p_refer_cps:
        return PoliceDecision.REFER_CPS
    if u < p.p_refer_cps + p.p_caution:
        return PoliceDecision.CAUTION
    return PoliceDecision.EVIDENTIAL_DIFFICULTIES


@register
class Investigation(Casework):
    """The investigating units' handling of recorded crimes; a CPS referral goes on as ``referred``."""

    name = "police"
    entries = ("reporting.recorded", "marac.third_party_report")
    needs = ("reporting.recorded",)
    outcomes = ("referred",)
    provides = ("no_suspect_yet",)
    uniforms = ("u_suspect", "u_stranger", "u_arrest", "u_charge_in_custody", "u_police")
    durations = {"d_investigation": lambda sc, oc: oc.police.investigation_time}
    columns = {
        "arrested": ("?", 0),
        "stranger": ("?", 0),
        "in_custody": ("?", 0),
        "t_investigation_queued": ("d", float("nan")),
        "t_investigation_start": ("d", float("nan")),
        "t_police_outcome": ("d", float("nan")),
    }
    section, step, series, staff = "police", "police", "investigators", "Investigators'"
    queued_column = "t_investigation_queued"
    start_column = "t_investigation_start"
    duration_column = "d_investigation"


    @classmethod
    def problems(cls, scenario) -> list[tuple[str, str]]:
        return undeclared(scenario, "police.unit", scenario.police.units, "police.units")

    def __init__(self, world):
        super().__init__(world)
        self._custody_alarm = callbacks(lambda alarm: self._custody_ends(alarm.i))

    def bound(self) -> None:
        self._referred = self.onward["referred"]

    def no_suspect_yet(self, i: int) -> bool:
        """Before the police outcome, has no suspect been identified? (A withdrawal then is O14, not O16.)"""
        c = self.world.cases
        pending = c.t_police_outcome[i] != c.t_police_outcome[i] and not c.in_custody[i]  # a suspect held is identified
        return pending and not suspect_identified(self.world.offence(i).police, c.u_suspect[i])

    def take(self, i: int) -> None:
        """A recorded crime: the suspect may be arrested now (police attend the report), which, like
        the DASH risk level and whether she knows the suspect, may change the victim's withdrawal
        hazard from now; then either he is charged in custody (the case goes to the CPS when the
        custody clock runs out) or the investigation waits for an officer."""
        w = self.world
        c, oc = w.cases, w.offence(i)
        c.arrested[i] = is_arrested(oc.police, c.u_arrest[i])
        c.stranger[i] = is_stranger(oc.police, c.u_stranger[i])
        if oc.withdrawal is not None:
            wd = oc.withdrawal
            factor = (wd.hr_arrested if c.arrested[i] else 1.0) * (wd.hr_stranger if c.stranger[i] else 1.0) * wd.hr_by_risk.get(c.risk[i], 1.0)
            w.clock.scale_hazard(i, w.env.now, factor)
        c.in_custody[i] = is_decided_in_custody(oc.police, c.arrested[i], c.u_charge_in_custody[i])
        if c.in_custody[i]:
            c.t_investigation_queued[i] = w.env.now  # no investigator's slot: custody and response officers
            set_alarm(w.env, oc.police.custody_days, self._custody_alarm, i)
            return
        super().take(i)

    def _custody_ends(self, i: int) -> None:
        """The custody clock runs out: the case goes to the CPS unless the victim has withdrawn."""
        w = self.world
        now = w.env.now
        if w.case_open(i, now):
            w.cases.t_police_outcome[i] = now
            self._referred(i)

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
            self._referred(i)

    case_metrics = {"arrests": "arrested", "arrests_per_100_recorded": ("arrested", "recorded", 100.0)}
    case_durations = {"days_investigation_wait": "d_investigation_wait"}

    @classmethod
    def indicators(cls, scenario, cases, start: float, end: float) -> dict[str, object]:
        """Suspects arrested at the record, and the wait for an investigator, in the window."""
        queued, begun = cases["t_investigation_queued"], cases["t_investigation_start"]
        return {
            "arrested": (within(queued, start, end) & cases["arrested"].astype(bool)).to_numpy(),
            "d_investigation_wait": np.where(within(begun, start, end), begun - queued, np.nan),
        }

    @classmethod
    def catalogue(cls, scenario) -> list[Metric]:
        return [*super().catalogue(scenario), Metric("arrests", "Suspects arrested a year", "a year"),
                Metric("cost_police", "Investigators' cost a year, £", "£ a year")]

    @classmethod
    def costs(cls, scenario, get) -> dict[str, float]:
        return {"cost_police": ("delivery", sum(u.staff for u in scenario.police.units.values()) * scenario.costs.police_investigator_year)}
