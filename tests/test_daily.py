"""The compiled daily bookkeeping (simulation/daily.py) gives exactly the numbers of the NumPy code it replaced,
which is kept here as the reference, on random inputs."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.rules.control import control_changes
from simulation.rules.insurgency import join_recruits, recruit_rates, sleeper_cells, sleepers_rise
from simulation.rules.morale import (
    cut_off_places,
    daily_morale,
    day_morale,
    fall_shock,
    morale_inputs,
    np_clip,
    np_maximum,
    np_minimum,
    rout_destinations,
    settle_routs,
    unit_morale,
)
from simulation.rules.movement import presence, presence_at
from simulation.rules.records import day_violence, record_day, spent_units
from simulation.rules.routing import component_labels

SEEDS = range(12)
SPECIAL = [np.nan, -np.inf, np.inf, -0.0, 0.0, 1.0, -1.0, 0.5, 1e-9]


def _same(a: np.ndarray, b: np.ndarray) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()  # bit for bit, not approximately


def test_scalar_helpers_are_numpys():
    for x in SPECIAL:
        for y in SPECIAL:
            _same(np.float64(np_maximum(x, y)), np.maximum(np.float64(x), np.float64(y)))
            _same(np.float64(np_minimum(x, y)), np.minimum(np.float64(x), np.float64(y)))
            for z in SPECIAL:
                if not y <= z:
                    continue
                _same(np.float64(np_clip(x, y, z)), np.clip(np.array([x]), y, z)[0])


def _units(rng: np.random.Generator, units: int, n: int, nf: int) -> dict[str, np.ndarray]:
    return {
        "alive": rng.random(units) < 0.8,
        "personnel": np.where(rng.random(units) < 0.15, 0, rng.integers(1, 3000, units)).astype(np.int64),
        "faction": rng.integers(0, nf, units).astype(np.int32),
        "loc": rng.integers(0, n, units).astype(np.int32),
        "morale": np.where(rng.random(units) < 0.1, 0.0, rng.random(units)),
        "base_morale": rng.random(units),
        "routing": rng.random(units) < 0.2,
        "here": rng.random(units) < 0.7,
    }


def _world(rng: np.random.Generator, n: int, nf: int) -> dict[str, np.ndarray]:
    coalition_of = np.array([0, 0, 1, 2, 1][:nf], dtype=np.int64)
    nc = int(coalition_of.max()) + 1
    hostile = rng.random((nc, nc)) < 0.6
    hostile = (hostile | hostile.T) & ~np.eye(nc, dtype=bool)
    pc = np.where(rng.random((n, nc)) < 0.5, 0.0, rng.integers(1, 5000, (n, nc)).astype(float))
    return {"coalition_of": coalition_of, "hostile_c": hostile, "personnel_c": pc,
            "ctrl_c": rng.integers(0, nc, n).astype(np.int64),
            "government": rng.random(nf) < 0.6, "value": np.round(rng.random(n) * 4, 1)}


@pytest.mark.parametrize("seed", SEEDS)
def test_morale_inputs_match_numpy(seed):
    rng = np.random.default_rng(seed)
    n, nf, units = 25, 4, int(rng.integers(0, 40))
    u, w = _units(rng, units + 5, n, nf), _world(rng, n, nf)
    nc = w["hostile_c"].shape[0]
    enemy_here, live, gov_live = np.empty((n, nc), dtype=bool), np.empty(units, dtype=bool), np.empty(nf, dtype=bool)
    passable, ctrl_c = np.empty((nf, n), dtype=bool), np.empty(n, dtype=np.int64)
    controller = rng.integers(0, nf, n).astype(np.int64)
    w["ctrl_c"] = w["coalition_of"][controller]
    morale_inputs(units, u["alive"], u["personnel"], u["faction"], w["government"], w["coalition_of"],
                  w["hostile_c"], controller, w["personnel_c"], ctrl_c, enemy_here, live, gov_live, passable)
    _same(ctrl_c, w["ctrl_c"])

    # The NumPy code of ConflictModel._morale (commit 7f5c904).
    alive = u["alive"][:units] & (u["personnel"][:units] > 0)
    fac = u["faction"][:units]
    ref_enemy = w["personnel_c"] @ w["hostile_c"].T > 0
    _same(enemy_here, ref_enemy)
    _same(live, alive)
    assert np.flatnonzero(gov_live).tolist() == np.unique(fac[alive & w["government"][fac]]).tolist()
    for f in np.flatnonzero(gov_live):
        c = w["coalition_of"][f]
        _same(passable[f], ~w["hostile_c"][c, w["ctrl_c"]] & ~ref_enemy[:, c])


def _roads(rng: np.random.Generator, n: int) -> np.ndarray:
    """A random symmetric road network of ``n`` places, as ``World.open_road``."""
    roads = np.triu(rng.random((n, n)) < 2.5 / n, 1)
    return roads | roads.T


def _labels(open_road: np.ndarray, passable: np.ndarray) -> np.ndarray:
    """``World.components(passable)`` (commit 7f5c904) for a world with these open roads."""
    n = passable.size
    edge_to, edge_from = np.nonzero(open_road.T)
    keep = passable[edge_from] & passable[edge_to]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(edge_to[keep], minlength=n), out=indptr[1:])
    return np.where(passable, component_labels(indptr, edge_from[keep]), -1)


@pytest.mark.parametrize("seed", SEEDS)
def test_cut_off_places_match_numpy(seed):
    rng = np.random.default_rng(50 + seed)
    n = 30
    open_road = _roads(rng, n)
    passable = rng.random(n) < [1.0, 0.8, 0.5][seed % 3]
    rear = int(rng.integers(-1, n))
    ctrl_c = rng.integers(0, 2, n).astype(np.int64)
    value = np.round(rng.random(n) * 3, 0)  # many ties
    if seed % 3 == 0:
        value[rng.random(n) < 0.2] = np.nan
    if seed % 4 == 1:
        value[rng.random(n) < 0.3] = -0.0
    labels = _labels(open_road, passable)
    for airlift in (False, True):
        for places in (0, 1, 2, 5, 100, -1, -3):
            cut = np.empty(n, dtype=bool)
            cut_off_places(open_road, passable, rear, airlift, places, ctrl_c, 1, value, cut)
            # The NumPy code of ConflictModel._morale (commit 7f5c904).
            if rear < 0 or labels[rear] < 0:
                reachable = np.zeros(n, dtype=bool)
            else:
                reachable = labels == labels[rear]
            ref = ~reachable
            if airlift:
                held_cut = np.flatnonzero(ref & (ctrl_c == 1))
                top = held_cut[np.argsort(-value[held_cut], kind="stable")][:places]
                ref[top] = False
            _same(cut, ref)


@pytest.mark.parametrize("seed", SEEDS)
def test_unit_morale_matches_numpy(seed):
    rng = np.random.default_rng(100 + seed)
    n, nf, units = 25, 4, int(rng.integers(0, 40))
    u, w = _units(rng, units + 5, n, nf), _world(rng, n, nf)
    nc = w["hostile_c"].shape[0]
    live = u["alive"][:units] & (u["personnel"][:units] > 0)
    cut = rng.random((nf, n)) < 0.3
    sympathy = rng.random(n)
    battle = rng.random(n) < 0.3
    morale, rout, coalitions = u["morale"].copy(), np.empty(units, dtype=np.int64), np.empty(nc, dtype=bool)
    k = unit_morale(units, morale, u["base_morale"], live, u["faction"], w["government"], cut, u["loc"], sympathy,
                    battle, u["here"][:units], u["routing"], w["coalition_of"], 0.1, 0.05, 0.2, 0.3, rout,
                    coalitions)

    # The NumPy code of ConflictModel._morale (commit 7f5c904), with the compiled daily_morale it called.
    fac, loc = u["faction"][:units], u["loc"][:units]
    gov = w["government"][fac]
    cutoff = np.zeros(units, dtype=bool)
    for f in np.unique(fac[live & gov]):
        cutoff |= live & (fac == f) & cut[f][loc]
    m = u["morale"].copy()
    daily_morale(m[:units], u["base_morale"][:units], cutoff, sympathy[loc], gov, ~battle[loc] & ~cutoff,
                 0.1, 0.05, 0.2)
    _same(morale, m)
    ref_rout = np.flatnonzero(live & u["here"][:units] & ~u["routing"][:units] & (m[:units] < 0.3))
    _same(rout[:k], ref_rout)
    assert np.flatnonzero(coalitions).tolist() == np.unique(w["coalition_of"][fac[ref_rout]]).tolist()


@pytest.mark.parametrize("seed", SEEDS)
def test_routs_match_numpy(seed):
    rng = np.random.default_rng(200 + seed)
    n, nf, units = 25, 4, 40
    u, w = _units(rng, units, n, nf), _world(rng, n, nf)
    nc = w["hostile_c"].shape[0]
    rout = np.flatnonzero(rng.random(units) < 0.4)
    enemy_here = rng.random((n, nc)) < 0.3
    days = {c: np.where(rng.random((n, n)) < 0.3, np.inf, np.round(rng.random((n, n)) * 3, 1)) for c in range(nc)}
    if seed % 3 == 0:
        days[0][rng.random((n, n)) < 0.1] = np.nan
    deserters = rng.integers(0, 50, rout.size).astype(np.int64)
    deserters = np.minimum(deserters, u["personnel"][rout])
    dest, reached = np.empty(rout.size, dtype=np.int64), np.empty(rout.size, dtype=bool)
    coal = w["coalition_of"][u["faction"][rout]]
    for c in np.unique(coal):
        rout_destinations(int(c), rout, u["loc"], u["faction"], w["coalition_of"], w["ctrl_c"], enemy_here, days[c],
                          dest, reached)
    personnel, routing, deserted = u["personnel"].copy(), u["routing"].copy(), np.arange(nf, dtype=np.int64)
    got_deserters = deserters.copy()
    settle_routs(rout, got_deserters, reached, personnel, u["faction"], routing, deserted)

    # The NumPy code of ConflictModel._morale (commit 7f5c904).
    ref_personnel, ref_routing, ref_deserted = u["personnel"].copy(), u["routing"].copy(), np.arange(nf)
    ref_personnel[rout] -= deserters
    np.add.at(ref_deserted, u["faction"][rout], deserters)
    loc = u["loc"][rout]
    ref_dest = np.zeros(rout.size, dtype=np.int64)
    ref_reached = np.zeros(rout.size, dtype=bool)
    for c in np.unique(coal):
        sel = coal == c
        safe = (w["ctrl_c"] == c) & ~enemy_here[:, c]
        d = np.where(safe[None, :], days[c][loc[sel]], np.inf)
        d[np.arange(d.shape[0]), loc[sel]] = np.inf
        ref_dest[sel] = d.argmin(axis=1)
        ref_reached[sel] = np.isfinite(d[np.arange(d.shape[0]), ref_dest[sel]])
    gone = rout[~ref_reached]
    np.add.at(ref_deserted, u["faction"][gone], ref_personnel[gone])
    ref_deserters = deserters.copy()
    ref_deserters[~ref_reached] += ref_personnel[gone]
    ref_personnel[gone] = 0
    ref_routing[rout[ref_reached]] = True
    _same(dest, ref_dest)
    _same(reached, ref_reached)
    _same(got_deserters, ref_deserters)
    _same(personnel, ref_personnel)
    _same(routing, ref_routing)
    _same(deserted, ref_deserted)


@pytest.mark.parametrize("seed", SEEDS)
def test_control_changes_match_numpy(seed):
    rng = np.random.default_rng(300 + seed)
    n, nf, units = 25, 5, int(rng.integers(0, 60))
    u, w = _units(rng, units + 3, n, nf), _world(rng, n, nf)
    if seed % 4 == 0:
        u["personnel"][:] = np.where(rng.random(units + 3) < 0.5, 0, 100)  # ties
    controller = rng.integers(0, nf, n).astype(np.int64)
    changed, new = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    here = u["here"][:units]
    k = control_changes(w["personnel_c"], controller, w["coalition_of"], units, here, u["routing"], u["loc"],
                        u["faction"], u["personnel"], changed, new)

    # The NumPy code of ConflictModel._control (commit 7f5c904).
    present = w["personnel_c"] > 0
    sole = present.sum(axis=1) == 1
    winner_c = present.argmax(axis=1)
    ref_changed = np.flatnonzero(sole & (winner_c != w["coalition_of"][controller]))
    _same(changed[:k], ref_changed)
    h = here & ~u["routing"][:units]
    pers_pf = np.bincount(u["loc"][:units][h] * nf + u["faction"][:units][h], u["personnel"][:units][h],
                          n * nf).reshape(n, -1)
    ref_new = [int(np.argmax(np.where(w["coalition_of"] == winner_c[pl], pers_pf[pl], -1))) for pl in ref_changed]
    assert new[:k].tolist() == ref_new


@pytest.mark.parametrize("seed", SEEDS)
def test_fall_shock_matches_numpy(seed):
    rng = np.random.default_rng(400 + seed)
    n, nf, units = 25, 4, int(rng.integers(0, 300))
    u, w = _units(rng, units + 3, n, nf), _world(rng, n, nf)
    value = np.where(rng.random(n) < 0.2, 0.0, rng.random(n) * 3)
    value[:3] = [0.2, 0.7, 1.3]
    distance = np.round(rng.random((n, n)) * 300, 0)
    place, old = int(rng.integers(0, 3)), int(rng.integers(0, nf))
    radius = [150.0, 0.0, 1e-12, 300.0][seed % 4]
    morale = np.where(rng.random(units + 3) < 0.1, -0.0, u["morale"])
    got = morale.copy()
    fall_shock(place, int(w["coalition_of"][old]), units, u["alive"], u["faction"], w["coalition_of"], u["loc"],
               distance, value, radius, max(radius, 1e-9), 0.3, got)

    # The NumPy code of ConflictModel._control (commit 7f5c904).
    ref = morale.copy()
    fac, loc = u["faction"][:units], u["loc"][:units]
    losers = u["alive"][:units] & (w["coalition_of"][fac] == w["coalition_of"][old])
    d = distance[place, loc]
    near = losers & (d <= radius)
    weight = value[place] / (1.0 + value[place])
    relative = np.minimum(1.0, value[place] / np.maximum(value[loc], 1e-9))
    shock = 0.3 * weight * relative * (1.0 - d / max(radius, 1e-9))
    ref[:units] = np.where(near, np.clip(ref[:units] - shock, 0, 1), ref[:units])
    _same(got, ref)


@pytest.mark.parametrize("seed", SEEDS)
def test_recruitment_matches_numpy(seed):
    rng = np.random.default_rng(500 + seed)
    n, nf, units = 25, 4, int(rng.integers(0, 120))
    u = _units(rng, units + 3, n, nf)
    if seed % 3 == 0:
        u["personnel"][:] = rng.integers(0, 3, units + 3) * 100  # ties
        u["loc"][:] = rng.integers(0, 4, units + 3)
    nxt = np.where(rng.random(units + 3) < 0.3, rng.integers(0, n, units + 3), -1).astype(np.int32)
    controller = rng.integers(0, nf, n).astype(np.int64)
    controller[:4] = 2
    residents = np.where(rng.random(n) < 0.2, 0, rng.integers(0, 500_000, n)).astype(np.int64)
    sympathy = rng.random(n)
    f = 2
    held, lam = np.empty(n, dtype=np.int64), np.empty(n)
    m = recruit_rates(controller, f, 1e-4, residents, sympathy, held, lam)
    recruits = np.where(rng.random(m) < 0.3, 0, rng.poisson(lam[:m]))
    personnel, quality = u["personnel"].copy(), rng.random(units + 3)
    ref_personnel, ref_quality = personnel.copy(), quality.copy()
    new_places, new_recruits = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    k, total = join_recruits(f, held[:m], recruits, units, u["alive"], u["faction"], nxt, u["routing"], u["loc"],
                             personnel, quality, 0.45, n, new_places, new_recruits)

    # The NumPy code of ConflictModel._recruit (commit 7f5c904).
    ref_held = np.flatnonzero(controller == f)
    _same(held[:m], ref_held)
    _same(lam[:m], 1e-4 * residents[ref_held] * sympathy[ref_held])
    places, kk = ref_held[recruits > 0], recruits[recruits > 0]
    cand = np.flatnonzero(u["alive"][:units] & (u["faction"][:units] == f) & (nxt[:units] < 0)
                          & ~u["routing"][:units])
    order = np.lexsort((cand, -ref_personnel[cand], u["loc"][cand]))
    cand = cand[order]
    largest = np.full(n, -1, dtype=np.int64)
    if cand.size:
        lead = cand[np.r_[True, u["loc"][cand][1:] != u["loc"][cand][:-1]]]
        largest[u["loc"][lead]] = lead
    r = largest[places]
    has = r >= 0
    rj, kj = r[has], kk[has]
    joined = ref_personnel[rj] + kj
    ref_quality[rj] = (ref_quality[rj] * ref_personnel[rj] + 0.45 * kj) / joined
    ref_personnel[rj] = joined
    _same(personnel, ref_personnel)
    _same(quality, ref_quality)
    _same(new_places[:k], places[~has])
    _same(new_recruits[:k], kk[~has])
    assert total == int(kk.sum())


@pytest.mark.parametrize("seed", SEEDS)
def test_records_match_numpy(seed):
    rng = np.random.default_rng(600 + seed)
    n, nf, units, days = 25, 4, int(rng.integers(0, 80)), 3
    u = _units(rng, units + 3, n, nf)
    u["personnel"] = np.where(rng.random(units + 3) < 0.1, 0, rng.integers(0, 10**12, units + 3)).astype(np.int64)
    nxt = np.where(rng.random(units + 3) < 0.3, rng.integers(0, n, units + 3), -1).astype(np.int32)
    controller = rng.integers(0, nf, n).astype(np.int64)
    ledger = rng.integers(0, 10**6, (6, nf)).astype(np.int64)
    residents, idps, displaced = (rng.integers(0, 10**6, n).astype(np.int64) for _ in range(3))
    shapes = {"control": (days, n), "present": (days, n, nf), "arriving": (days, n, nf), "killed": (days, n, nf + 1),
              "wounded": (days, n, nf + 1), "ledger": (days, 7, nf), "population": (days, n), "idps": (days, n),
              "displaced_from": (days, n)}
    rec = {k: rng.integers(-5, 5, s).astype(np.int64) for k, s in shapes.items()}  # garbage to overwrite
    ref = {k: a.copy() for k, a in rec.items()}
    killed_so_far = rng.integers(0, 1000, nf + 1).astype(np.int64)
    ref_killed_so_far = killed_so_far.copy()
    report = np.empty(2 * nf + 3, dtype=np.int64)
    d = int(rng.integers(0, days))
    today_killed, today_wounded = (rng.integers(0, 50, (n, nf + 1)).astype(np.int64) for _ in range(2))
    record_day(d, units, u["alive"], nxt, u["loc"], u["faction"], u["personnel"], controller, today_killed,
               today_wounded, ledger, killed_so_far, residents, idps, displaced, rec["control"], rec["present"],
               rec["arriving"], rec["killed"], rec["wounded"], rec["ledger"], rec["population"], rec["idps"],
               rec["displaced_from"], report)

    # The NumPy code of ConflictModel._record (commit 7f5c904).
    alive = u["alive"][:units]
    here = alive & (nxt[:units] < 0)
    moving = alive & (nxt[:units] >= 0)
    loc, fac, pers = u["loc"][:units], u["faction"][:units], u["personnel"][:units]
    ref["control"][d] = controller
    ref["present"][d] = np.bincount(loc[here] * nf + fac[here], pers[here], n * nf).reshape(n, nf)
    ref["arriving"][d] = np.bincount(nxt[:units][moving] * nf + fac[moving], pers[moving], n * nf).reshape(n, nf)
    ref["killed"][d] = today_killed
    ref["wounded"][d] = today_wounded
    ref["population"][d] = residents + idps
    ref["idps"][d] = idps
    ref["displaced_from"][d] = displaced
    ref["ledger"][d, :6] = ledger
    ref["ledger"][d, -1] = np.bincount(fac[alive], pers[alive], nf)
    ref_killed_so_far += today_killed.sum(axis=0)
    for k in rec:
        _same(rec[k], ref[k])
    _same(killed_so_far, ref_killed_so_far)
    held = np.bincount(controller, minlength=nf)
    expected = [*ref["ledger"][d, -1].tolist(), *held.tolist(), int(ref_killed_so_far.sum()),
                int(ref_killed_so_far[-1]), int(idps.sum())]
    assert report.tolist() == expected


@pytest.mark.parametrize("seed", SEEDS)
def test_sleepers_match_numpy(seed):
    rng = np.random.default_rng(700 + seed)
    n, nf, units = 20, 4, int(rng.integers(0, 80))
    u, w = _units(rng, units + 3, n, nf), _world(rng, n, nf)
    nc = w["hostile_c"].shape[0]
    hidden = rng.random(units + 3) < [0.0, 0.5, 0.9][seed % 3]
    quality = rng.random(units + 3)
    if seed % 4 == 0:
        u["morale"][:] = 0.0  # no strength: ties with no defence
    governorate_of = rng.integers(0, 3, n).astype(np.int64)
    offensive_in = rng.random((nf, 3)) < [0.0, 0.5, 1.0][seed % 3]
    defence_by_c = np.where(rng.random((nc, n)) < 0.3, 0.0, rng.random((nc, n)) * 2000)
    hid, state = np.empty(units, dtype=np.int64), np.empty(units, dtype=np.int8)
    cells, need = np.empty((n, nc)), np.empty(nc, dtype=bool)
    got_hidden = hidden.copy()
    k = sleeper_cells(units, got_hidden, u["alive"], u["personnel"], u["faction"], u["loc"], quality, u["morale"],
                      offensive_in, governorate_of, w["coalition_of"], w["personnel_c"], w["hostile_c"], hid, state,
                      cells, need)
    rise = np.empty(k, dtype=np.int64)
    defence = np.full((nc, n), np.nan)  # only the rows asked for are read
    for c in np.flatnonzero(need):
        defence[c] = defence_by_c[c]
    m = sleepers_rise(hid[:k], state, u["loc"], u["faction"], w["coalition_of"], cells, defence, 1.5, got_hidden,
                      rise) if k else 0

    # The NumPy code of ConflictModel._wake_sleepers (commit 7f5c904).
    ref_hidden = hidden.copy()
    ref_hid = np.flatnonzero(hidden[:units] & u["alive"][:units] & (u["personnel"][:units] > 0))
    fac, loc = u["faction"][ref_hid], u["loc"][ref_hid]
    active = offensive_in[fac, governorate_of[loc]]
    if ref_hid.size == 0 or not active.any():
        assert k == 0
        _same(got_hidden, ref_hidden)
        return
    _same(hid[:k], ref_hid)
    coal = w["coalition_of"][fac]
    pc = w["personnel_c"]
    friends = pc[loc, coal] > 0
    enemies = (pc[loc] * w["hostile_c"][coal]).sum(axis=1) > 0
    ref_cells = np.bincount(loc * nc + coal, u["personnel"][ref_hid] * quality[ref_hid] * u["morale"][ref_hid],
                            n * nc).reshape(n, nc)
    _same(cells, ref_cells)
    defence_rows = np.zeros(ref_hid.size)
    for c in np.unique(coal):
        defence_rows[coal == c] = defence_by_c[c][loc[coal == c]]
    strong = ref_cells[loc, coal] >= 1.5 * defence_rows
    ref_rise = ref_hid[active & (friends | ~enemies | strong)]
    ref_hidden[ref_rise] = False
    _same(rise[:m], ref_rise)
    _same(got_hidden, ref_hidden)


@pytest.mark.parametrize("seed", SEEDS)
def test_spent_units_match_numpy(seed):
    rng = np.random.default_rng(800 + seed)
    units = int(rng.integers(0, 50))
    u = _units(rng, units + 3, 10, 3)
    u["personnel"][rng.random(units + 3) < 0.2] = -1
    alive, dead = u["alive"].copy(), np.empty(units, dtype=np.int64)
    k = spent_units(units, alive, u["personnel"], dead)

    # The NumPy code of ConflictModel._bury_dead_units (commit 7f5c904).
    ref_dead = np.flatnonzero(u["alive"][:units] & (u["personnel"][:units] <= 0))
    ref_alive = u["alive"].copy()
    ref_alive[ref_dead] = False
    _same(dead[:k], ref_dead)
    _same(alive, ref_alive)


@pytest.mark.parametrize("seed", SEEDS)
def test_presence_at_matches_presence(seed):
    """movement.presence_at (the model's) gives movement.presence's arrays and the garrisons of the NumPy code
    of ConflictModel._presence (commit 7f5c904)."""
    rng = np.random.default_rng(900 + seed)
    n, nf, units = 25, 4, int(rng.integers(0, 80))
    u, w = _units(rng, units + 3, n, nf), _world(rng, n, nf)
    nc = w["hostile_c"].shape[0]
    nxt = np.where(rng.random(units + 3) < 0.3, rng.integers(0, n, units + 3), -1).astype(np.int32)
    hidden, quality = rng.random(units + 3) < 0.1, rng.random(units + 3)
    controller = rng.integers(0, nf, n).astype(np.int64)
    garrisoned = rng.random(n) < 0.2
    cols = (u["alive"], nxt, u["personnel"], hidden, u["routing"], u["loc"], u["faction"], quality, u["morale"])
    here, pc, ec, battle = np.zeros(units, dtype=bool), np.zeros((n, nc)), np.zeros((n, nc)), np.zeros(n, dtype=bool)
    got_garrisoned = garrisoned.copy()
    presence_at(units, *cols, w["coalition_of"], w["hostile_c"], controller, got_garrisoned, here, pc, ec, battle)
    ref = presence(n, *(a[:units] for a in cols), w["coalition_of"], w["hostile_c"])
    for a, b in zip((here, pc, ec, battle), ref):
        _same(a, b)
    ref_garrisoned = garrisoned | (ref[1][np.arange(n), w["coalition_of"][controller]] > 0)
    _same(got_garrisoned, ref_garrisoned)


def test_day_violence_matches_numpy():
    rng = np.random.default_rng(1000)
    for n in (0, 1, 30):
        killed, wounded = rng.integers(0, 100, (n, 5)), rng.integers(0, 100, (n, 5))
        sorties = rng.integers(0, 10, n)
        violence = np.empty(n, dtype=np.int64)
        day_violence(killed, wounded, sorties, violence)
        # The NumPy code of ConflictModel._step (commit 7f5c904).
        _same(violence, killed.sum(axis=1) + wounded.sum(axis=1) + sorties)


@pytest.mark.parametrize("seed", SEEDS)
def test_day_morale_matches_numpy(seed):
    rng = np.random.default_rng(1100 + seed)
    n, nf, units = 25, 4, int(rng.integers(0, 80))
    u, w = _units(rng, units + 3, n, nf), _world(rng, n, nf)
    nc = w["hostile_c"].shape[0]
    open_road = _roads(rng, n)
    controller = rng.integers(0, nf, n).astype(np.int64)
    ctrl_c = w["coalition_of"][controller]
    airlift = w["government"] & (rng.random(nf) < 0.5)
    rear = np.where(rng.random(nf) < 0.2, -1, rng.integers(0, n, nf)).astype(np.int64)
    sympathy, battle = rng.random(n), rng.random(n) < 0.3
    here = u["here"][:units]
    got_ctrl_c, enemy_here = np.empty(n, dtype=np.int64), np.empty((n, nc), dtype=bool)
    morale, rout, coalitions = u["morale"].copy(), np.empty(units, dtype=np.int64), np.empty(nc, dtype=bool)
    k = day_morale(units, u["alive"], u["personnel"], u["faction"], u["loc"], morale, u["base_morale"], here,
                   u["routing"], w["government"], airlift, rear, w["coalition_of"], w["hostile_c"], controller,
                   w["personnel_c"], open_road, w["value"], sympathy, battle, 2, 0.1, 0.05, 0.2, 0.3, got_ctrl_c,
                   enemy_here, rout, coalitions)

    # The NumPy code of ConflictModel._morale (commit 7f5c904), with the compiled daily_morale it called.
    _same(got_ctrl_c, ctrl_c)
    alive = u["alive"][:units] & (u["personnel"][:units] > 0)
    fac, loc = u["faction"][:units], u["loc"][:units]
    gov = w["government"][fac]
    cutoff = np.zeros(units, dtype=bool)
    ref_enemy = w["personnel_c"] @ w["hostile_c"].T > 0
    _same(enemy_here, ref_enemy)
    for f in np.unique(fac[alive & gov]):
        c = w["coalition_of"][f]
        labels = _labels(open_road, ~w["hostile_c"][c, ctrl_c] & ~ref_enemy[:, c])
        reachable = np.zeros(n, dtype=bool) if rear[f] < 0 or labels[rear[f]] < 0 else labels == labels[rear[f]]
        cut_places = ~reachable
        if airlift[f]:
            held_cut = np.flatnonzero(cut_places & (ctrl_c == c))
            cut_places[held_cut[np.argsort(-w["value"][held_cut], kind="stable")][:2]] = False
        cutoff |= alive & (fac == f) & cut_places[loc]
    m = u["morale"].copy()
    daily_morale(m[:units], u["base_morale"][:units], cutoff, sympathy[loc], gov, ~battle[loc] & ~cutoff,
                 0.1, 0.05, 0.2)
    _same(morale, m)
    _same(rout[:k], np.flatnonzero(alive & here & ~u["routing"][:units] & (m[:units] < 0.3)))
