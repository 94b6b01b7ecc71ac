"""What every run of an ensemble computes (:class:`Job`), one run (:class:`RunTask`) and what is kept of it
(:class:`Measure`): the plain data an ensemble (:mod:`~simulation.sweep.ensemble`) sends to its backend's workers
(:mod:`~simulation.sweep.backends`)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from simulation.errors import SweepError
from simulation.fingerprint import model_fingerprint
from simulation.scenario import Scenario

if TYPE_CHECKING:
    from simulation.engine.model import ConflictModel


class Measure(Protocol):
    """What an ensemble keeps of each finished run (picklable: it travels to the workers with the job)."""

    def columns(self, scenario: Scenario) -> dict[str, str]:
        """The columns a run gives and their pandas dtypes (``object``: a list of integers)."""
        ...

    def spec(self) -> dict[str, Any]:
        """What the measure depends on besides the run (enters every run's key), as plain JSON data."""
        ...

    def __call__(self, model: ConflictModel) -> dict[str, Any]:
        """The columns of one finished model."""
        ...


@dataclass(frozen=True)
class RunTask:
    """One run: its store key, its model seed and its parameter overrides (the scenario's values elsewhere)."""

    key: str
    seed: int
    parameters: dict[str, float]


@dataclass(frozen=True)
class Job:
    """What every run of an ensemble computes; sent once to each worker.

    ``model`` is the fingerprint of the model code of the process that planned the runs: a worker whose code
    differs refuses to run (its results would be stored under the planner's keys).
    """

    scenario: Scenario
    measure: Measure
    days: int
    model: str

    def run_one(self, parameters: Mapping[str, float], seed: int) -> dict[str, Any]:
        """The measure of the scenario run with ``parameters`` and ``seed``."""
        from simulation.engine.model import ConflictModel

        s = self.scenario.with_parameters(dict(parameters), origin="design") if parameters else self.scenario
        model = ConflictModel(s, seed=int(seed), days=self.days)
        model.run()
        return self.measure(model)

    def run(self, tasks: Sequence[RunTask]) -> list[dict[str, Any]]:
        """Run ``tasks``; one record (key, seed, parameters as JSON, then the measure's columns) per task.

        Raises
        ------
        SweepError
            This worker's model code differs from the code that planned the runs.
        """
        if model_fingerprint() != self.model:
            import socket

            raise SweepError(f"worker on {socket.gethostname()} (pid {os.getpid()}) runs a different version of the "
                             "model code than the process that planned the sweep; install the same version everywhere")
        return [{"key": t.key, "seed": t.seed, "parameters": json.dumps(t.parameters, sort_keys=True),
                 **self.run_one(t.parameters, t.seed)} for t in tasks]
