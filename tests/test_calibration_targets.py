"""calibration/targets.csv: well formed, sourced, and naming KPIs the model produces."""

from __future__ import annotations

import pandas as pd
import pytest

from simcj.calibrate.targets import load_targets
from simcj.experiment.catalogue import metric_names
from simcj.scenario import load_scenario

from .conftest import ROOT
from .regression import STORED

TARGETS = ROOT / "calibration" / "targets.csv"
COLUMNS = ["id", "metric", "offence", "value", "low", "high", "period", "geography", "source", "notes", "use", "kind"]


def test_targets_are_well_formed_and_sourced():
    t = pd.read_csv(TARGETS, keep_default_na=False)
    assert list(t.columns) == COLUMNS
    assert len(t) >= 30 and t["id"].is_unique
    assert (t["low"] <= t["value"]).all() and (t["value"] <= t["high"]).all()
    assert t["source"].str.len().gt(10).all() and t["period"].ne("").all() and t["geography"].ne("").all()
    assert set(t["use"]) == {"fit", "holdout"}
    assert set(t["kind"]) == {"independent", "identity"}


def test_targets_name_kpis_the_model_produces(baseline):
    """The VAWG targets name the baseline's KPIs; the women's pathway's (offence women_offenders)
    name the women's baseline's."""
    t = pd.read_csv(TARGETS, keep_default_na=False)
    women = load_scenario(ROOT / "scenarios" / "women" / "baseline.yaml")
    for scenario, rows in ((baseline, t[t["offence"] != "women_offenders"]), (women, t[t["offence"] == "women_offenders"])):
        names = metric_names(scenario)
        assert len(rows) and set(rows["offence"]) <= set(scenario.offences) | {"all", "women_offenders"}
        assert not set(rows["metric"]) - names, set(rows["metric"]) - names
    assert len(load_targets(TARGETS, women)) == (t["offence"] == "women_offenders").sum()
    assert len(load_targets(TARGETS, baseline)) == (t["offence"] != "women_offenders").sum()


def test_metric_names_cover_what_a_run_reports(baseline):
    reported = set(pd.read_csv(STORED)["metric"])
    assert reported <= metric_names(baseline)


def test_volumes_are_compared_at_the_run_s_scale(baseline):
    """A run at --scale F has F of every volume; rates and times are compared as they are, MARAC
    cases per 10,000 women among them (its women are scaled with its cases)."""
    from simcj.experiment.catalogue import is_volume
    from simcj.scenario import scaled

    volumes = ("recorded", "charged", "convicted", "marac_cases", "repeat_incidents", "idva_supported", "crown_backlog")
    assert all(is_volume(m, baseline) for m in volumes)
    rates = ("rate_charge_recorded", "marac_repeat_rate", "days_report_to_charge_median", "idva_utilisation", "marac_cases_per_10k_women")
    assert not any(is_volume(m, baseline) for m in rates)
    tenth = scaled(baseline, 0.1).population.adult_women
    assert all(tenth[b] == pytest.approx(n * 0.1) for b, n in baseline.population.adult_women.items())
