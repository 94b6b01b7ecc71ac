"""Combat: battles wherever hostile coalitions meet, and air strikes on enemy concentrations.

**Battles** (a generalised stochastic Lanchester law). At each place where hostile coalitions are present, a
coalition's personnel ``N`` and effective strength

    E = sum over its units of personnel * quality * morale * (defender_advantage * fortification, at a place
        its side holds; else 1)            (0 for a routing unit)

meet. Each coalition spreads its fire over the hostile personnel present, in proportion to their numbers, so
the fire a coalition ``d`` receives is ``F_d = N_d * sum_c hostile[c, d] * E_c / (hostile personnel of c)``,
divided by the place's ``fortification`` for the coalition holding it (walls, berms and bunkers both multiply
the defenders' strength and shelter them: a fortified refinery or airport is a fight of days, not one).
With a day's intensity ``I ~ Gamma(4, 0.25)`` per place (mean 1), the expected casualties of ``d`` are

    lambda_d = min(attrition_rate * I * F_d**alpha * N_d**(1 - alpha), N_d)        (alpha: lanchester_exponent)

``alpha = 1`` is the square law (aimed fire: losses follow the enemy's strength), ``alpha = 0`` makes losses
follow one's own numbers (area fire against a dense target). Each person is hit with probability
``lambda_d / N_d``: a unit's casualties are ``Binomial(personnel, lambda_d / N_d)``, of whom
``Binomial(casualties, killed_share)`` are killed. A unit's morale then falls by

    (morale_loss_per_casualty * casualties / personnel + morale_outnumbered * log(max(F_d / E_d, 1)))
        * (2 * (1 - base_morale)) ** battle_hollow_power

(``F / E`` taken as 10 where ``E`` is 0), within [0, 1]: with ``battle_hollow_power`` above 0 the same losses
break a hollow unit sooner than a cohesive one (a unit of base morale 0.5 loses the plain amount, one of 0.85
less, one of 0.4 more). At Mosul, 6-9 June 2014, a garrison of several thousand present (base morale 0.4) broke
before some 1,500 attackers (0.85-0.9) who had lost men every day; with the plain drop the attackers, being
fewer, lose the race of morale in some runs and Mosul stands. Civilians present are harmed in proportion to the
fighters' casualties (:func:`simulation.civilians.harm.harm_civilians`, ``civilian_battle_harm``).

**Air strikes.** Each air force's sorties of the day go to places by ``Multinomial(sorties, targets / total)``,
``targets`` the personnel of coalitions hostile to it at each place. Each hostile unit at a struck place loses
``Binomial(personnel, min(1, sortie_kill_rate * flown / targets))``, of whom ``Binomial(lost, killed_share)``
are killed; civilians there are harmed by ``collateral_rate`` per sortie (scaled by how crowded the place is).

Parameters read: ``attrition_rate``, ``lanchester_exponent``, ``killed_share``, ``defender_advantage``,
``morale_loss_per_casualty``, ``morale_outnumbered``, ``battle_hollow_power``, ``civilian_battle_harm``,
``sortie_kill_rate``, ``collateral_rate``.

Entries: :func:`fight` and :func:`air_strikes`. The arithmetic between the random draws is compiled (the
helpers below); the draws, matrix products and ``np.power``/``np.log`` stay NumPy's.

References
----------
Lanchester, F. W. (1916). *Aircraft in Warfare: the Dawn of the Fourth Arm.*
Epstein, J. M. (1985). *The Calculus of Conventional War.* Brookings.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from simulation.civilians.harm import harm_civilians
from simulation.rules import draws
from simulation.rules.state import KILLED, WOUNDED, Places, Sides, State, Tally, Units, side_columns, unit_columns


class BattleResult(NamedTuple):
    """The day's battles."""

    places: np.ndarray  #: the places where battles were fought, in increasing order
    personnel: np.ndarray  #: (n, coalitions) personnel of each coalition there (0 elsewhere)
    casualties: np.ndarray  #: (n,) fighters killed or wounded at each place
    civilians: np.ndarray  #: (n,) civilians killed or wounded at each place


class StrikeResult(NamedTuple):
    """One air force's strikes of the day."""

    faction: int
    flown: np.ndarray  #: (n,) sorties flown at each place
    hit: np.ndarray  #: (n,) fighters killed or wounded at each place
    civilians: np.ndarray  #: (n,) civilians killed or wounded at each place


def fight(state: State, rng: np.random.Generator, params: dict[str, float]) -> BattleResult | None:
    """The day's battles, at the places where hostile coalitions are present (``state.presence.battle``): losses,
    morale, harm to civilians (see the module's docstring). Returns what happened, or None if there was no
    battle.

    Random draws, in order: the intensity at each battle place; each unit's casualties, then each one's killed
    (``rng.binomial`` over the units in row order); then the civilians' (see
    :func:`simulation.civilians.harm.harm_civilians`).
    """
    presence = state.presence
    if not presence.battle.any():
        return None
    u, n, sides, p = state.units, state.world.n, state.sides, params
    nc = sides.hostile.shape[0]
    places = np.flatnonzero(presence.battle)
    rows = np.empty(presence.here.size, dtype=np.int64)
    N, E, share = np.zeros((n, nc)), np.zeros((n, nc)), np.zeros((n, nc))
    # N, E: personnel and effective strength of the coalitions at each place; share: each coalition's fire per
    # hostile person present.
    k = _battle_strengths(u.packed, presence.here, presence.battle, state.packed_sides, state.world.packed_places,
                          state.controller, float(p["defender_advantage"]), (rows, N, E, share))
    rows = rows[:k]
    fire = N * (share @ sides.hostile.astype(float))  # effective enemy strength firing on each coalition
    # Defenders behind walls are also harder to hit: the fire on the holder is divided by the fortification.
    fire[np.arange(n), state.holder] /= state.world.fortification
    intensity = rng.gamma(4.0, 0.25, places.size)
    alpha = p["lanchester_exponent"]
    before, prob = np.empty(k, dtype=np.int64), np.empty(k)
    _hit_probability(rows, u.packed, sides.coalition_of, places, intensity, float(p["attrition_rate"]),
                     (fire, N, np.power(fire, alpha), np.power(N, 1.0 - alpha)), (before, prob))
    cas = rng.binomial(before, prob)
    killed = rng.binomial(cas, p["killed_share"])
    lost, ratio, casualties = np.empty(k), np.empty(k), np.zeros(n)
    _battle_losses(rows, u.packed, sides.coalition_of, state.packed_tally, (before, cas, killed), (fire, E),
                   (lost, ratio, casualties))
    # Morale: losses, and being outnumbered by the fire one receives.
    _battle_morale(rows, u.morale, u.base_morale, lost, np.log(ratio), float(p["morale_loss_per_casualty"]),
                   float(p["morale_outnumbered"]), float(p["battle_hollow_power"]))
    civilians = harm_civilians(state.civilians, rng, casualties, p["civilian_battle_harm"], p["killed_share"],
                               (state.tally.killed, state.tally.wounded))
    return BattleResult(places, N, casualties, civilians)


def air_strikes(state: State, rng: np.random.Generator, params: dict[str, float]) -> list[StrikeResult]:
    """Each air force's sorties of the day against enemy concentrations (see the module's docstring), in the
    order of the factions. Returns the strikes of each air force that flew.

    Random draws, for each air force in turn: the multinomial split of its sorties over the places; each hit
    unit's losses (``rng.binomial``), then its killed; then the civilians' (see
    :func:`simulation.civilians.harm.harm_civilians`).
    """
    u, p, n, sides, presence = state.units, params, state.world.n, state.sides, state.presence
    strikes = []
    for f, sorties in enumerate(state.sorties.tolist()):
        if sorties <= 0:
            continue
        hostile = sides.hostile[sides.coalition_of[f]]
        targets, pvals = np.empty(n), np.empty(n)
        if _sortie_weights(presence.personnel, hostile, targets, pvals) <= 0:
            continue  # no enemy anywhere: no sortie flies
        flown = rng.multinomial(sorties, pvals)  # sorties flown at each place (they add up to sorties)
        m = presence.here.size
        rows, before, prob = np.empty(m, dtype=np.int64), np.empty(m, dtype=np.int64), np.empty(m)
        k = _sortie_hits((flown, targets), u.packed, presence.here, sides.coalition_of, hostile,
                         float(p["sortie_kill_rate"]), state.tally.sorties, (rows, before, prob))
        hit = np.zeros(n, dtype=np.int64)
        if k:  # binomial draws over no units would use no random numbers
            lost = rng.binomial(before[:k], prob[:k])
            killed = draws.binomial(rng, lost, p["killed_share"])  # rng.binomial's numbers, cheaper
            _book_losses(rows[:k], u.packed, state.packed_tally, lost, killed, hit)
        civilians = harm_civilians(state.civilians, rng, flown, p["collateral_rate"], p["killed_share"],
                                   (state.tally.killed, state.tally.wounded), air=True)
        strikes.append(StrikeResult(f, flown, hit, civilians))
    return strikes


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
# Compiled helpers: each fills arrays passed in, with NumPy's operations in NumPy's order (no fastmath).


@njit(cache=True)
def _battle_strengths(units: Units, here: np.ndarray, battle: np.ndarray, sides: Sides, places: Places,
                      controller: np.ndarray, defender_advantage: float, out: tuple) -> int:
    """The units in battle and the strengths that meet at each place.

    ``out`` is ``(rows, N, E, share)``. Fills ``rows[:k]`` with the units ``here`` (one per unit row) at
    ``battle`` places, in row order,
    and returns ``k``; fills ``N`` and ``E`` (places, coalitions; zero on entry) with their personnel and
    effective strength (see the module's docstring), each summed in row order from 0.0 as ``np.bincount`` does.
    ``share`` (zero on entry) gets each coalition's effective strength per hostile person present, the fire each
    of them receives from it (0 where no hostile person is present).
    """
    u, s, pl = unit_columns(units), side_columns(sides), Places(*places)
    rows, N, E, share = out
    coalition_of = s.coalition_of
    k = 0
    for r in range(here.size):
        if here[r] and battle[u.loc[r]]:
            rows[k] = r
            k += 1
            at = u.loc[r]
            c = coalition_of[u.faction[r]]
            mult = defender_advantage * pl.fortification[at] if coalition_of[controller[at]] == c else 1.0
            eff = u.personnel[r] * u.quality[r] * u.morale[r] * mult
            if u.routing[r]:
                eff = 0.0
            N[at, c] += u.personnel[r]
            E[at, c] += eff
    nc = s.hostile.shape[0]
    for at in range(battle.size):
        if not battle[at]:
            continue
        for d in range(nc):
            targets = 0.0  # personnel hostile to d: whole numbers, exact in any order
            for c in range(nc):
                if s.hostile[c, d]:
                    targets += N[at, c]
            if targets > 0:
                share[at, d] = E[at, d] / targets
    return k


@njit(cache=True)
def _hit_probability(rows: np.ndarray, units: Units, coalition_of: np.ndarray, places: np.ndarray,
                     intensity: np.ndarray, rate: float, lanchester: tuple, out: tuple) -> None:
    """Each unit's chance per person of becoming a casualty in today's battles.

    ``lanchester`` is ``(fire, N, fire**alpha, N**(1 - alpha))`` by place and coalition (the powers computed by
    NumPy); ``out`` is ``(before, prob)``. For the units ``rows`` fills ``before`` with their personnel and
    ``prob`` with ``clip(lambda / N, 0, 1)`` of their side at their place (0 where ``N`` is 0), where
    ``lambda = min(rate * intensity * fire**alpha * N**(1 - alpha), N)`` if ``fire > 0`` and ``N > 0``, else 0.
    ``intensity`` is the day's draw at each of ``places`` (1 elsewhere).
    """
    u = unit_columns(units)
    fire, N, fire_alpha, N_beta = lanchester
    before, prob = out
    level = np.ones(N.shape[0])
    for i in range(places.size):
        level[places[i]] = intensity[i]
    for j in range(rows.size):
        r = rows[j]
        at = u.loc[r]
        c = coalition_of[u.faction[r]]
        n = N[at, c]
        lam = rate * level[at] * fire_alpha[at, c] * N_beta[at, c]
        if not (fire[at, c] > 0 and n > 0):
            lam = 0.0
        if lam > n:
            lam = n
        p = lam / n if n > 0 else 0.0
        if p < 0.0:
            p = 0.0
        elif p > 1.0:
            p = 1.0
        before[j] = u.personnel[r]
        prob[j] = p


@njit(cache=True)
def _battle_losses(rows: np.ndarray, units: Units, coalition_of: np.ndarray, tally: Tally, drawn: tuple,
                   odds: tuple, out: tuple) -> None:
    """Book the casualties of the units ``rows`` (``drawn``: ``(before, cas, killed)``; see :func:`_book_losses`;
    they are added to ``casualties`` by place). ``odds`` is ``(fire, E)`` by place and coalition; ``out`` is
    ``(lost, ratio, casualties)``: ``lost`` gets the share of its personnel each unit lost (0 if it had none),
    ``ratio`` ``max(fire / E, 1)`` of its side at its place (10 where ``E`` is 0), for the morale drop.
    """
    u = unit_columns(units)
    before, cas, killed = drawn
    fire, E = odds
    lost, ratio, casualties = out
    _book_losses(rows, units, tally, cas, killed, casualties)
    for j in range(rows.size):
        r = rows[j]
        at = u.loc[r]
        c = coalition_of[u.faction[r]]
        lost[j] = cas[j] / before[j] if before[j] > 0 else 0.0
        x = fire[at, c] / E[at, c] if E[at, c] > 0 else 10.0
        if x < 1.0:
            x = 1.0
        ratio[j] = x


@njit(cache=True)
def _battle_morale(rows: np.ndarray, morale: np.ndarray, base: np.ndarray, lost: np.ndarray,
                   log_ratio: np.ndarray, per_casualty: float, outnumbered: float, power: float) -> None:
    """Morale of the units ``rows`` falls by ``(per_casualty * lost + outnumbered * log_ratio) * (2 * (1 -
    base)) ** power``, within [0, 1] (as ``np.clip``: NaN and -0.0 kept); ``power`` 0 leaves the factor out."""
    for j in range(rows.size):
        r = rows[j]
        drop = per_casualty * lost[j] + outnumbered * log_ratio[j]
        if power != 0.0:
            drop = drop * (2.0 * (1.0 - base[r])) ** power
        m = morale[r] - drop
        if m < 0.0:
            m = 0.0
        elif m > 1.0:
            m = 1.0
        morale[r] = m


@njit(cache=True)
def _sortie_weights(personnel_c: np.ndarray, hostile: np.ndarray, targets: np.ndarray, pvals: np.ndarray) -> float:
    """Targets of an air force: ``targets`` gets the personnel of the coalitions ``hostile`` to it at each place
    (``personnel_c``: places x coalitions, whole numbers, so exact in any order), ``pvals`` their shares of the
    total, which is returned (``pvals`` is left untouched if it is not positive)."""
    total = 0.0
    for at in range(targets.size):
        t = 0.0
        for c in range(hostile.size):
            if hostile[c]:
                t += personnel_c[at, c]
        targets[at] = t
        total += t
    if total > 0:
        for at in range(targets.size):
            pvals[at] = targets[at] / total
    return total


@njit(cache=True)
def _sortie_hits(strike: tuple, units: Units, here: np.ndarray, coalition_of: np.ndarray, hostile: np.ndarray,
                 kill_rate: float, sorties: np.ndarray, out: tuple) -> int:
    """``strike`` is ``(flown, targets)`` by place; adds ``flown`` to today's ``sorties`` by place. ``out`` is
    ``(rows, before, prob)``: fills ``rows[:k]`` with the units ``here`` (one per unit row) of coalitions
    ``hostile`` to the air force at places it struck, in row order, ``before`` with their personnel and ``prob``
    with ``clip(kill_rate * flown / targets, 0, 1)`` at their place (0 where ``targets`` is 0); returns ``k``."""
    u = unit_columns(units)
    flown, targets = strike
    rows, before, prob = out
    for at in range(flown.size):
        sorties[at] += flown[at]
    k = 0
    for r in range(here.size):
        at = u.loc[r]
        if here[r] and flown[at] > 0 and hostile[coalition_of[u.faction[r]]]:
            p = kill_rate * flown[at] / targets[at] if targets[at] > 0 else 0.0
            if p < 0.0:
                p = 0.0
            elif p > 1.0:
                p = 1.0
            rows[k] = r
            before[k] = u.personnel[r]
            prob[k] = p
            k += 1
    return k


@njit(cache=True)
def _book_losses(rows: np.ndarray, units: Units, tally: Tally, lost: np.ndarray, killed: np.ndarray,
                 hit: np.ndarray) -> None:
    """Book the losses ``lost`` (of which ``killed``) of the units ``rows``, in battle or to air strikes: take
    them from their personnel, add the killed and wounded (``lost - killed``) to the ledger by faction and to
    today's toll by place and faction, unit by unit in order (as ``np.add.at``), and add ``lost`` to ``hit`` by
    place."""
    u, t = unit_columns(units), Tally(*tally)
    for j in range(rows.size):
        r = rows[j]
        at = u.loc[r]
        f = u.faction[r]
        u.personnel[r] -= lost[j]
        wounded = lost[j] - killed[j]
        t.ledger[KILLED, f] += killed[j]
        t.ledger[WOUNDED, f] += wounded
        t.killed[at, f] += killed[j]
        t.wounded[at, f] += wounded
        hit[at] += lost[j]
