"""Police custody: liaison and diversion screening, and the disposal decision for a woman arrested.

In the custody suite the liaison and diversion (L&D) service sees a share of the women brought in
(``p_ld_screened``); a woman it sees who has a need (mental health, substance use, domestic abuse,
housing) is referred to a women's service (``p_ld_referral``; route ``liaison_diversion``, seed
003 L251-255). The police then decide, after ``decision_time`` (released under investigation or
on bail meanwhile):

* no further action (``p_nfa``);
* an out-of-court disposal without a referral (caution, community resolution; ``p_out_of_court``);
* otherwise a charge, except where the Met's diversion scheme runs (``diversion_boroughs``): a woman
  eligible for it (low-level offence, admitted; ``p_eligible_for_diversion``) is given a conditional
  caution whose condition is to engage with a women's service (route ``conditional_caution``, seed
  003 L214). A woman who does not engage with it (the service's ``p_engages``), or whom no service
  takes, is prosecuted for the original offence ``breach_days`` later. (She is referred once an
  arrest: a woman liaison and diversion has already referred keeps that referral, and complies if
  she engaged with it.)
"""

from __future__ import annotations

import math

from pydantic import Field, PositiveFloat, model_validator

from ..engine.alarms import callbacks, set_alarm
from ..engine.cases import Exit
from ..engine.metrics import Metric
from ..engine.stage import Stage, register
from ..scenario.distributions import Duration
from ..scenario.schema import Prob, Strict, section, unknown_boroughs
from .table import DAYS_PER_YEAR, OFFENCE, SUPPORT_NEEDS, by_group, in_window

# --------------------------------------------------------------------------- settings (the scenario's section)


@section
class CustodySuite(Strict):
    """Police custody: liaison and diversion screening, then the disposal decision."""

    p_ld_screened: Prob = Field(description="women in custody seen by the liaison and diversion service")
    p_ld_referral: Prob = Field(description="screened women with at least one need referred to a women's service")
    decision_time: Duration = Field(description="arrest to the disposal decision (released under investigation or on bail meanwhile), days")
    p_nfa: Prob = Field(description="no further action")
    p_out_of_court: Prob = Field(description="an out-of-court disposal (caution, community resolution) without a referral")
    p_eligible_for_diversion: Prob = Field(
        description="of women otherwise charged: low-level offence admitted, eligible for a conditional caution (the Met's diversion scheme)"
    )
    diversion_boroughs: list[str] = Field(default_factory=list, description="boroughs where the diversion scheme runs")
    breach_days: PositiveFloat = Field(90.0, description="conditional caution to the prosecution of a woman who did not engage with a women's service, days")

    @model_validator(mode="after")
    def _shares(self):
        if self.p_nfa + self.p_out_of_court > 1.0 + 1e-9:
            raise ValueError("p_nfa + p_out_of_court must not exceed 1 (the rest are charged)")
        return self

NFA, OUT_OF_COURT, CONDITIONAL_CAUTION, CHARGE = "NFA", "out-of-court disposal", "conditional caution", "charge"


def disposal(p: CustodySuite, in_scheme: bool, u_disposal: float, u_eligible: float) -> str:
    """The police decision for a woman, from her uniforms: NFA, an out-of-court disposal, a
    conditional caution (where the diversion scheme runs and she is eligible), or a charge."""
    if u_disposal < p.p_nfa:
        return NFA
    if u_disposal < p.p_nfa + p.p_out_of_court:
        return OUT_OF_COURT
    if in_scheme and u_eligible < p.p_eligible_for_diversion:
        return CONDITIONAL_CAUTION
    return CHARGE


@register
class CustodySuiteStage(Stage):
    """Screening at arrest and the police disposal; charges go on as ``charged``."""

    name = "custody_suite"
    table = "women"
    totals_offence = OFFENCE
    uniforms = ("u_ld_screened", "u_ld_referral", "u_disposal", "u_eligible", "u_d_decision")
    columns = {"ld_screened": ("b", 0), "t_decision": ("d", math.nan), "disposal": (None, ""), "t_charge": ("d", math.nan)}
    entries = ("arrests.arrested",)
    needs = ("arrests.arrested",)
    uses = ("womens_centres.engaged",)  # a conditional caution to engage is complied with if she does
    outcomes = ("charged", "screened", "cautioned")


    @classmethod
    def problems(cls, scenario) -> list[tuple[str, str]]:
        wo = scenario.women
        return unknown_boroughs("women.custody_suite.diversion_boroughs", wo.custody_suite.diversion_boroughs, scenario) if wo is not None else []

    def __init__(self, world):
        super().__init__(world)
        self._decide_alarm = callbacks(lambda alarm: self._decide(alarm.i))
        self._breach_alarm = callbacks(lambda alarm: self._prosecute(alarm.i))
        self._tune()

    def _tune(self) -> None:
        w = self.world
        self.p = w.scenario.women.custody_suite
        boroughs = list(w.scenario.population.borough)
        self._scheme = {boroughs.index(b) for b in self.p.diversion_boroughs}

    def retune(self) -> None:
        self._tune()

    def bound(self) -> None:
        self._charged, self._screened, self._cautioned = self.onward["charged"], self.onward["screened"], self.onward["cautioned"]
        self._engaged = self.column("womens_centres.engaged")

    def take(self, i: int) -> None:
        women, now, p = self.world.women, self.world.env.now, self.p
        if women.u_ld_screened[i] < p.p_ld_screened:
            women.ld_screened[i] = 1
            women.log(now, i, "liaison and diversion", "screened in custody")
            if women.needs[i] & SUPPORT_NEEDS and women.u_ld_referral[i] < p.p_ld_referral:
                self._screened(i)
        delay = p.decision_time.at(women.u_d_decision[i])
        set_alarm(self.world.env, delay, self._decide_alarm, i)

    def _decide(self, i: int) -> None:
        women, now = self.world.women, self.world.env.now
        women.t_decision[i] = now
        choice = disposal(self.p, women.borough_code[i] in self._scheme, women.u_disposal[i], women.u_eligible[i])
        women.disposal[i] = choice
        women.log(now, i, "police decision", choice)
        if choice == NFA:
            women.close(i, Exit.NFA, now)
        elif choice == OUT_OF_COURT:
            women.close(i, Exit.OUT_OF_COURT, now)
        elif choice == CONDITIONAL_CAUTION:
            self._cautioned(i)  # the women's services take the referral now, and she engages or not
            if self._engaged is not None and self._engaged[i]:
                women.close(i, Exit.DIVERTED, now)
            else:  # she did not engage (or no service took her): the condition is not complied with
                set_alarm(self.world.env, self.p.breach_days, self._breach_alarm, i)
        else:
            self._charge(i)

    def _prosecute(self, i: int) -> None:
        women = self.world.women
        women.disposal[i] = "conditional caution, not complied with"
        women.log(self.world.env.now, i, "conditional caution breached", "prosecuted for the original offence")
        self._charge(i)

    def _charge(self, i: int) -> None:
        women, now = self.world.women, self.world.env.now
        women.t_charge[i] = now
        women.log(now, i, "charged")
        self._charged(i)

    # ------------------------------------------------------------------ after the run

    @classmethod
    def catalogue(cls, scenario) -> list[Metric]:
        return [
            Metric("ld_screened", "Women screened by liaison and diversion a year", "a year"),
            Metric("no_further_action", "No further action a year", "a year", funnel=20, short="NFA"),
            Metric("out_of_court_disposals", "Out-of-court disposals a year", "a year", funnel=30, short="Out of court"),
            Metric("conditional_cautions", "Conditional cautions a year", "a year", funnel=40, short="Conditional\ncaution"),
            Metric("diverted", "Diverted (conditional caution complied with)", "a year", headline=20, compare=10),
            Metric("charged", "Women charged a year", "a year", headline=30, compare=20, funnel=50, short="Charged"),
            Metric("cost_ld", "Liaison and diversion's cost a year, £", "£ a year"),
            Metric("cost_conditional_cautions", "Conditional cautions' cost a year, £", "£ a year"),
        ]

    @classmethod
    def kpis(cls, scenario, output, start: float, end: float) -> list[tuple]:
        frame = output.stage_data["arrests"]["cases"]
        years = (end - start) / DAYS_PER_YEAR
        rows = []
        arrested = in_window(frame, "t_arrest", start, end)
        decided = in_window(frame, "t_decision", start, end)
        charged = in_window(frame, "t_charge", start, end)
        for group, part in by_group(arrested):
            rows.append(("ld_screened", OFFENCE, float(part["ld_screened"].sum()) / years, group))
        for group, part in by_group(decided):
            d = part["disposal"].astype(str)
            rows.append(("no_further_action", OFFENCE, float((d == NFA).sum()) / years, group))
            rows.append(("out_of_court_disposals", OFFENCE, float((d == OUT_OF_COURT).sum()) / years, group))
            rows.append(("conditional_cautions", OFFENCE, float(d.str.startswith(CONDITIONAL_CAUTION).sum()) / years, group))
            rows.append(("diverted", OFFENCE, float((part["exit"] == Exit.DIVERTED).sum()) / years, group))
        for group, part in by_group(charged):
            rows.append(("charged", OFFENCE, len(part) / years, group))
        return rows

    @classmethod
    def costs(cls, scenario, get) -> dict[str, tuple[str, float]]:
        """Each screening and each conditional caution administered, at its unit cost."""
        uc = scenario.costs
        return {"cost_ld": ("delivery", get("ld_screened") * uc.ld_assessment),
                "cost_conditional_cautions": ("delivery", get("conditional_cautions") * uc.conditional_caution)}
