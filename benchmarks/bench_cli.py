"""Time of the whole command ``conflict-sim run SCENARIO --seed 1 --out DIR --force``, warm (issue 21, item 5).

Usage: python benchmarks/bench_cli.py [--repeats N] [--scenario DIR] [--no-plots] [--phases]
                                      [--report-processes auto|0|1|2]

Runs the command once to warm the caches (Numba's compiled kernels on disk, the OS's file cache, matplotlib's
font list), then ``--repeats`` times (default 7), each in a fresh process, and prints each run's wall time and
CPU time (user + system of the child) and their medians. ``--phases`` also times the stages inside one process
(imports as the command does them, loading, the model, tables, the map's draft and its finish, the series), medians
over the repeats. The command runs this checkout's code (``PYTHONPATH``). ``--report-processes`` sets
``CONFLICT_SIM_REPORT_PROCESSES`` for the command (:mod:`simulation.runs.plotting`: ``0`` draws the report in the
command's process, ``2`` in two others; the default ``auto`` draws elsewhere only while a CPU is idle); the
stages are always timed in one process. CPU times include the report processes'.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).with_name("conflict-sim")

PHASES = r"""
import sys, time
t0 = time.perf_counter()
from simulation.cli import _import_model, build_parser
t1 = time.perf_counter()
_import_model(single_run=True)  # as the command imports the model: pandas and NetworkX deferred
from simulation.runs.output import summary, write_run_directory
from simulation.scenario import load_scenario
from simulation.engine.model import ConflictModel
t2 = time.perf_counter()
s = load_scenario(sys.argv[1])
t3 = time.perf_counter()
m = ConflictModel(s, seed=1)
while m.running:
    m.step()
t4 = time.perf_counter()
write_run_directory(m, sys.argv[2], t4 - t3, overwrite=True, plots=False)
t5 = time.perf_counter()
if sys.argv[3] == "plots":
    from pathlib import Path
    from simulation.runs.report import MapDraft, write_markdown, write_series
t6 = time.perf_counter()
if sys.argv[3] == "plots":
    draft = MapDraft(m)
t7 = time.perf_counter()
if sys.argv[3] == "plots":
    draft.finish(m, Path(sys.argv[2]))
t8 = time.perf_counter()
if sys.argv[3] == "plots":
    write_series(m, Path(sys.argv[2]))
    write_markdown(m, summary(m), Path(sys.argv[2]))
t9 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5, t7 - t6, t8 - t7, t9 - t8)
"""
PHASE_NAMES = ("parser", "model's imports (as the command: pandas, NetworkX deferred)", "load scenario",
               "model run (incl. Numba cache loads)", "tables and summary", "matplotlib and report imports",
               "map.png: draft (before the run in the command)", "map.png: the run's colours, drawn and saved",
               "the four series and report.md")


def run_once(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one run of ``cmd`` in a fresh process (and those it waited for)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env=env)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--scenario", default="scenarios/iraq_june_2014")
    ap.add_argument("--no-plots", action="store_true")
    ap.add_argument("--phases", action="store_true", help="also time the stages inside one process")
    ap.add_argument("--report-processes", choices=("auto", "0", "1", "2"), default="auto",
                    help="CONFLICT_SIM_REPORT_PROCESSES for the command (default auto)")
    a = ap.parse_args()
    # PYTHONPATH: the command runs this checkout's code, whatever the virtual environment's install points to.
    env = {**os.environ, "CONFLICT_SIM_REPORT_PROCESSES": a.report_processes, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        cmd = [str(CLI), "run", a.scenario, "--seed", "1", "--out", str(out), "--force", "--quiet",
               *(["--no-plots"] if a.no_plots else [])]
        print(f"command: CONFLICT_SIM_REPORT_PROCESSES={a.report_processes} " + " ".join(cmd))
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        run_once(cmd, env)  # warm-up
        walls, cpus = [], []
        for i in range(a.repeats):
            wall, cpu = run_once(cmd, env)
            walls.append(wall)
            cpus.append(cpu)
            print(f"run {i + 1}: wall {wall:.2f} s, CPU {cpu:.2f} s")
        print(f"median of {a.repeats}: wall {statistics.median(walls):.2f} s (min {min(walls):.2f}, max "
              f"{max(walls):.2f}), CPU {statistics.median(cpus):.2f} s")
        if a.phases:
            rows = []
            for _ in range(a.repeats):
                text = subprocess.run([sys.executable, "-c", PHASES, a.scenario, str(out),
                                       "none" if a.no_plots else "plots"], check=True, capture_output=True,
                                      text=True, cwd=ROOT, env=env).stdout
                rows.append([float(v) for v in text.split()])
            print("stages inside one process (median wall s):")
            for k, name in enumerate(PHASE_NAMES):
                print(f"  {name:40} {statistics.median(r[k] for r in rows):.2f}")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
