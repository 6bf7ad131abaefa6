"""Perpetrator programmes: referral, assessment, attendance, completion, with places that run out.

A perpetrator is referred by one of three routes (``programmes.<name>.p_referral``):

* ``report``: when the crime is recorded (police, children's services, self-referral: the
  Tri-borough DVIP's referrals, seed 002_492c289866f80aaa.txt L662-670);
* ``conviction``: court-mandated, on a conviction without immediate custody (a community order with
  a programme requirement);
* ``marac``: when his victim's case is heard at MARAC (Drive works with high-harm perpetrators
  identified there).

For one route the programmes are tried in the order declared, with the route's own uniform (so the
routes are independent): programme k takes the case if the uniform falls in its share after those
before it. Each case is referred at most once.
A referred perpetrator is assessed (``p_assessed``) and starts (``p_starts``) or is lost; a starter
waits for a place (staff x caseload; ``max_wait_days``), holds it for the programme's duration if
he completes (``p_completes``) or for a drawn part of it if he drops out. From completion his
victim's hazard of further incidents is multiplied by the programme's ``hr_repeat`` (the repeats
stage reads ``programme_completed``). Assessment is taken to be immediate: its staff time is in
the caseload.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import pandas as pd
from pydantic import Field, PositiveFloat, model_validator

from ..engine.arrivals import DAYS_PER_YEAR
from ..engine.casework import slots as case_slots
from ..engine.metrics import Metric, yearly
from ..engine.places import Places, utilisation
from ..engine.stage import Stage, register, stocks
from ..scenario.distributions import Duration
from ..scenario.schema import HazardRatio, Prob, StaffedUnit, check_keys, section, unknown_offences

# --------------------------------------------------------------------------- settings (the scenario's section)


PROGRAMME_ROUTES = ("report", "conviction", "marac")


@section
class PerpetratorProgramme(StaffedUnit):
    """A perpetrator programme: referral, assessment, attendance, completion.

    Referred perpetrators are assessed (``p_assessed``), start (``p_starts``), and hold a place
    (staff x caseload) until they complete or drop out (``p_completes``; a drop-out leaves part-way).
    """

    offences: list[str] = Field(min_length=1, description="offence classes whose perpetrators are referred")
    p_referral: dict[str, Prob] = Field(
        description="referral probability by route: 'report' (police, children's services, self, at report), "
        "'conviction' (court-mandated, on a non-custodial sentence), 'marac' (a case heard at MARAC)"
    )
    p_assessed: Prob = Field(description="referred perpetrators who are assessed as suitable")
    p_starts: Prob = Field(description="assessed perpetrators who start the programme")
    p_completes: Prob = Field(description="starters who complete it")
    duration: Duration = Field(description="start to completion, days")
    max_wait_days: Optional[PositiveFloat] = Field(None, description="an assessed perpetrator not given a place in this many days is lost")
    hr_repeat: HazardRatio = Field(description="hazard ratio of further incidents against his victim (see effect_from)")
    effect_from: str = Field(
        "completion", pattern=r"^(start|completion)$",
        description="'completion': the effect starts when he completes; 'start': from his start, for as long as he stays and after he completes (case management that disrupts the abuse, as Drive's)",
    )

    @model_validator(mode="after")
    def _routes(self):
        check_keys("p_referral", self.p_referral, PROGRAMME_ROUTES, "route(s)")
        return self


def choose_programme(programmes: list[tuple[str, PerpetratorProgramme]], route: str, u: float):
    """The programme a case is referred to by ``route`` (or None): the first whose share, stacked
    after those of the programmes before it, holds ``u``."""
    edge = 0.0
    for name, p in programmes:
        edge += p.p_referral.get(route, 0.0)
        if u < edge:
            return name
    return None


def funnel(p: PerpetratorProgramme, u_assessed: float, u_starts: float) -> bool:
    """Assessed and then starting: does the referral become a starter?"""
    return u_assessed < p.p_assessed and u_starts < p.p_starts


def days_attended(p: PerpetratorProgramme, u_completes: float, u_duration: float, u_dropout: float) -> tuple[bool, float]:
    """(completes, days holding a place): the whole duration, or a drop-out's uniform share of it."""
    days = p.duration.at(u_duration)
    completes = u_completes < p.p_completes
    return completes, days if completes else days * u_dropout


class ProgrammeModel:
    """One programme's places and waiting list (:class:`~simcj.engine.places.Places`)."""

    def __init__(self, world, name: str, params: PerpetratorProgramme):
        self.world = world
        self.name = name
        self.params = params
        self.places = Places(world.env, name, case_slots(params), params.max_wait_days, on_lapse=self._waited_too_long)

    def retune(self, params: PerpetratorProgramme) -> None:
        self.params = params
        self.places.resize(case_slots(params))
        self.places.max_wait_days = params.max_wait_days

    def refer(self, i: int, route: str) -> None:
        w = self.world
        c, now, p = w.cases, w.env.now, self.params
        c.programme[i] = self.name
        c.programme_route[i] = route
        c.t_programme_referral[i] = now
        if not funnel(p, c.u_programme_assessed[i], c.u_programme_starts[i]):
            c.t_programme_end[i] = now
            return
        self.places.refer(i, self._start)

    def _waited_too_long(self, i: int, when: float) -> None:
        self.world.cases.t_programme_end[i] = when

    def _start(self, i: int) -> None:
        w = self.world
        c, now = w.cases, w.env.now
        c.t_programme_start[i] = now
        completes, days = days_attended(self.params, c.u_programme_completes[i], c.u_programme_duration[i], c.u_programme_dropout[i])
        w.env.timeout(days).callbacks.append(lambda _e: self._end(i, completes))

    def _end(self, i: int, completes: bool) -> None:
        c = self.world.cases
        c.t_programme_end[i] = self.world.env.now
        c.programme_completed[i] = int(completes)
        self.places.leave()


@register
class Programmes(Stage):
    """Perpetrator programmes, reached at report, at a non-custodial conviction, or from MARAC."""

    name = "programmes"
    entries = ("reporting.recorded", "courts.convicted", "marac.heard")
    uses = ("sentencing.custody_years",)  # a court-mandated programme is for a sentence other than custody
    uniforms = (
        "u_programme_report",
        "u_programme_conviction",
        "u_programme_marac",
        "u_programme_assessed",
        "u_programme_starts",
        "u_programme_completes",
        "u_programme_duration",
        "u_programme_dropout",
    )
    columns = {
        "programme": (None, ""),
        "programme_route": (None, ""),
        "t_programme_referral": ("d", math.nan),
        "t_programme_start": ("d", math.nan),
        "t_programme_end": ("d", math.nan),
        "programme_completed": ("?", 0),
    }


    @classmethod
    def problems(cls, scenario) -> list[tuple[str, str]]:
        """Each programme's offence classes exist, and it has a unit cost."""
        problems = []
        for name, p in scenario.programmes.items():
            problems += unknown_offences(f"programmes.{name}.offences", p.offences, scenario)
            if scenario.costs is not None and name not in scenario.costs.programme_worker_year:
                problems.append((f"costs.programme_worker_year.{name}", f"no unit cost for the declared programme '{name}'"))
        return problems

    def __init__(self, world):
        super().__init__(world)
        self.programmes = {n: ProgrammeModel(world, n, p) for n, p in world.scenario.programmes.items()}
        self._custody_years = self.column("sentencing.custody_years")
        self._tune()

    def _tune(self) -> None:
        sc = self.world.scenario
        self._by_class = [[(n, p) for n, p in sc.programmes.items() if name in p.offences] for name in sc.offences]

    def retune(self) -> None:
        """The option's programmes: more places serve the waiting list now; a new programme opens."""
        w = self.world
        for name, params in w.scenario.programmes.items():
            if name in self.programmes:
                self.programmes[name].retune(params)
            else:
                self.programmes[name] = ProgrammeModel(w, name, params)
        self._tune()

    def handler(self, entry: str):
        return {"reporting.recorded": self.take, "courts.convicted": self.at_conviction, "marac.heard": self.at_marac}[entry]

    def _refer(self, i: int, route: str) -> None:
        c = self.world.cases
        if c.programme[i] != "":
            return
        name = choose_programme(self._by_class[c.cls[i]], route, getattr(c, f"u_programme_{route}")[i])
        if name is not None:
            self.programmes[name].refer(i, route)

    def take(self, i: int) -> None:
        self._refer(i, "report")

    def at_conviction(self, i: int) -> None:
        """Court-mandated, when the sentence is not immediate custody (sentencing decides first)."""
        custody = self._custody_years
        if custody is None or custody[i] <= 0.0:
            self._refer(i, "conviction")

    def at_marac(self, i: int) -> None:
        self._refer(i, "marac")

    def snapshot(self):
        for name, programme in self.programmes.items():
            yield from programme.places.snapshot(name)

    def finish(self) -> dict:
        return {n: p.places.finish() for n, p in self.programmes.items()}

    def clear(self) -> None:
        for programme in self.programmes.values():
            programme.places.clear()

    # ------------------------------------------------------------------ after the run

    case_metrics = {
        "perpetrator_programme_referrals": "programme_referred",
        "perpetrator_programme_starts": "programme_started",
        "perpetrator_programme_completions": "programme_completion",
    }

    @classmethod
    def indicators(cls, scenario, cases: pd.DataFrame, start: float, end: float) -> dict[str, np.ndarray]:
        def within(column):
            t = cases[column].to_numpy()
            return (t >= start) & (t < end)

        return {
            "programme_referred": within("t_programme_referral"),
            "programme_started": within("t_programme_start"),
            "programme_completion": within("t_programme_end") & cases["programme_completed"].to_numpy(),
        }

    @classmethod
    def catalogue(cls, scenario) -> list[Metric]:
        out = [Metric("perpetrator_programme_completions", "Perpetrator programme completions a year", "a year", headline=230),
               Metric("cost_programmes", "Perpetrator programmes' cost a year, £", "£ a year")]
        for n in scenario.programmes:
            name = n.upper() if len(n) <= 5 else n.replace("_", " ")
            out += [
                Metric(f"{n}_utilisation", f"{name} utilisation", "share"),
                Metric(f"{n}_referrals", f"{name} referrals a year", "a year"),
                Metric(f"{n}_completions", f"{name} completions a year", "a year"),
                Metric(f"{n}_wait_days_mean", f"Mean wait for {name}, days", "mean days"),
                Metric(f"{n}_waiting", f"Perpetrators waiting for {name} (stock)", "stock"),
                *yearly(f"{n}_waiting_at_year", f"Perpetrators waiting for {name} (stock)", "stock", range(1, int(scenario.run.years + 1e-9) + 1)),
            ]
        return out

    @classmethod
    def kpis(cls, scenario, output, start: float, end: float):
        """Each programme's use of its places, referrals, completions and wait for a place."""
        cases, years = output.cases, (end - start) / DAYS_PER_YEAR
        rows = []
        data = output.stage_data["programmes"]
        for name, used in data.items():
            mine = cases[cases["programme"] == name]
            rows.append((f"{name}_utilisation", "all", utilisation(mine["t_programme_start"], mine["t_programme_end"], None, used["places"], start, end)))
            referred = (mine["t_programme_referral"] >= start) & (mine["t_programme_referral"] < end)
            rows.append((f"{name}_referrals", "all", float(referred.sum()) / years))
            done = (mine["t_programme_end"] >= start) & (mine["t_programme_end"] < end) & mine["programme_completed"]
            rows.append((f"{name}_completions", "all", float(done.sum()) / years))
            started = (mine["t_programme_start"] >= start) & (mine["t_programme_start"] < end)
            waits = (mine["t_programme_start"] - mine["t_programme_referral"])[started]
            rows.append((f"{name}_wait_days_mean", "all", float(waits.mean()) if len(waits) else np.nan))
        rows += stocks(output.timeseries, [f"{n}_waiting" for n in data], start, end)
        return rows

    @classmethod
    def costs(cls, scenario, get) -> dict[str, tuple[str, float]]:
        uc = scenario.costs
        return {"cost_programmes": ("delivery", sum(p.staff * uc.programme_worker_year[n] for n, p in scenario.programmes.items()))}

