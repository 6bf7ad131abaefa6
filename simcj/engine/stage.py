"""The stage contract: what every stage of the pathway declares, builds and reports.

A stage is one step a case can pass through: reporting, police investigation, the CPS charging
decision, the courts, sentencing, advocacy support. The world is assembled from the stages a
scenario names under ``pathway:`` (the module ``simcj.vawg.<name>`` or ``simcj.women.<name>`` holds
stage ``<name>``), and
nothing else in simcj lists them: KPIs, costs, the monitor and the reports ask the stages.

A stage declares, as class attributes:

* ``name`` — its name in ``pathway:`` and the module it lives in;
* ``entries`` — the outcomes of other stages that send it cases, as ``"stage.outcome"``
  (``"police.referred"``); ``outcomes`` — the outcomes it sends onward;
* ``uniforms``, ``durations``, ``keys`` — the per-case random inputs it needs. Each is a stream of
  its own named ``"{offence}/{column}"`` (see :mod:`simcj.engine.streams`), drawn up front for every
  case of every class, so adding a stage or an input never moves another's draws. A duration is
  a function of the scenario and the offence class giving the distribution (or None: zero). Each
  name, and each of ``columns``, belongs to one stage of a table (``register`` refuses a second);
* ``columns`` — the case columns and time stamps it writes, ``{name: (typecode, initial)}``:
  typecode ``"d"`` a float, ``"b"``/``"h"`` a small integer, ``"?"`` a flag, None a text label;
* ``table`` — the cases it works on: ``"victims"`` (the VAWG case table, one row a reported
  incident, drawn by reporting) or ``"women"`` (women in contact with the criminal justice system,
  one row an arrest, drawn by the arrests stage; see :mod:`simcj.women.table`). A women's stage
  draws its inputs into the women's table, never into the victims';
* ``victim_withdrawal`` — whether a victim's withdrawal clock runs while it works on a case
  (police, charging: yes). Classes without a ``withdrawal:`` section have no victim clock at all;
* ``needs`` — what of other stages it cannot work without, as ``"stage.name"``: an outcome that
  sends it cases, a case column it reads, a service it calls (``provides``); a pathway that lacks one
  is refused before the run (:func:`pathway_problems`). ``uses`` — the same, read only when that
  stage is in the pathway. It reaches them through :meth:`Stage.column` and :meth:`Stage.service`,
  which refuse what it has not declared; ``provides`` — its methods other stages may call.

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

from ..scenario.intervention import STAGE_RULES
from ..scenario.schema import ASSEMBLY_CHECKS, PATHWAYS
from .metrics import Metric

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
    """The stage called ``name``, importing its module from a pathway's package if it has not registered yet."""
    for package in PATHWAYS:
        if name in REGISTRY or not name.isidentifier():
            break
        try:
            importlib.import_module(f"{package}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{package}.{name}":
                raise
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


def declared(cls: type[Stage]) -> set[str]:
    """What a stage offers others by name: its case columns, outcomes and services."""
    return case_names(cls) | set(cls.outcomes) | set(cls.provides)


def pathway_problems(scenario) -> list[tuple[str, str]]:
    """A pathway's stages exist, and every stage has what it needs of the others: (key path, what is wrong)."""
    problems = []
    names = list(scenario.pathway)
    for k, name in enumerate(names):
        if not known_stage(name):
            problems.append((f"pathway.{k}", f"'{name}' is not a stage (a module of simcj.vawg or simcj.women that registers one)"))
            continue
        cls = stage_class(name)
        for ref in cls.needs:
            owner = ref.partition(".")[0]
            if owner not in names:
                problems.append((f"pathway.{k}", f"'{name}' needs {ref}: add the '{owner}' stage to the pathway"))
        problems += cls.problems(scenario)
    women = [n for n in names if known_stage(n) and stage_class(n).table == "women"]
    if women and scenario.women is None:
        problems.append(("women", f"the pathway has the women's stages {women}, which need a women: section"))
    return problems


ASSEMBLY_CHECKS.append(pathway_problems)
STAGE_RULES.append(lambda scenario: [rule for cls in pathway(scenario) for rule in cls.fixed_at_date])


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
    totals_offence: ClassVar[str] = "all"  # the offence its table's totals (costs) are reported under
    needs: ClassVar[tuple[str, ...]] = ()
    uses: ClassVar[tuple[str, ...]] = ()
    provides: ClassVar[tuple[str, ...]] = ()
    # Its settings an option cannot change at its intervention date (drawn or built before the run):
    # (regular expression over dotted key paths, why). See :mod:`simcj.scenario.intervention`.
    fixed_at_date: ClassVar[tuple[tuple[str, str], ...]] = ()

    def __init__(self, world):
        self.world = world
        self.onward: dict[str, Callable[[int], None]] = {}

    def _declared(self, ref: str) -> bool:
        """Is the stage ``ref`` names in the pathway? (Refused if this stage has not declared it.)"""
        if ref not in self.needs and ref not in self.uses:
            raise TypeError(f"stage '{self.name}' reads {ref} without declaring it in needs or uses")
        return ref.partition(".")[0] in self.world.pathway

    def column(self, ref: str):
        """Another stage's case column (``"support.t_support_start"``), or None without that stage.
        The case table has every stage's columns from the start: a stage may take them when it is built."""
        return getattr(self.world.tables[self.table], ref.partition(".")[2]) if self._declared(ref) else None

    def service(self, ref: str):
        """Another stage's method (``"repeats.occurs"``), or None without that stage: in ``bound()``,
        once every stage is built."""
        return getattr(self.world.stages[ref.partition(".")[0]], ref.partition(".")[2]) if self._declared(ref) else None

    @classmethod
    def draw(cls, scenario, stages: list[type[Stage]], streams, horizon: float, options=()):
        """Before the run: the stage that draws its table's cases (reporting, for the victims') returns
        them, with every input ``stages`` declare; every other stage draws none (None)."""
        return None

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

    def repeat_hazard_ratio(self, victim: int, now: float) -> float:
        """The factor this stage puts on a victim's hazard of further abuse at ``now`` (a refuge
        while she is there); the repeats stage multiplies every stage's. At most 1."""
        return 1.0

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
    def problems(cls, scenario) -> list[tuple[str, str]]:
        """What the scenario lacks or gets wrong for this stage (its section, a name in it): (key path, what is wrong)."""
        return []

    @classmethod
    def catalogue(cls, scenario) -> list[Metric]:
        """Every metric :meth:`kpis`, :meth:`activity` and :meth:`costs` produce for this scenario, and
        those of its case-based metrics it labels or places in the headline tables (the rest are
        described by their kind): see :mod:`simcj.engine.metrics`."""
        return []

    @classmethod
    def kpis(cls, scenario, output, start: float, end: float) -> list[tuple]:
        """System KPIs of this stage as (metric, offence, value), offence 'all' or a class name, or
        (metric, offence, value, group) for a breakdown (``borough=...``)."""
        return []

    # Case-based metrics this stage adds, broken down by offence and victim group, over the per-case
    # indicators that :meth:`indicators` gives for the window (its own, another stage's or the core's:
    # reported, recorded, withdrew, o15, o18, ooc): ``{metric: indicator}`` a count a year;
    # ``{metric: (numerator, denominator)}`` a rate, ``(numerator, denominator, per)`` per ``per``.
    # A metric whose indicators the pathway does not give is not reported.
    case_metrics: ClassVar[dict[str, object]] = {}
    # ``{metric: indicator}``: days (NaN where the case does not count), as median, p90 and mean.
    case_durations: ClassVar[dict[str, str]] = {}
    # ``{metric: ("difference" | "ratio", a, b)}``: of two case-based rates.
    derived_metrics: ClassVar[dict[str, tuple[str, str, str]]] = {}
    # How long before the window a case its indicators count may have been reported (and closed).
    lookback_days: ClassVar[float] = 0.0

    @classmethod
    def indicators(cls, scenario, cases: pd.DataFrame, start: float, end: float) -> dict[str, object]:
        """Per-case indicators in the order of ``cases``: boolean arrays for ``case_metrics``, float
        arrays of days for ``case_durations``."""
        return {}

    @classmethod
    def groups(cls, scenario, cases: pd.DataFrame) -> dict[str, pd.Categorical]:
        """Further breakdowns of every case-based KPI (``support=supported``): ``{name: labels}``."""
        return {}

    @classmethod
    def activity(cls, scenario, cases: pd.DataFrame, start: float, end: float, years: float) -> list[tuple[str, str, float]]:
        """Case-based quantities this stage's costs need (court days, prison years), per year."""
        return []

    @classmethod
    def costs(cls, scenario, get: Callable[..., float]) -> dict[str, tuple[str, float]]:
        """Cost lines a year at the scenario's unit costs: ``{"cost_x": (kind, £)}``, kind ``delivery``
        (capacity funded: staff, sessions, sitting days), ``consequence`` (what follows from the
        cases: prison) or ``harm`` (the social cost of the abuse that happens, at Home Office unit
        values). ``get(metric, offence)`` reads one of the replication's KPIs (offence: the stage's
        totals offence if not given)."""
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
