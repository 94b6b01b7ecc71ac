"""The world: places and roads, as the scenario's NetworkX graph and as arrays for the model's hot loops.

The road network is the scenario's NetworkX graph (:meth:`simulation.scenario.Scenario.graph`): it validates the
scenario (a connected network) and is what :meth:`World.graph` exports, with each road's travel time and
whether it is open. The model moves units and people over the same roads as dense matrices (``road_km``,
``road_speed``, ``open_road``): routing is precomputed once (and again when a road closes or opens) with
SciPy's Dijkstra over the whole network, so that a unit's next hop toward any objective is an array look-up, not
a path search. Routes that avoid some places are computed far more often, by the compiled routines of
:mod:`simulation.rules.routing` (which also label connected components; the daily morale finds the places a
side can still reach with its own compiled search, see :mod:`simulation.rules.morale`). ``tests/test_routing.py``
checks these routes against NetworkX's shortest paths over :meth:`World.graph`.

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

from simulation.rules.routing import Previous, component_labels, road_edges, routes_by_destination
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
    """The roads between places, as dense matrices, and the shortest routes over the open ones (by any side).

    Renewed whenever a road opens or closes (:attr:`simulation.world.World.roads`); the route matrices come from
    a cache and are read-only.
    """

    road_km: np.ndarray  #: (n, n) float64, 0 where no road
    road_speed: np.ndarray  #: (n, n) float64, km a day at mobility 1
    open_road: np.ndarray  #: (n, n) bool
    travel_days: np.ndarray  #: (n, n) float64, shortest travel days at mobility 1 by any open road
    distance_km: np.ndarray  #: (n, n) float64, shortest road km by any open road
    next_hop: np.ndarray  #: (n, n) int64, next place toward a destination by any open road (-1: none)


RECENT_MASKS, RECENT_BYTES = 3, 128 * 2**20
"""Routes of the last masks a world keeps to repair (about one a coalition): 12 n² bytes each (float64 days, int32
next hops), as many as fit in RECENT_BYTES (three at 1,000 places, none from about 3,350: then every mask's routes
are computed anew)."""

ROUTE_CACHE = BoundedCache(max_bytes=64 * 2**20)
"""Routes and components by road network and mask, shared by every model in the process (at most 64 MiB: five
sets of routes at 1,000 places, over a thousand at the Iraq scenario's; a 1,000-place run over 120 days hit it as
often with 64 MiB as with 256)."""


class World:
    """Places, roads and routing for one scenario and one set of speed parameters.

    Attributes are NumPy arrays indexed by place number (the row order of ``places.csv``).
    """

    def __init__(self, scenario: Scenario, parameters: dict[str, float]):
        self.scenario = scenario
        self.place_ids: list[str] = list(scenario.place_ids)
        self.index: dict[str, int] = {pid: i for i, pid in enumerate(self.place_ids)}
        places = scenario.places
        n = len(places)
        self.n = n
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

        # Road arrays: km and base speed (km/day) of each edge, as dense matrices (n is small).
        self.road_km = np.zeros((n, n))
        self.road_speed = np.zeros((n, n))
        for r in scenario.roads:
            i, j = self.index[r.a], self.index[r.b]
            speed = parameters[ROAD_SPEED_PARAMETER[r.kind]]
            self.road_km[i, j] = self.road_km[j, i] = r.km
            self.road_speed[i, j] = self.road_speed[j, i] = speed
        self.open_road = self.road_km > 0
        self.edges = road_edges(self.road_km)
        """The roads as lists (:class:`simulation.rules.routing.Edges`; closed roads included: they never change)."""
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
        for a in (self.road_km, self.road_speed, self.open_road):
            digest.update(a.tobytes())
        self.network_key = digest.digest()  # what routes over these roads depend on
        # Open roads as a list of directed edges, row-major in (to, from): masking it gives the CSR arrays of
        # the reversed graph (see _graph) without a dense-to-sparse conversion.
        self._edge_to, self._edge_from = np.nonzero(self.open_road.T)
        self._road_days = self.road_km / np.where(self.road_speed > 0, self.road_speed, 1)  # days at mobility 1
        self._nowhere = np.zeros(self.n, dtype=bool)
        self._recent_avoiding: list[Previous] = []  # the last routes_avoiding computed over these roads
        self.travel_days, self.distance_km, self.next_hop = ROUTE_CACHE.get(("all", self.network_key),
                                                                            self._all_routes)
        self.roads = Roads(self.road_km, self.road_speed, self.open_road, self.travel_days, self.distance_km,
                           self.next_hop)
        """The roads and routes as the kernels' bundle (see :class:`Roads`)."""
        self.packed_roads = tuple(self.roads)

    def _all_routes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # The open roads in CSR form straight from the edge lists (row-major, as SciPy's conversion of the dense
        # matrices orders them: the same arrays), without a dense temporary.
        a, b = self.edges.a, self.edges.b
        is_open = self.open_road[a, b]
        a, b = a[is_open], b[is_open]
        indptr = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(np.bincount(a, minlength=self.n), out=indptr[1:])
        speed = self.road_speed[a, b]
        hours = csr_matrix((self.road_km[a, b] / np.where(speed > 0, speed, 1), b, indptr), shape=(self.n, self.n))
        travel_days, pred = dijkstra(hours, directed=False, return_predecessors=True)
        distance_km = dijkstra(csr_matrix((self.road_km[a, b], b, indptr), shape=(self.n, self.n)), directed=False)
        # For an undirected graph, the predecessor of i on the shortest path from j is the next hop from i
        # toward j; -9999 (unreachable) becomes -1.
        nxt = pred.T.copy()
        nxt[nxt < 0] = -1
        np.fill_diagonal(nxt, np.arange(self.n))
        return travel_days, distance_km, nxt

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
        # works on them.
        n = self.n
        days_t, next_t = np.empty((n, n)), np.empty((n, n), dtype=np.int32)
        near = min(self._recent_avoiding, key=lambda r: int(np.count_nonzero(r.no_exit != hostile)), default=None)
        routes_by_destination(self.road_km, self._road_days, self.open_road, hostile, self._nowhere, days_t, next_t,
                              previous=near, edges=self.edges)
        keep = min(RECENT_MASKS, RECENT_BYTES // (days_t.nbytes + next_t.nbytes))
        if keep:
            self._recent_avoiding = [*self._recent_avoiding, Previous(hostile.copy(), self._nowhere, days_t,
                                                                      next_t)][-keep:]
        return days_t.T.copy(), next_t.T.copy()

    def set_road(self, a: str, b: str, is_open: bool) -> None:
        """Close or open the road between places ``a`` and ``b`` and recompute routes."""
        i, j = self.index[a], self.index[b]
        self.open_road[i, j] = self.open_road[j, i] = is_open and self.road_km[i, j] > 0
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
