"""Civilians as arrays by place.

This first version keeps residents and civilian deaths only; flight, routes, destinations and return are the
subject of the displacement issue. The interface below is what the model calls every day.
"""

from __future__ import annotations

import numpy as np

from simulation.world import World


class Civilians:
    """Civilian population by place (NumPy arrays indexed by place number)."""

    def __init__(self, world: World, parameters: dict[str, float], rng: np.random.Generator):
        self.world = world
        self.p = parameters
        self.rng = rng
        self.initial = world.population0.copy()
        self.residents = world.population0.copy()
        self.idps = np.zeros(world.n, dtype=np.int64)  # displaced people present at each place
        self.displaced_from = np.zeros(world.n, dtype=np.int64)  # cumulative people who left each place
        self.in_transit = 0
        self.killed = np.zeros(world.n, dtype=np.int64)
        self.checkpoint_open = np.ones(world.n, dtype=bool)

    @property
    def present(self) -> np.ndarray:
        """People present at each place: residents and displaced people sheltering there."""
        return self.residents + self.idps

    @property
    def total_displaced(self) -> int:
        return int(self.idps.sum() + self.in_transit)

    def kill(self, counts: np.ndarray) -> np.ndarray:
        """Remove civilians killed at each place (at most those present); return the numbers removed."""
        counts = np.minimum(counts.astype(np.int64), self.present)
        from_residents = np.minimum(counts, self.residents)
        self.residents -= from_residents
        self.idps -= counts - from_residents
        self.killed += counts
        return counts

    def set_checkpoint(self, place: int, is_open: bool) -> None:
        self.checkpoint_open[place] = is_open

    def step(self, violence: np.ndarray, taken_by: np.ndarray, controller: np.ndarray) -> None:
        """Advance one day. ``violence``: casualties and sorties at each place today; ``taken_by``: the faction
        that took each place today (-1 if none); ``controller``: each place's controller after today."""
