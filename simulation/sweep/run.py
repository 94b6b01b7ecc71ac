"""``run_sweep``: every parameter set of a design with every replicate seed, one row of outcomes per run."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.errors import SweepError
from simulation.fingerprint import model_fingerprint
from simulation.runs.outcomes import key_places as choose_key_places
from simulation.runs.outcomes import outcome_dtypes
from simulation.scenario import MAX_DAYS, Scenario, load_scenario
from simulation.sweep.backends import BACKENDS, _batches, _dask, _processes, _serial, default_workers
from simulation.sweep.designs import Design, as_design
from simulation.sweep.store import (
    ResultStore,
    RunSpec,
    RunTask,
    _outcome_frame,
    run_key,
    run_seed,
    scenario_fingerprint,
)


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

    Examples
    --------
    >>> df = run_sweep("scenarios/toy", {"attack_ratio": [0.8, 1.6]}, seeds=2, backend="serial")  # doctest: +SKIP
    >>> df.groupby("attack_ratio")["refinery_held"].mean()  # doctest: +SKIP
    """
    started = time.perf_counter()
    if scheduler is not None or client is not None:
        if backend not in ("dask", "processes"):
            raise ValueError(f"backend={backend!r}: a Dask scheduler or client needs backend='dask'")
        backend = "dask"
    if backend not in BACKENDS:
        raise ValueError(f"backend={backend!r}: choose one of {', '.join(BACKENDS)}")
    workers = default_workers() if workers is None else int(workers)
    if workers < 1:
        raise ValueError(f"workers={workers}: need at least one")
    if days is not None and not 1 <= int(days) <= MAX_DAYS:
        raise ValueError(f"days={days}: must be between 1 and {MAX_DAYS}")
    if batch_size is not None and int(batch_size) < 1:
        raise ValueError(f"batch_size={batch_size}: need at least one run per batch")
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    design = as_design(design)
    replicates = _replicates(seeds)
    spec = RunSpec(days=scenario.days if days is None else int(days),
                   places=choose_key_places(scenario, key_places), daily=bool(daily), model=model_fingerprint())
    dtypes = outcome_dtypes(scenario, spec.places, spec.daily)

    # Plan every run (this validates every parameter set before anything is computed or written).
    scen_hash = scenario_fingerprint(scenario)
    names = design.names
    rows, tasks = [], {}
    for i, overrides in enumerate(design.sets):
        resolved = scenario.with_parameters(overrides, origin="design").parameters if overrides else \
            scenario.parameters
        for r in replicates:
            seed = run_seed(sweep_seed, r)
            key = run_key(scen_hash, resolved, seed, spec)
            rows.append({"run": len(rows), "set": i, "replicate": r, "seed": seed, "key": key,
                         **{n: float(resolved[n]) for n in names}})
            tasks.setdefault(key, RunTask(key, seed, dict(overrides)))
    plan = pd.DataFrame(rows, columns=["run", "set", "replicate", "seed", "key", *names])
    plan = plan.astype({"run": "int64", "set": "int64", "replicate": "int64", "seed": "int64", "key": "str",
                        **{n: "float64" for n in names}})

    result_store = ResultStore(store) if store is not None else None
    if result_store:
        result_store.remove_orphans()  # a killed sweep's half-written batch
    done = result_store.done_keys() & set(tasks) if result_store else set()
    todo = [t for k, t in tasks.items() if k not in done]
    info: dict[str, Any] = {"workers": 1 if backend == "serial" else workers}  # the dask backend counts its own
    if backend == "serial":
        stream = _serial(scenario, _batches(todo, batch_size, 16, 1), spec)
    elif backend == "processes":
        stream = _processes(scenario, _batches(todo, batch_size, 16, workers), spec, workers)
    else:
        stream = _dask(scenario, todo, batch_size, spec, workers, scheduler, client, info)

    memory: list[pd.DataFrame] = []
    from tqdm import tqdm

    with tqdm(total=len(tasks), initial=len(done), unit="run", desc="sweep", disable=not progress or None,
              file=sys.stderr, dynamic_ncols=True) as bar:
        if todo:
            with closing(stream):
                for records in stream:
                    frame = _outcome_frame(records, dtypes)
                    if result_store is not None:
                        result_store.write(frame)
                    else:
                        memory.append(frame)
                    bar.update(len(records))

    if result_store is not None:
        outcomes = result_store.load(tasks, dtypes)
    elif memory:
        outcomes = pd.concat(memory, ignore_index=True)
    else:
        outcomes = _outcome_frame([], dtypes)
    if len(outcomes) != len(tasks):
        raise SweepError(f"{len(tasks) - len(outcomes)} runs are missing from the results")
    out = plan.merge(outcomes.drop(columns=["seed", "parameters"]), on="key", how="left", validate="many_to_one")
    out.attrs.update(computed=len(todo), reused=len(done), elapsed_s=time.perf_counter() - started,
                     backend=backend, workers=info["workers"])
    return out

