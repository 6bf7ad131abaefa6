"""Writing files so that a crash or a kill never leaves a half-written result.

A file is written under a temporary name and renamed into place; a results folder is filled as a
hidden temporary folder beside its target and renamed only when complete. A crash or a kill
therefore never leaves a folder that looks finished, and never a half-written file under a final
name. Every command that writes results uses these.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from contextlib import contextmanager
from pathlib import Path


class Terminated(BaseException):
    """SIGTERM: end like Ctrl-C (workers stopped, nothing half-written), with the exit code 143."""


# The signals the command has received. Its handlers raise at once, but Python ignores an exception
# raised inside a finaliser or a weakref callback, so an interruption that lands there would be
# lost and the run would finish and publish its results; the executors and atomic_folder check
# this list too, so an interruption always stops the command.
SIGNALLED: list[int] = []


SHIPPED = Path(__file__).resolve().parent / "shipped"  # the scenarios and calibration files of a wheel
OWN_FOLDERS = ("scenarios", "calibration")


def located(path: str | Path) -> Path:
    """``scenarios/...`` or ``calibration/...`` that is not in the working folder: the copy shipped
    with the installed package, if it has one. Any other path is returned as it is."""
    p = Path(path)
    if p.is_absolute() or not p.parts or p.parts[0] not in OWN_FOLDERS or p.exists():
        return p
    shipped = SHIPPED.joinpath(*p.parts)
    return shipped if shipped.is_file() else p


def interruption(signum: int) -> BaseException:
    """The exception a signal ends the command with: KeyboardInterrupt for Ctrl-C, else Terminated."""
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated()


def raise_if_signalled() -> None:
    """Raise the interruption the command received and lost, if any."""
    if SIGNALLED:
        raise interruption(SIGNALLED[0])


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` under a temporary name and rename it into place."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def is_results_folder(path: Path) -> bool:
    """Is ``path`` a folder simcj wrote? A run, comparison or sweep has a manifest; a sensitivity
    folder has its base run's, in ``scenario/``."""
    return Path(path, "manifest.json").is_file() or Path(path, "scenario", "manifest.json").is_file()


@contextmanager
def atomic_folder(out: Path, replace: bool = False):
    """Yield a hidden temporary folder beside ``out``; rename it to ``out`` only if the block completes.

    ``out`` must not exist yet, or be empty; with ``replace``, it may also be a results folder simcj
    wrote, which is swapped out only once the new one is complete (never any other folder: a
    mistyped ``--out ~`` must not delete a home folder). On any error (or a kill) the temporary
    folder is removed, or left hidden, and nothing appears under the final name.
    """
    out = Path(out)
    used = out.exists() and (not out.is_dir() or any(out.iterdir()))
    if used and not (replace and out.is_dir() and is_results_folder(out)):
        raise FileExistsError(f"{out} already exists and is not empty; choose another --out" + ("" if replace else ", or --force to replace a results folder"))
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(out.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-{os.getpid()}-", dir=out.parent))
    try:
        yield tmp
        raise_if_signalled()  # never publish the results of an interrupted command
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; a results folder is an ordinary one
        if used:
            old = Path(f"{tmp}-replaced")  # hidden, named like a leftover: removed by a later run if killed now
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            if out.exists():
                out.rmdir()
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _remove_leftovers(parent: Path) -> None:
    """Remove the hidden temporary folders of runs that were killed (their process is gone)."""
    for leftover in parent.glob(".*.partial-*"):
        try:
            pid = int(leftover.name.rsplit(".partial-", 1)[1].split("-", 1)[0])
        except (IndexError, ValueError):
            continue
        if leftover.is_dir() and not _alive(pid):
            shutil.rmtree(leftover, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
