"""MARAC: multi-agency risk assessment conferences, one for each borough.

A victim of a class under ``marac.offences`` is referred when her crime is recorded, by her DASH
risk level (``marac.p_referral``), or, whatever her risk, when she was heard in the last
``repeat_window_days`` (``p_referral_repeat``: "a repeat referral can be made regardless of whether or
not the behaviour experienced by the victim meets the local referral threshold", seed
004_c7bcb4ccab41a7bc.txt L1787). Each borough's MARAC meets ``meetings_per_year`` times, the
boroughs' meetings spread through the cycle, and hears at most ``cases_per_meeting`` referrals
(for a borough of average volume; each is sized to its share of ``population.borough``), oldest first; the others wait for the next meeting. A victim already waiting is not referred twice.

Other agencies refer victims too (IDVAs, health, children's services): those whose abuse the police
have no record of arrive from reporting (``agency_referral``) at ``agency_referrals_per_year``,
high-risk victims with no crime recorded (no report time) and no withdrawal clock. When one is
heard, first the agencies' disclosures may lead the police to record the crime as a third-party report under the Home Office
Counting Rules (``p_third_party_report``, its own uniform ``u_third_party``; seed
002_492c289866f80aaa.txt L411-421): the case is then recorded at the hearing and sent to the police
(``third_party_report``), its victim's clock starting from the record with her hazard times
``hr_withdrawal_third_party`` (she did not report it). Otherwise it closes as ``NOT_REPORTED``
with no report time: the victim was heard and may be supported, but no crime was recorded. Then
the meeting acts on the case like any other (``heard``).

At the hearing the case is a repeat if she was heard within the window (SafeLives' definition).
What the meeting does is sent on as ``heard``: an IDVA for a victim who has none (the advocacy
stage, ``p_idva_allocation``), a referral of a high-harm perpetrator to a programme that takes
MARAC referrals (the programmes stage); and from the hearing her hazard of further incidents is
multiplied by ``repeat.hr_marac`` (the repeats stage reads ``t_marac``).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Annotated

import numpy as np
import pandas as pd
from pydantic import Field, PositiveFloat, model_validator

from ..engine.arrivals import DAYS_PER_YEAR
from ..engine.cases import Exit, Phase
from ..engine.metrics import Metric, yearly
from ..engine.stage import Stage, register, stocks
from ..scenario.schema import CAPACITY, MAX_CAPACITY, MAX_VOLUME, RISK_LEVELS, VOLUME, HazardRatio, Prob, Strict, check_keys, section, unknown_offences

# --------------------------------------------------------------------------- settings (the scenario's section)


@section
class Marac(Strict):
    """Multi-agency risk assessment conferences: one per borough, meeting at a set frequency and
    hearing at most ``cases_per_meeting`` cases each time (the rest wait for the next meeting)."""

    offences: list[str] = Field(min_length=1, description="offence classes whose victims are referred (names under offences:)")
    meetings_per_year: Annotated[float, Field(gt=0.0, le=365.0)] = Field(description="meetings of each borough's MARAC a year")
    cases_per_meeting: Annotated[float, Field(gt=0.0, le=MAX_CAPACITY, json_schema_extra=CAPACITY)] = Field(
        description="cases a meeting of a borough of average volume can hear; each borough's is sized to its share of population.borough"
    )
    p_referral: dict[str, Prob] = Field(description="referral at report by DASH risk level, or under the key 'all'")
    p_referral_repeat: Prob = Field(1.0, description="referral of a victim heard in the last repeat_window_days, whatever her risk level")
    repeat_window_days: PositiveFloat = Field(365.0, description="a case heard within this many days of her last hearing is a repeat (SafeLives: 12 months)")
    p_idva_allocation: Prob = Field(0.0, description="MARAC action: an IDVA for a victim not yet referred to one")
    agency_referrals_per_year: dict[str, Annotated[float, Field(ge=0.0, le=MAX_VOLUME)]] = Field(
        default_factory=dict,
        json_schema_extra=VOLUME,
        description="by offence class: victims a year referred by agencies other than the police (IDVA, health, children's "
        "services) whose abuse the police have no record of",
    )
    p_third_party_report: Prob = Field(
        0.0, description="an agency-referred case whose disclosure at the hearing the police record as a crime (a third-party report)"
    )
    hr_withdrawal_third_party: HazardRatio = Field(
        1.0, description="hazard ratio of withdrawal for a victim whose crime was recorded from a third-party report (she did not report it)"
    )

    @model_validator(mode="after")
    def _keys(self):
        check_keys("p_referral", self.p_referral, ("all", *RISK_LEVELS), "key(s)")
        return self


def referral_probability(p: Marac, risk: str) -> float:
    """Referral probability at report for DASH risk ``risk`` ('' when not risk-assessed)."""
    return p.p_referral.get(risk, p.p_referral.get("all", 0.0))


def is_referred(p: Marac, risk: str, heard_recently: bool, u: float) -> bool:
    """Referred to MARAC: as a repeat within the window, or by risk level (the likelier applies)."""
    return u < max(p.p_referral_repeat if heard_recently else 0.0, referral_probability(p, risk))


def is_third_party_report(p: Marac, u: float) -> bool:
    """Do the disclosures at the hearing of an agency's referral lead the police to record a crime?"""
    return u < p.p_third_party_report


def cases_heard(capacity: float, meeting: int) -> int:
    """Cases meeting number ``meeting`` can hear: a fractional capacity is met on average over
    meetings (2.5 a meeting: 2, 3, 2, 3, ...)."""
    return math.floor(capacity * (meeting + 1)) - math.floor(capacity * meeting)


@register
class Maracs(Stage):
    """One MARAC for each borough: referrals wait for the next meeting with room."""

    name = "marac"
    entries = ("reporting.recorded", "reporting.agency_referral")
    needs = ("reporting.recorded",)
    fixed_at_date = (
        ('^marac\\.agency_referrals_per_year(\\.|$)', 'the victims other agencies refer to MARAC are drawn before the run'),
    )
    outcomes = ("heard", "third_party_report")
    uniforms = ("u_marac", "u_third_party")
    columns = {
        "t_marac_referral": ("d", math.nan),
        "t_marac": ("d", math.nan),
        "marac_repeat": ("?", 0),
        "third_party_report": ("?", 0),
    }


    @classmethod
    def problems(cls, scenario) -> list[tuple[str, str]]:
        m = scenario.marac
        if m is None:
            return []
        return unknown_offences("marac.offences", m.offences, scenario) + [
            (f"marac.agency_referrals_per_year.{name}", f"'{name}' is not one of marac.offences ({m.offences})")
            for name in m.agency_referrals_per_year if name not in m.offences
        ]

    def __init__(self, world):
        super().__init__(world)
        self.boroughs = list(world.scenario.population.borough)
        self._waiting = [deque() for _ in self.boroughs]
        self._waiting_victims: set[int] = set()
        self._last_heard: dict[int, float] = {}
        self._meetings = [0] * len(self.boroughs)
        self._held = 0
        self._tune()

    def _tune(self) -> None:
        sc = self.world.scenario
        self.params = sc.marac
        classes = set(sc.marac.offences) if sc.marac is not None else set()
        self._refers = [name in classes for name in sc.offences]
        weights = np.array(list(sc.population.borough.values()), dtype=float)
        size = weights / weights.mean()  # each borough's MARAC is sized to its share of the volume
        self._capacity = (size * sc.marac.cases_per_meeting).tolist() if sc.marac is not None else []

    def retune(self) -> None:
        """The option's MARACs: referral rules now, the new frequency from each borough's next meeting
        (MARACs an option sets up where there were none start meeting now; where an option ends
        them, the referrals waiting are never heard, and an agency's closes with no crime recorded)."""
        meeting = self.params is not None
        self._tune()
        if not meeting:
            self.start()
        elif self.params is None:
            c = self.world.cases
            for i in [i for q in self._waiting for i in q if c.agency_referral[i]]:
                self._not_reported(i)
            self.clear()

    def handler(self, entry: str):
        return {"reporting.recorded": self.take, "reporting.agency_referral": self.take_agency}[entry]

    def bound(self) -> None:
        self._heard = self.onward["heard"]
        self._third_party = self.onward["third_party_report"]

    def start(self) -> None:
        if self.params is None:
            return
        interval = DAYS_PER_YEAR / self.params.meetings_per_year
        for b in range(len(self.boroughs)):
            self.world.env.timeout(interval * (b + 1) / len(self.boroughs)).callbacks.append(lambda _e, b=b: self._meet(b))

    def take(self, i: int) -> None:
        """A recorded crime: refer the victim if her risk, or a hearing in the last year, calls for it."""
        w = self.world
        c, p, now = w.cases, self.params, w.env.now
        if p is None or not self._refers[c.cls[i]]:
            return
        v = c.victim[i]
        if v in self._waiting_victims:
            return
        heard_recently = now - self._last_heard.get(v, -math.inf) <= p.repeat_window_days
        if is_referred(p, c.risk[i], heard_recently, c.u_marac[i]):
            c.t_marac_referral[i] = now
            self._waiting[c.borough_code[i]].append(i)
            self._waiting_victims.add(v)

    def take_agency(self, i: int) -> None:
        """Another agency refers a high-risk victim the police do not know of (no MARACs: no crime is
        recorded, the case closes)."""
        w = self.world
        c, now = w.cases, w.env.now
        c.t_report[i] = math.nan  # not reported to the police (unless recorded at the hearing)
        if self.params is None or not self._refers[c.cls[i]]:
            self._not_reported(i)
            return
        c.t_marac_referral[i] = now
        c.phase[i] = int(Phase.AT_MARAC)
        self._waiting[c.borough_code[i]].append(i)
        self._waiting_victims.add(c.victim[i])

    def _disclosed(self, i: int) -> None:
        """An agency's referral has been heard: the police record the crime (a third-party report, sent
        to the police now) or no crime is recorded."""
        w = self.world
        c, p, now = w.cases, self.params, w.env.now
        if not is_third_party_report(p, c.u_third_party[i]):
            self._not_reported(i)
            return
        c.third_party_report[i] = 1
        c.t_report[i] = now
        c.phase[i] = int(Phase.PRE_CHARGE)
        w.clock.restart(i, c.e_withdraw[i], p.hr_withdrawal_third_party)
        self._third_party(i)

    def _not_reported(self, i: int) -> None:
        self.world.cases.close(i, Exit.NOT_REPORTED, self.world.env.now)

    def _meet(self, b: int) -> None:
        """Borough ``b``'s MARAC meets: it hears the oldest referrals it has room for."""
        w = self.world
        c, p, now = w.cases, self.params, w.env.now
        if p is None:  # an option without MARACs: they stop meeting
            return
        waiting = self._waiting[b]
        for _ in range(min(len(waiting), cases_heard(self._capacity[b], self._meetings[b]))):
            i = waiting.popleft()
            v = c.victim[i]
            self._waiting_victims.discard(v)
            c.t_marac[i] = now
            c.marac_repeat[i] = int(now - self._last_heard.get(v, -math.inf) <= p.repeat_window_days)
            self._last_heard[v] = now
            if c.agency_referral[i]:  # recorded or not before the meeting's actions (an IDVA) begin
                self._disclosed(i)
            self._heard(i)
        self._meetings[b] += 1
        self._held += 1
        w.env.timeout(DAYS_PER_YEAR / p.meetings_per_year).callbacks.append(lambda _e: self._meet(b))

    def snapshot(self):
        if self.params is not None:
            yield ("marac_waiting", float(sum(len(q) for q in self._waiting)))

    def clear(self) -> None:
        for q in self._waiting:
            q.clear()
        self._waiting_victims.clear()

    # ------------------------------------------------------------------ after the run

    case_metrics = {
        "marac_cases": "marac_heard",
        "marac_repeat_rate": ("marac_repeat_heard", "marac_heard"),
        "marac_cases_agency_referred": "marac_agency_heard",
        "marac_share_agency_referred": ("marac_agency_heard", "marac_heard"),
        "third_party_reports": "third_party_recorded",
        "rate_third_party_report": ("third_party_heard", "marac_agency_heard"),
    }

    @classmethod
    def indicators(cls, scenario, cases: pd.DataFrame, start: float, end: float) -> dict[str, np.ndarray]:
        """Cases heard in the window (a repeat; an agency's referral without a police record, and
        whether its hearing led to a crime record), and third-party reports recorded in it."""
        t = cases["t_marac"].to_numpy()
        heard = (t >= start) & (t < end)
        agency = heard & cases["agency_referral"].to_numpy().astype(bool)
        third_party = cases["third_party_report"].to_numpy().astype(bool)
        t_report = cases["t_report"].to_numpy()
        return {
            "marac_heard": heard,
            "marac_repeat_heard": heard & cases["marac_repeat"].to_numpy(),
            "marac_agency_heard": agency,
            "third_party_heard": agency & third_party,
            "third_party_recorded": third_party & (t_report >= start) & (t_report < end),
        }

    @classmethod
    def catalogue(cls, scenario) -> list[Metric]:
        return [
            Metric("marac_cases", "MARAC cases heard a year", "a year", headline=210),
            Metric("marac_repeat_rate", "MARAC repeat rate", "share", headline=220),
            Metric("third_party_reports", "Third-party reports recorded from MARAC disclosures a year", "a year"),
            Metric("marac_cases_per_10k_women", "MARAC cases per 10,000 women", "per 10,000 women"),
            Metric("marac_wait_days_mean", "Mean wait for a MARAC hearing, days", "mean days"),
            Metric("marac_waiting", "Victims waiting for a MARAC hearing (stock)", "stock"),
            *yearly("marac_waiting_at_year", "Victims waiting for a MARAC hearing (stock)", "stock", range(1, int(scenario.run.years + 1e-9) + 1)),
            Metric("cost_marac", "MARACs' cost a year, £", "£ a year"),
        ]

    @classmethod
    def kpis(cls, scenario, output, start: float, end: float):
        """MARAC cases a year per 10,000 women aged 16 and over (SafeLives recommends 40), for London
        and by borough; the wait from referral to hearing."""
        cases, years = output.cases, (end - start) / DAYS_PER_YEAR
        heard = (cases["t_marac"] >= start) & (cases["t_marac"] < end)
        women = scenario.population.adult_women
        rows = []
        if women:
            rows.append(("marac_cases_per_10k_women", "all", float(heard.sum()) / years / sum(women.values()) * 1e4))
            by_borough = cases.loc[heard, "borough"].value_counts()
            for borough, n in women.items():
                if n > 0:
                    rows.append(("marac_cases_per_10k_women", "all", float(by_borough.get(borough, 0)) / years / n * 1e4, f"borough={borough}"))
        waits = (cases["t_marac"] - cases["t_marac_referral"])[heard]
        rows.append(("marac_wait_days_mean", "all", float(waits.mean()) if len(waits) else np.nan))
        return rows + stocks(output.timeseries, ["marac_waiting"], start, end)

    @classmethod
    def costs(cls, scenario, get) -> dict[str, tuple[str, float]]:
        """Every borough's meetings a year at the cost of a meeting (delivery)."""
        if scenario.marac is None:
            return {"cost_marac": ("delivery", 0.0)}
        meetings = scenario.marac.meetings_per_year * len(scenario.population.borough)
        return {"cost_marac": ("delivery", meetings * scenario.costs.marac_meeting)}
