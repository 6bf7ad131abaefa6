"""Confidence intervals across replications."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

KEYS = ["metric", "offence", "group"]


def summarise(kpis: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Mean, standard deviation and t-based CI of each (metric, offence, group) across replications."""
    g = kpis.dropna(subset=["value"]).groupby(KEYS, sort=True)["value"]
    out = g.agg(mean="mean", sd="std", n_reps="count").reset_index()
    q = stats.t.ppf(0.5 + level / 2, np.maximum(out["n_reps"] - 1, 1))
    half = np.where(out["n_reps"] > 1, q * out["sd"] / np.sqrt(out["n_reps"]), np.nan)
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    return out[KEYS + ["mean", "ci_low", "ci_high", "sd", "n_reps"]]
