"""Sobol sensitivity of the main outputs to the fittable parameters (SALib).

Outputs of one run (see :func:`run_outputs`):

- ``days_to_fall``: the first day (from the start, day 0 = start date) on which ``fall_of`` passes to a side
  hostile to the side that held it at the start; censored at the run's length (``days``) if it never falls;
- ``held_at_end``: 1 if ``held`` is still held by its starting side at the end, else 0;
- ``total_killed``: everyone killed, all parties;
- ``total_displaced``: people who left their place (the sum over places of cumulative departures at the end).

Each sampled parameter set is run with the same seeds (common random numbers) and the outputs averaged over
them. Saltelli sampling with ``calc_second_order=False`` needs ``n * (d + 2)`` parameter sets; first-order
(``S1``) and total (``ST``) indices come with bootstrap confidence intervals.

From a notebook::

    from simulation.calibration import sobol_sensitivity
    from simulation.scenario import load_scenario
    s = load_scenario("scenarios/iraq_june_2014")
    table = sobol_sensitivity(s, fall_of="mosul", held="baiji_refinery", n=64, seeds=(1, 2), workers=2)
    table["ST"]   # pandas DataFrame: output x parameter
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from simulation.calibration.observations import coalition_labels
from simulation.calibration.record import RunRecord
from simulation.scenario import Scenario, ScenarioError

OUTPUTS = ("days_to_fall", "held_at_end", "total_killed", "total_displaced")


def run_outputs(record: RunRecord, coalition_of: np.ndarray, fall_of: int, held: int) -> np.ndarray:
    """The four outputs (in the order of ``OUTPUTS``) of one recorded run; places by index."""
    side = coalition_of[record.control]
    start_side = coalition_of[record.initial_control]
    lost = np.flatnonzero(side[:, fall_of] != start_side[fall_of])
    days_to_fall = float(lost[0]) if lost.size else float(record.days)
    held_at_end = float(side[-1, held] == start_side[held])
    return np.array([days_to_fall, held_at_end, float(record.killed.sum()),
                     float(record.displaced_from[-1].sum())])


@dataclass(frozen=True)
class _OutputsRun:
    scenario: Scenario
    names: tuple[str, ...]
    seeds: tuple[int, ...]
    fall_of: int
    held: int

    def __call__(self, x: np.ndarray) -> np.ndarray:
        from simulation.engine.model import ConflictModel

        coal = coalition_labels(self.scenario)
        params = {n: float(v) for n, v in zip(self.names, x)}
        outs = [run_outputs(RunRecord.from_model(ConflictModel(self.scenario, seed=s, **params).run()), coal,
                            self.fall_of, self.held) for s in self.seeds]
        return np.mean(outs, axis=0)


def sobol_sensitivity(scenario: Scenario, fall_of: str, held: str, n: int = 64, seeds: tuple[int, ...] = (1, 2),
                      bounds: dict[str, tuple[float, float]] | None = None, workers: int = 1, seed: int = 1,
                      progress: bool = True) -> dict[str, Any]:
    """First-order and total Sobol indices of the main outputs over the fittable parameters.

    Parameters
    ----------
    scenario : the scenario (its parameters are the baseline for those not varied).
    fall_of : place whose fall is timed (``days_to_fall``).
    held : place whose holding at the end is recorded (``held_at_end``).
    n : Saltelli base sample size (a power of 2); ``n * (d + 2)`` parameter sets are run.
    seeds : seeds every parameter set is run with (common random numbers); outputs are averaged.
    bounds : parameter -> (low, high); default: the scenario's ``[fit]`` table.
    workers : processes.
    seed : seeds the Saltelli sequence's scrambling and the bootstrap.

    Returns
    -------
    dict
        ``S1``, ``S1_conf``, ``ST``, ``ST_conf``: pandas DataFrames (output x parameter); ``samples``: the
        parameter sets; ``outputs``: ``[sets, 4]`` outputs; ``names``; ``output_names``.

    Raises
    ------
    ScenarioError
        A place is not in the scenario, or there is nothing to vary.
    """
    import pandas as pd
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    from simulation.calibration.parallel import pool_map

    bounds = dict(scenario.fit_bounds if bounds is None else bounds)
    if not bounds:
        raise ScenarioError(f"{scenario.path.name}/scenario.toml", "no [fit] table: no parameters to vary",
                            field="fit")
    ids = list(scenario.place_ids)
    for label, pid in (("fall_of", fall_of), ("held", held)):
        if pid not in ids:
            raise ScenarioError(f"{scenario.path.name}/places.csv", f"{label}: unknown place {pid!r}", field="id")
    names = tuple(bounds)
    problem = {"num_vars": len(names), "names": list(names), "bounds": [list(bounds[k]) for k in names]}
    x = sobol_sample.sample(problem, n, calc_second_order=False, seed=seed)
    task = _OutputsRun(scenario, names, tuple(int(s) for s in seeds), ids.index(fall_of), ids.index(held))
    y = np.array(pool_map(task, list(x), workers, desc="sobol", progress=progress))
    out: dict[str, Any] = {"names": names, "output_names": OUTPUTS, "samples": x, "outputs": y}
    tables: dict[str, dict[str, np.ndarray]] = {k: {} for k in ("S1", "S1_conf", "ST", "ST_conf")}
    for j, name in enumerate(OUTPUTS):
        if np.ptp(y[:, j]) == 0:  # a constant output has no variance to apportion
            for k in tables:
                tables[k][name] = np.full(len(names), np.nan)
            continue
        res = sobol_analyze.analyze(problem, y[:, j], calc_second_order=False, seed=seed)
        for k in tables:
            tables[k][name] = np.asarray(res[k])
    for k, cols in tables.items():
        out[k] = pd.DataFrame(cols, index=list(names)).T
    return out
