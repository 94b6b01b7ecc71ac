"""Sweep throughput on this machine: runs per second serially, on a process pool and on a local Dask cluster.

    .venv/bin/python benchmarks/bench_sweep.py                   # comparison (3 repeats) + 1,000-run sweep
    .venv/bin/python benchmarks/bench_sweep.py --big 0 --runs 40  # the comparison only, smaller

Every timing is the wall-clock time of a whole ``run_sweep`` call as a user makes it (pool or cluster start-up,
batches written to a fresh Parquet store, the table read back), on the Iraq scenario with 30-day runs over a
Latin-hypercube sample of three parameters. Medians over ``--repeats``. The machine's load average is printed
beside each figure: on a shared machine, re-run when it is quiet. Targets (issue 7): a speed-up of at least
1.7x on 2 cores, and 1,000 30-day runs in under 5 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulation.scenario import load_scenario  # noqa: E402
from simulation.sweep import default_workers, latin_hypercube, run_sweep  # noqa: E402

BOUNDS = {"attack_ratio": [0.8, 2.0], "defender_advantage": [1.2, 2.5], "morale_fall_shock": [0.1, 0.4]}


def timed_sweep(scenario, design, seeds: int, backend: str, workers: int, days: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as store:
        started = time.perf_counter()
        df = run_sweep(scenario, design, seeds=seeds, backend=backend, workers=workers, days=days,
                       store=Path(store) / "store")
        elapsed = time.perf_counter() - started
    assert df.attrs["computed"] == len(df), "the store was not empty"
    return elapsed, len(df)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenario", default=str(ROOT / "scenarios" / "iraq_june_2014"))
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--runs", type=int, default=60, help="runs per timing of the comparison (default 60)")
    p.add_argument("--seeds", type=int, default=4, help="seeds per parameter set (default 4)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--workers", type=int, default=default_workers())
    p.add_argument("--backends", default="serial,processes,dask")
    p.add_argument("--big", type=int, default=1000, help="runs of the large sweep (0: skip)")
    p.add_argument("--big-backend", default="processes")
    p.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = p.parse_args()

    scenario = load_scenario(args.scenario)
    sets = max(1, args.runs // args.seeds)
    design = latin_hypercube(BOUNDS, sets, seed=1)
    print(f"{scenario.name}, {args.days}-day runs; {sets} parameter sets x {args.seeds} seeds = "
          f"{sets * args.seeds} runs per timing; {args.workers} workers; {os.cpu_count()} CPUs; "
          f"median of {args.repeats}", flush=True)
    results: dict[str, dict] = {}
    for backend in args.backends.split(","):
        times, loads = [], []
        for _ in range(args.repeats):
            elapsed, n = timed_sweep(scenario, design, args.seeds, backend, args.workers, args.days)
            times.append(elapsed)
            loads.append(os.getloadavg()[0])
        median = statistics.median(times)
        results[backend] = {"runs": n, "seconds": times, "median_s": median, "runs_per_s": n / median,
                            "load_1min": loads}
        print(f"{backend:10} {n / median:6.2f} runs/s  (median {median:6.1f} s; all "
              f"{', '.join(f'{t:.1f}' for t in times)} s; load {', '.join(f'{x:.1f}' for x in loads)})",
              flush=True)
    if "serial" in results:
        for backend, r in results.items():
            if backend != "serial":
                r["speed_up"] = r["runs_per_s"] / results["serial"]["runs_per_s"]
                print(f"speed-up {backend} / serial: {r['speed_up']:.2f}x (target >= 1.7x on 2 cores)")

    if args.big:
        big_sets = max(1, args.big // 10)
        big_design = latin_hypercube(BOUNDS, big_sets, seed=2)
        elapsed, n = timed_sweep(scenario, big_design, 10, args.big_backend, args.workers, args.days)
        results["big"] = {"backend": args.big_backend, "runs": n, "seconds": elapsed, "runs_per_s": n / elapsed,
                          "load_1min": os.getloadavg()[0]}
        print(f"{n} runs of {args.days} days ({big_sets} parameter sets x 10 seeds, {args.big_backend}, "
              f"{args.workers} workers): {elapsed:.0f} s = {elapsed / 60:.1f} min, {n / elapsed:.2f} runs/s "
              f"(target: under 5 min); load {results['big']['load_1min']:.1f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
