"""Running a scenario's replications: the run design, and its replications handed to an executor.

Each replication is independent and seeded from (seed, replication) alone, so the results do not
depend on which worker ran it or in what order. Results are assembled in replication order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Optional

import pandas as pd

from ..scenario.schema import Scenario
from ..scenario.variants import scaled, with_run
from .executor import CATEGORICAL, EVERYTHING, LABELLED, ReplicationResult, ReplicationTask, executor_for
from .stats import summarise


@dataclass
class RunSpec:
    """Everything that determines a run's numbers."""

    scenario: Scenario
    reps: int
    seed: int
    scale: float = 1.0


def resolve(scenario: Scenario, reps=None, seed=None, years=None, warmup_years=None, scale: float = 1.0) -> RunSpec:
    """Apply run-time choices to a scenario: its run settings overridden, volumes and capacities scaled."""
    sc = with_run(scenario, years=years, warmup_years=warmup_years, reps=reps, seed=seed)
    if scale != 1.0:
        sc = scaled(sc, scale)
    return RunSpec(scenario=sc, reps=sc.run.reps, seed=sc.run.seed, scale=scale)


def run_replications(
    spec: RunSpec,
    jobs=None,
    progress: Optional[Callable[[float], None]] = None,
    replications: Optional[list[int]] = None,
    want: frozenset = EVERYTHING,
) -> list[ReplicationResult]:
    """Replications 0..reps-1 (or those listed), in replication order, on ``jobs`` (a number or an executor).

    A replication's results depend only on its number and the seed, so running more later (as
    ``--reps auto`` does) gives the same results as running them all at once.
    """
    reps = list(range(spec.reps)) if replications is None else list(replications)
    tasks = [ReplicationTask(spec.scenario, r, spec.seed, want) for r in reps]
    return executor_for(jobs).map(tasks, progress)


def assemble(results: list[ReplicationResult]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Concatenate replications: (kpis, summary, cases, timeseries, yearly); tables not asked for are empty."""
    kpis = pd.concat([r.kpis for r in results], ignore_index=True)
    case_parts = [r.cases for r in results if r.cases is not None]
    if len(case_parts) == 1:
        cases = case_parts[0]
    elif case_parts:
        cases = pd.concat(case_parts, ignore_index=True)
        for col in CATEGORICAL + tuple(LABELLED):
            if col in cases:
                cases[col] = cases[col].astype("category")
    else:
        cases = pd.DataFrame()
    ts_parts = [r.timeseries for r in results if r.timeseries is not None]
    timeseries = pd.concat(ts_parts, ignore_index=True) if ts_parts else pd.DataFrame(columns=["replication", "day", "series", "value"])
    year_parts = [r.yearly for r in results if r.yearly is not None]
    yearly = pd.concat(year_parts, ignore_index=True) if year_parts else pd.DataFrame(columns=["replication", "year", "metric", "offence", "group", "value"])
    return kpis, summarise(kpis), cases, timeseries, yearly
