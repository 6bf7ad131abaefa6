"""Shared fixtures: the shipped baseline, and small scenarios built from it."""

from __future__ import annotations

from pathlib import Path

import pytest

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
