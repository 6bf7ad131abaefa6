"""The women's pathway: its decisions, its time rules, a woman's story from her trace, and its runs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from simcj.cli import main
from simcj.engine.cases import Exit
from simcj.engine.world import run_replication
from simcj.experiment.kpis import replication_kpis
from simcj.experiment.uncertainty import uncertain_parameters
from simcj.report.trace import trace_output
from simcj.scenario import ScenarioError, load_scenario, scaled
from simcj.scenario.variants import variant, with_run
from simcj.women import custody_suite, probation, womens_courts
from simcj.women.table import hr_from_pp, needs_mask, proven_reoffending
from simcj.women.womens_centres import choose_service

from .conftest import ROOT, load_corrupted, setting_paths

WOMEN = ROOT / "scenarios" / "women"
SHIPPED = sorted(WOMEN.glob("*.yaml"))


@pytest.fixture(scope="module")
def women_baseline():
    return load_scenario(WOMEN / "baseline.yaml")


@pytest.fixture(scope="module")
def small(women_baseline):
    """A fifth of London, one year of warm-up and two measured."""
    return scaled(with_run(women_baseline, warmup_years=1.0, years=2.0), 0.2)


@pytest.fixture(scope="module")
def run(small):
    return run_replication(small, 0, 7)


# ---------------------------------------------------------------------------------------- files


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_number_of_the_womens_scenarios_has_a_source(path):
    sc = load_scenario(path)
    plain = sc.model_dump(by_alias=True)["women"]

    def numeric(node, prefix):
        if isinstance(node, bool):
            return
        if isinstance(node, (int, float)):
            yield prefix
        elif isinstance(node, dict):
            for k, v in node.items():
                yield from numeric(v, f"{prefix}.{k}")

    missing = [p for p in numeric(plain, "women") if p not in sc.sources]
    assert not missing, missing[:10]
    assert path.read_text().startswith("#")


def test_the_womens_stages_need_their_section_and_londons_boroughs(tmp_path):
    bad = tmp_path / "no_women.yaml"
    bad.write_text(f"extends: {ROOT / 'scenarios' / 'baseline.yaml'}\nname: x\npathway: [arrests, custody_suite]\nperformance: {{}}\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(bad)
    assert any(p.path == "women" and "women: section" in p.message for p in info.value.problems)
    with pytest.raises(ScenarioError) as info:
        load_scenario(WOMEN / "baseline.yaml", ["women.services.wraparound.boroughs=[Atlantis]"])
    assert any("Atlantis" in p.message and p.path == "women.services.wraparound.boroughs" for p in info.value.problems)
    with pytest.raises(ScenarioError) as info:
        load_scenario(WOMEN / "baseline.yaml", ["women.needs.gambling=0.1"])
    assert any("gambling" in p.message for p in info.value.problems)


def test_an_option_cannot_redraw_the_women_at_its_date(tmp_path):
    path = tmp_path / "more.yaml"
    path.write_text(f"extends: {WOMEN / 'baseline.yaml'}\nname: more\nrun: {{intervention_years: 2}}\nwomen: {{arrests_per_year: 12000}}\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert any(p.path == "women.arrests_per_year" for p in info.value.problems)


# ---------------------------------------------------------------------------------------- decisions


def test_police_disposal(women_baseline):
    p = women_baseline.women.custody_suite
    assert custody_suite.disposal(p, True, 0.0, 0.0) == custody_suite.NFA
    assert custody_suite.disposal(p, True, p.p_nfa + 1e-9, 0.0) == custody_suite.OUT_OF_COURT
    charged = p.p_nfa + p.p_out_of_court + 1e-9
    assert custody_suite.disposal(p, True, charged, 0.0) == custody_suite.CONDITIONAL_CAUTION
    assert custody_suite.disposal(p, False, charged, 0.0) == custody_suite.CHARGE  # no scheme in her borough
    assert custody_suite.disposal(p, True, charged, p.p_eligible_for_diversion) == custody_suite.CHARGE  # not eligible


def test_sentence_and_the_cusp_of_custody(women_baseline):
    p = women_baseline.women.courts
    assert womens_courts.sentence(p, True, 1.0, p.p_custody_remanded - 1e-9, 0.0, 0.0) == womens_courts.CUSTODY
    assert womens_courts.sentence(p, False, 1.0, p.p_custody_remanded - 1e-9, 0.0, 0.0) == womens_courts.SUSPENDED
    # halving custody (a problem-solving court) moves the upper half of the custody draws to a community order
    assert womens_courts.sentence(p, False, 0.5, p.p_custody_bailed * 0.75, 0.9, 0.9) == womens_courts.CUSP
    assert womens_courts.sentence(p, False, 0.5, p.p_custody_bailed * 0.25, 0.9, 0.9) == womens_courts.CUSTODY
    less = p.model_copy(update={"custody_reduction": 0.2})
    assert womens_courts.sentence(less, False, 1.0, p.p_custody_bailed * 0.9, 0.9, 0.9) == womens_courts.CUSP
    assert womens_courts.sentence(p, False, 1.0, 0.99, 0.99, 0.99) == womens_courts.OTHER


def test_the_blueprints_worked_example_of_release_on_licence():
    """Seed 003 L979: 'a custodial sentence of six months will be released at three months and spend
    the remaining three months on licence'; post-sentence supervision to 12 months after release (L983)."""
    six_months = 182.0
    release = probation.release_day(100.0, six_months, 0.0, 0.5)
    end = probation.sentence_end(100.0, six_months, 0.0)
    assert release == pytest.approx(100.0 + 91.0)
    assert end - release == pytest.approx(91.0)
    assert probation.supervision_end(release, end, six_months, 365.0) == pytest.approx(release + 365.0)
    # time on remand counts towards the halfway point
    assert probation.release_day(100.0, six_months, 30.0, 0.5) == pytest.approx(100.0 + 61.0)
    # two years or more: licence to the end of the sentence, no post-sentence supervision
    assert probation.supervision_end(500.0, 1000.0, 800.0, 365.0) == 1000.0
    assert probation.fixed_term_days(300.0) == 14.0 and probation.fixed_term_days(400.0) == 28.0


def test_the_centre_effect_in_percentage_points():
    assert hr_from_pp(0.0, 0.28) == pytest.approx(1.0)
    hrs = [hr_from_pp(pp, 0.28) for pp in (1, 4, 9)]
    assert hrs == sorted(hrs, reverse=True) and 0 < hrs[-1] < 1
    # the hazard ratio gives back the percentage points over a year at the comparison rate
    lam = -math.log1p(-0.28)
    assert 1 - math.exp(-lam * hr_from_pp(4.0, 0.28)) == pytest.approx(0.24)


def test_needs_are_drawn_at_their_prevalence():
    u = np.random.default_rng(1).random((200_000, 6))
    mask = needs_mask(u, {"da_victim": 0.57, "housing": 0.38})
    assert (mask & 1).astype(bool).mean() == pytest.approx(0.57, abs=0.005)
    assert ((mask >> 4) & 1).astype(bool).mean() == pytest.approx(0.38, abs=0.005)
    assert not ((mask >> 1) & 1).any()  # a need with no prevalence given


def test_a_referral_goes_to_the_first_service_covering_her_borough_and_route(women_baseline):
    services = list(women_baseline.women.services.items())
    assert choose_service(services, "Camden", "release") == "minerva_crc"
    assert choose_service(services, "Camden", "liaison_diversion") == "wraparound"
    assert choose_service(services, "Camden", "conditional_caution") == "diversion_scheme"
    assert choose_service(services, "Bromley", "release") is None  # one of the seven boroughs with none


def test_proven_reoffending_counts_a_proven_offence_within_12_months_of_the_index():
    frame = pd.DataFrame({
        "row": [0, 1, 2, 3, 4],
        "woman": [1, 1, 2, 2, 3],
        "t_arrest": [0.0, 300.0, 0.0, 500.0, 0.0],
        "exit": [Exit.OUT_OF_COURT, Exit.CONVICTED, Exit.OUT_OF_COURT, Exit.CONVICTED, Exit.NFA],
        "t_exit": [10.0, 320.0, 10.0, 520.0, 5.0],
        "t_sentence": [np.nan, 320.0, np.nan, 520.0, np.nan],
        "t_release": [np.nan] * 5,
        "sentence": pd.Categorical(["", "fine or discharge", "", "fine or discharge", ""]),
    })  # fmt: skip
    out = proven_reoffending(frame, 0.0, 100.0).set_index("woman")["reoffended"]
    assert out.to_dict() == {1: True, 2: False}  # woman 2's next offence came after 12 months; woman 3 had no disposal


# ---------------------------------------------------------------------------------------- a run


def test_every_arrest_ends_once_and_the_kpis_have_their_breakdowns(run, small):
    cases = run.stage_data["arrests"]["cases"]
    assert len(cases) > 1000
    assert set(cases["exit"].unique()) <= {Exit.OPEN, Exit.NFA, Exit.OUT_OF_COURT, Exit.DIVERTED, Exit.ACQUITTED, Exit.CONVICTED}
    closed = cases["exit"] != Exit.OPEN
    assert (cases.loc[closed, "t_exit"] >= cases.loc[closed, "t_arrest"]).all()
    custody = cases["sentence"].astype(str) == womens_courts.CUSTODY
    assert (cases.loc[custody, "exit"] == Exit.CONVICTED).all() and (cases.loc[custody, "custodial_days"] > 0).all()
    kpis = replication_kpis(run, small)
    mine = kpis[kpis["offence"] == "women_offenders"]
    for metric in ("arrests", "diverted", "conditional_cautions", "charged", "remanded", "remanded_not_custody_share", "sentenced_custody",
                   "short_custody_share", "community_orders", "reoffending_12m", "recalls", "womens_centre_referrals",
                   "womens_centre_wait_days_mean", "prison_places_used", "cost_delivery", "cost_consequence"):  # fmt: skip
        assert (mine["metric"] == metric).any(), metric
    groups = set(mine.loc[mine["metric"] == "arrests", "group"])
    assert {"borough=Camden", "ethnicity=White", "need=substance_use"} <= groups
    assert (kpis["offence"] == "women_offenders").all()  # the VAWG pathway does not run


def test_release_and_recall_follow_the_rules_for_every_woman(run):
    cases = run.stage_data["arrests"]["cases"].set_index("row")
    events = run.stage_data["arrests"]["events"]
    released = cases[cases["t_release"].notna()]
    assert len(released) > 50
    remand = np.where(released["remanded"] == 1, released["t_sentence"] - released["t_charge"], 0.0)
    expected = released["t_sentence"] + np.maximum(0.0, 0.5 * released["custodial_days"] - remand)
    assert np.allclose(released["t_release"], expected)
    recalls = events[events["event"] == "recalled"]
    assert len(recalls) > 5
    for row, day in zip(recalls["row"], recalls["day"]):
        c = cases.loc[row]
        end = c["t_sentence"] + max(0.0, c["custodial_days"] - (c["t_sentence"] - c["t_charge"] if c["remanded"] else 0.0))
        assert c["t_release"] <= day < end + 1e-9  # recalled only on licence, never on PSS
    fixed = events[(events["event"] == "recalled") & events["detail"].str.startswith("fixed-term")]
    assert len(fixed) > 5
    for row, day, days in zip(fixed["row"], fixed["day"], fixed["detail"].str.extract(r"(\d+) days")[0].astype(float)):
        c = cases.loc[row]
        end = c["t_sentence"] + max(0.0, c["custodial_days"] - (c["t_sentence"] - c["t_charge"] if c["remanded"] else 0.0))
        rule = 14.0 if c["custodial_days"] < 365.0 else 28.0
        assert days == rule or (days < rule and abs(day + days - end) <= 0.5)  # never past the end of her sentence


def test_no_woman_is_arrested_while_she_is_in_prison(run):
    cases = run.stage_data["arrests"]["cases"]
    spells = run.stage_data["arrests"]["spells"]
    prison = spells[spells["spell"] == "prison"].merge(cases[["row", "woman"]], on="row")
    arrests = cases[["woman", "t_arrest"]]
    both = prison.merge(arrests, on="woman")
    inside = (both["t_arrest"] > both["start"] + 1e-9) & (both["t_arrest"] < both["until"] - 1e-9)
    assert not inside.any()


def test_same_seed_same_women_and_another_seed_others(small, run):
    again = run_replication(small, 0, 7).stage_data["arrests"]["cases"]
    pd.testing.assert_frame_equal(again, run.stage_data["arrests"]["cases"])
    other = run_replication(small, 0, 8).stage_data["arrests"]["cases"]
    assert len(other) != len(again) or not np.allclose(other["t_arrest"], again["t_arrest"])


def test_before_its_date_an_option_sees_the_bases_women(small):
    option = scaled(with_run(load_scenario(WOMEN / "custody_minus_20.yaml"), warmup_years=1.0, years=2.0), 0.2)
    base = run_replication(small, 0, 7).stage_data["arrests"]["events"]
    alt = run_replication(option, 0, 7).stage_data["arrests"]["events"]
    day = option.intervention_day()
    assert day == pytest.approx(365.0)
    pd.testing.assert_frame_equal(base[base["day"] < day].reset_index(drop=True), alt[alt["day"] < day].reset_index(drop=True))
    assert not base[base["day"] >= day].reset_index(drop=True).equals(alt[alt["day"] >= day].reset_index(drop=True))


def test_uncertainty_varies_the_womens_parameters_and_not_the_vawg_ones(women_baseline):
    paths = {p.path for p in uncertain_parameters([women_baseline])}
    assert "women.reoffending.centre_effect_pp" in paths
    assert not any(p.startswith(("offences.", "courts.", "police.", "support.")) for p in paths)


# ---------------------------------------------------------------------------------------- a woman's story


@pytest.fixture(scope="module")
def aisha(women_baseline):
    """A run where a woman like Aisha (the Blueprint's composite, seed 003 L146-170: domestic abuse,
    mental health and alcohol, children taken into care, unsettled housing) can be followed through
    every stage: everyone is screened, custody and recall are likelier than in London."""
    sc = scaled(with_run(women_baseline, warmup_years=1.0, years=2.0), 0.2)
    sc = variant(sc, {
        "women.custody_suite.p_ld_screened": 1.0,
        "women.courts.p_custody_bailed": 0.5,
        "women.probation.recall_rate_per_year": 3.0,
    })  # fmt: skip
    output = run_replication(sc, 0, 11)
    cases = output.stage_data["arrests"]["cases"]
    needs = ("need_da_victim", "need_mental_health", "need_substance_use", "need_dependent_children", "need_housing")
    like_her = cases[cases[list(needs)].all(axis=1) & cases["t_first_recall"].notna()]
    later = cases.groupby("woman")["t_arrest"].max()
    like_her = like_her[later.reindex(like_her["woman"]).to_numpy() > like_her["t_release"].to_numpy()]
    assert len(like_her) > 0, "no woman like Aisha was recalled and arrested again"
    row = int(like_her.iloc[0]["row"])
    return sc, output, row


def test_a_womans_story_visits_each_stage_in_order_with_the_right_time_rules(aisha):
    sc, output, row = aisha
    trace = trace_output(sc, output, row)
    mine = trace[trace["case"] == row].reset_index(drop=True)
    events = list(mine["event"])
    order = ["arrest", "liaison and diversion", "police decision", "charged", "first hearing", "sentence", "released", "recalled"]
    positions = [events.index(e) for e in order]
    assert positions == sorted(positions), events
    first = {e: float(mine.loc[mine["event"] == e, "day"].iloc[0]) for e in order}
    c = output.stage_data["arrests"]["cases"].set_index("row").loc[row]
    remand = first["sentence"] - first["charged"] if c["remanded"] else 0.0
    assert first["released"] == pytest.approx(first["sentence"] + max(0.0, 0.5 * c["custodial_days"] - remand))
    assert first["liaison and diversion"] == first["arrest"]  # screened in custody, at arrest
    assert first["charged"] == first["police decision"]
    # her reoffending comes back as a new arrest of the same woman, after her release
    others = trace[(trace["case"] != row) & (trace["event"] == "arrest")]
    assert (others["day"] > first["released"]).any()


def test_cli_trace_prints_a_womans_path_and_refuses_an_unknown_case():
    runner = CliRunner()
    args = ["trace", str(WOMEN / "baseline.yaml"), "--scale", "0.05", "--warmup-years", "0.5", "--years", "0.5"]
    result = runner.invoke(main, [*args, "--case", "3"])
    assert result.exit_code == 0, result.output
    assert "arrest" in result.output and "police decision" in result.output
    result = runner.invoke(main, [*args, "--case", "99999999"])
    assert result.exit_code == 2 and "Traceback" not in result.output and "--case" in result.output


def test_cli_trace_follows_a_vawg_case_too():
    result = CliRunner().invoke(main, ["trace", str(ROOT / "scenarios" / "baseline.yaml"), "--case", "10", "--scale", "0.02", "--warmup-years", "0.5", "--years", "0.5"])
    assert result.exit_code == 0, result.output
    assert "reported to the police" in result.output and "case closed" in result.output


# ---------------------------------------------------------------------------------------- validation


def test_validate_the_womens_pathway_against_its_own_targets(tmp_path):
    import json

    out = tmp_path / "v.json"
    args = ["validate", str(WOMEN / "baseline.yaml"), "--scale", "0.2", "--reps", "2", "--jobs", "1", "--json", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code in (0, 1), result.output
    data = json.loads(out.read_text())
    assert {t["offence"] for t in data["targets"]} == {"women_offenders"}
    assert {t["id"] for t in data["targets"]} >= {"T50", "T52", "T53", "T54", "T55", "T56", "T57", "T58"}
    assert [c["name"] for c in data["checks"]] == ["littles_law_womens_services", "conservation_women"]
    assert all(c["passed"] for c in data["checks"]), data["checks"]


def test_the_womens_checks_fail_on_broken_accounting(run):
    from simcj.calibrate.checks import women_conservation, women_littles_law

    assert women_conservation(run).passed and women_littles_law(run).passed
    data = dict(run.stage_data["arrests"])
    cases = data["cases"].copy()
    spells = data["spells"]
    inside = spells[spells["spell"] == "prison"].iloc[0]
    woman = cases.loc[cases["row"] == inside["row"], "woman"].iloc[0]
    extra = cases[cases["woman"] == woman].iloc[[0]].assign(row=-1, t_arrest=(inside["start"] + inside["until"]) / 2)
    broken = type(run)(**{**run.__dict__, "stage_data": {**run.stage_data, "arrests": {**data, "cases": pd.concat([cases, extra])}}})
    assert not women_conservation(broken).passed
    ts = run.timeseries.copy()
    busy = ts["series"] == "wraparound_busy"
    ts.loc[busy, "value"] = ts.loc[busy, "value"] * 1.5
    assert not women_littles_law(type(run)(**{**run.__dict__, "timeseries": ts})).passed


RAW_WOMEN = yaml.safe_load((WOMEN / "baseline.yaml").read_text())
WOMEN_LEAVES = list(setting_paths(RAW_WOMEN["women"], ("women",)))
JUNK = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True), st.text(max_size=5), st.lists(st.text(max_size=4), max_size=2))


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(WOMEN_LEAVES), JUNK)
def test_any_corrupted_womens_setting_gives_a_clear_error_or_a_valid_scenario(tmp_path_factory, path, junk):
    """Hypothesis: whatever one setting of the women's pathway becomes, loading ends in a valid
    scenario or a ScenarioError naming the file (never another exception)."""
    data = {**RAW_WOMEN, "extends": str(ROOT / "scenarios" / "baseline.yaml")}
    f, exc = load_corrupted(data, path, junk, tmp_path_factory.mktemp("w"))
    if exc is not None:
        assert exc.problems and all(p.message for p in exc.problems)
        assert any(p.file == str(f) for p in exc.problems)


# ---------------------------------------------------------------------------------------- review fixes


def test_a_conditional_caution_is_complied_with_exactly_when_she_engages(run):
    cases = run.stage_data["arrests"]["cases"]
    cautioned = cases[cases["disposal"].astype(str).str.startswith("conditional caution")]
    assert len(cautioned) > 5
    diverted = cautioned["exit"] == Exit.DIVERTED
    assert (cautioned.loc[diverted, "engaged"] == 1).all()
    breached = cautioned["disposal"].astype(str) == "conditional caution, not complied with"
    assert (cautioned.loc[breached, "engaged"] == 0).all() and breached.any()


def test_the_problem_solving_court_holds_places_only_for_the_orders_it_reviews(women_baseline):
    sc = scaled(with_run(load_scenario(WOMEN / "problem_solving_court.yaml"), warmup_years=1.0, years=2.0), 0.5)
    cases = run_replication(sc, 0, 3).stage_data["arrests"]["cases"]
    psc = cases[cases["problem_solving_court"] == 1]
    orders = np.sort(psc.loc[psc["sentence"].astype(str) != womens_courts.CUSTODY, "t_sentence"].to_numpy())
    places = round(sc.women.courts.problem_solving_court.places)
    review = sc.women.courts.problem_solving_court.review_days
    assert len(orders) > places
    under_review = np.searchsorted(orders, orders, side="right") - np.searchsorted(orders, orders - review, side="right")
    assert under_review.max() <= places


def test_sensitivity_runs_within_its_range_draw_the_same_candidate_arrests(small):
    from simcj.engine.world import World

    assert math.isclose(small.sources["women.reoffending.hr_supervised"].high, 1.2)
    base = World(small, 0, 7).women
    moved = World(variant(small, {"women.reoffending.hr_supervised": 1.1}), 0, 7).women
    assert base.n == moved.n and base.t_arrest == moved.t_arrest and base.u_occurs == moved.u_occurs


def test_a_womans_overlapping_spells_count_once():
    spells = pd.DataFrame({"woman": [1, 1, 2], "start": [0.0, 50.0, 10.0], "until": [100.0, 150.0, 20.0]})
    assert probation.woman_days(spells, 0.0, 365.0) == 160.0
    assert probation.woman_days(spells, 60.0, 120.0) == 60.0


def test_every_borough_named_by_the_blueprint_has_its_services(women_baseline):
    services = list(women_baseline.women.services.items())
    none = ["Barnet", "Bexley", "Bromley", "Kingston upon Thames", "Merton", "Richmond upon Thames", "Tower Hamlets"]
    for borough in women_baseline.population.borough:
        assert (choose_service(services, borough, "release") is None) == (borough in none), borough


def test_a_sweep_of_the_womens_pathway_reports_its_own_kpis(tmp_path):
    out = tmp_path / "sweep"
    args = ["sweep", str(WOMEN / "baseline.yaml"), "--vary", "women.reoffending.centre_effect_pp=1:9:2", "--reps", "2", "--scale", "0.1",
            "--warmup-years", "1", "--years", "2", "--jobs", "1", "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "rearrests" in result.output and "reoffenders_12m" in result.output
    summary = pd.read_csv(out / "summary.csv")
    rearrests = summary[(summary["metric"] == "rearrests") & (summary["group"] == "all")].sort_values("point")["mean"].to_numpy()
    assert len(rearrests) == 2 and rearrests[1] <= rearrests[0]  # a larger centre effect never adds arrests on the same draws
