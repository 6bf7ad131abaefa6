"""The catalogue of metrics: it describes every metric a run reports, and the outer layers read it
instead of keeping lists of their own."""

from __future__ import annotations

import ast

import pytest

from simcj.engine.metrics import Metric
from simcj.engine.world import run_replication
from simcj.experiment import catalogue
from simcj.experiment.kpis import replication_kpis
from simcj.scenario import load_scenario, scaled, with_run

from .conftest import ROOT

WOMEN = ROOT / "scenarios" / "women" / "baseline.yaml"


@pytest.fixture(scope="module", params=["baseline", "women"])
def reported(request, baseline):
    scenario = baseline if request.param == "baseline" else load_scenario(WOMEN)
    sc = scaled(with_run(scenario, years=1.0, warmup_years=1.0), 0.01)
    return sc, replication_kpis(run_replication(sc, 0, seed=3), sc)


def test_the_catalogue_describes_every_metric_a_run_reports(reported):
    sc, kpis = reported
    assert set(kpis["metric"]) <= catalogue.metric_names(sc)


def test_the_headline_tables_have_one_row_a_label(reported):
    sc, _ = reported
    labels = [m.label for m in catalogue.headline(sc)]
    assert len(labels) == len(set(labels)) > 5
    rows = catalogue.headline_differences(sc)
    assert len({label for _m, _o, label, _f in rows}) == len(rows)


def test_counts_and_stocks_are_volumes_and_rates_are_not(baseline):
    entries = catalogue.entries(baseline)
    for name in ("recorded", "charged", "convicted", "marac_cases", "crown_backlog", "idva_supported"):
        assert entries[name].volume, name
    for name in ("rate_conviction", "idva_utilisation", "days_report_to_charge_median", "victims_safe_12m", "marac_cases_per_10k_women"):
        assert not entries[name].volume, name


def test_the_comparison_gives_convictions_for_every_offence_class_and_shares_in_points(baseline):
    rows = catalogue.headline_differences(baseline)
    first = [(m, o) for m, o, *_ in rows].index(("convicted", "all"))
    assert [(m, o) for m, o, *_ in rows[first : first + 1 + len(baseline.offences)]] == [("convicted", "all"), *(("convicted", o) for o in baseline.offences)]
    withdrawal = next(label for m, _o, label, _f in rows if m == "rate_withdrawal_pre_charge")
    assert withdrawal.endswith("(points)")


def test_the_funnel_runs_from_incidents_to_convictions(baseline):
    assert [m for m, _ in catalogue.funnel(baseline)] == ["incidents", "reported", "recorded", "referred_cps", "charged", "convicted"]


def test_an_unknown_unit_is_refused():
    with pytest.raises(ValueError, match="unit"):
        Metric("x", "X", "parsecs")


OUTER = ["simcj/cli.py", "docs/build.py", *(f"simcj/report/{p.name}" for p in (ROOT / "simcj" / "report").glob("*.py")),
         *(f"simcj/experiment/{m}.py" for m in ("results", "compare", "replications", "sensitivity", "uncertainty", "sweep", "global_sensitivity"))]


@pytest.fixture(scope="module")
def every_metric(baseline) -> set[str]:
    return catalogue.metric_names(baseline) | catalogue.metric_names(load_scenario(WOMEN))


@pytest.mark.parametrize("path", OUTER)
def test_no_outer_layer_keeps_a_list_of_metrics(path, every_metric):
    """A module-level tuple, list, set or dict naming two metrics or more is a hand-kept list."""
    names = every_metric
    tree = ast.parse((ROOT / path).read_text())
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, (ast.Tuple, ast.List, ast.Set, ast.Dict)):
            named = {c.value for c in ast.walk(node.value) if isinstance(c, ast.Constant) and c.value in names}
            assert len(named) < 2, f"{path}:{node.lineno} lists metrics {sorted(named)}"
