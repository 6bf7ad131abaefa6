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
    idva = rank.set_index("parameter").loc["costs.advocate_year.idva"]
    assert idva["spearman"] == pytest.approx(1.0)  # the cost is that unit cost times the staff (at 6 sets another may tie by chance)
    convictions = unc.ranking[unc.ranking["metric"] == "convicted"]
    assert not convictions["parameter"].str.startswith("costs.").any()  # a unit cost never moves a case
    row = unc.intervals.set_index(["scenario", "metric", "offence"]).loc[("idva_plus_20", "cost_delivery", "all")]
    staff = 20 * 0.03
    idva = next(p for p in uncertain_parameters([base]) if p.path == "costs.advocate_year.idva")
    assert staff * idva.low <= row["uncertainty_low"] < row["uncertainty_high"] <= staff * idva.high
    # each set its own seed; the spread split into parameters and noise; the decision over the sets
    assert unc.seeds.nunique() == 6 and (unc.seeds >= 0).all()
    v = unc.variance.set_index(["scenario", "metric", "offence"])
    assert v.loc[("idva_plus_20", "cost_delivery", "all"), "share_parameter"] == pytest.approx(1.0)  # funded staff: no noise
    assert v.loc[("idva_plus_20", "convicted", "all"), "var_noise"] > 0 and ("idva_plus_20", "npsv", "all") in v.index
    best = unc.acceptability[unc.acceptability["outcome"] == "as valued"]
    assert set(best["scenario"]) == {"(base)", "idva_plus_20"} and best["probability_best"].sum() == pytest.approx(1.0)
    assert {"further abuse avoided", "extra convictions", "withdrawals avoided"} <= set(unc.acceptability["outcome"])
    assert unc.evppi.empty  # 6 sets are too few to fit it


def test_each_set_has_its_own_seed_the_same_in_every_run():
    from simcj.experiment.uncertainty import set_seed

    seeds = [set_seed(5, k) for k in range(50)]
    assert len(set(seeds)) == 50 and seeds == [set_seed(5, k) for k in range(50)] and min(seeds) >= 0
    assert set_seed(6, 0) != set_seed(5, 0)


def test_variance_split_takes_the_noise_of_a_sets_mean_out_of_the_spread_over_sets():
    from simcj.experiment.uncertainty import variance_split

    rng = np.random.default_rng(0)
    n_sets, reps, sd_param, sd_noise = 400, 4, 2.0, 6.0
    effect = rng.normal(0, sd_param, n_sets)
    rows = [("opt", "convicted", "all", k, r, effect[k] + rng.normal(0, sd_noise)) for k in range(n_sets) for r in range(reps)]
    diff = pd.DataFrame(rows, columns=["scenario", "metric", "offence", "set", "replication", "diff"])
    v = variance_split(diff).iloc[0]
    assert v["var_noise"] == pytest.approx(sd_noise**2 / reps, rel=0.1)
    assert v["var_parameter"] == pytest.approx(sd_param**2, rel=0.25)
    assert v["share_parameter"] == pytest.approx(4.0 / (4.0 + 9.0), abs=0.08)
    one = variance_split(diff[diff["replication"] == 0]).iloc[0]
    assert np.isnan(one["var_noise"]) and np.isnan(one["share_parameter"])  # one replication a set: noise unmeasured


def _economics(nb: dict[str, np.ndarray], **others: dict[str, np.ndarray]) -> pd.DataFrame:
    rows = [(k, s, "npsv", float(v[k]), np.nan, np.nan) for s, v in nb.items() for k in range(len(v))]
    rows += [(k, s, m, float(v[k]), np.nan, np.nan) for m, by in others.items() for s, v in by.items() for k in range(len(v))]
    return pd.DataFrame(rows, columns=["set", "scenario", "measure", "mean", "ci_low", "ci_high"])


def test_probability_best_counts_the_base_as_doing_nothing():
    from simcj.experiment.decision import probability_best

    nb = pd.DataFrame({"a": [5.0, -1.0, 2.0, -3.0], "b": [1.0, -2.0, 3.0, -1.0]})
    p = probability_best(nb)
    assert p.to_dict() == {"(base)": 0.5, "a": 0.25, "b": 0.25}


def test_acceptability_rises_with_the_value_put_on_what_an_option_delivers():
    from simcj.experiment.decision import GRID_POINTS, acceptability

    e = _economics({"courts": np.full(30, -1e6)}, pv_extra_convictions={"courts": np.full(30, 100.0)})
    table = acceptability(e, abuse_value=1e5)
    curve = table[(table["outcome"] == "extra convictions") & (table["scenario"] == "courts")]
    assert len(curve) == GRID_POINTS and curve["probability_best"].is_monotonic_increasing
    assert curve["probability_best"].iloc[0] == 0.0 and curve["probability_best"].iloc[-1] == 1.0  # worth it above £10,000 a conviction
    assert "further abuse avoided" not in set(table["outcome"])  # no such quantity in the table


def test_evppi_finds_the_parameter_the_decision_turns_on_and_not_the_noise():
    from simcj.experiment.decision import evppi, parameter_group

    rng = np.random.default_rng(3)
    n = 80
    sets = pd.DataFrame({"costs.qaly": rng.random(n) * 1e5, "offences.rape.withdrawal.weibull_shape": rng.random(n),
                         "offences.domestic_abuse.withdrawal.weibull_shape": rng.random(n), "courts.sdvc.courts": rng.random(n)})
    a = (sets["costs.qaly"].to_numpy() / 1e5 - 0.5) * 1e6 + rng.normal(0, 1e5, n)
    b = 1e5 + rng.normal(0, 1e5, n)
    table = evppi(_economics({"a": a, "b": b}), sets).set_index("group")
    assert table.index[1] == "costs.qaly" and table.loc["costs.qaly", "evppi"] > 4e4
    assert table.loc["courts.sdvc", "evppi"] < 0.1 * table.loc["costs.qaly", "evppi"]
    assert table.loc["withdrawal.weibull_shape", "n_parameters"] == 2  # the classes' shapes together
    assert table.loc["all parameters (EVPI)", "evppi"] >= table.loc["costs.qaly", "evppi"] * 0.9
    assert parameter_group("courts.sdvc.listing_delay.median") == "courts.sdvc"
    assert evppi(_economics({"a": a[:10]}), sets.iloc[:10]).empty  # too few sets to fit


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
    sets = pd.read_csv(out / "uncertainty_sets.csv")
    assert len(sets) == 3 and sets["seed"].nunique() == 3  # each set on its own seed
    variance = pd.read_csv(out / "uncertainty_variance.csv")
    assert {"var_parameter", "var_noise", "share_parameter"} <= set(variance.columns)
    assert {"p_value", "significant"} <= set(pd.read_csv(out / "uncertainty_ranking.csv").columns)
    assert "no correlation is distinguishable from chance" in (out / "report.html").read_text()  # 3 sets
    assert "How sure we are" in (out / "report.html").read_text()
    bad = CliRunner().invoke(main, ["compare", str(BASELINE), str(SCENARIOS / "idva_plus_20.yaml"), "--uncertainty", "1", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and not (tmp_path / "x").exists()


@pytest.mark.parametrize("dist", ["normal"])
def test_an_unknown_distribution_is_a_scenario_error(tmp_path, dist):
    child = tmp_path / "d.yaml"
    child.write_text(f"extends: {BASELINE}\nname: d\nsupport:\n  effect:\n    hr_withdrawal: {{value: 0.8, low: 0.6, high: 1.0, dist: {dist}, source: test}}\n")
    result = CliRunner().invoke(main, ["check", str(child)])
    assert result.exit_code == 2 and "support.effect.hr_withdrawal.dist" in result.output


def test_present_values_discount_each_year_after_the_date_at_the_green_book_rate(tmp_path):
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
    from simcj.report.comparison import write_comparison

    html = (write_comparison(cmp, tmp_path / "cmp") / "report.html").read_text()
    assert "Appraisal summary" in html and "net present social value is" in html and "benefit-cost ratio" in html
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


def test_a_killed_uncertainty_run_resumes_from_the_sets_it_kept(tmp_path, monkeypatch, baseline):
    """Each finished set is kept; a re-run reads the kept sets and runs only the lost one; another
    seed reuses nothing. (The comparison is a stand-in: what is kept, not what is simulated, is tested.)"""
    import shutil
    from types import SimpleNamespace

    from simcj.experiment import uncertainty

    def kpis(value):
        return pd.DataFrame({"replication": [0, 1], "metric": "convicted", "offence": "all", "group": "all", "value": [value, value + 1.0]})

    runs = []

    def fake(base, alternatives, reps, seed, *args, **kwargs):
        runs.append(seed)
        option = SimpleNamespace(kpis=kpis(seed % 97 + 5.0), scenario=alternatives[0])
        economics = pd.DataFrame({"scenario": [option.scenario.name], "measure": ["incremental_cost"], "mean": [float(seed % 13)], "ci_low": [0.0], "ci_high": [1.0]})
        return SimpleNamespace(base=SimpleNamespace(kpis=kpis(1.0)), alternatives=[option], economics=economics)

    monkeypatch.setattr(uncertainty, "run_comparison", fake)
    option = load_scenario(SCENARIOS / "idva_plus_20.yaml")
    store = tmp_path / "sets"
    first = run_uncertainty(baseline, [option], 3, 2, 5, 0.01, 1, store=store)
    kept = sorted(store.iterdir())
    assert len(kept) == 3 and len(runs) == 3
    shutil.rmtree(kept[1])  # as if killed while the second set ran
    again = run_uncertainty(baseline, [option], 3, 2, 5, 0.01, 1, store=store)
    assert runs[3:] == [first.seeds[1]]  # only the lost set ran again
    pd.testing.assert_frame_equal(first.differences, again.differences)
    pd.testing.assert_frame_equal(first.economics, again.economics)
    run_uncertainty(baseline, [option], 3, 2, 6, 0.01, 1, store=store)  # another seed: nothing kept is reused
    assert len(runs) == 7
