"""Advocacy support: IDVAs and ISVAs as capacity-limited services.

A recorded case is referred to its offence class's service (IDVA for domestic abuse, ISVA for
sexual offences) with a probability that depends on its DASH risk level. The service has FTE x
caseload slots and a waiting list ordered by risk (high risk first by default, as MARAC cases are).
A referral lapses if the case has closed before a slot comes free. Support lasts a sampled time
(ending at the close of that day);
from its start the victim's withdrawal hazard is multiplied by ``support.effect.hr_withdrawal`` for
the rest of the case, and a supported case's chance of conviction at trial is multiplied by
``support.effect.conviction_rr``. Both effects are disputed in the evidence and are scenario
parameters with ranges.
"""

from __future__ import annotations

import math

import numpy as np

from ..scenario.schema import AdvocacyService, Support
from .casework import slots as case_slots
from .entities import Exit
from .pools import Pool
from .stage import Stage, register, stocks


def referral_probability(p: Support, risk: str) -> float:
    """Referral probability for a case of DASH risk ``risk`` ('' when not risk-assessed)."""
    if risk in p.p_referral:
        return p.p_referral[risk]
    return p.p_referral.get("all", 0.0)


def is_referred(p: Support, risk: str, u: float) -> bool:
    return u < referral_probability(p, risk)


def waiting_list_level(service: AdvocacyService, risk: str) -> int:
    """Position on the waiting list: the risk level's place in the service's priority order."""
    return service.priority.index(risk) if risk in service.priority else len(service.priority)


def _support_duration(sc, oc):
    service = sc.support.services.get(oc.support.service) if oc.support.service else None
    return service.duration if service is not None else None


class AdvocacyServiceModel:
    """One service's slots and waiting list, driven by event callbacks (one timeout per support)."""

    def __init__(self, world, name: str, params):
        self.world = world
        self.name = name
        self.params = params
        slots = case_slots(params)
        self.pool = Pool(world.env, slots, name, lapsed=world.lapsed, levels=len(params.priority) + 1)
        self._ending: dict[int, list[int]] = {}
        self._start_when_free = self._start
        self.durations = world.cases.d_support  # the option's, for support starting after its date

    def refer(self, i: int) -> None:
        """Put the victim of case ``i`` on the waiting list; support starts when a slot is free."""
        c = self.world.cases
        c.support_service[i] = self.name
        c.t_support_referral[i] = self.world.env.now
        self.pool.call_when_free(i, self._start_when_free, waiting_list_level(self.params, c.risk[i]))

    def _start(self, i: int) -> None:
        w = self.world
        c, now = w.cases, w.env.now
        c.t_support_start[i] = now
        if c.exit[i] == Exit.OPEN:
            w.clock.scale_hazard(i, now, w.scenario.support.effect.hr_withdrawal)
        # Support ends at the close of the day its duration runs out: one event a day for all the
        # support ending that day, not one per victim.
        day = math.ceil(now + self.durations[i])
        ending = self._ending.get(day)
        if ending is None:
            ending = self._ending[day] = []
            w.env.timeout(day - now).callbacks.append(lambda _e: self._end_day(day))
        ending.append(i)

    def _end_day(self, day: int) -> None:
        c, now = self.world.cases, self.world.env.now
        for i in self._ending.pop(day):
            c.t_support_end[i] = now
            self.pool.release()


@register
class Advocacy(Stage):
    """IDVA and ISVA services: a recorded crime's victim is referred at report, by risk level."""

    name = "support"
    entries = ("reporting.recorded",)
    uniforms = ("u_referral",)
    durations = {"d_support": _support_duration}
    columns = {
        "support_service": (None, ""),
        "t_support_referral": ("d", float("nan")),
        "t_support_start": ("d", float("nan")),
        "t_support_end": ("d", float("nan")),
    }

    def __init__(self, world):
        super().__init__(world)
        self.services = {n: AdvocacyServiceModel(world, n, s) for n, s in world.scenario.support.services.items()}
        self._service_of_class = [self.services.get(oc.support.service) if oc.support.service else None for oc in world.offences]

    def retune(self) -> None:
        """The option's services: staff changes resize caseload slots; a new service opens."""
        w = self.world
        for name, params in w.scenario.support.services.items():
            if name in self.services:
                service = self.services[name]
                service.params = params
                service.pool.resize(case_slots(params))
            else:
                self.services[name] = AdvocacyServiceModel(w, name, params)
        self._service_of_class = [self.services.get(oc.support.service) if oc.support.service else None for oc in w.offences]
        durations = w.option_column("d_support", None)
        if durations is not None:
            for service in self.services.values():
                service.durations = durations

    def take(self, i: int) -> None:
        w = self.world
        c = w.cases
        service = self._service_of_class[c.cls[i]]
        if service is not None and is_referred(w.offence(i).support, c.risk[i], c.u_referral[i]):
            service.refer(i)

    def snapshot(self):
        for name, service in self.services.items():
            yield from service.pool.snapshot(name)

    def finish(self) -> dict:
        return {"slots": {n: s.pool.capacity for n, s in self.services.items()}}

    def clear(self) -> None:
        for service in self.services.values():
            service.pool.clear()

    @classmethod
    def metric_names(cls, scenario) -> set[str]:
        names = {f"{svc}_{m}" for svc in scenario.support.services for m in ("utilisation", "wait_days_mean", "referrals", "supported", "waiting")}
        names |= {f"{svc}_waiting_at_year_{k}" for svc in scenario.support.services for k in range(1, int(scenario.run.years + 1e-9) + 1)}
        return names | {"victims_supported", "cost_advocacy"}

    @classmethod
    def kpis(cls, scenario, output, start: float, end: float) -> list[tuple[str, str, float]]:
        cases, years = output.cases, (end - start) / 365.0
        rows = []
        for service, slots in output.stage_data["support"]["slots"].items():
            mine = cases[cases["support_service"] == service]
            s = mine["t_support_start"].clip(lower=start, upper=end)
            e = mine["t_support_end"].fillna(end).clip(lower=start, upper=end)
            busy = float((e - s).where(mine["t_support_start"].notna(), 0.0).clip(lower=0).sum())
            rows.append((f"{service}_utilisation", "all", busy / (slots * (end - start))))
            started = (mine["t_support_start"] >= start) & (mine["t_support_start"] < end)
            waits = (mine["t_support_start"] - mine["t_support_referral"])[started]
            rows.append((f"{service}_wait_days_mean", "all", float(waits.mean()) if len(waits) else np.nan))
            referred = (mine["t_support_referral"] >= start) & (mine["t_support_referral"] < end)
            rows.append((f"{service}_referrals", "all", float(referred.sum()) / years))
            rows.append((f"{service}_supported", "all", float(started.sum()) / years))
        started = (cases["t_support_start"] >= start) & (cases["t_support_start"] < end)
        rows.append(("victims_supported", "all", float(started.sum()) / years))
        rows += stocks(output.timeseries, [f"{service}_waiting" for service in output.stage_data["support"]["slots"]], start, end)
        return rows

    @classmethod
    def costs(cls, scenario, get) -> dict[str, float]:
        uc = scenario.costs
        return {"cost_advocacy": ("delivery", sum(s.staff * uc.advocate_year[n] for n, s in scenario.support.services.items()))}
