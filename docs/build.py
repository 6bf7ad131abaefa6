"""The documentation's tables of results, generated from simcj's own commands, never copied by hand.

    python -m docs.build                         # every table (tens of minutes at London scale)
    python -m docs.build --only baseline         # one generator (repeatable)
    python -m docs.build --quick --out /tmp/gen  # a smoke run: scale 0.05, 2 replications, 1 year
    python -m docs.build --placeholders          # a placeholder for every table not yet generated

Each generator runs simcj commands from the repository root and writes markdown tables into
``docs/generated/`` (or ``--out``). Every file opens with a comment and a visible note naming the
command, the commit and the date; pages include the files with pymdownx.snippets. Quick output
says so in its header and is never to be committed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from simcj.engine.metrics import UNITS
from simcj.experiment import catalogue
from simcj.experiment.compare import ECONOMICS_LABELS
from simcj.scenario.loader import load_scenario
from simcj.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "generated"

# What a quick run changes (scale, replications, measured years), by command.
QUICK_RUN = ["--scale", "0.05", "--reps", "2", "--years", "1"]
QUICK_VALIDATE = ["--scale", "0.05", "--reps", "2"]

# The five seed documents the scenario files cite as "seed 00N ... L123"; named in full in docs/model/sources.md.
SEEDS = {
    "000": "MOPAC Challenge Board on VAWG, 2013",
    "001": "Mayor's response to the PCC's VAWG report, 2022",
    "002": "Tri-borough VAWG Partnership Annual Report 2016-17",
    "003": "London's Blueprint for women in contact with the CJS, 2019",
    "004": "Havering Crime and Disorder Sub-Committee pack, January 2017",
}
SEED_CITATION = re.compile(r"\bseed (00[0-4])(?:_[0-9a-f]{16}\.txt)?", re.IGNORECASE)

# --------------------------------------------------------------------------- formatting


def finite(v) -> bool:
    try:
        return v is not None and math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def is_share(unit: str) -> bool:
    """Is a metric of this catalogue unit a share (printed in per cent, its differences in points)?"""
    return "%" in UNITS[unit].fmt


def fmt(v, unit: str, signed: bool = False) -> str:
    """A number as a board paper prints it, by its catalogue unit (simcj.engine.metrics.UNITS): thousands
    separators, no scientific notation, shares in per cent (a difference in points), money a year in £m."""
    if not finite(v):
        return "n/a"
    v = float(v)
    u = UNITS[unit]
    if u.kind == "money":
        text = f"£{abs(v) / 1e6:,.2f}m" if u.volume else f"£{abs(v):,.0f}"
        return ("-" if v < 0 else "+" if signed else "") + text
    if is_share(unit):
        return f"{v * 100:+.1f}" if signed else u.fmt.format(v)
    if signed and u.kind == "duration":
        return f"{v:+,.1f}"  # a difference of days shows its tenths
    return (u.fmt.replace("{:", "{:+") if signed else u.fmt).format(v)


def cell(mean, low, high, unit: str, signed: bool = False) -> str:
    """'mean [low, high]', or the mean alone when there is no interval (one replication)."""
    text = fmt(mean, unit, signed)
    if finite(low) and finite(high) and text != "n/a":
        text += f" [{fmt(low, unit, signed)}, {fmt(high, unit, signed)}]"
    return text


def units(scenario: Scenario) -> Callable[[str], str]:
    """Each metric's catalogue unit (one the catalogue does not list: catalogue.describe's, a share)."""
    known = catalogue.entries(scenario)

    def unit(metric: str) -> str:
        return (known.get(metric) or catalogue.describe(metric, scenario)).unit

    return unit


def scenario_of(folder: Path) -> Scenario:
    """The scenario a results folder was run with (its manifest's resolved scenario)."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return Scenario.model_validate(manifest["resolved_scenario"])


def scenario_file(path: str) -> Scenario:
    return load_scenario(ROOT / path)


def plain_value(v) -> str:
    """A parameter's value as written: integers and decimals in full, never in scientific notation."""
    if isinstance(v, bool) or v is None:
        return "" if v is None else str(v)
    if isinstance(v, (int, float)) and finite(v):
        if float(v).is_integer() and abs(v) < 1e15:
            return f"{int(v):,}"
        if abs(v) >= 1000:
            return f"{v:,.2f}".rstrip("0").rstrip(".")
        text = f"{v:.6f}".rstrip("0").rstrip(".")
        return text if text not in ("0", "-0") else f"{v:.10f}".rstrip("0")
    return str(v)


def escape(text: str) -> str:
    """Text safe inside a markdown table cell."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").strip()


def name_seeds(text: str, link: str = "sources.md") -> str:
    """Name the publication beside each 'seed 00N' citation (the documents are not in the repository)."""

    def one(m: re.Match) -> str:
        number = m.group(1)
        return f"[seed {number}]({link}#seed-{number}) ({SEEDS[number]})"

    return SEED_CITATION.sub(one, text)


def table(header: list[str], rows: list[list[str]], align: str | None = None) -> str:
    """A markdown table; ``align`` is one character a column, 'l' or 'r'."""
    align = align or "l" * len(header)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def offence_label(name: str) -> str:
    """An offence class (or 'all') as a column heading: 'domestic_abuse' is 'Domestic abuse'."""
    return name.replace("_", " ").capitalize()


# --------------------------------------------------------------------------- running simcj


@dataclass
class Output:
    """One generated file: its name, the command its numbers come from, and its markdown body."""

    file: str
    command: str
    body: str


@dataclass
class Context:
    quick: bool
    jobs: int | None
    tmp: Path

    def simcj(self, args: list[str], ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess:
        """Run ``simcj ARGS`` from the repository root (this checkout's simcj, whatever is installed)."""
        jobs = ["--jobs", str(self.jobs)] if self.jobs and args[0] in ("run", "compare", "validate") else []
        out = subprocess.run([sys.executable, "-m", "simcj.cli", *args, *jobs], cwd=ROOT, capture_output=True, text=True)
        if out.returncode not in ok:
            raise SystemExit(f"simcj {' '.join(args)} exited {out.returncode}:\n{out.stderr[-4000:]}")
        return out

    def shown(self, args: list[str]) -> str:
        """The command as a reader would type it (no temporary folders)."""
        return "simcj " + " ".join(args)

    def run_flags(self, reps: str, years: str | None = None) -> list[str]:
        if self.quick:
            return list(QUICK_RUN)
        return ["--reps", reps] + (["--years", years] if years else [])

    def validate_flags(self, reps: str) -> list[str]:
        return list(QUICK_VALIDATE) if self.quick else ["--reps", reps]


def summary_lookup(summary: pd.DataFrame) -> Callable[[str, str], pd.Series | None]:
    s = summary[summary["group"] == "all"].set_index(["metric", "offence"])

    def get(metric: str, offence: str = "all"):
        if (metric, offence) not in s.index:
            return None
        row = s.loc[(metric, offence)]
        return row if finite(row["mean"]) else None

    return get


# --------------------------------------------------------------------------- generators


def parameter_values(scenario: str) -> dict[str, object]:
    """Each sourced parameter's value in the merged scenario (extends, fitted values), by key path."""
    try:
        from simcj.scenario.loader import resolve_tree
    except ImportError:  # pragma: no cover - the table then leaves the value out
        return {}
    tree, _ = resolve_tree(ROOT / scenario)

    def walk(node, prefix: str, out: dict) -> None:
        if isinstance(node, dict) and "value" in node and "source" in node:
            out[prefix] = node["value"]
        elif isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{prefix}.{k}" if prefix else str(k), out)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{prefix}.{i}", out)

    values: dict[str, object] = {}
    walk(tree, "", values)
    return values


def relative(path: str) -> str:
    p = Path(path)
    try:
        return str((p if p.is_absolute() else ROOT / p).resolve().relative_to(ROOT))
    except ValueError:
        return path


def gen_assumptions(ctx: Context) -> list[Output]:
    """The assumptions log: every parameter whose evidence is an assumption (and those fitted), from provenance."""
    outputs = []
    for scenario, file, own in (
        ("scenarios/baseline.yaml", "assumptions.md", None),
        ("scenarios/women/baseline.yaml", "assumptions-women.md", "scenarios/women/"),
    ):
        target = ctx.tmp / f"{Path(file).stem}.json"
        ctx.simcj(["check", scenario, "--json", str(target)])
        data = json.loads(target.read_text(encoding="utf-8"))
        values = parameter_values(scenario)
        sources = {k: {**v, "file": relative(v["file"])} for k, v in data["sources"].items()}
        listed = {k: v for k, v in sources.items() if own is None or v["file"].startswith(own)}
        parts = []
        kinds = list(data["provenance"])
        counts = [[kind, f"{data['provenance'][kind]:,}"] + ([f"{sum(1 for v in listed.values() if v['kind'] == kind):,}"] if own else []) for kind in kinds]
        header = ["kind of evidence", f"parameters of `{scenario}`"] + (["set in its own file"] if own else [])
        parts.append(
            f"`{scenario}` has **{data['parameters']:,} sourced parameters**, {data['ranged']:,} of them with a low-high range"
            + (f"; {len(listed):,} are set in `{own}` and the rest are inherited from `scenarios/baseline.yaml` (listed in its own log)." if own else ".")
        )
        parts.append(table(header, counts, "l" + "r" * (len(header) - 1)))
        for kind, title in (("assumption", "Assumptions"), ("fitted", "Fitted parameters")):
            rows = []
            for key in sorted(k for k, v in listed.items() if v["kind"] == kind):
                v = listed[key]
                rng = f"{plain_value(v['low'])} to {plain_value(v['high'])}" if v["low"] is not None else ""
                rows.append([f"`{escape(key)}`", plain_value(values.get(key)), rng, escape(name_seeds(v["source"]))])
            parts.append(f"**{title}** ({len(rows):,}" + (f" set in `{own}`" if own else "") + ")")
            parts.append(table(["parameter", "value", "range", "source"], rows, "lrll") if rows else "None.")
        outputs.append(Output(file, ctx.shown(["check", scenario, "--json", "FILE"]), "\n\n".join(parts)))
    return outputs


def headline_rows(summary: pd.DataFrame, scenario: Scenario) -> list[list[str]]:
    """The catalogue's headline table of a run: a row a metric (its label), a column an offence class
    (catalogue.offences); a cell is blank where the summary has no value, a row with none is left out."""
    get = summary_lookup(summary)
    rows = []
    for m in catalogue.headline(scenario):
        cells = []
        for o in catalogue.offences(scenario):
            r = get(m.name, o)
            cells.append(cell(r["mean"], r["ci_low"], r["ci_high"], m.unit) if r is not None else "")
        if any(cells):
            rows.append([escape(m.label), *cells])
    return rows


def borough_table(performance: pd.DataFrame, scenario: Scenario) -> str:
    unit = units(scenario)
    indicators = list(dict.fromkeys(performance["indicator"]))
    header = ["Area"]
    for ind in indicators:
        first = performance[performance["indicator"] == ind].iloc[0]
        u = unit(first["metric"])
        tol = fmt(first["tolerance"], u).rstrip("%") + (" points" if is_share(u) else "")
        header += [f"{ind} (target {fmt(first['target'], u)} ±{tol})", "RAG", "DoT"]
    rows = []
    for area in dict.fromkeys(performance["area"]):
        row = [area]
        for ind in indicators:
            r = performance[(performance["area"] == area) & (performance["indicator"] == ind)]
            if r.empty:
                row += ["", "", ""]
                continue
            r = r.iloc[0]
            row += [cell(r["value"], r["ci_low"], r["ci_high"], unit(r["metric"])), str(r["rag"]), str(r["direction"])]
        rows.append(row)
    return table(header, rows)


DAYS = (1, 7, 14, 30, 60, 90, 180, 365)


def withdrawal_timing(folder: Path) -> str:
    """Share of pre-charge withdrawals in the measured period that came within d days of report."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    start = float(manifest["warmup_years"]) * 365.0
    cases = pd.read_parquet(folder / "cases.parquet", columns=["offence", "exit", "t_report", "t_withdrawal"])
    cases = cases[(cases["exit"].astype(str) == "withdrew_pre_charge") & (cases["t_withdrawal"] >= start)]
    published = {}
    targets = pd.read_csv(ROOT / "calibration" / "targets.csv")
    for d in DAYS:
        for _, t in targets[targets["metric"] == f"share_withdrawals_within_{d}d"].iterrows():
            published[(t["offence"], d)] = t["value"]
    rows = []
    order = list(manifest.get("resolved_scenario", {}).get("offences", {})) or list(dict.fromkeys(cases["offence"].astype(str)))
    for offence in order:
        mine = cases[cases["offence"].astype(str) == offence]
        days = (mine["t_withdrawal"] - mine["t_report"]).to_numpy()
        row = [offence_label(offence)]
        for d in DAYS:
            share = (days <= d).mean() if len(days) else float("nan")
            text = fmt(share, "share")
            if (offence, d) in published:
                text += f" (published {fmt(published[(offence, d)], 'share')})"
            row.append(text)
        rows.append(row)
    return table(["offence"] + [f"within {d} day{'s' if d > 1 else ''}" for d in DAYS], rows, "l" + "r" * len(DAYS))


def gen_baseline(ctx: Context) -> list[Output]:
    """The calibrated baseline's headline KPIs, the borough performance table and when victims withdraw."""
    out = ctx.tmp / "baseline"
    args = ["run", "scenarios/baseline.yaml", *ctx.run_flags("10")]
    ctx.simcj([*args, "--out", str(out), "--quiet"])
    summary = pd.read_csv(out / "summary.csv")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    scenario = scenario_of(out)
    offences = catalogue.offences(scenario)
    rows = headline_rows(summary, scenario)
    lead = (
        f"Mean [95% CI] over {manifest['replications']} replications, {manifest['warmup_years']:g} warm-up and "
        f"{manifest['years']:g} measured year(s), seed {manifest['seed']}, scale {manifest['scale']:g}; per year unless stated."
    )
    headline = lead + "\n\n" + table([""] + [offence_label(o) for o in offences], rows, "l" + "r" * len(offences))
    outputs = [Output("baseline.md", ctx.shown(args), headline)]
    if (out / "performance.csv").exists():
        outputs.append(
            Output(
                "baseline-boroughs.md",
                ctx.shown(args),
                "Mean [95% CI]; RAG and direction of travel (DoT) as the indicator defines them.\n\n"
                + borough_table(pd.read_csv(out / "performance.csv"), scenario),
            )
        )
    outputs.append(Output("baseline-withdrawal-timing.md", ctx.shown(args), withdrawal_timing(out)))
    return outputs


def target_rows(targets: list[dict], scenario: Scenario) -> list[list[str]]:
    unit = units(scenario)
    rows = []
    for t in targets:
        u = unit(t["metric"])
        rows.append([
            t["id"], t["use"], f"`{t['metric']}`", t["offence"],
            cell(t["target"], t["low"], t["high"], u), cell(t["simulated"], t.get("sim_ci_low"), t.get("sim_ci_high"), u),
            "pass" if t["passed"] else "**fail**",
        ])  # fmt: skip
    return rows


def validation_body(data: dict, scenario: Scenario) -> str:
    header = ["id", "use", "metric", "offence", "published [accepted range]", "simulated [95% CI]", "result"]
    ind, idn = data.get("independent", {}), data.get("identity", {})
    fit, hold = data.get("independent_fit", {}), data.get("independent_holdout", {})
    checks = data.get("checks", [])
    summary = (
        f"**Independent targets passed: {ind.get('passed', 0)} of {ind.get('total', 0)}** (fitted {fit.get('passed', 0)} of {fit.get('total', 0)}, "
        f"held out {hold.get('passed', 0)} of {hold.get('total', 0)}; {data.get('independent_pass_share_required', 0.9):.0%} required). "
        f"Identity checks passed: {idn.get('passed', 0)} of {idn.get('total', 0)}. "
        f"Model checks passed: {sum(1 for c in checks if c['passed'])} of {len(checks)}. Verdict: **{'pass' if data.get('passed') else 'not met'}**."
    )
    parts = [summary]
    independent = [t for t in data["targets"] if t.get("kind") == "independent"]
    identity = [t for t in data["targets"] if t.get("kind") == "identity"]
    parts += ["**Independent targets** (published figures the model could miss)", table(header, target_rows(independent, scenario))]
    if identity:
        parts += ["**Identity checks** (equal an input or hold by construction: not validation)", table(header, target_rows(identity, scenario))]
    if checks:
        parts += ["**Model checks**", "\n".join(f"- `{c['name']}`: {'pass' if c['passed'] else '**fail**'}. {escape(c['message'])}" for c in checks)]
    if data.get("queues"):
        parts += ["**Queues** (growth a year over the measured years against the published trend; none published: steady, within ±5%)", queues_table(data["queues"])]
    return "\n\n".join(parts)


def signed_share(v) -> str:
    return f"{v:+.1%}" if finite(v) else "—"


def queues_table(queues: list[dict]) -> str:
    rows = [
        [escape(q["label"]), f"{q['level']:,.0f}" if finite(q["level"]) else "—",
         f"{signed_share(q['growth_per_year'])} [{signed_share(q['ci_low'])}, {signed_share(q['ci_high'])}]",
         f"{q['published_low']:+.0%} to {q['published_high']:+.0%}", q["verdict"], "pass" if q["passed"] else "**fail**"]
        for q in queues
    ]  # fmt: skip
    return table(["queue", "mean level (London)", "growth a year [95% CI]", "allowed", "verdict", "result"], rows)


def history_body(data: dict) -> str:
    """The back-cast: each published point beside the run on its date, and each series' fit."""
    history = data.get("history", {})
    points, series = history.get("points", []), history.get("series", [])
    rows = [
        [f"`{p['series']}`", p["date"], p["use"] if p["scored"] else "not scored", f"{p['published']:,.0f}",
         f"{p['simulated']:,.0f} [{p['sim_ci_low']:,.0f}, {p['sim_ci_high']:,.0f}]" if finite(p["simulated"]) else "—"]
        for p in points
    ]  # fmt: skip
    fits = [[f"`{s['series']}`", s["use"], str(s["points"]), f"{s['mape']:.1%}", f"{s['theil_u']:.3f}"] for s in series]
    bound = history.get("max_held_out_mape", 0.25)
    verdict = f"Verdict: **{'pass' if data.get('passed') else 'not met'}** (every series' held-out MAPE at most {bound:.0%}, and the targets and checks of `simcj validate`)."
    return "\n\n".join([
        table(["series", "date", "use", "published", "simulated [2.5-97.5% over replications]"], rows),
        table(["series", "points", "n", "MAPE", "Theil's U"], fits),
        verdict,
        "**Queues**", queues_table(data.get("queues", [])),
    ])  # fmt: skip


def gen_history(ctx: Context) -> list[Output]:
    """London's courts from 2015 on dated inputs against their published history (the back-cast)."""
    target = ctx.tmp / "history.json"
    args = ["validate", "scenarios/history/london.yaml", *ctx.validate_flags("4")]
    ctx.simcj([*args, "--json", str(target)], ok=(0, 1))
    return [Output("history.md", ctx.shown(args), history_body(json.loads(target.read_text(encoding="utf-8"))))]


def gen_validation(ctx: Context) -> list[Output]:
    """The baseline against the published targets, independent and identity apart, and the model checks."""
    target = ctx.tmp / "validation.json"
    args = ["validate", "scenarios/baseline.yaml", *ctx.validate_flags("10")]
    ctx.simcj([*args, "--json", str(target)], ok=(0, 1))
    body = validation_body(json.loads(target.read_text(encoding="utf-8")), scenario_file("scenarios/baseline.yaml"))
    return [Output("validation.md", ctx.shown(args), body)]


OPTIONS = (
    "idva_plus_20",
    "sdvc_all_da",
    "sdvc_close_one",
    "rasso_court",
    "crown_sitting_days_plus_10",
    "investigators_plus_10",
    "evidence_led_prosecution",
    "faster_charging",
)
SAFETY_OPTIONS = ("marac_fortnightly", "drive_programme", "hospital_idvas", "iris_gp", "refuges_plus_100", "idva_plus_20")

# The economics measures (not KPIs: simcj.experiment.compare.ECONOMICS_LABELS names them) the options
# tables add below the KPIs, with their units: an incremental cost a year, a cost per unit of outcome.
ECONOMICS = (("incremental_delivery_cost", "£ a year"), ("incremental_consequence_cost", "£ a year"), ("delivery_cost_per_extra_conviction", "£"),
             ("pv_benefit", "£ PV"), ("npsv", "£ PV"), ("bcr", "ratio"))


def difference_table(folder: Path, options: tuple[str, ...], economics: tuple[tuple[str, str], ...] = ()) -> str:
    """A comparison's paired differences: a row a KPI (catalogue.headline_differences of the base), then a
    row an economics measure; a column an option. A cell is blank where the comparison has no such row."""
    names = alternatives(folder)
    base = scenario_of(folder / "scenarios" / json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["base"])
    unit = units(base)
    differences = pd.read_csv(folder / "differences.csv")
    d = differences[differences["group"] == "all"].set_index(["scenario", "metric", "offence"])
    rows = []
    for metric, offence, label, _ in catalogue.headline_differences(base):
        cells = []
        for n in names:
            r = d.loc[(n, metric, offence)] if (n, metric, offence) in d.index else None
            cells.append(cell(r["diff_mean"], r["diff_ci_low"], r["diff_ci_high"], unit(metric), signed=True) if r is not None else "")
        if any(cells):
            rows.append([escape(label), *cells])
    if economics:
        e = pd.read_csv(folder / "economics.csv").set_index(["scenario", "measure"])
        for measure, u in economics:
            cells = []
            for n in names:
                r = e.loc[(n, measure)] if (n, measure) in e.index else None
                ok = r is not None and finite(r["mean"])
                cells.append(cell(r["mean"], r["ci_low"], r["ci_high"], u, signed=measure.startswith(("incremental", "pv_benefit", "npsv"))) if ok else "n/a")
            rows.append([escape(ECONOMICS_LABELS[measure]), *cells])
    return table([""] + [f"`{o}`" for o in options], rows, "l" + "r" * len(options))


def alternatives(folder: Path) -> list[str]:
    """The options' scenario names (a file's `name:`), in the order they were given."""
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["alternatives"]


def comparison_lead(folder: Path) -> str:
    m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    date = m.get("intervention_years")
    reps = m["replications"]
    if m.get("replications_chosen"):
        reps = f"{m['replications']} ({m['replications_chosen']} chosen by the CI method)"
    return (
        f"Paired differences from `{m['base']}` on common random numbers, mean [95% CI] over {reps} replications; each option from year "
        f"{date:g} (the end of the warm-up), {m['years']:g} measured year(s), seed {m['seed']}, scale {m['scale']:g}; "
        "flows per measured year, backlogs and waiting lists stocks, rates in percentage points."
    )


def gen_options(ctx: Context) -> list[Output]:
    """The shipped options against the baseline: the criminal justice funnel and costs; then repeats, safety and MARAC."""
    outputs = []
    out = ctx.tmp / "options"
    args = ["compare", "scenarios/baseline.yaml", *(f"scenarios/{o}.yaml" for o in OPTIONS), *ctx.run_flags("10")]
    ctx.simcj([*args, "--out", str(out)])
    outputs.append(Output("options.md", ctx.shown(args), comparison_lead(out) + "\n\n" + difference_table(out, OPTIONS, ECONOMICS)))

    out = ctx.tmp / "safety"
    args = ["compare", "scenarios/baseline.yaml", *(f"scenarios/{o}.yaml" for o in SAFETY_OPTIONS), *ctx.run_flags("10", years="2")]
    ctx.simcj([*args, "--out", str(out)])
    base_name = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["base"]
    base = pd.read_csv(out / "scenarios" / base_name / "summary.csv")
    get = summary_lookup(base)
    unit = units(scenario_of(out / "scenarios" / base_name))

    def level(metric, offence):
        r = get(metric, offence)
        return fmt(r["mean"], unit(metric)) if r is not None else "n/a"

    lead = (
        comparison_lead(out)
        + f" In the base: {level('repeat_incidents', 'all')} repeat incidents a year; {level('victims_safe_12m', 'domestic_abuse')} of DA victims with no further"
        f" recorded incident within 12 months; {level('marac_cases', 'all')} MARAC cases a year ({level('marac_cases_agency_referred', 'all')}"
        f" referred by other agencies with no police record); a MARAC repeat rate of {level('marac_repeat_rate', 'all')}."
    )
    # the economics of safety options leave out the cost per extra conviction, which they are not for
    outputs.append(Output("options-safety.md", ctx.shown(args), lead + "\n\n" + difference_table(out, SAFETY_OPTIONS, ECONOMICS[:2] + ECONOMICS[3:])))
    return outputs


WOMEN_OPTIONS = ("diversion_london", "centres_seven_boroughs", "custody_minus_20", "problem_solving_court")


def gen_women(ctx: Context) -> list[Output]:
    """The women's pathway: its baseline, its targets and its four options."""
    outputs = []
    out = ctx.tmp / "women"
    args = ["run", "scenarios/women/baseline.yaml", *ctx.run_flags("10")]
    ctx.simcj([*args, "--out", str(out), "--quiet"])
    scenario = scenario_of(out)
    rows = headline_rows(pd.read_csv(out / "summary.csv"), scenario)
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    lead = (
        f"Mean [95% CI] over {m['replications']} replications, {m['warmup_years']:g} warm-up and {m['years']:g} measured year(s), "
        f"seed {m['seed']}, scale {m['scale']:g}; per year unless a share or a stock."
    )
    columns = catalogue.offences(scenario)
    outputs.append(Output("women.md", ctx.shown(args), lead + "\n\n" + table([""] + [offence_label(o) for o in columns], rows, "l" + "r" * len(columns))))

    target = ctx.tmp / "women-validation.json"
    args = ["validate", "scenarios/women/baseline.yaml", *ctx.validate_flags("10")]
    ctx.simcj([*args, "--json", str(target)], ok=(0, 1))
    outputs.append(Output("women-validation.md", ctx.shown(args), validation_body(json.loads(target.read_text(encoding="utf-8")), scenario)))

    out = ctx.tmp / "women-options"
    args = ["compare", "scenarios/women/baseline.yaml", *(f"scenarios/women/{o}.yaml" for o in WOMEN_OPTIONS), *ctx.run_flags("10")]
    ctx.simcj([*args, "--out", str(out)])
    outputs.append(Output("women-options.md", ctx.shown(args), comparison_lead(out) + "\n\n" + difference_table(out, WOMEN_OPTIONS)))
    return outputs


def gen_effects(ctx: Context) -> list[Output]:
    """The shipped options' effects against published evaluations (calibration/effects.csv)."""
    target = ctx.tmp / "effects.json"
    args = ["validate", "scenarios/baseline.yaml", *ctx.validate_flags("4"), "--effects"]
    ctx.simcj([*args, "--json", str(target)], ok=(0, 1))
    effects = json.loads(target.read_text(encoding="utf-8"))["effects"]
    unit = units(scenario_file("scenarios/baseline.yaml"))  # the options extend it: their metrics are its
    rows = []
    for e in effects:
        u = unit(e["metric"])
        model = cell(e["model_diff"], e["model_ci_low"], e["model_ci_high"], u, signed=True) + (" points" if is_share(u) and finite(e["model_diff"]) else "")
        rows.append([e["id"], f"`{e['option']}`", f"`{e['metric']}` ({e['offence']})", e["published_direction"], f"{model} ({e['replications']} reps)", e["agreement"]])
    comparable = [e for e in effects if e["published_direction"] not in ("none", "disputed")]
    agree = sum(1 for e in comparable if e["agreement"] == "agrees")
    lead = (
        f"**{agree} of the {len(comparable)} published directions reproduced**; {len(effects) - len(comparable)} rows with nothing comparable "
        "published or sources that disagree. The model's effect is the paired difference from the baseline, mean [95% CI], at the "
        "replications that decided its verdict; sources and the published figures are in `calibration/effects.csv`."
    )
    return [
        Output("effects.md", ctx.shown(args), lead + "\n\n" + table(["id", "option", "KPI (offence)", "published", "model, paired [95% CI]", "verdict"], rows))
    ]


def gen_benchmarks(ctx: Context) -> list[Output]:
    """The speed and memory benchmarks against their budgets (python -m benchmarks)."""
    target = ctx.tmp / "benchmarks.json"
    flags = ["--quick"] if ctx.quick else []
    out = subprocess.run([sys.executable, "-m", "benchmarks", *flags, "--json", str(target)], cwd=ROOT, capture_output=True, text=True)
    if out.returncode not in (0, 1):
        raise SystemExit(f"python -m benchmarks exited {out.returncode}:\n{out.stderr[-4000:]}")
    verdicts = [line.split("  ", 1) for line in out.stdout.splitlines() if line.startswith(("PASS  ", "MISS  "))]
    r = json.loads(target.read_text(encoding="utf-8"))
    a, b, c, d, e, f, g = (
        r[k] for k in ("a_one_year", "b_per_case_vs_mmc", "c_scaling", "d_five_years_cli", "e_shared_warmup", "f_sweep_speedup", "g_dask_overhead")
    )
    results = [
        f"{a['replication_with_kpis_s']:.2f} s with KPIs ({a['draw_cases_s']:.2f} s drawing cases, {a['event_loop_s']:.2f} s event loop); "
        f"{a['reported_cases']:,} reported cases, {a['events']:,} events; peak {a['peak_mib']:,.0f} MiB",
        f"{b['ratio']:.2f} ({b['simcj_us_per_case']:.1f} µs a case against {b['mmc_us_per_customer']:.1f} µs a customer; {b['ratio_with_kpis']:.2f} counting the KPIs)",
        f"{c['time_ratio_x4_over_x1']:.2f}× (×0.25 {c['x0.25']['seconds']:.2f} s, ×1 {c['x1']['seconds']:.2f} s, ×4 {c['x4']['seconds']:.2f} s)",
        f"{d['peak_mib']:,.0f} MiB ({d['seconds']:.1f} s)",
        f"{e['ratio']:.3f} ({e['compared_s']:.1f} s against {e['separate_s']:.1f} s)",
        f"{f['speedup']:.2f} ({f['one_worker_s']:.1f} s on one worker against {f['two_workers_s']:.1f} s on two)",
        f"{g['overhead_ms_per_task']:.1f} ms a task",
    ]
    rows = [
        [label.replace("<=", "≤").replace(">=", "≥"), res, "pass" if verdict == "PASS" else "**missed**"] for (verdict, label), res in zip(verdicts, results)
    ]
    machine = r["machine"]
    lead = f"Python {machine['python']}, {machine['platform']}, {machine['cpus']} CPUs; scale {r['scale']:g} (1 = London)."
    shown = "python -m benchmarks" + (" --quick" if ctx.quick else "")
    return [Output("benchmarks.md", shown, lead + "\n\n" + table(["measure and budget", "result", "verdict"], rows))]


GENERATORS: dict[str, tuple[Callable[[Context], list[Output]], tuple[str, ...]]] = {
    "assumptions": (gen_assumptions, ("assumptions.md", "assumptions-women.md")),
    "baseline": (gen_baseline, ("baseline.md", "baseline-boroughs.md", "baseline-withdrawal-timing.md")),
    "validation": (gen_validation, ("validation.md",)),
    "history": (gen_history, ("history.md",)),
    "options": (gen_options, ("options.md", "options-safety.md")),
    "women": (gen_women, ("women.md", "women-validation.md", "women-options.md")),
    "effects": (gen_effects, ("effects.md",)),
    "benchmarks": (gen_benchmarks, ("benchmarks.md",)),
}


# --------------------------------------------------------------------------- writing


def commit_state() -> tuple[str, str]:
    """The commit, and whether the code and inputs the numbers come from have uncommitted changes."""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        paths = ["simcj", "scenarios", "calibration", "benchmarks", "pyproject.toml"]
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", *paths], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown", "not a git checkout"
    return sha, "with uncommitted changes" if dirty else "clean"


def render(name: str, output: Output, quick: bool, sha: str, state: str, today: str) -> str:
    command = output.command + (" (quick: scale 0.05, 2 replications, 1 measured year where the model runs; not for publication)" if quick else "")
    head = f"<!-- generated by python -m docs.build --only {name}{' --quick' if quick else ''}; command: {command}; commit {sha} ({state}); {today} -->"
    note = f"*Generated by `python -m docs.build --only {name}` from `{output.command}`{' (quick: not for publication)' if quick else ''}; commit {sha} ({state}), {today}.*"
    return f"{head}\n\n{note}\n\n{output.body.rstrip()}\n"


def placeholder(name: str) -> str:
    return f"<!-- placeholder: not yet generated -->\n\n*Not yet generated: run `python -m docs.build --only {name}`.*\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m docs.build", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", action="append", choices=sorted(GENERATORS), metavar="NAME", help=f"run this generator only (repeatable): {', '.join(GENERATORS)}"
    )
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the generated files (default docs/generated)")
    parser.add_argument("--quick", action="store_true", help="scale 0.05, 2 replications, 1 measured year: checks the generators run (never commit its output)")
    parser.add_argument("--jobs", type=int, help="worker processes for simcj run, compare and validate (default: all cores)")
    parser.add_argument("--placeholders", action="store_true", help="write a placeholder for every generated file that does not exist yet, and nothing else")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.placeholders:
        for name, (_, files) in GENERATORS.items():
            for file in files:
                if not (args.out / file).exists():
                    (args.out / file).write_text(placeholder(name), encoding="utf-8")
        return 0
    sha, state = commit_state()
    today = datetime.date.today().isoformat()
    for name in args.only or list(GENERATORS):
        generate, _ = GENERATORS[name]
        start = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix=f"simcj-docs-{name}-") as tmp:
            outputs = generate(Context(args.quick, args.jobs, Path(tmp)))
        for output in outputs:
            (args.out / output.file).write_text(render(name, output, args.quick, sha, state, today), encoding="utf-8")
        print(f"{name}: {', '.join(o.file for o in outputs)} ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
