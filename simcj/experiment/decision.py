"""The commissioner's decision under uncertainty: which option is best, how sure, what is worth finding out.

`simcj compare --uncertainty N` gives each option's present values on each of N sets of the
uncertain parameters (each set with its own seeds, see :mod:`simcj.experiment.uncertainty`). An
option's **net benefit** on a set is its NPSV against the base (the base's is 0: doing nothing new).
From the sets:

* :func:`acceptability` — the probability that each option (or the base) has the highest net
  benefit, as the scenario values the outcomes and as the value put on one outcome ranges over a
  grid (further abuse avoided, extra convictions, withdrawals avoided; the last two are valued at
  nothing in the NPSV, so their curves show what a commissioner would have to value them at);
* :func:`evppi` — the expected value of perfect information, overall and per group of parameters,
  by the regression method of Strong, Oakley & Brennan (2014, Med Decis Making 34:311-326): each
  option's net benefit is regressed on the group's parameters with an additive model (a cubic
  regression spline in each, three knots, by least squares; a straight line when there are too
  few sets for it: their GAM, without its penalty or interactions), and EVPPI = the mean over sets
  of the best fitted net benefit less the best mean, less what the same regression gives with the
  group's parameters shuffled (the part noise alone explains). The overall EVPI taken from the sets
  directly keeps their Monte Carlo noise, so it is an upper bound.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BASE = "(base)"
# The outcomes an acceptability curve values in turn: (name, economics measure of its discounted
# quantity, what one unit of value is).
OUTCOMES = (
    ("further abuse avoided", "pv_further_abuse_avoided", "£ a further recorded incident"),
    ("extra convictions", "pv_extra_convictions", "£ an extra conviction"),
    ("withdrawals avoided", "pv_withdrawals_avoided", "£ a pre-charge withdrawal avoided"),
)
GRID_POINTS = 21
GRID_TOP = {"extra convictions": 500_000.0, "withdrawals avoided": 200_000.0}  # £; further abuse: twice its written value
MIN_SETS_FOR_EVPPI = 20  # fewer, and a regression follows the noise
KNOTS = (0.25, 0.5, 0.75)  # of each parameter's range, for its regression spline
SETS_PER_COLUMN = 5  # sets for each column of a spline design; fewer, and the fit is a straight line
PERMUTATIONS = 20  # shuffles of a group's parameters, to measure the EVPPI noise alone gives
PERMUTATION_SEED = 20261207


def net_benefits(economics: pd.DataFrame, measure: str = "npsv") -> pd.DataFrame:
    """Set x option means of one economics measure (``economics``: set, scenario, measure, mean)."""
    e = economics[economics["measure"] == measure]
    return e.pivot_table(index="set", columns="scenario", values="mean", aggfunc="first")


def probability_best(nb: pd.DataFrame) -> pd.Series:
    """Share of sets in which each option, or the base (net benefit 0), has the highest net benefit."""
    table = nb.assign(**{BASE: 0.0})[[BASE, *nb.columns]]
    best = table.to_numpy().argmax(axis=1)
    return pd.Series(np.bincount(best, minlength=table.shape[1]) / len(table), index=table.columns)


def acceptability(economics: pd.DataFrame, abuse_value: float) -> pd.DataFrame:
    """outcome, unit, value, scenario, probability_best: first as valued (value NaN), then each
    outcome's curve over its grid, the other outcomes as valued."""
    npsv = net_benefits(economics)
    rows = [("as valued", "", np.nan, s, p) for s, p in probability_best(npsv).items()]
    for outcome, measure, unit in OUTCOMES:
        quantity = net_benefits(economics, measure).reindex_like(npsv)
        if quantity.isna().all().all():
            continue
        # the NPSV already counts further abuse at its written value: take it out before revaluing
        valued = net_benefits(economics, "pv_benefit").reindex_like(npsv) if measure == "pv_further_abuse_avoided" else 0.0
        top = 2.0 * abuse_value if measure == "pv_further_abuse_avoided" else GRID_TOP[outcome]
        for value in np.linspace(0.0, top, GRID_POINTS):
            rows += [(outcome, unit, value, s, p) for s, p in probability_best(npsv - valued + value * quantity).items()]
    return pd.DataFrame(rows, columns=["outcome", "unit", "value", "scenario", "probability_best"])


def parameter_group(path: str) -> str:
    """The group a parameter's EVPPI is reported in: its setting, without the offence class
    (``offences.rape.withdrawal.weibull_shape`` -> ``withdrawal.weibull_shape``), cut to two parts
    (``courts.sdvc.listing_delay.median`` -> ``courts.sdvc``)."""
    parts = path.split(".")
    if parts[0] == "offences" and len(parts) > 2:
        parts = parts[2:]
    return ".".join(parts[:2])


def spline_basis(x: np.ndarray) -> np.ndarray:
    """An intercept and, for each column of x (rescaled to [0, 1]), a cubic regression spline with
    knots at :data:`KNOTS` (six columns): an additive model's design."""
    columns = [np.ones(len(x))]
    for j in range(x.shape[1]):
        u = x[:, j] - x[:, j].min()
        u = u / u.max() if u.max() > 0 else u
        columns += [u, u**2, u**3, *(np.clip(u - k, 0.0, None) ** 3 for k in KNOTS)]
    return np.column_stack(columns)


def value_of_information(nb: pd.DataFrame) -> float:
    """Mean over sets of the best net benefit, less the best mean net benefit (the base at 0)."""
    table = nb.assign(**{BASE: 0.0})
    return float(table.max(axis=1).mean() - table.mean().max())


def _regression(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, str]:
    """Fitted values of y (a column per option) on a group's parameters by least squares: an
    additive cubic regression spline when there are :data:`SETS_PER_COLUMN` sets for each of its
    columns, else a straight line (a plane for several)."""
    n, p = x.shape
    if n >= SETS_PER_COLUMN * (1 + 6 * p):  # the spline design's columns: an intercept, six a parameter
        design, method = spline_basis(x), "cubic regression spline" if p == 1 else f"additive cubic regression splines in {p} parameters"
    else:
        design, method = np.column_stack([np.ones(n), x]), f"linear in {p} parameter(s): too few sets for splines"
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return design @ coef, method


def _group_value(x: np.ndarray, nb: pd.DataFrame) -> tuple[float, str]:
    """The value of information of the group's parameters: every option's net benefit fitted at once."""
    fitted, method = _regression(x, nb.to_numpy(dtype=float))
    return value_of_information(pd.DataFrame(fitted, index=nb.index, columns=nb.columns)), method


def evppi(economics: pd.DataFrame, sets: pd.DataFrame) -> pd.DataFrame:
    """group, parameters, n_parameters, evppi (£), evppi_raw, distinguishable, method: the overall
    EVPI from the sets first, then each group of parameters by regression, largest first; empty
    with fewer than :data:`MIN_SETS_FOR_EVPPI` sets.

    A regression on few sets follows some of their noise, and noise alone gives a positive EVPPI.
    So each group's is also computed with its parameters shuffled across the sets
    (:data:`PERMUTATIONS` times): ``evppi`` is the raw value less the shuffled mean (at least 0),
    and ``distinguishable`` says whether the raw value is above the shuffled 95th percentile."""
    columns = ["group", "parameters", "n_parameters", "evppi", "evppi_raw", "distinguishable", "method"]
    nb = net_benefits(economics)
    if len(nb) < MIN_SETS_FOR_EVPPI:
        return pd.DataFrame(columns=columns)
    x_all = sets.reindex(nb.index)
    evpi = value_of_information(nb)
    rows = [("all parameters (EVPI)", "", x_all.shape[1], evpi, evpi, True, "from the sets: includes Monte Carlo noise, an upper bound")]
    groups: dict[str, list[str]] = {}
    for path in x_all.columns:
        groups.setdefault(parameter_group(path), []).append(path)
    rng = np.random.default_rng(PERMUTATION_SEED)
    for group, paths in groups.items():
        x = x_all[paths].to_numpy(dtype=float)
        if np.ptp(x, axis=0).max() == 0:
            continue
        raw, method = _group_value(x, nb)
        null = np.array([_group_value(x[rng.permutation(len(x))], nb)[0] for _ in range(PERMUTATIONS)])
        rows.append((group, "; ".join(paths), len(paths), max(raw - null.mean(), 0.0), raw, bool(raw > np.quantile(null, 0.95)), f"regression: {method}"))
    out = pd.DataFrame(rows, columns=columns)
    return pd.concat([out.iloc[:1], out.iloc[1:].sort_values("evppi", ascending=False)], ignore_index=True)


def decision_text(uncertainty) -> str:
    """The decision in words: the probability each option is best, and the parameters most worth finding out."""
    table = uncertainty.acceptability
    best = table[table["outcome"] == "as valued"]
    n = len(uncertainty.sets)
    lines = [f"Over {n} sets of the uncertain parameters, the probability of the highest net benefit (NPSV; the base's is 0): "
             + ", ".join(f"{s} {p:.0%}" for s, p in zip(best["scenario"], best["probability_best"]))]
    e = uncertainty.evppi
    if len(e):
        top = e.iloc[1:4]
        lines.append(f"Expected value of perfect information (EVPI, an upper bound): £{e['evppi'].iloc[0]:,.0f}; most worth finding out (EVPPI): "
                     + "; ".join(f"{g} £{v:,.0f}{'' if d else ' (no more than noise gives)'}" for g, v, d in zip(top["group"], top["evppi"], top["distinguishable"])))
    else:
        lines.append(f"No EVPPI: {n} sets are too few to fit it (at least {MIN_SETS_FOR_EVPPI}).")
    return "\n".join(lines)
