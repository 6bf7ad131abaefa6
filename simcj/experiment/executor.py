"""Where replications run: one interface for runs, comparisons, sensitivity and calibration.

Every command hands its replications to an :class:`Executor` as :class:`ReplicationTask` objects
and gets the results back in task order. A task says what its caller needs (``want``): a
calibration or a comparison that needs only KPIs and time series does not ship each replication's
case table between processes. A replication's results depend only on its scenario, seed and
number, so they are the same whichever executor, worker or order runs it.

:class:`LocalExecutor` runs in this process (``jobs=1``) or on local worker processes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Optional, Protocol

import numpy as np
import pandas as pd

from ..model.entities import Exit, Plea, Venue
from ..model.world import run_replication
from ..scenario.schema import Scenario
from .kpis import replication_kpis

LABELLED = {"exit": Exit, "venue": Venue, "plea": Plea}
CATEGORICAL = ("offence", "ethnicity", "age_band", "borough", "risk", "ho_outcome", "support_service")
EVERYTHING = frozenset({"kpis", "cases", "timeseries"})
TABLES = frozenset({"kpis", "timeseries"})  # what comparisons, sensitivity and calibration need


@dataclass
class ReplicationResult:
    replication: int
    kpis: pd.DataFrame
    cases: Optional[pd.DataFrame]  # None unless the task wanted them
    timeseries: Optional[pd.DataFrame]
    wall_seconds: float


@dataclass(frozen=True)
class ReplicationTask:
    """One replication of one scenario, and what its caller wants back."""

    scenario: Scenario
    replication: int
    seed: int
    want: frozenset = EVERYTHING

    def run(self, progress: Optional[Callable[[float], None]] = None) -> ReplicationResult:
        start = time.perf_counter()
        out = run_replication(self.scenario, self.replication, self.seed, progress)
        kpis = replication_kpis(out, self.scenario)
        ts = None
        if "timeseries" in self.want:
            ts = out.timeseries
            ts.insert(0, "replication", self.replication)
        cases = case_frame(out.cases, out.warmup, self.replication) if "cases" in self.want else None
        return ReplicationResult(self.replication, kpis, cases, ts, time.perf_counter() - start)


def _run(task: ReplicationTask) -> ReplicationResult:
    return task.run()


def case_frame(cases: pd.DataFrame, warmup: float, replication: int) -> pd.DataFrame:
    """Cases with any activity in the measurement window (closed-before-window cases dropped), labelled.

    Built column by column, emptying ``cases`` as it goes, so two full copies never coexist.
    """
    keep = (~(cases["t_exit"] < warmup)).to_numpy()
    n = int(keep.sum())
    out = {"replication": np.full(n, replication, dtype=np.int32), "case_id": np.arange(n, dtype=np.int64)}
    for col in list(cases.columns):
        column = cases.pop(col)
        if isinstance(column.dtype, pd.CategoricalDtype):
            out[col] = column.array[keep]  # its one-byte codes, never a column of strings
            continue
        values = column.to_numpy()[keep]
        if col in LABELLED:
            values = pd.Categorical.from_codes(values.astype(int), [e.name.lower() for e in LABELLED[col]])
        elif col.startswith(("t_", "d_")):
            values = values.astype(np.float32)
        out[col] = values
    frame = pd.DataFrame(out, copy=False)  # the filtered arrays are new already: no second copy
    for col in CATEGORICAL:
        if col in frame:
            frame[col] = frame[col].astype("category")
    return frame


class Executor(Protocol):
    """Runs replication tasks; results come back in the order of the tasks."""

    jobs: int

    def map(self, tasks: list[ReplicationTask], progress: Optional[Callable[[float], None]] = None) -> list[ReplicationResult]: ...


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class LocalExecutor:
    """This process (``jobs=1``), or ``jobs`` local worker processes."""

    def __init__(self, jobs: Optional[int] = None):
        self.jobs = max(1, int(jobs or default_jobs()))

    def map(self, tasks: list[ReplicationTask], progress: Optional[Callable[[float], None]] = None) -> list[ReplicationResult]:
        n = len(tasks)
        if self.jobs == 1 or n <= 1:
            out = []
            for k, task in enumerate(tasks):
                inner = None if progress is None else (lambda f, k=k: progress((k + f) / n))
                out.append(task.run(inner))
            return out
        results: dict[int, ReplicationResult] = {}
        with ProcessPoolExecutor(max_workers=min(self.jobs, n)) as pool:
            futures = {pool.submit(_run, task): k for k, task in enumerate(tasks)}
            for fut in as_completed(futures):
                results[futures[fut]] = fut.result()
                if progress is not None:
                    progress(len(results) / n)
        return [results[k] for k in range(n)]


def executor_for(jobs) -> Executor:
    """An executor from a ``--jobs`` number (None: all cores), or the executor itself."""
    return jobs if hasattr(jobs, "map") else LocalExecutor(jobs)
