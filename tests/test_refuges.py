"""Refuges: referral, bed spaces that run out, refusal for lack of space, stays, and the effects on
withdrawal and on further abuse; the option that funds more bed spaces."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simcj.engine.cases import Exit
from simcj.engine.world import run_replication
from simcj.experiment.kpis import replication_kpis
from simcj.scenario import ScenarioError, load_scenario, scaled, variant, with_run
from simcj.vawg.refuges import is_referred

from .conftest import ROOT


def _run(scenario, changes=None, scale=0.1, years=1.0, seed=2):
    sc = scaled(with_run(variant(scenario, changes or {}), years=years, warmup_years=0.5), scale)
    return sc, run_replication(sc, 0, seed=seed)


def _most_at_once(starts: np.ndarray, ends: np.ndarray) -> int:
    """The largest number of stays under way at one moment."""
    times = np.concatenate([starts, ends])
    steps = np.concatenate([np.ones(starts.size), -np.ones(ends.size)])
    order = np.lexsort((steps, times))  # a stay that ends frees its space before one starts at the same time
    return int(np.cumsum(steps[order]).max()) if times.size else 0


def test_a_victim_is_referred_by_her_risk_level():
    p = {"high": 0.08, "medium": 0.01}
    assert is_referred(p, "high", 0.079) and not is_referred(p, "high", 0.08)
    assert not is_referred(p, "standard", 0.0)  # a level not listed: never


def test_no_more_women_are_in_refuge_than_there_are_bed_spaces(baseline):
    sc, out = _run(baseline, {"refuges.bed_spaces": 40})
    c = out.cases[out.cases["t_refuge_start"].notna()]
    outside = out.stage_data["refuges"]["outside_episodes"]
    starts = np.concatenate([c["t_refuge_start"].to_numpy(), outside[:, 0]])
    ends = np.concatenate([c["t_refuge_end"].fillna(out.horizon + 1).to_numpy(), outside[:, 1]])
    assert _most_at_once(starts, ends) <= round(sc.refuges.bed_spaces)


def test_a_referral_with_no_space_in_time_is_refused_and_one_admitted_waited_no_longer(baseline):
    few = _run(baseline, {"refuges.bed_spaces": 4})[1].cases
    many = _run(baseline, {"refuges.bed_spaces": 5000})[1].cases
    assert (few["refuge_outcome"] == "no_space").sum() > (few["refuge_outcome"] == "admitted").sum()
    assert (many["refuge_outcome"] == "no_space").sum() == 0
    admitted = few[few["refuge_outcome"] == "admitted"]
    assert ((admitted["t_refuge_start"] - admitted["t_refuge_referral"]) <= baseline.refuges.max_wait_days + 1e-9).all()
    refused = few[few["refuge_outcome"] == "no_space"]
    assert np.allclose(refused["t_refuge_refused"] - refused["t_refuge_referral"], baseline.refuges.max_wait_days)


def test_only_the_classes_named_are_referred_and_a_share_declines(baseline):
    c = _run(baseline)[1].cases
    referred = c[c["t_refuge_referral"].notna()]
    assert set(referred["offence"].astype(str)) == {"domestic_abuse"}
    declined = (referred["refuge_outcome"] == "declined").mean()
    assert declined == pytest.approx(baseline.refuges.p_declined, abs=0.08)


def test_the_refuge_withdrawal_hazard_applies_from_her_entry(baseline):
    def withdrew_after_entry(hr: float) -> int:
        c = _run(baseline, {"refuges.hr_withdrawal": hr, "refuges.p_referral.medium": 0.2})[1].cases
        return int((c["t_withdrawal"] > c["t_refuge_start"]).sum())

    assert withdrew_after_entry(1.0) > 0
    assert withdrew_after_entry(0.0) == 0


def test_further_abuse_is_less_likely_while_she_is_in_refuge(baseline):
    """With a tiny hazard ratio no further incident of hers is reported during her stay; with 1, some are."""

    def reported_during_a_stay(hr: float) -> int:
        c = _run(baseline, {"refuges.hr_repeat": hr, "refuges.p_referral.medium": 0.2}, years=1.5)[1].cases
        stays = c[c["t_refuge_start"].notna()][["victim", "t_refuge_start", "t_refuge_end"]]
        later = c[(c["repeat_incident"] == 1) & (c["exit"] != Exit.NOT_OCCURRED)][["victim", "t_report"]]
        both = later.merge(stays, on="victim")
        return int(((both["t_report"] > both["t_refuge_start"]) & (both["t_report"] < both["t_refuge_end"].fillna(np.inf))).sum())

    assert reported_during_a_stay(1.0) > 0
    assert reported_during_a_stay(1e-9) == 0


def test_more_bed_spaces_cost_more_from_the_date_and_admit_no_fewer(baseline):
    option = load_scenario(ROOT / "scenarios" / "refuges_plus_100.yaml")

    def totals(scenario) -> pd.Series:
        sc, out = _run(scenario, {"refuges.p_referral.medium": 0.05}, scale=0.2)
        k = replication_kpis(out, sc)
        return k[(k["group"] == "all") & (k["offence"] == "all")].set_index("metric")["value"]

    base, more = totals(baseline), totals(option)
    assert more["cost_refuges"] - base["cost_refuges"] == pytest.approx(100 * 0.2 * baseline.refuges.cost_per_space_year, rel=0.05)
    assert more["refuge_admissions"] >= base["refuge_admissions"]
    assert more["refuge_refused_no_space"] <= base["refuge_refused_no_space"]


def test_the_refuges_stage_needs_its_section_and_known_classes(baseline):
    with pytest.raises(ScenarioError, match="needs a refuges: section"):
        variant(baseline, {"refuges": None})
    with pytest.raises(ScenarioError, match="'burglary' is not an offence class"):
        variant(baseline, {"refuges.offences": ["burglary"]})
