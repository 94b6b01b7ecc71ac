"""How the model's time and memory grow with the number of places (synthetic theatres, issue 21).

Usage: nice -n 19 python benchmarks/bench_scale.py [--places 100,300,700,1000,2000,7000,10000] [--days 30,365]
           [--repeats 3] [--long 60] [--timeout 600] [--wall-timeout 3600] [--mem-limit-gb 8] [--append]
           [--out benchmarks/results] [--plot docs/img/scale.png]

For every number of places and of days, a theatre is generated (``conflict-sim generate``, seed 1, 1.5 units
a place) and each measurement runs in a fresh subprocess, under ``nice -n 19``, with one thread for NumPy's
BLAS and Numba (as a sweep worker runs), a CPU-time limit (``--timeout``, ``RLIMIT_CPU``, default 10 minutes:
CPU rather than wall time, because on a shared machine the wall clock measures the neighbours' load too),
a wall-clock limit (``--wall-timeout``, default an hour) and an address-space limit (``--mem-limit-gb``,
``RLIMIT_AS``, default 8 GiB), so that no run can take the machine down; a run that hits a limit is recorded
as such (time-out, out of memory), not retried. The limits cover the whole subprocess (warm-up included).

In each subprocess a warm-up (a 60-place theatre for 30 days) first loads or compiles the Numba kernels; the
scenario is loaded; then the peak resident set size is reset (``/proc/self/clear_refs``) and the measured
part runs:

* ``model``: ``ConflictModel(scenario, seed, days).run()``: wall and CPU seconds (construction, with the
  all-pairs routes, and the run apart), the time spent inside the civilians' calls (``Civilians.step``,
  ``kill``, ``set_checkpoint``, timed by wrapping them), the peak RSS during it (``VmHWM``) and that peak minus
  the RSS before it (the model's own memory), and the bytes of the NumPy arrays the model keeps, by owner.
* ``civilians``: the civilians alone: ``World`` is built, the peak reset, then a ``Civilians`` is created and
  fed, day by day, the calls a model run made to its civilians (recorded in the first ``model`` run of the
  same theatre): wall and CPU seconds and peak RSS above the world's.

Medians over ``--repeats`` runs (each in its own process; runs of more than ``--long`` CPU seconds are not
repeated). A combination is skipped, with the reason, when a smaller theatre of the same length already timed
out, or the same theatre over fewer days already hit a limit (time or memory). The Iraq scenario's 30-day run
is measured the same way, for reference. Results: a table on stdout, ``scale.csv``, ``scale.md`` and
``scale.json`` in ``--out``, and a log-log plot.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import os
import pickle
import platform
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

IRAQ = ROOT / "scenarios" / "iraq_june_2014"
THREADS = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")}


# ---------------------------------------------------------------------------------------------------------
# In the subprocess


def _status_mb() -> dict[str, float]:
    text = Path("/proc/self/status").read_text()
    return {k: int(v) / 1024 for k, v in re.findall(r"(VmHWM|VmRSS):\s+(\d+) kB", text)}


def _reset_peak() -> None:
    """Reset the peak RSS (VmHWM) to the current RSS (Linux >= 4.0)."""
    Path("/proc/self/clear_refs").write_text("5")


def _warm_up() -> None:
    """Load (or compile) the Numba kernels the model uses, on a small generated theatre."""
    from simulation.engine.model import ConflictModel
    from simulation.generate import generate_theatre

    with tempfile.TemporaryDirectory() as tmp:
        d = generate_theatre(Path(tmp) / "warm", 60, seed=11)
        ConflictModel(d, seed=1, days=30).run()


def _array_bytes(obj: object) -> int:
    import numpy as np

    return sum(v.nbytes for v in vars(obj).values() if isinstance(v, np.ndarray))


def _cache_bytes(cache: object) -> int:
    return int(getattr(cache, "bytes", 0))


def child_model(scenario_dir: str, days: int, seed: int, record: str | None) -> dict:
    import numpy as np

    from simulation import world
    from simulation.civilians import displacement
    from simulation.engine.model import ConflictModel
    from simulation.scenario import load_scenario

    _warm_up()
    scenario = load_scenario(scenario_dir)
    world.ROUTE_CACHE.clear()  # the warm-up's routes are no use here
    displacement.ROUTE_CACHE.clear()
    gc.collect()
    base = _status_mb()["VmRSS"]
    _reset_peak()
    out: dict = {"status": "ok", "places": len(scenario.places), "days": days}
    calls: list[list[tuple]] = []
    civ_time = [0.0, 0.0]  # wall, CPU
    wall0, cpu0 = time.perf_counter(), time.process_time()
    stage = "construction"
    try:
        model = ConflictModel(scenario, seed=seed, days=days)
        out["build_s"] = time.perf_counter() - wall0
        civ = model.civilians

        def timed(name: str, fn):  # noqa: ANN202
            def wrapper(*args):  # noqa: ANN202
                if record:
                    if not calls or len(calls) <= model.day:
                        calls.extend([] for _ in range(model.day + 1 - len(calls)))
                    calls[model.day].append((name, *(np.array(a, copy=True) if isinstance(a, np.ndarray) else a
                                                     for a in args)))
                w, c = time.perf_counter(), time.process_time()
                try:
                    return fn(*args)
                finally:
                    civ_time[0] += time.perf_counter() - w
                    civ_time[1] += time.process_time() - c
            return wrapper

        civ.step, civ.kill, civ.set_checkpoint = (timed("step", civ.step), timed("kill", civ.kill),
                                                  timed("checkpoint", civ.set_checkpoint))
        stage = "run"
        model.run()
    except MemoryError as e:
        if stage == "run":
            stage = f"run, day {model.day + 1}"
        out.update(status="out of memory", stage=stage, error=_last_frame(e))
    out["wall_s"] = time.perf_counter() - wall0
    out["cpu_s"] = time.process_time() - cpu0
    out["civ_wall_s"], out["civ_cpu_s"] = civ_time
    st = _status_mb()
    out["peak_rss_mb"], out["base_rss_mb"] = st["VmHWM"], base
    out["model_peak_mb"] = st["VmHWM"] - base
    if out["status"] == "ok":
        out["arrays_mb"] = {
            "world": _array_bytes(model.world) / 2**20,
            "military route cache": _cache_bytes(world.ROUTE_CACHE) / 2**20,
            "model (records and state)": _array_bytes(model) / 2**20,
            "civilians": _array_bytes(model.civilians) / 2**20,
            "civilians on the road (pools)": sum(a.nbytes for road in (civ._packed_fleeing, civ._packed_returning)
                                                 for a in road[:3]) / 2**20,
            "civilian route cache": _cache_bytes(displacement.ROUTE_CACHE) / 2**20,
        }
        out["control_changes"] = sum(1 for e in model.log if e[1] == "control_change")
        if record:
            with open(record, "wb") as f:
                pickle.dump(calls, f, protocol=pickle.HIGHEST_PROTOCOL)
    return out


def child_civilians(scenario_dir: str, days: int, seed: int, record: str) -> dict:
    import numpy as np

    from simulation.civilians import displacement
    from simulation.civilians.displacement import Civilians
    from simulation.scenario import load_scenario
    from simulation.world import World

    _warm_up()
    with open(record, "rb") as f:
        calls = pickle.load(f)
    scenario = load_scenario(scenario_dir)
    displacement.ROUTE_CACHE.clear()
    out: dict = {"status": "ok", "places": len(scenario.places), "days": days}
    stage = "world"
    try:
        w = World(scenario, dict(scenario.parameters))
        gc.collect()
        base = _status_mb()["VmRSS"]
        _reset_peak()
        wall0, cpu0 = time.perf_counter(), time.process_time()
        stage = "civilians"
        civ = Civilians(w, dict(scenario.parameters), np.random.default_rng(seed))
        for day in calls:
            for name, *args in day:
                if name == "step":
                    civ.step(*args)
                elif name == "kill":
                    civ.kill(*args)
                else:
                    civ.set_checkpoint(*args)
        out["wall_s"] = time.perf_counter() - wall0
        out["cpu_s"] = time.process_time() - cpu0
        st = _status_mb()
        out["peak_rss_mb"], out["base_rss_mb"], out["model_peak_mb"] = st["VmHWM"], base, st["VmHWM"] - base
        out["balance"] = civ.balance()
    except MemoryError as e:
        out.update(status="out of memory", stage=stage, error=_last_frame(e))
    return out


def _last_frame(e: BaseException) -> str:
    tb = traceback.extract_tb(e.__traceback__)
    where = f"{Path(tb[-1].filename).name}:{tb[-1].lineno} {tb[-1].name}" if tb else "?"
    return f"{type(e).__name__}: {e} (at {where})"


# ---------------------------------------------------------------------------------------------------------
# In the parent


def run_child(args: list[str], timeout: float, mem_gb: float, wall_timeout: float) -> dict:
    """Run this script in ``--child`` mode under ``nice -n 19`` with the limits; its JSON result, or a record of
    the limit it hit."""
    def limits() -> None:
        lim = int(mem_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (lim, lim))
        # CPU seconds, not wall seconds: on a shared machine the wall clock measures the neighbours too.
        resource.setrlimit(resource.RLIMIT_CPU, (int(timeout), int(timeout) + 5))

    env = dict(os.environ, **THREADS, PYTHONHASHSEED="0")
    t = time.perf_counter()
    p = subprocess.Popen(["nice", "-n", "19", sys.executable, __file__, "--child", *args], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env, preexec_fn=limits, start_new_session=True)
    try:
        stdout, stderr = p.communicate(timeout=wall_timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        return {"status": f"time-out (> {wall_timeout:.0f} s wall)", "wall_s": time.perf_counter() - t}
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    if p.returncode == 0 and lines:
        return json.loads(lines[-1])
    if p.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return {"status": f"time-out (> {timeout:.0f} s CPU)", "wall_s": time.perf_counter() - t}
    tail = " ".join(stderr.strip().splitlines()[-2:])[-300:]
    if "MemoryError" in stderr or "std::bad_alloc" in stderr or "Cannot allocate memory" in stderr:
        return {"status": "out of memory", "error": tail, "wall_s": time.perf_counter() - t}
    return {"status": f"failed (exit {p.returncode})", "error": tail, "wall_s": time.perf_counter() - t}


def median(results: list[dict], key: str) -> float | None:
    vals = [r[key] for r in results if r.get("status") == "ok" and key in r]
    return statistics.median(vals) if vals else None


def measure(label: str, scenario_dir: Path, places: int, days: int, args: argparse.Namespace,
            tmp: Path) -> dict:
    record = tmp / f"calls-{label}.pkl"
    runs: list[dict] = []
    for i in range(args.repeats):
        r = run_child(["model", str(scenario_dir), str(days), "1", str(record) if i == 0 else ""], args.timeout,
                      args.mem_limit_gb, args.wall_timeout)
        runs.append(r)
        print(f"  {label} model run {i + 1}: {r['status']}, {r.get('wall_s', 0):.1f} s wall, "
              f"peak {r.get('peak_rss_mb', float('nan')):.0f} MB", flush=True)
        if r["status"] != "ok" or r.get("cpu_s", r["wall_s"]) > args.long:
            break
    civ_runs: list[dict] = []
    if record.exists():
        for i in range(args.repeats):
            r = run_child(["civilians", str(scenario_dir), str(days), "1", str(record)], args.timeout,
                          args.mem_limit_gb, args.wall_timeout)
            civ_runs.append(r)
            print(f"  {label} civilians alone run {i + 1}: {r['status']}, {r.get('wall_s', 0):.1f} s wall",
                  flush=True)
            if r["status"] != "ok" or r.get("cpu_s", r["wall_s"]) > args.long:
                break
        record.unlink()
    ok = [r for r in runs if r["status"] == "ok"]
    row = {
        "theatre": label, "places": places, "days": days, "units": None, "runs": len(ok),
        "status": "ok" if ok else runs[0]["status"],
        "wall_s": median(runs, "wall_s"), "cpu_s": median(runs, "cpu_s"), "build_s": median(runs, "build_s"),
        "civ_in_model_s": median(runs, "civ_wall_s"), "civ_in_model_cpu_s": median(runs, "civ_cpu_s"),
        "peak_rss_mb": median(runs, "peak_rss_mb"), "model_peak_mb": median(runs, "model_peak_mb"),
        "civ_alone_s": median(civ_runs, "wall_s"), "civ_alone_cpu_s": median(civ_runs, "cpu_s"),
        "civ_alone_peak_mb": median(civ_runs, "model_peak_mb"),
        "control_changes": ok[0].get("control_changes") if ok else None,
        "arrays_mb": ok[0].get("arrays_mb") if ok else None,
        "note": "" if ok or not runs[0].get("error") else f"{runs[0]['error']} after {runs[0]['wall_s']:.0f} s wall",
    }
    if not ok and runs[0].get("stage"):
        row["note"] = f"in {runs[0]['stage']}: " + row["note"]
    if not ok:
        row["fail_wall_s"], row["fail_cpu_s"] = runs[0].get("wall_s"), runs[0].get("cpu_s")
        row["fail_peak_rss_mb"] = runs[0].get("peak_rss_mb")  # at the failure (untouched pages are not resident)
    return row


def fmt(x: float | None, digits: int = 1) -> str:
    return "" if x is None else f"{x:,.{digits}f}"


COLUMNS = ["theatre", "places", "days", "units", "status", "runs", "wall_s", "cpu_s", "build_s", "civ_in_model_s",
           "civ_in_model_cpu_s", "peak_rss_mb", "model_peak_mb", "civ_alone_s", "civ_alone_cpu_s",
           "civ_alone_peak_mb", "control_changes", "note"]


def markdown(rows: list[dict]) -> str:
    """The table: CPU seconds first (the machine is shared, so wall seconds include its neighbours' load); the
    reasons for failures and skips as numbered notes below it."""
    head = ("| theatre | places | days | status | runs | model CPU s | model wall s | set-up wall s | "
            "civilians in the model, CPU s | peak RSS MB | model's own peak MB | civilians alone, CPU s | "
            "civilians alone, own peak MB | changes of control |")
    lines = [head, "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    notes = []
    for r in rows:
        status = r["status"]
        if r["note"]:
            notes.append(r["note"])
            status += f" ({len(notes)})"
        share = (f"{fmt(r['civ_in_model_cpu_s'], 2)} ({100 * r['civ_in_model_cpu_s'] / r['cpu_s']:.0f} %)"
                 if r.get("civ_in_model_cpu_s") is not None and r.get("cpu_s") else "")
        peak = fmt(r["peak_rss_mb"], 0)
        if r.get("fail_peak_rss_mb"):
            peak = f"{fmt(r['fail_peak_rss_mb'], 0)} when it failed"
        lines.append(f"| {r['theatre']} | {r['places']:,} | {r['days']} | {status} | {r['runs']} "
                     f"| {fmt(r['cpu_s'], 2)} | {fmt(r['wall_s'], 2)} | {fmt(r['build_s'], 2)} | {share} "
                     f"| {peak} | {fmt(r['model_peak_mb'], 0)} | {fmt(r['civ_alone_cpu_s'], 2)} "
                     f"| {fmt(r['civ_alone_peak_mb'], 0)} | {r['control_changes'] or ''} |")
    lines += [""] + [f"({i}) {note}" for i, note in enumerate(notes, start=1)]
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: Path, args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(12, 4.8))
    synth = [r for r in rows if r["theatre"] == "synthetic"]
    for days, colour in zip(sorted({r["days"] for r in synth}), ("tab:blue", "tab:red", "tab:green")):
        ok = [r for r in synth if r["days"] == days and r["status"] == "ok"]
        bad = [r for r in synth if r["days"] == days and r["status"] not in ("ok",) and
               not r["status"].startswith("skipped")]
        x = [r["places"] for r in ok]
        ax_t.plot(x, [r["cpu_s"] for r in ok], "o-", color=colour, label=f"model, CPU, {days} days")
        ax_t.plot(x, [r["wall_s"] for r in ok], "o:", color=colour, alpha=0.5, label=f"model, wall, {days} days")
        ax_t.plot(x, [r["civ_in_model_cpu_s"] for r in ok], "s--", color=colour, alpha=0.6,
                  label=f"civilians in the model, CPU, {days} days")
        ax_m.plot(x, [r["peak_rss_mb"] for r in ok], "o-", color=colour, label=f"peak RSS, {days} days")
        ax_m.plot(x, [r["model_peak_mb"] for r in ok], "s--", color=colour, alpha=0.6,
                  label=f"model's own peak, {days} days")
        for i, r in enumerate(bad):
            oom = "memory" in r["status"]
            y = args.timeout if not oom else max(r.get("fail_cpu_s") or 1, 1)
            ax_t.plot([r["places"]], [y], "x", color=colour, ms=10, mew=2)
            if oom:
                ax_m.plot([r["places"]], [args.mem_limit_gb * 1024], "x", color=colour, ms=10, mew=2)
            if i == 0:  # one label for the failures of a series
                what = "out of memory (x: CPU s at the failure)" if oom else "time-out"
                ax_t.annotate(what, (r["places"], y), fontsize=7, color=colour, xytext=(-60, 8),
                              textcoords="offset points")
                if oom:
                    ax_m.annotate(f"out of memory ({args.mem_limit_gb:g} GiB address space)",
                                  (r["places"], args.mem_limit_gb * 1024), fontsize=7, color=colour,
                                  xytext=(-150, -14), textcoords="offset points")
    iraq = [r for r in rows if r["theatre"] == "iraq_june_2014" and r["status"] == "ok"]
    for r in iraq:
        ax_t.plot([r["places"]], [r["cpu_s"]], "k*", ms=12, label="Iraq scenario, 30 days, CPU")
        ax_m.plot([r["places"]], [r["peak_rss_mb"]], "k*", ms=12, label="Iraq scenario, 30 days")
    ax_t.axhline(args.timeout, color="grey", lw=0.8, ls=":")
    ax_m.axhline(args.mem_limit_gb * 1024, color="grey", lw=0.8, ls=":")
    # Guides: slopes 1, 2 and 3 through the first measured point.
    ok30 = [r for r in synth if r["status"] == "ok"]
    if ok30:
        x0 = min(r["places"] for r in ok30)
        t0 = min(r["cpu_s"] for r in ok30 if r["places"] == x0)
        xs = np.array([x0, 10_000])
        for k in (1, 2, 3):
            ax_t.plot(xs, t0 * (xs / x0) ** k, color="grey", lw=0.6, ls="--")
            ax_t.annotate(f"~n^{k}", (xs[1], min(t0 * (xs[1] / x0) ** k, 1e5)), fontsize=7, color="grey")
    ax_t.set(xscale="log", yscale="log", xlabel="places", ylabel="seconds (median)",
             title="Time of ConflictModel(...).run()")
    ax_m.set(xscale="log", yscale="log", xlabel="places", ylabel="MB", title="Memory (peak resident set)")
    ax_t.set_ylim(top=max(args.timeout * 3, 1))
    for ax, where in ((ax_t, "lower right"), (ax_m, "upper left")):
        ax.grid(True, which="both", lw=0.3)
        ax.legend(fontsize=7, loc=where)
    fig.suptitle(f"Synthetic theatres (conflict-sim generate, seed 1, 1.5 units a place); limits: "
                 f"{args.timeout:.0f} s CPU, {args.mem_limit_gb:g} GiB address space; one thread, nice 19",
                 fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--places", default="100,300,700,1000,2000,7000,10000")
    ap.add_argument("--days", default="30,365")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--long", type=float, default=60.0, help="runs of more CPU seconds are not repeated")
    ap.add_argument("--timeout", type=float, default=600.0, help="CPU-time limit of each run (s)")
    ap.add_argument("--wall-timeout", type=float, default=3600.0, help="wall-clock limit of each run (s)")
    ap.add_argument("--mem-limit-gb", type=float, default=8.0, help="address-space limit of each run (GiB)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--plot", type=Path, default=ROOT / "docs" / "img" / "scale.png")
    ap.add_argument("--no-iraq", action="store_true")
    ap.add_argument("--append", action="store_true",
                    help="keep the rows of an earlier scale.json in --out, replacing those measured again")
    ap.add_argument("--replot", action="store_true", help="only rewrite the tables and the plot from scale.json")
    ap.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.replot:
        write_results(json.loads((args.out / "scale.json").read_text(encoding="utf-8")), args)
        return
    if args.child:
        mode, scenario_dir, days, seed, record = args.child
        try:
            fn = child_model if mode == "model" else child_civilians
            result = fn(scenario_dir, int(days), int(seed), record or None)
        except MemoryError as e:
            result = {"status": "out of memory", "error": _last_frame(e)}
        print(json.dumps(result), flush=True)
        return

    from simulation.generate import generate_theatre

    places = [int(x) for x in args.places.split(",")]
    days_list = [int(x) for x in args.days.split(",")]
    print(f"bench_scale: {platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"limits {args.timeout:.0f} s CPU, {args.wall_timeout:.0f} s wall and {args.mem_limit_gb:g} GiB a run, "
          f"{args.repeats} repeats; load average {os.getloadavg()[0]:.1f}", flush=True)
    rows: list[dict] = []
    failed: dict[int, int] = {}  # days -> the smallest number of places that hit a limit
    failed_places: set[int] = set()
    with tempfile.TemporaryDirectory(prefix="bench_scale_") as tmp_name:
        tmp = Path(tmp_name)
        if not args.no_iraq:
            print("Iraq scenario, 30 days", flush=True)
            row = measure("iraq_june_2014", IRAQ, 69, 30, args, tmp)
            row["units"] = 95
            rows.append(row)
        for days in days_list:
            for n in places:
                row_base = {"theatre": "synthetic", "places": n, "days": days, "units": round(1.5 * n)}
                if days in failed and n > failed[days]:
                    rows.append({**row_base, "status": "skipped", "runs": 0,
                                 "note": f"{failed[days]:,} places over {days} days already timed out"})
                    print(f"synthetic {n} places, {days} days: skipped", flush=True)
                    continue
                if n in failed_places:
                    rows.append({**row_base, "status": "skipped", "runs": 0,
                                 "note": f"{n:,} places over fewer days already hit a limit"})
                    print(f"synthetic {n} places, {days} days: skipped", flush=True)
                    continue
                d = generate_theatre(tmp / f"t{n}_{days}", n, days=days, seed=1)
                print(f"synthetic {n} places, {days} days", flush=True)
                t = time.perf_counter()
                row = measure("synthetic", d, n, days, args, tmp)
                row["units"] = round(1.5 * n)
                row["fail_s"] = time.perf_counter() - t
                rows.append(row)
                if row["status"] != "ok":
                    if row["status"].startswith("time-out"):  # a larger theatre would time out too, after as long
                        failed[days] = min(failed.get(days, n), n)
                    failed_places.add(n)
    if args.append and (args.out / "scale.json").is_file():
        new = {(r["theatre"], r["places"], r["days"]) for r in rows}
        old = json.loads((args.out / "scale.json").read_text(encoding="utf-8"))
        rows = [r for r in old if (r["theatre"], r["places"], r["days"]) not in new] + rows
        rows.sort(key=lambda r: (r["theatre"] != "iraq_june_2014", r["days"], r["places"]))
    write_results(rows, args)


def write_results(rows: list[dict], args: argparse.Namespace) -> None:
    """scale.csv, scale.md, scale.json in ``args.out``, the table and array sizes on stdout, and the plot."""
    for r in rows:
        for c in COLUMNS:
            r.setdefault(c, None)
        r["note"] = r["note"] or ""
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "scale.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, COLUMNS, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.3f}" if isinstance(v, float) else v) for k, v in r.items()})
    md = markdown(rows)
    (args.out / "scale.md").write_text(md, encoding="utf-8")
    (args.out / "scale.json").write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    print()
    print(md)
    for r in rows:
        if r.get("arrays_mb"):
            parts = ", ".join(f"{k} {v:,.1f}" for k, v in r["arrays_mb"].items())
            print(f"arrays kept at the end, MB ({r['theatre']} {r['places']:,} places, {r['days']} days): {parts}")
    plot(rows, args.plot, args)
    print(f"\nwritten: {args.out / 'scale.csv'}, {args.out / 'scale.md'}, {args.plot}")


if __name__ == "__main__":
    main()
