"""Control: a place changes hands when only one side remains there."""

from __future__ import annotations

import numpy as np
from numba import njit


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
