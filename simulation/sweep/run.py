"""``run_sweep``: every parameter set of a design with every replicate seed, one row of outcomes per run.

Replicate ``r`` runs with the seed :func:`run_seed` derives from the sweep seed, the same for every parameter set
(common random numbers). The runs go through the ensemble layer (:class:`~simulation.sweep.ensemble.Ensemble`);
what a sweep keeps of each run is :class:`Outcomes` (:mod:`simulation.runs.outcomes`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simulation.errors import SweepError
from simulation.runs.outcomes import key_places as choose_key_places
from simulation.runs.outcomes import outcome_dtypes, run_outcomes
from simulation.scenario import Scenario, load_scenario
from simulation.sweep.designs import Design, as_design
from simulation.sweep.ensemble import Ensemble

if TYPE_CHECKING:
    from simulation.engine.model import ConflictModel


def run_seed(sweep_seed: int, replicate: int) -> int:
    """The model seed of replicate ``replicate``: from the ``replicate``-th child of ``SeedSequence(sweep_seed)``.

    Examples
    --------
    >>> run_seed(0, 3) == run_seed(0, 3) != run_seed(0, 4)
    True
    """
    child = np.random.SeedSequence(int(sweep_seed), spawn_key=(int(replicate),))
    hi, lo = child.generate_state(2, dtype=np.uint32)
    return ((int(hi) << 32) | int(lo)) & (2**63 - 1)  # fits Parquet's int64


@dataclass(frozen=True)
class Outcomes:
    """What a sweep keeps of a run: :func:`~simulation.runs.outcomes.run_outcomes` for the key places."""

    places: tuple[str, ...]
    daily: bool = False

    def columns(self, scenario: Scenario) -> dict[str, str]:
        return outcome_dtypes(scenario, self.places, self.daily)

    def spec(self) -> dict[str, Any]:
        return {"places": list(self.places), "daily": self.daily}

    def __call__(self, model: ConflictModel) -> dict[str, Any]:
        return run_outcomes(model, self.places, self.daily)


def _replicates(seeds: int | Iterable[int]) -> list[int]:
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(f"seeds={seeds}: need at least one replicate")
        return list(range(int(seeds)))
    reps = [int(r) for r in seeds]
    if not reps or min(reps) < 0 or len(set(reps)) != len(reps):
        raise ValueError("seeds: need distinct replicate numbers >= 0")
    return reps


def run_sweep(scenario: Scenario | str | Path,
              design: Design | Mapping[str, Sequence[float]] | Sequence[Mapping[str, float]],
              seeds: int | Iterable[int] = 1, *, sweep_seed: int = 0, backend: str = "processes",
              workers: int | None = None, scheduler: str | None = None, client: Any = None,
              store: str | Path | None = None, days: int | None = None,
              key_places: Iterable[str] | str | None = None, daily: bool = False,
              batch_size: int | None = None, progress: bool = False) -> pd.DataFrame:
    """Run every parameter set of ``design`` with every replicate seed; return one row per run.

    Parameters
    ----------
    scenario : a loaded scenario (possibly a counterfactual, see :mod:`simulation.runs.counterfactuals`) or the
        path of a scenario directory.
    design : a :class:`Design`, a grid ``{name: [values]}`` or a list of parameter sets ``[{name: value}]``.
    seeds : number of replicates per parameter set, or the replicate numbers themselves (``range(5, 10)``
        extends a sweep that ran ``seeds=5``).
    sweep_seed : the seed all run seeds derive from (see :func:`run_seed`).
    backend : ``"serial"``, ``"processes"`` or ``"dask"``.
    workers : processes (or local Dask workers); default: the CPUs available.
    scheduler : address of a running Dask scheduler (``tcp://host:8786``); implies ``backend="dask"``.
    client : an existing ``dask.distributed.Client`` to use (implies ``backend="dask"``; not closed).
    store : directory of Parquet batches to write results to and resume from; ``None`` keeps them in memory.
    days : days per run (default: the scenario's length).
    key_places : places whose fall day and end state to record (see :func:`simulation.runs.outcomes.key_places`).
    daily : also record daily series (lists) per run.
    batch_size : runs per task (default: about 16 tasks per worker on a process pool, 8 on Dask, at most 50
        runs each).
    progress : show a progress bar on stderr.

    Returns
    -------
    pandas.DataFrame
        One row per run in design order (parameter set, then replicate): ``run``, ``set``, ``replicate``,
        ``seed``, ``key``, the value of every parameter the design sets, then the outcomes (see
        :mod:`simulation.runs.outcomes`). ``attrs`` holds ``computed`` (runs computed now), ``reused`` (runs found
        in the store) and ``elapsed_s``. The table is identical whatever the backend, order or workers.

    Raises
    ------
    ScenarioError
        Bad input: an unknown parameter or place, a value out of bounds.
    ValueError
        Bad arguments (backend, seeds, workers, days, batch size).
    SweepError
        The sweep could not finish; finished runs are stored, and running it again computes the rest.
    ForeignStore
        ``store`` holds runs of another version of the model (see :class:`~simulation.sweep.store.ResultStore`).

    Examples
    --------
    >>> df = run_sweep("scenarios/toy", {"attack_ratio": [0.8, 1.6]}, seeds=2, backend="serial")  # doctest: +SKIP
    >>> df.groupby("attack_ratio")["refinery_held"].mean()  # doctest: +SKIP
    """
    started = time.perf_counter()
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    design = as_design(design)
    replicates = _replicates(seeds)
    measure = Outcomes(choose_key_places(scenario, key_places), bool(daily))
    with Ensemble(scenario, measure, days=days, backend=backend, workers=workers, scheduler=scheduler,
                  client=client, store=store, batch_size=batch_size) as ensemble:
        # Plan every run (this validates every parameter set before anything is computed or written).
        names = design.names
        rows, tasks = [], {}
        for i, overrides in enumerate(design.sets):
            for r in replicates:
                task, resolved = ensemble.plan(overrides, run_seed(sweep_seed, r))
                rows.append({"run": len(rows), "set": i, "replicate": r, "seed": task.seed, "key": task.key,
                             **{n: float(resolved[n]) for n in names}})
                tasks.setdefault(task.key, task)
        plan = pd.DataFrame(rows, columns=["run", "set", "replicate", "seed", "key", *names])
        plan = plan.astype({"run": "int64", "set": "int64", "replicate": "int64", "seed": "int64", "key": "str",
                            **{n: "float64" for n in names}})
        reused = sum(ensemble.known(k) for k in tasks)

        from tqdm import tqdm

        with tqdm(total=len(tasks), initial=reused, unit="run", desc="sweep", disable=not progress or None,
                  file=sys.stderr, dynamic_ncols=True) as bar, closing(ensemble.compute(tasks.values())) as stream:
            for frame in stream:
                bar.update(len(frame))
        outcomes = ensemble.results(tasks)
        backend_name, n_workers = ensemble.backend.name, ensemble.backend.workers
    if len(outcomes) != len(tasks):
        raise SweepError(f"{len(tasks) - len(outcomes)} runs are missing from the results")
    out = plan.merge(outcomes.drop(columns=["seed", "parameters"]), on="key", how="left", validate="many_to_one")
    out.attrs.update(computed=len(tasks) - reused, reused=reused, elapsed_s=time.perf_counter() - started,
                     backend=backend_name, workers=n_workers)
    return out
