"""Published targets (calibration/targets.csv) and how a run compares with them."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..engine.stage import pathway
from ..experiment.catalogue import entries, metric_names
from ..scenario.loader import Problem, ScenarioError
from ..women.table import OFFENCE

COLUMNS = ["id", "metric", "offence", "value", "low", "high", "period", "geography", "source", "notes", "use", "kind"]
USES = ("fit", "holdout")
# identity: equals an input or holds by construction (a check that the inputs went in, not
# validation); independent: the model could miss it.
KINDS = ("independent", "identity")

MAX_TABLE_BYTES = 5 * 1024 * 1024  # the shipped tables are a few kB


def read_table(path: str | Path, columns: list[str], what: str) -> pd.DataFrame:
    """Read an input CSV (targets, effects) as text, refusing what is not one: a folder, a missing,
    empty, oversized, non-UTF-8 or malformed file, missing columns, no rows."""
    path = Path(path)
    shown = str(path)
    if path.is_dir():
        raise ScenarioError([Problem(shown, "", "is a folder, not a file")])
    if not path.is_file():
        raise ScenarioError([Problem(shown, "", "file not found")])
    if path.stat().st_size > MAX_TABLE_BYTES:
        raise ScenarioError([Problem(shown, "", f"is {path.stat().st_size / 1e6:.1f} MB; a {what} file is at most {MAX_TABLE_BYTES // 2**20} MB")])
    try:
        t = pd.read_csv(io.StringIO(path.read_bytes().decode("utf-8-sig")), keep_default_na=False, dtype=str)
    except pd.errors.EmptyDataError:
        raise ScenarioError([Problem(shown, "", f"the file is empty: expected a header line {','.join(columns)} and one {what} a row")]) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ScenarioError([Problem(shown, "", f"not a readable CSV file ({exc})")]) from None
    missing = [c for c in columns if c not in t.columns]
    if missing:
        raise ScenarioError([Problem(shown, "", f"missing column(s) {missing}; expected {columns}")])
    if t.empty:
        raise ScenarioError([Problem(shown, "", f"no {what}s: expected one a row below the header")])
    return t


def load_targets(path: str | Path, scenario=None) -> pd.DataFrame:
    """Read and check a targets file; problems are reported like a bad scenario file (exit 2).

    With ``scenario``, only the targets of its pathway are kept (those of offence women_offenders
    belong to the women's pathway, the rest to the VAWG pathway), and every one must name a metric
    the scenario reports and one of its offence classes (or 'all'), so a mistyped target is refused
    before anything runs.
    """
    shown = str(path)
    t = read_table(path, COLUMNS, "target")
    problems = []
    known = metric_names(scenario) if scenario is not None else None
    classes = None
    if scenario is not None:  # the file holds both pathways' targets: keep those of the scenario's
        tables = {stage.table for stage in pathway(scenario)}
        womens = t["offence"] == OFFENCE
        t = t[(womens & ("women" in tables)) | (~womens & ("victims" in tables))]  # rows keep their file numbers
        classes = ({*scenario.offences, "all"} if "victims" in tables else set()) | ({OFFENCE} if "women" in tables else set())
    for row, r in t.iterrows():
        where = f"row {row + 2}"  # the header is line 1
        for col in ("value", "low", "high"):
            try:
                if not math.isfinite(float(r[col])):
                    problems.append(Problem(shown, f"{where}.{col}", f"expected a finite number, found {r[col]!r}"))
            except ValueError:
                problems.append(Problem(shown, f"{where}.{col}", f"expected a number, found {r[col]!r}"))
        if known is not None and r["metric"] not in known:
            problems.append(Problem(shown, f"{where}.metric", f"'{r['metric']}' is not a metric the scenario reports (see `simcj run` summary.csv)"))
        if classes is not None and r["offence"] not in classes:
            problems.append(Problem(shown, f"{where}.offence", f"expected one of {sorted(classes)}, found {r['offence']!r}"))
        if r["use"] not in USES:
            problems.append(Problem(shown, f"{where}.use", f"expected one of {list(USES)}, found {r['use']!r}"))
        if r["kind"] not in KINDS:
            problems.append(Problem(shown, f"{where}.kind", f"expected one of {list(KINDS)} (identity: equals an input or holds by construction), found {r['kind']!r}"))
        if not r["source"].strip():
            problems.append(Problem(shown, f"{where}.source", "every target needs a source"))
    problems += [Problem(shown, f"row {i + 2}.id", f"'{t.at[i, 'id']}' is the id of an earlier row too") for i in t.index[t["id"].duplicated()]]
    if problems:
        raise ScenarioError(problems)
    for col in ("value", "low", "high"):
        t[col] = t[col].astype(float)
    bad = t[(t["low"] > t["value"]) | (t["value"] > t["high"])]
    if len(bad):
        raise ScenarioError([Problem(shown, f"row {i + 2}", "expected low <= value <= high") for i in bad.index])
    return t


def compare(summary: pd.DataFrame, targets: pd.DataFrame, scenario, scale: float = 1.0) -> pd.DataFrame:
    """Each target beside the simulated mean and 95% CI (group 'all'); pass when the mean is in range.
    A volume of the catalogue is compared per unit of ``scale``."""
    s = summary[summary["group"] == "all"].set_index(["metric", "offence"])
    kpis = entries(scenario)
    volumes = {m for m in targets["metric"] if m in kpis and kpis[m].volume}
    rows = []
    for _, t in targets.iterrows():
        key = (t["metric"], t["offence"])
        if key in s.index:
            divisor = scale if t["metric"] in volumes else 1.0
            mean, low, high = (s.loc[key, c] / divisor for c in ("mean", "ci_low", "ci_high"))
        else:
            mean = low = high = np.nan
        rows.append(
            {
                "id": t["id"], "kind": t["kind"], "metric": t["metric"], "offence": t["offence"], "use": t["use"],
                "target": t["value"], "low": t["low"], "high": t["high"],
                "simulated": mean, "sim_ci_low": low, "sim_ci_high": high,
                "passed": bool(np.isfinite(mean) and t["low"] <= mean <= t["high"]),
                "source": t["source"],
            }
        )
    return pd.DataFrame(rows)
