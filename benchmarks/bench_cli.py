"""Time of the whole command ``conflict-sim run SCENARIO --seed 1 --out DIR --force``, warm (issue 21, item 5).

Usage: python benchmarks/bench_cli.py [--repeats N] [--scenario DIR] [--no-plots] [--phases]
                                      [--report-processes auto|0|1|2] [--vs OTHER_CHECKOUT]

Runs the command once to warm the caches (Numba's compiled kernels on disk, the OS's file cache, matplotlib's
font list), then ``--repeats`` times (default 7), each in a fresh process, and prints each run's wall time and
CPU time (user + system of the child) and their medians. ``--phases`` also times the stages inside one process
(imports as the command does them, loading, the model, tables, the map's draft and its finish, the series), medians
over the repeats. The command runs this checkout's code (``PYTHONPATH``). ``--report-processes`` sets
``CONFLICT_SIM_REPORT_PROCESSES`` for the command (:mod:`simulation.runs.plotting`: ``0`` draws the report in the
command's process, ``2`` in two others; the default ``auto`` draws elsewhere only while a CPU is idle); the
stages are always timed in one process. CPU times include the report processes'. Each run also prints the CPU
seconds the rest of the machine spent meanwhile (Linux: /proc/stat less the run's own), since on a shared machine
a run's wall time depends on it. ``--vs DIR`` runs another checkout (its own code and scenario, with this
environment) alternately with this one, run by run, and gives each one's medians.
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
_import_model(single_run=True)  # as the command imports the model: unused libraries deferred
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
PHASE_NAMES = ("parser", "model's imports (as the command: unused libraries deferred)", "load scenario",
               "model run (incl. Numba cache loads)", "tables and summary", "matplotlib and report imports",
               "map.png: draft (before the run in the command)", "map.png: the run's colours, drawn and saved",
               "the four series and report.md")


def _busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (Linux's /proc/stat), or None elsewhere."""
    try:
        fields = Path("/proc/stat").read_text(encoding="ascii").split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def run_once(cmd: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> tuple[float, float, float]:
    """Wall and CPU (user + system) seconds of one run of ``cmd`` in a fresh process (and those it waited for), and
    the CPU seconds the rest of the machine spent meanwhile (other users' work; NaN where unknown)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy = _busy_seconds()
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=cwd, env=env)
    wall = time.perf_counter() - t
    busy_after = _busy_seconds()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    others = float("nan") if busy is None or busy_after is None else max(0.0, busy_after - busy - cpu)
    return wall, cpu, others


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--scenario", default="scenarios/iraq_june_2014")
    ap.add_argument("--no-plots", action="store_true")
    ap.add_argument("--phases", action="store_true", help="also time the stages inside one process")
    ap.add_argument("--report-processes", choices=("auto", "0", "1", "2"), default="auto",
                    help="CONFLICT_SIM_REPORT_PROCESSES for the command (default auto)")
    ap.add_argument("--vs", type=Path, default=None,
                    help="another checkout of the project, run alternately with this one (its own code)")
    a = ap.parse_args()
    # PYTHONPATH: the command runs this checkout's code, whatever the virtual environment's install points to.
    env = {**os.environ, "CONFLICT_SIM_REPORT_PROCESSES": a.report_processes, "PYTHONPATH": str(ROOT)}
    checkouts = {"this": ROOT}
    if a.vs is not None:  # another checkout (e.g. a worktree of main), its code run with this environment
        checkouts["vs"] = a.vs.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        cmd = [str(CLI), "run", a.scenario, "--seed", "1", "--out", str(out), "--force", "--quiet",
               *(["--no-plots"] if a.no_plots else [])]
        print(f"command: CONFLICT_SIM_REPORT_PROCESSES={a.report_processes} " + " ".join(cmd))
        if a.vs is not None:
            print(f"alternately in {ROOT} (this) and {checkouts['vs']} (vs), each with PYTHONPATH set to it")
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for where in checkouts.values():
            run_once(cmd, {**env, "PYTHONPATH": str(where)}, where)  # warm-up
        times: dict[str, list[tuple[float, float, float]]] = {k: [] for k in checkouts}
        for i in range(a.repeats):
            for name, where in checkouts.items():
                wall, cpu, others = run_once(cmd, {**env, "PYTHONPATH": str(where)}, where)
                times[name].append((wall, cpu, others))
                print(f"run {i + 1}{'' if a.vs is None else ' ' + name}: wall {wall:.2f} s, CPU {cpu:.2f} s "
                      f"(the rest of the machine: {others:.2f} CPU s meanwhile)")
        for name, rows in times.items():
            walls = [r[0] for r in rows]
            print(f"median of {a.repeats}{'' if a.vs is None else ' (' + name + ')'}: wall "
                  f"{statistics.median(walls):.2f} s (min {min(walls):.2f}, max {max(walls):.2f}), CPU "
                  f"{statistics.median(r[1] for r in rows):.2f} s, the rest of the machine "
                  f"{statistics.median(r[2] for r in rows):.2f} CPU s")
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
