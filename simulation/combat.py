"""Engagement arithmetic: pure functions over arrays, no model state.

Attrition is a generalised stochastic Lanchester law. For a side with ``N`` personnel under fire of effective
strength ``F`` the expected casualties in a day are

    lambda = attrition_rate * intensity * F**alpha * N**(1 - alpha)

``alpha = 1`` is the square law (aimed fire: losses follow the enemy's strength); ``alpha = 0`` makes losses
follow one's own numbers (area fire against a dense target). Each person is hit with probability
``min(1, lambda / N)``, so unit losses are binomial draws and never exceed the unit's strength.

The removal of civilian casualties from the population (``Civilians.kill``) is compiled with Numba: each function
at the end of this module fills arrays passed in, with the same operations in the same order as the NumPy code it
replaced (kept as the reference in ``tests/test_combat.py``); the random draws between them stay in NumPy.

References
----------
Lanchester, F. W. (1916). *Aircraft in Warfare: the Dawn of the Fourth Arm.*
Epstein, J. M. (1985). *The Calculus of Conventional War.* Brookings.
"""

from __future__ import annotations

import numpy as np
from numba import njit


def effective_strength(personnel: np.ndarray, quality: np.ndarray, morale: np.ndarray) -> np.ndarray:
    """Fighting power of units: personnel weighted by quality and by the will to fight (morale 0–1)."""
    return personnel * quality * morale


def fire_received(effective: np.ndarray, personnel: np.ndarray, hostile: np.ndarray) -> np.ndarray:
    """Enemy fire received by each coalition at each place.

    Each coalition splits its fire over the coalitions hostile to it that are present, in proportion to their
    personnel.

    Parameters
    ----------
    effective : (places, coalitions) effective strength present.
    personnel : (places, coalitions) personnel present.
    hostile : (coalitions, coalitions) bool, symmetric.

    Returns
    -------
    (places, coalitions) effective enemy strength firing on each coalition.
    """
    h = hostile.astype(float)
    targets = personnel @ h  # [p, d]: personnel hostile to d present at p
    share = np.divide(effective, targets, out=np.zeros_like(effective), where=targets > 0)  # fire per target person
    return personnel * (share @ h)


def expected_casualties(fire: np.ndarray, personnel: np.ndarray, rate: float, alpha: float,
                        intensity: np.ndarray | float = 1.0) -> np.ndarray:
    """Expected casualties of each side (same shape as ``fire``), at most its personnel."""
    lam = rate * intensity * np.power(fire, alpha) * np.power(personnel, 1.0 - alpha)
    lam = np.where((fire > 0) & (personnel > 0), lam, 0.0)
    return np.minimum(lam, personnel)


def hit_probability(expected: np.ndarray, personnel: np.ndarray) -> np.ndarray:
    """Per-person probability of becoming a casualty, given a side's expected casualties."""
    return np.divide(expected, personnel, out=np.zeros_like(expected, dtype=float), where=personnel > 0).clip(0, 1)


def split_killed(
    rng: np.random.Generator, casualties: np.ndarray, killed_share: float
) -> tuple[np.ndarray, np.ndarray]:
    """Split casualties into (killed, wounded) by binomial draws."""
    killed = rng.binomial(casualties, killed_share)
    return killed, casualties - killed


def share_out(rng: np.random.Generator, total: int, weights: np.ndarray) -> np.ndarray:
    """Distribute ``total`` whole items over ``weights`` by a multinomial draw, never more than each weight.

    Used to spread a place's losses over the units there, where the weights are the units' personnel.
    """
    weights = np.asarray(weights)
    cap = weights.sum()
    total = int(min(total, cap))
    if total <= 0 or cap <= 0:
        return np.zeros(len(weights), dtype=np.int64)
    # Multivariate hypergeometric: draw people without replacement, so no unit loses more than it has.
    return rng.multivariate_hypergeometric(weights.astype(np.int64), total)


def allocate_sorties(rng: np.random.Generator, sorties: int, weights: np.ndarray) -> np.ndarray:
    """Sorties flown at each target place: a multinomial draw proportional to ``weights``."""
    w = np.asarray(weights, dtype=float)
    if sorties <= 0 or w.sum() <= 0:
        return np.zeros(len(w), dtype=np.int64)
    return rng.multinomial(sorties, w / w.sum())


# ---------------------------------------------------------------------------------------------------------
# Removing civilian casualties (Civilians.kill)


@njit(cache=True)
def kill_split(counts: np.ndarray, residents: np.ndarray, cohort: np.ndarray, idx: np.ndarray, good: np.ndarray,
               bad: np.ndarray, sample: np.ndarray) -> int:
    """Cap ``counts`` (places) at the people present, in place. Where some of them are displaced people
    (``cohort``: origins x places) and some are harmed, in increasing place order, ``idx`` gets the place and
    ``good``, ``bad``, ``sample`` the residents, displaced people and harmed there (the arguments of the
    hypergeometric draw of the residents among the harmed); returns how many such places, or -1 if ``counts``
    is all zero (and then leaves it as it is)."""
    if not counts.any():
        return -1
    m = 0
    for pl in range(counts.size):
        if counts[pl] == 0:  # min(0, people present) is 0
            continue
        idps = 0
        for o in range(cohort.shape[0]):
            idps += cohort[o, pl]
        counts[pl] = min(counts[pl], residents[pl] + idps)
        if counts[pl] > 0 and idps > 0:
            idx[m] = pl
            good[m] = residents[pl]
            bad[m] = idps
            sample[m] = counts[pl]
            m += 1
    return m


@njit(cache=True)
def kill_residents(counts: np.ndarray, residents: np.ndarray, killed: np.ndarray, idx: np.ndarray, m: int,
                   from_residents: np.ndarray, places: np.ndarray, displaced: np.ndarray) -> int:
    """Take the harmed ``counts`` from ``residents`` (at the places ``idx[:m]``, only ``from_residents``, the
    draws, and the rest from the displaced people there) and add them to ``killed``. Fills ``places`` and
    ``displaced`` with the places where displaced people were harmed, in increasing order, and how many;
    returns how many such places."""
    j = 0
    nd = 0
    for pl in range(counts.size):
        own = counts[pl]
        if j < m and idx[j] == pl:
            own = from_residents[j]
            j += 1
            if counts[pl] > own:
                places[nd] = pl
                displaced[nd] = counts[pl] - own
                nd += 1
        residents[pl] -= own
        killed[pl] += counts[pl]
    return nd


@njit(cache=True)
def kill_displaced(cohort: np.ndarray, cohort_days: np.ndarray, pl: int, take: np.ndarray) -> None:
    """Remove ``take`` (by origin) from the displaced people at place ``pl``, with their share of the days
    displaced (the mean of their cohort's); a cohort left empty has no days."""
    for o in range(cohort.shape[0]):
        n = cohort[o, pl]
        mean = cohort_days[o, pl] / n if n > 0 else 0.0
        cohort[o, pl] = n - take[o]
        cohort_days[o, pl] = cohort_days[o, pl] - take[o] * mean if cohort[o, pl] > 0 else 0.0
