"""simcj sweep: designs, resumable storage, identical tables whatever the backend, global sensitivity."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from simcj.cli import main
from simcj.experiment.executor import DaskExecutor, LocalExecutor
from simcj.experiment.global_sensitivity import indices
from simcj.experiment.sweep import Factor, SweepSpec, design_points, parse_vary, problem, run_sweep, unit_sample
from simcj.scenario import ScenarioError

from .conftest import BASELINE, ROOT

SMALL = dict(reps=2, seed=3, scale=0.02, years=0.5, warmup_years=0.5)


def spec(**more) -> SweepSpec:
    return SweepSpec(scenario=str(BASELINE), factors=[parse_vary("support.services.idva.staff=80:140:3")], **{**SMALL, **more})


# --------------------------------------------------------------------------- factors and designs


def test_vary_ranges_lists_and_log_scales():
    assert parse_vary("a.b=1:3:3").grid() == [1.0, 2.0, 3.0]
    assert parse_vary("a.b=[5, 7]").grid() == [5.0, 7.0]
    assert parse_vary("a.b=1:100:3:log").grid() == pytest.approx([1.0, 10.0, 100.0])
    for bad in ("a.b=3:1", "a.b=x:2", "a.b", "a.b=1:2:0", "a.b=0:1:3:log", "a.b=[1, yes]"):
        with pytest.raises(ScenarioError) as err:
            parse_vary(bad)
        assert err.value.problems[0].file == "--vary"


def test_designs_have_their_sizes_bounds_and_reproduce():
    factors = [Factor("x", 0.0, 1.0, 3), Factor("y", 10.0, 20.0, 4)]
    assert len(design_points(factors, "grid", 0, 1)) == 12
    lhs = design_points(factors, "lhs", 20, 1)
    assert len(lhs) == 20 and lhs["y"].between(10, 20).all()
    pd.testing.assert_frame_equal(lhs, design_points(factors, "lhs", 20, 1))
    assert not lhs.equals(design_points(factors, "lhs", 20, 2))
    assert len(design_points(factors, "sobol", 8, 1)) == 8 * (2 + 2)  # Saltelli, first and total order
    assert len(design_points(factors, "morris", 5, 1)) == 5 * (2 + 1)


def test_sobol_indices_of_the_ishigami_function():
    from SALib.test_functions import Ishigami

    factors = [Factor(f"x{i}", -math.pi, math.pi) for i in range(3)]
    unit = unit_sample(factors, "sobol", 1024, 1)
    x = np.column_stack([f.from_unit(unit[:, j]) for j, f in enumerate(factors)])
    table = indices("sobol", problem(factors), unit, Ishigami.evaluate(x)).set_index("parameter")
    assert table["S1"].to_numpy() == pytest.approx([0.3139, 0.4424, 0.0], abs=0.04)
    assert table["ST"].to_numpy() == pytest.approx([0.5576, 0.4424, 0.2437], abs=0.04)


# --------------------------------------------------------------------------- running, resuming, backends


def test_the_same_table_on_one_process_two_processes_and_a_dask_cluster(tmp_path):
    one = run_sweep(spec(), tmp_path / "one", LocalExecutor(1))
    two = run_sweep(spec(), tmp_path / "two", LocalExecutor(2))
    dask = DaskExecutor(workers=2)
    try:
        on_dask = run_sweep(spec(), tmp_path / "dask", dask)
    finally:
        dask.close()
    pd.testing.assert_frame_equal(one, two)
    pd.testing.assert_frame_equal(one, on_dask)
    assert set(one["support.services.idva.staff"]) == {80.0, 110.0, 140.0} and one["replication"].nunique() == 2
    assert len(list((tmp_path / "one" / "parts").glob("*.parquet"))) == 3 * 2
    assert len(pd.read_parquet(tmp_path / "one" / "parts")) == len(one)  # the parts are a Parquet dataset of the whole table


def test_a_killed_sweep_resumes_to_the_table_of_an_uninterrupted_one(tmp_path):
    whole = run_sweep(spec(), tmp_path / "whole", LocalExecutor(1))
    out = tmp_path / "killed"
    args = [sys.executable, "-m", "simcj.cli", "sweep", str(BASELINE), "--vary", "support.services.idva.staff=80:140:3", "--reps", "2", "--seed", "3",
            "--scale", "0.02", "--years", "0.5", "--warmup-years", "0.5", "--jobs", "1", "--quiet", "--out", str(out)]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "parts").glob("*.parquet"))) < 2:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stored = len(list((out / "parts").glob("*.parquet")))
    assert 2 <= stored < 6 and not (out / "sweep.parquet").exists()
    result = CliRunner().invoke(main, [*args[3:], "--resume"])
    assert result.exit_code == 0, result.output
    pd.testing.assert_frame_equal(whole, pd.read_parquet(out / "sweep.parquet"))


def test_a_failing_point_is_recorded_and_the_sweep_goes_on(tmp_path):
    bad = SweepSpec(scenario=str(BASELINE), factors=[parse_vary("offences.rape.charging.p_charge=[0.5, 1.5]")], **SMALL)
    table = run_sweep(bad, tmp_path / "s", LocalExecutor(1))
    failures = pd.read_csv(tmp_path / "s" / "failures.csv")
    assert set(failures["point"]) == {1} and "p_charge" in failures["error"].iloc[0]
    assert set(table["point"]) == {0}


def test_bad_sweep_files_and_options_exit_2_naming_the_file_and_key(tmp_path):
    cases = {
        "unknown.yaml": ("scenario: x.yaml\nvary: {a.b: '1:2'}\ncolour: red\n", "colour"),
        "reversed.yaml": (f"scenario: {BASELINE}\nvary:\n  support.services.idva.staff: '140:80'\n", "vary.support.services.idva.staff"),
        "text.yaml": (f"scenario: {BASELINE}\nvary:\n  support.services.idva.staff: [80, lots]\n", "vary.support.services.idva.staff"),
        "reps.yaml": (f"scenario: {BASELINE}\nreps: two\nvary:\n  support.services.idva.staff: '80:140'\n", "reps"),
        "broken.yaml": ("scenario: [x\n", "not valid YAML"),
        "empty.yaml": ("", "the file is empty"),
        "bomb.yaml": ("a: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n", "refused"),
        "list_bomb.yaml": (f"scenario: {BASELINE}\nvary:\n  support.services.idva.staff: '&a [*a]'\n", "vary.support.services.idva.staff"),
    }
    for name, (text, key) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        r = CliRunner().invoke(main, ["sweep", "--file", str(path), "--out", str(tmp_path / "o")])
        assert r.exit_code == 2 and str(path) in r.output and key in r.output, (name, r.output)
    r = CliRunner().invoke(main, ["sweep", str(BASELINE), "--vary", "support.services.idva.stafff=1:2", "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "stafff" in r.output and not (tmp_path / "o").exists()


def test_global_sensitivity_of_a_sobol_sweep_through_the_cli(tmp_path):
    out = tmp_path / "sobol"
    args = ["sweep", str(BASELINE), "--vary", "support.effect.hr_withdrawal=0.6:1.0", "--vary", "offences.domestic_abuse.police.p_refer_cps=0.15:0.3",
            "--design", "sobol", "--samples", "4", "--reps", "1", "--seed", "3", "--scale", "0.02", "--years", "0.5", "--warmup-years", "0.5",
            "--jobs", "2", "--quiet", "--out", str(out)]  # fmt: skip
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    s = CliRunner().invoke(main, ["sensitivity", str(out), "--kpi", "referred_cps:domestic_abuse"])
    assert s.exit_code == 0, s.output
    table = pd.read_csv(out / "sensitivity_indices.csv").set_index("parameter")
    assert {"S1", "ST", "S1_ci_low", "ST_ci_high"} <= set(table.columns)
    # referrals to the CPS follow the referral probability, not the support effect
    assert table.loc["offences.domestic_abuse.police.p_refer_cps", "ST"] > table.loc["support.effect.hr_withdrawal", "ST"]
    assert (out / "sensitivity_referred_cps_domestic_abuse.png").exists()


def test_shipped_sweep_files_load_and_name_settings_of_their_scenario():
    from simcj.experiment.sweep import load_sweep_file
    from simcj.scenario import load_scenario, variant

    files = sorted((ROOT / "scenarios" / "sweeps").glob("*.yaml"))
    assert {f.name for f in files} >= {"idva_fte.yaml", "uncertain_sobol.yaml"}
    for path in files:
        s = load_sweep_file(path)
        sc = load_scenario(s.scenario)
        variant(sc, {f.path: (f.low if f.values is None else f.values[0]) for f in s.factors})
        variant(sc, {f.path: (f.high if f.values is None else f.values[-1]) for f in s.factors})


def test_the_python_api_returns_the_tidy_table():
    import simcj

    table = simcj.sweep(BASELINE, {"support.services.idva.staff": [80, 120]}, reps=1, seed=3, scale=0.02, years=0.5, warmup_years=0.5, jobs=1)
    assert list(table.columns[:3]) == ["point", "replication", "support.services.idva.staff"]
    assert set(table["support.services.idva.staff"]) == {80.0, 120.0}


def test_compare_on_a_dask_cluster_gives_the_local_answer(tmp_path):
    args = ["compare", str(BASELINE), str(ROOT / "scenarios" / "idva_plus_20.yaml"), "--reps", "2", "--scale", "0.02", "--years", "0.5", "--warmup-years", "0.5", "--seed", "3"]
    local = CliRunner().invoke(main, [*args, "--jobs", "2", "--out", str(tmp_path / "local")])
    dask = CliRunner().invoke(main, [*args, "--dask-workers", "2", "--out", str(tmp_path / "dask")])
    assert local.exit_code == 0 and dask.exit_code == 0, dask.output
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "local" / "differences.csv"), pd.read_csv(tmp_path / "dask" / "differences.csv"))


def test_without_dask_the_backend_options_name_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if the extra were not installed
    r = CliRunner().invoke(main, ["sweep", str(BASELINE), "--vary", "support.services.idva.staff=80:120:2", "--dask-workers", "2", "--out", str(tmp_path / "s")])
    assert r.exit_code == 2 and 'pip install "simcj[dask]"' in r.output
