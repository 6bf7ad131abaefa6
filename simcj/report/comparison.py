"""The comparison folder and the commissioner's report (`report.html`, `report.xlsx`).

Folder layout (written under a temporary name and renamed into place when complete)::

    OUT/manifest.json          the command, seed, replications, scenarios, versions
    OUT/differences.csv        paired differences of every KPI, each scenario against the base: over the
                               measured period (year 'all') and in each measured year (year 1, 2, ...)
    OUT/economics.csv          costs, incremental costs, cost-effectiveness ratios and the appraisal
                               (present values, pv_benefit, npsv, bcr), with CIs
    OUT/precision.csv          relative CI half-widths by replications (only with --reps auto)
    OUT/scenarios/NAME/        each scenario's results folder (kpis, summary, timeseries, figures)
    OUT/report.html            one self-contained page, images embedded
    OUT/report.xlsx            one sheet per table

`build_report(OUT)` makes the last two from the rest, so `simcj report OUT` can rebuild them.
"""

from __future__ import annotations

import base64
import html
import io
import json
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..experiment import catalogue
from ..experiment.compare import APPRAISAL, ECONOMICS_LABELS, Comparison, appraisal_basis, appraisal_table, clear, headline_table, timing_table
from ..files import atomic_folder, write_text_atomic
from ..scenario.schema import Scenario
from ..version import __version__
from ..women.table import OFFENCE as WOMEN  # the women's pathway's KPIs
from . import comparison_figures as cf
from .export import git_commit, write_results

# --------------------------------------------------------------------------- writing the folder


def write_comparison(cmp: Comparison, out: Path, replace: bool = False) -> Path:
    """Write the comparison folder at ``out`` (must not exist, or be empty, unless ``replace``: see
    ``atomic_folder``), report included."""
    with atomic_folder(out, replace) as tmp:
        (tmp / "scenarios").mkdir()
        for res in cmp.scenarios:
            write_results(res, tmp / "scenarios" / res.scenario.name, cmp.command, cases=False)
        cmp.by_year().to_csv(tmp / "differences.csv", index=False)
        cmp.economics.to_csv(tmp / "economics.csv", index=False)
        if cmp.precision is not None:
            cmp.precision.to_csv(tmp / "precision.csv")
        if cmp.uncertainty is not None:
            u = cmp.uncertainty
            u.sets.join(u.seeds).to_csv(tmp / "uncertainty_sets.csv")
            u.ranking.to_csv(tmp / "uncertainty_ranking.csv", index=False)
            u.variance.to_csv(tmp / "uncertainty_variance.csv", index=False)
            u.economics.to_csv(tmp / "uncertainty_economics.csv", index=False)
            if len(u.acceptability):
                u.acceptability.to_csv(tmp / "acceptability.csv", index=False)
                u.evppi.to_csv(tmp / "evppi.csv", index=False)
        (tmp / "manifest.json").write_text(json.dumps(_manifest(cmp), indent=2), encoding="utf-8")
        build_report(tmp)
    return Path(out)


def _manifest(cmp: Comparison) -> dict:
    spec = cmp.base.spec
    return {
        "kind": "comparison",
        "base": cmp.base.scenario.name,
        "alternatives": [r.scenario.name for r in cmp.alternatives],
        "seed": spec.seed,
        "replications": spec.reps,
        "replications_chosen": cmp.chosen_reps,
        "replications_method": "Hoad, Robinson & Davies (2010) CI method" if cmp.precision is not None else "fixed",
        "scale": spec.scale,
        "years": spec.scenario.run.years,
        "warmup_years": spec.scenario.run.warmup_years,
        "intervention_years": _intervention_years(cmp),
        "uncertainty_sets": None if cmp.uncertainty is None else len(cmp.uncertainty.sets),
        "common_random_numbers": True,
        "command": cmp.command,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "simcj_version": __version__,
        "git_commit": git_commit(),
        "wall_seconds": round(sum(r.wall_seconds for r in cmp.scenarios), 1),
    }


def _intervention_years(cmp: Comparison):
    """The date the options take effect (they share the run design), or None if none extends another."""
    days = [r.scenario.intervention_day() for r in cmp.alternatives]
    days = [d for d in days if d is not None]
    return round(days[0] / 365.0, 6) if days else None


# --------------------------------------------------------------------------- reading it back


class FolderError(ValueError):
    """A results folder that cannot be read back: what is wrong, file by file."""


_RUN_KEYS = {"scenario": str, "seed": int, "replications": int, "warmup_years": (int, float), "years": (int, float), "scale": (int, float), "resolved_scenario": dict}
_COMPARISON_KEYS = {"base": str, "alternatives": list}
_TABLES = {"summary.csv": {"metric", "offence", "group", "mean", "ci_low", "ci_high"}, "timeseries.csv": {"replication", "day", "series", "value"}}


def _manifest_of(folder: Path) -> dict:
    """The manifest of a run's or a comparison's folder, checked for what the report reads from it
    (keys and their types, the tables beside it), so a damaged folder is named precisely."""
    path = folder / "manifest.json"
    try:
        m = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FolderError(f"{path}: not readable as JSON ({exc})") from None
    if not isinstance(m, dict):
        raise FolderError(f"{path}: expected a JSON object, found {type(m).__name__}")
    if m.get("kind") == "sweep":
        raise FolderError(f"{folder}: a sweep folder has no report; its tables are sweep.csv and summary.csv (simcj sensitivity {folder} for Sobol or Morris indices)")
    keys = _COMPARISON_KEYS if m.get("kind") == "comparison" else _RUN_KEYS
    problems = [f"{path}: key '{k}': missing" if k not in m else f"{path}: key '{k}': expected {getattr(t, '__name__', 'a number')}, found {type(m[k]).__name__}" for k, t in keys.items() if not isinstance(m.get(k), t) or isinstance(m.get(k), bool)]
    if keys is _RUN_KEYS and isinstance(m.get("resolved_scenario"), dict) and not isinstance(m["resolved_scenario"].get("offences"), dict):
        problems.append(f"{path}: key 'resolved_scenario.offences': missing (the scenario's offence classes)")
    if keys is _COMPARISON_KEYS and isinstance(m.get("alternatives"), list) and not all(isinstance(a, str) and a and "/" not in a and not a.startswith(".") for a in [m.get("base", ""), *m["alternatives"]]):
        problems.append(f"{path}: keys 'base', 'alternatives': expected scenario names (the folders under scenarios/)")
    if keys is _RUN_KEYS:
        for name, columns in _TABLES.items():
            try:
                header = set(pd.read_csv(folder / name, nrows=0).columns)
            except (OSError, ValueError) as exc:
                problems.append(f"{folder / name}: missing or unreadable ({exc.__class__.__name__})")
                continue
            if columns - header:
                problems.append(f"{folder / name}: columns {', '.join(sorted(columns - header))} missing")
    if problems:
        raise FolderError("\n".join(problems))
    return m


class Folder:
    """The tables of a comparison folder (or of a single run's folder, with no differences)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.manifest = _manifest_of(self.path)
        self.is_comparison = self.manifest.get("kind") == "comparison"
        if self.is_comparison:
            names = [self.manifest["base"], *self.manifest["alternatives"]]
            self.scenario_dirs = {n: self.path / "scenarios" / n for n in names}
            for d in self.scenario_dirs.values():
                _manifest_of(d)
            table = pd.read_csv(self.path / "differences.csv", dtype={"year": str})
            by_year = table["year"] != "all"
            self.differences = table[~by_year].drop(columns="year").reset_index(drop=True)
            self.yearly = table[by_year].astype({"year": int}).reset_index(drop=True)
            self.economics = pd.read_csv(self.path / "economics.csv")
            p = self.path / "precision.csv"
            self.precision = pd.read_csv(p, index_col=0) if p.exists() else None
            self.ranking, self.variance, self.acceptability, self.evppi = (
                pd.read_csv(p) if p.exists() else None
                for p in (self.path / f for f in ("uncertainty_ranking.csv", "uncertainty_variance.csv", "acceptability.csv", "evppi.csv"))
            )
        else:
            self.scenario_dirs = {self.manifest["scenario"]: self.path}
            self.differences = self.yearly = self.economics = self.precision = self.ranking = None
            self.variance = self.acceptability = self.evppi = None
        self.summaries = {n: pd.read_csv(d / "summary.csv") for n, d in self.scenario_dirs.items()}
        self.timeseries = {n: pd.read_csv(d / "timeseries.csv") for n, d in self.scenario_dirs.items()}
        self.manifests = {n: _manifest_of(d) for n, d in self.scenario_dirs.items()}

    @property
    def names(self) -> list[str]:
        return list(self.scenario_dirs)

    @cached_property
    def scenario(self) -> Scenario:
        """The base scenario, as the run resolved it (its pathway decides what the report shows)."""
        return Scenario.model_validate(self.manifests[self.base]["resolved_scenario"])

    @property
    def base(self) -> str:
        return self.names[0]

    @property
    def alternatives(self) -> list[str]:
        return self.names[1:]

    def warmup_days(self) -> float:
        return float(self.manifests[self.base]["warmup_years"]) * 365.0

    def intervention_days(self):
        years = self.manifest.get("intervention_years")
        return None if years is None else float(years) * 365.0

    def offences(self) -> list[str]:
        return list(self.manifests[self.base]["resolved_scenario"]["offences"])


# --------------------------------------------------------------------------- words


def _money(x: float) -> str:
    if not np.isfinite(x):
        return "n/a"
    sign = "-" if x < 0 else ""
    x = abs(x)
    return f"{sign}£{x / 1e6:,.1f}m" if x >= 1e6 else f"{sign}£{x:,.0f}"


def _signed_money(x: float) -> str:
    """'£0.8m more', '£3.0m less', 'nothing more'."""
    if not np.isfinite(x) or abs(x) < 0.5:
        return "nothing more"
    return f"{_money(abs(x))} {'more' if x > 0 else 'less'}"


def _change(label: str, r: pd.Series, fmt, unit: str = "") -> str:
    """'convictions a year up 22 (95% CI 10 to 34)', 'no clear change in ...' when the CI spans 0,
    'unchanged' when every replication gives the same value."""
    lo, hi, m = r["diff_ci_low"], r["diff_ci_high"], r["diff_mean"]
    if lo == hi == m == 0:
        return f"{label} unchanged"
    ci = f"95% CI {fmt(lo, True)} to {fmt(hi, True)}{unit}"
    if clear(lo, hi) == 0:
        return f"no clear change in {label} ({fmt(m, True)}{unit}; {ci})"
    return f"{label} {'up' if m > 0 else 'down'} {fmt(abs(m), False)}{unit} ({ci})"


def _count(x: float, signed: bool) -> str:
    return f"{x:+,.0f}" if signed else f"{x:,.0f}"


def _points(x: float, signed: bool) -> str:
    return f"{x * 100:+.1f}" if signed else f"{x * 100:.1f}"


def headline_sentences(folder: Folder) -> dict[str, str]:
    """One plain-English paragraph per alternative: what it is, what it changes, and at what cost."""
    d = folder.differences[folder.differences["group"] == "all"].set_index(["scenario", "metric", "offence"])
    e = folder.economics.set_index(["scenario", "measure"]) if folder.economics is not None else pd.DataFrame()
    outcomes = []  # the comparison's headline rows other than money, in words
    kpis = catalogue.entries(folder.scenario)
    for metric, offence, label, _fmt in catalogue.headline_differences(folder.scenario):
        entry = kpis[metric]
        if entry.unit not in ("£ a year", "£"):
            share = entry.unit == "share"
            words = label.removesuffix(" (points)")
            words = words[0].lower() + words[1:] if words[1:2].islower() else words
            outcomes.append((metric, offence, words, _points if share else _count, " points" if share else ""))
    out = {}
    for s in folder.alternatives:
        parts = []
        for metric, offence, label, fmt, unit in outcomes:
            if (s, metric, offence) in d.index:
                parts.append(_change(label, d.loc[(s, metric, offence)], fmt, unit))
        text = "; ".join(parts)
        text = (text[0].upper() + text[1:] + ".") if text else ""
        if (s, "cost_delivery", WOMEN) in d.index:
            dc, cc = d.loc[(s, "cost_delivery", WOMEN)], d.loc[(s, "cost_consequence", WOMEN)]
            text += f" In the women's pathway it costs {_signed_money(dc['diff_mean'])} a year to deliver against the base"
            text += f"; what follows from it (prison places, probation supervision) {_signed_money(cc['diff_mean'])} (95% CI {_money(cc['diff_ci_low'])} to {_money(cc['diff_ci_high'])})."
        if (s, "incremental_delivery_cost") in e.index:
            dc, cc = e.loc[(s, "incremental_delivery_cost")], e.loc[(s, "incremental_consequence_cost")]
            text += f" To deliver it costs {_signed_money(dc['mean'])} a year against the base"
            text += f"; what follows from it (prison) {_signed_money(cc['mean'])} (95% CI {_money(cc['ci_low'])} to {_money(cc['ci_high'])})"
            r = e.loc[(s, "delivery_cost_per_extra_conviction")]
            if np.isfinite(r["ci_low"]) and e.loc[(s, "extra_convictions"), "ci_low"] > 0:
                text += f": {_money(r['mean'])} of delivery per extra conviction ({_money(r['ci_low'])} to {_money(r['ci_high'])})."
            else:
                text += "; the change in convictions is not distinguishable from none, so no cost per extra conviction is given."
        if (s, "npsv") in e.index:
            n, b = e.loc[(s, "npsv")], e.loc[(s, "bcr")]
            interval = f" (95% CI {b['ci_low']:.1f} to {b['ci_high']:.1f})" if np.isfinite(b["ci_low"]) else " (no interval: its cost's CI reaches zero)"
            ratio = f", a benefit-cost ratio of {b['mean']:.1f}{interval}" if np.isfinite(b["mean"]) else ", and it saves money"
            text += (f" Valuing the further abuse it avoids (Home Office unit values), its net present social value is {_money(n['mean'])}"
                     f" (95% CI {_money(n['ci_low'])} to {_money(n['ci_high'])}){ratio}; the harm avoided rests on the effects on further abuse, most of them assumed.")
        if folder.acceptability is not None:
            best = folder.acceptability[(folder.acceptability["outcome"] == "as valued") & (folder.acceptability["scenario"] == s)]
            if len(best):
                text += f" It has the highest net benefit in {best['probability_best'].iloc[0]:.0%} of the uncertainty sets."
        text += _sign_sentence(folder, s)
        description = folder.manifests[s]["resolved_scenario"].get("description", "")
        out[s] = (description.strip() + " " if description else "") + text
    return out


def _sign_sentence(folder: Folder, scenario: str) -> str:
    """With --uncertainty: say plainly where the sign of an effect depends on uncertain parameters."""
    if folder.ranking is None:
        return ""
    from ..experiment.uncertainty import sign_depends

    d = folder.differences[(folder.differences["scenario"] == scenario) & (folder.differences["group"] == "all")]
    out = []
    for metric, offence, label in (("convicted", "all", "convictions"), ("rate_withdrawal_pre_charge", "all", "pre-charge withdrawal")):
        row = d[(d["metric"] == metric) & (d["offence"] == offence)]
        if row.empty or not np.isfinite(row.iloc[0]["uncertainty_low"]):
            continue
        r = folder.ranking[(folder.ranking["scenario"] == scenario) & (folder.ranking["metric"] == metric) & (folder.ranking["offence"] == offence)]
        top = ", ".join(r.sort_values("rank")["parameter"].head(2))
        if sign_depends(row.iloc[0]):
            out.append(f" The sign of its effect on {label} depends on uncertain parameters, most on {top}.")
        elif row.iloc[0]["uncertainty_low"] < 0 < row.iloc[0]["uncertainty_high"]:
            out.append(f" Over the uncertain parameters its effect on {label} can go either way (most sensitive to {top}).")
    return "".join(out)


def crn_table(folder: Folder) -> pd.DataFrame:
    """For the headline KPIs: paired against unpaired CI half-widths, and the ratio (the gain from CRN)."""
    d = folder.differences[folder.differences["group"] == "all"]
    rows = []
    for metric, offence, label, _fmt in catalogue.headline_differences(folder.scenario):
        sel = d[(d["metric"] == metric) & (d["offence"] == offence)]
        for _, r in sel.iterrows():
            paired = (r["diff_ci_high"] - r["diff_ci_low"]) / 2
            unpaired = (r["unpaired_ci_high"] - r["unpaired_ci_low"]) / 2
            rows.append(
                {
                    "kpi": label,
                    "scenario": r["scenario"],
                    "difference": r["diff_mean"],
                    "paired_half_width": paired,
                    "unpaired_half_width": unpaired,
                    "unpaired_over_paired": unpaired / paired if paired > 0 else np.nan,
                }
            )
    return pd.DataFrame(rows)


def changed_parameters(folder: Folder) -> pd.DataFrame:
    """What each alternative changes against the base: key path, base and new value, source."""
    base = folder.manifests[folder.base]
    rows = []
    for s in folder.alternatives:
        m = folder.manifests[s]
        flat_base, flat_alt = _flatten(base["resolved_scenario"]), _flatten(m["resolved_scenario"])
        for key in sorted(set(flat_base) | set(flat_alt)):
            if key in ("name", "description") or flat_base.get(key) == flat_alt.get(key):
                continue
            src = m["sources"].get(key, {})
            rows.append({"scenario": s, "parameter": key, "base": flat_base.get(key), "scenario_value": flat_alt.get(key), "source": src.get("source", "")})
    return pd.DataFrame(rows, columns=["scenario", "parameter", "base", "scenario_value", "source"])


def _flatten(tree, prefix: str = "") -> dict:
    out = {}
    if isinstance(tree, dict):
        for k, v in tree.items():
            out.update(_flatten(v, f"{prefix}{k}."))
    else:
        out[prefix[:-1]] = json.dumps(tree) if isinstance(tree, list) else tree
    return out


def sourced_table(folder: Folder, prefix: str = "", ranged_only: bool = False) -> pd.DataFrame:
    """The base's sourced parameters under ``prefix`` (or those with a sensitivity range)."""
    manifest = folder.manifests[folder.base]
    sources, resolved = manifest["sources"], manifest["resolved_scenario"]
    rows = []
    for key, src in sorted(sources.items()):
        if not key.startswith(prefix) or (ranged_only and "low" not in src):
            continue
        rows.append({"parameter": key, "value": _setting(resolved, key), "low": src.get("low"), "high": src.get("high"), "source": src.get("source", "")})
    return pd.DataFrame(rows, columns=["parameter", "value", "low", "high", "source"])


def _setting(resolved: dict, key: str):
    """The value at a dotted key of the resolved scenario (the one the run used), or None."""
    node = resolved
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


# --------------------------------------------------------------------------- the report


def _img(fig, alt: str) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def womens_table(folder: Folder) -> pd.DataFrame:
    """The women's pathway's headline KPIs for each scenario of the folder: 'mean [95% CI]'."""
    rows = []
    for m in catalogue.headline(folder.scenario):
        row = {"KPI": m.label}
        for name, summary in folder.summaries.items():
            s = summary[(summary["metric"] == m.name) & (summary["offence"] == WOMEN) & (summary["group"] == "all")]
            if len(s):
                r = s.iloc[0]
                row[name] = m.fmt.format(r["mean"]) + (f" [{m.fmt.format(r['ci_low'])}, {m.fmt.format(r['ci_high'])}]" if np.isfinite(r["ci_low"]) else "")
        rows.append(row)
    return pd.DataFrame(rows)

def _table(frame: pd.DataFrame, float_format="{:,.3g}") -> str:
    def fmt(v):
        if isinstance(v, float):
            return "" if not np.isfinite(v) else float_format.format(v)
        return v

    return frame.map(fmt).to_html(index=False, escape=True, border=0, classes="t")


CSS = """
body{font-family:Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;color:#222;line-height:1.45}
h1{font-size:1.6em}h2{border-bottom:2px solid #1f5f8b;padding-bottom:.2em;margin-top:2em}
img{max-width:100%;height:auto;display:block;margin:1em 0}
table.t{border-collapse:collapse;font-size:.82em;margin:1em 0}
table.t th,table.t td{border-bottom:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
.note{color:#555;font-size:.9em}.warn{background:#fff3cd;border-left:4px solid #b8860b;padding:.5em 1em}.head p{margin:.6em 0}pre{background:#f6f6f6;padding:1em;overflow-x:auto;font-size:.75em}
"""


def build_report(path: Path) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.xlsx`` into the results folder ``path`` from its tables."""
    path = Path(path)
    f = Folder(path)
    sections, sheets = [], {}
    title = f"simcj: {' vs '.join([f.base] + f.alternatives) if len(f.names) <= 3 else f'{len(f.alternatives)} options against {f.base}'}"
    m = f.manifest
    date = m.get("intervention_years")
    when = (
        f" Each option runs the base until its intervention date, year {date:g}, and its own settings from then on: "
        "before the date every case and queue is the base's." if date is not None else ""
    )
    intro = (
        f"<p class=note>{m.get('replications')} replications per scenario, seed {m.get('seed')}, "
        f"{m.get('warmup_years')} warm-up years then {m.get('years')} measured year(s), scale {m.get('scale')}.{when} "
        f"Flows (counts, costs) are per year of the measured period; rates are of the published denominators; "
        f"backlogs are stocks at the date stated. 95% confidence intervals.</p>"
    )
    scale = m.get("scale")
    if scale is not None and float(scale) != 1.0:
        intro += (
            f"<p class=warn><b>Not London's figures: this ran at scale {float(scale):g}.</b> Every volume, capacity, backlog and cost "
            f"below is {float(scale):g} of London's (rates, shares and times are not scaled); the options' descriptions give London's "
            "figures. Run at scale 1 for numbers to put in a board paper.</p>"
        )
    if f.is_comparison:
        sentences = headline_sentences(f)
        sections.append("<h2>Headlines</h2><div class=head>" + "".join(f"<p><b>{html.escape(s)}</b>: {html.escape(t)}</p>" for s, t in sentences.items()) + "</div>")
        head = _headline_frame(f)
        sections.append("<h2>Headline table</h2>" + _table(head) + _uncertainty_section(f))
        sheets["Headline"] = head
        timing = timing_table(f.yearly, f.alternatives, catalogue.headline_differences(f.scenario))
        sections.append(
            "<h2>When the effects happen</h2><p class=note>Each option minus the base in the first year after its date and in the settled "
            "year (the last whole measured year). <b>One-off</b>: clear in year 1, gone once settled (a queue clearing, for instance); "
            "<b>lasting</b>: still clear once settled; <b>builds</b>: clear only once settled. Flows in each year; stocks at its end.</p>"
            + _table(timing)
        )
        sheets["When"] = timing
    performance = {n: d / "performance.csv" for n, d in f.scenario_dirs.items() if (d / "performance.csv").exists()}
    if performance:
        sections.append(
            "<h2>Borough performance</h2><p class=note>Each indicator for London and each borough against its target, as a community "
            "safety partnership reports it: <b>Green</b> on target or within its tolerance; <b>Amber</b> off target but improved or "
            "maintained on the year before (the last warm-up year); <b>Red</b> off target and not improved. Direction of travel: better, "
            "worse or the same (within 1%). Values are means over replications with 95% CIs.</p>"
        )
        for name, p in performance.items():
            table = pd.read_csv(p)
            sections.append((f"<h3>{html.escape(name)}</h3>" if len(f.names) > 1 else "") + _table(table))
            sheets[f"Performance {name}"] = table
    offences = f.offences()
    has_women = any((s["offence"] == WOMEN).any() for s in f.summaries.values())
    has_victims = any((s["offence"] != WOMEN).any() for s in f.summaries.values())
    if has_victims:
        sections.append("<h2>Attrition funnel</h2>" + _img(cf.funnel_comparison(f.summaries, offences + ["all"], catalogue.funnel(f.scenario)), "funnel comparison"))
    if has_women:
        table = womens_table(f)
        sections.append(
            "<h2>Women in contact with the criminal justice system</h2><p class=note>The women's pathway, per year of the measured period "
            "(mean [95% CI]). Proven reoffending follows each caution, conviction without custody and release for 12 months, as the MoJ "
            "counts it. The housing and children rows are outcomes of the custody simulated (seed 003 §3.5), not effects fed back.</p>"
            + _table(table)
            + _img(cf.backlog_trajectories(f.timeseries, f.warmup_days(), f.intervention_days(), "women_in_prison", "Women in prison", "women at a time"), "women in prison over time")
        )
        sheets["Women's pathway"] = table
    if f.is_comparison:
        sections.append(
            "<h2>Differences from the base</h2><p class=note>Each option minus the base, replication by replication on common random numbers.</p>"
            + _img(cf.forest(f.differences, catalogue.headline_differences(f.scenario), f.alternatives), "forest plot of differences")
        )
    if has_victims:
        sections.append("<h2>Backlog trajectories</h2>" + _img(cf.backlog_trajectories(f.timeseries, f.warmup_days(), f.intervention_days()), "Crown Court backlog over time"))
    appraisal = appraisal_table(f.economics, f.alternatives) if f.is_comparison and not f.economics.empty else pd.DataFrame()
    if not appraisal.empty:
        sections.append(
            "<h2>Appraisal summary</h2><p class=note>Each option against the base in the Green Book's form, mean [95% CI] over "
            f"replications: {html.escape(appraisal_basis(f.scenario, int(f.scenario.run.years + 1e-9)))}. NPSV is the harm avoided less "
            "the delivery cost (with the optimism-bias uplift) and the consequence cost; the BCR divides the first by the rest, and is not "
            "defined for an option that saves money.</p>" + _table(appraisal.rename_axis("option").reset_index())
        )
        sheets["Appraisal"] = f.economics[f.economics["measure"].isin([m for m, _, _ in APPRAISAL])]
    if f.is_comparison and not f.economics.empty:
        kpis = catalogue.entries(f.scenario)
        econ = f.economics.assign(measure=f.economics["measure"].map(lambda x: ECONOMICS_LABELS.get(x) or (kpis[x].label if x in kpis else x)))
        sections.append(
            "<h2>Cost-effect plane and costs</h2>"
            "<p class=note><b>Delivery cost</b> is the capacity funded, at its funded level: police units, CPS units, IDVAs, ISVAs, SDVC "
            "sessions, a specialist list, and the shared magistrates' and Crown Court sitting days (which also hear other cases: an option "
            "that adds sitting days pays for all of them). <b>Consequence cost</b> is what follows from the cases: prison, the custody imposed "
            "x share served x the cost of a place. Ratios of incremental cost to effect have paired-bootstrap CIs; where the effect's CI "
            "spans zero no ratio is given.</p>"
            + _img(cf.cost_effect_plane(f.economics, f.names), "cost-effect plane")
            + _table(econ, "{:,.0f}")
        )
        sheets["Economics"] = f.economics
    if f.is_comparison:
        crn = crn_table(f)
        sections.append(
            "<h2>What common random numbers buy</h2><p class=note>Half-width of the 95% CI of each difference: paired (the same random numbers in both "
            "scenarios) against unpaired (as if run independently). A ratio of 3 means an independent design would need about 9 times the replications "
            "for the same precision.</p>" + _table(crn)
        )
        sheets["Paired vs unpaired"] = crn
        sheets["Differences"] = f.differences[f.differences["group"] == "all"]
    reps_text = _replications_section(f)
    sections.append("<h2>Replications and warm-up</h2>" + reps_text)
    for name in f.names:
        sections.append(f"<h3>Warm-up diagnostic: {html.escape(name)}</h3>" + _img(cf.warmup_diagnostic(f.timeseries[name], f.warmup_days(), name, catalogue.stocks(f.scenario)), f"warm-up diagnostic {name}"))
    if f.precision is not None:
        sheets["Precision"] = f.precision.reset_index()
    changed = changed_parameters(f) if f.is_comparison else pd.DataFrame()
    costs = sourced_table(f, "costs.")
    disputed = sourced_table(f, ranged_only=True)
    sections.append(
        "<h2>Assumptions and sources</h2>"
        + ("<h3>What each option changes</h3>" + _table(changed) if not changed.empty else "")
        + "<h3>Unit costs</h3>"
        + _table(costs, "{:,.4g}")
        + "<h3>Parameters with a sensitivity range (disputed or uncertain)</h3>"
        + _table(disputed, "{:,.4g}")
    )
    sheets["Changes"] = changed
    sheets["Unit costs"] = costs
    sheets["Ranges"] = disputed
    manifest_text = json.dumps({"run": f.manifest, "scenarios": {n: {k: v for k, v in mm.items() if k not in ("resolved_scenario", "sources")} for n, mm in f.manifests.items()}}, indent=2)
    sections.append("<h2>Manifest</h2><pre>" + html.escape(manifest_text) + "</pre>")
    sheets["Manifest"] = pd.DataFrame(
        [(k, json.dumps(v) if isinstance(v, (dict, list)) else v) for k, v in f.manifest.items() if k not in ("resolved_scenario", "sources")], columns=["key", "value"]
    )
    page = (
        f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title><style>{CSS}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{intro}{''.join(sections)}</body></html>"
    )
    html_path = path / "report.html"
    write_text_atomic(html_path, page)
    xlsx_path = path / "report.xlsx"
    _write_workbook(xlsx_path, sheets)
    return html_path, xlsx_path


def _headline_frame(f: Folder) -> pd.DataFrame:
    differences = f.differences
    if "uncertainty_low" not in differences:  # a folder written before --uncertainty existed
        differences = differences.assign(uncertainty_low=np.nan, uncertainty_high=np.nan)
    return headline_table(differences, f.alternatives, catalogue.headline_differences(f.scenario)).rename_axis("scenario").reset_index()


def _uncertainty_section(f: Folder) -> str:
    """How sure we are: each option's range over the uncertain parameters, how much of it is noise,
    what it depends on most; with harm valued, which option is best and what is worth finding out."""
    if f.ranking is None:
        return ""
    n_sets = f.manifest.get("uncertainty_sets")
    rows = []
    any_significant = "significant" in f.ranking and f.ranking["significant"].astype(bool).any()
    for (s, metric, offence), r in f.ranking.groupby(["scenario", "metric", "offence"], sort=False):
        top = r.sort_values("rank").head(3)
        marks = top["significant"].astype(bool) if "significant" in top else pd.Series(False, index=top.index)
        rows.append({"option": s, "KPI": f"{metric} ({offence})",
                     "depends most on (Spearman rho over sets; * distinguishable from chance)": "; ".join(
                         f"{p} ({rho:+.2f}{'*' if m else ''})" for p, rho, m in zip(top["parameter"], top["spearman"], marks))})
    text = (
        f"<h2>How sure we are</h2><p class=note>Beyond the Monte Carlo CI [in brackets], each option was compared with the base on {n_sets} "
        "Latin-hypercube sets of every parameter written with a range (disputed effects, capacities, lead times, distribution shapes, "
        "fitted values within their bounds, unit costs and harm values), each set on its own seed, the options of a set on the base's "
        "(common random numbers). The headline table gives {in braces} the 2.5 to 97.5 percentiles over sets of each set's mean paired "
        "difference; the headlines say where the sign of an effect depends on those parameters.</p>"
    )
    if f.variance is not None:
        labels = {(m, o): label for m, o, label, _ in catalogue.headline_differences(f.scenario)} | {("npsv", "all"): "NPSV"}
        v = f.variance.set_index(["metric", "offence", "scenario"])["share_parameter"]
        split = pd.DataFrame({s: [v.get((m, o, s), np.nan) for m, o in labels] for s in f.alternatives}, index=list(labels.values()))
        split = split.dropna(how="all").map(lambda x: "n/a" if not np.isfinite(x) else f"{x:.0%}")
        reps = int(f.variance["reps"].min()) if len(f.variance) else 0
        text += (
            "<p class=note>The parameters' share of the spread over sets: how much of it is what we do not know, the rest being the "
            f"simulation's noise (within each set, over its {reps} replications; O'Hagan, Stevenson &amp; Madan 2007). A share near 0 "
            "means more replications a set, not more sets, would sharpen the answer.</p>" + _table(split.rename_axis("KPI").reset_index())
        )
    text += (
        ("<p class=note>Below, the parameters each answer depends on most. "
         + ("" if any_significant else f"<b>At {n_sets} sets no correlation is distinguishable from chance</b> (5%, Bonferroni over the "
            "parameters): the ranking means nothing yet; run more sets. ")
         + "</p>")
        + _table(pd.DataFrame(rows))
    )
    return text + _decision_section(f, n_sets)


def _decision_section(f: Folder, n_sets) -> str:
    """Which option is best over the sets, acceptability curves, and the value of finding out."""
    if f.acceptability is None:
        return ""
    best = f.acceptability[f.acceptability["outcome"] == "as valued"][["scenario", "probability_best"]]
    best = best.assign(probability_best=best["probability_best"].map(lambda x: f"{x:.0%}"))
    text = (
        "<h2>The decision, and what is worth finding out</h2><p class=note>On each set, an option's net benefit is its NPSV against "
        f"the base (the base's is 0). Over the {n_sets} sets, the probability that each has the highest:</p>" + _table(best.rename(columns={"scenario": "option"}))
        + _img(cf.acceptability_curves(f.acceptability, f.names), "acceptability curves")
    )
    if f.evppi is not None and len(f.evppi):
        e = f.evppi.head(11)
        e = e.assign(evppi=e["evppi"].map(_money), distinguishable=e["distinguishable"].map(lambda b: "yes" if b else "no: noise alone gives as much"))
        text += (
            "<p class=note>The expected value of perfect information: what knowing the parameters exactly would be worth to this "
            "decision (overall, EVPI, from the sets: an upper bound, as it keeps their noise), and for each group of parameters (EVPPI, "
            "by regression on the sets, less what the same regression finds with the group's parameters shuffled: Strong, Oakley &amp; "
            "Brennan 2014). A group worth little need not be researched before deciding.</p>"
            + _table(e[["group", "evppi", "distinguishable", "parameters", "method"]])
        )
    return text


def _replications_section(f: Folder) -> str:
    m = f.manifest
    if f.precision is None:
        return f"<p>{m.get('replications')} replications, fixed on the command line or by the scenario.</p>"
    chosen = m.get("replications_chosen")
    text = (
        "<p>Replications chosen by the confidence-interval method of Hoad, Robinson and Davies (2010): the smallest number at which the 95% CI "
        "half-width of every headline KPI is within the precision asked for and stays there for the look-ahead. "
        + (f"Chosen: <b>{chosen}</b>; all {m.get('replications')} replications run are used." if chosen else f"<b>Not reached</b> within {m.get('replications')} replications: read the CIs with care.")
        + "</p>"
    )
    return text + _table(f.precision.reset_index(), "{:.3f}")


def sheet_names(names: list[str]) -> list[str]:
    """Excel sheet names (at most 31 characters), each distinct: a name that repeats once cut gets ' (2)', ' (3)', ..."""
    out: list[str] = []
    for name in names:
        candidate, k = name[:31], 1
        while candidate in out:
            k += 1
            candidate = f"{name[:31 - len(f' ({k})')]} ({k})"
        out.append(candidate)
    return out


def _write_workbook(path: Path, sheets: dict[str, pd.DataFrame]) -> None:
    """One sheet a table, numbers kept as numbers with a display format (thousands separators, or
    three decimals for small values) and columns wide enough to read."""
    tmp = path.with_name(f".{path.name}.partial")
    with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
        for sheet, frame in zip(sheet_names(list(sheets)), sheets.values()):
            frame.to_excel(xl, sheet_name=sheet, index=False)
            ws = xl.sheets[sheet]
            for j, column in enumerate(frame.columns, start=1):
                values = frame[column]
                letter = ws.cell(row=1, column=j).column_letter
                width = max([len(str(column)), *(len(str(v)) for v in values.head(200))]) if len(values) else len(str(column))
                ws.column_dimensions[letter].width = min(60, width + 2)
                if pd.api.types.is_float_dtype(values):
                    big = values.abs().max(skipna=True)
                    number = "#,##0" if np.isfinite(big) and big >= 100 else "0.000"
                    for cell in ws[letter][1:]:
                        cell.number_format = number
    tmp.replace(path)
