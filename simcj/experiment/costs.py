"""What the pathway costs, per replication, at the scenario's unit costs (``costs:``).

Two costing rules, stated in the report:

* dedicated resources are costed at their funded capacity: police investigating units, CPS units,
  IDVA and ISVA services, SDVC sessions and a specialist RASSO list. An option that adds staff
  adds their whole cost;
* shared courts (the magistrates' and Crown Court lists, which also hear non-VAWG cases) are costed
  by the sitting days VAWG cases use there: trials, and cracked and ineffective listings.

Prison is the custody imposed on convictions in the window: years imposed x share served x the cost
of a place for a year (a committed cost, undiscounted). All costs are per year of the window.

Ratios (cost per conviction, per victim supported) are taken per replication, so their CIs come
from the spread across replications like every other KPI.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..model.entities import Exit, Venue
from ..scenario.schema import Scenario

SESSIONS_PER_YEAR = 365.0 / 7.0
COMPONENTS = ("cost_police", "cost_cps", "cost_advocacy", "cost_sdvc", "cost_specialist_court", "cost_court_time", "cost_prison")
ACTIVITY = ("custodial_sentences", "prison_years_imposed", "court_days_magistrates", "court_days_crown")
RATIOS = ("cost_total", "cost_per_conviction", "cost_per_victim_supported")


def metric_names() -> set[str]:
    """Every metric this module can add to a replication's KPIs."""
    return set(ACTIVITY) | set(COMPONENTS) | set(RATIOS)


def activity(cases: pd.DataFrame, start: float, end: float, years: float, offences: list[str]) -> pd.DataFrame:
    """Custody and shared court time of prosecutions completed in the window, by offence and all."""
    done = (cases["t_completion"] >= start) & (cases["t_completion"] < end)
    custody = done & (cases["exit"] == Exit.CONVICTED) & (cases["custody_years"] > 0)
    rows = []
    for offence in offences + ["all"]:
        mine = done if offence == "all" else done & (cases["offence"] == offence)
        cust = custody & mine
        rows.append(("custodial_sentences", offence, float(cust.sum()) / years))
        rows.append(("prison_years_imposed", offence, float(cases.loc[cust, "custody_years"].sum()) / years))
        for name, venue in (("magistrates", (Venue.MAGISTRATES,)), ("crown", (Venue.CROWN,))):
            at = mine & cases["venue"].isin(venue)
            rows.append((f"court_days_{name}", offence, float(cases.loc[at, "court_days"].sum()) / years))
    return pd.DataFrame(rows, columns=["metric", "offence", "value"])


def cost_rows(scenario: Scenario, kpis: pd.DataFrame) -> pd.DataFrame:
    """Cost KPIs (offence 'all') from one replication's KPIs; empty if the scenario has no costs."""
    uc = scenario.costs
    if uc is None:
        return pd.DataFrame(columns=["metric", "offence", "value"])
    allv = kpis[(kpis["offence"] == "all") & (kpis["group"] == "all")].set_index("metric")["value"]

    def get(metric: str) -> float:
        return float(allv.get(metric, 0.0))

    sc = scenario
    comp = {
        "cost_police": sum(u.staff for u in sc.police.units.values()) * uc.police_investigator_year,
        "cost_cps": sum(u.staff for u in sc.cps.units.values()) * uc.cps_lawyer_year,
        "cost_advocacy": sum(s.staff * uc.advocate_year[n] for n, s in sc.support.services.items()),
        "cost_sdvc": sc.courts.sdvc.courts * SESSIONS_PER_YEAR * uc.sdvc_session,
        "cost_specialist_court": sc.courts.rasso.sitting_days_per_year * uc.crown_sitting_day if sc.courts.rasso else 0.0,
        "cost_court_time": get("court_days_magistrates") * uc.magistrates_sitting_day + get("court_days_crown") * uc.crown_sitting_day,
        "cost_prison": get("prison_years_imposed") * uc.share_of_sentence_served * uc.prison_place_year,
    }
    total = sum(comp.values())
    supported = sum(get(f"{n}_supported") for n in sc.support.services)
    rows = [(k, "all", v) for k, v in comp.items()]
    rows.append(("cost_total", "all", total))
    rows.append(("cost_per_conviction", "all", total / get("convicted") if get("convicted") > 0 else np.nan))
    rows.append(("cost_per_victim_supported", "all", comp["cost_advocacy"] / supported if supported > 0 else np.nan))
    return pd.DataFrame(rows, columns=["metric", "offence", "value"])
