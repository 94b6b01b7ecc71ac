"""FLEE's validation suite, scored FLEE's way: FLEE 3.1 runs, data-only baselines, and a slot for our engine.

Library (importable as ``benchmarks.flee_suite``; tests use it without FLEE):

- the scorer, :func:`score` → :class:`Scores`: FLEE's averaged relative difference, its "rescaled" variant and
  MASE, computed as FLEE's postprocessing computes them from a run's ``out.csv`` (flee/postprocessing/
  extract-validation-results.py, which FabFlee's ``validate_results``/``validate_flee`` tasks run and read
  ``Error (rescaled)`` from, and plot_flee_output.py ``plot_errors``/``error_quantification``). For a table
  ``sim[t, c]`` of people in camp c at the end of day t and the case's daily data ``data[t, c]``:

  - ``untot[t] = Σ_c data[t, c]``, ``simtot[t] = Σ_c sim[t, c]``;
  - error (FLEE's "Error (normal)") = mean over days t of ``Σ_c |sim[t, c] - data[t, c]| / max(untot[t], 1)``;
  - rescaled error ("Error (rescaled)", FabFlee's default) = the same with ``sim[t, c] × untot[t] / simtot[t]``
    (0 where ``simtot[t] = 0``) in place of ``sim[t, c]``;
  - MASE7 / MASE30: per camp, ``mean_t |data - rescaled| / mean_{t > k} |data - data[k]|`` (analysis.py
    ``calculate_MASE``, the naive forecast being the camp's own figure on day k = 7 or 30, held flat), then the
    camps' values averaged with weights ``N_c = Σ_t data[t, c]`` (``SimulationErrors.get_error``).

  Each absolute difference is rounded to 4 decimals first, as FLEE's ``analysis.abs_diffs`` does. Every day
  weighs the same.
- the data-only baselines: :func:`capacity_split` (the data's daily camp total split in proportion to
  capacity) and :func:`frozen_shares` (each camp's share of the total on day 7 or 30, applied to the data's daily
  total: FLEE's own "flat ratio" naive models n5 and n6 in extract-validation-results.py);
- :func:`read_camp_table`: a run directory's ``displacement.csv`` (``date,place,...,idps``) as a camp table, for
  the project's engine once it runs FLEE cases;
- the FLEE runner (``benchmarks/flee_runner.py``, re-exported: :func:`run_flee`, :func:`load_run`).

CLI::

    python benchmarks/flee_suite.py --cases /work/flee-cases --engines flee --seeds 3

runs (or, with ``--reuse``, re-reads) FLEE 3.1 on each case, prints per case FLEE's errors (mean over seeds and
each seed), the baselines' errors, wall time, CPU time and peak memory, and writes
``benchmarks/results/flee_suite_flee31.csv``. The project's engine (``conflict-sim-injected``,
``conflict-sim-generated``) has rows marked ``not run`` until its FLEE-case runner exists (:data:`ENGINES`).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `simulation` and `benchmarks` importable
    sys.path.insert(0, str(ROOT))

from benchmarks.flee_runner import (  # noqa: E402
    FLEE_PYTHON,
    FLEE_SRC,
    FleeRun,
    FleeRunError,
    load_run,
    run_flee,
)
from simulation.flee_case import FleeCase, ScenarioError, read_flee_case  # noqa: E402

__all__ = ["CASES", "ENGINES", "CampTable", "FleeRun", "FleeRunError", "Scores", "averaged_relative_difference",
           "capacity_split", "frozen_shares", "load_run", "mase", "read_camp_table", "rescale_to_data",
           "rescaled_relative_difference", "run_flee", "score"]

CASES = ("mali2012", "burundi2015", "car2013", "ssudan2013", "syria2013")
RESULTS = ROOT / "benchmarks" / "results" / "flee_suite_flee31.csv"
ROUND_NDIGITS = 4  # flee/postprocessing/analysis.py ROUND_NDIGITS
NAIVE_EARLY_DAY, NAIVE_TRAINING_DAY = 7, 30  # extract-validation-results.py plotme: naieve_early/training_day


# --------------------------------------------------------------------------------------------------------
# the scorer


@dataclass(frozen=True)
class CampTable:
    """People per camp per day: ``counts[t, j]`` in camp ``camps[j]`` at the end of day t (day 0 = start date)."""

    camps: tuple[str, ...]
    counts: np.ndarray


@dataclass(frozen=True)
class Scores:
    """FLEE's error measures of one table against the data (see the module docstring for the formulas)."""

    error: float
    rescaled: float
    mase7: float
    mase30: float


def _check(sim: np.ndarray, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sim = np.asarray(sim, dtype=float)
    data = np.asarray(data, dtype=float)
    if sim.shape != data.shape or sim.ndim != 2:
        raise ValueError(f"simulated table {sim.shape} and data {data.shape} must both be (days, camps)")
    if not np.all(np.isfinite(sim)):
        raise ValueError("simulated table has values that are not finite")
    return sim, data


def _abs_diffs(forecast: np.ndarray, correct: np.ndarray) -> np.ndarray:
    """flee/postprocessing/analysis.py ``abs_diffs``: ``round(|forecast - correct|, 4)``."""
    return np.round(np.abs(forecast - correct), ROUND_NDIGITS)


def rescale_to_data(sim: np.ndarray, data: np.ndarray) -> np.ndarray:
    """``sim[t, c] × untot[t] / simtot[t]``, 0 on days with ``simtot[t] = 0`` (error_quantification / plotme)."""
    sim, data = _check(sim, data)
    simtot = sim.sum(axis=1)
    untot = data.sum(axis=1)
    factor = np.divide(untot, simtot, out=np.zeros_like(untot), where=simtot > 0)
    return sim * factor[:, None]


def _daily(sim: np.ndarray, data: np.ndarray) -> np.ndarray:
    untot = data.sum(axis=1)
    return _abs_diffs(sim, data).sum(axis=1) / np.maximum(untot, 1.0)


def averaged_relative_difference(sim: np.ndarray, data: np.ndarray) -> float:
    """Mean over days of ``Σ_c |sim - data| / max(Σ_c data, 1)`` (FLEE's "Error (normal)")."""
    sim, data = _check(sim, data)
    return float(np.mean(_daily(sim, data)))


def rescaled_relative_difference(sim: np.ndarray, data: np.ndarray) -> float:
    """The averaged relative difference of :func:`rescale_to_data` (FLEE's "Error (rescaled)")."""
    sim, data = _check(sim, data)
    return float(np.mean(_daily(rescale_to_data(sim, data), data)))


def mase(sim: np.ndarray, data: np.ndarray, naive_day: int) -> float:
    """FLEE's aggregated MASE with the flat naive forecast from ``naive_day`` (7 → "mase7", 30 → "mase30").

    Per camp c (analysis.py ``calculate_MASE`` with ``forecast = rescaled sim``, ``naieve = data[naive_day, c]``):
    ``m_c = round(mean_t |data - forecast| / mean_{t >= naive_day + 1} |data - data[naive_day, c]|, 4)``;
    then ``Σ_c m_c N_c / Σ_c N_c`` with ``N_c = Σ_t data[t, c]`` (extract-validation-results.py
    ``SimulationErrors.get_error``). A camp whose data never move after ``naive_day`` has a zero denominator:
    FLEE then gets ``inf`` (or ``nan``), and so does this function.
    """
    sim, data = _check(sim, data)
    days = data.shape[0]
    if days <= naive_day + 1:
        raise ValueError(f"MASE from day {naive_day} needs more than {naive_day + 1} days, the table has {days}")
    forecast = rescale_to_data(sim, data)
    offset = naive_day + 1
    total, weight = 0.0, 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        for c in range(data.shape[1]):
            naive_err = np.sum(np.abs(data[offset:, c] - data[naive_day, c])) / float(days - offset)
            forecast_err = np.sum(np.abs(data[:, c] - forecast[:, c])) / float(days)
            m = np.float64(forecast_err) / np.float64(naive_err)
            m = round(float(m), ROUND_NDIGITS) if math.isfinite(m) else float(m)
            n = float(np.sum(data[:, c]))
            total += m * n
            weight += n
    return total / weight if weight > 0 else float("nan")


def score(sim: np.ndarray, data: np.ndarray) -> Scores:
    """All of FLEE's measures of ``sim`` against ``data`` (both ``(days, camps)``)."""
    return Scores(averaged_relative_difference(sim, data), rescaled_relative_difference(sim, data),
                  mase(sim, data, NAIVE_EARLY_DAY), mase(sim, data, NAIVE_TRAINING_DAY))


# --------------------------------------------------------------------------------------------------------
# data-only baselines


def capacity_split(data: np.ndarray, capacities: np.ndarray) -> np.ndarray:
    """``untot[t] × capacity_c / Σ capacity``: the data's daily camp total split by capacity."""
    data = np.asarray(data, dtype=float)
    cap = np.asarray(capacities, dtype=float)
    if cap.shape != (data.shape[1],) or np.any(cap < 0) or cap.sum() <= 0:
        raise ValueError("capacities must be one non-negative number per camp, not all 0")
    return data.sum(axis=1)[:, None] * (cap / cap.sum())[None, :]


def frozen_shares(data: np.ndarray, day: int) -> np.ndarray:
    """``untot[t] × data[day, c] / untot[day]``: each camp's share on ``day`` applied to every day's total.

    FLEE's "flat ratio" naive models (extract-validation-results.py ``plotme``: n5 from day 7, n6 from day 30).
    Raises ValueError when the camps hold nobody on ``day`` (no share to freeze).
    """
    data = np.asarray(data, dtype=float)
    total = data[day].sum()
    if total <= 0:
        raise ValueError(f"the camps hold nobody on day {day}: no shares to freeze")
    return data.sum(axis=1)[:, None] * (data[day] / total)[None, :]


# --------------------------------------------------------------------------------------------------------
# reading a run directory of the project's engine


def read_camp_table(path: str | Path, case: FleeCase, column: str = "idps") -> CampTable:
    """The camps' rows of a run's ``displacement.csv`` (``date,place,...,<column>``) as a :class:`CampTable`.

    Places are FLEE's names; every camp of ``case`` must have a row for every day of the case's period (other
    places and days are ignored). Raises :class:`ScenarioError` (one line: file, row, field).
    """
    path = Path(path)
    name = f"{path.parent.name}/{path.name}"
    camps = case.camp_names
    index = {c: j for j, c in enumerate(camps)}
    counts = np.full((case.length, len(camps)), -1.0)
    try:
        f = path.open(newline="", encoding="utf-8")
    except OSError as e:
        raise ScenarioError(name, f"cannot be read ({e.strerror})") from None
    with f:
        reader = csv.DictReader(f)
        for fieldname in ("date", "place", column):
            if fieldname not in (reader.fieldnames or []):
                raise ScenarioError(name, "required column is missing", row=1, field=fieldname)
        for row, rec in enumerate(reader, start=2):
            j = index.get(rec["place"])
            if j is None:
                continue
            try:
                day = (dt.date.fromisoformat(rec["date"]) - case.start_date).days
            except ValueError:
                raise ScenarioError(name, f"{rec['date']!r} is not a date (YYYY-MM-DD)", row=row,
                                    field="date") from None
            if not 0 <= day < case.length:
                continue
            try:
                v = float(rec[column])
            except (TypeError, ValueError):
                raise ScenarioError(name, f"{rec[column]!r} is not a number", row=row, field=column) from None
            if not math.isfinite(v) or v < 0:
                raise ScenarioError(name, f"{rec[column]!r} is not a count", row=row, field=column)
            counts[day, j] = v
    missing = np.argwhere(counts < 0)
    if len(missing):
        t, j = missing[0]
        date = case.start_date + dt.timedelta(days=int(t))
        raise ScenarioError(name, f"no row for camp {camps[j]!r} on {date} ({len(missing)} camp-days missing)",
                            field="place")
    return CampTable(camps, counts)


# --------------------------------------------------------------------------------------------------------
# checks of our reader against FLEE's own code (needs FLEE; not run in CI)

_REFERENCE_SNIPPET = r"""
import json, sys
from flee import flee, spawning, InputGeography
from flee.datamanager import handle_refugee_data, read_period
from flee.SimulationSettings import SimulationSettings
case, settings = sys.argv[1], sys.argv[2]
start_date, length = read_period.read_conflict_period(case + "/input_csv/sim_period.csv")
SimulationSettings.ReadFromYML(settings)
SimulationSettings.ConflictInputFile = case + "/input_csv/conflicts.csv"
e = flee.Ecosystem()
ig = InputGeography.InputGeography()
ig.ReadConflictInputCSV(SimulationSettings.ConflictInputFile)
ig.ReadLocationsFromCSV(case + "/input_csv/locations.csv")
ig.ReadLinksFromCSV(case + "/input_csv/routes.csv")
ig.ReadClosuresFromCSV(case + "/input_csv/closures.csv")
e, lm = ig.StoreInputGeographyInEcosystem(e)
d = handle_refugee_data.RefugeeTable(csvformat="generic", data_directory=case + "/source_data",
    start_date=start_date, data_layout="data_layout.csv",
    population_scaledown_factor=SimulationSettings.optimisations["PopulationScaleDownFactor"])
d.ReadL1Corrections(case + "/input_csv/registration_corrections.csv")
camps = e.get_camp_names()
added = []
e.addAgent = lambda location, attributes: added.append(1)  # count FLEE's spawns without simulating anyone
out = {"camps": camps, "data": [], "total": [], "new": [], "weights": []}
for t in range(length):
    ig.AddNewConflictZones(e, t)
    out["weights"].append([float(w) for w in e.spawn_weights])
    before = len(added)
    spawning.spawn_daily_displaced(e, t, d)
    out["new"].append(len(added) - before)
    spawning.refresh_spawn_weights(e)
    e.enact_border_closures(t)
    e.evolve()
    out["data"].append([d.get_field(c, t) for c in camps])
    out["total"].append(d.get_field("total", t))
print(json.dumps(out))
"""


def check_reader_against_flee(case_dir: Path, settings: Path, flee_python: Path = FLEE_PYTHON,
                              flee_src: Path = FLEE_SRC) -> dict[str, int]:
    """Run FLEE's own readers on ``case_dir`` (no agents move) and count where ours differ.

    Compared day by day: every camp's data figure (DataTable ``get_field``), the total, the number of people
    injected (spawning ``spawn_daily_displaced``) and every place's spawn weight at the moment of spawning.
    Returns the number of mismatching values of each kind (all 0 when the reader agrees with FLEE).
    """
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(PYTHONPATH=str(flee_src), FLEE_TYPE_CHECK="False")
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([str(flee_python), "-c", _REFERENCE_SNIPPET, str(case_dir), str(settings)], cwd=tmp,
                              capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise FleeRunError(f"FLEE's reader failed on {case_dir}: {proc.stderr.strip().splitlines()[-1:]}")
    ref = json.loads(proc.stdout.strip().splitlines()[-1])
    case = read_flee_case(case_dir, hasten=_hasten(settings))
    if tuple(ref["camps"]) != case.camp_names:
        return {"camps": 1}
    weights = case.spawn_weights()
    return {
        "camp_days": int(np.sum(np.asarray(ref["data"]) != case.data.camps)),
        "total_days": int(np.sum(np.asarray(ref["total"]) != case.data.total)),
        "injection_days": int(np.sum(np.asarray(ref["new"]) != case.data.injections())),
        "weight_values": int(np.sum(~np.isclose(np.asarray(ref["weights"]), weights, rtol=1e-12, atol=0))),
    }


def flee_own_report(run_dir: Path, flee_python: Path = FLEE_PYTHON, flee_src: Path = FLEE_SRC) -> dict[str, float]:
    """FLEE's own validation figures of a finished run: its extract-validation-results.py on ``out.csv``.

    That is the script FabFlee's ``validate_results`` task runs; its ``totals`` block is returned as
    ``{"error": ..., "rescaled": ..., "mase7": ..., "mase30": ...}``, to check :func:`score` against it.
    """
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(PYTHONPATH=str(flee_src), FLEE_TYPE_CHECK="False", MPLBACKEND="Agg")
    script = flee_src / "flee" / "postprocessing" / "extract-validation-results.py"
    with tempfile.TemporaryDirectory() as tmp:  # the script saves nothing, but keep any stray file out of run_dir
        proc = subprocess.run([str(flee_python), str(script), str(Path(run_dir).resolve())], cwd=tmp,
                              capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise FleeRunError(f"FLEE's extract-validation-results.py failed on {run_dir}: "
                           f"{proc.stderr.strip().splitlines()[-1:]}")
    keys = {"Error (normal)": "error", "Error (rescaled)": "rescaled", "mase7": "mase7", "mase30": "mase30"}
    out: dict[str, float] = {}
    totals = proc.stdout.split("totals:")[-1]
    for line in totals.splitlines():
        name, _, value = line.strip().partition(": ")
        if name in keys:
            out[keys[name]] = float(value)
    return out


# --------------------------------------------------------------------------------------------------------
# the suite


def _hasten(settings: Path) -> int:
    """FLEE's ``optimisations: hasten`` from a simsetting.yml (1 when absent), read without a YAML parser."""
    m = re.search(r"^\s*hasten\s*:\s*(\d+)\s*$", Path(settings).read_text(encoding="utf-8"), re.MULTILINE)
    return int(m.group(1)) if m else 1


@dataclass(frozen=True)
class Row:
    case: str
    model: str
    seed: str
    status: str
    scores: Scores | None = None
    wall_s: float | None = None
    cpu_s: float | None = None
    peak_rss_mib: float | None = None
    agents: int | None = None
    hasten: int = 1
    note: str = ""
    settings: str = ""


def _flee_engine(case_dir: Path, case: FleeCase, seed: int, run_dir: Path, settings: Path, reuse: bool | str,
                 niceness: int) -> Row:
    """FLEE 3.1 on ``case`` with ``seed``: rerun, or (``reuse``) re-read a finished run, or (``reuse="only"``)
    re-read it and report a missing run as ``missing`` instead of starting one."""
    finished = (run_dir / "run.json").is_file()
    if reuse == "only" and not finished:
        hasten = _hasten(settings) if settings.is_file() else 1
        scale = f", 1/{hasten} scale" if hasten > 1 else ""
        return Row(case.name, "flee-3.1", str(seed), "missing", note=f"no finished run for seed {seed}{scale}",
                   hasten=hasten, settings=settings.name)
    if reuse and finished:
        run = load_run(run_dir)
    else:
        run = run_flee(case_dir, seed, run_dir, settings, niceness=niceness)
    used = json.loads((run_dir / "run.json").read_text(encoding="utf-8")).get("settings", settings.name)
    if used != settings.name:
        raise FleeRunError(f"{run_dir}: the stored run used {used}, not {settings.name}")
    hasten = _hasten(run_dir / "simsetting.yml")
    if hasten != case.hasten:
        case = read_flee_case(case_dir, hasten=hasten)
    if run.camps != case.camp_names:
        raise FleeRunError(f"{run_dir}/out.csv: camps {run.camps} differ from the case's {case.camp_names}")
    if run.sim.shape[0] != case.length:
        raise FleeRunError(f"{run_dir}/out.csv: {run.sim.shape[0]} days, the case has {case.length}")
    mismatched = int(np.sum(run.data != case.data.camps))
    note = "" if mismatched == 0 else f"FLEE's data column differs from ours on {mismatched} camp-days"
    if hasten != 1:
        note = (note + "; " if note else "") + f"FLEE run at 1/{hasten} scale (hasten {hasten})"
    return Row(case.name, "flee-3.1", str(seed), "ok", score(run.sim, case.data.camps), run.wall_s, run.cpu_s,
               run.peak_rss_mib, int(run.agents[-1]), hasten, note, used)


_WARMED: set[str] = set()


def _conflict_sim_engine(totals: str) -> Callable[..., Row]:
    """This project's engine on a FLEE case in ``totals`` mode (``injected`` / ``generated``): the case converted
    by ``import-flee`` (with the parameters fitted on Mali 2012 and Burundi 2015, calibration/fitted/
    flee_suite.toml), run by :func:`simulation.flee_replay.run_flee_replay` at full scale, its run directory
    written (no plots) and its ``displacement.csv`` scored.

    Cost: wall and CPU time (``time.process_time``) of loading the converted scenario and running the model, in
    this process, after one untimed warm-up run per mode (which loads the compiled kernels from numba's cache);
    writing the run directory is not counted. Peak memory is this process's peak resident set so far
    (``ru_maxrss``: an upper bound, it includes the earlier cases)."""

    def runner(case_dir: Path, case: FleeCase, seed: int, run_dir: Path, settings: Path, reuse: bool | str,
               niceness: int) -> Row:
        import resource
        import time

        from simulation.flee_import import FITTED, import_flee
        from simulation.flee_replay import run_flee_replay
        from simulation.runs.output import write_run_directory

        scenario_dir = run_dir.parent / "scenario"
        if not (scenario_dir / "scenario.toml").is_file() or seed == 1:
            import_flee(case_dir, scenario_dir, overwrite=True)
        if totals not in _WARMED:
            run_flee_replay(scenario_dir, totals, seed=0)
            _WARMED.add(totals)
        wall, cpu = time.perf_counter(), time.process_time()
        model = run_flee_replay(scenario_dir, totals, seed=seed)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        write_run_directory(model, run_dir, wall, overwrite=True, plots=False)
        table = read_camp_table(run_dir / "displacement.csv", case)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        note = "fitted on mali2012+burundi2015" if FITTED.is_file() else "defaults (no fitted file)"
        if case.name in ("mali2012", "burundi2015"):
            note += "; TRAINING case"
        return Row(case.name, f"conflict-sim-{totals}", str(seed), "ok", score(table.counts, case.data.camps), wall,
                   cpu, peak, int(model.civilians.total_displaced), 1, note, "")

    return runner


# name → runner(case_dir, case, seed, run_dir, settings, reuse, niceness) -> Row.
ENGINES: dict[str, Callable[..., Row] | None] = {
    "flee": _flee_engine,
    "conflict-sim-injected": _conflict_sim_engine("injected"),
    "conflict-sim-generated": _conflict_sim_engine("generated"),
}


def baseline_rows(case: FleeCase) -> list[Row]:
    """The data-only baselines' rows for ``case`` (deterministic: no seed, no cost worth timing)."""
    data = case.data.camps
    rows = [Row(case.name, "baseline-capacity-split", "-", "ok", score(capacity_split(data, case.capacities), data))]
    for day in (NAIVE_EARLY_DAY, NAIVE_TRAINING_DAY):
        model = f"baseline-shares-day{day}"
        try:
            rows.append(Row(case.name, model, "-", "ok", score(frozen_shares(data, day), data)))
        except ValueError as e:
            rows.append(Row(case.name, model, "-", "undefined", note=str(e)))
    return rows


def _mean_row(rows: list[Row]) -> Row | None:
    ok = [r for r in rows if r.scores is not None]
    if len(ok) < 2:
        return None
    s = [r.scores for r in ok]
    mean = Scores(*(statistics.fmean(getattr(x, f) for x in s) for f in ("error", "rescaled", "mase7", "mase30")))
    return Row(ok[0].case, ok[0].model, "mean", "ok", mean, statistics.fmean(r.wall_s for r in ok),
               statistics.fmean(r.cpu_s for r in ok), max(r.peak_rss_mib for r in ok),
               round(statistics.fmean(r.agents for r in ok)), ok[0].hasten, f"{len(ok)} seeds", ok[0].settings)


def _collapse_missing(rows: list[Row]) -> list[Row]:
    """One ``missing`` row naming every seed without a finished run, instead of one row per seed."""
    missing = [r for r in rows if r.status == "missing"]
    if len(missing) < 2:
        return rows
    seeds = "+".join(r.seed for r in missing)
    first = missing[0]
    merged = Row(first.case, first.model, seeds, "missing", hasten=first.hasten, settings=first.settings,
                 note=f"no finished run for seed(s) {seeds.replace('+', ', ')}"
                 + (f", 1/{first.hasten} scale" if first.hasten > 1 else ""))
    return [r for r in rows if r.status != "missing"] + [merged]


FIELDS = ["case", "model", "seed", "status", "error", "rescaled_error", "mase7", "mase30", "wall_s", "cpu_s",
          "peak_rss_mib", "agents_final", "hasten", "settings", "note"]


def _csv_row(r: Row) -> dict[str, str]:
    def f(x: float | None, nd: int = 4) -> str:
        return "" if x is None else f"{x:.{nd}f}"

    s = r.scores
    return {"case": r.case, "model": r.model, "seed": r.seed, "status": r.status,
            "error": f(s and s.error), "rescaled_error": f(s and s.rescaled), "mase7": f(s and s.mase7),
            "mase30": f(s and s.mase30), "wall_s": f(r.wall_s, 1), "cpu_s": f(r.cpu_s, 1),
            "peak_rss_mib": f(r.peak_rss_mib, 0), "agents_final": "" if r.agents is None else str(r.agents),
            "hasten": str(r.hasten), "settings": r.settings, "note": r.note}


def read_results(path: Path, model: str | None = None) -> list[Row]:
    """The rows of a table written by :func:`write_results` (only ``model``'s when given), e.g. FLEE 3.1's stored
    figures once its run folders are gone (``--flee-rows-from``)."""
    def f(x: str) -> float | None:
        return float(x) if x != "" else None

    out = []
    with path.open(newline="", encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            if model is not None and rec["model"] != model:
                continue
            scores = None if rec["error"] == "" else Scores(float(rec["error"]), float(rec["rescaled_error"]),
                                                            float(rec["mase7"]), float(rec["mase30"]))
            out.append(Row(rec["case"], rec["model"], rec["seed"], rec["status"], scores, f(rec["wall_s"]),
                           f(rec["cpu_s"]), f(rec["peak_rss_mib"]),
                           None if rec["agents_final"] == "" else int(rec["agents_final"]), int(rec["hasten"]),
                           rec["note"], rec["settings"]))
    return out


def with_stored_rows(rows: list[Row], stored: list[Row]) -> list[Row]:
    """``rows`` with ``stored`` rows of the same cases put first in each case (cases in ``rows``' order)."""
    out: list[Row] = []
    for name in dict.fromkeys(r.case for r in rows):
        out += [r for r in stored if r.case == name] + [r for r in rows if r.case == name]
    return out


def _print_case(rows: list[Row]) -> None:
    print(f"\n{rows[0].case}")
    print(f"  {'model':<26}{'seed':>5}{'error':>8}{'rescaled':>10}{'mase7':>8}{'mase30':>8}{'wall s':>9}"
          f"{'cpu s':>8}{'MiB':>7}")
    for r in rows:
        if r.scores is None:
            print(f"  {r.model:<26}{r.seed:>5}  {r.status}{' (' + r.note + ')' if r.note else ''}")
            continue
        s = r.scores
        cost = "" if r.wall_s is None else f"{r.wall_s:>9.0f}{r.cpu_s:>8.0f}{r.peak_rss_mib:>7.0f}"
        print(f"  {r.model:<26}{r.seed:>5}{s.error:>8.3f}{s.rescaled:>10.3f}{s.mase7:>8.3f}{s.mase30:>8.3f}{cost}"
              + (f"  {r.note}" if r.note else ""))


def run_dir_for(runs_dir: Path, case: str, settings: Path, seed: int) -> Path:
    """``RUNS/<case>/seed<k>`` with FabFlee's ``simsetting.yml``, ``RUNS/<case>__<settings stem>/seed<k>`` else."""
    folder = case if settings.stem == "simsetting" else f"{case}__{settings.stem}"
    return runs_dir / folder / f"seed{seed}"


def run_suite(cases_dir: Path, cases: list[str], engines: list[str], seeds: int, runs_dir: Path,
              configs: dict[str, list[Path]], reuse: bool | str, niceness: int,
              own_runs_dir: Path | None = None) -> list[Row]:
    """Every engine × FLEE settings × seed and the baselines on every case; prints each case's table.

    ``configs[case]`` lists the simsetting.yml files FLEE runs the case with (each its own rows: a scaled-down
    run, ``hasten`` > 1, is reported beside the full-scale one, never instead of it).
    """
    out: list[Row] = []
    for name in cases:
        case_dir = cases_dir / name
        case = read_flee_case(case_dir)
        rows: list[Row] = []
        for engine in engines:
            runner = ENGINES[engine]
            if runner is None:
                rows.append(Row(name, engine, "-", "not run", note="no FLEE-case runner for this engine yet"))
                continue
            for settings in (configs[name] if engine == "flee" else configs[name][:1]):
                per_seed = [runner(case_dir, case, seed, run_dir_for(runs_dir, name, settings, seed) if engine == "flee"
                                   else (own_runs_dir or runs_dir) / f"{name}__{engine}" / f"seed{seed}", settings,
                                   reuse, niceness)
                            for seed in range(1, seeds + 1)]
                mean = _mean_row(per_seed) if len(per_seed) > 1 else None
                rows += _collapse_missing(per_seed) + ([mean] if mean else [])
        rows += baseline_rows(case)
        _print_case(rows)
        out += rows
    return out


def _pick(rows: list[Row], model: str) -> Row | None:
    """The row that stands for ``model`` on a case: the mean over seeds (else the one seed), full scale first."""
    ok = [r for r in rows if r.model == model and r.scores is not None]
    if not ok:
        return None
    return sorted(ok, key=lambda r: (r.hasten, r.seed != "mean"))[0]


def summary_table(rows: list[Row]) -> str:
    """Per case, side by side: FLEE 3.1's and this project's errors (averaged relative difference / rescaled),
    the baselines', CPU seconds, the speed ratio (FLEE's CPU s ÷ ours, injected) and whether the injected mode's
    averaged relative difference beats FLEE's and every baseline's (markdown)."""
    out = ["| case | FLEE 3.1 error / rescaled | injected error / rescaled | generated error / rescaled "
           "| capacity split | shares day 7 | shares day 30 | FLEE CPU s "
           "| ours CPU s (injected) | speed ratio | injected beats all |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in dict.fromkeys(r.case for r in rows):
        case_rows = [r for r in rows if r.case == name]
        flee, inj, gen = (_pick(case_rows, m) for m in ("flee-3.1", "conflict-sim-injected", "conflict-sim-generated"))
        base = [_pick(case_rows, f"baseline-{b}") for b in ("capacity-split", "shares-day7", "shares-day30")]

        def pair(r: Row | None) -> str:
            return "–" if r is None else f"{r.scores.error:.3f} / {r.scores.rescaled:.3f}"

        def one(r: Row | None) -> str:
            return "–" if r is None else f"{r.scores.error:.3f}"

        scale = "" if flee is None or flee.hasten == 1 else f" (1/{flee.hasten} scale)"
        ratio = (f"{flee.cpu_s / inj.cpu_s:,.0f}x{scale}" if flee and inj and flee.cpu_s and inj.cpu_s else "–")
        rivals = [r.scores.error for r in [flee, *base] if r is not None]
        beats = "–" if inj is None else ("yes" if all(inj.scores.error < e for e in rivals) else "no")
        out.append(f"| {name} | {pair(flee)}{scale} | {pair(inj)} | {pair(gen)} | {one(base[0])} | {one(base[1])} | "
                   f"{one(base[2])} | {'–' if flee is None else f'{flee.cpu_s:.0f}'} | "
                   f"{'–' if inj is None else f'{inj.cpu_s:.3f}'} | {ratio} | {beats} |")
    return "\n".join(out)


def write_results(rows: list[Row], path: Path) -> None:
    """All rows as CSV, written to a temporary file first so that a failed run leaves no half-written table."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow(_csv_row(r))
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cases", type=Path, required=True, help="directory holding the FLEE cases (one folder each)")
    p.add_argument("--case", action="append", help="only these case folders (default: the five of CASES)")
    p.add_argument("--engines", default="flee", help=f"comma-separated, of: {', '.join(ENGINES)}")
    p.add_argument("--seeds", type=int, default=1, help="seeds 1..N per engine and case")
    p.add_argument("--runs-dir", type=Path, default=Path("/work/flee-runs"), help="where FLEE's run folders go")
    p.add_argument("--own-runs-dir", type=Path, default=None,
                   help="where this project's run directories go (default: --runs-dir), RUNS/<case>__<engine>/seed<k>")
    p.add_argument("--settings", type=Path, help="FLEE simsetting.yml (default: CASES/simsetting.yml)")
    p.add_argument("--settings-for", action="append", default=[], metavar="CASE=YML",
                   help="simsetting.yml for one case instead of --settings; repeat to run the case with several "
                   "(e.g. car2013=simsetting.yml --settings-for car2013=simsetting_hasten10.yml)")
    p.add_argument("--reuse", action="store_true", help="re-read finished runs (run.json present) instead of rerunning")
    p.add_argument("--stored-only", action="store_true",
                   help="never start FLEE: re-read finished runs and report the others as missing")
    p.add_argument("--flee-rows-from", type=Path, metavar="CSV",
                   help="take FLEE 3.1's rows from this earlier results table (its run folders being gone); "
                   "do not list flee in --engines then")
    p.add_argument("--nice", type=int, default=19, help="niceness of FLEE's processes")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--check-reader", action="store_true",
                   help="compare our reader of each case with FLEE's own readers, then stop")
    p.add_argument("--check-scorer", action="store_true",
                   help="compare our scores of each finished FLEE run with FLEE's own report, then stop")
    a = p.parse_args(argv)
    engines = [e.strip() for e in a.engines.split(",") if e.strip()]
    unknown = [e for e in engines if e not in ENGINES]
    if a.flee_rows_from is not None and "flee" in engines:
        print("error: --flee-rows-from gives FLEE's rows: drop flee from --engines", file=sys.stderr)
        return 2
    if unknown or a.seeds < 1:
        print(f"error: unknown engine {unknown[0]!r}" if unknown else "error: --seeds must be at least 1",
              file=sys.stderr)
        return 2
    settings = a.settings or a.cases / "simsetting.yml"
    cases = a.case or list(CASES)
    configs: dict[str, list[Path]] = {}
    for item in a.settings_for:
        name, _, yml = item.partition("=")
        configs.setdefault(name, []).append(Path(yml) if Path(yml).is_absolute() else a.cases / yml)
    for name in cases:
        configs.setdefault(name, [settings])
    try:
        if a.check_reader:
            for name in cases:
                print(name, check_reader_against_flee(a.cases / name, configs[name][0]), flush=True)
            return 0
        if a.check_scorer:
            for name in cases:
                for run_dir in sorted([*(a.runs_dir / name).glob("seed*"), *a.runs_dir.glob(f"{name}__*/seed*")]):
                    if not (run_dir / "run.json").is_file():
                        continue
                    run = load_run(run_dir)
                    ours = score(run.sim, read_flee_case(a.cases / name, hasten=_hasten(run_dir / "simsetting.yml"))
                                 .data.camps)
                    theirs = flee_own_report(run_dir)
                    diff = max(abs(getattr(ours, k) - v) for k, v in theirs.items())
                    print(f"{run_dir.parent.name} {run_dir.name}: ours {ours}, FLEE's {theirs}, "
                          f"largest difference {diff:.2e}", flush=True)
            return 0
        reuse: bool | str = "only" if a.stored_only else a.reuse
        rows = run_suite(a.cases, cases, engines, a.seeds, a.runs_dir, configs, reuse, a.nice, a.own_runs_dir)
        if a.flee_rows_from is not None:
            rows = with_stored_rows(rows, read_results(a.flee_rows_from, "flee-3.1"))
    except (ScenarioError, FleeRunError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    write_results(rows, a.out)
    print("\n" + summary_table(rows))
    print(f"\nwrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
