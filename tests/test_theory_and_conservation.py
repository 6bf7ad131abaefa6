"""Statistical tests against queueing theory, and conservation: every case ends exactly once."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from simcj.calibrate.checks import conservation_violations, erlang_c_wait, mmc_scenario
from simcj.engine.cases import Exit
from simcj.engine.world import run_replication
from simcj.experiment.kpis import replication_kpis
from simcj.scenario import load_scenario, scaled, variant, with_run

from .conftest import BASELINE


def test_police_stage_as_mmc_agrees_with_erlang_c_and_littles_law(baseline):
    lam, mean_service, c = 1.6, 2.0, 4  # rho = 0.8
    sc = mmc_scenario(baseline, lam, mean_service, c, years=40.0)  # long runs: the in-window wait is biased low over short ones
    theory = erlang_c_wait(lam, 1 / mean_service, c)
    waits, queue_lengths, utilisation = [], [], []
    for rep in range(6):
        out = run_replication(sc, rep, seed=11)
        k = replication_kpis(out, sc)
        waits.append(k[(k.metric == "days_investigation_wait_mean") & (k.offence == "all") & (k.group == "all")].value.iloc[0])
        ts = out.timeseries[out.timeseries.day >= out.warmup]
        queue_lengths.append(ts[ts.series == "investigators_community_safety_waiting"].value.mean())
        utilisation.append(ts[ts.series == "investigators_community_safety_utilisation"].value.mean())
        assert (out.cases.exit.isin([Exit.NO_SUSPECT, Exit.OPEN])).all()
    waits = np.array(waits)
    half = stats.t.ppf(0.995, len(waits) - 1) * waits.std(ddof=1) / math.sqrt(len(waits))
    assert abs(waits.mean() - theory) < max(half, 0.02 * theory), (waits.mean(), theory, half)
    assert waits.mean() == pytest.approx(theory, rel=0.08)
    # Little's law on the waiting line: Lq = lambda x Wq.
    assert np.mean(queue_lengths) == pytest.approx(lam * waits.mean(), rel=0.08)
    assert np.mean(utilisation) == pytest.approx(lam * mean_service / c, rel=0.03)


def test_more_servers_never_lengthen_the_wait(baseline):
    waits = []
    for servers in (4, 5, 8):
        sc = mmc_scenario(baseline, 1.6, 2.0, servers, years=4.0)
        k = replication_kpis(run_replication(sc, 0, seed=3), sc)
        waits.append(k[(k.metric == "days_investigation_wait_mean") & (k.offence == "all") & (k.group == "all")].value.iloc[0])
    assert waits[0] > waits[1] > waits[2] >= 0.0


# --------------------------------------------------------------------------- conservation


def check_conservation(out) -> None:
    assert conservation_violations(out) == []


def test_baseline_small_scale_conserves_cases(baseline):
    sc = scaled(with_run(baseline, years=1.0, warmup_years=1.0), 0.02)
    check_conservation(run_replication(sc, 0, seed=5))


@settings(max_examples=12, deadline=None)
@given(
    p_report=st.floats(0.05, 1.0),
    p_record=st.floats(0.0, 1.0),
    refer=st.floats(0.0, 0.9),
    p_charge=st.floats(0.0, 1.0),
    scale_days=st.floats(1.0, 1000.0),
    hr_support=st.floats(0.0, 1.0),
    staff=st.floats(0.5, 50.0),
    years=st.floats(0.2, 1.0),
    warmup=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**32),
)
def test_conservation_over_random_scenarios(p_report, p_record, refer, p_charge, scale_days, hr_support, staff, years, warmup, seed):
    baseline = load_scenario(BASELINE)
    values = {}
    for name, oc in baseline.offences.items():
        here = f"offences.{name}"
        values.update({
            f"{here}.reporting.p_report": p_report, f"{here}.reporting.p_record": p_record,
            f"{here}.police.p_refer_cps": refer, f"{here}.police.p_caution": min(0.1, 1 - refer),
            f"{here}.charging.p_charge": p_charge, f"{here}.charging.p_out_of_court": min(0.05, 1 - p_charge),
        })  # fmt: skip
        if oc.withdrawal is not None:
            values[f"{here}.withdrawal.weibull_scale_days"] = scale_days
    values["support.effect.hr_withdrawal"] = hr_support
    values.update({f"police.units.{unit}.staff": staff for unit in baseline.police.units})
    values.update({"run.years": years, "run.warmup_years": warmup})
    sc = scaled(variant(baseline, values), 0.01)
    check_conservation(run_replication(sc, 0, seed=seed))


# --------------------------------------------------------------------------- extreme but valid


def _extreme(baseline, name: str):
    """The baseline pushed to an edge a scenario file may reach; each must run to its horizon."""
    plain = baseline.model_dump(by_alias=True)
    capacities = {f"{section}.units.{u}.staff": plain[section]["units"][u]["staff"] * 1000 for section in ("police", "cps") for u in plain[section]["units"]}
    capacities |= {f"support.services.{s}.staff": plain["support"]["services"][s]["staff"] * 1000 for s in plain["support"]["services"]}
    capacities |= {f"courts.{c}.sitting_days_per_year": plain["courts"][c]["sitting_days_per_year"] * 100 for c in ("crown", "magistrates")}
    volumes = {f"offences.{o}.reporting.incidents_per_year": plain["offences"][o]["reporting"]["incidents_per_year"] * 10 for o in plain["offences"]}
    changes = {
        "no_support": {"pathway": [s for s in baseline.pathway if s != "support"]},
        "no_sdvc": {f"offences.{o}.prosecution.p_sdvc": 0.0 for o in plain["offences"]},
        "sitting_days_near_zero": {"courts.crown.sitting_days_per_year": 1.0, "courts.magistrates.sitting_days_per_year": 1.0},
        "capacities_x1000": capacities,
        "volumes_x10": volumes,
        "twenty_years": {},
    }[name]
    years = 20.0 if name == "twenty_years" else 1.0
    return scaled(with_run(variant(baseline, changes), years=years, warmup_years=0.5), 0.005 if name in ("volumes_x10", "twenty_years") else 0.02)


@pytest.mark.parametrize("name", ["no_support", "no_sdvc", "sitting_days_near_zero", "capacities_x1000", "volumes_x10", "twenty_years"])
def test_extreme_but_valid_scenarios_run_to_the_end_with_every_case_accounted_for(baseline, name):
    sc = _extreme(baseline, name)
    out = run_replication(sc, 0, seed=7)
    check_conservation(out)
    k = replication_kpis(out, sc)
    total = k[(k.offence == "all") & (k.group == "all")].set_index("metric")["value"]
    assert total["reported"] > 0 and np.isfinite(total["cost_total"])
    cases = out.cases
    if name == "no_support":
        assert "t_support_referral" not in cases and "victims_supported" not in total  # no stage, no support
    if name == "no_sdvc":
        assert total["completed_prosecutions"] > 0 and np.isnan(total["rate_conviction_sdvc"])
    if name == "sitting_days_near_zero":
        charged = cases["t_charge"].notna()
        assert (cases.loc[charged, "exit"] == Exit.OPEN).mean() > 0.5  # the courts hear almost nothing: cases wait at the horizon
    if name == "capacities_x1000":
        assert total["days_investigation_wait_mean"] < 1.0
    if name == "twenty_years":
        assert out.horizon == pytest.approx((20 + 0.5) * 365.0)


def test_a_lists_lead_time_follows_its_load_from_the_anchor():
    """1 until anchored; then the backlog over the reference, times the reference sitting days over
    today's to the elasticity: Little's law with the list hearing what its days allow."""
    import simpy

    from simcj.vawg.courts import CourtTierList

    sc = load_scenario(BASELINE)
    params = sc.courts.crown.model_copy(update={"sitting_day_elasticity": 0.5})
    env = simpy.Environment()
    tier = CourtTierList(env, "crown", params, np.random.default_rng(0), 100.0)
    tier.listed = 400
    assert tier.load() == 1.0
    tier.anchor_at(10.0)
    env.run(until=11.0)
    assert tier.load() == pytest.approx(1.0)
    tier.listed = 800  # twice the backlog: dates twice as far off
    assert tier.load() == pytest.approx(2.0)
    tier.retune(params.model_copy(update={"sitting_days_per_year": params.sitting_days_per_year * 4}))
    assert tier.load() == pytest.approx(2.0 / 4**0.5)
    empty = CourtTierList(simpy.Environment(), "crown", params, np.random.default_rng(0), 100.0)
    empty.anchor()
    assert empty.load() == 1.0  # nothing listed: no load to scale by


def test_more_sitting_days_clear_a_backlog_once_the_list_follows_its_load():
    """Paired on the same seed: the Crown list with 10% more sitting days from the date ends the run
    with a smaller backlog."""
    base = with_run(load_scenario(BASELINE), years=1.5, warmup_years=1.0)
    more = with_run(load_scenario(BASELINE.parent / "crown_sitting_days_plus_10.yaml"), years=1.5, warmup_years=1.0)

    def backlog(sc):
        ts = run_replication(scaled(sc, 0.05), 0, 11).timeseries
        crown = ts[ts["series"] == "crown_backlog"]
        return crown[crown["day"] >= crown["day"].max() - 60]["value"].mean()

    assert backlog(more) < 0.95 * backlog(base)
