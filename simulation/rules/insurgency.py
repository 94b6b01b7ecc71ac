"""Insurgency: sleeper cells and recruitment."""

from __future__ import annotations

import numpy as np
from numba import njit


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
