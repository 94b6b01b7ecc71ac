"""The commands' daily choices and the units' bookkeeping, compiled with Numba.

- :func:`free_units`: the units a command may give orders to (``FactionCommand.plan``);
- :func:`reach`: the places each unit can reach, its effective strength, the discount of a score by distance;
- :func:`best_targets`, :func:`needs`, :func:`hold_targets`: each unit a command may send scores every place
  (see :class:`simulation.agents.FactionCommand`) and goes to the best-scoring one if its score is positive;
  :func:`hold_orders`, :func:`attack_appeal` and :func:`attack_orders`, :func:`vacuum_candidates`,
  :func:`vacuums` and :func:`vacuum_orders`: the orders of each doctrine, from the scores to the units sent;
- :func:`defence`: the defence a coalition faces at each place (``ConflictModel.defence_against``);
- :func:`retreats`: where units withdraw to, and their way there (``ConflictModel.withdraw``);
- :func:`within_a_day`: the units that threaten a coalition and the places each can reach within a day
  (``ConflictModel.threat_to``);
- :func:`detachments`: next hops, garrisons left behind and budgets per target; :func:`send_units`: with them,
  the units split and set on their way (``ConflictModel.dispatch``);
- :func:`daily_morale`: the day's morale of every unit (``ConflictModel._morale``).

Done with NumPy these were some fifteen array operations each, on arrays of a few thousand numbers, whose
fixed cost was most of the time. The arithmetic is NumPy's, operation for operation and in the same order (no
``fastmath``); the parts that are not elementwise (the matrix products of strengths and reach, the
exponential) stay with NumPy, so the numbers are the same. ``tests/test_planning.py`` checks each against the
NumPy code it replaced."""

from __future__ import annotations

import numpy as np
from numba import njit

from simulation.rules.state import Sides, State, Units


def threat_to(state: State, coalition: int) -> np.ndarray:
    """The hostile effective strength that could reach each place within a day, by roads that do not pass
    through places held by the hostile units' own enemies (kept until presence changes, see
    :class:`simulation.rules.state.Estimates`)."""
    threat = state.estimates.threat
    hit = threat.get(coalition)
    if hit is None:
        here, n = state.presence.here, state.world.n  # units split off today are not counted until tomorrow
        effective, reach = np.empty(here.size), np.empty((here.size, n))
        k = _within_a_day(state.units.packed, here, state.packed_sides, state.sides.hostile[coalition],
                          state.routes.all()[0], (effective, reach))
        hit = threat[coalition] = np.zeros(n) if k == 0 else effective[:k] @ reach[:k]
    return hit


def defence_against(state: State, coalition: int, params: dict[str, float]) -> np.ndarray:
    """The effective strength hostile to ``coalition`` at each place, the holder's with the defenders'
    advantage (``defender_advantage * fortification``); kept until presence changes."""
    defences = state.estimates.defence
    hit = defences.get(coalition)
    if hit is None:
        hit = defences[coalition] = _defence_against(state, coalition, params)
    return hit


def _defence_against(state: State, coalition: int, params: dict[str, float]) -> np.ndarray:
    hostile = state.sides.hostile[coalition]
    effective, fortification = state.presence.effective, state.world.fortification
    if np.count_nonzero(hostile) < 8:  # NumPy sums fewer than 8 terms in order, as the loop does
        out = np.empty(state.world.n)
        defence(effective, hostile, state.holder, params["defender_advantage"], fortification, out)
        return out
    eff = effective[:, hostile]
    holds = state.sides.coalition_of[state.controller][:, None] == np.flatnonzero(hostile)[None, :]
    mult = np.where(holds, params["defender_advantage"] * fortification[:, None], 1.0)
    return (eff * mult).sum(axis=1)


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
          holder: np.ndarray, side: int, government: bool, sympathy: np.ndarray, withdraw_ratio: float,
          value: np.ndarray, hold_value: float, own_def: np.ndarray, need: np.ndarray, hopeless: np.ndarray) -> None:
    """For a government or tribal command of coalition ``side``: its defence of each place (``own_def``: its
    effective strength there with the defenders' advantage), what each place it holds (``holder``: the
    coalition holding each) needs against the ``threat`` (``need``, 0 elsewhere) and, for the government, the
    places not worth a stand that the enemy (helped by a sympathetic population) clearly outweighs
    (``hopeless``)."""
    for q in range(value.size):
        own_held = holder[q] == side
        own_def[q] = own_effective[q] * defender_advantage * fortification[q]
        need[q] = threat[q] - own_def[q] if own_held else 0.0
        hopeless[q] = government and own_held and threat[q] * (0.5 + sympathy[q]) > withdraw_ratio * own_def[q] \
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
def _within_a_day(units: Units, here: np.ndarray, sides: Sides, hostile: np.ndarray,
                  days_by_coalition: tuple[np.ndarray, ...], out: tuple) -> int:
    """The units that threaten a coalition (those ``here`` — present, not on the road — not routing, and of a
    coalition ``hostile`` to it), for :func:`threat_to`: ``out`` is ``(effective, reach)``, their effective
    strength and, 1.0 or 0.0, whether each place is within a day of travel of them by their own coalition's
    routes (``days_by_coalition[coalition][from, to] / mobility <= 1``). Returns how many units, in the order of
    their rows; ``effective[:k] @ reach[:k]`` is the threat at each place."""
    u, s = Units(*units), Sides(*sides)
    effective, reach = out
    k = 0
    n = reach.shape[1]
    for r in range(here.size):
        if not here[r] or u.routing[r]:
            continue
        c = s.coalition_of[u.faction[r]]
        if not hostile[c]:
            continue
        effective[k] = u.personnel[r] * u.quality[r] * u.morale[r]
        days = days_by_coalition[c][u.loc[r]]
        speed = s.mobility[u.faction[r]]
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
def free_units(faction_id: int, n: int, faction: np.ndarray, alive: np.ndarray, next_: np.ndarray,
               routing: np.ndarray, hidden: np.ndarray, loc: np.ndarray, battle_at: np.ndarray, target: np.ndarray,
               only_active: bool, active: np.ndarray, governorate_of: np.ndarray, rows: np.ndarray,
               rows_loc: np.ndarray) -> int:
    """The units of faction ``faction_id`` (among rows ``0..n-1``) a command may give orders to today: alive,
    at a place (not on the road), not routing, not hidden, and not where a battle is; each one's objective
    (``target``) becomes where it is. Of those, into ``rows`` and their places into ``rows_loc``: all of them,
    or, if ``only_active``, those in a governorate where ``active`` (the faction's offensive has begun).
    Returns how many."""
    k = 0
    for r in range(n):
        if faction[r] != faction_id or not alive[r] or next_[r] >= 0 or routing[r] or hidden[r]:
            continue
        here = loc[r]
        if battle_at[here]:
            continue
        target[r] = here
        if only_active and not active[governorate_of[here]]:
            continue
        rows[k] = r
        rows_loc[k] = here
        k += 1
    return k


@njit(cache=True)
def send_units(rows: np.ndarray, targets: np.ndarray, keep_share: float, at_most: np.ndarray, n: int,
               faction: np.ndarray, loc: np.ndarray, personnel: np.ndarray, quality: np.ndarray,
               morale: np.ndarray, base_morale: np.ndarray, target: np.ndarray, next_: np.ndarray,
               km_left: np.ndarray, home: np.ndarray, routing: np.ndarray, alive: np.ndarray, hidden: np.ndarray,
               coalition_of: np.ndarray, controller: np.ndarray, next_by_coalition: np.ndarray,
               any_next: np.ndarray, road_km: np.ndarray, parent: np.ndarray, split_by: np.ndarray) -> int:
    """``ConflictModel.dispatch`` on the unit table's columns (rows ``0..n-1`` in use; room for ``rows.size``
    more): the units ``rows`` are sent toward ``targets`` as :func:`detachments` decides. A unit that sends
    only part of itself splits: the part sent becomes a new row (``n``, ``n + 1``, ... in the order of
    ``rows``; its parent row into ``parent``) with the parent's faction, place, quality, morale, base morale and
    home, and the parent keeps the rest. Each unit sent gets its objective, and, if its next place is not
    where it is, that place (``next_``) and the road's length (``km_left``).

    Sets ``split_by[c]`` for each coalition ``c`` that split a unit (the caller clears it). Returns how many
    rows were added.
    """
    m = rows.size
    here = np.empty(m, dtype=np.int64)
    coal = np.empty(m, dtype=np.int64)
    own_place = np.empty(m, dtype=np.bool_)
    pers = np.empty(m, dtype=np.int64)
    for i in range(m):
        r = rows[i]
        here[i] = loc[r]
        coal[i] = coalition_of[faction[r]]
        own_place[i] = coalition_of[controller[here[i]]] == coal[i]
        pers[i] = personnel[r]
    hop = np.empty(m, dtype=np.int64)
    send = np.empty(m, dtype=np.int64)
    go = np.empty(m, dtype=np.bool_)
    detachments(targets, here, coal, own_place, pers, keep_share, at_most, next_by_coalition, any_next, hop,
                send, go)
    new = n
    for i in range(m):
        if not go[i]:
            continue
        r = rows[i]
        mover = r
        if send[i] < pers[i]:
            mover = new
            faction[new], loc[new], personnel[new] = faction[r], here[i], send[i]
            quality[new], morale[new], base_morale[new] = quality[r], morale[r], base_morale[r]
            target[new], next_[new], km_left[new], home[new] = here[i], -1, 0.0, home[r]
            routing[new], alive[new], hidden[new] = False, True, False
            personnel[r] -= send[i]
            parent[new - n] = r
            split_by[coal[i]] = True
            new += 1
        target[mover] = targets[i]
        h = hop[i]
        if h != here[i]:  # h >= 0: the unit goes
            next_[mover] = h
            km_left[mover] = road_km[here[i], h]
    return new - n


@njit(cache=True)
def stay_or_leave(rows: np.ndarray, loc: np.ndarray, leave: np.ndarray, leaving: np.ndarray) -> int:
    """Of the units ``rows`` (at ``loc``), those at places to ``leave`` into ``leaving``, in order; the others
    stay at the front of ``rows`` and ``loc``, in order. Returns how many stay."""
    k = 0
    j = 0
    for i in range(rows.size):
        if leave[loc[i]]:
            leaving[j] = rows[i]
            j += 1
        else:
            rows[k] = rows[i]
            loc[k] = loc[i]
            k += 1
    return k


@njit(cache=True)
def reach(days: np.ndarray, loc: np.ndarray, mobility: float, reach_days: float, home: np.ndarray,
          distance_km: np.ndarray, home_radius_km: float, rows: np.ndarray, personnel: np.ndarray,
          quality: np.ndarray, morale: np.ndarray, in_reach: np.ndarray, minus_days: np.ndarray,
          effective: np.ndarray) -> None:
    """For the units ``rows`` at ``loc``, of a faction of ``mobility`` on its coalition's routes (``days``
    between places): whether each place is within ``reach_days`` (``in_reach``, 1.0 or 0.0; if ``home`` is not
    empty, also within ``home_radius_km`` of the unit's home), ``-travel days / reach_days`` (``minus_days``,
    whose exponential discounts a target's score) and each unit's effective strength (``effective``)."""
    n = days.shape[1]
    for i in range(rows.size):
        r = rows[i]
        effective[i] = personnel[r] * quality[r] * morale[r]
        d = days[loc[i]]
        for q in range(n):
            t = d[q] / mobility
            ok = t <= reach_days
            if home.size and not distance_km[home[r], q] <= home_radius_km:
                ok = False
            in_reach[i, q] = 1.0 if ok else 0.0
            minus_days[i, q] = -t / reach_days


@njit(cache=True)
def defence(effective: np.ndarray, hostile: np.ndarray, holder: np.ndarray, defender_advantage: float,
            fortification: np.ndarray, out: np.ndarray) -> None:
    """The effective strength at each place (``effective``: place x coalition) of the coalitions ``hostile`` to
    one, those holding the place (``holder``: its coalition) with the defenders' advantage there, summed in
    the order of the coalitions (as NumPy sums fewer than 8 terms along a row)."""
    for q in range(effective.shape[0]):
        s = 0.0
        first = True
        for j in range(effective.shape[1]):
            if not hostile[j]:
                continue
            x = effective[q, j] * (defender_advantage * fortification[q] if holder[q] == j else 1.0)
            s = x if first else s + x
            first = False
        out[q] = s


@njit(cache=True)
def _targets_of(side: int, hostile: np.ndarray, holder: np.ndarray, active: np.ndarray, governorate_of: np.ndarray,
                initial_holder: np.ndarray, lost_only: bool) -> np.ndarray:
    """Places held by coalitions ``hostile`` to ``side`` (``holder``: the coalition holding each) in governorates
    where the offensive is ``active``; if ``lost_only``, only those ``side`` held at the start."""
    n = holder.size
    out = np.empty(n, dtype=np.bool_)
    for q in range(n):
        out[q] = hostile[holder[q]] and active[governorate_of[q]] and (not lost_only or initial_holder[q] == side)
    return out


@njit(cache=True)
def hold_orders(rows: np.ndarray, loc: np.ndarray, side: int, hostile: np.ndarray, holder: np.ndarray,
                initial_holder: np.ndarray, active: np.ndarray, governorate_of: np.ndarray, value: np.ndarray,
                need: np.ndarray, hopeless: np.ndarray, own_def: np.ndarray, potential: np.ndarray,
                defence: np.ndarray, counterattack_ratio: float, in_reach: np.ndarray, decay: np.ndarray,
                days: np.ndarray, mobility: float, quality: np.ndarray, morale: np.ndarray,
                defender_advantage: float, fortification: np.ndarray, send_rows: np.ndarray, send_to: np.ndarray,
                at_most: np.ndarray) -> int:
    """The orders of a government or tribal command (``FactionCommand._hold_and_reinforce``) to its units
    ``rows`` at ``loc``: each one's target by :func:`hold_targets` (counter-attacks against places the
    coalition ``side`` held at the start, ``initial_holder``, that coalitions ``hostile`` to it hold now,
    ``holder``, in governorates where its offensive is ``active``) and, for those that go, the most people to
    send (``at_most``): 1.5 times what a threatened place needs in defenders of the unit's strength per person
    (``quality * morale``, at least 1e-6, with the defenders' advantage), or for a counter-attack 1.2 times
    ``counterattack_ratio`` times the defence (at least 1) in the unit's strength per person, rounded up.
    The units that go into ``send_rows`` and their targets into ``send_to``, nearest first (by travel days,
    ``days / mobility``; a stable sort). Returns how many."""
    m = rows.size
    lost = _targets_of(side, hostile, holder, active, governorate_of, initial_holder, True)
    best = np.empty(m, dtype=np.int64)
    go = np.empty(m, dtype=np.bool_)
    hold_targets(loc, value, need, hopeless, own_def, lost, potential, defence, counterattack_ratio, in_reach,
                 decay, best, go)
    key = np.empty(m)
    k = 0
    for i in range(m):
        if not go[i]:
            continue
        q = best[i]
        r = rows[i]
        per_person = max(quality[r] * morale[r], 1e-6)
        if need[q] > 0:
            wanted = 1.5 * need[q] / (per_person * defender_advantage * fortification[q])
        else:
            wanted = 1.2 * counterattack_ratio * max(defence[q], 1.0) / per_person
        t = days[loc[i], q] / mobility
        j = k  # insert after every unit no farther away: a stable sort
        while j > 0 and key[j - 1] > t:
            key[j], send_rows[j], send_to[j], at_most[j] = key[j - 1], send_rows[j - 1], send_to[j - 1], at_most[j - 1]
            j -= 1
        key[j], send_rows[j], send_to[j], at_most[j] = t, r, q, np.ceil(wanted)
        k += 1
    return k


@njit(cache=True)
def attack_appeal(side: int, hostile: np.ndarray, holder: np.ndarray, active: np.ndarray,
                  governorate_of: np.ndarray, potential: np.ndarray, defence: np.ndarray, attack_ratio: float,
                  value: np.ndarray, sympathy: np.ndarray, appeal: np.ndarray) -> bool:
    """An insurgent command's targets (``FactionCommand._attack``): places that coalitions ``hostile`` to its
    coalition ``side`` hold (``holder``), in governorates where its offensive is ``active``, where the
    ``potential`` that can reach them is ``attack_ratio`` times the ``defence``; each one's ``appeal``
    (``value * (0.5 + sympathy) * potential / (potential + attack_ratio * defence)``, 0 elsewhere). Returns
    whether there is any."""
    enemy_held = _targets_of(side, hostile, holder, active, governorate_of, holder, False)
    found = False
    for q in range(value.size):
        if enemy_held[q] and potential[q] >= attack_ratio * defence[q]:
            appeal[q] = value[q] * (0.5 + sympathy[q]) * potential[q] / (potential[q] + attack_ratio * defence[q]
                                                                        + 1e-9)
            found = True
        else:
            appeal[q] = 0.0
    return found


@njit(cache=True)
def attack_orders(loc: np.ndarray, rows: np.ndarray, value: np.ndarray, appeal: np.ndarray, in_reach: np.ndarray,
                  decay: np.ndarray, send_rows: np.ndarray, send_to: np.ndarray) -> int:
    """The units ``rows`` (at ``loc``) an insurgent command sends, into ``send_rows``, and their targets, into
    ``send_to``: each one's best target by :func:`best_targets` (``appeal`` as the score; nothing to
    reinforce), if it has one. Returns how many."""
    n, m = value.size, rows.size
    best = np.empty(m, dtype=np.int64)
    go = np.empty(m, dtype=np.bool_)
    best_targets(loc, value, np.zeros(n, dtype=np.bool_), np.zeros(n), appeal, in_reach, decay, best, go)
    k = 0
    for i in range(m):
        if go[i]:
            send_rows[k] = rows[i]
            send_to[k] = best[i]
            k += 1
    return k


@njit(cache=True)
def vacuum_candidates(holder: np.ndarray, neutral: np.ndarray, present_personnel: np.ndarray,
                      was_garrisoned: np.ndarray, candidate: np.ndarray, holders: np.ndarray) -> bool:
    """For an opportunist command (``FactionCommand._fill_vacuums``): the places (``candidate``) held by a
    coalition ``neutral`` to its own (``holder``: the coalition holding each), garrisoned by it earlier
    (``was_garrisoned``) and empty now (no one present: ``present_personnel``, place x coalition), and their
    holders (``holders``, one flag per coalition, set; the caller clears it). Returns whether there is any."""
    found = False
    for q in range(holder.size):
        h = holder[q]
        ok = neutral[h] and was_garrisoned[q]
        if ok:
            for j in range(present_personnel.shape[1]):
                if present_personnel[q, j] != 0:
                    ok = False
                    break
        candidate[q] = ok
        if ok:
            holders[h] = True
            found = True
    return found


@njit(cache=True)
def vacuums(candidate: np.ndarray, holder: np.ndarray, threat: np.ndarray, side: int, distance_km: np.ndarray,
            radius_km: float, claimed: np.ndarray) -> bool:
    """Of the ``candidate`` places (see :func:`vacuum_candidates`), in place, the vacuums: those within a day's
    reach of forces hostile to their holder (``threat[holder]`` positive there), within ``radius_km`` of a
    place held by the command's coalition ``side`` and, if ``claimed`` is not empty, claimed. Returns whether
    there is any."""
    n = holder.size
    found = False
    for q in range(n):
        if not candidate[q]:
            continue
        ok = threat[holder[q], q] > 0 and (claimed.size == 0 or claimed[q])
        if ok:
            near = False
            for j in range(n):
                if holder[j] == side and distance_km[q, j] <= radius_km:
                    near = True
                    break
            ok = near
        candidate[q] = ok
        found |= ok
    return found


@njit(cache=True)
def vacuum_orders(loc: np.ndarray, rows: np.ndarray, vacuum: np.ndarray, value: np.ndarray, in_reach: np.ndarray,
                  decay: np.ndarray, days: np.ndarray, mobility: float, send_rows: np.ndarray,
                  send_to: np.ndarray) -> int:
    """The detachments an opportunist command sends (``FactionCommand._fill_vacuums``): each unit (``rows``
    at ``loc``) scores the ``vacuum`` places in reach by ``(value + 0.1) * decay``; its best (the first of
    the highest score, if positive) is its target. Each vacuum gets one detachment, from the nearest unit
    that has it as its target (by travel days, ``days / mobility``; the first on a tie). The units sent
    into ``send_rows``, their targets into ``send_to``, nearest first. Returns how many."""
    m, n = rows.size, value.size
    best = np.empty(m, dtype=np.int64)
    key = np.empty(m)
    order = np.empty(m, dtype=np.int64)
    for i in range(m):
        top = -1.0
        arg = 0
        for q in range(n):
            s = (value[q] + 0.1) * decay[i, q] if in_reach[i, q] and vacuum[q] else 0.0
            if s > top:
                top = s
                arg = q
        best[i] = arg if top > 0 else -1
        t = days[loc[i], arg] / mobility
        j = i  # insert after every unit no farther away: a stable sort
        while j > 0 and key[j - 1] > t:
            key[j], order[j] = key[j - 1], order[j - 1]
            j -= 1
        key[j], order[j] = t, i
    taken = np.zeros(n, dtype=np.bool_)
    k = 0
    for i in order:
        q = best[i]
        if q >= 0 and not taken[q]:
            taken[q] = True
            send_rows[k] = rows[i]
            send_to[k] = q
            k += 1
    return k


@njit(cache=True)
def retreats(rows: np.ndarray, side: int, holder: np.ndarray, threat: np.ndarray, days: np.ndarray,
             next_hop: np.ndarray, any_next: np.ndarray, road_km: np.ndarray, loc: np.ndarray, target: np.ndarray,
             next_: np.ndarray, km_left: np.ndarray, dest: np.ndarray) -> None:
    """Orderly withdrawals (``ConflictModel.withdraw``) of the units ``rows`` of coalition ``side``: each one's
    destination (``dest``; -1 if none) is the nearest place by ``days`` (the first on a tie), other than its
    own, that the coalition holds (``holder``) and no enemy threatens (``threat`` 0). A unit with a
    destination gets it as its objective and, unless its next place (by ``next_hop``, or by any road if it
    must: ``any_next``) is none or where it is, that place (``next_``) and the road's length (``km_left``)."""
    n = holder.size
    for i in range(rows.size):
        r = rows[i]
        here = loc[r]
        best = np.inf
        arg = 0
        for q in range(n):
            t = days[here, q] if holder[q] == side and threat[q] == 0 and q != here else np.inf
            if t < best:
                best = t
                arg = q
        if not np.isfinite(best):
            dest[i] = -1
            continue
        dest[i] = arg
        target[r] = arg
        h = next_hop[here, arg]
        if h < 0:
            h = any_next[here, arg]
        if h >= 0 and h != here:
            next_[r] = h
            km_left[r] = road_km[here, h]
