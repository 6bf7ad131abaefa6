"""Interrupted runs: Ctrl-C exits 130 and SIGTERM 143 within seconds, workers stopped, nothing written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from simcj.files import atomic_folder

from .conftest import BASELINE, ROOT


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_run_stops_its_workers_and_writes_nothing(tmp_path, sig, code):
    out = tmp_path / "run"
    args = [sys.executable, "-m", "simcj.cli", "run", str(BASELINE), "--reps", "8", "--jobs", "2", "--scale", "0.2", "--quiet", "--out", str(out)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, cwd=ROOT)
    time.sleep(3.0)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    start = time.perf_counter()
    if sig == signal.SIGINT:
        os.killpg(proc.pid, sig)  # Ctrl-C reaches the whole process group
    else:
        proc.send_signal(sig)  # SIGTERM to the parent alone
    proc.wait(timeout=30)
    stopped = time.perf_counter() - start
    assert proc.returncode == code and stopped < 10.0
    time.sleep(0.5)
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)  # no worker outlives the run
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_killed_runs_temporary_folder_is_removed_by_the_next_run(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    leftover = tmp_path / f".old.partial-{dead}-abc"
    leftover.mkdir()
    (leftover / "kpis.csv").write_text("half")
    alive = tmp_path / f".other.partial-{os.getpid()}-xyz"  # a run still going (this process): kept
    alive.mkdir()
    with atomic_folder(tmp_path / "new") as folder:
        (folder / "x").write_text("x")
    assert not leftover.exists() and alive.exists()
    assert (tmp_path / "new" / "x").exists()
    assert oct((tmp_path / "new").stat().st_mode & 0o777) != oct(0o700)  # an ordinary folder, not a private one
