"""The catalogue's entries: what each metric is, for tables, figures and calibration.

A stage lists the metrics it reports (``Stage.catalogue``), the analysis its own; the catalogue
(:mod:`simcj.experiment.catalogue`) gathers them for a scenario's pathway. An entry names one
metric and says how a board paper labels it, its unit (which says whether it is a flow or a stock, a
volume that scales with ``--scale`` or a rate, and how it is printed) and where it stands in the
headline tables, the attrition funnel and the key results.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Unit:
    kind: str  # flow (a year), stock (at a date), rate (a share or ratio), duration (days), money (£ a year)
    volume: bool  # scales with --scale (a count of cases or people, a stock, money for capacity)
    fmt: str  # how a value is printed
    diff_suffix: str = ""  # said after the label of a difference (a share's difference is in points)


UNITS = {
    "a year": Unit("flow", True, "{:,.0f}"),
    "stock": Unit("stock", True, "{:,.0f}"),
    "share": Unit("rate", False, "{:.1%}", " (points)"),
    "ratio": Unit("rate", False, "{:,.2f}"),
    "per 100": Unit("rate", False, "{:,.1f}"),
    "per 10,000 women": Unit("rate", False, "{:,.1f}"),  # cases over women, both scaled by --scale
    "days": Unit("duration", False, "{:,.0f}"),
    "mean days": Unit("duration", False, "{:,.1f}"),
    "£ a year": Unit("money", True, "{:,.0f}"),
    "£": Unit("money", False, "{:,.0f}"),  # a cost per unit of outcome
    "£ PV": Unit("money", True, "{:,.0f}"),  # a present value over the measured years (simcj.experiment.compare)
}


@dataclass(frozen=True)
class Metric:
    """One metric: its name in the outputs, its label, its unit, and its place in the tables."""

    name: str
    label: str
    unit: str
    headline: int = 0  # its place in the run's headline table (0: not there)
    compare: int = 0  # its place in a comparison's headline table (0: not there)
    by_offence: bool = False  # a comparison's table also gives it for each offence class
    funnel: int = 0  # its place in the attrition funnel (0: not there)
    key: int = 0  # its place among the few results a decision turns on (0: not one), whose precision
    # decides --reps auto and which sensitivity and uncertainty rank parameters against
    short: str = ""  # its name in a figure, if shorter than its label

    def __post_init__(self):
        if self.unit not in UNITS:
            raise ValueError(f"metric {self.name}: unit {self.unit!r} is not one of {sorted(UNITS)}")

    @property
    def fmt(self) -> str:
        return UNITS[self.unit].fmt

    @property
    def volume(self) -> bool:
        return UNITS[self.unit].volume


def yearly(name: str, label: str, unit: str, years) -> list[Metric]:
    """``<name>_<k>`` for each whole measured year k (``name`` ends in ``_at_year`` or ``_in_year``)."""
    return [Metric(f"{name}_{k}", f"{label} (year {k})", unit) for k in years]
