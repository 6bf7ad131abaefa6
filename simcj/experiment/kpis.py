"""Key performance indicators of one replication, in long format.

Counts are flows in the measurement window (after the warm-up), per year, as published annual
statistics are. Each stage declares the case-based metrics it adds (``Stage.case_metrics``,
``case_durations``, ``derived_metrics``) over the per-case indicators it gives; the core here reads
only what every victims' case has (its report, its exit and when), so any pathway reports what its
stages measure. The rates use the published denominators, for instance:

* ``rate_charge_recorded``: charge/summons outcomes / crimes recorded (the Home Office measure);
* ``rate_cps_charge``: charges / (charges + NFA + CPS out-of-court disposals): CPS legal decisions;
* ``rate_conviction``: convictions / completed prosecutions (the CPS measure);
* ``rate_withdrawal_pre_charge``: victim withdrew before charge / pre-charge outcomes assigned
  (O15, O16, O18, cautions, CPS NFA and out-of-court disposals, and charges).

Every metric is given for each offence class and ``all``; case-based metrics also by victim group
(``ethnicity=…``, ``age_band=…``, ``borough=…``, ``risk=…``, and a stage's own breakdowns) beside the
total group ``all``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..engine.arrivals import whole_years
from ..engine.cases import Exit, closed_in, within
from ..engine.stage import pathway
from ..engine.world import ReplicationOutput
from ..scenario.schema import Scenario
from . import costs
from .performance import change_metric, previous_metric

GROUP_COLUMNS = ("ethnicity", "age_band", "borough", "risk")
ALL = "all"
STATISTICS = ("median", "p90", "mean")

# The core's case-based metrics, over what every victims' case has: (metric: indicator) counts,
# (metric: (numerator, denominator)) rates, (metric: indicator) durations in days.
COUNTS = {
    "reported": "reported",
    "recorded": "recorded",
    "withdrawals_pre_charge": "withdrew",
    "outcome_o15": "o15",
    "outcome_o16": "withdrew",
    "outcome_o18": "o18",
    "cautions_and_out_of_court": "ooc",
}
RATES = {
    "share_withdrawals_within_7d": ("withdrew_7d", "withdrew"),
    "share_withdrawals_within_30d": ("withdrew_30d", "withdrew"),
}
DURATIONS = {"days_report_to_outcome": "d_report_to_outcome"}


@dataclass
class CaseMetrics:
    """The case-based metrics of a pathway: the core's and its stages'."""

    counts: dict = field(default_factory=lambda: dict(COUNTS))
    rates: dict = field(default_factory=lambda: dict(RATES))
    durations: dict = field(default_factory=lambda: dict(DURATIONS))
    derived: dict = field(default_factory=dict)

    def names(self) -> list[str]:
        return [*self.counts, *self.rates, *self.derived, *(f"{m}_{s}" for m in self.durations for s in STATISTICS)]

    def keep(self, available: set[str]) -> CaseMetrics:
        """Only the metrics whose indicators are ``available`` (a pathway without a stage reports without its metrics)."""
        rates = {m: how for m, how in self.rates.items() if set(how[:2]) <= available}
        return CaseMetrics(
            {m: i for m, i in self.counts.items() if i in available},
            rates,
            {m: i for m, i in self.durations.items() if i in available},
            {m: how for m, how in self.derived.items() if set(how[1:]) <= set(rates)},
        )

    def only(self, wanted: set[str] | None) -> CaseMetrics:
        """The metrics ``wanted`` (all if None), with the rates a wanted difference or ratio is made of."""
        if wanted is None:
            return self
        derived = {m: how for m, how in self.derived.items() if m in wanted}
        parts = {m for how in derived.values() for m in how[1:]}
        return CaseMetrics(
            {m: c for m, c in self.counts.items() if m in wanted},
            {m: how for m, how in self.rates.items() if m in wanted or m in parts},
            {m: c for m, c in self.durations.items() if any(f"{m}_{s}" in wanted for s in STATISTICS)},
            derived,
        )


def case_metrics(scenario: Scenario | None) -> CaseMetrics:
    """The case-based metrics: the core's and those the pathway's stages add."""
    metrics = CaseMetrics()
    for stage in pathway(scenario) if scenario is not None else ():
        for metric, how in stage.case_metrics.items():
            (metrics.rates if isinstance(how, tuple) else metrics.counts)[metric] = how
        metrics.durations.update(stage.case_durations)
        metrics.derived.update(stage.derived_metrics)
    return metrics


def indicators(cases: pd.DataFrame, start: float, end: float, scenario: Scenario | None = None) -> pd.DataFrame:
    """Per-case 0/1 indicators and durations for the window [start, end): the core's, then each stage's."""
    exit_ = cases["exit"]
    reported = within(cases["t_report"], start, end)
    withdrew = closed_in(cases, start, end, (Exit.WITHDREW_PRE_CHARGE,))
    days_to_exit = cases["t_exit"] - cases["t_report"]
    flags = {
        "reported": reported,
        "recorded": reported & (exit_ != Exit.NOT_RECORDED),
        "withdrew": withdrew,
        "withdrew_7d": withdrew & (days_to_exit <= 7.0),
        "withdrew_30d": withdrew & (days_to_exit <= 30.0),
        "o15": closed_in(cases, start, end, (Exit.EVIDENTIAL_DIFFICULTIES, Exit.NFA)),
        "o18": closed_in(cases, start, end, (Exit.NO_SUSPECT,)),
        "ooc": closed_in(cases, start, end, (Exit.OUT_OF_COURT,)),
    }
    outcome = within(cases["t_exit"], start, end) & (exit_ != Exit.NOT_RECORDED)
    days = {"d_report_to_outcome": np.where(outcome, days_to_exit, np.nan)}
    for stage in pathway(scenario) if scenario is not None else ():
        for name, values in stage.indicators(scenario, cases, start, end).items():
            values = np.asarray(values)
            (days if values.dtype.kind == "f" else flags)[name] = values
    ind = pd.DataFrame({name: np.asarray(values, dtype=bool) for name, values in flags.items()}, index=cases.index).astype(np.int8)
    for name, values in days.items():
        ind[name] = values
    return ind


def _grouped(ind: pd.DataFrame, offence: pd.Series, group: pd.Series, years: float, metrics: CaseMetrics) -> pd.DataFrame:
    """Metrics for each (offence, group) combination, in long format.

    Aggregates are taken out as plain arrays once: column access on a MultiIndexed frame copies
    the index every time.
    """
    g = ind.groupby([offence.rename("offence"), group.rename("group")], observed=True, sort=True)
    count_cols = sorted(set(metrics.counts.values()) | {c for how in metrics.rates.values() for c in how[:2]})
    summed = g[count_cols].sum()
    index = summed.index
    sums = dict(zip(count_cols, summed.to_numpy(dtype=float).T))
    out = {}
    for metric, col in metrics.counts.items():
        out[metric] = sums[col] / years
    with np.errstate(divide="ignore", invalid="ignore"):
        for metric, (num, den, *per) in metrics.rates.items():
            rate = np.where(sums[den] > 0, sums[num] / sums[den], np.nan)
            out[metric] = rate * per[0] if per else rate
        for metric, (how, a, b) in metrics.derived.items():
            if how == "difference":
                out[metric] = out[a] - out[b]
            else:
                out[metric] = np.where(out[b] > 0, out[a] / out[b], np.nan)
    if metrics.durations:
        dur_cols = list(dict.fromkeys(metrics.durations.values()))
        grouped = g[dur_cols]
        for suffix, frame in (("median", grouped.median()), ("p90", grouped.quantile(0.9)), ("mean", grouped.mean())):
            values = dict(zip(dur_cols, frame.reindex(index).to_numpy(dtype=float).T))
            for metric, col in metrics.durations.items():
                out[f"{metric}_{suffix}"] = values[col]
    wide = pd.DataFrame(out, index=index)
    return wide.reset_index().melt(id_vars=["offence", "group"], var_name="metric", value_name="value")


def _constant(label: str, n: int, index) -> pd.Series:
    return pd.Series(pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), [label]), index=index)


def case_kpis(cases: pd.DataFrame, start: float, end: float, years: float, classes=(), scenario: Scenario | None = None,
              only: set[str] | None = None, groups: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Case-based metrics by offence (and 'all') and group (and 'all').

    ``only`` keeps just those metrics and ``groups`` just those group columns (the performance
    table's year before needs its few indicators by borough, not every KPI by every group).

    Grouping is on the categorical columns themselves (one byte a row), not on built strings, and
    only over cases open at some point of the window: a case closed before it counts in no KPI.
    Every offence class of ``classes`` (and 'all') has every metric in group 'all' even if it had no case
    in the window: counts 0, rates and durations NaN (no denominator).
    """
    active = ~(cases["t_exit"] < start).to_numpy()
    lookback = max([stage.lookback_days for stage in pathway(scenario)], default=0.0) if scenario is not None else 0.0
    if lookback > 0.0:  # a stage's indicators follow cases reported before the window (repeats)
        active |= (cases["t_report"] >= start - lookback).to_numpy()
    ind = indicators(cases, start, end, scenario)[active]
    metrics = case_metrics(scenario).keep(set(ind.columns)).only(only)
    columns = _group_columns(cases, scenario)
    if groups is not None:
        columns = columns[["offence", *(c for c in groups if c in columns)]]
    cases = columns.loc[active]
    n, idx = len(cases), cases.index
    offences = (cases["offence"].astype("category"), _constant(ALL, n, idx))
    frames = []
    for group_col in (None, *(c for c in cases.columns if c != "offence")):
        if group_col is None:
            group = _constant(ALL, n, idx)
        else:
            group = cases[group_col].astype("category")
            group = group.cat.rename_categories([f"{group_col}={v}" if v != "" else "" for v in group.cat.categories])
            if "" in group.cat.categories:
                group = group.cat.remove_categories([""])
            if group.isna().all():
                continue
        for offence in offences:
            frames.append(_grouped(ind, offence, group, years, metrics))
    out = pd.concat(frames, ignore_index=True)
    out["offence"] = out["offence"].astype(str)
    out["group"] = out["group"].astype(str)
    return _with_every_total(out[["metric", "offence", "group", "value"]], classes, metrics, only)


def _group_columns(cases: pd.DataFrame, scenario: Scenario | None) -> pd.DataFrame:
    """The offence and the groups KPIs are broken down by: the victim's (``GROUP_COLUMNS``) and the
    stages' own (with a support stage, whether she was supported), so every KPI can be read by them."""
    out = cases[["offence", *GROUP_COLUMNS]].copy()
    for stage in pathway(scenario) if scenario is not None else ():
        for name, labels in stage.groups(scenario, cases).items():
            out[name] = labels
    return out


def _with_every_total(out: pd.DataFrame, classes, metrics: CaseMetrics, only: set[str] | None = None) -> pd.DataFrame:
    """Add the rows of group 'all' that no case produced: counts 0, everything else NaN."""
    names = [m for m in metrics.names() if only is None or m in only]
    have = set(zip(out["metric"], out["offence"], out["group"]))
    missing = [(m, o, ALL, 0.0 if m in metrics.counts else np.nan) for o in (*classes, ALL) for m in names if (m, o, ALL) not in have]
    if not missing:
        return out
    return pd.concat([out, pd.DataFrame(missing, columns=out.columns)], ignore_index=True)


def _stage_rows(run: ReplicationOutput, scenario: Scenario, start: float, end: float) -> list[tuple]:
    """Every stage's system KPIs for the window, as (metric, offence, value, group)."""
    rows = [row for stage in pathway(scenario) for row in stage.kpis(scenario, run, start, end)]
    return [(*row, ALL) if len(row) == 3 else row for row in rows]  # a stage's breakdown names its group


def previous_year_kpis(run: ReplicationOutput, scenario: Scenario) -> pd.DataFrame | None:
    """The performance table's indicators over the year before the measured period (the last year of
    the warm-up): their direction of travel is read against it. None without a year of warm-up."""
    wanted = {ind.metric for ind in scenario.performance.values()}
    start, end = run.warmup - 365.0, run.warmup
    if not wanted or start < 0.0:
        return None
    system = pd.DataFrame(_stage_rows(run, scenario, start, end), columns=["metric", "offence", "value", "group"])
    cases = case_kpis(run.cases, start, end, 1.0, scenario.offences, scenario, only=wanted, groups=("borough",))
    frame = pd.concat([system[["metric", "offence", "group", "value"]], cases], ignore_index=True)
    return frame[frame["metric"].isin(wanted)].copy()


def year_on_year(current: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """``<metric>_previous_year`` and ``<metric>_change_on_previous_year`` rows for the indicators."""
    keys = ["metric", "offence", "group"]
    both = current[current["metric"].isin(set(previous["metric"]))].merge(previous, on=keys, suffixes=("", "_before"))
    change = both.assign(metric=both["metric"].map(change_metric), value=both["value"] - both["value_before"])[[*keys, "value"]]
    return pd.concat([previous.assign(metric=previous["metric"].map(previous_metric)), change], ignore_index=True)


def has_victims(scenario: Scenario) -> bool:
    """Does the pathway have the victims' stages (the VAWG pathway), or only the women's?"""
    return any(stage.table == "victims" for stage in pathway(scenario))


def window_kpis(run: ReplicationOutput, scenario: Scenario, start: float, end: float, groups: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Every KPI of the window [start, end): the stages' system KPIs (stocks at its end), the
    activity and case-based metrics of its cases (a year), and their costs; in long format."""
    system = pd.DataFrame(_stage_rows(run, scenario, start, end), columns=["metric", "offence", "value", "group"])[["metric", "offence", "group", "value"]]
    if not has_victims(scenario):  # the women's pathway alone: its stages' KPIs and costs
        frame = system
    else:
        years = (end - start) / 365.0
        used = pd.DataFrame(
            [row for stage in pathway(scenario) for row in stage.activity(scenario, run.cases, start, end, years)], columns=["metric", "offence", "value"]
        )
        used["group"] = ALL
        cases = case_kpis(run.cases, start, end, years, scenario.offences, scenario, groups=groups)
        frame = pd.concat([system, used, cases], ignore_index=True)
    money = costs.cost_rows(scenario, frame)
    money["group"] = ALL
    return pd.concat([frame, money], ignore_index=True)


def yearly_kpis(run: ReplicationOutput, scenario: Scenario) -> pd.DataFrame:
    """Each whole measured year's KPIs (group 'all'): its flows and rates, the stocks at its end, its
    costs; ``year`` 1 is the first year after the warm-up (an option's intervention date)."""
    frames = []
    for k, (a, b) in enumerate(whole_years(run.warmup, run.horizon), start=1):
        frame = window_kpis(run, scenario, a, b, groups=())
        frame = frame[~frame["metric"].str.contains("_at_year_", regex=False)]
        frames.append(frame.assign(year=k))
    if not frames:
        return pd.DataFrame(columns=["replication", "year", "metric", "offence", "group", "value"])
    out = pd.concat(frames, ignore_index=True)[["year", "metric", "offence", "group", "value"]]
    out.insert(0, "replication", run.replication)
    return out


def replication_kpis(run: ReplicationOutput, scenario: Scenario) -> pd.DataFrame:
    """All KPIs of one replication's measured period in long format with the replication number."""
    frame = window_kpis(run, scenario, run.warmup, run.horizon)
    if has_victims(scenario):
        open_at_end = run.cases["exit"] == Exit.OPEN
        rows = [("open_at_end", name, ALL, float((open_at_end & (run.cases["offence"] == name)).sum())) for name in scenario.offences]
        rows.append(("open_at_end", ALL, ALL, float(open_at_end.sum())))
        frame = pd.concat([frame, pd.DataFrame(rows, columns=["metric", "offence", "group", "value"])], ignore_index=True)
        previous = previous_year_kpis(run, scenario)
        if previous is not None and not previous.empty:
            frame = pd.concat([frame, year_on_year(frame, previous)], ignore_index=True)
    frame.insert(0, "replication", run.replication)
    return frame
