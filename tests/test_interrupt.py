"""Interrupting ``conflict-sim run`` (Ctrl-C or SIGTERM) never leaves a half-written run directory.

The run is a real process on the Iraq scenario with its stderr on a pseudo-terminal, as in a user's terminal, so
the progress bar shows how far it is. It is interrupted while simulating and while writing its directory (the
``.partial`` temporary exists), and once while replacing an earlier run with ``--force``: afterwards there is no
run directory, no ``.partial`` leftover, the earlier run is untouched, no traceback, and the exit status says
what happened (130 for Ctrl-C, 143 for SIGTERM).

A calibration (two worker processes) is stopped by SIGTERM to its main process and by Ctrl-C to its whole
process group, resumed each time with ``--resume``, and must end with the same fit as an uninterrupted one,
with no worker left running, no half-written batch in its store and no run computed twice (marked slow: about
40 s of CPU).
"""

from __future__ import annotations

import os
import re
import select
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import ROOT

pty = pytest.importorskip("pty")
fcntl = pytest.importorskip("fcntl")
termios = pytest.importorskip("termios")
IRAQ = ROOT / "scenarios" / "iraq_june_2014"
EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}


def _default_sigint() -> None:
    """In the child: Ctrl-C as in a terminal. A test run started in the background by a non-interactive shell
    (``make test &``, nohup) inherits SIGINT ignored, and an ignored signal stays ignored across exec."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Run:
    """A ``conflict-sim run`` process whose stderr is a terminal."""

    def __init__(self, out: Path, days: int, extra: tuple[str, ...] = ()):
        master, slave = pty.openpty()
        # A new terminal has 0 columns, and a progress bar in 0 columns is empty.
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
        self.master = master
        self.text = ""
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "simulation.cli", "run", str(IRAQ), "--days", str(days), "--out", str(out),
             "--seed", "2", *extra],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave, cwd=out.parent,
            env={**os.environ, "PYTHONPATH": str(ROOT)}, preexec_fn=_default_sigint)
        os.close(slave)

    def read(self, timeout: float = 0.01) -> None:
        if select.select([self.master], [], [], timeout)[0]:
            try:
                self.text += os.read(self.master, 65536).decode("utf-8", "replace")
            except OSError:  # the child closed the terminal
                pass

    def days_done(self) -> int:
        counts = re.findall(r"(\d+)/\d+ \[", self.text)
        return int(counts[-1]) if counts else 0

    def finish(self) -> int:
        deadline = time.monotonic() + 120
        while self.proc.poll() is None and time.monotonic() < deadline:
            self.read(0.05)
        self.read(0.05)
        code = self.proc.wait(timeout=5)
        self.proc.stdout.close()
        os.close(self.master)
        return code


@pytest.fixture
def start():
    """Start runs; any still alive when the test ends (a failed test) are killed."""
    runs: list[Run] = []

    def _start(out: Path, days: int, extra: tuple[str, ...] = ()) -> Run:
        runs.append(Run(out, days, extra))
        return runs[-1]

    yield _start
    for run in runs:
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait(timeout=30)


def leftovers(where: Path) -> list[str]:
    return sorted(p.name for p in where.iterdir() if p.name.endswith((".partial", ".replaced")))


def wait_for(condition, run: Run, what: str, timeout: float = 180) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        assert run.proc.poll() is None, f"the run ended before {what}: {run.text[-500:]}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        run.read(0.002)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_while_simulating_leaves_nothing(sig, tmp_path, start):
    out = tmp_path / "iraq"
    run = start(out, days=3000)
    wait_for(lambda: run.days_done() >= 5, run, "five simulated days")
    run.proc.send_signal(sig)
    code = run.finish()
    assert code == EXIT[sig], run.text
    assert "Traceback" not in run.text
    assert not out.exists() and leftovers(tmp_path) == []
    if sig == signal.SIGINT:
        assert "interrupted" in run.text


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_while_writing_removes_the_partial_directory(sig, tmp_path, start):
    out = tmp_path / "iraq"
    run = start(out, days=40)
    wait_for(lambda: bool(leftovers(tmp_path)), run, "the .partial directory")
    run.proc.send_signal(sig)
    code = run.finish()
    assert code == EXIT[sig], run.text
    assert "Traceback" not in run.text
    assert not out.exists(), "the run directory appeared although the run was interrupted while writing it"
    assert leftovers(tmp_path) == []


def test_interrupted_force_keeps_the_earlier_run(tmp_path, start):
    out = tmp_path / "iraq"
    out.mkdir()
    earlier = {"summary.json": b'{"seed": 1}\n', "control.csv": b"date,place,controller\n"}
    for name, data in earlier.items():
        (out / name).write_bytes(data)
    run = start(out, days=40, extra=("--force",))
    wait_for(lambda: bool(leftovers(tmp_path)), run, "the .partial directory")
    run.proc.send_signal(signal.SIGTERM)
    assert run.finish() == 143, run.text
    assert {p.name: p.read_bytes() for p in out.iterdir()} == earlier
    assert leftovers(tmp_path) == []


# ------------------------------------------------------------------------------------------------------------
# Calibration: interrupted, resumed, and the same result as an uninterrupted calibration.

CALIBRATE = ["calibrate", str(IRAQ), "--observations", str(ROOT / "calibration" / "observations"), "--budget", "10",
             "--seeds", "1", "--abc-budget", "8", "--particles", "4", "--rescore-seeds", "2", "--workers", "2",
             "--quiet"]


def calibrate(out: Path, *extra: str) -> subprocess.Popen:
    # A session of its own, so that Ctrl-C can be sent to the whole process group as a terminal does.
    return subprocess.Popen([sys.executable, "-m", "simulation.cli", *CALIBRATE, "--out", str(out), *extra],
                            cwd=out.parent, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=_default_sigint)


def stored_runs(out: Path) -> int:
    """Runs in the calibration's store (whole batches only: a batch is renamed into place when written)."""
    from simulation.sweep.store import ResultStore

    return len(ResultStore(out / "store").done_keys())


def interrupt_when(proc: subprocess.Popen, out: Path, rows: int, sig: signal.Signals, group: bool) -> str:
    deadline = time.monotonic() + 600
    while stored_runs(out) < rows:
        assert proc.poll() is None, f"the calibration ended before {rows} runs: {proc.stderr.read()}"
        assert time.monotonic() < deadline, "timed out waiting for stored runs"
        time.sleep(0.05)
    if group:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == EXIT[sig], err
    assert "Traceback" not in err
    deadline = time.monotonic() + 30
    while live_in_group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert live_in_group(proc.pid) == [], "a worker outlived the calibration"
    return err


def live_in_group(pgid: int) -> list[int]:
    """Processes of a process group that are alive (zombies waiting for init to reap them are dead)."""
    live = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            live.append(int(stat.parent.name))
    return live


def fit_of(out: Path) -> tuple[dict, bytes]:
    import tomllib

    return tomllib.loads((out / "fitted.toml").read_text(encoding="utf-8"))["parameters"], \
        (out / "posterior.csv").read_bytes()


@pytest.mark.slow
def test_interrupted_calibration_resumes_to_the_same_fit(tmp_path):
    cut = tmp_path / "cut"
    # SIGTERM to the main process only (a job scheduler), then Ctrl-C to the whole group (a terminal).
    interrupt_when(calibrate(cut), cut, 4, signal.SIGTERM, group=False)
    err = interrupt_when(calibrate(cut, "--resume"), cut, 8, signal.SIGINT, group=True)
    assert "--resume" in err
    assert not list((cut / "store").glob(".*partial")), "a half-written batch in the store"
    assert not (cut / "fitted.toml").exists()
    resumed = calibrate(cut, "--resume")
    _, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err
    whole = tmp_path / "whole"
    once = calibrate(whole)
    _, err = once.communicate(timeout=600)
    assert once.returncode == 0, err
    assert fit_of(cut) == fit_of(whole)
    # Every finished simulation was kept: resuming ran none of them twice.
    assert stored_runs(cut) == stored_runs(whole)
    assert sum(len(pd.read_parquet(f)) for f in (cut / "store").glob("batch-*.parquet")) == stored_runs(whole)
