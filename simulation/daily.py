"""The model's daily bookkeeping, compiled with Numba: morale and routs, changes of control, recruitment,
sleeper cells, the burial of spent units, the day's violence and its records (``ConflictModel._morale``,
``_control``, ``_recruit``, ``_wake_sleepers``, ``_bury_dead_units``, ``_step``, ``_record``).

Done with NumPy each of these was a dozen or more array operations a day on arrays of a few hundred numbers,
whose fixed cost was most of the time. The random draws stay with NumPy, in the model, with the same
arguments in the same order; these functions do the arithmetic between them. It is NumPy's, operation for
operation and in the same order (no ``fastmath``): float sums that ``np.bincount`` did run in row order, and
``np.clip``, ``np.minimum`` and ``np.maximum`` are written as NumPy computes them (NaN and signed zeros
included). Sums of personnel are integer sums (the ``np.bincount`` they replace summed them as floats, exactly).
The places a government faction's rear still reaches are found by a search over the open roads
(:func:`cut_off_places`): the rear's connected component, which ``World.components`` labelled among all others.
``tests/test_daily.py`` checks each against the NumPy code it replaced.

Following the rule of :mod:`simulation.movement`, the functions fill arrays passed in and return numbers, never
arrays.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from simulation.planning import daily_morale


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


# 5. Morale --------------------------------------------------------------------------------------------------

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


# 7. Control ---------------------------------------------------------------------------------------------------

@njit(cache=True)
def control_changes(personnel_c: np.ndarray, controller: np.ndarray, coalition_of: np.ndarray, n: int,
                    here: np.ndarray, routing: np.ndarray, loc: np.ndarray, faction: np.ndarray,
                    personnel: np.ndarray, changed: np.ndarray, new: np.ndarray) -> int:
    """The places that change hands (``changed``, in increasing order: only one coalition has personnel there,
    not the holder's) and their new holders (``new``: the faction of that coalition with the most personnel
    ``here`` and not ``routing`` among units ``0 .. n-1``, the first on a tie). Returns how many."""
    places, nc = personnel_c.shape
    k = 0
    for p in range(places):
        count = 0
        winner = 0
        for c in range(nc):
            if personnel_c[p, c] > 0:
                if count == 0:
                    winner = c
                count += 1
        if count == 1 and winner != coalition_of[controller[p]]:
            changed[k] = p
            new[k] = winner  # the coalition, for now
            k += 1
    if k == 0:
        return 0
    nf = coalition_of.size
    held = np.zeros((places, nf), dtype=np.int64)
    for r in range(n):
        if r < here.size and here[r] and not routing[r]:
            held[loc[r], faction[r]] += personnel[r]
    for i in range(k):
        p = changed[i]
        best = -1
        for f in range(nf):
            if coalition_of[f] == new[i] and (best < 0 or held[p, f] > held[p, best]):
                best = f
        new[i] = best
    return k


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


# 8. Recruitment ---------------------------------------------------------------------------------------------

@njit(cache=True)
def recruit_rates(controller: np.ndarray, faction: int, rate: float, residents: np.ndarray, sympathy: np.ndarray,
                  held: np.ndarray, lam: np.ndarray) -> int:
    """The places ``faction`` holds (``held``, in increasing order) and the expected recruits at each (``lam``:
    ``rate * residents * sympathy``). Returns how many places."""
    m = 0
    for q in range(controller.size):
        if controller[q] == faction:
            held[m] = q
            lam[m] = rate * residents[q] * sympathy[q]
            m += 1
    return m


@njit(cache=True)
def join_recruits(faction: int, held: np.ndarray, recruits: np.ndarray, n: int, alive: np.ndarray,
                  unit_faction: np.ndarray, nxt: np.ndarray, routing: np.ndarray, loc: np.ndarray,
                  personnel: np.ndarray, quality: np.ndarray, recruit_quality: float, n_places: int,
                  new_places: np.ndarray, new_recruits: np.ndarray) -> tuple[int, int]:
    """Recruits (``recruits`` at each of the ``held`` places) join the largest unit of ``faction`` at the place
    (alive, not on the road, not routing; the first row on a tie), whose quality becomes the personnel-weighted
    mean with ``recruit_quality``. The places with no such unit and their recruits, in the order of ``held``, go
    to ``new_places`` and ``new_recruits`` (new units, for the model to create). Returns (how many of those,
    all the recruits)."""
    largest = np.full(n_places, -1, dtype=np.int64)
    for r in range(n):
        if alive[r] and unit_faction[r] == faction and nxt[r] < 0 and not routing[r]:
            here = loc[r]
            if largest[here] < 0 or personnel[r] > personnel[largest[here]]:
                largest[here] = r
    m = 0
    total = 0
    for i in range(held.size):
        k = recruits[i]
        if k <= 0:
            continue
        total += k
        r = largest[held[i]]
        if r >= 0:
            joined = personnel[r] + k
            quality[r] = (quality[r] * personnel[r] + recruit_quality * k) / joined
            personnel[r] = joined
        else:
            new_places[m] = held[i]
            new_recruits[m] = k
            m += 1
    return m, total


# 9. Records ---------------------------------------------------------------------------------------------------

@njit(cache=True)
def record_day(d: int, n: int, alive: np.ndarray, nxt: np.ndarray, loc: np.ndarray, faction: np.ndarray,
               personnel: np.ndarray, controller: np.ndarray, today_killed: np.ndarray, today_wounded: np.ndarray,
               ledger: np.ndarray, killed_so_far: np.ndarray, residents: np.ndarray, idps: np.ndarray,
               displaced_from: np.ndarray, rec_control: np.ndarray, rec_present: np.ndarray,
               rec_arriving: np.ndarray, rec_killed: np.ndarray, rec_wounded: np.ndarray, rec_ledger: np.ndarray,
               rec_population: np.ndarray, rec_idps: np.ndarray, rec_displaced_from: np.ndarray,
               report: np.ndarray) -> None:
    """Day ``d``'s records (``ConflictModel._record``): control; the personnel of the live units among
    ``0 .. n-1`` present at each place (not on the road) and arriving at each (on the road to it) by faction,
    and in all by faction (the last row of ``rec_ledger``, after the ``ledger`` rows); the day's killed and
    wounded (added to ``killed_so_far`` by party); the population (``residents + idps``), the displaced
    sheltering and the displaced from each place.

    ``report``: the data collector's numbers: personnel by faction, places held by faction, all killed so far,
    civilians killed so far, displaced people sheltering."""
    places, nf = rec_present.shape[1], rec_present.shape[2]
    rec_present[d] = 0
    rec_arriving[d] = 0
    report[:] = 0
    for r in range(n):
        if alive[r]:
            if nxt[r] < 0:
                rec_present[d, loc[r], faction[r]] += personnel[r]
            else:
                rec_arriving[d, nxt[r], faction[r]] += personnel[r]
            report[faction[r]] += personnel[r]
    for p in range(places):
        rec_control[d, p] = controller[p]
        report[nf + controller[p]] += 1
        rec_population[d, p] = residents[p] + idps[p]
        rec_idps[d, p] = idps[p]
        rec_displaced_from[d, p] = displaced_from[p]
        report[2 * nf + 2] += idps[p]
        for j in range(today_killed.shape[1]):
            rec_killed[d, p, j] = today_killed[p, j]
            rec_wounded[d, p, j] = today_wounded[p, j]
            killed_so_far[j] += today_killed[p, j]
    for i in range(ledger.shape[0]):
        for f in range(nf):
            rec_ledger[d, i, f] = ledger[i, f]
    for f in range(nf):
        rec_ledger[d, ledger.shape[0], f] = report[f]
    for j in range(killed_so_far.size):
        report[2 * nf] += killed_so_far[j]
    report[2 * nf + 1] = killed_so_far[killed_so_far.size - 1]


# Sleeper cells and spent units --------------------------------------------------------------------------------

@njit(cache=True)
def sleeper_cells(n: int, hidden: np.ndarray, alive: np.ndarray, personnel: np.ndarray, faction: np.ndarray,
                  loc: np.ndarray, quality: np.ndarray, morale: np.ndarray, offensive_in: np.ndarray,
                  governorate_of: np.ndarray, coalition_of: np.ndarray, personnel_c: np.ndarray,
                  hostile_c: np.ndarray, hid: np.ndarray, state: np.ndarray, cells: np.ndarray,
                  need: np.ndarray) -> int:
    """The sleeper cells among units ``0 .. n-1`` (hidden, alive, with personnel: ``hid``) and, for each, whether
    it rises (``state``: 0 no, its side's offensive has not begun in its governorate; 1 yes, its side's forces
    are present or no enemy is; 2 if strong enough), with the cells' effective strength at each place by
    coalition (``cells``, summed in row order) and the coalitions whose defence decides (``need``).

    Returns how many cells, or 0 if there are none or none whose offensive has begun (then nothing else is
    filled)."""
    k = 0
    active = False
    for r in range(n):
        if hidden[r] and alive[r] and personnel[r] > 0:
            hid[k] = r
            k += 1
            if offensive_in[faction[r], governorate_of[loc[r]]]:
                active = True
    if not active:
        return 0
    cells[:] = 0.0
    need[:] = False
    nc = hostile_c.shape[0]
    for i in range(k):
        r = hid[i]
        c = coalition_of[faction[r]]
        here = loc[r]
        cells[here, c] += personnel[r] * quality[r] * morale[r]
        if not offensive_in[faction[r], governorate_of[here]]:
            state[i] = 0
            continue
        enemies = False
        for e in range(nc):
            if hostile_c[c, e] and personnel_c[here, e] > 0:
                enemies = True
        if personnel_c[here, c] > 0 or not enemies:
            state[i] = 1
        else:
            state[i] = 2
            need[c] = True
    return k


@njit(cache=True)
def sleepers_rise(hid: np.ndarray, state: np.ndarray, loc: np.ndarray, faction: np.ndarray,
                  coalition_of: np.ndarray, cells: np.ndarray, defence: np.ndarray, attack_ratio: float,
                  hidden: np.ndarray, rise: np.ndarray) -> int:
    """The cells ``hid`` that rise (``state`` 1, or 2 with the cells of their coalition at their place at least
    ``attack_ratio`` times the ``defence`` against it there, [coalition, place]) are no longer ``hidden``; they
    go into ``rise`` in order. Returns how many."""
    m = 0
    for i in range(hid.size):
        r = hid[i]
        if state[i] == 2:
            c = coalition_of[faction[r]]
            up = cells[loc[r], c] >= attack_ratio * defence[c, loc[r]]
        else:
            up = state[i] == 1
        if up:
            hidden[r] = False
            rise[m] = r
            m += 1
    return m


@njit(cache=True)
def spent_units(n: int, alive: np.ndarray, personnel: np.ndarray, dead: np.ndarray) -> int:
    """Units among ``0 .. n-1`` alive with no personnel left are no longer ``alive``; they go into ``dead`` in
    order. Returns how many."""
    k = 0
    for r in range(n):
        if alive[r] and personnel[r] <= 0:
            alive[r] = False
            dead[k] = r
            k += 1
    return k


@njit(cache=True)
def day_violence(today_killed: np.ndarray, today_wounded: np.ndarray, today_sorties: np.ndarray,
                 violence: np.ndarray) -> None:
    """The day's violence at each place, for the civilians: killed and wounded of every party, and air
    sorties."""
    for p in range(violence.size):
        v = 0
        for j in range(today_killed.shape[1]):
            v += today_killed[p, j]
        for j in range(today_wounded.shape[1]):
            v += today_wounded[p, j]
        violence[p] = v + today_sorties[p]
