"""Insurgency: sleeper cells that rise when the offensive reaches them, and recruitment where insurgents rule.

**Sleeper cells.** Insurgent units that start inside places held by their enemies are hidden (not fighting,
not seen) until their side's offensive begins in their governorate. Then a cell rises when its side's forces
are present at its place, or when no enemy is (the garrison has gone or routed); never on odds alone, however
much it outnumbers the garrison (in June 2014 the cells of Mosul, Tikrit or Hawija rose as the columns
arrived or the army left, not on the offensive's first day).

**Fronts.** An offensive begins in a governorate (``offensive`` events), but the insurgents holding an enclave
there since before the run began (Fallujah and Karma since January 2014) are tied to its defence: they take part
(attack, threaten, count as free for orders) only once the enclave is joined to a place where an offensive of
theirs in that governorate began, by open roads through places their enemies do not hold. In June 2014 the
push up the Euphrates from the Syrian border took al-Qaim, Rawa, Ana and Rutba, while the front around
Fallujah and Ramadi, deadlocked since January, did not move (Musings on Iraq, 'Stalemate in Iraq's Anbar
Province', 19 Feb 2014; the scenario's Anbar offensive row). Units elsewhere follow their governorate's start.

**Recruitment.** Each day, at each place an insurgent faction holds,

    recruits ~ Poisson(recruit_rate * residents * sympathy)

join the faction's largest unit at the place (alive, not on the road, not routing; the first on a tie), whose
quality becomes the personnel-weighted mean with ``recruit_quality``, or form a new unit of that quality and
``initial_morale``.

Parameters read: ``recruit_rate``, ``recruit_quality``, ``initial_morale``.

Entries: :func:`offensive_fronts`, :func:`sleepers_rise`, :func:`recruit`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from simulation.rules import movement
from simulation.rules.state import RECRUITED, Places, Sides, State, Units, side_columns, unit_columns


def offensive_fronts(state: State) -> None:
    """Where each faction's units take part in its offensive today (``state.offensive_at``, faction x place): where
    it has begun in the place's governorate, except, for insurgent factions, at places their side holds and has
    held since the start (an enclave) that open roads through places not held by their enemies do not join to
    a place where one of their offensives in that governorate began (see the module's docstring)."""
    w, sides = state.world, state.sides
    gov = w.governorate_of
    at = state.offensive_at
    at[:] = state.offensive_in[:, gov]
    for f in state.insurgent_factions:
        c = sides.coalition_of[f]
        enclave = at[f] & (state.initial_holder == c) & (state.holder == c)
        if not enclave.any():
            continue
        origins = state.offensive_from[f]
        labels = w.components(~sides.hostile[c, state.holder] | origins)
        joined = np.zeros(w.n, dtype=bool)
        for g in np.unique(gov[enclave]).tolist():
            from_here = labels[origins & (gov == g)]
            joined |= (gov == g) & np.isin(labels, from_here[from_here >= 0])
        at[f] &= ~enclave | joined


def sleepers_rise(state: State, params: dict[str, float]) -> np.ndarray | None:
    """The sleeper cells that rise today (see the module's docstring) are no longer hidden, and presence is
    worked out again (the cells now fight). Returns their rows, in order, or None if none rose."""
    u, n = state.units, state.units.n
    rise = np.empty(n, dtype=np.int64)
    m = _rise(u.packed, n, state.packed_sides, state.world.packed_places, state.offensive_in,
              state.presence.personnel, rise)
    if m == 0:
        return None
    movement.update_presence(state)
    return rise[:m]


def recruit(state: State, rng: np.random.Generator, params: dict[str, float]) -> int:
    """The day's recruits of every insurgent faction, in the order of the factions (see the module's
    docstring); new units are added to the unit table. Returns how many joined in all.

    Random draws: for each insurgent faction that holds places, ``rng.poisson`` over them (in increasing order).
    """
    u, w, p = state.units, state.world, params
    held, lam = np.empty(w.n, dtype=np.int64), np.empty(w.n)
    new_places, new_recruits = np.empty(w.n, dtype=np.int64), np.empty(w.n, dtype=np.int64)
    everyone = 0
    for f in state.insurgent_factions:
        m = _recruit_rates(state.controller, f, p["recruit_rate"], state.civilians.residents, w.sympathy,
                           (held, lam))
        if m == 0:
            continue
        recruits = rng.poisson(lam[:m])
        # Recruits join the largest unit of the faction at the place (the first, on a tie), or form one.
        k, total = _join_recruits(f, held[:m], recruits, u.packed, u.n, w.n, p["recruit_quality"],
                                  (new_places, new_recruits))
        for pl, kk in zip(new_places[:k].tolist(), new_recruits[:k].tolist()):
            u.add(f, pl, kk, p["recruit_quality"], p["initial_morale"], name="recruits")
        state.tally.ledger[RECRUITED, f] += total
        everyone += total
    return everyone


# ---------------------------------------------------------------------------------------------------------
# Compiled helpers


@njit(cache=True)
def _rise(units: Units, n: int, sides: Sides, places: Places, offensive_in: np.ndarray, personnel_c: np.ndarray,
          rise: np.ndarray) -> int:
    """The sleeper cells among units ``0 .. n-1`` (hidden, alive, with personnel) that rise: their side's
    offensive has begun in their governorate and, at their place, their side's forces are present or no enemy
    is (``personnel_c``: personnel present by place and coalition). They are no longer hidden; they go into
    ``rise`` in row order. Returns how many."""
    u, s, pl = unit_columns(units), side_columns(sides), Places(*places)
    nc = s.hostile.shape[0]
    m = 0
    for r in range(n):
        if not (u.hidden[r] and u.alive[r] and u.personnel[r] > 0):
            continue
        here = u.loc[r]
        if not offensive_in[u.faction[r], pl.governorate[here]]:
            continue
        c = s.coalition_of[u.faction[r]]
        enemies = False
        for e in range(nc):
            if s.hostile[c, e] and personnel_c[here, e] > 0:
                enemies = True
        # No rising on odds alone: a cell outnumbering the garrison waits for its side's forces, or for the
        # garrison to go.
        if personnel_c[here, c] > 0 or not enemies:
            u.hidden[r] = False
            rise[m] = r
            m += 1
    return m


@njit(cache=True)
def _recruit_rates(controller: np.ndarray, faction: int, rate: float, residents: np.ndarray, sympathy: np.ndarray,
                   out: tuple) -> int:
    """The places ``faction`` holds (``out[0]``, in increasing order) and the expected recruits at each
    (``out[1]``: ``rate * residents * sympathy``). Returns how many places."""
    held, lam = out
    m = 0
    for q in range(controller.size):
        if controller[q] == faction:
            held[m] = q
            lam[m] = rate * residents[q] * sympathy[q]
            m += 1
    return m


@njit(cache=True)
def _join_recruits(faction: int, held: np.ndarray, recruits: np.ndarray, units: Units, n: int, n_places: int,
                   recruit_quality: float, out: tuple) -> tuple[int, int]:
    """Recruits (``recruits`` at each of the ``held`` places) join the largest unit of ``faction`` at the place
    (alive, not on the road, not routing; the first row on a tie among rows ``0 .. n-1``), whose quality
    becomes the personnel-weighted mean with ``recruit_quality``. The places with no such unit and their
    recruits, in the order of ``held``, go to ``out`` (``(new_places, new_recruits)``: new units, for the
    caller to create). Returns (how many of those, all the recruits)."""
    u = unit_columns(units)
    new_places, new_recruits = out
    personnel, quality = u.personnel, u.quality
    largest = np.full(n_places, -1, dtype=np.int64)
    for r in range(n):
        if u.alive[r] and u.faction[r] == faction and u.next[r] < 0 and not u.routing[r]:
            here = u.loc[r]
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
            u.garrison_at[r] = -1  # recruits free a garrison to be sent on (it keeps a share again when it is)
        else:
            new_places[m] = held[i]
            new_recruits[m] = k
            m += 1
    return m, total
