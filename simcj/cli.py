"""Command line: ``simcj run``, ``simcj check``, ``simcj validate``, ``simcj calibrate``, ``simcj schema``.

Thin by design: parse, call the API, print. A bad scenario file, a bad ``--set`` or an unusable
``--out`` exits with code 2 and one line per problem, before anything is simulated or written.
"""

from __future__ import annotations

import json
import shlex
import sys
from datetime import datetime
from pathlib import Path

import click
import pandas as pd

from . import __version__
from .experiment.results import simulate
from .experiment.runner import default_jobs
from .report.export import write_text_atomic
from .scenario import ScenarioError, json_schema, load_scenario

USAGE_ERROR = 2


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
@click.option("--reps", type=click.IntRange(min=1), help="Replications (default: the scenario's run.reps).")
@click.option("--seed", type=click.IntRange(min=0), help="Root seed (default: the scenario's run.seed).")
@click.option("--years", type=click.FloatRange(min=0, min_open=True), help="Measured years after the warm-up.")
@click.option("--warmup-years", type=click.FloatRange(min=0), help="Simulated years discarded before measuring.")
@click.option("--scale", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True, help="Multiply every volume and capacity (0.1 for a quick run).")
@click.option("--jobs", type=click.IntRange(min=1), help="Worker processes (default: all cores).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a scenario setting, e.g. --set courts.crown.sitting_days_per_year=27500 (repeatable).")
@click.option("--out", type=click.Path(file_okay=False), help="Results folder (default: results/<scenario>-<timestamp>).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def run(scenario, reps, seed, years, warmup_years, scale, jobs, overrides, out, quiet):
    """Run SCENARIO and write a results folder."""
    sc = _load(scenario, overrides)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out_path = Path(out) if out else Path("results") / f"{sc.name}-{stamp}"
    if out_path.exists() and (not out_path.is_dir() or any(out_path.iterdir())):
        _fail([f"--out: {out_path} already exists and is not empty; choose another folder"])
    jobs = jobs or default_jobs()
    n_reps = reps or sc.run.reps
    if quiet:
        res = simulate(sc, reps=reps, seed=seed, years=years, warmup_years=warmup_years, scale=scale, jobs=jobs)
    else:
        label = f"{sc.name}: {n_reps} replications on {min(jobs, n_reps)} process(es)"
        with click.progressbar(length=1000, label=label, file=sys.stderr, show_eta=True) as bar:

            def tick(fraction: float) -> None:
                bar.update(int(fraction * 1000) - bar.pos)

            res = simulate(sc, reps=reps, seed=seed, years=years, warmup_years=warmup_years, scale=scale, jobs=jobs, progress=tick)
    command = "simcj " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    with pd.option_context("display.max_colwidth", 40, "display.width", 200):
        click.echo(f"\n{sc.name}: mean [95% CI] over {res.spec.reps} replications, per year unless stated\n")
        click.echo(res.headline().to_string())
    written = res.save(out_path, command)
    click.echo(f"\nResults written to {written} ({res.wall_seconds:.1f} s)")


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Check with these overrides applied.")
def check(scenario, overrides):
    """Validate SCENARIO: exit 0 if valid, 2 with one line per problem if not."""
    sc = _load(scenario, overrides)
    assumptions = sum(1 for s in sc.sources.values() if s.source.upper().startswith("ASSUMPTION"))
    classes = ", ".join(name for name, _ in sc.offences.items())
    click.echo(f"{scenario}: valid scenario '{sc.name}' ({classes}); {len(sc.sources)} sourced parameters, {assumptions} of them marked ASSUMPTION")


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False), default="scenarios/baseline.yaml")
@click.option("--targets", "targets_path", type=click.Path(dir_okay=False), default="calibration/targets.csv", show_default=True, help="Published targets to compare with.")
@click.option("--reps", type=click.IntRange(min=2), default=4, show_default=True, help="Replications.")
@click.option("--seed", type=click.IntRange(min=0), help="Root seed (default: the scenario's run.seed).")
@click.option("--scale", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True, help="Volumes and capacities x F; volume targets are compared per unit of F.")
@click.option("--jobs", type=click.IntRange(min=1), help="Worker processes (default: all cores).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a scenario setting (repeatable).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Also write the result as JSON to this file.")
def validate(scenario, targets_path, reps, seed, scale, jobs, overrides, json_path):
    """Compare SCENARIO with published targets and run the model checks: exit 0 if all hold, 1 if not."""
    from .calibrate.targets import load_targets
    from .calibrate.validate import format_table
    from .calibrate.validate import validate as run_validation

    sc = _load(scenario, overrides)
    try:
        targets = load_targets(targets_path)
    except ScenarioError as exc:
        _fail(str(p) for p in exc.problems)
    seed = sc.run.seed if seed is None else seed
    with click.progressbar(length=1000, label=f"validating {sc.name}", file=sys.stderr) as bar:
        result = run_validation(sc, targets, reps, seed, scale, jobs or default_jobs(), lambda f: bar.update(int(f * 1000) - bar.pos))
    click.echo(format_table(result))
    if json_path:
        write_text_atomic(Path(json_path), json.dumps(result.as_json(), indent=2))
    sys.exit(0 if result.passed else 1)


@main.command()
@click.option("--scenario", "scenario_path", type=click.Path(dir_okay=False), default="scenarios/baseline.yaml", show_default=True)
@click.option("--targets", "targets_path", type=click.Path(dir_okay=False), default="calibration/targets.csv", show_default=True)
@click.option("--parameters", "parameters_path", type=click.Path(dir_okay=False), default="calibration/parameters.yaml", show_default=True, help="Free parameters and their bounds.")
@click.option("--budget", type=click.IntRange(min=1), default=60, show_default=True, help="Evaluations of the objective.")
@click.option("--reps", type=click.IntRange(min=1), default=2, show_default=True, help="Replications per evaluation (same seed: common random numbers).")
@click.option("--seed", type=click.IntRange(min=0), help="Root seed (default: the scenario's run.seed).")
@click.option("--scale", type=click.FloatRange(min=0, min_open=True), default=0.25, show_default=True, help="Volumes and capacities x F during the fit.")
@click.option("--jobs", type=click.IntRange(min=1), help="Worker processes (default: all cores).")
@click.option("--out", type=click.Path(file_okay=False), help="Folder for evaluations.jsonl and the report; run again with the same --out to resume.")
@click.option("--fitted", "fitted_path", type=click.Path(dir_okay=False), default="calibration/fitted.yaml", show_default=True, help="Where to write the fitted values.")
def calibrate(scenario_path, targets_path, parameters_path, budget, reps, seed, scale, jobs, out, fitted_path):
    """Fit the free parameters to the published targets; write the fitted values and a report."""
    from .calibrate.fit import Fit, fit_figure, load_free_parameters, with_values, write_fitted
    from .calibrate.targets import compare, load_targets
    from .calibrate.validate import Validation, format_table

    sc = _load(scenario_path)
    try:
        targets = load_targets(targets_path)
        free = load_free_parameters(parameters_path, sc)
    except ScenarioError as exc:
        _fail(str(p) for p in exc.problems)
    seed = sc.run.seed if seed is None else seed
    jobs = jobs or default_jobs()
    out_dir = Path(out) if out else Path("results") / f"calibration-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    out_dir.mkdir(parents=True, exist_ok=True)
    fit = Fit(sc, targets, free, reps, seed, scale, jobs, out_dir / "evaluations.jsonl")
    if fit.done:
        click.echo(f"resuming: {len(fit.done)} evaluations already in {out_dir / 'evaluations.jsonl'}", err=True)
    with click.progressbar(length=1000, label=f"calibrating {len(free)} parameters", file=sys.stderr, show_eta=True) as bar:
        best = fit.run(budget, lambda f: bar.update(int(f * 1000) - bar.pos))
    res = simulate(with_values(sc, best["values"]), reps=reps, seed=seed, scale=scale, jobs=jobs)
    table = compare(res.summary, targets, scale)
    table.to_csv(out_dir / "report.csv", index=False)
    fit_figure(table, out_dir / "fit.png")
    write_fitted(Path(fitted_path), free, best, targets_path)
    click.echo(format_table(Validation(sc.name, table, [])))
    click.echo("\nfitted values:")
    for p in free:
        click.echo(f"  {p.path} = {best['values'][p.path]:.6g}  (bounds {p.low:g} to {p.high:g})")
    click.echo(f"\nobjective {best['objective']:.4g} after {len(fit.done)} evaluations; wrote {fitted_path}; report in {out_dir}")


@main.command()
def schema():
    """Print the JSON Schema of scenario files (for editor completion and checking)."""
    click.echo(json.dumps(json_schema(), indent=2))


if __name__ == "__main__":  # pragma: no cover
    main()
