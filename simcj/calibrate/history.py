"""Back-casts: a dated run's series against London's published history (``calibration/history.csv``).

Each row of the history file is one published figure: a monitored series of the run (a backlog,
a waiting list) on a calendar date, whether the baseline's inputs were derived from it (``use``
``fit``) or it is held out (``holdout``), and its source. A run with a start date is read at each
date (the last snapshot on or before it, per replication, at London's scale), and each series is
scored on its fitted and its held-out points apart:

* the mean absolute percentage error, MAPE = mean(|simulated - published| / published);
* Theil's inequality coefficient, U = RMSE / (RMS(simulated) + RMS(published)) (Theil 1966, the
  U1 form: 0 a perfect fit, 1 the worst), which unlike MAPE does not favour under-prediction.

A series fails when its held-out MAPE exceeds :data:`MAX_HELD_OUT_MAPE`: no parameter is derived
from a held-out point, so that is the test of the model against time.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from ..experiment import catalogue
from ..scenario.loader import Problem, ScenarioError
from .targets import USES, read_table

COLUMNS = ["series", "date", "value", "geography", "source", "notes", "use"]
MAX_HELD_OUT_MAPE = 0.25
POINT_COLUMNS = ["series", "date", "use", "published", "simulated", "sim_ci_low", "sim_ci_high", "scored"]
STAT_COLUMNS = ["series", "use", "points", "mape", "theil_u"]


def load_history(path: str | Path, scenario=None) -> pd.DataFrame:
    """Read and check a history file; problems are reported like a bad scenario file (exit 2). With
    ``scenario``, every series must be one of its monitored stocks."""
    shown = str(path)
    t = read_table(path, COLUMNS, "published figure")
    known = {name for name, _ in catalogue.stocks(scenario)} if scenario is not None else None
    problems = []
    for row, r in t.iterrows():
        where = f"row {row + 2}"
        try:
            if not (math.isfinite(float(r["value"])) and float(r["value"]) > 0):
                problems.append(Problem(shown, f"{where}.value", f"expected a positive number, found {r['value']!r}"))
        except ValueError:
            problems.append(Problem(shown, f"{where}.value", f"expected a number, found {r['value']!r}"))
        try:
            date.fromisoformat(r["date"])
        except ValueError:
            problems.append(Problem(shown, f"{where}.date", f"expected a date YYYY-MM-DD, found {r['date']!r}"))
        if known is not None and r["series"] not in known:
            problems.append(Problem(shown, f"{where}.series", f"'{r['series']}' is not a stock the scenario monitors (one of {sorted(known)})"))
        if r["use"] not in USES:
            problems.append(Problem(shown, f"{where}.use", f"expected one of {list(USES)}, found {r['use']!r}"))
        if not r["source"].strip():
            problems.append(Problem(shown, f"{where}.source", "every published figure needs a source"))
    if problems:
        raise ScenarioError(problems)
    return t.assign(value=t["value"].astype(float))


def mape(simulated: np.ndarray, published: np.ndarray) -> float:
    return float(np.mean(np.abs(simulated - published) / published)) if len(published) else float("nan")


def theil_u(simulated: np.ndarray, published: np.ndarray) -> float:
    if not len(published):
        return float("nan")
    rms = lambda x: float(np.sqrt(np.mean(np.square(x))))  # noqa: E731
    return rms(simulated - published) / (rms(simulated) + rms(published))


def back_cast(timeseries: pd.DataFrame, scenario, history: pd.DataFrame, scale: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each published point beside the run's value on its date (mean and 95% range over replications,
    at London's scale), and each series' MAPE and Theil's U on its fitted and held-out points.
    A point before the measured period (in the warm-up) or after the run is shown, not scored."""
    start = pd.Timestamp(scenario.run.start_date)
    first, last = scenario.run.warmup_years * 365.0, (scenario.run.warmup_years + scenario.run.years) * 365.0
    points = []
    for _, h in history.sort_values(["series", "date"]).iterrows():
        day = (pd.Timestamp(h["date"]) - start).days
        mine = timeseries[(timeseries["series"] == h["series"]) & (timeseries["day"] <= day)]
        values = mine.groupby("replication")["value"].last().to_numpy(float) / scale if len(mine) else np.array([])
        scored = bool(first <= day <= last and len(values))
        points.append({
            "series": h["series"], "date": h["date"], "use": h["use"], "published": h["value"],
            "simulated": float(values.mean()) if len(values) else float("nan"),
            "sim_ci_low": float(np.percentile(values, 2.5)) if len(values) else float("nan"),
            "sim_ci_high": float(np.percentile(values, 97.5)) if len(values) else float("nan"),
            "scored": scored,
        })  # fmt: skip
    points = pd.DataFrame(points, columns=POINT_COLUMNS)
    stats = []
    for (series, use), mine in points[points["scored"]].groupby(["series", "use"], sort=True):
        sim, pub = mine["simulated"].to_numpy(float), mine["published"].to_numpy(float)
        stats.append({"series": series, "use": use, "points": len(mine), "mape": mape(sim, pub), "theil_u": theil_u(sim, pub)})
    return points, pd.DataFrame(stats, columns=STAT_COLUMNS)


def held_out_fails(stats: pd.DataFrame) -> list[str]:
    """The series whose held-out points the run misses by more than :data:`MAX_HELD_OUT_MAPE` on average."""
    held = stats[stats["use"] == "holdout"]
    return list(held.loc[held["mape"] > MAX_HELD_OUT_MAPE, "series"])
