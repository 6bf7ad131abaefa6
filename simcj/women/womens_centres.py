"""Women's centres and women's services: key workers with caseloads, for the boroughs they cover.

A woman is referred by one of four routes: liaison and diversion in police custody
(``liaison_diversion``), a conditional caution whose condition is to engage
(``conditional_caution``), a community order or suspended sentence with a requirement
(``community_order``), or through the gate on release from custody (``release``). The first
service declared under ``women.services`` that covers her borough and takes the route gets the
referral; in a borough with none she gets no service (seven boroughs in 2018: seed 003 L299-300).
Each woman is referred once an arrest.

Referrals reach centres less than expected (seed 003 L332): a referred woman engages with
``p_engages``. She then waits for a key worker's place (key workers x caseload; ``max_wait_days``),
holds it for the support's ``duration``, and from its start the women's-service effect on her
reoffending is in force (see :mod:`simcj.women.arrests`).
"""

from __future__ import annotations

import math
from typing import Annotated, Optional

import numpy as np
from pydantic import Field, PositiveFloat, model_validator

from ..engine.alarms import callbacks, set_alarm
from ..engine.arrivals import incident_times
from ..engine.casework import slots as case_slots
from ..engine.metrics import Metric
from ..engine.places import Places, utilisation
from ..engine.stage import Stage, register
from ..scenario.distributions import Duration
from ..scenario.schema import MAX_VOLUME, VOLUME, Prob, StaffedUnit, check_keys, section, unknown_boroughs
from .table import DAYS_PER_YEAR, OFFENCE, by_group, in_window

# --------------------------------------------------------------------------- settings (the scenario's section)


WOMEN_ROUTES = ("liaison_diversion", "conditional_caution", "community_order", "release")


@section
class WomensService(StaffedUnit):
    """A women's service (a women's centre's key workers): key workers x caseload, for the boroughs it covers."""

    boroughs: list[str] = Field(min_length=1, description="boroughs whose women it takes")
    routes: list[str] = Field(min_length=1, description="referral routes it takes: " + ", ".join(WOMEN_ROUTES))
    duration: Duration = Field(description="support from the first appointment, days")
    p_engages: Prob = Field(description="referred women who engage (referrals from arrest and release reach centres less than expected)")
    max_wait_days: Optional[PositiveFloat] = Field(None, description="a referral not given a key worker in this many days is lost")
    other_referrals_per_year: Annotated[float, Field(ge=0.0, le=MAX_VOLUME, json_schema_extra=VOLUME)] = Field(
        0.0, description="women referred from outside the pathway (at risk, self-referral, children's services) who take its places"
    )

    @model_validator(mode="after")
    def _routes(self):
        check_keys("routes", self.routes, WOMEN_ROUTES, "route(s)")
        return self

ROUTES = {
    "custody_suite.screened": "liaison_diversion",
    "custody_suite.cautioned": "conditional_caution",
    "womens_courts.ordered": "community_order",
    "probation.released": "release",
}


def choose_service(services: list[tuple[str, WomensService]], borough: str, route: str):
    """The first service that covers ``borough`` and takes ``route`` (or None)."""
    for name, s in services:
        if borough in s.boroughs and route in s.routes:
            return name
    return None


class ServiceModel:
    """One service's key-worker places and waiting list (:class:`~simcj.engine.places.Places`)."""

    def __init__(self, world, name: str, params: WomensService, supported):
        self.world = world
        self.name = name
        self.params = params
        self.supported = supported  # tells the arrests stage her support began (its effect on reoffending)
        self.places = Places(world.env, name, case_slots(params), params.max_wait_days, on_lapse=self._waited_too_long)
        self._end = callbacks(lambda alarm: self._finish(alarm.i))
        self.places.begin_outside(*self._draw_others(world.env.now))

    def retune(self, params: WomensService) -> None:
        self.params = params
        self.places.resize(case_slots(params))
        self.places.max_wait_days = params.max_wait_days

    def _draw_others(self, now: float) -> tuple[list[float], list[float]]:
        """Women referred from outside the pathway who engage, from now to the horizon: their times
        and how long they stay, drawn now from the service's own stream."""
        w, p = self.world, self.params
        rng = w.streams[f"{OFFENCE}/{self.name}/other_referrals"]
        t = np.sort(incident_times(rng, p.other_referrals_per_year, 0.0, 0.0, now, w.horizon)) if p.other_referrals_per_year > 0 else np.zeros(0)
        engages = rng.random(t.size) < p.p_engages
        return t[engages].tolist(), p.duration.ppf(rng.random(t.size))[engages].tolist()

    def refer(self, i: int) -> None:
        women, now = self.world.women, self.world.env.now
        if women.u_engages[i] >= self.params.p_engages:
            women.t_service_end[i] = now
            women.log(now, i, "women's service", f"referred to {self.name}, did not engage")
            return
        women.engaged[i] = 1
        self.places.refer(i, self._start)

    def _waited_too_long(self, i: int, when: float) -> None:
        self.world.women.t_service_end[i] = when

    def _start(self, i: int) -> None:
        women, now = self.world.women, self.world.env.now
        women.t_service_start[i] = now
        self.supported(i, now)
        length = self.params.duration.at(women.u_d_service[i])
        women.log(now, i, "women's service", f"key worker at {self.name} for {length:.0f} days")
        set_alarm(self.world.env, length, self._end, i)

    def _finish(self, i: int) -> None:
        self.world.women.t_service_end[i] = self.world.env.now
        self.places.leave()


@register
class WomensCentres(Stage):
    """Referrals from custody, caution, court and release to the women's services."""

    name = "womens_centres"
    table = "women"
    totals_offence = OFFENCE
    uniforms = ("u_engages", "u_d_service")
    columns = {
        "service": (None, ""),
        "engaged": ("b", 0),
        "service_route": (None, ""),
        "t_service_referral": ("d", math.nan),
        "t_service_start": ("d", math.nan),
        "t_service_end": ("d", math.nan),
    }
    entries = tuple(ROUTES)
    needs = ("arrests.supported",)
    fixed_at_date = (
        ('^women\\.services\\.[^.]+\\.other_referrals_per_year$', 'referrals from outside the pathway are drawn when the service opens'),
    )


    @classmethod
    def problems(cls, scenario) -> list[tuple[str, str]]:
        wo = scenario.women
        return [p for name, s in (wo.services.items() if wo is not None else ()) for p in unknown_boroughs(f"women.services.{name}.boroughs", s.boroughs, scenario)]

    def __init__(self, world):
        super().__init__(world)
        self.services: dict[str, ServiceModel] = {}
        self._tune()

    def _tune(self) -> None:
        sc = self.world.scenario
        self._order = list(sc.women.services.items())
        self._boroughs = list(sc.population.borough)
        for name, params in self._order:
            model = self.services.get(name)
            if model is None:
                self.services[name] = ServiceModel(self.world, name, params, lambda i, t: self._supported(i, t))
            else:
                model.retune(params)

    def retune(self) -> None:
        self._tune()

    def bound(self) -> None:
        self._supported = self.service("arrests.supported")

    def handler(self, entry: str):
        route = ROUTES[entry]
        return lambda i: self.refer(i, route)

    def refer(self, i: int, route: str) -> None:
        women, now = self.world.women, self.world.env.now
        if women.service[i]:
            return
        name = choose_service(self._order, self._boroughs[women.borough_code[i]], route)
        if name is None:
            women.log(now, i, "women's service", f"no service for her borough by the {route} route")
            return
        women.service[i] = name
        women.service_route[i] = route
        women.t_service_referral[i] = now
        women.log(now, i, "women's service", f"referred to {name} ({route.replace('_', ' ')})")
        self.services[name].refer(i)

    def snapshot(self):
        for name, model in self.services.items():
            yield from model.places.snapshot(name)

    def clear(self) -> None:
        for model in self.services.values():
            model.places.clear()

    def finish(self) -> dict:
        return {name: m.places.finish() for name, m in self.services.items()}

    # ------------------------------------------------------------------ after the run

    @classmethod
    def catalogue(cls, scenario) -> list[Metric]:
        out = [
            Metric("womens_centre_referrals", "Women's-service referrals a year", "a year", headline=110),
            Metric("womens_centre_starts", "Women starting with a key worker a year", "a year", compare=60),
            Metric("womens_centre_wait_days_mean", "Mean wait for a key worker, days", "mean days", headline=120, compare=70),
            Metric("womens_centre_not_engaged", "Women referred who did not engage, a year", "a year"),
            Metric("cost_womens_centres", "Women's services' cost a year, £", "£ a year"),
        ]
        for s in scenario.women.services if scenario.women is not None else {}:
            name = s.replace("_", " ")
            out += [
                Metric(f"{s}_referrals", f"Referrals to {name} a year", "a year"),
                Metric(f"{s}_starts", f"Women starting at {name} a year", "a year"),
                Metric(f"{s}_wait_days_mean", f"Mean wait at {name}, days", "mean days"),
                Metric(f"{s}_other_starts", f"Women from outside starting at {name} a year", "a year"),
                Metric(f"{s}_utilisation", f"{name} utilisation", "share"),
            ]
        return out

    @classmethod
    def kpis(cls, scenario, output, start: float, end: float) -> list[tuple]:
        frame = output.stage_data["arrests"]["cases"]
        years = (end - start) / DAYS_PER_YEAR
        rows = []
        referred = in_window(frame, "t_service_referral", start, end)
        started = in_window(frame, "t_service_start", start, end)
        wait = started["t_service_start"] - started["t_service_referral"]
        for group, part in by_group(referred):
            rows.append(("womens_centre_referrals", OFFENCE, len(part) / years, group))
            not_engaged = part["t_service_start"].isna() & (part["t_service_end"] == part["t_service_referral"])
            rows.append(("womens_centre_not_engaged", OFFENCE, float(not_engaged.sum()) / years, group))
        for group, part in by_group(started):
            rows.append(("womens_centre_starts", OFFENCE, len(part) / years, group))
            rows.append(("womens_centre_wait_days_mean", OFFENCE, float(wait[part.index].mean()) if len(part) else float("nan"), group))
        for name, used in output.stage_data["womens_centres"].items():
            t = used["outside_episodes"][:, 0]
            rows.append((f"{name}_other_starts", OFFENCE, float(((t >= start) & (t < end)).sum()) / years, "all"))
            held = frame[frame["service"].astype(str) == name]
            rows.append((f"{name}_utilisation", OFFENCE, utilisation(held["t_service_start"], held["t_service_end"], used["outside_episodes"], used["places"], start, end), "all"))
            mine = referred["service"].astype(str) == name
            ok = started["service"].astype(str) == name
            rows.append((f"{name}_referrals", OFFENCE, float(mine.sum()) / years, "all"))
            rows.append((f"{name}_starts", OFFENCE, float(ok.sum()) / years, "all"))
            rows.append((f"{name}_wait_days_mean", OFFENCE, float(wait[ok].mean()) if ok.any() else float("nan"), "all"))
        return rows

    @classmethod
    def costs(cls, scenario, get) -> dict[str, tuple[str, float]]:
        """Every key-worker place funded, a year."""
        places = sum(case_slots(s) for s in scenario.women.services.values())
        return {"cost_womens_centres": ("delivery", places * scenario.costs.womens_centre_place_year)}
