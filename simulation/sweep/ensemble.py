"""The one ensemble layer: many runs of one scenario, each a parameter set and a seed, each computed once.

Sweeps (:func:`simulation.sweep.run_sweep`), the calibration's evaluations, validation and sensitivity all run the
model through :class:`Ensemble`:

- a :class:`Job` says what every run computes: the scenario, the number of days, and a *measure* — what is kept of
  a finished model (a sweep's outcomes, a calibration's loss terms, validation's daily records);
- each run is a :class:`RunTask`: its parameter overrides, its seed and its key
  (:func:`~simulation.sweep.store.run_key`: a hash of the model's fingerprint, the scenario's content, the
  resolved parameter values, the seed, the days and the measure), planned and checked in this process before
  anything is computed;
- a backend (:mod:`~simulation.sweep.backends`: serial, processes, Dask) computes the runs not yet known, in
  batches; each finished batch is written to the store (:class:`~simulation.sweep.store.ResultStore`, Parquet)
  or kept in memory, so an interrupted ensemble resumes without computing any run twice.

A run's numbers depend only on its scenario, parameters, seed and days: not on the backend, the number of
workers, the batch size or the order in which batches finish.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from simulation.fingerprint import model_fingerprint
from simulation.scenario import MAX_DAYS, Scenario
from simulation.sweep.backends import Backend, open_backend
from simulation.sweep.job import Job, Measure, RunTask
from simulation.sweep.store import ResultStore, as_frame, run_key, scenario_fingerprint

if TYPE_CHECKING:
    pass


class Ensemble:
    """Runs of one scenario on a backend, each computed once and kept in a store (or in memory).

    Parameters
    ----------
    scenario : the scenario (possibly a counterfactual or with parameters applied).
    measure : what to keep of each run (see :class:`Measure`).
    days : days per run (default: the scenario's length).
    backend, workers, scheduler, client : where to compute (see :func:`~simulation.sweep.backends.open_backend`).
    store : directory of Parquet batches to write to and resume from; ``None`` keeps results in memory. A store
        written by another version of the model is refused (:class:`~simulation.sweep.store.ForeignStore`).
    batch_size : runs per task (default: about 16 tasks per worker on a process pool, 8 on Dask, at most 50 runs).

    Use it as a context manager (or call :meth:`close`): the backend's workers live until then, so that many
    calls of :meth:`compute` (a calibration's generations) share them.

    Raises
    ------
    ValueError
        Bad arguments (backend, workers, days, batch size).
    """

    def __init__(self, scenario: Scenario, measure: Measure, *, days: int | None = None, backend: str = "serial",
                 workers: int | None = None, scheduler: str | None = None, client: Any = None,
                 store: str | Path | None = None, batch_size: int | None = None):
        if days is not None and not 1 <= int(days) <= MAX_DAYS:
            raise ValueError(f"days={days}: must be between 1 and {MAX_DAYS}")
        if batch_size is not None and int(batch_size) < 1:
            raise ValueError(f"batch_size={batch_size}: need at least one run per batch")
        self.backend: Backend = open_backend(backend, workers, scheduler, client)
        self.scenario = scenario
        self.job = Job(scenario, measure, scenario.days if days is None else int(days), model_fingerprint())
        self.columns = measure.columns(scenario)
        self.batch_size = batch_size
        self._measure_spec = measure.spec()
        self._scenario_hash = scenario_fingerprint(scenario)
        self.store = ResultStore(store, model=self.job.model) if store is not None else None
        if self.store is not None:
            self.store.remove_orphans()  # a killed ensemble's half-written batch
        self._memory: list[pd.DataFrame] = []
        self._known: set[str] = self.store.done_keys() if self.store is not None else set()
        self._started = False

    @property
    def days(self) -> int:
        return self.job.days

    def plan(self, parameters: Mapping[str, float], seed: int, origin: str = "design") -> tuple[RunTask, dict]:
        """The task of one run and its resolved parameter values (the scenario's, with ``parameters`` applied).

        Raises
        ------
        ScenarioError
            An unknown parameter or a value outside its bounds (named with ``origin``).
        """
        resolved = self.scenario.with_parameters(dict(parameters), origin=origin).parameters if parameters \
            else self.scenario.parameters
        key = run_key(self._scenario_hash, resolved, seed, self.job.days, self.job.model, self._measure_spec)
        return RunTask(key, int(seed), dict(parameters)), resolved

    def known(self, key: str) -> bool:
        """Whether the run is stored (or computed in this session)."""
        return key in self._known

    def compute(self, tasks: Iterable[RunTask]) -> Iterator[pd.DataFrame]:
        """Compute the runs of ``tasks`` not known yet; yield each finished batch as a frame, once it is stored.

        Each key is computed once, whatever the number of tasks that share it.
        """
        todo = list({t.key: t for t in tasks if t.key not in self._known}.values())
        if not todo:
            return
        if not self._started:
            self.backend.start(self.job)
            self._started = True
        for records in self.backend.run(self.backend.batches(todo, self.batch_size)):
            frame = as_frame(records, self.columns)
            if self.store is not None:
                self.store.write(frame)
            else:
                self._memory.append(frame)
            self._known.update(frame["key"])
            yield frame

    def results(self, keys: Iterable[str] | None = None) -> pd.DataFrame:
        """The known runs of ``keys`` (each once; ``None``: every known run): ``key``, ``seed``, ``parameters``
        (JSON) and the measure's columns, in no particular order."""
        if self.store is not None:
            return self.store.load(keys, self.columns)
        if not self._memory:
            return as_frame(pd.DataFrame(columns=["key", "seed", "parameters", *self.columns]), self.columns)
        df = pd.concat(self._memory, ignore_index=True)
        if keys is not None:
            df = df[df["key"].isin(set(keys))].reset_index(drop=True)
        return df

    def close(self) -> None:
        """Stop the backend's workers."""
        self.backend.close()

    def __enter__(self) -> Ensemble:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
