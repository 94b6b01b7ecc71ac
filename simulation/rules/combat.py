"""Engagement arithmetic: pure functions over arrays, no model state.

Attrition is a generalised stochastic Lanchester law. For a side with ``N`` personnel under fire of effective
strength ``F`` the expected casualties in a day are

    lambda = attrition_rate * intensity * F**alpha * N**(1 - alpha)

``alpha = 1`` is the square law (aimed fire: losses follow the enemy's strength); ``alpha = 0`` makes losses
follow one's own numbers (area fire against a dense target). Each person is hit with probability
``min(1, lambda / N)``, so unit losses are binomial draws and never exceed the unit's strength.

The arithmetic between the model's random draws (battles, air strikes, civilian casualties) is compiled with
Numba: each function below fills arrays passed in, with the same operations in the same order as the NumPy code
it replaced (kept as the reference in ``tests/test_combat.py``), so it gives the same numbers bit for bit. The
draws themselves, matrix products and ``np.power``/``np.log`` stay in NumPy, in the model.

References
----------
Lanchester, F. W. (1916). *Aircraft in Warfare: the Dawn of the Fourth Arm.*
Epstein, J. M. (1985). *The Calculus of Conventional War.* Brookings."""

from __future__ import annotations

import numpy as np
from numba import njit


def effective_strength(personnel: np.ndarray, quality: np.ndarray, morale: np.ndarray) -> np.ndarray:
    """Fighting power of units: personnel weighted by quality and by the will to fight (morale 0–1)."""
    return personnel * quality * morale


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


@njit(cache=True)
def battle_strengths(here: np.ndarray, battle: np.ndarray, loc: np.ndarray, faction: np.ndarray,
                     personnel: np.ndarray, quality: np.ndarray, morale: np.ndarray, routing: np.ndarray,
                     coalition_of: np.ndarray, controller: np.ndarray, fortification: np.ndarray,
                     defender_advantage: float, hostile_c: np.ndarray, rows: np.ndarray, N: np.ndarray,
                     E: np.ndarray, share: np.ndarray) -> int:
    """The units in battle and the strengths that meet at each place.

    Fills ``rows[:k]`` with the units here (``here``, one per unit row) at battle places, in row order, and
    returns ``k``; fills ``N`` and ``E`` (places, coalitions; zero on entry) with their personnel and effective
    strength, each summed in row order from 0.0 as ``np.bincount`` does. A unit's effective strength is
    ``personnel * quality * morale``, times ``defender_advantage * fortification`` at a place its side holds,
    and 0 while it routs. ``share`` (zero on entry) gets each coalition's effective strength per hostile person
    present, the fire each of them receives from it (0 where no hostile person is present).
    """
    k = 0
    for r in range(here.size):
        if here[r] and battle[loc[r]]:
            rows[k] = r
            k += 1
            pl = loc[r]
            c = coalition_of[faction[r]]
            mult = defender_advantage * fortification[pl] if coalition_of[controller[pl]] == c else 1.0
            eff = personnel[r] * quality[r] * morale[r] * mult
            if routing[r]:
                eff = 0.0
            N[pl, c] += personnel[r]
            E[pl, c] += eff
    nc = hostile_c.shape[0]
    for pl in range(battle.size):
        if not battle[pl]:
            continue
        for d in range(nc):
            targets = 0.0  # personnel hostile to d: whole numbers, exact in any order
            for c in range(nc):
                if hostile_c[c, d]:
                    targets += N[pl, c]
            if targets > 0:
                share[pl, d] = E[pl, d] / targets
    return k


@njit(cache=True)
def battle_hit_probability(rows: np.ndarray, k: int, loc: np.ndarray, faction: np.ndarray,
                           coalition_of: np.ndarray, personnel: np.ndarray, places: np.ndarray,
                           intensity: np.ndarray, rate: float, fire: np.ndarray, N: np.ndarray,
                           fire_alpha: np.ndarray, N_beta: np.ndarray, before: np.ndarray,
                           prob: np.ndarray) -> None:
    """Each unit's chance per person of becoming a casualty in today's battles.

    For the units ``rows[:k]`` fills ``before`` with their personnel and ``prob`` with
    ``clip(lambda / N, 0, 1)`` of their side at their place (0 where ``N`` is 0), where
    ``lambda = min(rate * intensity * fire**alpha * N**(1 - alpha), N)`` if ``fire > 0`` and ``N > 0``, else 0.
    ``intensity`` is the day's draw at each of ``places`` (1 elsewhere); ``fire_alpha`` and ``N_beta`` are the
    powers, computed by NumPy.
    """
    level = np.ones(N.shape[0])
    for i in range(places.size):
        level[places[i]] = intensity[i]
    for j in range(k):
        r = rows[j]
        pl = loc[r]
        c = coalition_of[faction[r]]
        n = N[pl, c]
        lam = rate * level[pl] * fire_alpha[pl, c] * N_beta[pl, c]
        if not (fire[pl, c] > 0 and n > 0):
            lam = 0.0
        if lam > n:
            lam = n
        p = lam / n if n > 0 else 0.0
        if p < 0.0:
            p = 0.0
        elif p > 1.0:
            p = 1.0
        before[j] = personnel[r]
        prob[j] = p


@njit(cache=True)
def battle_losses(rows: np.ndarray, k: int, loc: np.ndarray, faction: np.ndarray, coalition_of: np.ndarray,
                  personnel: np.ndarray, before: np.ndarray, cas: np.ndarray, killed: np.ndarray,
                  fire: np.ndarray, E: np.ndarray, ledger_killed: np.ndarray, ledger_wounded: np.ndarray,
                  today_killed: np.ndarray, today_wounded: np.ndarray, lost: np.ndarray, ratio: np.ndarray,
                  total_cas: np.ndarray) -> None:
    """Book the casualties ``cas`` (of which ``killed``) of the units ``rows[:k]`` (see :func:`book_losses`;
    they are added to ``total_cas`` by place). Fills ``lost`` with the share of its personnel each unit lost (0
    if it had none) and ``ratio`` with ``max(fire / E, 1)`` of its side at its place (10 where ``E`` is 0), for
    the morale drop.
    """
    book_losses(rows, k, loc, faction, personnel, cas, killed, ledger_killed, ledger_wounded, today_killed,
                today_wounded, total_cas)
    for j in range(k):
        r = rows[j]
        pl = loc[r]
        c = coalition_of[faction[r]]
        lost[j] = cas[j] / before[j] if before[j] > 0 else 0.0
        x = fire[pl, c] / E[pl, c] if E[pl, c] > 0 else 10.0
        if x < 1.0:
            x = 1.0
        ratio[j] = x


@njit(cache=True)
def battle_morale(rows: np.ndarray, k: int, morale: np.ndarray, lost: np.ndarray, log_ratio: np.ndarray,
                  per_casualty: float, outnumbered: float) -> None:
    """Morale of the units ``rows[:k]`` falls by ``per_casualty * lost + outnumbered * log_ratio``, within
    [0, 1] (as ``np.clip``: NaN and -0.0 kept)."""
    for j in range(k):
        r = rows[j]
        m = morale[r] - (per_casualty * lost[j] + outnumbered * log_ratio[j])
        if m < 0.0:
            m = 0.0
        elif m > 1.0:
            m = 1.0
        morale[r] = m


@njit(cache=True)
def sortie_weights(personnel_c: np.ndarray, hostile: np.ndarray, targets: np.ndarray, pvals: np.ndarray) -> float:
    """Targets of an air force: ``targets`` gets the personnel of the coalitions ``hostile`` to it at each place
    (``personnel_c``: places x coalitions, whole numbers, so exact in any order), ``pvals`` their shares of the
    total, which is returned (``pvals`` is left untouched if it is not positive)."""
    total = 0.0
    for pl in range(targets.size):
        t = 0.0
        for c in range(hostile.size):
            if hostile[c]:
                t += personnel_c[pl, c]
        targets[pl] = t
        total += t
    if total > 0:
        for pl in range(targets.size):
            pvals[pl] = targets[pl] / total
    return total


@njit(cache=True)
def sortie_hit_probability(flown: np.ndarray, here: np.ndarray, loc: np.ndarray, faction: np.ndarray,
                           coalition_of: np.ndarray, hostile: np.ndarray, personnel: np.ndarray,
                           targets: np.ndarray, kill_rate: float, today_sorties: np.ndarray, rows: np.ndarray,
                           before: np.ndarray, prob: np.ndarray) -> int:
    """Adds ``flown`` to ``today_sorties``; fills ``rows[:k]`` with the units here (``here``, one per unit row)
    of coalitions ``hostile`` to the air force at places it struck, in row order, ``before`` with their
    personnel and ``prob`` with ``clip(kill_rate * flown / targets, 0, 1)`` at their place (0 where ``targets``
    is 0); returns ``k``."""
    for pl in range(flown.size):
        today_sorties[pl] += flown[pl]
    k = 0
    for r in range(here.size):
        pl = loc[r]
        if here[r] and flown[pl] > 0 and hostile[coalition_of[faction[r]]]:
            p = kill_rate * flown[pl] / targets[pl] if targets[pl] > 0 else 0.0
            if p < 0.0:
                p = 0.0
            elif p > 1.0:
                p = 1.0
            rows[k] = r
            before[k] = personnel[r]
            prob[k] = p
            k += 1
    return k


@njit(cache=True)
def book_losses(rows: np.ndarray, k: int, loc: np.ndarray, faction: np.ndarray, personnel: np.ndarray,
                lost: np.ndarray, killed: np.ndarray, ledger_killed: np.ndarray, ledger_wounded: np.ndarray,
                today_killed: np.ndarray, today_wounded: np.ndarray, hit: np.ndarray) -> None:
    """Book the losses ``lost`` (of which ``killed``) of the units ``rows[:k]``, in battle or to air strikes:
    take them from ``personnel``, add the killed and wounded (``lost - killed``) to the ledgers by faction and
    to today's counts by place and faction, unit by unit in order (as ``np.add.at``), and add ``lost`` to
    ``hit`` by place."""
    for j in range(k):
        r = rows[j]
        pl = loc[r]
        f = faction[r]
        personnel[r] -= lost[j]
        wounded = lost[j] - killed[j]
        ledger_killed[f] += killed[j]
        ledger_wounded[f] += wounded
        today_killed[pl, f] += killed[j]
        today_wounded[pl, f] += wounded
        hit[pl] += lost[j]
