"""The borough performance table: indicators as a community safety partnership reports them.

For each indicator of the scenario's ``performance:`` section, and for London and each borough, the
table gives the value (mean and 95% CI over replications), the target, a RAG rating and the
direction of travel against the year before the measured period, as the Havering corporate
performance report lays them out (seed 004_c7bcb4ccab41a7bc.txt L1722-1746):

* **Green**: on target or within its tolerance;
* **Amber**: further than the tolerance off target, but improved or maintained on the year before;
* **Red**: further than the tolerance off target and not improved.

The direction of travel is ``better`` or ``worse`` when the 95% CI of the change on the year before
(paired, replication by replication) excludes no change, and ``same`` otherwise: in a model, as in
a borough's figures, most year-on-year movement is noise. The year before is measured over the last
year of the warm-up, so a run needs at least a year of warm-up for it; an option's year before is
its base's until the intervention date.
"""

from __future__ import annotations

import math

import pandas as pd

from ..scenario.schema import Indicator, Scenario

PREVIOUS = "_previous_year"
CHANGE = "_change_on_previous_year"
COLUMNS = [
    "indicator", "metric", "offence", "area", "value", "ci_low", "ci_high", "target", "tolerance", "better", "rag",
    "previous_year", "change", "change_ci_low", "change_ci_high", "direction",
]


def previous_metric(metric: str) -> str:
    return metric + PREVIOUS


def change_metric(metric: str) -> str:
    return metric + CHANGE


def off_target(ind: Indicator, value: float) -> float:
    """How far ``value`` falls short of the target on the worse side (0 if on or beyond it)."""
    gap = ind.target - value if ind.better == "higher" else value - ind.target
    return max(gap, 0.0)


def direction(ind: Indicator, ci_low: float, ci_high: float) -> str:
    """Direction of travel from the 95% CI of the change: 'better', 'worse', 'same' (unknown: '')."""
    if math.isnan(ci_low) or math.isnan(ci_high):
        return ""
    if ci_low <= 0.0 <= ci_high:
        return "same"
    return "better" if (ci_low > 0.0) == (ind.better == "higher") else "worse"


def rag(ind: Indicator, value: float, travel: str) -> str:
    """Red, Amber or Green, as the Havering report defines them (unknown: '')."""
    if math.isnan(value):
        return ""
    if off_target(ind, value) <= ind.tolerance:
        return "Green"
    return "Amber" if travel in ("better", "same") else "Red"


def table(scenario: Scenario, summary: pd.DataFrame) -> pd.DataFrame:
    """The performance table for London and each borough, from a run's summary."""
    rows = []
    s = summary.set_index(["metric", "offence", "group"])
    areas = ["all", *(f"borough={b}" for b in scenario.population.borough)]
    for name, ind in scenario.performance.items():
        for area in areas:
            key = (ind.metric, ind.offence, area)
            if key not in s.index:
                continue
            r = s.loc[key]
            nan = {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan}
            previous = s.loc[(previous_metric(ind.metric), ind.offence, area)] if (previous_metric(ind.metric), ind.offence, area) in s.index else nan
            change = s.loc[(change_metric(ind.metric), ind.offence, area)] if (change_metric(ind.metric), ind.offence, area) in s.index else nan
            value = float(r["mean"])
            travel = direction(ind, float(change["ci_low"]), float(change["ci_high"]))
            rows.append(
                [name, ind.metric, ind.offence, "London" if area == "all" else area.split("=", 1)[1], value, r["ci_low"], r["ci_high"],
                 ind.target, ind.tolerance, ind.better, rag(ind, value, travel), float(previous["mean"]),
                 float(change["mean"]), float(change["ci_low"]), float(change["ci_high"]), travel]
            )
    return pd.DataFrame(rows, columns=COLUMNS)
