"""Fit the displacement parameters of FLEE cases on Mali 2012 and Burundi 2015 only (docs/flee.md, "Protocol").

    nice -n 19 .venv/bin/python scripts/fit_flee.py --cases /work/flee-cases --evals 160

The two training cases are converted (:func:`simulation.flee_import.convert`) and run in injected-totals mode
(:func:`simulation.flee_replay.run_flee_replay`, seed 1) for each candidate. The objective is the mean over the
two cases of FLEE's averaged relative difference (``benchmarks.flee_suite.averaged_relative_difference``: the
issue's measure). The search: ``--evals`` points drawn uniformly (log-uniformly for scales) in the box
:data:`BOX`, then ``--refine`` rounds of coordinate steps around the best (each parameter moved by ±``step`` of
its range, the step halved after a round without gain). The box includes ``town_move_chance``, the injected
mode's daily share of the displaced in towns who move on (FLEE's move chance), and ``capacity_buffer``, the share
of a camp's capacity up to which it pulls fully before its pull falls linearly to 0 at the capacity (FLEE's
``getCapMultiplier``, whose ``capacity_buffer`` is 0.9); both are the ``[flee_replay]`` table of the written file,
not model parameters. Then the generated-flight mode's flight parameters
(:data:`FLIGHT_BOX`) are searched the same way with the injected fit held fixed, on the same two cases.

With ``--start FILE`` (a fitted file, e.g. the previous one) that point is evaluated first in each stage whose
parameters the file has (``capacity_buffer`` at FLEE's 0.9 if it lacks it), so the search keeps it unless it finds
better. Writes ``calibration/fitted/flee_suite.toml`` (the best point, which
``import-flee`` copies into every converted scenario) and ``calibration/fitted/flee_suite_search.csv`` (every
evaluation). The held-out cases (CAR 2013, South Sudan 2013, Syria 2013) are never read here.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.flee_suite import averaged_relative_difference, rescaled_relative_difference  # noqa: E402
from simulation.flee_case import read_flee_case  # noqa: E402
from simulation.flee_import import convert  # noqa: E402
from simulation.flee_replay import run_flee_replay  # noqa: E402
from simulation.scenario import load_scenario  # noqa: E402

TRAINING = ("mali2012", "burundi2015")
"""The only cases any parameter is chosen on."""

# name: (low, high, log scale)
BOX = {
    "destination_base_attraction": (0.0, 0.3, False),
    "destination_distance_km": (50.0, 2000.0, True),
    "flight_speed_km": (20.0, 300.0, True),
    "host_capacity_share": (0.5, 2.0, False),
    "destination_nesting": (0.2, 1.0, False),
    "fear_radius_km": (0.0, 100.0, False),
    "town_move_chance": (0.0, 1.0, False),  # not a model parameter: the [flee_replay] table (flee_replay.py)
    "capacity_buffer": (0.0, 0.99, False),  # the same table; FLEE's capacity_buffer is 0.9
}
REPLAY_ONLY = ("town_move_chance", "capacity_buffer")
"""Searched with the others but passed to :func:`run_flee_replay` itself, and written to ``[flee_replay]``."""
FLIGHT_BOX = {
    "flight_per_casualty": (1.0, 3000.0, True),
    "flight_max_share": (0.001, 0.3, True),
    "fear_half_life_days": (0.5, 60.0, True),
    "battle_exposure_people": (1000.0, 1e6, True),
}
FLEE_VALUES = {"capacity_buffer": 0.9}
"""FLEE 3.1's own values (``SimulationSettings``), where ``--start`` has none."""
OUT = ROOT / "calibration" / "fitted" / "flee_suite.toml"
LOG = ROOT / "calibration" / "fitted" / "flee_suite_search.csv"


def draw(box: dict, rng: np.random.Generator) -> dict[str, float]:
    out = {}
    for k, (lo, hi, log) in box.items():
        out[k] = float(math.exp(rng.uniform(math.log(lo), math.log(hi))) if log else rng.uniform(lo, hi))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cases", type=Path, required=True, help="directory holding mali2012/ and burundi2015/")
    p.add_argument("--evals", type=int, default=160, help="random points per stage")
    p.add_argument("--refine", type=int, default=4, help="rounds of coordinate steps around the best")
    p.add_argument("--seed", type=int, default=2026, help="seed of the search's draws")
    p.add_argument("--start", type=Path, default=None,
                   help="a fitted file whose point is evaluated first in each stage (keys it lacks: FLEE's values)")
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--log", type=Path, default=LOG)
    a = p.parse_args(argv)
    rng = np.random.default_rng(a.seed)
    start: dict[str, float] = {}
    if a.start is not None:
        import tomllib

        table = tomllib.loads(a.start.read_text(encoding="utf-8"))
        start = {**FLEE_VALUES, **table.get("parameters", {}), **table.get("flee_replay", {})}
    log_rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        scenarios, data = {}, {}
        for name in TRAINING:
            case = read_flee_case(a.cases / name)
            d = Path(tmp) / name
            d.mkdir()
            for fname, text in convert(case, f"FLEE case {name}").items():
                if fname != "fitted.toml":
                    (d / fname).write_text(text, encoding="utf-8")
            (d / "scenario.toml").write_text((d / "scenario.toml").read_text(encoding="utf-8").replace(
                'fitted_parameters = "fitted.toml"\n', ""), encoding="utf-8")
            scenarios[name], data[name] = load_scenario(d, use_fitted=False), case.data.camps

        def evaluate(stage: str, totals: str, params: dict[str, float]) -> float:
            errs, resc = [], []
            started = time.perf_counter()
            for name in TRAINING:
                model_params = {k: v for k, v in params.items() if k not in REPLAY_ONLY}
                m = run_flee_replay(scenarios[name], totals, seed=1, overrides=model_params,
                                    town_move_chance=params.get("town_move_chance", 0.0),
                                    capacity_buffer=params.get("capacity_buffer", 0.0))
                sim = m.records.idps[:, m.flee.camps].astype(float)
                errs.append(averaged_relative_difference(sim, data[name]))
                resc.append(rescaled_relative_difference(sim, data[name]))
            obj = float(np.mean(errs))
            log_rows.append({"stage": stage, "totals": totals, "objective": round(obj, 5),
                             **{f"error_{n}": round(e, 5) for n, e in zip(TRAINING, errs)},
                             **{f"rescaled_{n}": round(e, 5) for n, e in zip(TRAINING, resc)},
                             "seconds": round(time.perf_counter() - started, 2),
                             **{k: round(v, 6) for k, v in params.items()}})
            print(f"{stage:8s} {obj:.4f} {[round(e, 3) for e in errs]} "
                  + " ".join(f"{k}={v:.4g}" for k, v in params.items()), flush=True)
            return obj

        def search(stage: str, totals: str, box: dict, fixed: dict[str, float]) -> dict[str, float]:
            best, best_obj = None, math.inf
            lacking = [k for k in box if k not in start]
            if start and lacking:
                print(f"{stage}: --start has no {', '.join(lacking)}; this stage starts from its draws", flush=True)
            elif start:
                best = {k: float(min(hi, max(lo, start[k]))) for k, (lo, hi, _) in box.items()}
                best_obj = evaluate(stage + "0", totals, {**fixed, **best})
            for _ in range(a.evals):
                cand = draw(box, rng)
                obj = evaluate(stage, totals, {**fixed, **cand})
                if obj < best_obj:
                    best, best_obj = cand, obj
            step = 0.15
            for _ in range(a.refine):
                improved = False
                for k, (lo, hi, log) in box.items():
                    for sign in (-1, 1):
                        cand = dict(best)
                        if log:
                            cand[k] = float(min(hi, max(lo, math.exp(math.log(best[k]) + sign * step
                                                                     * (math.log(hi) - math.log(lo))))))
                        else:
                            cand[k] = float(min(hi, max(lo, best[k] + sign * step * (hi - lo))))
                        obj = evaluate(stage + "+", totals, {**fixed, **cand})
                        if obj < best_obj:
                            best, best_obj, improved = cand, obj, True
                if not improved:
                    step /= 2
            print(f"best {stage}: {best_obj:.4f} {best}", flush=True)
            return best

        injected = search("injected", "injected", BOX, {})
        flight = search("flight", "generated", FLIGHT_BOX, injected)
    best = {**injected, **flight}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Displacement parameters for FLEE cases, fitted by scripts/fit_flee.py on Mali 2012 and Burundi 2015",
             "# ONLY (objective: mean averaged relative difference, injected totals; then the flight rule's",
             "# parameters on the generated-flight mode, the others held). CAR 2013, South Sudan 2013 and Syria 2013",
             f"# are scored with these and were never used to choose anything. Search: seed {a.seed}, {a.evals}",
             f"# random points and {a.refine} refinement rounds per stage"
             + (f", started from {a.start.name}" if a.start else "") + "; every evaluation in flee_suite_search.csv.",
             "[parameters]"]
    lines += [f"{k} = {v:.6g}" for k, v in best.items() if k not in REPLAY_ONLY]
    lines += ["", "# FLEE's daily move chance outside camps (injected mode only) and FLEE's capacity buffer, the",
              "# share of a camp's capacity up to which it pulls fully (both modes; simulation/flee_replay.py)",
              "[flee_replay]"]
    lines += [f"{k} = {best[k]:.6g}" for k in REPLAY_ONLY]
    a.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    keys: list[str] = []
    for r in log_rows:
        keys += [k for k in r if k not in keys]
    with a.log.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=keys, lineterminator="\n")
        w.writeheader()
        w.writerows(log_rows)
    print(f"wrote {a.out} and {a.log}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
