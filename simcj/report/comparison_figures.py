"""Figures of a comparison, drawn from the tables of a results folder (so `simcj report` can redraw them).

Each function returns a matplotlib Figure and neither shows nor saves it.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..scenario.timelines import calendar  # noqa: E402
from .figures import offence_label  # noqa: E402

PALETTE = ("#444444", "#1f5f8b", "#a83232", "#6a4c93", "#2e7d32", "#ef6c00", "#00838f", "#8d6e63", "#c2185b", "#5d4037")


def _colours(names: list[str]) -> dict[str, str]:
    """One colour per scenario by its place in the comparison (base first): the same in every figure."""
    return {n: PALETTE[k % len(PALETTE)] for k, n in enumerate(names)}


def funnel_comparison(summaries: dict[str, pd.DataFrame], offences: list[str], steps: list[tuple[str, str]]):
    """Cases a year at each step of the funnel (``steps``: (metric, name), the catalogue's), one group
    of bars per step and one bar per scenario, by offence."""
    names = list(summaries)
    colours = _colours(names)
    fig, axes = plt.subplots(1, len(offences), figsize=(4.6 * len(offences), 4.4), squeeze=False)
    width = 0.8 / len(names)
    for ax, off in zip(axes[0], offences):
        x = np.arange(len(steps))
        for k, name in enumerate(names):
            s = summaries[name]
            s = s[(s["group"] == "all") & (s["offence"] == off)].set_index("metric")
            means = np.array([s["mean"].get(m, np.nan) for m, _ in steps])
            lo = np.array([s["ci_low"].get(m, np.nan) for m, _ in steps])
            hi = np.array([s["ci_high"].get(m, np.nan) for m, _ in steps])
            err = np.vstack([np.nan_to_num(means - lo), np.nan_to_num(hi - means)])
            ax.bar(x + (k - (len(names) - 1) / 2) * width, means, width, yerr=err, capsize=2, color=colours[name], label=name)
        ax.set_yscale("log")
        ax.set_xticks(x, [label for _, label in steps])
        ax.set_title(offence_label(off))
        ax.set_ylabel("cases a year (log scale)")
        ax.grid(axis="y", alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="upper right")
    fig.suptitle("Attrition funnel by scenario (mean, 95% CI)")
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    return fig


def forest(differences: pd.DataFrame, rows: tuple, scenarios: list[str]):
    """Paired differences against the base with 95% CIs (dark) and the unpaired CI (light) beside."""
    d = differences[differences["group"] == "all"].set_index(["metric", "offence", "scenario"])
    panels = [r for r in rows if any((r[0], r[1], s) in d.index for s in scenarios)]
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 0.8 + (0.7 + 0.3 * len(scenarios)) * len(panels)), squeeze=False)
    for ax, (metric, offence, label, _fmt) in zip(axes[:, 0], panels):
        y = np.arange(len(scenarios))[::-1]
        for yi, s in zip(y, scenarios):
            if (metric, offence, s) not in d.index:
                continue
            r = d.loc[(metric, offence, s)]
            ax.plot([r["unpaired_ci_low"], r["unpaired_ci_high"]], [yi - 0.18] * 2, color="#bbbbbb", linewidth=3, solid_capstyle="butt")
            ax.plot([r["diff_ci_low"], r["diff_ci_high"]], [yi] * 2, color="#1f5f8b", linewidth=3, solid_capstyle="butt")
            ax.plot(r["diff_mean"], yi, "o", color="#1f5f8b")
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(y, scenarios, fontsize=7)
        ax.set_title(label, fontsize=9, loc="left")
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(axis="x", labelsize=7)
    fig.suptitle("Difference from the base, 95% CI: paired on common random numbers (blue), unpaired (grey)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig


def _day_zero(series: dict[str, pd.DataFrame]):
    """The calendar date of day 0 when the time series carry dates (a dated run), else None."""
    for ts in series.values():
        if "date" in ts.columns and len(ts):
            return pd.Timestamp(ts["date"].iloc[0]) - pd.Timedelta(days=int(ts["day"].iloc[0]))
    return None


def backlog_trajectories(series: dict[str, pd.DataFrame], warmup_days: float, intervention_days=None, name: str = "crown_backlog", label: str = "Crown Court backlog",
                         unit: str = "cases awaiting trial"):
    """Mean of a time series over replications, one line per scenario, warm-up shaded, the options'
    date marked; against calendar dates when the run was dated, else simulated years."""
    colours = _colours(list(series))
    start = _day_zero(series)
    x = (lambda days: calendar(start, days)) if start is not None else (lambda days: np.asarray(days, dtype=float) / 365.0)  # noqa: E731
    fig, ax = plt.subplots(figsize=(9, 4.2))
    for scen, ts in series.items():
        data = ts[ts["series"] == name].groupby("day")["value"].mean()
        if not data.empty:
            ax.plot(x(data.index.to_numpy(float)), data.to_numpy(), color=colours[scen], label=scen, linewidth=1.4)
    ax.axvspan(x(0.0), x(warmup_days), color="grey", alpha=0.12, label="warm-up (not measured)")
    if intervention_days is not None:
        ax.axvline(x(intervention_days), color="black", linestyle="--", linewidth=0.9, label="options take effect")
    ax.set_xlabel("date" if start is not None else "simulated years")
    ax.set_ylabel(unit)
    ax.set_title(f"{label} over time (mean of replications)")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def cost_effect_plane(economics: pd.DataFrame, names: list[str]):
    """Incremental delivery cost (filled, with 95% CIs) and total cost (open) against extra
    convictions, one colour per option; ``names`` are all the comparison's scenarios, base first."""
    e = economics.set_index(["scenario", "measure"])
    colours = _colours(names)
    fig, ax = plt.subplots(figsize=(7.5, 5.2))
    for s in names:
        if (s, "incremental_delivery_cost") not in e.index:
            continue
        c, t, v = e.loc[(s, "incremental_delivery_cost")], e.loc[(s, "incremental_cost")], e.loc[(s, "extra_convictions")]
        ax.errorbar(
            v["mean"], c["mean"] / 1e6,
            xerr=[[v["mean"] - v["ci_low"]], [v["ci_high"] - v["mean"]]],
            yerr=[[(c["mean"] - c["ci_low"]) / 1e6], [(c["ci_high"] - c["mean"]) / 1e6]],
            fmt="o", color=colours[s], capsize=3, label=s,
        )  # fmt: skip
        ax.plot(v["mean"], t["mean"] / 1e6, marker="o", markerfacecolor="none", color=colours[s], linestyle="none")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("extra convictions a year")
    ax.set_ylabel("incremental cost, £ million a year")
    ax.set_title("Cost-effect plane: delivery cost (filled, 95% CI) and total with prison (open)", fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def warmup_diagnostic(ts: pd.DataFrame, warmup_days: float, scenario: str, stocks: list[tuple[str, str]]):
    """The system's state over simulated time, warm-up included: mean and 5-95% of replications of
    each of ``stocks`` ((series, label): the catalogue's, see :func:`simcj.experiment.catalogue.stocks`)
    that the run monitored. A level that is still trending when the warm-up ends means the warm-up is too short.
    """
    present = [(s, label) for s, label in stocks if (ts["series"] == s).any()]
    cols = 3
    rows = max(1, int(np.ceil(len(present) / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(12, 2.8 * rows), squeeze=False)
    for ax, (name, label) in zip(axes.flat, present):
        data = ts[ts["series"] == name].pivot_table(index="day", columns="replication", values="value")
        years = data.index.to_numpy() / 365.0
        ax.plot(years, data.mean(axis=1), color="#1f5f8b", linewidth=1.2)
        ax.fill_between(years, data.quantile(0.05, axis=1), data.quantile(0.95, axis=1), color="#1f5f8b", alpha=0.2)
        ax.axvline(warmup_days / 365.0, color="black", linestyle="--", linewidth=0.8)
        ax.set_title(label, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(present) :]:
        ax.axis("off")
    fig.suptitle(f"Warm-up diagnostic, {scenario}: state over simulated years (dashed: end of warm-up)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


def acceptability_curves(table: pd.DataFrame, names: list[str]):
    """The probability each option (and the base) has the highest net benefit as the value put on one
    outcome rises, a panel per outcome (acceptability.csv; the base is named '(base)')."""
    curves = table[table["outcome"] != "as valued"]
    outcomes = list(dict.fromkeys(curves["outcome"]))
    colours = _colours(names)
    fig, axes = plt.subplots(1, max(len(outcomes), 1), figsize=(4.2 * max(len(outcomes), 1), 3.8), squeeze=False)
    for ax, outcome in zip(axes[0], outcomes):
        part = curves[curves["outcome"] == outcome]
        for scenario, line in part.groupby("scenario", sort=False):
            colour = colours.get(scenario, colours[names[0]]) if scenario != "(base)" else colours[names[0]]
            ax.plot(line["value"] / 1e3, line["probability_best"], color=colour, label="base" if scenario == "(base)" else scenario)
        ax.set_title(f"Valuing {outcome}", fontsize=10)
        ax.set_xlabel(f"{part['unit'].iloc[0]}, thousands")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("probability of the highest net benefit")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return fig
