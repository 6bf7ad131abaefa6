"""`simcj validate`: a scenario against the published targets, and the model checks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..experiment.results import simulate
from ..scenario.schema import Scenario
from .checks import Check, conservation, erlang_c, littles_law, tracked_replication
from .fit import KPIS_ONLY
from .targets import compare


@dataclass
class Validation:
    scenario: str
    table: pd.DataFrame
    checks: list[Check]

    @property
    def passed(self) -> bool:
        return bool(self.table["passed"].all()) and all(c.passed for c in self.checks)

    def counts(self, use: str | None = None) -> tuple[int, int]:
        t = self.table if use is None else self.table[self.table["use"] == use]
        return int(t["passed"].sum()), len(t)

    def as_json(self) -> dict:
        passed, total = self.counts()
        records = self.table.replace({np.nan: None}).to_dict(orient="records")
        return {
            "scenario": self.scenario,
            "passed": self.passed,
            "targets_total": total,
            "targets_passed": passed,
            "fit": dict(zip(("passed", "total"), self.counts("fit"))),
            "holdout": dict(zip(("passed", "total"), self.counts("holdout"))),
            "targets": records,
            "checks": [{"name": c.name, "passed": c.passed, "message": c.message, "values": c.values} for c in self.checks],
        }


def validate(scenario: Scenario, targets: pd.DataFrame, reps: int, seed: int, scale: float = 1.0, jobs: int = 1, progress=None) -> Validation:
    """Run the scenario, compare it with the targets, and run the model checks."""
    res = simulate(scenario, reps=reps, seed=seed, scale=scale, jobs=jobs, progress=progress, want=KPIS_ONLY)
    table = compare(res.summary, targets, scale)
    out = tracked_replication(res.scenario, seed)
    checks = [erlang_c(res.scenario, seed), littles_law(out), conservation(out)]
    return Validation(scenario.name, table, checks)


def format_table(v: Validation) -> str:
    """The targets table and the checks, as text for the terminal or a note."""

    def num(x: float) -> str:
        if not np.isfinite(x):
            return "—"
        return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"

    lines = [f"{'id':<4} {'use':<7} {'metric':<34} {'offence':<15} {'target [range]':<28} {'simulated [95% CI]':<28} result"]
    for _, r in v.table.iterrows():
        target = f"{num(r['target'])} [{num(r['low'])}, {num(r['high'])}]"
        sim = f"{num(r['simulated'])} [{num(r['sim_ci_low'])}, {num(r['sim_ci_high'])}]"
        lines.append(f"{r['id']:<4} {r['use']:<7} {r['metric']:<34} {r['offence']:<15} {target:<28} {sim:<28} {'pass' if r['passed'] else 'FAIL'}")
    lines.append("")
    for c in v.checks:
        lines.append(f"check {c.name:<18} {'pass' if c.passed else 'FAIL'}  {c.message}")
    fit, holdout, every = v.counts("fit"), v.counts("holdout"), v.counts()
    lines.append("")
    lines.append(
        f"targets passed {every[0]}/{every[1]} (fitted {fit[0]}/{fit[1]}, held out {holdout[0]}/{holdout[1]}); "
        f"checks passed {sum(c.passed for c in v.checks)}/{len(v.checks)}"
    )
    return "\n".join(lines)
