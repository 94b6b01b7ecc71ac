"""The structures that let large theatres fit in memory give the numbers of the plain ones (issue 21).

Each test runs a small generated theatre twice, once as shipped and once with a structure forced into the shape it
takes on a large theatre (a pool of people on the road that has to grow, a cache of choices too small for every
pair), and asks for the same run: same civilians by origin and place, same people on the road, same control; and
the world's roads, kept road by road, read as the dense matrices they replace.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simulation import world as world_module
from simulation.civilians import displacement, travel
from simulation.engine.model import ConflictModel
from simulation.generate import generate_theatre
from simulation.rules import routing
from simulation.scenario import load_scenario
from simulation.world import ROAD_SPEED_PARAMETER, World


@pytest.fixture(scope="module")
def theatre(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_theatre(tmp_path_factory.mktemp("scale") / "t", 150, days=25, seed=4)


def _run(theatre: Path) -> tuple[ConflictModel, list[np.ndarray]]:
    displacement.ROUTE_CACHE.clear()
    world_module.ROUTE_CACHE.clear()
    model = ConflictModel(theatre, seed=3, days=25).run()
    civ = model.civilians
    return model, [civ.residents_by_origin, civ.cohort_by_origin, civ.cohort_days, civ._fleeing, civ._returning,
                   civ.fleeing_days, civ.returning_days, civ.within_by_origin, civ.killed_by_origin,
                   np.asarray(model.controller)]


def _assert_same(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_a_pool_of_people_on_the_road_that_grows_gives_the_same_run(theatre, monkeypatch):
    model, shipped = _run(theatre)
    assert model.civilians.on_road_entries > 0  # people were on the road at the end
    monkeypatch.setattr(displacement, "ROAD_POOL_ENTRIES", 1)  # the pools double from one entry
    grown, small = _run(theatre)
    _assert_same(shipped, small)
    assert grown.civilians._packed_fleeing[1].shape[0] > 1
    assert grown.civilians.balance() == 0


def test_a_cache_of_choices_shared_between_pairs_gives_the_same_run(theatre, monkeypatch):
    _, shipped = _run(theatre)
    monkeypatch.setattr(travel, "CHOICE_CACHE_BYTES", 200)  # a few rows for every (place, origin) pair
    _, shared = _run(theatre)
    _assert_same(shipped, shared)


@pytest.mark.parametrize(("repair_most", "repair_reach", "recent_masks"),
                         [(0, 0.3, 3),  # every set of routes computed anew
                          (10**9, 0.0, 3),  # repaired, every destination needing it searched anew
                          (10**9, 10.0, 1),  # repaired place by place, the sides' routes from one mask kept
                          (10**9, 10.0, 5)])  # ... from five masks (repaired in place once five are kept)
def test_routes_repaired_or_searched_anew_give_the_same_run(theatre, monkeypatch, repair_most, repair_reach,
                                                             recent_masks):
    # The sides' and the civilians' routes are repaired from the last ones kept (in place, for the sides, once
    # as many are kept as fit), a destination at a time searched anew when its repair would reach many places:
    # a run is the same whichever way each set of routes was found, and repairs happened.
    searched = []

    def counted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        searched.append(kwargs.get("previous") is not None)
        return routes_by_destination(*args, **kwargs)

    routes_by_destination = routing.routes_by_destination
    monkeypatch.setattr(world_module, "routes_by_destination", counted)
    monkeypatch.setattr(displacement, "routes_by_destination", counted)
    _, shipped = _run(theatre)
    assert sum(searched) > 10  # repaired from earlier routes, mostly
    monkeypatch.setattr(routing, "REPAIR_MOST", repair_most)
    monkeypatch.setattr(routing, "REPAIR_REACH", repair_reach)
    monkeypatch.setattr(world_module, "RECENT_MASKS", recent_masks)
    _, other = _run(theatre)
    _assert_same(shipped, other)


def test_the_worlds_roads_read_as_the_dense_matrices_they_replace(theatre):
    scenario = load_scenario(theatre)
    world = World(scenario, dict(scenario.parameters))
    n, index = world.n, world.index
    km, speed = np.zeros((n, n)), np.zeros((n, n))
    for r in scenario.roads:
        i, j = index[r.a], index[r.b]
        km[i, j] = km[j, i] = r.km
        speed[i, j] = speed[j, i] = scenario.parameters[ROAD_SPEED_PARAMETER[r.kind]]
    np.testing.assert_array_equal(world.road_km.toarray(), km)
    np.testing.assert_array_equal(world.road_speed.toarray(), speed)
    a, b = np.random.default_rng(1).integers(0, n, (2, 2000))
    a[:300], b[:300] = world.edges.a[:300], world.edges.b[:300]  # roads, and mostly no road
    np.testing.assert_array_equal(world.road_km[a, b], km[a, b])
    np.testing.assert_array_equal(world.open_road[a, b], km[a, b] > 0)
    assert world.road_km[int(a[0]), int(b[0])] == km[a[0], b[0]]
    r = scenario.roads[0]
    i, j = index[r.a], index[r.b]
    world.set_road(r.a, r.b, False)  # closed both ways, and the routes go round it
    assert not world.open_road[i, j] and not world.open_road[j, i]
    assert int(np.asarray(world.open_road).sum()) == int((km > 0).sum()) - 2
    assert world.next_hop[i, j] != j and world.next_hop[j, i] != i
