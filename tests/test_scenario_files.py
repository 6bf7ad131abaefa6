"""Scenario files: loading, inheritance, overrides, provenance and clear errors for bad input."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from simcj.cli import main
from simcj.scenario import ScenarioError, json_schema, load_scenario, scaled
from simcj.scenario.loader import OVERRIDE_SOURCE

from .conftest import BASELINE, ROOT, baseline_copy, load_corrupted, raw_baseline, setting_paths

RAW_BASELINE = raw_baseline()


def write(tmp_path, name, data) -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return str(path)


def problems_of(path, overrides=()):
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    return info.value.problems


SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_scenario_is_valid_and_every_number_has_a_source(path):
    def numeric_paths(node, prefix=""):
        if isinstance(node, bool):
            return
        if isinstance(node, (int, float)):
            yield prefix
        elif isinstance(node, dict):
            for k, v in node.items():
                yield from numeric_paths(v, f"{prefix}.{k}" if prefix else str(k))

    sc = load_scenario(path)
    plain = sc.model_dump(by_alias=True, exclude={"run", "price_year"})
    missing = [p for p in numeric_paths(plain) if p not in sc.sources]
    assert not missing, f"parameters without a source: {missing[:10]}"
    assert all(s.source.strip() for s in sc.sources.values())


def test_shipped_interventions_change_what_they_say_and_nothing_else(baseline):
    """Each intervention file extends the baseline and changes only a handful of settings."""
    base = baseline.model_dump(by_alias=True)
    for path in SHIPPED:
        if path.stem == "baseline":
            continue
        assert path.read_text().startswith("#"), f"{path.name}: comments must say what it represents"
        sc = load_scenario(path)
        changed = _diff(base, sc.model_dump(by_alias=True))
        changed -= {"name", "description"}
        assert 1 <= len(changed) <= 12, (path.name, changed)


def _diff(a, b, prefix=""):
    if isinstance(a, dict) and isinstance(b, dict):
        out = set()
        for k in set(a) | set(b):
            out |= _diff(a.get(k), b.get(k), f"{prefix}{k}.")
        return out
    return set() if a == b else {prefix[:-1]}


def test_disputed_effects_carry_ranges(baseline):
    for path in ("support.effect.hr_withdrawal", "support.effect.conviction_rr", "courts.sdvc.hr_withdrawal"):
        src = baseline.sources[path]
        assert src.low is not None and src.high is not None and src.low <= src.high


def test_json_schema_accepts_the_baseline_and_rejects_unknown_keys():
    schema = json_schema()
    jsonschema.validate(RAW_BASELINE, schema)
    bad = copy.deepcopy(RAW_BASELINE)
    bad["courts"]["crown"]["sitting_dayz"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_extends_overrides_only_what_changes(tmp_path, baseline):
    base = str(baseline_copy(tmp_path))
    child = write(
        tmp_path,
        "more_idvas.yaml",
        f"extends: {base}\nname: more_idvas\nsupport:\n  services:\n    idva:\n      staff: {{value: 112, source: 'test: +20 FTE'}}\n",
    )
    sc = load_scenario(child)
    assert sc.name == "more_idvas"
    assert sc.support.services["idva"].staff == 112
    assert sc.sources["support.services.idva.staff"].source == "test: +20 FTE"
    parent = load_scenario(base)  # the copy leaves out the baseline's calibration file
    assert sc.support.services["idva"].caseload == parent.support.services["idva"].caseload
    assert sc.offences["rape"] == parent.offences["rape"]


def test_set_overrides_value_and_marks_its_source():
    sc = load_scenario(BASELINE, ["courts.crown.sitting_days_per_year=27500", "run.reps=3"])
    assert sc.courts.crown.sitting_days_per_year == 27500
    assert sc.sources["courts.crown.sitting_days_per_year"].source == OVERRIDE_SOURCE
    assert sc.run.reps == 3


@pytest.mark.parametrize(
    "text, path, fragment",
    [
        ("name: x\nfoo: [1,\n", "", "not valid YAML at line"),
        ("- just\n- a list\n", "", "expected a mapping"),
    ],
)
def test_unreadable_files(tmp_path, text, path, fragment):
    f = write(tmp_path, "bad.yaml", text)
    (problem,) = problems_of(f)
    assert problem.file == f and problem.path == path and fragment in problem.message


def test_missing_file():
    (problem,) = problems_of("no/such/file.yaml")
    assert "file not found" in problem.message


def _bad_baseline(tmp_path, edit):
    data = copy.deepcopy(RAW_BASELINE)
    edit(data)
    return write(tmp_path, "bad.yaml", data)


def test_each_problem_names_file_key_and_what_was_found(tmp_path):
    def edit(d):
        d["offences"]["rape"]["reporting"]["p_report"]["value"] = 1.5
        d["courts"]["crown"]["sitting_dayz"] = 3
        del d["offences"]["domestic_abuse"]["charging"]["p_charge"]
        d["offences"]["rape"]["police"]["unit"] = "flying_squad"

    f = _bad_baseline(tmp_path, edit)
    found = {p.path: p for p in problems_of(f)}
    assert "less than or equal to 1" in found["offences.rape.reporting.p_report"].message
    assert "1.5" in found["offences.rape.reporting.p_report"].message
    assert "unknown setting" in found["courts.crown.sitting_dayz"].message
    assert "missing" in found["offences.domestic_abuse.charging.p_charge"].message
    assert all(p.file == f for p in found.values())


def test_unknown_unit_reference(tmp_path):
    f = _bad_baseline(tmp_path, lambda d: d["offences"]["rape"]["police"].update(unit="flying_squad"))
    (problem,) = problems_of(f)
    assert problem.path == "offences.rape.police.unit" and "flying_squad" in problem.message


def test_sourced_value_without_source(tmp_path):
    f = _bad_baseline(tmp_path, lambda d: d["courts"]["crown"].update(p_ineffective={"value": 0.2}))
    (problem,) = problems_of(f)
    assert problem.path == "courts.crown.p_ineffective" and "needs a source" in problem.message


def test_error_in_parent_file_is_attributed_to_the_parent(tmp_path):
    parent = _bad_baseline(tmp_path, lambda d: d["courts"]["crown"].update(p_ineffective=2.0))
    child = write(tmp_path, "child.yaml", f"extends: {parent}\nname: child\n")
    (problem,) = problems_of(child)
    assert problem.file == parent and problem.path == "courts.crown.p_ineffective"


def test_extends_cycle(tmp_path):
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    a.write_text("extends: b.yaml\nname: a\n")
    b.write_text("extends: a.yaml\nname: b\n")
    (problem,) = problems_of(str(a))
    assert "cycle" in problem.message


@pytest.mark.parametrize("assignment, fragment", [("courts.crown", "expected KEY=VALUE"), ("run.reps=[1", "not valid YAML"), ("name.x=1", "is a value, not a section")])
def test_bad_set(assignment, fragment):
    (problem,) = problems_of(BASELINE, [assignment])
    assert problem.file == "--set" and fragment in problem.message


def test_cli_check_exit_codes_and_no_traceback(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(main, ["check", str(BASELINE)])
    assert ok.exit_code == 0 and "valid scenario" in ok.output
    f = _bad_baseline(tmp_path, lambda d: d["offences"]["rape"]["reporting"]["p_report"].update(value=-1))
    bad = runner.invoke(main, ["check", f])
    assert bad.exit_code == 2
    assert "offences.rape.reporting.p_report" in bad.output and f in bad.output
    assert "Traceback" not in bad.output


def test_cli_run_on_bad_file_leaves_no_results(tmp_path):
    f = _bad_baseline(tmp_path, lambda d: d["courts"]["sdvc"].update(trials_per_session=0))
    out = tmp_path / "results"
    result = CliRunner().invoke(main, ["run", f, "--out", str(out), "--quiet"])
    assert result.exit_code == 2 and "courts.sdvc.trials_per_session" in result.output
    assert not out.exists() and not list(tmp_path.glob(".results*"))


def test_cli_schema_is_json():
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.output)["title"] == "Scenario"


def test_scale_multiplies_volumes_and_capacities_only(baseline):
    s = scaled(baseline, 0.25)
    assert s.offences["rape"].reporting.incidents_per_year == pytest.approx(0.25 * baseline.offences["rape"].reporting.incidents_per_year)
    assert s.police.units["community_safety"].staff == pytest.approx(0.25 * baseline.police.units["community_safety"].staff)
    assert s.courts.crown.background_cases_per_year == pytest.approx(0.25 * baseline.courts.crown.background_cases_per_year)
    assert s.courts.sdvc.courts == pytest.approx(0.25 * baseline.courts.sdvc.courts)
    # rates, durations and caseloads are not volumes
    assert s.offences["rape"].reporting.p_report == baseline.offences["rape"].reporting.p_report
    assert s.police.units["community_safety"].caseload == baseline.police.units["community_safety"].caseload
    assert s.offences["rape"].police.investigation_time == baseline.offences["rape"].police.investigation_time


LEAVES = [p for p in setting_paths(RAW_BASELINE) if p]
JUNK = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True), st.text(max_size=5), st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(LEAVES), JUNK)
def test_any_corrupted_value_gives_scenario_error_or_valid_scenario(tmp_path_factory, path, junk):
    """Hypothesis: whatever one setting is replaced by, loading never fails with anything but ScenarioError."""
    f, exc = load_corrupted(RAW_BASELINE, path, junk, tmp_path_factory.mktemp("h"))
    if exc is not None:
        assert exc.problems
        for p in exc.problems:
            assert p.file == str(f) and p.message
