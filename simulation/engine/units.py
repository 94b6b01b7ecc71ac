"""The unit table (a struct of NumPy arrays, one row per force unit) and the force units' Mesa agents, which
read their rows."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import mesa
import numpy as np

if TYPE_CHECKING:
    from simulation.engine.model import ConflictModel


def distinct(ids: np.ndarray) -> list[int]:
    """The distinct values of an array of small non-negative integers (places, factions, coalitions), in
    increasing order: ``np.unique(ids).tolist()``, by counting instead of sorting."""
    return np.flatnonzero(np.bincount(ids)).tolist()


class UnitTable:
    """Growable struct of arrays, one row per unit ever created (dead units keep their row)."""

    FIELDS = {
        "faction": np.int32, "loc": np.int32, "personnel": np.int64, "quality": np.float64,
        "morale": np.float64, "base_morale": np.float64, "target": np.int32, "next": np.int32,
        "km_left": np.float64, "home": np.int32, "routing": np.bool_, "alive": np.bool_, "hidden": np.bool_,
    }

    def __init__(self, capacity: int = 64):
        self.n = 0
        for name, dtype in self.FIELDS.items():
            setattr(self, name, np.zeros(capacity, dtype=dtype))

    def add(self, faction: int, loc: int, personnel: int, quality: float, morale: float) -> int:
        if self.n == len(self.faction):
            for name in self.FIELDS:
                old = getattr(self, name)
                new = np.zeros(2 * len(old), dtype=old.dtype)
                new[: self.n] = old[: self.n]
                setattr(self, name, new)
        i = self.n
        self.faction[i], self.loc[i], self.personnel[i] = faction, loc, personnel
        self.quality[i], self.morale[i], self.base_morale[i] = quality, morale, morale
        self.target[i], self.next[i], self.km_left[i], self.home[i] = loc, -1, 0.0, loc
        self.routing[i], self.alive[i], self.hidden[i] = False, True, False
        self.n += 1
        return i

    def reserve(self, k: int) -> None:
        """Make room for ``k`` more rows (a row added beyond ``n`` is written, then counted in ``n``)."""
        if self.n + k > len(self.faction):
            size = max(2 * len(self.faction), self.n + k)
            for name in self.FIELDS:
                old = getattr(self, name)
                new = np.zeros(size, dtype=old.dtype)
                new[: self.n] = old[: self.n]
                setattr(self, name, new)

    def view(self, name: str) -> np.ndarray:
        """The live part of a field (rows ``0..n-1``)."""
        return getattr(self, name)[: self.n]


class _IdCounters:
    """Per-model counters of agent ids, each kept on its model (``model._agent_ids``).

    Mesa 3.3's ``Agent._ids`` is a class-level ``defaultdict`` keyed by the model, so every model ever created
    stays alive (about 9 MB per run of the Iraq scenario: a sweep of thousands of runs exhausts memory). A
    counter kept on the model goes with it, and is found faster than by a weakly keyed mapping (an agent is
    created for every detachment).
    """

    def __getitem__(self, model: mesa.Model) -> itertools.count:
        try:
            return model._agent_ids
        except AttributeError:
            counter = model._agent_ids = itertools.count(1)
            return counter


class _Agent(mesa.Agent):
    _ids = _IdCounters()


class ForceUnit(_Agent):
    """A force unit of one faction: a row of the model's :class:`UnitTable`."""

    def __init__(self, model: ConflictModel, row: int, name: str = ""):
        super().__init__(model)
        self.row = row
        self.name = name

    def _get(self, field: str):  # noqa: ANN202
        return getattr(self.model.units, field)[self.row]

    @property
    def faction(self) -> str:
        return self.model.faction_ids[self._get("faction")]

    @property
    def place(self) -> str:
        return self.model.world.place_ids[self._get("loc")]

    @property
    def personnel(self) -> int:
        return int(self._get("personnel"))

    @property
    def quality(self) -> float:
        return float(self._get("quality"))

    @property
    def morale(self) -> float:
        return float(self._get("morale"))

    @property
    def objective(self) -> str:
        return self.model.world.place_ids[self._get("target")]

    @property
    def in_transit(self) -> bool:
        return bool(self._get("next") >= 0)

    @property
    def routing(self) -> bool:
        return bool(self._get("routing"))

    def __repr__(self) -> str:
        return (f"ForceUnit({self.faction}, {self.personnel} at {self.place}, morale {self.morale:.2f}"
                f"{', in transit to ' + self.objective if self.in_transit else ''})")
