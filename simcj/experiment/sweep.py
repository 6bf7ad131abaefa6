"""`simcj sweep`: parameter sweeps at scale, resumable, on local processes or a Dask cluster.

A sweep varies some of a scenario's settings (``--vary KEY=LOW:HIGH[:N]``, a list of values, or a
log scale) over a design: a full grid, a Latin hypercube, a Sobol (Saltelli) or a Morris sample
(the last two for ``simcj sensitivity SWEEP_DIR``). Every point runs ``reps`` replications on the
same seed (common random numbers across points).

Each point x replication is stored, as it finishes, as one Parquet file named by a key derived from
its resolved settings, the seed and the replication (``parts/<key>.parquet``, written under a
temporary name and renamed). ``--resume`` skips the keys already stored, so a sweep killed midway
and resumed ends with the table an uninterrupted run gives. A point that fails (its settings are
invalid, or its run raises) is recorded in ``failures.csv`` with its error and the sweep goes on.

Output: ``parts/`` (a Parquet dataset readable by pandas, DuckDB or polars), ``sweep.parquet`` and
``sweep.csv`` (the tidy table: one row per point x replication x metric x offence x group, every
varied setting a column), ``summary.csv`` (per point: mean and 95% CI of each KPI, group 'all')
and ``manifest.json`` (the design, the seed and every point's resolved settings).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from ..files import write_text_atomic
from ..scenario.loader import Problem, ScenarioError, is_finite_number, load_scenario, parse_yaml, read_yaml
from ..scenario.variants import variant
from .catalogue import key_results
from .executor import ReplicationTask, executor_for
from .runner import resolve
from .stats import summarise

DESIGNS = ("grid", "lhs", "sobol", "morris")
KPIS_ONLY = frozenset({"kpis"})
MORRIS_LEVELS = 4
FILE_KEYS = {"scenario", "vary", "design", "samples", "reps", "seed", "scale", "years", "warmup_years", "set"}


@dataclass(frozen=True)
class Factor:
    """One varied setting: a range (with a number of grid points, on a log scale or not) or a list of values."""

    path: str
    low: Optional[float] = None
    high: Optional[float] = None
    n: int = 5
    values: Optional[tuple] = None
    log: bool = False

    def grid(self) -> list[float]:
        if self.values is not None:
            return list(self.values)
        if self.n == 1:
            return [self.low]
        if self.log:
            return list(np.geomspace(self.low, self.high, self.n))
        return list(np.linspace(self.low, self.high, self.n))

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Values for uniforms on [0, 1] (a list of values: the nearest of equal strata)."""
        if self.values is not None:
            return np.array(self.values, dtype=float)[np.minimum((u * len(self.values)).astype(int), len(self.values) - 1)]
        if self.log:
            return np.exp(np.log(self.low) + u * (np.log(self.high) - np.log(self.low)))
        return self.low + u * (self.high - self.low)


def factor(path: str, spec, where: str) -> Factor:
    """A factor from ``LOW:HIGH[:N][:log]``, a list of values, or a mapping {low, high, n, log, values}."""
    def bad(message: str) -> ScenarioError:
        return ScenarioError([Problem(where, path, message)])

    if isinstance(spec, list):
        if not spec or not all(is_finite_number(v) for v in spec):
            raise bad(f"expected a list of numbers, found {spec!r}")
        return Factor(path, values=tuple(float(v) for v in spec))
    if isinstance(spec, dict):
        unknown = set(spec) - {"low", "high", "n", "log", "values"}
        if unknown:
            raise bad(f"unknown key(s) {sorted(unknown)}; expected low, high, n, log or values")
        if "values" in spec:
            return factor(path, spec["values"], where)
        parts = [spec.get("low"), spec.get("high"), spec.get("n", 5)] + (["log"] if spec.get("log") else [])
    elif isinstance(spec, str):
        if spec.startswith("["):
            try:
                return factor(path, parse_yaml(spec), where)
            except yaml.YAMLError:
                raise bad(f"{spec!r} is not a list of numbers") from None
        parts = spec.split(":")
    else:
        raise bad(f"expected LOW:HIGH[:N][:log] or a list of numbers, found {spec!r}")
    log = len(parts) > 2 and parts[-1] == "log"
    parts = parts[:-1] if log else parts
    if len(parts) not in (2, 3):
        raise bad(f"expected LOW:HIGH[:N][:log], found {spec!r}")
    try:
        low, high = float(parts[0]), float(parts[1])
        n = int(parts[2]) if len(parts) == 3 else 5
    except (TypeError, ValueError):
        raise bad(f"expected numbers in LOW:HIGH[:N], found {spec!r}") from None
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise bad(f"expected finite bounds with LOW < HIGH, found {low:g} and {high:g}")
    if n < 1:
        raise bad(f"expected at least one grid point, found {n}")
    if log and low <= 0:
        raise bad("a log scale needs LOW > 0")
    return Factor(path, low, high, n, None, log)


def parse_vary(text: str) -> Factor:
    """``KEY=LOW:HIGH[:N][:log]`` or ``KEY=[v1, v2, ...]`` from the command line."""
    if "=" not in text:
        raise ScenarioError([Problem("--vary", text, "expected KEY=LOW:HIGH[:N][:log] or KEY=[v1,v2,...]")])
    key, spec = text.split("=", 1)
    return factor(key.strip(), spec.strip(), "--vary")


@dataclass
class SweepSpec:
    scenario: str
    factors: list[Factor]
    design: str = "grid"
    samples: int = 16
    reps: int = 2
    seed: Optional[int] = None
    scale: float = 1.0
    years: Optional[float] = None
    warmup_years: Optional[float] = None
    overrides: tuple = field(default_factory=tuple)


def load_sweep_file(path: str | Path) -> SweepSpec:
    """A sweep file: the same options as the command line, as keys; ``scenario`` relative to the file."""
    path = Path(path)
    shown = str(path)
    data = read_yaml(path)
    problems = [Problem(shown, k, f"unknown key; expected one of {sorted(FILE_KEYS)}") for k in data if k not in FILE_KEYS]
    if "scenario" not in data or not isinstance(data.get("scenario"), str):
        problems.append(Problem(shown, "scenario", "expected the scenario file to sweep"))
    vary = data.get("vary")
    if not isinstance(vary, dict) or not vary:
        problems.append(Problem(shown, "vary", "expected a mapping of setting -> LOW:HIGH[:N][:log], a list of values, or {low, high, n, log}"))
    if problems:
        raise ScenarioError(problems)
    factors = []
    for key, spec in vary.items():
        try:
            factors.append(factor(str(key), spec, shown))
        except ScenarioError as exc:
            problems += [Problem(shown, f"vary.{p.path}", p.message) for p in exc.problems]
    spec = SweepSpec(scenario=str((path.parent / data["scenario"]).resolve()), factors=factors)
    for key, kind in (("design", str), ("samples", int), ("reps", int), ("seed", int), ("scale", float), ("years", float), ("warmup_years", float)):
        if key in data:
            value = data[key]
            ok = isinstance(value, kind) or (kind is float and is_finite_number(value))
            if not ok or isinstance(value, bool):
                problems.append(Problem(shown, key, f"expected {kind.__name__}, found {value!r}"))
            else:
                setattr(spec, key, value)
    if spec.design not in DESIGNS:
        problems.append(Problem(shown, "design", f"expected one of {list(DESIGNS)}, found {spec.design!r}"))
    spec.overrides = tuple(data.get("set") or ())
    if problems:
        raise ScenarioError(problems)
    return spec


def problem(factors: list[Factor]) -> dict:
    """The SALib problem over the unit cube (each factor mapped to its range by :meth:`Factor.from_unit`)."""
    return {"num_vars": len(factors), "names": [f.path for f in factors], "bounds": [[0.0, 1.0]] * len(factors)}


def design_points(factors: list[Factor], design: str, samples: int, seed: int) -> pd.DataFrame:
    """The points of a design: one row per point, one column per factor."""
    if design == "grid":
        rows = list(itertools.product(*(f.grid() for f in factors)))
        return pd.DataFrame(rows, columns=[f.path for f in factors])
    unit = unit_sample(factors, design, samples, seed)
    return pd.DataFrame({f.path: f.from_unit(unit[:, j]) for j, f in enumerate(factors)})


def unit_sample(factors: list[Factor], design: str, samples: int, seed: int) -> np.ndarray:
    """A sampled design on the unit cube (the same for the same seed: what SALib's analysis needs back)."""
    if design == "lhs":
        unit = stats.qmc.LatinHypercube(d=len(factors), seed=seed).random(samples)
    elif design == "sobol":
        from SALib.sample import sobol as sobol_sample

        unit = sobol_sample.sample(problem(factors), samples, calc_second_order=False, seed=seed)
    else:
        from SALib.sample import morris as morris_sample

        unit = morris_sample.sample(problem(factors), samples, num_levels=MORRIS_LEVELS, seed=seed)
    return unit


def task_key(values: dict, seed: int, replication: int, fingerprint: str) -> str:
    """The key a point x replication is stored under: its resolved settings, the seed, the replication."""
    text = json.dumps({"values": {k: float(v) for k, v in sorted(values.items())}, "seed": seed, "replication": replication, "scenario": fingerprint}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class _Job:
    point: int
    replication: int
    key: str
    task: Optional[ReplicationTask]
    error: str = ""


def run_sweep(spec: SweepSpec, out: Path, jobs=None, resume: bool = False, progress: Optional[Callable[[int, int, int, int], None]] = None) -> pd.DataFrame:
    """Run (or resume) a sweep into ``out``; returns the tidy table.

    ``progress(replications_done, replications, points_done, points)`` is called as each finishes.
    """
    out = Path(out)
    scenario = load_scenario(spec.scenario, spec.overrides)
    base = resolve(scenario, reps=spec.reps, seed=spec.seed, years=spec.years, warmup_years=spec.warmup_years)
    seed = base.seed
    points = design_points(spec.factors, spec.design, spec.samples, seed)
    fingerprint = hashlib.sha256(json.dumps(base.scenario.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:16]
    manifest = {
        "kind": "sweep", "scenario": spec.scenario, "design": spec.design, "samples": spec.samples, "seed": seed, "reps": spec.reps,
        "scale": spec.scale, "years": base.scenario.run.years, "warmup_years": base.scenario.run.warmup_years, "overrides": list(spec.overrides),
        "factors": [asdict(f) for f in spec.factors], "points": points.to_dict(orient="records"),
    }  # fmt: skip
    parts = out / "parts"
    if out.exists() and any(out.iterdir()) and not resume:
        raise FileExistsError(f"{out} already exists and is not empty; choose another --out, or --resume to carry on a sweep")
    parts.mkdir(parents=True, exist_ok=True)
    if resume and (out / "manifest.json").exists():
        stored = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        if stored.get("points") != json.loads(json.dumps(manifest["points"])) or stored.get("seed") != seed:
            raise ValueError(f"{out} holds another sweep (its design, points or seed differ); choose another --out")
    write_text_atomic(out / "manifest.json", json.dumps(manifest, indent=2))

    jobs_list = []
    for p, row in points.iterrows():
        values = row.to_dict()
        try:
            sc = variant(base.scenario, values)
            if spec.scale != 1.0:
                from ..scenario.variants import scaled

                sc = scaled(sc, spec.scale)
            error = ""
        except ScenarioError as exc:
            sc, error = None, "; ".join(f"{pr.path}: {pr.message}" for pr in exc.problems)
        for r in range(spec.reps):
            key = task_key(values, seed, r, fingerprint)
            task = ReplicationTask(sc, r, seed, KPIS_ONLY) if sc is not None else None
            jobs_list.append(_Job(int(p), r, key, task, error))
    todo = [j for j in jobs_list if not (parts / f"{j.key}.parquet").exists()]
    failures = [(j.point, j.replication, j.error) for j in todo if j.task is None]
    runnable = [j for j in todo if j.task is not None]
    executor = executor_for(jobs)
    left = {}  # replications still to finish, by point
    for j in runnable:
        left[j.point] = left.get(j.point, 0) + 1
    points_done = len(points) - len(left)
    done = len(jobs_list) - len(runnable)
    for k, result in executor.imap([j.task for j in runnable]):
        job = runnable[k]
        if isinstance(result, Exception):
            failures.append((job.point, job.replication, f"{type(result).__name__}: {result}"))
        else:
            _store(parts, job, result.kpis, points)
        done += 1
        left[job.point] -= 1
        points_done += left[job.point] == 0
        if progress is not None:
            progress(done, len(jobs_list), points_done, len(points))
    pd.DataFrame(failures, columns=["point", "replication", "error"]).to_csv(out / "failures.csv", index=False)
    table = assemble(out, points)
    table.to_parquet(out / "sweep.parquet", index=False)
    table.to_csv(out / "sweep.csv", index=False)
    point_summary(table, points).to_csv(out / "summary.csv", index=False)
    return table


def _store(parts: Path, job: _Job, kpis: pd.DataFrame, points: pd.DataFrame) -> None:
    """One point x replication as a Parquet file, written under a temporary name and renamed."""
    frame = kpis.drop(columns=["replication"]).copy()
    frame.insert(0, "point", job.point)
    frame.insert(1, "replication", job.replication)
    for j, name in enumerate(points.columns):
        frame.insert(2 + j, name, float(points.loc[job.point, name]))
    tmp = parts / f".{job.key}.parquet.partial"
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, parts / f"{job.key}.parquet")


def assemble(out: Path, points: pd.DataFrame) -> pd.DataFrame:
    """Every stored part as one tidy table, in point, replication and KPI order (the same whatever the backend)."""
    files = sorted((Path(out) / "parts").glob("*.parquet"))
    if not files:
        return pd.DataFrame(columns=["point", "replication", *points.columns, "metric", "offence", "group", "value"])
    table = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    return table.sort_values(["point", "replication", "metric", "offence", "group"], kind="stable").reset_index(drop=True)


def point_summary(table: pd.DataFrame, points: pd.DataFrame) -> pd.DataFrame:
    """Per point: mean and 95% CI over replications of each KPI (group 'all')."""
    rows = table[table["group"] == "all"]
    parts = []
    for p, mine in rows.groupby("point"):
        s = summarise(mine[["replication", "metric", "offence", "group", "value"]])
        s.insert(0, "point", p)
        for name in points.columns:
            s.insert(1, name, points.loc[p, name])
        parts.append(s)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def sweep(
    scenario: str | Path,
    vary: dict,
    design: str = "grid",
    samples: int = 16,
    reps: int = 2,
    seed: Optional[int] = None,
    scale: float = 1.0,
    years: Optional[float] = None,
    warmup_years: Optional[float] = None,
    out: Optional[str | Path] = None,
    jobs=None,
    resume: bool = False,
) -> pd.DataFrame:
    """The Python API: ``simcj.sweep("scenarios/baseline.yaml", {"support.services.idva.staff": "92:124:5"})``
    returns the tidy table (and writes the sweep folder ``out``, a temporary one if None)."""
    if design not in DESIGNS:
        raise ValueError(f"design: expected one of {list(DESIGNS)}, found {design!r}")
    factors = [factor(k, v, "vary") for k, v in vary.items()]
    spec = SweepSpec(str(scenario), factors, design, samples, reps, seed, scale, years, warmup_years)
    if out is None:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            return run_sweep(spec, Path(tmp) / "sweep", jobs, resume=False)
    return run_sweep(spec, Path(out), jobs, resume=resume)


def key_results_by_point(folder: Path, spec: SweepSpec) -> pd.DataFrame:
    """The stored sweep's key results (the catalogue's) at each point: a row a point, a column a KPI."""
    summary = pd.read_csv(folder / "summary.csv")
    keys = pd.DataFrame([k[:2] for k in key_results(load_scenario(spec.scenario))], columns=["metric", "offence"])
    view = summary.merge(keys, on=["metric", "offence"])
    return view.pivot_table(index=["point", *(f.path for f in spec.factors)], columns="metric", values="mean")
