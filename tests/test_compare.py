"""Interventions, paired comparison, costs, replications by the CI method, and the report."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from simcj.calibrate.checks import conservation_violations
from simcj.cli import main
from simcj.engine.cases import Exit, Venue
from simcj.engine.world import run_replication
from simcj.experiment import costs
from simcj.experiment.compare import DIFFERENCE_COLUMNS, _ratio_ci, paired_differences
from simcj.experiment.replications import Precision, relative_half_widths, solution
from simcj.scenario import load_scenario, variant, with_run
from simcj.vawg import sentencing
from simcj.vawg.sentencing import Sentencing

from .conftest import BASELINE, ROOT, TINY

SCENARIOS = ROOT / "scenarios"


def kpi_frame(values: dict[str, list[float]]) -> pd.DataFrame:
    """Long KPI frame (offence and group 'all') from metric -> per-replication values."""
    rows = [(r, m, "all", "all", v) for m, vs in values.items() for r, v in enumerate(vs)]
    return pd.DataFrame(rows, columns=["replication", "metric", "offence", "group", "value"])


# --------------------------------------------------------------------------- paired differences


def test_paired_ci_uses_replication_pairs_and_is_narrower_when_they_correlate():
    rng = np.random.default_rng(1)
    common = rng.normal(1000, 50, 10)  # what both scenarios share through common random numbers
    base = kpi_frame({"convicted": common.tolist()})
    alt = kpi_frame({"convicted": (common + 20 + rng.normal(0, 2, 10)).tolist()})
    d = paired_differences(base, alt, "alt").iloc[0]
    assert list(paired_differences(base, alt, "alt").columns) == DIFFERENCE_COLUMNS
    assert d["diff_mean"] == pytest.approx(20, abs=3)
    assert d["diff_ci_low"] > 0  # the paired design sees the +20
    assert d["unpaired_ci_low"] < 0 < d["unpaired_ci_high"]  # an unpaired one would not
    assert d["pct_change"] == pytest.approx(d["diff_mean"] / d["base_mean"])
    assert d["n_reps"] == 10


def test_identical_runs_differ_by_exactly_zero():
    base = kpi_frame({"charged": [5.0, 7.0, 6.0]})
    d = paired_differences(base, base.copy(), "same").iloc[0]
    assert d["diff_mean"] == 0 and d["diff_ci_low"] == 0 and d["diff_ci_high"] == 0


def test_ratio_ci_brackets_a_known_ratio_and_refuses_an_effect_that_may_be_zero():
    rng = np.random.default_rng(2)
    conv = rng.normal(50, 5, 12)
    point, lo, hi = _ratio_ci(1000.0 * conv + rng.normal(0, 100, 12), conv, np.random.default_rng(3))
    assert lo < 1000 < hi and point == pytest.approx(1000, rel=0.01)
    point, lo, hi = _ratio_ci(np.full(12, 1e5), rng.normal(0, 5, 12), np.random.default_rng(3))
    assert math.isnan(lo) and math.isnan(hi)


# --------------------------------------------------------------------------- replications by the CI method


def test_relative_half_width_matches_the_formula():
    x = pd.DataFrame({"k": [10.0, 12.0, 11.0, 9.0]})
    d = relative_half_widths(x)
    from scipy import stats

    expected = stats.t.ppf(0.975, 3) * np.std(x["k"], ddof=1) / 2 / x["k"].mean()
    assert d.loc[4, "k"] == pytest.approx(expected)
    assert list(d.index) == [2, 3, 4]


def test_solution_needs_the_look_ahead_to_hold():
    d = pd.DataFrame({"a": [0.2, 0.04, 0.04, 0.06, 0.04, 0.04, 0.04, 0.04, 0.04, 0.04]}, index=range(2, 12))
    # n=3 meets 5% but n=5 breaks it, so the first n that holds for 5 more is 6.
    assert solution(d, Precision(0.05, k_limit=5)) == 6
    assert solution(d.iloc[:8], Precision(0.05, k_limit=5)) is None  # not enough look-ahead yet
    assert solution(d * 10, Precision(0.05, k_limit=5)) is None


# --------------------------------------------------------------------------- sentencing and costs


def test_custody_and_term_follow_the_venue_probability():
    p = Sentencing.model_validate({"p_custody": {"crown": 0.9, "magistrates": 0.1}, "custodial_years": {"dist": "fixed", "value": 4.0}})
    assert sentencing.custodial_term(p, Venue.CROWN, 0.5, 0.3) == 4.0
    assert sentencing.custodial_term(p, Venue.MAGISTRATES, 0.5, 0.3) == 0.0
    assert not sentencing.receives_custody(p, Venue.SDVC, 0.0)  # no probability given: no custody


def test_cost_rows_price_capacity_and_use(baseline):
    kpis = kpi_frame({"court_days_magistrates": [100.0], "court_days_crown": [10.0], "prison_years_imposed": [2.0], "convicted": [4.0], "victims_supported": [20.0]})
    rows = costs.cost_rows(baseline, kpis).set_index("metric")["value"]
    uc = baseline.costs
    assert rows["cost_police"] == pytest.approx(sum(u.staff for u in baseline.police.units.values()) * uc.police_investigator_year)
    courts = baseline.courts
    assert rows["cost_sitting_days"] == pytest.approx(courts.crown.sitting_days_per_year * uc.crown_sitting_day + courts.magistrates.sitting_days_per_year * uc.magistrates_sitting_day)
    assert rows["cost_prison"] == pytest.approx(2.0 * uc.share_of_sentence_served * uc.prison_place_year)
    assert rows["cost_specialist_court"] == 0.0
    delivery = ("cost_police", "cost_cps", "cost_advocacy", "cost_sdvc", "cost_specialist_court", "cost_sitting_days", "cost_marac", "cost_programmes", "cost_refuges")
    assert rows["cost_delivery"] == pytest.approx(rows[list(delivery)].sum())
    assert rows["cost_consequence"] == pytest.approx(rows["cost_prison"])
    parts = rows[[m for m in rows.index if costs.is_cost_line(m)]].sum()
    assert rows["cost_total"] == pytest.approx(parts) == pytest.approx(rows["cost_delivery"] + rows["cost_consequence"])
    assert rows["cost_per_conviction"] == pytest.approx(parts / 4)
    assert rows["cost_per_victim_supported"] == pytest.approx(rows["cost_advocacy"] / 20)


def test_no_unit_costs_no_cost_outputs(baseline):
    sc = variant(baseline, {"costs": None})
    assert costs.cost_rows(sc, kpi_frame({"convicted": [1.0]})).empty


def test_harm_is_valued_at_its_unit_values_and_kept_out_of_spending(baseline):
    kpis = kpi_frame({"convicted": [4.0]})
    kpis = pd.concat([kpis, pd.DataFrame([(0, "repeat_abuse_incidents", "domestic_abuse", "all", 100.0)], columns=kpis.columns)])
    rows = costs.cost_rows(baseline, kpis).set_index("metric")["value"]
    uc, h = baseline.costs, baseline.costs.harm["domestic_abuse"]
    assert h.qalys > 0 and h.other > 0 and uc.qaly > 0
    victim_years = 100.0 / baseline.offences["domestic_abuse"].repeat.rate_per_year  # a victim-year's incidents in the model's unit
    assert rows["cost_harm_further_abuse"] == pytest.approx(victim_years * (h.qalys * uc.qaly + h.other))
    assert rows["cost_harm"] == rows["cost_harm_further_abuse"]
    assert rows["cost_total"] == pytest.approx(rows["cost_delivery"] + rows["cost_consequence"])  # harm is not spending
    without = costs.cost_rows(variant(baseline, {"costs.harm": {}}), kpis).set_index("metric")["value"]
    assert "cost_harm" not in without and without["cost_total"] == pytest.approx(rows["cost_total"])


def test_appraisal_nets_the_harm_avoided_against_the_uplifted_costs():
    from simcj.experiment.compare import appraisal

    rows = {m: (mean, lo, hi, unit) for m, mean, lo, hi, unit in appraisal(np.array([10.0, 10.0]), np.array([1.0, 3.0]), np.array([30.0, 34.0]), 0.5, "£")}
    assert rows["pv_optimism_bias"][0] == pytest.approx(5.0)
    assert rows["pv_benefit"][0] == pytest.approx(32.0)
    assert rows["npsv"][0] == pytest.approx(32.0 - 17.0)
    assert rows["bcr"][0] == pytest.approx(32.0 / 17.0)
    low, high = rows["pv_benefit"][1:3]
    assert rows["bcr"][1] <= low / 17.0 and rows["bcr"][2] >= high / 17.0  # never narrower than the benefit's own CI
    saving = {m: (mean, unit) for m, mean, _lo, _hi, unit in appraisal(np.array([-10.0, -10.0]), np.zeros(2), np.array([1.0, 1.0]), 0.5, "£")}
    assert math.isnan(saving["bcr"][0]) and "saves" in saving["bcr"][1]
    assert saving["npsv"][0] == pytest.approx(1.0 + 15.0)


def small(sc, years=1.0):
    return with_run(sc, years=years, warmup_years=0.5)


def test_specialist_list_takes_rape_crown_cases_off_the_shared_list(baseline):
    from simcj.scenario import load_scenario, scaled

    sc = small(scaled(load_scenario(SCENARIOS / "rasso_court.yaml"), 0.1))
    out = run_replication(sc, 0, 7)
    cases = out.cases
    # the list opens at the option's date: rape cases listed from then on are tried there
    rape_crown = cases[(cases["offence"] == "rape") & (cases["venue"] == Venue.CROWN) & (cases["t_first_hearing"] >= sc.intervention_day())]
    tried = rape_crown["t_trial"].notna()
    assert tried.sum() > 0
    assert (rape_crown["court_days"] == 0).all()  # costed as the list's capacity, not by use
    other = cases[(cases["offence"] == "other_sexual") & (cases["venue"] == Venue.CROWN) & cases["t_trial"].notna()]
    assert (other["court_days"] > 0).all()
    assert (out.timeseries["series"] == "rasso_backlog").any()
    assert conservation_violations(out) == []


def test_convictions_carry_custody_only_when_convicted(baseline):
    out = run_replication(small(__import__("simcj").scenario.scaled(baseline, 0.05)), 0, 3)
    c = out.cases
    assert (c.loc[c["exit"] != Exit.CONVICTED, "custody_years"] == 0).all()
    rape = c[(c["exit"] == Exit.CONVICTED) & (c["offence"] == "rape")]
    assert len(rape) and (rape["custody_years"] > 0).mean() > 0.7


# --------------------------------------------------------------------------- the CLI, the folder, the report


def test_compare_writes_differences_costs_and_report(comparison):
    out, result = comparison
    assert "Convictions a year" in result.output and "idva_plus_20" in result.output
    table = pd.read_csv(out / "differences.csv", dtype={"year": str})
    assert list(table.columns) == ["year", *DIFFERENCE_COLUMNS]
    assert set(table["year"]) == {"all"}  # half a measured year has no whole year (test_uncertainty has two)
    diff = table[table["year"] == "all"]
    assert set(diff["scenario"]) == {"idva_plus_20", "rasso_court"}
    # Common random numbers: the RASSO court cannot change anything before charge.
    pre = diff[(diff["scenario"] == "rasso_court") & (diff["metric"].isin(["recorded", "referred_cps", "charged"])) & (diff["group"] == "all")]
    assert len(pre) and (pre["diff_mean"] == 0).all() and (pre["diff_ci_high"] == 0).all()
    econ = pd.read_csv(out / "economics.csv")
    base = json.loads((out / "scenarios" / "baseline" / "manifest.json").read_text())["resolved_scenario"]
    advocacy = diff[(diff["scenario"] == "idva_plus_20") & (diff["metric"] == "cost_advocacy")].iloc[0]
    assert advocacy["diff_mean"] == pytest.approx(20 * 0.05 * base["costs"]["advocate_year"]["idva"])  # the extra IDVAs are paid for
    total = diff[(diff["scenario"] == "idva_plus_20") & (diff["metric"] == "cost_total")].iloc[0]
    idva = econ[(econ["scenario"] == "idva_plus_20") & (econ["measure"] == "incremental_cost")].iloc[0]
    assert idva["mean"] == pytest.approx(total["diff_mean"]) and idva["ci_low"] == pytest.approx(total["diff_ci_low"])
    delivery = econ[(econ["scenario"] == "idva_plus_20") & (econ["measure"] == "incremental_delivery_cost")].iloc[0]
    assert delivery["mean"] == pytest.approx(20 * 0.05 * base["costs"]["advocate_year"]["idva"])  # exactly what it funds
    assert delivery["ci_low"] == pytest.approx(delivery["mean"]) == pytest.approx(delivery["ci_high"])
    for measure in ("cost_delivery", "cost_consequence", "cost_total", "cost_per_conviction", "cost_per_victim_supported", "cost_per_extra_conviction",
                    "cost_per_withdrawal_avoided", "delivery_cost_per_extra_conviction", "delivery_cost_per_withdrawal_avoided", "incremental_consequence_cost"):
        assert measure in set(econ["measure"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["common_random_numbers"] and manifest["replications"] == 3 and manifest["alternatives"] == ["idva_plus_20", "rasso_court"]
    html = (out / "report.html").read_text()
    for heading in ("Headlines", "When the effects happen", "Attrition funnel", "Differences from the base", "Backlog trajectories", "Cost-effect", "common random numbers buy", "Warm-up diagnostic", "Assumptions and sources", "Manifest"):
        assert heading in html, heading
    assert "src=\"http" not in html and html.count("data:image/png;base64,") >= 7  # self-contained
    assert "IDVA FTE + 20 (the option)" in html  # the option's source is shown
    assert "this ran at scale 0.05" in html  # a quick run's numbers are not London's, and the report says so
    book = load_workbook(out / "report.xlsx", read_only=True)
    assert {"Headline", "When", "Economics", "Paired vs unpaired", "Differences", "Unit costs", "Changes", "Manifest"} <= set(book.sheetnames)
    from simcj.report.comparison import Folder, sourced_table

    unit_costs = sourced_table(Folder(out), "costs.").set_index("parameter")["value"]
    assert unit_costs["costs.advocate_year.idva"] == base["costs"]["advocate_year"]["idva"] and unit_costs.notna().all()  # the values the run used


def test_report_rebuilds_from_the_folder(comparison, tmp_path):
    out, _ = comparison
    (out / "report.html").unlink()
    result = CliRunner().invoke(main, ["report", str(out)])
    assert result.exit_code == 0, result.output
    assert "Headlines" in (out / "report.html").read_text()


def test_report_of_a_single_run_folder(tmp_path):
    run_out = tmp_path / "run"
    r = CliRunner().invoke(main, ["run", str(BASELINE), "--reps", "2", *TINY, "--quiet", "--out", str(run_out)])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["report", str(run_out)])
    assert r.exit_code == 0, r.output
    html = (run_out / "report.html").read_text()
    assert "Attrition funnel" in html and "Headlines" not in html


@pytest.mark.parametrize(
    "damage, expect",
    [
        (lambda d: (d / "manifest.json").write_text("{}"), "key 'scenario': missing"),
        (lambda d: (d / "manifest.json").write_text("[1, 2]"), "expected a JSON object, found list"),
        (lambda d: (d / "manifest.json").write_text("{not json"), "not readable as JSON"),
        (lambda d: (d / "manifest.json").write_bytes(b"\xff\xfe\x00"), "not readable as JSON"),
        (lambda d: (d / "summary.csv").unlink(), "summary.csv: missing or unreadable"),
        (lambda d: (d / "summary.csv").write_text("a,b\n1,2\n"), "columns ci_high, ci_low, group, mean, metric, offence missing"),
        (lambda d: (d / "manifest.json").write_text(json.dumps({**json.loads((d / "manifest.json").read_text()), "seed": "three"})), "key 'seed': expected int, found str"),
        (lambda d: (d / "manifest.json").write_text('{"kind": "comparison", "base": "../..", "alternatives": []}'), "expected scenario names"),
        (lambda d: (d / "manifest.json").write_text('{"kind": "sweep"}'), "a sweep folder has no report"),
    ],
)
def test_report_on_a_damaged_folder_names_what_is_wrong(tmp_path, damage, expect):
    run_out = tmp_path / "run"
    r = CliRunner().invoke(main, ["run", str(BASELINE), "--reps", "2", *TINY, "--quiet", "--out", str(run_out)])
    assert r.exit_code == 0, r.output
    damage(run_out)
    r = CliRunner().invoke(main, ["report", str(run_out)])
    assert r.exit_code == 2 and expect in r.output and "Traceback" not in r.output, r.output
    assert not (run_out / "report.html").exists()


def test_compare_bad_input_exits_2_and_writes_nothing(tmp_path):
    out = tmp_path / "never"
    r = CliRunner().invoke(main, ["compare", str(BASELINE), str(tmp_path / "missing.yaml"), "--out", str(out)])
    assert r.exit_code == 2 and "missing.yaml" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(main, ["compare", str(BASELINE), str(BASELINE), "--out", str(out)])
    assert r.exit_code == 2 and "more than one file" in r.output
    r = CliRunner().invoke(main, ["compare", str(BASELINE), str(SCENARIOS / "idva_plus_20.yaml"), "--reps", "many", "--out", str(out)])
    assert r.exit_code == 2 and "'auto'" in r.output
    r = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert r.exit_code == 2 and "manifest.json" in r.output
    assert not out.exists() and not list(tmp_path.glob(".never*"))


def test_reps_auto_runs_until_the_headline_cis_are_tight(tmp_path):
    out = tmp_path / "auto"
    args = ["compare", str(BASELINE), str(SCENARIOS / "crown_sitting_days_plus_10.yaml"), "--reps", "auto", "--precision", "0.2", "--max-reps", "12", *TINY, "--out", str(out)]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    manifest = json.loads((out / "manifest.json").read_text())
    precision = pd.read_csv(out / "precision.csv", index_col=0)
    chosen = manifest["replications_chosen"]
    assert chosen is not None and 3 <= chosen <= manifest["replications"] <= 12
    # Every headline KPI is within 20% at the chosen n and for the look-ahead after it.
    assert (precision.loc[chosen:].to_numpy() <= 0.2).all()
    alt = pd.read_csv(out / "scenarios" / "crown_sitting_days_plus_10" / "kpis.csv")
    assert alt["replication"].nunique() == manifest["replications"]  # the alternative ran as many
    assert "Hoad, Robinson and Davies" in (out / "report.html").read_text()


def test_run_with_reps_auto_reports_the_choice(tmp_path):
    out = tmp_path / "run"
    r = CliRunner().invoke(main, ["run", str(BASELINE), "--reps", "auto", "--precision", "0.3", "--max-reps", "8", *TINY, "--quiet", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "--reps auto:" in r.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert 3 <= manifest["replications"] <= 8
    assert pd.read_csv(out / "kpis.csv")["replication"].nunique() == manifest["replications"]


def test_sensitivity_runs_each_end_of_a_range_on_common_random_numbers(tmp_path):
    out = tmp_path / "sens"
    only = ["--only", "support.effect.hr_withdrawal", "--only", "costs.crown_sitting_day"]
    r = CliRunner().invoke(main, ["sensitivity", str(BASELINE), "--reps", "2", "--scale", "0.05", "--seed", "5", *only, "--out", str(out)])
    assert r.exit_code == 0, r.output
    t = pd.read_csv(out / "sensitivity.csv")
    w = t[t["metric"] == "rate_withdrawal_pre_charge"].set_index(["parameter", "end"])["diff_mean"]
    # Support that lowers the withdrawal hazard more cannot raise withdrawal on the same draws.
    assert w[("support.effect.hr_withdrawal", "low")] <= w[("support.effect.hr_withdrawal", "high")]
    # A unit cost re-prices the same replications: nothing else moves, and the cost moves by exactly
    # the price change x the sitting days funded (scaled with the run).
    price = t[t["parameter"] == "costs.crown_sitting_day"]
    assert (price[~price["metric"].str.startswith("cost_")]["diff_mean"] == 0).all()
    days = load_scenario(BASELINE).courts.crown.sitting_days_per_year * 0.05
    high = price[(price["metric"] == "cost_total") & (price["end"] == "high")].iloc[0]
    assert high["diff_mean"] == pytest.approx((high["value"] - high["base_value"]) * days)
    assert (out / "tornado_convicted.png").read_bytes()[:4] == b"\x89PNG"
    bad = CliRunner().invoke(main, ["sensitivity", str(BASELINE), "--only", "courts.crown.sitting_days_per_year", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "not a parameter with a low-high range" in bad.output and not (tmp_path / "x").exists()


def test_excel_sheet_names_stay_distinct_when_cut_to_31_characters():
    from simcj.report.comparison import sheet_names

    names = sheet_names(["Performance sdvc_all_da_long_name_x", "Performance sdvc_all_da_long_name_y", "Performance sdvc_all_da_long_name_z", "Headline"])
    assert len(set(names)) == 4 and all(len(n) <= 31 for n in names)
    assert names[1].endswith("(2)") and names[2].endswith("(3)") and names[3] == "Headline"
