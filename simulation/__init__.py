"""conflict-sim: an agent-based simulator of armed conflict and displacement on a road network.

The public face a notebook imports::

    from simulation import ConflictModel, load_scenario, run_sweep, calibrate, validate

    scenario = load_scenario("scenarios/iraq_june_2014")
    model = ConflictModel(scenario, seed=1).run()                       # one run
    table = run_sweep(scenario, {"attack_ratio": [0.8, 1.6]}, seeds=10)  # many (simulation.sweep)
    ens = run_ensemble(scenario, seeds=20)                              # shares of runs, bands, fall dates
    cmp = run_comparison(scenario, ["no_air_strikes"], seeds=20)        # paired counterfactual ensembles
    civ = replay(scenario, "events.csv").civilians                     # civilians driven by recorded events
    fit = calibrate("scenarios/iraq_june_2014", budget=50, workers=2)   # DE + SMC-ABC (simulation.calibration)
    scores = validate(scenario, seeds=20, workers=2).scores             # in and out of sample

Each name is imported on first use (module ``__getattr__``), so that ``import simulation`` stays cheap for the
command line (``simulation.cli``), which imports the model only after parsing its arguments.
"""

from __future__ import annotations

import importlib
from typing import Any

from simulation import caches as _caches

__version__ = "0.1.0"
_caches.configure()  # before Numba or matplotlib is imported: where they cannot write, a temporary folder

_PUBLIC = {
    "ConflictModel": "simulation.engine.model",
    "load_scenario": "simulation.scenario",
    "Scenario": "simulation.scenario",
    "ScenarioError": "simulation.scenario",
    "run_sweep": "simulation.sweep.run",
    "run_ensemble": "simulation.runs.ensemble",
    "run_comparison": "simulation.runs.compare",
    "replay": "simulation.replay.model",
    "calibrate": "simulation.calibration.fit",
    "validate": "simulation.calibration.validation",
}
__all__ = ["__version__", *_PUBLIC]


#: Names of the public API that need an extra (see :mod:`simulation.extras`).
_EXTRA = {"run_sweep": "sweep", "calibrate": "sweep"}


def __getattr__(name: str) -> Any:
    if name in _EXTRA:
        from simulation.extras import require

        require(_EXTRA[name], f"simulation.{name}")
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'simulation' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
