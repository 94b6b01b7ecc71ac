"""Parameter sweeps: many runs over parameter sets and seeds, on every core or on a Dask cluster, with resume.

A sweep is a *design* (parameter sets: a grid, a list, or a Latin-hypercube or Sobol sample) times a number of
*replicates* (seeds). Each run gives one row of summary outcomes (:mod:`simulation.runs.outcomes`).

Reproducibility
    Replicate ``r`` runs with the seed derived from ``numpy.random.SeedSequence(sweep_seed)``: the ``r``-th
    child of its ``spawn``. Every parameter set uses the same seed for the same replicate (common random
    numbers), so differences between parameter sets are not blurred by different random draws. Seeds depend
    only on the sweep seed and the replicate, never on the backend, the order of execution or the number of
    workers, so the same sweep gives the same table serially, on a process pool and on a Dask cluster.

Store and resume
    With ``store=DIR`` each finished batch of runs is written as one Parquet file (written to a temporary file
    and renamed, so a file is either complete or absent). Each row carries a key: a hash of the model code,
    the scenario's content, the parameter values, the seed, the number of days and the outcome columns asked
    for. A sweep first reads the keys already in the store and computes only the missing runs, so re-running a
    sweep after Ctrl-C, a killed worker or a crash finishes it without computing or storing any run twice.

Backends
    ``"serial"`` (this process), ``"processes"`` (a :class:`concurrent.futures.ProcessPoolExecutor` on this
    machine) and ``"dask"`` (:mod:`dask.distributed`: a ``LocalCluster``, a running cluster given by its
    scheduler address, or an existing ``Client``). Workers load the scenario once and run batches of runs.

Modules, one job each:

- :mod:`~simulation.sweep.designs`: grids, lists, Latin-hypercube and Sobol samples, design files;
- :mod:`~simulation.sweep.ensemble`: the one ensemble layer (runs of a scenario, each computed once) that
  sweeps, the calibration, validation and sensitivity share;
- :mod:`~simulation.sweep.backends`: serial, a process pool, Dask;
- :mod:`~simulation.sweep.store`: run keys and the Parquet store (resume; refuses another model's runs);
- :mod:`~simulation.sweep.run`: ``run_sweep`` and the sweep's seeds and outcomes;
- :mod:`~simulation.sweep.sobol`: Sobol indices of an outcome (the one Sobol pipeline);
- :mod:`~simulation.sweep.cli`: ``conflict-sim sweep SCENARIO_DIR --design design.toml`` (see ``docs/sweeps.md``).

Importing this package is cheap (the command line imports it on start-up); the names below load on use.
"""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {
    "Design": "designs", "DesignFile": "designs", "grid": "designs", "parameter_sets": "designs",
    "latin_hypercube": "designs", "sobol_sample": "designs", "as_design": "designs", "load_design": "designs",
    "ResultStore": "store", "ForeignStore": "store", "run_key": "store", "scenario_fingerprint": "store",
    "BACKENDS": "backends", "default_workers": "backends", "open_backend": "backends",
    "Ensemble": "ensemble", "Job": "ensemble", "RunTask": "ensemble", "Measure": "ensemble",
    "run_sweep": "run", "run_seed": "run", "Outcomes": "run",
    "sobol_indices": "sobol",
}
__all__ = [*_PUBLIC, "SweepError"]


def __getattr__(name: str) -> Any:
    if name == "SweepError":
        from simulation.errors import SweepError

        return SweepError
    if name in _PUBLIC:
        return getattr(importlib.import_module(f"simulation.sweep.{_PUBLIC[name]}"), name)
    raise AttributeError(f"module 'simulation.sweep' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
