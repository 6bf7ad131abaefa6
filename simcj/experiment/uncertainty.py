"""`simcj compare --uncertainty N`: how sure we are, beyond the noise of a finite simulation.

A paired confidence interval says how precisely the simulation estimates an option's effect for
the parameter values written in the scenario. Many of those values are not known: every parameter
written with a range (``{value, low, high, dist}``: disputed effects, assumed custody rates,
fitted values within their bounds, unit costs) is uncertain. This draws ``N`` sets of them by
Latin hypercube (each parameter uniform over its range, or triangular with its mode at its value),
runs the base and every option on each set with the same seed and replications (common random
numbers), and reports for each option and KPI:

* the uncertainty interval: the 2.5 and 97.5 percentiles over sets of each set's mean paired
  difference (its replications' noise averaged), beside the Monte Carlo CI of the comparison at the
  written values;
* which uncertain parameters the answer depends on most: the Spearman rank correlation, over
  sets, between each parameter's value and the option's mean difference (a ranked list);
* whether the sign of the effect depends on them: the Monte Carlo CI excludes zero but the
  uncertainty interval does not.

A parameter only an option has (e.g. a specialist list's effect) is varied in that option only;
a parameter an option itself changes keeps the option's value from its date (the drawn value
applies before it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd
from scipy import stats

from ..engine.stage import pathway
from ..scenario.intervention import changed_settings
from ..scenario.schema import Scenario
from ..scenario.variants import has_setting, variant
from .catalogue import key_results
from .compare import clear, run_comparison

LHS_SEED = 20261122
@dataclass(frozen=True)
class Uncertain:
    path: str
    value: float
    low: float
    high: float
    dist: str


def uncertain_parameters(scenarios: list[Scenario]) -> list[Uncertain]:
    """Every parameter with a range in any of the scenarios (the first that has it gives it), by path."""
    found: dict[str, Uncertain] = {}
    for sc in scenarios:
        plain = sc.model_dump(by_alias=True)
        for path, src in sorted(sc.sources.items()):
            if path in found or src.low is None or src.high is None or src.low == src.high or not used_by_pathway(sc, path):
                continue
            node = plain
            for part in path.split("."):
                node = node[part]
            found[path] = Uncertain(path, float(node), float(src.low), float(src.high), src.dist)
    return [found[p] for p in sorted(found)]


# Unit costs of the women's pathway (the rest of costs: belong to the VAWG pathway's stages).
WOMEN_COSTS = ("costs.womens_centre_place_year", "costs.womens_prison_place_year", "costs.probation_woman_year",
               "costs.ld_assessment", "costs.conditional_caution", "costs.problem_solving_court_place_year")


def used_by_pathway(sc: Scenario, path: str) -> bool:
    """Can the parameter at ``path`` change anything in this scenario's pathway? A women's-pathway
    scenario inherits the VAWG settings it does not run (and the other way round); varying them
    would only dilute the hypercube."""
    tables = {stage.table for stage in pathway(sc)}
    women = path.startswith("women.") or path in WOMEN_COSTS
    return ("women" in tables) if women else ("victims" in tables)


def latin_hypercube(params: list[Uncertain], n: int, seed: int = LHS_SEED) -> pd.DataFrame:
    """``n`` sets of the parameters (rows), a Latin hypercube over their ranges."""
    u = stats.qmc.LatinHypercube(d=len(params), seed=seed).random(n)
    columns = {}
    for j, p in enumerate(params):
        if p.dist == "triangular" and p.high > p.low:
            mode = min(max((p.value - p.low) / (p.high - p.low), 0.0), 1.0)
            columns[p.path] = stats.triang(c=mode, loc=p.low, scale=p.high - p.low).ppf(u[:, j])
        else:
            columns[p.path] = p.low + u[:, j] * (p.high - p.low)
    return pd.DataFrame(columns, index=pd.RangeIndex(n, name="set"))


def _with(scenario: Scenario, values: dict[str, float]) -> Scenario:
    """The scenario with those of the values it has settings for. An option keeps its own value of a
    setting it changes (that is the option); the drawn value applies before its date."""
    own = set(changed_settings(scenario.before, scenario)) if scenario.before is not None else set()
    plain = scenario.model_dump(by_alias=True)
    out = variant(scenario, {k: v for k, v in values.items() if k not in own and has_setting(scenario, k, plain)})
    mine = {k: v for k, v in values.items() if k in own and has_setting(scenario.before, k)}
    if mine:
        out._before = variant(out.before, mine)
    return out


@dataclass
class Uncertainty:
    sets: pd.DataFrame  # set x parameter values
    differences: pd.DataFrame  # set, scenario, metric, offence, replication, diff (group 'all')
    intervals: pd.DataFrame  # scenario, metric, offence, uncertainty_low, uncertainty_high
    ranking: pd.DataFrame  # scenario, metric, offence, parameter, spearman, rank


def run_uncertainty(
    base: Scenario,
    alternatives: list[Scenario],
    n: int,
    reps: int,
    seed: int,
    scale: float,
    jobs,
    progress: Optional[Callable[[float], None]] = None,
) -> Uncertainty:
    """Compare every option with the base on each of ``n`` Latin-hypercube sets of the uncertain parameters."""
    params = uncertain_parameters([base, *alternatives])
    sets = latin_hypercube(params, n)
    parts = []
    for k, values in sets.iterrows():
        tick = None if progress is None else (lambda _phase, f, k=k: progress((k + f) / n))
        values = values.to_dict()
        cmp = run_comparison(_with(base, values), [_with(a, values) for a in alternatives], reps, seed, scale, jobs, progress=tick)
        parts.append(_paired(cmp, k))
    differences = pd.concat(parts, ignore_index=True)
    return Uncertainty(sets, differences, intervals(differences), ranking(differences, sets, key_results(base)))


def _paired(cmp, k: int) -> pd.DataFrame:
    """Replication-by-replication differences (group 'all') of one set's comparison."""
    def wide(kpis: pd.DataFrame) -> pd.DataFrame:
        k_all = kpis[kpis["group"] == "all"]
        return k_all.pivot_table(index=["metric", "offence"], columns="replication", values="value", aggfunc="first")

    base = wide(cmp.base.kpis)
    frames = []
    for alt in cmp.alternatives:
        diff = (wide(alt.kpis) - base).stack().rename("diff").reset_index()
        diff.insert(0, "scenario", alt.scenario.name)
        frames.append(diff)
    out = pd.concat(frames, ignore_index=True)
    out.insert(0, "set", k)
    return out


def intervals(differences: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """The central ``level`` range over sets of each set's mean paired difference: the spread the
    uncertain parameters cause (the replications' noise averaged within each set)."""
    lo, hi = (1 - level) / 2, 1 - (1 - level) / 2
    per_set = differences.groupby(["scenario", "metric", "offence", "set"])["diff"].mean()
    g = per_set.groupby(level=[0, 1, 2])
    return pd.DataFrame({"uncertainty_low": g.quantile(lo), "uncertainty_high": g.quantile(hi)}).reset_index()


def ranking(differences: pd.DataFrame, sets: pd.DataFrame, keys: list[tuple]) -> pd.DataFrame:
    """For each option and key result (``keys``: (metric, offence, ...), the catalogue's), the parameters by
    |Spearman correlation| with its mean difference over sets (unit costs only for cost KPIs). With
    few sets the ranking is itself noisy: use 20 or more."""
    rows = []
    keep = differences[differences[["metric", "offence"]].apply(tuple, axis=1).isin({(m, o) for m, o, *_ in keys})]
    means = keep.groupby(["scenario", "metric", "offence", "set"])["diff"].mean()
    for (scenario, metric, offence), by_set in means.groupby(level=[0, 1, 2]):
        y = by_set.droplevel([0, 1, 2]).reindex(sets.index)
        scored = []
        # a unit cost changes what a case costs, never what happens to it
        candidates = [p for p in sets.columns if metric.startswith("cost_") or not p.startswith("costs.")]
        for param in candidates:
            x = sets[param]
            rho = stats.spearmanr(x, y).statistic if y.nunique() > 1 and x.nunique() > 1 else np.nan
            scored.append((param, rho, switching_value(x.to_numpy(), y.to_numpy())))
        scored.sort(key=lambda pr: -abs(pr[1]) if np.isfinite(pr[1]) else 0.0)
        rows += [(scenario, metric, offence, param, rho, r + 1, x0) for r, (param, rho, x0) in enumerate(scored)]
    return pd.DataFrame(rows, columns=["scenario", "metric", "offence", "parameter", "spearman", "rank", "switching_value"])


def switching_value(x: np.ndarray, y: np.ndarray) -> float:
    """The parameter value at which the option's mean difference crosses zero (the option stops doing
    better, or worse, than the base), by a straight line through the sets; NaN if not within the range.

    One parameter at a time while the others vary across the sets: an approximation, stated as such.
    """
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return np.nan
    slope, intercept = np.polyfit(x, y, 1)
    if slope == 0:
        return np.nan
    x0 = -intercept / slope
    return float(x0) if x.min() <= x0 <= x.max() else np.nan


def sign_depends(row: pd.Series) -> bool:
    """The Monte Carlo CI excludes zero, but over the uncertain parameters the effect can have either sign."""
    return bool(clear(row["diff_ci_low"], row["diff_ci_high"]) != 0 and row["uncertainty_low"] < 0 < row["uncertainty_high"])


def attach(cmp, unc: Uncertainty) -> None:
    """Put the uncertainty intervals beside the Monte Carlo CIs of a comparison (group 'all')."""
    d = cmp.differences.drop(columns=["uncertainty_low", "uncertainty_high"])
    merged = d.merge(unc.intervals.assign(group="all"), on=["scenario", "metric", "offence", "group"], how="left")
    cmp.differences = merged[list(cmp.differences.columns)]
    cmp.uncertainty = unc
    # the switching values of the parameters each option's first key result and total cost depend on most
    first = next(iter(key_results(cmp.base.scenario)), (None,))[0]
    top = unc.ranking[(unc.ranking["rank"] <= 3) & unc.ranking["switching_value"].notna() & unc.ranking["metric"].isin([first, "cost_total"])]
    rows = [
        (r.scenario, "switching_value", r.switching_value, np.nan, np.nan, f"{r.parameter}: {r.metric} equal to the base's")
        for r in top.itertuples()
    ]
    if rows:
        extra = pd.DataFrame(rows, columns=["scenario", "measure", "mean", "ci_low", "ci_high", "unit"])
        cmp.economics = pd.concat([cmp.economics, extra], ignore_index=True)

