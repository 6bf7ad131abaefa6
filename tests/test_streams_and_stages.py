"""Streams by name, per-case draws, common random numbers, and the stage contract."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from scipy import stats

from simcj.cli import main
from simcj.engine.cases import Exit
from simcj.engine.metrics import Metric
from simcj.engine.stage import REGISTRY, Stage, register
from simcj.engine.streams import Streams, case_uniform, stream_key
from simcj.engine.world import World, run_replication
from simcj.scenario import ScenarioError, load_scenario, scaled, variant, with_run

from .conftest import BASELINE, ROOT, baseline_copy

SCENARIOS = ROOT / "scenarios"
SEED = 20261122
# The columns that make up a case's history: its exit, every time stamp, its listings and sentence.
HISTORY = ("exit", "listings", "custody_years", "venue", "plea", "court_days", "support_service", "ho_outcome")


def small(sc, scale=0.05):
    return scaled(with_run(sc, years=0.5, warmup_years=0.5), scale)


def history(cases: pd.DataFrame, offence: str) -> pd.DataFrame:
    mine = cases[cases["offence"] == offence].reset_index(drop=True)
    cols = [c for c in mine.columns if c.startswith("t_") or c in HISTORY]
    return mine[cols]


# --------------------------------------------------------------------------- streams


def test_stream_seed_is_derived_from_the_name_alone():
    assert stream_key("rape/u_verdict") == int.from_bytes(hashlib.blake2b(b"rape/u_verdict", digest_size=8).digest(), "little")
    a, b = Streams(7, 2), Streams(7, 2)
    b["something/new"].random(1000)  # drawing from (adding) another stream first changes nothing
    assert np.array_equal(a.uniforms("rape/u_verdict", 50), b.uniforms("rape/u_verdict", 50))
    assert not np.array_equal(a.uniforms("rape/u_plea", 50), Streams(7, 2).uniforms("rape/u_verdict", 50))
    assert not np.array_equal(Streams(7, 3).uniforms("rape/u_verdict", 50), Streams(7, 2).uniforms("rape/u_verdict", 50))


def test_case_uniforms_are_uniform_independent_and_order_free():
    keys = Streams(1, 0).keys("x/k_listing", 20000).tolist()
    first = np.array([case_uniform(k, 0) for k in keys])
    second = np.array([case_uniform(k, 1) for k in keys])
    assert stats.kstest(first, "uniform").pvalue > 0.001
    assert stats.kstest(second, "uniform").pvalue > 0.001
    assert abs(np.corrcoef(first, second)[0, 1]) < 0.03
    assert case_uniform(keys[5], 3) == case_uniform(keys[5], 3)  # asked again, in any order: the same
    assert all(0.0 <= case_uniform(k, 9) < 1.0 for k in keys[:100])


# --------------------------------------------------------------------------- common random numbers


@pytest.mark.parametrize("option", ["sdvc_all_da.yaml", "sdvc_close_one.yaml"])
def test_an_option_on_da_listing_leaves_every_rape_case_unchanged(baseline, option):
    """Moving DA cases between magistrates' and SDVC lists: no rape case goes near either. (Rape
    victims share the ISVAs with other sexual offences, whose magistrates' trials the option does
    move, and a slot freed a day earlier is a real effect on them, not a leak between streams: the
    other sexual offences go without ISVAs here, so that only common random numbers are tested.)"""
    apart = {"offences.other_sexual.support": {"service": None, "p_referral": {}}}
    alt = variant(load_scenario(SCENARIOS / option), apart)
    for rep in (0, 1):
        base = run_replication(small(variant(baseline, apart), 0.1), rep, SEED).cases
        other = run_replication(small(alt, 0.1), rep, SEED).cases
        pd.testing.assert_frame_equal(history(base, "rape"), history(other, "rape"))
        assert not history(base, "domestic_abuse").equals(history(other, "domestic_abuse"))  # the option does something


def test_an_option_that_changes_nothing_changes_no_output(tmp_path, baseline):
    same = tmp_path / "same.yaml"
    same.write_text(f"extends: {BASELINE}\nname: same\ncourts:\n  crown:\n    sitting_days_per_year: {{value: 25000, source: test}}\n")
    runs = [run_replication(small(load_scenario(p)), 1, SEED) for p in (BASELINE, same)]
    pd.testing.assert_frame_equal(runs[0].cases, runs[1].cases)
    pd.testing.assert_frame_equal(runs[0].timeseries, runs[1].timeseries)


# --------------------------------------------------------------------------- offence classes as data


def test_a_class_added_by_a_scenario_file_runs_and_leaves_the_others_draws_unchanged(tmp_path, baseline):
    raw = yaml.safe_load(BASELINE.read_text())
    copy = {"offences": {"honour_based_abuse": raw["offences"]["domestic_abuse"]}}
    child = tmp_path / "hba.yaml"
    child.write_text(f"extends: {BASELINE}\nname: hba\n" + yaml.safe_dump(copy, sort_keys=False))
    sc = load_scenario(child)
    assert list(sc.offences)[-1] == "honour_based_abuse"
    base = run_replication(small(baseline), 0, SEED).cases
    more = run_replication(small(sc), 0, SEED).cases
    assert (more["offence"] == "honour_based_abuse").sum() > 100
    for name in baseline.offences:
        # first reports (further incidents against a victim happen or not as the shared services
        # she meets are busier or not: their draws are unchanged, whether they happen is not; an
        # agency's MARAC referral is reported, if at all, at its hearing)
        b = base[(base["offence"] == name) & (base["repeat_incident"] == 0) & (base["agency_referral"] == 0)]
        m = more[(more["offence"] == name) & (more["repeat_incident"] == 0) & (more["agency_referral"] == 0)]
        assert np.array_equal(b["t_incident"].to_numpy(), m["t_incident"].to_numpy())
        assert np.array_equal(b["t_report"].to_numpy(), m["t_report"].to_numpy())
        assert np.array_equal(b["borough"].to_numpy(), m["borough"].to_numpy())


def test_any_class_name_runs_through_the_cli_and_its_figures(tmp_path):
    raw = yaml.safe_load(BASELINE.read_text())
    child = tmp_path / "hba.yaml"
    child.write_text(f"extends: {BASELINE}\nname: hba\n" + yaml.safe_dump({"offences": {"honour_based_abuse": raw["offences"]["rape"]}}, sort_keys=False))
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", str(child), "--reps", "1", "--scale", "0.03", "--years", "0.5", "--warmup-years", "0.5", "--jobs", "1", "--quiet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "honour_based_abuse" in result.output
    assert (out / "figures" / "funnel.png").stat().st_size > 1000


@pytest.mark.parametrize(("name", "expected"), [("all", "'all' is reserved"), ("Bad Name", "should match pattern")])
def test_class_names_and_the_reserved_total_are_checked(tmp_path, name, expected):
    bad = baseline_copy(tmp_path, extra="")
    data = yaml.safe_load(bad.read_text())
    data["offences"][name] = data["offences"]["rape"]
    bad.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ScenarioError) as err:
        load_scenario(bad)
    assert str(bad) in str(err.value) and "offences" in str(err.value) and expected in str(err.value)


# --------------------------------------------------------------------------- cases without a victim


def test_a_class_without_a_victim_never_withdraws(baseline):
    sc = small(variant(baseline, {"offences.domestic_abuse.withdrawal": None}))
    out = run_replication(sc, 0, SEED)
    da = out.cases[out.cases["offence"] == "domestic_abuse"]
    assert len(da) > 1000
    assert not da["exit"].isin([Exit.WITHDREW_PRE_CHARGE, Exit.RETRACTION_POST_CHARGE]).any()
    assert da["t_withdrawal"].isna().all()
    assert (da["exit"] == Exit.CONVICTED).sum() > 0
    rape = out.cases[out.cases["offence"] == "rape"]
    assert (rape["exit"] == Exit.WITHDREW_PRE_CHARGE).sum() > 0  # the other classes keep theirs


def test_support_cannot_raise_the_withdrawal_hazard(tmp_path):
    result = CliRunner().invoke(main, ["check", str(BASELINE), "--set", "support.effect.hr_withdrawal=3.0"])
    assert result.exit_code == 2
    assert "support.effect.hr_withdrawal" in result.output and "less than or equal to 1" in result.output


# --------------------------------------------------------------------------- the stage contract


def test_routes_are_bound_from_the_stages_entries(baseline):
    world = World(small(baseline), 0, SEED)
    assert world.routes == {
        "reporting.recorded": ["repeats", "support", "marac", "refuges", "police", "programmes"],
        "police.referred": ["charging"],
        "charging.charged": ["support", "courts"],  # advocacy hears of the charge; the courts take the case
        "courts.convicted": ["sentencing", "programmes"],  # the sentence is known before a programme referral
        "courts.listed_sdvc": ["support"],
        "marac.heard": ["support", "programmes"],
        "reporting.agency_referral": ["marac"],  # a victim the police do not know of, referred by another agency
        "marac.third_party_report": ["repeats", "police"],  # her disclosure recorded as a crime at the hearing
    }


def test_a_pathway_without_sentencing_imposes_no_custody(baseline):
    sc = small(variant(baseline, {"pathway": ["reporting", "support", "police", "charging", "courts"]}))
    out = run_replication(sc, 0, SEED)
    assert (out.cases["exit"] == Exit.CONVICTED).sum() > 0
    assert "custody_years" not in out.cases


def test_an_unknown_stage_is_a_scenario_error(baseline):
    with pytest.raises(ScenarioError) as err:
        variant(baseline, {"pathway": ["reporting", "police", "triage"]})
    assert err.value.problems[0].path == "pathway.2"


def test_a_new_stage_plugs_in_without_touching_kpis_costs_or_the_monitor(baseline):
    """A small stage defined here: its draws, columns, series, KPIs and cost line all appear."""

    @register
    class VictimContact(Stage):
        name = "victim_contact_test"
        entries = ("police.referred",)
        uniforms = ("u_contact",)
        columns = {"t_contacted": ("d", float("nan"))}

        def take(self, i):
            if self.world.cases.u_contact[i] < 0.5:
                self.world.cases.t_contacted[i] = self.world.env.now

        def snapshot(self):
            yield "victim_contact_test_calls", 1.0

        @classmethod
        def catalogue(cls, scenario):
            return [Metric("contacts", "Victims contacted a year", "a year"), Metric("cost_contact", "Contact cost a year, £", "£ a year")]

        @classmethod
        def kpis(cls, scenario, output, start, end):
            t = output.cases["t_contacted"]
            return [("contacts", "all", float(((t >= start) & (t < end)).sum()))]

        @classmethod
        def costs(cls, scenario, get):
            return {"cost_contact": ("delivery", 10.0 * get("contacts"))}

    try:
        plain = small(baseline)
        sc = variant(plain, {"pathway": [*plain.pathway, "victim_contact_test"]})
        from simcj.experiment.catalogue import metric_names
        from simcj.experiment.kpis import replication_kpis

        out = run_replication(sc, 0, SEED)
        before = run_replication(plain, 0, SEED)
        assert out.cases["t_contacted"].notna().sum() > 0
        assert (out.timeseries["series"] == "victim_contact_test_calls").any()
        k = replication_kpis(out, sc).set_index(["metric", "offence", "group"])["value"]
        assert k[("cost_contact", "all", "all")] == 10.0 * k[("contacts", "all", "all")] > 0
        assert {"contacts", "cost_contact"} <= metric_names(sc)
        # its stream is its own: every other case history is unchanged
        pd.testing.assert_frame_equal(before.cases, out.cases.drop(columns=["t_contacted"]))
    finally:
        REGISTRY.pop("victim_contact_test", None)


def test_two_stages_cannot_own_a_case_column_of_the_same_name():
    """A uniform shared by two stages would tie two decisions to one draw; registering refuses it,
    and the shipped stages own their columns apart."""
    import importlib
    import pkgutil

    from simcj.engine.stage import PATHWAYS

    for package in PATHWAYS:
        for module in pkgutil.iter_modules(importlib.import_module(package).__path__):
            importlib.import_module(f"{package}.{module.name}")  # every shipped stage registers
    with pytest.raises(TypeError, match="u_custody"):

        @register
        class Twin(Stage):
            name = "twin_test"
            uniforms = ("u_custody",)  # the sentencing stage's

    assert "twin_test" not in REGISTRY
