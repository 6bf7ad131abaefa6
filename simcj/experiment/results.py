"""The Python API: ``simulate(scenario, reps, seed)`` returns :class:`Results`.

    sc = simcj.load_scenario("scenarios/baseline.yaml")
    res = simcj.simulate(sc, reps=4, seed=1)
    res.summary            # mean and 95% CI of every KPI
    res.headline()         # the headline table

Figures and the results folder are presentation's (:mod:`simcj.report`): ``simcj.figures.funnel(res)``,
``simcj.write_results(res, "results/my-run")``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Optional

import pandas as pd

from ..scenario.schema import Scenario
from . import catalogue
from .executor import EVERYTHING
from .runner import RunSpec, assemble, resolve, run_replications
from .stats import by_year


@dataclass
class Results:
    spec: RunSpec
    kpis: pd.DataFrame
    summary: pd.DataFrame
    cases: pd.DataFrame
    timeseries: pd.DataFrame
    wall_seconds: float
    jobs: int
    yearly: pd.DataFrame = field(default_factory=pd.DataFrame)  # each measured year's KPIs, by replication

    def summary_by_year(self) -> pd.DataFrame:
        """Mean and 95% CI of each KPI in each measured year (group 'all'), with the year's dates
        when the run has a start date (``run.start_date``)."""
        return by_year(self.yearly, self.scenario, self.warmup_days)

    @property
    def scenario(self) -> Scenario:
        return self.spec.scenario

    @property
    def warmup_days(self) -> float:
        return self.scenario.run.warmup_years * 365.0

    def value(self, metric: str, offence: str = "all", group: str = "all") -> pd.Series:
        """The summary row (mean, ci_low, ci_high, ...) of one KPI."""
        s = self.summary
        row = s[(s["metric"] == metric) & (s["offence"] == offence) & (s["group"] == group)]
        if row.empty:
            raise KeyError(f"no KPI {metric!r} for offence {offence!r}, group {group!r}")
        return row.iloc[0]

    def headline(self) -> pd.DataFrame:
        """The summary table of the run: each headline KPI by offence class, 'mean [95% CI]' strings."""
        s = self.summary[self.summary["group"] == "all"].set_index(["metric", "offence"])
        columns = catalogue.offences(self.scenario)
        rows = {}
        for m in catalogue.headline(self.scenario):
            cells = {o: _cell(s, m.name, o, m.fmt) for o in columns}
            if any(cells.values()):
                rows[m.label] = cells
        return pd.DataFrame.from_dict(rows, orient="index", columns=columns)


def _cell(s: pd.DataFrame, metric: str, offence: str, fmt: str) -> str:
    if (metric, offence) not in s.index:
        return ""
    row = s.loc[(metric, offence)]
    if pd.isna(row["mean"]):  # a rate with no denominator (no case of the class reached it)
        return ""
    text = fmt.format(row["mean"])
    if pd.notna(row["ci_low"]):
        text += f" [{fmt.format(row['ci_low'])}, {fmt.format(row['ci_high'])}]"
    return text


def simulate(
    scenario: Scenario,
    reps: Optional[int] = None,
    seed: Optional[int] = None,
    years: Optional[float] = None,
    warmup_years: Optional[float] = None,
    scale: float = 1.0,
    jobs=1,
    progress: Optional[Callable[[float], None]] = None,
    want: frozenset = EVERYTHING,
) -> Results:
    """Run replications of a scenario. Arguments left as None take the scenario's ``run`` settings.

    ``jobs`` is a number of local processes or an executor; ``want`` names the tables to keep
    (``kpis``, ``cases``, ``timeseries``): a caller that needs no case records asks for none.
    """
    spec = resolve(scenario, reps=reps, seed=seed, years=years, warmup_years=warmup_years, scale=scale)
    start = time.perf_counter()
    results = run_replications(spec, jobs=jobs, progress=progress, want=want)
    return from_replications(spec, results, time.perf_counter() - start, jobs)


def from_replications(spec: RunSpec, results: list, wall_seconds: float, jobs) -> Results:
    """Assemble :class:`Results` from finished replications (their count sets ``spec.reps``)."""
    spec = RunSpec(scenario=spec.scenario, reps=len(results), seed=spec.seed, scale=spec.scale)
    kpis, summary, cases, timeseries, yearly = assemble(results)
    return Results(spec, kpis, summary, cases, timeseries, wall_seconds, getattr(jobs, "jobs", jobs), yearly)
