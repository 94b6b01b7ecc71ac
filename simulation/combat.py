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
Epstein, J. M. (1985). *The Calculus of Conventional War.* Brookings.
"""

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


# ---------------------------------------------------------------------------------------------------------
# Battles


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


# ---------------------------------------------------------------------------------------------------------
# Civilians caught in the fighting


@njit(cache=True)
def _present(residents: np.ndarray, cohort: np.ndarray, pl: int) -> int:
    """People present at place ``pl``: its residents and the displaced people sheltering there."""
    people = residents[pl]
    for o in range(cohort.shape[0]):
        people += cohort[o, pl]
    return people


@njit(cache=True)
def exposed_harm(weight: np.ndarray, scale: float, residents: np.ndarray, cohort: np.ndarray,
                 expected: np.ndarray) -> bool:
    """Expected civilian casualties at each place, ``scale * weight * d``, where ``d = people / (people + 20000)``
    is how crowded the place is; ``expected`` is filled (0 where ``weight`` is 0). Returns whether any is
    non-zero."""
    anything = False
    for pl in range(weight.size):
        if weight[pl] == 0:
            expected[pl] = 0.0
            continue
        people = float(_present(residents, cohort, pl))
        expected[pl] = scale * weight[pl] * (people / (people + 20_000.0))
        anything = anything or expected[pl] != 0
    return anything


@njit(cache=True)
def collateral_harm(flown: np.ndarray, scale: float, residents: np.ndarray, cohort: np.ndarray,
                    expected: np.ndarray) -> None:
    """Expected civilian casualties of air strikes at each place, ``scale * flown * people / (people + 20000)``
    with ``people`` those present; ``expected`` is filled (0 where no sortie flew)."""
    for pl in range(flown.size):
        if flown[pl] == 0:
            expected[pl] = 0.0
            continue
        people = float(_present(residents, cohort, pl))
        expected[pl] = scale * flown[pl] * people / (people + 20_000.0)


@njit(cache=True)
def at_most_present(drawn: np.ndarray, residents: np.ndarray, cohort: np.ndarray, cas: np.ndarray) -> bool:
    """``cas = min(drawn, people present)`` at each place (``drawn >= 0``); returns whether any is non-zero."""
    anything = False
    for pl in range(drawn.size):
        if drawn[pl] == 0:
            cas[pl] = 0
            continue
        cas[pl] = min(drawn[pl], _present(residents, cohort, pl))
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


# ---------------------------------------------------------------------------------------------------------
# Air strikes


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
