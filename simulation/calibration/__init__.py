"""Calibration and validation against the reported June 2014 events (see ``calibration/README.md``).

- :mod:`~simulation.calibration.observations`: the observation tables, resolved against a scenario;
- :mod:`~simulation.calibration.loss`: the loss of one run (control timing, casualties, displacement);
- :mod:`~simulation.calibration.fit`: the objective over common seeds, differential evolution, SMC-ABC, the
  fitted-parameters file;
- :mod:`~simulation.calibration.abc`: the SMC-ABC sampler;
- :mod:`~simulation.calibration.validate`: in- and out-of-sample scores, table, JSON and plots;
- :mod:`~simulation.calibration.sensitivity`: Sobol indices of the main outputs (SALib);
- :mod:`~simulation.calibration.cli`: ``conflict-sim calibrate | validate | sensitivity``.

Importing this package is cheap (the command line imports it on start-up); the heavy modules load on use.
"""

from __future__ import annotations

import argparse
from typing import Any


def register_cli(subparsers: argparse._SubParsersAction, commands: dict) -> None:
    """Add the calibration sub-commands to ``conflict-sim`` (see :mod:`simulation.cli`)."""
    from simulation.calibration.cli import register_cli as register

    register(subparsers, commands)


def __getattr__(name: str) -> Any:
    # Lazy public API: ``from simulation.calibration import sobol_sensitivity`` etc.
    lazy = {
        "load_observations": "observations", "compile_observations": "observations",
        "run_loss": "loss", "LossSettings": "loss", "RunRecord": "record",
        "Objective": "fit", "Evaluator": "fit", "calibrate": "fit", "load_posterior": "fit",
        "fit_differential_evolution": "fit", "smc_abc": "abc", "sobol_sensitivity": "sensitivity",
    }
    if name in lazy:
        import importlib

        return getattr(importlib.import_module(f"simulation.calibration.{lazy[name]}"), name)
    raise AttributeError(name)
