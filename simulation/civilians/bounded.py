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

import numpy as np
from numba import njit

from simulation.rules.routing import Edges, _reversed_graph, _search_anew, search_scratch

DESTINATION_REACH = 5.0
"""On a theatre above the size threshold, the destinations the civilians consider from a place lie within this
many times ``destination_distance_km`` of it by road (their distance kernel ``exp(-km / destination_distance_km)``
is at least ``exp(-5)``, 0.0067, of a destination at the place itself)."""


@njit(cache=True)
def _bounded_toward(indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray, destinations: np.ndarray,
                    reach: float, dist: np.ndarray, next_hop: np.ndarray) -> int:
    """Dijkstra toward each of ``destinations`` over the reversed graph in CSR form, stopped at ``reach``: rows
    ``dist[d]`` and ``next_hop[d]`` written anew (inf and -1 beyond the bound). Returns the places settled."""
    scratch = search_scratch(indptr.size - 1, indices.size)
    graph = (indptr, indices, weights)
    settled = 0
    for i in range(destinations.size):
        d = destinations[i]
        settled += _search_anew(graph, d, dist[d], next_hop[d], scratch, reach)
    return settled


def bounded_routes(edges: Edges, road_km: np.ndarray, open_road: np.ndarray, passable: np.ndarray, reach_km: float,
                   previous: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
                   ) -> tuple[np.ndarray, np.ndarray, int]:
    """The civilians' routes toward every destination out to ``reach_km`` road km, over open roads that never
    enter an impassable place (one may leave it): ``(to_km, to_next, searched)``, indexed [destination, place] as
    :class:`simulation.civilians.displacement.Routes` holds them (inf and -1 beyond the bound), and the number of
    destinations searched.

    ``previous``: ``(passable, to_km, to_next)`` of another mask over the same roads and bound: copied, and only
    the destinations whose search reached a place whose mask changed are searched again (the same result).
    """
    n = passable.size
    nowhere = np.zeros(n, dtype=bool)
    graph = _reversed_graph(edges, road_km, open_road, nowhere, ~passable)
    if previous is None:
        to_km, to_next = np.empty((n, n)), np.empty((n, n), dtype=np.int32)
        redo = np.arange(n, dtype=np.int64)
    else:
        before, to_km, to_next = previous[0], previous[1].copy(), previous[2].copy()
        changed = np.flatnonzero(before != passable)
        redo = np.flatnonzero(np.isfinite(to_km[:, changed]).any(axis=1)) if changed.size else \
            np.empty(0, dtype=np.int64)
    if redo.size:
        _bounded_toward(*graph, redo, float(reach_km), to_km, to_next)
    return to_km, to_next, int(redo.size)


def far_routes(world_next_hop: np.ndarray, world_km: np.ndarray, reach_km: float) -> tuple[np.ndarray, np.ndarray]:
    """What the routes home take from the world, once per road network: ``(far, near)``, [home, place], the
    world's next hop by any open road (``world_next_hop`` [place, destination], int32) and whether the place lies
    within ``reach_km`` of home by the shortest road (``world_km`` [place, destination])."""
    return np.ascontiguousarray(world_next_hop.T, dtype=np.int32), np.ascontiguousarray(world_km.T <= reach_km)


def home_routes(to_next: np.ndarray, far: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The routes home on a large theatre, [home, place] (int32): from a place within the bound of home by the
    shortest road, the bounded routes ``to_next`` [destination, place] (-1 where they find no way within the
    bound: people wait); from farther, the world's next hop by any open road (``far``: :func:`far_routes`). See
    the module's docstring."""
    out = far[0].copy()
    np.copyto(out, to_next, where=far[1])
    return out
