"""What the pathway costs, per replication, at the scenario's unit costs (``costs:``).

Each stage prices what it does (``Stage.costs``) as one of two kinds, stated in the report:

* **delivery** — capacity funded, at its funded level: police investigating units, CPS units, IDVA
  and ISVA services, SDVC sessions, a specialist RASSO list, and the shared Crown and magistrates'
  sitting days (which also hear non-VAWG cases: an option that adds sitting days pays for all of
  them). An option that adds staff adds their whole cost;
* **consequence** — what follows from the cases: prison, the custody imposed on convictions in the
  window x share served x the cost of a place for a year (a committed cost, undiscounted).

``cost_delivery`` and ``cost_consequence`` sum the lines of each kind and ``cost_total`` both. All
costs are per year of the measured period. Ratios (cost per conviction, per victim supported) are
taken per replication, so their CIs come from the spread across replications like every other KPI.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..engine.stage import pathway
from ..scenario.schema import Scenario
from ..women import table as women

KINDS = ("delivery", "consequence")
RATIOS = ("cost_delivery", "cost_consequence", "cost_total", "cost_per_conviction", "cost_per_victim_supported")


def metric_names() -> set[str]:
    """The totals and ratios this module adds to the stages' own cost lines."""
    return set(RATIOS)


def is_cost_line(metric: str) -> bool:
    """A stage's cost line (summed into ``cost_total``), as opposed to a total or a ratio."""
    return metric.startswith("cost_") and metric not in RATIOS


def women_cost_rows(kpis: pd.DataFrame) -> list[tuple[str, str, float]]:
    """``cost_delivery``, ``cost_consequence`` and ``cost_total`` of the women's pathway (offence
    women_offenders), summed from its stages' cost lines: apart from the VAWG pathway's totals."""
    mine = kpis[(kpis["offence"] == women.OFFENCE) & (kpis["group"] == "all") & kpis["metric"].isin(list(women.COST_KINDS))]
    if mine.empty:
        return []
    by_kind = {kind: float(mine.loc[mine["metric"].map(women.COST_KINDS) == kind, "value"].sum()) for kind in KINDS}
    rows = [(f"cost_{kind}", women.OFFENCE, value) for kind, value in by_kind.items()]
    return rows + [("cost_total", women.OFFENCE, sum(by_kind.values()))]


def cost_rows(scenario: Scenario, kpis: pd.DataFrame) -> pd.DataFrame:
    """Cost KPIs (offence 'all', and women_offenders for the women's pathway) from one replication's
    KPIs; empty if the scenario has no costs."""
    if scenario.costs is None:
        return pd.DataFrame(columns=["metric", "offence", "value"])
    if not any(stage.table == "victims" for stage in pathway(scenario)):
        return pd.DataFrame(women_cost_rows(kpis), columns=["metric", "offence", "value"])
    allv = kpis[(kpis["offence"] == "all") & (kpis["group"] == "all")].set_index("metric")["value"]

    def get(metric: str) -> float:
        return float(allv.get(metric, 0.0))

    lines: dict[str, tuple[str, float]] = {}
    for stage in pathway(scenario):
        lines.update(stage.costs(scenario, get))
    by_kind = {kind: sum(v for k, v in lines.values() if k == kind) for kind in KINDS}
    total = sum(by_kind.values())
    supported = get("victims_supported")
    rows = [(name, "all", value) for name, (_kind, value) in lines.items()]
    rows += [(f"cost_{kind}", "all", value) for kind, value in by_kind.items()]
    rows.append(("cost_total", "all", total))
    rows.append(("cost_per_conviction", "all", total / get("convicted") if get("convicted") > 0 else np.nan))
    rows.append(("cost_per_victim_supported", "all", lines.get("cost_advocacy", ("", 0.0))[1] / supported if supported > 0 else np.nan))
    rows += women_cost_rows(kpis)
    return pd.DataFrame(rows, columns=["metric", "offence", "value"])
