"""Routing: shortest routes over the open roads, and the connected parts of the road network.

A route's length is the sum of its roads' lengths: road km for civilians, travel days ``km / speed`` at
mobility 1 for forces, ``speed`` by road kind (``speed_highway_km``, ``speed_road_km``, ``speed_track_km``,
``speed_river_km``). A side's routes may end at, but not pass through, places held by its enemies (no road leads
on out of them: :class:`simulation.rules.state.SideRoutes`); civilians' routes never enter a place with a battle
or a closed checkpoint (:func:`simulation.civilians.displacement.civilian_routes`). Ties between routes of
exactly equal length are broken the same way every time: places leave the queue in order of distance, then of
index, and a place's predecessor changes only when a strictly shorter route is found, so the first place (in
that order) to reach it by a shortest route is its predecessor.

Parameters read: the road speeds above (through the world's matrices). No random draws.

Entries: :func:`routes_into` (routes toward every place, avoiding places), :func:`shortest_paths` (Dijkstra
from every place) and :func:`component_labels`. The graph has some seventy places and a few hundred directed
roads; SciPy's ``csgraph`` routines spend most of their time on that size validating and converting their input
(about 0.2 ms a call, against some 20 us of work), and routes are needed every time a place changes hands, so
these are the same algorithms, compiled, on the same CSR arrays. ``tests/test_routing.py`` checks them against
SciPy and against NetworkX's shortest paths on the scenarios' road networks.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def _precedes(da: float, va: int, db: float, vb: int) -> bool:
    """Whether (distance, place) ``(da, va)`` leaves the queue before ``(db, vb)``."""
    return da < db or (da == db and va < vb)


@njit(cache=True)
def _push(heap_d: np.ndarray, heap_v: np.ndarray, size: int, d: float, v: int) -> int:
    """Push (d, v) on the binary min-heap of ``size`` entries ordered by (distance, place); return the size."""
    i = size
    while i > 0:  # sift up
        parent = (i - 1) // 2
        if not _precedes(d, v, heap_d[parent], heap_v[parent]):
            break
        heap_d[i], heap_v[i] = heap_d[parent], heap_v[parent]
        i = parent
    heap_d[i], heap_v[i] = d, v
    return size + 1


@njit(cache=True)
def _pop(heap_d: np.ndarray, heap_v: np.ndarray, size: int) -> int:
    """Remove the heap's first entry (read it before calling); return the new size."""
    size -= 1
    d, v = heap_d[size], heap_v[size]
    i = 0
    while 2 * i + 1 < size:  # sift the last entry down from the top
        child = 2 * i + 1
        if child + 1 < size and _precedes(heap_d[child + 1], heap_v[child + 1], heap_d[child], heap_v[child]):
            child += 1
        if not _precedes(heap_d[child], heap_v[child], d, v):
            break
        heap_d[i], heap_v[i] = heap_d[child], heap_v[child]
        i = child
    heap_d[i], heap_v[i] = d, v
    return size


def shortest_paths(indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dijkstra from every place of a directed graph in CSR form (edge ``i -> indices[k]`` of length
    ``weights[k]`` for ``k`` in ``indptr[i] .. indptr[i + 1] - 1``; lengths are non-negative).

    Returns
    -------
    dist : (n, n) array, ``dist[s, v]`` the length of the shortest path from ``s`` to ``v`` (inf if none).
    pred : (n, n) array, ``pred[s, v]`` the place before ``v`` on that path (-1 for ``v == s`` or no path).
    """
    n = indptr.size - 1
    dist = np.full((n, n), np.inf)
    pred = np.full((n, n), -1, dtype=np.int64)
    _shortest_paths(indptr, indices, weights, dist, pred)
    return dist, pred


# The compiled functions fill arrays they are given rather than return new ones: compiled code that returns an
# array calls back into Python to build it, and a signal handler (Ctrl-C, SIGTERM) that raises there is turned
# into a SystemError instead of a clean exit.


@njit(cache=True)
def _shortest_paths(indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray, dist: np.ndarray,
                    pred: np.ndarray) -> None:
    n = indptr.size - 1
    heap_d = np.empty(indices.size + 1)
    heap_v = np.empty(indices.size + 1, dtype=np.int64)
    done = np.zeros(n, dtype=np.bool_)
    for s in range(n):
        done[:] = False
        d_s, p_s = dist[s], pred[s]
        d_s[s] = 0.0
        size = _push(heap_d, heap_v, 0, 0.0, s)
        while size:
            du, u = heap_d[0], heap_v[0]
            size = _pop(heap_d, heap_v, size)
            if done[u]:
                continue
            done[u] = True
            for k in range(indptr[u], indptr[u + 1]):
                v = indices[k]
                if done[v]:
                    continue
                alt = du + weights[k]
                if alt < d_s[v]:
                    d_s[v] = alt
                    p_s[v] = u
                    size = _push(heap_d, heap_v, size, alt, v)


def routes_into(road_km: np.ndarray, length: np.ndarray, open_road: np.ndarray, no_exit: np.ndarray,
                no_entry: np.ndarray, dist: np.ndarray, next_hop: np.ndarray) -> None:
    """Shortest routes between all places over the open roads that neither leave a ``no_exit`` place nor enter a
    ``no_entry`` one (a trip may end at a ``no_exit`` place, or start at a ``no_entry`` one).

    Parameters
    ----------
    road_km : (n, n), the roads (> 0 where there is one).
    length : (n, n), each road's length for the route (km, or days).
    open_road : (n, n) bool, the roads open to traffic.
    no_exit, no_entry : (n,) bool.
    dist, next_hop : (n, n) outputs: ``dist[c, d]`` the length of the shortest route from ``c`` to ``d`` (inf if
        none) and ``next_hop[c, d]`` the place after ``c`` on it (``c`` for ``d == c``; -1 if none).

    Dijkstra runs from every destination over the reversed graph (an edge ``b -> a`` for each road ``a -> b``),
    whose edges are taken in increasing ``b``, then ``a``: the order of ``np.nonzero`` on the transposed road
    matrix, which the routes' ties depend on (see the module's docstring).
    """
    _routes_into(road_km, length, open_road, no_exit, no_entry, dist, next_hop)


@njit(cache=True)
def _routes_into(road_km: np.ndarray, length: np.ndarray, open_road: np.ndarray, no_exit: np.ndarray,
                 no_entry: np.ndarray, dist: np.ndarray, next_hop: np.ndarray) -> None:
    n = road_km.shape[0]
    indptr = np.zeros(n + 1, dtype=np.int64)
    for b in range(n):
        kept = 0
        for a in range(n):
            if open_road[a, b] and road_km[a, b] > 0 and not no_exit[a] and not no_entry[b]:
                kept += 1
        indptr[b + 1] = indptr[b] + kept
    indices = np.empty(indptr[n], dtype=np.int64)
    weights = np.empty(indptr[n])
    k = 0
    for b in range(n):
        for a in range(n):
            if open_road[a, b] and road_km[a, b] > 0 and not no_exit[a] and not no_entry[b]:
                indices[k] = a
                weights[k] = length[a, b]
                k += 1
    dist_rev = np.full((n, n), np.inf)
    pred = np.full((n, n), -1, dtype=np.int64)
    _shortest_paths(indptr, indices, weights, dist_rev, pred)
    # The predecessor of c on the reversed path from d is the next hop from c toward d.
    for c in range(n):
        for d in range(n):
            dist[c, d] = dist_rev[d, c]
            next_hop[c, d] = pred[d, c]
        next_hop[c, c] = c


def component_labels(indptr: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Connected components of the undirected graph whose edges are those of the CSR arrays, either way round:
    ``labels[v]`` is the smallest place of ``v``'s component."""
    labels = np.empty(indptr.size - 1, dtype=np.int64)
    _component_labels(indptr, indices, labels)
    return labels


@njit(cache=True)
def _component_labels(indptr: np.ndarray, indices: np.ndarray, labels: np.ndarray) -> None:
    n = indptr.size - 1
    parent = np.arange(n)
    for a in range(n):
        for k in range(indptr[a], indptr[a + 1]):
            b = indices[k]
            ra = a
            while parent[ra] != ra:
                ra = parent[ra]
            rb = b
            while parent[rb] != rb:
                rb = parent[rb]
            if ra < rb:
                parent[rb] = ra
            elif rb < ra:
                parent[ra] = rb
    for v in range(n):
        r = v
        while parent[r] != r:
            r = parent[r]
        labels[v] = r
