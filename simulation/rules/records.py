"""Records: the day's tables, the day's violence, spent units."""

from __future__ import annotations

import numpy as np
from numba import njit


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
