"""`simcj calibrate`: fit the free parameters to the published targets.

The objective sums, over the targets marked ``fit``, the squared distance of the simulated mean
outside its accepted range (in units of the range's width), plus a small pull towards the
published value. Every evaluation runs on the same seed, so parameter changes are compared on
common random numbers. The search runs in the parameters' bounds scaled to [0, 1]: a Sobol sample
of the box, then Nelder–Mead from the best point. It is deterministic, so with every evaluation
stored as it is made (``evaluations.jsonl``) a killed fit, run again with the same ``--out``,
replays what it had done from the store and carries on.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import optimize, stats

from ..experiment.executor import executor_for
from ..experiment.results import simulate
from ..files import write_text_atomic
from ..scenario.loader import Problem, ScenarioError, is_finite_number, read_yaml
from ..scenario.schema import Scenario
from ..scenario.variants import variant
from .targets import compare

KPIS_ONLY = frozenset({"kpis"})  # a fit compares summaries with targets: no case records, no time series
MISSING_PENALTY = 4.0  # a target the run did not produce counts as two range-widths outside
CENTRE_WEIGHT = 0.01
SIMPLEX_STEP = 0.1  # of each parameter's range
SOBOL_SEED = 20261122


@dataclass(frozen=True)
class FreeParameter:
    path: str
    low: float
    high: float
    why: str


def load_free_parameters(path: str | Path, scenario: Scenario) -> list[FreeParameter]:
    """Read a free-parameters file; each path must name a number in the scenario."""
    data = read_yaml(Path(path))
    entries = data.get("parameters") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ScenarioError([Problem(str(path), "parameters", "expected a list of {path, low, high, why}")])
    plain = scenario.model_dump(by_alias=True)
    out, problems = [], []
    for k, e in enumerate(entries):
        where = f"parameters.{k}"
        if not isinstance(e, dict) or set(e) != {"path", "low", "high", "why"}:
            problems.append(Problem(str(path), where, "expected exactly the keys path, low, high, why"))
            continue
        try:
            current = _get(plain, e["path"])
        except KeyError:
            problems.append(Problem(str(path), f"{where}.path", f"'{e['path']}' is not a setting of the scenario"))
            continue
        if not isinstance(current, (int, float)) or isinstance(current, bool):
            problems.append(Problem(str(path), f"{where}.path", f"'{e['path']}' is not a number"))
        elif not (is_finite_number(e["low"]) and is_finite_number(e["high"]) and e["low"] < e["high"]):
            problems.append(Problem(str(path), where, f"expected finite numbers with low < high, found low {e['low']!r}, high {e['high']!r}"))
        else:
            out.append(FreeParameter(e["path"], float(e["low"]), float(e["high"]), str(e["why"])))
    if problems:
        raise ScenarioError(problems)
    return out


def _get(tree: dict, dotted: str):
    node = tree
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(dotted)
        node = node[part]
    return node


def objective(table: pd.DataFrame) -> float:
    """Squared distance outside each fitted target's range (in range widths), plus a pull to its value."""
    fit = table[table["use"] == "fit"]
    width = (fit["high"] - fit["low"]).clip(lower=1e-12)
    sim = fit["simulated"]
    outside = np.maximum.reduce([fit["low"] - sim, sim - fit["high"], np.zeros(len(fit))]) / width
    centre = (sim - fit["target"]) / width
    loss = outside**2 + CENTRE_WEIGHT * centre**2
    return float(loss.fillna(MISSING_PENALTY).sum())


class Fit:
    """The fitting problem: evaluations are stored as they are made, and reused when asked again."""

    def __init__(self, scenario: Scenario, targets: pd.DataFrame, free: list[FreeParameter], reps: int, seed: int, scale: float, jobs, store: Path):
        self.scenario, self.targets, self.free = scenario, targets, free
        self.reps, self.seed, self.scale, self.jobs = reps, seed, scale, executor_for(jobs)
        self.store = store
        self.done: dict[str, dict] = {}
        if store.exists():
            for line in store.read_text(encoding="utf-8").splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by a kill
                self.done[record["key"]] = record
        self.calls = 0

    def values(self, x) -> dict[str, float]:
        x = np.clip(np.asarray(x, dtype=float), 0.0, 1.0)
        return {p.path: float(f"{p.low + xi * (p.high - p.low):.6g}") for p, xi in zip(self.free, x, strict=True)}

    def evaluate(self, x) -> float:
        self.calls += 1
        values = self.values(x)
        key = json.dumps(values, sort_keys=True)
        if key not in self.done:
            res = simulate(variant(self.scenario, values), reps=self.reps, seed=self.seed, scale=self.scale, jobs=self.jobs, want=KPIS_ONLY)
            table = compare(res.summary, self.targets, self.scenario, self.scale)
            record = {"key": key, "values": values, "objective": objective(table), "passed": int(table[table["use"] == "fit"]["passed"].sum())}
            with self.store.open("a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
                f.flush()
                os.fsync(f.fileno())
            self.done[key] = record
        return self.done[key]["objective"]

    def start(self) -> np.ndarray:
        current = self.scenario.model_dump(by_alias=True)
        return np.array([np.clip((_get(current, p.path) - p.low) / (p.high - p.low), 0.0, 1.0) for p in self.free])

    def run(self, budget: int, progress=None, refine: bool = False) -> dict:
        """Minimise the objective within ``budget`` evaluations; returns the best stored record.

        Global, then local: the start and a scrambled Sobol sample of the box (fixed seed) take up
        to half the budget, then Nelder–Mead refines from the best point found. The objective is
        rugged (each run is a finite sample), so a local method alone stalls in the first basin.
        ``refine`` skips the global stage and starts Nelder–Mead from the scenario's current values
        with half the first step: for polishing a previous fit, e.g. with more replications.
        """

        def f(x):
            value = self.evaluate(x)
            if progress is not None:
                progress(min(1.0, self.calls / budget))
            return value

        n = len(self.free)
        points = [self.start()]
        room = 0 if refine else min(budget // 2, 8 * n) - 1
        step = SIMPLEX_STEP / 2 if refine else SIMPLEX_STEP
        if room >= 1:  # a power of two keeps the Sobol sample balanced
            m = int(np.floor(np.log2(room)))
            points += list(stats.qmc.Sobol(d=n, scramble=True, seed=SOBOL_SEED).random_base2(m))
        scores = [f(x) for x in points]
        x0 = points[int(np.argmin(scores))]
        remaining = budget - len(points)
        if remaining > n:
            simplex = [x0]
            for i in range(n):  # first steps of a fraction of each range, towards the interior
                vertex = x0.copy()
                vertex[i] += step if x0[i] + step <= 1.0 else -step
                simplex.append(vertex)
            optimize.minimize(
                f, x0, method="Nelder-Mead", bounds=[(0.0, 1.0)] * n,
                options={"maxfev": remaining, "xatol": 1e-3, "fatol": 1e-4, "adaptive": True, "initial_simplex": np.array(simplex)},
            )
        return min(self.done.values(), key=lambda r: r["objective"])


def calibrate_and_report(fit: Fit, budget: int, out_dir: Path, fitted_path: Path, targets_path: str, refine: bool = False, progress=None) -> tuple[dict, pd.DataFrame]:
    """Run the fit (its evaluations stored as they finish), run the best values again and write
    ``report.csv`` (each target against them), ``fit.png`` and the fitted file: (best, report)."""
    best = fit.run(budget, progress, refine=refine)
    res = simulate(variant(fit.scenario, best["values"]), reps=fit.reps, seed=fit.seed, scale=fit.scale, jobs=fit.jobs, want=KPIS_ONLY)
    table = compare(res.summary, fit.targets, fit.scenario, fit.scale)
    table.to_csv(out_dir / "report.csv", index=False)
    fit_figure(table, out_dir / "fit.png")
    write_fitted(fitted_path, fit.free, best, targets_path)
    return best, table


def write_fitted(path: Path, free: list[FreeParameter], best: dict, targets_path: str) -> None:
    """Write the fitted values as a file a scenario names under ``calibration:`` (atomically).

    A fitted file already at ``path`` keeps its other parameters: a refit of a few of them (the
    others held at their fitted values, as the scenario read them) updates those few only."""
    today = date.today().isoformat()
    kept = _fitted_parameters(path)
    params = {
        p.path: {
            "value": best["values"][p.path],
            "low": p.low,
            "high": p.high,
            "source": f"simcj calibrate, {today}: fitted to the 'fit' targets in {targets_path} (objective {best['objective']:.4g}). {p.why}",
        }
        for p in free
    }
    params = {**kept, **params} if kept else params
    text = "# Written by `simcj calibrate`; the baseline names this file under `calibration:`.\n" + yaml.safe_dump({"parameters": params}, sort_keys=False, allow_unicode=True)
    write_text_atomic(path, text)


def _fitted_parameters(path: Path) -> dict:
    """The parameters of a fitted file already at ``path`` (nothing if there is none or it is not one)."""
    try:
        params = read_yaml(Path(path)).get("parameters")
    except ScenarioError:
        return {}
    return params if isinstance(params, dict) else {}


def fit_figure(table: pd.DataFrame, path: Path) -> None:
    """Simulated against published: each target's accepted range scaled to [0, 1], the simulation a dot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = table.iloc[::-1].reset_index(drop=True)
    width = (t["high"] - t["low"]).replace(0, np.nan)
    pos = ((t["simulated"] - t["low"]) / width).clip(-1.5, 2.5)
    mid = (t["target"] - t["low"]) / width
    fig, ax = plt.subplots(figsize=(8, 0.28 * len(t) + 1.5))
    ax.axvspan(0, 1, color="#cfe3cf", label="accepted range")
    colours = np.where(t["passed"], "#1f5f8b", "#a83232")
    ax.scatter(pos, range(len(t)), c=colours, zorder=3, label="simulated (red: outside)")
    ax.scatter(mid, range(len(t)), marker="|", color="black", s=80, zorder=2, label="published value")
    ax.set_yticks(range(len(t)), [f"{r.id} {r.metric} · {r.offence}{' (held out)' if r.use == 'holdout' else ''}" for r in t.itertuples()], fontsize=7)
    ax.set_xlabel("position within the accepted range (0 = low, 1 = high)")
    ax.set_title("Calibration: simulated against published targets")
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)
