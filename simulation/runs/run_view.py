"""What the report reads of a finished run (:class:`RunView`), apart from the model, and the report's parts.

Light on purpose: a report process (:mod:`simulation.runs.plotting`) unpickles a :class:`RunView` without importing
the model's libraries (Mesa, Numba, NetworkX, SciPy).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from simulation.engine.model import ConflictModel
    from simulation.scenario import Scenario

#: The parts of a report, each written by its own function of :mod:`simulation.runs.report`: ``map.png``; the
#: daily series (``control.png``, ``casualties.png``, ``forces.png``, ``displacement.png``); ``report.md``.
PARTS = ("map", "series", "markdown")
_RECORDS = ("rec_control", "rec_population", "rec_idps", "rec_displaced_from", "rec_killed", "rec_wounded",
            "rec_ledger", "rec_in_transit")
_WORLD = ("lon", "lat", "kind", "population0", "value", "index", "governorate", "place_ids", "n")


class RunView:
    """What the report reads of a finished run, without the model: picklable, and unpickled without the model's
    libraries (Mesa, Numba, NetworkX, SciPy). It has the attributes :mod:`simulation.runs.report` and
    :mod:`simulation.runs.observed` read of a model: ``scenario_data``, ``world`` (places' coordinates, kinds,
    populations, values and index), ``day``, ``faction_ids``, ``controller``, ``log``, the ``rec_*`` records,
    and ``dates()``."""

    scenario_data: Scenario
    world: SimpleNamespace
    day: int
    faction_ids: list[str]
    controller: np.ndarray
    log: list[tuple[str, str, str, str]]

    def __init__(self, dates: list[str], **attributes: Any) -> None:
        self._dates = dates
        self.__dict__.update(attributes)

    @classmethod
    def from_model(cls, model: ConflictModel) -> RunView:
        """The view of ``model``."""
        import numpy as np

        w = model.world
        world = SimpleNamespace(**{k: getattr(w, k) for k in _WORLD if hasattr(w, k)})
        records = {k: np.asarray(getattr(model, k)) for k in _RECORDS if hasattr(model, k)}
        return cls(list(model.dates()), scenario_data=model.scenario_data, world=world, day=int(model.day),
                   faction_ids=list(model.faction_ids), controller=np.asarray(model.controller),
                   log=list(model.log), **records)

    def dates(self) -> list[str]:
        """The simulated days' dates (ISO)."""
        return self._dates
