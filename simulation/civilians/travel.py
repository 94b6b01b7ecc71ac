"""Civilians' fear, destinations, departures, returns and quarter-day travel: the compiled helpers of
:meth:`simulation.civilians.displacement.Civilians.step`, whose module docstring states the rules.

A day's travel is four quarter-days (:data:`SUBSTEPS`), and each quarter-day works on the few (road, origin)
pairs with someone reaching the end of a road: one compiled call a day, and one more for the day's departures
and returns. The kernels take named bundles (:class:`People`, :class:`OnRoad`, :class:`Fear`,
:class:`RoadSlots`, :class:`Hops`), passed as plain tuples and named on entry (see
:mod:`simulation.rules.state` for why).

The arithmetic is that of the NumPy code it replaced, operation for operation and in the same order (no
``fastmath``, so no reordering or fused multiply-adds), and the uniform numbers come from the model's own
generator, one per (road, origin) pair with people arriving, in the order of ``road * n + origin``. A seed
gives the numbers it gave before, on every machine, whether or not the compiled code comes from Numba's
on-disk cache.

See :class:`simulation.civilians.displacement.Civilians` for the arrays (``fleeing``, ``returning``,
``cohort`` ...).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

SUBSTEPS = 4
"""Quarters of a day in which people on the road move and choose (travel times are resolved to 6 hours)."""


class People(NamedTuple):
    """Where the population is (see :class:`simulation.civilians.displacement.Civilians`)."""

    residents: np.ndarray  #: (n,) int64, people at home
    cohort: np.ndarray  #: (n, n) int64, displaced people from origin ``o`` sheltering at place ``c``, [o, c]
    cohort_days: np.ndarray  #: (n, n) float64, their person-days displaced
    displaced_from: np.ndarray  #: (n,) int64, residents who ever left each place
    returned: np.ndarray  #: (n,) int64, displaced people back home, by origin


class OnRoad(NamedTuple):
    """People on the road (fleeing, or going home), by road slot and origin."""

    slots: np.ndarray  #: (slots, n) int32 or int64, [slot, origin]
    count: np.ndarray  #: (n,) int64, people of each origin on the road (the sums of ``slots`` over the slots)
    days: np.ndarray  #: (n,) float64, their person-days displaced


class Fear(NamedTuple):
    """The fear at each place, day to day."""

    violence: np.ndarray  #: (n,) float64, fear of violence felt nearby
    takeover: np.ndarray  #: (n,) float64, fear of who took the place
    hazard: np.ndarray  #: (n,) float64, the day's hazard of leaving
    quiet_days: np.ndarray  #: (n,) int64, days without violence felt, battle or change of hands


class RoadSlots(NamedTuple):
    """Directed roads cut into slots of ``step_km`` each, for people on the road (see
    :func:`simulation.civilians.displacement.road_slots`).

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
    degree : (n,) array, the number of roads out of each place (its ``out_edge`` row's roads).
    next_edge : (J, E) array, the edge taken by the ``j``-th road out of edge ``e``'s head (-1 where the head has
        fewer).
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
    degree: np.ndarray
    next_edge: np.ndarray

    @property
    def n_slots(self) -> int:
        return int(self.length.sum())

    def slot(self, t: int) -> np.ndarray:
        """The slot of each edge from which people arrive at quarter-day ``t`` (and into which people who
        start on the edge then are put)."""
        return self.first + t % self.length


class Hops(NamedTuple):
    """Destination weights [d, o] to weights per road out of each place, [j * n + c, o] (``j == J``: staying at
    ``c``), discounted by road distance: a sparse matrix by rows, as the arrays of SciPy's CSR format. Row
    ``j * n + c`` has an entry for each destination ``d`` whose route from ``c`` starts with ``c``'s ``j``-th
    road, in increasing ``d``, with the kernel ``exp(-road km / destination_distance_km)``. The compiled
    departures and travel read the arrays and compute only the weights they use, each summed in increasing
    ``d`` as ``scipy.sparse``'s product would.
    """

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray


@njit(cache=True)
def _mean_and_leave(road: OnRoad, off: np.ndarray, left: np.ndarray, mean: np.ndarray) -> None:
    """For the origins that people ``left`` the road from (``off`` of them): their mean days displaced into
    ``mean``, and their person-days and counts taken off the road (people leaving the road take their
    origin's mean days with them; the last to leave take what is left)."""
    days, on_road = road.days, road.count
    for o in range(on_road.size):
        if not left[o]:
            continue
        left[o] = False
        mean[o] = days[o] / max(on_road[o], 1)
        days[o] -= off[o] * mean[o]
        if on_road[o] == off[o]:
            days[o] = 0.0
        on_road[o] -= off[o]


@njit(cache=True)
def _settle(people: People, o: int, c: int, count: int, days: float) -> None:
    """``count`` people of origin ``o`` stop at ``c`` with ``days`` person-days: home (residents again, their
    days dropped) if ``c == o``, else sheltering in the cohort (o, c)."""
    if c == o:
        people.residents[o] += count
        people.returned[o] += count
    else:
        people.cohort[o, c] += count
        people.cohort_days[o, c] += days


@njit(cache=True)
def onward_split(cum: np.ndarray, deg: int, stay: float, total: float, uturn: int, people: float, u: float,
                 take: np.ndarray) -> int:
    """Split a group of ``people`` reaching a place among its ``deg`` roads and staying there.

    ``cum[:deg]`` holds the weights of the roads (overwritten with their cumulative sums), ``stay`` that of
    staying, ``total`` the sum of all of them. Nobody takes road ``uturn`` (the way back) unless nothing lies
    ahead, in which case it has all the weight; with no weight at all, everyone stays. Shares are rounded by
    systematic rounding with the uniform number ``u``: ``floor(people * cum / cum[-1] + u)`` people take one of
    the choices up to each, so each choice gets its expected share on average and the parts add up.

    Writes the people taking each road in ``take[:deg]``; returns how many took a road (the rest stay).
    """
    if total > cum[uturn]:  # not back the way they came, unless nothing lies ahead
        cum[uturn] = 0.0
    if total == 0:  # nowhere acceptable: stop here
        stay = 1.0
    for k in range(1, deg):
        cum[k] = cum[k - 1] + cum[k]
    f = people / ((cum[deg - 1] if deg else 0.0) + stay)
    onward = 0.0  # whole people who took one of the roads so far
    for j in range(deg):
        v = np.floor(cum[j] * f + u)
        if v > people:
            v = people
        take[j] = np.int64(v - onward)
        onward = v
    return np.int64(onward)


@njit(cache=True)
def road_split(weights: np.ndarray, count: int, u: float, take: np.ndarray) -> None:
    """Split ``count`` people among roads by their ``weights`` (not all zero), by the same systematic rounding
    as :func:`onward_split`; the last road takes the rest. Writes the people on each road in ``take``."""
    last = 0.0
    for j in range(weights.size):
        last += weights[j]
    f = count / last
    cum = 0.0
    taken = 0
    for j in range(weights.size):
        cum += weights[j]
        v = count if j == weights.size - 1 else min(np.int64(np.floor(cum * f + u)), count)
        take[j] = v - taken
        taken = v


@njit(cache=True)
def _arrivals(here: np.ndarray, on_road: np.ndarray, edge: np.ndarray, origin: np.ndarray,
              count: np.ndarray) -> int:
    """Take the people in the slots ``here`` (one per edge) off ``on_road`` [slot, origin] into the buffers
    ``edge``, ``origin`` and ``count``, in the order of ``edge * n + origin``; return how many groups."""
    pairs = 0
    for e in range(here.size):
        row = on_road[here[e]]
        for o in range(row.size):
            if row[o] != 0:
                edge[pairs] = e
                origin[pairs] = o
                count[pairs] = row[o]
                row[o] = 0
                pairs += 1
    return pairs


Choices = tuple  # (ptr, to, kernel, X, n, weights, total, known, column_of): see _weigh_choices


@njit(cache=True)
def _weigh_choices(choices: Choices, c: int) -> None:
    """The weights, for each origin on the road, of the choices at place ``c``: ``weights[c, j, col]`` of its
    ``j``-th road (``j == J``: staying), the hop matrix's row ``j * n + c`` (``ptr``, ``to``, ``kernel``, see
    :class:`Hops`) times ``X[:, col]`` (the destination weights of the ``col``-th origin on the road), and their
    sum ``total[c, col]``; ``known[c]`` is then set. Each product is summed in increasing destination from 0.0
    and the total in increasing ``j``, as ``scipy.sparse``'s product and ``sum(axis=0)`` did: the numbers are
    theirs. Worked out only for the places people reach in the day."""
    ptr, to, kernel, X, n, weights, total, known, _ = choices
    J = weights.shape[1] - 1
    a = X.shape[1]
    for col in range(a):
        total[c, col] = 0.0
    for j in range(J + 1):
        row = j * n + c
        w = weights[c, j]
        for col in range(a):
            w[col] = 0.0
        for k in range(ptr[row], ptr[row + 1]):
            x = X[to[k]]
            kv = kernel[k]
            for col in range(a):
                w[col] += kv * x[col]
        for col in range(a):
            total[c, col] += w[col]
    known[c] = True


@njit(cache=True)
def _travel_fleeing(here: np.ndarray, fleeing: OnRoad, choices: Choices, roads: RoadSlots, ends: tuple,
                    people: People, rng: np.random.Generator, scratch: tuple) -> None:
    """A quarter-day for fleeing people: those reaching the end of a road (``here``: the slot of each road they
    arrive from) choose among the next roads and staying (see :func:`onward_split`, one uniform number per
    group), or wait back at its start if its end admits nobody today (``ends``: ``(open_end, settle_at)`` by
    road). Only the (road, origin) pairs with someone arriving are worked on.

    ``column_of[o]`` (the last of ``choices``) is origin ``o``'s column among the day's origins on the road (-1
    if none); the weights of the choices at a place come from ``choices`` (see :func:`_weigh_choices`): its
    ``degree`` roads in ``out_edge`` order, zeros up to ``J``, and staying (``J``). ``scratch`` is ``(edge,
    origin, count, stop, off, left, mean)``."""
    edge, origin, count, stop, off, left, mean = scratch
    open_end, settle_at = ends
    n = fleeing.count.size
    weights, total, known, column_of = choices[5], choices[6], choices[7], choices[8]
    J = weights.shape[1] - 1
    pairs = _arrivals(here, fleeing.slots, edge, origin, count)
    if pairs == 0:
        return
    cum = np.empty(J + 1)
    take = np.empty(J + 1, dtype=np.int64)
    for o in range(n):
        off[o] = 0
    for i in range(pairs):
        e, o = edge[i], origin[i]
        c, col = roads.head[e], column_of[o]
        if not known[c]:
            _weigh_choices(choices, c)
        deg = roads.degree[c]
        for k in range(deg):
            cum[k] = weights[c, k, col]
        people_here = float(count[i]) if open_end[e] else 0.0
        onward = onward_split(cum, deg, weights[c, J, col], total[c, col], roads.uturn[e], people_here, rng.random(),
                              take)
        for j in range(deg):
            if take[j] != 0:
                fleeing.slots[here[roads.next_edge[j, e]], o] += take[j]
        stop[i] = count[i] - onward
        off[o] += stop[i]
        left[o] = True
    _mean_and_leave(fleeing, off, left, mean)
    for i in range(pairs):
        if stop[i] != 0:  # (settling nobody changes nothing: cohort_days never holds -0.0)
            o = origin[i]
            _settle(people, o, settle_at[edge[i]], stop[i], stop[i] * mean[o])


@njit(cache=True)
def _travel_returning(here: np.ndarray, returning: OnRoad, home: tuple, roads: RoadSlots, people: People,
                      scratch: tuple) -> None:
    """A quarter-day for people going home (``home``: ``(next_hop, battle)``, the routes home and the places
    with a battle): at the end of a road they are home, turned away by a battle (they wait at the road's start),
    stuck (no way on: they wait here), or take the next road home. ``scratch`` is ``(edge, origin, count,
    settle_at, off, left, mean)``."""
    edge, origin, count, settle_at, off, left, mean = scratch
    next_hop, battle = home
    n = returning.count.size
    pairs = _arrivals(here, returning.slots, edge, origin, count)
    if pairs == 0:
        return
    for o in range(n):
        off[o] = 0
    stopped = 0
    for i in range(pairs):
        e, o = edge[i], origin[i]
        h = roads.head[e]
        nxt = next_hop[h, o]
        if h == o:  # home
            settle_at[i] = h
        elif battle[h]:  # turned away: wait at the road's start, displaced
            settle_at[i] = roads.tail[e]
        elif nxt < 0:  # no way on: wait here
            settle_at[i] = h
        else:
            settle_at[i] = -1
            returning.slots[here[roads.edge_id[h, nxt]], o] += count[i]
            continue
        off[o] += count[i]
        left[o] = True
        stopped += 1
    if stopped == 0:
        return
    _mean_and_leave(returning, off, left, mean)
    for i in range(pairs):
        if settle_at[i] >= 0:
            o = origin[i]
            _settle(people, o, settle_at[i], count[i], count[i] * mean[o])


@njit(cache=True)
def travel_day(clock: int, roads: RoadSlots, hops: Hops, choice: tuple, people: People, fleeing: OnRoad,
               returning: OnRoad, rng: np.random.Generator) -> int:
    """A day of travel in :data:`SUBSTEPS` quarter-days from quarter-day ``clock``, then one more day displaced
    for everyone away from home (:meth:`simulation.civilians.displacement.Civilians.step`, 5 and 6); returns the
    new clock.

    ``choice`` is ``(weight, open_to_idps, next_hop, battle)``. Fleeing people choose by the hop matrix
    (``hops``, see :class:`Hops`) and ``weight[o, d]``, the weight of destination ``d`` for people from ``o``;
    people reaching the end of a road whose end is not ``open_to_idps`` wait at its start. People go home by
    ``next_hop`` (the routes home), only if it is not empty; a ``battle`` turns them away."""
    rd, hp, pe = RoadSlots(*roads), Hops(*hops), People(*people)
    fl, rt = OnRoad(*fleeing), OnRoad(*returning)
    weight, open_to_idps, next_hop, battle = choice
    ptr, to, kernel = hp.indptr, hp.indices, hp.data
    head, tail, first, length = rd.head, rd.tail, rd.first, rd.length
    n = fl.count.size
    E = head.size
    J = (ptr.size - 1) // n - 1 if n else 0
    # The weights of each destination d for the a origins with people fleeing on the road now: X[d, k] for the
    # k-th such origin (column_of[o] = k; the choices at each place are weighed from them as people get there).
    a = 0
    for o in range(n):
        if fl.count[o] != 0:
            a += 1
    X = np.empty((n, a))
    column_of = np.full(n, -1, dtype=np.int64)
    k = 0
    for o in range(n):
        if fl.count[o] != 0:
            column_of[o] = k
            for d in range(n):
                X[d, k] = weight[o, d]
            k += 1
    open_end = np.empty(E, dtype=np.bool_)  # roads whose end admits people today
    settle_at = np.empty(E, dtype=np.int64)  # where people who stop settle: the road's end if open, else start
    for e in range(E):
        open_end[e] = open_to_idps[head[e]]
        settle_at[e] = head[e] if open_end[e] else tail[e]
    edge = np.empty(E * n, dtype=np.int64)  # the groups arriving in a quarter-day: at most one per edge and origin
    origin = np.empty(E * n, dtype=np.int64)
    count = np.empty(E * n, dtype=np.int64)
    where = np.empty(E * n, dtype=np.int64)
    off = np.zeros(n, dtype=np.int64)
    mean = np.zeros(n)
    left = np.zeros(n, dtype=np.bool_)
    choices = (ptr, to, kernel, X, n, np.empty((n, J + 1, a)), np.empty((n, a)), np.zeros(n, dtype=np.bool_),
               column_of)
    scratch = (edge, origin, count, where, off, left, mean)
    for _ in range(SUBSTEPS):
        here = first + clock % length
        if a and fl.count.any():
            _travel_fleeing(here, fl, choices, rd, (open_end, settle_at), pe, rng, scratch)
        if next_hop.size and rt.count.any():
            _travel_returning(here, rt, (next_hop, battle), rd, pe, scratch)
        clock += 1
    # 6. One more day displaced for everyone away from home.
    for o in range(n):
        for c in range(n):
            pe.cohort_days[o, c] += pe.cohort[o, c]
        fl.days[o] += fl.count[o]
        rt.days[o] += rt.count[o]
    return clock


@njit(cache=True)
def fear_and_hazard(felt: np.ndarray, taken_by: np.ndarray, battle: np.ndarray, params: tuple, town: tuple,
                    people: People, fear: Fear, idps: np.ndarray) -> None:
    """The day's fear (:meth:`simulation.civilians.displacement.Civilians.step`, 1), in place (``params``:
    ``(decay, flight_takeover, flight_takeover_any, flight_per_casualty)``; ``town``: ``(hostility,
    exposure)``): fear of violence and of the takers decay by ``decay`` and grow by the violence ``felt`` and the
    shock of a takeover (``taken_by[c] >= 0``: the faction that took ``c``); the hazard is the fear of violence
    per person exposed (at least ``exposure``) plus the fear of the takers; a place is quiet one more day if
    nothing is felt, fought (``battle``) or taken there. Writes the displaced people sheltering at each place in
    ``idps``. The arithmetic is the NumPy code's, element by element."""
    decay, flight_takeover, takeover_any, flight_per_casualty = params
    hostility, exposure = town
    pe, fr = People(*people), Fear(*fear)
    residents, cohort = pe.residents, pe.cohort
    fear_violence, fear_takeover, hazard, quiet_days = fr.violence, fr.takeover, fr.hazard, fr.quiet_days
    n = felt.size
    for c in range(n):
        idps[c] = 0
    for o in range(n):
        for c in range(n):
            idps[c] += cohort[o, c]
    for c in range(n):
        fear_violence[c] = fear_violence[c] * decay + felt[c]
        shock = 0.0
        if taken_by[c] >= 0:
            shock = flight_takeover * (takeover_any + (1 - takeover_any) * hostility[c, taken_by[c]])
        fear_takeover[c] = fear_takeover[c] * decay + shock
        exposed = max(exposure[c], float(residents[c] + idps[c]))
        hazard[c] = flight_per_casualty * fear_violence[c] / exposed + fear_takeover[c]
        quiet = felt[c] < 1.0 and not battle[c] and taken_by[c] < 0
        quiet_days[c] = quiet_days[c] + 1 if quiet else 0


@njit(cache=True)
def destination_weights(idps: np.ndarray, calm: np.ndarray, battle: np.ndarray, controller: np.ndarray,
                        quiet_days: np.ndarray, places: tuple, params: tuple, out: tuple) -> bool:
    """Where people would go and who heads home (:meth:`simulation.civilians.displacement.Civilians.step`, 2
    and 4); ``places`` is ``(capacity, checkpoint_open, attraction, hostility)``, ``params`` ``(return_quiet_days,
    return_rate)``.

    Writes into ``out``, ``(open_to_idps, dest, weight, rate)``: ``open_to_idps`` (no battle and the checkpoint
    open), ``dest``, each place's appeal as a destination (its ``attraction``, less as it fills up to its
    ``capacity``, times ``calm``, ``exp(-hazard)``, and zero if not open), ``weight[o, d]``, the weight of ``d``
    for people from ``o`` (``dest[d]`` times their acceptance of ``d``'s controller; zero for ``d == o``), and
    ``rate[o]``, the share of ``o``'s displaced people heading home today (zero unless ``o`` has been quiet
    ``return_quiet_days`` and has no battle). Returns whether any rate is non-zero. The arithmetic is the NumPy
    code's, element by element."""
    capacity, checkpoint_open, attraction, hostility = places
    return_quiet_days, return_rate = params
    open_to_idps, dest, weight, rate = out
    n = idps.size
    for d in range(n):
        crowd = 1.0 / (1.0 + idps[d] / capacity[d])
        open_to_idps[d] = not battle[d] and checkpoint_open[d]
        dest[d] = attraction[d] * crowd * calm[d] * (1.0 if open_to_idps[d] else 0.0)
    any_rate = False
    for o in range(n):
        for d in range(n):
            weight[o, d] = dest[d] * (1.0 - hostility[o, controller[d]])
        weight[o, o] = 0.0
        home_ok = quiet_days[o] >= return_quiet_days and not battle[o]
        rate[o] = return_rate * (1.0 - hostility[o, controller[o]]) * (1.0 if home_ok else 0.0)
        if rate[o] != 0:
            any_rate = True
    return any_rate


@njit(cache=True)
def hop_rows(next_hop: np.ndarray, slot_of: np.ndarray, J: int, indptr: np.ndarray) -> int:
    """The row pointers of the hop matrix (:func:`simulation.civilians.displacement.hop_matrix`) into ``indptr`` (zeros,
    ``n * (J + 1) + 1``): row ``j * n + c`` has an entry for each ``d`` whose route from ``c`` starts with
    ``c``'s ``j``-th road (``j == J``: ``d == c``). Returns the number of entries."""
    n = next_hop.shape[0]
    for d in range(n):
        for c in range(n):
            h = next_hop[c, d]
            if h >= 0:
                j = J if c == d else slot_of[c, h]
                indptr[j * n + c + 1] += 1
    for r in range(n * (J + 1)):
        indptr[r + 1] += indptr[r]
    return indptr[n * (J + 1)]


@njit(cache=True)
def hop_entries(next_hop: np.ndarray, slot_of: np.ndarray, J: int, distance_km: np.ndarray, indptr: np.ndarray,
                indices: np.ndarray, km: np.ndarray) -> None:
    """The hop matrix's destinations (``indices``) and their road km from the row's place (``km``), in row order
    and, within a row, in increasing destination; ``indptr`` from :func:`hop_rows`."""
    n = next_hop.shape[0]
    at = indptr[:-1].copy()
    for d in range(n):
        for c in range(n):
            h = next_hop[c, d]
            if h >= 0:
                row = (J if c == d else slot_of[c, h]) * n + c
                indices[at[row]] = d
                km[at[row]] = distance_km[c, d]
                at[row] += 1


@njit(cache=True)
def _round_share(count: int, share: float, u: float) -> int:
    """Whole people out of ``count`` for a ``share``, without bias (``displacement.round_share``)."""
    k = np.int64(np.floor(count * share + u))
    return k if k < count else count


@njit(cache=True)
def _days_taken(count: int, days: float, taken: int) -> float:
    """Person-days that ``taken`` people carry away from a cohort of ``count`` (all of them if it empties)."""
    if taken == count:
        return days
    return taken * (days / count if count > 0 else 0.0)


@njit(cache=True)
def _safer_by_road(ptr: np.ndarray, to: np.ndarray, kernel: np.ndarray, hazard: np.ndarray, appeal: np.ndarray,
                   J: int) -> tuple:
    """The entries of the hop matrix's road rows (``j < J``) whose destination is safer than the place the road
    leaves (a lower ``hazard``) and has some ``appeal``, by place and road: those of place ``c``'s ``j``-th
    road are ``safer_to[at[c * J + j]:at[c * J + j + 1]]`` (in increasing destination) with kernels
    ``safer_kernel[...]``."""
    n = hazard.size
    at = np.zeros(n * J + 1, dtype=np.int64)
    for c in range(n):
        for j in range(J):
            row = j * n + c
            kept = 0
            for k in range(ptr[row], ptr[row + 1]):
                d = to[k]
                if hazard[d] < hazard[c] and appeal[d] > 0:
                    kept += 1
            at[c * J + j + 1] = at[c * J + j] + kept
    safer_to = np.empty(at[n * J], dtype=np.int64)
    safer_kernel = np.empty(at[n * J])
    i = 0
    for c in range(n):
        for j in range(J):
            row = j * n + c
            for k in range(ptr[row], ptr[row + 1]):
                d = to[k]
                if hazard[d] < hazard[c] and appeal[d] > 0:
                    safer_to[i] = d
                    safer_kernel[i] = kernel[k]
                    i += 1
    return at, safer_to, safer_kernel


@njit(cache=True)
def _safer_weight(at: np.ndarray, safer_to: np.ndarray, safer_kernel: np.ndarray, weight: np.ndarray,
                  road: int) -> float:
    """The weight of the safer destinations reached by one road (``road = c * J + j``, see
    :func:`_safer_by_road`) for people whose destinations weigh ``weight``: summed in increasing destination
    from 0.0, as ``scipy.sparse``'s product of the hop matrix (with the other entries dropped) does."""
    total = 0.0
    for k in range(at[road], at[road + 1]):
        total += safer_kernel[k] * weight[safer_to[k]]
    return total


@njit(cache=True)
def _can_leave(at: np.ndarray, safer_to: np.ndarray, safer_kernel: np.ndarray, weight: np.ndarray, c: int,
               J: int) -> bool:
    """Whether one of the ``J`` roads out of ``c`` has weight (see :func:`_safer_weight`) for people whose
    destinations weigh ``weight``. The terms are not negative, so a sum is positive if and only if one of its
    terms is: the first positive term decides."""
    for k in range(at[c * J], at[c * J + J]):
        if safer_kernel[k] * weight[safer_to[k]] > 0:
            return True
    return False


@njit(cache=True)
def depart_and_return(hops: Hops, roads: RoadSlots, start: np.ndarray, day: tuple, people: People,
                      fleeing: OnRoad, returning: OnRoad, rng: np.random.Generator) -> None:
    """A day's departures and returns (:meth:`simulation.civilians.displacement.Civilians.step`, 3 and 4).

    Parameters
    ----------
    hops : the hop matrix (see :class:`Hops`).
    roads : the road slots (``out_edge``, ``degree``, ``edge_id`` are read).
    start : (E,) the slot of each road in which people who set off now are put.
    day : ``(weight, hazard, appeal, share, rate, next_hop)``:

        - ``weight``: (n, n) the weight of each destination d for people from o, ``[o, d]``;
        - ``hazard``, ``appeal``: (n,) the day's hazard and destination appeal of each place: people leave
          ``c`` by the roads toward destinations with a lower hazard and some appeal, in proportion to their
          weights (see :func:`_safer_weight`);
        - ``share``: (n,) the day's share of people who leave each place;
        - ``rate``: (n,) the day's share of each origin's displaced people who head home (0: none);
        - ``next_hop``: (n, n) routes home, ``next_hop[c, o]`` the next place from ``c`` toward ``o``; empty if
          nobody heads home.
    people, fleeing, returning : the population, and the people on the road (see :class:`People`,
        :class:`OnRoad`).

    Random numbers, in this order: one per place for its residents; one per (origin, place) cohort that may
    leave; one per group that leaves, to split it among the roads; one per cohort that may head home.
    """
    hp, rd, pe = Hops(*hops), RoadSlots(*roads), People(*people)
    fl, rt = OnRoad(*fleeing), OnRoad(*returning)
    ptr, to, kernel = hp.indptr, hp.indices, hp.data
    out_edge, degree, edge_id = rd.out_edge, rd.degree, rd.edge_id
    weight, hazard, appeal, share, rate, next_hop = day
    residents, displaced_from, cohort, cohort_days = pe.residents, pe.displaced_from, pe.cohort, pe.cohort_days
    fleeing_n, fleeing_days, returning_n, returning_days = fl.count, fl.days, rt.count, rt.days
    n = residents.size
    J = out_edge.shape[1]
    # can_leave[o, c]: some road out of c leads toward a safer destination acceptable to people from o (worked
    # out only for the residents, o == c, and for the cohorts that may leave).
    at, safer_to, safer_kernel = _safer_by_road(ptr, to, kernel, hazard, appeal, J)
    can_leave = np.zeros((n, n), dtype=np.bool_)
    for c in range(n):
        can_leave[c, c] = _can_leave(at, safer_to, safer_kernel, weight[c], c, J)
    for o in range(n):
        for c in range(n):
            if o != c and cohort[o, c] != 0 and share[c] > 0 and at[c * J + J] > at[c * J]:
                can_leave[o, c] = _can_leave(at, safer_to, safer_kernel, weight[o], c, J)
    # 3. Departures: residents, then the displaced sheltering in frightened places, by (origin, place).
    leave_res = np.zeros(n, dtype=np.int64)
    for c in range(n):
        u = rng.random()
        if can_leave[c, c]:
            leave_res[c] = _round_share(residents[c], share[c], u)
        else:
            leave_res[c] = _round_share(residents[c], 0.0, u)
    groups = 0
    for o in range(n):
        for c in range(n):
            if cohort[o, c] != 0 and can_leave[o, c] and share[c] > 0:
                groups += 1
    g_origin = np.empty(groups + n, dtype=np.int64)  # the groups that leave: cohorts, then residents
    g_place = np.empty(groups + n, dtype=np.int64)
    g_count = np.empty(groups + n, dtype=np.int64)
    days_out = np.zeros(n)
    left_n = np.zeros(n, dtype=np.int64)
    k = 0
    for o in range(n):
        for c in range(n):
            if cohort[o, c] != 0 and can_leave[o, c] and share[c] > 0:
                count = cohort[o, c]
                going = _round_share(count, share[c], rng.random())
                days = _days_taken(count, cohort_days[o, c], going)
                cohort[o, c] -= going
                cohort_days[o, c] -= days
                days_out[o] += days
                left_n[o] += going
                if going != 0:
                    g_origin[k], g_place[k], g_count[k] = o, c, going
                    k += 1
    for c in range(n):
        residents[c] -= leave_res[c]
        displaced_from[c] += leave_res[c]
        fleeing_days[c] += days_out[c]
        fleeing_n[c] += left_n[c] + leave_res[c]
        if leave_res[c] != 0:
            g_origin[k], g_place[k], g_count[k] = c, c, leave_res[c]
            k += 1
    # Each group splits among the roads toward its safer destinations and sets off.
    probs = np.empty(J)
    take = np.empty(J, dtype=np.int64)
    for i in range(k):
        o, c, count = g_origin[i], g_place[i], g_count[i]
        deg = degree[c]
        for j in range(deg):
            probs[j] = _safer_weight(at, safer_to, safer_kernel, weight[o], c * J + j)
        road_split(probs[:deg], count, rng.random(), take)
        for j in range(deg):
            if take[j] != 0:
                fl.slots[start[out_edge[c, j]], o] += take[j]
    # 4. Returns: a share of each cohort whose origin is quiet heads home by the first road of the route.
    if next_hop.size == 0:
        return
    days_home = np.zeros(n)
    home_n = np.zeros(n, dtype=np.int64)
    for o in range(n):
        if rate[o] <= 0:
            continue
        for c in range(n):
            h = next_hop[c, o]
            if cohort[o, c] == 0 or h < 0 or h == c:
                continue
            count = cohort[o, c]
            going = _round_share(count, rate[o], rng.random())
            if going == 0:
                continue
            days = _days_taken(count, cohort_days[o, c], going)
            cohort[o, c] -= going
            cohort_days[o, c] -= days
            rt.slots[start[edge_id[c, h]], o] += going
            home_n[o] += going
            days_home[o] += days
    for o in range(n):
        returning_n[o] += home_n[o]
        returning_days[o] += days_home[o]
