"""`simcj sensitivity SWEEP_DIR`: global sensitivity of a sweep's KPIs to its varied settings (SALib).

A Sobol design (``--design sobol``) gives first-order and total-order Sobol indices with 95%
confidence intervals (Saltelli's estimators, bootstrap CIs); a Morris design (``--design morris``)
gives the elementary-effects measures mu* (with its CI) and sigma. The KPI of each point is its
mean over the sweep's replications (group 'all'), so the indices describe the model's response,
with the simulation's noise averaged over replications of common random numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .sweep import MORRIS_LEVELS, Factor, problem, unit_sample

ANALYSIS_SEED = 20261122


def indices(design: str, prob: dict, unit: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """Sobol (S1, ST) or Morris (mu_star, sigma) indices with 95% CIs, one row per factor."""
    if design == "sobol":
        from SALib.analyze import sobol

        r = sobol.analyze(prob, y, calc_second_order=False, conf_level=0.95, seed=ANALYSIS_SEED)
        return pd.DataFrame({
            "parameter": prob["names"], "S1": r["S1"], "S1_ci_low": r["S1"] - r["S1_conf"], "S1_ci_high": r["S1"] + r["S1_conf"],
            "ST": r["ST"], "ST_ci_low": r["ST"] - r["ST_conf"], "ST_ci_high": r["ST"] + r["ST_conf"],
        })  # fmt: skip
    if design == "morris":
        from SALib.analyze import morris

        r = morris.analyze(prob, unit, y, conf_level=0.95, num_levels=MORRIS_LEVELS, seed=ANALYSIS_SEED)
        return pd.DataFrame({
            "parameter": prob["names"], "mu_star": r["mu_star"], "mu_star_ci_low": r["mu_star"] - r["mu_star_conf"],
            "mu_star_ci_high": r["mu_star"] + r["mu_star_conf"], "sigma": r["sigma"],
        })  # fmt: skip
    raise ValueError(f"global sensitivity needs a sobol or morris design, not {design!r}")


def sweep_sensitivity(sweep_dir: str | Path, kpis: list[tuple[str, str]]) -> pd.DataFrame:
    """Indices of each KPI ((metric, offence)) to the sweep's varied settings."""
    sweep_dir = Path(sweep_dir)
    manifest = json.loads((sweep_dir / "manifest.json").read_text(encoding="utf-8"))
    design = manifest["design"]
    if design not in ("sobol", "morris"):
        raise ValueError(f"{sweep_dir}: a {design} design has no global sensitivity indices; sweep with --design sobol or --design morris")
    factors = [Factor(**{**f, "values": tuple(f["values"]) if f.get("values") is not None else None}) for f in manifest["factors"]]
    unit = unit_sample(factors, design, manifest["samples"], manifest["seed"])
    table = pd.read_parquet(sweep_dir / "sweep.parquet")
    frames = []
    for metric, offence in kpis:
        sel = table[(table["metric"] == metric) & (table["offence"] == offence) & (table["group"] == "all")]
        y = sel.groupby("point")["value"].mean().reindex(range(len(unit)))
        if y.isna().any():
            raise ValueError(f"{sweep_dir}: {int(y.isna().sum())} points have no {metric} ({offence}): resume the sweep first (failures.csv)")
        out = indices(design, problem(factors), unit, y.to_numpy())
        out.insert(0, "offence", offence)
        out.insert(0, "metric", metric)
        frames.append(out)
    return pd.concat(frames, ignore_index=True)
