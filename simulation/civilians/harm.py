"""Harm to civilians: casualties among the people present where fighters fight or aircraft strike.

At each place, with ``people`` the residents and displaced people present there,

    expected casualties = scale * weight * people / (people + 20000)

where ``weight`` is the fighters' casualties there in a battle (``scale = civilian_battle_harm``) or the sorties
flown there (``scale = collateral_rate``). Casualties are Poisson draws of that mean, at most the people
present, and ``killed_share`` of them (binomial) are killed; only the killed leave the population
(:meth:`simulation.civilians.displacement.Civilians.kill`, which takes them from residents and displaced people
alike). Killed and wounded civilians go into today's toll (its last party, civilians).

Parameters read: ``civilian_battle_harm``, ``collateral_rate`` (by the caller, as ``scale``), ``killed_share``.

Entry: :func:`harm_civilians`. Random draws, in order: the Poisson casualties where their mean is not 0, the
binomial killed where there are casualties (both from the model's generator, through
:mod:`simulation.rules.draws`), then the civilians' own draws in ``Civilians.kill``.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numba import njit

from simulation.rules import draws


class Population(Protocol):
    """What harm to civilians reads and changes (:class:`simulation.civilians.displacement.Civilians`)."""

    present: np.ndarray  #: (n,) people present at each place: residents and displaced people there

    def kill(self, counts: np.ndarray) -> np.ndarray:
        """Remove the people killed at each place."""


def harm_civilians(civilians: Population, rng: np.random.Generator, weight: np.ndarray, scale: float,
                   killed_share: float, toll: tuple[np.ndarray, np.ndarray], air: bool = False) -> np.ndarray:
    """Civilian casualties at each place (see the module's docstring); returns them, killed and wounded.

    Parameters
    ----------
    civilians : the population (the people present at each place; the killed are removed from it).
    rng : the model's generator.
    weight : (n,) fighters' casualties at each place or, with ``air``, sorties flown there.
    scale : ``civilian_battle_harm`` or, with ``air``, ``collateral_rate``.
    killed_share : the share of casualties killed.
    toll : today's killed and wounded by place and party (``simulation.rules.state.Tally.killed`` and
        ``wounded``), to whose last party (civilians) the civilians killed and wounded are added.
    """
    n = weight.size
    expected = np.empty(n)
    present = civilians.present
    if air:
        collateral_harm(weight, float(scale), present, expected)
    elif not exposed_harm(weight, float(scale), present, expected):
        return np.zeros(n, dtype=np.int64)  # Poisson draws of mean 0 are 0 and use no random numbers
    cas = np.empty(n, dtype=np.int64)
    # draws.poisson/binomial: rng.poisson/binomial's numbers, drawn only where the mean/count is not 0
    if not at_most_present(draws.poisson(rng, expected), present, cas):
        return cas  # nobody harmed: the binomial draw of none would use no random numbers
    killed = draws.binomial(rng, cas, killed_share)
    civilians.kill(killed)
    civilian_toll(cas, killed, toll[0], toll[1])
    return cas


@njit(cache=True)
def exposed_harm(weight: np.ndarray, scale: float, present: np.ndarray, expected: np.ndarray) -> bool:
    """Expected civilian casualties at each place, ``scale * weight * d``, where ``d = people / (people + 20000)``
    is how crowded the place is; ``expected`` is filled (0 where ``weight`` is 0). Returns whether any is
    non-zero."""
    anything = False
    for pl in range(weight.size):
        if weight[pl] == 0:
            expected[pl] = 0.0
            continue
        people = float(present[pl])
        expected[pl] = scale * weight[pl] * (people / (people + 20_000.0))
        anything = anything or expected[pl] != 0
    return anything


@njit(cache=True)
def collateral_harm(flown: np.ndarray, scale: float, present: np.ndarray, expected: np.ndarray) -> None:
    """Expected civilian casualties of air strikes at each place, ``scale * flown * people / (people + 20000)``
    with ``people`` those present; ``expected`` is filled (0 where no sortie flew)."""
    for pl in range(flown.size):
        if flown[pl] == 0:
            expected[pl] = 0.0
            continue
        people = float(present[pl])
        expected[pl] = scale * flown[pl] * people / (people + 20_000.0)


@njit(cache=True)
def at_most_present(drawn: np.ndarray, present: np.ndarray, cas: np.ndarray) -> bool:
    """``cas = min(drawn, people present)`` at each place (``drawn >= 0``); returns whether any is non-zero."""
    anything = False
    for pl in range(drawn.size):
        if drawn[pl] == 0:
            cas[pl] = 0
            continue
        cas[pl] = min(drawn[pl], present[pl])
        anything = anything or cas[pl] != 0
    return anything


@njit(cache=True)
def civilian_toll(cas: np.ndarray, killed: np.ndarray, today_killed: np.ndarray,
                  today_wounded: np.ndarray) -> None:
    """Add the civilians killed and wounded (``cas - killed``) at each place to today's counts (last column)."""
    last = today_killed.shape[1] - 1
    for pl in range(cas.size):
        today_killed[pl, last] += killed[pl]
        today_wounded[pl, last] += cas[pl] - killed[pl]


@njit(cache=True)
def kill_displaced(cohort: np.ndarray, cohort_days: np.ndarray, pl: int, take: np.ndarray) -> None:
    """Remove ``take`` (by origin) from the displaced people at place ``pl``, with their share of the days
    displaced (the mean of their cohort's); a cohort left empty has no days."""
    for o in range(cohort.shape[0]):
        n = cohort[o, pl]
        mean = cohort_days[o, pl] / n if n > 0 else 0.0
        cohort[o, pl] = n - take[o]
        cohort_days[o, pl] = cohort_days[o, pl] - take[o] * mean if cohort[o, pl] > 0 else 0.0
