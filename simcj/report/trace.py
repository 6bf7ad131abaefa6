"""One case's path through the pathway, event by event (``simcj trace``).

For a case of the VAWG pathway the events are its time stamps (every ``t_`` column it reached) in
time order, closed by its exit and Home Office outcome. For a woman of the women's pathway they are
the stages' event log for every arrest of the same woman, so that her reoffending shows as the new
arrests it is. Days count from the start of the run; the warm-up ends at ``run.warmup_years``.
"""

from __future__ import annotations

import math

import pandas as pd

from ..engine.cases import Exit
from ..engine.world import ReplicationOutput, run_replication
from ..scenario.schema import Scenario
from ..women.table import EXIT_LABELS

# How a VAWG time stamp reads (columns not listed read as their name without the ``t_``).
LABELS = {
    "t_incident": "incident",
    "t_report": "reported to the police",
    "t_investigation_queued": "investigation: waiting for an officer",
    "t_investigation_start": "investigation started",
    "t_police_outcome": "police outcome",
    "t_cps_referral": "referred to the CPS",
    "t_charge_decision": "CPS charging decision",
    "t_charge": "charged",
    "t_completion": "prosecution completed",
    "t_withdrawal": "victim withdrew",
    "t_support_referral": "referred to advocacy",
    "t_support_start": "advocate allocated",
    "t_support_end": "advocacy ended",
    "t_marac": "heard at MARAC",
}


class NoSuchCase(LookupError):
    pass


def trace_output(scenario: Scenario, output: ReplicationOutput, case: int) -> pd.DataFrame:
    """The events of ``case`` in a replication's output: day, case, event, detail."""
    women = output.stage_data.get("arrests")
    if women is not None:
        return _woman(women, case)
    return _victim_case(output.cases, case)


def trace(scenario: Scenario, case: int, replication: int = 0, seed: int | None = None, progress=None) -> pd.DataFrame:
    """Run one replication and trace ``case`` in it (``progress`` is told the fraction simulated)."""
    output = run_replication(scenario, replication, scenario.run.seed if seed is None else seed, progress)
    return trace_output(scenario, output, case)


def _victim_case(cases: pd.DataFrame, case: int) -> pd.DataFrame:
    if not 0 <= case < len(cases):
        raise NoSuchCase(f"case {case}: the run has cases 0 to {len(cases) - 1}")
    row = cases.iloc[case]
    events = []
    for column in cases.columns:
        if column.startswith("t_") and column != "t_exit":
            t = row[column]
            if isinstance(t, float) and not math.isnan(t):
                events.append((t, case, LABELS.get(column, column[2:].replace("_", " ")), ""))
    if row["exit"] != Exit.OPEN:
        detail = f"Home Office outcome {row['ho_outcome']}" if row.get("ho_outcome", "") else ""
        events.append((row["t_exit"], case, f"case closed: {Exit(row['exit']).label}", detail))
    else:
        events.append((math.inf, case, "open at the end of the run", ""))
    out = pd.DataFrame(events, columns=["day", "case", "event", "detail"])
    return out.sort_values("day", kind="stable").reset_index(drop=True)


def _woman(data: dict, case: int) -> pd.DataFrame:
    frame, events = data["cases"], data["events"]
    rows = frame[frame["row"] == case]
    if rows.empty:
        raise NoSuchCase(f"case {case}: no arrest with that number happened in the run (the women's cases are numbered by the 'row' column of women_cases)")
    woman = rows["woman"].iloc[0]
    mine = frame.loc[frame["woman"] == woman, "row"]
    out = events[events["row"].isin(set(mine))].rename(columns={"row": "case"})
    closing = frame[frame["woman"] == woman][["row", "exit", "t_exit"]]
    exits = [(t, r, f"case closed: {EXIT_LABELS[Exit(e)]}", "") for r, e, t in closing.itertuples(index=False) if e != Exit.OPEN]
    out = pd.concat([out, pd.DataFrame(exits, columns=out.columns)], ignore_index=True)
    return out.sort_values(["day", "case"], kind="stable").reset_index(drop=True)


def describe(scenario: Scenario, table: pd.DataFrame) -> str:
    """The trace as text: day (and year of the run), case, event, detail."""
    warmup = scenario.run.warmup_years * 365.0
    lines = [f"{'day':>8}  {'case':>7}  event"]
    for day, case, event, detail in table.itertuples(index=False):
        when = "     end" if math.isinf(day) else f"{day:8.1f}"
        mark = " (warm-up)" if day < warmup else ""
        lines.append(f"{when}  {case:>7}  {event}{': ' + detail if detail else ''}{mark}")
    return "\n".join(lines)
