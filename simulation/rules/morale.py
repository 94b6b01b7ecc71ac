"""Morale: the day's morale of every unit, being cut off, routs, and the shock of a place's fall.

**The day's morale** of a unit (after the battles, whose losses and odds have already lowered it, see
:mod:`simulation.rules.combat`):

    m = morale - morale_cutoff * [cut off]
    m = m - hostile_population_morale * clip(2 * (sympathy - 0.5), 0, 1) * [government unit]
    m = m + morale_recovery * (base_morale - m) * [calm]
    morale = clip(m, 0, 1)

A government unit is *cut off* where no open road leads from its faction's rear (the most valuable place its
coalition held at the start) through places neither held nor occupied by its enemies; with an air force on its
side, the ``airlift_places`` most valuable of the places its coalition holds among those are supplied by air
and not cut off. A unit is *calm* where it is neither cut off nor at a battle.

**Routs.** A unit at a place, not already routing, whose morale is below ``rout_threshold`` routs:
``Binomial(personnel, desertion_share)`` of it desert (desertion is not death: they go to the ledger's
``deserted``), and the rest make for the nearest place their side holds where no enemy is present (by their
coalition's travel days); with nowhere to go, the unit dissolves, all of it deserting.

**The fall shock.** When a place of value ``v`` falls, the live units of the losing coalition within
``morale_shock_radius_km`` (by road) lose

    morale_fall_shock * v / (1 + v) * min(1, v / value of their own place) * (1 - d / radius)

(``d``: their distance from the fallen place), within [0, 1]: the fall of a town shakes a city's garrison by the
ratio of their values, so collapse can cascade along the roads.

Parameters read: ``morale_cutoff``, ``hostile_population_morale``, ``morale_recovery``, ``rout_threshold``,
``airlift_places``, ``desertion_share``, ``morale_shock_radius_km``, ``morale_fall_shock``.

Entries: :func:`daily_morale_and_routs`, :func:`fall_shock`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from simulation.rules import draws
from simulation.rules.movement import set_courses
from simulation.rules.state import DESERTED, Places, Presence, Sides, State, Tally, Units, side_columns, unit_columns


class Routs(NamedTuple):
    """The units that routed today, in row order."""

    rows: np.ndarray
    faction: np.ndarray
    place: np.ndarray  #: where each routed
    reached: np.ndarray  #: bool, it had somewhere to go (else it dissolved)
    destination: np.ndarray  #: where it makes for (meaningful where ``reached``)
    deserters: np.ndarray  #: how many of it deserted (all of it, if it dissolved)
    remaining: np.ndarray  #: its personnel left


def daily_morale_and_routs(state: State, rng: np.random.Generator, params: dict[str, float]) -> Routs | None:
    """Every unit's morale of the day, and the routs (see the module's docstring). Returns the routs, or None
    if no unit routed.

    Random draws: the deserters of each routing unit (``rng.binomial``'s numbers, in row order, drawn only for
    units with personnel, see :mod:`simulation.rules.draws`).
    """
    u, n, p, sides = state.units, state.units.n, params, state.sides
    places, nc = state.world.n, sides.hostile.shape[0]
    held_by = np.empty(places, dtype=np.int64)  # the coalition holding each place
    enemy_here = np.empty((places, nc), dtype=bool)  # [place, c]: enemies of c present
    rout, coalitions = np.empty(n, dtype=np.int64), np.empty(nc, dtype=bool)
    settings = (int(p["airlift_places"]), p["morale_cutoff"], p["hostile_population_morale"], p["morale_recovery"],
                p["rout_threshold"])
    k = _day_morale(u.packed, n, state.packed_presence, state.packed_sides, state.world.packed_places,
                    state.world.open_road, state.controller, settings, (held_by, enemy_here, rout, coalitions))
    if k == 0:
        return None
    rout = rout[:k]
    deserters = draws.binomial(rng, u.personnel[rout], p["desertion_share"])  # = rng.binomial's numbers
    # Each routing unit makes for the nearest place its side holds where no enemy is present (personnel have
    # not moved since).
    dest, reached = np.empty(k, dtype=np.int64), np.empty(k, dtype=bool)
    for c in np.flatnonzero(coalitions).tolist():
        _rout_destinations(c, rout, u.packed, sides.coalition_of, held_by, enemy_here, state.routes.of(c)[0],
                           (dest, reached))
    # Nowhere to go: the unit dissolves.
    _settle_routs(rout, deserters, reached, u.packed, state.packed_tally)
    set_courses(state, rout[reached], dest[reached])
    return Routs(rout, u.faction[rout], u.loc[rout], reached, dest, deserters, u.personnel[rout])


def fall_shock(state: State, place: int, losing_coalition: int, params: dict[str, float]) -> None:
    """The fall of ``place`` shakes the morale of ``losing_coalition``'s units nearby (see the module's
    docstring)."""
    radius = params["morale_shock_radius_km"]
    u = state.units
    _fall_shock(place, losing_coalition, u.packed, u.n, state.sides.coalition_of, state.world.value,
                state.world.distance_km, (radius, max(radius, 1e-9), params["morale_fall_shock"]))


# ---------------------------------------------------------------------------------------------------------
# Compiled helpers: NumPy's operations in NumPy's order (no fastmath), so the numbers are NumPy's.


@njit(cache=True)
def np_clip(x: float, lo: float, hi: float) -> float:
    """``np.clip`` of one number as NumPy computes it: NaN stays NaN, ``x`` is kept unless below ``lo`` or above
    ``hi`` (so ``-0.0`` clipped at ``0`` stays ``-0.0``)."""
    if x != x:
        return x
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x


@njit(cache=True)
def np_maximum(a: float, b: float) -> float:
    """``np.maximum(a, b)``: NaN if either is NaN (the first one), else ``a`` if greater, else ``b``."""
    if a != a:
        return a
    if b != b:
        return b
    return a if a > b else b


@njit(cache=True)
def np_minimum(a: float, b: float) -> float:
    """``np.minimum(a, b)``: NaN if either is NaN (the first one), else ``a`` if less, else ``b``."""
    if a != a:
        return a
    if b != b:
        return b
    return a if a < b else b


@njit(cache=True)
def _clip(x: float, lo: float, hi: float) -> float:
    """``np.clip`` of one number as the day's morale wrote it: ``min(max(x, lo), hi)`` (a NaN stays NaN; unlike
    :func:`np_clip`, ``-0.0`` clipped at ``0`` becomes ``0.0``)."""
    if x != x:
        return x
    y = x if x > lo else lo
    return y if y < hi else hi


@njit(cache=True)
def _morale_today(morale: float, base_morale: float, cut_off: bool, sympathy: float, government: bool, calm: bool,
                  params: tuple) -> float:
    """One unit's morale of the day (see the module's docstring); ``params`` is ``(airlift_places,
    morale_cutoff, hostile_population_morale, morale_recovery, rout_threshold)``. Booleans count as 1.0 and
    0.0, in NumPy's order of operations."""
    _, morale_cutoff, hostile_population_morale, morale_recovery, _ = params
    m = morale - morale_cutoff * (1.0 if cut_off else 0.0)
    hostile = _clip(2 * (sympathy - 0.5), 0.0, 1.0)
    m = m - hostile_population_morale * hostile * (1.0 if government else 0.0)
    m = m + (morale_recovery * (base_morale - m) if calm else 0.0)
    return _clip(m, 0.0, 1.0)


@njit(cache=True)
def _day_morale(units: Units, n: int, presence: Presence, sides: Sides, places: Places, open_road: np.ndarray,
                controller: np.ndarray, params: tuple, out: tuple) -> int:
    """The day's morale of units ``0 .. n-1`` and who routs (see :func:`daily_morale_and_routs`).

    ``params`` is ``(airlift_places, morale_cutoff, hostile_population_morale, morale_recovery,
    rout_threshold)``; ``out`` is ``(held_by, enemy_here, rout, rout_coalitions)``: the coalition holding each
    place, whether enemies of each coalition are present at each place (for the routs' destinations), the
    units that rout (live, here, not routing, morale below the threshold), in row order, and their coalitions.
    Returns how many rout.
    """
    u, pr, s, pl = unit_columns(units), Presence(*presence), side_columns(sides), Places(*places)
    held_by, enemy_here, rout, rout_coalitions = out
    airlift_places, rout_threshold = params[0], params[4]
    nf, n_places, nc = s.coalition_of.size, controller.size, s.hostile.shape[0]
    # Who holds and who occupies each place; the live units; the government factions with live units.
    for q in range(n_places):
        held_by[q] = s.coalition_of[controller[q]]
        for c in range(nc):
            e = False
            for d in range(nc):
                if s.hostile[c, d] and pr.personnel[q, d] > 0:
                    e = True
            enemy_here[q, c] = e
    live, gov_live = np.empty(n, dtype=np.bool_), np.zeros(nf, dtype=np.bool_)
    for r in range(n):
        live[r] = u.alive[r] and u.personnel[r] > 0
        if live[r] and s.government[u.faction[r]]:
            gov_live[u.faction[r]] = True
    # Where each of those factions is cut off (rows of other factions are not read).
    passable, cut = np.empty(n_places, dtype=np.bool_), np.empty((nf, n_places), dtype=np.bool_)
    for f in range(nf):
        if gov_live[f]:
            c = s.coalition_of[f]
            for q in range(n_places):
                passable[q] = not s.hostile[c, held_by[q]] and not enemy_here[q, c]
            _cut_off_places(open_road, pl.value, passable, f, s, airlift_places, held_by, cut[f])
    for r in range(n):
        government = s.government[u.faction[r]]
        cut_off = live[r] and government and cut[u.faction[r], u.loc[r]]
        calm = not pr.battle[u.loc[r]] and not cut_off
        u.morale[r] = _morale_today(u.morale[r], u.base_morale[r], cut_off, pl.sympathy[u.loc[r]], government, calm,
                                    params)
    rout_coalitions[:] = False
    k = 0
    for r in range(n):
        if live[r] and r < pr.here.size and pr.here[r] and not u.routing[r] and u.morale[r] < rout_threshold:
            rout[k] = r
            rout_coalitions[s.coalition_of[u.faction[r]]] = True
            k += 1
    return k


@njit(cache=True)
def _cut_off_places(open_road: np.ndarray, value: np.ndarray, passable: np.ndarray, faction: int, sides: Sides,
                    airlift_places: int, held_by: np.ndarray, cut: np.ndarray) -> None:
    """The places a government ``faction`` is cut off at (``cut``): all but those its rear reaches by open roads
    (either way round) through ``passable`` places (all of them if it has no rear, or its rear is not
    passable): the places outside the rear's connected component, as ``World.components`` labels them. With an
    airlift, the ``airlift_places`` most valuable (``value``) of the places its coalition holds among them (the
    first, on a tie) are not cut off: Python's ``[:airlift_places]`` of the stable sort by decreasing value."""
    rear, airlift, coalition = sides.rear[faction], sides.airlift[faction], sides.coalition_of[faction]
    n = passable.size
    cut[:] = True
    if rear >= 0 and passable[rear]:
        queue = np.empty(n, dtype=np.int64)
        queue[0] = rear
        cut[rear] = False
        head, tail = 0, 1
        while head < tail:
            a = queue[head]
            head += 1
            for b in range(n):
                if cut[b] and passable[b] and (open_road[a, b] or open_road[b, a]):
                    cut[b] = False
                    queue[tail] = b
                    tail += 1
    if not airlift:
        return
    held = 0
    for q in range(n):
        if cut[q] and held_by[q] == coalition:
            held += 1
    k = airlift_places if airlift_places >= 0 else max(held + airlift_places, 0)
    taken = np.zeros(n, dtype=np.bool_)
    for _ in range(min(k, held)):
        best = -1
        for q in range(n):
            if not cut[q] or held_by[q] != coalition or taken[q]:
                continue
            # Sorted by -value (stable): a larger value first, NaN last, the lower index on a tie.
            if best < 0 or value[q] > value[best] or (value[best] != value[best] and value[q] == value[q]):
                best = q
        taken[best] = True
    for q in range(n):
        if taken[q]:
            cut[q] = False


@njit(cache=True)
def _rout_destinations(coalition: int, rout: np.ndarray, units: Units, coalition_of: np.ndarray,
                       held_by: np.ndarray, enemy_here: np.ndarray, days: np.ndarray, out: tuple) -> None:
    """For the routing units (rows ``rout``) of ``coalition``: the nearest place by ``days`` (its coalition's
    travel days) that it holds and no enemy occupies, other than where the unit is (``out[0]``, ``dest``: the
    ``argmin``, the first NaN or the first least), and whether there is one (``out[1]``, ``reached``: finite
    days)."""
    u = unit_columns(units)
    dest, reached = out
    n = held_by.size
    for i in range(rout.size):
        r = rout[i]
        if coalition_of[u.faction[r]] != coalition:
            continue
        here = u.loc[r]
        best = 0
        top = np.inf
        for q in range(n):
            v = days[here, q] if held_by[q] == coalition and not enemy_here[q, coalition] and q != here \
                else np.inf
            if q == 0 or v < top or v != v:
                best, top = q, v
                if v != v:
                    break
        dest[i] = best
        reached[i] = np.isfinite(top)


@njit(cache=True)
def _settle_routs(rout: np.ndarray, deserters: np.ndarray, reached: np.ndarray, units: Units,
                  tally: Tally) -> None:
    """Routing units lose their ``deserters`` (to the ledger's ``deserted``); those with nowhere to go (not
    ``reached``) dissolve, all of them deserting (added to ``deserters``), the others start routing."""
    u, t = unit_columns(units), Tally(*tally)
    for i in range(rout.size):
        r = rout[i]
        u.personnel[r] -= deserters[i]
        t.ledger[DESERTED, u.faction[r]] += deserters[i]
    for i in range(rout.size):
        r = rout[i]
        if reached[i]:
            u.routing[r] = True
        else:
            t.ledger[DESERTED, u.faction[r]] += u.personnel[r]
            deserters[i] += u.personnel[r]
            u.personnel[r] = 0


@njit(cache=True)
def _fall_shock(place: int, losing_coalition: int, units: Units, n: int, coalition_of: np.ndarray,
                value: np.ndarray, distance_km: np.ndarray, params: tuple) -> None:
    """The fall of ``place`` shakes the morale of the losing coalition's live units (rows ``0 .. n-1``) within
    ``radius`` km, by ``shock * v / (1 + v) * min(1, v / max(value there, 1e-9)) * (1 - d / radius_floor)``
    (``params``: ``(radius, radius_floor, shock)``, ``radius_floor = max(radius, 1e-9)``; ``v``: the value of
    ``place``; ``d``: the distance), clipped to 0-1."""
    u = unit_columns(units)
    radius, radius_floor, shock = params
    v = value[place]
    weight = v / (1.0 + v)
    for r in range(n):
        if not u.alive[r] or coalition_of[u.faction[r]] != losing_coalition:
            continue
        d = distance_km[place, u.loc[r]]
        if not d <= radius:
            continue
        relative = np_minimum(1.0, v / np_maximum(value[u.loc[r]], 1e-9))
        u.morale[r] = np_clip(u.morale[r] - shock * weight * relative * (1.0 - d / radius_floor), 0.0, 1.0)
