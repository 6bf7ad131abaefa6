"""Figures for a board paper: the attrition funnel, the Crown Court backlog, times to outcome.

Each function takes a :class:`simcj.experiment.results.Results` and returns a matplotlib Figure;
none shows or saves anything itself.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..engine.stage import pathway  # noqa: E402
from ..experiment import catalogue  # noqa: E402
from ..scenario.timelines import calendar  # noqa: E402

_LABELS = {"domestic_abuse": "Domestic abuse", "rape": "Rape", "other_sexual": "Other sexual offences", "stalking_harassment": "Stalking and harassment", "all": "All"}
_PALETTE = ("#1f5f8b", "#a83232", "#6a4c93", "#2a7f62", "#c07a1a", "#5c5c5c", "#8c2d6b", "#3b8ea5")


def offence_label(name: str) -> str:
    """How an offence class is named in a figure: a known label, or its name in words."""
    return _LABELS.get(name) or name.replace("_", " ").capitalize()


def offence_colour(name: str, classes: list[str]) -> str:
    """One colour per class, by its place among the scenario's classes (the same in every figure)."""
    return _PALETTE[classes.index(name) % len(_PALETTE)] if name in classes else "grey"


def _offences(results) -> list[str]:
    return list(results.scenario.offences)


def _caption(results) -> str:
    sc = results.scenario
    return f"simcj · scenario '{sc.name}' · {results.spec.reps} replications · seed {results.spec.seed} · scale {results.spec.scale:g}"


def funnel(results, ax=None):
    """Attrition funnel per offence class: yearly volumes at each stage, mean with 95% CI, log scale."""
    offences = _offences(results)
    if ax is None:
        fig, axes = plt.subplots(1, len(offences), figsize=(4.2 * len(offences), 4.2), squeeze=False)
        axes = axes[0]
    else:
        fig, axes = ax.figure, [ax] * len(offences)
    s = results.summary[results.summary["group"] == "all"].set_index(["metric", "offence"])
    steps = catalogue.funnel(results.scenario)
    for a, off in zip(axes, offences):
        means = np.array([s.loc[(m, off), "mean"] if (m, off) in s.index else np.nan for m, _ in steps])
        lows = np.array([s.loc[(m, off), "ci_low"] if (m, off) in s.index else np.nan for m, _ in steps])
        highs = np.array([s.loc[(m, off), "ci_high"] if (m, off) in s.index else np.nan for m, _ in steps])
        x = np.arange(len(steps))
        err = np.vstack([np.nan_to_num(means - lows), np.nan_to_num(highs - means)])
        a.bar(x, means, color=offence_colour(off, offences), yerr=err, capsize=3)
        for xi, m in zip(x, means):
            if np.isfinite(m):
                a.annotate(f"{m:,.0f}", (xi, m), ha="center", va="bottom", fontsize=8, xytext=(0, 2), textcoords="offset points")
        a.set_yscale("log")
        a.set_xticks(x, [label for _, label in steps], fontsize=8)
        a.set_title(offence_label(off))
        a.set_ylabel("per year (log scale)")
        a.grid(axis="y", alpha=0.3)
    fig.suptitle("Attrition funnel: cases a year at each stage (mean, 95% CI)")
    fig.text(0.01, 0.01, _caption(results), fontsize=7, color="grey")
    fig.tight_layout(rect=(0, 0.03, 1, 0.95))
    return fig


def _trajectories(ax, ts, lines, warmup_days: float, start=None) -> None:
    """Each (series, label, colour) over time, in simulated years or, with the run's start date
    (``run.start_date``), in calendar dates: median of replications, 5-95% shaded, the warm-up marked."""

    def at(days):
        days = np.asarray(days, dtype=float)
        return days / 365.0 if start is None else calendar(start, days)

    for series, label, colour in lines:
        data = ts[ts["series"] == series].pivot_table(index="day", columns="replication", values="value")
        if data.empty:
            continue
        x = at(data.index.to_numpy())
        ax.plot(x, data.median(axis=1), color=colour, label=label)
        ax.fill_between(x, data.quantile(0.05, axis=1), data.quantile(0.95, axis=1), color=colour, alpha=0.2)
    ax.axvspan(*at([0.0, warmup_days]), color="grey", alpha=0.12, label="warm-up (not measured)")
    ax.set_xlabel("simulated years" if start is None else "date")


def backlog(results, ax=None):
    """Crown Court and magistrates' backlog over simulated time: median and 5-95% range of replications."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 4.2))
    else:
        fig = ax.figure
    ts = results.timeseries
    _trajectories(ax, ts, (("crown_backlog", "Crown Court (median)", "#a83232"), ("magistrates_backlog", "Magistrates' courts (median)", "#1f5f8b")), results.warmup_days, results.scenario.run.start_date)
    ax.set_ylabel("cases waiting or in trial")
    ax.set_title("Court backlog over time (shaded: 5-95% of replications)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.text(0.01, 0.01, _caption(results), fontsize=7, color="grey")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def time_to_outcome(results):
    """Distributions of days from report to charge and from charge to completion, in the measured window."""
    cases = results.cases
    start = results.warmup_days
    offences = _offences(results)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    panels = (
        ("t_charge", "t_report", "Report to charge", axes[0]),
        ("t_completion", "t_charge", "Charge to completion", axes[1]),
    )
    for end_col, start_col, title, a in panels:
        for off in offences:
            mine = cases[(cases["offence"] == off) & (cases[end_col] >= start)]
            days = (mine[end_col] - mine[start_col]).dropna().to_numpy()
            if days.size == 0:
                continue
            bins = np.logspace(0, np.log10(max(10.0, days.max() + 1)), 40)
            a.hist(days + 1, bins=bins, histtype="step", linewidth=1.5, density=True, color=offence_colour(off, offences), label=f"{offence_label(off)} (median {np.median(days):,.0f})")
        a.set_xscale("log")
        a.set_xlabel("days (log scale)")
        a.set_ylabel("density")
        a.set_title(title)
        a.legend(fontsize=8)
        a.grid(alpha=0.3)
    fig.suptitle("Time to outcome, cases reaching the stage in the measured period")
    fig.text(0.01, 0.01, _caption(results), fontsize=7, color="grey")
    fig.tight_layout(rect=(0, 0.03, 1, 0.95))
    return fig




def womens_pathway(results):
    """The women's pathway: women a year at each decision (mean, 95% CI), log scale."""
    s = results.summary[(results.summary["group"] == "all") & (results.summary["offence"] == "women_offenders")].set_index("metric")
    fig, a = plt.subplots(figsize=(9, 4.2))
    steps = catalogue.funnel(results.scenario)
    means = np.array([s.loc[m, "mean"] if m in s.index else np.nan for m, _ in steps])
    err = np.vstack([np.nan_to_num(means - np.array([s.loc[m, "ci_low"] if m in s.index else np.nan for m, _ in steps])),
                     np.nan_to_num(np.array([s.loc[m, "ci_high"] if m in s.index else np.nan for m, _ in steps]) - means)])  # fmt: skip
    x = np.arange(len(steps))
    a.bar(x, means, color="#6a4c93", yerr=err, capsize=3)
    for xi, m in zip(x, means):
        if np.isfinite(m):
            a.annotate(f"{m:,.0f}", (xi, m), ha="center", va="bottom", fontsize=8, xytext=(0, 2), textcoords="offset points")
    a.set_yscale("log")
    a.set_xticks(x, [label for _, label in steps], fontsize=8)
    a.set_ylabel("women a year (log scale)")
    a.grid(axis="y", alpha=0.3)
    a.set_title("Women in contact with the criminal justice system: a year at each decision (mean, 95% CI)")
    fig.text(0.01, 0.01, _caption(results), fontsize=7, color="grey")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def womens_stocks(results):
    """Women in prison, under probation supervision, and with a key worker, over simulated time."""
    fig, ax = plt.subplots(figsize=(8, 4.2))
    ts = results.timeseries
    services = list(results.scenario.women.services) if results.scenario.women is not None else []
    lines = [("women_in_prison", "In prison", "#a83232"), ("women_supervised", "Supervised by probation", "#1f5f8b")]
    lines += [(f"{n}_busy", f"Key workers' women: {n.replace('_', ' ')}", _PALETTE[(k + 2) % len(_PALETTE)]) for k, n in enumerate(services)]
    _trajectories(ax, ts, lines, results.warmup_days, results.scenario.run.start_date)
    ax.set_ylabel("women at a time")
    ax.set_yscale("log")
    ax.set_title("Women in prison, supervised and supported over time (shaded: 5-95% of replications)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.text(0.01, 0.01, _caption(results), fontsize=7, color="grey")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def save_all(results, folder) -> list[str]:
    """Write every figure as PNG into ``folder``; returns the file names."""
    tables = {stage.table for stage in pathway(results.scenario)}
    made = {}
    if "victims" in tables:
        made = {"funnel.png": funnel(results), "backlog.png": backlog(results)}
    if "women" in tables:
        made.update({"womens_pathway.png": womens_pathway(results), "womens_stocks.png": womens_stocks(results)})
    if len(results.cases) and "victims" in tables:  # a comparison keeps no case records
        made["time_to_outcome.png"] = time_to_outcome(results)
    for name, fig in made.items():
        fig.savefig(folder / name, dpi=150)
        plt.close(fig)
    return list(made)
