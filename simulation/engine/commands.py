"""Mesa agents: force units, and one command per faction that chooses its units' objectives.

A unit's state (personnel, quality, morale, where it is, where it is going) lives in :class:`UnitTable`, a
struct of NumPy arrays, so that a day of fighting over hundreds of units is a handful of array operations.
:class:`ForceUnit` is the Mesa agent a user sees: it reads and writes its row of that table.
:class:`FactionCommand` is the Mesa agent that decides, once a day, what every unit of one faction does, by
the faction's doctrine:

- ``insurgent``: attack the most valuable, most sympathetic and weakest places within reach, when the force
  that can reach them outweighs the defence by ``attack_ratio``; leave a garrison behind.
- ``government``: hold places worth a stand (``hold_value``), withdraw in order from others the enemy clearly
  outweighs (``withdraw_ratio``); send detachments to threatened places worth at least as much as where they are;
  counter-attack places the side held at the start and has lost, at ``counterattack_ratio``; detachments are
  sized to the need, filled by the nearest units first.
- ``tribal``: as government, but never farther than ``tribal_home_radius_km`` from home.
- ``opportunist``: defend what it holds and move into places its neutral neighbour has abandoned in the face of
  their common enemy (held and garrisoned earlier in the run, empty now, hostile forces within a day), within
  ``opportunist_radius_km`` of its own places and, if the faction lists ``claims``, only places it claims; never
  attack.

A faction with ``offensive`` events in the scenario does not attack (insurgents) or counter-attack (government,
tribes) in a governorate until its offensive there begins (everywhere, for an event naming no place). Insurgent
units inside places held by the enemy at the start are then sleeper cells, hidden (not fighting, not seen) until
the offensive reaches them (see ``ConflictModel._wake_sleepers``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from simulation.engine.units import Agent
from simulation.rules.orders import (
    attack_appeal,
    attack_orders,
    free_units,
    hold_orders,
    needs,
    reach,
    stay_or_leave,
    vacuum_candidates,
    vacuum_orders,
    vacuums,
)

if TYPE_CHECKING:
    from simulation.engine.model import ConflictModel


_NO_HOMES = np.zeros(0, dtype=np.int32)  # reach without a home radius
_NO_PLACES = np.zeros(0, dtype=bool)  # no claims


class FactionCommand(Agent):
    """Chooses the objectives of every unit of one faction, once a day, by the faction's doctrine."""

    def __init__(self, model: ConflictModel, faction: int, doctrine: str, mobility: float):
        super().__init__(model)
        self.faction = faction
        self.doctrine = doctrine
        self.mobility = mobility

    def plan(self) -> None:
        m = self.model
        u = m.units
        rows, loc = np.empty(u.n, dtype=np.int64), np.empty(u.n, dtype=np.int64)
        # Units at a place where enemies are present are fighting: they stay. The others stay unless sent; of an
        # insurgent faction's, only units in a governorate where its offensive has begun attack.
        insurgent = self.doctrine == "insurgent"
        k = free_units(self.faction, u.n, u.faction, u.alive, u.next, u.routing, u.hidden, u.loc, m.battle_at,
                       u.target, insurgent, m.state.offensive_in[self.faction], m.world.governorate_of, rows, loc)
        if k == 0:
            return
        rows, loc = rows[:k], loc[:k]
        if self.doctrine in ("government", "tribal"):
            self._hold_and_reinforce(rows, loc)
        elif insurgent:
            self._attack(rows, loc)
        else:
            self._fill_vacuums(rows, loc)

    # ----------------------------------------------------------------------------------------------------

    def _reach(self, rows: np.ndarray, loc: np.ndarray,
               tribal: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """For the units ``rows`` at ``loc``, on roads that do not pass through enemy-held places, at this
        faction's mobility: whether each place is within ``reach_days`` of travel (1.0 or 0.0; for ``tribal``
        units, only places within ``tribal_home_radius_km`` of their home), the discount of a target's score by
        the travel days there (``exp(-days / reach_days)``), each unit's effective strength, and the
        coalition's travel days between places (before the faction's mobility)."""
        m, p = self.model, self.model.p
        u = m.units
        days = m.routes_for(m.coalition_of[self.faction])[0]
        in_reach, decay, eff = np.empty((loc.size, days.shape[1])), np.empty((loc.size, days.shape[1])), \
            np.empty(loc.size)
        reach(days, loc, self.mobility, p["reach_days"], u.home if tribal else _NO_HOMES, m.world.distance_km,
              p["tribal_home_radius_km"], rows, u.personnel, u.quality, u.morale, in_reach, decay, eff)
        np.exp(decay, out=decay)  # the exponential stays NumPy's
        return in_reach, decay, eff, days

    def _attack(self, rows: np.ndarray, loc: np.ndarray) -> None:
        m, w, p = self.model, self.model.world, self.model.p
        c = m.coalition_of[self.faction]
        in_reach, decay, eff, _ = self._reach(rows, loc)
        # Targets: enemy-held places in governorates where the offensive has begun, that the force able to reach
        # them can overwhelm.
        potential = eff @ in_reach + m.own_effective_at(c)
        appeal = np.empty(w.n)
        if not attack_appeal(c, m.hostile_c[c], m.holder_coalition(), m.state.offensive_in[self.faction],
                             m.world.governorate_of, potential, m.defence_against(c), p["attack_ratio"], w.value,
                             w.sympathy, appeal):
            return
        send_rows, send_to = np.empty(rows.size, dtype=np.int64), np.empty(rows.size, dtype=np.int64)
        k = attack_orders(loc, rows, w.value, appeal, in_reach, decay, send_rows, send_to)
        m.dispatch(send_rows[:k], send_to[:k], keep_share=p["garrison_share"])

    def _hold_and_reinforce(self, rows: np.ndarray, loc: np.ndarray) -> None:
        m, w, p = self.model, self.model.world, self.model.p
        c = m.coalition_of[self.faction]
        holder = m.holder_coalition()
        government = self.doctrine == "government"
        own_def, need, hopeless = np.empty(w.n), np.empty(w.n), np.empty(w.n, dtype=bool)
        # The government gives up, in order, places not worth a stand where the enemy (helped by a sympathetic
        # population) clearly outweighs the defence: towns that change hands without a fight.
        needs(m.own_effective_at(c), p["defender_advantage"], w.fortification, m.threat_to(c), holder, c,
              government, w.sympathy, p["withdraw_ratio"], w.value, p["hold_value"], own_def, need, hopeless)
        if government:
            leaving = np.empty(rows.size, dtype=np.int64)
            k = stay_or_leave(rows, loc, hopeless, leaving)
            if k < rows.size:
                m.withdraw(leaving[: rows.size - k])
                if k == 0:
                    return
                rows, loc = rows[:k], loc[:k]
        in_reach, decay, eff, days = self._reach(rows, loc, tribal=self.doctrine == "tribal")
        # Reinforce: threatened places worth at least as much as where the unit stands, if its own place is safe.
        # Counter-attack: enemy-held places within reach that the force able to reach them can overwhelm; they
        # retake what the side held at the start, established enemy strongholds are not targets. Send what the
        # threatened place needs or what the counter-attack needs (or all but a garrison where it is), not the
        # whole unit: a budget per target, filled by the nearest units first.
        potential = eff @ in_reach + m.own_effective_at(c)
        send_rows, send_to, at_most = np.empty(rows.size, dtype=np.int64), np.empty(rows.size, dtype=np.int64), \
            np.empty(rows.size)
        k = hold_orders(rows, loc, c, m.hostile_c[c], holder, m.state.initial_holder,
                        m.state.offensive_in[self.faction], m.world.governorate_of, w.value, need, hopeless, own_def,
                        potential, m.defence_against(c),
                        p["counterattack_ratio"], in_reach, decay, days, self.mobility, m.units.quality,
                        m.units.morale, p["defender_advantage"], w.fortification, send_rows, send_to, at_most)
        if k:
            m.dispatch(send_rows[:k], send_to[:k], keep_share=p["garrison_share"], at_most=at_most[:k])

    def _fill_vacuums(self, rows: np.ndarray, loc: np.ndarray) -> None:
        m, w, p = self.model, self.model.world, self.model.p
        c = m.coalition_of[self.faction]
        holder = m.holder_coalition()
        # A vacuum is a place its holder, neutral to this faction, has abandoned in the face of its enemies: empty
        # now, garrisoned by the holder earlier in the run, and within a day's reach of forces hostile to the
        # holder; near the faction's own places, and claimed by it (if it claims places).
        vacuum, holders = np.empty(w.n, dtype=bool), np.zeros(m.n_coalitions, dtype=bool)
        if not vacuum_candidates(holder, m.sides.neutral[c], m.present_personnel_c, m.state.was_garrisoned, vacuum,
                                 holders):
            return
        threat = np.zeros((m.n_coalitions, w.n))
        for h in np.flatnonzero(holders).tolist():
            threat[h] = m.threat_to(h)
        claimed = m.state.claimed[self.faction]
        if not vacuums(vacuum, holder, threat, c, w.distance_km, p["opportunist_radius_km"],
                       _NO_PLACES if claimed is None else claimed):
            return
        # Each vacuum needs one detachment: the nearest unit that has it as its best target goes.
        in_reach, decay, _, days = self._reach(rows, loc)
        send_rows, send_to = np.empty(rows.size, dtype=np.int64), np.empty(rows.size, dtype=np.int64)
        k = vacuum_orders(loc, rows, vacuum, w.value, in_reach, decay, days, self.mobility, send_rows, send_to)
        if k:
            m.dispatch(send_rows[:k], send_to[:k], keep_share=1.0 - p["detachment_share"])
