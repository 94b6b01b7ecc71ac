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

Entries: :func:`routes_into` (routes toward every place, avoiding places), :func:`shortest_paths` (Dijkstra from
every place), :func:`component_labels`, and :class:`RouteRows` (a side's routes read a row at a time, from the
matrices or, on a large theatre, each row searched when first asked for). The graph has some seventy places and a
few hundred directed roads; SciPy's ``csgraph`` routines spend most of their time on that size validating and
converting their input (about 0.2 ms a call, against some 20 us of work), and routes are needed every time a place
changes hands, so these are the same algorithms, compiled, on the same CSR arrays. ``tests/test_routing.py`` checks
them against SciPy and against NetworkX's shortest paths on the scenarios' road networks.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, types
from numba.extending import overload


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
    scratch = search_scratch(n, indices.size)
    for s in range(n):
        _dijkstra(indptr, indices, weights, s, dist[s], pred[s], scratch, np.inf)


@njit(cache=True)
def search_scratch(n: int, edges: int) -> tuple:
    """Scratch arrays for :func:`_dijkstra` over ``n`` places and ``edges`` edges: ``(heap_d, heap_v, done,
    settled)``."""
    return (np.empty(edges + 1), np.empty(edges + 1, dtype=np.int64), np.zeros(n, dtype=np.bool_),
            np.empty(n, dtype=np.int64))


@njit(cache=True)
def _dijkstra(indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray, s: int, d_s: np.ndarray,
              p_s: np.ndarray, scratch: tuple, limit: float) -> int:
    """Dijkstra from ``s`` into ``d_s`` and ``p_s`` (inf and -1 on entry), stopped at ``limit`` (places farther
    keep inf and -1; ``np.inf`` for no bound: a search stopped at a bound gives the complete search's lengths and
    predecessors within it), with ``scratch`` from :func:`search_scratch` (its ``done`` all False on entry and on
    return). Returns how many places were settled."""
    heap_d, heap_v, done, settled = scratch
    d_s[s] = 0.0
    size = _push(heap_d, heap_v, 0, 0.0, s)
    m = 0
    while size:
        du, u = heap_d[0], heap_v[0]
        size = _pop(heap_d, heap_v, size)
        if done[u]:
            continue
        done[u] = True
        settled[m] = u
        m += 1
        for k in range(indptr[u], indptr[u + 1]):
            v = indices[k]
            if done[v]:
                continue
            alt = du + weights[k]
            if alt <= limit and alt < d_s[v]:
                d_s[v] = alt
                p_s[v] = u
                size = _push(heap_d, heap_v, size, alt, v)
    for j in range(m):
        done[settled[j]] = False
    return m


class Previous(NamedTuple):
    """Routes computed before over the same roads, lengths and open roads, with the masks they avoided (see
    :func:`routes_into`'s ``previous``)."""

    no_exit: np.ndarray
    no_entry: np.ndarray
    dist: np.ndarray
    next_hop: np.ndarray


class Edges(NamedTuple):
    """A road network's directed roads as lists, worked out once per network (see :func:`road_edges`)."""

    a: np.ndarray  #: (E,) int64, each road's start, row-major: increasing ``a``, then ``b``
    b: np.ndarray  #: (E,) int64, its end
    indptr: np.ndarray  #: (n + 1,) int64, the roads out of ``a`` are ``indptr[a] .. indptr[a + 1] - 1``
    rev_b: np.ndarray  #: (E,) int64, the roads in increasing ``b``, then ``a``: their ends ...
    rev_a: np.ndarray  #: (E,) int64, ... and their starts


def road_edges(road_km: np.ndarray) -> Edges:
    """The roads of ``road_km`` (> 0 where there is one) as :class:`Edges`."""
    n = road_km.shape[0]
    a, b = np.nonzero(road_km > 0)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(a, minlength=n), out=indptr[1:])
    rev_b, rev_a = np.nonzero(road_km.T > 0)
    return Edges(a.astype(np.int64), b.astype(np.int64), indptr, rev_b.astype(np.int64), rev_a.astype(np.int64))


REPAIR_MOST = 40
"""Above this many places with a changed mask, routes are computed anew rather than repaired (the same result:
repairing then reaches nearly every destination). Below it, a destination that the repair would take far is
searched anew on its own (:data:`REPAIR_REACH`); the sides' repairs of 5-10 places took a quarter of the time of a
computation anew (docs/performance.md, branch scale6)."""

REPAIR_REACH = 0.15
"""In a repair, a destination whose routes from more than this share of the places were lost or shortened is
searched anew (one Dijkstra toward it: the same routes) rather than repaired: a repair does more work per place it
reaches than a search (it finds the places, searches from them and chooses their next hops again), and a change at
a well-connected place (a battle in a city, for the civilians' routes) reaches most places from many destinations
(docs/performance.md, branch scale6)."""


def routes_into(road_km: np.ndarray, length: np.ndarray, open_road: np.ndarray, no_exit: np.ndarray,
                no_entry: np.ndarray, dist: np.ndarray, next_hop: np.ndarray,
                previous: Previous | None = None) -> int:
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

    The same as :func:`routes_by_destination` (which see), with every matrix indexed [place, destination].
    Returns the number of destinations whose routes were searched again (``n`` without ``previous``).
    """
    n = road_km.shape[0]
    before = None
    if previous is not None:
        before = previous._replace(dist=previous.dist.T.copy(), next_hop=previous.next_hop.T.copy())
    dist_t, next_t = np.empty((n, n)), np.empty((n, n), dtype=np.int64)
    searched = routes_by_destination(road_km, length, open_road, no_exit, no_entry, dist_t, next_t, before)
    dist[:] = dist_t.T
    next_hop[:] = next_t.T
    return searched


def routes_by_destination(road_km: np.ndarray, length: np.ndarray, open_road: np.ndarray, no_exit: np.ndarray,
                          no_entry: np.ndarray, dist: np.ndarray, next_hop: np.ndarray,
                          previous: Previous | None = None, edges: Edges | None = None) -> int:
    """Shortest routes toward every place, as :func:`routes_into` defines them, with the outputs (and
    ``previous``'s matrices) indexed [destination, place]: ``dist[d, c]`` is the length of the shortest route
    from ``c`` to ``d`` and ``next_hop[d, c]`` the place after ``c`` on it. One destination's routes are a row,
    as they are worked out: nothing is transposed.

    Dijkstra runs from every destination over the reversed graph (an edge ``b -> a`` for each road ``a -> b``),
    whose edges are taken in increasing ``b``, then ``a``: the order of ``np.nonzero`` on the transposed road
    matrix, which the routes' ties depend on (see the module's docstring).

    ``previous``: routes computed over the same ``road_km``, ``length`` and ``open_road`` for other masks (a few
    places changed hands, or have a battle today). They are repaired instead of computed anew: for each
    destination, the places whose route took a road no longer allowed lose it, and a search from their edge,
    and from the roads newly allowed, finds the new shortest routes; next hops are then chosen again where a
    length changed. The result is the same, bit for bit, as without ``previous``: road lengths are positive, so
    the shortest lengths are the one solution of ``dist[c, d] = min over roads c -> b of dist[b, d] + length[c,
    b]`` (sums rounded alike), and Dijkstra's next hop is the ``b`` achieving it that leaves the queue first, the
    smallest ``(dist[b, d], b)``: a function of the lengths alone, whatever the order of the search. With more
    than :data:`REPAIR_MOST` places changed, the routes are computed anew (the same result). ``previous``'s
    arrays may be ``dist`` and ``next_hop`` themselves (repaired in place).

    ``edges``: :func:`road_edges` of ``road_km``, if the caller keeps it (else worked out here).

    Returns the number of destinations whose routes were searched again (``n`` when computed anew).
    """
    n = road_km.shape[0]
    e = road_edges(road_km) if edges is None else edges
    a, b = e.a, e.b
    changed = None
    if previous is not None:
        changed = np.flatnonzero((no_exit != previous.no_exit) | (no_entry != previous.no_entry))
    if changed is None or changed.size > REPAIR_MOST:
        _routes_toward(*_reversed_graph(e, length, open_road, no_exit, no_entry), dist, next_hop)
        return n
    if dist is not previous.dist:
        dist[:] = previous.dist
    if next_hop is not previous.next_hop:
        next_hop[:] = previous.next_hop
    if changed.size == 0:
        return 0
    # The roads either way as neighbour lists (row-major: slot k is the road a[k] -> b[k]), with, for each slot,
    # whether the road may be taken out of a (and its length) and into a from b (and its length).
    out_ok = open_road[a, b] & ~no_exit[a] & ~no_entry[b]
    in_ok = open_road[b, a] & ~no_exit[b] & ~no_entry[a]
    was_ok = open_road[a, b] & ~previous.no_exit[a] & ~previous.no_entry[b]
    gone, new = was_ok & ~out_ok, out_ok & ~was_ok
    return _repair_routes(e.indptr, b, out_ok, np.ascontiguousarray(length[a, b]), in_ok,
                          np.ascontiguousarray(length[b, a]), a[gone], b[gone], a[new], b[new],
                          np.ascontiguousarray(length[a[new], b[new]]), dist, next_hop,
                          _reversed_graph(e, length, open_road, no_exit, no_entry), int(REPAIR_REACH * n))


def _reversed_graph(e: Edges, length: np.ndarray, open_road: np.ndarray, no_exit: np.ndarray,
                    no_entry: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The reversed graph (an edge ``b -> a`` for each road ``a -> b`` allowed by the masks) in CSR form
    ``(indptr, indices, weights)``, its edges in increasing ``b``, then ``a``."""
    rb, ra = e.rev_b, e.rev_a
    keep = open_road[ra, rb] & ~no_exit[ra] & ~no_entry[rb]
    indptr = np.zeros(no_exit.size + 1, dtype=np.int64)
    np.cumsum(np.bincount(rb[keep], minlength=no_exit.size), out=indptr[1:])
    return indptr, ra[keep], np.ascontiguousarray(length[ra[keep], rb[keep]])


@njit(cache=True)
def _routes_toward(indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray, dist: np.ndarray,
                   next_hop: np.ndarray) -> None:
    """Dijkstra from every destination over the reversed graph in CSR form: ``dist[d, c]``, ``next_hop[d, c]``
    (the predecessor of ``c`` on the reversed path from ``d``: the next hop from ``c`` toward ``d``)."""
    n = indptr.size - 1
    for d in range(n):
        for c in range(n):
            dist[d, c] = np.inf
            next_hop[d, c] = -1
    _shortest_paths(indptr, indices, weights, dist, next_hop)
    for d in range(n):
        next_hop[d, d] = d


@njit(cache=True, inline="always")
def _relax(a: int, alt: float, dd: np.ndarray, heap: tuple, size: int, state: np.ndarray, improved: np.ndarray,
           n_improved: int) -> tuple:
    """A route of length ``alt`` from ``a``: if shorter than ``dd[a]``, keep it, push ``a`` on the heap and, the
    first time, list ``a`` as improved (``state`` 2). Returns the heap's size and the number improved."""
    if alt < dd[a]:
        dd[a] = alt
        size = _push(heap[0], heap[1], size, alt, a)
        if state[a] == 0:
            state[a] = 2
            improved[n_improved] = a
            n_improved += 1
    return size, n_improved


@njit(cache=True)
def _repair_routes(nbr_ptr: np.ndarray, nbr: np.ndarray, out_ok: np.ndarray, out_w: np.ndarray, in_ok: np.ndarray,
                   in_w: np.ndarray, gone_a: np.ndarray, gone_b: np.ndarray, new_a: np.ndarray, new_b: np.ndarray,
                   new_w: np.ndarray, dist: np.ndarray, next_hop: np.ndarray, graph: tuple, limit: int) -> int:
    """Repair ``dist`` and ``next_hop``, indexed [destination, place] (the transposes of :func:`routes_into`'s, so
    that one destination's routes are a row), holding the routes under the old masks on entry, for the new
    masks; return the number of destinations repaired. Roads: slot ``k`` of place ``a`` (``nbr_ptr[a] <= k <
    nbr_ptr[a + 1]``) is its neighbour ``nbr[k]``; ``out_ok[k]``, ``out_w[k]``: whether ``a`` may take the road to
    it now, and its length; ``in_ok[k]``, ``in_w[k]``: the same for the road from the neighbour into ``a``. Roads
    no longer allowed: ``gone_a -> gone_b``; newly allowed: ``new_a -> new_b`` of length ``new_w``. See
    :func:`routes_into`. A destination whose repair loses or shortens the routes of more than ``limit`` places
    is searched anew instead, by Dijkstra over ``graph`` (the reversed graph of the roads allowed now, CSR
    ``(indptr, indices, weights)``, as :func:`_routes_toward` searches it: the same routes)."""
    n = nbr_ptr.size - 1
    n_gone, n_new = gone_a.size, new_a.size
    state = np.zeros(n, dtype=np.int8)  # 1: lost its route (below a gone road), 2: route shortened, 0: neither
    lost = np.empty(n, dtype=np.int64)
    improved = np.empty(n, dtype=np.int64)
    mark = np.zeros(n, dtype=np.bool_)  # next hop to choose again
    redo = np.empty(n, dtype=np.int64)
    cap = nbr.size + n_new + n + 1
    scratch = search_scratch(n, cap - 1)
    heap_d, heap_v = scratch[0], scratch[1]  # the repairs' own searches use the heap too
    repaired = 0
    for d in range(n):
        dd, hd = dist[d], next_hop[d]
        need = False
        for i in range(n_gone):
            if gone_a[i] != d and hd[gone_a[i]] == gone_b[i]:
                need = True
                break
        if not need:
            for i in range(n_new):
                a, b = new_a[i], new_b[i]
                if a != d and dd[b] < np.inf and dd[b] + new_w[i] <= dd[a]:
                    need = True
                    break
        if not need:
            continue
        repaired += 1
        # 1. The places whose route to d took a gone road, and those whose route led through them.
        n_lost = 0
        for i in range(n_gone):
            a = gone_a[i]
            if a != d and state[a] == 0 and hd[a] == gone_b[i]:
                state[a] = 1
                lost[n_lost] = a
                n_lost += 1
        head = 0
        while head < n_lost:
            c = lost[head]
            head += 1
            for k in range(nbr_ptr[c], nbr_ptr[c + 1]):
                a = nbr[k]
                if a != d and state[a] == 0 and hd[a] == c:
                    state[a] = 1
                    lost[n_lost] = a
                    n_lost += 1
        if n_lost > limit:
            for i in range(n_lost):
                state[lost[i]] = 0
            _search_anew(graph, d, dd, hd, scratch, np.inf)
            continue
        for i in range(n_lost):
            dd[lost[i]] = np.inf
        # 2. Seeds: each lost place's best road to a place that kept its route, and the new roads.
        size = 0
        for i in range(n_lost):
            c = lost[i]
            best = np.inf
            for k in range(nbr_ptr[c], nbr_ptr[c + 1]):
                b = nbr[k]
                if out_ok[k] and state[b] != 1:
                    alt = dd[b] + out_w[k]
                    if alt < best:
                        best = alt
            if best < np.inf:
                dd[c] = best
                size = _push(heap_d, heap_v, size, best, c)
        n_improved = 0
        for i in range(n_new):
            a, b = new_a[i], new_b[i]
            if a == d:
                continue
            size, n_improved = _relax(a, dd[b] + new_w[i], dd, (heap_d, heap_v), size, state, improved, n_improved)
        # 3. Dijkstra from the seeds, toward the places that reach d through them (or, once it has reached more
        # than ``limit`` places, a search anew).
        while size:
            if n_lost + n_improved > limit:
                break
            dc, c = heap_d[0], heap_v[0]
            size = _pop(heap_d, heap_v, size)
            if dc != dd[c]:
                continue  # superseded by a shorter route
            for k in range(nbr_ptr[c], nbr_ptr[c + 1]):
                a = nbr[k]
                if a == d or not in_ok[k]:
                    continue
                size, n_improved = _relax(a, dc + in_w[k], dd, (heap_d, heap_v), size, state, improved, n_improved)
        if n_lost + n_improved > limit:
            for i in range(n_lost):
                state[lost[i]] = 0
            for i in range(n_improved):
                state[improved[i]] = 0
            _search_anew(graph, d, dd, hd, scratch, np.inf)
            continue
        # 4. Next hops again where a place's length or one of its neighbours' changed, or its roads did.
        n_redo = 0
        for i in range(n_lost + n_improved):
            c = lost[i] if i < n_lost else improved[i - n_lost]
            if not mark[c]:
                mark[c] = True
                redo[n_redo] = c
                n_redo += 1
            for k in range(nbr_ptr[c], nbr_ptr[c + 1]):
                a = nbr[k]
                if not mark[a]:
                    mark[a] = True
                    redo[n_redo] = a
                    n_redo += 1
        for i in range(n_gone + n_new):
            a = gone_a[i] if i < n_gone else new_a[i - n_gone]
            if not mark[a]:
                mark[a] = True
                redo[n_redo] = a
                n_redo += 1
        for i in range(n_redo):
            a = redo[i]
            mark[a] = False
            if a == d:
                continue
            hop = -1
            hop_d = np.inf
            da = dd[a]
            if da < np.inf:
                for k in range(nbr_ptr[a], nbr_ptr[a + 1]):
                    b = nbr[k]
                    if out_ok[k] and dd[b] + out_w[k] == da and _precedes(dd[b], b, hop_d, hop if hop >= 0 else n):
                        hop, hop_d = b, dd[b]
            hd[a] = hop
        for i in range(n_lost):
            state[lost[i]] = 0
        for i in range(n_improved):
            state[improved[i]] = 0
    return repaired


@njit(cache=True)
def _search_anew(graph: tuple, d: int, dd: np.ndarray, hd: np.ndarray, scratch: tuple, limit: float) -> int:
    """Destination ``d``'s routes (``dd``, ``hd``: its rows) searched anew over the reversed ``graph``, as
    :func:`_routes_toward` searches them, out to ``limit`` (see :func:`_dijkstra`). Returns the places settled."""
    dd[:] = np.inf
    hd[:] = -1
    m = _dijkstra(graph[0], graph[1], graph[2], d, dd, hd, scratch, limit)
    hd[d] = d
    return m


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


class RouteRows(NamedTuple):
    """A side's routes read a row at a time: the travel days from a place to every place (a forward row) and the
    travel days and next hops from every place toward a destination (a row by destination), as
    :func:`forward_row` and :func:`toward_row` give them.

    Dense (:func:`dense_rows`): every row is there, read from the (n, n) matrices of :func:`routes_into` (the same
    numbers). On demand (:func:`rows_on_demand`, for large theatres): a row is searched when first asked for, by
    :func:`_dijkstra` over the allowed roads (forward, out to the bound asked for) or :func:`_search_anew` over the
    reversed graph (toward a destination, complete: the routes of :func:`routes_by_destination`), into a fixed
    number of rows that are reused in turn (a cache bounded by bytes). A row read must be used before the next
    row of the same kind is asked for (asking may reuse its storage once every row has been used since)."""

    fw_slot: np.ndarray  #: (n,) int64, the row of ``fw_days`` holding the days from each place (-1: none)
    fw_owner: np.ndarray  #: (K,) int64, the place whose forward row each row is (-1: none)
    fw_limit: np.ndarray  #: (K,) float64, the bound each forward row was searched to (inf: complete)
    fw_days: np.ndarray  #: (K, n) float64, days from the row's place (inf beyond its bound)
    to_slot: np.ndarray  #: (n,) int64, the row of ``to_days`` and ``to_hop`` toward each destination (-1: none)
    to_owner: np.ndarray  #: (K',) int64, the destination of each row (-1: none)
    to_days: np.ndarray  #: (K', n) float64, days from each place to the row's destination
    to_hop: np.ndarray  #: (K', n) int32, the next place from each place toward it (-1: none)
    clock: np.ndarray  #: (4,) int64: the next forward row and row by destination to reuse; searches of each
    forward: tuple  #: the allowed roads as CSR ``(indptr, indices, weights)``
    backward: tuple  #: the reversed graph of the allowed roads, as :func:`_reversed_graph` gives it
    scratch: tuple  #: :func:`search_scratch` for the searches
    pred: np.ndarray  #: (n,) int64, the forward searches' predecessors (not kept)


def forward_graph(e: Edges, length: np.ndarray, open_road: np.ndarray, no_exit: np.ndarray,
                  no_entry: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The roads ``a -> b`` allowed by the masks (see :func:`routes_into`) in CSR form ``(indptr, indices,
    weights)``, in increasing ``a``, then ``b``."""
    a, b = e.a, e.b
    keep = open_road[a, b] & ~no_exit[a] & ~no_entry[b]
    indptr = np.zeros(no_exit.size + 1, dtype=np.int64)
    np.cumsum(np.bincount(a[keep], minlength=no_exit.size), out=indptr[1:])
    return indptr, b[keep], np.ascontiguousarray(length[a[keep], b[keep]])


def rows_on_demand(e: Edges, length: np.ndarray, open_road: np.ndarray, no_exit: np.ndarray, no_entry: np.ndarray,
                   max_bytes: int, buffers: RouteRows | None = None) -> RouteRows:
    """Rows searched when first asked for (see :class:`RouteRows`) over the roads that neither leave a
    ``no_exit`` place nor enter a ``no_entry`` one, in at most about ``max_bytes`` (half for each kind of row; at
    least three of each). ``buffers``: rows of an earlier set of the same size, whose storage is reused (their
    rows are forgotten)."""
    n = no_exit.size
    k_fw = int(min(n, max(3, max_bytes // 2 // (8 * n))))
    k_to = int(min(n, max(3, max_bytes // 2 // (12 * n))))
    if buffers is not None and buffers.fw_days.shape == (k_fw, n) and buffers.to_days.shape == (k_to, n):
        fw_days, to_days, to_hop = buffers.fw_days, buffers.to_days, buffers.to_hop
    else:
        fw_days, to_days, to_hop = np.empty((k_fw, n)), np.empty((k_to, n)), np.empty((k_to, n), dtype=np.int32)
    back = _reversed_graph(e, length, open_road, no_exit, no_entry)
    return RouteRows(np.full(n, -1, dtype=np.int64), np.full(k_fw, -1, dtype=np.int64), np.zeros(k_fw), fw_days,
                     np.full(n, -1, dtype=np.int64), np.full(k_to, -1, dtype=np.int64), to_days, to_hop,
                     np.zeros(4, dtype=np.int64), forward_graph(e, length, open_road, no_exit, no_entry), back,
                     search_scratch(n, max(e.a.size, 1)), np.empty(n, dtype=np.int64))


@njit(cache=True)
def _claim_row(slot: np.ndarray, owner: np.ndarray, clock: np.ndarray, which: int, key: int) -> int:
    """The next row to reuse in turn (``clock[which]``, advanced) for ``key``: its previous owner loses it."""
    k = clock[which]
    clock[which] = (k + 1) % owner.size
    old = owner[k]
    if old >= 0:
        slot[old] = -1
    owner[k] = key
    slot[key] = k
    return k


@njit(cache=True)
def _forward_row(rr: RouteRows, p: int, limit: float) -> np.ndarray:
    """:func:`forward_row` of rows on demand."""
    k = rr.fw_slot[p]
    if k >= 0 and rr.fw_limit[k] >= limit:
        return rr.fw_days[k]
    if k < 0:
        k = _claim_row(rr.fw_slot, rr.fw_owner, rr.clock, 0, p)
    row = rr.fw_days[k]
    row[:] = np.inf
    g = rr.forward
    _dijkstra(g[0], g[1], g[2], p, row, rr.pred, rr.scratch, limit)
    rr.fw_limit[k] = limit
    rr.clock[2] += 1
    return row


@njit(cache=True)
def _toward_row(rr: RouteRows, d: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`toward_row` of rows on demand."""
    k = rr.to_slot[d]
    if k >= 0:
        return rr.to_days[k], rr.to_hop[k]
    k = _claim_row(rr.to_slot, rr.to_owner, rr.clock, 1, d)
    _search_anew(rr.backward, d, rr.to_days[k], rr.to_hop[k], rr.scratch, np.inf)
    rr.clock[3] += 1
    return rr.to_days[k], rr.to_hop[k]


@njit(cache=True)
def _hops_toward(rr: RouteRows, here: np.ndarray, targets: np.ndarray, out: np.ndarray) -> None:
    for i in range(here.size):
        out[i] = _toward_row(rr, targets[i])[1][here[i]]


@njit(cache=True)
def _days_between(rr: RouteRows, here: np.ndarray, there: np.ndarray, limit: float, out: np.ndarray) -> None:
    for i in range(here.size):
        out[i] = _forward_row(rr, here[i], limit)[there[i]]


@njit(cache=True)
def _forward_rows(rr: RouteRows, places: np.ndarray, limit: float, out: np.ndarray) -> None:
    for i in range(places.size):
        out[i] = _forward_row(rr, places[i], limit)


def hops_toward(routes: Routes, here: np.ndarray, targets: np.ndarray, out: np.ndarray) -> None:
    """``out[i]``: the next place from ``here[i]`` toward ``targets[i]`` (-1: none). ``routes``: ``(days,
    next_hop)`` or :class:`RouteRows`."""
    if isinstance(routes, RouteRows):
        _hops_toward(routes, here, targets, out)
    else:
        out[:] = routes[1][here, targets]


def days_between(routes: Routes, here: np.ndarray, there: np.ndarray, limit: float, out: np.ndarray) -> None:
    """``out[i]``: the travel days from ``here[i]`` to ``there[i]``, exact out to ``limit`` (beyond it, inf or the
    complete route's)."""
    if isinstance(routes, RouteRows):
        _days_between(routes, here, there, limit, out)
    else:
        out[:] = routes[0][here, there]


def forward_rows(routes: Routes, places: np.ndarray, limit: float, out: np.ndarray) -> None:
    """``out[i]``: the travel days from ``places[i]`` (see :func:`forward_row`)."""
    if isinstance(routes, RouteRows):
        _forward_rows(routes, places, limit, out)
    else:
        out[:] = routes[0][places]


@njit(cache=True)
def _known_days(rr: RouteRows, p: int, q: int) -> float:
    """:func:`known_days` of rows on demand."""
    k = rr.fw_slot[p]
    if k >= 0:
        d = rr.fw_days[k][q]
        if d <= rr.fw_limit[k]:
            return d
    return _forward_row(rr, p, np.inf)[q]


@njit(cache=True)
def bound(limit: float) -> float:
    """A search's bound for a test ``days / mobility <= x`` with ``limit = x * mobility``: a little wider, so that
    every place passing the test lies within the bound however the division rounds."""
    return limit * (1.0 + 1e-9)


# The readers of a side's routes, for both forms: ``(days, next_hop)``, the (n, n) matrices indexed [place,
# destination] (up to the size threshold: read as they are, nothing copied, and the compiled readers' arguments as
# cheap to pass as before), or :class:`RouteRows` searched on demand. Compiled code picks the form by the argument's
# type (``numba.extending.overload``); Python code calls the same functions.
Routes = "tuple[np.ndarray, np.ndarray] | RouteRows"


def forward_row(routes: Routes, p: int, limit: float) -> np.ndarray:
    """The travel days from ``p`` to every place, exact out to ``limit`` (beyond it: the complete route's days,
    or inf on demand). ``routes``: ``(days, next_hop)`` or :class:`RouteRows`."""
    return _forward_row(routes, p, limit) if isinstance(routes, RouteRows) else routes[0][p]


def toward_row(routes: Routes, d: int) -> tuple[np.ndarray, np.ndarray]:
    """The travel days and next hops from every place toward ``d`` (the routes of :func:`routes_by_destination`).
    ``routes``: ``(days, next_hop)`` or :class:`RouteRows`."""
    return _toward_row(routes, d) if isinstance(routes, RouteRows) else (routes[0][:, d], routes[1][:, d])


def known_days(routes: Routes, p: int, q: int) -> float:
    """The travel days from ``p`` to ``q`` by the complete route (on demand: from ``p``'s forward row if it is
    kept and reaches ``q`` within its bound, else from a complete search)."""
    return _known_days(routes, p, q) if isinstance(routes, RouteRows) else routes[0][p, q]


def _on_demand(routes: types.Type) -> bool:
    return isinstance(routes, types.BaseNamedTuple)


@overload(forward_row)
def _forward_row_of(routes, p, limit):  # noqa: ANN001, ANN202 (numba compares the names with the implementation)
    if _on_demand(routes):
        return lambda routes, p, limit: _forward_row(routes, p, limit)
    return lambda routes, p, limit: routes[0][p]


@overload(toward_row)
def _toward_row_of(routes, d):  # noqa: ANN001, ANN202
    if _on_demand(routes):
        return lambda routes, d: _toward_row(routes, d)
    return lambda routes, d: (routes[0][:, d], routes[1][:, d])


@overload(known_days)
def _known_days_of(routes, p, q):  # noqa: ANN001, ANN202
    if _on_demand(routes):
        return lambda routes, p, q: _known_days(routes, p, q)
    return lambda routes, p, q: routes[0][p, q]
