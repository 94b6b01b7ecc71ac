"""The compiled planning and bookkeeping loops (simulation/planning.py, movement.merge_idle) give exactly the
numbers of the NumPy code they replaced, which is kept here as the reference, on random inputs."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.movement import merge_idle
from simulation.planning import best_targets, daily_morale, detachments, hold_targets, needs, within_a_day

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
    own_held = rng.random(n) < 0.6
    sympathy, fort = rng.random(n), 1 + rng.random(n)
    days = rng.random((units, n)) * 6
    in_reach = days <= 3.0
    potential = rng.random(n) * 4000
    defence = np.where(rng.random(n) < 0.5, rng.random(n) * 3000, 0.0)
    lost = rng.random(n) < 0.3
    government = bool(seed % 2)

    own_def, need, hopeless = np.empty(n), np.empty(n), np.empty(n, dtype=bool)
    needs(own_eff, 1.5, fort, threat, own_held, government, sympathy, 2.0, value, 1.5, own_def, need, hopeless)
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
