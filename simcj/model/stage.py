"""The stage contract: what every stage of the pathway declares, builds and reports.

A stage is one step a case can pass through: reporting, police investigation, the CPS charging
decision, the courts, sentencing, advocacy support. The world is assembled from the stages a
scenario names under ``pathway:`` (the module ``simcj.model.<name>`` holds stage ``<name>``), and
nothing else in simcj lists them: KPIs, costs, the monitor and the reports ask the stages.

A stage declares, as class attributes:

* ``name`` — its name in ``pathway:`` and the module it lives in;
* ``entries`` — the outcomes of other stages that send it cases, as ``"stage.outcome"``
  (``"police.referred"``); ``outcomes`` — the outcomes it sends onward;
* ``uniforms``, ``durations``, ``keys`` — the per-case random inputs it needs. Each is a stream of
  its own named ``"{offence}/{column}"`` (see :mod:`simcj.model.streams`), drawn up front for every
  case of every class, so adding a stage or an input never moves another's draws. A duration is
  a function of the scenario and the offence class giving the distribution (or None: zero). Each
  name, and each of ``columns``, belongs to one stage of a table (``register`` refuses a second);
* ``columns`` — the case columns and time stamps it writes, ``{name: (typecode, initial)}``:
  typecode ``"d"`` a float, ``"b"``/``"h"`` a small integer, ``"?"`` a flag, None a text label;
* ``table`` — the cases it works on: ``"victims"`` (the VAWG case table, one row a reported
  incident, drawn by reporting) or ``"women"`` (women in contact with the criminal justice system,
  one row an arrest, drawn by the arrests stage; see :mod:`simcj.model.women`). A women's stage
  draws its inputs into the women's table, never into the victims';
* ``victim_withdrawal`` — whether a victim's withdrawal clock runs while it works on a case
  (police, charging: yes). Classes without a ``withdrawal:`` section have no victim clock at all.

and implements what it does: ``take(i)`` when a case arrives, ``start()`` when the run starts,
``retune()`` when an option's settings take effect at its intervention date,
``snapshot()`` for the monitored time series, ``finish()`` for what its KPIs will need after the
run, and, without a world, ``kpis``, ``metric_names`` and ``costs`` for the analysis.

Routing is an explicit table bound once per replication (:func:`bind_routes`): each stage's
``onward[outcome]`` is the ``take`` (or ``handler(entry)``) of the stage that receives it, or of
several in pathway order: an outcome may also notify a stage that follows the case without taking
it over (advocacy hears of a charge or an SDVC listing while the courts keep the case). Sending a
case on costs one call, however many stages there are.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import ClassVar, Optional

import pandas as pd

REGISTRY: dict[str, type[Stage]] = {}


def case_names(cls: type[Stage]) -> set[str]:
    """The per-case columns a stage owns: its random inputs and the columns it writes."""
    return {*cls.uniforms, *cls.durations, *cls.keys, *cls.columns}


def register(cls: type[Stage]) -> type[Stage]:
    """Class decorator: make a stage available to ``pathway:`` under its ``name``.

    Two stages of one case table may not own a column of the same name: a shared uniform would
    tie two decisions to one draw (a suspect charged in custody and a custodial sentence)."""
    for other in REGISTRY.values():
        shared = case_names(cls) & case_names(other) if other.table == cls.table and other.name != cls.name else set()
        if shared:
            raise TypeError(f"stages '{other.name}' and '{cls.name}' both declare the case column(s) {sorted(shared)}")
    REGISTRY[cls.name] = cls
    return cls


def stage_class(name: str) -> type[Stage]:
    """The stage called ``name``, importing ``simcj.model.<name>`` if it has not registered yet."""
    if name not in REGISTRY:
        try:
            importlib.import_module(f"{__package__}.{name}")
        except ModuleNotFoundError:
            pass
    if name not in REGISTRY:
        raise KeyError(name)
    return REGISTRY[name]


def pathway(scenario) -> list[type[Stage]]:
    """The stage classes a scenario names, in its order."""
    return [stage_class(n) for n in scenario.pathway]


def known_stage(name: str) -> bool:
    try:
        stage_class(name)
    except KeyError:
        return False
    return True


class Stage:
    """Base class of every stage; the defaults do nothing."""

    name: ClassVar[str]
    entries: ClassVar[tuple[str, ...]] = ()
    outcomes: ClassVar[tuple[str, ...]] = ()
    uniforms: ClassVar[tuple[str, ...]] = ()
    durations: ClassVar[dict[str, Callable]] = {}
    keys: ClassVar[tuple[str, ...]] = ()
    columns: ClassVar[dict[str, tuple[Optional[str], object]]] = {}
    victim_withdrawal: ClassVar[bool] = False
    table: ClassVar[str] = "victims"

    def __init__(self, world):
        self.world = world
        self.onward: dict[str, Callable[[int], None]] = {}

    # ------------------------------------------------------------------ during the run

    def take(self, i: int) -> None:
        """Case ``i`` arrives at this stage."""
        raise NotImplementedError(f"stage {self.name} takes no cases")

    def handler(self, entry: str) -> Callable[[int], None]:
        """What to call when a case arrives by ``entry`` (one of ``entries``): ``take`` unless the
        stage treats its entries differently (advocacy: a referral at report, at charge, at court)."""
        return self.take

    def bound(self) -> None:
        """Called once ``onward`` is set: a stage may keep its routes as attributes here."""

    def start(self) -> None:
        """The run starts (background load, the first arrivals)."""

    def retune(self) -> None:
        """An option's settings take effect (``world.scenario`` is now the option's): resize capacity,
        open or close lists, switch to the option's durations for work not yet started."""

    def snapshot(self) -> Iterable[tuple[str, float]]:
        """(series, value) pairs for the monitor's periodic snapshot."""
        return ()

    def finish(self) -> dict:
        """What this stage's KPIs will need after the run (kept in ``ReplicationOutput.stage_data``)."""
        return {}

    def clear(self) -> None:
        """Drop waiting lists at the end of the run, so the spent world is freed at once."""

    # ------------------------------------------------------------------ after the run (no world)

    @classmethod
    def metric_names(cls, scenario) -> set[str]:
        """Every metric :meth:`kpis` and :meth:`costs` can produce for this scenario."""
        return set()

    @classmethod
    def kpis(cls, scenario, output, start: float, end: float) -> list[tuple]:
        """System KPIs of this stage as (metric, offence, value), offence 'all' or a class name, or
        (metric, offence, value, group) for a breakdown (``borough=...``)."""
        return []

    # Case-based metrics this stage adds, broken down by offence and victim group like the pathway's
    # own: ``{metric: indicator}`` for a count a year, ``{metric: (numerator, denominator)}`` for a
    # rate, over the 0/1 indicators :meth:`indicators` gives for the window.
    case_metrics: ClassVar[dict[str, object]] = {}
    # How long before the window a case its indicators count may have been reported (and closed).
    lookback_days: ClassVar[float] = 0.0

    @classmethod
    def indicators(cls, scenario, cases: pd.DataFrame, start: float, end: float) -> dict[str, object]:
        """Per-case 0/1 indicators (boolean arrays in the order of ``cases``) for ``case_metrics``."""
        return {}

    @classmethod
    def activity(cls, scenario, cases: pd.DataFrame, start: float, end: float, years: float) -> list[tuple[str, str, float]]:
        """Case-based quantities this stage's costs need (court days, prison years), per year."""
        return []

    @classmethod
    def costs(cls, scenario, get: Callable[[str], float]) -> dict[str, tuple[str, float]]:
        """Cost lines a year at the scenario's unit costs: ``{"cost_x": (kind, £)}``, kind ``delivery``
        (capacity funded: staff, sessions, sitting days) or ``consequence`` (what follows from the
        cases: prison). ``get(metric)`` reads one of the replication's KPIs."""
        return {}


def stocks(timeseries: pd.DataFrame, series: list[str], start: float, end: float) -> list[tuple[str, str, float]]:
    """Monitored stocks at stated dates: ``<series>`` at the end of the run and
    ``<series>_at_year_<k>`` at the end of each whole year of the measured period."""
    rows = []
    for name in series:
        s = timeseries[timeseries["series"] == name]
        if s.empty:
            continue
        window = s[(s["day"] >= start) & (s["day"] <= end)]
        rows.append((name, "all", float(window["value"].iloc[-1]) if len(window) else float("nan")))
        for k in range(1, int((end - start) / 365.0 + 1e-9) + 1):
            upto = s[s["day"] <= start + 365.0 * k]
            rows.append((f"{name}_at_year_{k}", "all", float(upto["value"].iloc[-1]) if len(upto) else float("nan")))
    return rows


def bind_routes(stages: list[Stage]) -> dict[str, list[str]]:
    """Set every stage's ``onward`` table from the others' ``entries``; returns the table by name.

    An outcome no stage in the pathway receives goes nowhere (e.g. a conviction with no sentencing
    stage): the case simply stays where the sender left it.
    """
    table: dict[str, list[str]] = {}
    for sender in stages:
        for outcome in sender.outcomes:
            key = f"{sender.name}.{outcome}"
            takers = [s for s in stages if key in s.entries]
            table[key] = [s.name for s in takers]
            sender.onward[outcome] = _fan_out([s.handler(key) for s in takers])
    for stage in stages:
        stage.bound()
    return table


def _fan_out(takers: list[Callable[[int], None]]) -> Callable[[int], None]:
    if not takers:
        return _nowhere
    if len(takers) == 1:
        return takers[0]

    def every(i: int) -> None:
        for take in takers:
            take(i)

    return every


def _nowhere(i: int) -> None:
    return None
