#!/usr/bin/env python3
"""Fit the displacement parameters in replay mode, given the recorded war, on the in-sample rows.

Usage:
    python scripts/fit_replay.py fit [--budget N] [--seeds K] [--workers W] [--out FILE]
    python scripts/fit_replay.py score [--set NAME=VALUE ...] [--seeds K] [--split calibration|all]
    python scripts/fit_replay.py score-full [--seeds K] [--set NAME=VALUE ...]
    python scripts/fit_replay.py fit-full [--seeds K] [--first-seed S] [--low A --high B --points N] [--workers W]

The war is the recorded one: `scripts/control_events.py` turns the project's control observations (use=yes
changes of hands) and `calibration/observations/fighting_events.csv` into replay events. `fit` uses only the
events and the displacement rows of the calibration window (on or before 2014-06-22, `use=yes`, split
`calibration`: Mosul and Ninawa left by 11 June, the Kurdistan Region on 16 June, Tal Afar on 17 June, Dohuk
and Erbil governorates and the national total on 18 June). The loss of a parameter vector is the mean, over
rows and seeds, of the squared log error ``(log(model + 1) - log(reported))**2`` (zero inside a reported range,
measured to its nearer end outside it), the seeds fixed (common random numbers).

The search is SciPy's differential evolution over the box of `FIT` (log scale for the parameters marked so),
with a fixed seed, `budget` evaluations and no polish. It writes the best vector as a TOML table
(`--out`, default calibration/fitted/iraq_june_2014_displacement.toml) with the command, the loss and the
per-row values, for the scenario's `[parameters]`.

`score` prints, for a parameter set, the issue's targets for replay (see `targets`): the national total
displaced on 29 June (OCHA: 650,000), left Mosul by 12 June (IOM: 500,000), Erbil and Dohuk governorates on 18
June (ACAPS: 100,000 and 200,000), the largest share of its people that a mostly Sunni Arab place taken without
a battle (and kept) lost in June, and the share of Tal Afar's Shia Turkmen who left home in June. `score-full`
prints the same targets for full runs of the scenario as shipped (its own war, seeds 2000..).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime as dt
import io
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from control_events import COLUMNS, control_events  # noqa: E402

from simulation.calibration.loss import run_values  # noqa: E402
from simulation.calibration.observations import compile_observations, load_observations  # noqa: E402
from simulation.calibration.record import RunRecord  # noqa: E402
from simulation.engine.model import ConflictModel  # noqa: E402
from simulation.replay.events import read_events  # noqa: E402
from simulation.replay.model import ReplayModel, with_replay_fit  # noqa: E402
from simulation.scenario import Scenario, load_scenario  # noqa: E402

SCENARIO = ROOT / "scenarios" / "iraq_june_2014"
OBSERVATIONS = ROOT / "calibration" / "observations"
FIT = {  # name: (low, high, log scale)
    "flight_max_share": (0.1, 0.8, False),
    "flight_per_casualty": (5.0, 10000.0, True),
    "fear_radius_km": (1.0, 60.0, True),
    "flight_takeover": (0.2, 6.0, True),
    "flight_takeover_any": (0.0, 0.3, False),
    "takeover_half_life_days": (0.3, 6.0, True),
    "battle_exposure_people": (2e4, 2e6, True),
    "flight_within_place": (0.0, 1.0, False),
    "destination_nesting": (0.05, 1.0, False),
    "checkpoint_admission_scale": (0.05, 5.0, True),
    "return_near_rate": (0.0, 0.5, False),
}


def events_text(split: str) -> str:
    """The replay events of the recorded war (``split``: "calibration" or "all"), as CSV text."""
    rows = control_events(OBSERVATIONS / "control.csv", SCENARIO / "places.csv", split)
    with (OBSERVATIONS / "fighting_events.csv").open(encoding="utf-8", newline="") as f:
        rows += [{c: r.get(c, "") for c in COLUMNS} for r in csv.DictReader(f)
                 if split == "all" or r["event_date"] <= "2014-06-22"]
    buf = io.StringIO()
    w = csv.DictWriter(buf, COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(sorted(rows, key=lambda r: r["event_date"]))
    return buf.getvalue()


class Problem:
    """The replay runs and the rows they are scored on."""

    def __init__(self, split: str, seeds: list[int], days: int | None = None):
        self.scenario = with_replay_fit(load_scenario(SCENARIO))  # as `conflict-sim replay` runs it
        self.events = read_events("recorded war", events_text(split), self.scenario)
        obs = load_observations(OBSERVATIONS)
        rows = obs.select(split="calibration") if split == "calibration" else obs.select()
        rows = dataclasses.replace(rows, control=(), casualties=())
        self.obs = compile_observations(rows, self.scenario)
        self.seeds = seeds
        self.days = days if days is not None else (22 if split == "calibration" else None)

    def run(self, params: dict[str, float], seed: int) -> ReplayModel:
        return ReplayModel(self.scenario, self.events, seed=seed, days=self.days, **params).run()

    def row_values(self, model: ReplayModel) -> np.ndarray:
        return run_values(RunRecord.from_model(model), self.obs).displacement.astype(float)

    def loss(self, params: dict[str, float]) -> float:
        o = self.obs
        lo = np.where(np.isnan(o.displacement_low), o.displacement_idps, o.displacement_low)
        hi = np.where(np.isnan(o.displacement_high), o.displacement_idps, o.displacement_high)
        total = 0.0
        for seed in self.seeds:
            v = np.log(self.row_values(self.run(params, seed)) + 1.0)
            err = np.where(v < np.log(lo), np.log(lo) - v, np.where(v > np.log(hi), v - np.log(hi), 0.0))
            total += float(np.mean(err ** 2))
        return total / len(self.seeds)


def vector_to_params(x: np.ndarray) -> dict[str, float]:
    out = {}
    for xi, (name, (lo, hi, log)) in zip(x, FIT.items()):
        out[name] = float(np.exp(xi)) if log else float(xi)
        out[name] = min(max(out[name], lo), hi)
    return out


def fit(args: argparse.Namespace) -> int:
    from scipy.optimize import differential_evolution

    problem = Problem("calibration", list(range(1000, 1000 + args.seeds)))
    bounds = [(np.log(lo), np.log(hi)) if log else (lo, hi) for lo, hi, log in FIT.values()]
    evaluations: list[tuple[dict[str, float], float]] = []
    started = time.perf_counter()

    def objective(x: np.ndarray) -> float:
        params = vector_to_params(x)
        value = problem.loss(params)
        evaluations.append((params, value))
        if len(evaluations) % 20 == 0:
            best = min(v for _, v in evaluations)
            print(f"{len(evaluations)} evaluations, best loss {best:.4f}, {time.perf_counter() - started:.0f} s",
                  file=sys.stderr, flush=True)
        return value

    popsize = max(1, args.population // len(FIT))
    generations = max(1, args.budget // (popsize * len(FIT)) - 1)
    result = differential_evolution(objective, bounds, seed=args.seed, popsize=popsize, maxiter=generations,
                                    polish=False, init="latinhypercube", updating="deferred", tol=0.0)
    best = vector_to_params(result.x)
    model = problem.run(best, problem.seeds[0])
    values = problem.row_values(model)
    lines = [f"# Displacement parameters fitted in replay mode (scripts/fit_replay.py), {dt.date.today()}",
             f"# command: python scripts/fit_replay.py fit --budget {args.budget} --seeds {args.seeds} "
             f"--population {args.population} --seed {args.seed}",
             f"# loss {result.fun:.4f} over {len(evaluations)} evaluations in {time.perf_counter() - started:.0f} s; "
             "rows (reported -> model, seed 1000):"]
    for o, v in zip(problem.obs.displacement, values):
        lines.append(f"#   {o.date} {o.area} {o.measure} {o.idps:,.0f} -> {v:,.0f}")
    lines.append("[parameters]")
    lines += [f"{k} = {v:.4g}" for k, v in best.items()]
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)
    return 0


def changes_and_battles(model: ConflictModel) -> tuple[dict[int, list[int]], np.ndarray]:
    """Who took each place in the run (in order) and where a battle was fought: from the recorded events in a
    replay, from the model's log in a full run."""
    n = model.world.n
    changes: dict[int, list[int]] = {}
    if hasattr(model, "replay_days"):
        for day_changes in model.replay_days.control:
            for pl, f in day_changes:
                changes.setdefault(pl, []).append(f)
        return changes, model.replay_days.battle.any(axis=0)
    control = model.rec_control[: model.day]
    initial = np.array([model.faction_index[p.controller] for p in model.scenario_data.places])
    before = np.vstack([initial[None, :], control[:-1]])
    for d, pl in zip(*np.nonzero(control != before)):
        changes.setdefault(int(pl), []).append(int(control[d, pl]))
    battles = np.zeros(n, dtype=bool)
    for _, kind, pid, _ in model.log:
        if kind == "battle":
            battles[model.world.index[pid]] = True
    return changes, battles


def targets(model: ConflictModel, scenario: Scenario) -> dict[str, float]:
    """The issue's targets, read off a finished model, replay or full run (see the module's docstring)."""
    w, civ = model.world, model.civilians
    start = scenario.start_date

    def day(d: str) -> int:
        return min((dt.date.fromisoformat(d) - start).days, model.day - 1)

    gov = np.array(w.governorate)
    out = {
        "displaced_29_june": float(model.records.idps[day("2014-06-29")].sum()
                                   + model.records.in_transit[day("2014-06-29")]),
        "left_mosul_12_june": float(model.records.displaced_from[day("2014-06-12"), w.index["mosul"]]),
        "erbil_18_june": float(model.records.idps[day("2014-06-18"), gov == "Erbil"].sum()),
        "dohuk_18_june": float(model.records.idps[day("2014-06-18"), gov == "Dohuk"].sum()),
        # Not a target of the issue, but reported: ~1,600 in Khazir camp on 19 June (Al Jazeera, use=no row).
        "khazir_19_june": float(model.records.idps[day("2014-06-19"), w.index["khazir_checkpoint"]]),
    }
    # Mostly Sunni Arab places taken by the insurgents in June without a recorded battle there, and not changing
    # hands again (a government retake is feared for its own reasons).
    comp = scenario.composition
    g_sunni = comp.groups.index("sunni_arab")
    taken_by, battles = changes_and_battles(model)
    worst, where = 0.0, ""
    ins = model.faction_ids.index("insurgent")
    for i, p in enumerate(scenario.places):
        taken = taken_by.get(i, []) == [ins]
        if taken and not battles[i] and comp.shares[i][g_sunni] > 0.5 and p.population > 0:
            residents = model.rec_population[: model.day, i] - model.rec_idps[: model.day, i]
            share = 1.0 - float(residents.min()) / p.population  # the most of its people away on any day
            if share > worst:
                worst, where = share, p.id
    out["worst_sunni_place_share_left"] = worst
    out["worst_sunni_place"] = where
    ta = w.index["tal_afar"]
    g = comp.groups.index("shia_turkmen")
    k = civ.origin_of_gp[g * w.n + ta]
    out["tal_afar_shia_turkmen_left_share"] = float(civ.displaced_from_by_origin[k] / civ.initial_by_origin[k])
    # Not targets: whether the war went as recorded where it matters most (a full run's own war differs).
    control = model.rec_control[: model.day]
    out["mosul_fell_by_12_june"] = float((control[: day("2014-06-12") + 1, w.index["mosul"]] == ins).any())
    out["tal_afar_fell"] = float((control[:, ta] == ins).any())
    out["kirkuk_taken_by_insurgents"] = float((control[:, w.index["kirkuk"]] == ins).any())
    # People displaced at the end of the run from places that in the run were held by a faction that did not
    # hold them in June 2014 (the initial controller and the `use=yes` changes of hands of control.csv, all
    # splits), and everyone displaced at the end.
    held = {i: {model.faction_index[p.controller]} for i, p in enumerate(scenario.places)}
    with (OBSERVATIONS / "control.csv").open(encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            if r["use"] == "yes" and r["kind"] in ("taken", "retaken") and r["place"] in w.index:
                held[w.index[r["place"]]].add(model.faction_index[r["controller"]])
    unrecorded = np.array([not set(np.unique(control[:, i]).tolist()) <= held[i] for i in range(w.n)])
    out["displaced_end"] = float(civ.total_displaced)
    out["displaced_end_from_unrecorded_control"] = float(civ.displaced_by_origin[unrecorded].sum())
    return out


def score(args: argparse.Namespace) -> int:
    params = {}
    for s in args.sets:
        name, _, value = s.partition("=")
        params[name] = float(value)
    problem = Problem(args.split, list(range(2000, 2000 + args.seeds)), days=None)
    rows = []
    tgt = []
    for seed in problem.seeds:
        m = problem.run(params, seed)
        rows.append(problem.row_values(m))
        tgt.append(targets(m, problem.scenario))
    rows = np.array(rows)
    print(json.dumps({"parameters": params, "seeds": problem.seeds}))
    for i, o in enumerate(problem.obs.displacement):
        print(f"{o.date} {o.area:>18} {o.measure:7} {o.split:11} reported {o.idps:>10,.0f}  replay mean "
              f"{rows[:, i].mean():>10,.0f} (min {rows[:, i].min():,.0f}, max {rows[:, i].max():,.0f})")
    keys = [k for k in tgt[0] if k != "worst_sunni_place"]
    for k in keys:
        vals = np.array([t[k] for t in tgt])
        print(f"{k}: mean {vals.mean():,.3f} (min {vals.min():,.3f}, max {vals.max():,.3f})")
    print("worst Sunni Arab place:", sorted({t["worst_sunni_place"] for t in tgt}))
    return 0


def score_full(args: argparse.Namespace) -> int:
    """The targets in full runs (the model's own war) of the scenario as shipped (``--set`` on top), on seeds
    2000.."""
    scenario = load_scenario(SCENARIO)
    sets = {k: float(v) for k, _, v in (s.partition("=") for s in args.sets)}
    if sets:
        scenario = scenario.with_parameters(sets)
    tgt = []
    for seed in range(2000, 2000 + args.seeds):
        tgt.append(targets(ConflictModel(scenario, seed=seed).run(), scenario))
    keys = [k for k in tgt[0] if k != "worst_sunni_place"]
    for k in keys:
        vals = np.array([t[k] for t in tgt])
        print(f"{k}: mean {vals.mean():,.3f} (min {vals.min():,.3f}, max {vals.max():,.3f})")
    print("worst Sunni Arab place:", sorted({t["worst_sunni_place"] for t in tgt}))
    fell = [t for t in tgt if t["mosul_fell_by_12_june"]]
    print(f"runs in which Mosul fell by 12 June ({len(fell)} of {len(tgt)}):")
    for k in keys[:4] if fell else []:
        vals = np.array([t[k] for t in fell])
        print(f"  {k}: mean {vals.mean():,.3f} (min {vals.min():,.3f}, max {vals.max():,.3f})")
    return 0


FULL_OUT = ROOT / "calibration" / "fitted" / "iraq_june_2014_full_displacement.toml"


def _full_loss(job: tuple[dict[str, float], list[int]]) -> tuple[float, np.ndarray]:
    """The in-sample loss of full runs of the shipped scenario with ``params`` on top, over ``seeds``, to 22 June,
    and the rows' mean values: the mean over rows of the squared log error (as :meth:`Problem.loss`) of each row's
    mean over the seeds. A full run's war differs from seed to seed (Tal Afar falls by 17 June in some runs
    only), so the model's expected displacement is compared with the reports, not each run's."""
    params, seeds = job
    scenario = load_scenario(SCENARIO).with_parameters(params, origin="fit-full")
    obs = load_observations(OBSERVATIONS).select(split="calibration")
    o = compile_observations(dataclasses.replace(obs, control=(), casualties=()), scenario)
    lo = np.where(np.isnan(o.displacement_low), o.displacement_idps, o.displacement_low)
    hi = np.where(np.isnan(o.displacement_high), o.displacement_idps, o.displacement_high)
    rows = [run_values(RunRecord.from_model(ConflictModel(scenario, seed=seed, days=22).run()), o)
            .displacement.astype(float) for seed in seeds]
    mean = np.mean(rows, axis=0)
    v = np.log(mean + 1.0)
    err = np.where(v < np.log(lo), np.log(lo) - v, np.where(v > np.log(hi), v - np.log(hi), 0.0))
    return float(np.mean(err ** 2)), mean


def fit_full(args: argparse.Namespace) -> int:
    """Fit ``violence_recorded_share`` for full runs: a grid of values (log-spaced, then refined around its best
    point), each scored on the in-sample displacement rows (split ``calibration``, to 22 June) by full runs of the
    shipped scenario on seeds ``--first-seed``.. (never 2000-2019, which score the result, nor 1-20); every other
    parameter as shipped."""
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    if set(seeds) & (set(range(2000, 2020)) | set(range(1, 21))):
        print("fit_replay.py: fit-full: --first-seed/--seeds overlap the scoring seeds 2000-2019 or 1-20",
              file=sys.stderr)
        return 2
    started = time.perf_counter()

    def scores(values: np.ndarray) -> list[tuple[float, np.ndarray]]:
        jobs = [({"violence_recorded_share": float(x)}, seeds) for x in values]
        if args.workers > 1:
            from multiprocessing import Pool

            with Pool(args.workers) as pool:
                return pool.map(_full_loss, jobs)
        return [_full_loss(j) for j in jobs]

    # A log-spaced grid, then a second grid between the neighbours of its best point.
    grid = np.exp(np.linspace(np.log(args.low), np.log(args.high), args.points))
    results = scores(grid)
    b = int(np.argmin([r[0] for r in results]))
    finer = np.exp(np.linspace(np.log(grid[max(b - 1, 0)]), np.log(grid[min(b + 1, grid.size - 1)]),
                               args.points + 2)[1:-1])
    finer = finer[~np.isclose(finer, grid[b])]
    grid, results = np.r_[grid, finer], results + scores(finer)
    order = np.argsort(grid)
    grid, results = grid[order], [results[i] for i in order]
    obs = load_observations(OBSERVATIONS).select(split="calibration")
    o = compile_observations(dataclasses.replace(obs, control=(), casualties=()), load_scenario(SCENARIO))
    best = int(np.argmin([r[0] for r in results]))
    lines = [f"# violence_recorded_share for full runs (scripts/fit_replay.py fit-full), {dt.date.today()}",
             f"# command: python scripts/fit_replay.py fit-full --seeds {args.seeds} --first-seed {args.first_seed} "
             f"--low {args.low} --high {args.high} --points {args.points}",
             f"# full runs of the shipped scenario (seeds {seeds[0]}-{seeds[-1]}, 22 days), in-sample rows only; "
             f"{time.perf_counter() - started:.0f} s. Grid (value: loss; rows' means):"]
    for x, (loss, rows) in zip(grid, results):
        lines.append(f"#   {x:.4g}: {loss:.4f}; " + ", ".join(f"{v:,.0f}" for v in rows))
    lines.append("# rows: " + "; ".join(f"{r.date} {r.area} {r.measure} {r.idps:,.0f}" for r in o.displacement))
    lines.append("[parameters]")
    lines.append(f"violence_recorded_share = {grid[best]:.4g}")
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fit")
    f.add_argument("--budget", type=int, default=400)
    f.add_argument("--population", type=int, default=36, help="differential evolution's population")
    f.add_argument("--seeds", type=int, default=2)
    f.add_argument("--seed", type=int, default=1)
    f.add_argument("--out", default=str(ROOT / "calibration" / "fitted" / "iraq_june_2014_displacement.toml"))
    s = sub.add_parser("score")
    s.add_argument("--set", dest="sets", action="append", default=[])
    s.add_argument("--seeds", type=int, default=20)
    s.add_argument("--split", choices=("calibration", "all"), default="all")
    full = sub.add_parser("score-full")
    full.add_argument("--seeds", type=int, default=20)
    full.add_argument("--set", dest="sets", action="append", default=[])
    ff = sub.add_parser("fit-full")
    ff.add_argument("--seeds", type=int, default=6)
    ff.add_argument("--first-seed", type=int, default=3000)
    ff.add_argument("--low", type=float, default=0.01)
    ff.add_argument("--high", type=float, default=1.0)
    ff.add_argument("--points", type=int, default=9)
    ff.add_argument("--workers", type=int, default=1)
    ff.add_argument("--out", default=str(FULL_OUT))
    args = ap.parse_args(argv)
    return {"fit": fit, "score": score, "score-full": score_full, "fit-full": fit_full}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
