"""Sentencing: what a conviction leads to.

At conviction the court imposes immediate custody or a non-custodial sentence; a custodial term is
drawn from the offence's sentence-length distribution. Prison is not a capacity in the model (the
prison estate is outside the pathway), so the sentence does not feed back on the flow: it is
recorded on the case and costed (see ``simcj.experiment.costs``).
"""

from __future__ import annotations

import numpy as np

from ..scenario.schema import Sentencing
from .entities import Venue


def receives_custody(p: Sentencing, venue: Venue, u: float) -> bool:
    """Immediate custody, with the probability for the venue that convicted."""
    prob = getattr(p.p_custody, venue.name.lower())
    return prob is not None and u < prob


def custodial_term(p: Sentencing, venue: Venue, u_custody: float, u_length: float) -> float:
    """Years of custody imposed (0 for a non-custodial sentence)."""
    if not receives_custody(p, venue, u_custody):
        return 0.0
    return float(p.custodial_years.ppf(np.array([u_length]))[0])
