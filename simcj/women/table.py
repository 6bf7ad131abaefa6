"""The women's case table: women in contact with the criminal justice system, one row an arrest.

The women's pathway (arrests, custody suite, women's courts, probation, women's services) works on
cases of its own, apart from the victims' (see ``Stage.table``): a woman arrested has no victim's
withdrawal clock, and what decides her case is her needs, the disposal, the sentence and what
follows it. Every input is drawn before the run, each from a stream of its own named
``"women_offenders/<column>"``, for every row in arrest order, so common random numbers hold
between options exactly as for the victims' cases.

A woman's further arrests (reoffending) are rows too: the arrests stage draws *candidate* re-arrests
for each woman at the highest hazard the settings allow and decides at each one's time whether it
happens (thinning, as for repeat victimisation; see :mod:`simcj.women.arrests`). A candidate that
does not happen is dropped from every output.

The table also keeps an event log, (day, row, event, detail), so that one woman's path can be
printed (``simcj trace``) and tested stage by stage.
"""

from __future__ import annotations

import math
from array import array

import numpy as np
import pandas as pd

from ..engine.arrivals import DAYS_PER_YEAR
from ..engine.cases import Exit
from ..scenario.schema import WOMEN_NEEDS

OFFENCE = "women_offenders"  # the offence under which the women's KPIs are reported

# Per-row uniforms, each its own stream (names are the columns).
UNIFORMS = (
    "u_occurs", "u_ld_screened", "u_ld_referral", "u_disposal", "u_eligible", "u_remanded",
    "u_convicted", "u_custody", "u_suspended", "u_community", "u_requirement", "u_release_referral",
    "u_engages", "u_d_decision", "u_d_sentence", "u_d_custodial", "u_d_order", "u_d_service",
)
KEYS = ("k_recall",)  # recalls may come any number of times: counter-based draws (streams.case_uniform)

# Outcome columns: name -> (typecode, initial); typecode None for a text label.
NAN = math.nan
COLUMNS = {
    "exit": ("b", int(Exit.OPEN)),
    "t_exit": ("d", NAN),
    "occurred": ("b", 0),
    "ld_screened": ("b", 0),
    "t_decision": ("d", NAN),
    "disposal": (None, ""),
    "t_charge": ("d", NAN),
    "remanded": ("b", 0),
    "t_sentence": ("d", NAN),
    "sentence": (None, ""),
    "custodial_days": ("d", 0.0),
    "problem_solving_court": ("b", 0),
    "t_release": ("d", NAN),
    "t_supervision_end": ("d", NAN),
    "recalls": ("h", 0),
    "t_first_recall": ("d", NAN),
    "service": (None, ""),
    "engaged": ("b", 0),
    "service_route": (None, ""),
    "t_service_referral": ("d", NAN),
    "t_service_start": ("d", NAN),
    "t_service_end": ("d", NAN),
}
# How a woman's case ends, in her pathway's words.
EXIT_LABELS = {
    Exit.NFA: "no further action",
    Exit.OUT_OF_COURT: "out-of-court disposal",
    Exit.DIVERTED: "diverted: conditional caution complied with",
    Exit.ACQUITTED: "not convicted",
    Exit.CONVICTED: "convicted and sentenced",
}
NEED_BIT = {need: 1 << k for k, need in enumerate(WOMEN_NEEDS)}
# The needs a women's service supports (a first offence and children are circumstances, not needs).
SUPPORT_NEEDS = NEED_BIT["da_victim"] | NEED_BIT["mental_health"] | NEED_BIT["substance_use"] | NEED_BIT["housing"]
# The women's pathway's cost lines (KPIs of offence women_offenders) and their kind: delivery is the
# capacity funded (screening, cautions administered, women's services' places, a court's places);
# consequence is what follows from the cases (prison places, probation supervision).
COST_KINDS = {
    "cost_ld": "delivery",
    "cost_conditional_cautions": "delivery",
    "cost_womens_centres": "delivery",
    "cost_problem_solving_court": "delivery",
    "cost_prison_women": "consequence",
    "cost_probation_women": "consequence",
}


class WomenCases:
    """Column store of the women's rows, read and written by the women's stages during the run."""

    def __init__(self, inputs: dict[str, np.ndarray], attributes: dict[str, pd.Categorical]):
        self.n = len(inputs["t_arrest"])
        self.attributes = attributes
        self._inputs = list(inputs)
        for name, values in inputs.items():
            setattr(self, name, values.tolist())
        for name, (typecode, initial) in COLUMNS.items():
            setattr(self, name, [initial] * self.n if typecode is None else array(typecode, [initial]) * self.n)
        self.events: list[tuple[float, int, str, str]] = []

    def log(self, t: float, i: int, event: str, detail: str = "") -> None:
        self.events.append((t, i, event, detail))

    def close(self, i: int, exit_: Exit, t: float) -> None:
        if self.exit[i] != Exit.OPEN:
            raise RuntimeError(f"women's case {i} closed twice: {Exit(self.exit[i]).name} then {exit_.name}")
        self.exit[i] = int(exit_)
        self.t_exit[i] = t

    def frame(self) -> pd.DataFrame:
        """The rows that happened (candidate re-arrests that did not are dropped), with their needs
        as flags, and the event log re-numbered to match."""
        keep = np.frombuffer(self.occurred, dtype=np.int8).astype(bool) if self.n else np.zeros(0, dtype=bool)
        cols: dict[str, object] = {name: column[keep] for name, column in self.attributes.items()}
        for name in ("woman", "rearrest", "t_arrest"):
            cols[name] = np.asarray(getattr(self, name))[keep]
        needs = np.asarray(self.needs, dtype=np.int64)[keep]
        for need, bit in NEED_BIT.items():
            cols[f"need_{need}"] = (needs & bit) != 0
        for name, (typecode, _initial) in COLUMNS.items():
            if name == "occurred":
                continue
            values = getattr(self, name)
            cols[name] = pd.Categorical(np.asarray(values, dtype=object)[keep]) if typecode is None else np.asarray(values)[keep]
        frame = pd.DataFrame(cols)
        frame.insert(0, "row", np.flatnonzero(keep))
        return frame

    def event_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.events, columns=["day", "row", "event", "detail"])


def needs_mask(u: np.ndarray, prevalence: dict[str, float]) -> np.ndarray:
    """Each woman's needs as bits, need k present when her k-th uniform is under its prevalence."""
    mask = np.zeros(u.shape[0], dtype=np.int64)
    for k, need in enumerate(WOMEN_NEEDS):
        mask |= np.where(u[:, k] < prevalence.get(need, 0.0), NEED_BIT[need], 0)
    return mask


def hr_from_pp(pp: float, comparison_rate: float) -> float:
    """The hazard ratio that takes a 12-month reoffending rate of ``comparison_rate`` down by ``pp``
    percentage points, for a constant hazard over the year: ln(1 - (r - pp)) / ln(1 - r)."""
    r = comparison_rate
    target = max(r - pp / 100.0, 1e-6)
    return math.log1p(-target) / math.log1p(-r)


def index_events(frame: pd.DataFrame) -> pd.DataFrame:
    """The start of each proven-reoffending follow-up (MoJ definition): a caution or other
    out-of-court disposal, a conviction without immediate custody (at sentence), or release from
    custody. Columns: woman, t_index."""
    convicted = frame["exit"] == Exit.CONVICTED
    out_of_court = frame["exit"].isin([Exit.OUT_OF_COURT, Exit.DIVERTED])
    custody = convicted & (frame["sentence"] == "custody")
    t = np.where(out_of_court, frame["t_exit"], np.where(convicted & ~custody, frame["t_sentence"], np.where(custody, frame["t_release"], np.nan)))
    out = pd.DataFrame({"woman": frame["woman"].to_numpy(), "t_index": t, "row": frame["row"].to_numpy()})
    return out[np.isfinite(out["t_index"])]


PROVING_DAYS = 182.5  # an offence in the 12 months counts if proven within a further six months (MoJ)


def reoffending_cohort(start: float, horizon: float) -> tuple[float, float]:
    """The proven-reoffending cohort: index events from ``start`` to 18 months before the horizon,
    so that every woman's 12 months and the six months to prove an offence end inside the run."""
    return start, horizon - DAYS_PER_YEAR - PROVING_DAYS


def proven_reoffending(frame: pd.DataFrame, start: float, end: float) -> pd.DataFrame:
    """The MoJ's proven reoffending for the cohort of women with an index event in [start, end):
    each woman once, from her first index event in the period; did she commit an offence (an
    arrest) within 12 months that was proven (caution, conditional caution or conviction) within
    six months more?"""
    index = index_events(frame)
    index = index[(index["t_index"] >= start) & (index["t_index"] < end)].sort_values("t_index", kind="stable")
    index = index.drop_duplicates("woman", keep="first")
    proven = frame[frame["exit"].isin([Exit.OUT_OF_COURT, Exit.DIVERTED, Exit.CONVICTED])][["woman", "t_arrest", "t_exit"]]
    pairs = index.merge(proven, on="woman", how="left")
    offended = (pairs["t_arrest"] > pairs["t_index"]) & (pairs["t_arrest"] <= pairs["t_index"] + DAYS_PER_YEAR)
    pairs["reoffended"] = offended & (pairs["t_exit"] <= pairs["t_index"] + DAYS_PER_YEAR + PROVING_DAYS)
    return pairs.groupby(["row", "woman", "t_index"], as_index=False)["reoffended"].any()


def in_window(frame: pd.DataFrame, column: str, start: float, end: float) -> pd.DataFrame:
    """The rows whose time stamp ``column`` falls in [start, end)."""
    return frame[(frame[column] >= start) & (frame[column] < end)]


def share(flags: pd.Series) -> float:
    return float(flags.mean()) if len(flags) else float("nan")


def need_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith("need_")]


def by_group(frame: pd.DataFrame):
    """(group, rows) for the whole frame ('all') and each borough, ethnic group and need."""
    yield "all", frame
    for column in ("borough", "ethnicity"):
        for value, part in frame.groupby(column, observed=True):
            yield f"{column}={value}", part
    for column in need_columns(frame):
        yield f"need={column[5:]}", frame[frame[column]]
