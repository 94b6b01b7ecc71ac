"""Engagement arithmetic: pure functions over arrays, no model state.

Attrition is a generalised stochastic Lanchester law. For a side with ``N`` personnel under fire of effective
strength ``F`` the expected casualties in a day are

    lambda = attrition_rate * intensity * F**alpha * N**(1 - alpha)

``alpha = 1`` is the square law (aimed fire: losses follow the enemy's strength); ``alpha = 0`` makes losses
follow one's own numbers (area fire against a dense target). Each person is hit with probability
``min(1, lambda / N)``, so unit losses are binomial draws and never exceed the unit's strength.

References
----------
Lanchester, F. W. (1916). *Aircraft in Warfare: the Dawn of the Fourth Arm.*
Epstein, J. M. (1985). *The Calculus of Conventional War.* Brookings.
"""

from __future__ import annotations

import numpy as np


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
