"""Refuges: safe accommodation for women escaping domestic abuse, with bed spaces that run out.

A victim of a class under ``refuges.offences`` is referred when her crime is recorded, with a
probability by her DASH risk level (``p_referral``). A referral may end without a place for a reason
other than space (``p_declined``: she declines the place, or it is not suitable). Otherwise she
waits for a bed space, shared with women referred from elsewhere (``other_referrals_per_year``,
who have no police-recorded crime in the model); a referral with no space within
``max_wait_days`` is refused for lack of space. She stays for a drawn length (``stay``).

From her entry her withdrawal hazard is multiplied by ``hr_withdrawal`` (at most 1: the direction
of the effect is disputed, and a raised hazard cannot be represented; 1 is no effect), and while
she is there her hazard of further abuse by ``hr_repeat`` (see :meth:`RefugesStage.repeat_hazard_ratio`).
A victim already in refuge is not referred again.
"""

from __future__ import annotations

import math
from typing import Annotated

import numpy as np
from pydantic import Field, PositiveFloat, model_validator

from ..engine.alarms import callbacks, set_alarm
from ..engine.cases import Exit, within
from ..engine.metrics import Metric, yearly
from ..engine.places import Places, draw_outside, utilisation
from ..engine.stage import Stage, register, stocks
from ..scenario.distributions import Duration
from ..scenario.schema import CAPACITY, MAX_CAPACITY, MAX_VOLUME, RISK_LEVELS, VOLUME, NonNeg, Prob, Strict, check_keys, section, unknown_offences

# --------------------------------------------------------------------------- settings (the scenario's section)


@section
class Refuges(Strict):
    """Refuges: safe accommodation for women escaping domestic abuse (and their children), with bed
    spaces that run out. Victims of ``offences`` are referred when their crime is recorded, by their
    DASH risk level; women referred from elsewhere share the spaces."""

    offences: list[str] = Field(description="offence classes whose victims are referred")
    bed_spaces: Annotated[float, Field(gt=0.0, le=MAX_CAPACITY, json_schema_extra=CAPACITY)] = Field(description="family places (one woman and her children)")
    p_referral: dict[str, Prob] = Field(description="probability a victim is referred at her recorded crime, by DASH risk level (a level not listed: 0)")
    p_declined: Prob = Field(description="a referral that ends without a place for a reason other than space (she declines it, or it is not suitable)")
    max_wait_days: PositiveFloat = Field(description="a referral with no space within this many days is refused for lack of space")
    stay: Duration = Field(description="length of stay in refuge, days")
    other_referrals_per_year: Annotated[float, Field(ge=0.0, le=MAX_VOLUME, json_schema_extra=VOLUME)] = Field(
        0.0, description="women referred from elsewhere (no police-recorded crime in the model: helpline, housing, self) who want a place"
    )
    hr_withdrawal: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        description="hazard ratio of withdrawal from her entry to refuge; at most 1 (as for support: the police and CPS stages "
        "sleep until the earlier of their work's end and the withdrawal time, which a later effect can only postpone)"
    )
    hr_repeat: Annotated[float, Field(gt=0.0, le=1.0)] = Field(description="hazard ratio of further abuse while she is in refuge")
    cost_per_space_year: NonNeg = Field(description="cost of a bed space for a year, £ (support and housing)")

    @model_validator(mode="after")
    def _risk_levels(self):
        check_keys("p_referral", self.p_referral, RISK_LEVELS)
        return self


def is_referred(p_referral: dict[str, float], risk: str, u: float) -> bool:
    """Is a victim at DASH risk level ``risk`` referred to a refuge (a level not listed: never)?"""
    return u < p_referral.get(risk, 0.0)


@register
class RefugesStage(Stage):
    """Bed spaces in refuges for victims referred at their recorded crime and women referred from elsewhere."""

    name = "refuges"
    entries = ("reporting.recorded",)
    needs = ("reporting.recorded",)
    fixed_at_date = (
        ('^refuges\\.other_referrals_per_year$', 'referrals from outside the pathway are drawn when the service opens'),
        ('^refuges\\.stay(\\.|$)', "each victim's length of stay is drawn before the run"),
    )
    uniforms = ("u_refuge_referral", "u_refuge_declines")
    durations = {"d_refuge_stay": lambda sc, oc: sc.refuges.stay if sc.refuges is not None else None}
    columns = {
        "refuge_outcome": (None, ""),  # declined, admitted or no_space ("" while waiting, or never referred)
        "t_refuge_referral": ("d", math.nan),
        "t_refuge_start": ("d", math.nan),
        "t_refuge_end": ("d", math.nan),
        "t_refuge_refused": ("d", math.nan),
    }

    def __init__(self, world):
        super().__init__(world)
        p = world.scenario.refuges
        self.places = Places(world.env, "refuge", p.bed_spaces, p.max_wait_days, on_lapse=self._refused)
        self._leaves = callbacks(lambda alarm: self._leave(alarm.i))
        self._until: dict[int, float] = {}  # victim -> when her stay ends, while she is in refuge
        self._tune()

    def _tune(self) -> None:
        p = self.world.scenario.refuges
        names = list(self.world.scenario.offences)
        self._classes = {names.index(o) for o in p.offences}
        self.p = p

    def retune(self) -> None:
        """The option's bed spaces from now (nobody's stay is cut short) and its referral settings."""
        self._tune()
        self.places.resize(self.p.bed_spaces)
        self.places.max_wait_days = self.p.max_wait_days

    def start(self) -> None:
        w = self.world
        self.places.begin_outside(*draw_outside(w.streams["refuges/other_referrals"], self.p.other_referrals_per_year, self.p.stay, w.env.now, w.horizon))

    def take(self, i: int) -> None:
        c, now = self.world.cases, self.world.env.now
        if c.cls[i] not in self._classes or self._until.get(c.victim[i], -1.0) > now:
            return
        if not is_referred(self.p.p_referral, c.risk[i], c.u_refuge_referral[i]):
            return
        c.t_refuge_referral[i] = now
        if c.u_refuge_declines[i] < self.p.p_declined:
            c.refuge_outcome[i] = "declined"
            return
        self.places.refer(i, self._enter)

    def _refused(self, i: int, when: float) -> None:
        c = self.world.cases
        c.refuge_outcome[i] = "no_space"
        c.t_refuge_refused[i] = when

    def _enter(self, i: int) -> None:
        w = self.world
        c, now = w.cases, w.env.now
        c.refuge_outcome[i] = "admitted"
        c.t_refuge_start[i] = now
        if c.exit[i] == Exit.OPEN:
            w.clock.scale_hazard(i, now, self.p.hr_withdrawal)
        stay = c.d_refuge_stay[i]
        self._until[c.victim[i]] = now + stay
        set_alarm(w.env, stay, self._leaves, i)

    def _leave(self, i: int) -> None:
        c = self.world.cases
        c.t_refuge_end[i] = self.world.env.now
        self._until.pop(c.victim[i], None)
        self.places.leave()

    def repeat_hazard_ratio(self, victim: int, now: float) -> float:
        return self.p.hr_repeat if self._until.get(victim, -1.0) > now else 1.0

    def snapshot(self):
        return self.places.snapshot("refuge")

    def finish(self) -> dict:
        return self.places.finish()

    def clear(self) -> None:
        self.places.clear()

    # ------------------------------------------------------------------ analysis

    @classmethod
    def problems(cls, scenario) -> list[tuple[str, str]]:
        p = scenario.refuges
        if p is None:
            return [("refuges", "the pathway has the refuges stage, which needs a refuges: section")]
        return unknown_offences("refuges.offences", p.offences, scenario)

    case_metrics = {
        "refuge_referrals": "refuge_referred",
        "refuge_admissions": "refuge_admitted",
        "refuge_declined": "refuge_declined",
        "refuge_refused_no_space": "refuge_no_space",
        "share_refuge_referrals_refused_no_space": ("refuge_no_space", "refuge_referred"),
    }
    case_durations = {"days_refuge_wait": "d_refuge_wait"}

    @classmethod
    def indicators(cls, scenario, cases, start: float, end: float) -> dict[str, object]:
        """Referrals, admissions and refusals in the window, and the wait for a space."""
        begun = cases["t_refuge_start"]
        admitted = within(begun, start, end)
        return {
            "refuge_referred": within(cases["t_refuge_referral"], start, end).to_numpy(),
            "refuge_admitted": admitted.to_numpy(),
            "refuge_declined": (within(cases["t_refuge_referral"], start, end) & (cases["refuge_outcome"] == "declined")).to_numpy(),
            "refuge_no_space": within(cases["t_refuge_refused"], start, end).to_numpy(),
            "d_refuge_wait": np.where(admitted, begun - cases["t_refuge_referral"], np.nan),
        }

    @classmethod
    def catalogue(cls, scenario) -> list[Metric]:
        return [
            Metric("refuge_admissions", "Victims admitted to refuge a year", "a year", headline=170),
            Metric("share_refuge_referrals_refused_no_space", "Refuge referrals refused for lack of space", "share", headline=180),
            Metric("refuge_utilisation", "Refuge bed spaces' utilisation", "share"),
            Metric("refuge_other_admissions", "Women referred from elsewhere admitted to refuge a year", "a year"),
            Metric("refuge_other_refused_no_space", "Women referred from elsewhere refused for lack of space a year", "a year"),
            Metric("refuge_waiting", "Referrals waiting for a refuge space (stock)", "stock"),
            *yearly("refuge_waiting_at_year", "Referrals waiting for a refuge space (stock)", "stock", range(1, int(scenario.run.years + 1e-9) + 1)),
            Metric("cost_refuges", "Refuge bed spaces' cost a year, £", "£ a year"),
        ]

    @classmethod
    def kpis(cls, scenario, output, start: float, end: float) -> list[tuple[str, str, float]]:
        """The bed spaces' use (the victims' stays and the women's from elsewhere), and the women from
        elsewhere admitted and refused for lack of space."""
        data, cases, years = output.stage_data["refuges"], output.cases, (end - start) / 365.0
        outside = data["outside_episodes"]
        rows = [
            ("refuge_utilisation", "all", utilisation(cases["t_refuge_start"], cases["t_refuge_end"], outside, data["places"], start, end)),
            ("refuge_other_admissions", "all", float(((outside[:, 0] >= start) & (outside[:, 0] < end)).sum()) / years),
            ("refuge_other_refused_no_space", "all", float(((data["outside_lapsed"] >= start) & (data["outside_lapsed"] < end)).sum()) / years),
        ]
        return rows + stocks(output.timeseries, ["refuge_waiting"], start, end)

    @classmethod
    def costs(cls, scenario, get) -> dict[str, tuple[str, float]]:
        """Every bed space funded, at its cost a year (support and housing)."""
        return {"cost_refuges": ("delivery", scenario.refuges.bed_spaces * scenario.refuges.cost_per_space_year)}
