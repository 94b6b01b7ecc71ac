"""Records: what each day leaves in the run's tables, and the day's violence the civilians feel.

At the end of day ``d`` (after the civilians have moved):

- ``control[d, p]``: the faction holding place ``p``;
- ``present[d, p, f]`` and ``arriving[d, p, f]``: the personnel of faction ``f``'s live units at ``p`` and on
  the road to it;
- ``killed[d, p, j]`` and ``wounded[d, p, j]``: today's toll by party ``j`` (the factions, then civilians);
- ``population[d, p] = residents + displaced sheltering``, ``idps[d, p]`` (displaced sheltering there) and
  ``displaced_from[d, p]`` (residents who ever left it);
- ``in_transit[d]``: displaced people on the road;
- ``ledger[d, i, f]``: the personnel ledger by entry (:data:`simulation.rules.state.LEDGER`), then the
  personnel present in all.

The day's violence at each place, which the civilians feel (:meth:`simulation.civilians.displacement.Civilians
.step`), is the killed of every party there (civilians included): the model's counterpart of the recorded
fatalities that drive the civilians in replay mode (the wounded and the air sorties are not counted apart: a
sortie frightens through the people it kills). The model scales it by ``violence_recorded_share``.

No parameters, no random draws. Entries: :func:`day_violence`, :func:`record_day`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from simulation.rules.state import LEDGER, State, Tally, Units, unit_columns


class Records(NamedTuple):
    """A run's daily tables (index: the day), and the running totals Mesa's data collector reads."""

    control: np.ndarray  #: (days, n) int64
    present: np.ndarray  #: (days, n, factions) int64
    arriving: np.ndarray  #: (days, n, factions) int64
    killed: np.ndarray  #: (days, n, factions + 1) int64, last party: civilians
    wounded: np.ndarray  #: (days, n, factions + 1) int64
    population: np.ndarray  #: (days, n) int64
    idps: np.ndarray  #: (days, n) int64
    displaced_from: np.ndarray  #: (days, n) int64
    in_transit: np.ndarray  #: (days,) int64
    ledger: np.ndarray  #: (days, len(LEDGER) + 1, factions) int64
    killed_so_far: np.ndarray  #: (factions + 1,) int64, by party
    report: np.ndarray  #: the day's totals: personnel by faction, places held by faction, all killed so far,
    #: civilians killed so far, displaced people sheltering (2 * factions + 3,)

    @classmethod
    def empty(cls, days: int, places: int, factions: int) -> Records:
        """Tables of zeros for ``days`` days."""
        d, n, nf = days, places, factions
        return cls(np.zeros((d, n), dtype=np.int64), np.zeros((d, n, nf), dtype=np.int64),
                   np.zeros((d, n, nf), dtype=np.int64), np.zeros((d, n, nf + 1), dtype=np.int64),
                   np.zeros((d, n, nf + 1), dtype=np.int64), np.zeros((d, n), dtype=np.int64),
                   np.zeros((d, n), dtype=np.int64), np.zeros((d, n), dtype=np.int64), np.zeros(d, dtype=np.int64),
                   np.zeros((d, len(LEDGER) + 1, nf), dtype=np.int64), np.zeros(nf + 1, dtype=np.int64),
                   np.zeros(2 * nf + 3, dtype=np.int64))


def day_violence(state: State) -> np.ndarray:
    """The day's violence at each place: the killed of every party, civilians included."""
    violence = np.empty(state.world.n, dtype=np.int64)
    _day_violence(state.packed_tally, violence)
    return violence


def record_day(state: State, records: Records, day: int) -> None:
    """Day ``day``'s row of every table (see the module's docstring), and the data collector's totals
    (``records.report``, the displaced on the road not counted; ``records.killed_so_far``)."""
    u, civ = state.units, state.civilians
    _record_day(day, u.packed, u.n, state.controller, state.packed_tally,
                (civ.residents, civ.idps, civ.displaced_from), tuple(records))
    records.in_transit[day] = civ.in_transit


@njit(cache=True)
def _record_day(d: int, units: Units, n: int, controller: np.ndarray, tally: Tally, people: tuple,
                records: Records) -> None:
    """Day ``d``'s records for the live units among rows ``0 .. n-1`` (``people``: ``(residents, idps,
    displaced_from)`` by place); see :func:`record_day`. ``records.in_transit`` is left to the caller."""
    u, t, rec = unit_columns(units), Tally(*tally), Records(*records)
    residents, idps, displaced_from = people
    ledger, killed_so_far, report = t.ledger, rec.killed_so_far, rec.report
    places, nf = rec.present.shape[1], rec.present.shape[2]
    rec.present[d] = 0
    rec.arriving[d] = 0
    report[:] = 0
    for r in range(n):
        if u.alive[r]:
            if u.next[r] < 0:
                rec.present[d, u.loc[r], u.faction[r]] += u.personnel[r]
            else:
                rec.arriving[d, u.next[r], u.faction[r]] += u.personnel[r]
            report[u.faction[r]] += u.personnel[r]
    for p in range(places):
        rec.control[d, p] = controller[p]
        report[nf + controller[p]] += 1
        rec.population[d, p] = residents[p] + idps[p]
        rec.idps[d, p] = idps[p]
        rec.displaced_from[d, p] = displaced_from[p]
        report[2 * nf + 2] += idps[p]
        for j in range(t.killed.shape[1]):
            rec.killed[d, p, j] = t.killed[p, j]
            rec.wounded[d, p, j] = t.wounded[p, j]
            killed_so_far[j] += t.killed[p, j]
    for i in range(ledger.shape[0]):
        for f in range(nf):
            rec.ledger[d, i, f] = ledger[i, f]
    for f in range(nf):
        rec.ledger[d, ledger.shape[0], f] = report[f]
    for j in range(killed_so_far.size):
        report[2 * nf] += killed_so_far[j]
    report[2 * nf + 1] = killed_so_far[killed_so_far.size - 1]


@njit(cache=True)
def _day_violence(tally: Tally, violence: np.ndarray) -> None:
    """The day's violence at each place: the killed of every party, civilians included."""
    t = Tally(*tally)
    for p in range(violence.size):
        v = 0
        for j in range(t.killed.shape[1]):
            v += t.killed[p, j]
        violence[p] = v
