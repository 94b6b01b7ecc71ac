"""The same displacement run in FLEE (an agent per displaced person), for comparison with our arrays.

FLEE is not a dependency of this project. Run this script with a Python that has it, e.g.::

    python3 -m venv /tmp/flee-venv && /tmp/flee-venv/bin/pip install flee
    .venv/bin/python benchmarks/bench_displacement.py --json /tmp/bench.json
    /tmp/flee-venv/bin/python benchmarks/flee_compare.py /tmp/bench.json

The equivalent synthetic scenario: the Iraq scenario's places and roads as FLEE locations and links (places with
``refuge >= 0.5`` are camps, with our hosting capacity; the rest are towns), at each size the same populations
as our benchmark; each day, the places that had violence or a change of controller in the recorded model run
are FLEE conflict zones, and FLEE spawns exactly the people our flight rule sent away from each place that day
(so who leaves, where and when, is ours; where they go is FLEE's route choice, with our road speed). FLEE's
time per day includes spawning those agents. The table compares the median time per simulated day with ours
(read from the JSON), and gives the ratio.

Only the standard library and FLEE are imported here: this script does not need the project installed.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "iraq_june_2014"


def load_graph() -> tuple[list[dict], list[dict]]:
    with (SCENARIO / "places.csv").open(encoding="utf-8") as f:
        places = list(csv.DictReader(f))
    with (SCENARIO / "roads.csv").open(encoding="utf-8") as f:
        roads = list(csv.DictReader(f))
    return places, roads


def scaled(populations: list[int], total: int) -> list[int]:
    """As in bench_displacement.scaled: proportional, whole people, largest remainders get the rounding."""
    whole = sum(populations)
    exact = [p * total / whole for p in populations]
    out = [int(x) for x in exact]
    for i in sorted(range(len(exact)), key=lambda i: -(exact[i] - out[i]))[: total - sum(out)]:
        out[i] += 1
    return out


def settings_file(folder: Path, speed_km: float) -> Path:
    path = folder / "simsetting.yml"
    path.write_text(f"""log_levels:
  agent: 0
  link: 0
  camp: 0
  init: 0
  conflict: 0
  idp_totals: 0
spawn_rules:
  take_from_population: False
  insert_day0: False
move_rules:
  max_move_speed: {speed_km}
  max_walk_speed: {speed_km}
  start_on_foot: False
  camp_weight: 2.0
  conflict_weight: 0.25
  conflict_movechance: 1.0
  camp_movechance: 0.001
  default_movechance: 0.3
  awareness_level: 1
""", encoding="utf-8")
    return path


def run_flee(bench: dict, total: int, budget_s: float) -> dict:
    import numpy as np
    from flee import flee
    from flee.SimulationSettings import SimulationSettings

    random.seed(0)
    np.random.seed(0)
    places, roads = load_graph()
    ids = [p["id"] for p in places]
    assert ids == bench["places"], "the JSON was written for another version of the scenario"
    pop = scaled([int(p["population"]) for p in places], total)
    populated = sorted(x for x in pop if x > 0)
    median = populated[len(populated) // 2] if populated else 1
    share = bench["parameters"]["host_capacity_share"]
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        SimulationSettings.ReadFromYML(str(settings_file(Path(tmp), bench["parameters"]["flight_speed_km"])))
        e = flee.Ecosystem()
        locations = []
        for p, n in zip(places, pop):
            camp = float(p.get("refuge") or 0) >= 0.5
            locations.append(e.addLocation(p["id"], x=float(p["lon"]), y=float(p["lat"]),
                                           location_type="camp" if camp else "town",
                                           capacity=int(share * max(n, median)) if camp else -1, pop=n))
        for r in roads:
            e.linkUp(r["from"], r["to"], float(r["km"]))
    departures = bench["results"][str(total)]["departures"]
    conflict: set[int] = set()
    per_day, cpu_day, agents = [], [], []
    start = time.perf_counter()
    sink = io.StringIO()
    for day, leaving in enumerate(departures):
        t, c = time.perf_counter(), time.process_time()
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            today = set(bench["violent_places"][day])
            for k in sorted(conflict - today):
                e.remove_conflict_zone(ids[k])
            for k in sorted(today - conflict):
                e.add_conflict_zone(ids[k])
            conflict = today
            for k, count in enumerate(leaving):
                for _ in range(count):
                    e.addAgent(locations[k], {})
            e.evolve()
        per_day.append(time.perf_counter() - t)
        cpu_day.append(time.process_time() - c)
        agents.append(len(e.agents))
        sink.seek(0)
        sink.truncate()
        if time.perf_counter() - start > budget_s and day + 1 < len(departures):
            break
    return dict(days=len(per_day), per_day_s=per_day, cpu_day_s=cpu_day, agents_end=agents[-1],
                max_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bench_json", type=Path, help="written by benchmarks/bench_displacement.py --json")
    ap.add_argument("--sizes", help="total people, comma-separated (default: every size in the JSON)")
    ap.add_argument("--budget", type=float, default=1800.0,
                    help="seconds per size; a size that runs over stops early and its row says after how many days")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)  # run one size in this process (see below)
    args = ap.parse_args()
    bench = json.loads(args.bench_json.read_text(encoding="utf-8"))

    if args.one:
        print(json.dumps(run_flee(bench, args.one, args.budget)))
        return

    sizes = [int(float(x)) for x in args.sizes.split(",")] if args.sizes else [int(k) for k in bench["results"]]
    import flee
    print(f"FLEE {getattr(flee, '__version__', '?')} on the Iraq graph, {bench['days']} days; ours from "
          f"{args.bench_json} (median of {bench['repeats']} repeats)")
    print()
    print("| people | displaced agents at the end (FLEE) | FLEE s / day, wall (CPU) | ours ms / day, wall (CPU) "
          "| FLEE / ours, wall (CPU) | FLEE peak memory MiB |")
    print("|---:|---:|---:|---:|---:|---:|")
    for total in sizes:
        # Each size in a fresh process, so that memory and FLEE's class-level settings do not carry over.
        import subprocess

        out = subprocess.run([sys.executable, __file__, str(args.bench_json), "--one", str(total),
                              "--budget", str(args.budget)], capture_output=True, text=True,
                             env={**os.environ, "PYTHONHASHSEED": "0"})
        if out.returncode != 0:
            print(f"| {total:,} | failed: {out.stderr.strip().splitlines()[-1] if out.stderr else out.returncode} "
                  "| | | | |")
            continue
        flee_result = json.loads(out.stdout.strip().splitlines()[-1])
        ours, ours_cpu = (bench["results"][str(total)][k] / 1e3 for k in ("wall_ms", "cpu_ms"))
        wall, cpu = (statistics.median(flee_result[k]) for k in ("per_day_s", "cpu_day_s"))
        note = "" if flee_result["days"] == bench["days"] else f" (first {flee_result['days']} days only)"
        print(f"| {total:,} | {flee_result['agents_end']:,}{note} | {wall:.3f} ({cpu:.3f}) | "
              f"{1e3 * ours:.2f} ({1e3 * ours_cpu:.2f}) | {wall / ours:,.0f}x ({cpu / ours_cpu:,.0f}x) | "
              f"{flee_result['max_rss_mib']:.0f} |")


if __name__ == "__main__":
    main()
