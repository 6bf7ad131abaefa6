"""Cases and their exits.

A *case* is one row of a pathway's case table: for the victims' pathway one reported incident (a
victim, a suspect when one is identified, and what the system did with it), for the women's one
arrest. Both are stored column-wise in :class:`CaseTable` (typed arrays and lists indexed by row),
which is both the fastest layout for the event loop and the one that becomes ``cases.parquet``
without per-case conversion: the stage that draws a table's cases (``Stage.draw``) gives its
inputs and its core columns, and every stage of the table declares the columns it writes.

Every case ends in exactly one :class:`Exit`, or is ``OPEN`` at the end of the run. Incidents that
are never reported are counted, not simulated; their exit is ``NOT_REPORTED``.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
import pandas as pd


class Exit(IntEnum):
    OPEN = 0
    NOT_REPORTED = 1
    NOT_RECORDED = 2
    NO_SUSPECT = 3
    EVIDENTIAL_DIFFICULTIES = 4
    WITHDREW_PRE_CHARGE = 5
    NFA = 6
    OUT_OF_COURT = 7
    DIVERTED = 8
    RETRACTION_POST_CHARGE = 9
    DISCONTINUED = 10
    ACQUITTED = 11
    CONVICTED = 12
    NOT_OCCURRED = 13  # a candidate further incident that did not happen (simcj.vawg.repeats): in no output

    @property
    def label(self) -> str:
        return EXIT_LABELS[self]


EXIT_LABELS = {
    Exit.OPEN: "open at end of run",
    Exit.NOT_REPORTED: "not reported",
    Exit.NOT_RECORDED: "not recorded",
    Exit.NO_SUSPECT: "no suspect identified",
    Exit.EVIDENTIAL_DIFFICULTIES: "evidential difficulties",
    Exit.WITHDREW_PRE_CHARGE: "victim withdrew before charge",
    Exit.NFA: "NFA (CPS)",
    Exit.OUT_OF_COURT: "out-of-court disposal",
    Exit.DIVERTED: "diverted",
    Exit.RETRACTION_POST_CHARGE: "retraction after charge",
    Exit.DISCONTINUED: "discontinued",
    Exit.ACQUITTED: "acquitted",
    Exit.CONVICTED: "convicted",
    Exit.NOT_OCCURRED: "did not occur",
}

# Home Office crime outcome assigned with each pre-charge exit ("" where none is assigned). A
# withdrawal before a suspect has been identified is O14 rather than O16 (see World.withdraw_before_charge).
HO_OUTCOME = {
    Exit.NO_SUSPECT: "O18",
    Exit.EVIDENTIAL_DIFFICULTIES: "O15",
    Exit.WITHDREW_PRE_CHARGE: "O16",
    Exit.NFA: "O15",
}
HO_CHARGE = "O1"
HO_CAUTION = "O3"
HO_WITHDREW_NO_SUSPECT = "O14"

PROSECUTION_EXITS = (Exit.RETRACTION_POST_CHARGE, Exit.DISCONTINUED, Exit.ACQUITTED, Exit.CONVICTED)
# Exits with a pre-charge outcome assigned (O15, O16, O18, cautions and out-of-court disposals, NFA).
PRE_CHARGE_EXITS = (Exit.NO_SUSPECT, Exit.EVIDENTIAL_DIFFICULTIES, Exit.WITHDREW_PRE_CHARGE, Exit.NFA, Exit.OUT_OF_COURT)


def within(t: pd.Series, start: float, end: float) -> pd.Series:
    """Time stamps in the window [start, end) (NaN: never)."""
    return (t >= start) & (t < end)


def closed_in(cases: pd.DataFrame, start: float, end: float, exits) -> pd.Series:
    """Cases that left by one of ``exits`` in the window."""
    return within(cases["t_exit"], start, end) & cases["exit"].isin(list(exits))


class Phase(IntEnum):
    """Where an open case is in the prosecution: decides what a victim's withdrawal means."""

    PRE_CHARGE = 0
    AT_MARAC = 1  # an agency's referral waiting for MARAC: no crime recorded, no withdrawal clock yet
    CHARGED = 2
    CLOSED = 3


class Plea(IntEnum):
    NONE = 0
    EARLY_GUILTY = 1
    LATE_GUILTY = 2
    NOT_GUILTY = 3


class Venue(IntEnum):
    NONE = 0
    MAGISTRATES = 1
    SDVC = 2
    CROWN = 3


NAN = math.nan

# Columns every case has, whatever stages it passes: its one exit and when. Each stage adds its own
# (``Stage.columns``).
EXIT_COLUMNS = {"exit": ("b", int(Exit.OPEN)), "t_exit": ("d", NAN)}
# A victim's case also has where it is in the prosecution, its Home Office outcome, and when she withdrew.
CORE_COLUMNS = {
    "phase": ("b", int(Phase.PRE_CHARGE)),
    "exit": ("b", int(Exit.OPEN)),
    "t_exit": ("d", NAN),
    "ho_outcome": (None, ""),
    "t_withdrawal": ("d", NAN),
}
# Working inputs that are not case records.
_NOT_OUTPUT = ("cls", "risk", "phase", "borough_code")


def typed(values: np.ndarray, typecode: str) -> array:
    """A numpy column as a compact ``array.array`` whose items read as plain Python numbers."""
    out = array(typecode)
    out.frombytes(np.ascontiguousarray(values, dtype=np.dtype(typecode)).tobytes())
    return out


class CaseTable:
    """Column store of all the cases of one pathway's table in one replication.

    Columns are typed ``array.array`` (8 bytes a time stamp, 1 a code; see :func:`typed`) or lists:
    compact, read as plain Python numbers in the event loop, and viewed by numpy at the end.
    The drawn cases (:class:`Drawn`) give the pre-drawn times, durations and uniforms (``inputs``),
    the attributes for output and the table's core columns; the outcome columns (the core ones and
    those the stages declare) are filled in as the case moves through the pathway. ``log`` keeps an
    event log, (day, row, event, detail), for a table whose stages write one.
    """

    def __init__(self, drawn: Drawn, columns: dict[str, tuple]):
        inputs = drawn.inputs
        self.n = len(next(iter(inputs.values()))) if inputs else 0
        self.attributes = drawn.attributes
        self.on_close: list = []  # stages told when a case closes: fn(i, t)
        self.events: list[tuple[float, int, str, str]] = []
        self._input_names = list(inputs)
        for name, column in inputs.items():
            setattr(self, name, column)
        self._outputs = {**drawn.core, **columns}
        self._prosecuted = "phase" in drawn.core  # a victim's case: its phase and Home Office outcome are kept
        for name, (typecode, initial) in self._outputs.items():
            if typecode is None:
                values = [initial] * self.n
            else:
                values = array("b" if typecode == "?" else typecode, [initial]) * self.n
            setattr(self, name, values)

    def close(self, i: int, exit_: Exit, t: float, ho_outcome: str | None = None) -> None:
        """Record the case's one exit. Closing a case twice is a bug, so it raises."""
        if self.exit[i] != Exit.OPEN:
            raise RuntimeError(f"case {i} closed twice: {Exit(self.exit[i]).name} then {exit_.name}")
        self.exit[i] = int(exit_)
        self.t_exit[i] = t
        if self._prosecuted:
            self.phase[i] = int(Phase.CLOSED)
            if ho_outcome is None:
                ho_outcome = HO_OUTCOME.get(exit_)
            if ho_outcome:
                self.ho_outcome[i] = ho_outcome
        for hook in self.on_close:
            hook(i, t)

    def log(self, t: float, i: int, event: str, detail: str = "") -> None:
        self.events.append((t, i, event, detail))

    def event_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.events, columns=["day", "row", "event", "detail"])

    def _output_names(self) -> list[str]:
        return [
            name for name in self._input_names + list(self._outputs)
            if not (name.startswith(("u_", "e_", "k_")) or name in _NOT_OUTPUT or "@" in name)
        ]

    def columns(self) -> dict[str, object]:
        """Time stamps, durations and outcomes as arrays (uniform draws, keys and working state excluded)."""
        return {name: self.columns_of(name) for name in self._output_names()}

    def compact(self, keep: np.ndarray) -> None:
        """At the end of a run: keep only the rows ``keep`` of the output columns, one column at a
        time, each replacing its full-length column so that memory never holds two whole tables
        (the candidate further incidents that did not happen are many). Row numbers change: the
        table is for output only after this."""
        for name in self._output_names():
            column = self.columns_of(name)
            setattr(self, name, column[keep])
            del column
        self.attributes = {name: column[keep] for name, column in self.attributes.items()}
        self.n = int(keep.sum())

    def columns_of(self, name: str):
        """One output column as an array (see :meth:`columns`)."""
        values = getattr(self, name)
        if isinstance(values, (list, pd.Categorical)):
            return pd.Categorical(values)
        if isinstance(values, np.ndarray):
            return values
        if self._outputs.get(name, (None,))[0] == "?":
            return np.frombuffer(values, dtype=np.int8).astype(bool)
        return np.frombuffer(values, dtype=np.dtype(values.typecode))


@dataclass(kw_only=True)
class Drawn:
    """A table's cases, drawn before the run by the stage that draws them (``Stage.draw``)."""

    inputs: dict[str, object]  # per-case columns the event loop reads, in the order the cases arrive
    attributes: dict[str, pd.Categorical]  # per-case attributes for output, same order
    core: dict[str, tuple] = field(default_factory=lambda: dict(CORE_COLUMNS))  # the columns every case of the table has


@dataclass(kw_only=True)
class Incidents(Drawn):
    """The victims' cases of a replication, sorted by report time."""

    incident_times: dict[str, np.ndarray]  # every incident of the class in [0, horizon)
    unreported_times: dict[str, np.ndarray]  # incidents in [0, horizon) not reported before the horizon
    repeat_cap: float = 1.0  # candidate further incidents are drawn at this multiple of the repeat rate (see repeats)


def no_incidents(scenario) -> Incidents:
    """An empty victims' table, for a pathway without the victims' stages (the women's alone)."""
    pop = scenario.population
    empty = np.zeros(0)

    def labelled(labels) -> pd.Categorical:
        return pd.Categorical.from_codes(np.zeros(0, dtype=np.int64), list(labels))

    inputs = {"cls": typed(empty, "b"), "t_incident": typed(empty, "d"), "t_report": typed(empty, "d"), "risk": [],
              "e_withdraw": typed(empty, "d"), "victim": typed(empty, "q"), "repeat_incident": typed(empty, "b"),
              "agency_referral": typed(empty, "b"), "borough_code": typed(empty, "h")}
    attributes = {"offence": labelled(scenario.offences), "ethnicity": labelled(pop.ethnicity), "age_band": labelled(pop.age_band),
                  "borough": labelled(pop.borough), "risk": pd.Categorical([])}
    return Incidents(inputs=inputs, attributes=attributes, incident_times={}, unreported_times={})
