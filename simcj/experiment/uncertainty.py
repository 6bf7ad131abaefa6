"""`simcj compare --uncertainty N`: how sure we are, beyond the noise of a finite simulation.

A paired confidence interval says how precisely the simulation estimates an option's effect for
the parameter values written in the scenario. Many of those values are not known: every parameter
written with a range (``{value, low, high, dist}``: disputed effects, capacities, lead times,
distribution shapes, fitted values within their bounds, unit costs and harm values) is uncertain.
This draws ``N`` sets of them by Latin hypercube (each parameter uniform over its range, or
triangular with its mode at its value) and runs the base and every option on each set, each set
on its own seed (:func:`set_seed`; the base and options of a set share it: common random numbers),
and reports for each option and KPI:

* the uncertainty interval: the 2.5 and 97.5 percentiles over sets of each set's mean paired
  difference, beside the Monte Carlo CI of the comparison at the written values;
* how much of the spread over sets is parameter uncertainty and how much the simulation's noise
  (:func:`variance_split`);
* which uncertain parameters the answer depends on most: the Spearman rank correlation, over
  sets, between each parameter's value and the option's mean difference (a ranked list), with
  whether each is distinguishable from chance at N sets;
* whether the sign of the effect depends on them: the Monte Carlo CI excludes zero but the
  uncertainty interval does not;
* and, where harm is valued, the decision: the probability each option is best, acceptability
  curves and the value of information (:mod:`simcj.experiment.decision`).

A parameter only an option has (e.g. a specialist list's effect) is varied in that option only;
a parameter an option itself changes keeps the option's value from its date (the drawn value
applies before it).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd
from scipy import stats

from ..engine.stage import pathway
from ..engine.streams import stream_key
from ..scenario.intervention import changed_settings
from ..scenario.schema import Scenario
from ..scenario.variants import has_setting, variant
from ..vawg.repeats import further_incident_value
from . import decision
from .catalogue import key_results
from .compare import clear, run_comparison

LHS_SEED = 20261122
SPLIT_COLUMNS = ["scenario", "metric", "offence", "n_sets", "reps", "var_between_sets", "var_noise", "var_parameter", "share_parameter"]
SIGNIFICANCE = 0.05  # a correlation's, Bonferroni-corrected over the parameters tried
MIN_SETS_FOR_SIGNIFICANCE = 10  # below it a rank correlation's p-value (a t approximation) means nothing
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
    seeds: pd.Series  # set -> its seed
    differences: pd.DataFrame  # set, scenario, metric, offence, replication, diff (group 'all')
    intervals: pd.DataFrame  # scenario, metric, offence, uncertainty_low, uncertainty_high
    ranking: pd.DataFrame  # scenario, metric, offence, parameter, spearman, p_value, significant, rank, switching_value
    variance: pd.DataFrame  # scenario, metric, offence: the spread over sets split into parameters and noise
    economics: pd.DataFrame  # set, scenario, measure, mean, ci_low, ci_high: each set's appraisal
    acceptability: pd.DataFrame  # outcome, unit, value, scenario, probability_best (simcj.experiment.decision)
    evppi: pd.DataFrame  # group, parameters, n_parameters, evppi, method


def _keep(folder: Path, paired: pd.DataFrame, economics: pd.DataFrame) -> None:
    """One finished set, written under a temporary name and renamed into place (economics last: its
    presence marks the set complete)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in (("differences", paired), ("economics", economics)):
        tmp = folder / f".{name}.parquet.partial"
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, folder / f"{name}.parquet")


def set_seed(seed: int, k: int) -> int:
    """Set ``k``'s own seed, derived from the comparison's seed and the set's number: each set draws
    its own random numbers (so the spread over sets holds Monte Carlo noise that can be measured
    and taken out), and the base and options of one set share them (common random numbers)."""
    state = np.random.SeedSequence(seed, spawn_key=(stream_key("uncertainty set"), k)).generate_state(2, np.uint32)
    return int(state[0]) << 31 | int(state[1]) >> 1


def run_uncertainty(
    base: Scenario,
    alternatives: list[Scenario],
    n: int,
    reps: int,
    seed: int,
    scale: float,
    jobs,
    progress: Optional[Callable[[float], None]] = None,
    store: Optional[Path] = None,
) -> Uncertainty:
    """Compare every option with the base on each of ``n`` Latin-hypercube sets of the uncertain
    parameters, each set on its own seed. With a ``store`` folder each finished set is kept there
    as it ends, and a set already there (the same scenarios, values, seed, replications and scale)
    is read instead of run: a killed run resumes."""
    params = uncertain_parameters([base, *alternatives])
    sets = latin_hypercube(params, n)
    seeds = pd.Series([set_seed(seed, k) for k in sets.index], index=sets.index, name="seed")
    fingerprint = hashlib.sha256(json.dumps([sc.model_dump(mode="json") for sc in (base, *alternatives)], sort_keys=True).encode()).hexdigest()
    parts, money = [], []
    for k, values in sets.iterrows():
        tick = None if progress is None else (lambda _phase, f, k=k: progress((k + f) / n))
        values = values.to_dict()
        key = hashlib.sha256(json.dumps([fingerprint, values, int(seeds[k]), reps, scale], sort_keys=True).encode()).hexdigest()[:24]
        kept = None if store is None else Path(store) / f"set-{k:05d}-{key}"
        if kept is not None and (kept / "economics.parquet").exists():
            paired, economics = pd.read_parquet(kept / "differences.parquet"), pd.read_parquet(kept / "economics.parquet")
        else:
            cmp = run_comparison(_with(base, values), [_with(a, values) for a in alternatives], reps, int(seeds[k]), scale, jobs, progress=tick)
            paired, economics = _paired(cmp, k), cmp.economics.assign(set=k)
            if kept is not None:
                _keep(kept, paired, economics)
        if progress is not None:
            progress((k + 1) / n)
        parts.append(paired)
        money.append(economics)
    differences = pd.concat(parts, ignore_index=True)
    economics = pd.concat(money, ignore_index=True)[["set", "scenario", "measure", "mean", "ci_low", "ci_high"]]
    has_npsv = (economics["measure"] == "npsv").any()
    abuse_value = further_abuse_value(base)
    variance = pd.concat([variance_split(differences), npsv_variance(economics, reps)], ignore_index=True) if has_npsv else variance_split(differences)
    return Uncertainty(
        sets, seeds, differences, intervals(differences), ranking(differences, sets, key_results(base)), variance,
        economics,
        decision.acceptability(economics, abuse_value) if has_npsv else pd.DataFrame(columns=["outcome", "unit", "value", "scenario", "probability_best"]),
        decision.evppi(economics, sets) if has_npsv else pd.DataFrame(columns=["group", "parameters", "n_parameters", "evppi", "method"]),
    )


def npsv_variance(economics: pd.DataFrame, reps: int) -> pd.DataFrame:
    """:func:`variance_split` for each option's NPSV (metric ``npsv``), each set's noise read back
    from its 95% t interval over its replications."""
    e = economics[economics["measure"] == "npsv"]
    se = (e["ci_high"] - e["mean"]) / stats.t.ppf(0.975, reps - 1) if reps > 1 else e["mean"] * np.nan
    by = e.assign(noise=se**2).groupby("scenario", sort=False)
    out = pd.DataFrame({"n_sets": by.size(), "reps": reps, "var_between_sets": by["mean"].var(ddof=1), "var_noise": by["noise"].mean()})
    return _split(out).reset_index().assign(metric="npsv", offence="all")[SPLIT_COLUMNS]


def further_abuse_value(scenario: Scenario) -> float:
    """The written value of one further recorded incident avoided (the first class with a harm value), or NaN."""
    uc = scenario.costs
    if uc is None or not uc.harm:
        return float("nan")
    name = next(iter(uc.harm))
    return further_incident_value(uc, name, scenario.offences[name].repeat)


def variance_split(differences: pd.DataFrame) -> pd.DataFrame:
    """For each option and KPI, the variance over sets of a set's mean difference, split into Monte
    Carlo noise (the mean within-set variance over the set's R replications, / R) and parameter
    uncertainty (the rest, at least 0), as O'Hagan, Stevenson & Madan (2007) and NICE DSU TSD 15 do;
    ``share_parameter`` is the second's share. With one replication a set the noise cannot be
    measured (NaN)."""
    g = differences.groupby(["scenario", "metric", "offence", "set"])["diff"]
    per_set = pd.DataFrame({"mean": g.mean(), "var": g.var(ddof=1), "reps": g.size()})
    by = per_set.groupby(level=[0, 1, 2])
    out = pd.DataFrame({"n_sets": by.size(), "reps": by["reps"].min(), "var_between_sets": by["mean"].var(ddof=1)})
    out["var_noise"] = by["var"].mean() / out["reps"]
    return _split(out).reset_index()[SPLIT_COLUMNS]


def _split(table: pd.DataFrame) -> pd.DataFrame:
    """Parameter variance (between sets less noise, at least 0) and its share, beside the noise."""
    table["var_parameter"] = (table["var_between_sets"] - table["var_noise"]).clip(lower=0.0)
    total = table["var_parameter"] + table["var_noise"]
    table["share_parameter"] = np.where(total > 0, table["var_parameter"] / total.where(total > 0, 1.0), np.nan)
    return table


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
    |Spearman correlation| with its mean difference over sets (unit costs only for cost KPIs), each
    with its p-value and whether it is ``significant`` at 5% after a Bonferroni correction over the
    parameters tried (never with fewer than :data:`MIN_SETS_FOR_SIGNIFICANCE` sets): with few sets
    some strong correlations are chance, and where none is significant the ranking means nothing yet."""
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
            test = stats.spearmanr(x, y) if y.nunique() > 1 and x.nunique() > 1 and len(x) > 2 else None
            rho, p = (test.statistic, test.pvalue) if test is not None else (np.nan, np.nan)
            significant = len(x) >= MIN_SETS_FOR_SIGNIFICANCE and bool(p < SIGNIFICANCE / len(candidates))
            scored.append((param, rho, p, significant, switching_value(x.to_numpy(), y.to_numpy())))
        scored.sort(key=lambda pr: -abs(pr[1]) if np.isfinite(pr[1]) else 0.0)
        rows += [(scenario, metric, offence, param, rho, p, sig, r + 1, x0) for r, (param, rho, p, sig, x0) in enumerate(scored)]
    return pd.DataFrame(rows, columns=["scenario", "metric", "offence", "parameter", "spearman", "p_value", "significant", "rank", "switching_value"])


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

