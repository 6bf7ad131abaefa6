"""Arrests of women, and their reoffending as new arrests of the same woman.

Women are arrested for the first time in the model as a Poisson process (``women.arrests_per_year``,
from before the run so that the warm-up fills the services, courts and prisons). Each woman's needs
(domestic abuse, mental health, substance use, dependent children, housing, a first offence), her
borough and her ethnic group are drawn once and are hers at every arrest.

From her first arrest her offending goes on for a drawn length (exponential, mean
``reoffending.career_years``). While it does, she is arrested again at a hazard
``rate_per_year x frailty x HR(needs) x HR(t)``: the frailty (gamma, ``rate_cv``) and her needs'
ratios are fixed for her; ``HR(t)`` is 0 while she is in prison (on remand, serving a sentence or
recalled), ``hr_supervised`` while probation supervises her, and the women's-service effect for
``effect_days`` after her support began. That effect is stated as the Justice Data Lab states it,
percentage points off 12-month proven reoffending (``centre_effect_pp``), and turned into a hazard
ratio at the comparison group's rate (:func:`simcj.women.table.hr_from_pp`).

As for repeat victimisation (:mod:`simcj.vawg.repeats`), the process is simulated by thinning:
candidate re-arrests are drawn before the run at the highest hazard allowed, each a row with all
its inputs, and at its time a candidate happens with probability HR(t)/cap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import numpy as np
import pandas as pd
from pydantic import Field, PositiveFloat, model_validator

from ..engine.alarms import callbacks, set_alarm
from ..engine.arrivals import categorical, happens, incident_times, recurrent_events
from ..engine.cases import EXIT_COLUMNS, Drawn, typed
from ..engine.metrics import Metric
from ..engine.stage import Stage, register
from ..engine.streams import Streams
from ..scenario.schema import MAX_VOLUME, VOLUME, WOMEN_NEEDS, HazardRatio, NonNeg, Prob, Scenario, Strict, check_keys, section, unknown_boroughs
from .table import (
    DAYS_PER_YEAR,
    OFFENCE,
    by_group,
    column,
    frame,
    hr_from_pp,
    in_window,
    need_columns,
    needs_mask,
    proven_reoffending,
    reoffending_cohort,
    share,
)

# --------------------------------------------------------------------------- settings (the scenario's section)


@section
class Reoffending(Strict):
    """New arrests of the same woman: a hazard while her offending goes on, none while she is inside."""

    rate_per_year: PositiveFloat = Field(description="new arrests a year while her offending goes on, with nothing in force")
    career_years: PositiveFloat = Field(description="mean length of her offending from her first arrest in the model, years (exponential)")
    rate_cv: Annotated[float, Field(ge=0.0, le=5.0)] = Field(0.0, description="coefficient of variation of the rate between women (gamma frailty)")
    hr_by_need: dict[str, HazardRatio] = Field(default_factory=dict, description="hazard ratio for each need she has (keys of needs)")
    hr_supervised: HazardRatio = Field(1.0, description="hazard ratio while under probation supervision (order, licence, post-sentence supervision)")
    centre_effect_pp: Annotated[float, Field(ge=0.0, le=50.0)] = Field(
        description="percentage points off 12-month proven reoffending for a woman supported by a women's service"
    )
    comparison_rate_12m: Annotated[float, Field(gt=0.0, lt=1.0)] = Field(
        description="12-month proven reoffending of the comparison group the percentage points are measured against (turns them into a hazard ratio)"
    )
    effect_days: PositiveFloat = Field(365.0, description="how long women's-service support keeps its effect, from its start, days")

    @model_validator(mode="after")
    def _needs(self):
        check_keys("hr_by_need", self.hr_by_need, WOMEN_NEEDS, "need(s)")
        return self


@section
class Women(Strict):
    """Women in contact with the criminal justice system: arrest to the end of licence (the women's pathway stages)."""

    arrests_per_year: Annotated[float, Field(gt=0.0, le=MAX_VOLUME, json_schema_extra=VOLUME)] = Field(
        description="women arrested a year for the first time in the model (further arrests of the same women come from reoffending)"
    )
    borough: dict[str, NonNeg] = Field(default_factory=dict, description="weights by borough (default: population.borough)")
    ethnicity: dict[str, NonNeg] = Field(default_factory=dict, description="weights by ethnic group (default: population.ethnicity)")
    needs: dict[str, Prob] = Field(description="prevalence of each need among women arrested: " + ", ".join(WOMEN_NEEDS))
    custody_suite: CustodySuite
    courts: WomensCourts
    probation: WomensProbation
    reoffending: Reoffending
    services: dict[str, WomensService] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _needs(self):
        check_keys("needs", self.needs, WOMEN_NEEDS, "need(s)")
        return self

if TYPE_CHECKING:  # the other stages' settings: resolved when they register (simcj.scenario.schema.complete)
    from .custody_suite import CustodySuite
    from .probation import WomensProbation
    from .womens_centres import WomensService
    from .womens_courts import WomensCourts

LOOKBACK_CAREERS = 3.0  # women first arrested up to three mean careers before the run


class _Career:
    """The shape :func:`simcj.engine.arrivals.recurrent_events` reads: a rate, a mean length, a spread."""

    def __init__(self, rate_per_year: float, years: float, cv: float):
        self.rate_per_year, self.course_years, self.rate_cv = rate_per_year, years, cv


def reoffending_cap(scenarios) -> float:
    """The highest hazard ratio in force at any time, over a scenario and its options, and over the
    range written for ``hr_supervised``: so that sensitivity and uncertainty runs, which move it
    within its range, draw the same candidate re-arrests as the scenario (common random numbers)."""
    caps = [1.0]
    for sc in scenarios:
        if sc.women is not None:
            caps.append(sc.women.reoffending.hr_supervised)
            source = sc.sources.get("women.reoffending.hr_supervised")
            if source is not None and source.high is not None:
                caps.append(float(source.high))
    return max(caps)


def generate(sc: Scenario, stages, streams: Streams, horizon: float, cap: float) -> Drawn:
    """Every arrest (first and candidate further ones) of the run, in arrest order, with the inputs
    the women's ``stages`` declare."""
    wo = sc.women
    rng = streams[f"{OFFENCE}/arrests"]
    lookback = LOOKBACK_CAREERS * wo.reoffending.career_years * DAYS_PER_YEAR
    t_first = np.sort(incident_times(rng, wo.arrests_per_year, 0.0, 0.0, -lookback, horizon))
    n_women = t_first.size

    def woman_u(column: str, k: int = 1) -> np.ndarray:
        u = streams[f"{OFFENCE}/woman_{column}"].random((n_women, k))
        return u if k > 1 else u[:, 0]

    needs = needs_mask(woman_u("needs", len(WOMEN_NEEDS)), wo.needs)
    need_hr = np.ones(n_women)
    for k, need in enumerate(WOMEN_NEEDS):
        need_hr *= np.where(needs & (1 << k), wo.reoffending.hr_by_need.get(need, 1.0), 1.0)
    boroughs = wo.borough or sc.population.borough
    ethnicity = wo.ethnicity or sc.population.ethnicity
    borough = categorical(woman_u("borough"), {b: boroughs.get(b, 0.0) for b in sc.population.borough})
    group = categorical(woman_u("ethnicity"), ethnicity)

    rp = wo.reoffending
    # Her needs scale her own rate: drawn as part of the candidates' rate, women by women.
    crng = streams[f"{OFFENCE}/career"]
    woman, t_candidate = [], []
    for scale in np.unique(need_hr):
        who = np.flatnonzero(need_hr == scale)
        v, t = recurrent_events(crng, t_first[who], _Career(rp.rate_per_year * scale, rp.career_years, rp.rate_cv), cap, horizon)
        woman.append(who[v])
        t_candidate.append(t)
    woman = np.concatenate([np.arange(n_women), *woman])
    t_arrest = np.concatenate([t_first, *t_candidate])
    rearrest = np.arange(woman.size) >= n_women  # a candidate further arrest, to be thinned at its time
    keep = (t_arrest >= 0.0) & (t_arrest < horizon)  # earlier arrests are history the warm-up replaces
    order = np.argsort(t_arrest[keep], kind="stable")
    woman, t_arrest, rearrest = woman[keep][order], t_arrest[keep][order], rearrest[keep][order]
    n = woman.size
    inputs = {"woman": typed(woman, "q"), "t_arrest": typed(t_arrest, "d"), "rearrest": typed(rearrest, "b"),
              "needs": typed(needs[woman], "q"), "borough_code": typed(borough[woman], "h")}
    for stage in stages:
        for name in stage.uniforms:
            inputs[name] = typed(streams.uniforms(f"{OFFENCE}/{name}", n), "d")
        for name in stage.keys:
            inputs[name] = typed(streams.keys(f"{OFFENCE}/{name}", n), "Q")
    attributes = {
        "borough": pd.Categorical.from_codes(borough[woman], list(sc.population.borough)),
        "ethnicity": pd.Categorical.from_codes(group[woman], list(ethnicity)),
    }
    return Drawn(inputs=inputs, attributes=attributes, core=dict(EXIT_COLUMNS))


@register
class Arrests(Stage):
    """The women's pathway's entry: each arrest goes on at its time, if it happens."""

    name = "arrests"
    table = "women"
    totals_offence = OFFENCE
    outcomes = ("arrested",)
    uses = ("womens_courts.sentence", "womens_courts.t_sentence", "probation.t_release", "womens_centres.t_service_start")  # proven reoffending, and by support
    uniforms = ("u_occurs",)
    columns = {"occurred": ("b", 0)}
    provides = ("in_prison", "supervised", "supported", "inside")  # what the other stages tell it, or ask
    fixed_at_date = (
        ('^women\\.(arrests_per_year|needs|borough|ethnicity)(\\.|$)', 'the women arrested and their needs are drawn before the run'),
        ('^women\\.reoffending\\.(rate_per_year|career_years|rate_cv|hr_by_need)(\\.|$)', "each woman's offending is drawn before the run"),
    )

    @classmethod
    def problems(cls, scenario) -> list[tuple[str, str]]:
        return unknown_boroughs("women.borough", scenario.women.borough, scenario) if scenario.women is not None else []

    @classmethod
    def draw(cls, scenario, stages, streams, horizon: float, options=()) -> Drawn:
        return generate(scenario, stages, streams, horizon, reoffending_cap((scenario, *options)))

    def __init__(self, world):
        super().__init__(world)
        self.cap = reoffending_cap((world.scenario, *world.options))
        self.women = world.women
        self._prison: dict[int, list[tuple[float, float]]] = {}  # woman -> [(from, until)] in prison
        self._supervised: dict[int, list[tuple[float, float]]] = {}  # woman -> [(from, until)] supervised
        self._supported: dict[int, list[float]] = {}  # woman -> starts of women's-service support
        self._spells: list[tuple[int, str, str, float, float]] = []  # (row, prison|supervised, why, from, until)
        self._tune()

    def _tune(self) -> None:
        rp = self.world.scenario.women.reoffending
        self.hr_supervised = rp.hr_supervised
        self.hr_supported = hr_from_pp(rp.centre_effect_pp, rp.comparison_rate_12m)
        self.effect_days = rp.effect_days

    def retune(self) -> None:
        self._tune()

    def bound(self) -> None:
        self._arrested = self.onward["arrested"]
        self._next = callbacks(lambda alarm: self._arrive(alarm.i))
        self._stock = {"prison": 0, "supervised": 0}
        self._leaves = callbacks(lambda alarm: self._stock.__setitem__(alarm.end, self._stock[alarm.end] - 1))

    def start(self) -> None:
        women = self.women
        if women.n:
            set_alarm(self.world.env, women.t_arrest[0] - self.world.env.now, self._next, 0)

    # ------------------------------------------------------------------ what other stages tell it

    def in_prison(self, i: int, start: float, until: float, why: str) -> None:
        """The woman of row ``i`` is in prison from now (``start``) until ``until`` (remand, sentence, recall)."""
        self._prison.setdefault(self.women.woman[i], []).append((start, until))
        self._spells.append((i, "prison", why, start, until))
        self._count("prison", until - start)

    def supervised(self, i: int, start: float, until: float, why: str) -> None:
        """Probation supervises the woman of row ``i`` from now (``start``) until ``until`` (an order, licence)."""
        self._supervised.setdefault(self.women.woman[i], []).append((start, until))
        self._spells.append((i, "supervised", why, start, until))
        self._count("supervised", until - start)

    def _count(self, stock: str, days: float) -> None:
        """The monitored stocks: one more woman now, one fewer ``days`` from now."""
        self._stock[stock] += 1
        set_alarm(self.world.env, days, self._leaves, 0, stock)

    def snapshot(self):
        return (("women_in_prison", self._stock["prison"]), ("women_supervised", self._stock["supervised"]))

    def supported(self, i: int, start: float) -> None:
        self._supported.setdefault(self.women.woman[i], []).append(start)

    def inside(self, woman: int, now: float) -> bool:
        """Is ``woman`` in prison at ``now`` (on remand, serving a sentence or recalled)?"""
        return any(a <= now < b for a, b in self._prison.get(woman, ()))

    def hazard_ratio(self, woman: int, now: float) -> float:
        """The product of the hazard ratios in force for ``woman`` at ``now``."""
        if self.inside(woman, now):
            return 0.0
        hr = 1.0
        if any(a <= now < b for a, b in self._supervised.get(woman, ())):
            hr *= self.hr_supervised
        if any(0.0 <= now - s <= self.effect_days for s in self._supported.get(woman, ())):
            hr *= self.hr_supported
        return hr

    # ------------------------------------------------------------------ arrivals

    def _arrive(self, k: int) -> None:
        """Send on every arrest due now, then wait for the next (a callback chain, no process)."""
        env, women = self.world.env, self.women
        t, n = women.t_arrest, women.n
        while k < n and t[k] <= env.now:
            i = k
            k += 1
            if women.rearrest[i] and not happens(self.hazard_ratio(women.woman[i], env.now), self.cap, women.u_occurs[i]):
                continue
            women.occurred[i] = 1
            women.log(env.now, i, "arrest", "re-arrest" if women.rearrest[i] else "first arrest in the model")
            self._arrested(i)
        if k < n:
            set_alarm(env, t[k] - env.now, self._next, k)

    def finish(self) -> dict:
        spells = pd.DataFrame(self._spells, columns=["row", "spell", "why", "start", "until"])
        return {"cases": frame(self.women), "events": self.women.event_frame(), "spells": spells}

    # ------------------------------------------------------------------ after the run

    @classmethod
    def catalogue(cls, scenario) -> list[Metric]:
        return [
            Metric("arrests", "Arrests of women a year", "a year", headline=10, funnel=10, short="Arrests"),
            Metric("rearrests", "Re-arrests of the same women a year", "a year", compare=120, key=20),
            Metric("reoffending_12m", "Proven reoffending within 12 months", "share", headline=100, compare=100),
            Metric("reoffenders_12m", "Women proven to reoffend within 12 months, a year", "a year", compare=110, key=10),
            Metric("reoffending_12m_supported", "Proven reoffending within 12 months, supported by a women's service", "share"),
            Metric("reoffending_12m_not_supported", "Proven reoffending within 12 months, not supported", "share"),
        ]

    @classmethod
    def kpis(cls, scenario, output, start: float, end: float) -> list[tuple]:
        frame = output.stage_data["arrests"]["cases"]
        years = (end - start) / DAYS_PER_YEAR
        rows = []
        arrested = in_window(frame, "t_arrest", start, end)
        for group, part in by_group(arrested):
            rows.append(("arrests", OFFENCE, len(part) / years, group))
            rows.append(("rearrests", OFFENCE, float(part["rearrest"].sum()) / years, group))
        # The cohort starts its 12 months in the measured period (after an option's date, its own) and
        # ends them, and the six months to prove an offence, inside the run: with less than 18 months
        # measured there is none, and the rate is NaN.
        first, last = reoffending_cohort(start, end)
        follow = proven_reoffending(frame, first, last)
        cohort_years = (last - first) / DAYS_PER_YEAR
        follow = follow.merge(frame[["row", "borough", "ethnicity", *need_columns(frame)]].assign(t_service_start=column(frame, "t_service_start", np.nan)), on="row")
        for group, part in by_group(follow):
            rows.append(("reoffending_12m", OFFENCE, share(part["reoffended"]), group))
            rows.append(("reoffenders_12m", OFFENCE, float(part["reoffended"].sum()) / cohort_years if cohort_years > 0 else float("nan"), group))
        supported = follow["t_service_start"].notna()
        rows.append(("reoffending_12m_supported", OFFENCE, share(follow.loc[supported, "reoffended"]), "all"))
        rows.append(("reoffending_12m_not_supported", OFFENCE, share(follow.loc[~supported, "reoffended"]), "all"))
        return rows

