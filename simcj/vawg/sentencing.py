"""Sentencing: what a conviction leads to.

At conviction the court imposes immediate custody or a non-custodial sentence; a custodial term is
drawn from the offence's sentence-length distribution. Prison is not a capacity in the model (the
prison estate is outside the pathway), so the sentence does not feed back on the flow: it is
recorded on the case and costed at the cost of a prison place.
"""

from __future__ import annotations

from pydantic import Field

from ..engine.cases import Exit, Venue
from ..engine.metrics import Metric
from ..engine.stage import Stage, register
from ..scenario.distributions import Duration
from ..scenario.schema import ByVenue, Strict, section

# --------------------------------------------------------------------------- settings (the scenario's section)


@section
class Sentencing(Strict):
    """What a conviction leads to: immediate custody or not, and the custodial term imposed."""

    p_custody: ByVenue = Field(description="immediate custody on conviction, by the venue that convicted")
    custodial_years: Duration = Field(description="custodial sentence imposed, years")


def receives_custody(p: Sentencing, venue: Venue, u: float) -> bool:
    """Immediate custody, with the probability for the venue that convicted."""
    prob = getattr(p.p_custody, venue.name.lower())
    return prob is not None and u < prob


def custodial_term(p: Sentencing, venue: Venue, u_custody: float, u_length: float) -> float:
    """Years of custody imposed (0 for a non-custodial sentence)."""
    if not receives_custody(p, venue, u_custody):
        return 0.0
    return p.custodial_years.at(u_length)


@register
class SentencingStage(Stage):
    """Convictions are sentenced at once; classes without ``sentencing:`` carry no custody."""

    name = "sentencing"
    entries = ("courts.convicted",)
    needs = ("courts.convicted", "courts.venue", "courts.t_completion")
    uniforms = ("u_custody", "u_sentence")
    columns = {"custody_years": ("d", 0.0)}

    def take(self, i: int) -> None:
        c = self.world.cases
        rules = self.world.offence(i).sentencing
        if rules is not None:
            c.custody_years[i] = custodial_term(rules, Venue(c.venue[i]), c.u_custody[i], c.u_sentence[i])

    @classmethod
    def catalogue(cls, scenario) -> list[Metric]:
        return [
            Metric("custodial_sentences", "Custodial sentences a year", "a year", headline=135),
            Metric("prison_years_imposed", "Prison years imposed a year", "a year"),
            Metric("cost_prison", "Prison places' cost a year, £ (the share of sentences served)", "£ a year"),
        ]

    @classmethod
    def activity(cls, scenario, cases, start: float, end: float, years: float) -> list[tuple[str, str, float]]:
        """Custody imposed on convictions in the window, by offence and all."""
        done = (cases["t_completion"] >= start) & (cases["t_completion"] < end)
        custody = done & (cases["exit"] == Exit.CONVICTED) & (cases["custody_years"] > 0)
        rows = []
        for offence in [*scenario.offences, "all"]:
            cust = custody if offence == "all" else custody & (cases["offence"] == offence)
            rows.append(("custodial_sentences", offence, float(cust.sum()) / years))
            rows.append(("prison_years_imposed", offence, float(cases.loc[cust, "custody_years"].sum()) / years))
        return rows

    @classmethod
    def costs(cls, scenario, get) -> dict[str, float]:
        """Years imposed x share served x a prison place for a year (a committed cost, undiscounted)."""
        uc = scenario.costs
        return {"cost_prison": ("consequence", get("prison_years_imposed") * uc.share_of_sentence_served * uc.prison_place_year)}
