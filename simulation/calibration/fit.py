"""Fitting: the objective over seeds, a cached parallel evaluator, differential evolution, then SMC-ABC.

:func:`calibrate` is what ``conflict-sim calibrate`` runs:

1. :class:`Objective` — the loss of a parameter set, averaged over a fixed list of seeds (common random numbers:
   every parameter set sees the same seeds, so differences between parameter sets are not seed noise).
2. :func:`fit_differential_evolution` — ``scipy.optimize.differential_evolution`` over the scenario's ``[fit]``
   bounds, with a budget of parameter-set evaluations, a seed, a callback writing ``progress.json`` and
   parallel evaluation through :class:`Evaluator` (a process pool).
3. :func:`simulation.calibration.abc.smc_abc` — a posterior over the same parameters (distance: the loss of one
   run with a fresh seed), so that sweeps and the app can show the uncertainty of the fit.

Interrupting and resuming: every simulation's result is appended to ``evaluations.csv`` in the output
directory as soon as it arrives. Both algorithms are deterministic given their seed, so a resumed calibration
replays the same proposals, answers the ones already simulated from that file, and continues where it stopped;
its result is identical to an uninterrupted run's.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import inspect
import json
import math
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import OptimizeResult, differential_evolution
from scipy.stats import qmc

from simulation.calibration.abc import AbcResult, smc_abc
from simulation.calibration.loss import DEFAULT_SETTINGS, KINDS, LossSettings, run_loss
from simulation.calibration.observations import CompiledObservations
from simulation.calibration.parallel import start_pool
from simulation.calibration.record import RunRecord
from simulation.scenario import Scenario

TERMS = ("loss", *KINDS)


@dataclass(frozen=True)
class Objective:
    """The calibration loss of a parameter vector, averaged over ``seeds`` (picklable).

    Parameters
    ----------
    scenario : the scenario, loaded without its fitted-parameters file.
    observations : the compiled calibration observations.
    names : the fitted parameters, in the order of the vector.
    seeds : the common random numbers: the same seeds for every parameter vector.
    settings : constants of the loss.
    days : days to simulate (default: the scenario's length).
    """

    scenario: Scenario
    observations: CompiledObservations
    names: tuple[str, ...]
    seeds: tuple[int, ...]
    settings: LossSettings = DEFAULT_SETTINGS
    days: int | None = None

    def parameters(self, x: Sequence[float]) -> dict[str, float]:
        return {n: float(v) for n, v in zip(self.names, x)}

    def run(self, x: Sequence[float], seed: int) -> dict[str, float]:
        """The loss terms of one run with parameters ``x`` and ``seed``."""
        from simulation.engine.model import ConflictModel

        model = ConflictModel(self.scenario, seed=int(seed), days=self.days, **self.parameters(x)).run()
        return run_loss(RunRecord.from_model(model), self.observations, self.settings)

    def __call__(self, x: Sequence[float]) -> float:
        return float(np.mean([self.run(x, s)["loss"] for s in self.seeds]))


# ------------------------------------------------------------------------------------------------------------
# Parallel, cached evaluation

_WORKER_OBJECTIVE: Objective | None = None


def _init_worker(objective: Objective) -> None:
    global _WORKER_OBJECTIVE
    _WORKER_OBJECTIVE = objective
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and shuts the pool down


def _run_task(task: tuple[tuple[float, ...], int]) -> dict[str, float]:
    assert _WORKER_OBJECTIVE is not None
    return _WORKER_OBJECTIVE.run(task[0], task[1])


def _key(x: Iterable[float], seed: int) -> tuple[tuple[float, ...], int]:
    return tuple(float(v) for v in x), int(seed)


class Evaluator:
    """Runs simulations ``(x, seed)`` in a pool of ``workers`` processes, remembering every result.

    Results are appended to ``cache_path`` (CSV) as they arrive and read back on construction, so that a
    resumed calibration does not simulate anything twice. ``on_result`` is called once per simulation
    (cached or not), e.g. to advance a progress bar.
    """

    def __init__(self, objective: Objective, workers: int = 1, cache_path: Path | None = None,
                 on_result: Callable[[], None] | None = None):
        self.objective = objective
        self.workers = max(1, int(workers))
        self.cache_path = cache_path
        self.on_result = on_result
        self.cache: dict[tuple[tuple[float, ...], int], dict[str, float]] = {}
        self.simulated = 0
        self._pool: ProcessPoolExecutor | None = None
        self._file = None
        if cache_path is not None:
            if cache_path.is_file():
                self._read_cache(cache_path)
            new = not cache_path.is_file()
            self._file = cache_path.open("a", encoding="utf-8", newline="")
            self._writer = csv.writer(self._file, lineterminator="\n")
            if new:
                self._writer.writerow(["seed", *objective.names, *TERMS])
                self._file.flush()

    def _read_cache(self, path: Path) -> None:
        d = len(self.objective.names)
        with path.open(encoding="utf-8", newline="") as f:
            rows = csv.reader(f)
            header = next(rows, None)
            if header != ["seed", *self.objective.names, *TERMS]:
                raise ValueError(f"{path}: its columns do not match the fitted parameters")
            for row in rows:
                if len(row) != 1 + d + len(TERMS):
                    continue  # a line cut short by an interruption
                x = tuple(float(v) for v in row[1:1 + d])
                self.cache[_key(x, int(row[0]))] = dict(zip(TERMS, (float(v) for v in row[1 + d:])))

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._file is not None:
            self._file.close()
            self._file = None

    def _remember(self, key: tuple[tuple[float, ...], int], result: dict[str, float]) -> None:
        self.cache[key] = result
        self.simulated += 1
        if self._file is not None:
            self._writer.writerow([key[1], *(repr(v) for v in key[0]), *(repr(result[t]) for t in TERMS)])
            self._file.flush()

    def run(self, tasks: Sequence[tuple[Sequence[float], int]]) -> list[dict[str, float]]:
        """The loss terms of each ``(x, seed)`` task, in order."""
        keys = [_key(x, s) for x, s in tasks]
        todo = list(dict.fromkeys(k for k in keys if k not in self.cache))
        for k in keys:
            if k in self.cache and self.on_result:
                self.on_result()
        if todo:
            if self.workers == 1:
                results: Iterable[dict[str, float]] = (self.objective.run(*k) for k in todo)
            else:
                if self._pool is None:
                    self._pool = start_pool(self.workers, initializer=_init_worker, initargs=(self.objective,))
                chunk = max(1, min(8, len(todo) // (4 * self.workers)))
                results = self._pool.map(_run_task, todo, chunksize=chunk)
            for k, r in zip(todo, results):
                self._remember(k, r)
                if self.on_result:
                    self.on_result()
        return [self.cache[k] for k in keys]

    def mean_losses(self, xs: Iterable[Sequence[float]]) -> list[float]:
        """The objective (loss averaged over the common seeds) of each parameter vector."""
        xs = [tuple(float(v) for v in x) for x in xs]
        seeds = self.objective.seeds
        res = self.run([(x, s) for x in xs for s in seeds])
        k = len(seeds)
        return [float(np.mean([r["loss"] for r in res[i * k:(i + 1) * k]])) for i in range(len(xs))]

    def mean_terms(self, x: Sequence[float]) -> dict[str, float]:
        """Every loss term of ``x``, averaged over the common seeds."""
        res = self.run([(x, s) for s in self.objective.seeds])
        return {t: float(np.nanmean([r[t] for r in res])) if not all(math.isnan(r[t]) for r in res)
                else float("nan") for t in TERMS}


# ------------------------------------------------------------------------------------------------------------
# Differential evolution


def de_schedule(budget: int, dim: int) -> tuple[int, int]:
    """Population size and generations after the first for a budget of parameter-set evaluations.

    The population is ``budget // 10`` (so that about nine generations follow the first: on a small budget,
    generations matter more than a large population) but at most SciPy's default ``15 * dim`` and at least 5.
    """
    pop = max(5, min(15 * dim, budget // 10))
    return pop, max(0, budget // pop - 1)


def fit_differential_evolution(evaluator: Evaluator, bounds: np.ndarray, budget: int, seed: int,
                               callback: Callable[[OptimizeResult], None] | None = None) -> OptimizeResult:
    """Minimise the objective with ``scipy.optimize.differential_evolution``.

    Parameters
    ----------
    evaluator : evaluates a batch of parameter vectors (in parallel, cached).
    bounds : ``[d, 2]`` bounds of the fitted parameters.
    budget : the most parameter-set evaluations (each over the objective's seeds).
    seed : seeds the initial Latin hypercube and the evolution.
    callback : called after every generation with SciPy's intermediate result.

    Returns
    -------
    OptimizeResult
        SciPy's result (``x``, ``fun``, ``nit``, ``nfev``, ``population``, ``population_energies``).

    Notes
    -----
    ``updating='deferred'``: every generation is evaluated as one batch, which is what makes parallel evaluation
    and exact replay (resume) possible; ``polish=False``: gradient polishing means nothing on a stochastic
    objective; ``tol=0``: the whole budget is spent (the loss is noisy, so an early "convergence" is seed noise).
    """
    bounds = np.asarray(bounds, dtype=float)
    dim = len(bounds)
    pop, generations = de_schedule(budget, dim)
    rng = np.random.default_rng(seed)
    init = qmc.scale(qmc.LatinHypercube(d=dim, rng=rng).random(pop) if "rng" in inspect.signature(
        qmc.LatinHypercube).parameters else qmc.LatinHypercube(d=dim, seed=rng).random(pop),
        bounds[:, 0], bounds[:, 1])

    def mapper(func: Callable, xs: Iterable) -> list[float]:
        return evaluator.mean_losses(xs)

    rng_kw = "rng" if "rng" in inspect.signature(differential_evolution).parameters else "seed"
    wrapped = None
    if callback is not None:
        def wrapped(intermediate_result: OptimizeResult) -> None:  # noqa: ANN202 - SciPy inspects the name
            callback(intermediate_result)

    return differential_evolution(evaluator.objective, bounds, maxiter=generations, init=init, tol=0.0,
                                  polish=False, updating="deferred", workers=mapper, callback=wrapped,
                                  **{rng_kw: rng})


# ------------------------------------------------------------------------------------------------------------
# The whole calibration


@dataclass
class CalibrationResult:
    """What ``conflict-sim calibrate`` produces.

    Attributes
    ----------
    names : fitted parameters.
    x : the best parameter vector differential evolution found.
    terms : its loss terms, averaged over the common seeds.
    de : SciPy's result.
    abc : the SMC-ABC posterior.
    simulations : model runs simulated in this process (the rest came from the cache).
    """

    names: tuple[str, ...]
    x: np.ndarray
    terms: dict[str, float]
    de: OptimizeResult
    abc: AbcResult
    simulations: int
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def parameters(self) -> dict[str, float]:
        return {n: float(v) for n, v in zip(self.names, self.x)}


def fingerprint(paths: Iterable[Path]) -> str:
    """SHA-256 over the bytes of ``paths`` (sorted): tells a resumed calibration whether anything changed."""
    h = hashlib.sha256()
    for p in sorted(Path(x) for x in paths):
        h.update(str(p.name).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def calibrate(objective: Objective, bounds: np.ndarray, out: Path, budget: int, seed: int, workers: int = 1,
              abc_budget: int | None = None, particles: int | None = None, progress: bool = True,
              settings: dict[str, Any] | None = None) -> CalibrationResult:
    """Fit with differential evolution, then sample the SMC-ABC posterior; record everything in ``out``.

    Parameters
    ----------
    objective : the loss over the common seeds.
    bounds : ``[d, 2]`` bounds of ``objective.names``.
    out : directory for ``evaluations.csv`` (the cache), ``progress.json``, ``de.json`` and ``posterior.csv``;
        it must exist.
    budget : parameter-set evaluations for differential evolution (each ``len(objective.seeds)`` runs).
    seed : seeds differential evolution and SMC-ABC.
    workers : processes evaluating in parallel.
    abc_budget : simulations for SMC-ABC (default ``budget``).
    particles : SMC-ABC population (default ``min(200, abc_budget // 4)``).
    progress : show a progress bar on stderr.
    settings : recorded in ``progress.json``.

    Returns
    -------
    CalibrationResult
    """
    from tqdm import tqdm

    abc_budget = budget if abc_budget is None else abc_budget
    particles = min(200, max(4, abc_budget // 4)) if particles is None else particles
    pop, gens = de_schedule(budget, len(objective.names))
    de_sims = pop * (gens + 1) * len(objective.seeds)
    started = time.time()
    state: dict[str, Any] = {"settings": settings or {}, "phase": "differential_evolution",
                             "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                             "differential_evolution": {"population": pop, "generations": gens + 1,
                                                        "history": []},
                             "abc": {"history": []}}
    bar = tqdm(total=de_sims + abc_budget, desc="calibrate", unit="run", file=sys.stderr,
               disable=not progress, smoothing=0.05)
    with Evaluator(objective, workers, out / "evaluations.csv", on_result=lambda: bar.update(1)) as ev:
        def de_progress(res: OptimizeResult) -> None:
            h = state["differential_evolution"]["history"]
            h.append({"generation": len(h) + 1, "nfev": int(res.get("nfev", 0)), "best_loss": float(res.fun),
                      "best": objective.parameters(res.x), "elapsed_s": round(time.time() - started, 1)})
            bar.set_postfix(best=f"{float(res.fun):.3f}")
            _write_json(out / "progress.json", state)

        de = fit_differential_evolution(ev, bounds, budget, seed, callback=de_progress)
        terms = ev.mean_terms(de.x)
        _write_json(out / "de.json", {"x": objective.parameters(de.x), "fun": float(de.fun), "terms": terms,
                                      "nfev": int(de.nfev), "nit": int(de.nit), "message": str(de.message),
                                      "population": np.asarray(de.population).tolist(),
                                      "population_energies": np.asarray(de.population_energies).tolist()})
        state["phase"] = "abc"
        _write_json(out / "progress.json", state)

        def distances(x: np.ndarray, seeds: np.ndarray) -> np.ndarray:
            res = ev.run([(tuple(row), int(s)) for row, s in zip(x, seeds)])
            return np.array([r["loss"] for r in res])

        def abc_progress(step: dict[str, float]) -> None:
            state["abc"]["history"].append({**step, "elapsed_s": round(time.time() - started, 1)})
            bar.set_postfix(eps=f"{step['epsilon']:.3f}", acc=f"{step['acceptance']:.2f}")
            _write_json(out / "progress.json", state)

        abc = smc_abc(distances, bounds, particles, abc_budget, np.random.default_rng([seed, 1]),
                      callback=abc_progress)
        simulated = ev.simulated
    bar.close()
    with (out / "posterior.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow([*objective.names, "distance"])
        for row, dist in zip(abc.particles, abc.distances):
            w.writerow([*(repr(float(v)) for v in row), repr(float(dist))])
    state["phase"] = "done"
    state["abc"].update({"particles": particles, "epsilon": abc.epsilon, "simulations": abc.simulations})
    state["elapsed_s"] = round(time.time() - started, 1)
    _write_json(out / "progress.json", state)
    return CalibrationResult(names=objective.names, x=np.asarray(de.x), terms=terms, de=de, abc=abc,
                             simulations=simulated, settings=settings or {})


# ------------------------------------------------------------------------------------------------------------
# The fitted-parameters file


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return repr(v) if math.isfinite(v) else ("nan" if math.isnan(v) else ("inf" if v > 0 else "-inf"))
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(str(v), ensure_ascii=False)  # a TOML basic string is a JSON string


def fitted_file_text(names: Sequence[str], x: Sequence[float], posterior: AbcResult, meta: dict[str, Any],
                     bounds: np.ndarray, digits: int = 4) -> str:
    """The fitted-parameters file: ``[parameters]`` (what the loader applies) and ``[fit]`` (how they were
    found: loss, date, command, seed, budget, bounds and the posterior's median and 90 % interval).

    Parameter values are rounded to ``digits`` significant figures (record the loss of the rounded values in
    ``meta``: that is what a user of the file gets).
    """
    lines = ["# Fitted parameters, written by `conflict-sim calibrate` (see calibration/README.md).",
             "# The scenario loader reads only [parameters]; [fit] records how they were found.", "",
             "[parameters]"]
    for name, v in zip(names, x):
        lines.append(f"{name} = {_toml_value(float(f'{v:.{digits}g}'))}")
    lines += ["", "[fit]"]
    for k, v in meta.items():
        lines.append(f"{k} = {_toml_value(v)}")
    lines += ["", "[fit.bounds]"]
    for name, (lo, hi) in zip(names, bounds):
        lines.append(f"{name} = {_toml_value([float(lo), float(hi)])}")
    q = posterior.quantiles((0.05, 0.5, 0.95))
    for j, name in enumerate(names):
        lines += ["", f"[fit.posterior.{name}]",
                  f"median = {_toml_value(float(f'{q[1, j]:.{digits}g}'))}",
                  f"low90 = {_toml_value(float(f'{q[0, j]:.{digits}g}'))}",
                  f"high90 = {_toml_value(float(f'{q[2, j]:.{digits}g}'))}"]
    return "\n".join(lines) + "\n"


def rounded(x: Sequence[float], digits: int = 4) -> np.ndarray:
    """``x`` rounded to ``digits`` significant figures (as written in the fitted file)."""
    return np.array([float(f"{v:.{digits}g}") for v in x])


def load_posterior(path: str | Path) -> dict[str, np.ndarray]:
    """The SMC-ABC particles written by :func:`calibrate` (``posterior.csv``): parameter name → samples.

    Sweeps and the app draw parameter sets from these rows (each row is one equally weighted particle).
    """
    with Path(path).open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header, data = rows[0], np.array(rows[1:], dtype=float).reshape(len(rows) - 1, len(rows[0]))
    return {name: data[:, j] for j, name in enumerate(header) if name != "distance"}
