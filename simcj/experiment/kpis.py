"""Key performance indicators of one replication, in long format.

Counts are flows in the measurement window (after the warm-up), per year, as published annual
statistics are. Rates use the published denominators:

* ``rate_charge_recorded``: charge/summons outcomes / crimes recorded (the Home Office measure);
* ``rate_cps_charge``: charges / (charges + NFA + CPS out-of-court disposals): CPS legal decisions;
* ``rate_conviction``: convictions / completed prosecutions (the CPS measure);
* ``rate_guilty_plea``: guilty pleas / completed prosecutions;
* ``rate_withdrawal_pre_charge``: victim withdrew before charge / pre-charge outcomes assigned
  (O15, O16, O18, cautions, CPS NFA and out-of-court disposals, and charges).

Every metric is given for each offence class and ``all``; case-based metrics also by victim group
(``ethnicity=…``, ``age_band=…``, ``borough=…``, ``risk=…``) beside the total group ``all``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..model.entities import Exit, Plea, Venue
from ..model.stage import pathway
from ..model.world import ReplicationOutput
from ..scenario.schema import Scenario
from . import costs
from .performance import change_metric, previous_metric

GROUP_COLUMNS = ("ethnicity", "age_band", "borough", "risk")
ALL = "all"

PRE_CHARGE_EXITS = (Exit.NO_SUSPECT, Exit.EVIDENTIAL_DIFFICULTIES, Exit.WITHDREW_PRE_CHARGE, Exit.NFA, Exit.OUT_OF_COURT)

# (metric, numerator column, denominator column, scale); counts have no denominator.
COUNTS = {
    "reported": "reported",
    "recorded": "recorded",
    "arrests": "arrested_w",
    "referred_cps": "referred",
    "charged": "charged",
    "convicted": "convicted",
    "completed_prosecutions": "completed",
    "withdrawals_pre_charge": "withdrew",
    "outcome_o15": "o15",
    "outcome_o16": "withdrew",
    "outcome_o18": "o18",
    "cautions_and_out_of_court": "ooc",
}
RATES = {
    "rate_charge_recorded": ("charged", "recorded"),
    "rate_cps_charge": ("cps_charge", "cps_decision"),
    "rate_conviction": ("convicted", "completed"),
    "rate_guilty_plea": ("guilty_plea", "completed"),
    "rate_early_guilty_plea": ("early_plea", "completed"),
    "rate_retraction_post_charge": ("retraction", "completed"),
    "rate_withdrawal_pre_charge": ("withdrew", "pre_charge_outcome"),
    "share_o15": ("o15", "pre_charge_outcome"),
    "share_o18": ("o18", "pre_charge_outcome"),
    "share_withdrawals_within_7d": ("withdrew_7d", "withdrew"),
    "share_withdrawals_within_30d": ("withdrew_30d", "withdrew"),
    "rate_withdrawal_pre_charge_known": ("withdrew_known", "pre_charge_outcome_known"),
    "rate_withdrawal_pre_charge_stranger": ("withdrew_stranger", "pre_charge_outcome_stranger"),
    "arrests_per_100_recorded": ("arrested_w", "recorded"),
    "rate_conviction_sdvc": ("convicted_sdvc", "completed_sdvc"),
    "rate_early_guilty_plea_sdvc": ("early_plea_sdvc", "completed_sdvc"),
    "rate_conviction_magistrates": ("convicted_magistrates", "completed_magistrates"),
    "rate_conviction_crown": ("convicted_crown", "completed_crown"),
}
PER_100 = {"arrests_per_100_recorded"}
# Differences of two rates: the SDVC's conviction rate less the other magistrates' lists' (published
# figures of one period can be set against it when their levels are of another).
DIFFERENCES = {"rate_conviction_sdvc_gap": ("rate_conviction_sdvc", "rate_conviction_magistrates")}
# Ratios of two rates: how much likelier victims who know the suspect are to withdraw.
RATIOS = {"withdrawal_ratio_known_to_stranger": ("rate_withdrawal_pre_charge_known", "rate_withdrawal_pre_charge_stranger")}
DURATIONS = {
    "days_report_to_charge": "d_report_to_charge",
    "days_charge_to_completion": "d_charge_to_completion",
    "days_report_to_outcome": "d_report_to_outcome",
    "days_offence_to_completion": "d_offence_to_completion",
    "days_investigation_wait": "d_investigation_wait",
    "days_support_wait": "d_support_wait",
}


def _in(t: pd.Series, start: float, end: float) -> pd.Series:
    return (t >= start) & (t < end)


def case_metrics(scenario: Scenario | None) -> tuple[dict, dict]:
    """The case-based counts and rates: the pathway's own and those its stages add."""
    counts, rates = dict(COUNTS), dict(RATES)
    for stage in pathway(scenario) if scenario is not None else ():
        for metric, how in stage.case_metrics.items():
            (rates if isinstance(how, tuple) else counts)[metric] = how
    return counts, rates


def indicators(cases: pd.DataFrame, start: float, end: float, scenario: Scenario | None = None) -> pd.DataFrame:
    """Per-case 0/1 indicators and durations for the window [start, end)."""
    exit_ = cases["exit"]
    done_in = _in(cases["t_exit"], start, end)
    completed = _in(cases["t_completion"], start, end)
    charged = _in(cases["t_charge"], start, end)
    decided = _in(cases["t_charge_decision"], start, end)
    venue = cases["venue"]
    plea = cases["plea"]
    convicted = completed & (exit_ == Exit.CONVICTED)
    early = completed & (plea == Plea.EARLY_GUILTY)
    withdrew = done_in & (exit_ == Exit.WITHDREW_PRE_CHARGE)
    days_to_exit = cases["t_exit"] - cases["t_report"]
    ind = pd.DataFrame(
        {
            "reported": _in(cases["t_report"], start, end),
            "recorded": _in(cases["t_report"], start, end) & (exit_ != Exit.NOT_RECORDED),
            "arrested_w": _in(cases["t_investigation_queued"], start, end) & cases["arrested"],
            "referred": _in(cases["t_cps_referral"], start, end),
            "charged": charged,
            "cps_charge": decided & cases["t_charge"].notna(),
            "cps_decision": decided,
            "convicted": convicted,
            "completed": completed,
            "guilty_plea": completed & plea.isin([Plea.EARLY_GUILTY, Plea.LATE_GUILTY]),
            "early_plea": early,
            "retraction": completed & (exit_ == Exit.RETRACTION_POST_CHARGE),
            "withdrew": withdrew,
            "withdrew_7d": withdrew & (days_to_exit <= 7.0),
            "withdrew_30d": withdrew & (days_to_exit <= 30.0),
            "o15": done_in & exit_.isin([Exit.EVIDENTIAL_DIFFICULTIES, Exit.NFA]),
            "o18": done_in & (exit_ == Exit.NO_SUSPECT),
            "ooc": done_in & (exit_ == Exit.OUT_OF_COURT),
            "pre_charge_outcome": (done_in & exit_.isin(PRE_CHARGE_EXITS)) | charged,
        }
    )
    stranger = cases["stranger"].astype(bool)
    for name, who in (("known", ~stranger), ("stranger", stranger)):
        ind[f"withdrew_{name}"] = ind["withdrew"] & who
        ind[f"pre_charge_outcome_{name}"] = ind["pre_charge_outcome"] & who
    for name, v in (("sdvc", Venue.SDVC), ("magistrates", Venue.MAGISTRATES), ("crown", Venue.CROWN)):
        at = venue == v
        ind[f"completed_{name}"] = completed & at
        ind[f"convicted_{name}"] = convicted & at
        ind[f"early_plea_{name}"] = early & at
    for stage in pathway(scenario) if scenario is not None else ():
        for name, values in stage.indicators(scenario, cases, start, end).items():
            ind[name] = np.asarray(values, dtype=bool)
    ind = ind.astype(np.int8)
    nan = np.nan
    ind["d_report_to_charge"] = np.where(charged, cases["t_charge"] - cases["t_report"], nan)
    ind["d_charge_to_completion"] = np.where(completed, cases["t_completion"] - cases["t_charge"], nan)
    ind["d_report_to_outcome"] = np.where(done_in & (exit_ != Exit.NOT_RECORDED), cases["t_exit"] - cases["t_report"], nan)
    ind["d_offence_to_completion"] = np.where(completed, cases["t_completion"] - cases["t_incident"], nan)
    started = _in(cases["t_investigation_start"], start, end)
    ind["d_investigation_wait"] = np.where(started, cases["t_investigation_start"] - cases["t_investigation_queued"], nan)
    if "t_support_start" in cases:  # a pathway without a support stage has no support times
        supported = _in(cases["t_support_start"], start, end)
        ind["d_support_wait"] = np.where(supported, cases["t_support_start"] - cases["t_support_referral"], nan)
    else:
        ind["d_support_wait"] = nan
    return ind


def _grouped(ind: pd.DataFrame, offence: pd.Series, group: pd.Series, years: float, counts: dict, rates: dict, durations: dict) -> pd.DataFrame:
    """Metrics for each (offence, group) combination, in long format.

    Aggregates are taken out as plain arrays once: column access on a MultiIndexed frame copies
    the index every time.
    """
    g = ind.groupby([offence.rename("offence"), group.rename("group")], observed=True, sort=True)
    count_cols = sorted(set(counts.values()) | {c for pair in rates.values() for c in pair})
    summed = g[count_cols].sum()
    index = summed.index
    sums = dict(zip(count_cols, summed.to_numpy(dtype=float).T))
    out = {}
    for metric, col in counts.items():
        out[metric] = sums[col] / years
    with np.errstate(divide="ignore", invalid="ignore"):
        for metric, (num, den) in rates.items():
            rate = np.where(sums[den] > 0, sums[num] / sums[den], np.nan)
            out[metric] = rate * 100.0 if metric in PER_100 else rate
    for metric, (a, b) in DIFFERENCES.items():
        if a in out and b in out:
            out[metric] = out[a] - out[b]
    with np.errstate(divide="ignore", invalid="ignore"):
        for metric, (a, b) in RATIOS.items():
            if a in out and b in out:
                out[metric] = np.where(out[b] > 0, out[a] / out[b], np.nan)
    if durations:
        dur_cols = list(durations.values())
        grouped = g[dur_cols]
        for suffix, frame in (("median", grouped.median()), ("p90", grouped.quantile(0.9)), ("mean", grouped.mean())):
            values = dict(zip(dur_cols, frame.reindex(index).to_numpy(dtype=float).T))
            for metric, col in durations.items():
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
    counts, rates, durations = _wanted(*case_metrics(scenario), only)
    columns = _group_columns(cases)
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
            frames.append(_grouped(ind, offence, group, years, counts, rates, durations))
    out = pd.concat(frames, ignore_index=True)
    out["offence"] = out["offence"].astype(str)
    out["group"] = out["group"].astype(str)
    return _with_every_total(out[["metric", "offence", "group", "value"]], classes, counts, rates, durations, only)


def _wanted(counts: dict, rates: dict, only: set[str] | None) -> tuple[dict, dict, dict]:
    """The counts, rates (with those a wanted difference or ratio is made of) and durations to compute."""
    if only is None:
        return counts, rates, dict(DURATIONS)
    parts = {m for name, pair in (*DIFFERENCES.items(), *RATIOS.items()) if name in only for m in pair}
    return (
        {m: c for m, c in counts.items() if m in only},
        {m: pair for m, pair in rates.items() if m in only or m in parts},
        {m: col for m, col in DURATIONS.items() if any(f"{m}_{s}" in only for s in ("median", "p90", "mean"))},
    )


def _group_columns(cases: pd.DataFrame) -> pd.DataFrame:
    """The offence and the groups KPIs are broken down by: the victim's (``GROUP_COLUMNS``) and, with
    a support stage, whether she was supported (``support=supported``, ``referred, not supported``
    or ``not referred``), so every KPI can be read for supported and unsupported victims."""
    out = cases[["offence", *GROUP_COLUMNS]].copy()
    if "t_support_start" in cases:
        referred = cases["support_service"].astype(str) != ""
        label = np.where(cases["t_support_start"].notna(), "supported", np.where(referred, "referred, not supported", "not referred"))
        out["support"] = pd.Categorical(label)
    return out


def _with_every_total(out: pd.DataFrame, classes, counts: dict, rates: dict, durations: dict, only: set[str] | None = None) -> pd.DataFrame:
    """Add the rows of group 'all' that no case produced: counts 0, everything else NaN."""
    metrics = [*counts, *rates, *DIFFERENCES, *RATIOS, *(f"{m}_{s}" for m in durations for s in ("median", "p90", "mean"))]
    if only is not None:
        metrics = [m for m in metrics if m in only]
    have = set(zip(out["metric"], out["offence"], out["group"]))
    missing = [(m, o, ALL, 0.0 if m in counts else np.nan) for o in (*classes, ALL) for m in metrics if (m, o, ALL) not in have]
    if not missing:
        return out
    return pd.concat([out, pd.DataFrame(missing, columns=out.columns)], ignore_index=True)


def _stage_rows(run: ReplicationOutput, scenario: Scenario, start: float, end: float) -> list[tuple]:
    """Every stage's system KPIs for the window, as (metric, offence, value, group)."""
    rows = [row for stage in pathway(scenario) for row in stage.kpis(scenario, run, start, end)]
    return [(*row, ALL) if len(row) == 3 else row for row in rows]  # a stage's breakdown names its group


def system_kpis(run: ReplicationOutput, scenario: Scenario) -> pd.DataFrame:
    """Metrics of the system rather than of cases, as each stage of the pathway reports them, and
    the cases still open at the horizon."""
    start, end = run.warmup, run.horizon
    rows = _stage_rows(run, scenario, start, end)
    if not has_victims(scenario):
        return pd.DataFrame(rows, columns=["metric", "offence", "value", "group"])[["metric", "offence", "group", "value"]]
    open_at_end = run.cases["exit"] == Exit.OPEN
    for name in scenario.offences:
        rows.append(("open_at_end", name, float((open_at_end & (run.cases["offence"] == name)).sum()), ALL))
    rows.append(("open_at_end", ALL, float(open_at_end.sum()), ALL))
    return pd.DataFrame(rows, columns=["metric", "offence", "value", "group"])[["metric", "offence", "group", "value"]]


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


def metric_names(scenario: Scenario) -> set[str]:
    """Every metric a replication of ``scenario`` can report."""
    if not has_victims(scenario):
        return set().union(*(stage.metric_names(scenario) for stage in pathway(scenario))) | {"cost_delivery", "cost_consequence", "cost_total"}
    counts, rates = case_metrics(scenario)
    names = set(counts) | set(rates) | set(DIFFERENCES) | set(RATIOS) | costs.metric_names() | {"open_at_end"}
    whole_years = range(1, int(scenario.run.years + 1e-9) + 1)
    names |= {f"{m}_in_year_{k}" for m in YEARLY for k in whole_years}
    names |= {f"{m}_{s}" for m in DURATIONS for s in ("median", "p90", "mean")}
    for stage in pathway(scenario):
        names |= stage.metric_names(scenario)
    return names | {f(ind.metric) for ind in scenario.performance.values() for f in (previous_metric, change_metric)}


def _count(times: np.ndarray, start: float, end: float) -> int:
    return int(((times >= start) & (times < end)).sum())


# Flows also counted year by year after the start of the measured period (offence and group 'all'):
# the present values of an option's effects and consequences need them.
YEARLY = ("convicted", "withdrawals_pre_charge", "prison_years_imposed")


def yearly_flows(cases: pd.DataFrame, start: float, end: float) -> list[tuple[str, str, float]]:
    """``<metric>_in_year_<k>`` for each whole year k of [start, end), and the custody imposed in it."""
    rows = []
    convicted, withdrew = cases["exit"] == Exit.CONVICTED, cases["exit"] == Exit.WITHDREW_PRE_CHARGE
    custody = cases["custody_years"] if "custody_years" in cases else pd.Series(0.0, index=cases.index)
    for k in range(1, int((end - start) / 365.0 + 1e-9) + 1):
        a, b = start + 365.0 * (k - 1), start + 365.0 * k
        done = _in(cases["t_completion"], a, b) & convicted  # as indicators(): 'convicted', 'withdrew'
        rows.append((f"convicted_in_year_{k}", ALL, float(done.sum())))
        rows.append((f"withdrawals_pre_charge_in_year_{k}", ALL, float((_in(cases["t_exit"], a, b) & withdrew).sum())))
        rows.append((f"prison_years_imposed_in_year_{k}", ALL, float(custody[done].sum())))
    return rows


def has_victims(scenario: Scenario) -> bool:
    """Does the pathway have the victims' stages (the VAWG pathway), or only the women's?"""
    return any(stage.table == "victims" for stage in pathway(scenario))


def replication_kpis(run: ReplicationOutput, scenario: Scenario) -> pd.DataFrame:
    """All KPIs of one replication in long format with the replication number."""
    years = (run.horizon - run.warmup) / 365.0
    if not has_victims(scenario):  # the women's pathway alone: its stages' KPIs and costs
        frame = system_kpis(run, scenario)
        money = costs.cost_rows(scenario, frame)
        money["group"] = ALL
        frame = pd.concat([frame, money], ignore_index=True)
        frame.insert(0, "replication", run.replication)
        return frame
    used = pd.DataFrame(
        [row for stage in pathway(scenario) for row in stage.activity(scenario, run.cases, run.warmup, run.horizon, years)]
        + yearly_flows(run.cases, run.warmup, run.horizon),
        columns=["metric", "offence", "value"],
    )
    used["group"] = ALL
    frame = pd.concat(
        [system_kpis(run, scenario), used, case_kpis(run.cases, run.warmup, run.horizon, years, scenario.offences, scenario)], ignore_index=True
    )
    previous = previous_year_kpis(run, scenario)
    if previous is not None and not previous.empty:
        frame = pd.concat([frame, year_on_year(frame, previous)], ignore_index=True)
    money = costs.cost_rows(scenario, frame)
    money["group"] = ALL
    frame = pd.concat([frame, money], ignore_index=True)
    frame.insert(0, "replication", run.replication)
    return frame
