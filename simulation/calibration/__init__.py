"""Calibration and validation against the reported June 2014 events (see ``calibration/README.md``).

- :mod:`~simulation.calibration.observations`: the observation tables, resolved against a scenario;
- :mod:`~simulation.calibration.record`: what a run recorded, as arrays the loss scores;
- :mod:`~simulation.calibration.loss`: the loss of an ensemble of runs (the CRPS of the dates of reported
  changes, the log score of held rows, log-normal likelihoods of casualty and displacement figures);
- :mod:`~simulation.calibration.evaluate`: the objective over common seeds, evaluated through the ensemble layer
  (the sweep's backends and store);
- :mod:`~simulation.calibration.fit`: ``calibrate``: differential evolution on ensembles, a re-scoring of the
  best on more seeds, then SMC-ABC;
- :mod:`~simulation.calibration.abc`: the SMC-ABC sampler;
- :mod:`~simulation.calibration.fitted`: the fitted-parameters file and the posterior sample;
- :mod:`~simulation.calibration.validation`: ``validate``: in- and out-of-sample scores, table, JSON and plots;
- :mod:`~simulation.calibration.sensitivity`: Sobol indices of the main outputs (the sweep's Sobol pipeline);
- :mod:`~simulation.calibration.cli`: ``conflict-sim calibrate | validate | sensitivity``.

Importing this package is cheap; the names below load their module on use.
"""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {
    "load_observations": "observations", "compile_observations": "observations",
    "observations_dir": "observations", "RunRecord": "record",
    "run_loss": "loss", "ensemble_terms": "loss", "LossSettings": "loss",
    "Objective": "evaluate", "Evaluator": "evaluate", "ObservedValues": "evaluate",
    "calibrate": "fit", "CalibrationResult": "fit", "fit_differential_evolution": "fit",
    "smc_abc": "abc", "load_posterior": "fitted",
    "validate": "validation", "ValidationResult": "validation",
    "sobol_sensitivity": "sensitivity",
}
__all__ = list(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(f"simulation.calibration.{_PUBLIC[name]}"), name)
    raise AttributeError(f"module 'simulation.calibration' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
