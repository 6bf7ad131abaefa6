"""A service with places: places that run out, a waiting list whose referrals lapse after a longest
wait, referrals from outside the pathway that share the places, and how much the places were used.

A stage that runs such a service (an IDVA service's caseload slots, a perpetrator programme's
places, a refuge's bed spaces, a women's centre's key workers) keeps its cases' records itself; the
block keeps the places, the waiting list and the episodes of the people it serves from outside the
pathway, whose arrival times and lengths are drawn up front from the service's own stream
(:func:`draw_outside`), so they are the same in every option.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional

import numpy as np
import simpy

from .alarms import callbacks, set_alarm
from .pools import Pool


class Places:
    """``places`` places and a waiting list (FIFO within each of ``levels`` priorities).

    Items are case numbers (0 and up) or outside referrals (negative). A waiting item lapses when
    ``lapsed(item, now)`` says so (its case has closed, say), or when it has waited longer than
    ``max_wait_days``; ``on_lapse(item, when)`` is then told when it lapsed.
    """

    def __init__(self, env: simpy.Environment, name: str, places: float, max_wait_days: Optional[float] = None,
                 lapsed: Optional[Callable[[int, float], bool]] = None, on_lapse: Optional[Callable[[int, float], None]] = None, levels: int = 1):
        self.env, self.name, self.max_wait_days = env, name, max_wait_days
        self._lapsed_too, self._on_lapse = lapsed, on_lapse
        self.pool = Pool(env, max(1, round(places)), name, lapsed=self._lapsed, levels=levels)
        self._joined: dict[int, float] = {}
        self.outside_episodes: list[tuple[float, float]] = []  # (start, end) of each outside referral's stay
        self.outside_lapsed: list[float] = []  # when each outside referral lapsed unserved
        self._outside_times: list[float] = []
        self._outside_days: list[float] = []

    def refer(self, item: int, granted: Callable[[int], None], level: int = 0) -> None:
        """Put ``item`` on the waiting list; ``granted(item)`` is called when a place is free."""
        self._joined[item] = self.env.now
        self.pool.call_when_free(item, lambda it: self._grant(it, granted), level)

    def _grant(self, item: int, granted: Callable[[int], None]) -> None:
        del self._joined[item]
        granted(item)

    def leave(self) -> None:
        """A place is free again."""
        self.pool.release()

    def resize(self, places: float) -> None:
        self.pool.resize(max(1, round(places)))

    def _lapsed(self, item: int, now: float) -> bool:
        joined = self._joined[item]
        if self._lapsed_too is not None and item >= 0 and self._lapsed_too(item, now):
            del self._joined[item]
            return True
        if self.max_wait_days is not None and now - joined > self.max_wait_days:
            del self._joined[item]
            when = joined + self.max_wait_days
            if item < 0:
                self.outside_lapsed.append(when)
            elif self._on_lapse is not None:
                self._on_lapse(item, when)
            return True
        return False

    def begin_outside(self, times: list[float], days: list[float], level: int = 0) -> None:
        """Referrals from outside the pathway at ``times``, each holding a place for its ``days``
        (drawn up front: :func:`draw_outside`)."""
        self._outside_times, self._outside_days, self._outside_level = times, days, level
        self._outside_alarm = callbacks(lambda alarm: self._outside_arrives(alarm.i))
        if times:
            set_alarm(self.env, times[0] - self.env.now, self._outside_alarm, 0)

    def _outside_arrives(self, k: int) -> None:
        self.refer(-(k + 1), self._start_outside, self._outside_level)
        if k + 1 < len(self._outside_times):
            set_alarm(self.env, self._outside_times[k + 1] - self.env.now, self._outside_alarm, k + 1)

    def _start_outside(self, item: int) -> None:
        now, days = self.env.now, self._outside_days[-item - 1]
        self.outside_episodes.append((now, now + days))
        self.pool.release_after(days)

    def finish(self) -> dict:
        """What the service's KPIs need after the run."""
        return {
            "places": self.pool.capacity,
            "outside_episodes": np.array(self.outside_episodes, dtype=float).reshape(-1, 2),
            "outside_lapsed": np.array(self.outside_lapsed, dtype=float),
        }

    def snapshot(self, prefix: str):
        return self.pool.snapshot(prefix)

    def clear(self) -> None:
        self.pool.clear()


def draw_outside(rng: np.random.Generator, per_year: float, length, now: float, horizon: float) -> tuple[list[float], list[float]]:
    """Referrals from outside the pathway from ``now`` to the horizon, ``per_year`` a year (Poisson),
    each staying for a draw of ``length`` (a distribution with ``ppf``): (times, days)."""
    if per_year <= 0.0:
        return [], []
    n = rng.poisson(per_year * (horizon - now) / 365.0)
    times = np.sort(rng.uniform(now, horizon, n)).tolist()
    return times, length.ppf(rng.random(n)).tolist()


def utilisation(starts, ends, outside: Optional[np.ndarray], places: float, start: float, end: float) -> float:
    """The share of the place-days of [start, end) in use: stays from ``starts`` to ``ends`` (NaN
    start: never began; NaN end: still there) and the outside referrals' (start, end) episodes, if any."""
    s = np.clip(np.asarray(starts, dtype=float), start, end)
    e = np.clip(np.nan_to_num(np.asarray(ends, dtype=float), nan=end), start, end)
    busy = float(np.nansum(np.where(np.isnan(np.asarray(starts, dtype=float)), 0.0, np.clip(e - s, 0.0, None))))
    if outside is not None:
        busy += float((np.clip(outside[:, 1], start, end) - np.clip(outside[:, 0], start, end)).sum())
    return busy / (places * (end - start))
