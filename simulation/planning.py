"""The commands' daily choices and the units' bookkeeping, compiled with Numba.

- :func:`best_targets`, :func:`needs`, :func:`hold_targets`: each unit a command may send scores every place
  (see :class:`simulation.agents.FactionCommand`) and goes to the best-scoring one if its score is positive;
- :func:`within_a_day`: the units that threaten a coalition and the places each can reach within a day
  (``ConflictModel.threat_to``);
- :func:`detachments`: next hops, garrisons left behind and budgets per target (``ConflictModel.dispatch``);
- :func:`daily_morale`: the day's morale of every unit (``ConflictModel._morale``).

Done with NumPy these were some fifteen array operations each, on arrays of a few thousand numbers, whose
fixed cost was most of the time. The arithmetic is NumPy's, operation for operation and in the same order (no
``fastmath``); the parts that are not elementwise (the matrix products of strengths and reach, the
exponential) stay with NumPy, so the numbers are the same. ``tests/test_planning.py`` checks each against the
NumPy code it replaced.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def best_targets(loc: np.ndarray, value: np.ndarray, safe: np.ndarray, reinforce: np.ndarray,
                 other: np.ndarray, in_reach: np.ndarray, decay: np.ndarray, best: np.ndarray,
                 go: np.ndarray) -> None:
    """Each unit's best target (``best``) and whether it has one worth going to (``go``, a positive score).

    Parameters
    ----------
    loc : (units,) where each unit is.
    value : (n,) each place's value.
    safe : (n,) bool, places a unit may leave to reinforce another.
    reinforce : (n,) the score of reinforcing each place (0 where it needs none); a unit reinforces only a place
        worth at least as much as where it stands, and only from a ``safe`` place.
    other : (n,) the score of each place as any other target (an attack, a counter-attack; 0 where none).
    in_reach : (units, n) bool, the places each unit can reach; ``decay``: (units, n) the discount of the score
        by the travel time there.

    A unit's score for place ``q`` is ``max(reinforce score, other score) * decay`` where in reach, else 0; its
    best target is the first place of the highest score (``argmax``).
    """
    units, n = in_reach.shape
    for r in range(units):
        here = loc[r]
        can_reinforce = safe[here]
        top = -1.0
        arg = 0
        for q in range(n):
            s = 0.0
            if in_reach[r, q]:
                a = reinforce[q] if can_reinforce and value[q] >= value[here] else 0.0
                b = other[q]
                s = (a if a >= b else b) * decay[r, q]
            if s > top:
                top = s
                arg = q
        best[r] = arg
        go[r] = top > 0


@njit(cache=True)
def needs(own_effective: np.ndarray, defender_advantage: float, fortification: np.ndarray, threat: np.ndarray,
          own_held: np.ndarray, government: bool, sympathy: np.ndarray, withdraw_ratio: float, value: np.ndarray,
          hold_value: float, own_def: np.ndarray, need: np.ndarray, hopeless: np.ndarray) -> None:
    """For a government or tribal command: its defence of each place (``own_def``: its effective strength
    there with the defenders' advantage), what each place it holds needs against the ``threat`` (``need``,
    0 elsewhere) and, for the government, the places not worth a stand that the enemy (helped by a
    sympathetic population) clearly outweighs (``hopeless``)."""
    for q in range(value.size):
        own_def[q] = own_effective[q] * defender_advantage * fortification[q]
        need[q] = threat[q] - own_def[q] if own_held[q] else 0.0
        hopeless[q] = government and own_held[q] and threat[q] * (0.5 + sympathy[q]) > withdraw_ratio * own_def[q] \
            and value[q] < hold_value


@njit(cache=True)
def hold_targets(loc: np.ndarray, value: np.ndarray, need: np.ndarray, hopeless: np.ndarray, own_def: np.ndarray,
                 lost: np.ndarray, potential: np.ndarray, defence: np.ndarray, counterattack_ratio: float,
                 in_reach: np.ndarray, decay: np.ndarray, best: np.ndarray, go: np.ndarray) -> None:
    """The targets of a government or tribal command's units (see :func:`best_targets`): reinforce places in
    ``need`` (not ``hopeless``) by ``value * need / (need + own_def)``, or counter-attack places the side has
    ``lost`` where the ``potential`` that can reach them is ``counterattack_ratio`` times the ``defence``, by
    ``value * potential / (potential + defence)``."""
    n = value.size
    safe = np.empty(n, dtype=np.bool_)
    reinforce = np.empty(n)
    counter = np.empty(n)
    for q in range(n):
        safe[q] = need[q] <= 0
        reinforce[q] = value[q] * need[q] / (need[q] + own_def[q] + 1e-9) if need[q] > 0 and not hopeless[q] \
            else 0.0
        counter[q] = value[q] * potential[q] / (potential[q] + defence[q] + 1e-9) \
            if lost[q] and potential[q] >= counterattack_ratio * defence[q] else 0.0
    best_targets(loc, value, safe, reinforce, counter, in_reach, decay, best, go)


@njit(cache=True)
def within_a_day(here: np.ndarray, routing: np.ndarray, faction: np.ndarray, coalition_of: np.ndarray,
                 hostile: np.ndarray, loc: np.ndarray, personnel: np.ndarray, quality: np.ndarray,
                 morale: np.ndarray, mobility: np.ndarray, days_by_coalition: np.ndarray, effective: np.ndarray,
                 reach: np.ndarray) -> int:
    """The units that threaten a coalition (those ``here`` — present, not on the road — not ``routing``, and of
    a coalition ``hostile`` to it), for ``ConflictModel._threat_to``: their effective strength into
    ``effective`` and, into ``reach`` (1.0 or 0.0), whether each place is within a day of travel of them by
    their own coalition's routes (``days_by_coalition[coalition, from, to] / mobility <= 1``). Returns how many
    units, in the order of their rows; ``effective[:k] @ reach[:k]`` is the threat at each place."""
    k = 0
    n = days_by_coalition.shape[2]
    for r in range(here.size):
        if not here[r] or routing[r]:
            continue
        c = coalition_of[faction[r]]
        if not hostile[c]:
            continue
        effective[k] = personnel[r] * quality[r] * morale[r]
        days = days_by_coalition[c, loc[r]]
        speed = mobility[faction[r]]
        for q in range(n):
            reach[k, q] = 1.0 if days[q] / speed <= 1.0 else 0.0
        k += 1
    return k


@njit(cache=True)
def detachments(targets: np.ndarray, loc: np.ndarray, coalition: np.ndarray, own_place: np.ndarray,
                personnel: np.ndarray, keep_share: float, at_most: np.ndarray, next_by_coalition: np.ndarray,
                any_next: np.ndarray, hop: np.ndarray, send: np.ndarray, go: np.ndarray) -> None:
    """What ``ConflictModel.dispatch`` sends: for each unit (at ``loc``, of ``coalition``, with ``personnel``)
    sent toward ``targets``, its next place (``hop``: by its coalition's routes, or by any road if it must; -1
    if none), how many go (``send``) and whether it goes (``go``).

    Where the unit's side holds its place (``own_place``), ``keep_share`` of it (rounded half to even) stays.
    ``at_most`` (one per unit; empty for none, inf for a unit without a cap) caps the people sent to a target:
    the first capped unit sent to a target, in the order given, sets the target's budget (``floor``), and the
    units sent there use it up in that order. Detachments of fewer than 10 that would leave part of a unit
    behind stay.
    """
    m = targets.size
    for i in range(m):
        h = next_by_coalition[coalition[i], loc[i], targets[i]]
        hop[i] = h if h >= 0 else any_next[loc[i], targets[i]]
        go[i] = targets[i] != loc[i] and hop[i] >= 0
        keep = np.int64(np.rint(personnel[i] * keep_share)) if own_place[i] else 0
        send[i] = personnel[i] - keep
    if at_most.size:
        # Per target, in the order given: what is sent is the growth of min(demand so far, budget).
        done = np.zeros(m, dtype=np.bool_)
        for i in range(m):
            if done[i] or not go[i] or not np.isfinite(at_most[i]):
                continue
            budget = np.floor(at_most[i])
            total = 0
            for j in range(i, m):
                if done[j] or targets[j] != targets[i] or not go[j] or not np.isfinite(at_most[j]):
                    continue
                done[j] = True
                before = total
                total += send[j]
                sent = np.int64(min(float(total), budget) - min(float(before), budget))
                send[j] = sent
                if sent <= 0:
                    go[j] = False
    for i in range(m):
        if send[i] < 10 and send[i] < personnel[i]:
            go[i] = False


@njit(cache=True)
def _clip(x: float, lo: float, hi: float) -> float:
    """``np.clip`` of one number: ``min(max(x, lo), hi)`` as NumPy writes them (a NaN stays NaN)."""
    if x != x:
        return x
    y = x if x > lo else lo
    return y if y < hi else hi


@njit(cache=True)
def daily_morale(morale: np.ndarray, base_morale: np.ndarray, cutoff: np.ndarray, sympathy_here: np.ndarray,
                 government: np.ndarray, calm: np.ndarray, morale_cutoff: float, hostile_population_morale: float,
                 morale_recovery: float) -> None:
    """A day's morale of every unit, in place (``ConflictModel._morale``): minus ``morale_cutoff`` if cut off,
    minus ``hostile_population_morale`` times how hostile the population is (``2 * (sympathy - 0.5)``, clipped
    to 0-1) for government units, and a ``morale_recovery`` share of the way back to its base if calm; clipped
    to 0-1. The operations are NumPy's, in its order, on floats (booleans as 1.0 and 0.0)."""
    for r in range(morale.size):
        m = morale[r] - morale_cutoff * (1.0 if cutoff[r] else 0.0)
        hostile = _clip(2 * (sympathy_here[r] - 0.5), 0.0, 1.0)
        m = m - hostile_population_morale * hostile * (1.0 if government[r] else 0.0)
        m = m + (morale_recovery * (base_morale[r] - m) if calm[r] else 0.0)
        morale[r] = _clip(m, 0.0, 1.0)
