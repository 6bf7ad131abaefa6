"""The stage contract is closed: a stage declares what it reads of the others, assembly checks it, and
any pathway that has what its stages need runs and reports."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import pytest
from click.testing import CliRunner

from simcj.cli import main
from simcj.engine.stage import PATHWAYS, REGISTRY, Stage, declared, stage_class
from simcj.engine.world import World, run_replication
from simcj.experiment.kpis import replication_kpis
from simcj.scenario import ScenarioError, load_scenario, scaled, variant, with_run

from .conftest import ROOT

for _package in PATHWAYS:  # every shipped stage registers
    for _module in pkgutil.iter_modules(importlib.import_module(_package).__path__):
        importlib.import_module(f"{_package}.{_module.name}")
SHIPPED = {name: cls for name, cls in REGISTRY.items() if cls.__module__.startswith(PATHWAYS)}


def _refs(cls: type[Stage]) -> set[str]:
    return {*cls.needs, *cls.uses, *cls.entries}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_what_a_stage_declares_it_reads_names_what_another_stage_offers(name):
    for ref in _refs(SHIPPED[name]):
        owner, _, item = ref.partition(".")
        assert owner in SHIPPED and owner != name, f"{name}: {ref} names no other stage"
        assert SHIPPED[owner].table == SHIPPED[name].table, f"{name}: {ref} is of the other case table"
        assert item in declared(SHIPPED[owner]), f"{name}: {ref}: '{owner}' offers no '{item}'"


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_a_stage_reads_of_the_others_only_what_it_declares(name):
    """Its module's source names no column or service of another stage of its table but those it declares."""
    cls = SHIPPED[name]
    source = inspect.getsource(inspect.getmodule(cls))
    undeclared = []
    for owner, other in SHIPPED.items():
        if owner == name or other.table != cls.table:
            continue
        for item in declared(other) - set(other.outcomes):
            if re.search(rf"(\.|\[\"|\"|'){re.escape(item)}\b(?!\()", source) and f"{owner}.{item}" not in _refs(cls):  # a call is a method
                undeclared.append(f"{owner}.{item}")
    assert not undeclared, f"{name} reads {undeclared} without declaring them"
    assert "stages[" not in source and "stages.get(" not in source  # no stage reached by its name


def test_a_stage_cannot_reach_what_it_has_not_declared(baseline):
    world = World(scaled(with_run(baseline, years=0.1, warmup_years=0.0), 0.01), 0, 1)
    courts = world.stages["courts"]
    assert courts.column("support.t_support_start") is world.cases.t_support_start
    with pytest.raises(TypeError, match="without declaring"):
        courts.column("police.stranger")
    with pytest.raises(TypeError, match="without declaring"):
        courts.service("repeats.occurs")


def test_a_pathway_without_what_a_stage_needs_is_refused(baseline):
    with pytest.raises(ScenarioError, match="'courts' needs charging.charged: add the 'charging' stage"):
        variant(baseline, {"pathway": ["reporting", "police", "courts"]})


def test_check_names_the_missing_stage(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"extends: {ROOT / 'scenarios' / 'baseline.yaml'}\nname: bad\npathway: [reporting, police, courts]\nperformance: {{}}\n")
    result = CliRunner().invoke(main, ["check", str(bad)])
    assert result.exit_code == 2
    assert "pathway.2" in result.output and "add the 'charging' stage" in result.output
    assert "Traceback" not in result.output


def _closure(name: str) -> list[str]:
    """The smallest pathway with stage ``name``: it and every stage it needs, in the baseline's order."""
    wanted, todo = set(), [name]
    while todo:
        stage = todo.pop()
        if stage not in wanted:
            wanted.add(stage)
            todo += [ref.partition(".")[0] for ref in stage_class(stage).needs]
    return wanted


VICTIMS = ["reporting", "repeats", "support", "marac", "police", "charging", "courts", "sentencing", "programmes"]
WOMEN = ["arrests", "custody_suite", "womens_courts", "probation", "womens_centres"]


@pytest.mark.parametrize("name", VICTIMS + WOMEN)
def test_the_smallest_pathway_with_each_stage_runs_and_reports(baseline, name):
    women = name in WOMEN
    scenario = load_scenario(ROOT / "scenarios" / "women" / "baseline.yaml") if women else baseline
    order = WOMEN if women else VICTIMS
    pathway = [s for s in order if s in _closure(name)]
    sc = scaled(with_run(variant(scenario, {"pathway": pathway, "performance": {}}), years=0.5, warmup_years=0.5), 0.02)
    kpis = replication_kpis(run_replication(sc, 0, seed=1), sc)
    reported = set(kpis["metric"])
    assert not kpis.empty
    for stage in pathway:  # each stage's own case metrics are there
        assert set(stage_class(stage).case_metrics) <= reported, stage


# The layers, lowest first: a module imports only from its own layer or those below it.
LAYERS = {"files": 0, "version": 0, "scenario": 1, "engine": 2, "vawg": 3, "women": 3, "experiment": 4, "calibrate": 5, "report": 6, "cli": 7}


def test_no_import_runs_upward():
    upward = []
    for path in (ROOT / "simcj").rglob("*.py"):
        rel = path.relative_to(ROOT / "simcj")
        if rel.name == "__init__.py" and len(rel.parts) == 1:
            continue  # the package's public API gathers every layer
        mine = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        for dots, module in re.findall(r"^\s*from (\.+)([\w.]*) import", path.read_text(), re.M):
            if len(rel.parts) > 1 and len(dots) == 1:
                continue  # its own package
            target = module.split(".")[0] if module else "__init__"
            if LAYERS.get(target, 99) > LAYERS[mine]:
                upward.append(f"{rel} imports {dots}{module}")
    assert not upward


def test_a_scenario_validates_wherever_it_is_read(tmp_path, baseline):
    """The stages' settings live with the stages; a process that has imported only the schema can
    still validate a resolved scenario (a results folder's manifest) and unpickle one (a worker's)."""
    import pickle
    import subprocess
    import sys

    (tmp_path / "resolved.json").write_text(baseline.model_dump_json(by_alias=True))
    (tmp_path / "scenario.pickle").write_bytes(pickle.dumps(baseline))
    code = (
        "import pathlib, pickle, sys; from simcj.scenario.schema import Scenario; d = pathlib.Path(sys.argv[1]);"
        "a = Scenario.model_validate(__import__('json').loads((d / 'resolved.json').read_text()));"
        "b = pickle.loads((d / 'scenario.pickle').read_bytes()); print(a.refuges.bed_spaces, b.model_dump()['refuges']['bed_spaces'])"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(baseline.refuges.bed_spaces)] * 2
