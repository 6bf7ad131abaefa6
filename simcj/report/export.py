"""The results folder: manifest, tables, case records, time series, figures.

Everything is written into a hidden temporary folder beside the target, which is renamed into
place only when complete (:mod:`simcj.files`).
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from ..experiment import performance
from ..files import atomic_folder
from ..scenario.timelines import calendar
from ..version import __version__
from . import figures

PACKAGES = ("simpy", "numpy", "pandas", "scipy", "matplotlib", "pydantic", "PyYAML", "click", "pyarrow", "openpyxl")


def git_commit() -> str | None:
    """The commit of the simcj source tree, when it is a git checkout."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def manifest(results, command: str = "") -> dict:
    spec = results.spec
    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {
        "scenario": spec.scenario.name,
        "seed": spec.seed,
        "replications": spec.reps,
        "years": spec.scenario.run.years,
        "warmup_years": spec.scenario.run.warmup_years,
        "intervention_years": None if spec.scenario.intervention_day() is None else spec.scenario.intervention_day() / 365.0,
        "scale": spec.scale,
        "jobs": results.jobs,
        "wall_seconds": round(results.wall_seconds, 3),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "simcj_version": __version__,
        "git_commit": git_commit(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": versions,
        "resolved_scenario": spec.scenario.model_dump(mode="json", by_alias=True),
        "sources": {path: {k: v for k, v in vars(src).items() if v is not None} for path, src in spec.scenario.sources.items()},
        "timelines": {
            path: {"interpolation": t.interpolation, "values": {d.isoformat(): v for d, v in t.points}} for path, t in spec.scenario.timelines.items()
        },
    }


def dated(timeseries, scenario):
    """The time series with a ``date`` column (the calendar date of each snapshot) when the run has
    a start date (``run.start_date``)."""
    start = scenario.run.start_date
    if start is None or timeseries.empty:
        return timeseries
    return timeseries.assign(date=calendar(start, timeseries["day"]).strftime("%Y-%m-%d"))


def write_results(results, out: Path, command: str = "", cases: bool = True, replace: bool = False) -> Path:
    """Write the results folder at ``out`` (which must not exist yet, or be empty; with ``replace``,
    a results folder that is swapped for the new one once it is complete).

    ``cases=False`` leaves out ``cases.parquet`` (a comparison keeps each scenario's tables only).
    """
    with atomic_folder(out, replace) as tmp:
        (tmp / "figures").mkdir()
        (tmp / "manifest.json").write_text(json.dumps(manifest(results, command), indent=2), encoding="utf-8")
        results.kpis.to_csv(tmp / "kpis.csv", index=False)
        results.summary.to_csv(tmp / "summary.csv", index=False)
        if not results.yearly.empty:
            results.summary_by_year().to_csv(tmp / "summary_by_year.csv", index=False)
        dated(results.timeseries, results.scenario).to_csv(tmp / "timeseries.csv", index=False)
        if results.scenario.performance:
            performance.table(results.scenario, results.summary).to_csv(tmp / "performance.csv", index=False)
        if cases:
            results.cases.to_parquet(tmp / "cases.parquet", index=False)
        figures.save_all(results, tmp / "figures")
    return Path(out)
