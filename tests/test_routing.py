"""Compiled graph routines (simulation/routing.py) against SciPy's: the same shortest distances and routes on
random road graphs, the same partition into connected components, and ties broken the documented way."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

from simulation.rules.routing import component_labels, routes_into, shortest_paths


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
