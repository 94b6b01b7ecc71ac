"""The factions' commands: one Mesa agent per faction, which gives its units their orders once a day.

The model calls them through their AgentSet (``model.agents_by_type[FactionCommand].do("plan")``), in the order
they were created, the order of the factions (an AgentSet keeps its agents in insertion order, so the order
never depends on hashing or on the seed). Each command applies its faction's doctrine through the rule entries
of :mod:`simulation.rules.orders` (where the doctrines are stated): insurgents attack, the government and tribes
hold, reinforce and counter-attack (the government also gives up places not worth a stand); insurgents also
occupy undefended places within a day; opportunists move into vacuums and attack the places they claim.

A faction with ``offensive`` events in the scenario does not attack (insurgents) or counter-attack (government,
tribes) in a governorate until its offensive there begins (everywhere, for an event naming no place).
"""

from __future__ import annotations

import mesa

from simulation.engine.units import Agent
from simulation.rules import orders


class FactionCommand(Agent):
    """Chooses the objectives of every unit of one faction, once a day, by the faction's doctrine.

    Parameters
    ----------
    model : the model (its ``state``, parameters ``p`` and event log).
    faction : the faction's index.
    doctrine : ``insurgent``, ``government``, ``tribal`` or ``opportunist``.
    """

    def __init__(self, model: mesa.Model, faction: int, doctrine: str):
        super().__init__(model)
        self.faction = faction
        self.doctrine = doctrine

    def plan(self) -> None:
        """Give today's orders: the free units (those not fighting) are sent by the doctrine, or stay."""
        state, p = self.model.state, self.model.p
        # Of an insurgent faction's units, only those in a governorate where its offensive has begun attack.
        if self.doctrine == "insurgent":
            chosen = orders.attack_orders(state, self.faction, p)
        elif self.doctrine == "opportunist":
            chosen = orders.vacuum_orders(state, self.faction, p)
        else:
            chosen = orders.hold_orders(state, self.faction, p, government=self.doctrine == "government")
        if chosen is None:
            return
        if chosen.withdrawn is not None:
            self.model.log_withdrawals(chosen.withdrawn)
        while chosen is not None:  # a batch, then the batch it names (occupations, then attacks; attacks on claims)
            chosen = orders.still_here(state, chosen)
            if chosen.rows.size:
                orders.dispatch(state, chosen)
            chosen = chosen.then
