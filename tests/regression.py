"""The stored regression results: a small, fixed run of the baseline.

Regenerate after an intended change in the model's numbers, and say why in the commit:

    python -m tests.regression
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import simcj

from .conftest import BASELINE

STORED = Path(__file__).parent / "data" / "regression_summary.csv"
RUN = dict(reps=2, seed=7, years=0.5, warmup_years=0.5, scale=0.02)


def regression_summary() -> pd.DataFrame:
    """Summary (group 'all') of the fixed small run, sorted for comparison."""
    res = simcj.simulate(simcj.load_scenario(BASELINE), **RUN)
    s = res.summary[res.summary["group"] == "all"]
    return s[["metric", "offence", "mean", "ci_low", "ci_high", "n_reps"]].sort_values(["metric", "offence"]).reset_index(drop=True)


if __name__ == "__main__":
    STORED.parent.mkdir(exist_ok=True)
    regression_summary().to_csv(STORED, index=False, float_format="%.10g")
    print(f"wrote {STORED}")
