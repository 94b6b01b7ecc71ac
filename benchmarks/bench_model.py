"""Speed of the model alone (no files, no plots) and of the whole CLI command.

Usage: python benchmarks/bench_model.py [--repeats N] [--cli-repeats N] [--scenario DIR]

Prints the median (and min/max) wall time of a 30-day model run, per scenario: seeds 0..N-1 once (each
seed's routes new to the process, as in a single run), then the same seeds again (routes cached, as in a
sweep or a calibration), and of `conflict-sim run` end to end (a fresh process: import, load, simulate,
write tables and plots). The first line is the one the speed target is about.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulation.engine.model import ConflictModel  # noqa: E402
from simulation.scenario import load_scenario  # noqa: E402


def time_model(scenario_dir: Path, repeats: int) -> tuple[list[float], list[float], int, int]:
    """Wall times of 30-day runs of seeds ``0..repeats-1``, in a first pass (each seed's routes are new to the
    process, as in a single run) and a second (the same seeds again: their routes are cached, as in a sweep
    or a calibration that runs the scenario many times); the last run's unit rows and peak traced memory."""
    scenario = load_scenario(scenario_dir)
    passes: list[list[float]] = [[], []]
    for times in passes:
        for seed in range(repeats):
            t = time.perf_counter()
            m = ConflictModel(scenario, seed=seed, days=30)
            m.run()
            times.append(time.perf_counter() - t)
    tracemalloc.start()
    m = ConflictModel(scenario, seed=0, days=30).run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return passes[0], passes[1], m.units.n, peak


def time_cli(scenario_dir: Path, repeats: int) -> list[float]:
    exe = Path(sys.executable).with_name("conflict-sim")
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            t = time.perf_counter()
            subprocess.run([str(exe), "run", str(scenario_dir), "--seed", str(i), "--out", f"{tmp}/r{i}", "--quiet"],
                           check=True, capture_output=True)
            times.append(time.perf_counter() - t)
    return times


def fmt(ts: list[float]) -> str:
    return f"median {statistics.median(ts):.3f} s (min {min(ts):.3f}, max {max(ts):.3f}, n={len(ts)})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--cli-repeats", type=int, default=5)
    ap.add_argument("--scenario", type=Path, action="append")
    args = ap.parse_args()
    scenarios = args.scenario or [ROOT / "scenarios/toy", ROOT / "scenarios/iraq_june_2014"]
    for s in scenarios:
        sc = load_scenario(s)
        ts, again, units, peak = time_model(s, args.repeats)
        print(f"{sc.name}: {len(sc.places)} places, {len(sc.forces)} initial units ({units} unit rows by day 30)")
        print(f"  model only, 30 days: {fmt(ts)}; peak traced memory {peak / 1e6:.1f} MB")
        print(f"  model only, the same seeds again (routes cached, as in a sweep): {fmt(again)}")
        print(f"  conflict-sim run (whole command): {fmt(time_cli(s, args.cli_repeats))}")


if __name__ == "__main__":
    main()
