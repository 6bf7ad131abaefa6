"""Hostile input: every file in tests/bad_scenarios/ exits 2 with a clear line, at once, and writes nothing.

Each file's first line says what the message must contain: ``# expect: <text>``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from simcj.cli import main

from .conftest import BASELINE

CORPUS = Path(__file__).parent / "bad_scenarios"
FILES = sorted(CORPUS.glob("*.yaml"))


def expected(path: Path) -> str:
    first = path.read_bytes().split(b"\n", 1)[0].decode("utf-8", "replace")
    assert first.startswith("# expect: "), path
    return first.removeprefix("# expect: ").strip()


@pytest.fixture
def no_simulation(monkeypatch):
    """A replication that starts fails the test: the command must stop before anything runs (with --jobs 1)."""
    from simcj.engine.world import World

    def simulated(*_args, **_kwargs):
        raise AssertionError("a replication ran before the input was refused")

    monkeypatch.setattr(World, "run", simulated)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_a_bad_scenario_file_exits_2_with_one_clear_line_per_problem(path, tmp_path, no_simulation):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(path), "--jobs", "1", "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert expected(path) in result.output, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert str(path) in result.output or str(path.resolve()) in result.output
    assert not out.exists()


def test_the_corpus_is_broad():
    assert len(FILES) >= 40


def test_a_folder_and_an_oversized_file_are_refused_before_parsing(tmp_path, monkeypatch):
    folder = tmp_path / "scenario.yaml"
    folder.mkdir()
    r = CliRunner().invoke(main, ["check", str(folder)])
    assert r.exit_code == 2 and "is a directory" in r.output
    big = tmp_path / "big.yaml"
    big.write_bytes(b"name: big\n" + b"# padding\n" * 600_000)

    def parsed(*_args, **_kwargs):
        raise AssertionError("the oversized file was parsed")

    monkeypatch.setattr("simcj.scenario.loader.yaml.load", parsed)
    r = CliRunner().invoke(main, ["check", str(big)])
    assert r.exit_code == 2 and "MB" in r.output


def test_a_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + f"extends: {BASELINE}\nname: bom\n".encode())
    assert CliRunner().invoke(main, ["check", str(path)]).exit_code == 0


@pytest.mark.parametrize("value", ["true", "nan", ".inf", "1e308", "*a", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["])
def test_bad_set_values_exit_2(value):
    r = CliRunner().invoke(main, ["check", str(BASELINE), "--set", f"support.services.idva.staff={value}"])
    assert r.exit_code == 2 and "support.services.idva.staff" in r.output and "Traceback" not in r.output


@pytest.mark.parametrize("option", [["--scale", "nan"], ["--scale", "inf"], ["--years", "inf"], ["--years", "nan"], ["--warmup-years", "inf"], ["--years", "500"]])
def test_bad_numbers_on_the_command_line_exit_2(option, tmp_path):
    r = CliRunner().invoke(main, ["run", str(BASELINE), *option, "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and not (tmp_path / "o").exists()


@pytest.mark.parametrize("command", [["run", str(BASELINE)], ["compare", str(BASELINE), str(BASELINE.parent / "idva_plus_20.yaml")], ["sensitivity", str(BASELINE)]])
def test_an_out_folder_that_cannot_be_written_stops_before_anything_runs(tmp_path, command, no_simulation):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    r = CliRunner().invoke(main, [*command, "--jobs", "1", "--out", str(a_file / "results")])
    assert r.exit_code == 2 and "--out: cannot write in" in r.output and "Traceback" not in r.output


def test_a_write_that_fails_part_way_exits_2_and_leaves_nothing(tmp_path, monkeypatch):
    import simcj.report.export as export

    def full_disk(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export.figures, "save_all", full_disk)
    args = ["run", str(BASELINE), "--reps", "1", "--scale", "0.02", "--years", "0.5", "--warmup-years", "0.5", "--jobs", "1", "--quiet", "--out", str(tmp_path / "r")]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2 and "No space left on device" in r.output and "nothing was left behind" in r.output
    assert list(tmp_path.iterdir()) == []
