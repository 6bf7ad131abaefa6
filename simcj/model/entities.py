"""Cases and their exits.

A *case* is one reported incident: a victim, a suspect when one is identified, and what the system
did with it. Cases are stored column-wise in :class:`CaseTable` (Python lists indexed by case id),
which is both the fastest layout for the event loop and the one that becomes ``cases.parquet``
without per-case conversion.

Every case ends in exactly one :class:`Exit`, or is ``OPEN`` at the end of the run. Incidents that
are never reported are counted, not simulated; their exit is ``NOT_REPORTED``.
"""

from __future__ import annotations

import math
from array import array
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


class Stage(IntEnum):
    """Where an open case is; decides what a withdrawal means."""

    POLICE = 0
    CPS = 1
    COURT = 2
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

# Columns written during the run: (array typecode, or None for a list of labels; initial value).
_OUTCOME_COLUMNS = {
    "stage": ("b", int(Stage.POLICE)),
    "exit": ("b", int(Exit.OPEN)),
    "t_exit": ("d", NAN),
    "ho_outcome": (None, ""),
    "arrested": ("b", 0),
    "t_investigation_queued": ("d", NAN),
    "t_investigation_start": ("d", NAN),
    "t_police_outcome": ("d", NAN),
    "t_cps_referral": ("d", NAN),
    "t_cps_start": ("d", NAN),
    "t_charge_decision": ("d", NAN),
    "t_charge": ("d", NAN),
    "venue": ("b", int(Venue.NONE)),
    "t_first_hearing": ("d", NAN),
    "plea": ("b", int(Plea.NONE)),
    "listings": ("h", 0),
    "evidence_led": ("b", 0),
    "t_trial": ("d", NAN),
    "t_completion": ("d", NAN),
    "support_service": (None, ""),
    "t_support_referral": ("d", NAN),
    "t_support_start": ("d", NAN),
    "t_support_end": ("d", NAN),
    "t_withdrawal": ("d", NAN),
    "court_days": ("d", 0.0),
    "custody_years": ("d", 0.0),
}
_BOOLEAN = ("arrested", "evidence_led")
# Working inputs that are not case records.
_NOT_OUTPUT = ("cls", "risk")


def typed(values: np.ndarray, typecode: str) -> array:
    """A numpy column as a compact ``array.array`` whose items read as plain Python numbers."""
    out = array(typecode)
    out.frombytes(np.ascontiguousarray(values, dtype=np.dtype(typecode)).tobytes())
    return out


class CaseTable:
    """Column store of all simulated (reported) cases of one replication.

    Columns are typed ``array.array`` (8 bytes a time stamp, 1 a code; see :func:`typed`): compact,
    read as plain Python numbers in the event loop, and viewed by numpy at the end. ``inputs`` are
    the pre-drawn times, durations and uniforms; the outcome columns are filled in as the case
    moves through the pathway.
    """

    def __init__(self, inputs: dict[str, object]):
        self.n = len(inputs["t_report"])
        self._input_names = list(inputs)
        for name, column in inputs.items():
            setattr(self, name, column)
        for name, (typecode, initial) in _OUTCOME_COLUMNS.items():
            setattr(self, name, [initial] * self.n if typecode is None else array(typecode, [initial]) * self.n)

    def close(self, i: int, exit_: Exit, t: float, ho_outcome: str | None = None) -> None:
        """Record the case's one exit. Closing a case twice is a bug, so it raises."""
        if self.exit[i] != Exit.OPEN:
            raise RuntimeError(f"case {i} closed twice: {Exit(self.exit[i]).name} then {exit_.name}")
        self.exit[i] = int(exit_)
        self.t_exit[i] = t
        self.stage[i] = int(Stage.CLOSED)
        if ho_outcome is None:
            ho_outcome = HO_OUTCOME.get(exit_)
        if ho_outcome:
            self.ho_outcome[i] = ho_outcome

    def columns(self) -> dict[str, object]:
        """Time stamps, durations and outcomes as arrays (uniform draws and working state excluded)."""
        out = {}
        for name in self._input_names + list(_OUTCOME_COLUMNS):
            if name.startswith(("u_", "e_", "w_")) or name in _NOT_OUTPUT or name == "stage":
                continue
            values = getattr(self, name)
            if isinstance(values, list):
                out[name] = pd.Categorical(values)
            elif name in _BOOLEAN:
                out[name] = np.frombuffer(values, dtype=np.int8).astype(bool)
            else:
                out[name] = np.frombuffer(values, dtype=np.dtype(values.typecode))
        return out
