"""The model for exploratory modelling with EMA Workbench (``pip install 'conflict-sim[ema]'``).

:func:`ema_model` wraps a scenario as an ``ema_workbench.Model``: its uncertainties are model parameters with the
bounds of the parameter registry (:mod:`simulation.parameters`; ``conflict-sim params`` lists them), its outcomes
the summary outcomes a sweep records for each run (:func:`simulation.runs.outcomes.run_outcomes`)::

    from ema_workbench import perform_experiments
    from simulation.ema import ema_model

    model = ema_model("iraq_june_2014")           # uncertainties: the scenario's [fit] parameters
    experiments, outcomes = perform_experiments(model, scenarios=100)
    outcomes["fell_day_mosul"]                    # NaN where Mosul did not fall

Outcomes are floats for EMA Workbench: ``fell_day_<place>`` is the day index (0 = the start date) the place
first fell, NaN if it never did; ``held_<place>`` and ``refinery_held`` are 1.0 or 0.0 (``refinery_held`` NaN
without a refinery); killed, wounded, displaced, places and population held by each faction, control changes.

The model is stochastic. By default every experiment runs with the same seed (common random numbers: the
outcomes differ only through the parameters); ``seeds=(low, high)`` makes the seed an integer uncertainty,
sampled like the parameters. Each experiment is one run of :class:`~simulation.engine.model.ConflictModel`;
``Runner`` is picklable, so EMA Workbench's ``MultiprocessingEvaluator`` can run experiments in parallel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from simulation.parameters import PARAMETERS
from simulation.runs.outcomes import key_places, outcome_dtypes, run_outcomes
from simulation.scenario import Scenario, load_scenario

if TYPE_CHECKING:
    import ema_workbench


def uncertainty_bounds(scenario: Scenario, names: Sequence[str] | None = None) -> dict[str, tuple[float, float]]:
    """The registry's bounds of the parameters ``names`` (default: the scenario's ``[fit]`` parameters, else
    every parameter of the registry).

    Raises
    ------
    KeyError
        A name is not a model parameter.
    """
    chosen = list(names) if names is not None else list(scenario.fit_bounds) or list(PARAMETERS)
    for name in chosen:
        if name not in PARAMETERS:
            raise KeyError(f"unknown parameter {name!r} (see `conflict-sim params`)")
    return {name: (PARAMETERS[name].low, PARAMETERS[name].high) for name in chosen}


def outcome_names(scenario: Scenario, places: Sequence[str]) -> list[str]:
    """The scalar outcomes of a run, in :func:`~simulation.runs.outcomes.outcome_dtypes`' order."""
    return list(outcome_dtypes(scenario, tuple(places)))


def _as_float(value: Any) -> float:
    return math.nan if value is None else float(value)


@dataclass(frozen=True)
class Runner:
    """One experiment: the scenario run with the sampled parameters; returns the outcomes as floats."""

    scenario: Scenario
    places: tuple[str, ...]
    days: int | None = None
    seed: int = 1

    def __call__(self, **sampled: float) -> dict[str, float]:
        from simulation.engine.model import ConflictModel

        seed = int(sampled.pop("seed", self.seed))
        scenario = self.scenario.with_parameters(sampled, origin="EMA Workbench") if sampled else self.scenario
        model = ConflictModel(scenario, seed=seed, days=self.days).run()
        return {k: _as_float(v) for k, v in run_outcomes(model, self.places).items()}


def ema_model(scenario: Scenario | str = "iraq_june_2014", parameters: Sequence[str] | None = None,
              seeds: int | tuple[int, int] = 1, days: int | None = None,
              places: Sequence[str] | str | None = None, name: str = "conflictsim") -> ema_workbench.Model:
    """An ``ema_workbench.Model`` of ``scenario``.

    Parameters
    ----------
    scenario : a loaded scenario, a scenario directory or a shipped scenario's name (its fitted parameters
        applied, as ``conflict-sim run`` does).
    parameters : the uncertain parameters (default: the scenario's ``[fit]`` parameters, else all), each a
        ``RealParameter`` over the registry's bounds.
    seeds : one seed for every experiment (a ``Constant``), or ``(low, high)``: the seed is an
        ``IntegerParameter`` uncertainty.
    days : days to run (default: the scenario's dates).
    places : key places whose fall day and end state are outcomes (default, ``"all"`` or ids, as in sweeps:
        :func:`simulation.runs.outcomes.key_places`).
    name : the model's name in EMA Workbench (letters and digits).

    Raises
    ------
    simulation.extras.MissingExtra
        EMA Workbench is not installed.
    """
    from simulation.extras import require

    require("ema", "simulation.ema")
    from ema_workbench import Constant, IntegerParameter, Model, RealParameter, ScalarOutcome

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    chosen = key_places(scenario, places)
    fixed_seed = seeds if isinstance(seeds, int) else 1
    model = Model(name, function=Runner(scenario, chosen, days, fixed_seed))
    uncertainties = [RealParameter(n, lo, hi) for n, (lo, hi) in uncertainty_bounds(scenario, parameters).items()]
    if isinstance(seeds, int):
        model.constants = [Constant("seed", seeds)]
    else:
        uncertainties.append(IntegerParameter("seed", int(seeds[0]), int(seeds[1])))
    model.uncertainties = uncertainties
    model.outcomes = [ScalarOutcome(n) for n in outcome_names(scenario, chosen)]
    return model
