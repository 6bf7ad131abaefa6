"""Shared fixtures: the shipped baseline, and small scenarios built from it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from simcj.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"


@pytest.fixture(scope="session")
def baseline() -> Scenario:
    return load_scenario(BASELINE)


def modified(sc: Scenario, edit) -> Scenario:
    """A validated copy of ``sc`` after ``edit(d)`` changes its plain-dict form in place."""
    d = sc.model_dump(by_alias=True)
    edit(d)
    return Scenario.model_validate(d)


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
