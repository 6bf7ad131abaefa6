"""The README's two opening commands are the ones CI and a new user rely on: keep them true."""

from __future__ import annotations

from .conftest import ROOT

RUN_COMMAND = "pip install -e . && simcj run scenarios/baseline.yaml"
TEST_COMMAND = 'pip install -e ".[test]" && python -m pytest -q'


def test_readme_opens_with_the_two_commands():
    head = (ROOT / "README.md").read_text().split("\n## ")[0]
    assert RUN_COMMAND in head and TEST_COMMAND in head


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert TEST_COMMAND in ci.splitlines()
