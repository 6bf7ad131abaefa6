"""Every stage effect an option works through is wired: each test fails when the effect's call is removed.

An option changes a setting; a stage reads it at one place in the event loop. These tests set the
setting to an extreme (a hazard ratio of 0: nobody withdraws from then on) and look for its mark on
the cases, against the same run with the setting at 1 (no effect), which must show the thing the
effect stops. Replacing the call with ``pass`` makes the two runs alike and the test fail.
"""

from __future__ import annotations

import pandas as pd
import pytest

from simcj.engine.cases import Exit, Plea, Venue
from simcj.engine.world import run_replication
from simcj.scenario import load_scenario, scaled, variant, with_run

from .conftest import ROOT


def _cases(scenario, changes: dict, seed: int = 3, scale: float = 0.1) -> pd.DataFrame:
    sc = scaled(with_run(variant(scenario, changes), years=1.0, warmup_years=0.5), scale)
    return run_replication(sc, 0, seed=seed).cases


def _withdrew_after_the_plea(cases: pd.DataFrame) -> int:
    """Victims who withdrew after a not-guilty plea at the first hearing (the list's hazard applies from then)."""
    contested = cases[(cases["plea"] != Plea.EARLY_GUILTY) & cases["t_first_hearing"].notna()]
    return int((contested["t_withdrawal"] > contested["t_first_hearing"]).sum())


def test_the_sdvc_withdrawal_hazard_applies_from_the_listing(baseline):
    def at_sdvc(hr: float) -> int:
        cases = _cases(baseline, {"courts.sdvc.hr_withdrawal": hr})
        return _withdrew_after_the_plea(cases[cases["venue"] == Venue.SDVC])

    assert at_sdvc(1.0) > 0
    assert at_sdvc(0.0) == 0


def test_the_rasso_withdrawal_hazard_applies_from_the_listing():
    option = load_scenario(ROOT / "scenarios" / "rasso_court.yaml")

    def at_rasso(hr: float) -> int:
        # Few rape victims withdraw after the plea: a higher post-charge hazard shows the list's effect.
        changes = {"courts.rasso.hr_withdrawal": hr, "run.intervention_years": 0, "offences.rape.withdrawal.hr_post_charge": 10.0}
        cases = _cases(option, changes, scale=0.3)
        return _withdrew_after_the_plea(cases[(cases["venue"] == Venue.CROWN) & (cases["offence"] == "rape")])

    assert at_rasso(1.0) > 0
    assert at_rasso(0.0) == 0


@pytest.mark.parametrize("setting", ["support.effect.hr_withdrawal"])
def test_advocacy_support_scales_the_withdrawal_hazard_from_its_start(baseline, setting):
    def supported_then_withdrew(hr: float) -> int:
        cases = _cases(baseline, {setting: hr})
        started = cases["t_support_start"].notna()
        return int((cases.loc[started, "t_withdrawal"] > cases.loc[started, "t_support_start"]).sum())

    assert supported_then_withdrew(1.0) > 0
    assert supported_then_withdrew(0.0) == 0


def test_advocacy_support_scales_the_chance_of_conviction_at_trial(baseline):
    def supported_and_convicted_at_trial(rr: float) -> int:
        cases = _cases(baseline, {"support.effect.conviction_rr": rr})
        at_trial = (cases["plea"] == Plea.NOT_GUILTY) & (cases["t_support_start"] <= cases["t_completion"])
        return int((at_trial & (cases["exit"] == Exit.CONVICTED)).sum())

    assert supported_and_convicted_at_trial(1.0) > 0
    assert supported_and_convicted_at_trial(0.0) == 0
