"""`simcj validate`: a scenario against the published targets, its queues against their published
trends (:mod:`simcj.calibrate.queues`), a dated run against London's history
(:mod:`simcj.calibrate.history`), and the model checks."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..engine.world import run_replication
from ..experiment.kpis import has_victims
from ..experiment.results import simulate
from ..scenario.schema import Scenario
from .checks import Check, conservation, erlang_c, littles_law, tracked_replication, women_conservation, women_littles_law
from .history import MAX_HELD_OUT_MAPE, back_cast, held_out_fails
from .queues import queue_trends
from .targets import compare

# The verdict: every model check and identity check holds, and at least this share of the
# independent targets (published figures the model could miss) is met.
INDEPENDENT_PASS_SHARE = 0.9


@dataclass
class Validation:
    scenario: str
    table: pd.DataFrame
    checks: list[Check]
    queues: pd.DataFrame = field(default_factory=pd.DataFrame)  # each queue's trend (simcj.calibrate.queues)
    history: pd.DataFrame = field(default_factory=pd.DataFrame)  # a dated run's published points beside the run's
    history_fit: pd.DataFrame = field(default_factory=pd.DataFrame)  # MAPE and Theil's U by series, fitted and held out

    @property
    def passed(self) -> bool:
        met, total = self.counts(kind="independent")
        identity_met, identity_total = self.counts(kind="identity")
        queues_hold = self.queues.empty or bool(self.queues["passed"].all())
        history_holds = not held_out_fails(self.history_fit) if not self.history_fit.empty else True
        return (
            met >= INDEPENDENT_PASS_SHARE * total and identity_met == identity_total and all(c.passed for c in self.checks) and queues_hold and history_holds
        )

    def counts(self, use: str | None = None, kind: str | None = None) -> tuple[int, int]:
        t = self.table
        if use is not None:
            t = t[t["use"] == use]
        if kind is not None:
            t = t[t["kind"] == kind]
        return int(t["passed"].sum()), len(t)

    def as_json(self) -> dict:
        passed, total = self.counts()
        records = self.table.replace({np.nan: None}).to_dict(orient="records")
        pair = lambda c: dict(zip(("passed", "total"), c))  # noqa: E731
        return {
            "scenario": self.scenario,
            "passed": self.passed,
            "targets_total": total,
            "targets_passed": passed,
            "independent": pair(self.counts(kind="independent")),
            "independent_fit": pair(self.counts("fit", "independent")),
            "independent_holdout": pair(self.counts("holdout", "independent")),
            "identity": pair(self.counts(kind="identity")),
            "fit": pair(self.counts("fit")),
            "holdout": pair(self.counts("holdout")),
            "independent_pass_share_required": INDEPENDENT_PASS_SHARE,
            "targets": records,
            "checks": [{"name": c.name, "passed": c.passed, "message": c.message, "values": c.values} for c in self.checks],
            "queues": self.queues.replace({np.nan: None}).to_dict(orient="records"),
            "history": {
                "max_held_out_mape": MAX_HELD_OUT_MAPE,
                "series": self.history_fit.replace({np.nan: None}).to_dict(orient="records"),
                "points": self.history.replace({np.nan: None}).to_dict(orient="records"),
            },
        }


def validate(scenario: Scenario, targets: pd.DataFrame, reps: int, seed: int, scale: float = 1.0, jobs: int = 1, progress=None, history=None) -> Validation:
    """Run the scenario, compare it with the targets and, if it is dated and ``history`` is given,
    with London's history; check its queues' trends; run the model checks."""
    res = simulate(scenario, reps=reps, seed=seed, scale=scale, jobs=jobs, progress=progress, want=frozenset({"kpis", "timeseries"}))
    table = compare(res.summary, targets, scenario, scale)
    run = res.scenario.run
    points = fit = pd.DataFrame()
    if history is not None and run.start_date is not None:
        points, fit = back_cast(res.timeseries, res.scenario, history, scale)
    queues = queue_trends(res.timeseries, res.scenario, res.warmup_days, (run.warmup_years + run.years) * 365.0, targets, set(fit["series"]) if len(fit) else set())
    queues["level"] /= scale  # at London's scale, as the targets
    if not has_victims(res.scenario):  # the women's pathway alone: its own accounting and queues
        out = run_replication(res.scenario, 0, seed)
        return Validation(scenario.name, table, [women_littles_law(out), women_conservation(out)], queues, points, fit)
    out = tracked_replication(res.scenario, seed)
    checks = [erlang_c(res.scenario, seed), littles_law(out), conservation(out)]
    return Validation(scenario.name, table, checks, queues, points, fit)


def format_table(v: Validation) -> str:
    """The targets table and the checks, as text for the terminal or a note."""

    def num(x: float) -> str:
        if not np.isfinite(x):
            return "—"
        return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"

    header = f"{'id':<4} {'use':<7} {'metric':<36} {'offence':<19} {'target [range]':<28} {'simulated [95% CI]':<28} result"
    lines = []
    for kind, title in (("independent", "Independent targets (published figures the model could miss)"), ("identity", "Identity checks (equal an input or hold by construction: not validation)")):
        lines += [title, header]
        for _, r in v.table[v.table["kind"] == kind].iterrows():
            target = f"{num(r['target'])} [{num(r['low'])}, {num(r['high'])}]"
            sim = f"{num(r['simulated'])} [{num(r['sim_ci_low'])}, {num(r['sim_ci_high'])}]"
            lines.append(f"{r['id']:<4} {r['use']:<7} {r['metric']:<36} {r['offence']:<19} {target:<28} {sim:<28} {'pass' if r['passed'] else 'FAIL'}")
        lines.append("")
    if not v.queues.empty:
        lines.append("Queues: growth a year over the measured years [95% CI] against the published trend (none published: steady, within ±5%)")
        for _, q in v.queues.iterrows():
            growth = "—" if not np.isfinite(q["growth_per_year"]) else f"{q['growth_per_year']:+.1%} [{q['ci_low']:+.1%}, {q['ci_high']:+.1%}]"
            allowed = f"{q['published_low']:+.0%} to {q['published_high']:+.0%}"
            lines.append(f"{q['queue']:<44} mean {num(q['level']):>8}  {growth:<26} allowed {allowed:<14} {'pass' if q['passed'] else 'FAIL'}  {q['verdict']}")
        lines.append("")
    if not v.history_fit.empty:
        lines.append(f"London's history: each series on its published dates; fitted points (inputs derived from them) and held-out points apart (held-out MAPE at most {MAX_HELD_OUT_MAPE:.0%})")
        for _, p in v.history.iterrows():
            score = p["use"] if p["scored"] else "not scored (outside the measured years)"
            lines.append(f"  {p['series']:<24} {p['date']}  published {num(p['published']):>8}  simulated {num(p['simulated']):>8} [{num(p['sim_ci_low'])}, {num(p['sim_ci_high'])}]  {score}")
        for _, s in v.history_fit.iterrows():
            lines.append(f"  {s['series']:<24} {s['use']:<8} {s['points']} points  MAPE {s['mape']:.1%}  Theil's U {s['theil_u']:.3f}")
        lines.append("")
    for c in v.checks:
        lines.append(f"check {c.name:<18} {'pass' if c.passed else 'FAIL'}  {c.message}")
    ind, ind_fit, ind_hold, ident = v.counts(kind="independent"), v.counts("fit", "independent"), v.counts("holdout", "independent"), v.counts(kind="identity")
    share = ind[0] / ind[1] if ind[1] else float("nan")
    lines.append("")
    lines.append(
        f"independent targets passed {ind[0]}/{ind[1]} ({share:.0%}; fitted {ind_fit[0]}/{ind_fit[1]}, held out {ind_hold[0]}/{ind_hold[1]}; "
        f"{INDEPENDENT_PASS_SHARE:.0%} required); identity checks {ident[0]}/{ident[1]}; "
        f"model checks passed {sum(c.passed for c in v.checks)}/{len(v.checks)}; "
        f"queues as London's {int(v.queues['passed'].sum()) if not v.queues.empty else 0}/{len(v.queues)}"
    )
    return "\n".join(lines)
