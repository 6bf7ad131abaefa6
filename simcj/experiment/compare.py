"""`simcj compare`: scenarios against a base on common random numbers.

Every scenario runs the same replication numbers with the same seed, so replication r of each
scenario sees the same incidents, victims and decision draws (named streams, drawn per case up
front). The difference in a KPI is therefore taken replication by replication (paired), and its CI
comes from the spread of those differences. The unpaired (Welch) CI is kept beside it to show what
common random numbers buy.

Economics: incremental cost and effect per scenario, and the ratios a commissioner asks for (cost
per extra conviction, per withdrawal avoided), with CIs from a paired bootstrap over replications.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd
from scipy import stats

from ..scenario.schema import Scenario
from ..vawg.repeats import further_incident_value
from .catalogue import headline_differences
from .executor import BY_YEAR, BranchTask, LocalExecutor, ReplicationTask, can_branch, executor_for
from .replications import Precision, simulate_to_precision
from .results import Results, from_replications
from .runner import resolve
from .stats import KEYS

# HM Treasury Green Book (2026 edition, chapter 6): the social time preference rate for the first 30 years. Year 0 is the
# first year after the intervention date (undiscounted), year k is discounted by 1/(1 + r)^k.
DISCOUNT_RATE = 0.035
BOOTSTRAP_SAMPLES = 4000
BOOTSTRAP_SEED = 20261122
# How the economics table names its measures (the KPIs among them are named by the catalogue).
ECONOMICS_LABELS = {
    "incremental_cost": "Incremental cost a year",
    "incremental_delivery_cost": "Incremental delivery cost a year",
    "incremental_consequence_cost": "Incremental consequence cost a year",
    "delivery_cost_per_extra_conviction": "Delivery cost per extra conviction",
    "delivery_cost_per_withdrawal_avoided": "Delivery cost per withdrawal avoided",
    "pv_incremental_delivery_cost": "Present value: incremental delivery cost (Green Book, 3.5%)",
    "pv_incremental_consequence_cost": "Present value: incremental consequence cost",
    "pv_incremental_cost": "Present value: incremental cost",
    "pv_extra_convictions": "Present value: extra convictions (discounted)",
    "pv_withdrawals_avoided": "Present value: withdrawals avoided (discounted)",
    "pv_delivery_cost_per_extra_conviction": "Present value: delivery cost per extra conviction",
    "pv_further_abuse_avoided": "Present value: further abuse avoided (discounted, recorded-incident units)",
    "pv_optimism_bias": "Present value: optimism-bias uplift on the delivery cost",
    "pv_benefit": "Present value: harm avoided (further abuse, Home Office unit values)",
    "npsv": "Net present social value (harm avoided less costs)",
    "bcr": "Benefit-cost ratio",
    "switching_value": "Switching value (the parameter's value at which the option equals the base)",
    "extra_convictions": "Extra convictions a year",
    "withdrawals_avoided": "Pre-charge withdrawals avoided a year",
    "cost_per_extra_conviction": "Cost per extra conviction",
    "cost_per_withdrawal_avoided": "Cost per withdrawal avoided",
}
DIFFERENCE_COLUMNS = [
    "metric", "offence", "group", "scenario", "base_mean", "alt_mean", "diff_mean", "diff_ci_low", "diff_ci_high", "pct_change",
    "unpaired_ci_low", "unpaired_ci_high", "n_reps", "uncertainty_low", "uncertainty_high",
]  # fmt: skip
@dataclass
class Comparison:
    base: Results
    alternatives: list[Results]
    differences: pd.DataFrame
    economics: pd.DataFrame
    precision: Optional[pd.DataFrame] = None  # d_n table when --reps auto chose the replications
    chosen_reps: Optional[int] = None
    command: str = ""
    uncertainty: Optional[object] = None  # simcj.experiment.uncertainty.Uncertainty, with --uncertainty
    yearly: pd.DataFrame = field(default_factory=pd.DataFrame)  # the differences in each measured year (a ``year`` column)

    def by_year(self) -> pd.DataFrame:
        """Every difference, the whole period's (``year`` 'all') and each measured year's, as ``differences.csv`` has them."""
        whole = self.differences.assign(year="all")
        table = pd.concat([whole, self.yearly.astype({"year": str})], ignore_index=True) if len(self.yearly) else whole
        columns = ["year", *DIFFERENCE_COLUMNS]
        return table[columns]

    @property
    def scenarios(self) -> list[Results]:
        return [self.base, *self.alternatives]

    def headline(self) -> pd.DataFrame:
        """Scenario x headline KPI (see :func:`headline_table`)."""
        return headline_table(self.differences, [r.scenario.name for r in self.alternatives], headline_differences(self.base.scenario))

    def appraisal(self) -> pd.DataFrame:
        """The appraisal summary (see :func:`appraisal_table`)."""
        return appraisal_table(self.economics, [r.scenario.name for r in self.alternatives])

    def timing(self) -> pd.DataFrame:
        """Year 1 against the settled year for the headline KPIs (see :func:`timing_table`)."""
        return timing_table(self.yearly, [r.scenario.name for r in self.alternatives], headline_differences(self.base.scenario))


def headline_table(differences: pd.DataFrame, alternatives: list[str], kpis: list[tuple]) -> pd.DataFrame:
    """Scenario x headline KPI (``kpis``: (metric, offence, label, format), the catalogue's, see :func:`simcj.experiment.catalogue.headline_differences`):
    'difference [95% CI]' against the base, paired, and with ``--uncertainty`` '{low, high}', the range
    over the uncertain parameters."""
    d = differences[differences["group"] == "all"].set_index(["scenario", "metric", "offence"])
    rows = {}
    for name in alternatives:
        row = {}
        for metric, offence, label, fmt in kpis:
            if (name, metric, offence) in d.index:
                r = d.loc[(name, metric, offence)]
                row[label] = _cell(r, fmt)
                if np.isfinite(r["uncertainty_low"]):
                    row[label] += f" {{{fmt.format(r['uncertainty_low'])}, {fmt.format(r['uncertainty_high'])}}}"
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def clear(low: float, high: float) -> int:
    """The sign of a difference whose CI excludes zero (+1 or -1), or 0 (no clear change)."""
    if not (np.isfinite(low) and np.isfinite(high)) or low <= 0.0 <= high:
        return 0
    return 1 if low > 0.0 else -1


def timing_verdict(first: tuple[float, float], settled: tuple[float, float], years: int) -> str:
    """When an effect happens, from the 95% CIs of year 1's and the settled (last whole) year's differences.

    A queue clearing shows in year 1 and is gone once the queue has settled: a one-off. A lasting
    effect is still there in the settled year."""
    if years < 2:
        return "one year measured: one-off and lasting cannot be told apart"
    a, b = clear(*first), clear(*settled)
    if b == 0:
        return "one-off: year 1 only" if a != 0 else "no clear change"
    if a == -b:
        return "reverses: the settled effect has the opposite sign to year 1's"
    return "lasting" if a == b else "builds: clear only once settled"


def timing_table(yearly: pd.DataFrame, alternatives: list[str], kpis: list[tuple]) -> pd.DataFrame:
    """For each alternative and headline KPI (``kpis`` as :func:`headline_table`'s): the difference in
    year 1 and in the settled year (the last whole measured year), each 'mean [95% CI]', and the
    verdict of :func:`timing_verdict`."""
    rows = []
    if yearly.empty:
        return pd.DataFrame(columns=["scenario", "KPI", "year 1", "settled year", "when"])
    d = yearly[yearly["group"] == "all"].astype({"year": int})
    last = int(d["year"].max())
    d = d.set_index(["scenario", "metric", "offence", "year"])
    for name in alternatives:
        for metric, offence, label, fmt in kpis:
            if (name, metric, offence, 1) not in d.index or (name, metric, offence, last) not in d.index:
                continue
            first, settled = d.loc[(name, metric, offence, 1)], d.loc[(name, metric, offence, last)]
            verdict = timing_verdict((first["diff_ci_low"], first["diff_ci_high"]), (settled["diff_ci_low"], settled["diff_ci_high"]), last)
            rows.append({"scenario": name, "KPI": label, "year 1": _cell(first, fmt), "settled year": f"{_cell(settled, fmt)} (year {last})", "when": verdict})
    return pd.DataFrame(rows, columns=["scenario", "KPI", "year 1", "settled year", "when"])


# The Green Book's appraisal summary: what an option costs to deliver, what it commits, what harm it
# avoids, and the net and the ratio of the two; (economics measure, column heading, format).
APPRAISAL = [
    ("pv_incremental_delivery_cost", "PV delivery cost", "money"),
    ("pv_optimism_bias", "optimism bias", "money"),
    ("pv_incremental_consequence_cost", "PV consequence cost", "money"),
    ("pv_benefit", "PV harm avoided", "money"),
    ("npsv", "NPSV", "money"),
    ("bcr", "BCR", "ratio"),
]


def _figure(x: float, kind: str) -> str:
    return f"{x:.2f}" if kind == "ratio" else f"{'-' if x < 0 else ''}£{abs(x):,.0f}"


def appraisal_basis(scenario: Scenario, years: int) -> str:
    """What the appraisal's numbers are: its period, discount rate, price base, uplift and values."""
    uc = scenario.costs
    values = "; ".join(
        f"{name.replace('_', ' ')}: £{further_incident_value(uc, name, scenario.offences[name].repeat):,.0f} a further police-recorded incident avoided "
        f"(at {scenario.offences[name].repeat.rate_per_year:g} recorded a year while abuse goes on, one stands for "
        f"{1 / scenario.offences[name].repeat.rate_per_year:.3g} victim-years of abuse, reported or not, each {h.qalys:g} QALYs at £{uc.qaly:,.0f} "
        f"and £{h.other:,.0f} of lost output and health care)"
        for name, h in uc.harm.items()
    )
    return (
        f"present values over {years} year(s) from the date at {DISCOUNT_RATE:.1%} (HM Treasury Green Book 2026), {scenario.price_year} prices; "
        f"optimism bias {uc.optimism_bias:.0%} on the delivery cost; harm avoided valued at {values}. Convictions and withdrawals avoided are "
        "not monetised (no published unit value): read them in the headline table"
    )


def appraisal_table(economics: pd.DataFrame, alternatives: list[str]) -> pd.DataFrame:
    """Option x appraisal measure (:data:`APPRAISAL`), 'mean [95% CI]'; empty if harms are not valued."""
    e = economics.set_index(["scenario", "measure"])
    rows = {}
    for name in alternatives:
        if (name, "npsv") not in e.index:
            continue
        row = {}
        for measure, label, kind in APPRAISAL:
            r = e.loc[(name, measure)]
            row[label] = "n/a" if not np.isfinite(r["mean"]) else _figure(r["mean"], kind) + (
                f" [{_figure(r['ci_low'], kind)}, {_figure(r['ci_high'], kind)}]" if np.isfinite(r["ci_low"]) else "")
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def _cell(r: pd.Series, fmt: str) -> str:
    return f"{fmt.format(r['diff_mean'])} [{fmt.format(r['diff_ci_low'])}, {fmt.format(r['diff_ci_high'])}]"


def _by_rep(kpis: pd.DataFrame) -> pd.DataFrame:
    """KPIs as (metric, offence, group) x replication."""
    return kpis.pivot_table(index=KEYS, columns="replication", values="value", aggfunc="first")


def paired_differences(base: pd.DataFrame, alt: pd.DataFrame, name: str, level: float = 0.95) -> pd.DataFrame:
    """Per-KPI paired differences alt - base (replication by replication) with t CIs; Welch CI beside."""
    b, a = _by_rep(base), _by_rep(alt)
    reps = sorted(set(b.columns) & set(a.columns))
    b, a = b.reindex(columns=reps), a.reindex(columns=reps)
    b, a = b.align(a, join="inner", axis=0)
    diff = a - b
    n = diff.notna().sum(axis=1).to_numpy()
    d_mean = diff.mean(axis=1).to_numpy()
    d_sd = diff.std(axis=1, ddof=1).to_numpy()
    q = stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1))
    half = np.where(n > 1, q * d_sd / np.sqrt(np.maximum(n, 1)), np.nan)
    # Welch interval for the same difference, as if the runs had independent random numbers.
    na, nb = a.notna().sum(axis=1).to_numpy(), b.notna().sum(axis=1).to_numpy()
    va, vb = a.var(axis=1, ddof=1).to_numpy(), b.var(axis=1, ddof=1).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(va / na + vb / nb)
        dof = se**4 / ((va / na) ** 2 / np.maximum(na - 1, 1) + (vb / nb) ** 2 / np.maximum(nb - 1, 1))
        uq = stats.t.ppf(0.5 + level / 2, np.where(np.isfinite(dof) & (dof > 0), dof, 1))
        unpaired_half = np.where((na > 1) & (nb > 1), uq * se, np.nan)
        base_mean = b.mean(axis=1).to_numpy()
        pct = np.where(base_mean != 0, d_mean / base_mean, np.nan)
    out = diff.index.to_frame(index=False)
    out["scenario"] = name
    out["base_mean"] = base_mean
    out["alt_mean"] = a.mean(axis=1).to_numpy()
    out["diff_mean"] = d_mean
    out["diff_ci_low"] = d_mean - half
    out["diff_ci_high"] = d_mean + half
    out["pct_change"] = pct
    out["unpaired_ci_low"] = d_mean - unpaired_half
    out["unpaired_ci_high"] = d_mean + unpaired_half
    out["n_reps"] = n
    out["uncertainty_low"] = out["uncertainty_high"] = np.nan  # filled by --uncertainty (simcj.experiment.uncertainty)
    return out[DIFFERENCE_COLUMNS]


def yearly_differences(base: pd.DataFrame, alt: pd.DataFrame, name: str) -> pd.DataFrame:
    """:func:`paired_differences` in each measured year of the yearly KPIs (``year`` column)."""
    parts = []
    for year, b in base.groupby("year", sort=True):
        a = alt[alt["year"] == year]
        if len(a):
            parts.append(paired_differences(b.drop(columns="year"), a.drop(columns="year"), name).assign(year=int(year)))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["year", *DIFFERENCE_COLUMNS])


def _series(kpis: pd.DataFrame, metric: str, offence: str = "all") -> pd.Series:
    k = kpis[(kpis["metric"] == metric) & (kpis["offence"] == offence) & (kpis["group"] == "all")]
    return k.set_index("replication")["value"].sort_index()


def _ratio_ci(num: np.ndarray, den: np.ndarray, rng: np.random.Generator, level: float = 0.95) -> tuple[float, float, float]:
    """Ratio of means with a paired percentile-bootstrap CI over replications.

    When the denominator's bootstrap samples straddle zero the ratio is unbounded: the CI is NaN
    (the report then says the effect is not distinguishable from none).
    """
    point = num.mean() / den.mean() if den.mean() != 0 else np.nan
    n = len(num)
    idx = rng.integers(0, n, size=(BOOTSTRAP_SAMPLES, n))
    dens = den[idx].mean(axis=1)
    if n < 2 or (dens.min() <= 0 <= dens.max()):
        return point, np.nan, np.nan
    ratios = num[idx].mean(axis=1) / dens
    lo, hi = np.quantile(ratios, [(1 - level) / 2, 1 - (1 - level) / 2])
    return point, float(lo), float(hi)


def _mean_ci(x: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    n = len(x)
    if n < 2:
        return float(x.mean()), np.nan, np.nan
    half = stats.t.ppf(0.5 + level / 2, n - 1) * x.std(ddof=1) / np.sqrt(n)
    return float(x.mean()), float(x.mean() - half), float(x.mean() + half)


def economics(base: Results, alt: Results) -> pd.DataFrame:
    """Incremental cost and effect of ``alt`` over ``base`` (paired by replication), with CIs."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    cost = (_series(alt.kpis, "cost_total") - _series(base.kpis, "cost_total")).dropna()
    if cost.empty:
        return pd.DataFrame(columns=["scenario", "measure", "mean", "ci_low", "ci_high", "unit"])
    reps = cost.index
    conv = (_series(alt.kpis, "convicted") - _series(base.kpis, "convicted")).reindex(reps).to_numpy()
    avoided = (_series(base.kpis, "withdrawals_pre_charge") - _series(alt.kpis, "withdrawals_pre_charge")).reindex(reps).to_numpy()
    c = cost.to_numpy()
    delivery = (_series(alt.kpis, "cost_delivery") - _series(base.kpis, "cost_delivery")).reindex(reps).to_numpy()
    consequence = (_series(alt.kpis, "cost_consequence") - _series(base.kpis, "cost_consequence")).reindex(reps).to_numpy()
    rows = [
        ("incremental_cost", *_mean_ci(c), "£ a year"),
        ("incremental_delivery_cost", *_mean_ci(delivery), "£ a year"),
        ("incremental_consequence_cost", *_mean_ci(consequence), "£ a year"),
        ("extra_convictions", *_mean_ci(conv), "a year"),
        ("withdrawals_avoided", *_mean_ci(avoided), "a year"),
        ("delivery_cost_per_extra_conviction", *_ratio_ci(delivery, conv, rng), "£"),
        ("delivery_cost_per_withdrawal_avoided", *_ratio_ci(delivery, avoided, rng), "£"),
        ("cost_per_extra_conviction", *_ratio_ci(c, conv, rng), "£"),
        ("cost_per_withdrawal_avoided", *_ratio_ci(c, avoided, rng), "£"),
    ]
    rows += present_values(base, alt, reps, rng)
    frame = pd.DataFrame(rows, columns=["measure", "mean", "ci_low", "ci_high", "unit"])
    frame.insert(0, "scenario", alt.scenario.name)
    return frame


def present_values(base: Results, alt: Results, reps, rng: np.random.Generator) -> list[tuple]:
    """The Green Book form over the whole measured years after the date: present values at
    :data:`DISCOUNT_RATE` (price base: the scenario's ``price_year``) of the incremental delivery and
    consequence costs and of the effects, and the delivery cost per extra conviction in present
    values. Delivery is the same each year (capacity funded); prison follows each year's custody."""
    years = int(alt.scenario.run.years + 1e-9)
    uc = alt.scenario.costs
    if years < 1 or uc is None:
        return []
    factors = [(1.0 + DISCOUNT_RATE) ** -k for k in range(years)]

    def diff(metric: str) -> np.ndarray:
        return (_series(alt.kpis, metric) - _series(base.kpis, metric)).reindex(reps).to_numpy()

    def in_year(metric: str, k: int) -> np.ndarray:
        b, a = base.yearly[base.yearly["year"] == k], alt.yearly[alt.yearly["year"] == k]
        return (_series(a, metric) - _series(b, metric)).reindex(reps).to_numpy()

    delivery = diff("cost_delivery") * sum(factors)
    prison = uc.share_of_sentence_served * uc.prison_place_year
    consequence = sum(f * in_year("prison_years_imposed", k + 1) * prison for k, f in enumerate(factors))
    convictions = sum(f * in_year("convicted", k + 1) for k, f in enumerate(factors))
    avoided = -sum(f * in_year("withdrawals_pre_charge", k + 1) for k, f in enumerate(factors))
    base_year = alt.scenario.price_year
    unit = f"£ PV, {years} year(s), {DISCOUNT_RATE:.1%}, {base_year} prices"
    rows = [
        ("pv_incremental_delivery_cost", *_mean_ci(delivery), unit),
        ("pv_incremental_consequence_cost", *_mean_ci(consequence), unit),
        ("pv_incremental_cost", *_mean_ci(delivery + consequence), unit),
        ("pv_extra_convictions", *_mean_ci(convictions), f"discounted, {years} year(s)"),
        ("pv_withdrawals_avoided", *_mean_ci(avoided), f"discounted, {years} year(s)"),
        ("pv_delivery_cost_per_extra_conviction", *_ratio_ci(delivery, convictions, rng), unit),
    ]
    if uc.harm:
        benefit = -sum(f * in_year("cost_harm", k + 1) for k, f in enumerate(factors))
        abuse = -sum(f * in_year("repeat_abuse_incidents", k + 1) for k, f in enumerate(factors))
        rows.append(("pv_further_abuse_avoided", *_mean_ci(abuse), f"discounted, {years} year(s)"))
        rows += appraisal(delivery, consequence, benefit, uc.optimism_bias, unit)
    return rows


def ratio_bounds(num: tuple[float, float, float], den: tuple[float, float, float]) -> tuple[float, float, float]:
    """A ratio of two means with a conservative interval from their own 95% CIs (mean, low, high):
    the numerator's ends over the denominator's. A bootstrap over a handful of replications gives a
    ratio an interval far narrower than its numerator's; this one is never narrower. No interval
    when the denominator's may be zero or below."""
    point = num[0] / den[0]
    if not (np.isfinite(den[1]) and den[1] > 0.0):
        return point, np.nan, np.nan
    ends = [n / d for n in num[1:] for d in den[1:]]
    return point, min(ends), max(ends)


def appraisal(delivery: np.ndarray, consequence: np.ndarray, benefit: np.ndarray, optimism_bias: float, unit: str) -> list[tuple]:
    """The Green Book's appraisal summary from per-replication present values: the optimism-bias
    uplift on the delivery cost, the harm avoided (``pv_benefit``), the net present social value
    (benefit less the uplifted delivery and the consequence costs) and the benefit-cost ratio. A BCR
    is only defined when the option costs more than the base: an option that saves money is read by
    its NPSV (the BCR row is then empty, and says so)."""
    uplift = delivery * optimism_bias
    cost = delivery + uplift + consequence
    if cost.mean() > 0.0:
        bcr = (*ratio_bounds(_mean_ci(benefit), _mean_ci(cost)), "benefit / cost")
    else:
        bcr = (np.nan, np.nan, np.nan, "not defined: the option saves costs (read the NPSV)")
    return [
        ("pv_optimism_bias", *_mean_ci(uplift), f"{unit}, {optimism_bias:.0%} of delivery"),
        ("pv_benefit", *_mean_ci(benefit), f"{unit}, harm avoided"),
        ("npsv", *_mean_ci(benefit - cost), unit),
        ("bcr", *bcr),
    ]


def scenario_costs(res: Results) -> pd.DataFrame:
    """Each scenario's own cost KPIs (total, per conviction, per victim supported) with CIs."""
    s = res.summary[(res.summary["group"] == "all") & (res.summary["offence"] == "all")]
    s = s[s["metric"].isin(["cost_delivery", "cost_consequence", "cost_total", "cost_per_conviction", "cost_per_victim_supported"])]
    out = s.rename(columns={"metric": "measure"})[["measure", "mean", "ci_low", "ci_high"]].copy()
    out.insert(0, "scenario", res.scenario.name)
    out["unit"] = "£" + np.where(out["measure"].isin(["cost_delivery", "cost_consequence", "cost_total"]), " a year", "")
    return out


def run_comparison(
    base: Scenario,
    alternatives: list[Scenario],
    reps: Optional[int],
    seed: Optional[int],
    scale: float,
    jobs,
    precision: Optional[Precision] = None,
    progress: Optional[Callable[[str, float], None]] = None,
) -> Comparison:
    """Run the base and every alternative on the same seed and replication numbers, and compare.

    Options that extend the base share its history before their date: each replication runs the
    base to the date once and branches every such option from it (:class:`BranchTask`); the others
    run from the start. ``reps=None`` with a ``precision`` chooses the number of replications on the
    base (Hoad, Robinson and Davies); the alternatives then run that many.
    """
    seed = base.run.seed if seed is None else seed
    executor = executor_for(jobs)
    start = time.perf_counter()

    d_table, chosen, base_res = None, None, None
    if reps is None and precision is not None:
        tick = None if progress is None else (lambda f: progress(base.name, f))
        base_res, d_table, chosen = simulate_to_precision(base, precision, seed=seed, scale=scale, jobs=executor, progress=tick, want=BY_YEAR)
        reps = base_res.spec.reps
    reps = base.run.reps if reps is None else reps
    base_spec = resolve(base, reps=reps, seed=seed, scale=scale)
    specs = [resolve(sc, reps=reps, seed=seed, scale=scale) for sc in alternatives]
    # Branching forks the worker that ran the base: local processes only (a Dask worker has threads).
    local = isinstance(executor, LocalExecutor)
    branched = [s for s in specs if local and can_branch(base_spec.scenario, s.scenario)]
    days = sorted({s.scenario.intervention_day() for s in branched})
    groups = [[s for s in branched if s.scenario.intervention_day() == d] for d in days]
    alone = [s for s in specs if s not in branched]

    tasks: list = []
    for r in range(reps):
        for k, group in enumerate(groups):
            include_base = base_res is None and k == 0
            tasks.append(BranchTask(base_spec.scenario, tuple(s.scenario for s in group), r, seed, BY_YEAR, include_base))
        if not groups and base_res is None:
            tasks.append(ReplicationTask(base_spec.scenario, r, seed, BY_YEAR))
        tasks += [ReplicationTask(s.scenario, r, seed, BY_YEAR) for s in alone]
    done = executor.map(tasks, None if progress is None else (lambda f: progress("all", f)))

    by_name: dict[str, list] = {s.scenario.name: [] for s in [base_spec, *specs]}
    for task, out in zip(tasks, done):
        if isinstance(task, BranchTask):
            names = ([task.base.name] if task.include_base else []) + [o.name for o in task.options]
            for name, result in zip(names, out):
                by_name[name].append(result)
        else:
            by_name[task.scenario.name].append(out)
    wall = time.perf_counter() - start
    if base_res is None:
        base_res = from_replications(base_spec, by_name[base.name], wall, executor)
    alts = [from_replications(s, by_name[s.scenario.name], wall, executor) for s in specs]
    diffs = pd.concat([paired_differences(base_res.kpis, a.kpis, a.scenario.name) for a in alts], ignore_index=True)
    yearly = pd.concat([yearly_differences(base_res.yearly, a.yearly, a.scenario.name) for a in alts], ignore_index=True)
    econ = pd.concat(
        [scenario_costs(r) for r in [base_res, *alts]] + [economics(base_res, a) for a in alts],
        ignore_index=True,
    )
    return Comparison(base_res, alts, diffs, econ, d_table, chosen, yearly=yearly)
