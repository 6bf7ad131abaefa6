"""Whole runs: determinism across workers, the results folder from the CLI, the Python API, regression."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import simcj
from simcj.cli import main

from .conftest import BASELINE
from .regression import RUN, STORED, regression_summary

SMALL = ["--scale", "0.02", "--years", "0.5", "--warmup-years", "0.5", "--reps", "2", "--seed", "3", "--quiet"]


def run_cli(tmp_path, name, *extra):
    out = tmp_path / name
    result = CliRunner().invoke(main, ["run", str(BASELINE), *SMALL, "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    return out, result


def test_cli_run_writes_a_complete_results_folder(tmp_path):
    out, result = run_cli(tmp_path, "r", "--jobs", "1")
    assert "Charge/summons rate" in result.output and "Crown Court backlog" in result.output
    for name in ("manifest.json", "kpis.csv", "summary.csv", "cases.parquet", "timeseries.csv"):
        assert (out / name).stat().st_size > 0, name
    for fig in ("funnel.png", "backlog.png", "time_to_outcome.png"):
        assert (out / "figures" / fig).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    kpis = pd.read_csv(out / "kpis.csv")
    assert list(kpis.columns) == ["replication", "metric", "offence", "group", "value"]
    assert set(kpis["replication"]) == {0, 1}
    assert {"domestic_abuse", "rape", "other_sexual", "all"} <= set(kpis["offence"])
    required = {"incidents", "reported", "recorded", "charged", "convicted", "rate_charge_recorded", "rate_cps_charge", "rate_conviction", "rate_guilty_plea", "rate_withdrawal_pre_charge", "days_report_to_charge_median", "days_charge_to_completion_median", "crown_backlog", "idva_utilisation", "idva_wait_days_mean"}
    assert required <= set(kpis["metric"])
    assert kpis["group"].str.startswith("ethnicity=").any() and kpis["group"].str.startswith("borough=").any()
    summary = pd.read_csv(out / "summary.csv")
    assert {"metric", "offence", "group", "mean", "ci_low", "ci_high", "n_reps"} <= set(summary.columns)
    ok = summary.dropna(subset=["ci_low"])
    assert ((ok["ci_low"] <= ok["mean"] + 1e-9) & (ok["mean"] <= ok["ci_high"] + 1e-9)).all()
    cases = pd.read_parquet(out / "cases.parquet")
    assert {"offence", "ethnicity", "borough", "t_report", "t_charge", "exit", "ho_outcome"} <= set(cases.columns)
    assert set(cases["exit"].astype(str)) <= {"open", "not_reported", "not_recorded", "no_suspect", "evidential_difficulties", "withdrew_pre_charge", "nfa", "out_of_court", "diverted", "retraction_post_charge", "discontinued", "acquitted", "convicted"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["replications"] == 2 and manifest["scale"] == 0.02
    assert manifest["resolved_scenario"]["courts"]["crown"]["background_cases_per_year"] == pytest.approx(22780 * 0.02)
    assert "offences.rape.reporting.p_report" in manifest["sources"]
    assert not list(tmp_path.glob(".r.partial*"))


def test_same_seed_same_kpis_whatever_the_number_of_workers(tmp_path):
    one, _ = run_cli(tmp_path, "one", "--jobs", "1")
    two, _ = run_cli(tmp_path, "two", "--jobs", "2")
    assert (one / "kpis.csv").read_bytes() == (two / "kpis.csv").read_bytes()


def test_a_different_seed_gives_different_results(baseline):
    a = simcj.simulate(baseline, **{**RUN, "reps": 1})
    b = simcj.simulate(baseline, **{**RUN, "reps": 1, "seed": RUN["seed"] + 1})
    assert not a.kpis["value"].equals(b.kpis["value"])


def test_python_api_gives_frames_and_figures(baseline):
    res = simcj.simulate(baseline, **RUN)
    assert isinstance(res.kpis, pd.DataFrame) and isinstance(res.cases, pd.DataFrame) and isinstance(res.timeseries, pd.DataFrame)
    assert res.value("recorded", "rape")["n_reps"] == 2
    for fig in (simcj.figures.funnel(res), simcj.figures.backlog(res), simcj.figures.time_to_outcome(res)):
        assert fig.axes
    table = res.headline()
    assert list(table.columns) == ["domestic_abuse", "rape", "other_sexual", "stalking_harassment", "all"]


def test_existing_out_folder_is_refused(tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "something").write_text("x")
    result = CliRunner().invoke(main, ["run", str(BASELINE), *SMALL, "--out", str(out)])
    assert result.exit_code == 2 and "already exists" in result.output
    forced = CliRunner().invoke(main, ["run", str(BASELINE), *SMALL, "--out", str(out), "--force"])
    assert forced.exit_code == 2 and "not a simcj results folder" in forced.output
    assert (out / "something").read_text() == "x"  # --force never deletes a folder simcj did not write


def test_force_replaces_an_earlier_results_folder_only_once_the_new_one_is_complete(tmp_path):
    out, _ = run_cli(tmp_path, "r", "--jobs", "1")
    (out / "stale.txt").write_text("from an earlier run")
    again = CliRunner().invoke(main, ["run", str(BASELINE), *SMALL, "--out", str(out)])
    assert again.exit_code == 2 and "--force" in again.output
    run_cli(tmp_path, "r", "--jobs", "1", "--seed", "4", "--force")
    assert not (out / "stale.txt").exists() and json.loads((out / "manifest.json").read_text())["seed"] == 4
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary or replaced folder left


def test_regression_against_stored_results():
    stored = pd.read_csv(STORED)
    now = regression_summary()
    assert list(now[["metric", "offence"]].itertuples(index=False)) == list(stored[["metric", "offence"]].itertuples(index=False))
    for col in ("mean", "ci_low", "ci_high"):
        np.testing.assert_allclose(now[col].to_numpy(), stored[col].to_numpy(), rtol=1e-6, atol=1e-9, equal_nan=True, err_msg=col)
