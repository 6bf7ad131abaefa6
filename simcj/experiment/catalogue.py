"""The catalogue of metrics: every metric a scenario's pathway reports, with its label, its unit and
its place in the headline tables and the attrition funnel.

The stages list their own (``Stage.catalogue``); the analysis adds the core's case-based metrics,
the cost totals and the performance table's year-on-year metrics. A case-based metric no entry
describes is described by its kind (a count is a flow a year, a rate a share, a duration days).
The run's and a comparison's headline tables, the funnel figures, the scenario checks and
calibration's volumes all read it; nothing else lists metrics.
"""

from __future__ import annotations

from ..engine.metrics import UNITS, Metric
from ..engine.stage import pathway
from ..scenario.schema import REPORT_CHECKS, Scenario
from ..women.table import OFFENCE as WOMEN
from .kpis import STATISTICS, case_metrics, has_victims
from .performance import change_metric, previous_metric

ALL = "all"


def _core(scenario: Scenario) -> list[Metric]:
    """The victims' pathway's own metrics: what every case has, and the cases left open."""
    return [
        Metric("reported", "Reported a year", "a year", headline=20, funnel=20, short="Reported"),
        Metric("recorded", "Recorded crimes a year", "a year", headline=30, funnel=30, short="Recorded"),
        Metric("withdrawals_pre_charge", "Victims withdrawing before charge a year (O16)", "a year"),
        Metric("outcome_o15", "Evidential difficulties a year (O15)", "a year"),
        Metric("outcome_o16", "Victim does not support action a year (O16)", "a year"),
        Metric("outcome_o18", "Investigation complete, no suspect a year (O18)", "a year"),
        Metric("cautions_and_out_of_court", "Cautions and out-of-court disposals a year", "a year"),
        Metric("open_at_end", "Cases open at the end of the run (stock)", "stock"),
    ]


def _costs(scenario: Scenario) -> list[Metric]:
    out = [
        Metric("cost_delivery", "Delivery cost a year, £ (capacity funded)", "£ a year", headline=900, compare=900, key=900),
        Metric("cost_consequence", "Consequence cost a year, £ (prison, probation)", "£ a year", headline=910, compare=910),
        Metric("cost_total", "Total cost a year, £", "£ a year", compare=920, key=920),
    ]
    if scenario.costs is not None and scenario.costs.harm:
        out.append(Metric("cost_harm", "Social cost of the further abuse a year, £ (harm: Home Office unit values, not spending)", "£ a year", compare=930))
    if has_victims(scenario):
        out += [Metric("cost_per_conviction", "Cost per conviction, £", "£"), Metric("cost_per_victim_supported", "Advocacy cost per victim supported, £", "£")]
    return out


def _described_by_kind(scenario: Scenario) -> list[Metric]:
    """The case-based metrics, as counts a year, shares and days."""
    metrics = case_metrics(scenario)
    out = [Metric(m, m.replace("_", " ").capitalize() + " a year", "a year") for m in metrics.counts]
    out += [Metric(m, m.replace("_", " ").capitalize(), "per 100" if len(how) > 2 else "share") for m, how in metrics.rates.items()]
    out += [Metric(m, m.replace("_", " ").capitalize(), "ratio" if how == "ratio" else "share") for m, (how, *_rest) in metrics.derived.items()]
    out += [Metric(f"{m}_{s}", f"{m.replace('_', ' ').capitalize()} ({s})", "days") for m in metrics.durations for s in STATISTICS]
    return out


def entries(scenario: Scenario) -> dict[str, Metric]:
    """Every metric a replication of ``scenario`` can report, by name."""
    listed = [entry for stage in pathway(scenario) for entry in stage.catalogue(scenario)]
    if has_victims(scenario):
        listed = _core(scenario) + listed + _described_by_kind(scenario)
    out: dict[str, Metric] = {}
    for entry in [*listed, *_costs(scenario)]:
        out.setdefault(entry.name, entry)  # a stage's own entry stands over the one by kind
    for ind in scenario.performance.values():
        base = out.get(ind.metric) or Metric(ind.metric, ind.metric.replace("_", " ").capitalize(), "share")
        out[previous_metric(ind.metric)] = Metric(previous_metric(ind.metric), f"{base.label}, the year before", base.unit)
        out[change_metric(ind.metric)] = Metric(change_metric(ind.metric), f"{base.label}, change on the year before", base.unit)
    return out


def metric_names(scenario: Scenario) -> set[str]:
    return set(entries(scenario))


def describe(metric: str, scenario: Scenario) -> Metric:
    """The catalogue's entry for ``metric`` (one the scenario does not report: a share, labelled by its name)."""
    return entries(scenario).get(metric) or Metric(metric, metric.replace("_", " ").capitalize(), "share")


def is_volume(metric: str, scenario: Scenario) -> bool:
    """Does ``metric`` scale with ``--scale`` (a count, a stock, money for capacity)?"""
    entry = entries(scenario).get(metric)
    return entry is not None and entry.volume


def headline(scenario: Scenario) -> list[Metric]:
    """The run's headline table, in order."""
    return sorted((m for m in entries(scenario).values() if m.headline), key=lambda m: m.headline)


def offences(scenario: Scenario) -> list[str]:
    """The columns of a headline table: the offence classes and all, or the women's pathway."""
    return [*scenario.offences, ALL] if has_victims(scenario) else [WOMEN]


def headline_differences(scenario: Scenario) -> list[tuple[str, str, str, str]]:
    """A comparison's headline table, in order: (metric, offence, label, format of a difference)."""
    total = ALL if has_victims(scenario) else WOMEN
    rows = []
    for m in sorted((m for m in entries(scenario).values() if m.compare), key=lambda m: m.compare):
        unit = UNITS[m.unit]
        fmt = unit.fmt.replace("{:", "{:+")
        rows.append((m.name, total, m.label + unit.diff_suffix, fmt))
        if m.by_offence and has_victims(scenario):
            rows += [(m.name, o, f"{m.label}: {o.replace('_', ' ')}{unit.diff_suffix}", fmt) for o in scenario.offences]
    return rows


def key_results(scenario: Scenario) -> list[tuple[str, str, str]]:
    """The few results a decision turns on, in order: (metric, offence, label)."""
    total = ALL if has_victims(scenario) else WOMEN
    return [(m.name, total, m.label) for m in sorted((m for m in entries(scenario).values() if m.key), key=lambda m: m.key)]


def stocks(scenario: Scenario) -> list[tuple[str, str]]:
    """The backlogs and waiting lists, as the monitor's series: (series, label)."""
    plain = [m for m in entries(scenario).values() if m.unit == "stock" and "_at_year_" not in m.name and not m.name.endswith("_mean")]
    return [(m.name, m.label.replace(" at the end of the run", "").replace(" (stock)", "")) for m in plain]


def funnel(scenario: Scenario) -> list[tuple[str, str]]:
    """The attrition funnel's steps, in order: (metric, its name in the figure)."""
    return [(m.name, m.short or m.label) for m in sorted((m for m in entries(scenario).values() if m.funnel), key=lambda m: m.funnel)]


def indicator_problems(scenario: Scenario) -> list[tuple[str, str]]:
    """Performance indicators must name a KPI the scenario reports."""
    if not scenario.performance:
        return []
    known = metric_names(scenario)
    return [
        (f"performance.{name}.metric", f"'{ind.metric}' is not a KPI this scenario reports")
        for name, ind in scenario.performance.items()
        if ind.metric not in known
    ]


REPORT_CHECKS.append(indicator_problems)
