"""Where the time and the memory of a model run go, on a synthetic theatre (issue 21).

Usage: nice -n 19 python benchmarks/profile_scale.py [--places 1000] [--days 30] [--top 25]

A theatre is generated (``conflict-sim generate``, seed 1), the Numba kernels are warmed up on a small one, and
``ConflictModel(scenario, seed=1, days=D).run()`` runs under cProfile with CPU time as its clock. Printed: the
functions with the most CPU time of their own and with the most in all (Numba kernels appear as the Python
functions that call them), how many times each route computation ran, and the NumPy arrays the model keeps at
the end (and the route caches hold), largest first, by name. Then the same run again under tracemalloc (NumPy
reports its allocations to it; arrays allocated inside Numba kernels are not seen): the largest transient
allocation of each stage of a day (the peak during the stage above the memory held when it began, the largest
over the days), and of the construction.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulation import world  # noqa: E402
from simulation.civilians import displacement  # noqa: E402
from simulation.engine.model import ConflictModel  # noqa: E402
from simulation.generate import generate_theatre  # noqa: E402
from simulation.scenario import load_scenario  # noqa: E402


def arrays(prefix: str, obj: object) -> list[tuple[str, int, tuple]]:
    out = []
    fields = obj._asdict() if hasattr(obj, "_asdict") else vars(obj)  # a NamedTuple (the civilians' roads) or not
    for k, v in fields.items():
        if isinstance(v, np.ndarray):
            out.append((f"{prefix}.{k}", v.nbytes, v.shape))
        elif isinstance(v, tuple) and v and all(isinstance(a, np.ndarray) for a in v):
            out.append((f"{prefix}.{k}", sum(a.nbytes for a in v), tuple(a.shape for a in v)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--places", type=int, default=1000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ConflictModel(generate_theatre(Path(tmp) / "warm", 60, seed=11), seed=1, days=30).run()
        scenario = load_scenario(generate_theatre(Path(tmp) / "t", args.places, days=args.days, seed=1))
    world.ROUTE_CACHE.clear()
    displacement.ROUTE_CACHE.clear()
    calls = {"World._routes_avoiding": 0, "World._all_routes": 0, "civilian_routes": 0, "hop_matrix": 0}
    originals = (world.World._routes_avoiding, world.World._all_routes, displacement.civilian_routes,
                 displacement.hop_matrix)

    def counted(name, fn):  # noqa: ANN001, ANN202
        def wrapper(*a, **k):  # noqa: ANN202
            calls[name] += 1
            return fn(*a, **k)
        wrapper.__name__ = fn.__name__
        return wrapper

    world.World._routes_avoiding = counted("World._routes_avoiding", originals[0])
    world.World._all_routes = counted("World._all_routes", originals[1])
    displacement.civilian_routes = counted("civilian_routes", originals[2])
    displacement.hop_matrix = counted("hop_matrix", originals[3])

    prof = cProfile.Profile(time.process_time)
    t = time.process_time()
    prof.enable()
    m = ConflictModel(scenario, seed=1, days=args.days)
    m.run()
    prof.disable()
    total = time.process_time() - t
    changes = sum(1 for e in m.log if e[1] == "control_change")
    print(f"{args.places} places, {len(scenario.roads)} roads, {len(scenario.forces)} units, {args.days} days: "
          f"{total:.1f} s CPU under cProfile; {changes} changes of control; unit rows at the end {m.units.n}")
    print("route computations: " + ", ".join(f"{k} {v}" for k, v in calls.items()))
    for sort in ("tottime", "cumulative"):
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats(sort).print_stats(args.top)
        text = s.getvalue()
        print(f"\n--- by {sort} ---")
        print(text[text.index("   ncalls"):].rstrip())
    rows = arrays("model", m) + arrays("world", m.world) + arrays("civilians", m.civilians)
    rows += arrays("civilians.roads", m.civilians.roads)
    for name, cache in (("world.ROUTE_CACHE", world.ROUTE_CACHE), ("displacement.ROUTE_CACHE",
                                                                   displacement.ROUTE_CACHE)):
        for key, (_value, size) in cache._data.items():
            label = key[0] if isinstance(key, tuple) else "routes" if key.startswith(b"routes") else "hops"
            rows.append((f"{name}[{label}]", size, ""))
    rows.sort(key=lambda r: -r[1])
    print(f"\n--- arrays kept at the end (> 1 MB), total {sum(r[1] for r in rows) / 2**20:,.0f} MB ---")
    for name, size, shape in rows:
        if size > 2**20:
            print(f"{size / 2**20:10.1f} MB  {name} {shape}")
    routes_all = getattr(m, "_routes_all", None)  # names of earlier versions of the model, if still there
    near = getattr(m.civilians, "_near", None)
    for label, value in (("model._routes_all (stacked next hops)", routes_all and routes_all[1]),
                         ("civilians._near (violence kernel)", near and near[2])):
        if isinstance(value, np.ndarray):
            print(f"{value.nbytes / 2**20:10.1f} MB  {label} {value.shape}")
    transient(scenario, args.days)


STAGES = (("movement", "merge_idle"), ("movement", "update_presence"), ("movement", "move"),
          ("insurgency", "sleepers_rise"), ("combat", "fight"), ("morale", "leadership"),
          ("morale", "daily_morale_and_routs"), ("combat", "air_strikes"), ("insurgency", "recruit"),
          ("records", "record_day"))
"""The stages of a day (``ConflictModel._step``): functions of :mod:`simulation.rules` the model calls through their
modules, so that wrapping the module's attribute watches them."""


def transient(scenario: object, days: int) -> None:
    """Per stage of the day, the largest allocation above what was held when it began (tracemalloc)."""
    world.ROUTE_CACHE.clear()
    displacement.ROUTE_CACHE.clear()
    peaks: dict[str, float] = {}

    def watched(name, fn):  # noqa: ANN001, ANN202
        def wrapper(*a, **k):  # noqa: ANN202
            start = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            try:
                return fn(*a, **k)
            finally:
                peaks[name] = max(peaks.get(name, 0), tracemalloc.get_traced_memory()[1] - start)
        return wrapper

    tracemalloc.start()
    m = watched("ConflictModel(...) construction", ConflictModel)(scenario, seed=1, days=days)
    import simulation.rules as rules

    originals = []
    for module_name, name in STAGES:
        module = getattr(rules, module_name)
        originals.append((module, name, getattr(module, name)))
        setattr(module, name, watched(f"{module_name}.{name}", getattr(module, name)))
    m._scripted_events = watched("model._scripted_events", m._scripted_events)
    m._changes_of_hands = watched("model._changes_of_hands", m._changes_of_hands)
    for c in m.commands:
        c.plan = watched(f"command.plan ({c.doctrine})", c.plan)
    m.civilians.step = watched("civilians.step", m.civilians.step)
    try:
        m.run()
    finally:
        for module, name, fn in originals:
            setattr(module, name, fn)
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    print(f"\n--- largest transient allocation by stage (tracemalloc; held at the end {held / 2**20:,.0f} MB) ---")
    for name, peak in sorted(peaks.items(), key=lambda kv: -kv[1]):
        print(f"{peak / 2**20:10.1f} MB  {name}")


if __name__ == "__main__":
    main()
