"""Fitting: differential evolution on ensembles over common seeds, a re-scoring of the best, then SMC-ABC.

:func:`calibrate` is the library function (and what ``conflict-sim calibrate`` runs); :func:`fit` does the work
for a given :class:`~simulation.calibration.evaluate.Objective`:

1. :func:`fit_differential_evolution` — ``scipy.optimize.differential_evolution`` over the scenario's ``[fit]``
   bounds, each parameter set scored by the loss of its ensemble over the ``K`` common seeds, with a budget of
   parameter-set evaluations, a seed, a callback and parallel evaluation through
   :class:`~simulation.calibration.evaluate.Evaluator` (the sweep's backends: serial, processes or Dask).
2. :func:`rescore` — the best ``rescore_share`` (10 %) of every parameter set differential evolution scored are
   scored again on ``rescore_seeds`` (40) other seeds, and the best of them by that score is chosen: the
   K-seed score that picked them is biased down by the choice (the winner's curse), the new seeds are not; a
   paired bootstrap over the new seeds says whether the choice is told apart from the next candidate at all,
   and a warm start less than two standard errors above the best is kept (:func:`choose`).
3. :func:`simulation.calibration.abc.smc_abc` — a posterior over the same parameters, the distance of a particle
   being the loss of its ensemble over ``K`` fresh seeds, so that sweeps, the app and validation can show the
   uncertainty of the fit.
4. The chosen vector rounded to 4 significant figures (as the fitted file gives it), and its loss terms.

Interrupting and resuming: every simulation's result is stored (``OUT/store``, Parquet batches of the ensemble
layer) as soon as its batch finishes. Both algorithms are deterministic given their seed, so a resumed
calibration replays the same proposals, answers the ones already simulated from the store, and continues where
it stopped; its result is identical to an uninterrupted run's. A store written by another version of the model
(another :func:`~simulation.fingerprint.model_fingerprint`) is refused.
"""

from __future__ import annotations

import csv
import datetime as dt
import inspect
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import OptimizeResult, differential_evolution
from scipy.stats import qmc

from simulation.calibration.abc import AbcResult, smc_abc
from simulation.calibration.evaluate import Evaluator, Objective
from simulation.calibration.fitted import pressed_bounds, rounded
from simulation.calibration.loss import DEFAULT_SETTINGS, LossSettings
from simulation.calibration.observations import (
    Observations,
    compile_observations,
    load_observations,
    observations_dir,
    split_window,
)
from simulation.scenario import Scenario, load_scenario

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
                               callback: Callable[[OptimizeResult], None] | None = None,
                               evaluated: list[tuple[tuple[float, ...], float]] | None = None,
                               start: np.ndarray | None = None) -> OptimizeResult:
    """Minimise the objective with ``scipy.optimize.differential_evolution``.

    Parameters
    ----------
    evaluator : evaluates a batch of parameter vectors (in parallel, cached).
    bounds : ``[d, 2]`` bounds of the fitted parameters.
    budget : the most parameter-set evaluations (each over the objective's seeds).
    seed : seeds the initial Latin hypercube and the evolution.
    callback : called after every generation with SciPy's intermediate result.
    evaluated : if given, every vector scored and its score are appended to it.
    start : if given, a parameter vector (clipped to the bounds) that replaces the first member of the initial
        population: a warm start from an earlier fit, which the evolution then keeps unless a set scores better
        on the same seeds (DE replaces a member only by a better trial), so the result is never worse than the
        start on the common seeds.

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
    if start is not None:
        init[0] = np.clip(np.asarray(start, dtype=float), bounds[:, 0], bounds[:, 1])

    def mapper(func: Callable, xs: Iterable) -> list[float]:
        xs = [tuple(float(v) for v in x) for x in xs]
        losses = evaluator.mean_losses(xs)
        if evaluated is not None:
            evaluated.extend(zip(xs, losses))
        return losses

    rng_kw = "rng" if "rng" in inspect.signature(differential_evolution).parameters else "seed"
    wrapped = None
    if callback is not None:
        def wrapped(intermediate_result: OptimizeResult) -> None:  # noqa: ANN202 - SciPy inspects the name
            callback(intermediate_result)

    return differential_evolution(evaluator.objective, bounds, maxiter=generations, init=init, tol=0.0,
                                  polish=False, updating="deferred", workers=mapper, callback=wrapped,
                                  **{rng_kw: rng})

# ------------------------------------------------------------------------------------------------------------
# Re-scoring the best


#: Bootstrap resamples of the re-scoring seeds that measure the noise of the re-scored losses.
RESCORE_BOOTSTRAP = 200


def rescore(evaluator: Evaluator, evaluated: list[tuple[tuple[float, ...], float]], share: float,
            seeds: tuple[int, ...], bootstrap: int = RESCORE_BOOTSTRAP,
            keep: tuple[float, ...] | None = None) -> list[dict[str, Any]]:
    """Score again the best ``share`` of the ``evaluated`` ``(x, loss)`` pairs (distinct vectors, at least one)
    on ``seeds``; return them best first by the new score: ``x``, ``loss_common`` (the score that chose them),
    ``terms`` (the new score's terms) and the noise of that score, from ``bootstrap`` resamples of the seeds
    (the same resamples for every candidate, so that differences are paired; the resampling is seeded, so the
    same runs give the same figures): ``loss_se`` (the standard error of the candidate's loss), ``above_best``
    (its loss minus the best one's, 0 for the best) and ``above_best_se`` (the standard error of that
    difference). A candidate less than two ``above_best_se`` above the best one is not told apart from it by
    these seeds. ``keep`` (one of the evaluated vectors, the warm start) is re-scored even if it is not among
    the best ``share``."""
    best: dict[tuple[float, ...], float] = {}
    for x, loss in evaluated:
        best[x] = min(loss, best.get(x, np.inf))
    ranked = sorted(best.items(), key=lambda kv: (kv[1], kv[0]))
    top = ranked[:max(1, int(round(share * len(ranked))))]
    if keep is not None and keep in best and all(x != keep for x, _ in top):
        top.append((keep, best[keep]))
    k = len(seeds)
    runs = evaluator.run([(x, s) for x, _ in top for s in seeds])
    per = [runs[i * k:(i + 1) * k] for i in range(len(top))]
    terms = [evaluator.objective.terms(r) for r in per]
    order = sorted(range(len(top)), key=lambda i: (terms[i]["loss"], top[i][1]))
    draws = np.random.default_rng(0).integers(0, k, size=(max(2, int(bootstrap)), k))
    boot = np.array([[evaluator.objective.terms([r[j] for j in row])["loss"] for row in draws] for r in per])
    b = order[0]
    return [{"x": list(top[i][0]), "loss_common": float(top[i][1]), "terms": terms[i],
             "loss_se": float(boot[i].std(ddof=1)),
             "above_best": float(terms[i]["loss"] - terms[b]["loss"]),
             "above_best_se": float((boot[i] - boot[b]).std(ddof=1))} for i in order]


def choose(rescored: list[dict[str, Any]], start: tuple[float, ...] | None) -> int:
    """The index of the re-scored candidate (best first, see :func:`rescore`) the calibration chooses: the best,
    unless the warm ``start`` is among them less than two standard errors of the paired difference above it
    (the re-scoring seeds do not tell them apart), when the start is kept: a new fit moves the shipped
    parameters only for a difference its seeds can see."""
    if start is not None:
        for i, r in enumerate(rescored):
            if tuple(r["x"]) == tuple(start):
                return i if r["above_best"] < 2.0 * r["above_best_se"] else 0
    return 0


def particle_seeds(seed: int, k: int) -> list[int]:
    """The ``k`` model seeds of one ABC particle, derived from the particle's seed."""
    return [int(v) for v in np.random.SeedSequence(int(seed)).generate_state(k, dtype=np.uint32)]


# ------------------------------------------------------------------------------------------------------------
# The whole calibration


@dataclass
class CalibrationResult:
    """What a calibration found (SciPy-like: the attributes a user needs afterwards).

    Attributes
    ----------
    names : fitted parameters.
    x : the chosen parameter vector (the best after re-scoring, or the warm start within noise of it: see
        :func:`choose`).
    terms : its loss terms on the re-scoring seeds.
    fitted : ``x`` rounded to 4 significant figures (what the fitted file gives).
    fitted_terms : the loss terms of ``fitted`` on the re-scoring seeds (what a user of the file gets).
    fitted_terms_common : the same on the common seeds.
    de : SciPy's result of differential evolution (``de.x``: its best on the common seeds).
    rescored : the re-scored candidates, best first (see :func:`rescore`).
    abc : the SMC-ABC posterior.
    simulations : model runs simulated in this call (the rest came from the store).
    bounds : ``[d, 2]`` bounds of the fitted parameters.
    seeds : the common seeds.
    rescore_seeds : the re-scoring seeds.
    pressed : parameters whose estimate or posterior presses on a bound (see
        :func:`~simulation.calibration.fitted.pressed_bounds`).
    settings : what was recorded in ``progress.json``.
    """

    names: tuple[str, ...]
    x: np.ndarray
    terms: dict[str, float]
    fitted: np.ndarray
    fitted_terms: dict[str, float]
    fitted_terms_common: dict[str, float]
    de: OptimizeResult
    rescored: list[dict[str, Any]]
    abc: AbcResult
    simulations: int
    bounds: np.ndarray
    seeds: tuple[int, ...]
    rescore_seeds: tuple[int, ...]
    pressed: dict[str, str] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def parameters(self) -> dict[str, float]:
        """The chosen parameter values."""
        return {n: float(v) for n, v in zip(self.names, self.x)}

    @property
    def fitted_parameters(self) -> dict[str, float]:
        """The rounded chosen values, as the fitted-parameters file gives them."""
        return {n: float(v) for n, v in zip(self.names, self.fitted)}


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def rescore_seeds_of(seed: int, n: int) -> tuple[int, ...]:
    """The re-scoring seeds of a calibration seeded ``seed``: ``seed * 1000 + 500 + k`` (the common seeds are
    ``seed * 1000 + k``, ``k`` below 500)."""
    return tuple(seed * 1000 + 500 + k for k in range(n))


def abc_evaluations(abc_budget: int, k: int) -> int:
    """Particle evaluations an ABC budget of ``abc_budget`` runs allows with ``k`` runs each."""
    return abc_budget // max(1, k)


def fit(objective: Objective, bounds: np.ndarray, out: Path | None, budget: int, seed: int, workers: int = 1,
        abc_budget: int | None = None, particles: int | None = None, progress: bool = True,
        settings: dict[str, Any] | None = None, backend: str | None = None, scheduler: str | None = None,
        callback: Callable[[OptimizeResult], None] | None = None, rescore_seeds: tuple[int, ...] | None = None,
        rescore_share: float = 0.1, start: np.ndarray | None = None) -> CalibrationResult:
    """Fit with differential evolution, re-score the best, then sample the SMC-ABC posterior; record everything
    in ``out``.

    Parameters
    ----------
    objective : the loss over the common seeds (``K = len(objective.seeds)`` runs per parameter set).
    bounds : ``[d, 2]`` bounds of ``objective.names``.
    out : directory for ``store/`` (every run), ``progress.json``, ``de.json``, ``rescored.json`` and
        ``posterior.csv`` (created if missing; the runs already in its store are reused); ``None``: nothing is
        written, runs stay in memory.
    budget : parameter-set evaluations for differential evolution (each ``K`` runs).
    seed : seeds differential evolution and SMC-ABC.
    workers : processes evaluating in parallel (backend ``"processes"`` when more than one).
    abc_budget : model runs for SMC-ABC (default ``K * budget // 2``); each particle evaluation is ``K`` runs.
    particles : SMC-ABC population (default ``min(100, evaluations // 4)``).
    progress : show a progress bar on stderr.
    settings : recorded in ``progress.json``.
    backend, scheduler : where runs are computed (see :func:`simulation.sweep.backends.open_backend`).
    callback : called after every DE generation, the re-scoring and every ABC step with an ``OptimizeResult``:
        ``phase`` (``"differential_evolution"``, ``"rescore"`` or ``"abc"``) and that step's entry of
        ``progress.json``.
    rescore_seeds : the seeds the best are scored again on (default: 40, :func:`rescore_seeds_of`).
    rescore_share : share of the evaluated parameter sets re-scored.
    start : a warm start for differential evolution (see :func:`fit_differential_evolution`).

    Returns
    -------
    CalibrationResult

    Raises
    ------
    ForeignStore
        ``out``'s store holds runs of another version of the model.
    """
    from tqdm import tqdm

    k = len(objective.seeds)
    abc_budget = k * budget // 2 if abc_budget is None else abc_budget
    evaluations = abc_evaluations(abc_budget, k)
    particles = min(100, max(4, evaluations // 4)) if particles is None else particles
    rescore_seeds = rescore_seeds_of(seed, 40) if rescore_seeds is None else tuple(rescore_seeds)
    pop, gens = de_schedule(budget, len(objective.names))
    de_sims = pop * (gens + 1) * k
    n_rescore = max(1, int(round(rescore_share * pop * (gens + 1))))
    started = time.time()
    state: dict[str, Any] = {"settings": settings or {}, "phase": "differential_evolution",
                             "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                             "differential_evolution": {"population": pop, "generations": gens + 1,
                                                        "seeds": k, "history": []},
                             "rescore": {"seeds": len(rescore_seeds)},
                             "abc": {"history": [], "seeds": k}}
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)

    def record(phase: str, step: dict[str, Any]) -> None:
        if out is not None:
            _write_json(out / "progress.json", state)
        if callback is not None:
            callback(OptimizeResult(phase=phase, **step))

    # The last term: the rounded choice scored on the re-scoring and the common seeds.
    bar = tqdm(total=de_sims + n_rescore * len(rescore_seeds) + evaluations * k + len(rescore_seeds) + k,
               desc="calibrate", unit="run", file=sys.stderr, disable=not progress, smoothing=0.05)
    evaluated: list[tuple[tuple[float, ...], float]] = []
    with Evaluator(objective, workers, None if out is None else out / "store", on_result=lambda: bar.update(1),
                   backend=backend, scheduler=scheduler) as ev:
        def de_progress(res: OptimizeResult) -> None:
            h = state["differential_evolution"]["history"]
            h.append({"generation": len(h) + 1, "nfev": int(res.get("nfev", 0)), "best_loss": float(res.fun),
                      "best": objective.parameters(res.x), "elapsed_s": round(time.time() - started, 1)})
            bar.set_postfix(best=f"{float(res.fun):.3f}")
            record("differential_evolution", h[-1])

        de = fit_differential_evolution(ev, bounds, budget, seed, callback=de_progress, evaluated=evaluated,
                                        start=start)
        if out is not None:
            _write_json(out / "de.json", {"x": objective.parameters(de.x), "fun": float(de.fun),
                                          "nfev": int(de.nfev), "nit": int(de.nit), "message": str(de.message),
                                          "population": np.asarray(de.population).tolist(),
                                          "population_energies": np.asarray(de.population_energies).tolist()})
        state["phase"] = "rescore"
        kept = None if start is None or not evaluated else evaluated[0][0]  # the start is the first set scored
        rescored = rescore(ev, evaluated, rescore_share, rescore_seeds, keep=kept)
        pick = choose(rescored, kept)
        for i, r in enumerate(rescored):
            r["chosen"] = i == pick
        chosen = np.array(rescored[pick]["x"])
        state["rescore"].update({"candidates": len(rescored), "best_loss": rescored[0]["terms"]["loss"],
                                 "chosen_loss": rescored[pick]["terms"]["loss"],
                                 "choice": "best" if pick == 0 else "start, within noise of the best",
                                 "best": objective.parameters(chosen), "elapsed_s": round(time.time() - started, 1)})
        if out is not None:
            _write_json(out / "rescored.json", {"seeds": list(rescore_seeds), "candidates": [
                {**r, "x": objective.parameters(r["x"])} for r in rescored]})
        record("rescore", state["rescore"])
        state["phase"] = "abc"

        def distances(x: np.ndarray, seeds: np.ndarray) -> np.ndarray:
            runs = ev.run([(tuple(row), s) for row, p in zip(x, seeds) for s in particle_seeds(p, k)])
            return np.array([objective.terms(runs[i * k:(i + 1) * k])["loss"] for i in range(len(x))])

        def abc_progress(step: dict[str, float]) -> None:
            state["abc"]["history"].append({**step, "elapsed_s": round(time.time() - started, 1)})
            bar.set_postfix(eps=f"{step['epsilon']:.3f}", acc=f"{step['acceptance']:.2f}")
            record("abc", state["abc"]["history"][-1])

        abc = smc_abc(distances, bounds, particles, evaluations, np.random.default_rng([seed, 1]),
                      callback=abc_progress)
        best = rounded(chosen)
        best_terms = ev.mean_terms(best, rescore_seeds)
        best_common = ev.mean_terms(best)
        simulated = ev.simulated
    bar.close()
    if out is not None:
        with (out / "posterior.csv").open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow([*objective.names, "distance"])
            for row, dist in zip(abc.particles, abc.distances):
                w.writerow([*(repr(float(v)) for v in row), repr(float(dist))])
    state["phase"] = "done"
    state["abc"].update({"particles": particles, "epsilon": abc.epsilon, "evaluations": abc.simulations,
                         "runs": abc.simulations * k})
    state["elapsed_s"] = round(time.time() - started, 1)
    if out is not None:
        _write_json(out / "progress.json", state)
    bounds = np.asarray(bounds, dtype=float)
    return CalibrationResult(names=objective.names, x=chosen, terms=rescored[pick]["terms"], fitted=best,
                             fitted_terms=best_terms, fitted_terms_common=best_common, de=de, rescored=rescored,
                             abc=abc, simulations=simulated, bounds=bounds, seeds=tuple(objective.seeds),
                             rescore_seeds=rescore_seeds,
                             pressed=pressed_bounds(objective.names, best, abc.particles, bounds),
                             settings=settings or {})


def calibrate(scenario: Scenario | str | Path, observations: Observations | str | Path | None = None, *,
              budget: int = 800, seed: int = 1, seeds: int = 10, abc_budget: int | None = None,
              particles: int | None = None, rescore_seeds: int = 40, rescore_share: float = 0.1,
              workers: int = 1, backend: str | None = None,
              scheduler: str | None = None, out: str | Path | None = None,
              callback: Callable[[OptimizeResult], None] | None = None, progress: bool = False,
              settings: LossSettings = DEFAULT_SETTINGS, days: int | None = None,
              record: dict[str, Any] | None = None, start: dict[str, float] | None = None) -> CalibrationResult:
    """Fit the scenario's ``[fit]`` parameters to the observations of the calibration split.

    Differential evolution on ensembles over common seeds, a re-scoring of the best on other seeds, then an
    SMC-ABC posterior (see the module notes and ``calibration/README.md``).

    Parameters
    ----------
    scenario : a scenario directory (loaded *without* its fitted-parameters file) or a loaded scenario.
    observations : the observation tables (or their directory); default: those ``scenario.toml`` names.
    budget : parameter-set evaluations for differential evolution (each ``seeds`` runs).
    seed : seeds the optimiser, the ABC and the common seeds (``seed * 1000 + k``, ``k < seeds``).
    seeds : model seeds per parameter set (``K``), the same for every set (common random numbers).
    abc_budget : model runs for SMC-ABC (default ``seeds * budget // 2``), ``seeds`` per particle evaluation.
    particles : SMC-ABC population (default ``min(100, abc_budget // seeds // 4)``).
    rescore_seeds : seeds the best ``rescore_share`` of the evaluated sets are scored again on.
    rescore_share : share of the evaluated parameter sets re-scored.
    workers, backend, scheduler : where runs are computed (serial for one worker, else a process pool; or Dask).
    out : directory of the store, ``progress.json``, ``de.json``, ``rescored.json`` and ``posterior.csv``; runs
        already in its store are reused (a resumed calibration computes only the rest); ``None``: in memory.
    callback : called after every DE generation, the re-scoring and every ABC step (see :func:`fit`).
    progress : show a progress bar on stderr.
    settings : constants of the loss.
    days : days per run (default: the scenario's length).
    record : recorded in ``progress.json`` (the command line records its settings).
    start : a warm start, ``{name: value}`` for every fitted parameter (an earlier fit's): the first member of
        differential evolution's initial population (see :func:`fit_differential_evolution`).

    Returns
    -------
    CalibrationResult
        ``fitted_parameters`` are what the fitted file gives; ``abc.quantiles()`` the posterior's spread.

    Raises
    ------
    ScenarioError
        The scenario has no ``[fit]`` table, names no observations, or an observation names what it lacks.
    ValueError
        No calibration observation is used, or a budget is too small.

    Examples
    --------
    >>> from simulation import calibrate
    >>> res = calibrate("scenarios/iraq_june_2014", budget=50, workers=2)  # doctest: +SKIP
    >>> res.fitted_parameters, res.fitted_terms["loss"]  # doctest: +SKIP
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, use_fitted=False)
    if not scenario.fit_bounds:
        raise ValueError(f"{scenario.path}/scenario.toml: no [fit] table, so no parameter to fit")
    if not isinstance(observations, Observations):
        observations = load_observations(observations_dir(scenario.path, observations))
    window = split_window(observations, scenario, "calibration")
    compiled = compile_observations(observations.select(split="calibration"), scenario, window=window)
    if len(compiled) == 0:
        raise ValueError(f"{observations.path}: no used calibration rows")
    if budget < 10:
        raise ValueError(f"budget={budget}: must be at least 10")
    names = tuple(scenario.fit_bounds)
    bounds = np.array([scenario.fit_bounds[n] for n in names])
    objective = Objective(scenario, compiled, names, tuple(seed * 1000 + k for k in range(seeds)), settings, days)
    x0 = None
    if start is not None:
        missing = [n for n in names if n not in start]
        if missing:
            raise ValueError(f"start: no value for {', '.join(missing)}")
        x0 = np.array([float(start[n]) for n in names])
    return fit(objective, bounds, None if out is None else Path(out), budget, seed, workers=workers,
               abc_budget=abc_budget, particles=particles, progress=progress, settings=record, backend=backend,
               scheduler=scheduler, callback=callback, rescore_seeds=rescore_seeds_of(seed, rescore_seeds),
               rescore_share=rescore_share, start=x0)
