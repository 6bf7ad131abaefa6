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

from ..scenario.schema import AdvocacyService, Support
from .entities import Exit
from .pools import Pool


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


class AdvocacyServiceModel:
    """One service's slots and waiting list, driven by event callbacks (one timeout per support)."""

    def __init__(self, world, name: str, params: AdvocacyService):
        self.world = world
        self.name = name
        self.params = params
        slots = max(1, round(params.staff * params.caseload))
        self.pool = Pool(world.env, slots, name, lapsed=lambda i, now: not world.case_open(i, now), levels=len(params.priority) + 1)
        self._ending: dict[int, list[int]] = {}

    def refer(self, i: int) -> None:
        """Put the victim of case ``i`` on the waiting list; support starts when a slot is free."""
        c = self.world.cases
        c.support_service[i] = self.name
        c.t_support_referral[i] = self.world.env.now
        self.pool.call_when_free(i, self._start, waiting_list_level(self.params, c.risk[i]))

    def _start(self, i: int) -> None:
        w = self.world
        c, now = w.cases, w.env.now
        c.t_support_start[i] = now
        if c.exit[i] == Exit.OPEN:
            w.clock.scale_hazard(i, now, w.scenario.support.effect.hr_withdrawal)
        # Support ends at the close of the day its duration runs out: one event a day for all the
        # support ending that day, not one per victim.
        day = math.ceil(now + c.d_support[i])
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
