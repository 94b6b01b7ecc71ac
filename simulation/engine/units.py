"""The unit table (a struct of NumPy arrays, one row per force unit) and the force units' Mesa agents.

The rules work on the table's columns (:class:`simulation.rules.state.Units`); a :class:`ForceUnit` is the
Mesa agent of one row, created with the row and removed when the unit is spent (no personnel left), so that
``model.agents_by_type[ForceUnit]`` holds exactly the units alive.
"""

from __future__ import annotations

import itertools

import mesa
import numpy as np
from numba import njit

from simulation.rules.state import UNIT_STORAGE, Units


class UnitTable:
    """Growable struct of arrays, one row per unit ever created (dead units keep their row), each live row with
    its :class:`ForceUnit` agent.

    The columns (:class:`simulation.rules.state.Units`) are attributes (``table.loc``, ``table.morale`` ...);
    they are stored as four arrays by dtype (:data:`simulation.rules.state.UNIT_STORAGE`), whose rows they
    are, and passed to the kernels in that form (:attr:`packed`).

    Parameters
    ----------
    model : the Mesa model the agents belong to.
    capacity : rows to start with (the arrays double when full).
    """

    FIELDS = dict(zip(Units._fields, (np.int32, np.int32, np.int64, np.float64, np.float64, np.float64, np.int32,
                                      np.int32, np.float64, np.int32, np.bool_, np.bool_, np.bool_,
                                      np.int32, np.bool_, np.int32)))
    _STORED = tuple(zip(UNIT_STORAGE, (np.int32, np.int64, np.float64, np.bool_)))

    def __init__(self, model: mesa.Model, capacity: int = 64):
        self.model = model
        self.n = 0
        self.agents: list[ForceUnit | None] = []  # by row; None once the unit is spent
        self._resize(capacity)

    def _resize(self, size: int) -> None:
        stored = []
        for names, dtype in self._STORED:
            block = np.zeros((len(names), size), dtype=dtype)
            for i, name in enumerate(names):
                old = getattr(self, name, None)
                if old is not None:
                    block[i, : self.n] = old[: self.n]
            for i, name in enumerate(names):
                setattr(self, name, block[i])  # a row of the block: a contiguous view
            stored.append(block[0] if len(names) == 1 else block)
        self.columns = Units(*(getattr(self, name) for name in self.FIELDS))
        self.packed = tuple(stored)

    def add(self, faction: int, loc: int, personnel: int, quality: float, morale: float, name: str = "") -> int:
        """A new unit at ``loc`` (its home and objective), with its agent; returns its row."""
        if self.n == len(self.faction):
            self._resize(2 * len(self.faction))
        i = self.n
        self.faction[i], self.loc[i], self.personnel[i] = faction, loc, personnel
        self.quality[i], self.morale[i], self.base_morale[i] = quality, morale, morale
        self.target[i], self.next[i], self.km_left[i], self.home[i] = loc, -1, 0.0, loc
        self.routing[i], self.alive[i], self.hidden[i] = False, True, False
        self.came_from[i], self.shocked[i], self.garrison_at[i] = -1, False, -1
        self.n += 1
        self.agents.append(ForceUnit(self.model, i, name))
        return i

    def reserve(self, k: int) -> None:
        """Make room for ``k`` more rows (rows written beyond ``n`` are then counted by :meth:`commit`)."""
        if self.n + k > len(self.faction):
            self._resize(max(2 * len(self.faction), self.n + k))

    def commit(self, parents: np.ndarray) -> None:
        """Count the rows written beyond ``n`` (detachments split off ``parents``, one row each, in order), each
        with an agent named as its parent's."""
        agents, first = self.agents, self.n
        self.n += parents.size
        for i, r in enumerate(parents.tolist()):
            agents.append(ForceUnit(self.model, first + i, agents[r].name))

    def bury_dead(self) -> None:
        """Units alive with no personnel left are no longer alive, and their agents leave the model."""
        dead = np.empty(self.n, dtype=np.int64)
        for r in dead[:_spent_units(self.n, self.alive, self.personnel, dead)].tolist():
            agent = self.agents[r]
            if agent is not None:
                agent.remove()
                self.agents[r] = None

    def view(self, name: str) -> np.ndarray:
        """The live part of a field (rows ``0..n-1``)."""
        return getattr(self, name)[: self.n]


@njit(cache=True)
def _spent_units(n: int, alive: np.ndarray, personnel: np.ndarray, dead: np.ndarray) -> int:
    """Units among ``0 .. n-1`` alive with no personnel left are no longer ``alive``; they go into ``dead`` in
    order. Returns how many."""
    k = 0
    for r in range(n):
        if alive[r] and personnel[r] <= 0:
            alive[r] = False
            dead[k] = r
            k += 1
    return k


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


class Agent(mesa.Agent):
    """A Mesa agent whose id counter lives on its model (see :class:`_IdCounters`)."""

    _ids = _IdCounters()


class ForceUnit(Agent):
    """A force unit of one faction: a row of the model's :class:`UnitTable`, read through these properties."""

    def __init__(self, model: mesa.Model, row: int, name: str = ""):
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
