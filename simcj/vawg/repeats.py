"""Repeat victimisation: a victim's further incidents, and what makes them less likely.

Domestic abuse is a course of conduct, not one incident. For an offence class with ``repeat:``,
each victim's course of abuse starts with her first reported incident and lasts a drawn length
(exponential, mean ``course_years``). While it lasts, further incidents are reported at a hazard
``rate_per_year x frailty x HR(t)`` (the frailty is the victim's own, see :func:`course_of_abuse`),
where ``HR(t)`` is the product of the hazard ratios in force at ``t``:

* her risk level as last assessed (``hr_by_risk``);
* what became of her latest recorded case: the suspect arrested (``hr_arrested``), the case charged
  and awaiting trial (``hr_charged``), a conviction (``hr_convicted``); while he serves a custodial
  sentence (the share served, ``costs.share_of_sentence_served``, else half) the hazard is 0;
* her IDVA support and a MARAC hearing, each for ``effect_days`` after it began;
* while her support is in effect, a further incident is also more (or less) likely to be reported
  (``rr_report_supported``): advocacy may lower abuse and raise its reporting at once (recorded
  repeats roughly doubled with an IDVA at a London SDA court, Ross, Sebire & Strang 2022), so the
  model keeps the two apart. ``repeat_abuse_incidents`` counts the further incidents as if each were
  reported at the unsupported rate (each recorded repeat weighted 1 / its reporting ratio): abuse
  apart from its reporting, in recorded-incident units;
* a perpetrator programme (the programme's ``hr_repeat``): from his completion, or from his start
  while he stays for a programme whose ``effect_from`` is ``start``.

The process is simulated by thinning (Lewis & Shedler 1979), so that every draw is made before the
run: for each victim, *candidate* incidents are drawn from a Poisson process at the highest rate
the hazard ratios allow (``rate x cap``), each a case row with all its inputs drawn like any other
case's; when a candidate's report time comes, it happens with probability ``HR(t) / cap`` (its own
uniform ``u_repeat``), and otherwise it is closed as ``NOT_OCCURRED`` and left out of every output.
This gives exactly the state-dependent hazard, and keeps common random numbers: a candidate has the
same draws in every option, and only whether it happens depends on what the option changed.

A repeat re-enters the pathway as a new case of the same victim (the ``victim`` column; the case's
``repeat_incident`` is 1), with her
history known: whether she withdrew from an earlier case (``hr_withdrawal_withdrew_before``), and
at MARAC whether she was heard in the last twelve months.

Victims whose first report came before the run (up to ``LOOKBACK_COURSES`` mean course lengths
earlier) have candidates in the run too, with no history: the warm-up lets their state fill in.
A victim another agency refers to MARAC (see :mod:`simcj.vawg.marac`) has her course from the
referral, drawn from its own stream; her further incidents are reported to the police like any
victim's, and her history is the third-party report if her disclosure was recorded.
"""

from __future__ import annotations

import math
from typing import Annotated

import numpy as np
import pandas as pd
from pydantic import Field, PositiveFloat, model_validator

from ..engine.arrivals import DAYS_PER_YEAR, happens
from ..engine.cases import Exit, Phase
from ..engine.metrics import Metric
from ..engine.stage import Stage, register
from ..scenario.schema import RISK_LEVELS, HazardRatio, Strict, check_keys, section

# --------------------------------------------------------------------------- settings (the scenario's section)


@section
class Repeat(Strict):
    """Further reported incidents against the same victim: domestic abuse is a course of conduct.

    While her course of abuse goes on (its length drawn for each victim, exponential with mean
    ``course_years``), further incidents are reported to the police at ``rate_per_year`` times the
    hazard ratios in force: what became of her latest case (the suspect arrested, the case charged
    and awaiting trial, a conviction; none at all while he is in custody), her IDVA support and a
    MARAC hearing (for ``effect_days`` after each began), and a perpetrator programme he completed
    (that programme's ``hr_repeat``). Whether arrest deters or provokes is disputed, so
    ``hr_arrested`` may be above 1.
    """

    rate_per_year: PositiveFloat = Field(description="further reported incidents a year while the abuse goes on, with nothing in force")
    course_years: PositiveFloat = Field(description="mean length of the course of abuse from the first report, years (exponential)")
    rate_cv: Annotated[float, Field(ge=0.0, le=5.0)] = Field(
        0.0, description="coefficient of variation of the rate between victims (gamma); 0: every victim's course has the same rate"
    )
    hr_by_risk: dict[str, HazardRatio] = Field(
        default_factory=dict, description="hazard ratio by the DASH risk level of her latest case (a level not listed: 1)"
    )
    hr_arrested: HazardRatio = Field(1.0, description="hazard ratio after her latest case's suspect was arrested")
    hr_charged: HazardRatio = Field(1.0, description="hazard ratio while her latest case is charged and awaiting trial (bail conditions, remand)")
    hr_convicted: HazardRatio = Field(1.0, description="hazard ratio after a non-custodial conviction (custody: no incident while he is inside)")
    hr_supported: HazardRatio = Field(1.0, description="hazard ratio of further abuse for effect_days after her IDVA support began")
    rr_report_supported: HazardRatio = Field(
        1.0, description="a further incident's chance of being reported to the police while her support is in effect, relative to unsupported"
    )
    hr_marac: HazardRatio = Field(1.0, description="hazard ratio for effect_days after her case was heard at MARAC")
    effect_days: PositiveFloat = Field(365.0, description="how long support and a MARAC hearing keep their effect, days")
    hr_withdrawal_withdrew_before: HazardRatio = Field(
        1.0, description="withdrawal hazard ratio of a new case when she withdrew from an earlier one (her history is known)"
    )

    @model_validator(mode="after")
    def _risk_levels(self):
        check_keys("hr_by_risk", self.hr_by_risk, RISK_LEVELS)
        return self

LOOKBACK_COURSES = 4.0  # victims whose first report came up to 4 mean course lengths before the run
YEAR = 365.0  # "in the previous 12 months", as the Met and SafeLives count repeats


def hazard_ratio_cap(repeats: list) -> float:
    """The largest value the product of hazard ratios can take, over the settings in ``repeats``
    (a class's ``repeat`` and the programmes' ``hr_repeat`` of a scenario and its options)."""
    cap = 1.0
    for rp, programme_hrs in repeats:
        criminal_justice = max(1.0, rp.hr_arrested, rp.hr_charged, rp.hr_convicted)
        risk = max([1.0, *rp.hr_by_risk.values()])
        support = max(1.0, rp.hr_supported) * max(1.0, rp.rr_report_supported)
        cap = max(cap, criminal_justice * risk * support * max(1.0, rp.hr_marac) * max([1.0, *programme_hrs]))
    return cap


def further_incident_value(costs, name: str, repeat: Repeat) -> float:
    """The social cost of one further incident of class ``name`` in the model's unit, GBP."""
    harm = costs.harm[name]
    return (harm.qalys * costs.qaly + harm.other) / repeat.rate_per_year


def custody_until(t_conviction: float, custody_years: float, share_served: float) -> float:
    """When a perpetrator sentenced at ``t_conviction`` is released (or ``t_conviction`` without custody)."""
    return t_conviction + custody_years * DAYS_PER_YEAR * share_served


@register
class Repeats(Stage):
    """Keeps each victim's recorded cases and decides, at its time, whether a candidate incident happens."""

    name = "repeats"
    entries = ("reporting.recorded", "marac.third_party_report")
    needs = ("reporting.recorded",)
    # What lowers or raises a victim's hazard of further abuse, from the stages that decide it.
    uses = ("police.arrested", "sentencing.custody_years", "support.t_support_start", "marac.t_marac", "programmes.programme",
            "programmes.programme_completed", "programmes.t_programme_start", "programmes.t_programme_end")
    provides = ("occurs",)
    fixed_at_date = (
        ('^offences\\.[^.]+\\.repeat(\\.(rate_per_year|course_years|rate_cv))?$', "each victim's course of abuse is drawn before the run"),
    )
    uniforms = ("u_repeat",)
    columns = {
        "t_previous_report": ("d", math.nan),  # her previous recorded case's report time
        "t_next_report": ("d", math.nan),  # her next recorded case's report time
        "priors_12m": ("h", 0),  # her recorded cases in the 12 months before this one
        "report_ratio": ("f", 1.0),  # a repeat's chance of being reported relative to unsupported (rr_report_supported)
    }

    @classmethod
    def problems(cls, scenario) -> list[tuple[str, str]]:
        """Harm values are for classes that have further incidents."""
        if scenario.costs is None:
            return []
        return [(f"costs.harm.{name}", f"'{name}' has no repeat: settings, so it has no further incidents to value")
                for name in scenario.costs.harm if name not in scenario.offences or scenario.offences[name].repeat is None]

    def __init__(self, world):
        super().__init__(world)
        self._cases: dict[int, list[int]] = {}  # victim -> her recorded cases, in report order
        self._tune()

    def _tune(self) -> None:
        sc = self.world.scenario
        self._programme_hr = {n: p.hr_repeat for n, p in sc.programmes.items()}
        self._effect_from_start = {n: p.effect_from == "start" for n, p in sc.programmes.items()}
        self._share_served = sc.costs.share_of_sentence_served if sc.costs is not None else 0.5
        self.cap = self.world.incidents.repeat_cap

    def retune(self) -> None:
        self._tune()

    def bound(self) -> None:
        self._has = {ref.partition(".")[2]: self.column(ref) is not None for ref in self.uses}
        # Other stages' effects on her hazard (a refuge while she is there), each at most 1.
        self._factors = [s.repeat_hazard_ratio for s in self.world.stages.values() if type(s).repeat_hazard_ratio is not Stage.repeat_hazard_ratio]

    def take(self, i: int) -> None:
        """A recorded case: link it to her earlier ones and bring her history to it."""
        w = self.world
        rp = w.offence(i).repeat
        if rp is None:  # one case a victim: nothing to link, nothing to keep
            return
        c, now = w.cases, w.env.now
        history = self._cases.setdefault(c.victim[i], [])
        if history:
            c.t_previous_report[i] = c.t_report[history[-1]]
            c.t_next_report[history[-1]] = c.t_report[i]
            c.priors_12m[i] = sum(1 for j in history if c.t_report[i] - c.t_report[j] <= YEAR)
            withdrew = any(c.exit[j] in (Exit.WITHDREW_PRE_CHARGE, Exit.RETRACTION_POST_CHARGE) for j in history)
            if withdrew:
                w.clock.scale_hazard(i, now, rp.hr_withdrawal_withdrew_before)
        history.append(i)

    def occurs(self, i: int, now: float) -> bool:
        """Does candidate incident ``i`` happen and reach the police (its report time has come)?"""
        hr, rr = self.hazard_ratio(i, now)
        if happens(hr * rr, self.cap, self.world.cases.u_repeat[i]):
            self.world.cases.report_ratio[i] = rr
            return True
        return False

    def hazard_ratio(self, i: int, now: float) -> tuple[float, float]:
        """The product of the hazard ratios of further abuse in force at ``now`` for the victim of
        candidate ``i``, and the ratio of its chance of being reported."""
        w = self.world
        c, rp, has = w.cases, w.offence(i).repeat, self._has
        history = self._cases.get(c.victim[i], ())
        if not history:
            return 1.0, 1.0
        if has["custody_years"]:
            for j in history:
                if c.exit[j] == Exit.CONVICTED and c.custody_years[j] > 0.0 and custody_until(c.t_exit[j], c.custody_years[j], self._share_served) > now:
                    return 0.0, 1.0
        latest = history[-1]
        hr = rp.hr_by_risk.get(c.risk[latest], 1.0)
        if c.exit[latest] == Exit.CONVICTED:
            hr *= rp.hr_convicted
        elif c.phase[latest] == Phase.CHARGED:
            hr *= rp.hr_charged
        elif has["arrested"] and c.arrested[latest]:
            hr *= rp.hr_arrested
        rr = 1.0
        if has["t_support_start"] and any(0.0 <= now - c.t_support_start[j] <= rp.effect_days for j in history):
            hr *= rp.hr_supported
            rr = rp.rr_report_supported
        if has["t_marac"] and any(0.0 <= now - c.t_marac[j] <= rp.effect_days for j in history):
            hr *= rp.hr_marac
        if has["programme_completed"]:
            working = [self._programme_hr[c.programme[j]] for j in history if c.programme[j] in self._programme_hr and self._programme_works(j, now)]
            if working:
                hr *= min(working)
        for factor in self._factors:
            hr *= factor(c.victim[i], now)
        return hr, rr

    def _programme_works(self, j: int, now: float) -> bool:
        """Is the programme case ``j``'s perpetrator was referred to in effect at ``now``? From his
        completion, or (``effect_from: start``) from his start unless he has dropped out."""
        c = self.world.cases
        if c.programme_completed[j] and c.t_programme_end[j] <= now:
            return True
        started, ended = c.t_programme_start[j], c.t_programme_end[j]
        return self._effect_from_start[c.programme[j]] and started <= now and not (ended <= now)

    # ------------------------------------------------------------------ after the run

    lookback_days = YEAR  # victims_safe_12m follows cases reported up to a year before the window
    case_metrics = {
        "repeat_incidents": "repeat_any",
        "repeat_victim_share": ("repeat_12m", "recorded_repeat_class"),
        "repeat_victims_one_prior_share": ("one_prior_12m", "repeat_12m"),
        "victims_safe_12m": ("safe_12m", "followed_12m"),
    }

    @classmethod
    def catalogue(cls, scenario) -> list[Metric]:
        return [
            Metric("repeat_incidents", "Repeat incidents a year (a further recorded incident against the same victim)", "a year", headline=190, compare=3),
            Metric("repeat_abuse_incidents", "Further abuse a year, reported or not (recorded repeats at the unsupported reporting rate)", "a year",
                   headline=195, compare=2),
            Metric("victims_safe_12m", "Victims with no further recorded incident within 12 months", "share", headline=200, compare=4),
            Metric("repeat_victim_share", "Recorded crimes whose victim had another in the 12 months before", "share"),
            *([Metric("cost_harm_further_abuse", "Social cost of the further abuse a year, £ (Home Office unit values)", "£ a year")]
              if scenario.costs is not None and scenario.costs.harm else []),
        ]

    @classmethod
    def kpis(cls, scenario, output, start: float, end: float) -> list[tuple[str, str, float]]:
        """Further abuse apart from its reporting: the recorded repeats of the window, each weighted by
        1 / its reporting ratio (what would have been recorded at the unsupported reporting rate)."""
        cases, years = output.cases, (end - start) / DAYS_PER_YEAR
        classes = [name for name, oc in scenario.offences.items() if oc.repeat is not None]
        t = cases["t_report"]
        inside = (t >= start) & (t < end) & (cases["repeat_incident"] == 1) & (cases["exit"] != Exit.NOT_RECORDED) & cases["offence"].isin(classes)
        weight = 1.0 / cases["report_ratio"].astype(float)
        rows = [("repeat_abuse_incidents", name, float(weight[inside & (cases["offence"] == name)].sum()) / years) for name in classes]
        return [*rows, ("repeat_abuse_incidents", "all", float(weight[inside].sum()) / years)]

    @classmethod
    def costs(cls, scenario, get) -> dict[str, tuple[str, float]]:
        """The social cost of the further abuse that happens, at the classes' harm values (none if no
        class has one): a further incident in the model's unit is 1 / ``rate_per_year`` of a victim's
        year of abuse, which costs its QALYs at the QALY's value and the rest."""
        uc = scenario.costs
        if not uc.harm:
            return {}
        cost = sum(get("repeat_abuse_incidents", name) * further_incident_value(uc, name, scenario.offences[name].repeat) for name in uc.harm)
        return {"cost_harm_further_abuse": ("harm", cost)}

    @classmethod
    def indicators(cls, scenario, cases: pd.DataFrame, start: float, end: float) -> dict[str, np.ndarray]:
        """Repeats among the recorded cases of classes with ``repeat:``: in the measured window, a case
        whose victim had another recorded case in the 12 months before (the Met's repeat victim); and
        over the cases recorded in the year before the window's last 12 months, those with no further
        recorded case within 12 months (followed up inside the run): each victim once, from her first
        recorded case in that year, as the published follow-ups count victims or couples (Barnham,
        Barnes & Sherman 2017; Bland & Ariel 2015), not cases (a case-weighted share counts the most
        abused victims many times and is about 1 - repeat_victim_share)."""
        classes = [name for name, oc in scenario.offences.items() if oc.repeat is not None]
        recorded = cases["offence"].isin(classes).to_numpy() & (cases["exit"] != Exit.NOT_RECORDED).to_numpy()
        t = cases["t_report"].to_numpy()
        since_previous = t - cases["t_previous_report"].to_numpy()
        until_next = cases["t_next_report"].to_numpy() - t
        inside = recorded & (t >= start) & (t < end)
        repeat_12m = inside & (since_previous <= YEAR)
        in_year = np.flatnonzero(recorded & (t >= start - YEAR) & (t < end - YEAR))
        victim = cases["victim"].to_numpy()[in_year]
        order = np.lexsort((t[in_year], victim))  # by victim, then report time
        first = np.ones(order.size, dtype=bool)
        first[1:] = victim[order][1:] != victim[order][:-1]
        followed = np.zeros(len(cases), dtype=bool)
        followed[in_year[order[first]]] = True
        return {
            "recorded_repeat_class": inside,
            "repeat_any": inside & (cases["repeat_incident"].to_numpy() == 1),
            "repeat_12m": repeat_12m,
            "one_prior_12m": repeat_12m & (cases["priors_12m"].to_numpy() == 1),
            "followed_12m": followed,
            "safe_12m": followed & ~(until_next <= YEAR),
        }
