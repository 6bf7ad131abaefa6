"""Statistical tests against queueing theory, and conservation: every case ends exactly once."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from simcj.experiment.kpis import replication_kpis
from simcj.model.entities import Exit
from simcj.model.world import run_replication
from simcj.scenario import load_scenario, scaled

from .conftest import BASELINE, modified


def erlang_c_wait(lam: float, mu: float, c: int) -> float:
    """Mean wait in queue of an M/M/c queue (Erlang C)."""
    a = lam / mu
    rho = a / c
    top = a**c / math.factorial(c) / (1 - rho)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return p_wait / (c * mu - lam)


def mmc_scenario(baseline, lam_per_day: float, mean_service: float, servers: int, years: float):
    """The police stage alone as an M/M/c queue: Poisson reports, exponential investigations, no withdrawal."""

    def edit(d):
        d["offences"]["rape"] = None
        d["offences"]["other_sexual"] = None
        da = d["offences"]["domestic_abuse"]
        da["reporting"].update(
            incidents_per_year=lam_per_day * 365.0,
            seasonality={"amplitude": 0.0, "peak_day": 0.0},
            p_report=1.0,
            p_record=1.0,
            delay={"dist": "fixed", "value": 0.0},
            risk_mix=None,
        )
        da["police"].update(p_suspect_identified=0.0, investigation_time={"dist": "exponential", "mean": mean_service})
        da["withdrawal"].update(weibull_shape=1.0, weibull_scale_days=1e15)
        da["support"] = {"service": None, "p_referral": {}}
        d["police"]["units"]["community_safety"] = {"staff": servers, "caseload": 1}
        for tier in ("crown", "magistrates"):
            d["courts"][tier].update(background_cases_per_year=0.0, initial_backlog=0.0)
        d["courts"]["sdvc"]["courts"] = 0.0
        d["run"].update(years=years, warmup_years=1.0, monitor_interval_days=1.0)

    return modified(baseline, edit)


def test_police_stage_as_mmc_agrees_with_erlang_c_and_littles_law(baseline):
    lam, mean_service, c = 1.6, 2.0, 4  # rho = 0.8
    sc = mmc_scenario(baseline, lam, mean_service, c, years=15.0)
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
    cases = out.cases
    exits = cases["exit"].to_numpy()
    assert set(np.unique(exits)) <= {int(e) for e in Exit} - {int(Exit.NOT_REPORTED)}
    is_open = exits == Exit.OPEN
    t_exit = cases["t_exit"].to_numpy()
    assert np.isnan(t_exit[is_open]).all(), "an open case has an exit time"
    assert (t_exit[~is_open] >= cases["t_report"].to_numpy()[~is_open] - 1e-9).all()
    assert (t_exit[~is_open] <= out.horizon + 1e-9).all()
    # incidents in the run = never reported (by the horizon) + reported cases whose incident is in the run
    for name, times in out.incident_times.items():
        mine = cases[cases["offence"] == name]
        assert len(times) == len(out.unreported_times[name]) + int((mine["t_incident"] >= 0).sum())
    # every prosecution exit was charged and completed when it ended
    pros = cases["exit"].isin([Exit.RETRACTION_POST_CHARGE, Exit.DISCONTINUED, Exit.ACQUITTED, Exit.CONVICTED])
    assert cases.loc[pros, "t_charge"].notna().all()
    assert np.allclose(cases.loc[pros, "t_completion"], cases.loc[pros, "t_exit"])
    withdrew = cases["exit"] == Exit.WITHDREW_PRE_CHARGE
    assert cases.loc[withdrew, "t_charge"].isna().all()
    assert np.allclose(cases.loc[withdrew, "t_withdrawal"], cases.loc[withdrew, "t_exit"])
    # O14 (withdrew, no suspect identified yet) only before the police outcome; otherwise O16
    ho = cases.loc[withdrew, "ho_outcome"].astype(str)
    assert set(ho) <= {"O14", "O16"}
    assert cases.loc[withdrew & (cases["ho_outcome"].astype(str) == "O14"), "t_police_outcome"].isna().all()
    # time stamps along the pathway never go backwards
    for a, b in (("t_report", "t_investigation_start"), ("t_investigation_start", "t_cps_referral"), ("t_cps_referral", "t_charge"), ("t_charge", "t_completion")):
        both = cases[a].notna() & cases[b].notna()
        assert (cases.loc[both, b] >= cases.loc[both, a] - 1e-9).all(), (a, b)


def test_baseline_small_scale_conserves_cases(baseline):
    sc = scaled(modified(baseline, lambda d: d["run"].update(years=1.0, warmup_years=1.0)), 0.02)
    check_conservation(run_replication(sc, 0, seed=5))


@settings(max_examples=12, deadline=None)
@given(
    p_report=st.floats(0.05, 1.0),
    p_record=st.floats(0.0, 1.0),
    refer=st.floats(0.0, 0.9),
    p_charge=st.floats(0.0, 1.0),
    scale_days=st.floats(1.0, 1000.0),
    hr_support=st.floats(0.0, 2.0),
    staff=st.floats(0.5, 50.0),
    years=st.floats(0.2, 1.0),
    warmup=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**32),
)
def test_conservation_over_random_scenarios(p_report, p_record, refer, p_charge, scale_days, hr_support, staff, years, warmup, seed):
    def edit(d):
        for name in ("domestic_abuse", "rape", "other_sexual"):
            oc = d["offences"][name]
            oc["reporting"].update(p_report=p_report, p_record=p_record)
            oc["police"].update(p_refer_cps=refer, p_caution=min(0.1, 1 - refer))
            oc["charging"].update(p_charge=p_charge, p_out_of_court=min(0.05, 1 - p_charge))
            oc["withdrawal"]["weibull_scale_days"] = scale_days
        d["support"]["effect"]["hr_withdrawal"] = hr_support
        for unit in d["police"]["units"].values():
            unit["staff"] = staff
        d["run"].update(years=years, warmup_years=warmup)

    sc = scaled(modified(load_scenario(BASELINE), edit), 0.01)
    check_conservation(run_replication(sc, 0, seed=seed))
