"""Victim engagement: withdrawal as a competing risk.

Each victim's withdrawal hazard over time since report is Weibull, ``h0(tau) = (k/lam) (tau/lam)^(k-1)``,
multiplied by factors that switch on at known moments (advocacy support starts, the case is
charged, it is listed at a specialist court). The victim withdraws when the accumulated hazard
reaches a unit-exponential draw ``E`` that belongs to the case.

This is sampled, not polled: at any moment the withdrawal time under the current multiplier is a
closed form (:meth:`WithdrawalClock.time`). When a multiplier changes, the hazard used so far is
banked and the remainder is re-solved, which is exactly "resample the remainder when support
changes" with no re-draw, so common random numbers survive. Decision points (the end of an
investigation, a charging decision, a hearing, a trial listing) ask whether the withdrawal time has
passed. Support only ever lowers the hazard (the schema holds ``support.effect.hr_withdrawal`` to at
most 1), so a stage that sleeps until the earlier of its work's end and the current withdrawal time
never oversleeps. A case of a class with no ``withdrawal:`` section has an infinite draw: no victim
withdraws it.
"""

from __future__ import annotations

import math
from array import array

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
        self.e = e_draw
        self.cls = cls
        self.shapes = shape_by_class
        self.scales = scale_by_class
        n = len(t_report)
        self.banked = array("d", [0.0]) * n  # hazard accumulated up to t_last
        self.t_last = array("d", t_report)
        self.mult = array("d", [1.0]) * n

    def time(self, i: int) -> float:
        """Absolute time at which case ``i``'s victim withdraws if nothing changes from now on."""
        m = self.mult[i]
        if m <= 0.0:
            return INF
        k, lam, t0 = self.shapes[self.cls[i]], self.scales[self.cls[i]], self.t0[i]
        target = cumulative_hazard(self.t_last[i] - t0, k, lam) + (self.e[i] - self.banked[i]) / m
        return t0 + time_at_cumulative(target, k, lam)

    def scale_hazard(self, i: int, now: float, factor: float) -> None:
        """Multiply case ``i``'s hazard by ``factor`` from ``now`` on, banking what was used so far."""
        k, lam, t0 = self.shapes[self.cls[i]], self.scales[self.cls[i]], self.t0[i]
        used = cumulative_hazard(now - t0, k, lam) - cumulative_hazard(self.t_last[i] - t0, k, lam)
        self.banked[i] += self.mult[i] * used
        self.t_last[i] = now
        self.mult[i] *= factor
