"""Sweep throughput on this machine: runs per second serially, on a process pool and on a local Dask cluster.

    .venv/bin/python benchmarks/bench_sweep.py                   # comparison (3 repeats) + 1,000-run sweep
    .venv/bin/python benchmarks/bench_sweep.py --big 0 --runs 40  # the comparison only, smaller

Every timing is the wall-clock time of a whole ``run_sweep`` call as a user makes it (pool or cluster start-up,
batches written to a fresh Parquet store, the table read back), on the Iraq scenario with 30-day runs over a
Latin-hypercube sample of three parameters, after one untimed warm-up sweep per backend. Each backend is
timed at two sizes (``--small-runs`` and ``--runs``, medians over ``--repeats``): the whole-call rate at the
larger size is what a user of a sweep that size sees; the slope between the two sizes is the throughput once
workers are up (start-up cancels out), which is what a long sweep sees. The machine's load average is printed
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
    """Wall-clock seconds and runs of one whole sweep into a fresh store."""
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
    p.add_argument("--runs", type=int, default=100, help="runs of the larger timed sweep (default 100)")
    p.add_argument("--small-runs", type=int, default=20, help="runs of the smaller timed sweep (default 20)")
    p.add_argument("--seeds", type=int, default=4, help="seeds per parameter set (default 4)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--workers", type=int, default=default_workers())
    p.add_argument("--backends", default="serial,processes,dask")
    p.add_argument("--big", type=int, default=1000, help="runs of the large sweep (0: skip)")
    p.add_argument("--big-backend", default="processes")
    p.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = p.parse_args()

    scenario = load_scenario(args.scenario)
    designs = {size: latin_hypercube(BOUNDS, max(1, size // args.seeds), seed=1)
               for size in (args.small_runs, args.runs)}
    print(f"{scenario.name}, {args.days}-day runs, {args.seeds} seeds per parameter set; sweeps of "
          f"{args.small_runs} and {args.runs} runs; {args.workers} workers; {os.cpu_count()} CPUs; "
          f"median of {args.repeats}", flush=True)
    results: dict[str, dict] = {}
    for backend in args.backends.split(","):
        r: dict = {"load_1min": []}
        # Warm-up, not timed: imports in this process, and the process pool's fork server, which outlives a sweep.
        timed_sweep(scenario, latin_hypercube(BOUNDS, 1, seed=9), 2, backend, args.workers, 2)
        for design in designs.values():
            times = []
            for _ in range(args.repeats):
                elapsed, n = timed_sweep(scenario, design, args.seeds, backend, args.workers, args.days)
                times.append(elapsed)
                r["load_1min"].append(round(os.getloadavg()[0], 2))
            r[f"seconds_{n}"] = times
            r[f"median_s_{n}"] = statistics.median(times)
            r.setdefault("sizes", []).append(n)
        n1, n2 = r["sizes"]
        t1, t2 = r[f"median_s_{n1}"], r[f"median_s_{n2}"]
        r["runs_per_s"] = n2 / t2
        r["marginal_runs_per_s"] = (n2 - n1) / (t2 - t1) if t2 > t1 else float("nan")
        r["start_up_s"] = t1 - n1 / r["marginal_runs_per_s"]
        results[backend] = r
        print(f"{backend:10} {r['runs_per_s']:5.2f} runs/s for {n2} runs ({t2:.1f} s); once up "
              f"{r['marginal_runs_per_s']:5.2f} runs/s, start-up about {r['start_up_s']:.1f} s "
              f"(all: {', '.join(f'{t:.1f}' for t in r[f'seconds_{n1}'] + r[f'seconds_{n2}'])} s; "
              f"load {', '.join(f'{x:.1f}' for x in r['load_1min'])})", flush=True)
    if "serial" in results:
        for backend, r in results.items():
            if backend != "serial":
                base = results["serial"]
                r["speed_up"] = r["runs_per_s"] / base["runs_per_s"]
                r["marginal_speed_up"] = r["marginal_runs_per_s"] / base["marginal_runs_per_s"]
                print(f"speed-up {backend} / serial: {r['speed_up']:.2f}x for {r['sizes'][1]} runs, "
                      f"{r['marginal_speed_up']:.2f}x once up (target >= 1.7x on 2 cores)")

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
