"""`simcj sensitivity`: one-way sensitivity to every parameter that carries a range.

A parameter written ``{value, low, high, source}`` is uncertain or disputed (an IDVA's effect on
withdrawal, a custody rate, a fitted value within its bounds). Each is set to its low and then its
high end, all else as the scenario, and run on the scenario's seed and replication numbers, so the
change in each KPI is a paired difference on common random numbers.

Unit costs (``costs.*``) do not change what happens to cases, only its price: they are re-priced on
the scenario's own replications instead of re-run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional

import pandas as pd

from ..scenario.schema import Scenario
from ..scenario.variants import variant
from .catalogue import key_results
from .compare import paired_differences
from .costs import APPRAISAL_ONLY, cost_rows
from .executor import TABLES, executor_for
from .results import Results, simulate
from .uncertainty import WOMEN_COSTS, used_by_pathway

COLUMNS = ["parameter", "end", "value", "base_value", "metric", "offence", "base_mean", "diff_mean", "diff_ci_low", "diff_ci_high"]


def ranged_parameters(scenario: Scenario) -> list[tuple[str, float, float, float]]:
    """(key path, value, low, high) of every parameter with a range, in key order."""
    out = []
    plain = scenario.model_dump(by_alias=True)
    for path, src in sorted(scenario.sources.items()):
        if src.low is None or src.high is None or src.low == src.high or not used_by_pathway(scenario, path) or path in APPRAISAL_ONLY:
            continue
        node = plain
        for part in path.split("."):
            node = node[part]
        out.append((path, float(node), float(src.low), float(src.high)))
    return out


def repriced(path: str) -> bool:
    """A unit cost of the VAWG pathway is applied after the run (its KPIs repriced, nothing
    simulated again); the women's pathway prices its cost lines in its stages, so it is rerun."""
    return path.startswith("costs.") and path not in WOMEN_COSTS


def _reprice(scenario: Scenario, base: Results, path: str, value: float) -> pd.DataFrame:
    """The base's KPIs with cost rows recomputed at one changed unit cost."""
    priced = variant(scenario, {path: value})
    frames = []
    for rep, k in base.kpis.groupby("replication"):
        kept = k[~k["metric"].str.startswith("cost_")]
        money = cost_rows(priced, kept)
        money["group"] = "all"
        money["replication"] = rep
        frames.append(pd.concat([kept, money], ignore_index=True))
    return pd.concat(frames, ignore_index=True)


def run_sensitivity(
    scenario: Scenario,
    reps: Optional[int],
    seed: Optional[int],
    scale: float,
    jobs,
    only: tuple[str, ...] = (),
    progress: Optional[Callable[[float], None]] = None,
) -> tuple[Results, pd.DataFrame]:
    """Run the scenario and each ranged parameter at its two ends; the table of paired differences."""
    params = [p for p in ranged_parameters(scenario) if not only or p[0] in only]
    simulated = [p for p in params if not repriced(p[0])]
    total = 1 + 2 * len(simulated)
    done = [0]

    def tick(f: float) -> None:
        if progress is not None:
            progress(min(1.0, (done[0] + f) / total))

    jobs = executor_for(jobs)
    base = simulate(scenario, reps=reps, seed=seed, scale=scale, jobs=jobs, progress=tick, want=TABLES)
    done[0] += 1
    rows = []
    for path, value, low, high in params:
        for end, v in (("low", low), ("high", high)):
            if repriced(path):
                kpis = _reprice(base.scenario, base, path, v)
            else:
                run = simulate(variant(scenario, {path: v}), reps=base.spec.reps, seed=base.spec.seed, scale=scale, jobs=jobs, progress=tick, want=TABLES)
                done[0] += 1
                kpis = run.kpis
            d = paired_differences(base.kpis, kpis, path)
            for metric, offence, _label in key_results(scenario):
                sel = d[(d["metric"] == metric) & (d["offence"] == offence) & (d["group"] == "all")]
                if len(sel):
                    r = sel.iloc[0]
                    rows.append((path, end, v, value, metric, offence, r["base_mean"], r["diff_mean"], r["diff_ci_low"], r["diff_ci_high"]))
    if progress is not None:
        progress(1.0)
    return base, pd.DataFrame(rows, columns=COLUMNS)
