"""simcj validate: targets against a run, and model checks that fail when the model is broken."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from simcj.calibrate import checks
from simcj.calibrate.targets import compare, load_targets
from simcj.cli import main
from simcj.engine import pools
from simcj.engine.cases import CaseTable, Exit
from simcj.scenario import ScenarioError, scaled, variant, with_run

from .conftest import BASELINE, ROOT

TARGETS = ROOT / "calibration" / "targets.csv"


@pytest.fixture(scope="module")
def small(baseline):
    return scaled(with_run(baseline, years=1.0, warmup_years=1.0), 0.05)


def test_erlang_c_check_passes_and_fails_when_a_server_goes_missing(baseline, monkeypatch):
    assert checks.erlang_c(baseline, seed=5, years=20.0).passed
    real_init = pools.Pool.__init__

    def one_short(self, env, capacity, name, lapsed=None, levels=1):
        real_init(self, env, max(1, capacity - 1), name, lapsed, levels)

    monkeypatch.setattr(pools.Pool, "__init__", one_short)
    broken = checks.erlang_c(baseline, seed=5, years=20.0)
    assert not broken.passed and broken.values["simulated_wait_days"] > broken.values["erlang_c_wait_days"]


def test_littles_law_check_passes_and_fails_when_the_monitor_miscounts(small, monkeypatch):
    """On a Crown list near its capacity (a queue long enough for a miscount to show above the
    weekly snapshots' sampling error)."""
    full = variant(small, {"courts.crown.sitting_days_per_year": small.courts.crown.sitting_days_per_year * 0.9})
    out = checks.tracked_replication(full, seed=2)
    assert checks.littles_law(out).passed
    real = pools.Pool.waiting
    monkeypatch.setattr(pools.Pool, "waiting", lambda self: real(self) + 50)  # fifty more than are waiting
    assert not checks.littles_law(checks.tracked_replication(full, seed=2)).passed


def test_conservation_check_passes_and_fails_when_an_exit_is_lost(small, monkeypatch):
    assert checks.conservation(checks.tracked_replication(small, seed=3)).passed
    real = CaseTable.close

    def forgetful(self, i, exit_, t, ho_outcome=None):
        real(self, i, exit_, t, ho_outcome)
        if exit_ is Exit.NFA:
            self.t_exit[i] = float("nan")

    monkeypatch.setattr(CaseTable, "close", forgetful)
    result = checks.conservation(checks.tracked_replication(small, seed=3))
    assert not result.passed and "no exit time" in result.message


def test_compare_scales_volumes_and_marks_passes(baseline):
    summary = pd.DataFrame(
        {"metric": ["recorded", "rate_conviction"], "offence": ["rape", "rape"], "group": "all", "mean": [925.0, 0.5], "ci_low": [900.0, 0.4], "ci_high": [950.0, 0.6]}
    )
    targets = pd.DataFrame(
        {"id": ["A", "B", "C"], "metric": ["recorded", "rate_conviction", "convicted"], "offence": "rape", "value": [9272, 0.65, 97], "low": [8808, 0.62, 50], "high": [9736, 0.71, 150], "use": "fit", "kind": "independent", "source": "s"}
    )
    table = compare(summary, targets, baseline, scale=0.1).set_index("id")
    assert table.loc["A", "simulated"] == pytest.approx(9250) and table.loc["A", "passed"]
    assert not table.loc["B", "passed"]
    assert not table.loc["C", "passed"] and pd.isna(table.loc["C", "simulated"])  # not produced


def test_bad_targets_file_is_an_input_error(tmp_path):
    bad = tmp_path / "t.csv"
    text = TARGETS.read_text().splitlines()
    text[1] = text[1].replace(",fit", ",maybe")
    bad.write_text("\n".join(text))
    with pytest.raises(ScenarioError) as info:
        load_targets(bad)
    (problem,) = info.value.problems
    assert problem.file == str(bad) and problem.path == "row 2.use"
    result = CliRunner().invoke(main, ["validate", str(BASELINE), "--targets", str(bad)])
    assert result.exit_code == 2 and "row 2.use" in result.output


HEADER = "id,metric,offence,value,low,high,period,geography,source,notes,use,kind\n"


@pytest.mark.parametrize(
    "content, expect",
    [
        (b"", "the file is empty"),
        (HEADER.encode(), "no targets"),
        (b"id,metric\nT1,convicted\n", "missing column(s)"),
        ((HEADER + "T1,convictd,rape,1,0,2,p,g,s,,fit,independent\n").encode(), "row 2.metric: 'convictd' is not a metric"),
        ((HEADER + "T1,convicted,rapes,1,0,2,p,g,s,,fit,independent\n").encode(), "row 2.offence"),
        ((HEADER + "T1,convicted,rape,1,nan,2,p,g,s,,fit,independent\n").encode(), "row 2.low: expected a finite number"),
        ((HEADER + "T1,convicted,rape,1,0,2,p,g,s,,fit,independent\nT1,charged,rape,1,0,2,p,g,s,,fit,independent\n").encode(), "row 3.id"),
        ((HEADER + 'T1,convicted,rape,1,0,2,p,g,"unclosed\n').encode(), "not a readable CSV file"),
        (b"\xff\xfe" + HEADER.encode("utf-16-le"), "not a readable CSV file"),
    ],
)
def test_malformed_targets_files_exit_2_before_the_run(tmp_path, content, expect):
    bad = tmp_path / "t.csv"
    bad.write_bytes(content)
    result = CliRunner().invoke(main, ["validate", str(BASELINE), "--targets", str(bad), "--json", str(tmp_path / "v.json")])
    assert result.exit_code == 2 and expect in result.output and str(bad) in result.output and "Traceback" not in result.output, result.output
    assert not (tmp_path / "v.json").exists()


def test_cli_validate_exit_codes_and_json(tmp_path):
    out = tmp_path / "v.json"
    args = ["validate", str(BASELINE), "--scale", "0.05", "--reps", "2", "--jobs", "1", "--seed", "4"]
    result = CliRunner().invoke(main, [*args, "--targets", str(TARGETS), "--json", str(out)])
    data = json.loads(out.read_text())
    assert {"targets_total", "targets_passed", "targets", "checks", "fit", "holdout"} <= set(data)
    vawg = pd.read_csv(ROOT / "calibration" / "targets.csv").query("offence != 'women_offenders'")  # the women's pathway's are its own
    assert data["targets_total"] == len(data["targets"]) == len(vawg)
    assert [c["name"] for c in data["checks"]] == ["erlang_c", "littles_law_crown", "conservation"]
    queues = {q["queue"]: q for q in data["queues"]}
    assert {"crown_backlog", "magistrates_backlog", "idva_waiting"} <= set(queues)
    assert all({"growth_per_year", "published_low", "published_high", "verdict", "passed"} <= set(q) for q in queues.values())
    assert result.exit_code == (0 if data["passed"] else 1)
    # targets the run meets, built from the run itself: everything passes, exit 0
    meets = tmp_path / "meets.csv"
    rows = [t for t in data["targets"] if t["simulated"] is not None]
    frame = pd.DataFrame(
        {"id": [t["id"] for t in rows], "metric": [t["metric"] for t in rows], "offence": [t["offence"] for t in rows], "value": [t["simulated"] for t in rows],
         "low": [min(0.9 * t["simulated"], 1.1 * t["simulated"]) for t in rows], "high": [max(0.9 * t["simulated"], 1.1 * t["simulated"]) for t in rows], "period": "p", "geography": "g", "source": "this run", "notes": "", "use": "fit", "kind": "independent"}
    )
    frame.to_csv(meets, index=False)
    ok = CliRunner().invoke(main, [*args, "--targets", str(meets)])
    assert ok.exit_code == 0, ok.output
    assert "checks passed 3/3" in ok.output


# --------------------------------------------------------------------------- queues against their published trends


def test_a_queues_growth_is_its_trend_relative_to_its_level():
    from simcj.calibrate.queues import growth_per_year

    days = np.arange(0.0, 366.0, 7.0)
    assert growth_per_year(days, 1000.0 + days * 100.0 / 365.0) == pytest.approx(100.0 / (1000.0 + 50.0 * days[-1] / 365.0), rel=1e-6)
    assert growth_per_year(days, np.full(days.size, 500.0)) == pytest.approx(0.0)
    assert np.isnan(growth_per_year(days, np.zeros(days.size)))  # an empty queue has no trend
    seasonal = 500.0 + 100.0 * np.sin(2.0 * np.pi * (days + 40.0) / 365.0)  # a year of seasonal demand, no growth
    assert growth_per_year(days, seasonal) == pytest.approx(0.0, abs=1e-9)
    assert growth_per_year(days, seasonal + days * 50.0 / 365.0) == pytest.approx(50.0 / float(np.mean(seasonal + days * 50.0 / 365.0)), rel=1e-6)


@pytest.mark.parametrize(
    "low, high, published, verdict, passed",
    [
        (-0.02, 0.03, False, "steady", True),
        (0.20, 0.40, False, "grows where London's was steady", False),
        (-0.40, -0.10, False, "drains where London's was steady", False),
        (0.05, 0.15, True, "as published", True),
        (0.45, 0.60, True, "grows faster than published", False),
        (float("nan"), float("nan"), False, "empty", True),
    ],
)
def test_a_queue_is_judged_by_its_growths_interval_against_the_allowed_range(low, high, published, verdict, passed):
    from simcj.calibrate.queues import STEADY_GROWTH
    from simcj.calibrate.queues import verdict as judge

    allowed = (0.04, 0.30) if published else (-STEADY_GROWTH, STEADY_GROWTH)
    assert judge(low, high, allowed, published) == (verdict, passed)


def test_the_queue_check_fails_a_list_that_grows_where_londons_did_not(baseline):
    """Take a fifth of the magistrates' sitting days away: that list grows, the Crown's stays steady."""
    from simcj.calibrate.queues import queue_trends
    from simcj.experiment.results import simulate
    from simcj.scenario import variant

    short = variant(baseline, {"courts.magistrates.sitting_days_per_year": 16000.0})
    res = simulate(short, reps=2, seed=3, years=2.0, warmup_years=1.0, scale=0.05, want=frozenset({"kpis", "timeseries"}))
    run = res.scenario.run
    q = queue_trends(res.timeseries, res.scenario, res.warmup_days, (run.warmup_years + run.years) * 365.0).set_index("queue")
    assert not q.loc["magistrates_backlog", "passed"] and q.loc["magistrates_backlog", "verdict"] == "grows where London's was steady"
    assert q.loc["crown_backlog", "passed"]


# --------------------------------------------------------------------------- London's history: the back-cast


def test_mape_and_theils_u():
    from simcj.calibrate.history import mape, theil_u

    published = np.array([100.0, 200.0])
    assert mape(np.array([110.0, 180.0]), published) == pytest.approx(0.10)
    assert theil_u(published, published) == 0.0
    assert theil_u(np.zeros(2), published) == pytest.approx(1.0)  # the worst: nothing where there is something
    assert theil_u(np.array([110.0, 180.0]), published) == pytest.approx(np.sqrt(250.0) / (np.sqrt((110**2 + 180**2) / 2) + np.sqrt(25000.0)))


@pytest.mark.parametrize(
    "row, where, expected",
    [
        ("crown_backlog,2021-12-31,-5,London,s,,holdout", "row 2.value", "positive number"),
        ("crown_backlog,December 2021,15722,London,s,,holdout", "row 2.date", "YYYY-MM-DD"),
        ("court_backlog,2021-12-31,15722,London,s,,holdout", "row 2.series", "not a stock the scenario monitors"),
        ("crown_backlog,2021-12-31,15722,London,s,,later", "row 2.use", "fit"),
        ("crown_backlog,2021-12-31,15722,London,,,holdout", "row 2.source", "needs a source"),
    ],
)
def test_a_bad_history_file_is_refused_naming_the_row(tmp_path, baseline, row, where, expected):
    from simcj.calibrate.history import COLUMNS, load_history

    bad = tmp_path / "history.csv"
    bad.write_text(",".join(COLUMNS) + "\n" + row + "\n")
    with pytest.raises(ScenarioError) as err:
        load_history(bad, baseline)
    assert any(p.path == where and expected in p.message for p in err.value.problems), str(err.value)


def test_the_back_cast_holds_londons_courts_against_their_history(tmp_path):
    """scenarios/history/london.yaml at small scale: every published point read on its date, each
    series scored on its fitted and held-out points apart; exit 1 exactly when a held-out MAPE is
    over the bound."""
    from simcj.calibrate.history import MAX_HELD_OUT_MAPE

    out = tmp_path / "h.json"
    history = ROOT / "scenarios" / "history" / "london.yaml"
    result = CliRunner().invoke(main, ["validate", str(history), "--scale", "0.02", "--reps", "2", "--seed", "3", "--json", str(out)])
    data = json.loads(out.read_text())
    points = pd.DataFrame(data["history"]["points"])
    published = pd.read_csv(ROOT / "calibration" / "history.csv")
    assert len(points) == len(published) and points["scored"].all()  # every point inside the measured years
    fit = pd.DataFrame(data["history"]["series"]).set_index(["series", "use"])
    assert {("crown_backlog", "fit"), ("crown_backlog", "holdout"), ("magistrates_backlog", "fit"), ("magistrates_backlog", "holdout")} <= set(fit.index)
    held = fit.xs("holdout", level="use")
    mine = points[(points["series"] == "crown_backlog") & (points["use"] == "holdout")]
    assert held.loc["crown_backlog", "mape"] == pytest.approx((abs(mine["simulated"] - mine["published"]) / mine["published"]).mean())
    queues = {q["queue"]: q["verdict"] for q in data["queues"]}
    assert queues["crown_backlog"] == "judged by London's history"
    assert "London's history" in result.output
    if (held["mape"] > MAX_HELD_OUT_MAPE).any():  # a back-cast that misses its held-out history fails
        assert not data["passed"] and result.exit_code == 1


# --------------------------------------------------------------------------- published effects of options


def test_effect_directions_and_verdicts():
    from simcj.calibrate.effects import agreement, materiality, verdict

    assert verdict(0.3, 0.1, 0.5, 0.05) == "up" and verdict(-0.3, -0.5, -0.1, 0.05) == "down"
    assert verdict(0.05, -0.1, 0.2, 0.05) is None  # the CI decides nothing yet: more replications
    assert verdict(0.01, -0.02, 0.04, 0.05) == "no clear change"  # within the margin: decided
    assert verdict(0.02, 0.01, 0.03, 0.05) == "no clear change"  # clear of zero but smaller than the margin: the same verdict on any seed
    assert verdict(0.03, 0.01, 0.06, 0.05) is None  # a small effect the CI cannot yet place
    assert materiality("rate_conviction", 0.6) == 0.01 and materiality("charged", 5000.0) == pytest.approx(100.0)
    assert agreement("up", "up") == "agrees" and agreement("down", "up") == "disagrees"
    assert agreement("up", "no clear change") == "model: no clear change"
    assert agreement("no clear change", "down") == "model: a change the evidence does not show"
    assert agreement("none", "up") == "nothing comparable published"
    assert agreement("disputed", "up") == "sources disagree: not scored"
    assert agreement("up", "undetermined at 32 replications") == "undetermined at 32 replications"


def test_an_effect_is_checked_until_its_verdict_is_decided(monkeypatch, baseline):
    """Replications double while a scored row's CI decides nothing, for that option only, up to the most allowed."""
    from simcj.calibrate import effects as fx

    calls = []

    def fake(base, options, reps, seed, scale, jobs, progress=None):
        calls.append((sorted(o.name for o in options), reps))
        half = 80.0 / np.sqrt(reps)  # the CI narrows as replications grow; 'a' has effect 50 (5%), 'b' none (the margin is 20)
        rows = [(o.name, "charged", "all", "all", 1000.0, 50.0 if o.name == "a" else 0.0) for o in options]
        d = pd.DataFrame(rows, columns=["scenario", "metric", "offence", "group", "base_mean", "diff_mean"])
        d["diff_ci_low"], d["diff_ci_high"] = d["diff_mean"] - half, d["diff_mean"] + half
        return type("C", (), {"differences": d})()

    monkeypatch.setattr(fx, "run_comparison", fake)
    monkeypatch.setattr(fx, "load_scenario", lambda path: variant(baseline, {"name": Path(path).stem}))
    table = pd.DataFrame({"id": ["X1", "X2"], "option": ["a", "b"], "metric": ["charged", "charged"], "offence": ["all", "all"],
                          "effect": ["", ""], "direction": ["up", "no clear change"], "source": ["s", "s"]})
    out = fx.check_effects(baseline, table, Path("."), 2, 1, 1.0, 1, max_reps=64).set_index("id")
    assert out.loc["X1", "model_direction"] == "up" and out.loc["X2", "model_direction"] == "no clear change"
    assert calls == [(["a", "b"], 2), (["a", "b"], 4), (["b"], 8), (["b"], 16), (["b"], 32)]  # 'a' decided at 4 is not run again
    assert out.loc["X1", "replications"] == 4 and out.loc["X2", "replications"] == 32
    short = fx.check_effects(baseline, table, Path("."), 2, 1, 1.0, 1, max_reps=2).set_index("id")
    assert short.loc["X1", "model_direction"] == "undetermined at 2 replications"


def test_shipped_effects_file_names_options_and_kpis_that_exist(baseline):
    from simcj.calibrate.effects import load_effects
    from simcj.experiment.catalogue import metric_names

    effects = load_effects(ROOT / "calibration" / "effects.csv")
    assert len(effects) >= 10 and effects["id"].is_unique
    for option in set(effects["option"]):
        assert (ROOT / "scenarios" / f"{option}.yaml").is_file()
    assert set(effects["metric"]) <= metric_names(baseline)
    assert set(effects["offence"]) <= set(baseline.offences) | {"all"}


def test_cli_validate_effects_runs_the_options_and_reports_them(tmp_path):
    effects = tmp_path / "effects.csv"
    effects.write_text(
        "id,option,metric,offence,effect,low,high,direction,published_direction,source,notes\n"
        "X1,crown_sitting_days_plus_10,cost_sitting_days,all,more paid,,,up,up,test source,\n"
        "X2,idva_plus_20,rate_conviction,domestic_abuse,none,,,none,level only,test source,\n"
    )
    out = tmp_path / "v.json"
    args = ["validate", str(BASELINE), "--reps", "2", "--scale", "0.05", "--seed", "3", "--effects", "--effects-file", str(effects), "--json", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code in (0, 1), result.output
    data = json.loads(out.read_text())
    rows = {r["id"]: r for r in data["effects"]}
    assert rows["X1"]["model_direction"] == "up" and rows["X1"]["agreement"] == "agrees"
    assert rows["X2"]["agreement"] == "nothing comparable published"
    bad = tmp_path / "bad.csv"
    bad.write_text("id,option,metric,offence,effect,low,high,direction,published_direction,source,notes\nX1,a,b,c,d,,,sideways,x,,\n")
    r = CliRunner().invoke(main, ["validate", str(BASELINE), "--effects", "--effects-file", str(bad)])
    assert r.exit_code == 2 and "row 2.direction" in r.output and "row 2.source" in r.output
