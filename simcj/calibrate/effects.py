"""`simcj validate --effects`: the shipped options against published evaluations of options like them.

``calibration/effects.csv`` lists, for each option, a KPI, the published effect or direction and its
source (SDVC evaluations, IDVA studies, evidence-led prosecution inspections, Crown Court sitting
days, Operation Soteria and CPS resourcing). Each option is run against the base (branched from it
at its date, on common random numbers) and its effect on that KPI is classed by its 95% CI: up,
down, or no clear change. A row agrees when the model's direction is the published one. Rows whose
source gives no comparable direction (a level only, no evaluation) are listed, not scored.
Disagreement is information about the model or the evidence, so it does not change the exit code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..experiment.catalogue import is_volume, metric_names
from ..experiment.compare import run_comparison
from ..scenario.loader import Problem, ScenarioError, load_scenario
from ..scenario.schema import Scenario
from .targets import read_table

COLUMNS = ["id", "option", "metric", "offence", "effect", "low", "high", "direction", "published_direction", "source", "notes"]
DIRECTIONS = ("up", "down", "no clear change", "none")


def load_effects(path: str | Path, scenario: Scenario | None = None) -> pd.DataFrame:
    """Read and check an effects file; problems are reported like a bad scenario file (exit 2).
    With ``scenario``, each row's metric and offence must be ones the scenario reports."""
    t = read_table(path, COLUMNS, "effect")
    problems = [
        Problem(str(path), f"row {i + 2}.direction", f"expected one of {list(DIRECTIONS)}, found {r['direction']!r}")
        for i, r in t.iterrows()
        if r["direction"] not in DIRECTIONS
    ]
    problems += [Problem(str(path), f"row {i + 2}.source", "every effect needs a source") for i, r in t.iterrows() if not r["source"].strip()]
    if scenario is not None:
        known, classes = metric_names(scenario), {*scenario.offences, "all"}
        problems += [Problem(str(path), f"row {i + 2}.metric", f"'{r['metric']}' is not a metric the scenario reports") for i, r in t.iterrows() if r["metric"] not in known]
        problems += [Problem(str(path), f"row {i + 2}.offence", f"expected one of {sorted(classes)}, found {r['offence']!r}") for i, r in t.iterrows() if r["offence"] not in classes]
    if problems:
        raise ScenarioError(problems)
    return t


def model_direction(low: float, high: float) -> str:
    """The direction a 95% CI shows."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return "no clear change"
    if low > 0:
        return "up"
    if high < 0:
        return "down"
    return "no clear change"


def agreement(published: str, model: str) -> str:
    if published == "none":
        return "nothing comparable published"
    if published == model:
        return "agrees"
    if model == "no clear change":
        return "model: no clear change"
    if published == "no clear change":
        return "model: a change the evidence does not show"
    return "disagrees"


def check_effects(base: Scenario, effects: pd.DataFrame, scenarios_dir: Path, reps: int, seed: int, scale: float, jobs, progress=None) -> pd.DataFrame:
    """Each effect row beside the model's paired difference (per unit of ``scale`` for volumes) and the verdict."""
    names = list(dict.fromkeys(effects["option"]))
    options = []
    for name in names:
        path = Path(scenarios_dir) / f"{name}.yaml"
        options.append(load_scenario(path))
    design = {"years": base.run.years, "warmup_years": base.run.warmup_years}
    from ..scenario.variants import with_run

    cmp = run_comparison(base, [with_run(o, **design) for o in options], reps, seed, scale, jobs, progress=None if progress is None else (lambda _p, f: progress(f)))
    d = cmp.differences[cmp.differences["group"] == "all"].set_index(["scenario", "metric", "offence"])
    rows = []
    for _, e in effects.iterrows():
        key = (e["option"], e["metric"], e["offence"])
        if key in d.index:
            r = d.loc[key]
            divisor = scale if is_volume(e["metric"], base) else 1.0
            mean, low, high = r["diff_mean"] / divisor, r["diff_ci_low"] / divisor, r["diff_ci_high"] / divisor
        else:
            mean = low = high = np.nan
        model = model_direction(low, high)
        rows.append({
            "id": e["id"], "option": e["option"], "metric": e["metric"], "offence": e["offence"],
            "published": e["effect"], "published_direction": e["direction"],
            "model_diff": mean, "model_ci_low": low, "model_ci_high": high, "model_direction": model,
            "agreement": agreement(e["direction"], model), "source": e["source"],
        })  # fmt: skip
    return pd.DataFrame(rows)


def format_effects(table: pd.DataFrame) -> str:
    """The effects table for the terminal."""
    lines = [f"{'id':4} {'option':28} {'metric':34} {'published':16} {'model [95% CI]':30} verdict"]
    for r in table.itertuples():
        model = f"{r.model_diff:+.3g} [{r.model_ci_low:+.3g}, {r.model_ci_high:+.3g}]" if np.isfinite(r.model_diff) else "not produced"
        lines.append(f"{r.id:4} {r.option:28} {r.metric + ' (' + r.offence + ')':34} {r.published_direction:16} {model:30} {r.agreement}")
    scored = table[table["published_direction"] != "none"]
    lines.append(f"\neffects: {int((scored['agreement'] == 'agrees').sum())} of {len(scored)} published directions reproduced; {len(table) - len(scored)} rows with nothing comparable")
    return "\n".join(lines)
