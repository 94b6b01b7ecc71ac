"""Movement: force units travel along roads; who is present where; idle units merge.

A unit on the road covers, in a day,

    km = road_speed[a, b] * mobility[faction]        (road_speed by road kind: speed_highway_km, speed_road_km,
                                                      speed_track_km, speed_river_km)

On reaching a place it stops there if that is its target or if the place is held or occupied by its enemies;
otherwise it takes the next road of its coalition's route (:class:`simulation.rules.state.SideRoutes`: never
through enemy-held places; by any road if that route has none) and goes on with what is left of the day. Each
unit moves independently of the others: control and the presence of enemies are those of the start of the
movement. A routing unit that reaches a place stops routing, its morale raised to at least
``rout_threshold + 0.1``.

Presence: a unit is *here* at a place when it is alive, has personnel, is not hidden and is not on the road;
the personnel and effective strength (``personnel * quality * morale``) of those not routing are summed by
place and coalition, and a *battle* is where two hostile coalitions are both present. A place whose holder has
forces there is marked as once garrisoned (opportunists move only into places their neighbour garrisoned).

Idle units of one faction (at a place, not routing) with the same home and the same cohesion (base morale,
rounded to 1/1000) merge into the first of them: personnel add up, quality, morale and base morale become the
personnel-weighted means. A unit on the road remembers the last place it left (``came_from``): a unit that
routs inside an enemy's place falls back that way (:mod:`simulation.rules.morale`).

Parameters read: ``rout_threshold`` (and the road speeds and mobilities, through the world and the sides).

Entries: :func:`move`, :func:`update_presence`, :func:`merge_idle`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from simulation.roads import road_value
from simulation.rules.routing import RouteRows, hops_toward, toward_row
from simulation.rules.state import Presence, Roads, Sides, State, Units, distinct, side_columns, unit_columns


def move(state: State, params: dict[str, float]) -> None:
    """Move every unit on the road for one day (see the module's docstring); routing units that reached a place
    stop routing."""
    u, n = state.units, state.units.n
    rows = np.flatnonzero(u.alive[:n] & (u.next[:n] >= 0))
    if rows.size == 0:
        return
    sides = state.sides
    held_by = sides.coalition_of[state.controller]
    enemies_here = state.presence.personnel @ sides.hostile.T > 0  # [place, coalition]
    _move_units(rows, u.packed, state.packed_sides, state.world.packed_roads, held_by, enemies_here,
                state.routes.rows_all())
    arrived = rows[(u.next[rows] < 0) & u.routing[rows]]
    u.routing[arrived] = False
    u.morale[arrived] = np.maximum(u.morale[arrived], params["rout_threshold"] + 0.1)


def update_presence(state: State) -> Presence:
    """Who is present where now (see the module's docstring), into ``state.presence``; places whose holder has
    forces there are marked in ``state.was_garrisoned``. The commands' estimates of threat and defence
    (``state.estimates``) start afresh."""
    u, n, places = state.units, state.units.n, state.world.n
    nc = state.sides.hostile.shape[0]
    packed = (np.zeros(n, dtype=bool), np.zeros((places, nc)), np.zeros((places, nc)), np.zeros(places, dtype=bool))
    _presence(u.packed, n, state.packed_sides, state.controller, state.was_garrisoned, packed)
    state.presence, state.packed_presence = tuple.__new__(Presence, packed), packed  # Presence(*packed), faster
    estimates = state.estimates
    if estimates.threat:
        estimates.threat.clear()
    if estimates.defence:
        estimates.defence.clear()
    return state.presence


def set_courses(state: State, rows: np.ndarray, targets: np.ndarray) -> None:
    """Set the units ``rows`` on their way to ``targets``: their next place by their coalition's routes (or by
    any road if they must), unless there is none or it is where they are."""
    u, w = state.units, state.world
    loc = u.loc[rows]
    coalition = state.sides.coalition_of[u.faction[rows]]
    first = int(coalition[0]) if coalition.size else 0
    own = np.empty(loc.size, dtype=np.int64)
    if (coalition == first).all():
        hops_toward(state.routes.rows(first), loc, targets, own)
    else:
        for c in distinct(coalition):
            sel = coalition == c
            hops = np.empty(int(sel.sum()), dtype=np.int64)
            hops_toward(state.routes.rows(c), loc[sel], targets[sel], hops)
            own[sel] = hops
    hops = np.where(own >= 0, own, w.next_hop[loc, targets])
    u.target[rows] = targets
    go = (hops >= 0) & (hops != loc)
    u.next[rows[go]] = hops[go]
    u.km_left[rows[go]] = w.road_km[loc[go], hops[go]]


def merge_idle(state: State) -> None:
    """Units of one faction idle at the same place with the same home and cohesion become one (see the
    module's docstring)."""
    _merge_idle(state.units.packed, state.units.n, state.world.n)


# ---------------------------------------------------------------------------------------------------------
# Compiled helpers


@njit(cache=True)
def _move_units(rows: np.ndarray, units: Units, sides: Sides, roads: Roads, held_by: np.ndarray,
                enemies_here: np.ndarray, routes: tuple[RouteRows, ...]) -> None:
    """Move the units ``rows`` (on the road: ``next >= 0``) for one day, in place.

    ``held_by``: (n,) the coalition holding each place; ``enemies_here``: (n, coalitions) enemies of the
    coalition present at the place; ``routes``: by coalition, its routes (next place toward a target, -1 if
    none: then any road, ``roads.next_hop``, is taken).
    """
    u, s, rd = unit_columns(units), side_columns(sides), Roads(*roads)
    loc, nxt, km_left = u.loc, u.next, u.km_left
    for r in rows:
        budget = 1.0
        for _ in range(64):
            if not (budget > 1e-9 and nxt[r] >= 0):
                break
            speed = road_value(rd.ptr, rd.to, rd.speed, loc[r], nxt[r]) * s.mobility[u.faction[r]]
            need = km_left[r] / speed
            if not need <= budget:  # still on the road at the end of the day
                km_left[r] -= budget * speed
                budget = 0.0
                continue
            budget = budget - need
            here = nxt[r]
            u.came_from[r] = loc[r]  # the way back, should it rout inside an enemy's place
            loc[r] = here
            km_left[r] = 0.0
            c = s.coalition_of[u.faction[r]]
            if here == u.target[r] or s.hostile[c, held_by[here]] or enemies_here[here, c]:
                nxt[r] = -1
                continue
            hop = toward_row(routes[c], u.target[r])[1][here]
            if hop < 0:
                hop = rd.next_hop[here, u.target[r]]
            if hop >= 0:
                nxt[r] = hop
                km_left[r] = road_value(rd.ptr, rd.to, rd.km, here, hop)
            else:
                nxt[r] = -1


@njit(cache=True)
def _presence(units: Units, n: int, sides: Sides, controller: np.ndarray, garrisoned: np.ndarray,
              presence: Presence) -> None:
    """Fill ``presence`` (zeroed arrays; ``here`` of ``n`` rows) for the unit rows ``0 .. n-1``, summing in row
    order; mark the places whose holder (by ``controller``) has personnel there in ``garrisoned``."""
    u, s, out = unit_columns(units), side_columns(sides), Presence(*presence)
    personnel_c, effective_c, battle = out.personnel, out.effective, out.battle
    nc = s.hostile.shape[0]
    for i in range(n):
        if u.alive[i] and u.next[i] < 0 and u.personnel[i] > 0 and not u.hidden[i]:
            out.here[i] = True
            if not u.routing[i]:
                c = s.coalition_of[u.faction[i]]
                personnel_c[u.loc[i], c] += u.personnel[i]
                effective_c[u.loc[i], c] += u.personnel[i] * u.quality[i] * u.morale[i]
    for p in range(battle.size):
        for a in range(nc):
            if personnel_c[p, a] > 0:
                for b in range(nc):
                    if s.hostile[a, b] and personnel_c[p, b] > 0:
                        battle[p] = True
    for p in range(battle.size):
        if personnel_c[p, s.coalition_of[controller[p]]] > 0:
            garrisoned[p] = True


@njit(cache=True)
def _merge_idle(units: Units, n: int, n_places: int) -> None:
    """Merge the idle units among rows ``0 .. n-1``: the first of a group (lowest row) takes in the others'
    personnel, its quality and morale become the personnel-weighted means, the others are left with none. The
    sums run over each group's units in row order, from 0.0."""
    u = unit_columns(units)
    alive, nxt, routing, personnel = u.alive[:n], u.next[:n], u.routing[:n], u.personnel[:n]
    faction, loc, home = u.faction[:n], u.loc[:n], u.home[:n]
    quality, morale, base_morale = u.quality[:n], u.morale[:n], u.base_morale[:n]
    idle = np.flatnonzero(alive & (nxt < 0) & ~routing & (personnel > 0))
    if idle.size < 2:
        return
    # Units of different cohesion (base morale, to 1/1000: different formations) do not merge, so a hollow
    # division and a unit that holds keep their own morale.
    cohesion = np.empty(idle.size, dtype=np.int64)
    for i in range(idle.size):
        cohesion[i] = np.int64(np.rint(base_morale[idle[i]] * 1000))
    key = ((faction[idle].astype(np.int64) * n_places + loc[idle]) * n_places + home[idle]) * 1001 + cohesion
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
