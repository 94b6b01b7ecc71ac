"""Sobol sensitivity of the main outputs to the fittable parameters.

Outputs of one run (:class:`MainOutputs`):

- ``days_to_fall``: the day ``fall_of`` fell (:func:`simulation.runs.outcomes.fall_days`: the first day, 0 = the
  start date, at whose end it is held outside the coalition that held it at the start), censored at the run's
  length (``days``) if it never falls;
- ``held_at_end``: 1 if ``held`` is held by its starting coalition at the end, else 0;
- ``total_killed``: everyone killed, all parties;
- ``total_displaced``: people who left their place (the sum over places of cumulative departures at the end).

The pipeline is the sweep's: a Saltelli design (:func:`simulation.sweep.designs.sobol_sample`), every parameter
set run with the same seeds (common random numbers) through the ensemble layer, and
:func:`simulation.sweep.sobol.sobol_indices` (SALib), which averages each output over the seeds first. With
``calc_second_order=False``, ``n * (d + 2)`` parameter sets; first-order (``S1``) and total (``ST``) indices come
with bootstrap confidence intervals.

From a notebook::

    from simulation.calibration import sobol_sensitivity
    from simulation.scenario import load_scenario
    s = load_scenario("scenarios/iraq_june_2014")
    table = sobol_sensitivity(s, fall_of="mosul", held="baiji_refinery", n=64, seeds=(1, 2), workers=2)
    table["ST"]   # pandas DataFrame: output x parameter
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from simulation.runs.outcomes import fall_days
from simulation.scenario import Scenario, ScenarioError

if TYPE_CHECKING:
    from simulation.engine.model import ConflictModel

OUTPUTS = ("days_to_fall", "held_at_end", "total_killed", "total_displaced")


def run_outputs(control: np.ndarray, initial: np.ndarray, coalition_of: np.ndarray, killed: np.ndarray,
                displaced_from: np.ndarray, fall_of: int, held: int) -> np.ndarray:
    """The four outputs (in the order of ``OUTPUTS``) of one run's daily records; places by index.

    Parameters
    ----------
    control : ``[day, place]`` faction holding each place at the end of each day.
    initial : ``[place]`` faction holding each place at the start.
    coalition_of : ``[faction]`` coalition of each faction.
    killed : ``[day, place, party]`` killed.
    displaced_from : ``[day, place]`` cumulative people who left each place.
    """
    days = control.shape[0]
    fell = int(fall_days(control, initial, coalition_of)[fall_of])
    held_at_end = float(coalition_of[control[-1, held]] == coalition_of[initial[held]])
    return np.array([float(fell) if fell >= 0 else float(days), held_at_end, float(killed.sum()),
                     float(displaced_from[-1].sum())])


@dataclass(frozen=True)
class MainOutputs:
    """What a sensitivity analysis keeps of a run: :data:`OUTPUTS` (a :class:`~simulation.sweep.ensemble.Measure`)."""

    fall_of: int
    held: int

    def columns(self, scenario: Scenario) -> dict[str, str]:
        return dict.fromkeys(OUTPUTS, "float64")

    def spec(self) -> dict[str, Any]:
        return {"measure": "sensitivity", "fall_of": self.fall_of, "held": self.held}

    def __call__(self, model: ConflictModel) -> dict[str, float]:
        d = model.day
        values = run_outputs(model.rec_control[:d], model.initial_controller, np.asarray(model.coalition_of),
                             model.rec_killed[:d], model.rec_displaced_from[:d], self.fall_of, self.held)
        return {name: float(v) for name, v in zip(OUTPUTS, values)}


def sobol_sensitivity(scenario: Scenario, fall_of: str, held: str, n: int = 64, seeds: tuple[int, ...] = (1, 2),
                      bounds: dict[str, tuple[float, float]] | None = None, workers: int = 1, seed: int = 1,
                      progress: bool = True, backend: str | None = None, scheduler: str | None = None,
                      store: str | Path | None = None) -> dict[str, Any]:
    """First-order and total Sobol indices of the main outputs over the fittable parameters.

    Parameters
    ----------
    scenario : the scenario (its parameters are the baseline for those not varied).
    fall_of : place whose fall is timed (``days_to_fall``).
    held : place whose holding at the end is recorded (``held_at_end``).
    n : Saltelli base sample size (a power of 2); ``n * (d + 2)`` parameter sets are run.
    seeds : seeds every parameter set is run with (common random numbers); outputs are averaged.
    bounds : parameter -> (low, high); default: the scenario's ``[fit]`` table.
    workers, backend, scheduler : where the runs are computed (serial for one worker, else a process pool).
    seed : seeds the Saltelli sequence's scrambling and the bootstrap.
    store : directory to keep the runs in and reuse them from; ``None``: in memory.

    Returns
    -------
    dict
        ``S1``, ``S1_conf``, ``ST``, ``ST_conf``: pandas DataFrames (output x parameter); ``samples``: the
        parameter sets; ``outputs``: ``[sets, 4]`` outputs averaged over the seeds; ``names``; ``output_names``.

    Raises
    ------
    ScenarioError
        A place is not in the scenario, or there is nothing to vary.
    """
    import pandas as pd
    from tqdm import tqdm

    from simulation.sweep.designs import sobol_sample
    from simulation.sweep.ensemble import Ensemble
    from simulation.sweep.sobol import sobol_indices

    bounds = dict(scenario.fit_bounds if bounds is None else bounds)
    if not bounds:
        raise ScenarioError(f"{scenario.path.name}/scenario.toml", "no [fit] table: no parameters to vary",
                            field="fit")
    ids = list(scenario.place_ids)
    for label, pid in (("fall_of", fall_of), ("held", held)):
        if pid not in ids:
            raise ScenarioError(f"{scenario.path.name}/places.csv", f"{label}: unknown place {pid!r}", field="id")
    design = sobol_sample(bounds, n, seed=seed, origin=f"{scenario.path.name}/scenario.toml")
    names = tuple(design.problem["names"])
    seeds = tuple(int(s) for s in seeds)
    backend = backend or ("serial" if int(workers) <= 1 and scheduler is None else "processes")
    with Ensemble(scenario, MainOutputs(ids.index(fall_of), ids.index(held)), backend=backend,
                  workers=max(1, int(workers)), scheduler=scheduler, store=store) as ensemble:
        plan = [(i, ensemble.plan(params, s)[0]) for i, params in enumerate(design.sets) for s in seeds]
        with tqdm(total=len(plan), desc="sobol", unit="run", disable=not progress, leave=False) as bar:
            for frame in ensemble.compute(t for _, t in plan):
                bar.update(len(frame))
        stored = ensemble.results([t.key for _, t in plan]).set_index("key")
    results = pd.DataFrame({"set": [i for i, _ in plan], **{
        name: stored.loc[[t.key for _, t in plan], name].to_numpy() for name in OUTPUTS}})
    x = np.array([[params[k] for k in names] for params in design.sets])
    out: dict[str, Any] = {"names": names, "output_names": OUTPUTS, "samples": x,
                           "outputs": np.column_stack([results.groupby("set")[name].mean().to_numpy()
                                                       for name in OUTPUTS])}
    tables: dict[str, dict[str, np.ndarray]] = {k: {} for k in ("S1", "S1_conf", "ST", "ST_conf")}
    for name in OUTPUTS:
        si = sobol_indices(design, results, name, seed=seed)
        for k in tables:
            tables[k][name] = si[k].to_numpy()
    for k, cols in tables.items():
        out[k] = pd.DataFrame(cols, index=list(names)).T
    return out
