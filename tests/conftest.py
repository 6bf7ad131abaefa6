"""Shared fixtures: the shipped baseline, and small scenarios built from it."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from simcj.scenario import Scenario, ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"


# A quick run design for CLI tests of whole runs and comparisons.
TINY = ["--scale", "0.05", "--years", "0.5", "--warmup-years", "0.5", "--seed", "5", "--jobs", "2"]


@pytest.fixture(scope="session")
def baseline() -> Scenario:
    return load_scenario(BASELINE)


@pytest.fixture(scope="session")
def comparison(tmp_path_factory):
    """A small `simcj compare` of the baseline with two shipped options: (folder, CLI result)."""
    from simcj.cli import main

    out = tmp_path_factory.mktemp("cmp") / "cmp"
    scenarios = ROOT / "scenarios"
    args = ["compare", str(BASELINE), str(scenarios / "idva_plus_20.yaml"), str(scenarios / "rasso_court.yaml"), "--reps", "3", *TINY, "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return out, result


def raw_baseline() -> dict:
    """The baseline file as data, without its ``calibration:`` file (a path relative to scenarios/),
    so that a test can write a copy anywhere."""
    data = yaml.safe_load(BASELINE.read_text())
    data.pop("calibration", None)
    return data


def baseline_copy(folder: Path, name: str = "baseline.yaml", extra: str = "") -> Path:
    """A copy of the baseline in ``folder`` (see :func:`raw_baseline`), with ``extra`` YAML appended."""
    path = folder / name
    path.write_text(yaml.safe_dump(raw_baseline(), sort_keys=False, allow_unicode=True) + extra)
    return path


def setting_paths(node, prefix=()):
    """Key paths (tuples) of every setting in a raw scenario tree: a bare value or ``{value, source}``."""
    if isinstance(node, dict) and not ("value" in node and "source" in node):
        for k, v in node.items():
            yield from setting_paths(v, (*prefix, k))
    else:
        yield prefix


def load_corrupted(data: dict, path: tuple, value, folder: Path):
    """Write a copy of raw scenario ``data`` with the setting at ``path`` set to ``value`` and load it:
    the file written and the ScenarioError loading raised (None if it loaded). Any other exception
    propagates, which is what the hostile-input tests look for."""
    data = copy.deepcopy(data)
    replace_setting(data, path, value)
    f = folder / "scenario.yaml"
    f.write_text(yaml.safe_dump(data))
    try:
        load_scenario(f)
    except ScenarioError as exc:
        return f, exc
    return f, None


def replace_setting(data: dict, path: tuple, value) -> None:
    """Set the setting at ``path`` of a raw scenario tree to ``value`` (its ``value`` if it is sourced)."""
    node = data
    for k in path[:-1]:
        node = node[k]
    target = node[path[-1]]
    if isinstance(target, dict) and "value" in target:
        target["value"] = value
    else:
        node[path[-1]] = value
