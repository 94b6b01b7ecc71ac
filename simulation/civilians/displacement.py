"""Civilians as arrays: flight from the modelled fighting, travel along roads, shelter and return.

Nobody is an agent here. People are counts in a few NumPy arrays whose shapes depend on the road graph and the
number of population groups only. People are counted by *origin* ``k``: a group ``g`` (see
:mod:`simulation.civilians.groups`; one group without ``composition.csv``) of a home place ``p`` that had people
of it at the start (``origin_gp[k] = g * n + p``; empty combinations are not held, so the cost grows with the
groups actually present, not with groups times places).

``residents_by_origin[k]``
    people living at home.
``within_by_origin[k]``
    people displaced within their own place (to another district of a city), present there.
``cohort_by_origin[k, c]``
    displaced people of origin ``k`` sheltering at place ``c`` (zero at their home place: a person back home is
    a resident again).
``fleeing`` and ``returning``, ``[slot, k]``
    people of origin ``k`` on the road, in *road slot* ``s``. Each directed road ``a -> b`` is cut into
    ``ceil(km / (flight_speed_km / SUBSTEPS))`` slots; a slot is a quarter of a day's travel. Fleeing people
    choose where to go next at every place they reach; returning people head home. Only the (slot, origin)
    pairs with someone in them are kept (a list a slot in a pool, :class:`simulation.civilians.travel.OnRoad`);
    ``_fleeing`` and ``_returning`` give them as dense tables, for checks on small theatres.
person-days displaced (``cohort_days`` ...)
    so that ``days / count`` is a cohort's mean number of days displaced.

The place-level views (``residents``, ``cohort[p, c]``, ``displaced_from`` ...) sum the groups.

A day (:meth:`Civilians.step`, called by the model after the fighting, air strikes and changes of control):

1. **Fear.** Violence (people killed, or recorded fatalities in a replay) at each place is felt nearby, weighted by
   ``exp(-road km / fear_radius_km)``, and accumulates in a fear state that halves every
   ``fear_half_life_days``; a day with less than one casualty-equivalent felt is a quiet day and adds nothing
   (low levels of violence do not drive people away: Bohra-Mishra and Massey, Demography 48(2), 2011). A
   change of controller adds a takeover fear, by group, that halves every ``takeover_half_life_days``:
   ``flight_takeover * (any + (1 - any) * fear of the taker)``. The fear of a faction is the group's fear of
   its doctrine (:mod:`simulation.civilians.groups`), or, with one group, each place's from its ``sympathy``.
   Violence drives away the people of the district near it (``battle_exposure_people`` at most), not a whole
   city; some of them move within the city (``flight_within_place``). See
   :func:`simulation.civilians.travel.fear_and_hazard` for the formulas.
2. **Where to go.** A destination's weight for people of origin ``k`` is its attraction
   (``destination_base_attraction`` if it is populated, plus its ``refuge``), times ``exp(-hazard)`` of their
   group there, times ``1 - fear`` of the destination's controller, times a crowding factor
   ``1 / (1 + idps / capacity)``, times ``exp(-road km / destination_distance_km)``. A road weighs its
   destinations nested by ``destination_nesting`` (``(sum of w^(1/nest))^nest``: 1 adds them up, toward 0 a
   road is worth its best destination, so a corridor does not win by bundling destinations). Places with a
   battle today and closed checkpoints weigh nothing and cannot be passed through.
3. **Departures.** Residents and the displaced sheltering at a frightened place leave with the day's share
   and take the first road toward the destination they pick, among places safer for their group than the one
   they leave (nobody leaves by road if there is none).
4. **Returns.** Once home has been quiet (no battle, no change of controller, less than one
   casualty-equivalent felt) for ``return_quiet_days``, a share ``(return_rate + return_near_rate *
   exp(-road km from home / return_near_km)) * (1 - fear of home's controller)`` of each cohort heads home a
   day: short displacement (within the place, to the next town) ends within days.
5. **Travel** in ``SUBSTEPS`` quarters of a day. People reaching a place choose again among the destinations
   that do not lie back the way they came: stay, or take the next road. People reaching a place with a battle
   are turned away and wait at the place they came from; people reaching a closed checkpoint (already on the
   road when it closed) are held at it, in its camp on the near side, and let no further; a checkpoint with an
   admission capacity (``admission_per_day`` x ``checkpoint_admission_scale``) admits that many people of
   screened groups a day, and the others queue on the road and try again.
6. Everyone still displaced is one day older.

Flows are expected values rounded to whole people with one uniform draw per cohort (systematic, unbiased
rounding), so people are conserved exactly and the cost of a day does not depend on how many people there
are. Residents + displaced (within their place, sheltering or on the road) + civilian casualties removed by
:meth:`kill` always equal the initial population, group by group.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulation.civilians import travel
from simulation.civilians.bounded import (
    DESTINATION_REACH,
    SparseRoutes,
    bounded_routes,
    far_routes,
    home_routes,
    sparse_hop_entries,
    sparse_hop_rows,
)
from simulation.civilians.groups import (
    DOCTRINE_COLUMNS,
    DOCTRINE_SIDE,
    ONE_GROUP,
    fear_matrix,
    split_population,
    sympathy_hostility,
)
from simulation.civilians.harm import kill_displaced
from simulation.civilians.travel import (
    SUBSTEPS,
    Hops,
    RoadSlots,
    cohort_places,
    depart_and_return,
    destination_weights,
    empty_road,
    fear_and_hazard,
    hop_entries,
    hop_rows,
    road_by_origin,
    road_table,
    travel_day,
)
from simulation.roads import RoadMatrix
from simulation.rules.routing import Edges, Previous, routes_by_destination
from simulation.world import DENSE_MOST_PLACES, BoundedCache, World

__all__ = ["DENSE_MOST_PLACES", "DOCTRINE_SIDE", "SUBSTEPS", "Civilians", "Hops", "RoadSlots", "Routes",
           "civilian_routes", "hop_matrix",
           "hostility", "road_slots"]

hostility = sympathy_hostility  # the one-group fear of each faction (see simulation.civilians.groups)


def felt_violence(violence: np.ndarray, distance_km: np.ndarray, radius_km: float,
                  district: np.ndarray | None = None, kernel: np.ndarray | None = None) -> np.ndarray:
    """Violence felt at each place: ``sum_q violence[q] * exp(-distance_km[p, q] / radius_km) * min(1, D[p] /
    D[q])``, ``D`` the people of each place's district near fighting (``district``; without it, every ``D`` is
    the same and the last factor is 1).

    A place's violence is felt by its own district in full; elsewhere it frightens, before the distance decay,
    no more people than it frightens where it happens (the felt count is at most ``violence[q]``) and no larger
    share of them (``violence[q] / D[q]`` per person exposed at most): a battle in a city is felt in a small town
    near it as the city's danger, not as the city's casualty count falling on the town's few people. With
    ``radius_km == 0`` only the place's own violence counts. Unreachable places (infinite distance) count for
    nothing. ``kernel``: ``violence_kernel(distance_km, radius_km)``, if the caller keeps it; else only the
    columns of the places with violence are worked out (the same numbers, element by element, and no (n, n)
    array).
    """
    violence = np.asarray(violence, dtype=float)
    at = np.flatnonzero(violence)
    if at.size == 0:
        return np.zeros(distance_km.shape[0])
    weights = violence_kernel(distance_km[:, at], radius_km) if kernel is None else kernel[:, at]
    if district is not None:
        weights = weights * np.minimum(1.0, district[:, None] / district[None, at])
    return weights @ violence[at]


def violence_kernel(distance_km: np.ndarray, radius_km: float) -> np.ndarray:
    """How much of the violence at ``q`` is felt at ``p``: ``exp(-distance_km[p, q] / radius_km)`` (with
    ``radius_km == 0``, 1 at the place itself and 0 elsewhere)."""
    if radius_km <= 0:
        return (distance_km == 0).astype(float)
    with np.errstate(over="ignore"):
        return np.exp(-distance_km / radius_km)


def flight_share(hazard: np.ndarray, max_share: float) -> np.ndarray:
    """Daily share of people who leave: ``max_share * (1 - exp(-hazard))``."""
    return max_share * -np.expm1(-np.maximum(hazard, 0.0))


def road_slots(road_km: np.ndarray | RoadMatrix, step_km: float) -> RoadSlots:
    """Cut every road of the (n, n) matrix ``road_km`` (0 = no road; or the world's, road by road) into slots of
    ``step_km``.

    An edge of ``km`` takes ``max(1, ceil(km / step_km))`` slots: people never arrive sooner than the road allows.
    Nothing of the result is n x n: a place's roads are found through its ``out_edge`` row (see
    :func:`simulation.civilians.travel.edge_between`).
    """
    n = road_km.shape[0]
    if isinstance(road_km, RoadMatrix):  # the world's roads, kept road by road in row-major order
        keep = road_km.values > 0
        tail, head = np.divmod(road_km.keys[keep], n)
        km = road_km.values[keep]
    else:
        tail, head = np.nonzero(road_km > 0)  # row-major: sorted by tail, then head
        km = road_km[tail, head]
    E = tail.size
    degree = np.bincount(tail, minlength=n)
    J = int(degree.max()) if E else 0
    out_edge = np.full((n, max(J, 1)), -1, dtype=np.int64)
    start = np.r_[0, np.cumsum(degree)[:-1]].astype(np.int64)
    position = np.arange(E) - start[tail]
    out_edge[tail, position] = np.arange(E)
    # The way back of each edge (head -> tail): edges are sorted by (tail, head), so it is found by bisection.
    key = tail.astype(np.int64) * n + head
    back = np.minimum(np.searchsorted(key, head.astype(np.int64) * n + tail), max(E - 1, 0))
    uturn = np.where(key[back] == head.astype(np.int64) * n + tail, back - start[head], -1) if E else position
    length = np.maximum(1, np.ceil(km / step_km - 1e-9)).astype(np.int64)
    first = np.r_[0, np.cumsum(length)[:-1]].astype(np.int64)
    # next_edge[j, e]: the edge taken by the j-th road out of e's head (-1 where the head has fewer).
    next_edge = np.ascontiguousarray(out_edge[head].T)
    return RoadSlots(tail, head, km, out_edge, uturn, first, length, degree, next_edge)


@dataclass(frozen=True)
class Routes:
    """Shortest road routes for people on foot or in cars, through passable places only, kept by destination
    (one destination's routes a row, as they are worked out and read).

    Attributes
    ----------
    to_km : (n, n) array, ``to_km[d, c]`` the road km from ``c`` to ``d`` (inf if unreachable).
    to_next : (n, n) array, ``to_next[d, c]`` the next place from ``c`` toward ``d`` (``c`` itself for ``d ==
        c``; -1 if none).
    """

    to_km: np.ndarray
    to_next: np.ndarray

    @property
    def distance_km(self) -> np.ndarray:
        """(n, n) ``[c, d]``: road km from ``c`` to ``d`` (a transposed view)."""
        return self.to_km.T

    @property
    def next_hop(self) -> np.ndarray:
        """(n, n) ``[c, d]``: the next place from ``c`` toward ``d`` (a transposed view)."""
        return self.to_next.T


# Civilian routes and hop matrices are shared by every :class:`Civilians` of the process: sweeps and
# calibrations run the same scenario thousands of times and the same sets of battles and closed checkpoints
# recur, so a Dijkstra done once serves them all. Keys are digests of everything a value depends on (road
# network, mask, distance scale); values are read-only, so a warm cache gives exactly the numbers a cold one does.


def _arrays_of(value: object) -> list[np.ndarray]:
    if isinstance(value, Routes):
        return [value.to_km, value.to_next]
    if isinstance(value, SparseRoutes):
        return list(value)
    return [value.data, value.indices, value.indptr]


_NO_ROUTES = np.zeros((0, 0), dtype=np.int32)  # no routes home today: nobody goes home
_NO_ROUTES.flags.writeable = False  # like the cached routes, so that the compiled travel has one signature
_NO_KM = np.zeros((0, 0))  # the routes home of a large theatre keep no lengths

ROUTE_CACHE = BoundedCache(max_bytes=64 * 2**20, arrays_of=_arrays_of)
"""Civilian routes by road network and passable places, and their hop matrices (at most 64 MiB a process)."""


ROAD_POOL_ENTRIES = 1024
"""Entries (24 bytes each) a pool of people on the road starts with; it doubles whenever full (see
:class:`simulation.civilians.travel.OnRoad`)."""


LAST_ROUTES_BYTES = 128 * 2**20
"""The most bytes of routes a :class:`Civilians` keeps to repair the next day's from (12 n² bytes a set: two sets up
to about 2,350 places, one up to about 3,350)."""

RECENT_ROUTES = 2
"""Sets of routes a :class:`Civilians` keeps to repair from: a day asks for two masks, the places open to the
displaced (no battle, checkpoint open) for the hop matrix and those without a battle for the way home, which differ
at every closed checkpoint; each is repaired from the nearer of the last two (yesterday's of the same kind, mostly),
not from the other kind's."""


def civilian_routes(road_km: np.ndarray, open_road: np.ndarray, passable: np.ndarray,
                    previous: tuple[np.ndarray, Routes] | None = None, edges: Edges | None = None) -> Routes:
    """Shortest routes over open roads that never enter an impassable place (one may leave it).

    Parameters
    ----------
    road_km : (n, n) road lengths, 0 where there is no road.
    open_road : (n, n) bool, roads open to traffic.
    passable : (n,) bool, places people may enter.
    previous : ``(passable, routes)`` computed before over the same roads: repaired rather than computed anew
        (the same result; see :func:`simulation.rules.routing.routes_by_destination`).
    edges : ``road_edges(road_km)``, if the caller keeps it.
    """
    n = road_km.shape[0]
    dist, nxt = np.empty((n, n)), np.empty((n, n), dtype=np.int32)
    nowhere = np.zeros(n, dtype=bool)
    before = None if previous is None else Previous(nowhere, ~previous[0], previous[1].to_km, previous[1].to_next)
    routes_by_destination(road_km, road_km, open_road, nowhere, ~passable, dist, nxt, previous=before, edges=edges)
    return Routes(dist, nxt)


def hop_matrix(routes: Routes | SparseRoutes, roads: RoadSlots, destination_distance_km: float) -> Hops:
    """The sparse matrix that turns destination weights [d, o] into weights per road out of each place
    [j * n + c, o]: entry ``(j * n + c, d)`` is ``exp(-road km from c to d / destination_distance_km)`` where
    ``c``'s ``j``-th road is the first of its route to ``d`` (``j == J``, the largest degree: ``d == c``). The
    routes as (n, n) matrices or, above the size threshold, as lists by destination (the same matrix)."""
    J = roads.out_edge.shape[1]
    if isinstance(routes, SparseRoutes):
        n = routes.ptr.size - 1
        indptr = np.zeros(n * (J + 1) + 1, dtype=np.int32)  # int32: scipy.sparse's own index type
        lists = (routes.ptr, routes.place, routes.next_hop)
        indices = np.empty(sparse_hop_rows(*lists, roads.out_edge, roads.head, indptr), dtype=np.int32)
        km = np.empty(indptr[-1])
        sparse_hop_entries(*lists, routes.km, roads.out_edge, roads.head, indptr, indices, km)
    else:
        n = routes.to_next.shape[0]
        indptr = np.zeros(n * (J + 1) + 1, dtype=np.int32)  # int32: scipy.sparse's own index type
        indices = np.empty(hop_rows(routes.to_next, roads.out_edge, roads.head, indptr), dtype=np.int32)
        km = np.empty(indptr[-1])
        hop_entries(routes.to_next, roads.out_edge, roads.head, routes.to_km, indptr, indices, km)
    np.negative(km, out=km)
    np.divide(km, destination_distance_km, out=km)
    return Hops(indptr, indices, np.exp(km, out=km))


# ---------------------------------------------------------------------------------------------------------
# The civilian population of a world


class Civilians:
    """Civilian population by origin (group and home place) and displaced cohorts by origin and place.

    Parameters
    ----------
    world : the model's :class:`World` (places, roads, routing; its scenario gives the factions' doctrines, the
        composition of each place and the checkpoints' admission capacities).
    parameters : the model's parameter values (see the "civilians" section of :mod:`simulation.parameters`).
    rng : the model's generator. Civilians draw from a child of it (``rng.spawn``), so that displacement does
        not shift the random stream of the fighting.

    On a world above the size threshold (``world.dense`` false, see :data:`simulation.world.DENSE_MOST_PLACES`)
    destinations beyond a bound are not considered (:mod:`simulation.civilians.bounded`).
    """

    _recent_routes: tuple[tuple[bytes, np.ndarray, Routes], ...] = ()  # (network key, mask, routes): see _routes
    _far: tuple = (None, None)  # (network key, the routes home's part from the world): see _home
    _lists_size = 0  # entries of the last bounded routes' lists (see bounded_routes' size_hint)

    def __init__(self, world: World, parameters: dict[str, float], rng: np.random.Generator):
        self.world = world
        self.p = parameters
        try:
            self.rng = rng.spawn(1)[0]
        except (AttributeError, TypeError, ValueError):  # a generator without a seed sequence
            self.rng = rng
        n = world.n
        self.reach_km: float | None = None if world.dense else \
            DESTINATION_REACH * float(parameters["destination_distance_km"])
        """Road km beyond which a destination is not considered (None: every destination; see
        :mod:`simulation.civilians.bounded`)."""
        scenario = world.scenario
        composition = scenario.composition
        if composition is None:
            self.groups: tuple[str, ...] = (ONE_GROUP,)
            shares = np.ones((1, n))
        else:
            self.groups = composition.groups
            shares = np.array(composition.shares, dtype=float).T  # [group, place]
        G = len(self.groups)
        by_group_and_place = split_population(world.population0, shares).reshape(G * n)
        # The origins: the (group, place) pairs with people at the start, in group order.
        self.origin_gp = np.flatnonzero(by_group_and_place > 0)
        self.origin_home = self.origin_gp % n
        self.origin_of_gp = np.full(G * n, -1, dtype=np.int64)
        self.origin_of_gp[self.origin_gp] = np.arange(self.origin_gp.size)
        self.group_start = np.searchsorted(self.origin_gp // n, np.arange(G + 1)).astype(np.int64)
        self._origins_at = [np.flatnonzero(self.origin_home == c) for c in range(n)]
        K = self.origin_gp.size
        self.n, self.n_groups = n, G
        self.initial_by_origin = by_group_and_place[self.origin_gp]
        self.initial = world.population0.copy()
        self.residents_by_origin = self.initial_by_origin.copy()
        # int32 above the size threshold (issue 21: half the bytes of origins x places; a place's people fit), the
        # same counts
        self.cohort_by_origin = np.zeros((K, n), dtype=np.int64 if world.dense else np.int32)
        self.cohort_days = np.zeros((K, n))
        self.within_by_origin = np.zeros(K, dtype=np.int64)
        self.within_days = np.zeros(K)
        self.roads = road_slots(world.road_km, parameters["flight_speed_km"] / SUBSTEPS)
        S = self.roads.n_slots
        # People on the road by (slot, origin), only where someone is: each slot's list of entries in a pool
        # (see simulation.civilians.travel.OnRoad), which the compiled calls may enlarge (and return).
        self.fleeing_days = np.zeros(K)  # person-days displaced of each origin's people on the road
        # People per origin on the road, fleeing and going home: the sums of the above over the slots, kept up
        # to date as people join and leave the road.
        self._fleeing_n = np.zeros(K, dtype=np.int64)
        self._returning_n = np.zeros(K, dtype=np.int64)
        self.returning_days = np.zeros(K)
        self.clock = 0  # quarter-days since the start
        self.displaced_from_by_origin = np.zeros(K, dtype=np.int64)  # cumulative residents who left home
        self.returned_by_origin = np.zeros(K, dtype=np.int64)  # cumulative displaced people back home
        self.killed_by_origin = np.zeros(K, dtype=np.int64)  # civilian casualties removed, by origin
        self.killed = np.zeros(n, dtype=np.int64)  # ... by the place where they were harmed
        self.checkpoint_open = np.ones(n, dtype=bool)
        self.fear_violence = np.zeros(n)
        self.fear_takeover = np.zeros(G * n)  # the rest by group at place, g * n + c
        self.hazard_by_group = np.zeros(G * n)
        self.quiet_days = np.zeros(n, dtype=np.int64)
        self.share_by_group = np.zeros(G * n)
        self.within_share = np.zeros(G * n)
        self.leaving_hazard = np.zeros(G * n)

        factions = scenario.factions
        if composition is None:
            side = np.array([DOCTRINE_SIDE[f.doctrine] for f in factions])
            self.hostility = sympathy_hostility(world.sympathy, side)  # [group at place, faction]
            self.violence_weight = np.ones(1)
        else:
            fear = fear_matrix(self.groups, scenario.displacement.fear_overrides())
            by_doctrine = fear[:, [DOCTRINE_COLUMNS.index(f.doctrine) for f in factions]]  # [group, faction]
            self.hostility = np.repeat(by_doctrine, n, axis=0)  # [g * n + c, faction]
            self.violence_weight = fear[:, DOCTRINE_COLUMNS.index("violence")].copy()
        unscreened = set(scenario.displacement.unscreened_groups)
        self.screened = np.array([g not in unscreened for g in self.groups])[self.origin_gp // n]  # by origin
        self.admission_per_day = np.array([np.inf if p.admission is None else p.admission for p in scenario.places])
        self.admission_left = np.full(n, np.inf)  # today's, see step
        pop = world.population0
        populated = pop > 0
        self.attraction = parameters["destination_base_attraction"] * populated + world.refuge
        # Places smaller than the median town (camps, open ground at checkpoints) host as many as the median town.
        floor = float(np.median(pop[populated])) if populated.any() else 1.0
        self.capacity = parameters["host_capacity_share"] * np.maximum(pop, floor)
        # Violence is felt per person exposed; an empty place (a checkpoint's camp) counts as the median town.
        self.exposure = np.where(populated, pop, floor).astype(float)
        self._acceptance: tuple = (None, None)  # (nest, (1 - hostility) ** (1 / nest)), see step
        self._choices: tuple = (None, None)  # (cache bytes, the travellers' cache of weights), see _choice_cache
        # The kernels' bundles (see simulation.civilians.travel), as plain tuples of these arrays, which are only
        # ever written in place.
        self._packed_people = (self.residents_by_origin, self.cohort_by_origin, self.cohort_days,
                               self.displaced_from_by_origin, self.returned_by_origin, self.within_by_origin,
                               self.within_days, self.origin_home)
        # People in each road slot, fleeing and going home (the sums over the origins): the quarter-day travel
        # looks only at the slots with someone in them.
        first, entries, pool, self._fleeing_busy = empty_road(S, ROAD_POOL_ENTRIES)
        self._packed_fleeing = (first, entries, pool, self._fleeing_n, self.fleeing_days, self._fleeing_busy)
        first, entries, pool, self._returning_busy = empty_road(S, ROAD_POOL_ENTRIES)
        self._packed_returning = (first, entries, pool, self._returning_n, self.returning_days,
                                  self._returning_busy)
        self._packed_fear = (self.fear_violence, self.fear_takeover, self.hazard_by_group, self.quiet_days)
        self._packed_roads = tuple(self.roads)

    # -----------------------------------------------------------------------------------------------------
    # Views: by place (the groups summed)

    def _by_place(self, by_origin: np.ndarray) -> np.ndarray:
        """Sum an array over the groups: ``[k, ...]`` by origin to ``[p, ...]`` by home place."""
        out = np.zeros((self.n, *by_origin.shape[1:]),
                       dtype=np.int64 if by_origin.dtype == np.int32 else by_origin.dtype)
        np.add.at(out, self.origin_home, by_origin)
        return out

    def _by_group(self, at_place: np.ndarray) -> np.ndarray:
        """The residents' mean of a quantity of each group at each place (``[g * n + c]``), by place."""
        res = np.zeros(self.n_groups * self.n)
        res[self.origin_gp] = self.residents_by_origin
        res = res.reshape(self.n_groups, self.n)
        weights = np.where(res.sum(axis=0) > 0, res, 1.0)
        return (at_place.reshape(self.n_groups, self.n) * weights).sum(axis=0) / weights.sum(axis=0)

    @property
    def residents(self) -> np.ndarray:
        """People at home in each place."""
        return self._by_place(self.residents_by_origin)

    @property
    def cohort(self) -> np.ndarray:
        """Displaced people from place ``o`` sheltering at place ``c``, ``[o, c]`` (not within their place)."""
        return self._by_place(self.cohort_by_origin)

    @property
    def within(self) -> np.ndarray:
        """People displaced within their own place."""
        return self._by_place(self.within_by_origin)

    @property
    def displaced_from(self) -> np.ndarray:
        """Residents of each place who ever left home (within the place or away), cumulative."""
        return self._by_place(self.displaced_from_by_origin)

    @property
    def returned(self) -> np.ndarray:
        """Displaced people back home, by home place, cumulative."""
        return self._by_place(self.returned_by_origin)

    @property
    def _fleeing(self) -> np.ndarray:
        """People fleeing on the road, as a dense table [road slot, origin] (built on demand: for checks on small
        theatres)."""
        return road_table(self._packed_fleeing[0], self._packed_fleeing[1], self.origin_gp.size)

    @property
    def _returning(self) -> np.ndarray:
        """People on the road home, as a dense table [road slot, origin] (built on demand: for checks on small
        theatres)."""
        return road_table(self._packed_returning[0], self._packed_returning[1], self.origin_gp.size)

    def _store_entries(self, fleeing: np.ndarray, returning: np.ndarray) -> None:
        """Keep the pools' entries that a compiled call returned (new arrays if a pool grew)."""
        if fleeing is not self._packed_fleeing[1]:
            self._packed_fleeing = (*self._packed_fleeing[:1], fleeing, *self._packed_fleeing[2:])
        if returning is not self._packed_returning[1]:
            self._packed_returning = (*self._packed_returning[:1], returning, *self._packed_returning[2:])

    @property
    def on_road_entries(self) -> int:
        """(Slot, origin) entries in use in the pools of people on the road, fleeing and going home."""
        return int(self._packed_fleeing[2][2] + self._packed_returning[2][2])

    @property
    def fleeing(self) -> np.ndarray:
        """People fleeing on the road, [home place, road slot]."""
        return self._by_place(self._fleeing.T)

    @property
    def returning(self) -> np.ndarray:
        """People on the road home, [home place, road slot]."""
        return self._by_place(self._returning.T)

    @property
    def hazard(self) -> np.ndarray:
        """Each place's hazard of leaving today, averaged over its residents' groups."""
        return self._by_group(self.hazard_by_group)

    @property
    def share_today(self) -> np.ndarray:
        """Each place's share of residents who left home today (expected)."""
        return self._by_group(self.share_by_group)

    @property
    def idps(self) -> np.ndarray:
        """Displaced people present at each place: sheltering there, or displaced within it (not on the road)."""
        return self.cohort_by_origin.sum(axis=0) + self.within

    @property
    def in_transit(self) -> int:
        """Displaced people on the road, fleeing or going home."""
        return int(self._fleeing_n.sum() + self._returning_n.sum())

    @property
    def present(self) -> np.ndarray:
        """People present at each place: residents and displaced people there."""
        return self.residents + self.idps

    @property
    def total_displaced(self) -> int:
        """Everyone away from home: within their place, sheltering elsewhere or on the road."""
        return int(self.cohort_by_origin.sum() + self.within_by_origin.sum()) + self.in_transit

    @property
    def displaced_by_origin(self) -> np.ndarray:
        """People from each place who are displaced now (within it, sheltering elsewhere or on the road)."""
        return self._by_place(self.cohort_by_origin.sum(axis=1) + self.within_by_origin + self._fleeing_n
                              + self._returning_n)

    def displaced_by_group(self) -> dict[str, int]:
        """Everyone displaced now, by group."""
        now = (self.cohort_by_origin.sum(axis=1) + self.within_by_origin + self._fleeing_n + self._returning_n)
        by_group = np.bincount(self.origin_gp // self.n, weights=now, minlength=self.n_groups)
        return {g: int(x) for g, x in zip(self.groups, by_group)}

    @property
    def mean_days_displaced(self) -> float:
        """Mean days displaced of everyone displaced now (0 if nobody is)."""
        people = self.total_displaced
        days = (self.cohort_days.sum() + self.fleeing_days.sum() + self.returning_days.sum()
                + self.within_days.sum())
        return float(days / people) if people else 0.0

    def balance_by_origin(self) -> np.ndarray:
        """Initial people of each origin minus residents, displaced and casualties removed: always 0. Counts the
        people on the road slot by slot (not the running totals that ``in_transit`` reads), so it checks those
        too."""
        K = self.origin_gp.size
        on_road = (road_by_origin(self._packed_fleeing[0], self._packed_fleeing[1], K)
                   + road_by_origin(self._packed_returning[0], self._packed_returning[1], K))
        return (self.initial_by_origin - self.residents_by_origin - self.cohort_by_origin.sum(axis=1)
                - self.within_by_origin - on_road - self.killed_by_origin)

    def balance(self) -> int:
        """Initial population minus residents, displaced and casualties removed: always 0 (see
        :meth:`balance_by_origin`), and the casualties by place add up to those by origin."""
        return int(np.abs(self.balance_by_origin()).sum()) + abs(int(self.killed.sum() - self.killed_by_origin.sum()))

    # -----------------------------------------------------------------------------------------------------
    # What the model calls

    def kill(self, counts: np.ndarray) -> np.ndarray:
        """Remove civilians harmed at each place (at most those present); return the numbers removed.

        Everyone present is equally exposed: residents of each group, people displaced within the place and the
        displaced sheltering there, by origin; the split among them is multivariate hypergeometric. People on
        the road are not exposed to fighting in places.
        """
        counts = np.asarray(counts).astype(np.int64)
        for c in np.flatnonzero(counts).tolist():
            origins = self._origins_at[c]
            G = origins.size
            at_home = self.residents_by_origin[origins]
            inside = self.within_by_origin[origins]
            pools = np.concatenate([at_home, inside, self.cohort_by_origin[:, c]])
            k = min(int(counts[c]), int(pools.sum()))
            counts[c] = k
            if k == 0:
                continue
            take = self.rng.multivariate_hypergeometric(pools, k, method="marginals")
            self.residents_by_origin[origins] -= take[:G]
            self.killed_by_origin[origins] += take[:G]
            if take[G:2 * G].any():
                self.within_days[origins] -= take[G:2 * G] * self.within_days[origins] / np.maximum(inside, 1)
                self.within_by_origin[origins] -= take[G:2 * G]
                self.killed_by_origin[origins] += take[G:2 * G]
            if take[2 * G:].any():
                kill_displaced(self.cohort_by_origin, self.cohort_days, c, take[2 * G:])
                self.killed_by_origin += take[2 * G:]
            self.killed[c] += k
        return counts

    def set_checkpoint(self, place: int, is_open: bool) -> None:
        """Open or close ``place`` to displaced people (a closed place admits none and lets none through)."""
        self.checkpoint_open[place] = is_open

    def step(self, violence: np.ndarray, taken_by: np.ndarray, controller: np.ndarray,
             battle: np.ndarray | None = None, departures: np.ndarray | None = None) -> None:
        """Advance one day.

        Parameters
        ----------
        violence : (n,) recorded-fatality equivalents at each place today: in a full run the killed of every
            party times ``violence_recorded_share``, in a replay the recorded fatalities.
        taken_by : (n,) the faction that took each place today, -1 where control did not change.
        controller : (n,) each place's controller at the end of the day.
        battle : (n,) bool, places with an active battle (nobody flees into or through them); default none.
        departures : (n,) residents made to leave each place today where not negative (every group in
            proportion, toward any destination with some appeal), instead of the share the fear gives: the
            "injected totals" of FLEE's protocol (:mod:`simulation.replay.model`). Default: the flight rule.
        """
        p, w, n = self.p, self.world, self.world.n
        K, G = self.residents_by_origin.size, self.n_groups
        violence = np.asarray(violence, dtype=float)
        taken_by = np.asarray(taken_by)
        controller = np.asarray(controller)
        battle = np.zeros(n, dtype=bool) if battle is None else np.asarray(battle, dtype=bool)

        # 1. Fear, and the shares who leave.
        # The killing at a place on the day it changes hands without a battle there is the taker's (in a full run,
        # the insurgents' executions as they take it): each group fears it through its fear of the taker, the
        # takeover term below, not as violence.
        violence = np.where((taken_by >= 0) & ~battle, 0.0, violence)
        felt = felt_violence(violence, w.distance_km, p["fear_radius_km"], self._districts())
        idps = np.empty(n, dtype=np.int64)
        fear_and_hazard(felt, taken_by, battle,
                        (0.5 ** (1.0 / p["fear_half_life_days"]), 0.5 ** (1.0 / p["takeover_half_life_days"]),
                         p["flight_takeover"], p["flight_takeover_any"], p["flight_per_casualty"],
                         p["battle_exposure_people"], p["flight_max_share"], p["flight_within_place"]),
                        (self.hostility, self.exposure, self.violence_weight), self._packed_people,
                        self._packed_fear, (idps, self.share_by_group, self.within_share, self.leaving_hazard))
        if departures is not None:
            forced = np.asarray(departures, dtype=float)
            at = np.flatnonzero(forced >= 0)
            home = self.residents.astype(float)[at]
            for g in range(G):
                k = g * n + at
                self.share_by_group[k] = np.minimum(1.0, forced[at] / np.maximum(home, 1.0))
                self.within_share[k] = 0.0
                self.leaving_hazard[k] = np.inf  # any destination with some appeal will do

        # 2. Where people would go: weight of each destination d for people of origin k (and 4: the shares of
        # each origin's displaced people heading home today).
        open_to_idps, dest, weight = np.empty(n, dtype=bool), np.empty(G * n), np.empty((K, n))
        rate, near_rate = np.empty(K), np.empty(K)
        nest = float(p["destination_nesting"])
        if self._acceptance[0] != nest:  # (1 - fear) ** (1 / nest), the terms of nested road weights
            self._acceptance = (nest, np.power(1.0 - self.hostility, 1.0 / nest))
        # weight: each destination's weight for each origin, raised to 1 / nest (the terms of nested road weights,
        # see simulation.civilians.travel.nested)
        homeward = destination_weights(idps, self.hazard_by_group, battle, controller, self.quiet_days,
                                       (self.capacity, self.checkpoint_open, self.attraction, self.hostility,
                                        self.origin_gp, self._acceptance[1]),
                                       (p["return_quiet_days"], p["return_rate"], p["return_near_rate"], nest),
                                       (open_to_idps, dest, weight, rate, near_rate))
        hops = tuple(self._hops(open_to_idps, nest))  # the hop matrix's arrays

        # 3. Departures: residents, and displaced people sheltering in a frightened place, take the first road
        # toward a safer destination. 4. Returns home once home has been quiet long enough. (Compiled: see
        # :func:`simulation.civilians.travel.depart_and_return`.)
        home = self._home(~battle) if homeward or self._returning_n.any() else _NO_ROUTES
        # exp(-road km from each cohort's place to home / return_near_km), for the cohorts that may head home
        # (worked out for them alone: no (n, n) kernel).
        near: tuple = (np.zeros(self.origin_gp.size + 1, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0))
        if homeward:
            ptr, at = cohort_places(self.cohort_by_origin, rate, near_rate)
            # exp(-km / return_near_km), in place: one array of the cohorts' size, not three
            kernel = w.distance_km[at, np.repeat(self.origin_home, np.diff(ptr))]
            np.negative(kernel, out=kernel)
            np.divide(kernel, p["return_near_km"], out=kernel)
            with np.errstate(over="ignore"):
                np.exp(kernel, out=kernel)
            near = (ptr, at, kernel)
        r = self.roads
        entries = depart_and_return(hops, self._packed_roads,
                          r.slot(self.clock - 1),  # as if put on the road in the quarter-day before this one
                          (weight, self.hazard_by_group, self.leaving_hazard, dest, self.share_by_group,
                           self.within_share, rate, near_rate, near,
                           home if homeward else _NO_ROUTES, nest,
                           (self.origin_of_gp, self.group_start)),
                          self._packed_people, self._packed_fleeing, self._packed_returning, self.rng)
        self._store_entries(*entries)

        # 5. Travel, a quarter of a day at a time, and 6. one more day displaced for everyone away from home
        # (compiled: see :mod:`simulation.civilians.travel`).
        limited = np.isfinite(self.admission_per_day)  # (inf * 0 would be nan)
        self.admission_left[:] = np.where(limited, np.where(limited, self.admission_per_day, 0.0)
                                          * p["checkpoint_admission_scale"], np.inf)
        self.clock, *entries = travel_day(self.clock, self._packed_roads, hops,
                                          (weight, open_to_idps, home, battle, nest, self.admission_left,
                                           self.screened, self._choice_cache()),
                                          self._packed_people, self._packed_fleeing, self._packed_returning, self.rng)
        self._store_entries(*entries)

    # -----------------------------------------------------------------------------------------------------
    # Bookkeeping

    def _choice_cache(self) -> tuple:
        """The cache of the travellers' choices' weights (:func:`simulation.civilians.travel.choice_cache`), kept
        from day to day, made anew only if :data:`simulation.civilians.travel.CHOICE_CACHE_BYTES` changed."""
        cache_bytes = travel.CHOICE_CACHE_BYTES
        if self._choices[0] != cache_bytes:
            self._choices = (cache_bytes, travel.choice_cache(self.n, self.origin_gp.size,
                                                              self.roads.out_edge.shape[1], cache_bytes))
        return self._choices[1]

    def _districts(self) -> np.ndarray:
        """The people of each place's district near fighting: ``min(P, battle_exposure_people)``, ``P`` the people
        present (residents and displaced), at least the place's exposure (its population, or the median town's
        for an empty place), as :func:`simulation.civilians.travel.fear_and_hazard` takes it."""
        present = (np.bincount(self.origin_home, weights=self.residents_by_origin + self.within_by_origin,
                               minlength=self.n) + self.cohort_by_origin.sum(axis=0))
        return np.minimum(np.maximum(self.exposure, present), self.p["battle_exposure_people"])

    def _route_key(self, passable: np.ndarray) -> bytes:
        """What routes through ``passable`` places depend on: the roads and which are open (the world's
        :attr:`~simulation.world.World.network_key`, a digest renewed whenever a road opens or closes), the
        mask, and the bound on destinations (:attr:`reach_km`)."""
        bound = b"" if self.reach_km is None else b"within" + np.float64(self.reach_km).tobytes()
        return self.world.network_key + bound + passable.tobytes()

    def _routes(self, passable: np.ndarray) -> Routes | SparseRoutes:
        """Routes through ``passable`` places (cached, see :data:`ROUTE_CACHE`: they change only with battles,
        checkpoints and roads)."""
        w = self.world

        def compute() -> Routes:
            # Repaired from the nearest of the last routes computed over the same roads (yesterday's battles,
            # mostly the same): the same routes as computed anew, for less work the fewer places changed.
            near = min((r for r in self._recent_routes if r[0] == w.network_key),
                       key=lambda r: int(np.count_nonzero(r[1] != passable)), default=None)
            if self.reach_km is not None:  # a large theatre: destinations within reach only, as lists
                routes, _ = bounded_routes(w.edges, w.road_km, w.open_road, passable, self.reach_km,
                                           near[1:] if near is not None else None, self._lists_size)
                self._lists_size = routes.place.size
            else:
                routes = civilian_routes(w.road_km, w.open_road, passable, near[1:] if near is not None else None,
                                         w.edges)
            keep = min(RECENT_ROUTES, LAST_ROUTES_BYTES // sum(a.nbytes for a in _arrays_of(routes)))
            self._recent_routes = (*self._recent_routes, (w.network_key, passable.copy(), routes))[-keep:] \
                if keep else ()
            return routes

        return ROUTE_CACHE.get(b"routes" + self._route_key(passable), compute)

    def _home(self, passable: np.ndarray) -> np.ndarray:
        """The routes home through ``passable`` places, [home, place]: the next place toward home (-1: none). Up
        to the size threshold the routes themselves; above it the bounded ones near home and the world's
        farther (see :func:`simulation.civilians.bounded.home_routes`; cached)."""
        if self.reach_km is None:
            return self._routes(passable).to_next
        w = self.world
        if self._far[0] != w.network_key:  # the world's part, once per road network
            self._far = (w.network_key, far_routes(w.next_hop, w.distance_km, self.reach_km))
        return ROUTE_CACHE.get(b"home" + self._route_key(passable), lambda: Routes(
            _NO_KM, home_routes(self._routes(passable), self._far[1]))).to_next

    def _hops(self, passable: np.ndarray, nest: float = 1.0) -> Hops:
        """The matrix that turns destination weights into weights per road out of each place, for routes
        through ``passable`` places, its kernels for the distance scale ``destination_distance_km * nest`` (see
        :class:`Hops` and :func:`simulation.civilians.travel.nested`; cached with the routes)."""
        scale = float(self.p["destination_distance_km"]) * nest
        key = b"hops" + self._route_key(passable) + np.float64(scale).tobytes()
        return ROUTE_CACHE.get(key, lambda: hop_matrix(self._routes(passable), self.roads, scale))
