"""Dated inputs: a setting whose value changes on calendar dates.

In a scenario file any number may be given as a timeline of dated values instead of one value::

    sitting_days_per_year:
      timeline: {2019-04-01: 19800, 2020-04-01: 12900, 2021-04-01: 17500}
      interpolation: step          # or linear
      source: "MoJ, Criminal court statistics: Crown Court sitting days, London, by financial year"

``run.start_date`` names the calendar date of day 0 (the first day of the warm-up). Before its first
date a timeline holds its first value; ``step`` holds each value until the next date, ``linear``
moves from one to the next in monthly steps. The scenario's value is the timeline's on day 0;
:func:`schedule` gives the scenario in force from each later day a value changes, which the world
switches to on that day as it does at an option's intervention date (stages retune: capacity
resizes, probabilities and durations apply to work not yet started). A setting drawn before the
run cannot follow a timeline this way; the volumes that can are drawn with a rate that follows
theirs (:data:`DRAWN_BY_DATE`).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

INTERPOLATIONS = ("step", "linear")
TIMELINE_KEYS = frozenset({"timeline", "interpolation"})
# Settings drawn before the run whose draw follows their timeline (the rate of a Poisson process).
DRAWN_BY_DATE = (
    r"^offences\.[^.]+\.reporting\.incidents_per_year$",
    r"^courts\.(crown|magistrates)\.background_cases_per_year$",
    r"^courts\.(crown|magistrates)\.background_sitting_days\.[a-z_]+$",
    r"^marac\.agency_referrals_per_year\.[^.]+$",
)
MONTH_DAYS = 365.25 / 12.0


@dataclass(frozen=True)
class Timeline:
    """Dated values of one setting, in date order."""

    points: tuple[tuple[dt.date, float], ...]
    interpolation: str = "step"

    def at_date(self, when: dt.date) -> float:
        """The value in force on ``when``."""
        dates = [d for d, _ in self.points]
        if when < dates[0]:
            return self.points[0][1]
        k = max(i for i, d in enumerate(dates) if d <= when)
        if self.interpolation == "step" or k == len(dates) - 1:
            return self.points[k][1]
        (d0, v0), (d1, v1) = self.points[k], self.points[k + 1]
        return v0 + (v1 - v0) * (when - d0).days / (d1 - d0).days

    def at(self, day: float, start: dt.date) -> float:
        """The value in force on simulated day ``day`` of a run whose day 0 is ``start``."""
        return self.at_date(start + dt.timedelta(days=math.floor(day)))

    def change_days(self, start: dt.date, horizon: float) -> list[float]:
        """The days in (0, horizon) on which the value changes: each date (step), or each month
        between dates (linear)."""
        days = []
        for k, (d, _v) in enumerate(self.points):
            day = float((d - start).days)
            days.append(day)
            if self.interpolation == "linear" and k + 1 < len(self.points):
                nxt = float((self.points[k + 1][0] - start).days)
                m = 1
                while day + m * MONTH_DAYS < nxt - MONTH_DAYS / 2:  # no step within half a month of the next date
                    days.append(day + round(m * MONTH_DAYS))
                    m += 1
        return sorted({x for x in days if 0.0 < x < horizon})

    def maximum(self) -> float:
        return max(v for _, v in self.points)

    def levels(self, days: np.ndarray, start: dt.date) -> np.ndarray:
        """The value on each of ``days`` (simulated days of a run whose day 0 is ``start``) as a share
        of the largest: a Poisson rate's thinning. Linear values move day by day here."""
        at = np.array([float((d - start).days) for d, _ in self.points])
        values = np.array([v for _, v in self.points]) / self.maximum()
        day = np.floor(days)
        if self.interpolation == "linear":
            return np.interp(day, at, values)
        return values[np.clip(np.searchsorted(at, day, side="right") - 1, 0, None)]


def parse(node: dict) -> tuple[Timeline | None, list[tuple[str, str]]]:
    """A ``{timeline: {...}, interpolation: ...}`` node as a :class:`Timeline`, or the problems
    found as (sub-key, message)."""
    problems = []
    raw = node.get("timeline")
    interpolation = node.get("interpolation", "step")
    if interpolation not in INTERPOLATIONS:
        problems.append(("interpolation", f"expected one of {list(INTERPOLATIONS)}, found {interpolation!r}"))
    if not isinstance(raw, dict) or not raw:
        return None, problems + [("timeline", "expected a mapping of dates to values, e.g. {2019-04-01: 19800, 2020-04-01: 12900}")]
    points = []
    for key, value in raw.items():
        when = as_date(key)
        if when is None:
            problems.append((f"timeline.{key}", f"expected a date written YYYY-MM-DD, found {key!r}"))
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            problems.append((f"timeline.{key}", f"expected a finite number, found {value!r}"))
        else:
            points.append((when, float(value)))
    if problems:
        return None, problems
    return Timeline(tuple(sorted(points)), interpolation), []


def as_date(value) -> dt.date | None:
    """A date from YAML (a date, or text YYYY-MM-DD), or None."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def calendar(start: dt.date, days) -> pd.DatetimeIndex:
    """The calendar dates of simulated days ``days`` of a run whose day 0 is ``start`` (each day's
    whole part: day 366.5 is the 367th day)."""
    return pd.Timestamp(start) + pd.to_timedelta(np.floor(np.asarray(days, dtype=float)), unit="D")


def drawn_by_date(path: str) -> bool:
    """Is ``path`` a setting drawn before the run whose draw follows its timeline?"""
    return any(re.match(rule, path) for rule in DRAWN_BY_DATE)
