"""The model's evidence: advocacy routes, work and waiting, stage-specific withdrawal, the new
indicators, honest provenance and a calibration that can fail."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from simcj.calibrate.targets import load_targets
from simcj.calibrate.validate import INDEPENDENT_PASS_SHARE, Validation
from simcj.cli import main
from simcj.engine.cases import Exit, Venue
from simcj.engine.withdrawal import WithdrawalClock
from simcj.engine.world import World, run_replication
from simcj.experiment.kpis import replication_kpis
from simcj.scenario import load_scenario, scaled, variant, with_run
from simcj.scenario.loader import SOURCE_KINDS, source_kind

from .conftest import BASELINE, ROOT

TARGETS = ROOT / "calibration" / "targets.csv"


def _small(baseline, changes=None, years=1.0, scale=0.05):
    return scaled(with_run(variant(baseline, changes or {}), years=years, warmup_years=0.5), scale)


def _totals(out, sc) -> pd.Series:
    k = replication_kpis(out, sc)
    return k[k.group == "all"].set_index(["metric", "offence"])["value"]


# --------------------------------------------------------------------------- advocacy routes


def test_a_victim_reaches_advocacy_at_charge_when_not_referred_at_report(baseline):
    sc = _small(baseline, {
        "offences.domestic_abuse.support.p_referral": {"high": 0.0, "medium": 0.0, "standard": 0.0},
        "offences.domestic_abuse.support.p_referral_at_charge": 1.0,
        "offences.domestic_abuse.support.p_referral_at_sdvc": 0.0,
        "marac.p_idva_allocation": 0.0,
    })  # fmt: skip
    out = run_replication(sc, 0, seed=3)
    da = out.cases[(out.cases.offence == "domestic_abuse") & (out.cases.support_service == "idva")]
    assert len(da) > 0 and set(da.support_route.astype(str)) == {"charge"}
    assert (da.t_support_referral == da.t_charge).all()  # referred the moment the case is charged
    started = da[da.t_support_start.notna()]
    assert len(started) and set(started.support_stage.astype(str)) == {"charged"}


def test_a_sarc_refers_victims_who_report_within_the_forensic_window(baseline):
    window = 7.0
    sc = _small(baseline, {"offences.other_sexual.support.p_referral_sarc": 1.0, "offences.other_sexual.support.sarc_window_days": window})
    c = run_replication(sc, 0, seed=3).cases
    sexual = c[(c.offence == "other_sexual") & (c.exit != Exit.NOT_RECORDED)]
    recent = sexual.t_report - sexual.t_incident <= window
    assert recent.sum() > 20 and (~recent).sum() > 20
    assert (sexual[recent].support_route == "sarc").all()  # referred at report by the SARC
    assert not (sexual[~recent].support_route == "sarc").any()  # too late for the forensic window: the police route
    assert (sexual[~recent].support_route == "report").any()


def test_court_advocates_support_victims_listed_at_the_specialist_court(baseline):
    sc = _small(baseline, {"offences.domestic_abuse.support.p_referral_at_sdvc": 1.0, "offences.domestic_abuse.support.p_referral_at_charge": 0.0})
    out = run_replication(sc, 0, seed=3)
    court = out.cases[out.cases.support_service == "court_idva"]
    assert len(court) > 0 and set(court.support_route.astype(str)) == {"sdvc"}
    assert (court.venue == Venue.SDVC).all()
    totals = _totals(out, sc)
    assert totals[("victims_supported_at_sdvc", "domestic_abuse")] > 0


def test_each_service_times_its_support_by_its_own_length(baseline):
    """A court IDVA's support lasts the court IDVA's duration, not the community IDVA's: with no
    aftercare limit and long IDVA support, court support still ends by its own (fixed) length."""
    sc = _small(baseline, {
        "offences.domestic_abuse.support.p_referral_at_sdvc": 1.0,
        "support.services.court_idva.after_case_days": None,
        "support.services.court_idva.duration": {"dist": "fixed", "value": 3.0},
        "support.services.idva.duration.median": 400.0,
    })  # fmt: skip
    out = run_replication(sc, 0, seed=3)
    court = out.cases[(out.cases.support_service == "court_idva") & out.cases.t_support_end.notna()]
    assert len(court) > 5
    # support ends at the close of the day its 3 days run out
    assert np.allclose(court.t_support_end, np.ceil(court.t_support_start + 3.0))


def test_support_ends_soon_after_the_case_closes_and_frees_its_slot(baseline):
    after = 10.0
    sc = _small(baseline, {"support.services.idva.after_case_days": after, "support.services.idva.duration.median": 400.0})
    out = run_replication(sc, 0, seed=4)
    c = out.cases[(out.cases.support_service == "idva") & out.cases.t_support_start.notna() & out.cases.t_support_end.notna()]
    c = c[c.support_route != "marac"]  # an IDVA allocated at MARAC works on her safety, after the case too
    closed = c[c.t_exit.notna()]
    assert len(closed) > 20
    # support ends at the close of the day 'after' days past the case's close (or its start, if later)
    limit = np.ceil(np.maximum(closed.t_exit + after, closed.t_support_start)) + 1e-9
    assert (closed.t_support_end <= limit).all()
    # without the rule, support runs its whole (long) duration: more support-days, busier service
    long = _small(baseline, {"support.services.idva.after_case_days": None, "support.services.idva.duration.median": 400.0})
    out_long = run_replication(long, 0, seed=4)
    assert _totals(out_long, long)[("idva_utilisation", "all")] >= _totals(out, sc)[("idva_utilisation", "all")]


def test_a_referral_waiting_too_long_lapses_as_a_brief_contact(baseline):
    wait = 5.0
    sc = _small(baseline, {"support.services.idva.max_wait_days": wait, "support.services.idva.staff": 5.0})
    out = run_replication(sc, 0, seed=4)
    c = out.cases[out.cases.support_service == "idva"]
    lapsed = c[c.t_support_lapsed.notna()]
    assert len(lapsed) > 0 and np.allclose(lapsed.t_support_lapsed - lapsed.t_support_referral, wait)
    assert lapsed.t_support_start.isna().all()
    served = c[c.t_support_start.notna()]
    assert ((served.t_support_start - served.t_support_referral) <= wait + 1e-9).all()
    assert _totals(out, sc)[("idva_lapsed", "all")] > 0


def test_kpis_can_be_read_for_supported_and_unsupported_victims(baseline):
    sc = _small(baseline)
    out = run_replication(sc, 0, seed=2)
    k = replication_kpis(out, sc)
    groups = set(k[(k.metric == "rate_withdrawal_pre_charge") & (k.offence == "domestic_abuse")].group)
    assert {"support=supported", "support=not referred"} <= groups


# --------------------------------------------------------------------------- work and waiting


def test_a_cps_lawyer_is_busy_for_the_effort_share_of_the_elapsed_time(baseline):
    """With lawyers to spare (no queue) and no withdrawal cutting work short, halving the effort
    share halves the unit's busy time and leaves every case's elapsed decision time, and so every
    outcome, as it was."""
    plenty = {"cps.units.rasso.staff": 500.0, "offences.rape.withdrawal.weibull_scale_days": 1e12, "offences.other_sexual.withdrawal.weibull_scale_days": 1e12}
    whole = _small(baseline, {**plenty, "offences.rape.charging.effort_share": 1.0, "offences.other_sexual.charging.effort_share": 1.0}, years=2.0)
    half = _small(baseline, {**plenty, "offences.rape.charging.effort_share": 0.5, "offences.other_sexual.charging.effort_share": 0.5}, years=2.0)
    a, b = run_replication(whole, 0, seed=8), run_replication(half, 0, seed=8)
    pd.testing.assert_series_equal(a.cases.t_charge_decision, b.cases.t_charge_decision)
    pd.testing.assert_series_equal(a.cases.exit, b.cases.exit)
    ua, ub = _totals(a, whole)[("cps_rasso_utilisation", "all")], _totals(b, half)[("cps_rasso_utilisation", "all")]
    assert ub == pytest.approx(ua / 2, rel=0.1)


def test_waiting_on_others_still_lets_the_victim_withdraw(baseline):
    sc = _small(baseline, {"offences.rape.charging.effort_share": 0.1, "offences.other_sexual.charging.effort_share": 0.1}, scale=0.1)
    out = run_replication(sc, 0, seed=8)
    sexual = out.cases.offence.isin(["rape", "other_sexual"])
    c = out.cases[sexual & (out.cases.exit == Exit.WITHDREW_PRE_CHARGE) & out.cases.t_cps_start.notna()]
    assert len(c) > 0  # withdrawals while the file is with the CPS, most of it waiting on the police


# --------------------------------------------------------------------------- withdrawal by stage


def test_the_post_charge_hazard_replaces_the_cps_one_rather_than_compounding_it():
    clock = WithdrawalClock([0.0], [2.0], [0], [1.0], [100.0])  # exponential, mean 100 days; level 2 at day 200
    clock.scale_hazard(0, 10.0, 2.0)  # referred to the CPS at day 10: hazard x2
    clock.scale_hazard(0, 20.0, 0.5 / 2.0)  # charged at day 20: hazard x0.5 of the pre-referral one
    # H0 at 20 = 0.2; level after the two changes: 0.1 + (0.2 - 0.1)... computed directly:
    level = 0.1 + (2.0 - 0.1) / 2.0  # after the first change
    level = 0.2 + (level - 0.2) / 0.25  # after the second
    assert clock.time(0) == pytest.approx(100.0 * level)


def test_a_higher_hazard_while_with_the_cps_means_more_withdrawals_there(baseline):
    base = _small(baseline)
    high = _small(baseline, {f"offences.{o}.withdrawal.hr_awaiting_cps": 1.5 for o in ("domestic_abuse", "rape", "other_sexual", "stalking_harassment")})

    def at_cps(out):
        c = out.cases
        return int(((c.exit == Exit.WITHDREW_PRE_CHARGE) & c.t_cps_referral.notna() & c.t_charge.isna()).sum())

    assert at_cps(run_replication(high, 0, seed=6)) > at_cps(run_replication(base, 0, seed=6))


# --------------------------------------------------------------------------- indicators


def test_trial_listings_shares_withdrawal_timing_and_the_sdvc_gap(baseline):
    sc = _small(baseline)
    out = run_replication(sc, 0, seed=1)
    t = _totals(out, sc)
    shares = [t[(m, "all")] for m in ("share_trials_effective", "share_trials_cracked", "share_trials_ineffective")]
    assert sum(shares) == pytest.approx(1.0) and all(0 < s < 1 for s in shares)
    assert 0 <= t[("share_withdrawals_within_7d", "rape")] <= t[("share_withdrawals_within_30d", "rape")] <= 1
    assert np.isfinite(t[("rate_conviction_sdvc_gap", "domestic_abuse")])
    assert np.isfinite(t[("crown_backlog_growth_per_year", "all")])
    assert 0 < t[("cps_rasso_utilisation", "all")] <= 1


# --------------------------------------------------------------------------- provenance and targets


@pytest.mark.parametrize(
    "source, kind",
    [
        ("ASSUMPTION: not in the evidence", "assumption"),
        ("Derived, ASSUMPTION of equal shares: 94,791 / 29", "assumption"),
        ("Unknown, disputed", "assumption"),
        ("Derived: 0.74 x 124 recommended FTE (SafeLives)", "derived"),
        ("Hand-fitted to London pre-charge withdrawal", "fitted"),
        ("simcj calibrate, 2026-11-22: fitted to the 'fit' targets", "fitted"),
        ("Fitted to the London Rape Review 2021 update", "fitted"),
        ("The option: baseline 48 x 1.25", "option"),
        ("Baseline 84 FTE + 20 (the option)", "option"),
        ("set on the command line", "option"),
        ("MoJ CCSQ: magistrates' ineffective trial rate 22%", "published"),
        ("Unused: no SARC route for DA", "unused"),
    ],
)
def test_every_source_has_a_kind(source, kind):
    assert source_kind(source) == kind


def test_check_counts_the_parameters_by_kind(tmp_path):
    out = tmp_path / "check.json"
    r = CliRunner().invoke(main, ["check", str(BASELINE), "--json", str(out)])
    assert r.exit_code == 0 and "assumption" in r.output and "published" in r.output
    data = json.loads(out.read_text())
    assert set(data["provenance"]) == set(SOURCE_KINDS) and sum(data["provenance"].values()) == data["parameters"]
    assert all(v["kind"] in SOURCE_KINDS for v in data["sources"].values())
    assert data["provenance"]["option"] == 0  # the baseline sizes no option


def test_the_targets_file_keeps_identities_apart(baseline):
    t = load_targets(TARGETS, baseline)
    independent = t[t.kind == "independent"]
    assert len(t) >= 40 and len(independent) >= 25 and (independent.use == "holdout").sum() >= 10
    # targets that equal an input or hold by construction are identities
    assert {"T01", "T02", "T03", "T04", "T08", "T13", "T14", "T23", "T25", "T26", "T31", "T32", "T33"} <= set(t[t.kind == "identity"].id)


def test_the_verdict_needs_ninety_percent_of_independent_targets_and_every_identity():
    def table(independent_passed: int, identity_ok: bool) -> pd.DataFrame:
        rows = [{"kind": "independent", "use": "fit", "passed": k < independent_passed} for k in range(10)]
        rows.append({"kind": "identity", "use": "fit", "passed": identity_ok})
        return pd.DataFrame(rows)

    assert INDEPENDENT_PASS_SHARE == 0.9
    assert Validation("s", table(9, True), []).passed
    assert not Validation("s", table(8, True), []).passed
    assert not Validation("s", table(10, False), []).passed


def test_validate_json_gives_each_targets_kind_and_result(tmp_path):
    out = tmp_path / "v.json"
    r = CliRunner().invoke(main, ["validate", str(BASELINE), "--reps", "2", "--scale", "0.05", "--jobs", "1", "--json", str(out)])
    assert r.exit_code in (0, 1), r.output
    assert "Identity checks" in r.output and "Independent targets" in r.output
    data = json.loads(out.read_text())
    assert {"independent", "identity", "independent_holdout"} <= set(data)
    assert all(t["kind"] in ("independent", "identity") and isinstance(t["passed"], bool) for t in data["targets"])


def test_the_baseline_scenario_loads_with_its_new_routes(baseline):
    da = baseline.offences["domestic_abuse"].support
    assert da.sdvc_service == "court_idva" and 0 < da.p_referral_at_sdvc <= 1
    # the court IDVAs come out of the London IDVA workforce: none appear from nothing
    services = baseline.support.services
    assert services["idva"].staff + services["court_idva"].staff == pytest.approx(92)
    assert load_scenario(ROOT / "scenarios" / "idva_plus_20.yaml").support.services["idva"].staff == pytest.approx(services["idva"].staff + 20)


def test_arrest_and_risk_level_can_change_the_hazard_from_report(baseline):
    def withdrew_among(out, mask):
        c = out.cases[mask(out.cases)]
        return float((c.exit == Exit.WITHDREW_PRE_CHARGE).mean())

    da = lambda c: (c.offence == "domestic_abuse") & c.arrested  # noqa: E731
    base = run_replication(_small(baseline), 0, seed=5)
    arrested = run_replication(_small(baseline, {"offences.domestic_abuse.withdrawal.hr_arrested": 2.0}), 0, seed=5)
    assert withdrew_among(arrested, da) > withdrew_among(base, da) + 0.02
    high = lambda c: (c.offence == "domestic_abuse") & (c.risk == "high")  # noqa: E731
    risky = run_replication(_small(baseline, {"offences.domestic_abuse.withdrawal.hr_by_risk.high": 0.5}), 0, seed=5)
    assert withdrew_among(risky, high) < withdrew_among(base, high) - 0.02


def test_victims_who_know_the_suspect_withdraw_likelier_than_strangers(baseline):
    """A stranger's victim has her hazard times hr_stranger from report: with it below 1 she withdraws
    less often than a victim who knows the suspect; with 1 the two are alike."""
    def ratio(hr):
        sc = _small(baseline, {"offences.rape.police.p_stranger": 0.5, "offences.rape.withdrawal.hr_stranger": hr}, scale=0.2)
        return _totals(run_replication(sc, 0, seed=6), sc)[("withdrawal_ratio_known_to_stranger", "rape")]

    assert ratio(0.3) > 1.5
    assert ratio(1.0) == pytest.approx(1.0, abs=0.15)
    da = run_replication(_small(baseline), 0, seed=6).cases
    assert not da[da.offence == "domestic_abuse"].stranger.any()  # domestic abuse is by a person connected to her


def test_a_suspect_charged_in_custody_is_decided_within_the_custody_clock(baseline):
    """Every DA suspect arrested and put to the CPS from custody: the decision comes custody_days after
    report, at once (CPS Direct), with no investigator's or London lawyer's slot; the others wait."""
    sc = _small(baseline, {"offences.domestic_abuse.police.p_arrest": 1.0, "offences.domestic_abuse.police.p_decided_in_custody": 1.0})
    out = run_replication(sc, 0, seed=7)
    da = out.cases[(out.cases.offence == "domestic_abuse") & out.cases.t_cps_referral.notna()]
    assert len(da) > 50 and da.in_custody.all()
    custody = sc.offences["domestic_abuse"].police.custody_days
    assert np.allclose(da.t_cps_referral - da.t_report, custody) and np.allclose(da.t_charge_decision, da.t_cps_referral)
    assert da.t_investigation_start.isna().all()
    totals = _totals(out, sc)
    assert totals[("share_charged_in_custody", "domestic_abuse")] == pytest.approx(1.0)
    assert totals[("days_report_to_charge_median", "domestic_abuse")] == pytest.approx(custody)
    # without it, an arrested suspect is released and the crime waits for an investigator
    released = run_replication(_small(baseline, {"offences.domestic_abuse.police.p_arrest": 1.0, "offences.domestic_abuse.police.p_decided_in_custody": 0.0}), 0, seed=7).cases
    assert not released.in_custody.any() and released[released.offence == "domestic_abuse"].t_investigation_start.notna().any()


def test_dedicated_prosecutors_can_take_sdvc_cases_on_without_the_victim(baseline):
    out = run_replication(_small(baseline, {"courts.sdvc.p_evidence_led": 1.0}), 0, seed=5)
    sdvc = out.cases[out.cases.venue == Venue.SDVC]
    assert len(sdvc) > 0 and not (sdvc.exit == Exit.RETRACTION_POST_CHARGE).any()


def test_an_option_date_does_not_change_work_already_begun_nor_the_factor_already_given(baseline, tmp_path):
    """A file started before an option's date that changes the effort share (and the CPS-stage
    hazard) takes exactly its drawn decision time: the split into work and waiting is fixed when the
    work starts."""
    option = tmp_path / "opt.yaml"
    option.write_text(
        f"extends: {BASELINE}\nname: opt\noffences:\n  rape:\n    charging:\n      effort_share: {{value: 1.0, source: test}}\n"
        "    withdrawal:\n      hr_awaiting_cps: {value: 1.5, low: 0.7, high: 1.5, source: test}\n"
    )
    sc = scaled(with_run(load_scenario(option), years=1.0, warmup_years=0.5), 0.3)
    out = run_replication(sc, 0, seed=3)
    c = out.cases
    day = sc.intervention_day()
    across = c[(c.offence == "rape") & (c.t_cps_start < day) & (c.t_charge_decision >= day)]
    assert len(across) > 0
    np.testing.assert_allclose(across.t_charge_decision - across.t_cps_start, across.d_cps, rtol=1e-9)


def test_the_post_charge_factor_replaces_the_cps_factor_the_case_was_given(baseline):
    """If the CPS-stage factor changes between referral and charge (an option's date), the charge
    divides by the factor the case was given, not the new one."""
    sc = _small(baseline)
    world = World(sc, 0, 3)
    charging = world.stages["charging"]
    applied = []
    world.clock.scale_hazard = lambda i, now, f: applied.append((i, f))  # record, do not apply
    i = next(k for k in range(world.cases.n) if world.offence(k).withdrawal is not None)
    charging.take(i)
    given = applied[-1][1]
    charging._awaiting[i] = 2.0  # as if the case had been given 2.0 at referral under other settings
    world.cases.u_cps[i] = 0.0  # a charge
    charging.decide(i, world.env.now)
    oc = world.offence(i)
    assert given == oc.withdrawal.hr_awaiting_cps and applied[-1] == (i, oc.withdrawal.hr_post_charge / 2.0)
