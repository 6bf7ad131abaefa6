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

KINDS = ("delivery", "consequence")
RATIOS = ("cost_delivery", "cost_consequence", "cost_total", "cost_per_conviction", "cost_per_victim_supported")


def metric_names() -> set[str]:
    """The totals and ratios this module adds to the stages' own cost lines."""
    return set(RATIOS)


def is_cost_line(metric: str) -> bool:
    """A stage's cost line (summed into ``cost_total``), as opposed to a total or a ratio."""
    return metric.startswith("cost_") and metric not in RATIOS


def cost_rows(scenario: Scenario, kpis: pd.DataFrame) -> pd.DataFrame:
    """Cost KPIs from one replication's KPIs: each stage's cost lines and their totals, under the
    offence its table reports its totals as ('all' for the victims' pathway, women_offenders for the
    women's), and for the victims' the cost per conviction and per victim supported; empty if the
    scenario has no costs."""
    rows: list[tuple[str, str, float]] = []
    if scenario.costs is None:
        return pd.DataFrame(rows, columns=["metric", "offence", "value"])
    stages = pathway(scenario)
    for offence in dict.fromkeys(stage.totals_offence for stage in stages):
        values = kpis[(kpis["offence"] == offence) & (kpis["group"] == "all")].set_index("metric")["value"].to_dict()

        def get(metric: str, values=values) -> float:
            return float(values.get(metric, 0.0))

        lines: dict[str, tuple[str, float]] = {}
        for stage in stages:
            if stage.totals_offence == offence:
                lines.update(stage.costs(scenario, get))
        if not lines:
            continue
        by_kind = {kind: sum(v for k, v in lines.values() if k == kind) for kind in KINDS}
        total = sum(by_kind.values())
        rows += [(name, offence, value) for name, (_kind, value) in lines.items()]
        rows += [(f"cost_{kind}", offence, value) for kind, value in by_kind.items()]
        rows.append(("cost_total", offence, total))
        if offence == "all":
            supported = get("victims_supported")
            rows.append(("cost_per_conviction", offence, total / get("convicted") if get("convicted") > 0 else np.nan))
            rows.append(("cost_per_victim_supported", offence, lines.get("cost_advocacy", ("", 0.0))[1] / supported if supported > 0 else np.nan))
    return pd.DataFrame(rows, columns=["metric", "offence", "value"])
