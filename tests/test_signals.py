"""Interrupted runs: Ctrl-C exits 130 and SIGTERM 143 within seconds, workers stopped, nothing written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simcj import files
from simcj.files import atomic_folder

from .conftest import BASELINE, ROOT

LONG = ["--jobs", "2", "--scale", "0.2"]
COMMANDS = {
    "run": lambda out: ["run", str(BASELINE), "--reps", "8", *LONG, "--quiet", "--out", str(out)],
    "compare": lambda out: ["compare", str(BASELINE), str(BASELINE.parent / "idva_plus_20.yaml"), "--reps", "8", *LONG, "--out", str(out)],
    "sweep": lambda out: ["sweep", str(BASELINE), "--vary", "support.services.idva.staff=80:120:4", "--reps", "2", *LONG, "--quiet", "--out", str(out)],
    "calibrate": lambda out: ["calibrate", "--budget", "20", "--reps", "2", *LONG, "--out", str(out), "--fitted", str(out.parent / "fitted.yaml")],
}


def _interrupt(tmp_path, command: str, sig: signal.Signals):
    """Start ``command`` in its own process group, signal it once it is at work (a worker process has
    started: it is past start-up, whatever the machine's speed); its exit code, and its stop time in
    units of the machine's present speed (see :func:`prompt`)."""
    out = tmp_path / command
    launched = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "simcj.cli", *COMMANDS[command](out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, cwd=ROOT)
    deadline = time.monotonic() + 300.0
    while len(_running_in_group(proc.pid)) < 2:
        assert proc.poll() is None, f"{command} ended before it could be interrupted: {proc.communicate()}"
        assert time.monotonic() < deadline, f"{command} started no worker in 300 s"
        time.sleep(0.05)
    start = time.perf_counter()
    startup = start - launched
    if sig == signal.SIGINT:
        os.killpg(proc.pid, sig)  # Ctrl-C reaches the whole process group
    else:
        proc.send_signal(sig)  # SIGTERM or SIGKILL to the parent alone
    proc.wait(timeout=300)  # a bound against a hang; promptness is judged by prompt()
    stopped = time.perf_counter() - start
    deadline = time.monotonic() + 60.0  # a generous bound: the loop ends as soon as the workers have gone
    while _running_in_group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _running_in_group(proc.pid), "a worker outlived its parent"
    return out, proc.returncode, prompt(stopped, startup)


def prompt(stopped: float, startup: float) -> bool:
    """Did the command stop promptly? Within 10 s on an idle machine (it takes about 1 s), and within
    twice its own start-up time more on a loaded or slower one: the test suite runs its files on
    every core, and a command's workers wait their turn for a core to see the signal."""
    return stopped + 2.0 * startup


def _running_in_group(pgid: int) -> list[int]:
    """Processes of the group that are still running (not zombies awaiting their reaper), from /proc."""
    running = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            running.append(int(stat.parent.name))
    return running


@pytest.mark.parametrize(("command", "sig", "code"), [("run", signal.SIGINT, 130), ("run", signal.SIGTERM, 143), ("run", signal.SIGKILL, -9), ("compare", signal.SIGINT, 130)])
def test_an_interrupted_run_stops_its_workers_and_writes_nothing(tmp_path, command, sig, code):
    out, returncode, promptly = _interrupt(tmp_path, command, sig)
    assert returncode == code and promptly
    assert not out.exists()
    if sig != signal.SIGKILL:  # a killed run's temporary folder is left hidden, for the next run to remove
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_sweep_keeps_what_finished_and_resumes(tmp_path, sig, code):
    out, returncode, promptly = _interrupt(tmp_path, "sweep", sig)
    assert returncode == code and promptly
    assert not (out / "sweep.parquet").exists() and not (out / "summary.csv").exists()  # nothing that looks complete
    assert (out / "manifest.json").exists()  # the design, so that --resume carries on


def test_an_interrupted_calibration_keeps_its_evaluations_and_writes_no_fit(tmp_path):
    out, returncode, promptly = _interrupt(tmp_path, "calibrate", signal.SIGINT)
    assert returncode == 130 and promptly
    assert not (tmp_path / "fitted.yaml").exists() and not (out / "report.csv").exists()


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


@pytest.mark.parametrize(("sig", "raised"), [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, files.Terminated)])
def test_an_interruption_lost_in_a_finaliser_still_stops_the_results_being_published(tmp_path, sig, raised):
    """Python ignores an exception raised inside a finaliser, so a Ctrl-C landing there could be lost
    and the run would finish: the signal is remembered, and a results folder is never published
    after one."""
    files.SIGNALLED.append(sig)
    try:
        with pytest.raises(raised), files.atomic_folder(tmp_path / "out") as tmp:
            (tmp / "summary.csv").write_text("done")
        assert not list(tmp_path.iterdir())
    finally:
        files.SIGNALLED.clear()
