"""Evaluating parameter sets: the objective over common seeds, computed through the ensemble layer.

- :class:`LossTerms`: what a calibration keeps of a run — the loss terms of
  :func:`~simulation.calibration.loss.run_loss` (a :class:`~simulation.sweep.ensemble.Measure`).
- :class:`Objective`: the loss of a parameter vector, averaged over a fixed list of seeds (common random numbers:
  every parameter set sees the same seeds, so differences between parameter sets are not seed noise).
- :class:`Evaluator`: runs ``(x, seed)`` tasks on the sweep's backends (serial, processes, Dask) and store, each
  run once: a resumed calibration answers from the store what it had already simulated.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from simulation.calibration.loss import DEFAULT_SETTINGS, KINDS, LossSettings, run_loss
from simulation.calibration.observations import CompiledObservations
from simulation.calibration.record import RunRecord
from simulation.scenario import Scenario

if TYPE_CHECKING:
    from simulation.engine.model import ConflictModel

TERMS = ("loss", *KINDS)


@dataclass(frozen=True)
class LossTerms:
    """The loss terms of one run against ``observations`` (``loss``, then one column per kind)."""

    observations: CompiledObservations
    settings: LossSettings = DEFAULT_SETTINGS

    def columns(self, scenario: Scenario) -> dict[str, str]:
        return {t: "float64" for t in TERMS}

    def spec(self) -> dict[str, Any]:
        return {"measure": "loss", "loss_settings": self.settings.as_dict(),
                "observations": self.observations.digest()}

    def __call__(self, model: ConflictModel) -> dict[str, float]:
        return run_loss(RunRecord.from_model(model), self.observations, self.settings)


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

    @property
    def measure(self) -> LossTerms:
        return LossTerms(self.observations, self.settings)

    def parameters(self, x: Sequence[float]) -> dict[str, float]:
        return {n: float(v) for n, v in zip(self.names, x)}

    def run(self, x: Sequence[float], seed: int) -> dict[str, float]:
        """The loss terms of one run with parameters ``x`` and ``seed``, in this process."""
        from simulation.fingerprint import model_fingerprint
        from simulation.sweep.job import Job

        days = self.scenario.days if self.days is None else int(self.days)
        return Job(self.scenario, self.measure, days, model_fingerprint()).run_one(self.parameters(x), seed)

    def __call__(self, x: Sequence[float]) -> float:
        return float(np.mean([self.run(x, s)["loss"] for s in self.seeds]))


class Evaluator:
    """Runs simulations ``(x, seed)`` through the ensemble layer, each once, remembering every result.

    Parameters
    ----------
    objective : what is evaluated.
    workers : processes (``backend`` defaults to ``"serial"`` for one, ``"processes"`` for more).
    store : directory of the runs (Parquet, see :class:`~simulation.sweep.store.ResultStore`); the runs in it are
        read back on construction, so that a resumed calibration simulates nothing twice. ``None``: in memory.
    on_result : called once per simulation asked for (stored or not), e.g. to advance a progress bar.
    backend, scheduler : see :func:`~simulation.sweep.backends.open_backend`.

    Raises
    ------
    ForeignStore
        ``store`` holds runs of another version of the model.
    """

    def __init__(self, objective: Objective, workers: int = 1, store: str | Path | None = None,
                 on_result: Callable[[], None] | None = None, backend: str | None = None,
                 scheduler: str | None = None):
        from simulation.sweep.ensemble import Ensemble

        self.objective = objective
        self.on_result = on_result
        backend = backend or ("serial" if int(workers) <= 1 and scheduler is None else "processes")
        self.ensemble = Ensemble(objective.scenario, objective.measure, days=objective.days, backend=backend,
                                 workers=max(1, int(workers)), scheduler=scheduler, store=store)
        self.cache: dict[str, dict[str, float]] = {}
        self._remember(self.ensemble.results())
        self.simulated = 0

    def _remember(self, frame: Any) -> int:
        for row in frame[["key", *TERMS]].itertuples(index=False):
            self.cache[row[0]] = {t: float(v) for t, v in zip(TERMS, row[1:])}
        return len(frame)

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.ensemble.close()

    def run(self, tasks: Sequence[tuple[Sequence[float], int]]) -> list[dict[str, float]]:
        """The loss terms of each ``(x, seed)`` task, in order.

        Raises
        ------
        ScenarioError
            A parameter value outside its bounds (before anything is simulated).
        """
        planned = [self.ensemble.plan(self.objective.parameters(x), int(s), origin="calibration")[0]
                   for x, s in tasks]
        todo = []
        for t in planned:
            if t.key in self.cache:
                if self.on_result:
                    self.on_result()
            else:
                todo.append(t)
        for frame in self.ensemble.compute(todo):
            n = self._remember(frame)
            self.simulated += n
            if self.on_result:
                for _ in range(n):
                    self.on_result()
        return [self.cache[t.key] for t in planned]

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
