"""The intervention date: an option runs the scenario it extends until its date, its own settings after."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import simpy
from click.testing import CliRunner

from simcj.cli import main
from simcj.engine.pools import Pool
from simcj.engine.world import World, run_replication
from simcj.scenario import ScenarioError, load_scenario, scaled, with_run

from .conftest import BASELINE, ROOT

SCENARIOS = ROOT / "scenarios"
SEED = 20261122
DAY = 365.0  # the date: the end of a one-year warm-up


def small(sc):
    return scaled(with_run(sc, years=1.0, warmup_years=1.0), 0.1)


def before_the_date(cases: pd.DataFrame) -> pd.DataFrame:
    """Every time stamp recorded before the date (NaN after it), of the cases reported before it
    (after it, an option changes which of a victim's further incidents happen). A referral to a court
    advocate after the date rewrites the case's referral stamps, so those are left out."""
    cases = cases[cases["t_report"] < DAY]
    rewritten = ("t_withdrawal", "t_next_report", "t_support_referral", "t_support_lapsed")
    stamps = cases[[c for c in cases.columns if c.startswith("t_") and c not in rewritten]]
    return stamps.where(stamps < DAY)


@pytest.mark.parametrize("option", ["idva_plus_20.yaml", "rasso_court.yaml", "sdvc_close_one.yaml", "crown_sitting_days_plus_10.yaml", "faster_charging.yaml"])
def test_before_the_date_every_case_and_queue_is_the_bases(baseline, option):
    alt = load_scenario(SCENARIOS / option)
    assert alt.before is not None and alt.intervention_day() == alt.run.warmup_years * 365.0
    for rep in (0, 1):
        base, other = run_replication(small(baseline), rep, SEED), run_replication(small(alt), rep, SEED)
        pd.testing.assert_frame_equal(before_the_date(base.cases), before_the_date(other.cases))
        # a victim's withdrawal time is hers in both: only whether the system has learnt it may differ
        bw, ow = base.cases["t_withdrawal"], other.cases["t_withdrawal"]
        both = bw.notna() & ow.notna() & ((bw < DAY) | (ow < DAY))
        assert np.array_equal(bw[both].to_numpy(), ow[both].to_numpy())
        ts_b = base.timeseries[base.timeseries["day"] < DAY].reset_index(drop=True)
        ts_o = other.timeseries[(other.timeseries["day"] < DAY) & other.timeseries["series"].isin(ts_b["series"].unique())]
        pd.testing.assert_frame_equal(ts_b, ts_o.reset_index(drop=True))
        # and after it, the option acts (on its capacity's series at least: more CPS lawyers may change
        # no case when files wait on the police rather than for a lawyer)
        ts_after_b = base.timeseries[base.timeseries["day"] >= DAY].reset_index(drop=True)
        ts_after_o = other.timeseries[(other.timeseries["day"] >= DAY) & other.timeseries["series"].isin(ts_b["series"].unique())].reset_index(drop=True)
        assert not ts_after_b.equals(ts_after_o)


def test_a_date_beyond_the_run_leaves_the_base(baseline):
    alt = with_run(load_scenario(SCENARIOS / "idva_plus_20.yaml"), intervention_years=5.0)
    base, other = run_replication(small(baseline), 0, SEED), run_replication(small(alt), 0, SEED)
    pd.testing.assert_frame_equal(base.cases, other.cases)


def test_capacity_changes_take_effect_at_the_date(baseline):
    alt = small(load_scenario(SCENARIOS / "idva_plus_20.yaml"))
    world = World(alt, 0, SEED)
    idva = world.stages["support"].services["idva"].places.pool
    slots_before = idva.capacity
    world.start()
    world.advance(DAY - 1)
    assert idva.capacity == slots_before
    world.advance(DAY + 1)
    assert idva.capacity == round(alt.support.services["idva"].staff * alt.support.services["idva"].caseload) > slots_before
    world.advance(world.horizon)
    world.finish()


def test_a_specialist_list_opens_at_the_date_and_takes_new_listings_only(baseline):
    alt = small(load_scenario(SCENARIOS / "rasso_court.yaml"))
    out = run_replication(alt, 0, SEED)
    ts = out.timeseries
    rasso = ts[ts["series"] == "rasso_backlog"]
    assert rasso["day"].min() >= DAY  # the list exists from the date
    rape_crown = out.cases[(out.cases["offence"] == "rape") & out.cases["t_trial"].notna()]
    listed_before = rape_crown[rape_crown["t_first_hearing"] < DAY - 200]
    assert (listed_before["court_days"] > 0).all() or listed_before.empty  # tried on the shared list


def test_pool_resize_grants_waiting_work_or_lets_busy_slots_drain():
    env = simpy.Environment()
    pool, started = Pool(env, 2, "p"), []
    for i in range(5):
        pool.call_when_free(i, started.append)
    assert started == [0, 1] and pool.waiting() == 3
    pool.resize(4)  # new staff take work at once
    assert started == [0, 1, 2, 3] and pool.busy == 4
    pool.resize(1)  # fewer staff: nobody's work is cut short, no new work until below the new number
    assert pool.busy == 4
    for _ in range(3):
        pool.release()
    assert started == [0, 1, 2, 3] and pool.busy == 1
    pool.release()
    assert started == [0, 1, 2, 3, 4] and pool.busy == 1


def test_an_option_cannot_change_what_is_drawn_before_the_run(tmp_path):
    bad = tmp_path / "more_incidents.yaml"
    bad.write_text(f"extends: {BASELINE}\nname: more\nrun:\n  intervention_years: 3\noffences:\n  rape:\n    reporting:\n      p_report: {{value: 0.3, source: test}}\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(bad)
    problem = err.value.problems[0]
    assert problem.file == str(bad) and problem.path == "offences.rape.reporting.p_report"
    assert "cannot change at the intervention date" in problem.message


def test_cli_intervention_years_and_its_bounds(tmp_path):
    import json

    args = ["run", str(SCENARIOS / "idva_plus_20.yaml"), "--reps", "1", "--scale", "0.02", "--years", "1", "--warmup-years", "1", "--jobs", "1", "--quiet"]
    inside = CliRunner().invoke(main, [*args, "--intervention-years", "1.5", "--out", str(tmp_path / "bad")])
    assert inside.exit_code == 2 and "inside the measured period" in inside.output and not (tmp_path / "bad").exists()
    base = CliRunner().invoke(main, ["run", str(BASELINE), "--intervention-years", "0.5", "--out", str(tmp_path / "base")])
    assert base.exit_code == 2 and "not an option" in base.output
    good = CliRunner().invoke(main, [*args, "--intervention-years", "0.5", "--out", str(tmp_path / "good")])
    assert good.exit_code == 0, good.output
    manifest = json.loads((tmp_path / "good" / "manifest.json").read_text())
    assert manifest["intervention_years"] == 0.5


def test_a_class_moved_to_another_unit_at_the_date_frees_slots_where_it_started(baseline, tmp_path):
    """A unit move at the date: a case already on a unit's list (queued or started) before it is worked
    and ends in that unit's slots (none are created)."""
    option = tmp_path / "move.yaml"
    option.write_text(
        f"extends: {BASELINE}\nname: move\npolice:\n  units:\n    other_sexual_team: {{staff: {{value: 60, source: test}}, caseload: {{value: 10, source: test}}}}\n"
        "offences:\n  other_sexual:\n    police:\n      unit: other_sexual_team\n"
    )
    world = World(small(load_scenario(option)), 0, SEED)
    world.start()
    world.advance(world.horizon)
    c = world.cases
    cls = np.frombuffer(c.cls, dtype=np.int8)
    start, outcome = np.frombuffer(c.t_investigation_start), np.frombuffer(c.t_police_outcome)
    queued = np.frombuffer(c.t_investigation_queued)  # a case joins its unit's list when it is recorded
    working = ~np.isnan(start) & np.isnan(outcome) & (np.frombuffer(c.exit, dtype=np.int8) == 0)
    names = list(world.scenario.offences)
    other = cls == names.index("other_sexual")
    police = world.stages["police"].pools
    # each unit's busy slots are exactly the cases being investigated in it
    assert police["other_sexual_team"].busy == int((working & other & (queued >= DAY)).sum())
    assert police["sexual_offences"].busy == int((working & ((cls == names.index("rape")) | (other & (queued < DAY)))).sum())


def test_an_option_cannot_change_a_waiting_lists_order_at_its_date(tmp_path):
    bad = tmp_path / "order.yaml"
    bad.write_text(f"extends: {BASELINE}\nname: order\nrun:\n  intervention_years: 3\nsupport:\n  services:\n    idva:\n      priority: [medium, high, standard]\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(bad)
    assert err.value.problems[0].path.startswith("support.services.idva.priority")


def test_a_file_that_changes_what_makes_the_cases_runs_from_the_start(tmp_path):
    variant_file = tmp_path / "more_reports.yaml"
    variant_file.write_text(f"extends: {BASELINE}\nname: more\noffences:\n  rape:\n    reporting:\n      p_report: {{value: 0.3, source: test}}\n")
    sc = load_scenario(variant_file)
    assert sc.before is None and sc.intervention_day() is None
    result = CliRunner().invoke(main, ["check", str(variant_file)])
    assert result.exit_code == 0 and "from the start" in result.output
    option = CliRunner().invoke(main, ["check", str(SCENARIOS / "idva_plus_20.yaml")])
    assert "from year 3" in option.output


def test_options_branched_from_the_base_at_their_date_equal_options_run_from_the_start():
    """simcj compare runs the base to the date once and branches each option from it (os.fork)."""
    from simcj.experiment.compare import run_comparison
    from simcj.experiment.executor import TABLES, can_branch
    from simcj.experiment.results import simulate
    from simcj.experiment.runner import resolve

    base = with_run(load_scenario(BASELINE), years=1, warmup_years=1)
    options = [with_run(load_scenario(SCENARIOS / f"{n}.yaml"), years=1, warmup_years=1) for n in ("faster_charging", "rasso_court", "sdvc_close_one")]
    resolved_base = resolve(base, reps=2, seed=5, scale=0.04).scenario
    assert all(can_branch(resolved_base, resolve(o, reps=2, seed=5, scale=0.04).scenario) for o in options)  # they do branch
    cmp = run_comparison(base, options, 2, 5, 0.04, 2)
    for res, sc in zip(cmp.scenarios, [base, *options]):
        alone = simulate(sc, reps=2, seed=5, scale=0.04, jobs=1, want=TABLES)
        keys = ["replication", "metric", "offence", "group"]
        pd.testing.assert_frame_equal(res.kpis.sort_values(keys).reset_index(drop=True), alone.kpis.sort_values(keys).reset_index(drop=True))
        pd.testing.assert_frame_equal(res.timeseries.reset_index(drop=True), alone.timeseries.reset_index(drop=True))
