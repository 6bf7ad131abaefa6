"""What the pathway costs, per replication, at the scenario's unit costs (``costs:``).

Each stage prices what it does (``Stage.costs``) as one of two kinds, stated in the report:

* **delivery** — capacity funded, at its funded level: police investigating units, CPS units, IDVA
  and ISVA services, SDVC sessions, a specialist RASSO list, and the shared Crown and magistrates'
  sitting days (which also hear non-VAWG cases: an option that adds sitting days pays for all of
  them). An option that adds staff adds their whole cost;
* **consequence** — what follows from the cases: prison, the custody imposed on convictions in the
  window x share served x the cost of a place for a year (a committed cost, undiscounted);
* **harm** — the social cost of the abuse that happens (``costs.harm``, Home Office unit values):
  not public spending, so never in ``cost_total``; a comparison values the harm an option avoids.

``cost_delivery``, ``cost_consequence`` and ``cost_harm`` sum the lines of each kind and
``cost_total`` the first two. All costs are per year of the measured period. Ratios (cost per conviction, per victim supported) are
taken per replication, so their CIs come from the spread across replications like every other KPI.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..engine.stage import pathway
from ..scenario.schema import Scenario

KINDS = ("delivery", "consequence", "harm")
SPENDING = ("delivery", "consequence")  # what cost_total sums
RATIOS = ("cost_delivery", "cost_consequence", "cost_harm", "cost_total", "cost_per_conviction", "cost_per_victim_supported")


# Settings read only by a comparison's appraisal (simcj.experiment.compare), by no KPI.
APPRAISAL_ONLY = ("costs.optimism_bias",)


def metric_names() -> set[str]:
    """The totals and ratios this module adds to the stages' own cost lines."""
    return set(RATIOS)


def is_cost_line(metric: str) -> bool:
    """A stage's spending line (summed into ``cost_total``), as opposed to a harm line, a total or a ratio."""
    return metric.startswith("cost_") and not metric.startswith("cost_harm") and metric not in RATIOS


def cost_rows(scenario: Scenario, kpis: pd.DataFrame) -> pd.DataFrame:
    """Cost KPIs from one replication's KPIs: each stage's cost lines and their totals, under the
    offence its table reports its totals as ('all' for the victims' pathway, women_offenders for the
    women's), and for the victims' the cost per conviction and per victim supported; empty if the
    scenario has no costs."""
    rows: list[tuple[str, str, float]] = []
    if scenario.costs is None:
        return pd.DataFrame(rows, columns=["metric", "offence", "value"])
    stages = pathway(scenario)
    values = kpis[kpis["group"] == "all"].set_index(["metric", "offence"])["value"].to_dict()
    for offence in dict.fromkeys(stage.totals_offence for stage in stages):

        def get(metric: str, of: str | None = None, totals=offence) -> float:
            return float(values.get((metric, of or totals), 0.0))

        lines: dict[str, tuple[str, float]] = {}
        for stage in stages:
            if stage.totals_offence == offence:
                lines.update(stage.costs(scenario, get))
        if not lines:
            continue
        by_kind = {kind: sum(v for k, v in lines.values() if k == kind) for kind in KINDS}
        total = sum(by_kind[kind] for kind in SPENDING)
        rows += [(name, offence, value) for name, (_kind, value) in lines.items()]
        priced = {kind for kind, _ in lines.values()}
        rows += [(f"cost_{kind}", offence, value) for kind, value in by_kind.items() if kind in SPENDING or kind in priced]
        rows.append(("cost_total", offence, total))
        if offence == "all":
            supported = get("victims_supported")
            rows.append(("cost_per_conviction", offence, total / get("convicted") if get("convicted") > 0 else np.nan))
            rows.append(("cost_per_victim_supported", offence, lines.get("cost_advocacy", ("", 0.0))[1] / supported if supported > 0 else np.nan))
    return pd.DataFrame(rows, columns=["metric", "offence", "value"])
