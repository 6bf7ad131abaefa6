"""Hypothesis as a hostile user: generated scenario files, ``--set`` strings and option values.

Whatever is given, the command ends with exit 0 (valid) or 2 (refused, with a message), never a
traceback, and within the time a person would wait (the parser refuses oversized and explosive
input before reading it; hypothesis' deadline enforces the limit on every example).
"""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simcj.cli import main

from .conftest import BASELINE

RAW = BASELINE.read_text(encoding="utf-8")
LINES = RAW.splitlines()
SECTIONS = [k for k in yaml.safe_load(RAW) if k != "name"]
KEYS = st.sampled_from([*SECTIONS, "extends", "name", "value", "source", "low", "high", "dist", "staff", "offences", "rape", "pathway", "p_report", "*", "&a", "<<"]) | st.text(max_size=8)
SCALARS = st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12)
TREES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5), max_leaves=30)
SETTING_PATHS = st.sampled_from(["support.services.idva.staff", "courts.crown.sitting_days_per_year", "offences.rape.reporting.p_report", "run.years", "pathway", "offences", "name", "x.y.z", ""])
QUICK = settings(max_examples=60, deadline=3000, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _clean_end(result) -> None:
    assert result.exit_code in (0, 2), (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert result.output.strip(), "a refusal says why"


def _check(tmp_path: Path, text: str | bytes, *extra: str):
    path = tmp_path / "hostile.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
    return CliRunner().invoke(main, ["check", str(path), *extra])


@QUICK
@given(tree=TREES, extends=st.booleans())
def test_generated_scenario_files_are_accepted_or_refused_cleanly(tmp_path_factory, tree, extends):
    text = yaml.safe_dump(tree, allow_unicode=True)
    if extends and isinstance(tree, dict):
        text = f"extends: {BASELINE}\nname: h\n" + text
    _clean_end(_check(tmp_path_factory.mktemp("h"), text))


@QUICK
@given(edits=st.lists(st.tuples(st.integers(0, len(LINES) - 1), st.sampled_from(["drop", "repeat", "junk", "indent"]), st.text(max_size=6)), min_size=1, max_size=4))
def test_the_baseline_mangled_line_by_line_is_accepted_or_refused_cleanly(tmp_path_factory, edits):
    lines = list(LINES)
    for at, how, junk in edits:
        at = min(at, len(lines) - 1)
        if how == "drop":
            del lines[at]
        elif how == "repeat":
            lines.insert(at, lines[at])
        elif how == "junk":
            lines[at] = lines[at][: len(lines[at]) // 2] + junk
        else:
            lines[at] = "  " + lines[at]
    _clean_end(_check(tmp_path_factory.mktemp("h"), "\n".join(lines)))


@QUICK
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_are_refused_cleanly(tmp_path_factory, data):
    _clean_end(_check(tmp_path_factory.mktemp("h"), data))


@QUICK
@given(key=SETTING_PATHS | st.text(max_size=20), value=st.text(max_size=30) | st.sampled_from(["*a", "&a [*a, *a]", "{value: 1}", "[[[[[[[[", "!!python/object:os.system", ".nan", "1e999", "true"]))
def test_generated_set_strings_are_accepted_or_refused_cleanly(key, value):
    _clean_end(CliRunner().invoke(main, ["check", str(BASELINE), "--set", f"{key}={value}"]))


OPTIONS = ["--scale", "--years", "--warmup-years", "--reps", "--seed", "--intervention-years", "--precision", "--max-reps"]


@QUICK
@given(option=st.sampled_from(OPTIONS), value=st.text(max_size=12) | st.sampled_from(["nan", "inf", "-inf", "-1", "0", "1e308", "auto", "1e-300", "0x10"]))
def test_generated_option_values_stop_cleanly_before_anything_runs(tmp_path_factory, option, value):
    blocked = tmp_path_factory.mktemp("h") / "a_file"
    blocked.write_text("x")  # --out below a file: a valid command stops at the --out check, before simulating
    result = CliRunner().invoke(main, ["run", str(BASELINE), option, value, "--out", str(blocked / "out"), "--quiet"])
    assert result.exit_code == 2, result.output  # refused: the value, or the --out
    _clean_end(result)
