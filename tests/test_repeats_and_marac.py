"""Repeat victimisation, MARAC, perpetrator programmes and the borough performance table."""

from __future__ import annotations

import math
from array import array

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from simcj.cli import main
from simcj.engine import arrivals
from simcj.engine.cases import Exit
from simcj.engine.withdrawal import WithdrawalClock
from simcj.engine.world import World, run_replication
from simcj.experiment import performance
from simcj.scenario import ScenarioError, load_scenario, scaled, variant, with_run
from simcj.scenario.schema import Indicator
from simcj.vawg import marac, programmes, repeats

from .conftest import BASELINE, ROOT

SEED = 20261122
YEAR = 365.0


def small(sc, scale=0.1, years=1.0, warmup=1.5):
    return scaled(with_run(sc, years=years, warmup_years=warmup), scale)


@pytest.fixture(scope="module")
def world(baseline):
    """A run of a tenth of London, kept with its world so that the stages' state can be asked."""
    w = World(small(baseline), 0, SEED)
    output = w.run()
    return w, output


# --------------------------------------------------------------------------- decisions


def test_thinning_keeps_a_candidate_with_probability_hr_over_cap():
    assert arrivals.happens(0.8, 1.0, 0.79) and not arrivals.happens(0.8, 1.0, 0.81)
    assert arrivals.happens(1.0, 1.3, 0.76) and not arrivals.happens(1.0, 1.3, 0.78)  # 1 / 1.3 = 0.769
    assert not arrivals.happens(0.0, 1.0, 0.0)  # in custody: nothing happens


def test_the_cap_is_the_largest_product_the_hazard_ratios_allow(baseline):
    rp = baseline.offences["domestic_abuse"].repeat.model_copy(update={"rr_report_supported": 1.0})
    assert repeats.hazard_ratio_cap([(rp, [0.8])]) == pytest.approx(max(1.0, *rp.hr_by_risk.values()))
    up = rp.model_copy(update={"hr_arrested": 1.3, "hr_supported": 1.1, "rr_report_supported": 1.5})
    assert repeats.hazard_ratio_cap([(up, [1.2])]) == pytest.approx(1.3 * max(1.0, *rp.hr_by_risk.values()) * 1.1 * 1.5 * 1.2)


def test_a_course_of_abuse_has_the_rate_and_length_it_is_given(baseline):
    rp = baseline.offences["domestic_abuse"].repeat.model_copy(update={"rate_per_year": 2.0, "course_years": 0.5, "rate_cv": 0.0})
    rng = np.random.default_rng(1)
    t_first = np.zeros(50_000)
    victim, t = arrivals.recurrent_events(rng, t_first, rp, 1.5, 1e9)
    assert victim.size / t_first.size == pytest.approx(2.0 * 1.5 * 0.5, rel=0.03)  # rate x cap x mean length
    assert (t >= 0).all()
    frail = rp.model_copy(update={"rate_cv": 1.5})
    v2, _ = arrivals.recurrent_events(np.random.default_rng(1), t_first, frail, 1.0, 1e9)
    counts = np.bincount(v2, minlength=t_first.size)
    assert counts.mean() == pytest.approx(1.0, rel=0.05)  # the frailty has mean 1 ...
    assert counts.var() > 3 * counts.mean()  # ... and spreads the repeats over few victims


def test_release_from_custody_is_at_the_share_served():
    assert repeats.custody_until(100.0, 1.0, 0.5) == pytest.approx(100.0 + 182.5)


def test_marac_hears_a_fractional_capacity_on_average():
    heard = [marac.cases_heard(2.5, k) for k in range(10)]
    assert sum(heard) == 25 and set(heard) == {2, 3}


def test_marac_refers_by_risk_and_repeats_whatever_the_risk(baseline):
    p = baseline.marac
    assert marac.is_referred(p, "high", False, 0.5) and not marac.is_referred(p, "medium", False, 0.5)
    assert marac.is_referred(p, "standard", True, 0.99)  # heard in the last 12 months


def test_a_disclosure_is_recorded_as_a_third_party_report_by_its_own_draw(baseline):
    p = baseline.marac.model_copy(update={"p_third_party_report": 0.4})
    assert marac.is_third_party_report(p, 0.39) and not marac.is_third_party_report(p, 0.41)


def test_a_restarted_clock_runs_from_the_new_report_time_at_the_new_hazard():
    """A crime recorded from a third-party report: the victim's clock starts at the record, her
    hazard f times the baseline, so she withdraws when f x H0(tau) reaches her draw E."""
    t_report = array("d", [10.0])
    clock = WithdrawalClock(t_report, np.array([0.7]), [0], [0.8], [100.0])
    clock.scale_hazard(0, 12.0, 0.5)  # support before the record: replaced by the restart's factor
    t_report[0] = 40.0
    clock.restart(0, 0.7, 2.0)
    assert clock.time(0) == pytest.approx(40.0 + 100.0 * (0.7 / 2.0) ** (1 / 0.8))


def test_programme_choice_stacks_the_shares_of_the_programmes(baseline):
    dvip = baseline.programmes["dvip"]
    drive = dvip.model_copy(update={"p_referral": {"report": 0.1}})
    both = [("dvip", dvip), ("drive", drive)]
    share = dvip.p_referral["report"]
    assert programmes.choose_programme(both, "report", share - 1e-9) == "dvip"
    assert programmes.choose_programme(both, "report", share + 0.05) == "drive"
    assert programmes.choose_programme(both, "report", share + 0.2) is None
    assert programmes.choose_programme(both, "conviction", 0.0) is None


def test_a_drop_out_holds_a_place_for_part_of_the_programme(baseline):
    p = baseline.programmes["dvip"]
    completes, days = programmes.days_attended(p, 0.0, 0.5, 0.25)
    assert completes and days == pytest.approx(p.duration.ppf(np.array([0.5]))[0])
    completes, short = programmes.days_attended(p, 0.99, 0.5, 0.25)
    assert not completes and short == pytest.approx(days * 0.25)


def test_rag_and_direction_of_travel_follow_the_havering_rules():
    ind = Indicator(metric="marac_repeat_rate", target=0.28, tolerance=0.02, better="higher")
    assert performance.rag(ind, 0.27, "worse") == "Green"  # within tolerance
    assert performance.rag(ind, 0.24, "better") == "Amber"  # off target, improved
    assert performance.rag(ind, 0.24, "same") == "Amber"  # off target, maintained
    assert performance.rag(ind, 0.24, "worse") == "Red"  # off target, not improved
    assert performance.direction(ind, 0.01, 0.03) == "better"
    assert performance.direction(ind, -0.03, 0.01) == "same"  # the change's CI holds no change
    lower = Indicator(metric="x", target=10, tolerance=1, better="lower")
    assert performance.direction(lower, 0.5, 1.0) == "worse" and performance.rag(lower, 12, "worse") == "Red"
    assert performance.direction(ind, math.nan, math.nan) == ""


# --------------------------------------------------------------------------- the stages in a run


def test_did_not_occur_is_in_no_output_and_repeats_link_to_their_victim(world):
    w, out = world
    cases = out.cases
    assert not (cases["exit"] == Exit.NOT_OCCURRED).any()
    da = cases[(cases["offence"] == "domestic_abuse") & ~cases["exit"].isin([Exit.NOT_RECORDED, Exit.NOT_REPORTED])].sort_values("t_report")
    repeat = da[da["repeat_incident"] == 1]
    assert len(repeat) > 0.15 * len(da)
    # a victim's cases are chained in report order, both ways
    previous = da.groupby("victim")["t_report"].shift(1)
    linked = da["t_previous_report"].notna()
    assert np.allclose(da.loc[linked, "t_previous_report"], previous[linked])
    following = da.groupby("victim")["t_report"].shift(-1)
    assert np.allclose(da.loc[da["t_next_report"].notna(), "t_next_report"], following[da["t_next_report"].notna()])
    # a first report is never a repeat (a third-party report may follow her own report of a later
    # incident made while she waited for the meeting); other classes have one case a victim
    assert not ((da["repeat_incident"] == 0) & (da["agency_referral"] == 0) & linked).any()
    rape = cases[cases["offence"] == "rape"]
    assert rape["victim"].is_unique and (rape["repeat_incident"] == 0).all()


def test_a_victim_has_no_further_incident_while_her_abuser_is_in_custody(world):
    w, out = world
    cases = out.cases
    share = w.scenario.costs.share_of_sentence_served
    inside = cases[(cases["exit"] == Exit.CONVICTED) & (cases["custody_years"] > 0) & (cases["offence"] == "domestic_abuse")]
    assert len(inside) > 20
    da = cases[cases["offence"] == "domestic_abuse"]
    reports = da.groupby("victim")["t_report"].apply(np.asarray).to_dict()
    for victim, t_conv, years in inside[["victim", "t_exit", "custody_years"]].itertuples(index=False):
        release = repeats.custody_until(t_conv, years, share)
        assert not ((reports[victim] > t_conv) & (reports[victim] < release)).any()


def test_the_hazard_ratio_is_the_product_of_what_is_in_force(baseline):
    w = World(small(baseline), 0, SEED)
    w.start()
    w.advance(w.horizon)  # not finished: the case table keeps every row, as the stages index it
    stage, c = w.stages["repeats"], w.cases
    rp = w.scenario.offences["domestic_abuse"].repeat
    now = w.horizon
    da = list(w.scenario.offences).index("domestic_abuse")
    checked = 0
    for history in [h for h in stage._cases.values() if c.cls[h[-1]] == da][:3000]:
        j = history[-1]
        in_custody = any(c.exit[k] == Exit.CONVICTED and c.custody_years[k] > 0 and repeats.custody_until(c.t_exit[k], c.custody_years[k], stage._share_served) > now for k in history)
        expected = 0.0 if in_custody else rp.hr_by_risk.get(c.risk[j], 1.0) * (
            rp.hr_convicted if c.exit[j] == Exit.CONVICTED else rp.hr_charged if c.phase[j] == 2 else rp.hr_arrested if c.arrested[j] else 1.0
        ) * (rp.hr_supported if any(0 <= now - c.t_support_start[k] <= rp.effect_days for k in history) else 1.0) * (
            rp.hr_marac if any(0 <= now - c.t_marac[k] <= rp.effect_days for k in history) else 1.0
        ) * (min([stage._programme_hr[c.programme[k]] for k in history if c.programme_completed[k] and c.t_programme_end[k] <= now] or [1.0])) * (
            w.scenario.refuges.hr_repeat if any(c.t_refuge_start[k] <= now and not c.t_refuge_end[k] <= now for k in history) else 1.0
        )
        candidate = j  # any case of hers: the ratio depends on the victim, not the candidate
        supported = any(0 <= now - c.t_support_start[k] <= rp.effect_days for k in history)
        assert stage.hazard_ratio(candidate, now) == pytest.approx((expected, rp.rr_report_supported if supported and not in_custody else 1.0))
        checked += 1
    assert checked > 1000


def test_maracs_meet_on_their_dates_within_their_capacity(world):
    w, out = world
    cases = out.cases
    heard = cases[cases["t_marac"].notna()]
    assert len(heard) > 500
    assert (heard["t_marac_referral"] <= heard["t_marac"]).all()
    interval = YEAR / w.scenario.marac.meetings_per_year
    boroughs = list(w.scenario.population.borough)
    capacity = w.stages["marac"]._capacity
    for borough, group in heard.groupby("borough", observed=True):
        b = boroughs.index(borough)
        first = interval * (b + 1) / len(boroughs)
        meetings = (group["t_marac"] - first) / interval
        assert np.allclose(meetings, meetings.round(), atol=1e-6)  # only at the borough's meetings
        assert group.groupby("t_marac").size().max() <= math.ceil(capacity[b])
    # a repeat is a victim heard within the last 12 months
    heard = heard.sort_values("t_marac")
    last = heard.groupby("victim")["t_marac"].shift(1)
    assert ((heard["t_marac"] - last <= YEAR).fillna(False) == heard["marac_repeat"].astype(bool)).all()


def test_an_agency_referral_is_heard_and_is_recorded_or_closes_unreported(world):
    """Victims referred by other agencies, unknown to the police, come at their own volume; each is
    heard at MARAC, where the disclosure is recorded as a crime (a third-party report: reported at the
    hearing, then investigated) or no crime is recorded (closed, not reported, with no report time)."""
    w, out = world
    cases = out.cases
    sc = w.scenario
    from_agency = cases["agency_referral"] == 1
    agency = cases[from_agency]
    expected = sc.marac.agency_referrals_per_year["domestic_abuse"] * w.horizon / YEAR
    assert len(agency) == pytest.approx(expected, rel=0.1)
    assert (agency["offence"] == "domestic_abuse").all() and not agency["repeat_incident"].any()
    assert agency["victim"].is_unique  # a new victim each, whose later cases are her further incidents
    later = cases[~from_agency & cases["victim"].isin(agency["victim"])]
    assert len(later) > 0 and (later["repeat_incident"] == 1).all()
    first_referral = agency.set_index("victim")["t_marac_referral"].dropna()
    assert (later["t_incident"].to_numpy() >= first_referral.reindex(later["victim"]).fillna(-1).to_numpy()).all()
    heard = agency[agency["t_marac"].notna()]
    assert len(heard) > 0.9 * len(agency)
    waiting = agency[agency["t_marac"].isna()]  # still waiting at the horizon: open, not reported to the police
    assert (waiting["exit"] == Exit.OPEN).all() and waiting["t_report"].isna().all()
    recorded = heard[heard["third_party_report"]]
    unreported = heard[~heard["third_party_report"]]
    assert len(recorded) / len(heard) == pytest.approx(sc.marac.p_third_party_report, abs=0.05)
    assert (recorded["t_report"] == recorded["t_marac"]).all() and (recorded["exit"] != Exit.NOT_REPORTED).all()
    assert (recorded["support_stage"] != "not_reported").all()  # recorded before the meeting's IDVA begins
    withdrew = recorded["t_withdrawal"].notna()
    assert withdrew.sum() > 0 and (recorded.loc[withdrew, "t_withdrawal"] >= recorded.loc[withdrew, "t_report"]).all()
    investigated = recorded["t_investigation_queued"].notna()
    assert investigated.sum() > 0 and (recorded.loc[investigated, "t_investigation_queued"] >= recorded.loc[investigated, "t_marac"]).all()
    assert (unreported["exit"] == Exit.NOT_REPORTED).all() and unreported["t_report"].isna().all()
    assert (unreported["t_exit"] == unreported["t_marac"]).all() and unreported["t_investigation_queued"].isna().all()
    assert (unreported.loc[unreported["support_stage"] != "", "support_stage"] == "not_reported").all()
    assert (cases.loc[~from_agency, "exit"] != Exit.NOT_REPORTED).all()
    assert not cases.loc[~from_agency, "third_party_report"].any()


def test_agency_referrals_are_new_victims_drawn_after_the_others(baseline):
    """Adding the agency referrals moves no other case's draws (they are new victims, after the
    others); without them no case is drawn for agencies."""
    none = baseline.model_copy(update={"marac": baseline.marac.model_copy(update={"agency_referrals_per_year": {}})})
    base = run_replication(small(baseline, years=0.5, warmup=0.5), 0, SEED).cases
    out = run_replication(small(none, years=0.5, warmup=0.5), 0, SEED).cases
    assert (base["agency_referral"] == 1).any() and not (out["agency_referral"] == 1).any()
    first = (base["agency_referral"] == 0) & (base["repeat_incident"] == 0)  # further incidents happen or not by what follows
    mine = base[first].sort_values(["victim", "t_incident"]).reset_index(drop=True)
    theirs = out[out["repeat_incident"] == 0].sort_values(["victim", "t_incident"]).reset_index(drop=True)
    for column in ("victim", "t_incident", "ethnicity", "borough"):
        assert mine[column].equals(theirs[column]), column


def test_programme_places_are_never_exceeded_and_the_court_route_is_non_custodial(world):
    w, out = world
    cases = out.cases
    for name, used in out.stage_data["programmes"].items():
        places = used["places"]
        mine = cases[(cases["programme"] == name) & cases["t_programme_start"].notna()]
        events = np.concatenate([mine["t_programme_start"].to_numpy(), mine["t_programme_end"].fillna(np.inf).to_numpy()])
        steps = np.concatenate([np.ones(len(mine)), -np.ones(len(mine))])
        order = np.lexsort((steps, events))  # an end before a start at the same time
        assert np.cumsum(steps[order]).max() <= places
    court = cases[cases["programme_route"] == "conviction"]
    assert len(court) > 0 and (court["custody_years"] == 0).all() and (court["exit"] == Exit.CONVICTED).all()


def test_each_class_is_spread_over_boroughs_by_its_own_weights(world, baseline):
    w, out = world
    cases = out.cases
    for offence in ("rape", "domestic_abuse"):
        weights = baseline.offences[offence].reporting.borough or baseline.population.borough
        share = cases.loc[cases["offence"] == offence, "borough"].value_counts(normalize=True)
        expected = weights["Westminster"] / sum(weights.values())
        assert share["Westminster"] == pytest.approx(expected, rel=0.25)
    assert baseline.offences["rape"].reporting.borough["Westminster"] > 2 * baseline.offences["rape"].reporting.borough["Sutton"]


def test_referrals_from_outside_the_cjs_share_the_hospital_idvas(baseline):
    option = small(load_scenario(ROOT / "scenarios" / "hospital_idvas.yaml"))
    out = run_replication(option, 0, SEED)
    episodes = out.stage_data["support"]["hospital_idva"]["outside_episodes"]
    assert len(episodes) > 20 and (episodes[:, 1] > episodes[:, 0]).all()
    assert (episodes[:, 0] >= option.intervention_day()).all()  # the service opens at the option's date
    assert (out.cases["support_route"] == "health").sum() > 0


def test_iris_referrals_come_from_general_practice_at_their_own_volume_and_leave_the_cases_alone(baseline):
    """IRIS's advocate educators take referrals from GP practices only, at the option's volume and from
    its date; no police case changes (the women it reaches are not followed into the CJS)."""
    option = small(load_scenario(ROOT / "scenarios" / "iris_gp.yaml"), years=2.0)
    out = run_replication(option, 0, SEED)
    episodes = out.stage_data["support"]["iris_advocate"]["outside_episodes"]
    assert (episodes[:, 0] >= option.intervention_day()).all()
    horizon = (option.run.warmup_years + option.run.years) * 365.0
    expected = option.support.services["iris_advocate"].other_referrals_per_year * (horizon - option.intervention_day()) / 365.0
    assert len(episodes) == pytest.approx(expected, rel=0.25)
    base = run_replication(small(baseline, years=2.0), 0, SEED)
    assert out.cases["exit"].equals(base.cases["exit"]) and out.cases["t_exit"].equals(base.cases["t_exit"])


def test_an_option_ending_the_maracs_closes_the_agencies_waiting_referrals(tmp_path):
    """No MARACs from the date: referrals waiting are never heard, and an agency's closes with no
    crime recorded; none is left open. The agencies' volume itself cannot change at a date (a file
    that changes it is a variant from the start)."""
    path = tmp_path / "o.yaml"
    path.write_text(f"extends: {BASELINE}\nname: o\nmarac: null\n")
    option = small(load_scenario(path), years=0.5)
    cases = run_replication(option, 0, SEED).cases
    agency = cases[cases["agency_referral"] == 1]
    unheard = agency[agency["t_marac"].isna()]
    assert len(unheard) > 0 and (unheard["exit"] == Exit.NOT_REPORTED).all()
    assert (unheard["t_exit"] >= option.intervention_day()).all()
    heard = agency["t_marac"].dropna()
    assert len(heard) > 0 and (heard < option.intervention_day()).all()
    path.write_text(f"extends: {BASELINE}\nname: o\nrun: {{intervention_years: 3}}\nmarac:\n  agency_referrals_per_year:\n    domestic_abuse: 5000\n")
    with pytest.raises(ScenarioError, match="other agencies refer"):
        load_scenario(path)


def test_a_course_of_abuse_cannot_change_at_an_intervention_date(tmp_path):
    path = tmp_path / "o.yaml"
    path.write_text(f"extends: {BASELINE}\nname: o\nrun: {{intervention_years: 3}}\noffences:\n  domestic_abuse:\n    repeat:\n      rate_per_year: 0.5\n")
    with pytest.raises(ScenarioError, match="course of abuse"):
        load_scenario(path)


def test_an_indicator_must_name_a_kpi(tmp_path):
    path = tmp_path / "o.yaml"
    path.write_text(f"extends: {BASELINE}\nname: o\nperformance:\n  x: {{metric: no_such_kpi, target: 1, better: higher}}\n")
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 2 and "performance.x.metric" in result.output


def test_a_run_writes_the_borough_performance_table_and_the_report_shows_it(tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", str(BASELINE), "--reps", "2", "--scale", "0.05", "--years", "0.5", "--warmup-years", "1.5", "--seed", "5", "--jobs", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = __import__("pandas").read_csv(out / "performance.csv")
    assert set(table["area"]) >= {"London", "Westminster", "Croydon"}
    assert set(table["rag"].dropna()) <= {"Red", "Amber", "Green"}
    assert set(table["indicator"]) == set(load_scenario(BASELINE).performance)
    assert CliRunner().invoke(main, ["report", str(out)]).exit_code == 0
    assert "Borough performance" in (out / "report.html").read_text()





def test_each_class_draws_its_victims_age_and_ethnicity_by_its_own_weights(world, baseline):
    """Rape and other sexual offences have their own (published) age mix, DA its own ethnic mix; the
    classes without one use the population's."""
    _w, out = world
    cases = out.cases
    for offence, group, label in (("rape", "age_band", "under 18"), ("other_sexual", "age_band", "under 18"),
                                  ("domestic_abuse", "ethnicity", "White"), ("stalking_harassment", "age_band", "under 18")):  # fmt: skip
        weights = getattr(baseline.offences[offence].reporting, group) or getattr(baseline.population, group)
        share = (cases.loc[cases["offence"] == offence, group] == label).mean()
        assert share == pytest.approx(weights[label] / sum(weights.values()), abs=0.04), (offence, group)
    assert baseline.offences["rape"].reporting.age_band["under 18"] > 4 * baseline.population.age_band["under 18"]


def test_support_can_lower_abuse_and_raise_its_reporting_at_once(baseline):
    """With reporting unchanged by support, further abuse in recorded units is the recorded repeats;
    with support doubling reporting, more repeats are recorded (common random numbers: the same
    candidates) while the abuse behind them is counted at the unsupported rate."""
    from simcj.experiment.kpis import replication_kpis

    def run(rr: float) -> pd.Series:
        sc = small(variant(baseline, {"offences.domestic_abuse.repeat.rr_report_supported": rr, "offences.domestic_abuse.repeat.hr_supported": 0.5}), 0.05)
        k = replication_kpis(run_replication(sc, 0, SEED), sc)
        return k[(k["offence"] == "domestic_abuse") & (k["group"] == "all")].set_index("metric")["value"]

    same, doubled = run(1.0), run(2.0)
    assert same["repeat_abuse_incidents"] == pytest.approx(same["repeat_incidents"])
    assert doubled["repeat_incidents"] > same["repeat_incidents"]
    assert doubled["repeat_abuse_incidents"] < doubled["repeat_incidents"]
