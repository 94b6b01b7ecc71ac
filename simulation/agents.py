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
the offensive reaches them (see ``ConflictModel._wake_sleepers``).
"""

from __future__ import annotations

import itertools
import weakref
from typing import TYPE_CHECKING

import mesa
import numpy as np

from simulation.planning import best_targets, hold_targets, needs

if TYPE_CHECKING:
    from simulation.model import ConflictModel


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

    def view(self, name: str) -> np.ndarray:
        """The live part of a field (rows ``0..n-1``)."""
        return getattr(self, name)[: self.n]


class _WeakIdCounters(weakref.WeakKeyDictionary):
    """Per-model counters of agent ids, keyed weakly.

    Mesa 3.3's ``Agent._ids`` is a class-level ``defaultdict`` keyed by the model, so every model ever created
    stays alive (about 9 MB per run of the Iraq scenario: a sweep of thousands of runs exhausts memory). Keying
    the counters weakly lets a finished model be collected.
    """

    def __getitem__(self, model: mesa.Model) -> itertools.count:
        try:
            return super().__getitem__(model)
        except KeyError:
            counter = itertools.count(1)
            self[model] = counter
            return counter


class _Agent(mesa.Agent):
    _ids = _WeakIdCounters()


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


class FactionCommand(_Agent):
    """Chooses the objectives of every unit of one faction, once a day, by the faction's doctrine."""

    def __init__(self, model: ConflictModel, faction: int, doctrine: str, mobility: float):
        super().__init__(model)
        self.faction = faction
        self.doctrine = doctrine
        self.mobility = mobility

    def plan(self) -> None:
        m = self.model
        u = m.units
        n = u.n
        mine = (u.faction[:n] == self.faction) & u.alive[:n] & (u.next[:n] < 0) & ~u.routing[:n] & ~u.hidden[:n]
        rows = np.flatnonzero(mine)
        if rows.size == 0:
            return
        loc = u.loc[rows]
        # Units at a place where enemies are present are fighting: they stay.
        free = ~m.battle_at[loc]
        rows, loc = rows[free], loc[free]
        if rows.size == 0:
            return
        u.target[rows] = loc
        if self.doctrine in ("government", "tribal"):
            self._hold_and_reinforce(rows, loc)
        elif self.doctrine == "insurgent":
            # Only units in a governorate where the faction's offensive has begun attack.
            active = m.offensive_in[self.faction, m.governorate_of[loc]]
            if active.any():
                self._attack(rows[active], loc[active])
        else:
            self._fill_vacuums(rows, loc)

    # ----------------------------------------------------------------------------------------------------

    def _reach(self, loc: np.ndarray) -> np.ndarray:
        """Travel days from each unit's place to every place, for this faction's mobility, on roads that do not
        pass through enemy-held places."""
        days = self.model.routes_for(self.model.coalition_of[self.faction])[0]
        return days[loc] / self.mobility

    def _attack(self, rows: np.ndarray, loc: np.ndarray) -> None:
        m, w, p = self.model, self.model.world, self.model.p
        c = m.coalition_of[self.faction]
        days = self._reach(loc)
        in_reach = days <= p["reach_days"]
        eff = m.unit_effective(rows)
        # Targets: enemy-held places in governorates where the offensive has begun.
        enemy_held = m.hostile_c[c, m.coalition_of[m.controller]] & m.offensive_in[self.faction, m.governorate_of]
        potential = eff @ in_reach + m.own_effective_at(c)
        defence = m.defence_against(c)
        feasible = enemy_held & (potential >= p["attack_ratio"] * defence)
        if not feasible.any():
            return
        appeal = w.value * (0.5 + w.sympathy) * potential / (potential + p["attack_ratio"] * defence + 1e-9)
        best, go = self._best(loc, np.zeros(w.n, dtype=bool), np.zeros(w.n), np.where(feasible, appeal, 0.0),
                              in_reach, days)
        m.dispatch(rows[go], best[go], keep_share=p["garrison_share"])

    def _best(self, loc: np.ndarray, safe: np.ndarray, reinforce: np.ndarray, other: np.ndarray,
              in_reach: np.ndarray, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each unit's best target and whether to go there (see :func:`simulation.planning.best_targets`), the
        scores discounted by ``exp(-days / reach_days)``."""
        m = self.model
        best = np.empty(loc.size, dtype=np.int64)
        go = np.empty(loc.size, dtype=bool)
        best_targets(loc, m.world.value, safe, reinforce, other, in_reach, np.exp(-days / m.p["reach_days"]),
                     best, go)
        return best, go

    def _hold_and_reinforce(self, rows: np.ndarray, loc: np.ndarray) -> None:
        m, w, p = self.model, self.model.world, self.model.p
        c = m.coalition_of[self.faction]
        days = self._reach(loc)
        in_reach = days <= p["reach_days"]
        if self.doctrine == "tribal":
            home = m.units.home[rows]
            in_reach &= w.distance_km[home] <= p["tribal_home_radius_km"]
        own_def, need, hopeless = np.empty(w.n), np.empty(w.n), np.empty(w.n, dtype=bool)
        # The government gives up, in order, places not worth a stand where the enemy (helped by a sympathetic
        # population) clearly outweighs the defence: towns that change hands without a fight.
        needs(m.own_effective_at(c), p["defender_advantage"], w.fortification, m.threat_to(c),
              m.coalition_of[m.controller] == c, self.doctrine == "government", w.sympathy, p["withdraw_ratio"],
              w.value, p["hold_value"], own_def, need, hopeless)
        if self.doctrine == "government":
            leave = hopeless[loc]
            if leave.any():
                m.withdraw(rows[leave])
                rows, loc, days, in_reach = rows[~leave], loc[~leave], days[~leave], in_reach[~leave]
                if rows.size == 0:
                    return
        # Reinforce: threatened places worth at least as much as where the unit stands, if its own place is safe.
        # Counter-attack: enemy-held places within reach that the force able to reach them can overwhelm.
        potential = m.unit_effective(rows) @ in_reach + m.own_effective_at(c)
        # Counter-attacks retake what the side held at the start; established enemy strongholds are not targets.
        lost = m.hostile_c[c, m.coalition_of[m.controller]] & (m.coalition_of[m.initial_controller] == c) & \
            m.offensive_in[self.faction, m.governorate_of]
        defence = m.defence_against(c)
        best, go = np.empty(loc.size, dtype=np.int64), np.empty(loc.size, dtype=bool)
        hold_targets(loc, w.value, need, hopeless, own_def, lost, potential, defence, p["counterattack_ratio"],
                     in_reach, np.exp(-days / p["reach_days"]), best, go)
        if go.any():
            # Send what the threatened place needs (or all but a garrison where it is), not the whole unit.
            q = best[go]
            per_person = np.maximum(m.units.quality[rows[go]] * m.units.morale[rows[go]], 1e-6)
            defending = per_person * p["defender_advantage"] * w.fortification[q]
            # Send what the threatened place needs, or what the counter-attack needs: a budget per target,
            # filled by the nearest units first.
            wanted = np.where(need[q] > 0, 1.5 * need[q] / defending,
                              1.2 * p["counterattack_ratio"] * np.maximum(defence[q], 1.0) / per_person)
            order = np.argsort(days[np.flatnonzero(go), q], kind="stable")
            m.dispatch(rows[go][order], q[order], keep_share=p["garrison_share"], at_most=np.ceil(wanted[order]))

    def _fill_vacuums(self, rows: np.ndarray, loc: np.ndarray) -> None:
        m, w, p = self.model, self.model.world, self.model.p
        c = m.coalition_of[self.faction]
        days = self._reach(loc)
        in_reach = days <= p["reach_days"]
        ctrl_c = m.coalition_of[m.controller]
        own_held = ctrl_c == c
        neutral_held = m.neutral_c[c, ctrl_c]
        # A vacuum is a place its holder has abandoned in the face of its enemies: empty now, garrisoned by the
        # holder earlier in the run, and within a day's reach of forces hostile to the holder.
        empty = (m.present_personnel_c.sum(axis=1) == 0) & m.was_garrisoned
        threatened = np.zeros(w.n, dtype=bool)
        for holder in distinct(ctrl_c[empty & neutral_held]):
            threatened |= (ctrl_c == holder) & (m.threat_to(holder) > 0)
        empty &= threatened
        near_own = (w.distance_km[:, own_held].min(axis=1) <= p["opportunist_radius_km"]) if own_held.any() else \
            np.zeros(w.n, dtype=bool)
        vacuum = neutral_held & empty & near_own
        if m.claimed[self.faction] is not None:  # only the places the faction claims
            vacuum &= m.claimed[self.faction]
        if not vacuum.any():
            return
        score = np.where(in_reach & vacuum[None, :], (w.value[None, :] + 0.1) * np.exp(-days / p["reach_days"]), 0.0)
        best = score.argmax(axis=1)
        go = score[np.arange(rows.size), best] > 0
        # Each vacuum needs one detachment: the nearest unit goes.
        chosen, taken = [], set()
        order = np.argsort(days[np.arange(rows.size), best], kind="stable")
        for i in order:
            if go[i] and best[i] not in taken:
                taken.add(best[i])
                chosen.append(i)
        if chosen:
            ch = np.array(chosen)
            m.dispatch(rows[ch], best[ch], keep_share=1.0 - p["detachment_share"])
