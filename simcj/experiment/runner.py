"""Running replications: in this process or on all local cores, with the same results either way.

Each replication is independent and seeded from (seed, replication) alone, so the results do not
depend on which worker ran it or in what order. Results are assembled in replication order.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd

from ..model.entities import Exit, Plea, Venue
from ..model.world import run_replication
from ..scenario.loader import scaled
from ..scenario.schema import Scenario
from .kpis import replication_kpis
from .stats import summarise

LABELLED = {"exit": Exit, "venue": Venue, "plea": Plea}
CATEGORICAL = ("offence", "ethnicity", "age_band", "borough", "risk", "ho_outcome", "support_service")


@dataclass
class ReplicationResult:
    replication: int
    kpis: pd.DataFrame
    cases: pd.DataFrame
    timeseries: pd.DataFrame
    wall_seconds: float


@dataclass
class RunSpec:
    """Everything that determines a run's numbers."""

    scenario: Scenario
    reps: int
    seed: int
    scale: float = 1.0


def resolve(scenario: Scenario, reps=None, seed=None, years=None, warmup_years=None, scale: float = 1.0) -> RunSpec:
    """Apply run-time choices to a scenario: its run settings overridden, volumes and capacities scaled."""
    sc = scenario.model_copy(deep=True)
    if years is not None:
        sc.run.years = float(years)
    if warmup_years is not None:
        sc.run.warmup_years = float(warmup_years)
    if reps is not None:
        sc.run.reps = int(reps)
    if seed is not None:
        sc.run.seed = int(seed)
    if scale != 1.0:
        sc = scaled(sc, scale)
    sc._sources = scenario.sources
    return RunSpec(scenario=sc, reps=sc.run.reps, seed=sc.run.seed, scale=scale)


def _case_frame(cases: pd.DataFrame, warmup: float, replication: int) -> pd.DataFrame:
    """Cases with any activity in the measurement window (closed-before-window cases dropped), labelled.

    Built column by column, emptying ``cases`` as it goes, so two full copies never coexist.
    """
    keep = (~(cases["t_exit"] < warmup)).to_numpy()
    n = int(keep.sum())
    out = {"replication": np.full(n, replication, dtype=np.int32), "case_id": np.arange(n, dtype=np.int64)}
    for col in list(cases.columns):
        values = cases.pop(col).to_numpy()[keep]
        if col in LABELLED:
            values = pd.Categorical.from_codes(values.astype(int), [e.name.lower() for e in LABELLED[col]])
        elif col.startswith(("t_", "d_")):
            values = values.astype(np.float32)
        out[col] = values
    frame = pd.DataFrame(out)
    for col in CATEGORICAL:
        frame[col] = frame[col].astype("category")
    return frame


def run_one(scenario: Scenario, replication: int, seed: int, progress: Optional[Callable[[float], None]] = None) -> ReplicationResult:
    """One replication with its KPIs, ready for assembly. Top-level so worker processes can run it."""
    start = time.perf_counter()
    out = run_replication(scenario, replication, seed, progress)
    kpis = replication_kpis(out, scenario)
    ts = out.timeseries
    ts.insert(0, "replication", replication)
    cases = _case_frame(out.cases, out.warmup, replication)
    return ReplicationResult(replication, kpis, cases, ts, time.perf_counter() - start)


def run_replications(
    spec: RunSpec, jobs: int = 1, progress: Optional[Callable[[float], None]] = None, replications: Optional[list[int]] = None
) -> list[ReplicationResult]:
    """Replications 0..reps-1 (or those listed), in replication order. ``progress`` receives the finished fraction.

    A replication's results depend only on its number and the seed, so running more later (as
    ``--reps auto`` does) gives the same results as running them all at once.
    """
    reps = list(range(spec.reps)) if replications is None else list(replications)
    jobs = max(1, min(int(jobs), len(reps)))
    results: dict[int, ReplicationResult] = {}
    if jobs == 1:
        for r in reps:
            inner = None if progress is None else (lambda f, r=r: progress((r + f) / len(reps)))
            results[r] = run_one(spec.scenario, r, spec.seed, inner)
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(run_one, spec.scenario, r, spec.seed): r for r in reps}
            for fut in as_completed(futures):
                results[futures[fut]] = fut.result()
                if progress is not None:
                    progress(len(results) / len(reps))
    return [results[r] for r in reps]


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def assemble(results: list[ReplicationResult]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Concatenate replications: (kpis, summary, cases, timeseries)."""
    kpis = pd.concat([r.kpis for r in results], ignore_index=True)
    if len(results) == 1:
        cases = results[0].cases
    else:
        cases = pd.concat([r.cases for r in results], ignore_index=True)
        for col in CATEGORICAL + tuple(LABELLED):
            cases[col] = cases[col].astype("category")
    timeseries = pd.concat([r.timeseries for r in results], ignore_index=True)
    return kpis, summarise(kpis), cases, timeseries
