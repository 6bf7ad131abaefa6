"""simcj calibrate: recovery of known parameters, resuming, the fitted-values overlay, bad input."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from simcj.calibrate.fit import Fit, FreeParameter, load_free_parameters, objective, write_fitted
from simcj.cli import main
from simcj.experiment.results import simulate
from simcj.scenario import REMOVE, ScenarioError, load_scenario, variant

from .conftest import BASELINE, baseline_copy

SCALE, SEED = 0.05, 9
WITHDRAW = "offences.domestic_abuse.withdrawal.weibull_scale_days"
REFER = "offences.domestic_abuse.police.p_refer_cps"
TRUTH = {WITHDRAW: 32.0, REFER: 0.24}
FREE = [FreeParameter(WITHDRAW, 20.0, 60.0, "test"), FreeParameter(REFER, 0.15, 0.30, "test")]


@pytest.fixture(scope="module")
def da_only(baseline):
    """Domestic abuse alone, through the stages the fitted parameters and targets concern."""
    others = {f"offences.{name}": REMOVE for name in baseline.offences if name != "domestic_abuse"}
    return variant(baseline, {**others, "run.years": 1.0, "run.warmup_years": 0.5, "pathway": ["reporting", "police", "charging"], "performance": {}})


@pytest.fixture(scope="module")
def own_targets(da_only):
    """Targets the model itself generates at the true parameter values (+/-2%)."""
    res = simulate(variant(da_only, TRUTH), reps=1, seed=SEED, scale=SCALE)
    s = res.summary[(res.summary["group"] == "all") & (res.summary["offence"] == "domestic_abuse")].set_index("metric")["mean"]
    rows = []
    for k, (metric, value) in enumerate((("rate_withdrawal_pre_charge", s["rate_withdrawal_pre_charge"]), ("referred_cps", s["referred_cps"] / SCALE))):
        rows.append({"id": f"R{k}", "metric": metric, "offence": "domestic_abuse", "value": value, "low": value * 0.98, "high": value * 1.02, "use": "fit", "kind": "independent", "source": "the model"})
    return pd.DataFrame(rows)


def test_calibration_recovers_known_parameters(da_only, own_targets, tmp_path):
    start = variant(da_only, {WITHDRAW: 50.0, REFER: 0.17})
    fit = Fit(start, own_targets, FREE, reps=1, seed=SEED, scale=SCALE, jobs=1, store=tmp_path / "e.jsonl")
    best = fit.run(budget=40)
    assert best["values"][WITHDRAW] == pytest.approx(TRUTH[WITHDRAW], rel=0.08)
    assert best["values"][REFER] == pytest.approx(TRUTH[REFER], rel=0.08)
    assert best["passed"] == 2


def test_a_stopped_fit_resumes_to_the_same_result(da_only, own_targets, tmp_path):
    start = variant(da_only, {WITHDRAW: 50.0, REFER: 0.17})
    whole = Fit(start, own_targets, FREE, 1, SEED, SCALE, 1, tmp_path / "whole.jsonl").run(budget=14)
    Fit(start, own_targets, FREE, 1, SEED, SCALE, 1, tmp_path / "parts.jsonl").run(budget=7)
    with (tmp_path / "parts.jsonl").open("a") as f:
        f.write('{"key": "cut short by a ki')  # a kill in the middle of a write
    resumed = Fit(start, own_targets, FREE, 1, SEED, SCALE, 1, tmp_path / "parts.jsonl")
    before = len(resumed.done)
    assert before >= 6
    again = resumed.run(budget=14)
    assert again == whole
    assert len(resumed.done) - before < 14  # the first evaluations came from the store


def test_refine_starts_at_the_current_values_and_improves_on_them(da_only, own_targets, tmp_path):
    near = variant(da_only, {WITHDRAW: 35.0, REFER: 0.23})
    fit = Fit(near, own_targets, FREE, 1, SEED, SCALE, 1, tmp_path / "refine.jsonl")
    best = fit.run(budget=12, refine=True)
    records = [json.loads(line) for line in (tmp_path / "refine.jsonl").read_text().splitlines()]
    assert records[0]["values"] == {WITHDRAW: 35.0, REFER: 0.23}  # no global sample first
    assert len(records) <= 12 and best["objective"] <= records[0]["objective"]


def test_objective_is_zero_at_the_targets_and_grows_outside():
    t = pd.DataFrame({"use": ["fit", "fit", "holdout"], "target": [1.0, 10.0, 5.0], "low": [0.5, 8.0, 0.0], "high": [1.5, 12.0, 1.0], "simulated": [1.0, 10.0, 99.0]})
    assert objective(t) == 0.0
    t.loc[0, "simulated"] = 2.5  # one range width outside
    assert objective(t) == pytest.approx(1.0 + 0.01 * 1.5**2)
    t.loc[1, "simulated"] = float("nan")
    assert objective(t) > 4.0


def test_fitted_values_overlay_the_baseline_under_children_and_set(tmp_path):
    fitted = tmp_path / "fitted.yaml"
    write_fitted(fitted, FREE, {"values": {WITHDRAW: 41.0, REFER: 0.2}, "objective": 0.5}, "targets.csv")
    base = baseline_copy(tmp_path, extra=f"calibration: {fitted.name}\n")
    sc = load_scenario(base)
    assert sc.offences["domestic_abuse"].withdrawal.weibull_scale_days == 41.0
    assert sc.sources[WITHDRAW].source.startswith("simcj calibrate")
    child = tmp_path / "child.yaml"
    child.write_text(f"extends: {base.name}\nname: child\noffences:\n  domestic_abuse:\n    police:\n      p_refer_cps: {{value: 0.3, source: 'test'}}\n")
    c = load_scenario(child, [f"{WITHDRAW}=35"])
    assert c.offences["domestic_abuse"].police.p_refer_cps == 0.3 and c.offences["domestic_abuse"].withdrawal.weibull_scale_days == 35


def test_a_refit_of_some_parameters_keeps_the_others_in_the_fitted_file(tmp_path):
    fitted = tmp_path / "fitted.yaml"
    write_fitted(fitted, FREE, {"values": {WITHDRAW: 41.0, REFER: 0.2}, "objective": 0.5}, "targets.csv")
    write_fitted(fitted, [p for p in FREE if p.path == REFER], {"values": {REFER: 0.25}, "objective": 0.4}, "targets.csv")
    params = yaml.safe_load(fitted.read_text())["parameters"]
    assert params[WITHDRAW]["value"] == 41.0 and params[REFER]["value"] == 0.25
    assert "objective 0.4" in params[REFER]["source"] and "objective 0.5" in params[WITHDRAW]["source"]


def test_bad_free_parameters_and_fitted_files(baseline, tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text(yaml.safe_dump({"parameters": [{"path": "offences.rape.nothing", "low": 0, "high": 1, "why": "x"}, {"path": REFER, "low": 1, "high": 0, "why": "x"}]}))
    with pytest.raises(ScenarioError) as info:
        load_free_parameters(bad, baseline)
    assert [p.path for p in info.value.problems] == ["parameters.0.path", "parameters.1"]
    fitted = tmp_path / "f.yaml"
    fitted.write_text(json.dumps({"parameters": {"offences.rape.nothing": {"value": 1, "source": "x"}}}))
    base = baseline_copy(tmp_path, "b.yaml", extra=f"calibration: {fitted.name}\n")
    with pytest.raises(ScenarioError, match="no such setting"):
        load_scenario(base)


@pytest.mark.parametrize(
    "text, expect",
    [
        ("parameters: [1\n", "not valid YAML"),
        ("", "the file is empty"),
        ("- just a list\n", "expected a mapping"),
        ("parameters: []\n", "expected a list of {path, low, high, why}"),
        (f"parameters:\n- {{path: {REFER}, low: .nan, high: 1, why: x}}\n", "expected finite numbers with low < high"),
        (f"parameters:\n- {{path: {REFER}, low: true, high: 1, why: x}}\n", "expected finite numbers with low < high"),
        (f"parameters:\n- {{path: {REFER}, low: 0, high: 1}}\n", "expected exactly the keys path, low, high, why"),
        ("a: &a [*a]\n", "contains itself through an alias"),
    ],
)
def test_malformed_free_parameter_files_exit_2_before_the_fit(tmp_path, text, expect):
    bad = tmp_path / "p.yaml"
    bad.write_text(text)
    r = CliRunner().invoke(main, ["calibrate", "--scenario", str(BASELINE), "--parameters", str(bad), "--out", str(tmp_path / "o"), "--fitted", str(tmp_path / "f.yaml")])
    assert r.exit_code == 2 and expect in r.output and str(bad) in r.output and "Traceback" not in r.output, r.output
    assert not (tmp_path / "o").exists() and not (tmp_path / "f.yaml").exists()


def test_shipped_parameters_file_names_baseline_settings(baseline):
    free = load_free_parameters(BASELINE.parent.parent / "calibration" / "parameters.yaml", baseline)
    assert len(free) >= 5 and all(p.why for p in free)


def test_only_names_free_parameters_of_the_file(tmp_path):
    r = CliRunner().invoke(main, ["calibrate", "--only", "offences.rape.no_such", "--out", str(tmp_path / "o"), "--fitted", str(tmp_path / "f.yaml")])
    assert r.exit_code == 2 and "--only: offences.rape.no_such" in r.output and "Traceback" not in r.output, r.output
    assert not (tmp_path / "o").exists() and not (tmp_path / "f.yaml").exists()
