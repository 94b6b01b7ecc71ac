"""The compiled planning and bookkeeping loops (simulation/planning.py, movement.merge_idle) give exactly the
numbers of the NumPy code they replaced, which is kept here as the reference, on random inputs."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from simulation.engine.units import UnitTable
from simulation.rules.morale import daily_morale
from simulation.rules.movement import merge_idle
from simulation.rules.orders import (
    attack_appeal,
    attack_orders,
    best_targets,
    defence,
    detachments,
    free_units,
    hold_orders,
    hold_targets,
    needs,
    reach,
    retreats,
    send_units,
    stay_or_leave,
    vacuum_candidates,
    vacuum_orders,
    vacuums,
    within_a_day,
)

SEEDS = range(12)


def _same(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()  # bit for bit, not approximately


def _same_choice(best: np.ndarray, go: np.ndarray, score: np.ndarray) -> None:
    """The units' targets and whether they go are those of the reference scores [unit, place] (argmax, > 0)."""
    ref_best = score.argmax(axis=1)
    _same(best, ref_best)
    _same(go, score[np.arange(score.shape[0]), ref_best] > 0)


@pytest.mark.parametrize("seed", SEEDS)
def test_hold_targets_match_numpy(seed):
    rng = np.random.default_rng(seed)
    n, units = 40, int(rng.integers(1, 30))
    loc = rng.integers(0, n, units).astype(np.int32)
    value = np.where(rng.random(n) < 0.1, 0.0, rng.random(n) * 3)
    threat = np.where(rng.random(n) < 0.5, rng.random(n) * 5000, 0.0)
    own_eff = np.where(rng.random(n) < 0.6, rng.random(n) * 3000, 0.0)
    holder = np.where(rng.random(n) < 0.6, 0, rng.integers(1, 3, n))
    own_held = holder == 0
    sympathy, fort = rng.random(n), 1 + rng.random(n)
    days = rng.random((units, n)) * 6
    in_reach = days <= 3.0
    potential = rng.random(n) * 4000
    defence = np.where(rng.random(n) < 0.5, rng.random(n) * 3000, 0.0)
    lost = rng.random(n) < 0.3
    government = bool(seed % 2)

    own_def, need, hopeless = np.empty(n), np.empty(n), np.empty(n, dtype=bool)
    needs(own_eff, 1.5, fort, threat, holder, 0, government, sympathy, 2.0, value, 1.5, own_def, need, hopeless)
    best, go = np.empty(units, dtype=np.int64), np.empty(units, dtype=bool)
    decay = np.exp(-days / 3.0)
    hold_targets(loc, value, need, hopeless, own_def, lost, potential, defence, 1.3, in_reach, decay, best, go)

    # The NumPy code of FactionCommand._hold_and_reinforce (commit 8e75909).
    ref_def = own_eff * 1.5 * fort
    ref_need = np.where(own_held, threat - ref_def, 0.0)
    ref_hopeless = np.zeros(n, dtype=bool)
    if government:
        ref_hopeless = own_held & (threat * (0.5 + sympathy) > 2.0 * ref_def) & (value < 1.5)
    _same(own_def, ref_def)
    _same(need, ref_need)
    _same(hopeless, ref_hopeless)
    safe_here = ref_need[loc] <= 0
    reinforce = ((ref_need > 0) & ~ref_hopeless)[None, :] & (value[None, :] >= value[loc][:, None]) & \
        safe_here[:, None]
    rscore = value * ref_need / (ref_need + ref_def + 1e-9)
    counter = lost & (potential >= 1.3 * defence)
    cscore = value * potential / (potential + defence + 1e-9)
    score = np.maximum(np.where(reinforce, rscore[None, :], 0.0), np.where(counter[None, :], cscore[None, :], 0.0))
    _same_choice(best, go, np.where(in_reach, score * decay, 0.0))


@pytest.mark.parametrize("seed", SEEDS)
def test_attack_targets_match_numpy(seed):
    rng = np.random.default_rng(100 + seed)
    n, units = 30, int(rng.integers(1, 25))
    loc = rng.integers(0, n, units).astype(np.int32)
    value = rng.random(n) * 3
    days = rng.random((units, n)) * 6
    in_reach = days <= 3.0
    feasible = rng.random(n) < 0.4
    appeal = rng.random(n)
    best, go = np.empty(units, dtype=np.int64), np.empty(units, dtype=bool)
    decay = np.exp(-days / 3.0)
    best_targets(loc, value, np.zeros(n, dtype=bool), np.zeros(n), np.where(feasible, appeal, 0.0), in_reach,
                 decay, best, go)
    _same_choice(best, go, np.where(in_reach & feasible[None, :], appeal[None, :] * decay, 0.0))  # _attack


@pytest.mark.parametrize("seed", SEEDS)
def test_threat_matches_numpy(seed):
    rng = np.random.default_rng(200 + seed)
    n, units, coalitions, factions = 25, 60, 3, 4
    coalition_of = np.array([0, 0, 1, 2])
    hostile = np.array([[False, True, False], [True, False, True], [False, True, False]])
    here, routing = rng.random(units) < 0.8, rng.random(units) < 0.1
    faction = rng.integers(0, factions, units).astype(np.int32)
    loc = rng.integers(0, n, units).astype(np.int32)
    personnel, quality, morale = rng.integers(0, 3000, units), 0.5 + rng.random(units), rng.random(units)
    mobility = np.array([1.0, 0.8, 1.3, 1.0])
    days = rng.random((coalitions, n, n)) * 3
    for c in range(coalitions):
        effective, reach = np.empty(units), np.empty((units, n))
        k = within_a_day(here, routing, faction, coalition_of, hostile[c], loc, personnel, quality, morale, mobility,
                         days, effective, reach)
        threat = effective[:k] @ reach[:k] if k else np.zeros(n)
        # The routes as the model gives them: one read-only array per coalition.
        by_coalition = tuple(days[i].copy() for i in range(coalitions))
        for a in by_coalition:
            a.setflags(write=False)
        effective2, reach2 = np.empty(units), np.empty((units, n))
        assert within_a_day(here, routing, faction, coalition_of, hostile[c], loc, personnel, quality, morale,
                            mobility, by_coalition, effective2, reach2) == k
        _same(effective2[:k], effective[:k])
        _same(reach2[:k], reach[:k])
        # The NumPy code of ConflictModel._threat_to (commit 8e75909).
        rows = np.flatnonzero(here & ~routing & hostile[c, coalition_of[faction]])
        ref = np.zeros(n)
        if rows.size:
            coal = coalition_of[faction[rows]]
            d = np.empty((rows.size, n))
            for hc in np.unique(coal).tolist():
                d[coal == hc] = days[hc][loc[rows[coal == hc]]]
            d /= mobility[faction[rows]][:, None]
            ref = (personnel[rows] * quality[rows] * morale[rows]) @ (d <= 1.0)
        _same(threat, ref)


@pytest.mark.parametrize("seed", SEEDS)
def test_detachments_match_numpy(seed):
    rng = np.random.default_rng(300 + seed)
    n, m = 20, int(rng.integers(1, 30))
    next_by_coalition = rng.integers(-1, n, (2, n, n))
    any_next = rng.integers(-1, n, (n, n))
    loc = rng.integers(0, n, m)
    targets = rng.integers(0, n, m)
    coal = rng.integers(0, 2, m)
    own_place = rng.random(m) < 0.6
    pers = rng.integers(1, 800, m)
    at_most = np.where(rng.random(m) < 0.7, np.ceil(rng.random(m) * 900), np.inf) if seed % 3 else None
    hop, send, go = np.empty(m, dtype=np.int64), np.empty(m, dtype=np.int64), np.empty(m, dtype=bool)
    detachments(targets, loc, coal, own_place, pers, 0.3, np.zeros(0) if at_most is None else at_most,
                next_by_coalition, any_next, hop, send, go)

    # The NumPy code of ConflictModel.dispatch (commit 8e75909).
    own = next_by_coalition[coal, loc, targets]
    ref_hop = np.where(own >= 0, own, any_next[loc, targets])
    ref_go = (targets != loc) & (ref_hop >= 0)
    keep = np.where(own_place, np.round(pers * 0.3), 0.0).astype(np.int64)
    ref_send = pers - keep
    if at_most is not None:
        capped = np.flatnonzero(ref_go & np.isfinite(at_most))
        if capped.size:
            order = np.argsort(targets[capped], kind="stable")
            k, q, want = capped[order], targets[capped][order], ref_send[capped][order]
            new_group = np.r_[True, q[1:] != q[:-1]]
            group = np.cumsum(new_group) - 1
            budget = np.floor(at_most[k][new_group])[group]
            total = np.cumsum(want)
            upto = total - (total - want)[new_group][group]
            sent = (np.minimum(upto, budget) - np.minimum(upto - want, budget)).astype(np.int64)
            ref_send[k] = sent
            ref_go[k[sent <= 0]] = False
    ref_go &= ~((ref_send < 10) & (ref_send < pers))
    _same(hop, ref_hop)
    _same(send, ref_send)
    _same(go, ref_go)


def _unit_table(rng, units: int, places: int, factions: int = 3) -> UnitTable:
    """A random unit table of ``units`` rows (and spare capacity holding junk)."""
    table = UnitTable(capacity=4)
    for _ in range(units):
        table.add(int(rng.integers(0, factions)), int(rng.integers(0, places)), int(rng.integers(1, 900)),
                  0.5 + rng.random(), rng.random())
    n = table.n
    table.next[:n] = np.where(rng.random(n) < 0.7, -1, rng.integers(0, places, n))
    table.target[:n] = rng.integers(0, places, n)
    table.km_left[:n] = rng.random(n) * 50
    table.home[:n] = rng.integers(0, places, n)
    table.base_morale[:n] = rng.random(n)
    table.routing[:n], table.alive[:n], table.hidden[:n] = rng.random(n) < 0.1, rng.random(n) < 0.9, \
        rng.random(n) < 0.1
    for name in UnitTable.FIELDS:  # junk beyond the rows in use, which must not be read
        col = getattr(table, name)
        col[n:] = rng.integers(0, 2, col.size - n).astype(col.dtype)
    return table


def _columns(table: UnitTable) -> list[np.ndarray]:
    return [table.view(name) for name in UnitTable.FIELDS]


@pytest.mark.parametrize("seed", SEEDS)
def test_free_units_match_numpy(seed):
    rng = np.random.default_rng(500 + seed)
    places, governorates = 15, 4
    u = _unit_table(rng, int(rng.integers(0, 80)), places)
    n = u.n
    battle_at = rng.random(places) < 0.3
    governorate_of = rng.integers(0, governorates, places)
    active = rng.random(governorates) < 0.5
    for only_active in (False, True):
        target = u.target.copy()
        rows, loc = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
        k = free_units(1, n, u.faction, u.alive, u.next, u.routing, u.hidden, u.loc, battle_at, target,
                       only_active, active, governorate_of, rows, loc)
        # The NumPy code of FactionCommand.plan (commit 7f5c904).
        ref_target = u.target.copy()
        mine = (u.faction[:n] == 1) & u.alive[:n] & (u.next[:n] < 0) & ~u.routing[:n] & ~u.hidden[:n]
        ref_rows = np.flatnonzero(mine)
        ref_loc = u.loc[ref_rows]
        free = ~battle_at[ref_loc]
        ref_rows, ref_loc = ref_rows[free], ref_loc[free]
        ref_target[ref_rows] = ref_loc
        if only_active:
            on = active[governorate_of[ref_loc]]
            ref_rows, ref_loc = ref_rows[on], ref_loc[on]
        _same(rows[:k], ref_rows)
        _same(loc[:k], ref_loc.astype(np.int64))
        _same(target, ref_target)


def _dispatch_reference(u: UnitTable, rows, targets, keep_share, at_most, coalition_of, controller,
                        next_by_coalition, any_next, road_km) -> tuple[list[int], set[int]]:
    """The code of ConflictModel.dispatch (commit 7f5c904) on a unit table: the parents of the units split
    off, and the coalitions that split units."""
    loc = u.loc[rows].astype(np.int64)
    coal = coalition_of[u.faction[rows]]
    pers = u.personnel[rows]
    own_place = coalition_of[controller[loc]] == coal
    hop, send, go = np.empty(rows.size, dtype=np.int64), np.empty(rows.size, dtype=np.int64), \
        np.empty(rows.size, dtype=bool)
    detachments(targets, loc, coal, own_place, pers, keep_share, np.zeros(0) if at_most is None else at_most,
                next_by_coalition, any_next, hop, send, go)
    movers = np.flatnonzero(go)
    if movers.size == 0:
        return [], set()
    moving = rows[movers]
    split = np.flatnonzero(send[movers] < pers[movers])
    parents = []
    for i in split.tolist():
        r, k = int(moving[i]), int(movers[i])
        new = u.add(int(u.faction[r]), int(loc[k]), int(send[k]), float(u.quality[r]), float(u.morale[r]))
        u.home[new] = u.home[r]
        u.base_morale[new] = u.base_morale[r]
        u.personnel[r] -= send[k]
        moving[i] = new
        parents.append(r)
    # ConflictModel._set_courses(moving, targets[movers], hop[movers])
    here, hops = u.loc[moving], hop[movers]
    u.target[moving] = targets[movers]
    on = (hops >= 0) & (hops != here)
    u.next[moving[on]] = hops[on]
    u.km_left[moving[on]] = road_km[here[on], hops[on]]
    return parents, set(coal[movers[split]].tolist())


@pytest.mark.parametrize("seed", SEEDS)
def test_send_units_matches_numpy(seed):
    rng = np.random.default_rng(600 + seed)
    places = 12
    u = _unit_table(rng, int(rng.integers(1, 60)), places, factions=4)
    coalition_of = np.array([0, 0, 1, 2])
    controller = rng.integers(0, 4, places)
    next_by_coalition = rng.integers(-1, places, (3, places, places))
    any_next = rng.integers(-1, places, (places, places))
    road_km = rng.random((places, places)) * 100
    rows = rng.permutation(u.n)[: int(rng.integers(0, u.n + 1))].astype(np.int64)
    targets = rng.integers(0, places, rows.size)
    at_most = np.where(rng.random(rows.size) < 0.7, np.ceil(rng.random(rows.size) * 900), np.inf) if seed % 3 \
        else None
    ref = copy.deepcopy(u)
    parents, split = _dispatch_reference(ref, rows, targets, 0.3, at_most, coalition_of, controller,
                                         next_by_coalition, any_next, road_km)
    u.reserve(rows.size)
    parent, split_by = np.empty(rows.size, dtype=np.int64), np.zeros(3, dtype=bool)
    added = send_units(
        rows, targets, 0.3, np.zeros(0) if at_most is None else at_most, u.n, u.faction, u.loc, u.personnel,
        u.quality, u.morale, u.base_morale, u.target, u.next, u.km_left, u.home, u.routing, u.alive, u.hidden,
        coalition_of, controller, next_by_coalition, any_next, road_km, parent, split_by)
    u.n += added
    assert parent[:added].tolist() == parents
    assert set(np.flatnonzero(split_by).tolist()) == split
    for a, b in zip(_columns(u), _columns(ref)):
        _same(a, b)


def _routes(rng, n: int) -> np.ndarray:
    """Travel days between places, in half days (ties), some unreachable."""
    days = rng.integers(0, 8, (n, n)) * 0.5
    return np.where(rng.random((n, n)) < 0.1, np.inf, days)


@pytest.mark.parametrize("seed", SEEDS)
def test_reach_matches_numpy(seed):
    rng = np.random.default_rng(700 + seed)
    n, units = 20, 50
    days, distance = _routes(rng, n), rng.random((n, n)) * 200
    personnel, quality, morale = rng.integers(0, 3000, units), 0.5 + rng.random(units), rng.random(units)
    home = rng.integers(0, n, units).astype(np.int32)
    rows = rng.permutation(units)[: int(rng.integers(0, 20))].astype(np.int64)
    loc = rng.integers(0, n, rows.size)
    tribal = bool(seed % 2)
    in_reach, decay, eff = np.empty((rows.size, n)), np.empty((rows.size, n)), np.empty(rows.size)
    reach(days, loc, 0.8, 3.0, home if tribal else np.zeros(0, dtype=np.int32), distance, 60.0, rows, personnel,
          quality, morale, in_reach, decay, eff)
    np.exp(decay, out=decay)
    # The NumPy code of FactionCommand._reach, _hold_and_reinforce and _best (commit 7f5c904).
    d = days[loc] / 0.8
    ref_in_reach = d <= 3.0
    if tribal:
        ref_in_reach &= distance[home[rows]] <= 60.0
    ref_eff = personnel[rows] * quality[rows] * morale[rows]
    _same(in_reach, ref_in_reach.astype(float))
    _same(decay, np.exp(-d / 3.0))
    _same(eff, ref_eff)
    _same(eff @ in_reach, ref_eff @ ref_in_reach)  # the reach as numbers gives the same matrix product


@pytest.mark.parametrize("seed", SEEDS)
def test_hold_orders_match_numpy(seed):
    rng = np.random.default_rng(800 + seed)
    n, units, governorates = 25, 200, 3
    days = _routes(rng, n)
    rows = rng.permutation(units)[: int(rng.integers(1, 40))].astype(np.int64)
    loc = rng.integers(0, n, rows.size)
    quality, morale = 0.5 + rng.random(units), np.where(rng.random(units) < 0.1, 0.0, rng.random(units))
    value, fort = np.where(rng.random(n) < 0.1, 0.0, rng.random(n) * 3), 1 + rng.random(n)
    holder, initial_holder = rng.integers(0, 3, n), rng.integers(0, 3, n)
    hostile = np.array([False, True, True])
    governorate_of, active = rng.integers(0, governorates, n), rng.random(governorates) < 0.7
    need = np.where(rng.random(n) < 0.4, rng.random(n) * 2000 - 500, 0.0)
    hopeless, own_def = rng.random(n) < 0.2, rng.random(n) * 1000
    potential = rng.random(n) * 4000
    defence = np.where(rng.random(n) < 0.5, rng.random(n) * 3000, 0.0)
    d = days[loc] / 0.8
    in_reach, decay = d <= 3.0, np.exp(-d / 3.0)
    send_rows, send_to, at_most = np.empty(rows.size, dtype=np.int64), np.empty(rows.size, dtype=np.int64), \
        np.empty(rows.size)
    k = hold_orders(rows, loc, 0, hostile, holder, initial_holder, active, governorate_of, value, need, hopeless,
                    own_def, potential, defence, 1.3, in_reach.astype(float), decay, days, 0.8, quality, morale,
                    1.5, fort, send_rows, send_to, at_most)
    # The NumPy code of FactionCommand._hold_and_reinforce (commit 7f5c904).
    lost = hostile[holder] & (initial_holder == 0) & active[governorate_of]
    best, go = np.empty(rows.size, dtype=np.int64), np.empty(rows.size, dtype=bool)
    hold_targets(loc, value, need, hopeless, own_def, lost, potential, defence, 1.3, in_reach, decay, best, go)
    q = best[go]
    per_person = np.maximum(quality[rows[go]] * morale[rows[go]], 1e-6)
    defending = per_person * 1.5 * fort[q]
    wanted = np.where(need[q] > 0, 1.5 * need[q] / defending, 1.2 * 1.3 * np.maximum(defence[q], 1.0) / per_person)
    order = np.argsort(d[np.flatnonzero(go), q], kind="stable")
    _same(send_rows[:k], rows[go][order])
    _same(send_to[:k], q[order])
    _same(at_most[:k], np.ceil(wanted[order]))


@pytest.mark.parametrize("seed", SEEDS)
def test_attack_orders_match_numpy(seed):
    rng = np.random.default_rng(900 + seed)
    n, governorates = 25, 3
    rows = rng.permutation(100)[: int(rng.integers(1, 30))].astype(np.int64)
    loc = rng.integers(0, n, rows.size)
    d = _routes(rng, n)[loc]
    in_reach, decay = d <= 3.0, np.exp(-d / 3.0)
    value, sympathy = rng.random(n) * 3, rng.random(n)
    holder, hostile = rng.integers(0, 3, n), np.array([True, False, True])
    governorate_of, active = rng.integers(0, governorates, n), rng.random(governorates) < 0.7
    potential = np.where(rng.random(n) < 0.2, 0.0, rng.random(n) * 4000)
    defence = np.where(rng.random(n) < 0.4, rng.random(n) * 3000, 0.0)
    appeal = np.empty(n)
    found = attack_appeal(1, hostile, holder, active, governorate_of, potential, defence, 1.5, value, sympathy,
                          appeal)
    send_rows, send_to = np.empty(rows.size, dtype=np.int64), np.empty(rows.size, dtype=np.int64)
    k = attack_orders(loc, rows, value, appeal, in_reach.astype(float), decay, send_rows, send_to)
    # The NumPy code of FactionCommand._attack (commit 7f5c904).
    enemy_held = hostile[holder] & active[governorate_of]
    feasible = enemy_held & (potential >= 1.5 * defence)
    ref_appeal = np.where(feasible, value * (0.5 + sympathy) * potential / (potential + 1.5 * defence + 1e-9), 0.0)
    best, go = np.empty(rows.size, dtype=np.int64), np.empty(rows.size, dtype=bool)
    best_targets(loc, value, np.zeros(n, dtype=bool), np.zeros(n), ref_appeal, in_reach, decay, best, go)
    assert found == feasible.any()
    _same(appeal, ref_appeal)
    _same(send_rows[:k], rows[go])
    _same(send_to[:k], best[go])


@pytest.mark.parametrize("seed", SEEDS)
def test_vacuums_match_numpy(seed):
    rng = np.random.default_rng(1000 + seed)
    n, side = 30, 2
    holder = rng.integers(0, 3, n)
    neutral = np.array([True, bool(seed % 2), False])
    present = np.where(rng.random((n, 3)) < 0.7, 0, rng.integers(1, 500, (n, 3)))
    was_garrisoned = rng.random(n) < 0.7
    threat = np.where(rng.random((3, n)) < 0.5, 0.0, rng.random((3, n)) * 1000)
    distance = rng.random((n, n)) * 300
    claimed = rng.random(n) < 0.7 if seed % 3 else None
    vacuum, holders = np.empty(n, dtype=bool), np.zeros(3, dtype=bool)
    found = vacuum_candidates(holder, neutral, present, was_garrisoned, vacuum, holders)
    if found:
        found = vacuums(vacuum, holder, threat, side, distance, 120.0, np.zeros(0, dtype=bool) if claimed is None
                        else claimed)
    # The NumPy code of FactionCommand._fill_vacuums (commit 7f5c904).
    own_held = holder == side
    neutral_held = neutral[holder]
    empty = (present.sum(axis=1) == 0) & was_garrisoned
    ref_holders = np.unique(holder[empty & neutral_held])
    threatened = np.zeros(n, dtype=bool)
    for h in ref_holders.tolist():
        threatened |= (holder == h) & (threat[h] > 0)
    empty &= threatened
    near_own = (distance[:, own_held].min(axis=1) <= 120.0) if own_held.any() else np.zeros(n, dtype=bool)
    ref_vacuum = neutral_held & empty & near_own
    if claimed is not None:
        ref_vacuum &= claimed
    _same(holders, np.isin(np.arange(3), ref_holders))
    _same(vacuum, ref_vacuum)
    assert found == ref_vacuum.any()

    # The orders, for some vacuums.
    vacuum = rng.random(n) < 0.3
    days, value = _routes(rng, n), rng.random(n) * 3
    rows = rng.permutation(100)[: int(rng.integers(1, 30))].astype(np.int64)
    loc = rng.integers(0, n, rows.size)
    d = days[loc] / 1.2
    in_reach, decay = d <= 3.0, np.exp(-d / 3.0)
    send_rows, send_to = np.empty(rows.size, dtype=np.int64), np.empty(rows.size, dtype=np.int64)
    k = vacuum_orders(loc, rows, vacuum, value, in_reach.astype(float), decay, days, 1.2, send_rows, send_to)
    score = np.where(in_reach & vacuum[None, :], (value[None, :] + 0.1) * decay, 0.0)
    best = score.argmax(axis=1)
    go = score[np.arange(rows.size), best] > 0
    chosen, taken = [], set()
    for i in np.argsort(d[np.arange(rows.size), best], kind="stable"):
        if go[i] and best[i] not in taken:
            taken.add(best[i])
            chosen.append(i)
    ch = np.array(chosen, dtype=np.int64)
    _same(send_rows[:k], rows[ch])
    _same(send_to[:k], best[ch])


@pytest.mark.parametrize("seed", SEEDS)
def test_defence_and_withdrawal_match_numpy(seed):
    rng = np.random.default_rng(1100 + seed)
    n, coalitions = 40, 2 + seed % 6
    effective = np.where(rng.random((n, coalitions)) < 0.4, 0.0, rng.random((n, coalitions)) * 5000)
    holder, fort = rng.integers(0, coalitions, n), 1 + rng.random(n)
    for c in range(coalitions):
        hostile = rng.random(coalitions) < 0.6
        hostile[c] = False
        out = np.empty(n)
        defence(effective, hostile, holder, 1.5, fort, out)
        # The NumPy code of ConflictModel._defence_against (commit 7f5c904).
        holds = holder[:, None] == np.flatnonzero(hostile)[None, :]
        mult = np.where(holds, 1.5 * fort[:, None], 1.0)
        _same(out, (effective[:, hostile] * mult).sum(axis=1))

    rows = rng.permutation(100)[: int(rng.integers(0, 30))].astype(np.int64)
    loc = rng.integers(0, n, rows.size)
    hopeless = rng.random(n) < 0.3
    stay, at, leaving = rows.copy(), loc.copy(), np.empty(rows.size, dtype=np.int64)
    k = stay_or_leave(stay, at, hopeless, leaving)
    leave = hopeless[loc]  # FactionCommand._hold_and_reinforce (commit 7f5c904)
    _same(leaving[: rows.size - k], rows[leave])
    _same(stay[:k], rows[~leave])
    _same(at[:k], loc[~leave])


@pytest.mark.parametrize("seed", SEEDS)
def test_retreats_match_numpy(seed):
    rng = np.random.default_rng(1200 + seed)
    places, side = 15, 0
    u = _unit_table(rng, int(rng.integers(1, 50)), places)
    rows = rng.permutation(u.n)[: int(rng.integers(0, u.n + 1))].astype(np.int64)
    holder = rng.integers(0, 3, places)
    threat = np.where(rng.random(places) < 0.5, 0.0, rng.random(places) * 100)
    days, next_hop = _routes(rng, places), rng.integers(-1, places, (places, places))
    any_next, road_km = rng.integers(-1, places, (places, places)), rng.random((places, places)) * 100
    ref = copy.deepcopy(u)
    dest = np.empty(rows.size, dtype=np.int64)
    retreats(rows, side, holder, threat, days, next_hop, any_next, road_km, u.loc, u.target, u.next, u.km_left,
             dest)
    # The NumPy code of ConflictModel.withdraw and _set_courses (commit 7f5c904), for one coalition.
    safe = (holder == side) & (threat == 0)
    loc = ref.loc[rows]
    d = np.where(safe[None, :], days[loc], np.inf)
    d[np.arange(rows.size), loc] = np.inf
    q = d.argmin(axis=1)
    ok = np.isfinite(d[np.arange(rows.size), q])
    moving, to, here = rows[ok], q[ok], loc[ok]
    own = next_hop[here, to]
    hops = np.where(own >= 0, own, any_next[here, to])
    ref.target[moving] = to
    go = (hops >= 0) & (hops != here)
    ref.next[moving[go]] = hops[go]
    ref.km_left[moving[go]] = road_km[here[go], hops[go]]
    _same(dest, np.where(ok, q, -1))
    for a, b in zip(_columns(u), _columns(ref)):
        _same(a, b)


@pytest.mark.parametrize("seed", SEEDS)
def test_merge_and_morale_match_numpy(seed):
    rng = np.random.default_rng(400 + seed)
    n, units = 8, 120
    alive, routing = rng.random(units) < 0.9, rng.random(units) < 0.1
    nxt = np.where(rng.random(units) < 0.7, -1, rng.integers(0, n, units)).astype(np.int32)
    personnel = rng.integers(0, 500, units)
    faction = rng.integers(0, 3, units).astype(np.int32)
    loc, home = rng.integers(0, n, units).astype(np.int32), rng.integers(0, n, units).astype(np.int32)
    quality, morale, base = 0.5 + rng.random(units), rng.random(units), rng.random(units)

    got = [personnel.copy(), quality.copy(), morale.copy(), base.copy()]
    merge_idle(alive, nxt, routing, got[0], faction, loc, home, n, got[1], got[2], got[3])
    # The NumPy code of ConflictModel._merge_idle_units (commit 8e75909).
    ref = [personnel.copy(), quality.copy(), morale.copy(), base.copy()]
    idle = np.flatnonzero(alive & (nxt < 0) & ~routing & (personnel > 0))
    key = (faction[idle].astype(np.int64) * n + loc[idle]) * n + home[idle]
    order = np.argsort(key, kind="stable")
    key, idle = key[order], idle[order]
    first = np.r_[True, key[1:] != key[:-1]]
    group = np.cumsum(first) - 1
    merged = np.bincount(group) > 1
    pers = personnel[idle].astype(float)
    total = np.bincount(group, pers)
    keep = idle[first][merged]
    for arr in ref[1:]:
        arr[keep] = np.bincount(group, arr[idle] * pers)[merged] / total[merged]
    ref[0][idle[~first & merged[group]]] = 0
    ref[0][keep] = total[merged].astype(np.int64)
    for a, b in zip(got, ref):
        _same(a, b)

    cutoff, gov, battle = rng.random(units) < 0.2, rng.random(units) < 0.5, rng.random(units) < 0.3
    sympathy = rng.random(units)
    m = ref[2].copy()
    daily_morale(m, ref[3], cutoff, sympathy, gov, ~battle & ~cutoff, 0.15, 0.05, 0.1)
    # The NumPy code of ConflictModel._morale (commit 8e75909).
    r = ref[2].copy()
    r -= 0.15 * cutoff
    r -= 0.05 * np.clip(2 * (sympathy - 0.5), 0, 1) * gov
    r += np.where(~battle & ~cutoff, 0.1 * (ref[3] - r), 0.0)
    np.clip(r, 0.0, 1.0, out=r)
    _same(m, r)
