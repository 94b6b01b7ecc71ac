"""Compiled graph routines (simulation/rules/routing.py) against SciPy's and NetworkX's: the same shortest
distances and routes on random road graphs and on the scenarios' road networks (World.graph), the same
partition into connected components, and ties broken the documented way."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

from simulation import world as world_module
from simulation.civilians.displacement import civilian_routes
from simulation.engine.model import ConflictModel
from simulation.rules import routing
from simulation.rules.routing import (
    Previous,
    component_labels,
    road_edges,
    routes_by_destination,
    routes_into,
    shortest_paths,
)
from simulation.scenario import load_scenario
from simulation.world import World

ROOT = Path(__file__).resolve().parents[1]


def random_graph(rng: np.random.Generator, n: int, p: float) -> csr_matrix:
    dense = np.where(rng.random((n, n)) < p, rng.uniform(1.0, 100.0, (n, n)), 0.0)
    np.fill_diagonal(dense, 0.0)
    return csr_matrix(dense)


@pytest.mark.parametrize("seed", range(20))
def test_shortest_paths_match_scipy(seed):
    rng = np.random.default_rng(seed)
    g = random_graph(rng, int(rng.integers(2, 40)), float(rng.uniform(0.02, 0.3)))
    dist, pred = shortest_paths(g.indptr.astype(np.int64), g.indices.astype(np.int64), g.data)
    want_dist, want_pred = dijkstra(g, directed=True, return_predecessors=True)
    np.testing.assert_array_equal(dist, want_dist)  # the same sums, bit for bit
    np.testing.assert_array_equal(pred, np.where(want_pred < 0, -1, want_pred))


def test_ties_go_to_the_first_place_reached():
    # 0 -> 1 -> 3 and 0 -> 2 -> 3 are both 2 long: 3 is reached from 1 (nearer places leave the queue first,
    # then lower-numbered ones), and a later route of the same length does not replace it.
    dense = np.zeros((4, 4))
    dense[0, 1] = dense[0, 2] = dense[1, 3] = dense[2, 3] = 1.0
    g = csr_matrix(dense)
    dist, pred = shortest_paths(g.indptr.astype(np.int64), g.indices.astype(np.int64), g.data)
    assert dist[0, 3] == 2.0 and pred[0, 3] == 1
    assert pred[0, 0] == -1 and np.isinf(dist[3, 0]) and pred[3, 0] == -1


@pytest.mark.parametrize("seed", range(10))
def test_components_match_scipy(seed):
    rng = np.random.default_rng(100 + seed)
    g = random_graph(rng, int(rng.integers(1, 50)), float(rng.uniform(0.0, 0.1)))
    labels = component_labels(g.indptr.astype(np.int64), g.indices.astype(np.int64))
    _, want = connected_components(g, directed=False)
    same = labels[:, None] == labels[None, :]
    np.testing.assert_array_equal(same, want[:, None] == want[None, :])
    assert (labels <= np.arange(labels.size)).all()  # each component is named by its smallest place


def test_routes_into_may_end_at_but_not_pass_a_no_exit_place():
    # A line 0 - 1 - 2: with 1 closed to exit, 0 reaches 1 but not 2, and nothing leaves 1; with 1 closed to
    # entry, 0 reaches neither, but 1 itself may leave.
    road_km = np.zeros((3, 3))
    road_km[0, 1] = road_km[1, 0] = road_km[1, 2] = road_km[2, 1] = 10.0
    dist, nxt = np.empty((3, 3)), np.empty((3, 3), dtype=np.int64)
    no, one = np.zeros(3, dtype=bool), np.array([False, True, False])
    routes_into(road_km, road_km, road_km > 0, one, no, dist, nxt)
    assert dist[0, 1] == 10.0 and nxt[0, 1] == 1 and np.isinf(dist[0, 2]) and nxt[0, 2] == -1
    assert np.isinf(dist[1, 2]) and nxt[1, 0] == -1 and nxt[2, 2] == 2 and dist[2, 1] == 10.0
    routes_into(road_km, road_km, road_km > 0, no, one, dist, nxt)
    assert nxt[0, 1] == -1 and nxt[0, 2] == -1 and dist[1, 2] == 10.0 and nxt[1, 0] == 0


def _routes(road_km, length, open_road, no_exit, no_entry, previous=None):
    n = road_km.shape[0]
    dist, nxt = np.empty((n, n)), np.empty((n, n), dtype=np.int64)
    searched = routes_into(road_km, length, open_road, no_exit, no_entry, dist, nxt, previous=previous)
    return dist, nxt, searched


@pytest.mark.parametrize("seed", range(40))
def test_repaired_routes_are_the_routes_computed_anew(seed):
    # Roads of whole km (many routes of equal length: ties), lengths symmetric or not, some roads closed one way;
    # then some places change masks. Repairing the old routes gives the new ones bit for bit, ties included.
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 60))
    road_km = np.where(rng.random((n, n)) < rng.uniform(0.03, 0.3), rng.integers(1, 6, (n, n)), 0).astype(float)
    road_km = np.maximum(road_km, road_km.T)
    np.fill_diagonal(road_km, 0.0)
    length = road_km if seed % 2 else road_km / rng.choice([50.0, 80.0], (n, n))
    open_road = (road_km > 0) & (rng.random((n, n)) < (0.9 if seed % 3 == 0 else 1.0))
    no_exit, no_entry = rng.random(n) < rng.uniform(0, 0.3), rng.random(n) < rng.uniform(0, 0.3)
    old_dist, old_next, _ = _routes(road_km, length, open_road, no_exit, no_entry)
    for share in (0.0, 0.05, 0.3):
        new_exit, new_entry = no_exit ^ (rng.random(n) < share), no_entry ^ (rng.random(n) < share)
        want_dist, want_next, _ = _routes(road_km, length, open_road, new_exit, new_entry)
        dist, nxt, searched = _routes(road_km, length, open_road, new_exit, new_entry,
                                      Previous(no_exit, no_entry, old_dist, old_next))
        np.testing.assert_array_equal(dist, want_dist)
        np.testing.assert_array_equal(nxt, want_next)
        if share == 0.0:
            assert searched == 0


def _random_roads(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Roads of whole km (ties), lengths symmetric or not, some roads closed one way."""
    road_km = np.where(rng.random((n, n)) < rng.uniform(0.03, 0.3), rng.integers(1, 6, (n, n)), 0).astype(float)
    road_km = np.maximum(road_km, road_km.T)
    np.fill_diagonal(road_km, 0.0)
    length = road_km if rng.random() < 0.5 else road_km / rng.choice([50.0, 80.0], (n, n))
    return road_km, length, (road_km > 0) & (rng.random((n, n)) < 0.9)


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize(("repair_most", "repair_reach"), [(0, 0.25), (3, 0.25), (10**9, 0.25), (10**9, 0.0),
                                                           (10**9, 0.1), (10**9, 10.0)])
def test_routes_by_destination_are_the_routes_transposed(seed, repair_most, repair_reach, monkeypatch):
    # The routes kept by destination (repaired in place from the last ones, or computed anew when many places
    # changed: REPAIR_MOST; in a repair, a destination whose repair reaches more than REPAIR_REACH of the places
    # is searched anew: with 0 every destination needing a repair is, with 10 none) are routes_into's,
    # transposed, bit for bit, over a series of masks.
    monkeypatch.setattr(routing, "REPAIR_MOST", repair_most)
    monkeypatch.setattr(routing, "REPAIR_REACH", repair_reach)
    rng = np.random.default_rng(1000 + seed)
    n = int(rng.integers(1, 50))
    road_km, length, open_road = _random_roads(rng, n)
    edges = road_edges(road_km) if seed % 2 else None
    dist, nxt = np.empty((n, n)), np.empty((n, n), dtype=np.int64)
    previous = None
    for share in (0.2, 0.0, 0.05, 0.5, 0.02):
        base = (np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)) if previous is None else previous[:2]
        no_exit, no_entry = base[0] ^ (rng.random(n) < share), base[1] ^ (rng.random(n) < share)
        want_dist, want_next, _ = _routes(road_km, length, open_road, no_exit, no_entry)
        searched = routes_by_destination(road_km, length, open_road, no_exit, no_entry, dist, nxt, previous, edges)
        np.testing.assert_array_equal(dist, want_dist.T)
        np.testing.assert_array_equal(nxt, want_next.T)
        changed = 0 if previous is None else int(((no_exit != base[0]) | (no_entry != base[1])).sum())
        if previous is None or changed > repair_most:
            assert searched == n
        elif changed == 0:
            assert searched == 0
        previous = Previous(no_exit, no_entry, dist, nxt)  # repaired in place next time


def test_a_world_repairs_its_sides_routes_to_the_routes_computed_anew(tmp_path):
    # A generated theatre's sides' routes, asked for mask after mask (each repaired from the nearest of the last
    # few kept, or computed anew when many places changed), are those of a world that never saw another mask;
    # and civilians' routes repaired from the last ones are those computed anew.
    from simulation.generate import generate_theatre

    scenario = load_scenario(generate_theatre(tmp_path / "t", 150, seed=3))
    world = World(scenario, scenario.parameters)
    n = world.n
    rng = np.random.default_rng(5)
    mask = rng.random(n) < 0.3
    last = None
    for _ in range(12):
        flip = rng.choice(n, int(rng.choice([1, 2, 5, 40])), replace=False)
        mask = mask.copy()
        mask[flip] = ~mask[flip]
        days, nxt = world.routes_avoiding(mask)
        fresh = World(scenario, scenario.parameters)  # nothing kept to repair from
        want_days, want_next = fresh._routes_avoiding(mask)  # computed anew (not from the shared cache)
        np.testing.assert_array_equal(days, want_days)
        np.testing.assert_array_equal(nxt, want_next)
        routes = civilian_routes(world.road_km, world.open_road, ~mask, last, world.edges)
        want = civilian_routes(world.road_km, world.open_road, ~mask)
        np.testing.assert_array_equal(routes.to_km, want.to_km)
        np.testing.assert_array_equal(routes.next_hop, want.next_hop)
        last = (~mask, routes)


@pytest.mark.parametrize("recent_masks", [1, 2, 3])
def test_a_world_repairing_in_place_keeps_each_masks_own_routes(tmp_path, monkeypatch, recent_masks):
    # Two sides' masks, each a place or two from its last, asked for in turn and coming back to earlier ones:
    # once a world keeps as many masks' routes as fit, it repairs the nearest in place, and what it keeps for
    # each mask must be that mask's routes (a stale set would repair to wrong routes).
    from simulation.generate import generate_theatre

    monkeypatch.setattr(world_module, "RECENT_MASKS", recent_masks)
    scenario = load_scenario(generate_theatre(tmp_path / "t", 120, seed=5))
    world, fresh = World(scenario, scenario.parameters), World(scenario, scenario.parameters)
    n = world.n
    rng = np.random.default_rng(8)
    first = rng.random(n) < 0.4
    masks = [first, ~first]
    for i in range(16):
        side = i % 2
        if i % 5 == 4:
            mask = masks[side - 2]  # back to this side's mask before its last
        else:
            mask = masks[-2].copy()
            flip = rng.choice(n, int(rng.integers(1, 4)), replace=False)
            mask[flip] = ~mask[flip]
        masks.append(mask)
        days, nxt = world._routes_avoiding(mask)
        want_days, want_next = fresh._routes_avoiding(mask)
        fresh._recent_avoiding = []  # computed anew every time
        np.testing.assert_array_equal(days, want_days)
        np.testing.assert_array_equal(nxt, want_next)


def test_a_blocked_leaf_repairs_only_the_routes_toward_it():
    # A line 0 - 1 - 2 - 3: closing the end 3 to entry changes the routes toward 3 only.
    road_km = np.zeros((4, 4))
    for a in range(3):
        road_km[a, a + 1] = road_km[a + 1, a] = 5.0
    no = np.zeros(4, dtype=bool)
    dist, nxt, _ = _routes(road_km, road_km, road_km > 0, no, no)
    closed = np.array([False, False, False, True])
    new_dist, new_nxt, searched = _routes(road_km, road_km, road_km > 0, no, closed, Previous(no, no, dist, nxt))
    assert searched == 1
    assert np.isinf(new_dist[:3, 3]).all() and (new_nxt[:3, 3] == -1).all()
    np.testing.assert_array_equal(new_dist[:, :3], dist[:, :3])


def _lengths(g: nx.Graph | nx.DiGraph, ids: list[str], weight: str) -> np.ndarray:
    """NetworkX's shortest path lengths between all places (inf where there is no path), as a matrix."""
    out = np.full((len(ids), len(ids)), np.inf)
    index = {p: i for i, p in enumerate(ids)}
    for a, lengths in nx.all_pairs_dijkstra_path_length(g, weight=weight):
        for b, d in lengths.items():
            out[index[a], index[b]] = d
    return out


def _check_next_hops(days: np.ndarray, next_hop: np.ndarray, step: np.ndarray) -> None:
    """Every next hop toward a reachable place is its first step on a shortest route (``step[a, h]``: the road's
    length), and unreachable places have none."""
    n = days.shape[0]
    for a in range(n):
        for b in range(n):
            h = next_hop[a, b]
            if a == b:
                assert h == a
            elif np.isinf(days[a, b]):
                assert h == -1
            else:
                assert step[a, h] > 0 and np.isclose(step[a, h] + days[h, b], days[a, b], rtol=1e-12)


def _directed(g: nx.Graph, no_exit: set[str] = frozenset(), no_entry: set[str] = frozenset()) -> nx.DiGraph:
    """The open roads of ``g`` in both directions, except those leaving a ``no_exit`` place or entering a
    ``no_entry`` one."""
    d = nx.DiGraph()
    d.add_nodes_from(g.nodes)
    for a, b, data in g.edges(data=True):
        for x, y in ((a, b), (b, a)):
            if data["open"] and x not in no_exit and y not in no_entry:
                d.add_edge(x, y, **data)
    return d


@pytest.mark.parametrize("name", ["toy", "iraq_june_2014"])
def test_routes_are_networkx_shortest_paths_on_the_scenarios_roads(name):
    scenario = load_scenario(ROOT / "scenarios" / name)
    world = World(scenario, scenario.parameters)
    ids, n = world.place_ids, world.n
    g = world.graph()
    assert nx.is_connected(g) and g.number_of_edges() == len({frozenset((r.a, r.b)) for r in scenario.roads})
    step_days, step_km = world.road_km / np.where(world.road_speed > 0, world.road_speed, 1), world.road_km
    # The whole network: SciPy's routes in World and the compiled ones with nothing to avoid.
    want_days, want_km = _lengths(g, ids, "days"), _lengths(g, ids, "km")
    np.testing.assert_allclose(world.travel_days, want_days, rtol=1e-12)
    np.testing.assert_allclose(world.distance_km, want_km, rtol=1e-12)
    _check_next_hops(world.travel_days, world.next_hop, step_days)
    days, next_hop = world.routes_avoiding(np.zeros(n, dtype=bool))
    np.testing.assert_allclose(days, want_days, rtol=1e-12)
    _check_next_hops(days, next_hop, step_days)
    # Routes that may end at, but not pass through, some places (a side's enemies' places), and civilians'
    # routes that never enter impassable places, with a road closed.
    rng = np.random.default_rng(len(ids))
    a, b = scenario.roads[0].a, scenario.roads[0].b
    world.set_road(a, b, False)
    g = world.graph()
    assert not g.edges[a, b]["open"]
    for _ in range(5):
        avoid = rng.random(n) < 0.3
        days, next_hop = world.routes_avoiding(avoid)
        blocked = {ids[i] for i in np.flatnonzero(avoid)}
        want = _lengths(_directed(g, no_exit=blocked), ids, "days")
        np.testing.assert_allclose(days, want, rtol=1e-12)
        _check_next_hops(days, next_hop, np.where(world.open_road, step_days, 0))
        routes = civilian_routes(world.road_km, world.open_road, ~avoid)
        want = _lengths(_directed(g, no_entry=blocked), ids, "km")
        np.testing.assert_allclose(routes.distance_km, want, rtol=1e-12)
        _check_next_hops(routes.distance_km, routes.next_hop, np.where(world.open_road, step_km, 0))


def test_the_road_network_exports_with_the_state_of_the_day(tmp_path):
    m = ConflictModel(ROOT / "scenarios" / "toy", seed=1, days=6).run()
    path = tmp_path / "roads.graphml"
    nx.write_graphml(m.road_network(), path)
    g = nx.read_graphml(path)
    assert sorted(g.nodes) == sorted(m.world.place_ids)
    for i, pid in enumerate(m.world.place_ids):
        assert g.nodes[pid]["controller"] == m.faction_ids[m.controller[i]]
        assert g.nodes[pid]["residents"] + g.nodes[pid]["displaced"] == m.civilians.present[i]
    assert all(data["open"] for _, _, data in g.edges(data=True))
