"""Arrival processes: a seasonal Poisson process, categorical draws, and recurrent events by thinning.

Both pathways draw their cases with these: the victims' incidents and a course of abuse's further
incidents (:mod:`simcj.vawg.reporting`, :mod:`simcj.vawg.repeats`), the women's arrests and
re-arrests (:mod:`simcj.women.arrests`).
"""

from __future__ import annotations

import numpy as np

DAYS_PER_YEAR = 365.0


def whole_years(start: float, end: float) -> list[tuple[float, float]]:
    """The whole years of [start, end), in order: [(start, start + 365), ...]."""
    return [(start + DAYS_PER_YEAR * (k - 1), start + DAYS_PER_YEAR * k) for k in range(1, int((end - start) / DAYS_PER_YEAR + 1e-9) + 1)]


def seasonal_factor(t: np.ndarray, amplitude: float, peak_day: float) -> np.ndarray:
    """Relative incidence on day ``t``: 1 + amplitude * cos(2 pi (t - peak)/365)."""
    return 1.0 + amplitude * np.cos(2.0 * np.pi * (t - peak_day) / DAYS_PER_YEAR)


def incident_times(rng: np.random.Generator, per_year: float, amplitude: float, peak_day: float, start: float, end: float, level=None) -> np.ndarray:
    """Arrival times (unordered) of a seasonal Poisson process on [start, end), by thinning.

    ``level(t)``, if given, is the rate at times ``t`` as a share of ``per_year`` (at most 1): a
    rate that follows dated values (:meth:`simcj.scenario.timelines.Timeline.levels`)."""
    rate_max = per_year / DAYS_PER_YEAR * (1.0 + amplitude)
    n = rng.poisson(rate_max * (end - start))
    t = rng.uniform(start, end, n)
    accept = seasonal_factor(t, amplitude, peak_day)
    if level is not None:
        accept = accept * level(t)
    keep = rng.random(n) * (1.0 + amplitude) < accept
    return t[keep]


def categorical(u: np.ndarray, weights: dict[str, float]) -> np.ndarray:
    """Index into ``list(weights)`` chosen by uniforms ``u`` with probabilities proportional to the weights."""
    w = np.array(list(weights.values()), dtype=float)
    cum = np.cumsum(w / w.sum())
    cum[-1] = 1.0
    return np.minimum(np.searchsorted(cum, u, side="right"), len(w) - 1)


def recurrent_events(rng: np.random.Generator, t_first: np.ndarray, rp, cap: float, horizon: float):
    """Candidate recurrences for people whose first event is at ``t_first``: (person index, time).

    A victim's course of abuse (:mod:`simcj.vawg.repeats`) and a woman's criminal career
    (:mod:`simcj.women.arrests`) are drawn so; ``rp`` gives ``rate_per_year``, ``course_years`` and
    ``rate_cv``.

    Each course has its own length (exponential) and its own rate: the given rate times a
    gamma frailty of mean 1 and coefficient of variation ``rate_cv`` (a few victims suffer most of
    the repeats: under 2% of Suffolk couples caused 80% of the harm, Bland & Ariel 2015)."""
    n = t_first.size
    length = rng.exponential(rp.course_years * DAYS_PER_YEAR, n)
    frailty = rng.gamma(1.0 / rp.rate_cv**2, rp.rate_cv**2, n) if rp.rate_cv > 0.0 else np.ones(n)
    span = np.clip(np.minimum(t_first + length, horizon) - t_first, 0.0, None)
    counts = rng.poisson(rp.rate_per_year * frailty * cap * span / DAYS_PER_YEAR)
    victim = np.repeat(np.arange(t_first.size), counts)
    return victim, t_first[victim] + rng.random(victim.size) * span[victim]


def happens(hr: float, cap: float, u: float) -> bool:
    """Thinning: a candidate incident happens with probability HR / cap."""
    return u * cap < hr
