"""Run FLEE 3.1 on a FLEE case directory, in FLEE's own virtual environment, as FabFlee drives it.

FabFlee's job template (FabFlee ``templates/flee``) changes into a run directory holding the case's
``input_csv/``, ``source_data/`` and ``simsetting.yml`` and runs::

    python3 $flee_location/runscripts/run.py input_csv source_data $simulation_period simsetting.yml > out.csv

with ``PYTHONPATH=$flee_location``; ``$simulation_period`` is 0 for the validation suite (FabFlee.py
``validate_flee``), so ``run.py`` takes the length from the period file. This module does the same, with two
differences, both needed to run FabFlee's ``config_files/flee3_validation`` cases on FLEE 3.1:

- FLEE 3.1's ``runscripts/run.py`` reads ``input_csv/conflict_period.csv``; FLEE renamed the file to
  ``sim_period.csv`` a fortnight after 3.1 (flee commit 730a2202, 2023-09-08, issue #84) and the validation cases
  only ship the new name. The content (``StartDate,...`` and ``Length,...``) is the same, so the run directory gets
  a copy under the old name.
- FLEE draws from both ``random`` (flee/flee.py ``Person.evolve``, flee/moving.py ``selectRoute``) and
  ``numpy.random`` (flee/flee.py ``Ecosystem.pick_spawn_locations``) and never seeds them; a small driver seeds
  both with the run's seed and then executes ``run.py`` unchanged (``runpy``), so that a run can be repeated.

FLEE is not a dependency of this project and is never imported here: it runs as a child process. Wall time is
measured around the child; peak memory is the child's maximum resident set size from ``os.wait4`` (Linux reports
it in KiB).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FLEE_SRC = Path(os.environ.get("FLEE_SRC", "/work/flee-src"))
FLEE_PYTHON = Path(os.environ.get("FLEE_PYTHON", "/work/flee-env/bin/python"))

DRIVER = """\
# Written by conflict-sim's benchmarks/flee_runner.py: seed FLEE's two random streams, then run FLEE's run.py.
import random
import runpy
import sys

import numpy

seed = int(sys.argv[1])
random.seed(seed)
numpy.random.seed(seed)
sys.argv = [sys.argv[2]] + sys.argv[3:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


class FleeRunError(RuntimeError):
    """FLEE could not be run or its output could not be read. ``str()`` is one line."""


@dataclass(frozen=True)
class FleeRun:
    """One FLEE run: its per-day, per-camp counts as FLEE printed them, and what it cost.

    ``sim[day, camp]`` is ``numAgents`` of the camp at the end of day ``day`` (run.py prints it after
    ``e.evolve()``); ``data[day, camp]`` is what run.py printed as the camp's UNHCR figure that day
    (``d.get_field(camp, day)``), kept to check our reader of the case against FLEE's own.
    """

    case: str
    seed: int
    camps: tuple[str, ...]
    sim: np.ndarray  # (days, camps) int64
    data: np.ndarray  # (days, camps) int64
    untot: np.ndarray  # (days,) FLEE's "refugees in camps (UNHCR)" column
    simtot: np.ndarray  # (days,) FLEE's "refugees in camps (simulation)" column
    agents: np.ndarray  # (days,) FLEE's "total refugees (simulation)" column
    wall_s: float
    cpu_s: float  # user + system time of the child: less sensitive than wall time to other load on the machine
    peak_rss_mib: float
    run_dir: str


def flee_version(flee_src: Path = FLEE_SRC) -> str:
    """The commit of the FLEE checkout (``git rev-parse HEAD``), or ``unknown``."""
    try:
        out = subprocess.run(["git", "-C", str(flee_src), "rev-parse", "HEAD"], capture_output=True, text=True,
                             check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def prepare_run_dir(case_dir: Path, run_dir: Path, settings: Path) -> None:
    """Lay out ``run_dir`` as FabFlee's job does: ``input_csv/``, ``source_data/``, ``simsetting.yml``."""
    case_dir = Path(case_dir)
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    shutil.copytree(case_dir / "input_csv", run_dir / "input_csv")
    shutil.copytree(case_dir / "source_data", run_dir / "source_data")
    period = run_dir / "input_csv" / "sim_period.csv"
    if not period.is_file():
        raise FleeRunError(f"{case_dir / 'input_csv' / 'sim_period.csv'}: missing")
    shutil.copyfile(period, run_dir / "input_csv" / "conflict_period.csv")  # FLEE 3.1's name for it
    shutil.copyfile(settings, run_dir / "simsetting.yml")
    (run_dir / "flee_driver.py").write_text(DRIVER, encoding="utf-8")


def run_flee(case_dir: str | Path, seed: int, run_dir: str | Path, settings: str | Path,
             flee_src: Path = FLEE_SRC, flee_python: Path = FLEE_PYTHON, niceness: int = 19) -> FleeRun:
    """Run FLEE 3.1 once on ``case_dir`` with ``seed``; keep ``out.csv``, the log and ``run.json`` in ``run_dir``.

    Returns the parsed :class:`FleeRun`. Raises :class:`FleeRunError` if FLEE is not installed, exits non-zero
    or prints a table that cannot be read.
    """
    case_dir, run_dir, settings = Path(case_dir), Path(run_dir), Path(settings)
    script = flee_src / "runscripts" / "run.py"
    if not script.is_file() or not flee_python.is_file():
        raise FleeRunError(f"FLEE not found: need {script} and {flee_python} (see docs/flee.md)")
    prepare_run_dir(case_dir, run_dir, settings)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(flee_src)
    env["FLEE_TYPE_CHECK"] = "False"
    cmd = [str(flee_python), "flee_driver.py", str(seed), str(script), "input_csv", "source_data", "0",
           "simsetting.yml"]
    with (run_dir / "out.csv").open("wb") as out, (run_dir / "flee.log").open("wb") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=run_dir, stdout=out, stderr=log, env=env,
                                preexec_fn=(lambda: os.nice(niceness)) if niceness else None)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = (run_dir / "flee.log").read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:]
        raise FleeRunError(f"FLEE exited {proc.returncode} on {case_dir}: {' '.join(tail)}")
    meta = {"case": case_dir.name, "seed": seed, "wall_s": round(wall, 2),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 2), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
            "flee_commit": flee_version(flee_src), "settings": settings.name, "niceness": niceness,
            "command": " ".join(cmd)}
    (run_dir / "run.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return load_run(run_dir)


def load_run(run_dir: str | Path) -> FleeRun:
    """Read a finished run directory (``out.csv`` and ``run.json``) back into a :class:`FleeRun`."""
    run_dir = Path(run_dir)
    try:
        meta = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise FleeRunError(f"{run_dir / 'run.json'}: {e}") from None
    camps, sim, data, untot, simtot, agents = read_out_csv(run_dir / "out.csv")
    return FleeRun(meta["case"], int(meta["seed"]), camps, sim, data, untot, simtot, agents,
                   float(meta["wall_s"]), float(meta["cpu_s"]), float(meta["peak_rss_mib"]), str(run_dir))


def read_out_csv(path: Path) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """FLEE's ``out.csv`` (runscripts/run.py): ``Day,Date,<camp> sim,<camp> data,<camp> error,...,totals``.

    Camps are found as FLEE's own postprocessing finds them (plot_flee_output.py ``plot_errors``: every column
    whose name contains `` sim``, the camp being the name without its last word).
    """
    try:
        with path.open(newline="", encoding="latin1") as f:  # FLEE's readers use latin1 for out.csv
            rows = list(csv.reader(f))
    except OSError as e:
        raise FleeRunError(f"{path}: {e}") from None
    if len(rows) < 2:
        raise FleeRunError(f"{path}: no days printed")
    header = rows[0]
    camps = tuple(" ".join(c.split()[:-1]) for c in header if " sim" in c and "numAgents" not in c)
    col = {name: i for i, name in enumerate(header)}
    body = rows[1:]
    try:
        sim = np.array([[int(float(r[col[f"{c} sim"]])) for c in camps] for r in body], dtype=np.int64)
        data = np.array([[int(float(r[col[f"{c} data"]])) for c in camps] for r in body], dtype=np.int64)
        untot = np.array([float(r[col["refugees in camps (UNHCR)"]]) for r in body])
        simtot = np.array([float(r[col["refugees in camps (simulation)"]]) for r in body])
        agents = np.array([float(r[col["total refugees (simulation)"]]) for r in body])
    except (KeyError, ValueError, IndexError) as e:
        raise FleeRunError(f"{path}: unreadable FLEE output ({e})") from None
    return camps, sim, data, untot, simtot, agents


if __name__ == "__main__":  # python benchmarks/flee_runner.py CASE_DIR SEED RUN_DIR SETTINGS
    r = run_flee(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4])
    print(f"{r.case} seed {r.seed}: {r.sim.shape[0]} days, {len(r.camps)} camps, {r.wall_s:.0f} s, "
          f"{r.cpu_s:.0f} s CPU, {r.peak_rss_mib:.0f} MiB")
