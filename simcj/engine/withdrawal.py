"""Victim engagement: withdrawal as a competing risk.

Each victim's withdrawal hazard over time since report is Weibull, ``h0(tau) = (k/lam) (tau/lam)^(k-1)``,
multiplied by factors that switch on at known moments (advocacy support starts, the case is
charged, it is listed at a specialist court). The victim withdraws when the accumulated hazard
reaches a unit-exponential draw ``E`` that belongs to the case.

This is sampled, not polled. Between changes of multiplier the victim withdraws when the baseline
cumulative hazard ``H0(tau) = (tau/lam)^k`` reaches a level ``T``: at first ``T = E``; when the
multiplier changes by a factor ``f`` at ``tau``, the hazard still to come shrinks by ``f``, so
``T' = H0(tau) + (T - H0(tau)) / f``. That is exactly "resample the remainder when support changes"
with no re-draw, so common random numbers survive. The clock keeps ``T`` and the withdrawal time it
implies for each case, so asking when a victim withdraws is one array read (it is asked at every
piece of work and every waiting-list check). Decision points (the end of an investigation, a
charging decision, a hearing, a trial listing) ask whether the withdrawal time has passed; a change
that comes after the victim has withdrawn (support starting for a case that has not yet noticed)
changes nothing. Support only ever lowers the hazard (the schema holds
``support.effect.hr_withdrawal`` to at most 1), so a stage that sleeps until the earlier of its
work's end and the current withdrawal time never oversleeps. A case of a class with no
``withdrawal:`` section has an infinite draw: no victim withdraws it.
"""

from __future__ import annotations

import math
from array import array

import numpy as np

INF = math.inf


def cumulative_hazard(tau: float, shape: float, scale: float) -> float:
    """Weibull cumulative hazard H0(tau) = (tau/scale)^shape, zero before the report."""
    return (tau / scale) ** shape if tau > 0.0 else 0.0


def time_at_cumulative(h: float, shape: float, scale: float) -> float:
    """Inverse of :func:`cumulative_hazard`: the time since report at which H0 reaches ``h``.

    Infinite when that time is beyond floating point (a hazard scaled almost to zero).
    """
    if h <= 0.0:
        return 0.0
    try:
        return scale * h ** (1.0 / shape)
    except OverflowError:
        return INF


class WithdrawalClock:
    """Per-case withdrawal state of one replication (parallel sequences indexed by case id)."""

    def __init__(self, t_report, e_draw, cls, shape_by_class, scale_by_class):
        self.t0 = t_report
        self.cls = cls
        self.shapes = list(shape_by_class)
        self.scales = list(scale_by_class)
        e = np.asarray(e_draw, dtype=float)
        c = np.asarray(cls, dtype=np.int64)
        k, lam = np.asarray(self.shapes, dtype=float)[c], np.asarray(self.scales, dtype=float)[c]
        with np.errstate(over="ignore"):
            at = np.asarray(t_report, dtype=float) + lam * e ** (1.0 / k)
        self.level = array("d", e.tobytes())  # T: the H0 level at which the victim withdraws
        self.at = array("d", at.tobytes())  # the withdrawal time T implies

    def time(self, i: int) -> float:
        """Absolute time at which case ``i``'s victim withdraws if nothing changes from now on."""
        return self.at[i]

    def restart(self, i: int, e_draw: float, factor: float) -> None:
        """Start case ``i``'s clock again from its report time (just moved: a crime recorded from a
        third-party report, whose victim's time since report runs from the record), her hazard
        ``factor`` times the baseline from then on."""
        c = self.cls[i]
        self.level[i] = level = e_draw / factor if factor > 0.0 else INF
        self.at[i] = self.t0[i] + time_at_cumulative(level, self.shapes[c], self.scales[c])

    def scale_hazard(self, i: int, now: float, factor: float) -> None:
        """Multiply case ``i``'s hazard by ``factor`` from ``now`` on (nothing, once she has withdrawn)."""
        if factor == 1.0 or self.at[i] <= now:
            return
        c = self.cls[i]
        k, lam, t0 = self.shapes[c], self.scales[c], self.t0[i]
        h = cumulative_hazard(now - t0, k, lam)
        level = h + (self.level[i] - h) / factor if factor > 0.0 else INF
        self.level[i] = level
        self.at[i] = t0 + time_at_cumulative(level, k, lam)
