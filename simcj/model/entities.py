"""Cases and their exits.

A *case* is one reported incident: a victim, a suspect when one is identified, and what the system
did with it. Cases are stored column-wise in :class:`CaseTable` (Python lists indexed by case id),
which is both the fastest layout for the event loop and the one that becomes ``cases.parquet``
without per-case conversion.

Every case ends in exactly one :class:`Exit`, or is ``OPEN`` at the end of the run. Incidents that
are never reported are counted, not simulated; their exit is ``NOT_REPORTED``.
"""

from __future__ import annotations

from enum import IntEnum
import math

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

# Home Office crime outcome assigned with each pre-charge exit ("" where none is assigned).
HO_OUTCOME = {
    Exit.NO_SUSPECT: "O18",
    Exit.EVIDENTIAL_DIFFICULTIES: "O15",
    Exit.WITHDREW_PRE_CHARGE: "O16",
    Exit.NFA: "O15",
}
HO_CHARGE = "O1"
HO_CAUTION = "O3"

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

# Columns written during the run, with their initial value.
_OUTCOME_COLUMNS = {
    "stage": int(Stage.POLICE),
    "exit": int(Exit.OPEN),
    "t_exit": NAN,
    "ho_outcome": "",
    "arrested": False,
    "t_investigation_queued": NAN,
    "t_investigation_start": NAN,
    "t_police_outcome": NAN,
    "t_cps_referral": NAN,
    "t_cps_start": NAN,
    "t_charge_decision": NAN,
    "t_charge": NAN,
    "venue": int(Venue.NONE),
    "t_first_hearing": NAN,
    "plea": int(Plea.NONE),
    "listings": 0,
    "evidence_led": False,
    "t_trial": NAN,
    "t_completion": NAN,
    "support_service": "",
    "t_support_referral": NAN,
    "t_support_start": NAN,
    "t_support_end": NAN,
    "t_withdrawal": NAN,
}


class CaseTable:
    """Column store of all simulated (reported) cases of one replication.

    ``inputs`` are the pre-drawn attributes, durations and uniforms (lists, one entry per case);
    the outcome columns are filled in as the case moves through the pathway.
    """

    def __init__(self, inputs: dict[str, list]):
        self.n = len(inputs["t_report"])
        for name, column in inputs.items():
            setattr(self, name, column)
        for name, initial in _OUTCOME_COLUMNS.items():
            setattr(self, name, [initial] * self.n)
        self._input_names = list(inputs)

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
        """Time stamps, durations and outcomes as typed arrays (uniform draws and working state excluded)."""
        out = {}
        for name in self._input_names + list(_OUTCOME_COLUMNS):
            if name.startswith(("u_", "e_", "w_")) or name in ("cls", "stage", "risk"):
                continue
            values = getattr(self, name)
            initial = _OUTCOME_COLUMNS.get(name, 0.0)
            if isinstance(initial, bool):
                out[name] = np.array(values, dtype=bool)
            elif isinstance(initial, int):
                out[name] = np.array(values, dtype=np.int16)
            elif isinstance(initial, str):
                out[name] = pd.Categorical(values)
            else:
                out[name] = np.array(values, dtype=np.float64)
        return out
