"""Evaluating parameter sets: the loss of an ensemble of runs, computed through the ensemble layer.

- :class:`ObservedValues`: what a calibration keeps of a run — the value of every observation row
  (:func:`~simulation.calibration.loss.run_values`; a :class:`~simulation.sweep.job.Measure`), so that the loss
  of any set of runs can be computed afterwards;
- :class:`Objective`: the loss of a parameter vector over a fixed list of seeds (common random numbers: every
  parameter set sees the same seeds, so differences between parameter sets are not seed noise);
- :class:`Evaluator`: runs ``(x, seed)`` tasks on the sweep's backends (serial, processes, Dask) and store, each
  run once, and scores parameter vectors on any list of seeds from the runs' values: a resumed calibration
  answers from the store what it had already simulated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulation.calibration.loss import DEFAULT_SETTINGS, KINDS, LossSettings, RunValues, ensemble_terms, run_values
from simulation.calibration.observations import CompiledObservations
from simulation.calibration.record import RunRecord
from simulation.scenario import Scenario

if TYPE_CHECKING:
    from simulation.engine.model import ConflictModel

TERMS = ("loss", *KINDS)


@dataclass(frozen=True)
class ObservedValues:
    """The value of every row of ``observations`` in one run (:class:`~simulation.calibration.loss.RunValues`,
    stored as lists of integers)."""

    observations: CompiledObservations

    def columns(self, scenario: Scenario) -> dict[str, str]:
        return {**dict.fromkeys(RunValues.ARRAYS, "object"), "days": "int64"}

    def spec(self) -> dict[str, Any]:
        return {"measure": "observed values", "observations": self.observations.digest()}

    def __call__(self, model: ConflictModel) -> dict[str, Any]:
        return run_values(RunRecord.from_model(model), self.observations).as_lists()


@dataclass(frozen=True)
class Objective:
    """The calibration loss of a parameter vector over the runs of ``seeds`` (picklable).

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
    def measure(self) -> ObservedValues:
        return ObservedValues(self.observations)

    def parameters(self, x: Sequence[float]) -> dict[str, float]:
        return {n: float(v) for n, v in zip(self.names, x)}

    def run(self, x: Sequence[float], seed: int) -> RunValues:
        """The observed values of one run with parameters ``x`` and ``seed``, in this process."""
        from simulation.fingerprint import model_fingerprint
        from simulation.sweep.job import Job

        days = self.scenario.days if self.days is None else int(self.days)
        row = Job(self.scenario, self.measure, days, model_fingerprint()).run_one(self.parameters(x), seed)
        return RunValues.from_lists(row)

    def terms(self, values: Sequence[RunValues]) -> dict[str, float]:
        """The loss terms of the runs ``values``."""
        return ensemble_terms(values, self.observations, self.settings)

    def __call__(self, x: Sequence[float]) -> float:
        return self.terms([self.run(x, s) for s in self.seeds])["loss"]


class Evaluator:
    """Runs simulations ``(x, seed)`` through the ensemble layer, each once, remembering every run's values.

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
        self.cache: dict[str, RunValues] = {}
        self._remember(self.ensemble.results())
        self.simulated = 0

    def _remember(self, frame: Any) -> int:
        for row in frame.to_dict("records"):
            self.cache[row["key"]] = RunValues.from_lists(row)
        return len(frame)

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.ensemble.close()

    def run(self, tasks: Sequence[tuple[Sequence[float], int]]) -> list[RunValues]:
        """The observed values of each ``(x, seed)`` task, in order.

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

    def ensemble_terms(self, xs: Iterable[Sequence[float]], seeds: Sequence[int] | None = None
                       ) -> list[dict[str, float]]:
        """The loss terms of each parameter vector over ``seeds`` (default: the objective's common seeds), the
        runs of all vectors computed as one batch."""
        xs = [tuple(float(v) for v in x) for x in xs]
        seeds = tuple(self.objective.seeds if seeds is None else seeds)
        res = self.run([(x, s) for x in xs for s in seeds])
        k = len(seeds)
        return [self.objective.terms(res[i * k:(i + 1) * k]) for i in range(len(xs))]

    def mean_losses(self, xs: Iterable[Sequence[float]]) -> list[float]:
        """The objective (the loss over the common seeds) of each parameter vector."""
        return [t["loss"] for t in self.ensemble_terms(xs)]

    def mean_terms(self, x: Sequence[float], seeds: Sequence[int] | None = None) -> dict[str, float]:
        """Every loss term of ``x`` over ``seeds`` (default: the common seeds)."""
        return self.ensemble_terms([x], seeds)[0]
