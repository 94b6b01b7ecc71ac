"""Morale: the day's morale of every unit, being cut off, routs, and the fall shock."""

from __future__ import annotations

import numpy as np
from numba import njit


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
    """``np.clip`` of one number: ``min(max(x, lo), hi)`` as NumPy writes them (a NaN stays NaN)."""
    if x != x:
        return x
    y = x if x > lo else lo
    return y if y < hi else hi


@njit(cache=True)
def daily_morale(morale: np.ndarray, base_morale: np.ndarray, cutoff: np.ndarray, sympathy_here: np.ndarray,
                 government: np.ndarray, calm: np.ndarray, morale_cutoff: float, hostile_population_morale: float,
                 morale_recovery: float) -> None:
    """A day's morale of every unit, in place (``ConflictModel._morale``): minus ``morale_cutoff`` if cut off,
    minus ``hostile_population_morale`` times how hostile the population is (``2 * (sympathy - 0.5)``, clipped
    to 0-1) for government units, and a ``morale_recovery`` share of the way back to its base if calm; clipped
    to 0-1. The operations are NumPy's, in its order, on floats (booleans as 1.0 and 0.0)."""
    for r in range(morale.size):
        m = morale[r] - morale_cutoff * (1.0 if cutoff[r] else 0.0)
        hostile = _clip(2 * (sympathy_here[r] - 0.5), 0.0, 1.0)
        m = m - hostile_population_morale * hostile * (1.0 if government[r] else 0.0)
        m = m + (morale_recovery * (base_morale[r] - m) if calm[r] else 0.0)
        morale[r] = _clip(m, 0.0, 1.0)


@njit(cache=True)
def morale_inputs(n: int, alive: np.ndarray, personnel: np.ndarray, faction: np.ndarray, government: np.ndarray,
                  coalition_of: np.ndarray, hostile_c: np.ndarray, controller: np.ndarray, personnel_c: np.ndarray,
                  ctrl_c: np.ndarray, enemy_here: np.ndarray, live: np.ndarray, gov_live: np.ndarray,
                  passable: np.ndarray) -> None:
    """What ``ConflictModel._morale`` needs before the cut-off places are known, for units ``0 .. n-1``.

    Fills ``ctrl_c`` (the coalition of each place's ``controller``), ``enemy_here`` ((places, coalitions) bool:
    personnel of a coalition hostile to the column's present at the place), ``live`` (per unit: alive with
    personnel), ``gov_live`` (per faction: a ``government`` faction with a live unit) and, for those factions,
    ``passable[f]``: places neither held by an enemy of the faction's coalition nor occupied by one.
    """
    places, nc = personnel_c.shape
    for p in range(places):
        ctrl_c[p] = coalition_of[controller[p]]
        for c in range(nc):
            e = False
            for d in range(nc):
                if hostile_c[c, d] and personnel_c[p, d] > 0:
                    e = True
            enemy_here[p, c] = e
    gov_live[:] = False
    for r in range(n):
        live[r] = alive[r] and personnel[r] > 0
        if live[r] and government[faction[r]]:
            gov_live[faction[r]] = True
    for f in range(gov_live.size):
        if gov_live[f]:
            c = coalition_of[f]
            for p in range(places):
                passable[f, p] = not hostile_c[c, ctrl_c[p]] and not enemy_here[p, c]


@njit(cache=True)
def cut_off_places(open_road: np.ndarray, passable: np.ndarray, rear: int, airlift: bool, airlift_places: int,
                   ctrl_c: np.ndarray, coalition: int, value: np.ndarray, cut: np.ndarray) -> None:
    """The places a government faction is cut off at (``cut``): all but those its ``rear`` reaches by open roads
    (``open_road``, either way round) through ``passable`` places (all of them if it has no rear, or its rear
    is not passable): the places outside the rear's connected component, as ``World.components`` labels them.
    With an ``airlift``, the ``airlift_places`` most valuable of the places its ``coalition`` holds among them
    (the first, on a tie) are not cut off: Python's ``[:airlift_places]`` of the stable sort by decreasing
    value."""
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
        if cut[q] and ctrl_c[q] == coalition:
            held += 1
    k = airlift_places if airlift_places >= 0 else max(held + airlift_places, 0)
    taken = np.zeros(n, dtype=np.bool_)
    for _ in range(min(k, held)):
        best = -1
        for q in range(n):
            if not cut[q] or ctrl_c[q] != coalition or taken[q]:
                continue
            # Sorted by -value (stable): a larger value first, NaN last, the lower index on a tie.
            if best < 0 or value[q] > value[best] or (value[best] != value[best] and value[q] == value[q]):
                best = q
        taken[best] = True
    for q in range(n):
        if taken[q]:
            cut[q] = False


@njit(cache=True)
def unit_morale(n: int, morale: np.ndarray, base_morale: np.ndarray, live: np.ndarray, faction: np.ndarray,
                government: np.ndarray, cut: np.ndarray, loc: np.ndarray, sympathy: np.ndarray, battle_at: np.ndarray,
                here: np.ndarray, routing: np.ndarray, coalition_of: np.ndarray, morale_cutoff: float,
                hostile_population_morale: float, morale_recovery: float, rout_threshold: float,
                rout: np.ndarray, rout_coalitions: np.ndarray) -> int:
    """The day's morale of units ``0 .. n-1`` (by :func:`simulation.planning.daily_morale`), and who routs.

    A live government unit is cut off where its faction's row of ``cut`` says so (rows of other factions are not
    read); a unit not cut off and not at a battle (``battle_at``) is calm. Units that rout (live, ``here``, not
    ``routing``, morale below ``rout_threshold``) go into ``rout`` in row order, and their coalitions are marked
    in ``rout_coalitions``. Returns how many rout.
    """
    cutoff = np.zeros(n, dtype=np.bool_)
    sympathy_here = np.empty(n)
    gov = np.empty(n, dtype=np.bool_)
    calm = np.empty(n, dtype=np.bool_)
    for r in range(n):
        gov[r] = government[faction[r]]
        cutoff[r] = live[r] and gov[r] and cut[faction[r], loc[r]]
        sympathy_here[r] = sympathy[loc[r]]
        calm[r] = not battle_at[loc[r]] and not cutoff[r]
    daily_morale(morale[:n], base_morale[:n], cutoff, sympathy_here, gov, calm, morale_cutoff,
                 hostile_population_morale, morale_recovery)
    rout_coalitions[:] = False
    k = 0
    for r in range(n):
        if live[r] and r < here.size and here[r] and not routing[r] and morale[r] < rout_threshold:
            rout[k] = r
            rout_coalitions[coalition_of[faction[r]]] = True
            k += 1
    return k


@njit(cache=True)
def day_morale(n: int, alive: np.ndarray, personnel: np.ndarray, faction: np.ndarray, loc: np.ndarray,
               morale: np.ndarray, base_morale: np.ndarray, here: np.ndarray, routing: np.ndarray,
               government: np.ndarray, airlift: np.ndarray, rear: np.ndarray, coalition_of: np.ndarray,
               hostile_c: np.ndarray, controller: np.ndarray, personnel_c: np.ndarray, open_road: np.ndarray,
               value: np.ndarray, sympathy: np.ndarray, battle_at: np.ndarray, airlift_places: int,
               morale_cutoff: float, hostile_population_morale: float, morale_recovery: float,
               rout_threshold: float, ctrl_c: np.ndarray, enemy_here: np.ndarray, rout: np.ndarray,
               rout_coalitions: np.ndarray) -> int:
    """``ConflictModel._morale`` up to the routs: :func:`morale_inputs`, the places each government faction
    with live units is cut off at (:func:`cut_off_places`, by its ``rear`` and ``airlift``), then
    :func:`unit_morale`. Fills ``ctrl_c`` and ``enemy_here`` (for the routs), ``rout`` and
    ``rout_coalitions``; returns how many rout."""
    nf, places = coalition_of.size, controller.size
    live, gov_live = np.empty(n, dtype=np.bool_), np.empty(nf, dtype=np.bool_)
    passable, cut = np.empty((nf, places), dtype=np.bool_), np.empty((nf, places), dtype=np.bool_)
    morale_inputs(n, alive, personnel, faction, government, coalition_of, hostile_c, controller, personnel_c, ctrl_c,
                  enemy_here, live, gov_live, passable)
    for f in range(nf):
        if gov_live[f]:
            cut_off_places(open_road, passable[f], rear[f], airlift[f], airlift_places, ctrl_c, coalition_of[f],
                           value, cut[f])
    return unit_morale(n, morale, base_morale, live, faction, government, cut, loc, sympathy, battle_at, here,
                       routing, coalition_of, morale_cutoff, hostile_population_morale, morale_recovery,
                       rout_threshold, rout, rout_coalitions)


@njit(cache=True)
def rout_destinations(coalition: int, rout: np.ndarray, loc: np.ndarray, faction: np.ndarray,
                      coalition_of: np.ndarray, ctrl_c: np.ndarray, enemy_here: np.ndarray, days: np.ndarray,
                      dest: np.ndarray, reached: np.ndarray) -> None:
    """For the routing units (rows ``rout``) of ``coalition``: the nearest place by ``days`` (its coalition's
    travel days) that it holds and no enemy occupies, other than where the unit is (``dest``: the ``argmin``,
    the first NaN or the first least), and whether there is one (``reached``: finite days)."""
    n = ctrl_c.size
    for i in range(rout.size):
        r = rout[i]
        if coalition_of[faction[r]] != coalition:
            continue
        here = loc[r]
        best = 0
        top = np.inf
        for q in range(n):
            v = days[here, q] if ctrl_c[q] == coalition and not enemy_here[q, coalition] and q != here \
                else np.inf
            if q == 0 or v < top or v != v:
                best, top = q, v
                if v != v:
                    break
        dest[i] = best
        reached[i] = np.isfinite(top)


@njit(cache=True)
def settle_routs(rout: np.ndarray, deserters: np.ndarray, reached: np.ndarray, personnel: np.ndarray,
                 faction: np.ndarray, routing: np.ndarray, deserted: np.ndarray) -> None:
    """Routing units lose their ``deserters`` (to the ledger's ``deserted``); those with nowhere to go
    (not ``reached``) dissolve, all of them deserting (added to ``deserters``), the others start routing."""
    for i in range(rout.size):
        r = rout[i]
        personnel[r] -= deserters[i]
        deserted[faction[r]] += deserters[i]
    for i in range(rout.size):
        r = rout[i]
        if reached[i]:
            routing[r] = True
        else:
            deserted[faction[r]] += personnel[r]
            deserters[i] += personnel[r]
            personnel[r] = 0


@njit(cache=True)
def fall_shock(place: int, losing_coalition: int, n: int, alive: np.ndarray, faction: np.ndarray,
               coalition_of: np.ndarray, loc: np.ndarray, distance_km: np.ndarray, value: np.ndarray, radius: float,
               radius_floor: float, shock: float, morale: np.ndarray) -> None:
    """The fall of ``place`` shakes the morale of the losing coalition's live units within ``radius`` km, by
    ``shock * v / (1 + v) * min(1, v / max(value there, 1e-9)) * (1 - d / radius_floor)`` (``v``: the value of
    ``place``; ``d``: the distance; ``radius_floor``: ``max(radius, 1e-9)``), clipped to 0-1."""
    v = value[place]
    weight = v / (1.0 + v)
    for r in range(n):
        if not alive[r] or coalition_of[faction[r]] != losing_coalition:
            continue
        d = distance_km[place, loc[r]]
        if not d <= radius:
            continue
        relative = np_minimum(1.0, v / np_maximum(value[loc[r]], 1e-9))
        morale[r] = np_clip(morale[r] - shock * weight * relative * (1.0 - d / radius_floor), 0.0, 1.0)
