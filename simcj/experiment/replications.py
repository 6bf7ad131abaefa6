"""How many replications: the confidence-interval method of Hoad, Robinson and Davies (2010).

For each headline KPI, the relative half-width of its 95% CI after n replications is

    d_n = t(n-1, 0.975) * s_n / sqrt(n) / |mean_n|.

The number chosen is the smallest n at which every headline KPI has d_n <= the precision asked for
(5% by default) and keeps it for ``k_limit`` more replications (the look-ahead that guards against
a lucky early estimate). Replications are run in batches as needed; a replication's results depend
only on its number, so nothing is wasted: the runs made while choosing are the run.

Reference: Hoad, Robinson & Davies (2010), Automated selection of the number of replications for a
discrete-event simulation, J. Operational Research Society 61(11):1632-1644.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd
from scipy import stats

from ..scenario.schema import Scenario
from .catalogue import key_results
from .executor import EVERYTHING, executor_for
from .results import Results, from_replications
from .runner import resolve, run_replications

MIN_REPS = 3


@dataclass(frozen=True)
class Precision:
    target: float = 0.05
    k_limit: int = 5
    max_reps: int = 50


def relative_half_widths(values: pd.DataFrame) -> pd.DataFrame:
    """d_n for n = 2..N for each column of ``values`` (rows: replications in order)."""
    out = {}
    for col in values.columns:
        x = values[col].to_numpy(dtype=float)
        n = np.arange(1, len(x) + 1)
        mean = np.cumsum(x) / n
        var = np.array([np.var(x[:k], ddof=1) if k > 1 else np.nan for k in n])
        t = stats.t.ppf(0.975, np.maximum(n - 1, 1))
        with np.errstate(divide="ignore", invalid="ignore"):
            out[col] = np.where(n > 1, t * np.sqrt(var) / np.sqrt(n) / np.abs(mean), np.nan)
    frame = pd.DataFrame(out, index=pd.RangeIndex(1, len(values) + 1, name="replications"))
    return frame.iloc[1:]


def solution(d: pd.DataFrame, p: Precision) -> Optional[int]:
    """Smallest n with every d_n <= target from n through n + k_limit (None if not yet reached)."""
    ok = (d.fillna(np.inf) <= p.target).all(axis=1)
    ns = list(ok.index)
    for j, n in enumerate(ns):
        if n < MIN_REPS:
            continue
        window = ok.iloc[j : j + p.k_limit + 1]
        if len(window) == p.k_limit + 1 and window.all():
            return int(n)
    return None


def key_values(kpis: pd.DataFrame, keys: list[tuple]) -> pd.DataFrame:
    """Replication x key result (``keys``: (metric, offence, ...), the catalogue's; results the
    scenario does not produce are left out): their precision decides the number of replications."""
    k = kpis[kpis["group"] == "all"]
    cols = {}
    for metric, offence, *_ in keys:
        sel = k[(k["metric"] == metric) & (k["offence"] == offence)].set_index("replication")["value"]
        if len(sel):
            cols[f"{metric} ({offence})"] = sel.sort_index()
    return pd.DataFrame(cols)


def simulate_to_precision(
    scenario: Scenario,
    precision: Precision = Precision(),
    seed: Optional[int] = None,
    scale: float = 1.0,
    jobs=1,
    progress: Optional[Callable[[float], None]] = None,
    want: frozenset = EVERYTHING,
) -> tuple[Results, pd.DataFrame, Optional[int]]:
    """Run replications until the headline KPIs reach the precision; returns (results, d table, n).

    The results keep every replication run (n plus the look-ahead): none is thrown away. ``n`` is None when ``max_reps`` ran out first: the results then hold ``max_reps`` replications
    and the caller must say that the precision was not reached.
    """
    spec = resolve(scenario, reps=precision.max_reps, seed=seed, scale=scale)
    keys = key_results(scenario)
    start = time.perf_counter()
    done: list = []
    executor = executor_for(jobs)
    batch = max(executor.jobs, MIN_REPS)
    chosen = None
    while len(done) < precision.max_reps:
        first = len(done)
        todo = list(range(first, min(precision.max_reps, first + batch)))
        inner = None if progress is None else _batch_progress(progress, first, len(todo), precision.max_reps)
        done += run_replications(spec, jobs=executor, progress=inner, replications=todo, want=want)
        d = relative_half_widths(key_values(pd.concat([r.kpis for r in done], ignore_index=True), keys))
        chosen = solution(d, precision)
        if chosen is not None:
            break
        batch = executor.jobs
    if progress is not None:
        progress(1.0)
    results = from_replications(spec, done, time.perf_counter() - start, executor)
    return results, d, chosen


def _batch_progress(progress: Callable[[float], None], first: int, size: int, total: int) -> Callable[[float], None]:
    """Report a batch's progress as a fraction of the most replications that may be run."""
    return lambda f: progress(min(1.0, (first + f * size) / total))
