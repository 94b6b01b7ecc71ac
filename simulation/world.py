"""The world: places and roads, as the scenario's NetworkX graph and as arrays for the model's hot loops.

The road network is the scenario's NetworkX graph (:meth:`simulation.scenario.Scenario.graph`): it validates the
scenario (a connected network) and is what :meth:`World.graph` exports, with each road's travel time and whether it
is open. The model moves units and people over the same roads, kept road by road (``road_km``, ``road_speed``,
``open_road`` read them as (n, n) matrices; see :mod:`simulation.roads`): routing is precomputed once (and again
when a road closes or opens) with SciPy's Dijkstra over the whole network, so that a unit's next hop toward any
objective is an array look-up, not a path search. Routes that avoid some places are computed far more often, by the
compiled routines of :mod:`simulation.rules.routing` (which also label connected components; the daily morale finds
the places a side can still reach with its own compiled search, see :mod:`simulation.rules.morale`).
``tests/test_routing.py`` checks these routes against NetworkX's shortest paths over :meth:`World.graph`.

Routes that avoid enemy-held places, and the connected components a side can still move through, depend only on
the road network and a mask of places. The same masks come back again and again, within a run and across the
runs of a sweep or a calibration (every seed of a parameter set starts from the same map), so they are kept in
one bounded cache per process (:data:`ROUTE_CACHE`), keyed by a digest of the road network and the mask. The
cached arrays are read-only; a cold or a warm cache gives the same numbers.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, NamedTuple

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from simulation.roads import RoadMatrix
from simulation.rules.routing import (
    Edges,
    Previous,
    RouteRows,
    _search_anew,
    component_labels,
    routes_by_destination,
    rows_on_demand,
    search_scratch,
)
from simulation.scenario import Scenario

ROAD_SPEED_PARAMETER = {
    "highway": "speed_highway_km",
    "road": "speed_road_km",
    "desert track": "speed_track_km",
    "river crossing": "speed_river_km",
}


def _arrays_in(value: Any) -> list[np.ndarray]:
    """The arrays of a cached value: the value itself, or the arrays of a tuple."""
    values = value if isinstance(value, tuple) else (value,)
    return [a for a in values if isinstance(a, np.ndarray)]


class BoundedCache:
    """A least-recently-used mapping bounded by the bytes of the NumPy arrays it holds.

    Parameters
    ----------
    max_bytes : the most array bytes kept; the least recently used entries go first.
    arrays_of : the arrays of a value (made read-only and counted); default: the value itself, or the arrays
        of a tuple.
    """

    def __init__(self, max_bytes: int, arrays_of: Callable[[Any], list[np.ndarray]] = _arrays_in):
        self.max_bytes = max_bytes
        self.arrays_of = arrays_of
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self._data: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The value cached under ``key``, or ``compute()``'s result (arrays made read-only), cached."""
        hit = self._data.get(key)
        if hit is not None:
            self._data.move_to_end(key)
            self.hits += 1
            return hit[0]
        self.misses += 1
        value = compute()
        size = 0
        for a in self.arrays_of(value):
            a.setflags(write=False)
            size += a.nbytes
        self._data[key] = (value, size)
        self.bytes += size
        while self.bytes > self.max_bytes and len(self._data) > 1:
            _, (_, dropped) = self._data.popitem(last=False)
            self.bytes -= dropped
        return value

    def clear(self) -> None:
        self._data.clear()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._data)


class Places(NamedTuple):
    """The places' fixed attributes, indexed by the place's row in ``places.csv``."""

    value: np.ndarray  #: (n,) float64, strategic value
    sympathy: np.ndarray  #: (n,) float64, the population's sympathy for the insurgents, 0-1
    fortification: np.ndarray  #: (n,) float64, multiplier of the defenders' strength
    governorate: np.ndarray  #: (n,) int64, index of the place's governorate (sorted names)


class Roads(NamedTuple):
    """The roads between places, road by road (see :mod:`simulation.roads`), and the shortest routes over the
    open ones (by any side).

    Renewed whenever a road opens or closes (:attr:`simulation.world.World.roads`); the route matrices come from
    a cache and are read-only. The road from ``a`` to ``b`` is ``simulation.roads.road_between(ptr, to, a, b)``.
    """

    ptr: np.ndarray  #: (n + 1,) int64, the roads out of ``a`` are ``ptr[a] .. ptr[a + 1] - 1``
    to: np.ndarray  #: (E,) int64, each road's end (increasing within a place's roads)
    km: np.ndarray  #: (E,) float64, its length
    speed: np.ndarray  #: (E,) float64, km a day at mobility 1
    is_open: np.ndarray  #: (E,) bool, open to traffic (both ways of a road open and close together)
    back: np.ndarray  #: (E,) int64, the way back (the road ``to -> a``; -1 if none)
    travel_days: np.ndarray  #: (n, n) float64, shortest travel days at mobility 1 by any open road (up to the size
    #: threshold; above it (0, 0): see :meth:`World.travel_days_from`)
    distance_km: np.ndarray  #: (n, n) float64, shortest road km by any open road
    next_hop: np.ndarray  #: (n, n) int64, next place toward a destination by any open road (-1: none)


DENSE_MOST_PLACES = 500
"""Theatres of up to this many places keep the exact dense path (every destination of the civilians, the commands'
products of strengths and reach unit by unit, as BLAS sums them): the Iraq and toy scenarios and the tests' small
theatres. Above it the civilians consider only the destinations within a bound (:mod:`simulation.civilians.bounded`,
their routes kept as lists by destination) and the commands sum strengths by distinct row of reach first
(:func:`simulation.rules.orders._strength_over`): their numbers differ from the dense path's. Above it too the
coalitions' routes are not kept as (n, n) matrices but searched a row at a time as the rules ask for them
(:meth:`World.route_rows`), and the world keeps no matrix of travel days (:meth:`World.travel_days_from`).
:class:`World` takes it as an argument (``dense_most_places``, from :class:`simulation.engine.model.ConflictModel`),
so that a test can force either path."""

RECENT_MASKS, RECENT_BYTES = 3, 128 * 2**20
"""Routes of the last masks a world keeps to repair (about one a coalition): 12 n² bytes each (float64 days, int32
next hops), as many as fit in RECENT_BYTES (three at 1,000 places, none from about 3,350: then every mask's routes
are computed anew)."""

ROUTE_ROWS_BYTES = 160 * 2**20
"""Above the size threshold, the rows of a coalition's routes kept at once (:meth:`World.route_rows`): half
forward rows (8 n bytes each), half rows by destination (12 n bytes): 1,048 and 699 rows at 10,000 places."""

ROUTE_CACHE = BoundedCache(max_bytes=64 * 2**20)
"""Routes and components by road network and mask, shared by every model in the process (at most 64 MiB: five
sets of routes at 1,000 places, over a thousand at the Iraq scenario's; a 1,000-place run over 120 days hit it as
often with 64 MiB as with 256)."""


class World:
    """Places, roads and routing for one scenario and one set of speed parameters.

    Attributes are NumPy arrays indexed by place number (the row order of ``places.csv``).
    """

    def __init__(self, scenario: Scenario, parameters: dict[str, float], dense_most_places: int = DENSE_MOST_PLACES):
        self.scenario = scenario
        self.place_ids: list[str] = list(scenario.place_ids)
        self.index: dict[str, int] = {pid: i for i, pid in enumerate(self.place_ids)}
        places = scenario.places
        n = len(places)
        self.n = n
        self.dense = n <= dense_most_places
        """Whether the theatre is at most :data:`DENSE_MOST_PLACES` (or the ``dense_most_places`` given) places."""
        self.population0 = np.array([p.population for p in places], dtype=np.int64)
        self.value = np.array([p.value for p in places], dtype=float)
        self.sympathy = np.array([p.sympathy for p in places], dtype=float)
        self.fortification = np.array([p.fortification for p in places], dtype=float)
        self.refuge = np.array([p.refuge for p in places], dtype=float)
        self.lat = np.array([p.lat for p in places], dtype=float)
        self.lon = np.array([p.lon for p in places], dtype=float)
        self.governorate = [p.governorate for p in places]
        self.governorates = sorted(set(self.governorate))
        self.governorate_of = np.array([self.governorates.index(g) for g in self.governorate], dtype=np.int64)
        self.kind = [p.kind for p in places]
        self.crossing = np.array([k == "crossing" for k in self.kind], dtype=bool)
        """(n,) bool: border crossings."""
        self.places = Places(self.value, self.sympathy, self.fortification, self.governorate_of)
        """The places' fixed attributes as the kernels' bundle (see :class:`Places`)."""
        self.packed_places = tuple(self.places)

        # Road arrays: km and base speed (km/day) of each directed road, road by road in row-major order (a later
        # row of roads.csv between the same places replaces an earlier one, as it did in the dense matrices).
        by_pair: dict[tuple[int, int], tuple[float, float]] = {}
        for r in scenario.roads:
            i, j = self.index[r.a], self.index[r.b]
            speed = parameters[ROAD_SPEED_PARAMETER[r.kind]]
            by_pair[i, j] = by_pair[j, i] = (r.km, speed)
        pairs = sorted(p for p, (km, _) in by_pair.items() if km > 0)
        a = np.array([p[0] for p in pairs], dtype=np.int64)
        b = np.array([p[1] for p in pairs], dtype=np.int64)
        self.edge_km = np.array([by_pair[p][0] for p in pairs], dtype=float)
        """(E,) km of each directed road (see :attr:`edges` for its ends)."""
        self.edge_speed = np.array([by_pair[p][1] for p in pairs], dtype=float)
        """(E,) its speed at mobility 1, km a day."""
        self.edge_open = np.ones(a.size, dtype=bool)
        """(E,) whether it is open (written in place by :meth:`set_road`)."""
        self.edge_days = self.edge_km / np.where(self.edge_speed > 0, self.edge_speed, 1)
        """(E,) its travel days at mobility 1."""
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(a, minlength=n), out=indptr[1:])
        rev = np.lexsort((a, b))  # increasing b, then a
        self.edges = Edges(a, b, indptr, b[rev], a[rev])
        """The roads as lists (:class:`simulation.rules.routing.Edges`; closed roads included: they never change)."""
        self._edge_keys = a * n + b
        self._edge_rev = rev
        back = np.searchsorted(self._edge_keys, b * n + a)
        back = np.minimum(back, max(a.size - 1, 0))
        self.edge_back = np.where(self._edge_keys[back] == b * n + a, back, -1) if a.size else back
        """(E,) the way back of each road (-1 if none)."""
        self.road_km = RoadMatrix(n, self._edge_keys, self.edge_km)
        """``road_km[a, b]``: the km of the road from ``a`` to ``b``, 0 where none (see
        :class:`simulation.roads.RoadMatrix`)."""
        self.road_speed = RoadMatrix(n, self._edge_keys, self.edge_speed)
        """``road_speed[a, b]``: its speed at mobility 1, 0 where none."""
        self.open_road = RoadMatrix(n, self._edge_keys, self.edge_open, False)
        """``open_road[a, b]``: whether it is open, False where there is no road."""
        self._road_days = RoadMatrix(n, self._edge_keys, self.edge_days)
        self.road_net = (indptr, b, self.edge_open, self.edge_back)
        """The roads as the compiled rules' bundle ``(ptr, to, is_open, back)`` (see :class:`Roads`)."""
        self.roads_version = 0
        self.recompute_routes()

    def graph(self) -> nx.Graph:
        """The road network as it stands, as a NetworkX graph (for export, e.g. ``nx.write_graphml``, and for
        checking routes): the scenario's graph with, on each road, ``open`` (closed roads stay, with ``False``)
        and ``days``, the travel time at mobility 1 (``km / speed of its kind``), and on each place only plain
        attributes (``name``, ``kind``, ``governorate``, ``lat``, ``lon``, ``population``)."""
        g = nx.Graph()
        for p in self.scenario.places:
            g.add_node(p.id, name=p.name, kind=p.kind, governorate=p.governorate, lat=p.lat, lon=p.lon,
                       population=p.population)
        for a, b, data in self.scenario.graph().edges(data=True):
            i, j = self.index[a], self.index[b]
            g.add_edge(a, b, km=data["km"], kind=data["kind"], open=bool(self.open_road[i, j]),
                       days=float(self._road_days[i, j]))
        return g

    def recompute_routes(self) -> None:
        """Shortest travel times (days at mobility 1), road distances (km) and next hops over open roads."""
        digest = hashlib.blake2b(digest_size=16)
        for a in (np.int64(self.n), self._edge_keys, self.edge_km, self.edge_speed, self.edge_open):
            digest.update(a.tobytes())
        self.network_key = digest.digest()  # what routes over these roads depend on
        # Open roads as a list of directed edges, row-major in (to, from): masking it gives the CSR arrays of
        # the reversed graph (see _graph) without a dense-to-sparse conversion.
        open_rev = self.edge_open[self._edge_rev]
        self._edge_to, self._edge_from = self.edges.rev_b[open_rev], self.edges.rev_a[open_rev]
        self._nowhere = np.zeros(self.n, dtype=bool)
        self._recent_avoiding: list[Previous] = []  # the last routes_avoiding computed over these roads
        self.travel_days, self.distance_km, self.next_hop = ROUTE_CACHE.get(("all", self.network_key, self.dense),
                                                                            self._all_routes)
        self.roads = Roads(self.edges.indptr, self.edges.b, self.edge_km, self.edge_speed, self.edge_open,
                           self.edge_back, self.travel_days, self.distance_km, self.next_hop)
        """The roads and routes as the kernels' bundle (see :class:`Roads`)."""
        self.packed_roads = tuple(self.roads)

    def _all_routes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # The open roads in CSR form straight from the edge lists (row-major, as SciPy's conversion of the dense
        # matrices orders them: the same arrays), without a dense temporary.
        a, b = self.edges.a, self.edges.b
        is_open = self.edge_open
        a, b = a[is_open], b[is_open]
        indptr = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(np.bincount(a, minlength=self.n), out=indptr[1:])
        speed, km = self.edge_speed[is_open], self.edge_km[is_open]
        hours = csr_matrix((km / np.where(speed > 0, speed, 1), b, indptr), shape=(self.n, self.n))
        travel_days, pred = dijkstra(hours, directed=False, return_predecessors=True)
        if not self.dense:
            # Above the size threshold the matrix of travel days is not kept (:meth:`travel_days_from` searches
            # the one row asked for), and the next hops are read through a transposed view (the same numbers).
            del travel_days
            travel_days = np.empty((0, 0))
        distance_km = dijkstra(csr_matrix((km, b, indptr), shape=(self.n, self.n)), directed=False)
        # For an undirected graph, the predecessor of i on the shortest path from j is the next hop from i
        # toward j; -9999 (unreachable) becomes -1.
        nxt = pred.T.copy() if self.dense else pred.T
        nxt[nxt < 0] = -1
        np.fill_diagonal(nxt, np.arange(self.n))
        return travel_days, distance_km, nxt

    def route_rows(self, hostile: np.ndarray, buffers: RouteRows | None = None) -> RouteRows:
        """The routes :meth:`routes_avoiding` gives, read by row and each row searched when first asked for (see
        :class:`simulation.rules.routing.RouteRows`), in at most about :data:`ROUTE_ROWS_BYTES`; ``buffers``: an
        earlier set of rows whose storage is reused."""
        return rows_on_demand(self.edges, self._road_days, self.open_road, hostile, self._nowhere, ROUTE_ROWS_BYTES,
                              buffers)

    def travel_days_from(self, at: int) -> np.ndarray:
        """(n,) the shortest travel days at mobility 1 from ``at`` to every place by any open road: a row of
        :attr:`travel_days` up to the size threshold; above it (where that matrix is not kept) one search."""
        if self.dense:
            return self.travel_days[at]
        graph = self._graph(np.ones(self._edge_to.size, dtype=bool))
        weights = np.ascontiguousarray(self._road_days[self._edge_from, self._edge_to])
        days, hops = np.empty(self.n), np.empty(self.n, dtype=np.int64)
        _search_anew((*graph, weights), at, days, hops, search_scratch(self.n, max(weights.size, 1)), np.inf)
        return days

    def routes_avoiding(self, hostile: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Travel days and next hops for a side that may end a trip at, but not pass through, ``hostile`` places.

        Returns ``(travel_days, next_hop)``, both (n, n); ``next_hop[i, j]`` is -1 where ``j`` cannot be reached
        from ``i`` that way. Results are cached (read-only) by the mask and the road network.
        """
        return ROUTE_CACHE.get(("avoiding", self.network_key, hostile.tobytes()),
                               lambda: self._routes_avoiding(hostile))

    def _graph(self, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The reversed graph (an edge ``b -> a`` for every open road ``a -> b``) of the edges ``keep``, as CSR
        ``(indptr, indices)``."""
        indptr = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(np.bincount(self._edge_to[keep], minlength=self.n), out=indptr[1:])
        return indptr, self._edge_from[keep]

    def _routes_avoiding(self, hostile: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # No road leads on out of a hostile place (compiled: see simulation.rules.routing.routes_by_destination).
        # The routes of the nearest mask computed lately over these roads (a place or two changed hands since)
        # are repaired rather than computed anew: the same result. They are kept by destination, as the repair
        # works on them. Once as many are kept as fit, the nearest is repaired in place and gives way to the new
        # mask's routes (the cache keeps what the rules read, the transposed copies), rather than the oldest
        # dropped and two n x n arrays allocated and copied a time.
        # Above the size threshold the rules read the routes by destination through transposed views (no copies,
        # the same numbers): those arrays are then never repaired in place, as the cache and the rules hold them.
        n = self.n
        keep = min(RECENT_MASKS, RECENT_BYTES // (12 * n * n))  # float64 days, int32 next hops
        recent = self._recent_avoiding
        differ = [int(np.count_nonzero(r.no_exit != hostile)) for r in recent]
        near = recent[differ.index(min(differ))] if recent else None
        if near is not None and len(recent) >= keep and self.dense:
            recent = [r for r in recent if r is not near]
            days_t, next_t = near.dist, near.next_hop
        else:
            days_t, next_t = np.empty((n, n)), np.empty((n, n), dtype=np.int32)
            if near is not None and len(recent) >= keep:
                recent = [r for r in recent if r is not near]
        routes_by_destination(self.road_km, self._road_days, self.open_road, hostile, self._nowhere, days_t, next_t,
                              previous=near, edges=self.edges)
        if keep:
            self._recent_avoiding = [*recent, Previous(hostile.copy(), self._nowhere, days_t, next_t)][-keep:]
        if not self.dense:
            return days_t.T, next_t.T
        return days_t.T.copy(), next_t.T.copy()

    def set_road(self, a: str, b: str, is_open: bool) -> None:
        """Close or open the road between places ``a`` and ``b`` and recompute routes."""
        i, j = self.index[a], self.index[b]
        for k in np.flatnonzero((self._edge_keys == i * self.n + j) | (self._edge_keys == j * self.n + i)):
            self.edge_open[k] = is_open  # (a road's km are > 0: roads of 0 km are not kept)
        self.roads_version += 1
        self.recompute_routes()

    def components(self, passable: np.ndarray) -> np.ndarray:
        """Label of the connected component of each place, using only open roads between passable places.

        Impassable places get the label -1. Cached (read-only) by the mask and the road network.
        """
        return ROUTE_CACHE.get(("components", self.network_key, passable.tobytes()),
                               lambda: self._components(passable))

    def _components(self, passable: np.ndarray) -> np.ndarray:
        keep = passable[self._edge_from] & passable[self._edge_to]
        return np.where(passable, component_labels(*self._graph(keep)), -1)
