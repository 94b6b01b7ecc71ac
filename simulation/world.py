"""The world: places and roads as a NetworkX graph, with array views for the model's hot loops.

Routing is precomputed once (and again when a road closes or opens) with SciPy's Dijkstra over the whole
graph, so that a unit's next hop toward any objective is an array look-up, not a path search.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

from simulation.scenario import Scenario

ROAD_SPEED_PARAMETER = {
    "highway": "speed_highway_km",
    "road": "speed_road_km",
    "desert track": "speed_track_km",
    "river crossing": "speed_river_km",
}


class World:
    """Places, roads and routing for one scenario and one set of speed parameters.

    Attributes are NumPy arrays indexed by place number (the row order of ``places.csv``).
    """

    def __init__(self, scenario: Scenario, parameters: dict[str, float]):
        self.scenario = scenario
        self.graph: nx.Graph = scenario.graph()
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
        self.kind = [p.kind for p in places]

        # Road arrays: km and base speed (km/day) of each edge, as dense matrices (n is small).
        self.road_km = np.zeros((n, n))
        self.road_speed = np.zeros((n, n))
        for r in scenario.roads:
            i, j = self.index[r.a], self.index[r.b]
            speed = parameters[ROAD_SPEED_PARAMETER[r.kind]]
            self.road_km[i, j] = self.road_km[j, i] = r.km
            self.road_speed[i, j] = self.road_speed[j, i] = speed
        self.open_road = self.road_km > 0
        self.roads_version = 0
        self._route_cache: dict[tuple[bytes, int], tuple[np.ndarray, np.ndarray]] = {}
        self.recompute_routes()

    def recompute_routes(self) -> None:
        """Shortest travel times (days at mobility 1), road distances (km) and next hops over open roads."""
        hours = np.where(self.open_road, self.road_km / np.where(self.road_speed > 0, self.road_speed, 1), 0)
        days_graph = csr_matrix(hours)
        self.travel_days, pred = dijkstra(days_graph, directed=False, return_predecessors=True)
        km_graph = csr_matrix(np.where(self.open_road, self.road_km, 0))
        self.distance_km = dijkstra(km_graph, directed=False)
        # For an undirected graph, the predecessor of i on the shortest path from j is the next hop from i
        # toward j; -9999 (unreachable) becomes -1.
        nxt = pred.T.copy()
        nxt[nxt < 0] = -1
        np.fill_diagonal(nxt, np.arange(self.n))
        self.next_hop = nxt

    def routes_avoiding(self, hostile: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Travel days and next hops for a side that may end a trip at, but not pass through, ``hostile`` places.

        Returns ``(travel_days, next_hop)``, both (n, n); ``next_hop[i, j]`` is -1 where ``j`` cannot be reached
        from ``i`` that way. Results are cached by the mask and the state of the roads.
        """
        key = (hostile.tobytes(), self.roads_version)
        hit = self._route_cache.get(key)
        if hit is not None:
            return hit
        days = np.where(self.open_road, self.road_km / np.where(self.road_speed > 0, self.road_speed, 1), 0)
        days[hostile, :] = 0  # no road leads on out of a hostile place
        # Dijkstra from every destination over the reversed graph: the predecessor of i on the path from j
        # there is the next hop from i toward j here.
        dist, pred = dijkstra(csr_matrix(days.T), directed=True, return_predecessors=True)
        nxt = pred.T.copy()
        nxt[nxt < 0] = -1
        np.fill_diagonal(nxt, np.arange(self.n))
        result = (dist.T.copy(), nxt)
        if len(self._route_cache) > 256:
            self._route_cache.clear()
        self._route_cache[key] = result
        return result

    def set_road(self, a: str, b: str, is_open: bool) -> None:
        """Close or open the road between places ``a`` and ``b`` and recompute routes."""
        i, j = self.index[a], self.index[b]
        self.open_road[i, j] = self.open_road[j, i] = is_open and self.road_km[i, j] > 0
        self.roads_version += 1
        self.recompute_routes()

    def components(self, passable: np.ndarray) -> np.ndarray:
        """Label of the connected component of each place, using only open roads between passable places.

        Impassable places get the label -1.
        """
        mask = self.open_road & passable[:, None] & passable[None, :]
        _, labels = connected_components(csr_matrix(mask), directed=False)
        return np.where(passable, labels, -1)
