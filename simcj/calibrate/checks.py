"""Model checks: the simulator against queueing theory and its own accounting.

* **Erlang C** — the police stage, reduced to an M/M/c queue (Poisson reports, exponential
  investigations, no withdrawal), must give the mean wait Erlang C predicts.
* **Little's law on the Crown Court queue** — the time-average number waiting for a courtroom (their
  lead time over), as the weekly time series reports it, must equal the waiting time the queue's entries spent in the measured window
  divided by its length (L = λW in its finite-window form, exact for any queue discipline).
* **Conservation** — every case ends in exactly one exit or is open at the horizon, incidents are
  either unreported or reported cases, and time stamps never run backwards.

Each returns a :class:`Check`; each is shown to fail on a configuration built to break it (tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from ..engine.cases import PROSECUTION_EXITS, Exit
from ..engine.world import World, run_replication
from ..experiment.kpis import replication_kpis
from ..scenario.schema import Scenario
from ..scenario.variants import REMOVE, variant


@dataclass
class Check:
    name: str
    passed: bool
    message: str
    values: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- Erlang C


def erlang_c_wait(lam: float, mu: float, c: int) -> float:
    """Mean wait in queue of an M/M/c queue with arrival rate ``lam`` and service rate ``mu``."""
    a = lam / mu
    rho = a / c
    top = a**c / math.factorial(c) / (1 - rho)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return p_wait / (c * mu - lam)


def mmc_scenario(scenario: Scenario, lam_per_day: float, mean_service: float, servers: int, years: float) -> Scenario:
    """The scenario's first offence class's police stage alone, as an M/M/c queue: a pathway of
    reporting and the police only (nothing else's events or monitored series)."""
    name = next(iter(scenario.offences))
    oc = scenario.offences[name]
    mm1 = {f"offences.{other}": REMOVE for other in scenario.offences if other != name}
    mm1.update({"pathway": ["reporting", "police"], "performance": {}})
    here = f"offences.{name}"
    mm1.update({
        f"{here}.reporting.incidents_per_year": lam_per_day * 365.0,
        f"{here}.reporting.seasonality": {"amplitude": 0.0, "peak_day": 0.0},
        f"{here}.reporting.p_report": 1.0,
        f"{here}.reporting.p_record": 1.0,
        f"{here}.reporting.delay": {"dist": "fixed", "value": 0.0},
        f"{here}.reporting.risk_mix": None,
        f"{here}.police.p_suspect_identified": 0.0,
        f"{here}.police.p_decided_in_custody": 0.0,  # every crime joins the investigators' queue
        f"{here}.police.investigation_time": {"dist": "exponential", "mean": mean_service},
        f"{here}.withdrawal": None,
        f"{here}.repeat": None,
        f"{here}.support": {"service": None, "p_referral": {}},
        f"police.units.{oc.police.unit}": {"staff": servers, "caseload": 1},
        "courts.crown.background_cases_per_year": 0.0,
        "courts.crown.initial_backlog": 0.0,
        "courts.magistrates.background_cases_per_year": 0.0,
        "courts.magistrates.initial_backlog": 0.0,
        "courts.sdvc.courts": 0.0,
        "courts.rasso": None,
        "run.years": years,
        "run.warmup_years": 1.0,
        "run.monitor_interval_days": 1.0,
    })  # fmt: skip
    if scenario.marac is not None:
        mm1["marac.agency_referrals_per_year"] = {}  # third-party reports would join the queue from MARAC
    return variant(scenario, mm1)


def erlang_c(scenario: Scenario, seed: int, reps: int = 6, years: float = 40.0) -> Check:
    """M/M/4 at utilisation 0.8 (mean service 2 days) against Erlang C.

    Passes when the mean wait over the replications is within its 99% confidence interval of the
    theory (allowing 3% for the finite run) and never more than 10% from it.
    """
    lam, mean_service, c = 1.6, 2.0, 4
    sc = mmc_scenario(scenario, lam, mean_service, c, years)
    theory = erlang_c_wait(lam, 1.0 / mean_service, c)
    waits = []
    for rep in range(reps):
        k = replication_kpis(run_replication(sc, rep, seed), sc)
        row = k[(k["metric"] == "days_investigation_wait_mean") & (k["offence"] == "all") & (k["group"] == "all")]
        waits.append(float(row["value"].iloc[0]))
    w = np.array(waits)
    half = float(stats.t.ppf(0.995, len(w) - 1) * w.std(ddof=1) / math.sqrt(len(w)))
    mean = float(w.mean())
    passed = abs(mean - theory) <= min(max(half, 0.03 * theory), 0.10 * theory)
    return Check(
        "erlang_c",
        passed,
        f"M/M/{c} police stage, rho 0.8: mean wait {mean:.3f} days (99% CI +/-{half:.3f}) against Erlang C {theory:.3f}",
        {"simulated_wait_days": mean, "ci_half_width": half, "erlang_c_wait_days": theory},
    )


# --------------------------------------------------------------------------- Little's law


def tracked_replication(scenario: Scenario, seed: int):
    """One replication with the Crown Court queue's waits recorded (for :func:`littles_law`)."""
    world = World(scenario, 0, seed)
    world.stages["courts"].crown.pool.track_waits()
    return world.run()


def snapshot_error(x: np.ndarray) -> float:
    """Standard error of the mean of weekly snapshots as an estimate of the time-average: from their
    scatter about their linear trend, with its lag-1 autocorrelation r (the variance of the mean
    grows by (1 + r) / (1 - r))."""
    if len(x) < 4:
        return 0.0
    t = np.arange(len(x), dtype=float)
    e = x - np.polyval(np.polyfit(t, x, 1), t)
    if np.std(e) == 0.0:
        return 0.0
    r = float(np.clip(np.corrcoef(e[:-1], e[1:])[0, 1], 0.0, 0.9)) if np.std(e[:-1]) > 0 and np.std(e[1:]) > 0 else 0.0
    return float(np.std(e, ddof=2) / np.sqrt(len(x)) * np.sqrt((1.0 + r) / (1.0 - r)))


def littles_law(out, tolerance: float = 0.05) -> Check:
    """Crown Court waiting line: monitored time-average against the in-window waiting time per day,
    equal within 5% or three standard errors of the weekly snapshots' mean, whichever is wider."""
    waits, waiting_since = out.stage_data["courts"]["queue_log"]["crown"]
    start, end = out.warmup, out.horizon
    joined = np.array([j for j, _ in waits] + waiting_since, dtype=float)
    left = np.array([s for _, s in waits] + [end] * len(waiting_since), dtype=float)
    overlap = np.clip(np.minimum(left, end) - np.maximum(joined, start), 0.0, None)
    l_from_waits = float(overlap.sum() / (end - start))
    ts = out.timeseries
    in_window = ts[(ts["day"] >= start) & (ts["day"] < end)].pivot_table(index="day", columns="series", values="value")
    snapshots = in_window["crown_courtroom_queue"].to_numpy(float)
    l_monitored = float(snapshots.mean())
    arrivals = int(((joined >= start) & (joined < end)).sum())
    lam = arrivals / (end - start)
    mean_wait = float(overlap[(joined >= start) & (joined < end)].mean()) if arrivals else float("nan")
    passed = abs(l_monitored - l_from_waits) <= max(tolerance * max(l_from_waits, 1.0), 3.0 * snapshot_error(snapshots))
    return Check(
        "littles_law_crown",
        passed,
        f"Crown Court waiting line: monitored L {l_monitored:,.1f} against waiting time in window / days {l_from_waits:,.1f} "
        f"(arrivals {lam:,.1f}/day, their mean in-window wait {mean_wait:,.1f} days)",
        {"L_monitored": l_monitored, "L_from_waits": l_from_waits, "arrivals_per_day": lam, "mean_wait_in_window_days": mean_wait},
    )


# --------------------------------------------------------------------------- conservation


def conservation_violations(out) -> list[str]:
    """What, if anything, breaks case accounting in one replication's output."""
    problems = []
    cases = out.cases
    exits = cases["exit"].to_numpy()
    agency = cases["agency_referral"].to_numpy().astype(bool) if "agency_referral" in cases else np.zeros(len(cases), dtype=bool)
    if not set(np.unique(exits).tolist()) <= {int(e) for e in Exit} or (exits[~agency] == Exit.NOT_REPORTED).any():
        problems.append("a case has an exit outside the vocabulary (not reported: an agency's MARAC referral only)")
    if cases.loc[agency & (exits == Exit.NOT_REPORTED), "t_report"].notna().any():
        problems.append("an agency's MARAC referral closed not reported has a report time")
    is_open = exits == Exit.OPEN
    t_exit = cases["t_exit"].to_numpy()
    if not np.isnan(t_exit[is_open]).all():
        problems.append("an open case has an exit time")
    if np.isnan(t_exit[~is_open]).any():
        problems.append("a closed case has no exit time")
    if (t_exit[~is_open] < cases["t_report"].to_numpy()[~is_open] - 1e-9).any():
        problems.append("a case closed before it was reported")
    if (t_exit[~is_open] > out.horizon + 1e-9).any():
        problems.append("a case closed after the horizon")
    counts = out.stage_data["reporting"]
    for name, times in counts["incident_times"].items():
        mine = cases[cases["offence"] == name]
        if "repeat_incident" in mine:  # a victim's further incidents are reported cases of no counted incident
            mine = mine[mine["repeat_incident"] == 0]
        if "agency_referral" in mine:  # as are the victims other agencies refer to MARAC
            mine = mine[mine["agency_referral"] == 0]
        reported = int((mine["t_incident"] >= 0).sum())
        unreported = len(counts["unreported_times"][name])
        if len(times) != unreported + reported:
            problems.append(f"{name}: incidents {len(times)} != unreported {unreported} + reported {reported}")
    pros = cases["exit"].isin(list(PROSECUTION_EXITS))
    if cases.loc[pros, "t_charge"].isna().any():
        problems.append("a prosecution ended without a charge")
    if not np.allclose(cases.loc[pros, "t_completion"], cases.loc[pros, "t_exit"]):
        problems.append("a prosecution's completion is not its exit")
    withdrew = cases["exit"] == Exit.WITHDREW_PRE_CHARGE
    if cases.loc[withdrew, "t_charge"].notna().any():
        problems.append("a case withdrawn before charge has a charge")
    if set(cases.loc[withdrew, "ho_outcome"].astype(str)) - {"O14", "O16"}:
        problems.append("a withdrawal before charge is not outcome 14 or 16")
    for a, b in (("t_report", "t_investigation_start"), ("t_investigation_start", "t_cps_referral"), ("t_cps_referral", "t_charge"), ("t_charge", "t_completion")):
        both = cases[a].notna() & cases[b].notna()
        if (cases.loc[both, b] < cases.loc[both, a] - 1e-9).any():
            problems.append(f"{b} before {a}")
    return problems


def conservation(out) -> Check:
    problems = conservation_violations(out)
    n_open = int((out.cases["exit"] == Exit.OPEN).sum())
    return Check(
        "conservation",
        not problems,
        "; ".join(problems) if problems else f"{len(out.cases):,} cases: each has one exit or is open ({n_open:,} open at the horizon)",
        {"cases": len(out.cases), "open_at_end": n_open, "violations": problems},
    )


# --------------------------------------------------------------------------- the women's pathway


def women_littles_law(out, tolerance: float = 0.05) -> Check:
    """Each women's service: the monitored time-average of busy key-worker places against the
    support spells recorded (the pathway's women and the outside referrals) overlapping the window,
    divided by its length (L = lambda W in its finite-window form)."""
    start, end = out.warmup, out.horizon
    cases = out.stage_data["arrests"]["cases"]
    ts = out.timeseries
    values, worst = {}, 0.0
    for name, used in out.stage_data["womens_centres"].items():
        spells = used["outside_episodes"]
        mine = cases[(cases["service"].astype(str) == name) & cases["t_service_start"].notna()]
        began = np.concatenate([mine["t_service_start"].to_numpy(), spells[:, 0]])
        ended = np.concatenate([mine["t_service_end"].fillna(end).to_numpy(), spells[:, 1]])
        l_spells = float(np.clip(np.minimum(ended, end) - np.maximum(began, start), 0.0, None).sum() / (end - start))
        busy = ts[(ts["series"] == f"{name}_busy") & (ts["day"] >= start) & (ts["day"] < end)]["value"]
        l_monitored = float(busy.mean()) if len(busy) else float("nan")
        values[name] = {"L_monitored": l_monitored, "L_from_spells": l_spells}
        worst = max(worst, abs(l_monitored - l_spells) / max(l_spells, 1.0))
    return Check(
        "littles_law_womens_services",
        worst <= tolerance,
        "women's services, busy places monitored against support spells / days: "
        + ", ".join(f"{n} {v['L_monitored']:,.1f} vs {v['L_from_spells']:,.1f}" for n, v in values.items()),
        values,
    )


def women_conservation_violations(out) -> list[str]:
    """What, if anything, breaks the women's case accounting and time rules in one replication."""
    data = out.stage_data["arrests"]
    cases, spells = data["cases"], data["spells"]
    problems = []
    allowed = {Exit.OPEN, Exit.NFA, Exit.OUT_OF_COURT, Exit.DIVERTED, Exit.ACQUITTED, Exit.CONVICTED}
    if not set(cases["exit"].unique()) <= allowed:
        problems.append("an arrest has an exit outside the women's pathway's")
    is_open = cases["exit"] == Exit.OPEN
    if cases.loc[is_open, "t_exit"].notna().any() or cases.loc[~is_open, "t_exit"].isna().any():
        problems.append("an exit time does not match the exit")
    if (cases.loc[~is_open, "t_exit"] < cases.loc[~is_open, "t_arrest"] - 1e-9).any():
        problems.append("a case closed before the arrest")
    court = cases["exit"].isin([Exit.ACQUITTED, Exit.CONVICTED])
    if cases.loc[court, "t_charge"].isna().any() or not np.allclose(cases.loc[court, "t_sentence"], cases.loc[court, "t_exit"]):
        problems.append("a court outcome without a charge, or not at the sentence")
    released = cases["t_release"].notna()
    if (cases.loc[released, "t_release"] < cases.loc[released, "t_sentence"] - 1e-9).any():
        problems.append("a release before the sentence")
    if (cases["recalls"] > 0).sum() and cases.loc[cases["recalls"] > 0, "t_release"].isna().any():
        problems.append("a recall of a woman never released")
    prison = spells[spells["spell"] == "prison"].merge(cases[["row", "woman"]], on="row")
    both = prison.merge(cases[["woman", "t_arrest"]], on="woman")
    if ((both["t_arrest"] > both["start"] + 1e-9) & (both["t_arrest"] < both["until"] - 1e-9)).any():
        problems.append("a woman was arrested while in prison")
    return problems


def women_conservation(out) -> Check:
    problems = women_conservation_violations(out)
    cases = out.stage_data["arrests"]["cases"]
    n_open = int((cases["exit"] == Exit.OPEN).sum())
    return Check(
        "conservation_women",
        not problems,
        "; ".join(problems) if problems else f"{len(cases):,} arrests: each has one exit or is open ({n_open:,} open at the horizon); no arrest in prison",
        {"arrests": len(cases), "open_at_end": n_open, "violations": problems},
    )
