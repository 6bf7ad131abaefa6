"""Police: investigation queued on investigator capacity, and the outcome.

A recorded crime's suspect may be arrested when it is recorded; the crime waits for a slot in its
investigating unit (officers x concurrent caseload), and the crime is investigated for a sampled time unless
the victim withdraws first (outcome 16), and then ends with a Home Office outcome: no suspect
identified (O18), evidential difficulties with a supportive victim (O15), a caution, or a referral
to the CPS for a charging decision (``referred``).

The queue-and-work mechanics are shared with charging (:mod:`simcj.model.casework`).
"""

from __future__ import annotations

from enum import Enum

from ..scenario.schema import Police
from .casework import Casework
from .entities import HO_CAUTION, Exit
from .stage import register


class PoliceDecision(Enum):
    REFER_CPS = "refer to CPS"
    CAUTION = "caution"
    EVIDENTIAL_DIFFICULTIES = "O15"


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


@register
class Investigation(Casework):
    """The investigating units' handling of recorded crimes; a CPS referral goes on as ``referred``."""

    name = "police"
    entries = ("reporting.recorded",)
    outcomes = ("referred",)
    uniforms = ("u_suspect", "u_arrest", "u_police")
    durations = {"d_investigation": lambda sc, oc: oc.police.investigation_time}
    columns = {
        "arrested": ("?", 0),
        "t_investigation_queued": ("d", float("nan")),
        "t_investigation_start": ("d", float("nan")),
        "t_police_outcome": ("d", float("nan")),
    }
    section, step, series = "police", "police", "investigators"
    queued_column = "t_investigation_queued"
    start_column = "t_investigation_start"
    duration_column = "d_investigation"

    def bound(self) -> None:
        self._referred = self.onward["referred"]

    def no_suspect_yet(self, i: int) -> bool:
        """Before the police outcome, has no suspect been identified? (A withdrawal then is O14, not O16.)"""
        c = self.world.cases
        return c.t_police_outcome[i] != c.t_police_outcome[i] and not suspect_identified(self.world.offence(i).police, c.u_suspect[i])

    def take(self, i: int) -> None:
        """A recorded crime: the suspect may be arrested now (police attend the report), which, like
        the DASH risk level, may change the victim's withdrawal hazard from now; then the
        investigation waits for an officer."""
        w = self.world
        c, oc = w.cases, w.offence(i)
        c.arrested[i] = is_arrested(oc.police, c.u_arrest[i])
        if oc.withdrawal is not None:
            factor = (oc.withdrawal.hr_arrested if c.arrested[i] else 1.0) * oc.withdrawal.hr_by_risk.get(c.risk[i], 1.0)
            w.clock.scale_hazard(i, w.env.now, factor)
        super().take(i)

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

    @classmethod
    def metric_names(cls, scenario) -> set[str]:
        return super().metric_names(scenario) | {"cost_police"}

    @classmethod
    def costs(cls, scenario, get) -> dict[str, float]:
        return {"cost_police": ("delivery", sum(u.staff for u in scenario.police.units.values()) * scenario.costs.police_investigator_year)}
