"""What a sensitivity analysis writes: the one-way table with its tornado plots and the scenario's
own run, or a sweep's global indices with their plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..experiment.catalogue import key_results
from ..files import atomic_folder, write_text_atomic
from .export import write_results


def write_sensitivity(base, table: pd.DataFrame, scenario, out: Path, command: str, replace: bool = False) -> None:
    """sensitivity.csv, the scenario's run (scenario/) and a tornado plot per key result, into ``out``
    (written under a temporary name and renamed when complete)."""
    import matplotlib.pyplot as plt

    with atomic_folder(out, replace) as tmp:
        table.to_csv(tmp / "sensitivity.csv", index=False)
        write_results(base, tmp / "scenario", command, cases=False)
        for metric, offence, label in key_results(scenario):
            if not ((table["metric"] == metric) & (table["offence"] == offence)).any():
                continue  # a KPI of the other pathway
            fig = tornado(table, metric, offence, label)
            fig.savefig(tmp / f"tornado_{metric}{'' if offence == 'all' else '_' + offence}.png", dpi=130)
            plt.close(fig)


def swings(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One KPI's change at each end of each parameter's range, widest swing first."""
    view = table[table["metric"] == metric].pivot_table(index="parameter", columns="end", values="diff_mean")
    return view.reindex(view.abs().max(axis=1).sort_values(ascending=False).index)


def write_global_sensitivity(folder: Path, table: pd.DataFrame, kpis: list[tuple[str, str]]) -> None:
    """sensitivity_indices.csv and a plot per KPI, beside the sweep."""
    import matplotlib.pyplot as plt

    write_text_atomic(folder / "sensitivity_indices.csv", table.to_csv(index=False))
    for metric, offence in kpis:
        fig = plot(table, metric, offence)
        fig.savefig(folder / f"sensitivity_{metric}_{offence}.png", dpi=130)
        plt.close(fig)


def tornado(table: pd.DataFrame, metric: str, offence: str, label: str, top: int = 15):
    """Bars from the low end's to the high end's change in one KPI, widest swing on top."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = table[(table["metric"] == metric) & (table["offence"] == offence)]
    wide = t.pivot_table(index="parameter", columns="end", values="diff_mean")
    wide["swing"] = (wide["high"] - wide["low"]).abs()
    wide = wide.sort_values("swing").tail(top)
    fig, ax = plt.subplots(figsize=(9, 0.38 * len(wide) + 1.4))
    y = range(len(wide))
    ax.barh(y, wide["low"], color="#1f5f8b", label="parameter at its low end")
    ax.barh(y, wide["high"], color="#a83232", alpha=0.8, label="parameter at its high end")
    ax.set_yticks(list(y), wide.index, fontsize=7)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel(f"change in {label.lower()} against the scenario")
    ax.set_title(f"One-way sensitivity: {label}")
    ax.legend(fontsize=7)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def plot(table: pd.DataFrame, metric: str, offence: str):
    """Bars of each parameter's index with its 95% CI (Sobol: first and total order; Morris: mu*)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = table[(table["metric"] == metric) & (table["offence"] == offence)]
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(t) + 1.6))
    y = np.arange(len(t))
    if "S1" in t:
        for shift, (col, label, colour) in zip((-0.18, 0.18), (("S1", "first order", "#1f5f8b"), ("ST", "total order", "#a83232"))):
            err = [t[col] - t[f"{col}_ci_low"], t[f"{col}_ci_high"] - t[col]]
            ax.barh(y + shift, t[col], height=0.35, xerr=err, color=colour, label=label, capsize=2)
        ax.set_xlabel("Sobol index (95% CI)")
    else:
        err = [t["mu_star"] - t["mu_star_ci_low"], t["mu_star_ci_high"] - t["mu_star"]]
        ax.barh(y, t["mu_star"], xerr=err, color="#1f5f8b", capsize=2, label="mu*")
        ax.set_xlabel("Morris mu* (95% CI)")
    ax.set_yticks(y, t["parameter"], fontsize=7)
    ax.set_title(f"Global sensitivity: {metric} ({offence})")
    ax.legend(fontsize=7)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig
