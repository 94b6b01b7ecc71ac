"""Morale: losing a command, the day's morale of every unit, being cut off, routs, and the shock of a place's fall.

**Losing a command** (before the day's morale, after the battles). A place's garrison (the holder's effective
strength there, ``own``, positive) is *under pressure* on a day of battle where the hostile effective strength
is at least ``leadership_ratio * own``, or when the place is cut off (below); ``pressure_days`` counts such days
in a row. The day it reaches ``leadership_days`` (rounded), the holder's units there lose

    leadership_shock * (1 - base_morale) ** hollow_power

of morale and are *shaken*: the commanders leave (Mosul, the night of 9-10 June 2014, after four days of
fighting), and a hollow unit breaks where a cohesive one holds.

**The day's morale** of a unit (after the battles, whose losses and odds have already lowered it, see
:mod:`simulation.rules.combat`):

    m = morale - morale_cutoff * [cut off]
    m = m - hostile_population_morale * clip(2 * (sympathy - 0.5), 0, 1) * [government unit]
    m = m + morale_recovery * (base_morale - m) * [calm]
    morale = clip(m, 0, 1)

A government unit is *cut off* where no open road leads from its faction's rear (the most valuable place its
coalition held at the start) through places neither held nor occupied by its enemies; with an air force on its
side, the ``airlift_places`` most valuable of the places its coalition holds among those are supplied by air
and not cut off. A unit is *calm* where it is neither cut off nor at a battle. A garrison supplied by air
whose every road leads to a place its enemies hold or occupy (*besieged*) does not rout: it has no road to run
on and the air force keeps it fighting (the Baiji refinery: the regular troops pulled out and the special
forces left held it, "gradually re-supplied by air", BBC via Iraq Business News, 25 August 2014; Amerli,
attacked from 10 June and surrounded from 18 June by AFP's account, 7 August 2014, from mid-July by CBS's,
31 August 2014, held with supplies flown in, CBS); it can still be killed, and the place still falls when its
attackers are alone there long enough.

**Routs.** A unit at a place, not already routing, whose morale is below ``rout_threshold`` routs only with a
cause that day: a battle where it stands, being cut off, or a shock since its last check (a fall nearby, a
lost command, a scripted ``morale_shock``) while the enemy is near: hostile forces whose offensive has begun
could reach its place within a day (:func:`simulation.rules.orders.threat_to`), or hostile sleeper cells wait
there. News of a fall 300 km away shakes Baqubah's garrison, but it breaks only with the enemy near, not at the
news alone. The starting morale is not a switch. A battle has one loser: where half or more of the holder's
garrison breaks, the attackers there who would break the same day hold on (at Mosul, 9-10 June, the army
left; the attackers did not). ``Binomial(personnel,
desertion_share)`` of it desert (desertion is not death: they go to the ledger's ``deserted``), and the rest
make for the nearest place their side holds (by their coalition's travel days) where no enemy is present and
none threatens (:func:`simulation.rules.orders.threat_to`), else where no enemy is present. A unit inside a place
its enemies hold (no route of its side leads out) falls back by the road it came by, or else the shortest road
out, to the first place its enemies neither hold nor occupy, and on to the nearest place of its side from
there; only with no such road does it dissolve, all of it deserting. A rout runs away from the front, not along
it: a routing unit makes for a place no farther from its faction's rear (the most valuable place its side held
at the start) than where it stands, if there is one, and only then for one in any direction (without this the
routed garrisons of Tikrit and Camp Speicher swapped places and re-garrisoned each other).

**The fall shock.** When places fall that their holder had garrisoned at some point of the run (the fall of a
place nobody held with forces is no defeat: the insurgents' columns walking into the ungarrisoned desert town of
al-Baaj shake nobody; Mosul's fall shakes the north even when its garrison broke days before), each
live unit of the losing coalition within ``morale_shock_radius_km`` (by road) of one feels the largest of the
day's shocks (not their sum),

    morale_fall_shock * v / (1 + v) * min(1, v / value of its own place) * (1 - d / radius)
                      * (1 - base_morale) ** hollow_power * 2 * leaning

(``v``: the fallen place's value; ``d``: its distance; ``leaning``: how the people where the unit stands lean to
the taker: their sympathy for an insurgent taker, 1 - sympathy for a government or allied one, and for an
opportunist taker ``(1 - kin_fall_leaning) * (1 - sympathy) + kin_fall_leaning * kin share``, the share of the
communities it protects; at 1 the Peshmerga's take-over of Tuz Khurmatu does not shake the Shia Turkmen garrison of
Amerli), within [0, 1], and is shaken if it lowers its morale: the fall of a town
shakes a city's garrison by the ratio of their values, hollow units and places that lean to the taker most, so
collapse cascades along the roads to the divisions that collapsed and spares the units that held. News does not
add up from day to day: a shock ``s`` brings a unit's morale down to at most ``base_morale - s``, so a unit that
has already heard worse news loses nothing more (the garrison of Baqubah hears of Mosul, then of Tikrit, then of
Baiji, and is shaken by the worst of them, not by their sum); battles, being cut off and a lost command still
lower it further.

Parameters read: ``leadership_ratio``, ``leadership_days``, ``leadership_shock``, ``hollow_power``,
``morale_cutoff``, ``hostile_population_morale``, ``morale_recovery``, ``rout_threshold``, ``airlift_places``,
``desertion_share``, ``morale_shock_radius_km``, ``morale_fall_shock``, ``kin_fall_leaning``.

Entries: :func:`leadership`, :func:`daily_morale_and_routs`, :func:`fall_shock`; :func:`cut_off_garrisons` (for
the Peshmerga's take-overs, :mod:`simulation.rules.control`).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from simulation.roads import road_open
from simulation.rules import draws
from simulation.rules.movement import set_courses
from simulation.rules.orders import threatened as under_threat
from simulation.rules.routing import RouteRows, forward_row, toward_row
from simulation.rules.state import (
    DESERTED,
    Places,
    Presence,
    Roads,
    Sides,
    State,
    Tally,
    Units,
    distinct,
    side_columns,
    unit_columns,
)


class Routs(NamedTuple):
    """The units that routed today, in row order."""

    rows: np.ndarray
    faction: np.ndarray
    place: np.ndarray  #: where each routed
    reached: np.ndarray  #: bool, it had somewhere to go (else it dissolved)
    destination: np.ndarray  #: where it makes for (meaningful where ``reached``)
    deserters: np.ndarray  #: how many of it deserted (all of it, if it dissolved)
    remaining: np.ndarray  #: its personnel left


def daily_morale_and_routs(state: State, rng: np.random.Generator, params: dict[str, float]) -> Routs | None:
    """Every unit's morale of the day, and the routs (see the module's docstring). Returns the routs, or None
    if no unit routed. Every unit's ``shocked`` flag is cleared; ``state.routed_at`` marks where units routed.

    Random draws: the deserters of each routing unit (``rng.binomial``'s numbers, in row order, drawn only for
    units with personnel, see :mod:`simulation.rules.draws`).
    """
    u, n, p, sides = state.units, state.units.n, params, state.sides
    places, nc = state.world.n, sides.hostile.shape[0]
    held_by = np.empty(places, dtype=np.int64)  # the coalition holding each place
    enemy_here = np.empty((places, nc), dtype=bool)  # [place, c]: enemies of c present
    rout, coalitions = np.empty(n, dtype=np.int64), np.empty(nc, dtype=bool)
    settings = (int(p["airlift_places"]), p["morale_cutoff"], p["hostile_population_morale"], p["morale_recovery"],
                p["rout_threshold"])
    state.routed_at[:] = False
    threatened = _threatened(state)
    k = _day_morale(u.packed, n, state.packed_presence, state.packed_sides, state.world.packed_places,
                    state.world.road_net, state.controller, settings, threatened,
                    (held_by, enemy_here, rout, coalitions))
    if k == 0:
        return None
    rout = rout[:k]
    state.routed_at[u.loc[rout]] = True
    deserters = draws.binomial(rng, u.personnel[rout], p["desertion_share"])  # = rng.binomial's numbers
    # Each routing unit makes for the nearest place its side holds where no enemy is present, nor threatens
    # (personnel have not moved since); inside an enemy's place, it falls back the way it came.
    dest, reached, hop = np.empty(k, dtype=np.int64), np.empty(k, dtype=bool), np.full(k, -1, dtype=np.int64)
    for c in np.flatnonzero(coalitions).tolist():
        _rout_destinations(c, rout, u.packed, state.packed_sides, (held_by, enemy_here, under_threat(state, c)),
                           state.routes.rows(c), state.world.packed_roads, (dest, reached, hop))
    # Nowhere to go: the unit dissolves.
    _settle_routs(rout, deserters, reached, u.packed, state.packed_tally)
    plain = reached & (hop < 0)
    set_courses(state, rout[plain], dest[plain])
    back = np.flatnonzero(reached & (hop >= 0))
    if back.size:
        rows, here = rout[back], u.loc[rout[back]]
        u.target[rows], u.next[rows] = dest[back], hop[back]
        u.km_left[rows] = state.world.road_km[here, hop[back]]
    return Routs(rout, u.faction[rout], u.loc[rout], reached, dest, deserters, u.personnel[rout])


def _threatened(state: State) -> np.ndarray:
    """(places, coalitions) bool: hostile forces whose offensive has begun could reach the place within a day
    (:func:`simulation.rules.orders.threat_to`), or hostile sleeper cells wait there in a governorate where
    their side's offensive has begun; for the coalitions with a shaken unit (False elsewhere)."""
    u, n, sides = state.units, state.units.n, state.sides
    out = np.zeros((state.world.n, sides.hostile.shape[0]), dtype=bool)
    shaken = u.shocked[:n] & u.alive[:n]
    if shaken.any():
        cells = np.flatnonzero(u.alive[:n] & u.hidden[:n] & (u.personnel[:n] > 0))
        cells = cells[state.offensive_at[u.faction[cells], u.loc[cells]]]
        for c in distinct(sides.coalition_of[u.faction[:n][shaken]]):
            out[:, c] = under_threat(state, c)  # threat_to(state, c) > 0
            hostile_cells = cells[sides.hostile[c, sides.coalition_of[u.faction[cells]]]]
            out[u.loc[hostile_cells], c] = True
    return out


def leadership(state: State, params: dict[str, float]) -> np.ndarray:
    """A garrison under pressure loses its command (see the module's docstring): ``state.pressure_days`` is
    counted, and the holder's units at each place where it reaches ``leadership_days`` are hit and
    ``shocked``. Returns those places, in increasing order."""
    u, w = state.units, state.world
    cut = cut_off_garrisons(state, params)
    k = _pressure(state.packed_presence, state.holder, state.sides.hostile, cut, params["leadership_ratio"],
                  state.pressure_days)
    if k == 0:
        return _NONE
    lost = np.flatnonzero(state.pressure_days == int(round(params["leadership_days"])))
    if lost.size:
        at = np.zeros(w.n, dtype=bool)
        at[lost] = True
        _lose_command(at, state.holder, u.packed, u.n, state.sides.coalition_of,
                      (params["leadership_shock"], params["hollow_power"]))
    return lost


def cut_off_garrisons(state: State, params: dict[str, float]) -> np.ndarray:
    """(n,) bool: places held by a government faction's coalition that its rear cannot reach by open roads
    through places its enemies neither hold nor occupy (the ``airlift_places`` most valuable of them excepted,
    for a side with an air force)."""
    out = np.zeros(state.world.n, dtype=bool)
    _cut_off_garrisons(state.world.road_net, state.world.value, state.packed_sides, state.presence.personnel,
                       state.holder, int(params["airlift_places"]), out)
    return out


def fall_shock(state: State, places: np.ndarray, losing: np.ndarray, takers: np.ndarray,
               params: dict[str, float]) -> None:
    """The day's falls (``places``, each lost by coalition ``losing`` to faction ``takers``) of places their
    holder had garrisoned at some point (``state.was_garrisoned``) shake the morale of the losing side's units
    nearby (see the module's docstring): each unit loses the largest of the day's shocks it felt, and is
    ``shocked``. A place nobody ever held with forces changing hands is no defeat and shakes nobody."""
    garrisoned = state.was_garrisoned[places]
    if not garrisoned.any():
        return
    places, losing, takers = places[garrisoned], losing[garrisoned], takers[garrisoned]
    u, w = state.units, state.world
    radius = params["morale_shock_radius_km"]
    # How the people where a unit stands lean to the taker: 0, an insurgent taker (their sympathy); 1, a government
    # or allied taker (1 - sympathy); 2, an opportunist taker (the share of the communities it protects).
    leaning_kind = np.where(state.sides.insurgent[takers], 0, 1).astype(np.int64)
    leaning_kind[np.isin(takers, state.opportunists)] = 2
    _fall_shock((places, losing, leaning_kind), u.packed, u.n, state.sides.coalition_of,
                w.packed_places, state.kin, w.distance_km,
                (radius, max(radius, 1e-9), params["morale_fall_shock"], params["hollow_power"],
                 params["kin_fall_leaning"]))


_NONE = np.zeros(0, dtype=np.int64)


# ---------------------------------------------------------------------------------------------------------
# Compiled helpers: NumPy's operations in NumPy's order (no fastmath), so the numbers are NumPy's.


@njit(cache=True)
def np_clip(x: float, lo: float, hi: float) -> float:
    """``np.clip`` of one number as NumPy computes it: NaN stays NaN, ``x`` is kept unless below ``lo`` or above
    ``hi`` (so ``-0.0`` clipped at ``0`` stays ``-0.0``)."""
    if x != x:
        return x
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x


@njit(cache=True)
def np_maximum(a: float, b: float) -> float:
    """``np.maximum(a, b)``: NaN if either is NaN (the first one), else ``a`` if greater, else ``b``."""
    if a != a:
        return a
    if b != b:
        return b
    return a if a > b else b


@njit(cache=True)
def np_minimum(a: float, b: float) -> float:
    """``np.minimum(a, b)``: NaN if either is NaN (the first one), else ``a`` if less, else ``b``."""
    if a != a:
        return a
    if b != b:
        return b
    return a if a < b else b


@njit(cache=True)
def _clip(x: float, lo: float, hi: float) -> float:
    """``np.clip`` of one number as the day's morale wrote it: ``min(max(x, lo), hi)`` (a NaN stays NaN; unlike
    :func:`np_clip`, ``-0.0`` clipped at ``0`` becomes ``0.0``)."""
    if x != x:
        return x
    y = x if x > lo else lo
    return y if y < hi else hi


@njit(cache=True)
def _morale_today(morale: float, base_morale: float, cut_off: bool, sympathy: float, government: bool, calm: bool,
                  params: tuple) -> float:
    """One unit's morale of the day (see the module's docstring); ``params`` is ``(airlift_places,
    morale_cutoff, hostile_population_morale, morale_recovery, rout_threshold)``. Booleans count as 1.0 and
    0.0, in NumPy's order of operations."""
    _, morale_cutoff, hostile_population_morale, morale_recovery, _ = params
    m = morale - morale_cutoff * (1.0 if cut_off else 0.0)
    hostile = _clip(2 * (sympathy - 0.5), 0.0, 1.0)
    m = m - hostile_population_morale * hostile * (1.0 if government else 0.0)
    m = m + (morale_recovery * (base_morale - m) if calm else 0.0)
    return _clip(m, 0.0, 1.0)


@njit(cache=True)
def _day_morale(units: Units, n: int, presence: Presence, sides: Sides, places: Places, road_net: tuple,
                controller: np.ndarray, params: tuple, threatened: np.ndarray, out: tuple) -> int:
    """The day's morale of units ``0 .. n-1`` and who routs (see :func:`daily_morale_and_routs`).

    ``threatened[place, coalition]``: enemies of the coalition could reach the place within a day (a shock is
    a cause to rout only there).

    ``params`` is ``(airlift_places, morale_cutoff, hostile_population_morale, morale_recovery,
    rout_threshold)``; ``out`` is ``(held_by, enemy_here, rout, rout_coalitions)``: the coalition holding each
    place, whether enemies of each coalition are present at each place (for the routs' destinations), the
    units that rout (live, here, not routing, morale below the threshold), in row order, and their coalitions.
    Returns how many rout.
    """
    u, pr, s, pl = unit_columns(units), Presence(*presence), side_columns(sides), Places(*places)
    held_by, enemy_here, rout, rout_coalitions = out
    airlift_places, rout_threshold = params[0], params[4]
    nf, n_places, nc = s.coalition_of.size, controller.size, s.hostile.shape[0]
    # Who holds and who occupies each place; the live units; the government factions with live units.
    for q in range(n_places):
        held_by[q] = s.coalition_of[controller[q]]
        for c in range(nc):
            e = False
            for d in range(nc):
                if s.hostile[c, d] and pr.personnel[q, d] > 0:
                    e = True
            enemy_here[q, c] = e
    live, gov_live = np.empty(n, dtype=np.bool_), np.zeros(nf, dtype=np.bool_)
    for r in range(n):
        live[r] = u.alive[r] and u.personnel[r] > 0
        if live[r] and s.government[u.faction[r]]:
            gov_live[u.faction[r]] = True
    # Where each of those factions is cut off (rows of other factions are not read).
    passable, cut = np.empty(n_places, dtype=np.bool_), np.empty((nf, n_places), dtype=np.bool_)
    supplied = np.zeros((nf, n_places), dtype=np.bool_)
    for f in range(nf):
        if gov_live[f]:
            c = s.coalition_of[f]
            for q in range(n_places):
                passable[q] = not s.hostile[c, held_by[q]] and not enemy_here[q, c]
            _cut_off_places(road_net, pl.value, passable, f, s, airlift_places, held_by, cut[f], supplied[f])
    cause = np.empty(n, dtype=np.bool_)
    for r in range(n):
        government = s.government[u.faction[r]]
        cut_off = live[r] and government and cut[u.faction[r], u.loc[r]]
        calm = not pr.battle[u.loc[r]] and not cut_off
        u.morale[r] = _morale_today(u.morale[r], u.base_morale[r], cut_off, pl.sympathy[u.loc[r]], government, calm,
                                    params)
        # No rout without a cause that day: a battle, being cut off, or a shock since the last check with the
        # enemy within a day's reach.
        near = threatened[u.loc[r], s.coalition_of[u.faction[r]]]
        cause[r] = pr.battle[u.loc[r]] or cut_off or (u.shocked[r] and near)
    rout_coalitions[:] = False
    breaks = np.empty(n, dtype=np.bool_)
    broken = np.zeros(n_places)  # personnel of the holder's side breaking at each place
    for r in range(n):
        # A garrison the air force supplies where the roads are cut stands: it has no road to run on.
        breaks[r] = live[r] and r < pr.here.size and pr.here[r] and not u.routing[r] \
            and u.morale[r] < rout_threshold and cause[r] and not supplied[u.faction[r], u.loc[r]]
        if breaks[r] and s.coalition_of[u.faction[r]] == held_by[u.loc[r]]:
            broken[u.loc[r]] += u.personnel[r]
    k = 0
    for r in range(n):
        q = u.loc[r]
        # A battle has one loser: where the holder's garrison breaks (half of it or more), its attackers hold on.
        if breaks[r] and not (pr.battle[q] and s.hostile[s.coalition_of[u.faction[r]], held_by[q]]
                              and 2.0 * broken[q] >= pr.personnel[q, held_by[q]] > 0):
            rout[k] = r
            rout_coalitions[s.coalition_of[u.faction[r]]] = True
            k += 1
        u.shocked[r] = False
    return k


@njit(cache=True)
def _cut_off_places(road_net: tuple, value: np.ndarray, passable: np.ndarray, faction: int, sides: Sides,
                    airlift_places: int, held_by: np.ndarray, cut: np.ndarray, supplied: np.ndarray) -> None:
    """The places a government ``faction`` is cut off at (``cut``): all but those its rear reaches by open roads
    (either way round) through ``passable`` places (all of them if it has no rear, or its rear is not
    passable): the places outside the rear's connected component, as ``World.components`` labels them. With an
    airlift, the ``airlift_places`` most valuable (``value``) of the places its coalition holds among them (the
    first, on a tie) are not cut off: Python's ``[:airlift_places]`` of the stable sort by decreasing value. Those
    of them besieged (every open road from them leads to a place that is not ``passable``) are marked in
    ``supplied``. ``road_net``: ``(ptr, to, is_open, back)``, the roads (see :class:`Roads`)."""
    ptr, to, is_open, back = road_net
    rear, airlift, coalition = sides.rear[faction], sides.airlift[faction], sides.coalition_of[faction]
    n = passable.size
    cut[:] = True
    if rear >= 0 and passable[rear]:
        queue = np.empty(n, dtype=np.int64)
        queue[0] = rear
        cut[rear] = False
        head, tail = 0, 1
        while head < tail:
            a = queue[head]
            head += 1
            for k in range(ptr[a], ptr[a + 1]):  # a's roads, in increasing b
                b = to[k]
                if cut[b] and passable[b] and (is_open[k] or (back[k] >= 0 and is_open[back[k]])):
                    cut[b] = False
                    queue[tail] = b
                    tail += 1
    if not airlift:
        return
    held = 0
    for q in range(n):
        if cut[q] and held_by[q] == coalition:
            held += 1
    k = airlift_places if airlift_places >= 0 else max(held + airlift_places, 0)
    taken = np.zeros(n, dtype=np.bool_)
    for _ in range(min(k, held)):
        best = -1
        for q in range(n):
            if not cut[q] or held_by[q] != coalition or taken[q]:
                continue
            # Sorted by -value (stable): a larger value first, NaN last, the lower index on a tie.
            if best < 0 or value[q] > value[best] or (value[best] != value[best] and value[q] == value[q]):
                best = q
        taken[best] = True
    for q in range(n):
        if taken[q]:
            # Supplied by air and besieged: every open road from it leads to a place its enemies hold or occupy.
            besieged = True
            for k in range(ptr[q], ptr[q + 1]):
                b = to[k]
                if passable[b] and (is_open[k] or (back[k] >= 0 and is_open[back[k]])):
                    besieged = False
                    break
            supplied[q] = besieged
    for q in range(n):
        if taken[q]:
            cut[q] = False


@njit(cache=True)
def _rout_destinations(coalition: int, rout: np.ndarray, units: Units, sides: Sides, around: tuple,
                       routes: RouteRows, roads: Roads, out: tuple) -> None:
    """For the routing units (rows ``rout``) of ``coalition``: where each makes for (``out``: ``(dest,
    reached, hop)``).

    ``around`` is ``(held_by, enemy_here, threat)``: the coalition holding each place, enemies of each
    coalition present there, whether enemies threaten each place (``threat_to(...) > 0``, see
    :func:`simulation.rules.orders.threatened`). The destination is the nearest place by its coalition's travel
    days (``routes``, read by row; the first on a tie) other than its own that the coalition holds, no farther
    from its faction's rear than where it stands (travel days to ``rear``), where no enemy is present
    and none threatens; else such a place where no enemy is present; else the same two without the rear
    (``hop`` stays -1). A unit
    with neither (it is inside a place its enemies hold: no route of its side leads out) falls back by the road
    it came by (``came_from``), or else by the shortest road out, to the first place its enemies neither hold
    nor occupy: ``hop``, its next place; ``dest`` is that place if its side holds it, else the nearest place of
    its side from there with no enemy present, else that place. ``reached`` is False where there is nowhere to
    go."""
    u, s, rd = unit_columns(units), side_columns(sides), Roads(*roads)
    held_by, enemy_here, threat = around
    dest, reached, hop = out
    n = held_by.size
    for i in range(rout.size):
        r = rout[i]
        if s.coalition_of[u.faction[r]] != coalition:
            continue
        here = u.loc[r]
        reached[i] = False
        rear = s.rear[u.faction[r]]
        days = forward_row(routes, here, np.inf)  # days from here
        to_rear = toward_row(routes, rear)[0] if rear >= 0 else days  # days to the rear (read if rear >= 0)
        for mode in range(4):  # calm and rearward; rearward; calm; anywhere with no enemy present
            calm_only, rearward = mode % 2 == 0, mode < 2 and rear >= 0
            best, top = -1, np.inf
            for q in range(n):
                if q == here or held_by[q] != coalition or enemy_here[q, coalition]:
                    continue
                if calm_only and threat[q] > 0:
                    continue
                if rearward and to_rear[q] > to_rear[here]:
                    continue
                if days[q] < top:
                    best, top = q, days[q]
            if best >= 0:
                dest[i], reached[i] = best, True
                break
        if reached[i]:
            continue
        # Inside an enemy's place: the way it came first, then the roads out, shortest first.
        out_roads = rd.ptr[here] + np.flatnonzero(rd.is_open[rd.ptr[here]:rd.ptr[here + 1]])  # in increasing end
        order = rd.to[out_roads[np.argsort(rd.km[out_roads], kind="mergesort")]]
        back = u.came_from[r]
        candidates = np.empty(order.size + 1, dtype=np.int64)
        m = 0
        if back >= 0 and road_open(rd.ptr, rd.to, rd.is_open, here, back):
            candidates[0] = back
            m = 1
        for q in order:
            candidates[m] = q
            m += 1
        for j in range(m):
            q = candidates[j]
            if s.hostile[coalition, held_by[q]] or enemy_here[q, coalition]:
                continue
            to = q
            if held_by[q] != coalition:
                top = np.inf
                from_q = forward_row(routes, q, np.inf)
                for v in range(n):
                    if v != here and held_by[v] == coalition and not enemy_here[v, coalition] and from_q[v] < top:
                        to, top = v, from_q[v]
            dest[i], reached[i], hop[i] = to, True, q
            break


@njit(cache=True)
def _settle_routs(rout: np.ndarray, deserters: np.ndarray, reached: np.ndarray, units: Units,
                  tally: Tally) -> None:
    """Routing units lose their ``deserters`` (to the ledger's ``deserted``); those with nowhere to go (not
    ``reached``) dissolve, all of them deserting (added to ``deserters``), the others start routing."""
    u, t = unit_columns(units), Tally(*tally)
    for i in range(rout.size):
        r = rout[i]
        u.personnel[r] -= deserters[i]
        t.ledger[DESERTED, u.faction[r]] += deserters[i]
    for i in range(rout.size):
        r = rout[i]
        if reached[i]:
            u.routing[r] = True
        else:
            t.ledger[DESERTED, u.faction[r]] += u.personnel[r]
            deserters[i] += u.personnel[r]
            u.personnel[r] = 0


@njit(cache=True)
def _fall_shock(falls: tuple, units: Units, n: int, coalition_of: np.ndarray, places: Places, kin: np.ndarray,
                distance_km: np.ndarray, params: tuple) -> None:
    """The day's falls (``falls``: ``(places, losing coalition, leaning kind)``) shake the losing
    coalitions' live units (rows ``0 .. n-1``) within ``radius`` km of a fall: each unit's morale is brought
    down to at most its base morale less the largest of

        shock * v / (1 + v) * min(1, v / max(value there, 1e-9)) * (1 - d / radius_floor)
              * (1 - base morale) ** hollow_power * 2 * leaning

    (``params``: ``(radius, radius_floor, shock, hollow_power, kin_weight)``, ``radius_floor = max(radius,
    1e-9)``; ``v``: the value of the fallen place; ``d``: the distance; ``leaning``, by the fall's leaning kind:
    0, the sympathy where the unit stands (an insurgent taker); 1, 1 - sympathy (a government or allied taker);
    2, ``(1 - kin_weight) * (1 - sympathy) + kin_weight * kin`` there (an opportunist taker)), clipped to 0-1,
    and, if that lowered it, the unit is ``shocked``."""
    u, pl = unit_columns(units), Places(*places)
    fallen, losing, leaning_kind = falls
    radius, radius_floor, shock, hollow_power, kin_weight = params
    for r in range(n):
        if not u.alive[r]:
            continue
        here = u.loc[r]
        worst = 0.0
        for i in range(fallen.size):
            if coalition_of[u.faction[r]] != losing[i]:
                continue
            d = distance_km[fallen[i], here]
            if not d <= radius:
                continue
            v = pl.value[fallen[i]]
            relative = np_minimum(1.0, v / np_maximum(pl.value[here], 1e-9))
            if leaning_kind[i] == 0:
                leaning = pl.sympathy[here]
            elif leaning_kind[i] == 1:
                leaning = 1.0 - pl.sympathy[here]
            else:
                leaning = (1.0 - kin_weight) * (1.0 - pl.sympathy[here]) + kin_weight * kin[here]
            s = shock * v / (1.0 + v) * relative * (1.0 - d / radius_floor) \
                * (1.0 - u.base_morale[r]) ** hollow_power * 2.0 * leaning
            if s > worst:
                worst = s
        # News does not add up: it brings a unit's morale down to at most its base morale less the worst news
        # so far; only worse news (a nearer or greater fall) lowers it again.
        if worst > 0.0 and u.base_morale[r] - worst < u.morale[r]:
            u.morale[r] = np_clip(u.base_morale[r] - worst, 0.0, 1.0)
            u.shocked[r] = True


@njit(cache=True)
def _cut_off_garrisons(road_net: tuple, value: np.ndarray, sides: Sides, personnel_c: np.ndarray,
                       held_by: np.ndarray, airlift_places: int, out: np.ndarray) -> None:
    """Into ``out`` (zeroed): the places held by each government faction's coalition that are cut off from its
    rear (see :func:`_cut_off_places`; passable: not held by an enemy of the coalition, no enemy present)."""
    s = side_columns(sides)
    nf, n, nc = s.coalition_of.size, held_by.size, s.hostile.shape[0]
    passable, cut, supplied = np.empty(n, dtype=np.bool_), np.empty(n, dtype=np.bool_), np.zeros(n, dtype=np.bool_)
    for f in range(nf):
        if not s.government[f]:
            continue
        c = s.coalition_of[f]
        for q in range(n):
            ok = not s.hostile[c, held_by[q]]
            for d in range(nc):
                if s.hostile[c, d] and personnel_c[q, d] > 0:
                    ok = False
            passable[q] = ok
        _cut_off_places(road_net, value, passable, f, s, airlift_places, held_by, cut, supplied)
        for q in range(n):
            if cut[q] and held_by[q] == c:
                out[q] = True


@njit(cache=True)
def _pressure(presence: Presence, holder: np.ndarray, hostile: np.ndarray, cut: np.ndarray, ratio: float,
              pressure_days: np.ndarray) -> int:
    """A garrison (the holder's effective strength present, ``own``, positive) is under pressure on a day of
    battle where the hostile effective strength there is at least ``ratio * own``, or when its place is ``cut``
    off: its ``pressure_days`` grow by one, else go back to 0. Returns how many places are under pressure."""
    pr = Presence(*presence)
    eff = pr.effective
    k = 0
    for q in range(holder.size):
        h = holder[q]
        own = eff[q, h]
        enemy = 0.0
        for c in range(eff.shape[1]):
            if hostile[h, c]:
                enemy += eff[q, c]
        pressed = own > 0 and ((pr.battle[q] and enemy >= ratio * own) or cut[q])
        if pressed:
            pressure_days[q] += 1
            k += 1
        else:
            pressure_days[q] = 0
    return k


@njit(cache=True)
def _lose_command(at: np.ndarray, holder: np.ndarray, units: Units, n: int, coalition_of: np.ndarray,
                  params: tuple) -> None:
    """The holder's live units at the places ``at`` (at the place, not on the road) lose ``shock * (1 - base
    morale) ** hollow_power`` of morale (``params``: ``(shock, hollow_power)``), clipped to 0-1, and are
    ``shocked``."""
    u = unit_columns(units)
    shock, hollow_power = params
    for r in range(n):
        here = u.loc[r]
        if u.alive[r] and u.next[r] < 0 and at[here] and coalition_of[u.faction[r]] == holder[here]:
            u.morale[r] = np_clip(u.morale[r] - shock * (1.0 - u.base_morale[r]) ** hollow_power, 0.0, 1.0)
            u.shocked[r] = True
