"""Does every queue behave as London's did? Each backlog and waiting list's trend over the measured years.

A queue's growth a year is the least-squares slope of its weekly snapshots over the measured
period, relative to its mean level there; over a year or more an annual cycle is fitted beside the
slope, so that seasonal demand is not read as growth. Against it stands the published trend for that period:
a target ``<queue>_growth_per_year`` in the targets file (the published range), or, where none is
published, a steady queue (within :data:`STEADY_GROWTH` a year either way): a base with no dated
inputs must be in steady state, so an option's effect is its own and not a queue clearing. A
queue fails when the 95% CI of its growth over replications lies wholly outside that range.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..experiment import catalogue

STEADY_GROWTH = 0.05  # a steady queue grows or drains by less than 5% of its level a year
EMPTY = 1.0  # a queue whose mean level is under one case is empty: it has no trend
GROWTH = "_growth_per_year"
COLUMNS = ["queue", "label", "level", "growth_per_year", "ci_low", "ci_high", "published_low", "published_high", "published", "verdict", "passed"]


SEASONAL_SPAN = 300.0  # days of snapshots from which an annual cycle is fitted beside the trend


def growth_per_year(days: np.ndarray, values: np.ndarray) -> float:
    """The least-squares slope a year of a stock's snapshots, relative to its mean level, with an
    annual cycle (a cosine and a sine of the day) fitted beside it over a span of 300 days or more
    (NaN when the stock is empty or has fewer than two snapshots)."""
    level = float(np.mean(values)) if len(values) else 0.0
    if len(values) < 2 or level < EMPTY or np.ptp(days) == 0:
        return float("nan")
    columns = [np.ones(len(days)), days - days.mean()]
    if np.ptp(days) >= SEASONAL_SPAN and len(days) > 6:
        angle = 2.0 * np.pi * days / 365.0
        columns += [np.cos(angle), np.sin(angle)]
    coef = np.linalg.lstsq(np.column_stack(columns), values, rcond=None)[0]
    return float(coef[1] * 365.0 / level)


def verdict(low: float, high: float, allowed: tuple[float, float], published: bool) -> tuple[str, bool]:
    """How a queue's growth (its 95% CI, ``low`` to ``high``) stands against the allowed range."""
    lo, hi = allowed
    if not (np.isfinite(low) and np.isfinite(high)):
        return "empty", True
    if high < lo:
        return ("drains faster than published" if published else "drains where London's was steady"), False
    if low > hi:
        return ("grows faster than published" if published else "grows where London's was steady"), False
    return ("as published" if published else "steady"), True


def queue_trends(timeseries: pd.DataFrame, scenario, start: float, end: float, targets: pd.DataFrame | None = None, dated: set[str] = frozenset()) -> pd.DataFrame:
    """Every monitored queue's growth a year over [start, end], by replication, against its
    published trend (a ``<queue>_growth_per_year`` target) or a steady state. A queue in ``dated``
    has a published history the run is held against date by date (:mod:`simcj.calibrate.history`):
    that judges it instead."""
    published = {}
    if targets is not None:
        for _, t in targets[targets["metric"].str.endswith(GROWTH)].iterrows():
            published[t["metric"].removesuffix(GROWTH)] = (float(t["low"]), float(t["high"]))
    window = timeseries[(timeseries["day"] >= start) & (timeseries["day"] <= end)]
    rows = []
    for queue, label in catalogue.stocks(scenario):
        mine = window[window["series"] == queue]
        if mine.empty:
            continue
        by_rep = [growth_per_year(r["day"].to_numpy(float), r["value"].to_numpy(float)) for _, r in mine.groupby("replication")]
        g = np.array([x for x in by_rep if np.isfinite(x)])
        mean = float(g.mean()) if len(g) else float("nan")
        half = float(stats.t.ppf(0.975, len(g) - 1) * g.std(ddof=1) / np.sqrt(len(g))) if len(g) > 1 else float("nan")
        allowed = published.get(queue, (-STEADY_GROWTH, STEADY_GROWTH))
        if queue in dated:
            text, passed = "judged by London's history", True
        elif len(g) == 1:
            text, passed = "one replication with a trend: too few to judge", True
        else:
            text, passed = verdict(mean - half, mean + half, allowed, queue in published)
        rows.append({
            "queue": queue, "label": label, "level": float(mine["value"].mean()), "growth_per_year": mean,
            "ci_low": mean - half, "ci_high": mean + half, "published_low": allowed[0], "published_high": allowed[1],
            "published": queue in published, "verdict": text, "passed": passed,
        })  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)
