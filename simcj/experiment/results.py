"""The Python API: ``simulate(scenario, reps, seed)`` returns :class:`Results`.

    sc = simcj.load_scenario("scenarios/baseline.yaml")
    res = simcj.simulate(sc, reps=4, seed=1)
    res.summary            # mean and 95% CI of every KPI
    res.plot_funnel()      # matplotlib figure
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pandas as pd

from ..model import women
from ..scenario.schema import Scenario
from .executor import EVERYTHING
from .kpis import has_victims
from .runner import RunSpec, assemble, resolve, run_replications

# The headline table printed after a run: (metric, label, format).
HEADLINE = (
    ("incidents", "Incidents a year", "{:,.0f}"),
    ("reported", "Reported a year", "{:,.0f}"),
    ("recorded", "Recorded crimes a year", "{:,.0f}"),
    ("referred_cps", "Referred to CPS a year", "{:,.0f}"),
    ("charged", "Charged a year", "{:,.0f}"),
    ("convicted", "Convicted a year", "{:,.0f}"),
    ("rate_withdrawal_pre_charge", "Victim withdrew before charge", "{:.1%}"),
    ("rate_charge_recorded", "Charge/summons rate (of recorded)", "{:.1%}"),
    ("rate_cps_charge", "CPS charging rate", "{:.1%}"),
    ("rate_conviction", "Conviction rate (CPS)", "{:.1%}"),
    ("rate_guilty_plea", "Guilty-plea rate", "{:.1%}"),
    ("days_report_to_charge_median", "Median days report to charge", "{:,.0f}"),
    ("days_charge_to_completion_median", "Median days charge to completion", "{:,.0f}"),
)
SYSTEM_HEADLINE = (
    ("crown_backlog", "Crown Court backlog at end of run", "{:,.0f}"),
    ("idva_utilisation", "IDVA utilisation", "{:.1%}"),
    ("idva_wait_days_mean", "Mean IDVA wait, days", "{:,.1f}"),
    ("isva_utilisation", "ISVA utilisation", "{:.1%}"),
    ("isva_wait_days_mean", "Mean ISVA wait, days", "{:,.1f}"),
)

# The women's pathway's headline (offence women_offenders), printed when the pathway has its stages.
WOMEN_HEADLINE = (
    ("arrests", "Arrests of women a year", "{:,.0f}"),
    ("diverted", "Diverted (conditional caution complied with)", "{:,.0f}"),
    ("charged", "Charged a year", "{:,.0f}"),
    ("remanded", "Remanded in custody a year", "{:,.0f}"),
    ("remanded_not_custody_share", "Remanded, then not given custody", "{:.1%}"),
    ("sentenced_custody", "Sentenced to immediate custody a year", "{:,.0f}"),
    ("short_custody_share", "Custodial sentences under six months", "{:.1%}"),
    ("community_orders", "Community orders a year", "{:,.0f}"),
    ("recalls", "Recalls a year", "{:,.0f}"),
    ("reoffending_12m", "Proven reoffending within 12 months", "{:.1%}"),
    ("womens_centre_referrals", "Women's-service referrals a year", "{:,.0f}"),
    ("womens_centre_wait_days_mean", "Mean wait for a key worker, days", "{:,.1f}"),
    ("prison_places_used", "Prison places used (mean)", "{:,.0f}"),
    ("cost_delivery", "Delivery cost a year, £", "{:,.0f}"),
    ("cost_consequence", "Consequence cost a year (prison, probation), £", "{:,.0f}"),
)


@dataclass
class Results:
    spec: RunSpec
    kpis: pd.DataFrame
    summary: pd.DataFrame
    cases: pd.DataFrame
    timeseries: pd.DataFrame
    wall_seconds: float
    jobs: int

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
        if not has_victims(self.scenario):  # the women's pathway alone
            rows = {label: {women.OFFENCE: _cell(s, metric, women.OFFENCE, fmt)} for metric, label, fmt in WOMEN_HEADLINE}
            return pd.DataFrame.from_dict(rows, orient="index", columns=[women.OFFENCE])
        offences = [*self.scenario.offences, "all"]
        rows = {}
        for metric, label, fmt in HEADLINE:
            rows[label] = {o: _cell(s, metric, o, fmt) for o in offences}
        for metric, label, fmt in SYSTEM_HEADLINE:
            if (metric, "all") in s.index:
                rows[label] = {o: (_cell(s, metric, "all", fmt) if o == "all" else "") for o in offences}
        return pd.DataFrame.from_dict(rows, orient="index", columns=offences)

    # figures ---------------------------------------------------------------------------------

    def plot_funnel(self, ax=None):
        from ..report import figures

        return figures.funnel(self, ax)

    def plot_backlog(self, ax=None):
        from ..report import figures

        return figures.backlog(self, ax)

    def plot_time_to_outcome(self):
        from ..report import figures

        return figures.time_to_outcome(self)

    def save(self, out: str | Path, command: str = "", replace: bool = False) -> Path:
        """Write the results folder (see README: 'What a run writes'); ``replace`` swaps out an
        earlier results folder at ``out`` once the new one is complete."""
        from ..report.export import write_results

        return write_results(self, Path(out), command, replace=replace)


def _cell(s: pd.DataFrame, metric: str, offence: str, fmt: str) -> str:
    if (metric, offence) not in s.index:
        return ""
    row = s.loc[(metric, offence)]
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
    kpis, summary, cases, timeseries = assemble(results)
    return Results(spec, kpis, summary, cases, timeseries, wall_seconds, getattr(jobs, "jobs", jobs))
