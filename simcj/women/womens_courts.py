"""Court for a woman charged: remand or bail, verdict, sentence.

At the first hearing she is remanded in custody (``p_remanded``) or bailed until the verdict and
sentence, ``time_to_sentence`` after charge (the time is a published average; the courts' capacity
for these cases is not modelled: women are a small share of the magistrates' list). If convicted
(``p_convicted``), she is sentenced to:

* immediate custody, with the probability for a woman remanded or bailed (about 60% of women
  remanded by magistrates are not then given custody: published-rates 11.1); the term is drawn
  from ``custodial_days`` (58% under six months, published-rates 11.3);
* otherwise a suspended sentence order (``p_suspended``), a community order (``p_community_order``)
  or a fine or discharge. An order is supervised by probation for ``order_days``; with
  ``p_centre_requirement`` it comes with a women's-centre requirement (route ``community_order``).

A problem-solving court for women (``problem_solving_court``), where one sits, sentences the women
of its boroughs who are at risk of custody or of a supervised order, while it has places (women
under review at once): custody is less likely
(``rr_custody``), and its orders always come with a women's-service referral, reviewed for
``review_days``. A woman it has no place for is sentenced as she would have been without it.
"""

from __future__ import annotations

import math
from typing import Annotated, Optional

from pydantic import Field, PositiveFloat

from ..engine.alarms import callbacks, set_alarm
from ..engine.cases import Exit
from ..engine.metrics import Metric
from ..engine.pools import Pool
from ..engine.stage import Stage, register
from ..scenario.distributions import Duration
from ..scenario.schema import CAPACITY, MAX_CAPACITY, Prob, Strict, section, unknown_boroughs
from .table import DAYS_PER_YEAR, OFFENCE, by_group, in_window, share

# --------------------------------------------------------------------------- settings (the scenario's section)


@section
class ProblemSolvingCourt(Strict):
    """A problem-solving court for women: the magistrates review her order, with support."""

    boroughs: list[str] = Field(min_length=1, description="the boroughs whose women it sentences")
    places: Annotated[float, Field(gt=0.0, le=MAX_CAPACITY, json_schema_extra=CAPACITY)] = Field(
        description="women under the court's review at once"
    )
    rr_custody: Annotated[float, Field(ge=0.0, le=1.0)] = Field(description="relative risk of immediate custody for a woman it sentences")
    review_days: PositiveFloat = Field(description="how long the court reviews her order, days")


@section
class WomensCourts(Strict):
    """Remand or bail, verdict and sentence of a woman charged."""

    p_remanded: Prob = Field(description="remanded in custody at the first hearing")
    time_to_sentence: Duration = Field(description="charge to verdict and sentence, days")
    p_convicted: Prob = Field(description="convicted, of women charged")
    p_custody_remanded: Prob = Field(description="immediate custody, of convicted women who were remanded")
    p_custody_bailed: Prob = Field(description="immediate custody, of convicted women on bail")
    p_suspended: Prob = Field(description="suspended sentence order, of convicted women not given immediate custody")
    p_community_order: Prob = Field(description="community order, of the rest (the others: fine, discharge)")
    custodial_days: Duration = Field(description="custodial sentence imposed, days")
    order_days: Duration = Field(description="supervision of a community order or suspended sentence, days")
    p_centre_requirement: Prob = Field(description="a community order or suspended sentence with a women's-centre requirement or referral")
    custody_reduction: Prob = Field(
        0.0, description="relative reduction in immediate custody: a woman on the cusp of custody it spares gets a community order with a women's-centre requirement"
    )
    problem_solving_court: Optional[ProblemSolvingCourt] = None

CUSTODY, SUSPENDED, COMMUNITY, OTHER = "custody", "suspended sentence", "community order", "fine or discharge"
CUSP = "community order instead of custody"  # with a women's-centre requirement
SHORT_CUSTODY_DAYS = 182.5  # "under six months"


def sentence(p: WomensCourts, remanded: bool, rr_custody: float, u_custody: float, u_suspended: float, u_community: float) -> str:
    """The sentence of a convicted woman from her uniforms. A woman on the cusp of custody (her
    custody uniform under the custody probability but not under its reduced value: the
    ``custody_reduction`` and a problem-solving court's ``rr_custody``) gets a community order."""
    p_custody = p.p_custody_remanded if remanded else p.p_custody_bailed
    if u_custody < p_custody * rr_custody * (1.0 - p.custody_reduction):
        return CUSTODY
    if u_custody < p_custody:
        return CUSP
    if u_suspended < p.p_suspended:
        return SUSPENDED
    if u_community < p.p_community_order:
        return COMMUNITY
    return OTHER


@register
class WomensCourtsStage(Stage):
    """Charged women are remanded or bailed, then convicted and sentenced or not."""

    name = "womens_courts"
    table = "women"
    totals_offence = OFFENCE
    uniforms = ("u_remanded", "u_convicted", "u_custody", "u_suspended", "u_community", "u_requirement", "u_d_sentence", "u_d_custodial")
    columns = {
        "remanded": ("b", 0),
        "t_sentence": ("d", math.nan),
        "sentence": (None, ""),
        "custodial_days": ("d", 0.0),
        "problem_solving_court": ("b", 0),
    }
    entries = ("custody_suite.charged",)
    needs = ("custody_suite.charged", "arrests.in_prison", "custody_suite.t_charge")
    outcomes = ("sentenced", "ordered")


    @classmethod
    def problems(cls, scenario) -> list[tuple[str, str]]:
        psc = scenario.women.courts.problem_solving_court if scenario.women is not None else None
        return unknown_boroughs("women.courts.problem_solving_court.boroughs", psc.boroughs, scenario) if psc is not None else []

    def __init__(self, world):
        super().__init__(world)
        self._sentence_alarm = callbacks(lambda alarm: self._sentence(alarm.i))
        self._review_over = callbacks(lambda alarm: self.psc.release())
        self.psc = None
        self._tune()

    def _tune(self) -> None:
        w = self.world
        self.p = w.scenario.women.courts
        psc = self.p.problem_solving_court
        if psc is None:
            self._psc_boroughs = set()
            return
        boroughs = list(w.scenario.population.borough)
        self._psc_boroughs = {boroughs.index(b) for b in psc.boroughs}
        if self.psc is None:
            self.psc = Pool(w.env, max(1, round(psc.places)), "problem_solving_court")
        else:
            self.psc.resize(round(psc.places))

    def retune(self) -> None:
        self._tune()

    def bound(self) -> None:
        self._sentenced, self._ordered = self.onward["sentenced"], self.onward["ordered"]
        self._in_prison = self.service("arrests.in_prison")

    def take(self, i: int) -> None:
        women, now, p = self.world.women, self.world.env.now, self.p
        delay = p.time_to_sentence.at(women.u_d_sentence[i])
        if women.u_remanded[i] < p.p_remanded:
            women.remanded[i] = 1
            women.log(now, i, "first hearing", "remanded in custody")
            self._in_prison(i, now, now + delay, "remand")
        else:
            women.log(now, i, "first hearing", "bailed")
        set_alarm(self.world.env, delay, self._sentence_alarm, i)

    def _problem_solving_court_place(self, i: int) -> bool:
        """Does a problem-solving court sentence her (it sits for her borough and has a place)?"""
        if self.psc is None or self.world.women.borough_code[i] not in self._psc_boroughs:
            return False
        return self.psc.busy < self.psc.capacity

    def _under_review(self, i: int) -> None:
        """A woman the problem-solving court gave an order holds a place for its reviews."""
        self.psc.busy += 1
        set_alarm(self.world.env, self.p.problem_solving_court.review_days, self._review_over, i)

    def _sentence(self, i: int) -> None:
        women, now, p = self.world.women, self.world.env.now, self.p
        women.t_sentence[i] = now
        if women.u_convicted[i] >= p.p_convicted:
            women.sentence[i] = ""
            women.log(now, i, "verdict", "not convicted")
            women.close(i, Exit.ACQUITTED, now)
            return
        draws = (bool(women.remanded[i]), women.u_custody[i], women.u_suspended[i], women.u_community[i])
        remanded, u_custody, u_suspended, u_community = draws
        kind = sentence(p, remanded, 1.0, u_custody, u_suspended, u_community)
        # A problem-solving court takes women at risk of custody or of a supervised order.
        psc = kind != OTHER and self._problem_solving_court_place(i)
        women.problem_solving_court[i] = int(psc)
        if psc:
            kind = sentence(p, remanded, p.problem_solving_court.rr_custody, u_custody, u_suspended, u_community)
        women.sentence[i] = kind
        women.close(i, Exit.CONVICTED, now)
        if psc and kind != CUSTODY:  # a woman it still sends to prison is not under its review
            self._under_review(i)
        if kind == CUSTODY:
            women.custodial_days[i] = p.custodial_days.at(women.u_d_custodial[i])
            women.log(now, i, "sentence", f"immediate custody, {women.custodial_days[i]:.0f} days" + (" (problem-solving court)" if psc else ""))
        else:
            women.log(now, i, "sentence", kind + (" (problem-solving court)" if psc else ""))
        if kind in (CUSTODY, SUSPENDED, COMMUNITY, CUSP):
            self._sentenced(i)
        if kind == CUSP or kind in (SUSPENDED, COMMUNITY) and (psc or women.u_requirement[i] < p.p_centre_requirement):
            self._ordered(i)

    # ------------------------------------------------------------------ after the run

    @classmethod
    def catalogue(cls, scenario) -> list[Metric]:
        return [
            Metric("remanded", "Remanded in custody a year", "a year", headline=40),
            Metric("remanded_not_custody_share", "Remanded, then not given custody", "share", headline=50),
            Metric("convicted", "Women convicted a year", "a year", funnel=60, short="Convicted"),
            Metric("sentenced_custody", "Sentenced to immediate custody a year", "a year", headline=60, compare=30, funnel=80, short="Immediate\ncustody", key=30),
            Metric("short_custody_share", "Custodial sentences under six months", "share", headline=70),
            Metric("suspended_sentences", "Suspended sentences a year", "a year"),
            Metric("community_orders", "Community orders a year", "a year", headline=80, compare=40, funnel=70, short="Community\norder"),
            Metric("custody_alternatives", "Alternatives to custody a year", "a year"),
            Metric("custody_share_of_sentences", "Immediate custody, share of sentences", "share"),
            Metric("problem_solving_court_orders", "Problem-solving court orders a year", "a year"),
            Metric("bame_share_of_custody", "Black, Asian and minority ethnic women, share of custody", "share"),
            Metric("cost_problem_solving_court", "Problem-solving court's cost a year, £", "£ a year"),
        ]

    @classmethod
    def kpis(cls, scenario, output, start: float, end: float) -> list[tuple]:
        frame = output.stage_data["arrests"]["cases"]
        years = (end - start) / DAYS_PER_YEAR
        rows = []
        done = in_window(frame, "t_sentence", start, end)
        for group, part in by_group(done):
            kind = part["sentence"].astype(str)
            convicted = part["exit"] == Exit.CONVICTED
            custody = kind == CUSTODY
            remanded = part["remanded"] == 1
            rows += [
                ("remanded_not_custody_share", OFFENCE, share(~custody[remanded]), group),
                ("convicted", OFFENCE, float(convicted.sum()) / years, group),
                ("sentenced_custody", OFFENCE, float(custody.sum()) / years, group),
                ("short_custody_share", OFFENCE, share(part.loc[custody, "custodial_days"] < SHORT_CUSTODY_DAYS), group),
                ("suspended_sentences", OFFENCE, float((kind == SUSPENDED).sum()) / years, group),
                ("community_orders", OFFENCE, float(kind.isin([COMMUNITY, CUSP]).sum()) / years, group),
                ("custody_alternatives", OFFENCE, float((kind == CUSP).sum()) / years, group),
                ("custody_share_of_sentences", OFFENCE, share(custody[convicted]), group),
                ("problem_solving_court_orders", OFFENCE, float(((part["problem_solving_court"] == 1) & ~custody & convicted).sum()) / years, group),
            ]
        first_hearing = in_window(frame, "t_charge", start, end)  # charge and first hearing are one day
        for group, part in by_group(first_hearing):
            rows.append(("remanded", OFFENCE, float((part["remanded"] == 1).sum()) / years, group))
        custody = done[done["sentence"].astype(str) == CUSTODY]
        white = custody["ethnicity"].astype(str) == "White"
        rows.append(("bame_share_of_custody", OFFENCE, share(~white), "all"))
        return rows

    @classmethod
    def costs(cls, scenario, get) -> dict[str, tuple[str, float]]:
        """The problem-solving court's places funded, a year."""
        psc = scenario.women.courts.problem_solving_court
        return {"cost_problem_solving_court": ("delivery", (psc.places if psc is not None else 0.0) * scenario.costs.problem_solving_court_place_year)}
