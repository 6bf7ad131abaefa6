"""Advocacy support: IDVAs and ISVAs as capacity-limited services, reached by several routes.

A victim reaches her offence class's service (IDVA for domestic abuse, ISVA for sexual offences)
by one of these routes, whichever comes first:

* **at a SARC**: a victim of a sexual offence who reports within the forensic window
  (``sarc_window_days``) is examined at a sexual assault referral centre, the Havens in London,
  which refers her to an ISVA (``p_referral_sarc``);
* **at report**: the police refer, or an advocate co-located with them engages her, with a
  probability that depends on her DASH risk level (``support.p_referral``);
* **at charge**: witness care or the CPS refer a victim not yet referred (``p_referral_at_charge``);
* **at the specialist court**: when her case is listed for trial at an SDVC and she has no advocate
  yet (or her referral lapsed), a court advocate supports her (``sdvc_service``,
  ``p_referral_at_sdvc``).

A service has FTE x caseload slots and a waiting list ordered by risk (high risk first by default,
as MARAC cases are). A referral lapses if the case closes before a slot comes free, or, with
``max_wait_days``, if no slot comes free in that time (a brief contact, not support). Support lasts
at most its sampled length (drawn from the case's one uniform by the distribution of the service
that gives it: a court IDVA's is not an IDVA's) and, with ``after_case_days``, ends that many days after the criminal
case closes: the slot is held while the case is live and for a short aftercare, then freed. From
its start the victim's withdrawal hazard is multiplied by ``support.effect.hr_withdrawal`` for the
rest of the case, and a supported case's chance of conviction at trial is multiplied by
``support.effect.conviction_rr``. Both effects are disputed in the evidence and are scenario
parameters with ranges. Each case has at most one support episode; its route and the stage the
case had reached when support began are recorded, so outputs say who was supported, when, and
with what result.
"""

from __future__ import annotations

import math
from typing import Annotated, Optional

import numpy as np
import pandas as pd
from pydantic import Field, PositiveFloat, model_validator

from ..engine.cases import Exit, within
from ..engine.casework import slots as case_slots
from ..engine.metrics import Metric, yearly
from ..engine.places import Places, draw_outside, utilisation
from ..engine.stage import Stage, register, stocks
from ..scenario.distributions import Duration
from ..scenario.schema import MAX_VOLUME, RISK_LEVELS, VOLUME, NonNeg, Prob, StaffedUnit, Strict, check_keys, section, undeclared

# --------------------------------------------------------------------------- settings (the scenario's section)


@section
class Support(Strict):
    service: Optional[str] = Field(None, description="advocacy service (a key of support.services)")
    p_referral: dict[str, Prob] = Field(
        default_factory=dict, description="referral at report (police referral, co-located advocates): probability by "
        "risk level, or under the key 'all'"
    )
    p_referral_sarc: Prob = Field(
        0.0, description="a victim who reports within sarc_window_days of the offence is examined at a sexual assault referral "
        "centre (the Havens), which refers her to the service at report; the police route is for the others"
    )
    sarc_window_days: Annotated[float, Field(gt=0.0, le=30.0)] = Field(7.0, description="the SARC's forensic window after the offence, days")
    p_referral_at_charge: Prob = Field(0.0, description="referral at charge (witness care, the CPS) of a victim not yet referred")
    sdvc_service: Optional[str] = Field(None, description="the court advocates at the specialist DA courts (a key of support.services)")
    p_referral_at_sdvc: Prob = Field(
        0.0, description="a victim whose case is listed for trial at an SDVC and who has no advocate is supported by a court advocate"
    )
    health_service: Optional[str] = Field(None, description="advocates in health settings (hospital IDVAs; a key of support.services)")
    p_referral_health: Prob = Field(
        0.0, description="a victim not referred by the police who is identified in a health setting around her report is supported there"
    )

    @model_validator(mode="after")
    def _keys(self):
        check_keys("p_referral", self.p_referral, ("all", *RISK_LEVELS), "key(s)")
        return self


@section
class AdvocacyService(StaffedUnit):
    """IDVA or ISVA service: FTE x caseload slots, a waiting list, a support duration."""

    duration: Duration = Field(description="longest support, days")
    priority: list[str] = Field(
        default_factory=lambda: ["high", "medium", "standard"],
        description="waiting-list order by risk level, first served first ('other': referrals from outside the CJS; last if not listed)",
    )
    after_case_days: Optional[NonNeg] = Field(
        None, description="support ends this many days after the criminal case closes (if its duration has not run out "
        "first), freeing the slot; none: support runs its whole duration whatever happens to the case"
    )
    max_wait_days: Optional[PositiveFloat] = Field(
        None, description="a referral not taken up within this many days lapses (the victim gets a brief contact, not "
        "support); none: it waits until a slot is free or the case closes"
    )
    other_referrals_per_year: Annotated[float, Field(ge=0.0, le=MAX_VOLUME, json_schema_extra=VOLUME)] = Field(
        0.0, description="victims referred from outside the criminal justice system (health, self, children's services) who "
        "share the slots, last on the waiting list, for the service's duration"
    )


@section
class SupportEffect(Strict):
    """Effects the evidence disputes: set them as ranges and report sensitivity."""

    hr_withdrawal: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        description="hazard ratio of withdrawal while supported; at most 1: support never raises the hazard (the "
        "police and CPS stages sleep until the earlier of their work's end and the withdrawal time, which "
        "support can then only postpone)"
    )
    conviction_rr: NonNeg = Field(description="relative risk of conviction at trial when supported")


@section
class SupportSettings(Strict):
    services: dict[str, AdvocacyService] = Field(default_factory=dict)
    effect: SupportEffect

ROUTES = ("sarc", "report", "health", "charge", "sdvc", "marac")
OTHER = "other"  # the priority level of referrals from outside the criminal justice system
# The stage a case had reached when its support began (after it closed: a MARAC allocation; before
# any crime was recorded: an agency's MARAC referral).
STAGES = ("investigation", "awaiting_cps", "charged", "after_case", "not_reported")


def referral_probability(p: Support, risk: str) -> float:
    """Referral probability for a case of DASH risk ``risk`` ('' when not risk-assessed)."""
    if risk in p.p_referral:
        return p.p_referral[risk]
    return p.p_referral.get("all", 0.0)


def is_referred(p: Support, risk: str, u: float) -> bool:
    return u < referral_probability(p, risk)


def at_sarc(p: Support, days_since_offence: float, u: float) -> bool:
    """Is a victim reporting ``days_since_offence`` after it examined at a SARC, which refers her on?"""
    return days_since_offence <= p.sarc_window_days and u < p.p_referral_sarc


def waiting_list_level(service: AdvocacyService, risk: str) -> int:
    """Position on the waiting list: the risk level's place in the service's priority order."""
    return service.priority.index(risk) if risk in service.priority else len(service.priority)


class AdvocacyServiceModel:
    """One service's slots and waiting list (:class:`~simcj.engine.places.Places`), and when each
    victim's support ends (one event a day for all the support ending that day)."""

    def __init__(self, world, name: str, params, milestones: tuple):
        self.world = world
        self.name = name
        self.params = params
        self.milestones = milestones  # the charge and CPS referral times, if the pathway has them
        self.places = Places(world.env, name, case_slots(params), params.max_wait_days, lapsed=self._case_lapsed,
                             on_lapse=self._waited_too_long, levels=len(params.priority) + 1)
        self._ending: dict[int, list[int]] = {}  # day -> cases whose support ends at its close
        self._end_day_of: dict[int, int] = {}  # case -> the day its support is due to end

    def retune(self, params) -> None:
        self.params = params
        self.places.resize(case_slots(params))
        self.places.max_wait_days = params.max_wait_days

    def begin_other_referrals(self, streams, horizon: float) -> None:
        """Referrals from outside the criminal justice system, from now to the horizon, at the level
        of ``other`` in the service's priority (last if it is not listed): their times and durations
        are drawn now from the service's own stream, so they are the same in every option."""
        p = self.params
        drawn = draw_outside(streams[f"support/{self.name}/other_referrals"], p.other_referrals_per_year, p.duration, self.world.env.now, horizon)
        self.places.begin_outside(*drawn, level=waiting_list_level(p, OTHER))

    def refer(self, i: int, route: str) -> None:
        """Put the victim of case ``i`` on the waiting list; support starts when a slot is free."""
        c = self.world.cases
        c.support_service[i] = self.name
        c.support_route[i] = route
        c.t_support_referral[i] = self.world.env.now
        self.places.refer(i, self._start, waiting_list_level(self.params, c.risk[i]))

    def _case_lapsed(self, i: int, now: float) -> bool:
        """A waiting referral lapses if the case has closed (MARAC's allocations outlive the case)."""
        return self.world.cases.support_route[i] != "marac" and self.world.lapsed(i, now)

    def _waited_too_long(self, i: int, when: float) -> None:
        self.world.cases.t_support_lapsed[i] = when

    def _start(self, i: int) -> None:
        w = self.world
        c, now = w.cases, w.env.now
        c.t_support_start[i] = now
        c.support_stage[i] = support_stage(c, i, *self.milestones)
        if c.exit[i] == Exit.OPEN:
            w.clock.scale_hazard(i, now, w.scenario.support.effect.hr_withdrawal)
        self._end_at(i, now + self.params.duration.at(c.u_support_length[i]))

    def _end_at(self, i: int, t: float) -> None:
        """Support ends at the close of the day ``t`` falls in: one event a day for all the support
        ending that day, not one per victim."""
        now = self.world.env.now
        day = math.ceil(max(t, now))
        ending = self._ending.get(day)
        if ending is None:
            ending = self._ending[day] = []
            self.world.env.timeout(day - now).callbacks.append(lambda _e: self._end_day(day))
        ending.append(i)
        self._end_day_of[i] = day

    def case_closed(self, i: int, t: float) -> None:
        """The criminal case closed at ``t``: support due to run longer ends ``after_case_days`` later."""
        after = self.params.after_case_days
        day = self._end_day_of.get(i)
        if after is None or day is None or math.ceil(max(t + after, self.world.env.now)) >= day:
            return
        self._ending[day].remove(i)
        self._end_at(i, t + after)

    def _end_day(self, day: int) -> None:
        c, now = self.world.cases, self.world.env.now
        for i in self._ending.pop(day):
            c.t_support_end[i] = now
            del self._end_day_of[i]
            self.places.leave()


def support_stage(c, i: int, t_charge, t_cps_referral) -> str:
    """Where case ``i`` is as its support begins (one of ``STAGES``), by its charge and CPS referral times."""
    if c.exit[i] == Exit.NOT_REPORTED:
        return STAGES[4]
    if c.exit[i] != Exit.OPEN:
        return STAGES[3]
    return STAGES[2] if _set(t_charge, i) else STAGES[1] if _set(t_cps_referral, i) else STAGES[0]


def _set(column, i: int) -> bool:
    """Has case ``i`` a time in ``column`` (None: that stage is not in the pathway)?"""
    return column is not None and column[i] == column[i]


@register
class Advocacy(Stage):
    """IDVA and ISVA services: a victim is referred at a SARC or at report (by risk level), in a
    health setting, at charge, at the specialist court or at MARAC."""

    name = "support"
    entries = ("reporting.recorded", "charging.charged", "courts.listed_sdvc", "marac.heard")
    needs = ("reporting.recorded",)
    uses = ("charging.t_charge", "charging.t_cps_referral")  # where her case is as support begins
    fixed_at_date = (
        ('^support\\.services\\.[^.]+\\.priority(\\.|$)', "a waiting list's order is set when it is built"),
    )
    # One uniform for the length of support, turned into days by the service that gives it (an
    # IDVA, a court IDVA and an ISVA each have their own distribution; an option's from its date).
    uniforms = ("u_referral_sarc", "u_referral", "u_referral_health", "u_referral_charge", "u_referral_sdvc", "u_referral_marac", "u_support_length")
    columns = {
        "support_service": (None, ""),
        "support_route": (None, ""),
        "support_stage": (None, ""),
        "t_support_referral": ("d", float("nan")),
        "t_support_lapsed": ("d", float("nan")),
        "t_support_start": ("d", float("nan")),
        "t_support_end": ("d", float("nan")),
    }


    @classmethod
    def problems(cls, scenario) -> list[tuple[str, str]]:
        """Each class's services are declared, and each service has a unit cost."""
        services = scenario.support.services
        problems = [p for key in ("support.service", "support.sdvc_service", "support.health_service")
                    for p in undeclared(scenario, key, services, "support.services")]
        if scenario.costs is not None:
            problems += [(f"costs.advocate_year.{s}", f"no unit cost for the declared advocacy service '{s}'") for s in services if s not in scenario.costs.advocate_year]
        return problems

    def __init__(self, world):
        super().__init__(world)
        self._milestones = (self.column("charging.t_charge"), self.column("charging.t_cps_referral"))
        self.services = {n: AdvocacyServiceModel(world, n, s, self._milestones) for n, s in world.scenario.support.services.items()}
        self._classes()
        world.cases.on_close.append(self._case_closed)

    def _classes(self) -> None:
        offences = self.world.offences
        self._service_of_class = [self.services.get(oc.support.service) if oc.support.service else None for oc in offences]
        self._health_service_of_class = [self.services.get(oc.support.health_service) if oc.support.health_service else None for oc in offences]
        self._court_service_of_class = [self.services.get(oc.support.sdvc_service) if oc.support.sdvc_service else None for oc in offences]

    def retune(self) -> None:
        """The option's services: staff changes resize caseload slots; a new service opens."""
        w = self.world
        for name, params in w.scenario.support.services.items():
            if name in self.services:
                self.services[name].retune(params)
            else:
                self.services[name] = service = AdvocacyServiceModel(w, name, params, self._milestones)
                service.begin_other_referrals(w.streams, w.horizon)
        self._classes()

    def handler(self, entry: str):
        return {"reporting.recorded": self.take, "charging.charged": self.at_charge, "courts.listed_sdvc": self.at_sdvc, "marac.heard": self.at_marac}[entry]

    def start(self) -> None:
        for service in self.services.values():
            service.begin_other_referrals(self.world.streams, self.world.horizon)

    def take(self, i: int) -> None:
        """At report: referral by a SARC (a recent sexual offence), by the police by risk level, or,
        failing those, in a health setting."""
        w = self.world
        c = w.cases
        p = w.offence(i).support
        service = self._service_of_class[c.cls[i]]
        if service is not None and at_sarc(p, c.t_report[i] - c.t_incident[i], c.u_referral_sarc[i]):
            service.refer(i, "sarc")
            return
        if service is not None and is_referred(p, c.risk[i], c.u_referral[i]):
            service.refer(i, "report")
            return
        health = self._health_service_of_class[c.cls[i]]
        if health is not None and c.u_referral_health[i] < w.offence(i).support.p_referral_health:
            health.refer(i, "health")

    def at_charge(self, i: int) -> None:
        """At charge: a victim not yet referred may be referred now."""
        w = self.world
        c = w.cases
        service = self._service_of_class[c.cls[i]]
        if service is not None and c.support_service[i] == "" and c.u_referral_charge[i] < w.offence(i).support.p_referral_at_charge:
            service.refer(i, "charge")

    def at_sdvc(self, i: int) -> None:
        """Listed for trial at a specialist court: a court advocate for a victim with none (never referred, or lapsed)."""
        w = self.world
        c = w.cases
        service = self._court_service_of_class[c.cls[i]]
        free = c.support_service[i] == "" or c.t_support_lapsed[i] == c.t_support_lapsed[i]
        if service is not None and free and c.u_referral_sdvc[i] < w.offence(i).support.p_referral_at_sdvc:
            c.t_support_lapsed[i] = float("nan")
            service.refer(i, "sdvc")

    def at_marac(self, i: int) -> None:
        """Heard at MARAC: an IDVA is allocated to a victim who has none (never referred, or lapsed).

        MARAC works on the victim's safety, so this route is open after the criminal case has closed:
        such support runs its duration (``after_case_days`` counts from the hearing)."""
        w = self.world
        c = w.cases
        service = self._service_of_class[c.cls[i]]
        free = c.support_service[i] == "" or c.t_support_lapsed[i] == c.t_support_lapsed[i]
        if service is not None and free and c.u_referral_marac[i] < w.scenario.marac.p_idva_allocation:
            c.t_support_lapsed[i] = float("nan")
            service.refer(i, "marac")

    def _case_closed(self, i: int, t: float) -> None:
        service = self.services.get(self.world.cases.support_service[i])
        if service is not None:
            service.case_closed(i, t)

    def snapshot(self):
        for name, service in self.services.items():
            yield from service.places.snapshot(name)

    def finish(self) -> dict:
        return {n: s.places.finish() for n, s in self.services.items()}

    def clear(self) -> None:
        for service in self.services.values():
            service.places.clear()

    case_durations = {"days_support_wait": "d_support_wait"}

    @classmethod
    def indicators(cls, scenario, cases, start: float, end: float) -> dict[str, object]:
        """The wait from referral to the start of support, for support started in the window."""
        begun = cases["t_support_start"]
        return {"d_support_wait": np.where(within(begun, start, end), begun - cases["t_support_referral"], np.nan)}

    @classmethod
    def groups(cls, scenario, cases) -> dict[str, pd.Categorical]:
        """Whether the victim was supported (``supported``, ``referred, not supported`` or ``not
        referred``), so every KPI can be read for supported and unsupported victims."""
        referred = cases["support_service"].astype(str) != ""
        label = np.where(cases["t_support_start"].notna(), "supported", np.where(referred, "referred, not supported", "not referred"))
        return {"support": pd.Categorical(label)}

    @classmethod
    def catalogue(cls, scenario) -> list[Metric]:
        out = [Metric("victims_supported", "Victims supported a year", "a year", headline=150, compare=5),
               Metric("cost_advocacy", "Advocates' cost a year, £", "£ a year")]
        out += [Metric(f"victims_supported_at_{r}", f"Victims supported a year, referred at {r.upper() if r in ('sarc', 'sdvc', 'marac') else r}", "a year") for r in ROUTES]
        out += [Metric(f"victims_supported_during_{s}", f"Victims supported a year, starting {s.replace('_', ' ')}", "a year") for s in STAGES]
        for k, svc in enumerate(scenario.support.services):
            name = " ".join(w.upper() if w in ("idva", "isva") else w for w in svc.split("_"))
            name = name[0].upper() + name[1:]
            out += [
                Metric(f"{svc}_utilisation", f"{name} utilisation", "share", headline=160 + 2 * k),
                Metric(f"{svc}_wait_days_mean", f"Mean {name} wait, days", "mean days", headline=161 + 2 * k),
                Metric(f"{svc}_referrals", f"{name} referrals a year", "a year"),
                Metric(f"{svc}_supported", f"Victims supported by {name} a year", "a year"),
                Metric(f"{svc}_waiting", f"Victims waiting for {name} (stock)", "stock"),
                Metric(f"{svc}_lapsed", f"{name} referrals lapsed a year", "a year"),
                Metric(f"{svc}_share_days_case_open", f"{name} support-days while the case was open", "share"),
                Metric(f"{svc}_other_supported", f"Victims referred from outside supported by {name} a year", "a year"),
                Metric(f"{svc}_other_lapsed", f"Referrals from outside to {name} lapsed a year", "a year"),
                *yearly(f"{svc}_waiting_at_year", f"Victims waiting for {name} (stock)", "stock", range(1, int(scenario.run.years + 1e-9) + 1)),
            ]
        return out

    @classmethod
    def kpis(cls, scenario, output, start: float, end: float) -> list[tuple[str, str, float]]:
        """Each service's use, waits, referrals, lapsed referrals and the share of its support-days
        that fell while the criminal case was open; victims supported by route and by the stage
        their case had reached."""
        cases, years = output.cases, (end - start) / 365.0
        rows = []
        data = output.stage_data["support"]
        for service, used in data.items():
            mine = cases[cases["support_service"] == service]
            s = mine["t_support_start"].clip(lower=start, upper=end)
            e = mine["t_support_end"].fillna(end).clip(lower=start, upper=end)
            busy = float((e - s).where(mine["t_support_start"].notna(), 0.0).clip(lower=0).sum())
            other = used["outside_episodes"]
            rows.append((f"{service}_utilisation", "all", utilisation(mine["t_support_start"], mine["t_support_end"], other, used["places"], start, end)))
            rows.append((f"{service}_other_supported", "all", float(((other[:, 0] >= start) & (other[:, 0] < end)).sum()) / years))
            gone = used["outside_lapsed"]
            rows.append((f"{service}_other_lapsed", "all", float(((gone >= start) & (gone < end)).sum()) / years))
            open_until = np.minimum(e, mine["t_exit"].fillna(end).clip(lower=start, upper=end))
            live = float((open_until - s).where(mine["t_support_start"].notna(), 0.0).clip(lower=0).sum())
            rows.append((f"{service}_share_days_case_open", "all", live / busy if busy > 0 else np.nan))
            started = (mine["t_support_start"] >= start) & (mine["t_support_start"] < end)
            waits = (mine["t_support_start"] - mine["t_support_referral"])[started]
            rows.append((f"{service}_wait_days_mean", "all", float(waits.mean()) if len(waits) else np.nan))
            referred = (mine["t_support_referral"] >= start) & (mine["t_support_referral"] < end)
            rows.append((f"{service}_referrals", "all", float(referred.sum()) / years))
            rows.append((f"{service}_supported", "all", float(started.sum()) / years))
            lapsed = (mine["t_support_lapsed"] >= start) & (mine["t_support_lapsed"] < end)
            rows.append((f"{service}_lapsed", "all", float(lapsed.sum()) / years))
        started = (cases["t_support_start"] >= start) & (cases["t_support_start"] < end)
        rows.append(("victims_supported", "all", float(started.sum()) / years))
        for offence in [*scenario.offences, "all"]:
            mine = started if offence == "all" else started & (cases["offence"] == offence)
            for route in ROUTES:
                rows.append((f"victims_supported_at_{route}", offence, float((mine & (cases["support_route"] == route)).sum()) / years))
            for stage in STAGES:
                rows.append((f"victims_supported_during_{stage}", offence, float((mine & (cases["support_stage"] == stage)).sum()) / years))
        rows += stocks(output.timeseries, [f"{service}_waiting" for service in data], start, end)
        return rows

    @classmethod
    def costs(cls, scenario, get) -> dict[str, float]:
        uc = scenario.costs
        return {"cost_advocacy": ("delivery", sum(s.staff * uc.advocate_year[n] for n, s in scenario.support.services.items()))}
