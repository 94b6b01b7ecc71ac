"""Force units' daily movement along roads, who is present where, and the merging of idle units, compiled
with Numba.

A unit on the road covers ``road speed * faction mobility`` km in a day; on reaching a place it stops there if
that is its target, or if the place is held or occupied by its enemies; otherwise it takes the next road of its
route and goes on with what is left of the day. Each unit moves independently of the others (the day's control
and presence of enemies are fixed before anyone moves), so the loop is per unit; the arithmetic is the same,
operation for operation, as the array version it replaces (``ConflictModel._move`` before this module).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def move_units(rows: np.ndarray, loc: np.ndarray, nxt: np.ndarray, target: np.ndarray, km_left: np.ndarray,
               faction: np.ndarray, coalition_of: np.ndarray, mobility: np.ndarray, road_speed: np.ndarray,
               road_km: np.ndarray, hostile_c: np.ndarray, ctrl_c: np.ndarray, hostile_here: np.ndarray,
               next_hop: np.ndarray, any_road: np.ndarray) -> None:
    """Move the units ``rows`` (on the road: ``nxt >= 0``) for one day, in place.

    Parameters
    ----------
    loc, nxt, target, km_left, faction : the unit table's columns (``nxt``: the place the unit is heading for
        on its current road, -1 if none; ``km_left``: km still to go on that road).
    coalition_of : (factions,) each faction's coalition; ``mobility``: (factions,) speed multiplier.
    road_speed, road_km : (n, n) km a day and km of each road.
    hostile_c : (coalitions, coalitions) bool; ``ctrl_c``: (n,) coalition holding each place;
        ``hostile_here``: (n, coalitions) bool, enemies of the coalition present at the place.
    next_hop : (coalitions, n, n) next place toward a target by roads avoiding the coalition's enemies, -1 if
        none; ``any_road``: (n, n) next place by any road (used where the former has none).
    """
    for r in rows:
        budget = 1.0
        for _ in range(64):
            if not (budget > 1e-9 and nxt[r] >= 0):
                break
            speed = road_speed[loc[r], nxt[r]] * mobility[faction[r]]
            need = km_left[r] / speed
            if not need <= budget:  # still on the road at the end of the day
                km_left[r] -= budget * speed
                budget = 0.0
                continue
            budget = budget - need
            here = nxt[r]
            loc[r] = here
            km_left[r] = 0.0
            c = coalition_of[faction[r]]
            if here == target[r] or hostile_c[c, ctrl_c[here]] or hostile_here[here, c]:
                nxt[r] = -1
                continue
            hop = next_hop[c, here, target[r]]
            if hop < 0:
                hop = any_road[here, target[r]]
            if hop >= 0:
                nxt[r] = hop
                km_left[r] = road_km[here, hop]
            else:
                nxt[r] = -1


def presence(n_places: int, alive: np.ndarray, nxt: np.ndarray, personnel: np.ndarray, hidden: np.ndarray,
             routing: np.ndarray, loc: np.ndarray, faction: np.ndarray, quality: np.ndarray, morale: np.ndarray,
             coalition_of: np.ndarray, hostile_c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Who is where, for the units' rows ``0 .. alive.size - 1``.

    Returns
    -------
    here : bool per unit, at a place (not on the road), alive, with personnel, not hidden.
    personnel_c, effective_c : (n_places, coalitions) personnel and effective strength (personnel * quality *
        morale) of the units here and not routing, summed in row order.
    battle : bool per place, where two hostile coalitions are both present.
    """
    nc = hostile_c.shape[0]
    # Filled by the compiled function, not returned by it: compiled code that returns arrays calls back into
    # Python to build them, where a signal handler's exception (Ctrl-C, SIGTERM) becomes a SystemError.
    here = np.zeros(alive.size, dtype=bool)
    personnel_c = np.zeros((n_places, nc))
    effective_c = np.zeros((n_places, nc))
    battle = np.zeros(n_places, dtype=bool)
    _presence(alive, nxt, personnel, hidden, routing, loc, faction, quality, morale, coalition_of, hostile_c, here,
              personnel_c, effective_c, battle)
    return here, personnel_c, effective_c, battle


@njit(cache=True)
def _presence(alive: np.ndarray, nxt: np.ndarray, personnel: np.ndarray, hidden: np.ndarray, routing: np.ndarray,
              loc: np.ndarray, faction: np.ndarray, quality: np.ndarray, morale: np.ndarray, coalition_of: np.ndarray,
              hostile_c: np.ndarray, here: np.ndarray, personnel_c: np.ndarray, effective_c: np.ndarray,
              battle: np.ndarray) -> None:
    nc = hostile_c.shape[0]
    for i in range(alive.size):
        if alive[i] and nxt[i] < 0 and personnel[i] > 0 and not hidden[i]:
            here[i] = True
            if not routing[i]:
                c = coalition_of[faction[i]]
                personnel_c[loc[i], c] += personnel[i]
                effective_c[loc[i], c] += personnel[i] * quality[i] * morale[i]
    for p in range(battle.size):
        for a in range(nc):
            if personnel_c[p, a] > 0:
                for b in range(nc):
                    if hostile_c[a, b] and personnel_c[p, b] > 0:
                        battle[p] = True


@njit(cache=True)
def presence_at(n: int, alive: np.ndarray, nxt: np.ndarray, personnel: np.ndarray, hidden: np.ndarray,
                routing: np.ndarray, loc: np.ndarray, faction: np.ndarray, quality: np.ndarray, morale: np.ndarray,
                coalition_of: np.ndarray, hostile_c: np.ndarray, controller: np.ndarray, garrisoned: np.ndarray,
                here: np.ndarray, personnel_c: np.ndarray, effective_c: np.ndarray, battle: np.ndarray) -> None:
    """:func:`presence` for the units' rows ``0 .. n-1`` of whole columns, into zeroed arrays (``here``: at
    least ``n`` long), and the places whose holder's coalition has personnel there are marked ``garrisoned``
    (the holder by ``controller``)."""
    _presence(alive[:n], nxt[:n], personnel[:n], hidden[:n], routing[:n], loc[:n], faction[:n], quality[:n],
              morale[:n], coalition_of, hostile_c, here, personnel_c, effective_c, battle)
    for p in range(battle.size):
        if personnel_c[p, coalition_of[controller[p]]] > 0:
            garrisoned[p] = True


@njit(cache=True)
def merge_idle(alive: np.ndarray, nxt: np.ndarray, routing: np.ndarray, personnel: np.ndarray,
               faction: np.ndarray, loc: np.ndarray, home: np.ndarray, n_places: int, quality: np.ndarray,
               morale: np.ndarray, base_morale: np.ndarray) -> None:
    """Units of one faction idle (alive, not on the road, not routing, with personnel) at the same place and
    with the same home become one: the first of them (lowest row) takes in the others' personnel, and its
    quality and morale become the personnel-weighted means; the others are left with no personnel.

    The sums run over each group's units in row order, from 0.0, as the ``np.bincount`` they replace did."""
    idle = np.flatnonzero(alive & (nxt < 0) & ~routing & (personnel > 0))
    if idle.size < 2:
        return
    key = (faction[idle].astype(np.int64) * n_places + loc[idle]) * n_places + home[idle]
    order = np.argsort(key, kind="mergesort")  # stable: each group in row order
    start = 0
    while start < order.size:
        end = start + 1
        while end < order.size and key[order[end]] == key[order[start]]:
            end += 1
        if end - start > 1:
            total = 0.0
            q = 0.0
            m = 0.0
            b = 0.0
            for i in range(start, end):
                r = idle[order[i]]
                p = float(personnel[r])
                total += p
                q += quality[r] * p
                m += morale[r] * p
                b += base_morale[r] * p
            keep = idle[order[start]]
            quality[keep] = q / total
            morale[keep] = m / total
            base_morale[keep] = b / total
            for i in range(start + 1, end):
                personnel[idle[order[i]]] = 0
            personnel[keep] = np.int64(total)
        start = end
