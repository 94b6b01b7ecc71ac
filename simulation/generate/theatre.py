"""``conflict-sim generate DIR --places N``: a synthetic theatre of any size, in the scenario format.

The theatre is invented, but built so that its statistics look like those of a real one (and of the Iraq
scenario, ``scenarios/iraq_june_2014``, from which several of its ratios are taken). Nothing in it is a real
place; every ``source`` cell says ``synthetic (conflict-sim generate, seed S)``. It is meant for measuring how
the model scales and for tests, not for drawing conclusions about a real war.

How it is built (``n`` places, ``L`` the side of the theatre in km):

* **Box.** A square of side ``L = 600 km * (n / 70) ** 0.25`` centred on 34 N 43 E, mapped to a lon/lat box
  (equirectangular about the centre's latitude). The Iraq scenario's 69 places lie in a box of about
  615 x 570 km; a larger theatre is both larger and denser (its area grows as ``sqrt(n)``, so the places per
  km2 grow as ``sqrt(n)`` too).
* **Places.** Settlements are 60 % clustered (Gaussian clusters of unequal weight, ``n / 15`` of them, at
  least 3) and 40 % scattered uniformly. Their populations follow the rank-size rule (Zipf's law for cities,
  exponent 1): ``population(rank r) = P1 / r``, times log-normal noise (sigma 0.25), with
  ``P1 = 2 million * (n / 100) ** 0.25``; the largest populations go to the places with the most neighbours
  (the centres of clusters). ``city`` >= 100,000 people, ``town`` >= 5,000, ``village`` below. The other kinds
  of the Iraq scenario come in numbers that grow more slowly than ``n`` (``s = n / 70``): border
  ``crossing``\\ s on the edge of the box (``4 s^0.3``), ``base``\\ s (``3 s^0.6``) and ``airport``\\ s
  (``s^0.6``) beside cities, ``refinery`` (1 per 5,000 places, at least 1) beside a town, ``dam``\\ s
  (``2 s^0.5``), ``checkpoint``\\ s (``2 s^0.5``) on the edge of the regional forces' zone; at most 30 % of
  the places are of these kinds.
* **Governorates.** Voronoi cells of ``0.8 sqrt(n)`` capitals: the largest settlements, kept apart by at least
  ``0.6 L / sqrt(k)``; each place belongs to its nearest capital's governorate, named after it.
* **Roads.** The Delaunay triangulation of the places (``scipy.spatial.Delaunay``), thinned: its minimum
  spanning tree (so the network is connected), plus the ``0.36 n`` shortest other Delaunay edges, shortness
  counted as ``great-circle km / local spacing / (0.2 + mean size of the ends)`` with log-normal noise (the
  spacing: the geometric mean of the shortest triangulation edge at either end; big places get more roads).
  That gives ``1.36 n`` roads, the Iraq scenario's ratio (94 roads, 69 places). A road between two major places
  (cities, towns of 50,000 or more, crossings, bases, airports, the refinery) is a ``highway``;
  otherwise a road of more than 100 km, or one to a village (three times in ten), is a ``desert track``; the
  rest are ``road``\\ s. Road km = great-circle km times the detour factor the Iraq scenario's roads have by
  kind (highway 1.10, road 1.15, desert track 1.25), times log-normal noise (sigma 0.02), rounded, >= 1.
* **Factions**, as in the Iraq scenario: a government with an air force, allied tribes, insurgents (mobility
  1.8), and opportunist regional forces, neutral to both, holding the governorates farthest in a random
  direction (about 12 % of the places) and claiming them and the places within ``0.08 L`` of them.
* **Sympathy** for the insurgents varies smoothly in space: a logistic function of a Gaussian bump centred on
  an insurgent heartland (``0.3 L`` from the centre, on the far side from the regional zone) plus eight random
  Gaussian bumps, minus a bump around the capital; low in the regional zone; plus noise (sigma 0.05) for local
  make-up. The insurgents hold the most sympathetic towns at the start (1.5 % of the places).
* **Forces**: ``1.5 n`` units by default, 60 % government, 20 % insurgent, 12 % regional, 8 % tribal. Each
  faction's units go first to its places by value (one each), then in proportion to value squared; insurgent
  units beyond their own places wait as sleeper cells where sympathy is high. Personnel grow with the place's
  population (a city garrison of ``1,500 (pop / 100,000)^0.6``), with present shares and morale lower where
  the population sympathises with the insurgents (the hollow garrisons of June 2014).
* **Events**: insurgent offensives governorate by governorate, outward from the heartland over the first half
  of the run (60 % of the governorates outside the regional zone are reached); government counter-offensives
  from 85 % of the run (and every 30 days after, in long runs); air sorties rising in three steps;
  reinforcements, volunteers and foreign fighters (0.2 per place per 30 days, as in the Iraq scenario);
  a morale shock in the first city attacked; the regional checkpoints closed on day 27 (and, in long runs,
  opened and closed again every 60 days).

The same arguments give byte-identical files (every random draw comes from one ``numpy.random.SeedSequence``
of ``seed``). The directory is written into a temporary sibling and renamed when complete.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MIN_PLACES, MAX_PLACES = 10, 100_000
MAX_UNITS = 1_000_000
MAX_DAYS = 3660  # as simulation.scenario.MAX_DAYS (not imported: generating needs neither NetworkX nor the loader)
MAX_SEED = 2**63 - 1
START = dt.date(2014, 6, 1)
CENTRE_LAT, CENTRE_LON = 34.0, 43.0
KM_PER_DEG_LAT = 111.2
EARTH_RADIUS_KM = 6371.0088
DETOUR = {"highway": 1.10, "road": 1.15, "desert track": 1.25}  # the Iraq scenario's road km / great-circle km
MARKER = "# Synthetic theatre written by `conflict-sim generate`"  # first line of scenario.toml
SPECIAL_KINDS = ("crossing", "refinery", "checkpoint", "base", "dam", "airport")
FACTIONS = ("government", "tribal", "insurgent", "regional")
UNIT_SHARES = {"government": 0.60, "insurgent": 0.20, "regional": 0.12, "tribal": 0.08}


class GenerateError(ValueError):
    """Bad arguments or an output directory that may not be written; ``str()`` is one line."""


def source(seed: int) -> str:
    """The ``source`` cell of every row of a theatre generated with ``seed``."""
    return f"synthetic (conflict-sim generate, seed {seed})"


# ---------------------------------------------------------------------------------------------------------
# The theatre, in memory


@dataclass
class Theatre:
    """A generated theatre: the place arrays, and the rows of every table."""

    n: int
    seed: int
    days: int
    ids: list[str]
    names: list[str]
    kind: list[str]
    governorate: list[str]
    lat: np.ndarray
    lon: np.ndarray
    population: np.ndarray
    controller: list[str]
    value: np.ndarray
    sympathy: np.ndarray
    fortification: np.ndarray
    refuge: np.ndarray
    roads: list[tuple[int, int, int, str]]  # (a, b, km, kind), a < b
    forces: list[tuple]  # (faction, place, personnel, quality, present_share, morale, low, high, unit)
    events: list[tuple]  # (day, kind, place id or "", faction, amount, note)
    claims: list[str]


def check_arguments(places: int, units: int | None, days: int, seed: int) -> None:
    """Raise :class:`GenerateError` (one line) unless the arguments are in range."""
    for name, v in (("--places", places), ("--units", units), ("--days", days), ("--seed", seed)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer))):
            raise GenerateError(f"{name} {v!r}: must be a whole number")
    if not MIN_PLACES <= places <= MAX_PLACES:
        raise GenerateError(f"--places {places}: must be between {MIN_PLACES} and {MAX_PLACES:,}")
    if units is not None and not 4 <= units <= MAX_UNITS:
        raise GenerateError(f"--units {units}: must be between 4 (one per faction) and {MAX_UNITS:,}")
    if not 1 <= days <= MAX_DAYS:
        raise GenerateError(f"--days {days}: must be between 1 and {MAX_DAYS}")
    if not 0 <= seed <= MAX_SEED:
        raise GenerateError(f"--seed {seed}: must be a whole number between 0 and 2**63 - 1")


def build_theatre(places: int, units: int | None = None, days: int = 30, seed: int = 1) -> Theatre:
    """Generate a theatre in memory (see the module's docstring for how)."""
    check_arguments(places, units, days, seed)
    n = int(places)
    m = int(round(1.5 * n)) if units is None else int(units)
    # One stream per stage, so that a change in one stage does not move the draws of the others.
    geo, pop_rng, name_rng, zone_rng, road_rng, force_rng, event_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(7))
    side = 600.0 * (n / 70) ** 0.25
    specials = special_counts(n)
    n_settle = n - sum(specials.values())

    # Settlements: positions (km on the plane), populations by rank, kinds.
    xy = _settlement_positions(geo, n_settle, side)
    pops = zipf_populations(pop_rng, n_settle, 2e6 * (n / 100) ** 0.25)
    order = _centrality_order(pop_rng, xy, side)
    population = np.empty(n_settle, dtype=np.int64)
    population[order] = pops
    kinds = np.where(population >= 100_000, "city", np.where(population >= 5_000, "town", "village")).tolist()
    names = _names(name_rng, n)

    # Specials (but checkpoints, placed once the regional zone is known), beside the settlements.
    xy_s, kind_s, name_s, pop_s = _special_places(geo, specials, xy, population, kinds, names[:n_settle], side)
    xy = np.vstack([xy, xy_s]) if len(xy_s) else xy
    kinds += kind_s
    names = names[:n_settle] + name_s + names[n_settle + len(name_s):]
    population = np.concatenate([population, np.asarray(pop_s, dtype=np.int64)])

    # Governorates and zones.
    capital = int(np.argmax(population))
    gov_capitals = _governorate_capitals(xy[:n_settle], population[:n_settle], side,
                                         min(max(3, round(0.8 * math.sqrt(n))), n_settle // 2))
    gov_of = _nearest(xy[gov_capitals], xy)
    regional_govs, heart = _zones(zone_rng, xy, gov_of, gov_capitals, capital, side)
    regional = np.isin(gov_of, regional_govs)

    # Checkpoints on the edge of the regional zone.
    xy_c, gov_c = _checkpoints(xy, regional, gov_of, specials["checkpoint"], side)
    k_c = len(xy_c)
    if k_c:
        xy = np.vstack([xy, xy_c])
        gov_of = np.concatenate([gov_of, gov_c])
        regional = np.concatenate([regional, np.ones(k_c, dtype=bool)])
        kinds += ["checkpoint"] * k_c
        base = n_settle + len(name_s)
        names[base:base + k_c] = [f"{names[base + i]} checkpoint" for i in range(k_c)]
        cp_pop = np.where(zone_rng.random(k_c) < 0.5, 0, np.round(zone_rng.uniform(500, 3000, k_c), -2))
        population = np.concatenate([population, cp_pop.astype(np.int64)])
    assert len(xy) == n and len(kinds) == n and len(names) == n
    names = _distinct(names)
    ids = _ids(names)
    gov_names = [names[c] for c in gov_capitals]

    lat, lon = _lat_lon(xy)
    # Rounded once: every distance is computed from the coordinates written.
    lat, lon = np.round(lat, 4), np.round(lon, 4)
    xy = _plane(lat, lon)

    sympathy = _sympathy(zone_rng, xy, heart, xy[capital], side, regional)
    kind_arr = np.array(kinds)
    settlement = np.isin(kind_arr, ("city", "town", "village"))
    controller = np.where(regional, "regional", "government").astype(object)
    held = _insurgent_held(sympathy, population, kind_arr, regional, capital, n)
    controller[held] = "insurgent"
    value, fortification, refuge = _worth(kind_arr, population, sympathy, regional, capital, settlement)
    claims_mask = regional | (_distance_to(xy, xy[regional]) < 0.08 * side)
    claims_mask[capital] = False

    roads = _roads(road_rng, xy, lat, lon, kind_arr, population)
    controller = controller.tolist()
    forces = _forces(force_rng, m, kind_arr, population, sympathy, value, controller, names, capital)
    events = _events(event_rng, n, days, ids, xy, gov_of, gov_capitals, regional_govs, heart, capital, kind_arr,
                     population, sympathy, value, controller, forces, side)
    return Theatre(n=n, seed=seed, days=days, ids=ids, names=names, kind=kinds,
                   governorate=[gov_names[g] for g in gov_of], lat=lat, lon=lon, population=population,
                   controller=controller, value=value, sympathy=sympathy, fortification=fortification,
                   refuge=refuge, roads=roads, forces=forces, events=events,
                   claims=[ids[i] for i in np.flatnonzero(claims_mask)])


def special_counts(n: int) -> dict[str, int]:
    """How many places of each special kind a theatre of ``n`` places has (see the module's docstring)."""
    s = n / 70
    counts = {"crossing": max(1, round(4 * s**0.3)), "refinery": 1 + n // 5000,
              "checkpoint": max(1, round(2 * s**0.5)), "base": max(1, round(3 * s**0.6)),
              "dam": round(2 * s**0.5), "airport": round(s**0.6)}
    least = {"crossing": 1, "refinery": 1, "checkpoint": 1}
    for kind in ("airport", "dam", "base", "checkpoint", "crossing", "refinery"):  # trimmed in this order
        while sum(counts.values()) > int(0.3 * n) and counts[kind] > least.get(kind, 0):
            counts[kind] -= 1
    return counts


def zipf_populations(rng: np.random.Generator, k: int, largest: float) -> np.ndarray:
    """``k`` populations by the rank-size rule, largest first: ``largest / rank`` times log-normal noise
    (sigma 0.25), sorted again, rounded (to 1,000 from 100,000 people, to 100 from 10,000, else to 10), >= 50."""
    pops = np.sort(largest / np.arange(1, k + 1) * rng.lognormal(0.0, 0.25, k))[::-1]
    step = np.where(pops >= 1e5, 1000, np.where(pops >= 1e4, 100, 10))
    return np.maximum(50, np.round(pops / step) * step).astype(np.int64)


def _settlement_positions(rng: np.random.Generator, k: int, side: float) -> np.ndarray:
    """``k`` points in the square [-side/2, side/2]^2: 60 % in Gaussian clusters, 40 % uniform."""
    half = side / 2
    n_clusters = max(3, k // 15)
    centres = rng.uniform(-0.45 * side, 0.45 * side, (n_clusters, 2))
    weight = rng.pareto(1.5, n_clusters) + 1.0  # clusters of unequal size
    spread = side * rng.uniform(0.015, 0.05, n_clusters)
    clustered = rng.random(k) < 0.6
    which = rng.choice(n_clusters, size=k, p=weight / weight.sum())
    pts = np.where(clustered[:, None], centres[which] + rng.normal(0, 1, (k, 2)) * spread[which, None],
                   rng.uniform(-half, half, (k, 2)))
    outside = np.abs(pts) > 0.99 * half
    pts[outside] = rng.uniform(-0.99 * half, 0.99 * half, int(outside.sum()))  # kept in the box, off its edge
    return pts


def _centrality_order(rng: np.random.Generator, xy: np.ndarray, side: float) -> np.ndarray:
    """Settlements from the most central (most neighbours within ``1.5 sqrt(area / k)``, with Gumbel noise) to
    the least: the order in which the populations, largest first, are handed out."""
    from scipy.spatial import cKDTree

    r = 1.5 * side / math.sqrt(len(xy))
    count = cKDTree(xy).query_ball_point(xy, r, return_length=True)
    score = np.log1p(count) + 0.7 * rng.gumbel(0.0, 1.0, len(xy))
    return np.argsort(-score, kind="stable")


_ONSETS = ["b", "d", "f", "h", "j", "k", "kh", "l", "m", "n", "q", "r", "s", "sh", "t", "z", "gh", "w", "y", ""]
_VOWELS = ["a", "i", "u", "aa", "ei", "ou", "a", "i"]
_CODAS = ["", "", "n", "r", "l", "m", "d", "sh", "k", "t"]
_PREFIXES = ["", "", "", "", "Al-", "Tel ", "Ain ", "Kafr ", "Bir ", "Umm "]


def _names(rng: np.random.Generator, k: int) -> list[str]:
    """``k`` distinct invented place names (syllables of an invented language; a number where two collide)."""
    draws = rng.integers(0, 1 << 30, size=(k, 8))
    out, seen = [], set()
    for row in draws.tolist():
        syllables = 2 + row[0] % 2
        word = "".join(_ONSETS[row[1 + i] % len(_ONSETS)] + _VOWELS[row[4 + i] % len(_VOWELS)]
                       for i in range(syllables)) + _CODAS[row[7] % len(_CODAS)]
        name = _PREFIXES[(row[7] >> 8) % len(_PREFIXES)] + word.capitalize()
        base, i = name, 2
        while name in seen:
            name, i = f"{base} {i}", i + 1
        seen.add(name)
        out.append(name)
    return out


def _distinct(names: list[str]) -> list[str]:
    """The names, a number added to the second and later of equal ones (two crossings named after one town)."""
    out, seen = [], set()
    for name in names:
        new, i = name, 2
        while new in seen:
            new, i = f"{name} {i}", i + 1
        seen.add(new)
        out.append(new)
    return out


def _ids(names: list[str]) -> list[str]:
    """Ids ``[a-z0-9_]+`` from the names, made unique with a number."""
    out, seen = [], set()
    for name in names:
        base = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "place"
        pid, i = base, 2
        while pid in seen:
            pid, i = f"{base}_{i}", i + 1
        seen.add(pid)
        out.append(pid)
    return out


def _special_places(rng: np.random.Generator, counts: dict[str, int], xy: np.ndarray, population: np.ndarray,
                    kinds: list[str], names: list[str], side: float
                    ) -> tuple[np.ndarray, list[str], list[str], list[int]]:
    """Crossings on the box's edge, bases and airports beside cities, the refinery beside a town, dams anywhere
    inside. Returns positions, kinds, names and populations (checkpoints are placed later)."""
    half = side / 2
    big = np.argsort(-population, kind="stable")
    out_xy, out_kind, out_name, out_pop = [], [], [], []

    def near(k: int, lo: float, hi: float, among: np.ndarray) -> list[tuple[np.ndarray, int]]:
        picks = among[rng.integers(0, len(among), k)] if len(among) else rng.integers(0, len(xy), k)
        angle, dist = rng.uniform(0, 2 * np.pi, k), rng.uniform(lo, hi, k) * side / 600
        pts = xy[picks] + np.c_[np.cos(angle), np.sin(angle)] * dist[:, None]
        return list(zip(np.clip(pts, -0.99 * half, 0.99 * half), picks.tolist()))

    for _ in range(counts["crossing"]):
        edge, t = int(rng.integers(0, 4)), rng.uniform(-0.9 * half, 0.9 * half)
        e = 0.995 * half
        p = np.array([(-e, t), (e, t), (t, -e), (t, e)][edge])
        near_town = int(np.argmin(((xy - p) ** 2).sum(axis=1)))
        out_xy.append(p), out_kind.append("crossing"), out_name.append(f"{names[near_town]} border crossing")
        out_pop.append(int(rng.choice([0, 0, 2000, 5000])))
    cities = big[: max(1, sum(k == "city" for k in kinds))]
    towns = np.array([i for i in big.tolist() if kinds[i] == "town"] or big[:1].tolist())
    for k, lo, hi, among, fmt in (("refinery", 5, 15, towns, "{} oil refinery"),
                                  ("base", 10, 40, cities, "Camp {}"),
                                  ("airport", 5, 20, cities, "{} airport")):
        for p, i in near(counts[k], lo, hi, among):
            out_xy.append(p), out_kind.append(k), out_name.append(fmt.format(names[i])), out_pop.append(0)
    for _ in range(counts["dam"]):
        p = rng.uniform(-0.9 * half, 0.9 * half, 2)
        i = int(np.argmin(((xy - p) ** 2).sum(axis=1)))
        out_xy.append(p), out_kind.append("dam"), out_name.append(f"{names[i]} Dam"), out_pop.append(0)
    # Names of specials are taken from settlements; the leftover generated names serve the checkpoints.
    return np.array(out_xy).reshape(-1, 2), out_kind, out_name, out_pop


def _governorate_capitals(xy: np.ndarray, population: np.ndarray, side: float, k: int) -> np.ndarray:
    """``k`` capitals: the largest settlements at least ``0.6 side / sqrt(k)`` apart (then the largest left)."""
    d_min2 = (0.6 * side / math.sqrt(k)) ** 2
    chosen: list[int] = []
    by_size = np.argsort(-population, kind="stable").tolist()
    for i in by_size:
        if len(chosen) == k:
            break
        if not chosen or (((xy[chosen] - xy[i]) ** 2).sum(axis=1) >= d_min2).all():
            chosen.append(i)
    for i in by_size:
        if len(chosen) == k:
            break
        if i not in chosen:
            chosen.append(i)
    return np.array(chosen, dtype=np.int64)


def _nearest(targets: np.ndarray, xy: np.ndarray) -> np.ndarray:
    from scipy.spatial import cKDTree

    return cKDTree(targets).query(xy)[1].astype(np.int64)


def _distance_to(xy: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Plane km from each point to the nearest of ``targets`` (inf if there are none)."""
    from scipy.spatial import cKDTree

    if len(targets) == 0:
        return np.full(len(xy), np.inf)
    return cKDTree(targets).query(xy)[0]


def _zones(rng: np.random.Generator, xy: np.ndarray, gov_of: np.ndarray, capitals: np.ndarray, capital: int,
           side: float) -> tuple[np.ndarray, np.ndarray]:
    """The regional forces' governorates (farthest in a random direction, about 12 % of the places; never the
    capital's) and the insurgent heartland's centre (``0.3 side`` from the centre, on the far side)."""
    theta = rng.uniform(0, 2 * np.pi)
    u = np.array([np.cos(theta), np.sin(theta)])
    order = np.argsort(-(xy[capitals] @ u), kind="stable")
    size = np.bincount(gov_of, minlength=len(capitals))
    chosen, total = [], 0
    for g in order.tolist():
        if total >= 0.12 * len(xy) or len(chosen) == len(capitals) - 1:
            break
        if g == gov_of[capital]:
            continue
        chosen.append(g)
        total += size[g]
    phi = theta + np.pi + rng.uniform(-np.pi / 3, np.pi / 3)
    heart = 0.3 * side * np.array([np.cos(phi), np.sin(phi)])
    return np.array(sorted(chosen), dtype=np.int64), heart


def _checkpoints(xy: np.ndarray, regional: np.ndarray, gov_of: np.ndarray, k: int, side: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """``k`` checkpoints on the regional zone's edge: 40 % of the way from the regional places nearest the rest
    toward their nearest place outside, at least ``0.15 side`` apart where possible."""
    from scipy.spatial import cKDTree

    inside, outside = np.flatnonzero(regional), np.flatnonzero(~regional)
    if k == 0 or len(inside) == 0 or len(outside) == 0:
        return np.zeros((0, 2)), np.zeros(0, dtype=np.int64)
    dist, j = cKDTree(xy[outside]).query(xy[inside])
    order = np.argsort(dist, kind="stable")
    picked: list[int] = []
    for o in order.tolist():
        if len(picked) == k:
            break
        if all(np.hypot(*(xy[inside[o]] - xy[inside[q]])) >= 0.15 * side for q in picked):
            picked.append(o)
    for o in order.tolist():
        if len(picked) == k:
            break
        if o not in picked:
            picked.append(o)
    a, b = xy[inside[picked]], xy[outside[j[picked]]]
    return a + 0.4 * (b - a), gov_of[inside[picked]]


def _lat_lon(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lat = CENTRE_LAT + xy[:, 1] / KM_PER_DEG_LAT
    lon = CENTRE_LON + xy[:, 0] / (KM_PER_DEG_LAT * math.cos(math.radians(CENTRE_LAT)))
    return lat, lon


def _plane(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    return np.c_[(lon - CENTRE_LON) * KM_PER_DEG_LAT * math.cos(math.radians(CENTRE_LAT)),
                 (lat - CENTRE_LAT) * KM_PER_DEG_LAT]


def great_circle_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Haversine distance: ``2 R asin(sqrt(sin^2(dlat/2) + cos lat1 cos lat2 sin^2(dlon/2)))``, R = 6371.0088 km."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(h, 1.0)))


def _sympathy(rng: np.random.Generator, xy: np.ndarray, heart: np.ndarray, capital: np.ndarray, side: float,
              regional: np.ndarray) -> np.ndarray:
    """``0.02 + 0.88 logistic(2 z)``, ``z`` = a bump of 2.2 on the heartland (sigma 0.25 side) + eight random
    bumps (height -0.8..0.8, sigma 0.06-0.15 side) - a bump of 2.5 on the capital (sigma 0.08 side) - 1, plus
    noise (sigma 0.05); in the regional zone ``0.03 + 0.15 s``; clipped to [0.02, 0.9], two decimals."""
    def bump(centre: np.ndarray, sigma: float) -> np.ndarray:
        return np.exp(-((xy - centre) ** 2).sum(axis=1) / (2 * sigma**2))

    z = 2.2 * bump(heart, 0.25 * side) - 2.5 * bump(capital, 0.08 * side) - 1.0
    for centre, height, sigma in zip(rng.uniform(-side / 2, side / 2, (8, 2)), rng.uniform(-0.8, 0.8, 8),
                                     side * rng.uniform(0.06, 0.15, 8)):
        z += height * bump(centre, sigma)
    s = 0.02 + 0.88 / (1 + np.exp(-2 * z)) + rng.normal(0, 0.05, len(xy))
    s = np.where(regional, 0.03 + 0.15 * s, s)
    return np.round(np.clip(s, 0.02, 0.9), 2)


def _insurgent_held(sympathy: np.ndarray, population: np.ndarray, kind: np.ndarray, regional: np.ndarray,
                    capital: int, n: int) -> np.ndarray:
    """The towns and cities the insurgents hold at the start: the most sympathetic (times log population)
    outside the regional zone and the capital, 1.5 % of the places (at least one)."""
    ok = np.isin(kind, ("city", "town")) & ~regional
    ok[capital] = False
    if not ok.any():
        ok = np.isin(kind, ("city", "town", "village")) & ~regional
        ok[capital] = False
    score = np.where(ok, sympathy * np.log(np.maximum(population, 2)), -np.inf)
    k = min(max(1, round(0.015 * n)), int(ok.sum()))
    return np.argsort(-score, kind="stable")[:k]


def _worth(kind: np.ndarray, population: np.ndarray, sympathy: np.ndarray, regional: np.ndarray, capital: int,
           settlement: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Value, fortification and refuge by kind and size (the Iraq scenario's scale: 1 = an ordinary town, the
    capital 10, the refinery 6, dams 4, crossings 3)."""
    pop = population.astype(float)
    top = math.log(max(pop.max(), 2e5))
    city_value = 2 + 8 * np.clip((np.log(np.maximum(pop, 1)) - math.log(1e5)) / (top - math.log(1e5)), 0, 1)
    value = np.select([kind == "city", kind == "town", kind == "village"],
                      [np.round(city_value, 1), np.where(pop >= 50_000, 2.0, 1.0), 0.5], 1.0)
    value = np.where(kind == "crossing", 3.0, value)
    value = np.where(kind == "refinery", 6.0, value)
    value = np.where(kind == "dam", 4.0, value)
    value = np.where(np.isin(kind, ("base", "airport")), 2.0, value)
    fort = np.select([kind == "refinery", kind == "base", kind == "dam", kind == "airport"], [2.5, 1.8, 1.5, 1.3], 1.0)
    fort = np.where((kind == "city") & (pop >= 300_000), 1.2, fort)
    fort = np.where((kind == "city") & (sympathy <= 0.1), 1.3, fort)  # shrine cities, the regional capital
    fort[capital] = 2.0
    refuge = np.zeros(len(kind))
    refuge = np.where(regional, np.where(kind == "city", 0.9, 0.6), refuge)
    refuge = np.where(~regional & (kind == "city") & (sympathy <= 0.15), 0.7, refuge)
    refuge[capital] = 0.5
    if regional.any():  # the regional capital: the zone's largest place
        rc = int(np.argmax(np.where(regional & settlement, pop, -1)))
        value[rc], refuge[rc] = max(value[rc], 5.0), 0.95
    return value, fort, refuge


def _roads(rng: np.random.Generator, xy: np.ndarray, lat: np.ndarray, lon: np.ndarray, kind: np.ndarray,
           population: np.ndarray) -> list[tuple[int, int, int, str]]:
    """The Delaunay triangulation thinned to its minimum spanning tree plus ``0.36 n`` short edges; kinds and km
    (see the module's docstring). Always connected."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components, minimum_spanning_tree
    from scipy.spatial import Delaunay, cKDTree

    n = len(xy)
    tri = Delaunay(xy)
    s = tri.simplices
    e = np.sort(np.vstack([s[:, [0, 1]], s[:, [1, 2]], s[:, [0, 2]]]), axis=1)
    # Points qhull left out (coincident or nearly so) join their nearest neighbour.
    lonely = np.setdiff1d(np.arange(n), e.ravel())
    if lonely.size:
        _, j = cKDTree(xy).query(xy[lonely], k=2)
        e = np.vstack([e, np.sort(np.c_[lonely, j[:, 1]], axis=1)])
    e = np.unique(e[e[:, 0] != e[:, 1]], axis=0)
    gc = great_circle_km(lat[e[:, 0]], lon[e[:, 0]], lat[e[:, 1]], lon[e[:, 1]])
    w = np.maximum(gc, 1e-3)  # a zero would drop the edge from the sparse matrix
    graph = coo_matrix((w, (e[:, 0], e[:, 1])), shape=(n, n)).tocsr()
    k, label = connected_components(graph, directed=False)
    if k > 1:  # not expected from a triangulation; join each part to the nearest point of another part
        extra = []
        for c in range(1, k):
            inside, outside = np.flatnonzero(label == c), np.flatnonzero(label != c)
            d, j = cKDTree(xy[outside]).query(xy[inside])
            a = int(np.argmin(d))
            extra.append(sorted((int(inside[a]), int(outside[j[a]]))))
        e = np.unique(np.vstack([e, np.array(extra)]), axis=0)
        gc = great_circle_km(lat[e[:, 0]], lon[e[:, 0]], lat[e[:, 1]], lon[e[:, 1]])
        w = np.maximum(gc, 1e-3)
        graph = coo_matrix((w, (e[:, 0], e[:, 1])), shape=(n, n)).tocsr()
    tree = minimum_spanning_tree(graph).tocoo()
    in_tree = set(zip(np.minimum(tree.row, tree.col).tolist(), np.maximum(tree.row, tree.col).tolist()))
    mask = np.array([(a, b) in in_tree for a, b in e.tolist()])
    # Sizes: 0-1 by log population (1000 people -> 0), specials by their importance.
    size = np.clip(np.log10(np.maximum(population, 1000)) - 3, 0, None) / max(np.log10(population.max()) - 3, 1)
    size = size + np.select([np.isin(kind, ("crossing", "base", "airport", "refinery")),
                             np.isin(kind, ("dam", "checkpoint"))], [0.6, 0.3], 0.0)
    # Lengths in units of the local spacing (the shortest triangulation edge at each end), so that loops are
    # spread over sparse and dense parts alike rather than all drawn inside the dense clusters.
    spacing = np.full(n, np.inf)
    np.minimum.at(spacing, e[:, 0], gc)
    np.minimum.at(spacing, e[:, 1], gc)
    spacing = np.maximum(spacing, 1.0)
    local = gc / np.sqrt(spacing[e[:, 0]] * spacing[e[:, 1]])
    score = local / (0.2 + (size[e[:, 0]] + size[e[:, 1]]) / 2) * rng.lognormal(0, 0.25, len(e))
    limit = 2.5 * np.quantile(gc[mask], 0.9)  # long hull edges of the triangulation are no roads
    candidates = np.flatnonzero(~mask & (gc <= limit))
    n_extra = min(len(candidates), max(0, round(1.36 * n) - (n - 1)))
    keep = mask.copy()
    keep[candidates[np.argsort(score[candidates], kind="stable")[:n_extra]]] = True
    e, gc = e[keep], gc[keep]

    pop = population
    major = (kind == "city") | ((kind == "town") & (pop >= 50_000)) | np.isin(
        kind, ("crossing", "base", "airport", "refinery"))
    village = (kind == "village")
    highway = major[e[:, 0]] & major[e[:, 1]]
    track = ~highway & ((gc > 100) | ((village[e[:, 0]] | village[e[:, 1]]) & (rng.random(len(e)) < 0.3)))
    kinds = np.where(highway, "highway", np.where(track, "desert track", "road"))
    factor = np.array([DETOUR[k] for k in kinds.tolist()])
    km = np.maximum(1, np.round(gc * factor * rng.lognormal(0, 0.02, len(e)))).astype(np.int64)
    return [(a, b, k, kd) for (a, b), k, kd in zip(e.tolist(), km.tolist(), kinds.tolist())]


def _share(total: int) -> dict[str, int]:
    """Units per faction: ``UNIT_SHARES`` of ``total`` (largest remainders), at least one each."""
    exact = {f: total * s for f, s in UNIT_SHARES.items()}
    out = {f: max(1, int(x)) for f, x in exact.items()}
    for f in sorted(exact, key=lambda f: -(exact[f] - int(exact[f]))):
        if sum(out.values()) >= total:
            break
        out[f] += 1
    while sum(out.values()) > total:
        out["government"] -= 1
    return out


def _round_to(x: np.ndarray, step: int, least: int) -> np.ndarray:
    return np.maximum(least, np.round(np.asarray(x, dtype=float) / step) * step).astype(np.int64)


def _spread(rng: np.random.Generator, places: np.ndarray, weight: np.ndarray, k: int) -> np.ndarray:
    """``k`` places for units: one each for the most valuable first, then drawn in proportion to ``weight``."""
    if k <= 0 or len(places) == 0:
        return np.zeros(0, dtype=np.int64)
    first = places[np.argsort(-weight, kind="stable")[:k]]
    rest = k - len(first)
    if rest <= 0:
        return first
    return np.concatenate([first, rng.choice(places, size=rest, p=weight / weight.sum())])


def _forces(rng: np.random.Generator, m: int, kind: np.ndarray, population: np.ndarray, sympathy: np.ndarray,
            value: np.ndarray, controller: list[str], names: list[str], capital: int) -> list[tuple]:
    """``m`` unit rows (see the module's docstring)."""
    counts = _share(m)
    ctrl = np.array(controller)
    pop = population.astype(float)
    rows: list[tuple] = []

    def add(faction: str, where: np.ndarray, personnel: np.ndarray, quality: np.ndarray, present: np.ndarray,
            morale: np.ndarray, label: Callable[[int], str]) -> None:
        personnel = _round_to(personnel * rng.lognormal(0, 0.35, len(where)), 50, 50)
        low = np.minimum(_round_to(0.6 * personnel, 50, 0), personnel)
        high = np.maximum(_round_to(1.8 * personnel, 50, 50), personnel)
        for p, k, q, s, mo, lo, hi in zip(where.tolist(), personnel.tolist(), np.round(quality, 2).tolist(),
                                          np.round(present, 2).tolist(), np.round(morale, 2).tolist(), low.tolist(),
                                          high.tolist()):
            rows.append((faction, p, k, q, s, mo, lo, hi, label(p)))

    # Government: garrisons by the size and kind of the place; hollow where people sympathise with insurgents.
    gov = np.flatnonzero(ctrl == "government")
    where = _spread(rng, gov, value[gov] ** 2, counts["government"])
    base = np.select([kind[where] == "city", kind[where] == "town", kind[where] == "village",
                      kind[where] == "base", kind[where] == "airport", kind[where] == "refinery"],
                     [1500 * (pop[where] / 1e5) ** 0.6, 300 * (pop[where] / 1e4) ** 0.4, 80.0, 3000.0, 500.0, 325.0],
                     300.0)
    quality = np.where(np.isin(kind[where], ("city", "base", "airport", "refinery")), 0.8, 0.6)
    present = np.clip(0.85 - 0.5 * sympathy[where] + rng.normal(0, 0.05, len(where)), 0.3, 0.95)
    morale = np.clip(0.75 - 0.5 * sympathy[where] + rng.normal(0, 0.05, len(where)), 0.3, 0.85)
    labels = {"city": "Army division", "town": "Local police", "village": "Local police", "base": "Base garrison",
              "airport": "Airfield garrison", "crossing": "Border guards", "refinery": "Refinery protection force",
              "dam": "Dam protection force"}
    first_at_capital = [True]

    def gov_label(p: int) -> str:
        if p == capital and first_at_capital[0]:
            first_at_capital[0] = False
            return f"Capital command ({names[p]})"
        return f"{labels.get(str(kind[p]), 'Garrison')} ({names[p]})"

    add("government", where, base, quality, present, morale, gov_label)

    # Insurgents: main forces in the places they hold, a quarter of the rest staging in sympathetic villages and
    # crossings, the others sleeper cells in sympathetic government-held places.
    k = counts["insurgent"]
    held = np.flatnonzero(ctrl == "insurgent")
    main = held[:k]
    rest = k - len(main)
    sympathetic = np.flatnonzero((ctrl == "government") & (sympathy >= 0.5))
    if sympathetic.size == 0:
        sympathetic = np.flatnonzero(ctrl == "government")
    stage_pool = sympathetic[np.isin(kind[sympathetic], ("village", "crossing"))]
    n_stage = min(rest // 4, len(stage_pool) * 3) if len(stage_pool) else 0
    stage = rng.choice(stage_pool, size=n_stage, p=_norm(sympathy[stage_pool] ** 4)) if n_stage else main[:0]
    cells = rng.choice(sympathetic, size=rest - n_stage,
                       p=_norm(sympathy[sympathetic] ** 4 * np.sqrt(pop[sympathetic] + 100)))
    for group, med, q, label in ((main, 2000.0, 1.25, "Insurgent main force"), (stage, 700.0, 1.2, "Assault group"),
                                 (cells, 300.0, 1.05, "Clandestine network")):
        if len(group):
            add("insurgent", group, np.full(len(group), med), np.full(len(group), q), np.ones(len(group)),
                np.clip(rng.normal(0.86, 0.02, len(group)), 0.8, 0.9), lambda p, label=label: f"{label} ({names[p]})")

    # Tribes: in government-held places of middling sympathy.
    tribal_pool = np.flatnonzero((ctrl == "government") & (sympathy >= 0.4) & (sympathy <= 0.8))
    if tribal_pool.size == 0:
        tribal_pool = np.flatnonzero(ctrl == "government")
    where = _spread(rng, tribal_pool, value[tribal_pool], counts["tribal"])
    add("tribal", where, np.full(len(where), 400.0), np.full(len(where), 0.8),
        rng.uniform(0.85, 0.9, len(where)), rng.uniform(0.75, 0.85, len(where)),
        lambda p: f"Tribal fighters ({names[p]})")

    # Regional forces: in their zone, by value.
    reg = np.flatnonzero(ctrl == "regional")
    if reg.size == 0:  # no regional zone: they keep to the government's least sympathetic places
        reg = np.argsort(sympathy, kind="stable")[:1]
    where = _spread(rng, reg, value[reg] ** 2, counts["regional"])
    size = np.select([kind[where] == "city", kind[where] == "town"], [2000 * (pop[where] / 1e5) ** 0.5, 1500.0], 800.0)
    add("regional", where, size, np.ones(len(where)), np.full(len(where), 0.8), np.full(len(where), 0.8),
        lambda p: f"Regional forces ({names[p]})")
    return rows


def _norm(w: np.ndarray) -> np.ndarray:
    w = np.asarray(w, dtype=float)
    return w / w.sum() if w.sum() > 0 else np.full(len(w), 1.0 / len(w))


def _events(rng: np.random.Generator, n: int, days: int, ids: list[str], xy: np.ndarray, gov_of: np.ndarray,
            capitals: np.ndarray, regional_govs: np.ndarray, heart: np.ndarray, capital: int, kind: np.ndarray,
            population: np.ndarray, sympathy: np.ndarray, value: np.ndarray, controller: list[str],
            forces: list[tuple], side: float) -> list[tuple]:
    """Scripted events as ``(day, kind, place, faction, amount, note)`` (see the module's docstring)."""
    out: list[tuple] = []
    last = days - 1

    def day(d: float) -> int:
        return int(min(max(round(d), 0), last))

    ctrl = np.array(controller)
    # Insurgent offensives: governorates outside the regional zone, nearest the heartland first.
    govs = [g for g in range(len(capitals)) if g not in set(regional_govs.tolist())]
    dist = np.array([np.hypot(*(xy[capitals[g]] - heart)) for g in govs])
    order = [govs[i] for i in np.argsort(dist, kind="stable")]
    reached = order[: max(1, round(0.6 * len(order)))]
    held_govs = {int(gov_of[i]) for i in np.flatnonzero(ctrl == "insurgent")}
    start = {}
    for r, g in enumerate(reached):
        d = 3 if g in held_govs or r == 0 else 3 + (r / len(reached)) * 0.5 * days
        start[g] = day(d)
        out.append((start[g], "offensive", ids[capitals[g]], "insurgent", 1, "insurgent offensive begins"))
    # Government counter-offensives: from 85 % of the run, the governorates reached, nearest the capital first;
    # one more every 30 days in a long run.
    by_capital = sorted(reached, key=lambda g: np.hypot(*(xy[capitals[g]] - xy[capital])))
    first = 0.85 * days if days <= 60 else 0.85 * 30
    for i, g in enumerate(by_capital):
        d = first + 30 * i
        if d > last:
            break
        out.append((day(d), "offensive", ids[capitals[g]], "government", 1, "government counter-offensive"))
    # Air sorties in three steps.
    s1 = max(1, round(5 * math.sqrt(n / 70)))
    for d, amount in ((4, s1), (11, 3 * s1), (19, 6 * s1)):
        if d <= last:
            out.append((d, "air_sorties", "", "government", min(amount, 10_000), "air campaign"))
    # A morale shock in the first city attacked.
    g0 = reached[0]
    gov_cities = np.flatnonzero((gov_of == g0) & (ctrl == "government") & np.isin(kind, ("city", "town")))
    gov_cities = gov_cities[gov_cities != capital]  # a provincial city, as Mosul was; the capital holds
    if gov_cities.size and start[g0] + 6 <= last:
        p = int(gov_cities[np.argmax(population[gov_cities])])
        out.append((start[g0] + 6, "morale_shock", ids[p], "government", 0.35, "commanders leave"))
    # Reinforcements (army), mobilisation (volunteers: government and tribal), foreign fighters (insurgents).
    total = min(100_000, max(2, round(0.2 * n * days / 30)))
    lo = min(4, last)
    near_front = np.exp(-np.hypot(*(xy - heart).T) / (0.3 * side))  # army reinforcements go toward the front
    gov_places = np.flatnonzero((ctrl == "government") & np.isin(kind, ("city", "town", "base")))
    if gov_places.size == 0:
        gov_places = np.flatnonzero(ctrl == "government")
    loyal = gov_places[sympathy[gov_places] <= 0.3]
    if loyal.size == 0:
        loyal = gov_places
    tribal_places = np.array(sorted({f[1] for f in forces if f[0] == "tribal"}), dtype=np.int64)
    crossings = np.flatnonzero(kind == "crossing")
    kinds = rng.choice(4, size=total, p=[0.4, 0.4, 0.1, 0.1])
    when = np.sort(rng.integers(lo, last + 1, size=total))
    for d, k in zip(when.tolist(), kinds.tolist()):
        if k == 0 and gov_places.size:
            p = int(rng.choice(gov_places, p=_norm(value[gov_places] * near_front[gov_places])))
            out.append((d, "reinforcement", ids[p], "government", int(_round_to(rng.uniform(500, 2000), 50, 50)),
                        "army reinforcements"))
        elif k == 1 and loyal.size:
            p = int(rng.choice(loyal, p=_norm(value[loyal] ** 2)))
            out.append((d, "mobilisation", ids[p], "government", int(_round_to(rng.uniform(1000, 3000), 100, 100)),
                        "volunteers"))
        elif k == 2 and tribal_places.size:
            p = int(rng.choice(tribal_places))
            out.append((d, "mobilisation", ids[p], "tribal", int(_round_to(rng.uniform(100, 500), 50, 50)),
                        "tribal volunteers"))
        elif k == 3 and crossings.size:
            p = int(rng.choice(crossings, p=_norm(near_front[crossings])))
            if int(gov_of[p]) in start and start[int(gov_of[p])] <= d:
                out.append((d, "reinforcement", ids[p], "insurgent", int(_round_to(rng.uniform(200, 800), 50, 50)),
                            "foreign fighters"))
    # Regional checkpoints close to the displaced on day 27 (opened and closed every 60 days after).
    checkpoints = [ids[i] for i in np.flatnonzero(kind == "checkpoint")]
    d, closing = min(27, last), True
    while d <= last:
        for c in checkpoints:
            out.append((d, "checkpoint_closed" if closing else "checkpoint_opened", c, "", 0,
                        "regional forces close the checkpoint" if closing else "the checkpoint reopens"))
        d, closing = d + 60, not closing
    order_of = {k: i for i, k in enumerate(("offensive", "air_sorties", "morale_shock", "reinforcement",
                                            "mobilisation", "checkpoint_closed", "checkpoint_opened"))}
    return sorted(out, key=lambda e: (e[0], order_of[e[1]], e[2], e[3]))


# ---------------------------------------------------------------------------------------------------------
# Writing


def _fmt(x: float) -> str:
    """Numbers as the Iraq scenario writes them: whole numbers without a decimal point, else up to 4 decimals."""
    return str(int(x)) if float(x) == int(x) else f"{x:.4f}".rstrip("0")


def render(t: Theatre) -> dict[str, str]:
    """The files of a theatre, by name, as text."""
    src = source(t.seed)

    def table(header: list[str], rows: Any) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
        return buf.getvalue()

    files = {}
    files["places.csv"] = table(
        ["id", "name", "kind", "governorate", "lat", "lon", "population", "controller", "value", "sympathy",
         "fortification", "refuge", "source"],
        ([t.ids[i], t.names[i], t.kind[i], t.governorate[i], f"{t.lat[i]:.4f}", f"{t.lon[i]:.4f}",
          int(t.population[i]), t.controller[i], _fmt(t.value[i]), _fmt(t.sympathy[i]), _fmt(t.fortification[i]),
          _fmt(t.refuge[i]), src] for i in range(t.n)))
    files["roads.csv"] = table(["from", "to", "km", "kind", "source"],
                               ([t.ids[a], t.ids[b], km, kind, src] for a, b, km, kind in t.roads))
    files["forces.csv"] = table(
        ["faction", "place", "personnel", "quality", "present_share", "morale", "personnel_low", "personnel_high",
         "unit", "source"],
        ([f, t.ids[p], n, _fmt(q), _fmt(s), _fmt(m), lo, hi, unit, src]
         for f, p, n, q, s, m, lo, hi, unit in t.forces))
    files["events.csv"] = table(
        ["date", "kind", "place", "faction", "amount", "note", "source"],
        ([(START + dt.timedelta(days=d)).isoformat(), k, p, f, _fmt(a), note, src]
         for d, k, p, f, a, note in t.events))
    files["scenario.toml"] = _toml(t)
    files["README.md"] = _readme(t)
    return files


def _toml(t: Theatre) -> str:
    end = START + dt.timedelta(days=t.days - 1)
    claims = ",\n".join("  " + ", ".join(f'"{c}"' for c in t.claims[i:i + 8]) for i in range(0, len(t.claims), 8))
    return f"""{MARKER} (seed {t.seed}).
# Invented places, roads, forces and events: not a real theatre. See README.md beside this file.
[scenario]
name = "synthetic_{t.n}_seed{t.seed}"
description = "{t.n} invented places, {len(t.forces)} units, {t.days} days (conflict-sim generate, seed {t.seed})"
start_date = {START.isoformat()}
end_date = {end.isoformat()}

[[factions]]
id = "government"
name = "Government forces"
colour = "#1f77b4"
doctrine = "government"
mobility = 1.0
air_force = true

[[factions]]
id = "tribal"
name = "Tribal allies"
colour = "#2ca02c"
doctrine = "tribal"
mobility = 1.0

[[factions]]
id = "insurgent"
name = "Insurgents"
colour = "#222222"
doctrine = "insurgent"
mobility = 1.8   # as in the Iraq scenario (pickups on desert roads)

[[factions]]
id = "regional"
name = "Regional forces"
colour = "#ff7f0e"
doctrine = "opportunist"
mobility = 1.0
# Their zone and the places within 0.08 of the theatre's side of it.
claims = [
{claims}
]

[relations]
allied = [["government", "tribal"]]
neutral = [["government", "regional"], ["tribal", "regional"]]

[parameters]
# The Iraq scenario's uncalibrated starting values (scenarios/iraq_june_2014/scenario.toml).
attack_ratio = 0.6
rout_threshold = 0.35
"""


def _readme(t: Theatre) -> str:
    kinds = {k: t.kind.count(k) for k in ("city", "town", "village", *SPECIAL_KINDS)}
    return (f"# Synthetic theatre: {t.n} places (seed {t.seed})\n\n"
            f"Written by `conflict-sim generate --places {t.n} --units {len(t.forces)} --days {t.days} "
            f"--seed {t.seed}`. Every place, road, unit and event is invented; every `source` cell says "
            f"`{source(t.seed)}`. How it is built, and which ratios come from the Iraq scenario: the docstring of "
            "`simulation/generate.py`.\n\n"
            f"- places: {t.n} ({', '.join(f'{v} {k}' for k, v in kinds.items() if v)}), "
            f"{int(t.population.sum()):,} people\n"
            f"- roads: {len(t.roads)}\n- units: {len(t.forces)}\n- events: {len(t.events)}\n"
            f"- governorates: {len(set(t.governorate))}\n")


def generate_theatre(out_dir: str | Path, places: int, units: int | None = None, days: int = 30, seed: int = 1,
                     force: bool = False) -> Path:
    """Write a synthetic theatre of ``places`` places to ``out_dir``; return its path.

    ``units`` defaults to ``round(1.5 * places)``. The directory is written into a temporary sibling and renamed
    when complete. ``out_dir`` must not exist, unless ``force``: then it may be replaced if it is empty or was
    written by this generator (never another directory).

    Raises
    ------
    GenerateError
        An argument is out of range, or ``out_dir`` may not be written (one line).
    """
    check_arguments(places, units, days, seed)
    out = Path(out_dir)
    _check_target(out, force)
    files = render(build_theatre(places, units, days, seed))
    return _write_atomically(out, files)


def _check_target(out: Path, force: bool) -> None:
    if not (out.exists() or out.is_symlink()):
        return
    if not force:
        raise GenerateError(f"{out}: exists (choose another directory or pass --force)")
    if out.is_symlink() or not out.is_dir():
        raise GenerateError(f"{out}: exists and is not a directory; --force replaces only a generated theatre")
    if Path.cwd().resolve().is_relative_to(out.resolve()):
        raise GenerateError(f"{out}: --force would delete the working directory; choose another directory")
    toml = out / "scenario.toml"
    generated = toml.is_file() and toml.read_text(encoding="utf-8", errors="replace").startswith(MARKER)
    if any(out.iterdir()) and not generated:
        raise GenerateError(f"{out}: is not a theatre written by `conflict-sim generate`; --force replaces only "
                            "such a directory")


def _write_atomically(out: Path, files: dict[str, str]) -> Path:
    """Write ``files`` into ``out`` as one step (:func:`simulation.runs.directories.atomic_directory`): a failed
    or interrupted write leaves the old directory, or nothing, behind."""
    from simulation.errors import OutputError
    from simulation.runs.directories import atomic_directory

    try:
        with atomic_directory(out, overwrite=True) as tmp:
            for name, text in files.items():
                (tmp / name).write_text(text, encoding="utf-8", newline="")
    except OutputError as e:
        raise GenerateError(str(e)) from None
    return out


