"""Control: a place changes hands when only one side remains there long enough; opportunists take over places
whose garrison broke; insurgents taking a place execute people.

**Changes of hands.** After the day's fighting, a place changes hands when the personnel present there (at the
place, not routing) belong to one coalition only, it is not the holder's, and that coalition has had forces
there for at least

    clear_days = assault_days * fortification * (1 + log10(1 + population / 10,000))

days in a row (today counted; an assault takes time, longer on a fortified place or in a city: Tal Afar,
its airport and the Baiji refinery held for days). The new holder is the faction of that coalition with the
most personnel there (the first, on a tie). Allies share control: a coalition's forces alone in a place its
ally holds do not take it. Nobody present, nothing changes.

**Take-overs.** An opportunist faction (the Peshmerga) present at a place held by a side neutral to it takes
it over, whatever the fighting, when the holder's garrison broke there today (a unit routed), is cut off
from its rear or has lost the will to fight (none of its units there at the ``rout_threshold`` or above:
:func:`simulation.rules.orders.broken_garrisons`), its own effective strength there is at least the holder's,
the place is among its claims and at least ``opportunist_kin`` of its people are of the communities it
protects (``composition.csv``; a border crossing whoever lives there): the army leaves, the Peshmerga take over
security (Kirkuk, 12 June 2014).

**Executions.** When an insurgent faction takes a place, it kills

    Poisson(execution_rate * people * (1 - sympathy))            (at most the people present)

of the people there (``people``: residents and displaced people present; ``1 - sympathy``: the share hostile
to it), counted as civilians killed.

Parameters read: ``execution_rate``, ``opportunist_kin``, ``airlift_places`` (who is cut off), ``rout_threshold``,
``assault_days`` (through ``state.clear_days``).

Entries: :func:`changes_of_hands`, :func:`executions`. The fall of a place also shakes the morale of the
losing side nearby (:func:`simulation.rules.morale.fall_shock`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from simulation.rules.morale import cut_off_garrisons
from simulation.rules.orders import broken_garrisons
from simulation.rules.state import Presence, Sides, State, Units, side_columns, unit_columns


class Changes(NamedTuple):
    """The places that changed hands today, in increasing order."""

    places: np.ndarray
    old: np.ndarray  #: the faction that held each
    new: np.ndarray  #: the faction that took it
    taken_by: np.ndarray  #: (n,) the faction that took each place today, -1 where control did not change


def changes_of_hands(state: State, params: dict[str, float]) -> Changes:
    """Hand over the places only one coalition remains at, once it has been there ``clear_days``, and the
    places opportunists take over (see the module's docstring): ``state.controller`` and ``state.holder`` are
    updated and the coalitions' routes are worked out again when next needed."""
    u, n = state.units, state.world.n
    changed, new = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    k = _control_changes(u.packed, u.n, state.packed_presence, state.sides.coalition_of, state.controller,
                         (state.present_days, state.clear_days), (changed, new))
    if state.opportunists.size:
        broke = state.routed_at | cut_off_garrisons(state, params) | broken_garrisons(state, params)
        if broke.any():
            kin = (state.kin >= params["opportunist_kin"]) | state.world.crossing
            k = _handovers(broke, state.packed_presence, state.packed_sides, state.opportunists, state.claimed_any,
                           state.controller, state.holder, kin, k, (changed, new))
    if k == 0:  # most days
        return Changes(changed[:0], changed[:0], changed[:0], state.untaken)
    order = np.argsort(changed[:k], kind="stable")
    changed, new = changed[:k][order], new[:k][order]
    old = state.controller[changed]
    taken_by = np.full(n, -1, dtype=np.int64)
    state.controller[changed] = new
    taken_by[changed] = new
    state.holder = state.sides.coalition_of[state.controller]
    state.holder.setflags(write=False)
    state.routes.control_changed(state.holder)
    return Changes(changed, old, new, taken_by)


def executions(state: State, rng: np.random.Generator, place: int, params: dict[str, float]) -> int:
    """The people an insurgent faction kills as it takes ``place`` (see the module's docstring): removed from
    the population and counted as civilians killed today. Returns how many.

    Random draws: one ``rng.poisson``.
    """
    civilians = state.civilians
    present = civilians.present[place]
    hostile = present * (1.0 - state.world.sympathy[place])
    k = min(int(rng.poisson(params["execution_rate"] * hostile)), int(present))
    if k <= 0:
        return 0
    killed = np.zeros(state.world.n, dtype=np.int64)
    killed[place] = k
    civilians.kill(killed)
    state.tally.killed[place, -1] += k
    return k


@njit(cache=True)
def _control_changes(units: Units, n: int, presence: Presence, coalition_of: np.ndarray, controller: np.ndarray,
                     assault: tuple, out: tuple) -> int:
    """The places that change hands (``out[0]``, in increasing order: only one coalition has personnel there,
    not the holder's, and it has had forces there ``clear_days`` days in a row) and their new holders
    (``out[1]``: the faction of that coalition with the most personnel here and not routing among units
    ``0 .. n-1``, the first on a tie). ``assault`` is ``(present_days, clear_days)``: the days in a row each
    coalition has had personnel at each place, counted here (today included), and the days each place needs.
    Returns how many."""
    u, pr = unit_columns(units), Presence(*presence)
    present_days, clear_days = assault
    changed, new = out
    personnel_c, here = pr.personnel, pr.here
    places, nc = personnel_c.shape
    k = 0
    for p in range(places):
        count = 0
        winner = 0
        for c in range(nc):
            if personnel_c[p, c] > 0:
                present_days[p, c] += 1
                if count == 0:
                    winner = c
                count += 1
            else:
                present_days[p, c] = 0
        if count == 1 and winner != coalition_of[controller[p]] and present_days[p, winner] >= clear_days[p]:
            changed[k] = p
            new[k] = winner  # the coalition, for now
            k += 1
    if k == 0:
        return 0
    nf = coalition_of.size
    held = np.zeros((places, nf), dtype=np.int64)
    for r in range(n):
        if r < here.size and here[r] and not u.routing[r]:
            held[u.loc[r], u.faction[r]] += u.personnel[r]
    for i in range(k):
        p = changed[i]
        best = -1
        for f in range(nf):
            if coalition_of[f] == new[i] and (best < 0 or held[p, f] > held[p, best]):
                best = f
        new[i] = best
    return k


@njit(cache=True)
def _handovers(broke: np.ndarray, presence: Presence, sides: Sides, opportunists: np.ndarray, claimed: np.ndarray,
               controller: np.ndarray, holder: np.ndarray, kin: np.ndarray, k: int, out: tuple) -> int:
    """Opportunist take-overs, appended to the ``k`` changes of ``out`` (``(changed, new)``): at each place
    where the holder's garrison ``broke`` (routed today, or cut off) and that no change already takes, the
    first opportunist faction (in the order of ``opportunists``) whose coalition is neutral to the holder,
    claims the place (``claimed``: faction x place), has forces there with at least the holder's effective
    strength, and where enough of its kin live (``kin``, bool). Returns the new count."""
    pr, s = Presence(*presence), side_columns(sides)
    changed, new = out
    taken = np.zeros(holder.size, dtype=np.bool_)
    for i in range(k):
        taken[changed[i]] = True
    for j in range(opportunists.size):
        f = opportunists[j]
        c = s.coalition_of[f]
        for q in range(holder.size):
            h = holder[q]
            if taken[q] or not broke[q] or not s.neutral[c, h] or not kin[q] or not claimed[f, q]:
                continue
            own = pr.effective[q, c]
            if own > 0 and own >= pr.effective[q, h]:
                changed[k] = q
                new[k] = f
                taken[q] = True
                k += 1
    return k
