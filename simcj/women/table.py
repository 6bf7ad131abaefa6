"""The women's case table: women in contact with the criminal justice system, one row an arrest.

The women's pathway (arrests, custody suite, women's courts, probation, women's services) works on
cases of its own, apart from the victims' (see ``Stage.table``): a woman arrested has no victim's
withdrawal clock, and what decides her case is her needs, the disposal, the sentence and what
follows it. Every input is drawn before the run, each from a stream of its own named
``"women_offenders/<column>"``, for every row in arrest order, so common random numbers hold
between options exactly as for the victims' cases.

The rows are a :class:`~simcj.engine.cases.CaseTable`, as the victims' are: the arrests stage draws
them (:meth:`simcj.women.arrests.Arrests.draw`) and every women's stage declares the columns it
writes and the uniforms it reads. A woman's further arrests (reoffending) are rows too: the arrests stage draws *candidate* re-arrests
for each woman at the highest hazard the settings allow and decides at each one's time whether it
happens (thinning, as for repeat victimisation; see :mod:`simcj.women.arrests`). A candidate that
does not happen is dropped from every output.

The women's stages write the table's event log, (day, row, event, detail), so that one woman's
path can be printed (``simcj trace``) and tested stage by stage.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..engine.arrivals import DAYS_PER_YEAR
from ..engine.cases import CaseTable, Exit
from ..scenario.schema import WOMEN_NEEDS

OFFENCE = "women_offenders"  # the offence under which the women's KPIs are reported

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


def frame(women: CaseTable) -> pd.DataFrame:
    """The rows that happened (candidate re-arrests that did not are dropped), with their needs as
    flags: the women's output, numbered as the event log is."""
    keep = np.asarray(women.columns_of("occurred"), dtype=bool) if women.n else np.zeros(0, dtype=bool)
    cols: dict[str, object] = {name: column[keep] for name, column in women.attributes.items()}
    for name in ("woman", "rearrest", "t_arrest"):
        cols[name] = np.asarray(getattr(women, name))[keep]
    needs = np.asarray(women.needs, dtype=np.int64)[keep]
    for need, bit in NEED_BIT.items():
        cols[f"need_{need}"] = (needs & bit) != 0
    for name, column in women.columns().items():
        if name not in cols and name not in ("occurred", "needs"):
            cols[name] = column[keep]
    out = pd.DataFrame(cols)
    out.insert(0, "row", np.flatnonzero(keep))
    return out


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


def column(frame: pd.DataFrame, name: str, default) -> pd.Series:
    """A column of the frame, or ``default`` for every row when the stage that writes it is not in
    the pathway (a pathway may stop before the courts, probation or the women's services)."""
    return frame[name] if name in frame else pd.Series(default, index=frame.index)


def index_events(frame: pd.DataFrame) -> pd.DataFrame:
    """The start of each proven-reoffending follow-up (MoJ definition): a caution or other
    out-of-court disposal, a conviction without immediate custody (at sentence), or release from
    custody. Columns: woman, t_index."""
    convicted = frame["exit"] == Exit.CONVICTED
    out_of_court = frame["exit"].isin([Exit.OUT_OF_COURT, Exit.DIVERTED])
    custody = convicted & (column(frame, "sentence", "") == "custody")
    t_sentence, t_release = column(frame, "t_sentence", np.nan), column(frame, "t_release", np.nan)
    t = np.where(out_of_court, frame["t_exit"], np.where(convicted & ~custody, t_sentence, np.where(custody, t_release, np.nan)))
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
