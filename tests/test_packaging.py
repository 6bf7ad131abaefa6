"""The built wheel: it carries the scenarios and calibration files, and simcj finds them when it is
installed from it and run from an empty folder (the README's first command without a checkout)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest

from .conftest import ROOT

SMALL = ["--scale", "0.02", "--reps", "1", "--years", "1", "--warmup-years", "0", "--jobs", "1", "--quiet"]


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory):
    """The wheel built from this checkout, installed (without its dependencies, which are here) in a folder of its own."""
    build = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(build), str(ROOT)], check=True)
    (wheel,) = build.glob("simcj-*.whl")
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)], check=True)
    return wheel, target


def _simcj(target, cwd, *args):
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = "import sys, simcj; from simcj.cli import entry; print('simcj from', simcj.__file__, file=sys.stderr); sys.argv = ['simcj', *sys.argv[1:]]; entry()"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True)


def test_the_wheel_carries_every_module_and_the_scenarios_and_calibration(installed_wheel):
    wheel, _ = installed_wheel
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in (ROOT / "simcj").rglob("*.py"):
        assert path.relative_to(ROOT).as_posix() in names
    for path in [*ROOT.glob("scenarios/**/*.yaml"), *ROOT.glob("calibration/*")]:
        assert f"simcj/shipped/{path.relative_to(ROOT).as_posix()}" in names


def test_simcj_installed_from_the_wheel_runs_the_baseline_from_an_empty_folder(installed_wheel, tmp_path):
    _, target = installed_wheel
    checked = _simcj(target, tmp_path, "check", "scenarios/baseline.yaml")
    assert checked.returncode == 0, checked.stderr
    assert f"simcj from {target}" in checked.stderr  # not the checkout's
    ran = _simcj(target, tmp_path, "run", "scenarios/baseline.yaml", *SMALL, "--out", "out")
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / "out" / "summary.csv").is_file()
    version = _simcj(target, tmp_path, "--version")
    assert version.returncode == 0 and "0+unknown" not in version.stdout
