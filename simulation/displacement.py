"""Civilians as arrays: flight from the modelled fighting, travel along roads, shelter and return.

Nobody is an agent here. People are counts in a few NumPy arrays whose shapes depend on the road graph only:

``residents[p]``
    people living at home in place ``p``.
``cohort[o, c]``
    displaced people from origin ``o`` sheltering at place ``c`` (the diagonal is always zero: a person back at
    home is a resident again).
``fleeing[o, s]`` and ``returning[o, s]``
    people from origin ``o`` on the road, in *road slot* ``s``. Each directed road ``a -> b`` is cut into
    ``ceil(km / (flight_speed_km / SUBSTEPS))`` slots; a slot is a quarter of a day's travel, and the slot index
    says how much of the road is left. Fleeing people choose where to go next at every place they reach;
    returning people head for their origin ``o``.
``cohort_days[o, c]``, ``fleeing_days[o]``, ``returning_days[o]``
    person-days displaced, so that ``days / count`` is a cohort's mean number of days displaced. People who
    move take their cohort's mean with them; on the road, the people of one origin share one mean.

A day (:meth:`Civilians.step`, called by the model after the fighting, air strikes and changes of control):

1. **Fear.** Violence (casualties and sorties) at each place is felt nearby, weighted by
   ``exp(-road km / fear_radius_km)``, and accumulates in a fear state that halves every
   ``fear_half_life_days``. A change of controller adds a takeover fear that depends on who took the place:
   the population's hostility to the taker is ``1 - sympathy`` for insurgent doctrine, ``sympathy`` for the
   government, half that for tribal fighters and nothing for opportunists, so a population that sympathises
   with the insurgents fears a government counter-attack and one that does not fears the insurgents. The
   daily share who leave is ``flight_max_share * (1 - exp(-hazard))`` with
   ``hazard = flight_per_casualty * fear_violence / people + fear_takeover`` (``people``: those present, or
   the initial population if larger; an empty place counts as the median town).
2. **Where to go.** A destination's weight for people from ``o`` is its attraction
   (``destination_base_attraction`` if it is populated, plus its ``refuge``), times
   ``exp(-hazard)`` (a place people are fleeing is not a refuge), times ``1 - hostility`` of the origin's
   population to the destination's controller, times a crowding factor ``1 / (1 + idps / capacity)``, times
   ``exp(-road km / destination_distance_km)``. Places with a battle today and closed checkpoints weigh
   nothing and cannot be passed through.
3. **Departures.** Residents and the displaced sheltering at a frightened place leave with the day's share and
   take the first road toward the destination they pick, among places safer than the one they leave (nobody
   leaves if there is none).
4. **Returns.** Once the origin has been quiet (no battle, no change of controller, less than one
   casualty-equivalent felt) for ``return_quiet_days``, a share ``return_rate * (1 - hostility to the
   controller)`` of each cohort heads home a day.
5. **Travel** in ``SUBSTEPS`` quarters of a day. People reaching a place choose again among the destinations
   that do not lie back the way they came: stay, or take the next road. People reaching a place with a battle
   or a closed checkpoint are turned away and wait at the place they came from.
6. Everyone still displaced is one day older.

Flows are expected values rounded to whole people with one uniform draw per cohort (systematic, unbiased
rounding), so people are conserved exactly and the cost of a day does not depend on how many people there
are. Residents + displaced (sheltering or on the road) + civilian casualties removed by :meth:`kill` always
equal the initial population.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csc_matrix, csr_matrix
from scipy.sparse.csgraph import dijkstra

from simulation.world import World

SUBSTEPS = 4
"""Quarters of a day in which people on the road move and choose (travel times are resolved to 6 hours)."""

DOCTRINE_SIDE = {"insurgent": 1.0, "government": -1.0, "tribal": -0.5, "opportunist": 0.0}
"""Where a faction's doctrine stands between the insurgents (+1) and the government (-1), for fear and shelter.

Tribal fighters are local (their own tribes' towns fear them less than the army); opportunists (the
Peshmerga) are neither side's enemy.
"""


# ---------------------------------------------------------------------------------------------------------
# Pure functions


def hostility(sympathy: np.ndarray, side: np.ndarray) -> np.ndarray:
    """How much each place's population fears each faction, from 0 (not at all) to 1.

    Parameters
    ----------
    sympathy : array of shape (n,), the population's disposition toward the insurgents (0-1).
    side : array of shape (f,), each faction's side: +1 insurgent, -1 government (see ``DOCTRINE_SIDE``).

    Returns
    -------
    array of shape (n, f): ``max(side, 0) * (1 - sympathy) + max(-side, 0) * sympathy``, clipped to [0, 1].
    A side of 0 (an opportunist third party) is feared by nobody.

    Examples
    --------
    >>> hostility(np.array([0.1, 0.9]), np.array([1.0, -1.0]))
    array([[0.9, 0.1],
           [0.1, 0.9]])
    """
    toward_insurgents = np.maximum(side, 0.0)[None, :] * (1.0 - sympathy[:, None])
    toward_government = np.maximum(-side, 0.0)[None, :] * sympathy[:, None]
    return np.clip(toward_insurgents + toward_government, 0.0, 1.0)


def felt_violence(violence: np.ndarray, distance_km: np.ndarray, radius_km: float) -> np.ndarray:
    """Violence felt at each place: ``sum_q violence[q] * exp(-distance_km[p, q] / radius_km)``.

    With ``radius_km == 0`` only the place's own violence counts. Unreachable places (infinite distance) count
    for nothing.
    """
    return (violence_kernel(distance_km, radius_km) * violence[None, :]).sum(axis=1)


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


def cumulative_shares(probs: np.ndarray) -> np.ndarray:
    """Cumulative shares over the first axis (the categories) of non-negative weights ``probs``.

    The last category's cumulative share is exactly 1; a set of weights that sums to zero puts everything in
    the last category.
    """
    cum = np.empty_like(probs, dtype=float)
    running = np.zeros(probs.shape[1:])
    for k in range(probs.shape[0]):
        running = running + probs[k]
        cum[k] = running
    total = cum[-1].copy()
    cum /= np.where(total > 0, total, 1.0)
    np.minimum(cum, 1.0, out=cum)
    cum[-1] = 1.0
    return cum


def split_whole(uniform: np.ndarray, counts: np.ndarray, cum: np.ndarray) -> np.ndarray:
    """Split whole people among categories by cumulative shares, without bias.

    Up to category ``k`` go ``floor(counts * cum[k] + uniform)`` people (systematic rounding with one uniform
    number per group): each category gets its expected share on average, the parts add up to ``counts``
    exactly, and the cost does not depend on the counts.

    Parameters
    ----------
    uniform : array of uniform numbers in [0, 1), shaped like ``counts``.
    counts : integer array of any shape.
    cum : array of shape (k, *counts.shape), cumulative shares over the first axis (see
        :func:`cumulative_shares`), the last equal to 1.

    Returns
    -------
    integer array of shape (k, *counts.shape), summing over the first axis to ``counts``.

    Examples
    --------
    >>> split_whole(np.array([0.5]), np.array([10]), cumulative_shares(np.array([[1.0], [1.0], [2.0]])))[:, 0]
    array([3, 2, 5])
    """
    reach = counts[None] * cum  # cum <= 1 and uniform < 1, so reach never exceeds counts
    reach += uniform[None]
    np.floor(reach, out=reach)
    reach[-1] = counts
    for k in range(reach.shape[0] - 1, 0, -1):
        reach[k] -= reach[k - 1]
    return reach.astype(np.int64)


def round_share(uniform: np.ndarray, counts: np.ndarray, share: np.ndarray) -> np.ndarray:
    """Whole people out of ``counts`` for a ``share`` (0-1), rounded without bias: ``floor(counts*share + u)``."""
    return np.minimum(np.floor(counts * share + uniform).astype(np.int64), counts)


@dataclass(frozen=True)
class RoadSlots:
    """Directed roads cut into slots of ``step_km`` each, for people on the road.

    Attributes
    ----------
    tail, head, km : arrays of shape (E,): the directed edges ``tail -> head`` (both directions of every road).
    edge_id : (n, n) array, the edge from ``a`` to ``b`` or -1.
    out_edge : (n, J) array, the edges leaving each place, padded with -1 (J = the largest degree).
    slot_of : (n, n) array, the position of ``b`` in ``a``'s ``out_edge`` row, or -1.
    uturn : (E,) array, the position of the way back (``head -> tail``) in ``head``'s ``out_edge`` row.
    first, length : (E,) arrays: each edge's slots are ``first .. first + length - 1``, a ring buffer. At
        quarter-day ``t`` people arrive from slot ``first + t % length`` (see :meth:`RoadSlots.slot`), and
        people who start on the edge in that quarter-day are put in the slot just emptied: they come round
        to it again after ``length`` quarter-days.
    by_head, head_starts, head_places : edges sorted by head, where each head's group starts, and its place
        (for ``np.add.reduceat``: people arriving at each place over all its roads).
    tail_starts, tail_places : the same by tail (edges are already sorted by tail).
    """

    tail: np.ndarray
    head: np.ndarray
    km: np.ndarray
    edge_id: np.ndarray
    out_edge: np.ndarray
    slot_of: np.ndarray
    uturn: np.ndarray
    first: np.ndarray
    length: np.ndarray
    by_head: np.ndarray
    head_starts: np.ndarray
    head_places: np.ndarray
    tail_starts: np.ndarray
    tail_places: np.ndarray

    @property
    def n_slots(self) -> int:
        return int(self.length.sum())

    def slot(self, t: int) -> np.ndarray:
        """The slot of each edge from which people arrive at quarter-day ``t`` (and into which people who
        start on the edge then are put)."""
        return self.first + t % self.length


def road_slots(road_km: np.ndarray, step_km: float) -> RoadSlots:
    """Cut every road of the (n, n) matrix ``road_km`` (0 = no road) into slots of ``step_km``.

    An edge of ``km`` takes ``max(1, ceil(km / step_km))`` slots: people never arrive sooner than the road allows.
    """
    n = road_km.shape[0]
    tail, head = np.nonzero(road_km > 0)  # row-major: sorted by tail, then head
    km = road_km[tail, head]
    E = tail.size
    edge_id = np.full((n, n), -1, dtype=np.int64)
    edge_id[tail, head] = np.arange(E)
    degree = np.bincount(tail, minlength=n)
    J = int(degree.max()) if E else 0
    out_edge = np.full((n, max(J, 1)), -1, dtype=np.int64)
    slot_of = np.full((n, n), -1, dtype=np.int64)
    position = np.arange(E) - np.r_[0, np.cumsum(degree)[:-1]][tail]
    out_edge[tail, position] = np.arange(E)
    slot_of[tail, head] = position
    uturn = slot_of[head, tail]
    length = np.maximum(1, np.ceil(km / step_km - 1e-9)).astype(np.int64)
    first = np.r_[0, np.cumsum(length)[:-1]].astype(np.int64)
    by_head = np.argsort(head, kind="stable")
    head_starts = np.flatnonzero(np.r_[True, np.diff(head[by_head]) != 0])
    tail_starts = np.flatnonzero(np.r_[True, np.diff(tail) != 0])
    return RoadSlots(tail, head, km, edge_id, out_edge, slot_of, uturn, first, length,
                     by_head, head_starts, head[by_head][head_starts], tail_starts, tail[tail_starts])


@dataclass(frozen=True)
class EdgeChoices:
    """The choices of people reaching the end of each directed edge, as one flat list of (edge, choice) pairs:
    for edge ``e``, its head's roads in ``out_edge`` order, then staying at the head, then turning back to wait
    at the tail. Pairs of an edge are contiguous, so per-edge sums and differences are slices.

    Attributes
    ----------
    pair_edge, pair_road : (P,) arrays, each pair's edge and choice (a road position ``j < J``, ``J`` stay,
        ``J + 1`` turn back).
    first, stay, back, uturn : (E,) arrays, each edge's first pair, its stay and turn-back pairs, and the pair
        of the road back to its tail.
    at_position : for each position k within an edge's pairs, the pairs in that position.
    not_first : pairs that are not their edge's first.
    onward, onward_starts, onward_edge : road pairs sorted by the road they lead onto, where each such road's
        group starts, and that road.
    """

    pair_edge: np.ndarray
    pair_road: np.ndarray
    first: np.ndarray
    stay: np.ndarray
    back: np.ndarray
    uturn: np.ndarray
    at_position: tuple[np.ndarray, ...]
    not_first: np.ndarray
    onward: np.ndarray
    onward_starts: np.ndarray
    onward_edge: np.ndarray


def edge_choices(roads: RoadSlots) -> EdgeChoices:
    """The flat layout of the choices at the end of each edge of ``roads``."""
    J = roads.out_edge.shape[1]
    degree = (roads.out_edge >= 0).sum(axis=1)
    count = degree[roads.head] + 2
    first = np.r_[0, np.cumsum(count)[:-1]].astype(np.int64)
    pair_edge = np.repeat(np.arange(roads.head.size), count)
    position = np.arange(pair_edge.size) - first[pair_edge]
    deg_of_pair = degree[roads.head[pair_edge]]
    pair_road = np.where(position < deg_of_pair, position, np.where(position == deg_of_pair, J, J + 1))
    stay = first + degree[roads.head]
    road_pairs = np.flatnonzero(pair_road < J)
    taken = roads.out_edge[roads.head[pair_edge[road_pairs]], pair_road[road_pairs]]
    order = np.argsort(taken, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(taken[order]) != 0])
    return EdgeChoices(
        pair_edge=pair_edge, pair_road=pair_road, first=first, stay=stay, back=stay + 1,
        uturn=first + roads.uturn,
        at_position=tuple(np.flatnonzero(position == k) for k in range(int(count.max()))),
        not_first=np.flatnonzero(position > 0),
        onward=road_pairs[order], onward_starts=starts, onward_edge=taken[order][starts])


@dataclass(frozen=True)
class Routes:
    """Shortest road routes for people on foot or in cars, through passable places only.

    Attributes
    ----------
    distance_km : (n, n) array, road km from ``c`` to ``d`` (inf if unreachable).
    next_hop : (n, n) array, the next place from ``c`` toward ``d`` (``c`` itself for ``d == c``; -1 if none).
    """

    distance_km: np.ndarray
    next_hop: np.ndarray


@dataclass(frozen=True)
class _Hops:
    """Destination weights [d, o] to weights per road out of each place, [j * n + c, o] (``j == J``: staying at
    ``c``), discounted by road distance: ``to_hop_t @ weight``. ``safer_t`` has the same entries and the
    kernel kept only where ``d`` is safer than ``c`` (its data are rewritten each day from ``kernel``, the
    entries' (``c_of``, ``d_of``) and the day's hazard)."""

    to_hop_t: csc_matrix
    safer_t: csc_matrix
    kernel: np.ndarray
    c_of: np.ndarray
    d_of: np.ndarray


def civilian_routes(road_km: np.ndarray, open_road: np.ndarray, passable: np.ndarray) -> Routes:
    """Shortest routes over open roads that never enter an impassable place (one may leave it).

    Parameters
    ----------
    road_km : (n, n) road lengths, 0 where there is no road.
    open_road : (n, n) bool, roads open to traffic.
    passable : (n,) bool, places people may enter.
    """
    n = road_km.shape[0]
    # Dijkstra on the reversed graph from every d gives, for each c, the node after c on its way to d. The
    # reversed graph has an edge b -> a for every open road a -> b into a passable b.
    to, fro = np.nonzero((open_road & (road_km > 0)).T & passable[:, None])
    indptr = np.zeros(n + 1, dtype=np.int32)  # int32 indices: what scipy.sparse.csgraph works with
    np.cumsum(np.bincount(to, minlength=n), out=indptr[1:])
    reverse = csr_matrix((road_km[fro, to], fro.astype(np.int32), indptr), shape=(n, n))
    dist_rev, pred = dijkstra(reverse, directed=True, return_predecessors=True)
    nxt = np.array(pred.T, dtype=np.int64, order="C")
    nxt[nxt < 0] = -1
    np.fill_diagonal(nxt, np.arange(n))
    return Routes(np.array(dist_rev.T, order="C"), nxt)


# ---------------------------------------------------------------------------------------------------------
# The civilian population of a world


class Civilians:
    """Civilian population by place and displaced cohorts by origin and place, as NumPy arrays.

    Parameters
    ----------
    world : the model's :class:`World` (places, roads, routing; its scenario gives the factions' doctrines).
    parameters : the model's parameter values (see the "civilians" section of :mod:`simulation.parameters`).
    rng : the model's generator. Civilians draw from a child of it (``rng.spawn``), so that displacement does
        not shift the random stream of the fighting.
    """

    def __init__(self, world: World, parameters: dict[str, float], rng: np.random.Generator):
        self.world = world
        self.p = parameters
        try:
            self.rng = rng.spawn(1)[0]
        except (AttributeError, TypeError, ValueError):  # a generator without a seed sequence
            self.rng = rng
        n = world.n
        self.initial = world.population0.copy()
        self.residents = world.population0.copy()
        self.cohort = np.zeros((n, n), dtype=np.int64)
        self.cohort_days = np.zeros((n, n))
        self.roads = road_slots(world.road_km, parameters["flight_speed_km"] / SUBSTEPS)
        S = self.roads.n_slots
        # People on the road are stored [slot, origin], so that the people reaching the end of every road in a
        # quarter-day are a gather of whole rows; ``fleeing`` and ``returning`` are [origin, slot] views.
        self._fleeing = np.zeros((S, n), dtype=np.int64)
        self.fleeing_days = np.zeros(n)  # person-days displaced of each origin's people on the road
        self._returning = np.zeros((S, n), dtype=np.int64)
        # People per origin on the road, fleeing and going home: the sums of the above over the slots, kept up
        # to date as people join and leave the road.
        self._fleeing_n = np.zeros(n, dtype=np.int64)
        self._returning_n = np.zeros(n, dtype=np.int64)
        self.returning_days = np.zeros(n)
        self.clock = 0  # quarter-days since the start
        self.displaced_from = np.zeros(n, dtype=np.int64)  # cumulative residents who left each place
        self.returned = np.zeros(n, dtype=np.int64)  # cumulative displaced people back home
        self.killed = np.zeros(n, dtype=np.int64)
        self.checkpoint_open = np.ones(n, dtype=bool)
        self.fear_violence = np.zeros(n)
        self.fear_takeover = np.zeros(n)
        self.hazard = np.zeros(n)
        self.quiet_days = np.zeros(n, dtype=np.int64)
        self.share_today = np.zeros(n)

        side = np.array([DOCTRINE_SIDE[f.doctrine] for f in world.scenario.factions])
        self.hostility = hostility(world.sympathy, side)  # [population of place, faction]
        pop = world.population0
        populated = pop > 0
        self.attraction = parameters["destination_base_attraction"] * populated + world.refuge
        # Places smaller than the median town (camps, open ground at checkpoints) host as many as the median town.
        floor = float(np.median(pop[populated])) if populated.any() else 1.0
        self.capacity = parameters["host_capacity_share"] * np.maximum(pop, floor)
        # Violence is felt per person exposed; an empty place (a checkpoint's camp) counts as the median town.
        self.exposure = np.where(populated, pop, floor).astype(float)
        self._near: tuple = (None, None, None)  # (distance matrix, fear radius, violence_kernel), see step
        self._route_cache: dict[bytes, list] = {}  # passable places and open roads -> [Routes, _Hops | None]
        J = self.roads.out_edge.shape[1]
        self._leave_stride = np.arange(J) * n * n  # flat offsets of a place's roads in the departure weights

    # -----------------------------------------------------------------------------------------------------
    # Views

    @property
    def fleeing(self) -> np.ndarray:
        """People fleeing on the road, [origin, road slot] (a view)."""
        return self._fleeing.T

    @property
    def returning(self) -> np.ndarray:
        """People on the road home, [origin, road slot] (a view)."""
        return self._returning.T

    @property
    def idps(self) -> np.ndarray:
        """Displaced people sheltering at each place (not counting those on the road)."""
        return self.cohort.sum(axis=0)

    @property
    def in_transit(self) -> int:
        """Displaced people on the road, fleeing or going home."""
        return int(self._fleeing.sum() + self._returning.sum())

    @property
    def present(self) -> np.ndarray:
        """People present at each place: residents and displaced people sheltering there."""
        return self.residents + self.idps

    @property
    def total_displaced(self) -> int:
        """Everyone away from home: sheltering somewhere or on the road."""
        return int(self.cohort.sum()) + self.in_transit

    @property
    def displaced_by_origin(self) -> np.ndarray:
        """People from each place who are displaced now (sheltering or on the road)."""
        return self.cohort.sum(axis=1) + self._fleeing.sum(axis=0) + self._returning.sum(axis=0)

    @property
    def mean_days_displaced(self) -> float:
        """Mean days displaced of everyone displaced now (0 if nobody is)."""
        people = self.total_displaced
        days = self.cohort_days.sum() + self.fleeing_days.sum() + self.returning_days.sum()
        return float(days / people) if people else 0.0

    def balance(self) -> int:
        """Initial population minus residents, displaced and casualties removed: always 0."""
        return int(self.initial.sum() - self.residents.sum() - self.total_displaced - self.killed.sum())

    # -----------------------------------------------------------------------------------------------------
    # What the model calls

    def kill(self, counts: np.ndarray) -> np.ndarray:
        """Remove civilians harmed at each place (at most those present); return the numbers removed.

        Residents and displaced people present are equally exposed: the split between them is hypergeometric,
        and among the displaced, between origins, multivariate hypergeometric. People on the road are not
        exposed to fighting in places.
        """
        counts = np.minimum(np.asarray(counts).astype(np.int64), self.present)
        if not counts.any():
            return counts
        idps = self.idps
        from_residents = counts.copy()
        mixed = (counts > 0) & (idps > 0)
        if mixed.any():
            from_residents[mixed] = self.rng.hypergeometric(self.residents[mixed], idps[mixed], counts[mixed])
        self.residents -= from_residents
        for c in np.flatnonzero(counts > from_residents).tolist():
            k = int(counts[c] - from_residents[c])
            take = self.rng.multivariate_hypergeometric(self.cohort[:, c], k, method="marginals")
            mean = np.divide(self.cohort_days[:, c], self.cohort[:, c], out=np.zeros(self.world.n),
                             where=self.cohort[:, c] > 0)
            self.cohort[:, c] -= take
            self.cohort_days[:, c] = np.where(self.cohort[:, c] > 0, self.cohort_days[:, c] - take * mean, 0.0)
        self.killed += counts
        return counts

    def set_checkpoint(self, place: int, is_open: bool) -> None:
        """Open or close ``place`` to displaced people (a closed place admits none and lets none through)."""
        self.checkpoint_open[place] = is_open

    def step(self, violence: np.ndarray, taken_by: np.ndarray, controller: np.ndarray,
             battle: np.ndarray | None = None) -> None:
        """Advance one day.

        Parameters
        ----------
        violence : (n,) casualties (killed and wounded, all parties) and air sorties at each place today.
        taken_by : (n,) the faction that took each place today, -1 where control did not change.
        controller : (n,) each place's controller at the end of the day.
        battle : (n,) bool, places with an active battle (nobody flees into or through them); default none.
        """
        p, w, n = self.p, self.world, self.world.n
        violence = np.asarray(violence, dtype=float)
        taken_by = np.asarray(taken_by)
        battle = np.zeros(n, dtype=bool) if battle is None else np.asarray(battle, dtype=bool)

        # 1. Fear.
        decay = 0.5 ** (1.0 / p["fear_half_life_days"])
        if self._near[0] is not w.distance_km or self._near[1] != p["fear_radius_km"]:  # new roads or radius
            self._near = (w.distance_km, p["fear_radius_km"], violence_kernel(w.distance_km, p["fear_radius_km"]))
        felt = (self._near[2] * violence[None, :]).sum(axis=1)  # felt_violence, with the kernel kept
        self.fear_violence = self.fear_violence * decay + felt
        taken = taken_by >= 0
        shock = np.zeros(n)
        any_share = p["flight_takeover_any"]
        shock[taken] = p["flight_takeover"] * (any_share + (1 - any_share)
                                               * self.hostility[taken, taken_by[taken]])
        self.fear_takeover = self.fear_takeover * decay + shock
        present = self.present
        exposed = np.maximum(self.exposure, present)
        self.hazard = p["flight_per_casualty"] * self.fear_violence / exposed + self.fear_takeover
        share = flight_share(self.hazard, p["flight_max_share"])
        self.share_today = share
        quiet = (felt < 1.0) & ~battle & ~taken
        self.quiet_days = np.where(quiet, self.quiet_days + 1, 0)

        # 2. Where people would go: weight of each destination d for people from origin o.
        crowd = 1.0 / (1.0 + self.idps / self.capacity)
        open_to_idps = ~battle & self.checkpoint_open
        dest = self.attraction * crowd * np.exp(-self.hazard) * open_to_idps
        weight_t = dest[:, None] * (1.0 - self.hostility[:, controller].T)  # [d, o]
        np.fill_diagonal(weight_t, 0.0)
        hops = self._hops(open_to_idps)
        J = self.roads.out_edge.shape[1]
        # (safer_t @ weight_t)[j * n + c, o]: weight, for people from o, of the destinations safer than c
        # reached from c by its j-th road (j == J: staying at c).
        np.multiply(hops.kernel, self.hazard[hops.d_of] < self.hazard[hops.c_of], out=hops.safer_t.data)

        # 3. Departures: residents, and displaced people sheltering in a frightened place.
        leave_probs = (hops.safer_t @ weight_t)[:J * n]  # [j * n + c, o]
        can_leave = (leave_probs.reshape(J, n, n).sum(axis=0) > 0).T  # [o, c]
        diag = np.arange(n)
        res_share = share * can_leave[diag, diag]
        leave_res = round_share(self.rng.random(n), self.residents, res_share)
        leave_idp = round_share(self.rng.random((n, n)), self.cohort, share[None, :] * can_leave)
        days_idp = self._take_days(self.cohort, self.cohort_days, leave_idp)
        self.residents -= leave_res
        self.displaced_from += leave_res
        self.cohort -= leave_idp
        self.cohort_days -= days_idp
        leaving = leave_idp.copy()
        leaving[diag, diag] += leave_res
        uniform = self.rng.random(n * n)  # one number per origin and place, whether anyone leaves or not
        at = np.flatnonzero(leaving.reshape(-1) != 0)
        start = self.roads.slot(self.clock - 1)  # as if put on the road in the quarter-day before this one
        if at.size:  # split those who leave among the roads, and put them on the road
            o_at, c_at = np.divmod(at, n)
            probs = leave_probs.take(self._leave_stride[:, None] + (c_at * n + o_at)[None, :])  # (J, L)
            split = split_whole(uniform[at], leaving.reshape(-1)[at], cumulative_shares(probs)).reshape(-1)
            j, k = np.divmod(np.flatnonzero(split != 0), at.size)
            np.add.at(self._fleeing.reshape(-1), start[self.roads.out_edge[c_at[k], j]] * n + o_at[k],
                      split[j * at.size + k])
        self.fleeing_days += days_idp.sum(axis=1)

        self._fleeing_n += leaving.sum(axis=1)

        # 4. Returns home once the origin has been quiet long enough.
        home_ok = (self.quiet_days >= p["return_quiet_days"]) & ~battle
        rate = p["return_rate"] * (1.0 - self.hostility[diag, controller]) * home_ok
        uniform = self.rng.random((n, n))  # drawn whether anyone may go home or not
        home_routes = self._routes(~battle) if rate.any() or self._returning_n.any() else None
        going = None
        if rate.any():
            hop_home = home_routes.next_hop.T  # [o, c]: next place from c toward o
            can_go = (hop_home >= 0) & (hop_home != diag[None, :])
            going = round_share(uniform, self.cohort, rate[:, None] * can_go)
        if going is not None and going.any():
            days_going = self._take_days(self.cohort, self.cohort_days, going)
            self.cohort -= going
            self.cohort_days -= days_going
            o_idx, c2 = np.nonzero(going)
            slots = start[self.roads.edge_id[c2, hop_home[o_idx, c2]]]
            np.add.at(self._returning.reshape(-1), slots * n + o_idx, going[o_idx, c2])
            self._returning_n += going.sum(axis=1)
            self.returning_days += days_going.sum(axis=1)

        # 5. Travel, a quarter of a day at a time.
        fleeing, returning = self._fleeing_n, self._returning_n  # people per origin on the road
        # by_hop[c * a + k, j]: weight, for people from the k-th of the a origins with people fleeing on the
        # road, of all the destinations reached from c by its j-th road (j == J: staying at c).
        on_road = np.flatnonzero(fleeing)
        column = np.zeros(n, dtype=np.int64)
        column[on_road] = np.arange(on_road.size)
        by_hop = None
        if on_road.size:
            by_hop = (hops.to_hop_t @ weight_t[:, on_road]).reshape(J + 1, n * on_road.size).T.copy()
        for _ in range(SUBSTEPS):
            self._travel_fleeing((by_hop, on_road.size, column), open_to_idps, fleeing)
            self._travel_returning(home_routes, battle, returning)
            self.clock += 1

        # 6. One more day displaced for everyone away from home.
        self.cohort_days += self.cohort
        self.fleeing_days += fleeing
        self.returning_days += returning

    # -----------------------------------------------------------------------------------------------------
    # Bookkeeping

    @staticmethod
    def _mean(count: np.ndarray, days: np.ndarray) -> np.ndarray:
        return np.divide(days, count, out=np.zeros(count.shape), where=count > 0)

    @classmethod
    def _take_days(cls, count: np.ndarray, days: np.ndarray, taken: np.ndarray) -> np.ndarray:
        """Person-days that ``taken`` people carry away from a cohort (all of them if the cohort empties)."""
        return np.where(taken == count, days, taken * cls._mean(count, days))

    def _route_set(self, passable: np.ndarray) -> list:
        """The cache entry [routes, hops or None] of ``passable`` places with today's open roads."""
        key = passable.tobytes() + self.world.open_road.tobytes()
        hit = self._route_cache.get(key)
        if hit is None:
            if len(self._route_cache) > 256:
                self._route_cache.clear()
            w = self.world
            hit = self._route_cache[key] = [civilian_routes(w.road_km, w.open_road, passable), None]
        return hit

    def _routes(self, passable: np.ndarray) -> Routes:
        """Routes through ``passable`` places (cached: they change only with battles, checkpoints and roads)."""
        return self._route_set(passable)[0]

    def _hops(self, passable: np.ndarray) -> _Hops:
        """The matrices that turn destination weights into weights per road out of each place, for routes
        through ``passable`` places (see :class:`_Hops`; cached with the routes)."""
        hit = self._route_set(passable)
        if hit[1] is None:
            routes = hit[0]
            n, J = self.world.n, self.roads.out_edge.shape[1]
            d_of, c_of = np.nonzero(routes.next_hop.T >= 0)  # by destination d, the places c that reach it
            at = c_of * n + d_of
            hop = self.roads.slot_of.reshape(-1)[c_of * n + routes.next_hop.reshape(-1)[at]]
            hop[c_of == d_of] = J  # staying where one is
            kernel = np.exp(-routes.distance_km.reshape(-1)[at] / self.p["destination_distance_km"])
            col = (hop * n + c_of).astype(np.int32)  # int32 indices: scipy.sparse's own, so no conversion
            indptr = np.zeros(n + 1, dtype=np.int32)
            np.cumsum(np.bincount(d_of, minlength=n), out=indptr[1:])
            shape = (n * (J + 1), n)
            to_hop_t = csc_matrix((kernel, col, indptr), shape=shape)
            safer_t = csc_matrix((kernel.copy(), col, indptr), shape=shape)
            hit[1] = _Hops(to_hop_t, safer_t, kernel, c_of, d_of)
        return hit[1]

    def _choices_at(self, origin: np.ndarray, head: np.ndarray, uturn: np.ndarray, by_hop: tuple,
                    open_to_idps: np.ndarray) -> np.ndarray:
        """Cumulative choice shares, (J + 1, A), of people from ``origin`` reaching ``head`` by a road whose way
        back is the head's road ``uturn``: the head's roads in ``out_edge`` order (``j < J``, nothing where the
        head has fewer), then staying at the head (``J``). The rest, up to 1, turn back to wait at the road's
        start: all of them when the head is closed or has a battle, nobody otherwise. ``by_hop`` is the day's
        ``(weights [c * a + k, j], a, k of each origin)`` for the ``a`` origins with people on the road (see
        :meth:`step`, 5)."""
        J = self.roads.out_edge.shape[1]
        A = origin.size
        # The weights of the head's roads and of staying there (see step, 5).
        by_place, a, column = by_hop
        weight = by_place.take(head * a + column[origin], axis=0).T.copy()
        total = weight.sum(axis=0)
        flat = weight.reshape(-1)
        at_uturn = uturn * A + np.arange(A)
        back = flat[at_uturn]
        # Not back the way they came, unless nothing lies ahead (then the way back is all the weight).
        flat[at_uturn] = np.where(total > back, 0.0, back)
        weight[J] = np.where(total == 0, 1.0, weight[J])  # nowhere acceptable: stop here
        blocked = ~open_to_idps[head]
        if blocked.any():
            weight[:, blocked] = 0.0
        for k in range(1, J + 1):  # cumulative, row by row (np.cumsum along the short axis is slower)
            np.add(weight[k - 1], weight[k], out=weight[k])
        total = weight[J].copy()
        weight /= np.where(total > 0, total, 1.0)  # never above 1: the sums only grow
        return weight

    def _home_again(self) -> None:
        """Displaced people who reached their own origin are residents again."""
        back = np.diagonal(self.cohort).copy()
        if back.any():
            diag = np.arange(self.world.n)
            self.residents += back
            self.returned += back
            self.cohort[diag, diag] = 0
            self.cohort_days[diag, diag] = 0.0

    def _settle(self, origin: np.ndarray, place: np.ndarray, count: np.ndarray, days: np.ndarray) -> None:
        """Add people to cohorts (origin, place); those at their own origin become residents again."""
        np.add.at(self.cohort, (origin, place), count)
        np.add.at(self.cohort_days, (origin, place), days)
        self._home_again()

    def _leave_road(self, days: np.ndarray, on_road: np.ndarray, leaving: np.ndarray) -> np.ndarray:
        """Take the person-days of ``leaving`` people per origin off the road (``days``, in place), given
        ``on_road`` people per origin before they left; return each origin's mean days displaced."""
        mean = self._mean(on_road, days)
        days -= leaving * mean
        days[on_road == leaving] = 0.0
        return mean

    def _travel_fleeing(self, by_hop: tuple, open_to_idps: np.ndarray, on_road: np.ndarray) -> None:
        """A quarter-day for fleeing people: those reaching the end of a road choose among the next roads,
        staying, or waiting back at its start. Only the (origin, road) pairs with someone arriving are worked
        on, so the cost grows with those pairs, not with the people."""
        r = self.roads
        if not on_road.any():
            return
        n, E, J = self.world.n, r.tail.size, r.out_edge.shape[1]
        here = r.slot(self.clock)
        arriving = self._fleeing[here].reshape(-1)  # [edge, origin]
        at = np.flatnonzero(arriving != 0)
        if not at.size:
            return
        edge, origin = np.divmod(at, n)
        count = arriving[at]
        pair = origin * E + edge
        uniform = self.rng.random(n * E)[pair]  # one number per origin and road
        road = self._fleeing.reshape(-1)
        road[here[edge] * n + origin] = 0
        head = r.head[edge]
        # Whole people per choice: systematic rounding (see split_whole).
        reach = self._choices_at(origin, head, r.uturn[edge], by_hop, open_to_idps)
        reach *= count
        reach += uniform
        np.floor(reach, out=reach)
        split = np.empty_like(reach)  # (J + 1, A): whole people per road, and staying
        split[0] = reach[0]
        np.subtract(reach[1:], reach[:-1], out=split[1:])
        back = count - reach[J]
        at_head = np.bincount(origin * n + head, split[J], n * n).reshape(n, n)  # [o, place]
        at_tail = np.bincount(origin * n + r.tail[edge], back, n * n).reshape(n, n)
        off = np.bincount(origin, split[J] + back, n).astype(np.int64)
        mean = self._leave_road(self.fleeing_days, on_road, off)
        on_road -= off
        self.cohort += at_head.astype(np.int64)
        self.cohort_days += at_head * mean[:, None]
        self.cohort += at_tail.astype(np.int64)
        self.cohort_days += at_tail * mean[:, None]
        self._home_again()
        onward = split[:J].reshape(-1)
        k = np.flatnonzero(onward != 0)
        j, a = np.divmod(k, origin.size)
        np.add.at(road, here[r.out_edge[head[a], j]] * n + origin[a], onward[k].astype(np.int64))

    def _travel_returning(self, home_routes: Routes, battle: np.ndarray, on_road: np.ndarray) -> None:
        """A quarter-day for people going home: at the end of a road they are home, turned away by a battle
        (they wait at the road's start), stuck (no way on: they wait here), or take the next road home.
        ``on_road`` (people per origin on the way home) is kept up to date."""
        r = self.roads
        if not on_road.any():
            return
        n = self.world.n
        here = r.slot(self.clock)
        arriving = self._returning[here].reshape(-1)  # [edge, origin]
        at = np.flatnonzero(arriving != 0)
        if not at.size:
            return
        e_i, o_i = np.divmod(at, n)
        count = arriving[at]
        road = self._returning.reshape(-1)
        road[here[e_i] * n + o_i] = 0
        head = r.head[e_i]
        home = head == o_i
        turned_away = ~home & battle[head]
        nxt = home_routes.next_hop[head, o_i]
        stop = home | turned_away | (nxt < 0)
        # Home, turned away (wait at the tail, displaced), or no way on (wait here): off the road.
        if stop.any():
            o_s, c_s = o_i[stop], count[stop]
            off = np.bincount(o_s, c_s, n).astype(np.int64)
            mean = self._leave_road(self.returning_days, on_road, off)
            on_road -= off
            settle_at = np.where(turned_away, r.tail[e_i], head)[stop]
            self._settle(o_s, settle_at, c_s, c_s * mean[o_s])
        go = ~stop
        if go.any():
            np.add.at(road, here[r.edge_id[head[go], nxt[go]]] * n + o_i[go], count[go])
