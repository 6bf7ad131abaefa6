"""Where replications run: one interface for runs, comparisons, sensitivity and calibration.

Every command hands its replications to an :class:`Executor` as :class:`ReplicationTask` objects
and gets the results back in task order. A task says what its caller needs (``want``): a
calibration or a comparison that needs only KPIs and time series does not ship each replication's
case table between processes. A replication's results depend only on its scenario, seed and
number, so they are the same whichever executor, worker or order runs it.

:class:`LocalExecutor` runs in this process (``jobs=1``) or on local worker processes;
:class:`DaskExecutor` on a Dask cluster (``pip install "simcj[dask]"``). ``imap`` yields each
task's result (or the exception it raised) as it finishes, for callers that store results as they
come (``simcj sweep``).
"""

from __future__ import annotations

import os
import pickle
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Optional, Protocol

import numpy as np
import pandas as pd

from ..engine.cases import Exit, Plea, Venue
from ..engine.world import World, run_replication
from ..files import raise_if_signalled
from ..scenario.schema import Scenario
from .kpis import replication_kpis, yearly_kpis

LABELLED = {"exit": Exit, "venue": Venue, "plea": Plea}
CATEGORICAL = ("offence", "ethnicity", "age_band", "borough", "risk", "ho_outcome", "support_service", "support_route", "support_stage")
EVERYTHING = frozenset({"kpis", "cases", "timeseries", "yearly"})
TABLES = frozenset({"kpis", "timeseries"})  # what sensitivity needs
BY_YEAR = TABLES | {"yearly"}  # what comparisons need: each year's effect too


@dataclass
class ReplicationResult:
    replication: int
    kpis: pd.DataFrame
    cases: Optional[pd.DataFrame]  # None unless the task wanted them
    timeseries: Optional[pd.DataFrame]
    wall_seconds: float
    yearly: Optional[pd.DataFrame] = None  # each measured year's KPIs (simcj.experiment.kpis.yearly_kpis)


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
        return _result(out, self.scenario, self.want, start)


def _result(out, scenario: Scenario, want: frozenset, start: float) -> ReplicationResult:
    """What the caller wants of one replication's output."""
    kpis = replication_kpis(out, scenario)
    yearly = yearly_kpis(out, scenario) if "yearly" in want else None
    ts = None
    if "timeseries" in want:
        ts = out.timeseries
        ts.insert(0, "replication", out.replication)
    cases = case_frame(out.cases, out.warmup, out.replication) if "cases" in want else None
    return ReplicationResult(out.replication, kpis, cases, ts, time.perf_counter() - start, yearly)


def can_branch(base: Scenario, option: Scenario) -> bool:
    """Can ``option`` be branched from a run of ``base``: is base the scenario it runs before its date?"""
    if option.before is None or option.intervention_day() is None or not hasattr(os, "fork"):
        return False
    if option.intervention_day() >= (option.run.warmup_years + option.run.years) * 365.0:
        return False  # the date is beyond the run: the option runs (as its parent) from the start
    return option.before.model_dump() == base.model_dump()  # the settings (not where each was read from)


@dataclass(frozen=True)
class BranchTask:
    """One replication of a base and of options that extend it, sharing everything before their date.

    The base runs to the options' intervention date once; for each option a forked process takes
    the world as it stands, switches to the option's settings and runs to the horizon; the base then
    runs on. Every option's results are those of running it from the start (tested), in a fraction
    of the time. ``include_base=False`` stops the base at the date (its results are known already).
    """

    base: Scenario
    options: tuple
    replication: int
    seed: int
    want: frozenset = BY_YEAR
    include_base: bool = True

    def run(self, progress: Optional[Callable[[float], None]] = None) -> list[ReplicationResult]:
        """Results of the base (if included) and then of each option, in order."""
        start = time.perf_counter()
        days = {o.intervention_day() for o in self.options}
        if len(days) != 1 or not all(can_branch(self.base, o) for o in self.options):
            raise ValueError("every option of a branch task must extend the base and share its date")
        world = World(self.base, self.replication, self.seed, branches=self.options)
        world.start()
        world.advance(days.pop())
        shared = time.perf_counter() - start
        results = [self._branch(world, option, shared) for option in self.options]
        if self.include_base:
            world.advance(world.horizon)
            results.insert(0, _result(world.finish(), self.base, self.want, start))
        return results

    def _branch(self, world: World, option: Scenario, shared: float) -> ReplicationResult:
        read, write = os.pipe()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the option's process: never returns
            _die_with_parent(parent)  # a fork does not inherit the worker's death signal
            os.close(read)
            try:
                start = time.perf_counter() - shared
                world.branch(option)
                world.advance(world.horizon)
                payload = pickle.dumps(("ok", _result(world.finish(), option, self.want, start)))
            except BaseException:  # noqa: B036 - everything must reach the parent, then the process ends
                payload = pickle.dumps(("error", traceback.format_exc()))
            with os.fdopen(write, "wb") as pipe:
                pipe.write(payload)
            os._exit(0)
        os.close(write)
        with os.fdopen(read, "rb") as pipe:
            payload = pipe.read()
        os.waitpid(pid, 0)
        status, value = pickle.loads(payload) if payload else ("error", "the option's process ended without a result")
        if status != "ok":
            raise RuntimeError(f"{option.name}, replication {self.replication}: {value}")
        return value


def _run(task):
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

    def map(self, tasks: list, progress: Optional[Callable[[float], None]] = None) -> list: ...


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _worker_init() -> None:
    """Worker processes leave Ctrl-C to their parent (which stops them) and end if the parent dies."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler (inherited by fork): a SIGTERM ends a worker at once
    _die_with_parent(os.getppid())


def _die_with_parent(parent: int) -> None:
    """Ask the kernel for a SIGTERM when the parent process ends (Linux; elsewhere the parent still
    stops its workers when interrupted), and end now if it already has."""
    import signal

    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: no orphans
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:
        os._exit(143)


def _pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers, initializer=_worker_init)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop a pool at once: cancel what is queued and end the workers (on an interruption)."""
    # shutdown() forgets the pool's processes, so take them first: terminated only after it, the
    # workers would each run their replication to its end before the interrupted run could exit.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()


class LocalExecutor:
    """This process (``jobs=1``), or ``jobs`` local worker processes."""

    def __init__(self, jobs: Optional[int] = None):
        self.jobs = max(1, int(jobs or default_jobs()))

    def map(self, tasks: list, progress: Optional[Callable[[float], None]] = None) -> list:
        """Each task's ``run()`` result, in task order."""
        n = len(tasks)
        if self.jobs == 1 or n <= 1:
            out = []
            for k, task in enumerate(tasks):
                inner = None if progress is None else (lambda f, k=k: progress((k + f) / n))
                out.append(task.run(inner))
                raise_if_signalled()
            return out
        results: dict[int, object] = {}
        pool = _pool(min(self.jobs, n))
        try:
            futures = {pool.submit(_run, task): k for k, task in enumerate(tasks)}
            for fut in as_completed(futures):
                raise_if_signalled()
                results[futures[fut]] = fut.result()
                if progress is not None:
                    progress(len(results) / n)
        except BaseException:
            _stop(pool)
            raise
        pool.shutdown()
        return [results[k] for k in range(n)]

    def imap(self, tasks: list):
        """(index, result or the exception it raised) for each task, as each finishes."""
        if self.jobs == 1 or len(tasks) <= 1:
            for k, task in enumerate(tasks):
                try:
                    result = task.run()
                except Exception as exc:  # noqa: BLE001 - a failed task is reported, the others go on
                    result = exc
                raise_if_signalled()
                yield k, result
            return
        pool = _pool(min(self.jobs, len(tasks)))
        try:
            futures = {pool.submit(_run, task): k for k, task in enumerate(tasks)}
            for fut in as_completed(futures):
                raise_if_signalled()
                exc = fut.exception()
                yield futures[fut], exc if exc is not None else fut.result()
        except BaseException:
            _stop(pool)
            raise
        pool.shutdown()

    def close(self) -> None:
        return None


class MissingExtra(RuntimeError):
    """An optional dependency is not installed; the message names the extra that provides it."""


class DaskExecutor:
    """Dask distributed: ``workers`` processes on this machine (a LocalCluster), or a running
    scheduler at ``scheduler`` (``dask scheduler`` and ``dask worker``, or dask-jobqueue on SLURM
    or PBS). Each task is one replication; results are the same as on local processes."""

    def __init__(self, workers: Optional[int] = None, scheduler: Optional[str] = None):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise MissingExtra('Dask is not installed: pip install "simcj[dask]"') from None
        self.cluster = None
        if scheduler:
            self.client = Client(scheduler)
        else:
            self.cluster = LocalCluster(n_workers=workers or default_jobs(), threads_per_worker=1, processes=True, dashboard_address=None)
            self.client = Client(self.cluster)
        self.jobs = max(1, len(self.client.scheduler_info()["workers"]))

    def map(self, tasks: list, progress: Optional[Callable[[float], None]] = None) -> list:
        results: dict[int, object] = {}
        for k, value in self.imap(tasks):
            if isinstance(value, Exception):
                raise value
            results[k] = value
            if progress is not None:
                progress(len(results) / len(tasks))
        return [results[k] for k in range(len(tasks))]

    def imap(self, tasks: list):
        from distributed import as_completed as dask_completed

        futures = self.client.map(_run, tasks, pure=False)
        index = {f.key: k for k, f in enumerate(futures)}
        for fut in dask_completed(futures):
            k = index[fut.key]
            if fut.status == "error":
                yield k, fut.exception()
            else:
                yield k, fut.result()
            fut.release()

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def executor_for(jobs) -> Executor:
    """An executor from a ``--jobs`` number (None: all cores), or the executor itself."""
    return jobs if hasattr(jobs, "map") else LocalExecutor(jobs)
