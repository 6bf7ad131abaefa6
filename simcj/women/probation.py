"""Probation: prison and release on licence, recall, and community supervision of women sentenced.

The rules are those of the Offender Rehabilitation Act 2014 as the Blueprint sets them out (seed
003 L979-L1003):

* a woman sentenced to immediate custody is released at the halfway point (``release_point``; the
  time she spent on remand counts towards it) and is on licence until the end of her sentence: six
  months' custody means release at three months and three months on licence (L979);
* a sentence under two years is followed by post-sentence supervision until 12 months after
  release (``pss_until_days``, L983);
* on licence she may be recalled without a court hearing (``recall_rate_per_year``): a fixed-term
  recall of 14 days under a 12-month sentence and 28 days otherwise (L1003; ``p_fixed_term``), after
  which she is released again, or a standard recall to the end of her sentence. A breach of
  post-sentence supervision goes back to court (L983) and is not a recall;
* released from custody, she is referred through the gate to a women's service
  (``p_release_referral``; route ``release``);
* a community order or suspended sentence is supervised for its length.

Recalls can come more than once, so their draws are counter-based on the case's key
(:func:`simcj.engine.streams.case_uniform`): draw ``2k`` times the ``k``-th recall, ``2k+1`` its kind.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import Field

from ..engine.alarms import callbacks, set_alarm
from ..engine.metrics import Metric
from ..engine.stage import Stage, register
from ..engine.streams import case_uniform
from ..scenario.schema import NonNeg, Prob, Strict, section
from .table import DAYS_PER_YEAR, OFFENCE, by_group, in_window
from .womens_courts import CUSTODY

# --------------------------------------------------------------------------- settings (the scenario's section)


@section
class WomensProbation(Strict):
    """Release, licence, post-sentence supervision and recall (Offender Rehabilitation Act 2014)."""

    release_point: Prob = Field(0.5, description="share of the sentence served before release on licence (the halfway point)")
    pss_until_days: NonNeg = Field(365.0, description="post-sentence supervision ends this many days after release (sentences under two years)")
    recall_rate_per_year: NonNeg = Field(description="recalls a year while on licence (a breach of post-sentence supervision goes to court: not modelled)")
    p_fixed_term: Prob = Field(description="a recall is a fixed-term recall (14 days under a 12-month sentence, else 28); else a standard recall")
    p_release_referral: Prob = Field(description="a woman released from custody referred through the gate to a women's service")

TWO_YEARS = 2 * DAYS_PER_YEAR
ONE_YEAR = DAYS_PER_YEAR


def release_day(t_sentence: float, custodial_days: float, remand_days: float, release_point: float) -> float:
    """Release at the halfway point of the sentence, less the days already spent on remand."""
    return t_sentence + max(0.0, release_point * custodial_days - remand_days)


def sentence_end(t_sentence: float, custodial_days: float, remand_days: float) -> float:
    """The end of the sentence (and of the licence), counting the remand already served."""
    return t_sentence + max(0.0, custodial_days - remand_days)


def supervision_end(t_release: float, t_sentence_end: float, custodial_days: float, pss_until_days: float) -> float:
    """End of licence, or of post-sentence supervision (12 months after release) for sentences under two years."""
    if custodial_days < TWO_YEARS:
        return max(t_sentence_end, t_release + pss_until_days)
    return t_sentence_end


def fixed_term_days(custodial_days: float) -> float:
    """14 days for a sentence under 12 months, else 28."""
    return 14.0 if custodial_days < ONE_YEAR else 28.0


def next_recall_delay(p: WomensProbation, key: int, k: int) -> float:
    """Days from release to her ``k``-th recall (exponential at the recall rate; inf with none)."""
    if p.recall_rate_per_year <= 0.0:
        return math.inf
    return -math.log1p(-case_uniform(key, 2 * k)) / p.recall_rate_per_year * DAYS_PER_YEAR


def woman_days(spells, start: float, end: float) -> float:
    """Days in [start, end) covered by the spells, each woman's overlapping spells counted once."""
    total = 0.0
    for _woman, group in spells.groupby("woman", sort=False):
        intervals = sorted(zip(np.maximum(group["start"].to_numpy(), start), np.minimum(group["until"].to_numpy(), end)))
        reach = start
        for a, b in intervals:
            a = max(a, reach)
            if b > a:
                total += b - a
                reach = b
    return total


HOUSING_BENEFIT_DAYS = 13 * 7  # housing benefit is paid for 13 weeks in custody (seed 003 L404)
UNIVERSAL_CREDIT_DAYS = 182.5  # the Universal Credit housing element for six months (L404)


def custody_consequences(frame, start: float, end: float, years: float) -> list[tuple]:
    """What custody does to her home and her children, as the Blueprint counts it (seed 003 §3.5):
    reported outcomes of the custody simulated, not effects fed back into the model. For each woman
    released in the window: her first continuous spell inside (remand and sentence) against the
    housing benefit and Universal Credit limits; and the mothers among the women sent to custody."""
    released = in_window(frame, "t_release", start, end)
    began = np.where(released["remanded"] == 1, released["t_charge"], released["t_sentence"])
    inside = released["t_release"].to_numpy() - began
    sentenced = in_window(frame, "t_sentence", start, end)
    sentenced = sentenced[sentenced["sentence"].astype(str) == CUSTODY]
    return [
        ("released_after_housing_benefit_ended", OFFENCE, float((inside > HOUSING_BENEFIT_DAYS).sum()) / years, "all"),
        ("released_after_universal_credit_housing_ended", OFFENCE, float((inside > UNIVERSAL_CREDIT_DAYS).sum()) / years, "all"),
        ("mothers_sent_to_custody", OFFENCE, float(sentenced["need_dependent_children"].sum()) / years, "all"),
    ]


@register
class Probation(Stage):
    """Custody, licence, recall and community supervision of sentenced women."""

    name = "probation"
    table = "women"
    totals_offence = OFFENCE
    uniforms = ("u_release_referral", "u_d_order")
    keys = ("k_recall",)  # recalls may come any number of times: counter-based draws (streams.case_uniform)
    columns = {"t_release": ("d", math.nan), "t_supervision_end": ("d", math.nan), "recalls": ("h", 0), "t_first_recall": ("d", math.nan)}
    entries = ("womens_courts.sentenced",)
    needs = ("womens_courts.sentenced", "arrests.in_prison", "arrests.supervised", "arrests.inside", "womens_courts.sentence",
             "womens_courts.t_sentence", "womens_courts.custodial_days", "womens_courts.remanded", "custody_suite.t_charge")
    outcomes = ("released",)

    def __init__(self, world):
        super().__init__(world)
        self._release_alarm = callbacks(lambda alarm: self._release(alarm.i))
        self._recall_alarm = callbacks(lambda alarm: self._recall(alarm.i))
        self._sentence_over = callbacks(lambda alarm: self.world.women.log(self.world.env.now, alarm.i, "released", "at the end of her sentence"))

    @property
    def p(self) -> WomensProbation:
        return self.world.scenario.women.probation

    def bound(self) -> None:
        self._released = self.onward["released"]
        self._in_prison, self._supervised = self.service("arrests.in_prison"), self.service("arrests.supervised")
        self._inside = self.service("arrests.inside")
        self._sentence_end: dict[int, float] = {}

    def take(self, i: int) -> None:
        women, now = self.world.women, self.world.env.now
        if women.sentence[i] != CUSTODY:
            end = now + self.world.scenario.women.courts.order_days.at(women.u_d_order[i])
            women.t_supervision_end[i] = end
            self._supervised(i, now, end, women.sentence[i])
            women.log(now, i, "probation", f"{women.sentence[i]} supervised until day {end:.0f}")
            return
        remand = now - women.t_charge[i] if women.remanded[i] else 0.0
        release = release_day(now, women.custodial_days[i], remand, self.p.release_point)
        self._sentence_end[i] = sentence_end(now, women.custodial_days[i], remand)
        self._in_prison(i, now, release, "sentence")
        set_alarm(self.world.env, release - now, self._release_alarm, i)

    def _release(self, i: int) -> None:
        women, now, p = self.world.women, self.world.env.now, self.p
        first = women.t_release[i] != women.t_release[i]
        if first:
            women.t_release[i] = now
            end = supervision_end(now, self._sentence_end[i], women.custodial_days[i], p.pss_until_days)
            women.t_supervision_end[i] = end
            self._supervised(i, now, end, "licence and post-sentence supervision")
            women.log(now, i, "released", f"on licence to day {self._sentence_end[i]:.0f}, supervised to day {end:.0f}")
            if self._inside(women.woman[i], now):
                women.log(now, i, "still in prison", "held on another case: no referral through the gate")
            elif women.u_release_referral[i] < p.p_release_referral:
                self._released(i)
        else:
            women.log(now, i, "released", "after a fixed-term recall")
        delay = next_recall_delay(p, women.k_recall[i], women.recalls[i])
        if now + delay < self._sentence_end[i]:
            set_alarm(self.world.env, delay, self._recall_alarm, i)

    def _recall(self, i: int) -> None:
        women, now, p = self.world.women, self.world.env.now, self.p
        k = women.recalls[i]
        women.recalls[i] = k + 1
        if k == 0:
            women.t_first_recall[i] = now
        if case_uniform(women.k_recall[i], 2 * k + 1) < p.p_fixed_term:
            back = min(now + fixed_term_days(women.custodial_days[i]), self._sentence_end[i])  # no recall outlasts the sentence
            self._in_prison(i, now, back, "fixed-term recall")
            women.log(now, i, "recalled", f"fixed-term, {back - now:.0f} days")
            set_alarm(self.world.env, back - now, self._release_alarm, i)
        else:
            end = self._sentence_end[i]
            self._in_prison(i, now, end, "standard recall")
            women.log(now, i, "recalled", f"standard recall to the end of her sentence (day {end:.0f})")
            set_alarm(self.world.env, end - now, self._sentence_over, i)

    # ------------------------------------------------------------------ after the run

    @classmethod
    def catalogue(cls, scenario) -> list[Metric]:
        return [
            Metric("recalls", "Recalls a year", "a year", headline=90, funnel=90, short="Recalls"),
            Metric("released_from_custody", "Women released from custody a year", "a year"),
            Metric("prison_places_used", "Prison places used (mean)", "stock", headline=130, compare=50, key=40),
            Metric("recall_share_of_prison_population", "Recalled women, share of the prison population", "share"),
            Metric("released_after_housing_benefit_ended", "Released after housing benefit ended (13 weeks inside)", "a year"),
            Metric("released_after_universal_credit_housing_ended", "Released after Universal Credit housing costs ended", "a year"),
            Metric("mothers_sent_to_custody", "Mothers of dependent children sent to custody", "a year"),
            Metric("probation_caseload", "Probation caseload (mean)", "stock"),
            Metric("probation_caseload_in_custody_share", "Probation caseload in custody, share", "share"),
            Metric("probation_caseload_in_community", "Women supervised in the community (mean)", "stock"),
            Metric("cost_prison_women", "Prison places' cost a year, £ (women)", "£ a year"),
            Metric("cost_probation_women", "Probation's cost a year, £ (women)", "£ a year"),
        ]

    @classmethod
    def kpis(cls, scenario, output, start: float, end: float) -> list[tuple]:
        data = output.stage_data["arrests"]
        frame, events, spells = data["cases"], data["events"], data["spells"]
        years = (end - start) / DAYS_PER_YEAR
        rows = []
        recalls = events[(events["event"] == "recalled") & (events["day"] >= start) & (events["day"] < end)]
        released = in_window(frame, "t_release", start, end)
        rows.append(("recalls", OFFENCE, len(recalls) / years, "all"))
        for group, part in by_group(released):
            rows.append(("released_from_custody", OFFENCE, len(part) / years, group))
        rows += custody_consequences(frame, start, end, years)
        # Stocks: the mean number of women over the window (women-days / days), each woman counted
        # once however many of her spells overlap (an order from one case while on licence for another).
        spells = spells.merge(frame[["row", "woman"]], on="row")
        in_prison = spells["spell"] == "prison"
        sentenced = in_prison & (spells["why"] == "sentence")  # recall days are already in her licence
        window = end - start

        def women(mask) -> float:
            return woman_days(spells[mask], start, end) / window

        places = women(in_prison)
        caseload = women(sentenced | ~in_prison)
        custody = women(sentenced)
        rows.append(("prison_places_used", OFFENCE, places, "all"))
        recalled = in_prison & spells["why"].str.endswith("recall")
        rows.append(("recall_share_of_prison_population", OFFENCE, women(recalled) / places if places else float("nan"), "all"))
        rows.append(("probation_caseload", OFFENCE, caseload, "all"))
        rows.append(("probation_caseload_in_custody_share", OFFENCE, custody / caseload if caseload else float("nan"), "all"))
        rows.append(("probation_caseload_in_community", OFFENCE, women(~in_prison), "all"))
        return rows

    @classmethod
    def costs(cls, scenario, get) -> dict[str, tuple[str, float]]:
        """Prison places used and women supervised in the community, a year at their unit costs."""
        uc = scenario.costs
        return {"cost_prison_women": ("consequence", get("prison_places_used") * uc.womens_prison_place_year),
                "cost_probation_women": ("consequence", get("probation_caseload_in_community") * uc.probation_woman_year)}
