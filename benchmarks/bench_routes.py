"""What one set of routes between all places costs as the theatre grows (issue 21).

Usage: nice -n 19 python benchmarks/bench_routes.py [--places 1000,2000,4000,10000] [--repeats 3] [--seed 1]

The model works out every coalition's routes toward every place whenever a place changes hands (and the
civilians' whenever a battle starts or ends): :func:`simulation.rules.routing.routes_by_destination`, a Dijkstra
from every destination, kept as two (n, n) arrays (travel days and next hops, float64 and int32: 12 n² bytes).
This times that computation alone, on the roads of a generated theatre (``conflict-sim generate``, seed 1;
lengths in days at ``speed_road_km``), for a coalition barred from 2 % of the places (chosen at random,
``--seed``), computed anew and repaired after one more place is barred. CPU seconds (``time.process_time``),
medians of ``--repeats``; one thread. Nothing of the model is built: the (n, n) road and length matrices the
function takes are made here.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

for _k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_k, "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def measure(places: int, repeats: int, seed: int) -> dict:
    from simulation.generate import generate_theatre
    from simulation.parameters import defaults
    from simulation.rules.routing import Previous, road_edges, routes_by_destination
    from simulation.scenario import load_scenario

    with tempfile.TemporaryDirectory() as tmp:
        scenario = load_scenario(generate_theatre(Path(tmp) / "t", places=places, days=30, seed=1))
    index = {p.id: i for i, p in enumerate(scenario.places)}
    n = len(scenario.places)
    km = np.zeros((n, n))
    for r in scenario.roads:
        km[index[r.a], index[r.b]] = km[index[r.b], index[r.a]] = r.km
    days = km / defaults()["speed_road_km"]
    open_road = km > 0
    edges = road_edges(km)
    rng = np.random.default_rng(seed)
    barred = np.zeros(n, dtype=bool)
    barred[rng.choice(n, max(1, n // 50), replace=False)] = True
    one_more = barred.copy()
    one_more[rng.choice(np.flatnonzero(~barred))] = True
    nowhere = np.zeros(n, dtype=bool)
    dist, nxt = np.empty((n, n)), np.empty((n, n), dtype=np.int32)  # as the model keeps them
    routes_by_destination(km, days, open_road, barred, nowhere, dist, nxt, edges=edges)  # loads the kernels
    fresh, repair = [], []
    for _ in range(repeats):
        t = time.process_time()
        routes_by_destination(km, days, open_road, barred, nowhere, dist, nxt, edges=edges)
        fresh.append(time.process_time() - t)
        d2, n2 = dist.copy(), nxt.copy()
        t = time.process_time()
        searched = routes_by_destination(km, days, open_road, one_more, nowhere, d2, n2,
                                         previous=Previous(barred, nowhere, d2, n2), edges=edges)
        repair.append(time.process_time() - t)
    return {"places": n, "roads": len(scenario.roads), "fresh_s": statistics.median(fresh),
            "repair_s": statistics.median(repair), "repaired": searched,
            "route_mib": (dist.nbytes + nxt.nbytes) / 2**20}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--places", default="1000,2000,4000,10000")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    print("| places | roads | all pairs, CPU s | repaired after one more place, CPU s (destinations searched) "
          "| one set of routes, MiB |")
    print("|---:|---:|---:|---:|---:|")
    for places in (int(p) for p in args.places.split(",")):
        r = measure(places, args.repeats, args.seed)
        print(f"| {r['places']:,} | {r['roads']:,} | {r['fresh_s']:.3f} | {r['repair_s']:.3f} ({r['repaired']:,}) "
              f"| {r['route_mib']:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
