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
``cohort`` ...). People are counted by *origin* ``k``: a group of a place that had people of it at the start
(``People.home[k]`` is its place; ``gp[k] = g * n + p`` its group and place). Quantities of a group at a place,
whoever is there (its fear of the place's taker, the hazard it sees, the share leaving), are indexed by
``g * n + c``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

SUBSTEPS = 4
"""Quarters of a day in which people on the road move and choose (travel times are resolved to 6 hours)."""


class People(NamedTuple):
    """Where the population is (see :class:`simulation.civilians.displacement.Civilians`), by origin ``k``."""

    residents: np.ndarray  #: (K,) int64, people at home
    cohort: np.ndarray  #: (K, n) int64, displaced people from origin ``k`` sheltering at place ``c``, [k, c]
    cohort_days: np.ndarray  #: (K, n) float64, their person-days displaced
    displaced_from: np.ndarray  #: (K,) int64, residents who ever left home (within the place or away)
    returned: np.ndarray  #: (K,) int64, displaced people back home, by origin
    within: np.ndarray  #: (K,) int64, people displaced within their own place (another district)
    within_days: np.ndarray  #: (K,) float64, their person-days displaced
    home: np.ndarray  #: (K,) int64, each origin's home place (fixed)


class OnRoad(NamedTuple):
    """People on the road (fleeing, or going home), by road slot and origin, kept only for the (slot, origin)
    pairs with someone in them: each slot has a linked list of entries ``(origin, people, next)`` in a pool
    (``entries``), so the memory follows the people on the road, not slots times origins (at 10,000 places a
    dense table would be 50,250 slots by 9,874 origins). An origin may have more than one entry in a slot (people
    put on the road are added at the front of its list without a search); they are added up when the slot's
    people arrive (:func:`_arrivals`), in increasing origin, as the rows of the dense table were read. The pool
    grows (doubles) inside the compiled calls, which return it (:func:`with_room`, called before people are put
    on the road)."""

    first: np.ndarray  #: (slots,) int64, the first entry of each slot's list (-1: nobody in the slot)
    entries: np.ndarray  #: (capacity, 3) int64, ``[origin, people, next entry of the list]`` (next free if free)
    pool: np.ndarray  #: (3,) int64, ``[first free entry (-1: none), entries ever used, entries in use]``
    count: np.ndarray  #: (K,) int64, people of each origin on the road (the sums over the slots)
    days: np.ndarray  #: (K,) float64, their person-days displaced
    busy: np.ndarray  #: (slots,) int64, people in each slot (the sums over the origins)


def empty_road(slots: int, capacity: int = 1024) -> OnRoad:
    """Nobody on the road (``count``, ``days`` left for the caller: see :class:`OnRoad`): ``(first, entries,
    pool, busy)``."""
    return (np.full(slots, -1, dtype=np.int64), np.zeros((max(capacity, 1), 3), dtype=np.int64),
            np.array([-1, 0, 0], dtype=np.int64), np.zeros(slots, dtype=np.int64))


@njit(cache=True)
def with_room(entries: np.ndarray, pool: np.ndarray, need: int) -> np.ndarray:
    """The pool's entries with room for ``need`` more in use: the same array, or a copy twice as large (or more)."""
    size = entries.shape[0]
    if size - pool[2] >= need:
        return entries
    while size - pool[2] < need:
        size *= 2
    bigger = np.zeros((size, 3), dtype=np.int64)
    bigger[:entries.shape[0]] = entries
    return bigger


@njit(cache=True, inline="always")
def put_on_road(first: np.ndarray, entries: np.ndarray, pool: np.ndarray, busy: np.ndarray, s: int, o: int,
                people: int) -> None:
    """Put ``people`` (> 0) of origin ``o`` in slot ``s``: an entry at the front of the slot's list, from the free
    list, else the next unused one (the caller made room: :func:`with_room`)."""
    i = pool[0]
    if i >= 0:
        pool[0] = entries[i, 2]
    else:
        i = pool[1]
        pool[1] = i + 1
    entries[i, 0] = o
    entries[i, 1] = people
    entries[i, 2] = first[s]
    first[s] = i
    pool[2] += 1
    busy[s] += people


@njit(cache=True)
def road_table(first: np.ndarray, entries: np.ndarray, K: int) -> np.ndarray:
    """The people on the road as a dense table ``[slot, origin]`` (for checks on small theatres)."""
    out = np.zeros((first.size, K), dtype=np.int64)
    for s in range(first.size):
        i = first[s]
        while i >= 0:
            out[s, entries[i, 0]] += entries[i, 1]
            i = entries[i, 2]
    return out


@njit(cache=True)
def road_by_origin(first: np.ndarray, entries: np.ndarray, K: int) -> np.ndarray:
    """The people on the road by origin, counted entry by entry."""
    out = np.zeros(K, dtype=np.int64)
    for s in range(first.size):
        i = first[s]
        while i >= 0:
            out[entries[i, 0]] += entries[i, 1]
            i = entries[i, 2]
    return out


class Fear(NamedTuple):
    """The fear at each place, day to day."""

    violence: np.ndarray  #: (n,) float64, fear of violence felt nearby
    takeover: np.ndarray  #: (G * n,) float64, fear of who took the place, by group (``[g * n + c]``)
    hazard: np.ndarray  #: (G * n,) float64, the day's mean hazard of leaving for group ``g`` at place ``c``
    quiet_days: np.ndarray  #: (n,) int64, days without violence felt, battle or change of hands


class RoadSlots(NamedTuple):
    """Directed roads cut into slots of ``step_km`` each, for people on the road (see
    :func:`simulation.civilians.displacement.road_slots`).

    Attributes
    ----------
    tail, head, km : arrays of shape (E,): the directed edges ``tail -> head`` (both directions of every road).
    out_edge : (n, J) array, the edges leaving each place, padded with -1 (J = the largest degree); the edge
        from ``a`` to ``b`` is found among ``a``'s (:func:`edge_between`).
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
    out_edge: np.ndarray
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


@njit(cache=True, inline="always")
def edge_between(out_edge: np.ndarray, degree: np.ndarray, head: np.ndarray, a: int, b: int) -> int:
    """The edge from place ``a`` to place ``b`` (found among ``a``'s few roads), or -1 if there is none."""
    for j in range(degree[a]):
        e = out_edge[a, j]
        if head[e] == b:
            return e
    return -1


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
    days dropped) if ``c`` is their home place, else sheltering in the cohort (o, c)."""
    if c == people.home[o]:
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
    top = stay  # weights relative to the largest, so that tiny (subnormal) weights cannot overflow the shares
    for k in range(deg):
        top = max(top, cum[k])
    stay /= top
    for k in range(deg):
        cum[k] /= top
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
    top = 0.0  # weights relative to the largest, so that tiny (subnormal) weights cannot overflow the shares
    for j in range(weights.size):
        top = max(top, weights[j])
    last = 0.0
    for j in range(weights.size):
        last += weights[j] / top
    f = count / last
    cum = 0.0
    taken = 0
    for j in range(weights.size):
        cum += weights[j] / top
        v = count if j == weights.size - 1 else min(np.int64(np.floor(cum * f + u)), count)
        take[j] = v - taken
        taken = v


@njit(cache=True)
def _arrivals(here: np.ndarray, road: OnRoad, edge: np.ndarray, origin: np.ndarray, count: np.ndarray) -> int:
    """Take the people in the slots ``here`` (one per edge) off the road into the buffers ``edge``, ``origin``
    and ``count`` (at least as long as the entries in use), in the order of ``edge * K + origin``, the entries of
    an origin in a slot added up; return how many groups. Only the slots with anyone in them are looked at
    (``busy``, the people in each slot, emptied here); their entries go back to the free list."""
    first, entries, pool, busy = road.first, road.entries, road.pool, road.busy
    pairs = 0
    for e in range(here.size):
        s = here[e]
        if busy[s] == 0:
            continue
        busy[s] = 0
        start = pairs
        m = 0
        i = first[s]
        while i >= 0:
            m += 1
            i = entries[i, 2]
        pairs += m
        at = pairs - 1  # the list runs from the last put to the first: put them back in the order they came
        i = first[s]
        while i >= 0:
            after = entries[i, 2]
            origin[at] = entries[i, 0]
            count[at] = entries[i, 1]
            at -= 1
            entries[i, 2] = pool[0]
            pool[0] = i
            pool[2] -= 1
            i = after
        first[s] = -1
        if m > 1:  # in increasing origin, an origin's entries added up (they came in a few increasing runs)
            if m <= 64:
                for a in range(start + 1, pairs):
                    o, x = origin[a], count[a]
                    b = a - 1
                    while b >= start and origin[b] > o:
                        origin[b + 1], count[b + 1] = origin[b], count[b]
                        b -= 1
                    origin[b + 1], count[b + 1] = o, x
            else:
                order = np.argsort(origin[start:pairs]) + start
                o_sorted, x_sorted = origin[order], count[order]
                origin[start:pairs] = o_sorted
                count[start:pairs] = x_sorted
            kept = start
            for a in range(start + 1, pairs):
                if origin[a] == origin[kept]:
                    count[kept] += count[a]
                else:
                    kept += 1
                    origin[kept], count[kept] = origin[a], count[a]
            pairs = kept + 1
        for a in range(start, pairs):
            edge[a] = e
    return pairs


@njit(cache=True)
def nested(terms_sum: float, nest: float) -> float:
    """A road's weight from the sum of its destinations' terms: ``terms_sum ** nest`` (``nest == 1``: the plain
    sum). A term is ``(kernel * weight) ** (1 / nest)``, computed as the product of the hop matrix's kernel
    built with the distance scale ``destination_distance_km * nest`` (``exp(-km / (D * nest)) = exp(-km / D) **
    (1 / nest)``) and the destination weight raised to ``1 / nest`` once a day. With ``nest`` 1 a road weighs
    the sum of its destinations (destinations down one corridor add up); toward 0 it weighs its best destination
    only (a nested logit's nest parameter: destinations down one road are close substitutes)."""
    return terms_sum if nest == 1.0 or terms_sum == 0.0 else terms_sum ** nest


Choices = tuple
"""``(ptr, to, kernel, weight, n, weights, total, key_of, column_of, nest, a, rows, stamp_of, stamp, origin_at)``:
see :func:`_weigh_choices`."""

CHOICE_CACHE_BYTES = 64 * 2**20
"""The most bytes of the cache of the choices' weights at a place for an origin (see :func:`_weigh_choices`):
every (place, origin on the road) pair has its own row while they fit (up to about a thousand places), else rows
are shared and a pair's weights may be worked out again (the same numbers: the cache only saves time)."""


def choice_cache(n: int, origins: int, J: int, cache_bytes: int) -> tuple:
    """The cache of the choices' weights of :func:`travel_day`, ``(weights, total, key_of, stamp_of)``, kept from
    day to day (no pages mapped and written anew each day; a row is valid only on the day its ``stamp_of`` says):
    ``max(1, min(n * origins, cache_bytes // ((J + 3) * 8)))`` rows of ``J + 1`` weights. :func:`travel_day`
    uses ``min(n * a, rows)`` of them on a day with ``a`` origins on the road, as many as it allocated each day
    before."""
    rows = max(1, min(n * origins, cache_bytes // ((J + 3) * 8)))
    return (np.empty((rows, J + 1)), np.empty(rows), np.full(rows, -1, dtype=np.int64),
            np.full(rows, -1, dtype=np.int64))


@njit(cache=True)
def _weigh_choices(choices: Choices, c: int, o: int, row: int, key: int) -> None:
    """Into row ``row`` of the day's cache: the weights, for origin ``o`` on the road, of the choices at place
    ``c``: ``weights[row, j]`` of its ``j``-th road (``j == J``: staying), ``nested(sum over the hop matrix's row
    j * n + c of kernel * weight[o, d])`` (``ptr``, ``to``, ``kernel``, see :class:`Hops`; ``weight[o]``: the
    destination weights of origin ``o``, raised to ``1 / nest``; see :func:`nested`), and their sum
    ``total[row]``. Each sum runs in increasing destination from 0.0 and the total in increasing ``j``. Worked
    out only for the (place, origin) pairs that people reach in the day, and kept in row ``row = key % rows``
    (``key = c * a + column_of[o]``, ``a`` the origins on the road: ``key_of[row]`` says whose weights a row
    holds, and ``stamp_of[row]`` on which day (``stamp``), and the caller looks there first); a pair whose row
    another took since is worked out again, to the same numbers."""
    ptr, to, kernel, weight, n, weights, total, key_of, _, nest, _, _, stamp_of, stamp, _ = choices
    J = weights.shape[1] - 1
    t = 0.0
    x = weight[o]
    for j in range(J + 1):
        r = j * n + c
        w = 0.0
        for k in range(ptr[r], ptr[r + 1]):
            w += kernel[k] * x[to[k]]
        w = nested(w, nest)
        weights[row, j] = w
        t += w
    total[row] = t
    key_of[row] = key
    stamp_of[row] = stamp


@njit(cache=True)
def _weigh_four(choices: Choices, c: int, o: np.ndarray, row: np.ndarray) -> None:
    """:func:`_weigh_choices` for four origins ``o[:4]`` at the same place ``c`` at once, into rows ``row[:4]``
    (already claimed in ``key_of`` and ``stamp_of``): each sum the same operations in the same order, but the
    four run side by side (four chains of additions instead of one after another, the hop matrix's entries
    read once)."""
    ptr, to, kernel, weight, n, weights, total = choices[0], choices[1], choices[2], choices[3], choices[4], \
        choices[5], choices[6]
    nest = choices[9]
    J = weights.shape[1] - 1
    x0, x1, x2, x3 = weight[o[0]], weight[o[1]], weight[o[2]], weight[o[3]]
    r0, r1, r2, r3 = row[0], row[1], row[2], row[3]
    t0 = t1 = t2 = t3 = 0.0
    for j in range(J + 1):
        r = j * n + c
        w0 = w1 = w2 = w3 = 0.0
        for k in range(ptr[r], ptr[r + 1]):
            kk = kernel[k]
            d = to[k]
            w0 += kk * x0[d]
            w1 += kk * x1[d]
            w2 += kk * x2[d]
            w3 += kk * x3[d]
        w0, w1, w2, w3 = nested(w0, nest), nested(w1, nest), nested(w2, nest), nested(w3, nest)
        weights[r0, j] = w0
        weights[r1, j] = w1
        weights[r2, j] = w2
        weights[r3, j] = w3
        t0 += w0
        t1 += w1
        t2 += w2
        t3 += w3
    total[r0] = t0
    total[r1] = t1
    total[r2] = t2
    total[r3] = t3


@njit(cache=True)
def _weigh_needed(choices: Choices, keys: np.ndarray) -> None:
    """The weights of the pairs ``keys`` (``c * a + column``, claimed in the cache: see :func:`_weigh_choices`),
    place by place, four origins at a time (:func:`_weigh_four`). A pair whose row a later pair of ``keys``
    claimed (rows shared: large theatres) is left for the caller to work out again when it needs it."""
    key_of, a, rows, origin_at = choices[7], choices[10], choices[11], choices[14]
    keys = np.sort(keys)
    o4 = np.empty(4, dtype=np.int64)
    row4 = np.empty(4, dtype=np.int64)
    m = 0
    c4 = -1
    for i in range(keys.size):
        key = keys[i]
        row = key % rows
        if key_of[row] != key:  # retaken by another pair (rows shared)
            continue
        c = key // a
        if c != c4:
            for q in range(m):  # the last place's remaining origins, one by one
                _weigh_choices(choices, c4, o4[q], row4[q], key_of[row4[q]])
            m = 0
            c4 = c
        o4[m] = origin_at[key % a]
        row4[m] = row
        m += 1
        if m == 4:
            _weigh_four(choices, c, o4, row4)
            m = 0
    for q in range(m):
        _weigh_choices(choices, c4, o4[q], row4[q], key_of[row4[q]])


@njit(cache=True)
def _travel_fleeing(here: np.ndarray, fleeing: OnRoad, choices: Choices, roads: RoadSlots, ends: tuple,
                    people: People, rng: np.random.Generator, scratch: tuple) -> np.ndarray:
    """A quarter-day for fleeing people: those reaching the end of a road (``here``: the slot of each road they
    arrive from) choose among the next roads and staying (see :func:`onward_split`, one uniform number per
    group), or stop if its end lets nobody on today (``ends``: ``(open_end, settle_at,
    admission, screened)``: by road, then the admissions left today at each place and whether each
    origin's group is screened). At a place with an admission limit,
    people of screened groups beyond what it still admits today stay in the queue on the road: they reach its
    end again after the road's length in quarter-days. Only the (road, origin) pairs with someone arriving are
    worked on. Returns the pool's entries (see :func:`put_on_road`).

    The weights of the choices at a place come from ``choices`` (see :func:`_weigh_choices`): its
    ``degree`` roads in ``out_edge`` order, zeros up to ``J``, and staying (``J``). ``scratch`` is ``(off,
    left, mean)``."""
    off, left, mean = scratch
    open_end, settle_at, admission, screened = ends
    K = fleeing.count.size
    first, entries, pool, busy = fleeing.first, fleeing.entries, fleeing.pool, fleeing.busy
    weights, total, key_of, column_of, a = choices[5], choices[6], choices[7], choices[8], choices[10]
    rows, stamp_of, stamp = choices[11], choices[12], choices[13]
    head = roads.head
    J = weights.shape[1] - 1
    most = pool[2]  # the groups arriving: at most one per entry in use
    edge = np.empty(most, dtype=np.int64)
    origin = np.empty(most, dtype=np.int64)
    count = np.empty(most, dtype=np.int64)
    pairs = _arrivals(here, fleeing, edge, origin, count)
    if pairs == 0:
        return entries
    # The weights the groups arriving need and the cache lacks, claimed and worked out first, place by place.
    keys = np.empty(pairs, dtype=np.int64)
    needed = 0
    for i in range(pairs):
        key = head[edge[i]] * a + column_of[origin[i]]
        row = key % rows
        if key_of[row] != key or stamp_of[row] != stamp:
            key_of[row] = key
            stamp_of[row] = stamp
            keys[needed] = key
            needed += 1
    _weigh_needed(choices, keys[:needed])
    entries = with_room(entries, pool, pairs * (J + 1))  # a group puts people on J roads at most, and the queue
    stop = np.empty(pairs, dtype=np.int64)
    cum = np.empty(J + 1)
    take = np.empty(J + 1, dtype=np.int64)
    for o in range(K):
        off[o] = 0
    for i in range(pairs):
        e, o = edge[i], origin[i]
        c = roads.head[e]
        arrived = count[i]
        if open_end[e] and screened[o] and admission[c] < arrived:  # the queue at a checkpoint
            arrived = np.int64(max(admission[c], 0.0))
            put_on_road(first, entries, pool, busy, here[e], o, count[i] - arrived)
        if open_end[e] and screened[o] and admission[c] != np.inf:
            admission[c] -= arrived
        key = c * a + column_of[o]
        row = key % rows
        if key_of[row] != key or stamp_of[row] != stamp:  # (rows shared: another pair's since)
            _weigh_choices(choices, c, o, row, key)
        deg = roads.degree[c]
        for k in range(deg):
            cum[k] = weights[row, k]
        people_here = float(arrived) if open_end[e] else 0.0
        onward = onward_split(cum, deg, weights[row, J], total[row], roads.uturn[e], people_here, rng.random(),
                              take)
        for j in range(deg):
            if take[j] != 0:
                put_on_road(first, entries, pool, busy, here[roads.next_edge[j, e]], o, take[j])
        stop[i] = arrived - onward
        off[o] += stop[i]
        left[o] = True
    _mean_and_leave(fleeing, off, left, mean)
    for i in range(pairs):
        if stop[i] != 0:  # (settling nobody changes nothing: cohort_days never holds -0.0)
            o = origin[i]
            _settle(people, o, settle_at[edge[i]], stop[i], stop[i] * mean[o])
    return entries


@njit(cache=True)
def _travel_returning(here: np.ndarray, returning: OnRoad, home: tuple, roads: RoadSlots, people: People,
                      scratch: tuple) -> np.ndarray:
    """A quarter-day for people going home (``home``: ``(to_next, battle)``, the routes home by home place
    (``to_next[p, c]``: the next place from ``c`` toward ``p``) and the places
    with a battle): at the end of a road they are home, turned away by a
    battle (they wait at the road's start), stuck (no way on: they wait here), or take the next road home.
    ``scratch`` is ``(off, left, mean)``. Returns the pool's entries (see :func:`put_on_road`)."""
    off, left, mean = scratch
    to_next, battle = home
    K = returning.count.size
    first, entries, pool, busy = returning.first, returning.entries, returning.pool, returning.busy
    most = pool[2]  # the groups arriving: at most one per entry in use
    edge = np.empty(most, dtype=np.int64)
    origin = np.empty(most, dtype=np.int64)
    count = np.empty(most, dtype=np.int64)
    pairs = _arrivals(here, returning, edge, origin, count)
    if pairs == 0:
        return entries
    entries = with_room(entries, pool, pairs)  # a group takes one road at most
    settle_at = np.empty(pairs, dtype=np.int64)
    for o in range(K):
        off[o] = 0
    stopped = 0
    for i in range(pairs):
        e, o = edge[i], origin[i]
        h = roads.head[e]
        home = people.home[o]
        nxt = to_next[home, h]
        if h == home:  # home
            settle_at[i] = h
        elif battle[h]:  # turned away: wait at the road's start, displaced
            settle_at[i] = roads.tail[e]
        elif nxt < 0:  # no way on: wait here
            settle_at[i] = h
        else:
            settle_at[i] = -1
            e_next = edge_between(roads.out_edge, roads.degree, roads.head, h, nxt)
            put_on_road(first, entries, pool, busy, here[e_next], o, count[i])
            continue
        off[o] += count[i]
        left[o] = True
        stopped += 1
    if stopped == 0:
        return entries
    _mean_and_leave(returning, off, left, mean)
    for i in range(pairs):
        if settle_at[i] >= 0:
            o = origin[i]
            _settle(people, o, settle_at[i], count[i], count[i] * mean[o])
    return entries


@njit(cache=True)
def travel_day(clock: int, roads: RoadSlots, hops: Hops, choice: tuple, people: People, fleeing: OnRoad,
               returning: OnRoad, rng: np.random.Generator) -> tuple:
    """A day of travel in :data:`SUBSTEPS` quarter-days from quarter-day ``clock``, then one more day displaced
    for everyone away from home (:meth:`simulation.civilians.displacement.Civilians.step`, 5 and 6); returns the
    new clock and the entries of the pools of people fleeing and going home (see :func:`put_on_road`).

    ``choice`` is ``(weight, open_to_idps, to_next, battle, nest, admission, screened, cache)`` (``cache``: the
    cache of the choices' weights, :func:`choice_cache`, kept from day to day; see :func:`_weigh_choices`).
    Fleeing people choose
    by the hop matrix (``hops``, see :class:`Hops`, its kernels for the scale ``destination_distance_km *
    nest``) and ``weight[k, d]``, the weight of destination ``d`` for people of origin ``k`` raised to ``1 /
    nest``, the destinations down one road nested by ``nest`` (see :func:`nested`); people
    reaching the end of a road whose end is not ``open_to_idps`` stop: at its start if a ``battle`` is fought at its
    end, else (a closed checkpoint) at its end, held there and let no further; ``admission[c]`` is how many
    more people of screened origins (``screened[k]``) place ``c`` admits today (``inf``: no limit), written
    down as they pass. People go home by ``to_next`` (the routes home by home place, ``to_next[p, c]``), only
    if it is not empty; a ``battle`` turns them away."""
    rd, hp, pe = RoadSlots(*roads), Hops(*hops), People(*people)
    fl, rt = OnRoad(*fleeing), OnRoad(*returning)
    weight, open_to_idps, to_next, battle, nest, admission, screened, cache = choice
    ptr, to, kernel = hp.indptr, hp.indices, hp.data
    head, tail, first, length = rd.head, rd.tail, rd.first, rd.length
    K = fl.count.size
    n = weight.shape[1]
    E = head.size
    # The a origins with people fleeing on the road now (nobody else joins the road during the day's travel):
    # column_of[o] = k for the k-th, which keys the day's cache of the choices at each place (_weigh_choices).
    a = 0
    column_of = np.full(K, -1, dtype=np.int64)
    origin_at = np.empty(K, dtype=np.int64)  # the origin of each column
    for o in range(K):
        if fl.count[o] != 0:
            column_of[o] = a
            origin_at[a] = o
            a += 1
    open_end = np.empty(E, dtype=np.bool_)  # roads whose end admits people today
    # Where people who stop settle: the road's end, unless a battle is fought there (then back at its start). At a
    # closed checkpoint those already on the road to it are held on its near side, in its camp, and pass no further.
    settle_at = np.empty(E, dtype=np.int64)
    for e in range(E):
        open_end[e] = open_to_idps[head[e]]
        settle_at[e] = tail[e] if battle[head[e]] else head[e]
    off = np.zeros(K, dtype=np.int64)
    mean = np.zeros(K)
    left = np.zeros(K, dtype=np.bool_)
    # weights[row, j]: one (place, origin) pair's choices side by side (few pairs are reached in a day), a row a
    # pair while the cache's rows allow (see _weigh_choices); its rows are today's if stamped with today's clock
    weights, total, key_of, stamp_of = cache
    rows = max(1, min(n * a, key_of.size))
    choices = (ptr, to, kernel, weight, n, weights, total, key_of, column_of, nest, a, rows, stamp_of, clock,
               origin_at)
    scratch = (off, left, mean)
    for _ in range(SUBSTEPS):
        here = first + clock % length
        if a and fl.count.any():
            entries = _travel_fleeing(here, fl, choices, rd, (open_end, settle_at, admission, screened), pe, rng,
                                      scratch)
            fl = OnRoad(fl.first, entries, fl.pool, fl.count, fl.days, fl.busy)
        if to_next.size and rt.count.any():
            entries = _travel_returning(here, rt, (to_next, battle), rd, pe, scratch)
            rt = OnRoad(rt.first, entries, rt.pool, rt.count, rt.days, rt.busy)
        clock += 1
    # 6. One more day displaced for everyone away from home (only the cohorts with someone in them are written:
    # adding 0 changes nothing, as cohort_days never holds -0.0, and most of the (origin, place) pairs are empty).
    cohort, cohort_days = pe.cohort, pe.cohort_days
    for o in range(K):
        for c in range(n):
            if cohort[o, c] != 0:
                cohort_days[o, c] += cohort[o, c]
        fl.days[o] += fl.count[o]
        rt.days[o] += rt.count[o]
        pe.within_days[o] += pe.within[o]
    return clock, fl.entries, rt.entries


@njit(cache=True)
def fear_and_hazard(felt: np.ndarray, taken_by: np.ndarray, battle: np.ndarray, params: tuple, town: tuple,
                    people: People, fear: Fear, out: tuple) -> None:
    """The day's fear and shares leaving (:meth:`simulation.civilians.displacement.Civilians.step`, 1), in place.

    ``params``: ``(decay_violence, decay_takeover, flight_takeover, flight_takeover_any, flight_per_casualty,
    battle_exposure_people, flight_max_share, flight_within_place)``; ``town``: ``(hostility, exposure,
    violence_weight)`` (``hostility[g * n + c, f]``: the fear of faction ``f`` of group ``g`` at place ``c``,
    residents and displaced alike; ``violence_weight[g]``: group ``g``'s weight on violence).

    At each place ``c`` with ``P = max(exposure[c], people present)`` and the district near the fighting
    ``D = min(P, battle_exposure_people)``, ``x = D / P`` of the people are exposed. For group ``g``
    (``k = g * n + c``, the group at the place):

    - fear of violence ``V = V * decay_violence + felt`` on a day with at least one casualty-equivalent felt,
      ``V = V * decay_violence`` on a day with less (violence too low to record one fatality, such as an air
      strike that kills one or two people in a full run: a quiet day, below, and it frightens nobody away); of
      the takers ``T_k = T_k * decay_takeover + flight_takeover * (any + (1 - any) * hostility[k, taker])`` on a
      change of hands, where ``any`` is
      ``flight_takeover_any`` if the place is fought over (it was not quiet yesterday, or today it has a battle
      or feels at least one casualty-equivalent) and 0 if it is handed over quietly;
    - hazard in the district ``h_near = flight_per_casualty * violence_weight[g] * V / D + T_k``, elsewhere
      ``h_far = T_k``; the mean hazard (``hazard[k]``, which destinations are judged by) is ``x * (h_near - T_k)
      + T_k``;
    - the share who leave home is ``share[k] = x * F(h_near) + (1 - x) * F(h_far)``, ``F(h) = flight_max_share *
      (1 - exp(-h))``; of them ``within[k] = flight_within_place * (1 - x) * x * (F(h_near) - F(h_far))`` move to
      another district of the place (there is one only if not everyone is exposed), the rest take the road.

    A place is quiet one more day if less than one casualty-equivalent is felt and nothing is fought
    (``battle``) or taken there. ``out`` is ``(idps, share, within)``: displaced people present at each place
    (sheltering there or displaced within it), the two shares, and ``leaving[k] = h_near``, the hazard of those
    who leave (destinations must be safer than that)."""
    decay_v, decay_t, flight_takeover, takeover_any, flight_per_casualty, district, max_share, within_place = params
    hostility, exposure, violence_weight = town
    idps, share, within_share, leaving = out
    pe, fr = People(*people), Fear(*fear)
    residents, cohort = pe.residents, pe.cohort
    n = felt.size
    G = hostility.shape[0] // n
    at_home = np.zeros(n)
    for c in range(n):
        idps[c] = 0
    for o in range(cohort.shape[0]):
        for c in range(n):
            idps[c] += cohort[o, c]
    for k in range(residents.size):
        idps[pe.home[k]] += pe.within[k]
        at_home[pe.home[k]] += residents[k]
    for c in range(n):
        # Violence below one casualty-equivalent is a quiet day's (see ``quiet`` below): it adds no fear.
        fr.violence[c] = fr.violence[c] * decay_v + (felt[c] if felt[c] >= 1.0 else 0.0)
        present = float(idps[c]) + at_home[c]
        exposed = max(exposure[c], present)
        near = min(exposed, district)
        x = near / exposed
        # A place handed over quietly (quiet yesterday, nothing fought or felt today) frightens each group only by
        # its fear of the taker: the fear of the fighting to come, ``takeover_any``, needs fighting to be near.
        fought = fr.quiet_days[c] == 0 or felt[c] >= 1.0 or battle[c]
        anyone = takeover_any if fought else 0.0
        for g in range(G):
            k = g * n + c
            shock = 0.0
            if taken_by[c] >= 0:
                shock = flight_takeover * (anyone + (1 - anyone) * hostility[k, taken_by[c]])
            fr.takeover[k] = fr.takeover[k] * decay_t + shock
            h_violence = flight_per_casualty * violence_weight[g] * fr.violence[c] / near
            fr.hazard[k] = x * h_violence + fr.takeover[k]
            leaving[k] = h_violence + fr.takeover[k]
            f_near = max_share * -np.expm1(-(h_violence + fr.takeover[k]))
            f_far = max_share * -np.expm1(-fr.takeover[k])
            share[k] = x * f_near + (1.0 - x) * f_far
            within_share[k] = within_place * (1.0 - x) * x * (f_near - f_far)
        quiet = felt[c] < 1.0 and not battle[c] and taken_by[c] < 0
        fr.quiet_days[c] = fr.quiet_days[c] + 1 if quiet else 0


@njit(cache=True)
def destination_weights(idps: np.ndarray, hazard: np.ndarray, battle: np.ndarray, controller: np.ndarray,
                        quiet_days: np.ndarray, places: tuple, params: tuple, out: tuple) -> bool:
    """Where people would go and who heads home (:meth:`simulation.civilians.displacement.Civilians.step`, 2
    and 4); ``places`` is ``(capacity, checkpoint_open, attraction, hostility, gp, acceptance)`` (``hostility``
    by group at place, ``gp[k]``: origin ``k``'s group and place, ``g * n + p``; ``acceptance = (1 -
    hostility) ** (1 / nest)``), ``params`` ``(return_quiet_days, return_rate, return_near_rate, nest)``.

    Writes into ``out``, ``(open_to_idps, dest, weight, rate, near_rate)``: ``open_to_idps`` (no battle and the
    checkpoint open), ``dest[g * n + d]``, place ``d``'s appeal to group ``g`` (its ``attraction``, less as it
    fills up to its ``capacity``, times ``exp(-hazard)`` of the group there, zero if not open),
    ``weight[k, d]``, the weight of ``d`` for people of origin ``k`` (their group's ``dest`` times their
    acceptance of ``d``'s controller, ``1 - hostility``; zero for their home place), raised to ``1 / nest`` (see
    :func:`nested`: a product of ``dest ** (1 / nest)`` and ``acceptance``), and ``rate[k]`` and
    ``near_rate[k]``, the daily shares of origin ``k``'s displaced people heading home (``return_rate`` and
    ``return_near_rate`` times the acceptance of home's controller; zero unless home has been quiet
    ``return_quiet_days`` and has no battle). Returns whether any rate is non-zero."""
    capacity, checkpoint_open, attraction, hostility, gp, acceptance = places
    return_quiet_days, return_rate, return_near_rate, nest = params
    open_to_idps, dest, weight, rate, near_rate = out
    n = idps.size
    K = weight.shape[0]
    for d in range(n):
        open_to_idps[d] = not battle[d] and checkpoint_open[d]
    for i in range(dest.size):
        d = i % n
        crowd = 1.0 / (1.0 + idps[d] / capacity[d])
        dest[i] = attraction[d] * crowd * np.exp(-hazard[i]) * (1.0 if open_to_idps[d] else 0.0)
    powered = dest.copy()
    if nest != 1.0:
        for i in range(dest.size):
            if dest[i] > 0:
                powered[i] = dest[i] ** (1.0 / nest)
    any_rate = False
    for k in range(K):
        own = gp[k]  # the origin's group at its home place: its fears are the group's there
        g0 = (own // n) * n
        for d in range(n):
            weight[k, d] = powered[g0 + d] * acceptance[own, controller[d]]
        home = own % n
        weight[k, home] = 0.0
        home_ok = quiet_days[home] >= return_quiet_days and not battle[home]
        accept = (1.0 - hostility[own, controller[home]]) * (1.0 if home_ok else 0.0)
        rate[k] = return_rate * accept
        near_rate[k] = return_near_rate * accept
        if rate[k] != 0 or near_rate[k] != 0:
            any_rate = True
    return any_rate


@njit(cache=True, inline="always")
def _hop_row(to_next: np.ndarray, out_edge: np.ndarray, head: np.ndarray, d: int, c: int) -> int:
    """The hop matrix's row of destination ``d`` from place ``c`` (see :func:`hop_rows`), -1 if none."""
    n, J = to_next.shape[0], out_edge.shape[1]
    h = to_next[d, c]
    if h == c:
        return J * n + c
    if h >= 0:
        for j in range(J):  # the road c -> h (there is one: h is the next place of a route)
            e = out_edge[c, j]
            if e >= 0 and head[e] == h:
                return j * n + c
    return -1


@njit(cache=True)
def hop_rows(to_next: np.ndarray, out_edge: np.ndarray, head: np.ndarray, indptr: np.ndarray) -> int:
    """The row pointers of the hop matrix (:func:`simulation.civilians.displacement.hop_matrix`) into ``indptr``
    (zeros, ``n * (J + 1) + 1``): row ``j * n + c`` has an entry for each ``d`` whose route from ``c`` starts with
    ``c``'s ``j``-th road (its position in ``out_edge[c]``, whose roads end at ``head``; ``j == J``: ``d == c``),
    ``to_next[d, c]`` being the next place from ``c`` toward ``d``. Returns the number of entries."""
    n, J = to_next.shape[0], out_edge.shape[1]
    for d in range(n):
        for c in range(n):
            row = _hop_row(to_next, out_edge, head, d, c)
            if row >= 0:
                indptr[row + 1] += 1
    return cumulate(indptr, n * (J + 1))


@njit(cache=True)
def cumulate(indptr: np.ndarray, rows: int) -> int:
    """``indptr[1:rows + 1]`` from counts by row to CSR offsets, in place; returns the number of entries."""
    for r in range(rows):
        indptr[r + 1] += indptr[r]
    return indptr[rows]


@njit(cache=True)
def hop_entries(to_next: np.ndarray, out_edge: np.ndarray, head: np.ndarray, to_km: np.ndarray,
                indptr: np.ndarray, indices: np.ndarray, km: np.ndarray) -> None:
    """The hop matrix's destinations (``indices``) and their road km from the row's place (``km``), in row order
    and, within a row, in increasing destination; ``indptr`` from :func:`hop_rows`, each entry's row found again
    as it found it (no (n, n) table of rows), ``to_km``: the routes' lengths by destination, ``[d, c]``."""
    n = to_next.shape[0]
    at = indptr[:-1].copy()
    for d in range(n):
        for c in range(n):
            row = _hop_row(to_next, out_edge, head, d, c)
            if row >= 0:
                indices[at[row]] = d
                km[at[row]] = to_km[d, c]
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
def _safer_by_road(ptr: np.ndarray, to: np.ndarray, kernel: np.ndarray, hazard: np.ndarray, leaving: np.ndarray,
                   appeal: np.ndarray, J: int) -> tuple:
    """The entries of the hop matrix's road rows (``j < J``) whose destination is safer than the place the road
    leaves (its ``hazard`` below the ``leaving`` hazard there, for one group) and has some ``appeal`` (to it),
    by place and road: those of place
    ``c``'s ``j``-th road are ``safer_to[at[c * J + j]:at[c * J + j + 1]]`` (in increasing destination) with
    kernels ``safer_kernel[...]``."""
    n = hazard.size
    at = np.zeros(n * J + 1, dtype=np.int64)
    for c in range(n):
        for j in range(J):
            row = j * n + c
            kept = 0
            for k in range(ptr[row], ptr[row + 1]):
                d = to[k]
                if hazard[d] < leaving[c] and appeal[d] > 0:
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
                if hazard[d] < leaving[c] and appeal[d] > 0:
                    safer_to[i] = d
                    safer_kernel[i] = kernel[k]
                    i += 1
    return at, safer_to, safer_kernel


@njit(cache=True)
def _safer_weight(at: np.ndarray, safer_to: np.ndarray, safer_kernel: np.ndarray, weight: np.ndarray,
                  road: int, nest: float) -> float:
    """The weight of the safer destinations reached by one road (``road = c * J + j``, see
    :func:`_safer_by_road`) for people whose destinations weigh ``weight`` (raised to ``1 / nest``):
    ``nested(sum of kernel * weight[d])`` in increasing destination from 0.0 (see :func:`nested`)."""
    total = 0.0
    for k in range(at[road], at[road + 1]):
        total += safer_kernel[k] * weight[safer_to[k]]
    return nested(total, nest)


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
def cohort_places(cohort: np.ndarray, rate: np.ndarray, near_rate: np.ndarray) -> tuple:
    """The places of the cohorts of the origins that head home today (``rate`` or ``near_rate`` positive, as
    :func:`depart_and_return` reads them): ``(ptr, at)``, origin ``o``'s at ``at[ptr[o]:ptr[o + 1]]``, in
    increasing place."""
    K, n = cohort.shape
    ptr = np.zeros(K + 1, dtype=np.int64)
    for o in range(K):
        m = 0
        if not (rate[o] <= 0 and near_rate[o] <= 0):
            for c in range(n):
                if cohort[o, c] != 0:
                    m += 1
        ptr[o + 1] = ptr[o] + m
    at = np.empty(ptr[K], dtype=np.int64)
    for o in range(K):
        j = ptr[o]
        if ptr[o + 1] > j:
            for c in range(n):
                if cohort[o, c] != 0:
                    at[j] = c
                    j += 1
    return ptr, at


@njit(cache=True)
def depart_and_return(hops: Hops, roads: RoadSlots, start: np.ndarray, day: tuple, people: People,
                      fleeing: OnRoad, returning: OnRoad, rng: np.random.Generator) -> tuple:
    """A day's departures and returns (:meth:`simulation.civilians.displacement.Civilians.step`, 3 and 4).

    Parameters
    ----------
    hops : the hop matrix (see :class:`Hops`).
    roads : the road slots (``out_edge``, ``degree``, ``head`` are read).
    start : (E,) the slot of each road in which people who set off now are put.
    day : ``(weight, hazard, leaving, appeal, share, within, rate, near_rate, near, to_next, nest, origins)``:

        - ``weight``: (K, n) the weight of each destination d for people of origin k, ``[k, d]``, raised to ``1 /
          nest`` (with the hop matrix's kernels for the scale ``destination_distance_km * nest``; see
          :func:`nested`);
        - ``hazard``, ``leaving``, ``appeal``: (K,) the day's mean hazard, the hazard of those who leave, and the
          destination appeal of each place for each group (``[g * n + c]``): people of group ``g`` leave ``c`` by
          the roads toward destinations whose hazard for their group is below the one they leave and that have
          some appeal, in proportion to their weights (see :func:`_safer_weight`);
        - ``share``, ``within``: (K,) the day's shares of group ``g`` at ``c`` who leave home, and who move
          within the place (see :func:`fear_and_hazard`); displaced people there leave by road with
          ``share - within``;
        - ``rate``, ``near_rate``: (K,) each origin's daily shares heading home (see
          :func:`destination_weights`); a cohort at ``c`` goes home at ``min(1, rate + near_rate * near[c,
          home])``, people displaced within their place at ``min(1, rate + near_rate)``, without travel;
        - ``near``: ``(ptr, at, value)``, ``exp(-road km from c to home / return_near_km)`` for the places ``c =
          at[j]`` (increasing) of origin ``o``'s cohorts, ``ptr[o] <= j < ptr[o + 1]``, where it heads home (see
          :func:`cohort_places`; empty if nobody heads home);
        - ``to_next``: (n, n) routes home by home place, ``to_next[p, c]`` the next place from ``c`` toward
          ``p``; empty if nobody heads home;
        - ``nest``: how destinations down one road add up (see :func:`nested`);
        - ``origins``: ``(of_gp, group_start)``: the origin of group ``g`` at place ``c`` (``of_gp[g * n + c]``,
          -1 if it had nobody), and the first origin of each group (origins are in group order).
    people, fleeing, returning : the population, and the people on the road (see :class:`People`,
        :class:`OnRoad`).

    Returns the entries of the pools of people fleeing and going home (see :func:`put_on_road`).

    Random numbers, group by group, in this order: one per place for its residents, and one more where some
    move within it; one per (origin, place) cohort that may leave; one per group that leaves, to split it among
    the roads; then, once, one per cohort that may head home and one per origin displaced within its place.
    """
    hp, rd, pe = Hops(*hops), RoadSlots(*roads), People(*people)
    fl, rt = OnRoad(*fleeing), OnRoad(*returning)
    ptr, to, kernel = hp.indptr, hp.indices, hp.data
    out_edge, degree, head = rd.out_edge, rd.degree, rd.head
    weight, hazard, leaving, appeal, share, within_share, rate, near_rate, near, to_next, nest, origins = day
    of_gp, group_start = origins
    residents, displaced_from, cohort, cohort_days = pe.residents, pe.displaced_from, pe.cohort, pe.cohort_days
    within, within_days = pe.within, pe.within_days
    fleeing_n, fleeing_days, returning_n, returning_days = fl.count, fl.days, rt.count, rt.days
    fl_entries, rt_entries = fl.entries, rt.entries
    K, n = cohort.shape
    G = group_start.size - 1
    J = out_edge.shape[1]
    probs = np.empty(J)
    take = np.empty(J, dtype=np.int64)
    for g in range(G):
        g0 = g * n
        # Some road out of c leads toward a place safer for group g with appeal to people of origin o (worked
        # out only for the residents and for the cohorts that may leave).
        at, safer_to, safer_kernel = _safer_by_road(ptr, to, kernel, hazard[g0:g0 + n], leaving[g0:g0 + n],
                                                   appeal[g0:g0 + n], J)
        road_share = np.empty(n)
        for c in range(n):
            road_share[c] = share[g0 + c] - within_share[g0 + c]
        # 3. Departures: residents (some to another district of their place), then the people displaced within
        # their place, then the displaced sheltering in frightened places, by (origin, place).
        leave_res = np.zeros(n, dtype=np.int64)
        for c in range(n):
            k = of_gp[g0 + c]
            if k < 0:
                continue
            u = rng.random()
            if residents[k] == 0:
                continue
            inside = 0
            if within_share[g0 + c] > 0:  # shares are by group at place, counts by origin
                inside = _round_share(residents[k], within_share[g0 + c], rng.random())
                residents[k] -= inside
                displaced_from[k] += inside
                within[k] += inside
            if road_share[c] > 0 and _can_leave(at, safer_to, safer_kernel, weight[k], c, J):
                leave_res[c] = _round_share(residents[k], road_share[c], u)
        first, last = group_start[g], group_start[g + 1]
        groups = 0  # (origin by origin, along the rows of cohort: column by column was slow)
        for o in range(first, last):
            for c in range(n):
                if cohort[o, c] != 0 and share[g0 + c] > 0:
                    groups += 1
        g_origin = np.empty(groups + 2 * n, dtype=np.int64)  # the groups that leave: cohorts, residents, within
        g_place = np.empty(groups + 2 * n, dtype=np.int64)
        g_count = np.empty(groups + 2 * n, dtype=np.int64)
        m = 0
        for o in range(first, last):
            for c in range(n):
                if cohort[o, c] != 0 and road_share[c] > 0 and \
                        _can_leave(at, safer_to, safer_kernel, weight[o], c, J):
                    count = cohort[o, c]
                    going = _round_share(count, road_share[c], rng.random())
                    days = _days_taken(count, cohort_days[o, c], going)
                    cohort[o, c] -= going
                    cohort_days[o, c] -= days
                    fleeing_days[o] += days
                    fleeing_n[o] += going
                    if going != 0:
                        g_origin[m], g_place[m], g_count[m] = o, c, going
                        m += 1
        for c in range(n):
            k = of_gp[g0 + c]
            if k < 0:
                continue
            if leave_res[c] != 0:
                residents[k] -= leave_res[c]
                displaced_from[k] += leave_res[c]
                fleeing_n[k] += leave_res[c]
                g_origin[m], g_place[m], g_count[m] = k, c, leave_res[c]
                m += 1
            if within[k] != 0 and road_share[c] > 0 and _can_leave(at, safer_to, safer_kernel, weight[k], c, J):
                going = _round_share(within[k], road_share[c], rng.random())
                if going != 0:
                    days = _days_taken(within[k], within_days[k], going)
                    within[k] -= going
                    within_days[k] -= days
                    fleeing_days[k] += days
                    fleeing_n[k] += going
                    g_origin[m], g_place[m], g_count[m] = k, c, going
                    m += 1
        # Each group splits among the roads toward its safer destinations and sets off.
        fl_entries = with_room(fl_entries, fl.pool, m * J)
        for i in range(m):
            o, c, count = g_origin[i], g_place[i], g_count[i]
            deg = degree[c]
            for j in range(deg):
                probs[j] = _safer_weight(at, safer_to, safer_kernel, weight[o], c * J + j, nest)
            road_split(probs[:deg], count, rng.random(), take)
            for j in range(deg):
                if take[j] != 0:
                    put_on_road(fl.first, fl_entries, fl.pool, fl.busy, start[out_edge[c, j]], o, take[j])
    # 4. Returns: a share of each cohort whose home is quiet heads home by the first road of the route; people
    # displaced within their place go back to their district.
    for k in range(K):
        if within[k] == 0 or rate[k] + near_rate[k] <= 0:
            continue
        going = _round_share(within[k], min(1.0, rate[k] + near_rate[k]), rng.random())
        if going != 0:
            days = _days_taken(within[k], within_days[k], going)
            within[k] -= going
            within_days[k] -= days
            residents[k] += going
            pe.returned[k] += going
    if to_next.size == 0:
        return fl_entries, rt_entries
    near_ptr, near_at, near_value = near
    for o in range(K):
        if rate[o] <= 0 and near_rate[o] <= 0:
            continue
        home = pe.home[o]
        rt_entries = with_room(rt_entries, rt.pool, near_ptr[o + 1] - near_ptr[o])  # a road a cohort at most
        for j in range(near_ptr[o], near_ptr[o + 1]):  # the cohorts only shrank since cohort_places listed them
            c = near_at[j]
            h = to_next[home, c]
            if cohort[o, c] == 0 or h < 0 or h == c:
                continue
            count = cohort[o, c]
            going = _round_share(count, min(1.0, rate[o] + near_rate[o] * near_value[j]), rng.random())
            if going == 0:
                continue
            days = _days_taken(count, cohort_days[o, c], going)
            cohort[o, c] -= going
            cohort_days[o, c] -= days
            e = edge_between(out_edge, degree, head, c, h)
            put_on_road(rt.first, rt_entries, rt.pool, rt.busy, start[e], o, going)
            returning_n[o] += going
            returning_days[o] += days
    return fl_entries, rt_entries
