"""Confidence intervals across replications."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..scenario.timelines import calendar

KEYS = ["metric", "offence", "group"]


def summarise(kpis: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Mean, standard deviation and t-based CI of each (metric, offence, group) across replications.

    Replications where a rate or duration is undefined (no denominator, no case) are left out of
    its mean; ``n_reps`` says how many counted, and a KPI undefined in all of them is kept with an
    empty mean and ``n_reps`` 0, so every KPI has its row.
    """
    g = kpis.groupby(KEYS, sort=True)["value"]
    out = g.agg(mean="mean", sd="std", n_reps="count").reset_index()
    q = stats.t.ppf(0.5 + level / 2, np.maximum(out["n_reps"] - 1, 1))
    half = np.where(out["n_reps"] > 1, q * out["sd"] / np.sqrt(out["n_reps"]), np.nan)
    # A KPI is a count, a duration or a proportion, clipped at those natural bounds (a t-interval
    # from few replications can otherwise run below zero or above 100%), or a difference or a
    # growth, which may be negative.
    signed = out["metric"].str.endswith(SIGNED_SUFFIXES)
    out["ci_low"] = np.where(signed, out["mean"] - half, np.maximum(out["mean"] - half, 0.0))
    high = out["mean"] + half
    out["ci_high"] = np.where(out["metric"].map(is_proportion), np.minimum(high, 1.0), high)
    return out[KEYS + ["mean", "ci_low", "ci_high", "sd", "n_reps"]]


SIGNED_SUFFIXES = ("_gap", "_growth_per_year", "_change_on_previous_year")


def is_proportion(metric: str) -> bool:
    """Metrics bounded by 0 and 1 (rates, shares, utilisations; not the per-100 arrest rate)."""
    return metric.startswith(("rate_", "share_")) or metric.endswith(("_utilisation", "_rate", "_share", "_safe_12m"))


def by_year(yearly: pd.DataFrame, scenario, warmup_days: float) -> pd.DataFrame:
    """:func:`summarise` for each measured year of ``yearly`` (replication, year, metric, ...): a
    ``year`` column (1 = the first year after the warm-up) and, with a start date, the year's first
    and last calendar days (``from``, ``to``)."""
    parts = [summarise(rows.drop(columns="year")).assign(year=int(year)) for year, rows in yearly.groupby("year", sort=True)]
    if not parts:
        return pd.DataFrame(columns=["year", *KEYS, "mean", "ci_low", "ci_high", "sd", "n_reps"])
    out = pd.concat(parts, ignore_index=True)
    out = out[["year", *KEYS, "mean", "ci_low", "ci_high", "sd", "n_reps"]]
    start = scenario.run.start_date
    if start is not None:
        first = calendar(start, warmup_days + 365.0 * (out["year"] - 1))
        out.insert(1, "from", first.strftime("%Y-%m-%d"))
        out.insert(2, "to", (first + pd.Timedelta(days=364)).strftime("%Y-%m-%d"))
    return out
