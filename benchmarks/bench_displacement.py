"""Speed of civilian displacement per simulated day at 10 thousand, 1 million and 10 million people.

Usage: python benchmarks/bench_displacement.py [--repeats N] [--days D] [--sizes 1e4,1e6,1e7] [--cold-routes]
                                               [--json PATH]

One model run of the Iraq scenario (seed 1) is recorded: every call the model makes to its civilians (civilian
casualties, checkpoint events, and the day's violence, changes of control, controllers and battles). That day
by day input is then replayed on fresh civilian populations scaled to each size (every place's population
times the same factor, rounded to whole people), and the time of each simulated day's civilian work is
measured; the sizes take turns within each repeat. The table gives, per size, the median over the repeats of
the median time per day (wall clock and CPU), the state's memory, and the ratio to the smallest size: the cost
should be flat in population. On a shared machine, CPU time is the steadier measure.

Civilian routes are cached per process (``ROUTE_CACHE``), as in a sweep: every replay after the first finds the
routes of its days in the cache. ``--cold-routes`` empties the cache before each replay, so that each size pays
for its Dijkstras, as the first run of a process does.

``--json`` also writes the daily number of people leaving home at each place for each size, and the places
with violence or a change of controller each day, which ``benchmarks/flee_compare.py`` replays in FLEE (an
agent per displaced person) on the same graph.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulation.civilians.displacement import ROUTE_CACHE, Civilians  # noqa: E402
from simulation.engine.model import ConflictModel  # noqa: E402
from simulation.scenario import load_scenario  # noqa: E402
from simulation.world import World  # noqa: E402

SCENARIO = ROOT / "scenarios" / "iraq_june_2014"


def record(scenario_dir: Path, seed: int, days: int) -> list[list[tuple]]:
    """The calls a model run makes to its civilians, grouped by day."""
    m = ConflictModel(scenario_dir, seed=seed, days=days)
    civ = m.civilians
    calls: list[list[tuple]] = [[] for _ in range(days)]
    kill, step, set_checkpoint = civ.kill, civ.step, civ.set_checkpoint

    def rec_kill(counts):
        calls[m.day].append(("kill", np.array(counts, copy=True)))
        return kill(counts)

    def rec_step(violence, taken_by, controller, battle=None):
        calls[m.day].append(("step", *(np.array(a, copy=True) for a in (violence, taken_by, controller, battle))))
        return step(violence, taken_by, controller, battle)

    def rec_checkpoint(place, is_open):
        calls[m.day].append(("checkpoint", place, is_open))
        return set_checkpoint(place, is_open)

    civ.kill, civ.step, civ.set_checkpoint = rec_kill, rec_step, rec_checkpoint
    m.run()
    return calls


def scaled(population: np.ndarray, total: int) -> np.ndarray:
    """``population`` scaled to sum to ``total`` whole people (largest remainders get the rounding)."""
    exact = population * (total / population.sum())
    out = np.floor(exact).astype(np.int64)
    rest = total - int(out.sum())
    out[np.argsort(-(exact - out), kind="stable")[:rest]] += 1
    return out


def replay(scenario, parameters: dict, calls: list[list[tuple]], total: int, seed: int,
           cold_routes: bool = False) -> tuple[list[float], list[float], Civilians, list[list[int]]]:
    """Replay ``calls`` on a population of ``total``; wall and CPU seconds per day, the civilians, and the
    people leaving home at each place each day. ``cold_routes``: empty the route cache first."""
    if cold_routes:
        ROUTE_CACHE.clear()
    world = World(scenario, parameters)
    world.population0 = scaled(world.population0, total)
    civ = Civilians(world, parameters, np.random.default_rng(seed))
    wall, cpu, departures = [], [], []
    for day in calls:
        before = civ.displaced_from.copy()
        t, c = time.perf_counter(), time.process_time()
        for call in day:
            if call[0] == "kill":
                civ.kill(call[1])
            elif call[0] == "checkpoint":
                civ.set_checkpoint(call[1], call[2])
            else:
                civ.step(*call[1:])
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        departures.append((civ.displaced_from - before).tolist())
        assert civ.balance() == 0
    return wall, cpu, civ, departures


def state_bytes(civ: Civilians) -> int:
    return sum(a.nbytes for a in vars(civ).values() if isinstance(a, np.ndarray))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--sizes", default="1e4,1e6,1e7", help="total people, comma-separated")
    ap.add_argument("--cold-routes", action="store_true", help="empty the route cache before each replay")
    ap.add_argument("--json", type=Path, help="write the results and the daily departures here")
    args = ap.parse_args()
    sizes = [int(float(x)) for x in args.sizes.split(",")]

    scenario = load_scenario(SCENARIO)
    parameters = dict(scenario.parameters)
    calls = record(SCENARIO, seed=1, days=args.days)
    world = World(scenario, parameters)
    print(f"Iraq graph: {world.n} places, {int((world.road_km > 0).sum()) // 2} roads; {args.days} days recorded "
          f"from a model run (seed 1); {args.repeats} repeats; route cache "
          f"{'emptied before' if args.cold_routes else 'kept between'} replays; "
          f"{platform.python_version()}, NumPy {np.__version__}")

    # Sizes take turns within each repeat, so that a change in the machine's load falls on all of them alike.
    day_wall: dict[int, list[float]] = {t: [] for t in sizes}
    day_cpu: dict[int, list[float]] = {t: [] for t in sizes}
    results = {}
    for r in range(args.repeats):
        for total in sizes:
            wall, cpu, civ, departures = replay(scenario, parameters, calls, total, seed=r,
                                                cold_routes=args.cold_routes)
            day_wall[total].append(statistics.median(wall))
            day_cpu[total].append(statistics.median(cpu))
            results[total] = dict(
                people=int(civ.initial.sum()), displaced_end=civ.total_displaced,
                left_home=int(civ.displaced_from.sum()), state_mib=state_bytes(civ) / 2**20, departures=departures)
    for total in sizes:
        results[total].update(wall_ms=1e3 * statistics.median(day_wall[total]),
                              cpu_ms=1e3 * statistics.median(day_cpu[total]),
                              wall_ms_runs=[1e3 * x for x in day_wall[total]])

    base = results[sizes[0]]
    print()
    print(f"| people | left home in {args.days} days | median ms / day (wall) | median ms / day (CPU) | state MiB "
          f"| vs {sizes[0]:,}: wall (CPU) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for total in sizes:
        r = results[total]
        print(f"| {r['people']:,} | {r['left_home']:,} | {r['wall_ms']:.2f} | {r['cpu_ms']:.2f} | "
              f"{r['state_mib']:.2f} | {r['wall_ms'] / base['wall_ms']:.2f}x ({r['cpu_ms'] / base['cpu_ms']:.2f}x) |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        violent = [sorted({int(p) for call in day if call[0] == "step"
                           for p in np.flatnonzero((call[1] > 0) | (call[2] >= 0))}) for day in calls]
        args.json.write_text(json.dumps(dict(
            places=list(world.place_ids), days=args.days, repeats=args.repeats, violent_places=violent,
            parameters={k: parameters[k] for k in ("flight_speed_km", "destination_distance_km",
                                                   "host_capacity_share", "destination_base_attraction")},
            results={str(k): v for k, v in results.items()}), indent=1) + "\n", encoding="utf-8")
        print(f"\nwritten: {args.json}")


if __name__ == "__main__":
    main()
