"""Orders: what each faction's command tells its units to do, once a day, by the faction's doctrine.

A command gives orders to its *free* units: alive, at a place (not on the road), not routing, not hidden and not
where a battle is (units fighting stay); an insurgent command only to those in governorates where its offensive
has begun. A unit *reaches* the places within ``reach_days`` of travel by its coalition's routes
(``days / mobility``; tribal units only within ``tribal_home_radius_km`` of their home), and a target's score
is discounted by ``exp(-days / reach_days)``; each unit goes to its best-scoring target if the score is
positive. The *potential* against a place is the effective strength of the command's units that reach it plus
its coalition's strength there; the *defence* of a place is the hostile effective strength there, the
holder's with the defenders' advantage (``defender_advantage * fortification``); the *threat* to a place is
the hostile effective strength within a day of it, counting only units whose faction's offensive has begun
where they stand and in the place's governorate (a column waiting for its offensive threatens nobody, so
Abu Ghraib and Habbaniyah are not abandoned on 1 June).

- **insurgent**: attack enemy-held places (in governorates where its offensive has begun) whose potential is at
  least ``attack_ratio`` times their defence, scored by
  ``value * (0.5 + sympathy) * potential / (potential + attack_ratio * defence)``; a ``garrison_share`` of
  each unit stays where its side holds the place it leaves. With ``main_effort`` above 0 the command
  concentrates instead of letting each unit choose alone: it takes the targets in order of appeal and sends to
  each the nearest free units able to reach it until they bring ``main_effort * attack_ratio`` times its defence
  (a target the units left cannot bring to ``attack_ratio`` times it is passed over), the units left joining
  their best target so chosen (ISIL gathered for Tal Afar and took it on 15-16 June 2014; in the model each
  column choosing alone had a nearer or richer town to take, and none went). Before they leave, *occupy*: each
  undefended enemy place (no enemy present) within a day's travel, in such a governorate, that no attack reaches
  within a day and no third party (hostile to this side, neutral to the place's holder) could reach within a day, gets
  one detachment (``detachment_share``) from the nearest free unit that has it as its best place (scored by
  ``(value + 0.1) * decay``) and can spare one of 10 or more; a unit sent to attack drops it on its way and goes
  on with the rest.
- **government**: give up, in order, places worth less than ``hold_value`` where less than ``stand_share`` of
  the people are Shia Arabs or Turkmen (``composition.csv``: the government's own community, who fight for
  their homes with it) whose threat, helped by a sympathetic population, clearly outweighs their defence
  (``threat * (0.5 + sympathy) > withdraw_ratio * own defence``): the units there withdraw to the nearest
  place their side holds that no enemy threatens and that is joined to the rear through such places
  (:func:`linked_to_rear`), toward the rear if there is one (not into a dead end behind a threatened place: the
  Baiji refinery behind Baiji town), and that is worth a stand or at least a day's travel away (not the next
  small town on the enemy's road). A unit leaves a place its side holds only if the ``garrison_share`` that
  stays could hold it against the threat (Tal Afar's garrison, with Mosul's captors a day away, does not march
  off to Mosul Dam). Reinforce threatened places worth at least as much as where a unit stands, scored by
  ``value * need / (need + own defence)``, ``need = threat - own defence``; counter-attack places
  the side held at the start and has lost, where the potential is ``counterattack_ratio`` times the defence,
  scored by ``value * potential / (potential + defence)``. Detachments are sized to the need (1.5 times it, in
  defenders) or to the counter-attack (1.2 times ``counterattack_ratio`` times the defence), filled by the
  nearest units first.
- **tribal**: as the government, without giving up places, never farther than ``tribal_home_radius_km`` from
  home.
- **opportunist**: move into *vacuums*: places its neutral neighbour held and garrisoned earlier in the run,
  empty now and within a day of forces hostile to that neighbour, or whose garrison has lost the will to fight
  (:func:`broken_garrisons`: it broke on the news of a fall, whether or not the enemy is near: the border
  guards at Rabia, 10-11 June 2014), within ``opportunist_radius_km`` of its own places, if it lists ``claims``,
  claimed, and with a *kin* share (``composition.csv``: Kurds, Yazidis, Christians, Shabak) of at least
  ``opportunist_kin`` (border crossings whoever lives there); one detachment (``detachment_share`` of the nearest unit
  that has the vacuum as its best target, scored by ``(value + 0.1) * decay``, and can spare 10 or more; not a
  unit waiting in a claimed place of its kin that a neutral side still holds) per vacuum. A faction with
  claims also *attacks*, with its other free units (not those waiting in a claimed place of their kin that a
  neutral side still holds: they stay to take it over), claimed places its enemies hold (kin share at least
  ``opportunist_kin``, border crossings whoever lives there) where the potential is at least
  ``opportunist_attack_ratio`` times the defence, scored by ``value * (1.5 - sympathy) * potential /
  (potential + opportunist_attack_ratio * defence)``.

Detachments of fewer than 10 that would leave part of a unit behind stay. The part of a unit that stays where
its side holds the place it leaves is that place's *garrison* (``garrison_at``): the insurgent and opportunist
commands do not send it on (the Peshmerga sent four fifths of what held Kirkuk away day after day, and the
insurgents took it back in most 30-day runs; Mosul's captors dwindled the same way); recruits joining it free it
(then a share stays again); the government's and the tribes' garrisons are kept by the rule above instead.

Parameters read: ``reach_days``, ``tribal_home_radius_km``, ``attack_ratio``, ``garrison_share``,
``defender_advantage``, ``withdraw_ratio``, ``hold_value``, ``stand_share``, ``counterattack_ratio``,
``opportunist_radius_km``, ``detachment_share``, ``opportunist_attack_ratio``, ``opportunist_kin``, ``main_effort``.

Entries (called by :class:`simulation.engine.commands.FactionCommand`): :func:`attack_orders`, :func:`hold_orders`,
:func:`vacuum_orders` (each finds its free units), :func:`dispatch`; the estimates they use are :func:`threat_to`
and :func:`defence_against` (and :func:`threatened`, where a threat is only told from none). No random draws. The
arithmetic is compiled (below), except the matrix products of strengths and reach and the exponential, which stay
NumPy's. Units of one faction at one place (and home, for tribal units) reach the same places: the reach is worked
out once for each such row and read by every unit of it, and the products are taken over every unit's copy of its
row, as BLAS has always summed them.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, types
from numba.extending import overload
from numba.typed import Dict

from simulation.roads import road_value
from simulation.rules.routing import RouteRows, days_between, forward_row, forward_rows, known_days, toward_row
from simulation.rules.routing import bound as _bound
from simulation.rules.state import Places, Roads, Sides, State, Units, distinct, side_columns, unit_columns

_NO_CAPS = np.zeros(0)  # detachments without caps


class Withdrawals(NamedTuple):
    """Units that withdrew in order from places not worth a stand, by coalition then row."""

    rows: np.ndarray
    faction: np.ndarray
    place: np.ndarray  #: where each left
    personnel: np.ndarray
    destination: np.ndarray


class Orders(NamedTuple):
    """A command's orders of the day: the units it sends, and the units it withdrew."""

    rows: np.ndarray  #: the units sent (nearest first, for capped targets)
    targets: np.ndarray  #: where each is sent
    keep_share: float  #: the share of a unit that stays where its side holds the place it leaves
    at_most: np.ndarray | None  #: whole people each may take toward its target's budget (None: no caps)
    withdrawn: Withdrawals | None = None
    then: Orders | None = None  #: a second batch, of other units, sent after these (occupations, attacks on claims)


def attack_orders(state: State, faction: int, params: dict[str, float]) -> Orders | None:
    """An insurgent command's orders of the day (see the module's docstring), or None if it has no free
    units."""
    c = int(state.sides.coalition_of[faction])
    # A garrison left behind holds its place: it is not sent on (Mosul's captors dwindled day by day before this).
    rows, loc, (in_reach, decay, row), eff, days = _free_and_reach(state, faction, params, only_active=True,
                                                                   tribal=False, garrisons=False)
    if rows.size == 0:
        return None
    # Targets: enemy-held places in governorates where the offensive has begun, that the force able to reach
    # them can overwhelm.
    present = state.presence.effective[:, c]
    potential = _strength_over(state, eff, row, in_reach) + present
    send_rows, send_to = np.empty(rows.size, dtype=np.int64), np.empty(rows.size, dtype=np.int64)
    defence = defence_against(state, c, params)
    if params["main_effort"] > 0.0:
        k = _main_effort_orders((rows, loc, eff), _front(state, faction, c), state.world.packed_places,
                                (potential, defence, present), (params["attack_ratio"], params["main_effort"]),
                                (in_reach, decay, row), (send_rows, send_to))
    else:
        k = _attack_orders((rows, loc), _front(state, faction, c), state.world.packed_places,
                           (potential, defence), params["attack_ratio"], (in_reach, decay, row), (send_rows, send_to))
    sent, targets = send_rows[:k], send_to[:k]
    attacks = Orders(sent, targets, params["garrison_share"], None)
    occupy = _occupation_orders(state, faction, c, (rows, loc, (decay, row), days), (sent, targets), params)
    # Detachments leave first: a column sent on to a far target drops one into an empty town on its way.
    return attacks if occupy is None else occupy._replace(then=attacks)


def _occupation_orders(state: State, faction: int, c: int, free: tuple, attacks: tuple,
                       params: dict[str, float]) -> Orders | None:
    """Undefended enemy places (held by a coalition hostile to ``c``, no enemy of it present) in governorates
    where the offensive has begun, within a day's travel of a free unit, that no attack (``attacks``: the
    units sent and their targets) reaches within a day and no third party (hostile to ``c``, neutral to the
    holder) could reach within a day: each gets one detachment (``detachment_share``) from the nearest free
    unit that has it as its best place (by ``(value + 0.1) * decay``), sent before the attacks. None if there
    is none."""
    rows, loc, (decay, row), days = free
    sent, targets = attacks
    w = state.world
    mobility = float(state.sides.mobility[faction])
    # A place an attack will reach within a day needs no detachment; one that only far units are sent to does.
    near = np.empty(sent.size)
    days_between(days, state.units.loc[sent], targets, _bound(mobility), near)
    near = near / mobility <= 1.0
    empty = np.empty(w.n, dtype=bool)
    if not _undefended(state.holder, state.sides.hostile[c], state.presence.personnel, state.offensive_in[faction],
                       w.governorate_of, targets[near], empty):
        return None
    # No detachment races a third party (hostile to this side, neutral to the holder) that could reach the
    # place within a day: the place is its vacuum to fill (the Peshmerga into Kirkuk, 12 June).
    for h in np.unique(state.holder[empty]).tolist():
        third = state.sides.hostile[c] & state.sides.neutral[h]
        if third.any():
            empty &= ~((state.holder == h) & (_threat_of(state, third) > 0))
    if not empty.any():
        return None
    place_of_row = np.empty(decay_rows(decay), dtype=np.int64)
    place_of_row[row] = loc  # the units of a row of the reach are at one place
    in_day = np.empty((place_of_row.size, w.n))
    forward_rows(days, place_of_row, _bound(mobility), in_day)
    in_day = (in_day / mobility <= 1.0).astype(float)  # by row of the reach, as decay
    # The nearest unit that can spare a detachment of 10 or more goes (a smaller one would stay, see
    # _detachments, and the town would wait for nobody: Qayyarah, 12-17 June, in runs before this rule).
    big = _can_detach(state, rows, loc, c, params["detachment_share"])
    rows, loc, row = rows[big], loc[big], row[big]
    send_rows, send_to = np.empty(rows.size, dtype=np.int64), np.empty(rows.size, dtype=np.int64)
    k = _vacuum_orders((rows, loc), empty, w.value, (in_day, decay, row, days, mobility), (send_rows, send_to))
    if k == 0:
        return None
    return Orders(send_rows[:k], send_to[:k], 1.0 - params["detachment_share"], None)


def _can_detach(state: State, rows: np.ndarray, loc: np.ndarray, c: int, share: float) -> np.ndarray:
    """Whether each unit (``rows`` at ``loc``, of coalition ``c``) can send a detachment of ``share`` of itself
    that :func:`_detachments` lets go: 10 or more, or the whole unit (where its side does not hold the place)."""
    pers = state.units.personnel[rows]
    keep = np.where(state.holder[loc] == c, np.rint(pers * (1.0 - share)), 0)
    return (pers - keep >= 10) | (keep == 0)


def hold_orders(state: State, faction: int, params: dict[str, float], government: bool) -> Orders | None:
    """A government's (``government``) or tribal command's orders of the day (see the module's docstring), or
    None if it has no free units: the government's units at places not worth a stand withdraw at once."""
    u, w, p = state.units, state.world, params
    c = int(state.sides.coalition_of[faction])
    own = state.presence.effective[:, c]
    rows, loc, leaving = (np.empty(u.n, dtype=np.int64) for _ in range(3))
    own_def, need, hopeless = np.empty(w.n), np.empty(w.n), np.empty(w.n, dtype=bool)
    # The government gives up, in order, places not worth a stand where the enemy (helped by a sympathetic
    # population) clearly outweighs the defence: towns that change hands without a fight.
    # ... except where enough of the people are of the government's own community (Shia Arabs and Turkmen),
    # who would fight for their homes with it: Tal Afar, Muqdadiyah, Amerli held or fought in June 2014.
    stand = state.loyal >= p["stand_share"]
    m, k = _free_and_needing(u.packed, u.n, _command(state, faction, False), (own, threat_to(state, c),
                             state.holder, c, stand), state.world.packed_places,
                             (p["defender_advantage"], p["withdraw_ratio"], p["hold_value"], government),
                             (rows, loc, leaving, own_def, need, hopeless))
    if m == 0:
        return None
    withdrawn = None
    if k < m:
        withdrawn = withdraw(state, leaving[: m - k], p["hold_value"])
        if k == 0:
            return Orders(rows[:0], rows[:0], p["garrison_share"], None, withdrawn)
    rows, loc = rows[:k], loc[:k]
    (in_reach, decay, row), eff, days = _reach_of(state, faction, rows, loc, params, tribal=not government)
    # Reinforce: threatened places worth at least as much as where the unit stands, if its own place is safe.
    # Counter-attack: enemy-held places within reach that the force able to reach them can overwhelm; they
    # retake what the side held at the start, established enemy strongholds are not targets. Send what the
    # threatened place needs or what the counter-attack needs (or all but a garrison where it is), not the
    # whole unit: a budget per target, filled by the nearest units first.
    potential = _strength_over(state, eff, row, in_reach) + own
    send_rows, send_to, at_most = (np.empty(rows.size, dtype=np.int64), np.empty(rows.size, dtype=np.int64),
                                   np.empty(rows.size))
    k = _hold_orders((rows, loc), u.packed, _front(state, faction, c), state.world.packed_places,
                     (own_def, need, hopeless, potential, defence_against(state, c, p)),
                     (in_reach, decay, row, days, float(state.sides.mobility[faction])),
                     (p["counterattack_ratio"], p["defender_advantage"], p["garrison_share"]),
                     (send_rows, send_to, at_most))
    return Orders(send_rows[:k], send_to[:k], p["garrison_share"], at_most[:k], withdrawn)


def vacuum_orders(state: State, faction: int, params: dict[str, float]) -> Orders | None:
    """An opportunist command's orders of the day (see the module's docstring), or None if it has no free units
    or nothing to do: detachments into vacuums, then (``then``) attacks on claimed places its enemies hold."""
    u, w, sides = state.units, state.world, state.sides
    c = int(sides.coalition_of[faction])
    holder = state.holder
    nc = sides.hostile.shape[0]
    # A vacuum is a place its holder, neutral to this faction, has abandoned in the face of its enemies: empty
    # now, garrisoned by the holder earlier in the run, and within a day's reach of forces hostile to the
    # holder; near the faction's own places, claimed by it (if it claims places), and where enough of its kin
    # live.
    rows, loc = np.empty(u.n, dtype=np.int64), np.empty(u.n, dtype=np.int64)
    vacuum, holders = np.empty(w.n, dtype=bool), np.zeros(nc, dtype=bool)
    # The garrison a claim attack left behind holds the place taken (Kirkuk, from 12 June 2014): it is not sent on.
    m = _free_and_vacant(u.packed, u.n, _command(state, faction, False, garrisons=False), holder, sides.neutral[c],
                         state.presence.personnel, state.was_garrisoned, (rows, loc, vacuum, holders))
    if m == 0:
        return None
    found = m > 0
    m = m if found else -1 - m
    # A garrison that has lost the will to fight leaves a vacuum too (the army at Rabia and Kirkuk, 10-12 June).
    broken = broken_garrisons(state, params) & sides.neutral[c][holder]
    if broken.any():
        vacuum |= broken
        holders[np.unique(holder[broken])] = True
        found = True
    rows, loc = rows[:m], loc[:m]
    claimed = state.claimed[faction]
    allowed = (np.ones(w.n, dtype=bool) if claimed is None else claimed) & (
        (state.kin >= params["opportunist_kin"]) | w.crossing)  # border crossings, whoever lives there
    if found:
        threat = np.zeros((nc, w.n))  # 1.0 where threatened: only whether the threat is positive is read
        for h in np.flatnonzero(holders).tolist():
            threat[h] = threatened(state, h)
        # A broken garrison is a vacuum whether or not the enemy is near: it broke on the news of a fall (the
        # border guards at Rabia, 10-11 June 2014, with the insurgents still in Mosul).
        threat[holder[broken], np.flatnonzero(broken)] = 1.0
        found = _vacuums(vacuum, holder, threat, c, w.distance_km, params["opportunist_radius_km"], allowed)
    reach, eff, days = _reach_of(state, faction, rows, loc, params, tribal=False)
    k = 0
    send_rows, send_to = np.empty(rows.size, dtype=np.int64), np.empty(rows.size, dtype=np.int64)
    if found:
        # Each vacuum needs one detachment: the nearest unit that has it as its best target goes. Units waiting
        # to take over a claimed place of their kin that a neutral side still holds stay (as in _claim_attacks:
        # Kirkuk's Peshmerga were sent to Zummar before this rule).
        stay = _waiting(state, c, loc, allowed) if claimed is not None else np.zeros(loc.size, dtype=bool)
        stay |= ~_can_detach(state, rows, loc, c, params["detachment_share"])  # too small to spare one
        go = np.flatnonzero(~stay)
        in_reach, decay, row = reach
        k = _vacuum_orders((rows[go], loc[go]), vacuum, w.value, (in_reach, decay, row[go], days,
                           float(sides.mobility[faction])), (send_rows, send_to))
    attack = _claim_attacks(state, faction, c, (rows, loc, reach, eff), send_rows[:k], params)
    if k == 0 and attack is None:
        return None
    return Orders(send_rows[:k], send_to[:k], 1.0 - params["detachment_share"], None, then=attack)


def _claim_attacks(state: State, faction: int, c: int, free: tuple, sent: np.ndarray,
                   params: dict[str, float]) -> Orders | None:
    """An opportunist's attacks (with its free units not sent into vacuums) on places it claims that its
    enemies hold, where enough of its kin live (``opportunist_kin``; border crossings whoever lives there),
    when the potential is ``opportunist_attack_ratio`` times the defence. None if there is none."""
    claimed = state.claimed[faction]
    if claimed is None:
        return None
    rows, loc, (in_reach, decay, row), eff = free
    w = state.world
    allowed = claimed & ((state.kin >= params["opportunist_kin"]) | w.crossing)
    keep = ~np.isin(rows, sent) & ~_waiting(state, c, loc, allowed)
    if not keep.any():
        return None
    rows, loc, row, eff = rows[keep], loc[keep], row[keep], eff[keep]
    potential = _strength_over(state, eff, row, in_reach) + state.presence.effective[:, c]
    send_rows, send_to = np.empty(rows.size, dtype=np.int64), np.empty(rows.size, dtype=np.int64)
    k = _claim_attack_orders((rows, loc), _front(state, faction, c), w.packed_places,
                             (potential, defence_against(state, c, params), allowed),
                             params["opportunist_attack_ratio"], (in_reach, decay, row), (send_rows, send_to))
    if k == 0:
        return None
    return Orders(send_rows[:k], send_to[:k], params["garrison_share"], None)


def _waiting(state: State, c: int, loc: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Whether each unit of an opportunist of coalition ``c`` at ``loc`` waits in a claimed place of its kin
    (``allowed``) that a neutral side still holds, to take it over when its garrison goes (the Peshmerga on
    Kirkuk's outskirts, 11-12 June 2014): it is sent neither to attack nor into a vacuum elsewhere."""
    return allowed[loc] & state.sides.neutral[c][state.holder[loc]]


def broken_garrisons(state: State, params: dict[str, float]) -> np.ndarray:
    """(n,) bool: places whose holder has a garrison present (not routing) of which no unit has morale at the
    ``rout_threshold`` or above: a garrison that has lost the will to fight but has no enemy near to run from."""
    u, n = state.units, state.world.n
    k = state.presence.here.size  # the rows when presence was computed
    rows = np.flatnonzero(state.presence.here & ~u.routing[:k])
    loc = u.loc[rows]
    mine = state.sides.coalition_of[u.faction[rows]] == state.holder[loc]
    garrisoned, firm = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    garrisoned[loc[mine]] = True
    firm[loc[mine & (u.morale[rows] >= params["rout_threshold"])]] = True
    return garrisoned & ~firm


def still_here(state: State, orders: Orders) -> Orders:
    """The orders without the units an earlier batch of the day sent away whole (a unit that left a
    detachment is still here and may be sent on)."""
    here = state.units.next[orders.rows] < 0
    if here.all():
        return orders
    caps = None if orders.at_most is None else orders.at_most[here]
    return orders._replace(rows=orders.rows[here], targets=orders.targets[here], at_most=caps)


def dispatch(state: State, orders: Orders) -> None:
    """Send units toward their targets. Where a unit leaves a place its side holds, ``keep_share`` of it stays
    as a garrison. ``at_most`` (whole people, one per unit) caps how many go to a target: the first capped unit
    sent to a target sets that target's budget, and the units sent there use it up in the order given.
    Detachments of fewer than 10 that would leave part of a unit behind stay. A unit that sends part of itself
    splits: the part sent is a new unit (a new row of the table)."""
    u, rows, targets = state.units, orders.rows, orders.targets
    if rows.size == 0:
        return
    u.reserve(rows.size)  # room for every unit to split
    sides = state.sides
    parent, split_by = np.empty(rows.size, dtype=np.int64), np.zeros(sides.hostile.shape[0], dtype=bool)
    caps = _NO_CAPS if orders.at_most is None else np.asarray(orders.at_most, dtype=float)
    added = _send_units((rows, targets, orders.keep_share, caps), u.packed, u.n, state.packed_sides,
                        state.controller, state.world.packed_roads, state.routes.rows_all(), (parent, split_by))
    if added:
        # The strength left at the units' places changes: so does the threat they pose.
        threat = state.estimates.threat
        for c in [c for c in threat if split_by[sides.hostile[c]].any()]:
            del threat[c]
        u.commit(parent[:added])  # the detachments are new units (their rows are written)


def withdraw(state: State, rows: np.ndarray, hold_value: float) -> Withdrawals:
    """Units leave their place in order (no desertion) for the nearest place their side holds that no enemy
    occupies or threatens within a day, toward their faction's rear if there is one, and that is worth a stand
    (value at least ``hold_value``) or a day's travel or more away (the first, by travel days, on a tie; see
    :func:`_retreats`)."""
    u, w = state.units, state.world
    rows = np.asarray(rows, dtype=np.int64)
    coal = state.sides.coalition_of[u.faction[rows]]
    gone, where = [], []
    for c in distinct(coal):
        sel = rows[coal == c]
        dest = np.empty(sel.size, dtype=np.int64)
        threat = threat_to(state, c)
        linked = linked_to_rear(state, c, (state.holder == c) & (threat == 0))
        _retreats(sel, c, state.holder, threat, state.routes.rows(c), u.packed, w.packed_roads,
                  state.sides.rear, linked, w.value < hold_value, dest)
        gone.append(sel[dest >= 0])
        where.append(dest[dest >= 0])
    moved = np.concatenate(gone)
    return Withdrawals(moved, u.faction[moved], u.loc[moved], u.personnel[moved], np.concatenate(where))


def linked_to_rear(state: State, coalition: int, allowed: np.ndarray) -> np.ndarray:
    """(places,) bool: the ``allowed`` places joined by open roads through ``allowed`` places only to the rear of
    a faction of ``coalition`` (the most valuable place the coalition held at the start; the rear itself counts
    if allowed): the rear's connected components (:meth:`simulation.world.World.components`). A place behind a
    threatened one (the Baiji refinery behind Baiji town) is not linked: it is safe only until the threatened
    place falls, then it is cut off."""
    sides = state.sides
    rears = sides.rear[(sides.coalition_of == coalition) & (sides.rear >= 0)]
    labels = state.world.components(allowed)
    reached = labels[rears]
    return np.isin(labels, reached[reached >= 0])


def threat_to(state: State, coalition: int) -> np.ndarray:
    """The hostile effective strength that could reach each place within a day, by roads that do not pass
    through places held by the hostile units' own enemies (kept until presence changes, see
    :class:`simulation.rules.state.Estimates`: the strengths as they stood when the threat was first asked for,
    here or by :func:`threatened`)."""
    threat = state.estimates.threat
    hit = threat.get(coalition)
    if hit is None:
        hit = _threat_terms(state, coalition)
    if isinstance(hit, tuple):
        # The product is taken over every unit's row, as BLAS sums it (the rows of units of one faction at one
        # place are the same row of ``reach``).
        effective, row, reach = hit
        hit = threat[coalition] = np.zeros(state.world.n) if effective.size == 0 else \
            _strength_over(state, effective, row, reach)
    return hit


def threatened(state: State, coalition: int) -> np.ndarray:
    """Whether any hostile strength could reach each place within a day: ``threat_to(state, coalition) > 0``, for
    a caller that needs no more. The strengths are not negative, so the threat (their sum) is positive exactly
    where a positive strength reaches: that is worked out from the units' distinct rows of reach, without
    the units x places product. The terms are kept as the threat would be (until presence changes): a later
    :func:`threat_to` takes its product over them, the strengths as they stood now, as it would have if asked
    now."""
    threat = state.estimates.threat
    hit = threat.get(coalition)
    if hit is None:
        hit = threat[coalition] = _threat_terms(state, coalition)
    if not isinstance(hit, tuple):
        return hit > 0
    effective, row, reach = hit
    if (effective < 0).any():  # (not a strength: the sign of the sum is the product's to say)
        return threat_to(state, coalition) > 0
    strong = np.zeros(reach.shape[0], dtype=bool)
    strong[row[effective > 0]] = True
    return _reached(reach, strong)


def _strength_over(state: State, strength: np.ndarray, row: np.ndarray, reach: np.ndarray) -> np.ndarray:
    """``strength @ reach[row]``: the units' strengths over the places their rows of ``reach`` (distinct rows)
    reach. Up to the size threshold (``World.dense``) the product is taken over every unit's copy of its row, as
    BLAS sums it (the numbers the golden runs hold); above it the strengths are summed by distinct row first and
    the product taken over the distinct rows: the same sums in another order (the last bits may differ), without
    a units x places copy (performance only: issue 21)."""
    if state.world.dense:
        return strength @ reach[row]
    by_row = np.bincount(row, weights=strength, minlength=reach.shape[0])
    if reach.dtype != np.bool_:
        return by_row @ reach
    return _product_by_columns(by_row, reach)


#: Above the size threshold (``World.dense`` false), keep the commands' reach as booleans and its discount as lists
#: by row (:class:`SparseDecay`): the same orders as the (rows, n) float64 arrays, in about a tenth of their memory
#: at 10,000 places (issue 21). False: those arrays, as up to the threshold (for the tests).
REACH_AS_LISTS = True

#: ... and only where the (places, places) float64 array would take more than this many bytes (the lists cost
#: time: about 3 s of the 1,000-place year's 35 s, whose arrays take 8 MB; 800 MB at 10,000 places).
REACH_LISTS_ABOVE_BYTES = 64 * 2**20

#: Bytes of the float64 copy of a block of columns of a boolean reach that :func:`_product_by_columns` multiplies at
#: a time.
PRODUCT_BLOCK_BYTES = 32 * 2**20


def _product_by_columns(v: np.ndarray, reach: np.ndarray) -> np.ndarray:
    """``v @ reach.astype(float)`` for a boolean ``reach`` (rows x places), a block of columns at a time: no
    float64 copy of the whole of it. Each place's sum is BLAS's over the same rows in the same order, so the
    result is the whole product's bit for bit when BLAS runs on one thread (as the benchmarks and the sweeps'
    workers run it; on several threads BLAS's own result depends on where it splits the places between them)."""
    d, n = reach.shape
    width = max(64, PRODUCT_BLOCK_BYTES // (8 * max(d, 1)))
    out = np.empty(n)
    for a in range(0, n, width):
        out[a:a + width] = v @ reach[:, a:a + width].astype(np.float64)
    return out


def _threat_terms(state: State, coalition: int | None = None,
                  coalitions: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(effective, row, reach)`` of :func:`_within_a_day` for the units threatening ``coalition`` now (or, given
    a mask of ``coalitions``, for their units)."""
    mask = state.sides.hostile[coalition] if coalitions is None else coalitions
    # units split off today are not counted until tomorrow (presence.here)
    return _within_a_day(state.units.packed, state.presence.here, state.packed_sides, mask, state.routes.rows_all(),
                         (state.offensive_in, state.world.governorate_of, state.offensive_at))


def _threat_of(state: State, coalitions: np.ndarray) -> np.ndarray:
    """The effective strength of the ``coalitions`` (a mask) that could reach each place within a day (see
    :func:`threat_to`), not kept."""
    effective, row, reach = _threat_terms(state, coalitions=coalitions)
    return np.zeros(state.world.n) if effective.size == 0 else _strength_over(state, effective, row, reach)


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
    if state.hostile_count[coalition] < 8:  # NumPy sums fewer than 8 terms in order, as the loop does
        out = np.empty(state.world.n)
        _defence(effective, hostile, state.holder, params["defender_advantage"], fortification, out)
        return out
    eff = effective[:, hostile]
    holds = state.sides.coalition_of[state.controller][:, None] == np.flatnonzero(hostile)[None, :]
    mult = np.where(holds, params["defender_advantage"] * fortification[:, None], 1.0)
    return (eff * mult).sum(axis=1)


def _command(state: State, faction: int, only_active: bool, garrisons: bool = True) -> tuple:
    """``(faction, battle, only_active, active, garrisons)`` for :func:`_free_units`: the places where a battle is,
    whether only the units standing where the faction's offensive has begun are free, where it has
    (:func:`simulation.rules.insurgency.offensive_fronts`), and whether garrisons left behind are free."""
    return (faction, state.presence.battle, only_active, state.offensive_at[faction], garrisons)


def _front(state: State, faction: int, coalition: int) -> tuple:
    """``(side, hostile, holder, initial_holder, active)`` for the kernels: the faction's coalition, the
    coalitions hostile to it, the coalition holding each place now and at the start, and the governorates where
    the faction's offensive has begun."""
    return (coalition, state.sides.hostile[coalition], state.holder, state.initial_holder,
            state.offensive_in[faction])


def _free_and_reach(state: State, faction: int, params: dict[str, float], only_active: bool,
                    tribal: bool, garrisons: bool = True) -> tuple[np.ndarray, ...]:
    """The free units of ``faction`` (see the module's docstring; with ``only_active``, those in governorates
    where its offensive has begun), their places, and what :func:`_reach_of` gives for them."""
    u = state.units
    days = state.routes.rows(state.sides.coalition_of[faction])
    rows, loc = np.empty(u.n, dtype=np.int64), np.empty(u.n, dtype=np.int64)
    m = _free_of(u.packed, u.n, _command(state, faction, only_active, garrisons), (rows, loc))
    rows, loc = rows[:m], loc[:m]
    reach, eff = _reach_rows(state, faction, rows, loc, days, params, tribal)
    return rows, loc, reach, eff, days


def _reach_of(state: State, faction: int, rows: np.ndarray, loc: np.ndarray, params: dict[str, float],
              tribal: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For the units ``rows`` at ``loc``, on their coalition's routes at their faction's mobility: whether each
    place is within ``reach_days`` (1.0 or 0.0; for ``tribal`` units, only places within
    ``tribal_home_radius_km`` of their home), the discount of a target's score by the travel days there
    (``exp(-days / reach_days)``), each unit's effective strength, and the coalition's travel days between
    places (before the faction's mobility)."""
    days = state.routes.rows(state.sides.coalition_of[faction])
    reach, eff = _reach_rows(state, faction, rows, loc, days, params, tribal)
    return reach, eff, days


def _reach_rows(state: State, faction: int, rows: np.ndarray, loc: np.ndarray, days: RouteRows,
                params: dict[str, float], tribal: bool) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """:func:`_reach` for the units ``rows`` at ``loc``: ``((in_reach, decay, row), effective)``, the reach by
    distinct row (one per place, or per place and home for ``tribal`` units) and each unit's row of it."""
    row = np.empty(rows.size, dtype=np.int64)
    eff = np.empty(rows.size)
    least = min(-1.0, -(1.0 / params["reach_days"]))
    n = state.world.n
    if not state.world.dense and REACH_AS_LISTS and n * n * 8 > REACH_LISTS_ABOVE_BYTES:
        # a large theatre: the reach as booleans, the discount as lists
        in_reach, start, place, near = _reach_lists(rows, loc, state.units.packed, days,
                                                    float(state.sides.mobility[faction]), state.world.distance_km,
                                                    (params["reach_days"], params["tribal_home_radius_km"], tribal,
                                                     least), (row, eff))
        np.exp(near, out=near)  # NumPy's exponential, as below (element by element)
        return (in_reach, SparseDecay(start, place, near), row), eff
    in_reach, decay = _reach(rows, loc, state.units.packed, days, float(state.sides.mobility[faction]),
                             state.world.distance_km, (params["reach_days"], params["tribal_home_radius_km"], tribal),
                             (row, eff))
    # The exponential stays NumPy's (element by element, whatever the array's shape), taken only where the orders
    # may read it (in reach, or within a day for the occupations: -t / reach_days >= -1 or -1 / reach_days); 0
    # elsewhere.
    near, at = _read_part(decay, least)
    decay.reshape(-1)[at] = np.exp(near)
    return (in_reach, decay, row), eff


class SparseDecay(NamedTuple):
    """The discount of a target's score by the travel days there (``exp(-days / reach_days)``, see :func:`_reach`)
    for a large theatre: by distinct row of the reach, only where it is not 0 (the places within ``reach_days``,
    or a day), as lists. Row ``j``'s places (increasing) and discounts are ``place[start[j]:start[j + 1]]`` and
    ``value[...]``; elsewhere the discount is 0, as in the (rows, n) array of a small theatre. Read through
    :func:`decay_row`, :func:`decay_at` and :func:`decay_rows`, which take either form."""

    start: np.ndarray  #: (rows + 1,) int64
    place: np.ndarray  #: int32
    value: np.ndarray  #: float64


Decay = "np.ndarray | SparseDecay"


def decay_rows(decay: Decay) -> int:
    """How many rows the discount has."""
    return decay.start.size - 1 if isinstance(decay, SparseDecay) else decay.shape[0]


def decay_row(decay: Decay, j: int, scratch: np.ndarray) -> np.ndarray:
    """Row ``j`` of the discount, by place: the array's own row, or for :class:`SparseDecay` its entries written
    into ``scratch`` (n zeros; give it back with :func:`decay_done` before the next row)."""
    if isinstance(decay, SparseDecay):
        a, b = decay.start[j], decay.start[j + 1]
        scratch[decay.place[a:b]] = decay.value[a:b]
        return scratch
    return decay[j]


def decay_done(decay: Decay, j: int, scratch: np.ndarray) -> None:
    """Zero again what :func:`decay_row` wrote into ``scratch`` for row ``j``."""
    if isinstance(decay, SparseDecay):
        scratch[decay.place[decay.start[j]:decay.start[j + 1]]] = 0.0


def decay_at(decay: Decay, j: int, q: int) -> float:
    """The discount of row ``j`` at place ``q``."""
    if isinstance(decay, SparseDecay):
        a, b = decay.start[j], decay.start[j + 1]
        i = a + np.searchsorted(decay.place[a:b], q)
        return float(decay.value[i]) if i < b and decay.place[i] == q else 0.0
    return decay[j, q]


def _sparse(decay: types.Type) -> bool:
    return isinstance(decay, types.BaseNamedTuple)


@overload(decay_rows)
def _decay_rows_of(decay):  # noqa: ANN001, ANN202 (numba compares the names with the implementation)
    if _sparse(decay):
        return lambda decay: decay.start.size - 1
    return lambda decay: decay.shape[0]


@overload(decay_row)
def _decay_row_of(decay, j, scratch):  # noqa: ANN001, ANN202
    if _sparse(decay):
        def impl(decay, j, scratch):  # noqa: ANN001, ANN202
            for i in range(decay.start[j], decay.start[j + 1]):
                scratch[decay.place[i]] = decay.value[i]
            return scratch
        return impl
    return lambda decay, j, scratch: decay[j]


@overload(decay_done)
def _decay_done_of(decay, j, scratch):  # noqa: ANN001, ANN202
    if _sparse(decay):
        def impl(decay, j, scratch):  # noqa: ANN001, ANN202
            for i in range(decay.start[j], decay.start[j + 1]):
                scratch[decay.place[i]] = 0.0
        return impl
    return lambda decay, j, scratch: None


@overload(decay_at)
def _decay_at_of(decay, j, q):  # noqa: ANN001, ANN202
    if _sparse(decay):
        def impl(decay, j, q):  # noqa: ANN001, ANN202
            a, b = decay.start[j], decay.start[j + 1]
            while a < b:  # the first entry of place q or more
                mid = (a + b) // 2
                if decay.place[mid] < q:
                    a = mid + 1
                else:
                    b = mid
            return decay.value[a] if a < decay.start[j + 1] and decay.place[a] == q else 0.0
        return impl
    return lambda decay, j, q: decay[j, q]


# ---------------------------------------------------------------------------------------------------------
# Compiled helpers: NumPy's arithmetic, operation for operation and in the same order (no fastmath).


@njit(cache=True)
def _free_units(u: Units, n: int, faction: int, battle: np.ndarray, only_active: bool, active: np.ndarray,
                garrisons: bool, rows: np.ndarray, rows_loc: np.ndarray) -> int:
    """The units of ``faction`` (among rows ``0..n-1``) a command may give orders to today: alive, at a place,
    not routing, not hidden, and not where a ``battle`` is; each one's objective becomes where it is. Of those,
    into ``rows`` and ``rows_loc``: all of them or, if ``only_active``, those at places where ``active``; without
    ``garrisons``, not the units that stayed behind as the garrison of where they are (``garrison_at``).
    Returns how many. (Called by the compiled entries below, with ``u`` named.)"""
    k = 0
    for r in range(n):
        if u.faction[r] != faction or not u.alive[r] or u.next[r] >= 0 or u.routing[r] or u.hidden[r]:
            continue
        here = u.loc[r]
        if battle[here]:
            continue
        u.target[r] = here
        if only_active and not active[here]:
            continue
        if not garrisons and u.garrison_at[r] == here:
            continue
        rows[k] = r
        rows_loc[k] = here
        k += 1
    return k


@njit(cache=True)
def _free_of(units: Units, n: int, command: tuple, out: tuple) -> int:
    """:func:`_free_units` (``command``: ``(faction, battle, only_active, active)``) into ``out``,
    ``(rows, loc)``. Returns how many."""
    faction, battle, only_active, active, garrisons = command
    return _free_units(unit_columns(units), n, faction, battle, only_active, active, garrisons, out[0], out[1])


@njit(cache=True)
def _free_and_needing(units: Units, n: int, command: tuple, needs_in: tuple, places: Places, params: tuple,
                      out: tuple) -> tuple[int, int]:
    """:func:`_free_units` (``command``: see :func:`_command`) into ``out[0]``, ``out[1]``, then :func:`_needs` for
    them (``needs_in``: ``(own_effective, threat, holder, side, stand)``; ``out[2:]``:
    ``(leaving, own_def, need, hopeless)``). Returns (how many free units, how many of them stay)."""
    u = unit_columns(units)
    faction, battle, only_active, active, garrisons = command
    own_effective, threat, holder, side, stand = needs_in
    rows, loc, leaving, own_def, need, hopeless = out
    m = _free_units(u, n, faction, battle, only_active, active, garrisons, rows, loc)
    if m == 0:
        return 0, 0
    k = _needs(own_effective, threat, holder, side, stand, places, params, (rows[:m], loc[:m], leaving),
               (own_def, need, hopeless))
    return m, k


@njit(cache=True)
def _free_and_vacant(units: Units, n: int, command: tuple, holder: np.ndarray, neutral: np.ndarray,
                     present_personnel: np.ndarray, was_garrisoned: np.ndarray, out: tuple) -> int:
    """:func:`_free_units` (``command``: see :func:`_command`) into ``out[0]``, ``out[1]``, then
    :func:`_vacuum_candidates` into ``out[2]``, ``out[3]``. Returns how many free units, or ``-1 - that``
    if there is no candidate."""
    u = unit_columns(units)
    faction, battle, only_active, active, garrisons = command
    rows, loc, candidate, holders = out
    m = _free_units(u, n, faction, battle, only_active, active, garrisons, rows, loc)
    if m == 0:
        return 0
    if not _vacuum_candidates(holder, neutral, present_personnel, was_garrisoned, candidate, holders):
        return -1 - m
    return m


@njit(cache=True)
def _distinct_rows(u: Units, rows: np.ndarray, loc: np.ndarray, n: int, tribal: bool,
                   out: tuple) -> tuple[np.ndarray, int]:
    """For :func:`_reach` and :func:`_reach_lists`: each unit's row (one per distinct place, and home for ``tribal``
    units, in the order the units first have it) and effective strength into ``out`` (``(row, effective)``);
    returns the first unit of each row and how many rows."""
    row, effective = out
    first = Dict.empty(key_type=types.int64, value_type=types.int64)  # place (and home) -> row
    of_unit = np.empty(rows.size, dtype=np.int64)  # the first unit of each row
    d = 0
    for i in range(rows.size):
        r = rows[i]
        effective[i] = u.personnel[r] * u.quality[r] * u.morale[r]
        key = np.int64(loc[i]) * n + (np.int64(u.home[r]) if tribal else 0)
        j = first.get(key, -1)
        if j < 0:
            j = d
            first[key] = d
            of_unit[d] = i
            d += 1
        row[i] = j
    return of_unit, d


@njit(cache=True)
def _reach_lists(rows: np.ndarray, loc: np.ndarray, units: Units, days: RouteRows, mobility: float,
                 distance_km: np.ndarray, params: tuple, out: tuple) -> tuple[np.ndarray, ...]:
    """:func:`_reach` for a large theatre (``params``: ``(reach_days, home_radius_km, tribal, least)``): the same
    rows, ``in_reach`` as booleans (d, n), and of ``-travel days / reach_days`` only the entries of ``least`` or
    more (those :func:`_read_part` keeps, in the same order), as lists by row: ``(in_reach, start, place,
    minus_days)``, row ``j``'s entries at ``start[j]:start[j + 1]``, places increasing. About 1 + 16 * (share
    kept) bytes a pair of row and place instead of 16."""
    u = unit_columns(units)
    reach_days, home_radius_km, tribal, least = params
    n = distance_km.shape[1]
    of_unit, d = _distinct_rows(u, rows, loc, n, tribal, out)
    in_reach = np.empty((d, n), dtype=np.bool_)
    start = np.empty(d + 1, dtype=np.int64)
    size = max(1024, d * 64)
    place, minus = np.empty(size, dtype=np.int32), np.empty(size)
    k = 0
    for j in range(d):
        start[j] = k
        i = of_unit[j]
        home = u.home[rows[i]]
        dd = forward_row(days, loc[i], _bound(reach_days * mobility))
        for q in range(n):
            ok, t = _within_reach(dd[q] / mobility, reach_days, tribal and not distance_km[home, q] <= home_radius_km)
            in_reach[j, q] = ok
            x = -t / reach_days
            if x >= least:
                if k == size:  # grow the lists
                    size *= 2
                    place2, minus2 = np.empty(size, dtype=np.int32), np.empty(size)
                    place2[:k] = place[:k]
                    minus2[:k] = minus[:k]
                    place, minus = place2, minus2
                place[k] = q
                minus[k] = x
                k += 1
    start[d] = k
    return in_reach, start, place[:k].copy(), minus[:k].copy()


@njit(cache=True)
def _within_reach(t: float, reach_days: float, beyond_home: bool) -> tuple[bool, float]:
    """Whether a place ``t`` travel days away is within the reach (``t <= reach_days``, and for a tribal unit not
    ``beyond_home``, farther than its home radius), and ``t``."""
    return t <= reach_days and not beyond_home, t


@njit(cache=True)
def _reach(rows: np.ndarray, loc: np.ndarray, units: Units, days: RouteRows, mobility: float,
           distance_km: np.ndarray, params: tuple, out: tuple) -> tuple[np.ndarray, np.ndarray]:
    """For the units ``rows`` at ``loc`` (``params``: ``(reach_days, home_radius_km, tribal)``): whether each
    place is within ``reach_days`` of travel (``days / mobility``; for ``tribal`` units, also within
    ``home_radius_km`` of the unit's home), 1.0 or 0.0, and ``-travel days / reach_days`` (whose exponential
    discounts a target's score), returned as ``(in_reach, minus_days)``, one row per distinct place (and home,
    for tribal units) in the order the units first have it; into ``out`` (``(row, effective)``) each unit's row
    of those and its effective strength. ``distance_km``: road km between places, for the home radius."""
    u = unit_columns(units)
    reach_days, home_radius_km, tribal = params
    n = distance_km.shape[1]
    of_unit, d = _distinct_rows(u, rows, loc, n, tribal, out)
    in_reach, minus_days = np.empty((d, n)), np.empty((d, n))
    for j in range(d):
        i = of_unit[j]
        home = u.home[rows[i]]
        dd = forward_row(days, loc[i], _bound(reach_days * mobility))
        for q in range(n):
            ok, t = _within_reach(dd[q] / mobility, reach_days, tribal and not distance_km[home, q] <= home_radius_km)
            in_reach[j, q] = 1.0 if ok else 0.0
            minus_days[j, q] = -t / reach_days
    return in_reach, minus_days


@njit(cache=True)
def _read_part(minus_days: np.ndarray, least: float) -> tuple[np.ndarray, np.ndarray]:
    """The entries of ``minus_days`` (rows by places) of ``least`` or more, and their flat positions, in order;
    ``minus_days`` is set to 0 everywhere (the caller puts the exponential of these back)."""
    flat = minus_days.reshape(-1)
    k = 0
    for i in range(flat.size):
        k += flat[i] >= least
    near, at = np.empty(k), np.empty(k, dtype=np.int64)
    k = 0
    for i in range(flat.size):
        x = flat[i]
        flat[i] = 0.0
        if x >= least:
            near[k] = x
            at[k] = i
            k += 1
    return near, at


@njit(cache=True)
def _best_targets(loc: np.ndarray, value: np.ndarray, scores: tuple, reach: tuple, out: tuple) -> None:
    """Each unit's best target (``out[0]``) and whether it has one worth going to (``out[1]``, a positive
    score).

    ``scores`` is ``(safe, reinforce, other, strike_from)`` by place: places a unit may leave to reinforce
    another; the score of reinforcing each place (0 where it needs none; a unit reinforces only a place worth at
    least as much as where it stands, ``value``, and only from a ``safe`` place); the score of each place as any
    other target (an attack, a counter-attack; 0 where none); places a unit may leave for such a target.
    ``reach`` is ``(in_reach, decay, row)``: ``row[r]`` is unit ``r``'s row of ``in_reach`` and ``decay``
    (rows, n), shared by units at one place (see :func:`_reach`).

    A unit's score for place ``q`` is ``max(reinforce score, other score) * decay`` where in reach, else 0; its
    best target is the first place of the highest score (``argmax``): the same for every unit of a row.
    """
    safe, reinforce, other, strike_from = scores
    in_reach, decay, row = reach
    best, go = out
    n = in_reach.shape[1]
    done = np.full(in_reach.shape[0], -1, dtype=np.int64)  # the first unit of each row worked out
    scratch = np.zeros(n)
    for r in range(row.size):
        j = row[r]
        if done[j] >= 0:
            best[r], go[r] = best[done[j]], go[done[j]]
            continue
        done[j] = r
        here = loc[r]
        can_reinforce = safe[here]
        can_strike = strike_from[here]
        top = -1.0
        arg = 0
        dj = decay_row(decay, j, scratch)
        for q in range(n):
            s = 0.0
            if in_reach[j, q]:
                a = reinforce[q] if can_reinforce and value[q] >= value[here] else 0.0
                b = other[q] if can_strike else 0.0
                s = (a if a >= b else b) * dj[q]
            if s > top:
                top = s
                arg = q
        decay_done(decay, j, scratch)
        best[r] = arg
        go[r] = top > 0


@njit(cache=True)
def _needs(own_effective: np.ndarray, threat: np.ndarray, holder: np.ndarray, side: int, stand: np.ndarray,
           places: Places, params: tuple, free: tuple, out: tuple) -> int:
    """For a government or tribal command of coalition ``side`` (``params``: ``(defender_advantage,
    withdraw_ratio, hold_value, government)``; ``out``: ``(own_def, need, hopeless)``): its defence of each
    place (its effective strength there with the defenders' advantage), what each place it holds (``holder``:
    the coalition holding each) needs against the ``threat`` (0 elsewhere) and, for the government, the places
    not worth a stand (value below ``hold_value`` and not ``stand``) that the enemy (helped by a sympathetic
    population) clearly outweighs.

    ``free`` is ``(rows, loc, leaving)``: of the units ``rows`` at ``loc``, those at such places go into
    ``leaving``, in order, and the others stay at the front of ``rows`` and ``loc``, in order. Returns how many
    stay."""
    pl = Places(*places)
    defender_advantage, withdraw_ratio, hold_value, government = params
    own_def, need, hopeless = out
    rows, loc, leaving = free
    for q in range(pl.value.size):
        own_held = holder[q] == side
        own_def[q] = own_effective[q] * defender_advantage * pl.fortification[q]
        need[q] = threat[q] - own_def[q] if own_held else 0.0
        hopeless[q] = government and own_held and threat[q] * (0.5 + pl.sympathy[q]) > withdraw_ratio * own_def[q] \
            and pl.value[q] < hold_value and not stand[q]
    if not government:
        return rows.size
    k = 0
    j = 0
    for i in range(rows.size):
        if hopeless[loc[i]]:
            leaving[j] = rows[i]
            j += 1
        else:
            rows[k] = rows[i]
            loc[k] = loc[i]
            k += 1
    return k


@njit(cache=True)
def _targets_of(front: tuple, governorate: np.ndarray, lost_only: bool) -> np.ndarray:
    """Places held by coalitions hostile to the ``front``'s side (see :func:`_front`) in governorates where its
    offensive is active; if ``lost_only``, only those the side held at the start."""
    side, hostile, holder, initial_holder, active = front
    n = holder.size
    out = np.empty(n, dtype=np.bool_)
    for q in range(n):
        out[q] = hostile[holder[q]] and active[governorate[q]] and (not lost_only or initial_holder[q] == side)
    return out


@njit(cache=True)
def _hold_orders(free: tuple, units: Units, front: tuple, places: Places, assessment: tuple, reach: tuple,
                 params: tuple, out: tuple) -> int:
    """The orders of a government or tribal command to its units (``free``: ``(rows, loc)``).

    ``assessment`` is ``(own_def, need, hopeless, potential, defence)`` by place; ``reach`` is ``(in_reach, decay,
    row, days, mobility)`` (see :func:`_best_targets`); ``params`` is ``(counterattack_ratio, defender_advantage,
    garrison_share)``; ``out`` is ``(send_rows, send_to, at_most)``. A unit leaves a place its side holds (for
    any target) only if its ``garrison_share`` of the defence would still match the threat there (the need plus
    the defence), and may leave any other place. Each unit's target: reinforce places in ``need`` (not
    ``hopeless``) by ``value * need / (need + own_def)``, or counter-attack places the side held at the start and
    has lost (see :func:`_targets_of`) where the ``potential`` is ``counterattack_ratio`` times the ``defence``, by
    ``value * potential / (potential + defence)`` (see :func:`_best_targets`). For those that go, the most people to
    send: 1.5 times what a threatened place needs in defenders of the unit's strength per person (``quality *
    morale``, at least 1e-6, with the defenders' advantage), or for a counter-attack 1.2 times
    ``counterattack_ratio`` times the defence (at least 1) in the unit's strength per person, rounded up. The units
    that go, nearest first (by travel days, ``days / mobility``; a stable sort). Returns how many."""
    u, pl = unit_columns(units), Places(*places)
    rows, loc = free
    own_def, need, hopeless, potential, defence = assessment
    in_reach, decay, row, days, mobility = reach
    counterattack_ratio, defender_advantage, garrison_share = params
    send_rows, send_to, at_most = out
    value = pl.value
    side, holder = front[0], front[2]
    m, n = rows.size, value.size
    lost = _targets_of(front, pl.governorate, True)
    safe = np.empty(n, dtype=np.bool_)
    reinforce = np.empty(n)
    counter = np.empty(n)
    for q in range(n):
        # A garrison is stripped (to its garrison share) only if what stays could still hold the place against
        # the threat to it, the need plus the defence: Tal Afar's, with Mosul's captors a day away, stays.
        safe[q] = holder[q] != side or need[q] + own_def[q] <= garrison_share * own_def[q]
        reinforce[q] = value[q] * need[q] / (need[q] + own_def[q] + 1e-9) if need[q] > 0 and not hopeless[q] \
            else 0.0
        counter[q] = value[q] * potential[q] / (potential[q] + defence[q] + 1e-9) \
            if lost[q] and potential[q] >= counterattack_ratio * defence[q] else 0.0
    best = np.empty(m, dtype=np.int64)
    go = np.empty(m, dtype=np.bool_)
    _best_targets(loc, value, (safe, reinforce, counter, safe), (in_reach, decay, row), (best, go))
    key = np.empty(m)
    k = 0
    for i in range(m):
        if not go[i]:
            continue
        q = best[i]
        r = rows[i]
        per_person = max(u.quality[r] * u.morale[r], 1e-6)
        if need[q] > 0:
            wanted = 1.5 * need[q] / (per_person * defender_advantage * pl.fortification[q])
        else:
            wanted = 1.2 * counterattack_ratio * max(defence[q], 1.0) / per_person
        t = known_days(days, loc[i], q) / mobility
        j = k  # insert after every unit no farther away: a stable sort
        while j > 0 and key[j - 1] > t:
            key[j], send_rows[j], send_to[j], at_most[j] = key[j - 1], send_rows[j - 1], send_to[j - 1], at_most[j - 1]
            j -= 1
        key[j], send_rows[j], send_to[j], at_most[j] = t, r, q, np.ceil(wanted)
        k += 1
    return k


@njit(cache=True)
def _attack_orders(free: tuple, front: tuple, places: Places, odds: tuple, attack_ratio: float, reach: tuple,
                   out: tuple) -> int:
    """The units an insurgent command sends (``free``: ``(rows, loc)``) into ``out`` (``(send_rows,
    send_to)``), with their targets: places held by coalitions hostile to its side in governorates where its
    offensive is active (see :func:`_targets_of`) where the potential is at least ``attack_ratio`` times the
    defence (``odds``: ``(potential, defence)``), scored by their appeal, ``value * (0.5 + sympathy) *
    potential / (potential + attack_ratio * defence)``; each unit goes to its best target (see
    :func:`_best_targets`; ``reach``: ``(in_reach, decay, row)``), if it has one. Returns how many."""
    pl = Places(*places)
    rows, loc = free
    potential, defence = odds
    value = pl.value
    appeal = _attack_appeal(_targets_of(front, pl.governorate, False), pl, potential, defence, attack_ratio)
    return _send_to_best(rows, loc, value, appeal, reach, out, np.full(rows.size, -1, dtype=np.int64))


@njit(cache=True)
def _attack_appeal(enemy_held: np.ndarray, pl: Places, potential: np.ndarray, defence: np.ndarray,
                   attack_ratio: float) -> np.ndarray:
    """The appeal of each place to an insurgent command: ``value * (0.5 + sympathy) * potential / (potential +
    attack_ratio * defence)`` where it is ``enemy_held`` and the potential is at least ``attack_ratio`` times the
    defence, else 0."""
    n = pl.value.size
    appeal = np.empty(n)
    for q in range(n):
        if enemy_held[q] and potential[q] >= attack_ratio * defence[q]:
            appeal[q] = pl.value[q] * (0.5 + pl.sympathy[q]) * potential[q] / (potential[q]
                                                                               + attack_ratio * defence[q] + 1e-9)
        else:
            appeal[q] = 0.0
    return appeal


@njit(cache=True)
def _main_effort_orders(free: tuple, front: tuple, places: Places, odds: tuple, ratios: tuple, reach: tuple,
                        out: tuple) -> int:
    """An insurgent command's attacks as a main effort (``free``: ``(rows, loc, effective strength)``; ``odds``:
    ``(potential, defence, own strength present)``; ``ratios``: ``(attack_ratio, main_effort)``): the targets of
    :func:`_attack_orders`, taken in order of appeal (the first place of equal appeal first); for each, the free
    units not yet sent that reach it, nearest first (the larger ``decay``; the earlier unit among equals), are sent
    until the strength there (its own present and those sent) is at least ``main_effort * attack_ratio *
    defence`` (or all of them are sent), if the units left that reach it bring at least ``attack_ratio *
    defence`` (else the target is passed over: its potential went to targets of more appeal). The units left
    then go to their best target among those chosen (see :func:`_best_targets`), or stay. Returns how many go
    (``out``: ``(send_rows, send_to)``)."""
    pl = Places(*places)
    rows, loc, eff = free
    potential, defence, present = odds
    attack_ratio, effort = ratios
    in_reach, decay, row = reach
    value = pl.value
    n, m = value.size, rows.size
    send_rows, send_to = out
    appeal = _attack_appeal(_targets_of(front, pl.governorate, False), pl, potential, defence, attack_ratio)
    target = np.full(m, -1, dtype=np.int64)
    chosen = np.zeros(n)
    order = np.argsort(-appeal, kind="mergesort")
    cand = np.empty(m, dtype=np.int64)  # the units not yet sent that reach a target, and how far each is
    near = np.empty(m)
    for q in order:
        if appeal[q] <= 0.0:
            break
        need = effort * attack_ratio * defence[q]
        c = 0
        left = present[q]
        for i in range(m):
            if target[i] < 0 and in_reach[row[i], q]:
                cand[c] = i
                c += 1
                left += eff[i]
        if c == 0 or left < attack_ratio * defence[q]:
            continue
        for a in range(c):
            near[a] = -decay_at(decay, row[cand[a]], q)
        got = present[q]
        for a in np.argsort(near[:c], kind="mergesort"):
            i = cand[a]
            target[i] = q
            got += eff[i]
            if got >= need:
                break
        chosen[q] = appeal[q]
    return _send_to_best(rows, loc, value, chosen, reach, out, target)


@njit(cache=True)
def _claim_attack_orders(free: tuple, front: tuple, places: Places, odds: tuple, ratio: float, reach: tuple,
                         out: tuple) -> int:
    """An opportunist command's attacks (``free``: ``(rows, loc)``; ``out``: ``(send_rows, send_to)``): places
    held by coalitions hostile to its side (see :func:`_targets_of`) and ``allowed`` (``odds``: ``(potential,
    defence, allowed)``) where the potential is at least ``ratio`` times the defence, scored by ``value * (1.5 -
    sympathy) * potential / (potential + ratio * defence)`` (a population that fears the insurgents welcomes
    them); each unit goes to its best target (see :func:`_best_targets`), if it has one. Returns how many."""
    pl = Places(*places)
    rows, loc = free
    potential, defence, allowed = odds
    value = pl.value
    n = value.size
    enemy_held = _targets_of(front, pl.governorate, False)
    appeal = np.empty(n)
    for q in range(n):
        if enemy_held[q] and allowed[q] and potential[q] >= ratio * defence[q]:
            appeal[q] = value[q] * (1.5 - pl.sympathy[q]) * potential[q] / (potential[q] + ratio * defence[q] + 1e-9)
        else:
            appeal[q] = 0.0
    return _send_to_best(rows, loc, value, appeal, reach, out, np.full(rows.size, -1, dtype=np.int64))


@njit(cache=True)
def _send_to_best(rows: np.ndarray, loc: np.ndarray, value: np.ndarray, appeal: np.ndarray, reach: tuple,
                  out: tuple, target: np.ndarray) -> int:
    """Each free unit (``rows`` at ``loc``) goes to its ``target`` if one was set for it (0 or more), else to its
    best target by ``appeal`` (see :func:`_best_targets`), if it has one; ``out`` is ``(send_rows, send_to)``.
    Returns how many go."""
    n, m = value.size, rows.size
    send_rows, send_to = out
    best = np.empty(m, dtype=np.int64)
    go = np.empty(m, dtype=np.bool_)
    _best_targets(loc, value, (np.zeros(n, dtype=np.bool_), np.zeros(n), appeal, np.ones(n, dtype=np.bool_)), reach,
                  (best, go))
    k = 0
    for i in range(m):
        q = target[i] if target[i] >= 0 else (best[i] if go[i] else -1)
        if q >= 0:
            send_rows[k] = rows[i]
            send_to[k] = q
            k += 1
    return k


@njit(cache=True)
def _undefended(holder: np.ndarray, hostile: np.ndarray, present_personnel: np.ndarray, active: np.ndarray,
                governorate: np.ndarray, targets: np.ndarray, empty: np.ndarray) -> bool:
    """For an insurgent command: the places (``empty``) held by a coalition ``hostile`` to its side where no
    such coalition has personnel present, in governorates where its offensive is ``active``, and not among
    today's attack ``targets``. Returns whether there is any."""
    found = False
    for q in range(holder.size):
        ok = hostile[holder[q]] and active[governorate[q]]
        if ok:
            for j in range(present_personnel.shape[1]):
                if hostile[j] and present_personnel[q, j] > 0:
                    ok = False
                    break
        empty[q] = ok
    for i in range(targets.size):
        empty[targets[i]] = False
    for q in range(holder.size):
        found |= empty[q]
    return found


@njit(cache=True)
def _vacuum_candidates(holder: np.ndarray, neutral: np.ndarray, present_personnel: np.ndarray,
                       was_garrisoned: np.ndarray, candidate: np.ndarray, holders: np.ndarray) -> bool:
    """For an opportunist command: the places (``candidate``) held by a coalition ``neutral`` to its own
    (``holder``: the coalition holding each), garrisoned by it earlier (``was_garrisoned``) and empty now (no
    one present: ``present_personnel``, place x coalition), and their holders (``holders``, one flag per
    coalition, set; the caller clears it). Returns whether there is any."""
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
def _vacuums(candidate: np.ndarray, holder: np.ndarray, threat: np.ndarray, side: int, distance_km: np.ndarray,
             radius_km: float, allowed: np.ndarray) -> bool:
    """Of the ``candidate`` places (see :func:`_vacuum_candidates`), in place, the vacuums: those within a day's
    reach of forces hostile to their holder (``threat[holder]`` positive there; the caller sets it where a
    garrison broke), within ``radius_km`` of a
    place held by the command's coalition ``side`` and ``allowed`` (claimed, if the faction claims places, and
    where enough of its kin live). Returns whether there is any."""
    n = holder.size
    found = False
    for q in range(n):
        if not candidate[q]:
            continue
        ok = threat[holder[q], q] > 0 and allowed[q]
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
def _vacuum_orders(free: tuple, vacuum: np.ndarray, value: np.ndarray, reach: tuple, out: tuple) -> int:
    """The detachments an opportunist command sends (``free``: ``(rows, loc)``; ``reach``: ``(in_reach, decay,
    row, days, mobility)``, see :func:`_best_targets`; ``out``: ``(send_rows, send_to)``): each unit scores the
    ``vacuum`` places in reach by ``(value + 0.1) * decay``; its best (the first of the highest score, if
    positive) is its target. Each vacuum gets one detachment, from the nearest unit that has it as its target
    (by travel days, ``days / mobility``; the first on a tie). Returns how many, nearest first."""
    rows, loc = free
    in_reach, decay, row, days, mobility = reach
    send_rows, send_to = out
    m, n = rows.size, value.size
    best = np.empty(m, dtype=np.int64)
    key = np.empty(m)
    order = np.empty(m, dtype=np.int64)
    done = np.full(in_reach.shape[0], -1, dtype=np.int64)  # the first unit of each row worked out
    arg_of = np.empty(m, dtype=np.int64)
    scratch = np.zeros(n)
    for i in range(m):
        j = row[i]
        if done[j] >= 0:
            arg = arg_of[done[j]]
            best[i] = best[done[j]]
        else:
            done[j] = i
            top = -1.0
            arg = 0
            dj = decay_row(decay, j, scratch)
            for q in range(n):
                s = (value[q] + 0.1) * dj[q] if in_reach[j, q] and vacuum[q] else 0.0
                if s > top:
                    top = s
                    arg = q
            decay_done(decay, j, scratch)
            best[i] = arg if top > 0 else -1
        arg_of[i] = arg
        t = known_days(days, loc[i], arg) / mobility if best[i] >= 0 else np.inf  # (the others are not sent)
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
def _reached(reach: np.ndarray, strong: np.ndarray) -> np.ndarray:
    """(n,) bool: the places some ``strong`` row of ``reach`` reaches (``(reach[strong] > 0).any(axis=0)``, without
    the copy of the rows)."""
    out = np.zeros(reach.shape[1], dtype=np.bool_)
    for j in range(reach.shape[0]):
        if strong[j]:
            for q in range(reach.shape[1]):
                out[q] |= reach[j, q] > 0
    return out


@njit(cache=True)
def _defence(effective: np.ndarray, hostile: np.ndarray, holder: np.ndarray, defender_advantage: float,
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
def _within_a_day(units: Units, here: np.ndarray, sides: Sides, hostile: np.ndarray,
                  routes: tuple[RouteRows, ...], offensive: tuple) -> tuple[np.ndarray, ...]:
    """The units that threaten a coalition (those ``here`` — present, not on the road — not routing, of a
    coalition ``hostile`` to it, and whose faction's offensive has begun where they stand),
    for :func:`threat_to`: ``(effective, row, reach)``, their effective strength in the order of their rows,
    each one's row of ``reach``, and ``reach``, one row per faction and place of such units (in the order the
    units first have it): 1.0 or 0.0, whether each place is within a day of travel of them by their own
    coalition's routes (``routes``: by coalition; days from, to, ``/ mobility <= 1``) in a governorate where their
    offensive has begun too (``offensive``: ``(offensive_in, governorate, offensive_at)``, faction x
    governorate, by place, and faction x place: where a unit standing takes part in its side's offensive, see
    :func:`simulation.rules.insurgency.offensive_fronts`). ``effective @ reach[row]`` is the threat at each
    place."""
    u, s = unit_columns(units), side_columns(sides)
    offensive_in, governorate, offensive_at = offensive
    n = governorate.size
    first = np.full((s.coalition_of.size, n), -1, dtype=np.int64)  # faction, place -> row of reach
    effective = np.empty(here.size)
    row = np.empty(here.size, dtype=np.int64)
    of_row = np.empty(here.size, dtype=np.int64)  # the first unit of each row of reach
    k = 0
    d = 0
    for r in range(here.size):
        if not here[r] or u.routing[r]:
            continue
        c = s.coalition_of[u.faction[r]]
        f = u.faction[r]
        if not hostile[c] or not offensive_at[f, u.loc[r]]:
            continue  # a unit whose offensive has not begun where it stands threatens nobody
        effective[k] = u.personnel[r] * u.quality[r] * u.morale[r]
        if first[f, u.loc[r]] < 0:
            first[f, u.loc[r]] = d
            of_row[d] = r
            d += 1
        row[k] = first[f, u.loc[r]]
        k += 1
    active = np.empty((s.coalition_of.size, n), dtype=np.bool_)  # faction x place: its offensive has begun there
    for f in range(s.coalition_of.size):
        for q in range(n):
            active[f, q] = offensive_in[f, governorate[q]]
    reach = np.empty((d, n))
    for j in range(d):
        r = of_row[j]
        f = u.faction[r]
        speed = s.mobility[f]
        days = forward_row(routes[s.coalition_of[f]], u.loc[r], _bound(speed))
        for q in range(n):
            reach[j, q] = 1.0 if (days[q] / speed <= 1.0) & active[f, q] else 0.0  # (no branch: vectorised)
    return effective[:k], row[:k], reach


@njit(cache=True)
def _retreats(rows: np.ndarray, side: int, holder: np.ndarray, threat: np.ndarray, routes: RouteRows, units: Units,
              roads: Roads, rear: np.ndarray, linked: np.ndarray, no_stand: np.ndarray, dest: np.ndarray) -> None:
    """Orderly withdrawals of the units ``rows`` of coalition ``side``: each one's destination (``dest``; -1 if
    none) is the nearest place by the coalition's travel days (``routes``: its routes by row; the first on a
    tie), other than its own, that the coalition holds (``holder``) and no enemy threatens (``threat`` 0): of those
    ``linked`` to the rear through such places (see :func:`linked_to_rear`), the nearest no farther from its
    faction's rear (``rear``, by faction; -1 for none) than where it stands; else the nearest linked one; else
    the nearest at all; in the first two, not a place not worth a stand (``no_stand``) less than a day (``days``
    1.0) away. A withdrawal goes back toward the rear, not into a dead end behind the line: the Baiji
    refinery, reached only through Baiji town, is safe from the insurgents only while the town holds; nor into
    the next small town on the enemy's road, which it would have to leave again the next day (the garrisons of
    al-Qaim and Rawa used to fall back 9 km to Ana; the army left Rawa, Ana and Rutba on the same day:
    Xinhua, 22 June 2014). A unit
    with a destination gets it as its objective and, unless its next place
    (by ``next_hop``, or by any road if it must) is none or where it is, that place and the road's length."""
    u, rd = unit_columns(units), Roads(*roads)
    n = holder.size
    for i in range(rows.size):
        r = rows[i]
        here = u.loc[r]
        back = rear[u.faction[r]]
        days = forward_row(routes, here, np.inf)  # days from here
        to_back = toward_row(routes, back)[0] if back >= 0 else days  # days to the rear (read if back >= 0)
        best = np.inf
        arg = 0
        for mode in range(3):  # linked and rearward; linked; any
            rearward = mode == 0
            if rearward and back < 0:
                continue
            for q in range(n):
                if holder[q] != side or threat[q] != 0 or q == here:
                    continue
                if mode < 2 and not linked[q]:
                    continue
                if mode < 2 and no_stand[q] and days[q] < 1.0:
                    continue
                if rearward and to_back[q] > to_back[here]:
                    continue
                t = days[q]
                if t < best:
                    best = t
                    arg = q
            if np.isfinite(best):
                break
        if not np.isfinite(best):
            dest[i] = -1
            continue
        dest[i] = arg
        u.target[r] = arg
        h = toward_row(routes, arg)[1][here]
        if h < 0:
            h = rd.next_hop[here, arg]
        if h >= 0 and h != here:
            u.next[r] = h
            u.km_left[r] = road_value(rd.ptr, rd.to, rd.km, here, h)


@njit(cache=True)
def _detachments(orders: tuple, here: np.ndarray, coalition: np.ndarray, own_place: np.ndarray,
                 personnel: np.ndarray, next_by_coalition: tuple[RouteRows, ...], any_next: np.ndarray,
                 out: tuple) -> None:
    """What :func:`dispatch` sends (``orders``: ``(rows, targets, keep_share, at_most)``; ``out``: ``(hop,
    send, go)``): for each unit (at ``here``, of ``coalition``, with ``personnel``) sent toward its target, its
    next place (by its coalition's routes, or by any road if it must; -1 if none), how many go and whether it
    goes.

    Where the unit's side holds its place (``own_place``), ``keep_share`` of it (rounded half to even) stays.
    ``at_most`` (one per unit; empty for none, inf for a unit without a cap) caps the people sent to a target:
    the first capped unit sent to a target, in the order given, sets the target's budget (``floor``), and the
    units sent there use it up in that order. Detachments of fewer than 10 that would leave part of a unit
    behind stay.
    """
    _, targets, keep_share, at_most = orders
    hop, send, go = out
    m = targets.size
    for i in range(m):
        h = toward_row(next_by_coalition[coalition[i]], targets[i])[1][here[i]]
        hop[i] = h if h >= 0 else any_next[here[i], targets[i]]
        go[i] = targets[i] != here[i] and hop[i] >= 0
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
def _send_units(orders: tuple, units: Units, n: int, sides: Sides, controller: np.ndarray, roads: Roads,
                next_by_coalition: tuple[RouteRows, ...], out: tuple) -> int:
    """:func:`dispatch` on the unit table's columns (rows ``0..n-1`` in use; room for as many more as units
    sent): the units ``orders[0]`` are sent toward ``orders[1]`` as :func:`_detachments` decides. A unit that
    sends only part of itself splits: the part sent becomes a new row (``n``, ``n + 1``, ... in the order of
    the units sent; its parent row into ``out[0]``) with the parent's faction, place, quality, morale, base
    morale and home, and the parent keeps the rest. Each unit sent gets its objective and, if its next place
    is not where it is, that place and the road's length.

    Sets ``out[1][c]`` for each coalition ``c`` that split a unit (the caller clears it). Returns how many rows
    were added.
    """
    u, s, rd = unit_columns(units), side_columns(sides), Roads(*roads)
    rows, targets = orders[0], orders[1]
    parent, split_by = out
    m = rows.size
    here = np.empty(m, dtype=np.int64)
    coal = np.empty(m, dtype=np.int64)
    own_place = np.empty(m, dtype=np.bool_)
    pers = np.empty(m, dtype=np.int64)
    for i in range(m):
        r = rows[i]
        here[i] = u.loc[r]
        coal[i] = s.coalition_of[u.faction[r]]
        own_place[i] = s.coalition_of[controller[here[i]]] == coal[i]
        pers[i] = u.personnel[r]
    hop = np.empty(m, dtype=np.int64)
    send = np.empty(m, dtype=np.int64)
    go = np.empty(m, dtype=np.bool_)
    _detachments(orders, here, coal, own_place, pers, next_by_coalition, rd.next_hop, (hop, send, go))
    new = n
    for i in range(m):
        if not go[i]:
            continue
        r = rows[i]
        mover = r
        if send[i] < pers[i]:
            mover = new
            u.faction[new], u.loc[new], u.personnel[new] = u.faction[r], here[i], send[i]
            u.quality[new], u.morale[new], u.base_morale[new] = u.quality[r], u.morale[r], u.base_morale[r]
            u.target[new], u.next[new], u.km_left[new], u.home[new] = here[i], -1, 0.0, u.home[r]
            u.routing[new], u.alive[new], u.hidden[new] = False, True, False
            u.came_from[new], u.shocked[new] = u.came_from[r], False
            u.personnel[r] -= send[i]
            u.garrison_at[new] = -1
            if own_place[i]:
                u.garrison_at[r] = here[i]  # what stays behind is the place's garrison
            parent[new - n] = r
            split_by[coal[i]] = True
            new += 1
        else:
            u.garrison_at[r] = -1  # the whole unit goes
        u.target[mover] = targets[i]
        h = hop[i]
        if h != here[i]:  # h >= 0: the unit goes
            u.next[mover] = h
            u.km_left[mover] = road_value(rd.ptr, rd.to, rd.km, here[i], h)
    return new - n
