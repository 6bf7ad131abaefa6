"""Command line: ``simcj run``, ``compare``, ``report``, ``trace``, ``sensitivity``, ``check``, ``validate``, ``calibrate``, ``schema``.

Thin by design: parse, call the API, print. A bad scenario file, a bad ``--set`` or an unusable
``--out`` exits with code 2 and one line per problem, before anything is simulated or written.
"""

from __future__ import annotations

import json
import math
import shlex
import shutil
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Optional

import click
import pandas as pd

from .experiment.executor import default_jobs
from .experiment.results import simulate
from .files import SIGNALLED, Terminated, interruption, is_results_folder, located, write_text_atomic
from .scenario import ScenarioError, json_schema, load_scenario, with_run
from .version import __version__

USAGE_ERROR = 2


class FiniteRange(click.FloatRange):
    """A float range that also refuses NaN and infinity (click's FloatRange lets NaN through)."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"expected a finite number, got {value!r}", param, ctx)
        return number


class RepsType(click.ParamType):
    """A number of replications (1 or more), or 'auto' for the Hoad-Robinson-Davies CI method."""

    name = "N|auto"

    def convert(self, value, param, ctx):
        if isinstance(value, int) or value == "auto":
            return value
        try:
            n = int(value)
        except (TypeError, ValueError):
            self.fail(f"expected a whole number of replications or 'auto', got {value!r}", param, ctx)
        if n < 1:
            self.fail(f"expected at least 1 replication, got {n}", param, ctx)
        return n


REPS = RepsType()


def _precision_options(f):
    f = click.option("--precision", type=FiniteRange(min=0, min_open=True, max=1), default=0.05, show_default=True, help="With --reps auto: relative CI half-width wanted for the headline KPIs.")(f)
    f = click.option("--max-reps", type=click.IntRange(min=3), default=50, show_default=True, help="With --reps auto: stop here even if the precision is not reached.")(f)
    return f


def _progress(label: str):
    """A click progress bar on stderr and the callback that moves it (fraction 0..1)."""
    bar = click.progressbar(length=1000, label=label, file=sys.stderr, show_eta=True)

    def tick(fraction: float) -> None:
        bar.update(int(fraction * 1000) - bar.pos)

    return bar, tick


def _intervention_option(f):
    return click.option(
        "--intervention-years", type=FiniteRange(min=0, max=100),
        help="Years from the start at which an option's own settings take effect (default: the end of the warm-up).",
    )(f)  # fmt: skip


def _design(sc, **run):
    """The scenario with the command line's run design; the intervention date must fall within the run."""
    try:
        sc = with_run(sc, **run)
    except ScenarioError as exc:
        _fail([f"--{p.path.removeprefix('run.').replace('_', '-')}: {p.message}" for p in exc.problems])
    day = sc.intervention_day()
    if day is not None and day > sc.run.warmup_years * 365.0 + 1e-9:
        _fail([
            f"--intervention-years: {day / 365.0:g} falls inside the measured period (after the {sc.run.warmup_years:g}-year warm-up); "
            "flows, costs and present values are per year after the date, so it must be at or before the end of the warm-up"
        ])  # fmt: skip
    return sc


def _extends(path: str) -> bool:
    """Does the scenario file name a parent (``extends:``)? (Read only after it loaded cleanly.)"""
    import yaml

    data = yaml.safe_load(located(path).read_text(encoding="utf-8"))
    return isinstance(data, dict) and isinstance(data.get("extends"), str)


def _backend(jobs, dask_workers, scheduler):
    """The executor the backend options ask for: local processes, a Dask LocalCluster, or a scheduler."""
    if dask_workers is None and scheduler is None:
        return jobs or default_jobs()
    from .experiment.executor import DaskExecutor, MissingExtra

    try:
        return DaskExecutor(workers=dask_workers, scheduler=scheduler)
    except MissingExtra as exc:
        _fail([str(exc)])
    except OSError as exc:
        _fail([f"--scheduler: cannot reach {scheduler} ({exc})"])


def _close(executor) -> None:
    """Shut down a Dask cluster the command started (local processes end with their pool)."""
    if hasattr(executor, "close"):
        executor.close()


def _backend_options(f):
    f = click.option("--scheduler", metavar="ADDRESS", help="Run on a running Dask scheduler (e.g. tcp://host:8786).")(f)
    f = click.option("--dask-workers", type=click.IntRange(min=1), help="Run on a Dask LocalCluster of N worker processes.")(f)
    return click.option("--jobs", type=click.IntRange(min=1), help="Local worker processes (default: all cores).")(f)


def _out_folder(out_path: Path, resume: Optional[bool] = None, force: bool = False) -> Path:
    """Check --out before anything runs: not a used folder (unless resuming, where the command can
    (resume not None), or replacing an earlier results folder with --force), in a place that can be
    written."""
    used = out_path.exists() and (not out_path.is_dir() or any(out_path.iterdir()))
    if used and force and not resume:
        if not (out_path.is_dir() and is_results_folder(out_path)):
            _fail([f"--out: {out_path} is not a simcj results folder (no manifest.json); --force replaces only those, so choose another folder"])
    elif used and not resume:
        _fail([f"--out: {out_path} already exists and is not empty; choose another folder, --force to replace a results folder" + (", or --resume" if resume is not None else "")])
    _writable_place(out_path, "--out")
    return out_path


def _writable_place(path: Path, option: str) -> None:
    """Stop before anything runs if ``path`` could not be written (read-only, below a file)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as exc:
        blocking = next((p for p in path.parents if p.is_file()), None)
        _fail([f"{option}: cannot write in {path.parent} ({f'{blocking} is a file' if blocking else exc.strerror or exc})"])


def _writing_failed(out_path: Path, exc: OSError) -> None:
    """A write that failed part way (a full or read-only disk): nothing half-written is left."""
    _fail([f"--out: writing {out_path} failed ({exc.strerror or exc}); nothing was left behind"])


def _fail(lines) -> None:
    for line in lines:
        click.echo(line, err=True)
    sys.exit(USAGE_ERROR)


def _load(path: str, overrides=()):
    try:
        return load_scenario(path, overrides)
    except ScenarioError as exc:
        _fail(str(p) for p in exc.problems)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="simcj")
def main() -> None:
    """Simulate the criminal justice pathway for violence against women and girls in London."""


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--reps", type=REPS, help="Replications, or 'auto' to choose them by the CI method (default: the scenario's run.reps).")
@click.option("--seed", type=click.IntRange(min=0), help="Root seed (default: the scenario's run.seed).")
@_precision_options
@click.option("--years", type=FiniteRange(min=0, min_open=True, max=1000), help="Measured years after the warm-up.")
@click.option("--warmup-years", type=FiniteRange(min=0, max=100), help="Simulated years discarded before measuring.")
@_intervention_option
@click.option("--scale", type=FiniteRange(min=0, min_open=True, max=1000), default=1.0, show_default=True, help="Multiply every volume and capacity (0.1 for a quick run).")
@click.option("--jobs", type=click.IntRange(min=1), help="Worker processes (default: all cores).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a scenario setting, e.g. --set courts.crown.sitting_days_per_year=27500 (repeatable).")
@click.option("--out", type=click.Path(file_okay=False), help="Results folder (default: results/<scenario>-<timestamp>).")
@click.option("--force", is_flag=True, help="Replace --out if it is an earlier results folder (swapped only once the new one is complete).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def run(scenario, reps, seed, precision, max_reps, years, warmup_years, intervention_years, scale, jobs, overrides, out, force, quiet):
    """Run SCENARIO and write a results folder.

    A scenario that extends another runs the one it extends until its intervention date.
    """
    sc = _design(_load(scenario, overrides), years=years, warmup_years=warmup_years, intervention_years=intervention_years)
    if intervention_years is not None and sc.before is None:
        _fail([f"--intervention-years: {scenario} is not an option with a date (it extends nothing, or runs its own settings from the start)"])
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out_path = Path(out) if out else Path("results") / f"{sc.name}-{stamp}"
    _out_folder(out_path, force=force)
    jobs = jobs or default_jobs()
    if reps == "auto":
        from .experiment.replications import Precision, simulate_to_precision

        bar, tick = _progress(f"{sc.name}: replications until the headline CIs are within {precision:.0%}")
        with bar:
            res, _d, chosen = simulate_to_precision(sc, Precision(precision, max_reps=max_reps), seed=seed, scale=scale, jobs=jobs, progress=None if quiet else tick)
        click.echo(_chosen_text(chosen, res.spec.reps, precision))
    else:
        n_reps = reps or sc.run.reps
        bar, tick = _progress(f"{sc.name}: {n_reps} replications on {min(jobs, n_reps)} process(es)")
        with bar:
            res = simulate(sc, reps=reps, seed=seed, scale=scale, jobs=jobs, progress=None if quiet else tick)
    from .report.export import write_results

    command = "simcj " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    with pd.option_context("display.max_colwidth", 40, "display.width", 200):
        click.echo(f"\n{sc.name}: mean [95% CI] over {res.spec.reps} replications, per year unless stated\n")
        click.echo(res.headline().to_string())
    try:
        written = write_results(res, out_path, command, replace=force)
    except OSError as exc:
        _writing_failed(out_path, exc)
    click.echo(f"\nResults written to {written} ({res.wall_seconds:.1f} s)")


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--case", "case", type=click.IntRange(min=0), required=True, help="The case to follow: its row in cases.parquet (VAWG) or in the women's cases ('row').")
@click.option("--replication", type=click.IntRange(min=0), default=0, show_default=True, help="Which replication to run.")
@click.option("--seed", type=click.IntRange(min=0), help="Root seed (default: the scenario's run.seed).")
@click.option("--years", type=FiniteRange(min=0, min_open=True, max=1000), help="Measured years after the warm-up.")
@click.option("--warmup-years", type=FiniteRange(min=0, max=100), help="Simulated years discarded before measuring.")
@click.option("--scale", type=FiniteRange(min=0, min_open=True, max=1000), default=1.0, show_default=True, help="Multiply every volume and capacity (0.1 for a quick run).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a scenario setting (repeatable).")
def trace(scenario, case, replication, seed, years, warmup_years, scale, overrides):
    """Print one case's path through SCENARIO, event by event (one replication).

    For a woman of the women's pathway, every arrest of the same woman is shown: her reoffending
    comes back as new arrests.
    """
    from .report.trace import NoSuchCase, describe
    from .report.trace import trace as follow
    from .scenario.variants import scaled

    sc = _design(_load(scenario, overrides), years=years, warmup_years=warmup_years)
    if scale != 1.0:
        sc = scaled(sc, scale)
    bar, tick = _progress(f"{sc.name}: replication {replication}")
    try:
        with bar:
            table = follow(sc, case, replication=replication, seed=seed, progress=tick)
    except NoSuchCase as exc:
        _fail([f"--case: {exc}"])
    click.echo(f"{sc.name}, replication {replication}: case {case} (days from the start of the run; the warm-up ends on day {sc.run.warmup_years * 365:.0f})\n")
    click.echo(describe(sc, table))


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Check with these overrides applied.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Also write the parameters' provenance as JSON to this file ('-' for standard output).")
def check(scenario, overrides, json_path):
    """Validate SCENARIO: exit 0 if valid, 2 with one line per problem if not; count its parameters
    by the kind of evidence behind them."""
    from .scenario.loader import provenance

    sc = _load(scenario, overrides)
    to_err = json_path == "-"  # with JSON on standard output, the words go to standard error
    counts = provenance(sc.sources)
    classes = ", ".join(name for name, _ in sc.offences.items())
    kinds = ", ".join(f"{n} {k}" for k, n in counts.items() if n or k != "option")
    ranged = sum(1 for s in sc.sources.values() if s.low is not None)
    click.echo(f"{scenario}: valid scenario '{sc.name}' ({classes}); {len(sc.sources)} sourced parameters: {kinds}; {ranged} with a low-high range", err=to_err)
    if sc.before is not None:
        click.echo(f"an option on '{sc.before.name}': its own settings from year {sc.intervention_day() / 365.0:g} (run.intervention_years; default the end of the warm-up), '{sc.before.name}' before", err=to_err)
    elif _extends(scenario):
        click.echo("a variant of the scenario it extends from the start (it changes what makes the cases, or run.intervention_years is 0)", err=to_err)
    if json_path:
        report = {
            "scenario": sc.name,
            "file": scenario,
            "valid": True,
            "parameters": len(sc.sources),
            "provenance": counts,
            "ranged": ranged,
            "sources": {path: {"kind": src.kind, "source": src.source, "file": src.file, "low": src.low, "high": src.high} for path, src in sc.sources.items()},
        }
        if json_path == "-":
            click.echo(json.dumps(report, indent=2))
            return
        _writable_place(Path(json_path), "--json")
        try:
            write_text_atomic(Path(json_path), json.dumps(report, indent=2))
        except OSError as exc:
            _writing_failed(Path(json_path), exc)


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False), default="scenarios/baseline.yaml")
@click.option("--targets", "targets_path", type=click.Path(dir_okay=False), default="calibration/targets.csv", show_default=True, help="Published targets to compare with.")
@click.option("--reps", type=click.IntRange(min=2), default=4, show_default=True, help="Replications.")
@click.option("--seed", type=click.IntRange(min=0), help="Root seed (default: the scenario's run.seed).")
@click.option("--scale", type=FiniteRange(min=0, min_open=True, max=1000), default=1.0, show_default=True, help="Volumes and capacities x F; volume targets are compared per unit of F.")
@click.option("--jobs", type=click.IntRange(min=1), help="Worker processes (default: all cores).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a scenario setting (repeatable).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Also write the result as JSON to this file.")
@click.option("--effects", is_flag=True, help="Also run each option in the effects file against SCENARIO and compare its effect with published evaluations.")
@click.option("--effects-file", type=click.Path(dir_okay=False), default="calibration/effects.csv", show_default=True, help="Published effects of options (with --effects).")
@click.option("--max-reps", type=click.IntRange(min=2), default=32, show_default=True,
              help="With --effects: the most replications an option is run to decide its verdicts (from --reps, doubling).")
@click.option("--history", "history_path", type=click.Path(dir_okay=False), default="calibration/history.csv", show_default=True,
              help="London's published history, for a scenario with run.start_date (a back-cast).")
def validate(scenario, targets_path, reps, seed, scale, jobs, overrides, json_path, effects, effects_file, max_reps, history_path):
    """Compare SCENARIO with published targets and run the model checks: exit 0 if all hold, 1 if not.

    Every queue's growth over the measured years is set against the published trend (steady where
    none is published); a dated scenario (run.start_date) is also held against London's history,
    date by date, with MAPE and Theil's U per series on fitted and held-out points apart.

    With --effects, the options named in the effects file (scenarios/<option>.yaml beside SCENARIO)
    are compared with SCENARIO and their effects set beside published evaluations, each option run
    at twice the replications until its verdicts are decided (or --max-reps); disagreement is
    reported, not failed.
    """
    from .calibrate.targets import load_targets
    from .calibrate.validate import format_table
    from .calibrate.validate import validate as run_validation

    sc = _load(scenario, overrides)
    try:
        targets = load_targets(located(targets_path), sc)
        history = None
        if sc.run.start_date is not None:
            from .calibrate.history import load_history

            history = load_history(located(history_path), sc)
        if effects:
            from .calibrate.effects import load_effects

            effect_rows = load_effects(located(effects_file), sc)
            for name in dict.fromkeys(effect_rows["option"]):
                _load(str(Path(scenario).parent / f"{name}.yaml"))  # every option must load before anything runs
    except ScenarioError as exc:
        _fail(str(p) for p in exc.problems)
    if json_path:
        _writable_place(Path(json_path), "--json")
    seed = sc.run.seed if seed is None else seed
    jobs = jobs or default_jobs()
    with click.progressbar(length=1000, label=f"validating {sc.name}", file=sys.stderr) as bar:
        result = run_validation(sc, targets, reps, seed, scale, jobs, lambda f: bar.update(int(f * 1000) - bar.pos), history)
    click.echo(format_table(result))
    report = result.as_json()
    if effects:
        from .calibrate.effects import check_effects, format_effects

        with click.progressbar(length=1000, label="options against published effects", file=sys.stderr) as bar:
            table = check_effects(sc, effect_rows, Path(scenario).parent, reps, seed, scale, jobs, lambda f: bar.update(int(f * 1000) - bar.pos), max_reps)
        click.echo("\n" + format_effects(table))
        report["effects"] = json.loads(table.to_json(orient="records"))
    if json_path:
        try:
            write_text_atomic(Path(json_path), json.dumps(report, indent=2))
        except OSError as exc:
            _writing_failed(Path(json_path), exc)
    sys.exit(0 if result.passed else 1)


@main.command()
@click.option("--scenario", "scenario_path", type=click.Path(dir_okay=False), default="scenarios/baseline.yaml", show_default=True)
@click.option("--targets", "targets_path", type=click.Path(dir_okay=False), default="calibration/targets.csv", show_default=True)
@click.option("--parameters", "parameters_path", type=click.Path(dir_okay=False), default="calibration/parameters.yaml", show_default=True, help="Free parameters and their bounds.")
@click.option("--budget", type=click.IntRange(min=1), default=60, show_default=True, help="Evaluations of the objective.")
@click.option("--reps", type=click.IntRange(min=1), default=2, show_default=True, help="Replications per evaluation (same seed: common random numbers).")
@click.option("--seed", type=click.IntRange(min=0), help="Root seed (default: the scenario's run.seed).")
@click.option("--scale", type=FiniteRange(min=0, min_open=True, max=1000), default=0.25, show_default=True, help="Volumes and capacities x F during the fit.")
@_backend_options
@click.option("--out", type=click.Path(file_okay=False), help="Folder for evaluations.jsonl and the report; run again with the same --out to resume.")
@click.option("--fitted", "fitted_path", type=click.Path(dir_okay=False), default="calibration/fitted.yaml", show_default=True,
              help="Where to write the fitted values; a fitted file already there keeps the parameters not fitted now.")
@click.option("--refine", is_flag=True, help="No global search: Nelder-Mead from the scenario's current values (polish a previous fit).")
@click.option("--only", "only", multiple=True, metavar="PATH", help="Fit only this free parameter of --parameters (repeatable); the others keep their current values.")
def calibrate(scenario_path, targets_path, parameters_path, budget, reps, seed, scale, jobs, dask_workers, scheduler, out, fitted_path, refine, only):
    """Fit the free parameters to the published targets; write the fitted values and a report."""
    from .calibrate.fit import Fit, calibrate_and_report, load_free_parameters
    from .calibrate.targets import load_targets
    from .calibrate.validate import Validation, format_table

    sc = _load(scenario_path)
    try:
        targets = load_targets(located(targets_path), sc)
        free = load_free_parameters(located(parameters_path), sc)
    except ScenarioError as exc:
        _fail(str(p) for p in exc.problems)
    unknown = sorted(set(only) - {p.path for p in free})
    if unknown:
        _fail([f"--only: {', '.join(unknown)} not among the free parameters of {parameters_path}"])
    free = [p for p in free if p.path in only] if only else free
    seed = sc.run.seed if seed is None else seed
    jobs = _backend(jobs, dask_workers, scheduler)
    out_dir = Path(out) if out else Path("results") / f"calibration-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    out_dir.mkdir(parents=True, exist_ok=True)
    fit = Fit(sc, targets, free, reps, seed, scale, jobs, out_dir / "evaluations.jsonl")
    if fit.done:
        click.echo(f"resuming: {len(fit.done)} evaluations already in {out_dir / 'evaluations.jsonl'}", err=True)
    with click.progressbar(length=1000, label=f"calibrating {len(free)} parameters", file=sys.stderr, show_eta=True) as bar:
        best, table = calibrate_and_report(fit, budget, out_dir, Path(fitted_path), targets_path, refine, lambda f: bar.update(int(f * 1000) - bar.pos))
    _close(jobs)
    click.echo(format_table(Validation(sc.name, table, [])))
    click.echo("\nfitted values:")
    for p in free:
        click.echo(f"  {p.path} = {best['values'][p.path]:.6g}  (bounds {p.low:g} to {p.high:g})")
    click.echo(f"\nobjective {best['objective']:.4g} after {len(fit.done)} evaluations; wrote {fitted_path}; report in {out_dir}")


def _chosen_text(chosen, ran: int, precision: float) -> str:
    if chosen is None:
        return f"--reps auto: the headline CIs did not reach {precision:.0%} within {ran} replications (--max-reps); read them with care"
    return f"--reps auto: {chosen} replications reach {precision:.0%} on every headline KPI; {ran} were run (with the look-ahead) and all are used"


@main.command()
@click.argument("base", type=click.Path(dir_okay=False))
@click.argument("alternatives", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--reps", type=REPS, help="Replications per scenario, or 'auto' (chosen on BASE by the CI method; default: BASE's run.reps).")
@click.option("--seed", type=click.IntRange(min=0), help="Root seed, the same for every scenario (default: BASE's run.seed).")
@_precision_options
@click.option("--years", type=FiniteRange(min=0, min_open=True, max=1000), help="Measured years after the warm-up, for every scenario (default: BASE's).")
@click.option("--warmup-years", type=FiniteRange(min=0, max=100), help="Warm-up years, for every scenario (default: BASE's).")
@_intervention_option
@click.option("--scale", type=FiniteRange(min=0, min_open=True, max=1000), default=1.0, show_default=True, help="Multiply every volume and capacity.")
@_backend_options
@click.option("--uncertainty", "uncertainty_sets", type=click.IntRange(min=2), help="Also compare on N Latin-hypercube sets of every parameter with a range; adds uncertainty intervals.")
@click.option("--out", type=click.Path(file_okay=False), help="Results folder (default: results/compare-<timestamp>).")
@click.option("--force", is_flag=True, help="Replace --out if it is an earlier results folder (swapped only once the new one is complete).")
def compare(base, alternatives, reps, seed, precision, max_reps, years, warmup_years, intervention_years, scale, jobs, dask_workers, scheduler, uncertainty_sets, out, force):
    """Compare ALTERNATIVES with BASE on common random numbers; write differences, costs and a report."""
    from .experiment.compare import appraisal_basis, run_comparison
    from .experiment.decision import decision_text
    from .experiment.replications import Precision
    from .report.comparison import write_comparison

    scenarios = [_load(p) for p in (base, *alternatives)]
    # One run design for all: the base's, with the command line's changes.
    first = scenarios[0].run
    design = {
        "years": years or first.years,
        "warmup_years": first.warmup_years if warmup_years is None else warmup_years,
        "intervention_years": first.intervention_years if intervention_years is None else intervention_years,
    }
    scenarios = [_design(sc, **design) for sc in scenarios]
    names = [sc.name for sc in scenarios]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        _fail([f"{p}: name: scenario name '{sc.name}' is used by more than one file; names label the results" for p, sc in zip((base, *alternatives), scenarios) if sc.name in duplicates])
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out_path = Path(out) if out else Path("results") / f"compare-{stamp}"
    _out_folder(out_path, force=force)
    sets_store = out_path.parent / f".{out_path.name}.uncertainty-sets"  # finished sets, until the folder is written
    jobs = _backend(jobs, dask_workers, scheduler)
    bar, tick = _progress(f"comparing {len(scenarios)} scenarios")
    share = 1.0 / len(scenarios)
    with bar:
        cmp = run_comparison(
            scenarios[0], scenarios[1:], None if reps == "auto" else reps, seed, scale, jobs,
            precision=Precision(precision, max_reps=max_reps) if reps == "auto" else None,
            progress=lambda phase, f: tick(f if phase == "all" and reps != "auto" else (share + (1 - share) * f if phase == "all" else share * f)),
        )  # fmt: skip
    if uncertainty_sets:
        from .experiment.uncertainty import attach, run_uncertainty

        bar, tick = _progress(f"uncertainty: {uncertainty_sets} sets of the ranged parameters (each kept in {sets_store} as it ends: run again to resume)")
        with bar:
            unc = run_uncertainty(scenarios[0], scenarios[1:], uncertainty_sets, cmp.base.spec.reps, cmp.base.spec.seed, scale, jobs, progress=tick, store=sets_store)
        attach(cmp, unc)
    _close(jobs)
    cmp.command = "simcj " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    if reps == "auto":
        click.echo(_chosen_text(cmp.chosen_reps, cmp.base.spec.reps, precision))
    with pd.option_context("display.max_colwidth", 60, "display.width", 250):
        braces = f"; {{2.5, 97.5 percentiles}} over {uncertainty_sets} sets of the uncertain parameters" if uncertainty_sets else ""
        click.echo(f"\nDifference from {names[0]}, paired on common random numbers: mean [95% CI] over {cmp.base.spec.reps} replications{braces}\n")
        click.echo(cmp.headline().T.to_string())
        timing = cmp.timing()
        if not timing.empty:
            click.echo("\nWhen: the difference in year 1 and in the settled (last whole) year; a one-off change is gone once settled\n")
            click.echo(timing.to_string(index=False))
        appraisal = cmp.appraisal()
        if not appraisal.empty:
            click.echo(f"\nAppraisal (Green Book form): {appraisal_basis(cmp.base.scenario, int(cmp.base.scenario.run.years + 1e-9))}\n")
            click.echo(appraisal.to_string())
        if cmp.uncertainty is not None and len(cmp.uncertainty.acceptability):
            click.echo(f"\n{decision_text(cmp.uncertainty)}")
    try:
        written = write_comparison(cmp, out_path, replace=force)
    except OSError as exc:
        _writing_failed(out_path, exc)
    shutil.rmtree(sets_store, ignore_errors=True)
    click.echo(f"\nResults, report.html and report.xlsx written to {written}")


@main.command()
@click.argument("scenario", required=False, type=click.Path(dir_okay=False))
@click.option("--file", "sweep_file", type=click.Path(dir_okay=False), help="A sweep file (YAML) with the same settings as keys.")
@click.option("--vary", multiple=True, metavar="KEY=LOW:HIGH[:N][:log]", help="A setting to vary (repeatable): a range with N grid points, log scale, or KEY=[v1,v2,...].")
@click.option("--design", type=click.Choice(["grid", "lhs", "sobol", "morris"]), help="grid (default), Latin hypercube, Sobol (Saltelli) or Morris.")
@click.option("--samples", type=click.IntRange(min=1), help="Points of an lhs design; base samples of a sobol or morris design (default 16).")
@click.option("--reps", type=click.IntRange(min=1), help="Replications per point (default 2).")
@click.option("--seed", type=click.IntRange(min=0), help="Root seed, the same for every point (default: the scenario's).")
@click.option("--scale", type=FiniteRange(min=0, min_open=True, max=1000), help="Multiply every volume and capacity.")
@click.option("--years", type=FiniteRange(min=0, min_open=True, max=1000), help="Measured years after the warm-up.")
@click.option("--warmup-years", type=FiniteRange(min=0, max=100), help="Warm-up years.")
@_backend_options
@click.option("--out", type=click.Path(file_okay=False), help="Results folder (default: results/sweep-<timestamp>).")
@click.option("--force", is_flag=True, help="Replace --out if it is an earlier results folder (swapped only once the new one is complete).")
@click.option("--resume", is_flag=True, help="Carry on a sweep in --out: skip what is stored.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def sweep(scenario, sweep_file, vary, design, samples, reps, seed, scale, years, warmup_years, jobs, dask_workers, scheduler, out, force, resume, quiet):
    """Sweep settings of SCENARIO over a design; store every point as it finishes (resumable)."""
    from .experiment.sweep import SweepSpec, key_results_by_point, load_sweep_file, parse_vary, run_sweep

    try:
        spec = load_sweep_file(located(sweep_file)) if sweep_file else SweepSpec(scenario=scenario or "", factors=[])
        if scenario and sweep_file:
            spec.scenario = scenario
        spec.factors = spec.factors + [parse_vary(v) for v in vary]
        if not spec.scenario:
            _fail(["SCENARIO: give a scenario file (or --file SWEEP.yaml naming one)"])
        if not spec.factors:
            _fail(["--vary: nothing to vary (give --vary KEY=LOW:HIGH[:N] or a sweep file)"])
        for key, value in (("design", design), ("samples", samples), ("reps", reps), ("seed", seed), ("scale", scale), ("years", years), ("warmup_years", warmup_years)):
            if value is not None:
                setattr(spec, key, value)
        from .scenario.variants import variant

        plain = _load(spec.scenario, spec.overrides)
        variant(plain, {f.path: (f.low if f.values is None else f.values[0]) for f in spec.factors})  # every key names a setting
    except ScenarioError as exc:
        _fail(str(p) for p in exc.problems)
    out_path = Path(out) if out else Path("results") / f"sweep-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    if force and resume:
        _fail(["--force and --resume: choose one (replace the sweep folder, or carry it on)"])
    _out_folder(out_path, resume=resume, force=force)
    if force and out_path.exists():
        shutil.rmtree(out_path)  # a sweep writes each point in place as it finishes, so the old one goes first
    executor = _backend(jobs, dask_workers, scheduler)
    state = {"text": ""}
    bar = click.progressbar(length=1000, label=f"sweep of {len(spec.factors)} setting(s), {spec.design} design", file=sys.stderr, show_eta=True, item_show_func=lambda _item: state["text"])

    def tick(reps_done: int, reps_total: int, points_done: int, points_total: int) -> None:
        state["text"] = f"{points_done}/{points_total} points, {reps_done}/{reps_total} replications"
        bar.update(int(1000 * reps_done / max(1, reps_total)) - bar.pos, current_item=state["text"])

    try:
        with bar:
            table = run_sweep(spec, out_path, executor, resume=resume, progress=None if quiet else tick)
    except (ValueError, FileExistsError) as exc:
        _fail([f"--out: {exc}"])
    except OSError as exc:
        _writing_failed(out_path, exc)
    finally:
        _close(executor)
    failures = pd.read_csv(out_path / "failures.csv")
    with pd.option_context("display.width", 250, "display.max_rows", 60, "display.max_columns", None):
        click.echo(key_results_by_point(out_path, spec).to_string())
    if len(failures):
        click.echo(f"\n{len(failures)} point x replication(s) failed; see {out_path / 'failures.csv'}")
    click.echo(f"\n{len(table):,} rows written to {out_path} (sweep.parquet, sweep.csv, summary.csv, parts/)")


@main.command()
@click.argument("scenario", type=click.Path())
@click.option("--reps", type=click.IntRange(min=2), help="Replications per run (default: the scenario's run.reps).")
@click.option("--seed", type=click.IntRange(min=0), help="Root seed, the same for every run (default: the scenario's run.seed).")
@click.option("--scale", type=FiniteRange(min=0, min_open=True, max=1000), default=1.0, show_default=True, help="Multiply every volume and capacity.")
@_backend_options
@click.option("--only", multiple=True, metavar="KEY", help="Only this ranged parameter (repeatable; default: every parameter with a range).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a scenario setting first (repeatable).")
@click.option("--kpi", "kpis", multiple=True, metavar="METRIC[:OFFENCE]", help="With a sweep folder: the KPIs to analyse (default: the first two key results of its scenario, convicted and rate_withdrawal_pre_charge for the VAWG pathway).")
@click.option("--out", type=click.Path(file_okay=False), help="Results folder (default: results/sensitivity-<scenario>-<timestamp>).")
@click.option("--force", is_flag=True, help="Replace --out if it is an earlier results folder (swapped only once the new one is complete).")
def sensitivity(scenario, reps, seed, scale, jobs, dask_workers, scheduler, only, overrides, kpis, out, force):
    """One-way sensitivity of SCENARIO to every parameter with a low-high range, on common random numbers;
    or, given a sweep folder (a Sobol or Morris design), its global sensitivity indices (SALib)."""
    if Path(scenario).is_dir():
        _global_sensitivity(Path(scenario), kpis)
        return
    from .experiment.catalogue import key_results
    from .experiment.sensitivity import ranged_parameters, run_sensitivity
    from .report.sensitivity import swings, write_sensitivity

    sc = _load(scenario, overrides)
    known = {p for p, *_ in ranged_parameters(sc)}
    unknown = [k for k in only if k not in known]
    if unknown:
        _fail([f"--only: '{k}' is not a parameter with a low-high range in {scenario} (ranged: {', '.join(sorted(known))})" for k in unknown])
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out_path = Path(out) if out else Path("results") / f"sensitivity-{sc.name}-{stamp}"
    _out_folder(out_path, force=force)
    bar, tick = _progress(f"sensitivity of {sc.name}")
    with bar:
        executor = _backend(jobs, dask_workers, scheduler)
        base, table = run_sensitivity(sc, reps, seed, scale, executor, tuple(only), progress=tick)
        _close(executor)
    command = "simcj " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    try:
        write_sensitivity(base, table, sc, out_path, command, force)
    except OSError as exc:
        _writing_failed(out_path, exc)
    metric, _offence, what = key_results(sc)[0]
    what = what[0].lower() + what[1:]
    with pd.option_context("display.width", 200, "display.float_format", "{:+,.1f}".format):
        click.echo(f"\nChange in {what} against {sc.name} (paired, {base.spec.reps} replications), parameter at each end of its range:\n")
        click.echo(swings(table, metric).to_string())
    click.echo(f"\nsensitivity.csv and tornado plots written to {out_path}")


def _first_key_results(folder: Path) -> list[tuple[str, str]]:
    """The sweep's scenario's first two key results (the catalogue's)."""
    from .experiment.catalogue import key_results

    try:
        scenario = load_scenario(json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["scenario"])
    except (OSError, ValueError, KeyError, TypeError, ScenarioError) as exc:
        _fail([f"{folder / 'manifest.json'}: its scenario cannot be read ({exc}); name the KPIs with --kpi"])
    return [(m, o) for m, o, _label in key_results(scenario)[:2]]


def _global_sensitivity(folder: Path, kpis) -> None:
    """Sobol or Morris indices of a sweep folder's KPIs, written beside it (sensitivity_indices.csv, plots)."""
    from .experiment.global_sensitivity import sweep_sensitivity
    from .report.sensitivity import write_global_sensitivity

    if not (folder / "manifest.json").is_file() or not (folder / "sweep.parquet").is_file():
        _fail([f"{folder}: not a sweep folder (no manifest.json and sweep.parquet)"])
    wanted = [tuple((k.split(":", 1) + ["all"])[:2]) for k in kpis] or _first_key_results(folder)
    try:
        table = sweep_sensitivity(folder, wanted)
    except ValueError as exc:
        _fail([str(exc)])
    write_global_sensitivity(folder, table, wanted)
    with pd.option_context("display.width", 200, "display.float_format", "{:.3f}".format):
        click.echo(table.to_string(index=False))
    click.echo(f"\nsensitivity_indices.csv and plots written to {folder}")


@main.command()
@click.argument("results_dir", type=click.Path(file_okay=False))
def report(results_dir):
    """Rebuild report.html and report.xlsx from a results folder (of `simcj compare` or `simcj run`)."""
    from .report.comparison import FolderError, build_report

    folder = Path(results_dir)
    if not (folder / "manifest.json").is_file():
        _fail([f"{folder}: not a folder of simcj run or compare (no manifest.json)" + ("; a sensitivity folder's run is in scenario/" if is_results_folder(folder) else "")])
    try:
        html_path, xlsx_path = build_report(folder)
    except FolderError as exc:
        _fail(str(exc).splitlines())
    except (OSError, ValueError, KeyError, TypeError) as exc:
        _fail([f"{folder}: cannot build the report ({exc.__class__.__name__}: {exc}); is it a complete folder of simcj run or compare?"])
    click.echo(f"wrote {html_path} and {xlsx_path}")


@main.command()
def schema():
    """Print the JSON Schema of scenario files (for editor completion and checking)."""
    click.echo(json.dumps(json_schema(), indent=2))


def _signalled(signum, _frame):
    """Ctrl-C or SIGTERM: remembered (see ``simcj.files.SIGNALLED``), then raised."""
    SIGNALLED.append(signum)
    raise interruption(signum)


def entry() -> None:
    """The ``simcj`` command: Ctrl-C exits 130 and SIGTERM 143, within seconds, workers stopped and no
    folder that looks complete (results are written under a temporary name and renamed)."""
    import signal

    signal.signal(signal.SIGINT, _signalled)
    signal.signal(signal.SIGTERM, _signalled)
    try:
        main(standalone_mode=False)
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo("\ninterrupted: stopped, nothing written", err=True)
        sys.exit(130)
    except Terminated:
        click.echo("\nterminated: stopped, nothing written", err=True)
        sys.exit(143)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)


if __name__ == "__main__":  # pragma: no cover
    entry()
