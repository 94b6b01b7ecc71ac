"""The civilians' bounded destinations on a large theatre (issue 21, part 4), forced on small theatres.

Above ``DENSE_MOST_PLACES`` places the civilians consider only the destinations within reach of each place
(:mod:`simulation.civilians.bounded`). These tests lower the threshold through the model's argument, so that a
150-place theatre takes the bounded path, and check what a user relies on there: the routes within the bound are
the complete routes, repaired routes are those searched anew, people and personnel are conserved every day, the
same seed gives the same run, and with a bound beyond the theatre's widest route the run is the plain one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simulation import world as world_module
from simulation.civilians import displacement
from simulation.civilians.bounded import DESTINATION_REACH, bounded_routes, far_routes, home_routes
from simulation.civilians.displacement import DENSE_MOST_PLACES, Routes, civilian_routes, hop_matrix
from simulation.engine.model import ConflictModel
from simulation.generate import generate_theatre
from simulation.rules import orders
from simulation.rules.state import LEDGER
from simulation.scenario import load_scenario
from simulation.world import World

DAYS = 25


@pytest.fixture(scope="module")
def theatre(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_theatre(tmp_path_factory.mktemp("bounded") / "t", 150, days=DAYS, seed=4)


def _state(model: ConflictModel) -> list[np.ndarray]:
    civ = model.civilians
    return [civ.residents_by_origin, civ.cohort_by_origin, civ.cohort_days, civ._fleeing, civ._returning,
            civ.within_by_origin, civ.killed_by_origin, np.asarray(model.controller), model.rec_present,
            model.rec_killed]


def _run(theatre: Path, dense_most_places: int, **parameters: float) -> ConflictModel:
    displacement.ROUTE_CACHE.clear()
    world_module.ROUTE_CACHE.clear()
    return ConflictModel(theatre, seed=3, days=DAYS, dense_most_places=dense_most_places, **parameters).run()


def test_the_iraq_and_small_theatres_take_the_complete_routes(theatre):
    assert DENSE_MOST_PLACES >= 150
    model = ConflictModel(theatre, seed=3, days=1)
    assert model.civilians.reach_km is None
    assert ConflictModel("iraq_june_2014", seed=1, days=1).civilians.reach_km is None


@pytest.mark.parametrize("reach_km", [40.0, 120.0, np.inf])
def test_bounded_routes_are_the_complete_routes_within_the_bound(theatre, reach_km):
    scenario = load_scenario(theatre)
    world = World(scenario, dict(scenario.parameters))
    rng = np.random.default_rng(7)
    n = world.n
    passable = rng.random(n) > 0.1
    before = None
    for _ in range(6):
        complete = civilian_routes(world.road_km, world.open_road, passable, edges=world.edges)
        routes, searched = bounded_routes(world.edges, world.road_km, world.open_road, passable, reach_km)
        km, nxt = routes.dense()
        assert searched == n
        assert routes.place.size == np.isfinite(km).sum()  # only the places within the bound are kept
        # The hop matrix of the lists is the hop matrix of the (n, n) routes.
        slots = displacement.road_slots(world.road_km, 5.0)
        got, want = hop_matrix(routes, slots, 100.0), hop_matrix(Routes(km, nxt), slots, 100.0)
        for x, y in zip(got, want):
            np.testing.assert_array_equal(x, y)
        inside = complete.to_km <= reach_km
        assert inside.sum() > n  # more than the places themselves
        np.testing.assert_array_equal(km[inside], complete.to_km[inside])
        np.testing.assert_array_equal(nxt[inside], complete.to_next[inside])
        assert np.isinf(km[~inside]).all() and (nxt[~inside] == -1).all()
        if np.isfinite(reach_km):
            assert (~inside).any()
        if before is not None:  # repaired from the last mask's routes: the same, fewer destinations searched
            repaired, redone = bounded_routes(world.edges, world.road_km, world.open_road, passable, reach_km,
                                              before)
            again, again_next = repaired.dense()
            np.testing.assert_array_equal(again, km)
            np.testing.assert_array_equal(again_next, nxt)
            if np.isfinite(reach_km):
                assert 0 < redone < n
        before = (passable, routes)
        passable = passable.copy()
        passable[rng.choice(n, 2, replace=False)] ^= True  # a battle starts or ends


def test_routes_home_beyond_the_bound_follow_the_world(theatre):
    scenario = load_scenario(theatre)
    world = World(scenario, dict(scenario.parameters))
    passable = np.ones(world.n, dtype=bool)
    passable[world.population0.argmax()] = False
    routes, _ = bounded_routes(world.edges, world.road_km, world.open_road, passable, 60.0)
    km, nxt = routes.dense()
    home = home_routes(routes, far_routes(world.next_hop, world.distance_km, 60.0))
    near = world.distance_km.T <= 60.0
    assert near.any() and (~near).any()
    np.testing.assert_array_equal(home[near], nxt[near])
    np.testing.assert_array_equal(home[~near], world.next_hop.T[~near])


def test_forced_bounded_path_conserves_people_and_personnel_every_day(theatre):
    model = ConflictModel(theatre, seed=3, days=DAYS, dense_most_places=10)
    civ = model.civilians
    assert civ.reach_km == DESTINATION_REACH * model.p["destination_distance_km"]
    for day in range(DAYS):
        model.step()
        assert civ.balance() == 0, f"day {day}"
        led = model.rec_ledger[day]
        inflow = led[LEDGER.index("initial")] + led[LEDGER.index("recruited")] + led[LEDGER.index("reinforced")]
        outflow = led[-1] + led[LEDGER.index("killed")] + led[LEDGER.index("wounded")] + led[LEDGER.index("deserted")]
        np.testing.assert_array_equal(inflow, outflow, err_msg=f"day {day}")
    assert civ.total_displaced > 0
    # No place's choices hold a destination beyond the bound.
    hops = civ._hops(np.ones(civ.n, dtype=bool), float(model.p["destination_nesting"]))
    scale = float(model.p["destination_distance_km"]) * float(model.p["destination_nesting"])
    assert hops.data.min() >= np.exp(-civ.reach_km / scale) * (1 - 1e-12)


def test_forced_bounded_path_same_seed_same_run_and_it_differs_from_the_complete_one(theatre):
    a, b = _run(theatre, 10), _run(theatre, 10)
    for x, y in zip(_state(a), _state(b)):
        np.testing.assert_array_equal(x, y)
    assert a.log == b.log
    complete = _run(theatre, DENSE_MOST_PLACES)
    assert not all(np.array_equal(x, y) for x, y in zip(_state(a), _state(complete)))


def test_a_bound_beyond_every_route_gives_the_complete_run(theatre, monkeypatch):
    # destination_distance_km 2000: the bound (10,000 km) is beyond the theatre's widest route, so the civilians'
    # bounded path (its routes, repairs, hop matrices and routes home) must give the complete path's run, bit for
    # bit, once the commands take their products unit by unit on both paths.
    monkeypatch.setattr(orders, "_strength_over", lambda state, strength, row, reach: strength @ reach[row])
    scenario = load_scenario(theatre)
    world = World(scenario, dict(scenario.parameters))
    assert world.distance_km.max() < DESTINATION_REACH * 2000
    bounded, complete = _run(theatre, 10, destination_distance_km=2000), \
        _run(theatre, DENSE_MOST_PLACES, destination_distance_km=2000)
    assert bounded.civilians.reach_km is not None and complete.civilians.reach_km is None
    for x, y in zip(_state(bounded), _state(complete)):
        np.testing.assert_array_equal(x, y)
    assert bounded.log == complete.log


def test_strengths_summed_by_row_above_the_threshold(theatre):
    # Up to the threshold the product is BLAS's over every unit's copy of its row (the golden runs' numbers);
    # above it the strengths are summed by distinct row first: the same sums to rounding.
    rng = np.random.default_rng(3)
    reach = rng.random((40, 150)) * (rng.random((40, 150)) < 0.3)
    row = rng.integers(0, 40, 900)
    strength = rng.random(900) * 1000
    dense = ConflictModel(theatre, seed=3, days=1).state
    bounded = ConflictModel(theatre, seed=3, days=1, dense_most_places=10).state
    assert dense.world.dense and not bounded.world.dense
    np.testing.assert_array_equal(orders._strength_over(dense, strength, row, reach), strength @ reach[row])
    summed = orders._strength_over(bounded, strength, row, reach)
    np.testing.assert_allclose(summed, strength @ reach[row], rtol=1e-12)
    want = np.zeros(150)
    for u in range(900):
        want += strength[u] * reach[row[u]]
    np.testing.assert_allclose(summed, want, rtol=1e-12)
