"""`simcj validate --effects`: the shipped options against published evaluations of options like them.

``calibration/effects.csv`` lists, for each option and KPI, the published effect or direction once,
with its sources (SDVC evaluations, IDVA studies, evidence-led prosecution inspections, Crown Court
sitting days, Operation Soteria and CPS resourcing); where the sources point different ways the
direction is ``disputed``. Each option is run against the base (branched from it at its date, on
common random numbers) and its effect on that KPI is given a verdict that does not depend on the
seed: replications are doubled (from ``--reps`` up to ``--max-reps``) until each scored row's 95% CI
is decided (:func:`verdict`): up or down (the CI excludes zero and the mean change is material), or
no change (the CI lies within the materiality margin, :func:`materiality`); otherwise the row is
"undetermined at N". A row agrees when the model's direction is the published one. Rows whose
sources give no comparable direction (a level only, no evaluation) or disagree are listed, not
scored. Disagreement is information about the model or the evidence, so it does not change the
exit code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..experiment.catalogue import is_volume, metric_names
from ..experiment.compare import run_comparison
from ..experiment.stats import is_proportion
from ..scenario.loader import Problem, ScenarioError, load_scenario
from ..scenario.schema import Scenario
from .targets import read_table

COLUMNS = ["id", "option", "metric", "offence", "effect", "low", "high", "direction", "published_direction", "source", "notes"]
DIRECTIONS = ("up", "down", "no clear change", "none", "disputed")
UNSCORED = ("none", "disputed")
# A change smaller than this is no change: a share by one percentage point, anything else by 2% of the base's level.
MATERIAL_POINTS = 0.01
MATERIAL_SHARE = 0.02


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
    seen: dict[tuple, int] = {}
    for i, r in t.iterrows():
        key = (r["option"], r["metric"], r["offence"])
        if key in seen:
            problems.append(Problem(str(path), f"row {i + 2}", f"{' / '.join(key)} is already checked in row {seen[key]}: list a published effect once, its sources together"))
        seen.setdefault(key, i + 2)
    if scenario is not None:
        known, classes = metric_names(scenario), {*scenario.offences, "all"}
        problems += [Problem(str(path), f"row {i + 2}.metric", f"'{r['metric']}' is not a metric the scenario reports") for i, r in t.iterrows() if r["metric"] not in known]
        problems += [Problem(str(path), f"row {i + 2}.offence", f"expected one of {sorted(classes)}, found {r['offence']!r}") for i, r in t.iterrows() if r["offence"] not in classes]
    if problems:
        raise ScenarioError(problems)
    return t


def materiality(metric: str, base_mean: float) -> float:
    """The smallest change that counts: :data:`MATERIAL_POINTS` for a share, else
    :data:`MATERIAL_SHARE` of the base's level."""
    return MATERIAL_POINTS if is_proportion(metric) else MATERIAL_SHARE * abs(base_mean)


def verdict(mean: float, low: float, high: float, margin: float) -> str | None:
    """The direction a 95% CI decides, or None while it decides nothing. No change once the CI lies
    within +-margin; up (down) once it excludes zero and the mean change is beyond the margin. An
    effect smaller than the margin therefore ends as no change on every seed, never as up on one
    and no change on another."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return None
    if -margin < low and high < margin:
        return "no clear change"
    if low > 0 and mean > margin:
        return "up"
    if high < 0 and mean < -margin:
        return "down"
    return None


def agreement(published: str, model: str) -> str:
    if published == "none":
        return "nothing comparable published"
    if published == "disputed":
        return "sources disagree: not scored"
    if model.startswith("undetermined"):
        return model
    if published == model:
        return "agrees"
    if model == "no clear change":
        return "model: no clear change"
    if published == "no clear change":
        return "model: a change the evidence does not show"
    return "disagrees"


def check_effects(base: Scenario, effects: pd.DataFrame, scenarios_dir: Path, reps: int, seed: int, scale: float, jobs,
                  progress=None, max_reps: int = 32) -> pd.DataFrame:
    """Each effect row beside the model's paired difference (per unit of ``scale`` for volumes) and
    its verdict: options are run again at twice the replications while a scored row is undecided,
    up to ``max_reps``."""
    from ..scenario.variants import with_run

    design = {"years": base.run.years, "warmup_years": base.run.warmup_years}
    options = {name: with_run(load_scenario(Path(scenarios_dir) / f"{name}.yaml"), **design) for name in dict.fromkeys(effects["option"])}
    found: dict[tuple, tuple] = {}  # (option, metric, offence) -> (mean, low, high, margin, replications)
    todo, n = list(options), reps
    while todo:
        cmp = run_comparison(base, [options[o] for o in todo], n, seed, scale, jobs, progress=None if progress is None else (lambda _p, f: progress(f)))
        d = cmp.differences[cmp.differences["group"] == "all"].set_index(["scenario", "metric", "offence"])
        for _, e in effects[effects["option"].isin(todo)].iterrows():
            key = (e["option"], e["metric"], e["offence"])
            if key not in d.index:
                found[key] = (np.nan, np.nan, np.nan, np.nan, n)
                continue
            r = d.loc[key]
            divisor = scale if is_volume(e["metric"], base) else 1.0
            found[key] = (r["diff_mean"] / divisor, r["diff_ci_low"] / divisor, r["diff_ci_high"] / divisor, materiality(e["metric"], r["base_mean"] / divisor), n)
        undecided = {key[0] for key, e in found.items() if verdict(*e[:4]) is None and _scored(effects, key)}
        if n >= max_reps:
            break
        todo, n = [o for o in todo if o in undecided], min(max_reps, 2 * n)
    rows = []
    for _, e in effects.iterrows():
        mean, low, high, margin, used = found[(e["option"], e["metric"], e["offence"])]
        decided = verdict(mean, low, high, margin)
        model = decided if decided is not None else ("not produced" if not np.isfinite(mean) else f"undetermined at {used} replications")
        rows.append({
            "id": e["id"], "option": e["option"], "metric": e["metric"], "offence": e["offence"],
            "published": e["effect"], "published_direction": e["direction"],
            "model_diff": mean, "model_ci_low": low, "model_ci_high": high, "margin": margin, "replications": used, "model_direction": model,
            "agreement": agreement(e["direction"], model), "source": e["source"],
        })  # fmt: skip
    return pd.DataFrame(rows)


def _scored(effects: pd.DataFrame, key: tuple) -> bool:
    row = effects[(effects["option"] == key[0]) & (effects["metric"] == key[1]) & (effects["offence"] == key[2])]
    return bool(len(row)) and row.iloc[0]["direction"] not in UNSCORED


def format_effects(table: pd.DataFrame) -> str:
    """The effects table for the terminal."""
    lines = [f"{'id':4} {'option':28} {'metric':34} {'published':16} {'model [95% CI]':30} verdict"]
    for r in table.itertuples():
        model = f"{r.model_diff:+.3g} [{r.model_ci_low:+.3g}, {r.model_ci_high:+.3g}]" if np.isfinite(r.model_diff) else "not produced"
        lines.append(f"{r.id:4} {r.option:28} {r.metric + ' (' + r.offence + ')':34} {r.published_direction:16} {model:30} {r.agreement}")
    scored = table[~table["published_direction"].isin(UNSCORED)]
    undetermined = int(scored["model_direction"].str.startswith("undetermined").sum())
    lines.append(f"\neffects: {int((scored['agreement'] == 'agrees').sum())} of {len(scored)} published directions reproduced"
                 f"{f', {undetermined} undetermined at --max-reps' if undetermined else ''}; {len(table) - len(scored)} rows with nothing comparable or sources that disagree")
    return "\n".join(lines)
