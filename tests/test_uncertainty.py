"""simcj compare --uncertainty: Latin-hypercube sets of the ranged parameters, intervals and rankings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from simcj.cli import main
from simcj.experiment.uncertainty import Uncertain, latin_hypercube, run_uncertainty, sign_depends, uncertain_parameters
from simcj.scenario import load_scenario, with_run

from .conftest import BASELINE, ROOT, TINY

SCENARIOS = ROOT / "scenarios"


def test_latin_hypercube_fills_each_range_once_per_stratum_and_is_reproducible():
    params = [Uncertain("a", 0.5, 0.0, 1.0, "uniform"), Uncertain("b", 8.0, 2.0, 10.0, "triangular")]
    sets = latin_hypercube(params, 50)
    assert sets.shape == (50, 2) and list(sets.columns) == ["a", "b"]
    assert sets["a"].between(0, 1).all() and sets["b"].between(2, 10).all()
    strata = np.floor(sets["a"].to_numpy() * 50).astype(int)
    assert sorted(strata) == list(range(50))  # one draw in each fiftieth of the range
    assert sets["b"].median() > 6  # triangular with its mode at 8 leans towards the high end
    pd.testing.assert_frame_equal(sets, latin_hypercube(params, 50))


def test_every_ranged_parameter_is_uncertain_and_an_options_own_range_is_included(baseline):
    rasso = load_scenario(SCENARIOS / "rasso_court.yaml")
    found = {p.path: p for p in uncertain_parameters([baseline, rasso])}
    assert "support.effect.hr_withdrawal" in found and "costs.advocate_year.idva" in found
    assert "courts.rasso.hr_withdrawal" in found  # only the option has it
    p = found["support.effect.hr_withdrawal"]
    assert p.low <= p.value <= p.high


def test_the_parameter_that_prices_an_option_is_what_its_cost_depends_on():
    base = with_run(load_scenario(BASELINE), years=1, warmup_years=1)
    option = with_run(load_scenario(SCENARIOS / "idva_plus_20.yaml"), years=1, warmup_years=1)
    unc = run_uncertainty(base, [option], 6, 2, 5, 0.03, 2)
    rank = unc.ranking[(unc.ranking["metric"] == "cost_delivery")].sort_values("rank")
    assert rank.iloc[0]["parameter"] == "costs.advocate_year.idva" and rank.iloc[0]["spearman"] > 0.9
    convictions = unc.ranking[unc.ranking["metric"] == "convicted"]
    assert not convictions["parameter"].str.startswith("costs.").any()  # a unit cost never moves a case
    row = unc.intervals.set_index(["scenario", "metric", "offence"]).loc[("idva_plus_20", "cost_delivery", "all")]
    staff = 20 * 0.03
    idva = next(p for p in uncertain_parameters([base]) if p.path == "costs.advocate_year.idva")
    assert staff * idva.low <= row["uncertainty_low"] < row["uncertainty_high"] <= staff * idva.high


def test_switching_value_is_where_the_difference_crosses_zero_within_the_range():
    from simcj.experiment.uncertainty import switching_value

    x = np.linspace(0.5, 1.5, 11)
    assert switching_value(x, 10 * (x - 0.8)) == pytest.approx(0.8)
    assert np.isnan(switching_value(x, 10 * (x - 3.0)))  # never crosses within the range
    assert np.isnan(switching_value(x, np.full(11, 2.0)))


def test_sign_depends_only_when_the_monte_carlo_ci_is_clear_and_the_range_is_not():
    row = pd.Series({"diff_ci_low": 2.0, "diff_ci_high": 9.0, "uncertainty_low": -3.0, "uncertainty_high": 12.0})
    assert sign_depends(row)
    assert not sign_depends(row.replace({-3.0: 1.0}))
    assert not sign_depends(pd.Series({"diff_ci_low": -1.0, "diff_ci_high": 9.0, "uncertainty_low": -3.0, "uncertainty_high": 12.0}))


def test_cli_uncertainty_adds_intervals_rankings_and_a_report_section(tmp_path):
    out = tmp_path / "unc"
    args = ["compare", str(BASELINE), str(SCENARIOS / "idva_plus_20.yaml"), "--reps", "2", "--uncertainty", "3", *TINY, "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "{" in result.output and "sets of the uncertain parameters" in result.output
    diff = pd.read_csv(out / "differences.csv")
    all_rows = diff[diff["group"] == "all"]
    assert all_rows["uncertainty_low"].notna().any() and diff[diff["group"] != "all"]["uncertainty_low"].isna().all()
    assert (out / "uncertainty_sets.csv").exists() and len(pd.read_csv(out / "uncertainty_sets.csv")) == 3
    assert "How sure we are" in (out / "report.html").read_text()
    bad = CliRunner().invoke(main, ["compare", str(BASELINE), str(SCENARIOS / "idva_plus_20.yaml"), "--uncertainty", "1", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and not (tmp_path / "x").exists()


@pytest.mark.parametrize("dist", ["normal"])
def test_an_unknown_distribution_is_a_scenario_error(tmp_path, dist):
    child = tmp_path / "d.yaml"
    child.write_text(f"extends: {BASELINE}\nname: d\nsupport:\n  effect:\n    hr_withdrawal: {{value: 0.8, low: 0.6, high: 1.0, dist: {dist}, source: test}}\n")
    result = CliRunner().invoke(main, ["check", str(child)])
    assert result.exit_code == 2 and "support.effect.hr_withdrawal.dist" in result.output


def test_present_values_discount_each_year_after_the_date_at_the_green_book_rate():
    from simcj.experiment.compare import DISCOUNT_RATE, run_comparison

    base = with_run(load_scenario(BASELINE), years=2, warmup_years=0.5)
    option = with_run(load_scenario(SCENARIOS / "idva_plus_20.yaml"), years=2, warmup_years=0.5)
    cmp = run_comparison(base, [option], 2, 5, 0.03, 2)
    e = cmp.economics.set_index(["scenario", "measure"])
    yearly = e.loc[("idva_plus_20", "incremental_delivery_cost"), "mean"]
    assert e.loc[("idva_plus_20", "pv_incremental_delivery_cost"), "mean"] == pytest.approx(yearly * (1 + 1 / (1 + DISCOUNT_RATE)))
    assert "2023 prices" in e.loc[("idva_plus_20", "pv_incremental_cost"), "unit"]
    # the appraisal: harm avoided is the base's harm less the option's, year by year, discounted
    y = {name: r.yearly[(r.yearly["metric"] == "cost_harm") & (r.yearly["offence"] == "all")].groupby("year")["value"].mean() for name, r in
         (("base", cmp.base), ("option", cmp.alternatives[0]))}
    avoided = (y["base"] - y["option"]).to_numpy()
    assert e.loc[("idva_plus_20", "pv_benefit"), "mean"] == pytest.approx(avoided[0] + avoided[1] / (1 + DISCOUNT_RATE))
    cost = e.loc[("idva_plus_20", "pv_incremental_cost"), "mean"] + e.loc[("idva_plus_20", "pv_optimism_bias"), "mean"]
    assert e.loc[("idva_plus_20", "npsv"), "mean"] == pytest.approx(e.loc[("idva_plus_20", "pv_benefit"), "mean"] - cost)
    assert cmp.appraisal().loc["idva_plus_20", "NPSV"].lstrip("-").startswith("£")
    k, y = cmp.alternatives[0].kpis, cmp.alternatives[0].yearly
    whole = k[(k["metric"] == "convicted") & (k["offence"] == "all") & (k["group"] == "all")]["value"].sum()
    assert y[(y["metric"] == "convicted") & (y["offence"] == "all")]["value"].sum() == pytest.approx(whole * 2)  # each year's flow: the whole period's
    # differences.csv: the whole period's differences and each year's; the settled year against year 1 (the timing table)
    table = cmp.by_year()
    assert set(table["year"]) == {"all", "1", "2"}
    timing = cmp.timing()
    assert set(timing["scenario"]) == {"idva_plus_20"} and timing["settled year"].str.endswith("(year 2)").all()


def test_an_option_keeps_its_own_value_of_a_setting_it_changes(tmp_path):
    from simcj.experiment.uncertainty import _with

    option_file = tmp_path / "stronger.yaml"
    option_file.write_text(f"extends: {BASELINE}\nname: stronger\nsupport:\n  effect:\n    hr_withdrawal: {{value: 0.6, low: 0.6, high: 1.0, source: test}}\n")
    option = load_scenario(option_file)
    drawn = _with(option, {"support.effect.hr_withdrawal": 0.9, "support.effect.conviction_rr": 0.8})
    assert drawn.support.effect.hr_withdrawal == 0.6  # the option's own change stands from its date
    assert drawn.before.support.effect.hr_withdrawal == 0.9  # the drawn value before it
    assert drawn.support.effect.conviction_rr == drawn.before.support.effect.conviction_rr == 0.8
