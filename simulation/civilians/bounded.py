"""The civilians' routes on a large theatre: destinations within a bound only (issue 21, part 4).

Up to :data:`simulation.civilians.displacement.DENSE_MOST_PLACES` places the civilians weigh every destination of the
theatre: their routes toward every place are exact and complete (:func:`simulation.civilians.displacement.
civilian_routes`), and the hop matrix has an entry for every pair of places. That is all pairs of places by design,
and on a large theatre it is most of a long run's time. Above that size a destination farther than ``reach_km``
by road (:data:`DESTINATION_REACH` times ``destination_distance_km``; its kernel ``exp(-km /
destination_distance_km)`` is then below ``exp(-DESTINATION_REACH)``) is not considered: the routes toward a
destination are searched only out to ``reach_km`` (:func:`bounded_routes`), so the hop matrix, the departures'
safer destinations and the travel's choices hold only the destinations within reach of each place.

Within the bound the routes are exactly those of the complete search: a Dijkstra stopped at a radius settles the
places it reaches at their shortest lengths, and a place's next hop (its predecessor in the search, the first to
offer a strictly shorter length) is offered by the same places in the same order, since every offer of a length
within the bound is made as in the complete search. Which destinations a place weighs changes, so the numbers of
theatres above the size threshold change; those at or below it (the Iraq and toy scenarios, the tests' small
theatres) are not touched.

A change of mask (a battle starts or ends, a checkpoint closes) at place ``x`` changes the routes toward a
destination ``d`` only if ``d``'s bounded search reached ``x`` (``to_km[d, x]`` finite): a place it did not reach
lies beyond the bound, and whether it may be passed cannot shorten any route within it. The routes of a nearby mask
are therefore repaired by searching again only the destinations that reached a changed place.

The way home (:func:`home_routes`) is not bounded by the destinations' reach: people displaced in several stages
may be farther than ``reach_km`` from home. From a place within the bound (by the shortest road, battles or
not) they go home by the bounded routes, which avoid battles (and wait where these find no way within the bound);
from farther, by the world's shortest route over the open roads (``World.next_hop``), until they come within the
bound (the remaining length only falls along either route, so they do not leave it again); a battle on the way
turns them back as it does anyone going home.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from simulation.civilians.travel import cumulate
from simulation.rules.routing import Edges, _reversed_graph, _search_anew, search_scratch

DESTINATION_REACH = 5.0
"""On a theatre above the size threshold, the destinations the civilians consider from a place lie within this
many times ``destination_distance_km`` of it by road (their distance kernel ``exp(-km / destination_distance_km)``
is at least ``exp(-5)``, 0.0067, of a destination at the place itself)."""


class SparseRoutes(NamedTuple):
    """The civilians' routes within the bound, kept by destination as lists (nothing n x n): destination ``d``'s
    are the entries ``ptr[d] .. ptr[d + 1] - 1``, one for each place its bounded search reached (``d`` itself
    first, then in the order the search settled them), with the next place from there toward ``d`` and the road
    km. About 16 bytes a pair within the bound, against 12 a pair of places for the (n, n) matrices."""

    ptr: np.ndarray  #: (n + 1,) int64
    place: np.ndarray  #: (E,) int32, the place reached
    next_hop: np.ndarray  #: (E,) int32, its next place toward the destination
    km: np.ndarray  #: (E,) float64, its road km to the destination

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self)

    def dense(self) -> tuple[np.ndarray, np.ndarray]:
        """``(to_km, to_next)``, the (n, n) matrices [destination, place] (inf and -1 beyond the bound)."""
        n = self.ptr.size - 1
        to_km, to_next = np.full((n, n), np.inf), np.full((n, n), -1, dtype=np.int32)
        d = np.repeat(np.arange(n), np.diff(self.ptr))
        to_km[d, self.place], to_next[d, self.place] = self.km, self.next_hop
        return to_km, to_next


@njit(cache=True)
def _bounded_lists(graph: tuple, reach: float, redo: np.ndarray, old: tuple, first: int, out: tuple,
                   rows: tuple, scratch: tuple) -> int:
    """The lists of :class:`SparseRoutes` into ``out`` (``(ptr, place, next_hop, km)``, ``ptr[first]`` set),
    destination by destination from ``first``: a ``redo`` destination searched anew over the reversed ``graph``
    out to ``reach`` (:func:`simulation.rules.routing._search_anew`, into the scratch ``rows``: ``(km,
    next_hop)``, (n,) each), the others copied from ``old`` (lists of the same form). Returns the destination at
    which the lists are full (``n``: all done)."""
    ptr, place, nxt, km = out
    old_ptr, old_place, old_next, old_km = old
    dd, hd = rows
    n = ptr.size - 1
    e = ptr[first]
    for d in range(first, n):
        if redo[d]:
            m = _search_anew(graph, d, dd, hd, scratch, reach)
            if e + m > place.size:
                return d
            settled = scratch[3]
            for j in range(m):
                c = settled[j]
                place[e], nxt[e], km[e] = c, hd[c], dd[c]
                e += 1
        else:
            a, b = old_ptr[d], old_ptr[d + 1]
            if e + b - a > place.size:
                return d
            for j in range(a, b):
                place[e], nxt[e], km[e] = old_place[j], old_next[j], old_km[j]
                e += 1
        ptr[d + 1] = e
    return n


def bounded_routes(edges: Edges, road_km: np.ndarray, open_road: np.ndarray, passable: np.ndarray, reach_km: float,
                   previous: tuple[np.ndarray, SparseRoutes] | None = None, size_hint: int = 0
                   ) -> tuple[SparseRoutes, int]:
    """The civilians' routes toward every destination out to ``reach_km`` road km, over open roads that never
    enter an impassable place (one may leave it): ``(routes, searched)``, the routes as lists by destination
    (:class:`SparseRoutes`; ``dense()`` gives them as the (n, n) matrices [destination, place] of
    :class:`simulation.civilians.displacement.Routes`, inf and -1 beyond the bound) and the number of
    destinations searched.

    ``previous``: ``(passable, routes)`` of another mask over the same roads and bound: only the destinations
    whose search reached a place whose mask changed are searched again, the others' lists are copied (the same
    result). ``size_hint``: about how many entries to expect (the size of a set of lists over the same roads and
    bound), so that the lists are filled without growing (they are grown as needed, and kept with at most a tenth
    of their length unused, rather than copied to their exact length).
    """
    n = passable.size
    nowhere = np.zeros(n, dtype=bool)
    graph = _reversed_graph(edges, road_km, open_road, nowhere, ~passable)
    if previous is None:
        redo = np.ones(n, dtype=bool)
        old = (np.zeros(n + 1, dtype=np.int64), np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32),
               np.zeros(0))
        size = int(1.1 * size_hint) + n if size_hint else 64 * n
    else:
        before, old = previous[0], previous[1]
        changed = np.zeros(n, dtype=bool)
        changed[before != passable] = True
        redo = np.logical_or.reduceat(changed[old.place], old.ptr[:-1]) if old.place.size else np.ones(n, bool)
        size = int(1.1 * max(old.place.size, size_hint)) + n
    ptr = np.zeros(n + 1, dtype=np.int64)
    out = (ptr, np.empty(size, dtype=np.int32), np.empty(size, dtype=np.int32), np.empty(size))
    rows = (np.empty(n), np.empty(n, dtype=np.int32))
    scratch = search_scratch(n, max(graph[1].size, 1))
    d = 0
    while True:
        d = _bounded_lists(graph, float(reach_km), redo, tuple(old), d, out, rows, scratch)
        if d == n:
            break
        grown = tuple(np.empty(int(1.5 * a.size) + n, dtype=a.dtype) for a in out[1:])
        for a, b in zip(grown, out[1:]):
            a[:ptr[d]] = b[:ptr[d]]
        out = (ptr, *grown)
    used = int(ptr[n])
    exact = used < 0.9 * out[1].size  # much unused: copied to its length (else views, a tenth at most unused)
    routes = SparseRoutes(ptr, *(a[:used].copy() if exact else a[:used] for a in out[1:]))
    return routes, int(redo.sum())


@njit(cache=True)
def _hop_row_of(h: int, c: int, n: int, out_edge: np.ndarray, head: np.ndarray) -> int:
    """The hop matrix's row of a route from ``c`` whose next place is ``h`` (as
    :func:`simulation.civilians.travel.hop_rows` finds it)."""
    J = out_edge.shape[1]
    if h == c:
        return J * n + c
    if h >= 0:
        for j in range(J):
            e = out_edge[c, j]
            if e >= 0 and head[e] == h:
                return j * n + c
    return -1


@njit(cache=True)
def sparse_hop_rows(ptr: np.ndarray, place: np.ndarray, nxt: np.ndarray, out_edge: np.ndarray, head: np.ndarray,
                    indptr: np.ndarray) -> int:
    """:func:`simulation.civilians.travel.hop_rows` of :class:`SparseRoutes`' lists (the same matrix)."""
    n = ptr.size - 1
    J = out_edge.shape[1]
    for d in range(n):
        for k in range(ptr[d], ptr[d + 1]):
            row = _hop_row_of(nxt[k], place[k], n, out_edge, head)
            if row >= 0:
                indptr[row + 1] += 1
    return cumulate(indptr, n * (J + 1))


@njit(cache=True)
def sparse_hop_entries(ptr: np.ndarray, place: np.ndarray, nxt: np.ndarray, km_of: np.ndarray, out_edge: np.ndarray,
                       head: np.ndarray, indptr: np.ndarray, indices: np.ndarray, km: np.ndarray) -> None:
    """:func:`simulation.civilians.travel.hop_entries` of :class:`SparseRoutes`' lists (the same entries, in the
    same order: by row, then increasing destination)."""
    n = ptr.size - 1
    at = indptr[:-1].copy()
    for d in range(n):
        for k in range(ptr[d], ptr[d + 1]):
            row = _hop_row_of(nxt[k], place[k], n, out_edge, head)
            if row >= 0:
                indices[at[row]] = d
                km[at[row]] = km_of[k]
                at[row] += 1


def far_routes(world_next_hop: np.ndarray, world_km: np.ndarray, reach_km: float) -> tuple:
    """What the routes home take from the world, once per road network: ``(far, km, reach_km)``, the world's next
    hop by any open road [home, place] (``world_next_hop`` [place, destination], int32, transposed: on a large
    theatre a view of SciPy's predecessors, no copy) and the shortest road km [place, destination] (``world_km``,
    read as it is) that tells whether a place lies within ``reach_km`` of home (no (n, n) mask kept)."""
    return np.ascontiguousarray(world_next_hop.T, dtype=np.int32), world_km, float(reach_km)


def home_routes(routes: SparseRoutes, far: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The routes home on a large theatre, [home, place] (int32): from a place within the bound of home by the
    shortest road, the bounded ``routes`` (-1 where they find no way within the bound: people wait); from
    farther, the world's next hop by any open road (``far``: :func:`far_routes`). See the module's docstring.
    Written into the result a block of homes at a time, with no temporary of the size of the lists or of the
    matrix."""
    far_next, km, reach_km = far
    out = np.empty(far_next.shape, dtype=np.int32)
    _fill_home(routes.ptr, routes.place, routes.next_hop, (far_next, km, reach_km), out)
    return out


@njit(cache=True)
def _fill_home(ptr: np.ndarray, place: np.ndarray, next_hop: np.ndarray, far: tuple, out: np.ndarray) -> None:
    """:func:`home_routes` into ``out`` [home, place]: the world's next hop (``far[0]``), -1 where the place is
    within ``far[2]`` km of home by the shortest road (``far[1]`` [place, home]), then the bounded routes' next
    hop where their search from home reached a place within that bound. Homes in blocks of 64, so that the km
    toward them are read a row at a time."""
    far_next, km, reach_km = far
    n, m = out.shape
    for h0 in range(0, n, 64):
        h1 = min(n, h0 + 64)
        for q in range(m):
            for h in range(h0, h1):
                out[h, q] = -1 if km[q, h] <= reach_km else far_next[h, q]
        for h in range(h0, h1):
            for e in range(ptr[h], ptr[h + 1]):
                q = place[e]
                if km[q, h] <= reach_km:
                    out[h, q] = next_hop[e]
