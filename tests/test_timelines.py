"""Dated inputs: settings given as timelines of dated values, a run's calendar start date, and dated
outputs."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from simcj.cli import main
from simcj.engine.world import World, run_replication
from simcj.scenario import ScenarioError, load_scenario, scaled, variant, with_run
from simcj.scenario.timelines import Timeline

from .conftest import BASELINE, ROOT

START = "2020-01-01"
SITTING = "courts.crown.sitting_days_per_year"
RAPE = "offences.rape.reporting.incidents_per_year"


def dated(*overrides: str):
    return load_scenario(BASELINE, [f"run.start_date={START}", *overrides])


def timeline(path: str, values: dict, interpolation: str = "step") -> str:
    points = ", ".join(f"{d}: {v}" for d, v in values.items())
    return f"{path}={{timeline: {{{points}}}, interpolation: {interpolation}, source: 'test'}}"


def test_a_timeline_holds_each_value_from_its_date():
    d = dt.date
    t = Timeline(((d(2020, 1, 11), 10.0), (d(2020, 1, 21), 30.0)))
    start = d(2020, 1, 1)
    assert [t.at(day, start) for day in (0, 9.9, 10, 19, 20, 400)] == [10.0, 10.0, 10.0, 10.0, 30.0, 30.0]
    assert t.change_days(start, 365.0) == [10.0, 20.0]
    assert t.change_days(start, 15.0) == [10.0]
    linear = Timeline(t.points, "linear")
    assert linear.at(15, start) == pytest.approx(20.0)
    assert linear.levels(np.array([0.0, 15.0, 30.0]), start) == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert t.levels(np.array([0.0, 19.5, 20.0]), start) == pytest.approx([1 / 3, 1 / 3, 1.0])
    months = Timeline(((d(2020, 1, 1), 0.0), (d(2021, 1, 1), 12.0)), "linear").change_days(start, 1000.0)
    assert len(months) == 12 and months[-1] == 366.0  # a step a month, then the last date (2020 is a leap year)


def test_the_scenario_holds_the_value_in_force_on_day_zero():
    sc = dated(timeline(SITTING, {"2019-04-01": 20000, "2020-01-01": 21000, "2021-04-01": 15000}))
    assert sc.courts.crown.sitting_days_per_year == 21000
    assert sc.date_of(0) == dt.date(2020, 1, 1) and sc.date_of(366.5) == dt.date(2021, 1, 1)
    assert SITTING in sc.timelines and sc.sources[SITTING].source == "test"


@pytest.mark.parametrize(
    "overrides, where, expected",
    [
        ([timeline(SITTING, {"2021-04-01": 15000})], SITTING, "need run.start_date"),
        ([f"run.start_date={START}", f"{SITTING}={{timeline: {{2021-04-01: 15000}}}}"], SITTING, "needs a source"),
        ([f"run.start_date={START}", timeline(SITTING, {"April 2021": 15000})], f"{SITTING}.timeline.April 2021", "YYYY-MM-DD"),
        ([f"run.start_date={START}", timeline(SITTING, {"2021-04-01": "many"})], f"{SITTING}.timeline.2021-04-01", "finite number"),
        ([f"run.start_date={START}", timeline(SITTING, {"2021-04-01": 1000}, "cubic")], f"{SITTING}.interpolation", "step"),
        ([f"run.start_date={START}", timeline("offences.rape.reporting.p_report", {"2021-04-01": 0.2})], "offences.rape.reporting.p_report", "drawn before the run"),
        ([f"run.start_date={START}", timeline("courts.crown.listing_delay.median", {"2021-04-01": 90})], "courts.crown.listing_delay.median", "lead times are drawn before the run"),
        ([f"run.start_date={START}", timeline(SITTING, {"2019-01-01": -5})], SITTING, "greater than 0"),
        ([f"run.start_date={START}", timeline(SITTING, {"2019-01-01": 1000, "2021-04-01": -5})], SITTING, "in force on 2021-04-01"),
        ([f"run.start_date={START}", f"{SITTING}={{timeline: {{2021-04-01: 1}}, value: 2, source: x}}"], SITTING, "unknown key"),
    ],
)
def test_bad_dated_values_are_refused_naming_the_key(overrides, where, expected):
    with pytest.raises(ScenarioError) as err:
        load_scenario(BASELINE, overrides)
    assert any(p.path == where and expected in p.message for p in err.value.problems), str(err.value)


def test_the_command_line_refuses_them_with_exit_2_and_no_traceback():
    r = CliRunner().invoke(main, ["check", str(BASELINE), "--set", timeline(SITTING, {"2021-04-01": 15000})])
    assert r.exit_code == 2 and "run.start_date" in r.output and "Traceback" not in r.output


def test_a_capacity_timeline_changes_it_on_its_date_exactly_as_an_option_would():
    """Crown sitting days stepping up on day 365 give the same cases as the +10% option from day 365."""
    option = load_scenario(ROOT / "scenarios" / "crown_sitting_days_plus_10.yaml")
    day = dt.date(2020, 1, 1) + dt.timedelta(days=365)
    stepped = dated(timeline(SITTING, {START: option.before.courts.crown.sitting_days_per_year, day.isoformat(): option.courts.crown.sitting_days_per_year}))
    design = dict(years=0.5, warmup_years=1.0)
    a = run_replication(scaled(with_run(stepped, **design), 0.03), 0, seed=4)
    b = run_replication(scaled(with_run(option, **design), 0.03), 0, seed=4)
    pd.testing.assert_frame_equal(a.cases, b.cases)
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries)
    flat = run_replication(scaled(with_run(load_scenario(BASELINE), **design), 0.03), 0, seed=4)
    assert not a.cases["t_exit"].equals(flat.cases["t_exit"])  # the step did something


def test_an_option_applies_on_top_of_the_bases_timeline():
    """Before its date an option's world follows the base's timeline; from it, its own settings."""
    base = dated(timeline("police.units.community_safety.staff", {START: 100, "2020-03-01": 60}))
    option = variant(base, {"courts.crown.sitting_days_per_year": 30000})
    option._before = base
    world = World(with_run(option, years=0.5, warmup_years=0.5), 0, seed=1)
    days = [d for d, _ in world.changes]
    assert days == [60.0, 182.5]
    assert world.changes[0][1].police.units["community_safety"].staff == 60
    after = world.changes[1][1]
    assert after.police.units["community_safety"].staff == 60 and after.courts.crown.sitting_days_per_year == 30000


def test_incidents_follow_their_dated_rate():
    sc = with_run(dated(timeline(RAPE, {START: 20000, "2020-12-31": 40000})), years=1.0, warmup_years=1.0)
    times = World(scaled(sc, 0.05), 0, seed=2).incidents.incident_times["rape"]
    first, second = np.histogram(times, bins=[0, 365, 730])[0]
    assert first == pytest.approx(1000, abs=5 * 1000**0.5) and second == pytest.approx(2000, abs=5 * 2000**0.5)
    # a timeline that never moves draws exactly the incidents of the plain value
    flat = with_run(dated(timeline(RAPE, {START: 20000})), years=1.0, warmup_years=1.0)
    same = variant(with_run(dated(), years=1.0, warmup_years=1.0), {RAPE: 20000})
    np.testing.assert_array_equal(World(scaled(flat, 0.05), 0, 2).incidents.incident_times["rape"], World(scaled(same, 0.05), 0, 2).incidents.incident_times["rape"])


def test_the_background_court_load_follows_its_dated_rate_and_court_time():
    """Crown receipts double on a date, and the court time a case takes with them: each background
    case takes the time in force on the day it arrives."""
    from simcj.vawg.courts import dated_durations

    sc = with_run(
        dated(timeline("courts.crown.background_cases_per_year", {START: 20000, "2020-12-31": 40000}),
              timeline("courts.crown.background_sitting_days.mean", {START: 1.0, "2020-12-31": 2.0})),
        years=1.0, warmup_years=1.0,
    )  # fmt: skip
    world = World(scaled(sc, 0.05), 0, seed=2)
    world.start()
    arrived = world.stages["courts"].crown.background_arrivals
    first, second = np.histogram(arrived, bins=[0, 365, 730])[0]
    assert first == pytest.approx(1000, abs=5 * 1000**0.5) and second == pytest.approx(2000, abs=5 * 2000**0.5)
    segments = dated_durations(sc, "courts.crown.background_sitting_days", sc.courts.crown.background_sitting_days, 730.0)
    assert [(day, d.mean()) for day, d in segments] == [(0.0, 1.0), (365.0, 2.0)]
    assert dated_durations(dated(), "courts.crown.background_sitting_days", sc.courts.crown.background_sitting_days, 730.0) is None


def test_marac_agency_referrals_follow_their_dated_rate():
    v = load_scenario(BASELINE).marac.agency_referrals_per_year["domestic_abuse"]
    sc = with_run(dated(timeline("marac.agency_referrals_per_year.domestic_abuse", {START: v, "2020-12-31": 2 * v})), years=1.0, warmup_years=1.0)
    c = World(scaled(sc, 0.2), 0, seed=2).cases
    first, second = np.histogram(np.asarray(c.t_report)[np.asarray(c.agency_referral, dtype=bool)], bins=[0, 365, 730])[0]
    assert first == pytest.approx(0.2 * v, abs=5 * (0.2 * v) ** 0.5) and second == pytest.approx(0.4 * v, abs=5 * (0.4 * v) ** 0.5)


def test_scaling_scales_dated_volumes_and_capacities_only():
    sc = dated(timeline(SITTING, {START: 20000, "2021-01-01": 10000}), timeline("offences.rape.police.p_arrest", {START: 0.4, "2021-01-01": 0.5}))
    small = scaled(sc, 0.1)
    assert [v for _, v in small.timelines[SITTING].points] == [2000.0, 1000.0]
    assert [v for _, v in small.timelines["offences.rape.police.p_arrest"].points] == [0.4, 0.5]


def test_setting_a_value_replaces_its_timeline():
    sc = dated(timeline(SITTING, {START: 20000, "2021-01-01": 10000}))
    assert SITTING not in variant(sc, {SITTING: 15000}).timelines
    assert SITTING not in load_scenario(BASELINE, [f"run.start_date={START}", timeline(SITTING, {START: 1}), f"{SITTING}=15000"]).timelines


def test_a_dated_run_writes_dates_and_its_timelines(tmp_path):
    out = tmp_path / "run"
    args = ["run", str(BASELINE), "--set", f"run.start_date={START}", "--set", timeline(SITTING, {START: 20000, "2020-03-01": 10000}),
            "--scale", "0.02", "--reps", "1", "--years", "0.25", "--warmup-years", "0", "--jobs", "1", "--quiet", "--out", str(out)]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    ts = pd.read_csv(out / "timeseries.csv")
    assert ts["date"].iloc[0] == START and (pd.to_datetime(ts["date"]) - pd.Timestamp(START)).dt.days.equals(np.floor(ts["day"]).astype(int))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["timelines"][SITTING] == {"interpolation": "step", "values": {START: 400.0, "2020-03-01": 200.0}}
    assert manifest["resolved_scenario"]["run"]["start_date"] == START


def test_an_option_branched_from_a_dated_base_equals_the_option_run_alone(tmp_path, baseline):
    """simcj compare branches options from the base at their date: the base's later dates and the
    option's own settings then give what the option run from the start gives."""
    from simcj.experiment.compare import run_comparison
    from simcj.experiment.executor import TABLES
    from simcj.experiment.results import simulate

    staff = baseline.police.units["community_safety"].staff
    (tmp_path / "base.yaml").write_text(
        f"extends: {BASELINE}\nname: dated_base\nrun: {{start_date: {START}, intervention_years: 0, years: 1, warmup_years: 1}}\n"
        f"police: {{units: {{community_safety: {{staff: {{timeline: {{{START}: {staff}, 2020-06-01: {staff * 0.6}, 2021-06-01: {staff * 1.2}}}, source: test}}}}}}}}\n"
    )
    (tmp_path / "option.yaml").write_text("extends: base.yaml\nname: dated_option\nrun: {intervention_years: 1}\ncourts: {crown: {sitting_days_per_year: 30000}}\n")
    base, option = load_scenario(tmp_path / "base.yaml"), load_scenario(tmp_path / "option.yaml")
    assert base.before is None and option.before is not None and "police.units.community_safety.staff" in option.timelines
    cmp = run_comparison(base, [option], 2, 5, 0.04, 2)
    keys = ["replication", "metric", "offence", "group"]
    for res, sc in zip(cmp.scenarios, [base, option]):
        alone = simulate(sc, reps=2, seed=5, scale=0.04, jobs=1, want=TABLES)
        pd.testing.assert_frame_equal(res.kpis.sort_values(keys).reset_index(drop=True), alone.kpis.sort_values(keys).reset_index(drop=True))
        pd.testing.assert_frame_equal(res.timeseries.reset_index(drop=True), alone.timeseries.reset_index(drop=True))
    busy = cmp.scenarios[0].timeseries
    slots = busy[(busy["series"] == "investigators_community_safety_busy") & (busy["replication"] == 0)].set_index("day")["value"]
    assert slots.loc[:151].max() > slots.loc[160:500].max() < slots.loc[530:].max()  # fewer investigators from June 2020, more from June 2021


def test_a_dated_comparisons_trajectories_are_drawn_against_calendar_dates():
    from simcj.report.comparison_figures import backlog_trajectories

    ts = pd.DataFrame({"replication": 0, "day": [0.0, 7.0, 14.0], "series": "crown_backlog", "value": [1.0, 2.0, 3.0]})
    undated = backlog_trajectories({"base": ts}, 7.0, 14.0)
    dated_fig = backlog_trajectories({"base": ts.assign(date=["2017-04-01", "2017-04-08", "2017-04-15"])}, 7.0, 14.0)
    assert undated.axes[0].get_xlabel() == "simulated years" and dated_fig.axes[0].get_xlabel() == "date"
    assert pd.Timestamp(dated_fig.axes[0].get_lines()[0].get_xdata()[0]).date() == dt.date(2017, 4, 1)
