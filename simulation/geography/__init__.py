"""The theatre's base map: countries, Iraq's governorates, rivers and lakes, from a small file shipped here.

``natural_earth.json`` (about 50 kB) is derived once by ``scripts/derive_geography.py`` from Natural Earth (borders,
governorates) and GSHHG (rivers, lakes); ``SOURCE.md`` beside it gives the sources, versions, licences and the
command. Nothing is downloaded and no GIS package is imported: the layers are plain lon/lat arrays.

* :func:`load` returns the layers, each a tuple of :class:`Feature` (a name and its rings or lines);
* :func:`contains` and :func:`distance_km` answer where a point lies;
* :func:`draw_basemap` draws the layers on a matplotlib axes and returns the legend's handles;
* :func:`greedy_boxes` and :func:`place_labels` put labels where they overlap neither each other nor the marks;
* :func:`svg_basemap` gives the layers as SVG paths for the app's map.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

DATA = Path(__file__).with_name("natural_earth.json")
LAYERS = ("countries", "governorates", "lakes", "rivers")
KM_PER_DEG = 111.195  # km per degree of latitude (mean Earth radius 6371.0 km x pi / 180)

WATER = "#d6e6f2"
IRAQ_LAND = "#fbf9f3"
OTHER_LAND = "#ece8de"
BORDER = "#555555"
GOVERNORATE = "#a0a0a0"
RIVER = "#3d7fd1"
LAKE_EDGE = "#86aed8"
COUNTRY_TEXT = "#8a8a8a"
HOME = "IRQ"  # the country drawn lighter, whose governorates are drawn

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 with x0 <= x1, y0 <= y1


@dataclass(frozen=True)
class Feature:
    """A named feature: polygons' rings (countries, governorates, lakes) or lines (rivers), each an (n, 2) lon/lat
    array. ``code`` is the ISO 3166 alpha-3 code of a country, or of the country a governorate is in."""

    name: str
    parts: tuple[np.ndarray, ...]
    code: str = ""


@functools.cache
def load(path: str | None = None) -> dict[str, tuple[Feature, ...]]:
    """The layers of the base map (``countries``, ``governorates``, ``lakes``, ``rivers``), read once.

    Raises
    ------
    ValueError
        The file is not a base map of this format (its message names the file).
    """
    src = Path(path) if path else DATA
    try:
        raw = json.loads(src.read_text(encoding="utf-8"))
        out = {}
        for layer in LAYERS:
            out[layer] = tuple(
                Feature(f["name"], tuple(np.asarray(p, dtype=float).reshape(-1, 2)
                                         for p in f.get("rings", f.get("lines", []))),
                        f.get("iso_a3", f.get("country", "")))
                for f in raw["layers"][layer])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{src}: not a base map file ({exc})") from exc
    return out


@functools.cache
def extent(path: str | None = None) -> tuple[float, float, float, float]:
    """The box the base map covers, (lon min, lat min, lon max, lat max): outside it nothing is known."""
    src = Path(path) if path else DATA
    try:
        x0, y0, x1, y1 = (float(v) for v in json.loads(src.read_text(encoding="utf-8"))["bbox"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{src}: not a base map file ({exc})") from exc
    return x0, y0, x1, y1


def feature(layer: str, name: str) -> Feature:
    """The feature of ``layer`` called ``name`` (or with that ISO code). Raises KeyError if there is none."""
    for f in load()[layer]:
        if name in (f.name, f.code):
            return f
    raise KeyError(f"no {name!r} in the base map's {layer}")


def contains_points(f: Feature, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Whether each point lies inside the polygon ``f`` (even-odd rule over all its rings, so holes count)."""
    lon, lat = np.asarray(lon, dtype=float).ravel(), np.asarray(lat, dtype=float).ravel()
    inside = np.zeros(lon.shape, dtype=bool)
    for ring in f.parts:
        x1, y1 = ring[:, 0], ring[:, 1]
        x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
        spans = (y1[None, :] > lat[:, None]) != (y2[None, :] > lat[:, None])
        with np.errstate(divide="ignore", invalid="ignore"):
            x_cross = x1 + (lat[:, None] - y1) * (x2 - x1) / (y2 - y1)
        inside ^= (np.count_nonzero(spans & (lon[:, None] < x_cross), axis=1) % 2).astype(bool)
    return inside


def contains(f: Feature, lon: float, lat: float) -> bool:
    """Whether the point (``lon``, ``lat``) lies inside the polygon ``f``."""
    return bool(contains_points(f, np.array([lon]), np.array([lat]))[0])


def distance_km(f: Feature, lon: float, lat: float) -> float:
    """The distance in km from the point to the nearest ring or line of ``f``.

    On the local equirectangular plane: x = lon cos(lat0), y = lat, 1 degree = ``KM_PER_DEG`` km; the distance to
    a segment AB is |AP - t AB| with t = clip(AP.AB / |AB|^2, 0, 1).
    """
    k = math.cos(math.radians(lat))
    best = math.inf
    for part in f.parts:
        a = np.column_stack(((part[:-1, 0] - lon) * k, part[:-1, 1] - lat))
        b = np.column_stack(((part[1:, 0] - lon) * k, part[1:, 1] - lat))
        ab = b - a
        t = np.clip(-(a * ab).sum(axis=1) / np.maximum((ab * ab).sum(axis=1), 1e-18), 0.0, 1.0)
        d = np.hypot(*(a + t[:, None] * ab).T)
        best = min(best, float(d.min()) if len(d) else math.inf)
    return best * KM_PER_DEG


# ---------------------------------------------------------------------------------------------------------
# matplotlib


def aspect(bbox: Sequence[float]) -> float:
    """The y/x aspect that makes a degree of longitude as long as it is at the box's middle latitude: 1/cos(lat)."""
    return 1.0 / math.cos(math.radians((bbox[1] + bbox[3]) / 2))


#: label_point's answers by country, box and places to avoid (the same on each map of a report).
_LABEL_POINTS: dict[tuple[Any, ...], tuple[float, float] | None] = {}


def draw_basemap(ax: Any, bbox: Sequence[float], *, country_labels: bool = True,
                 avoid: np.ndarray | None = None) -> dict[str, Any]:
    """Draw sea, countries (Iraq lighter), lakes, governorate lines, rivers and borders on ``ax``, within ``bbox``.

    ``bbox`` is (lon min, lat min, lon max, lat max); the axes get those limits, a true-shape aspect
    (:func:`aspect`) and longitude/latitude labels in degrees. Country names go where the country's visible part
    is widest, away from the points ``avoid`` ((n, 2) lon/lat, e.g. the places drawn on top).

    Returns
    -------
    dict with ``handles`` (legend handles of the base map's marks), ``borders`` (the border line artists),
    ``labels`` (the country name artists) and ``rivers`` (name: line artist).
    """
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle

    layers = load()
    x0, y0, x1, y1 = bbox
    e = extent()
    ax.add_patch(Rectangle((e[0], e[1]), e[2] - e[0], e[3] - e[1], facecolor=WATER, edgecolor="none", zorder=0.05))
    countries = layers["countries"]
    fills = PolyCollection([r for c in countries for r in c.parts],
                           facecolors=[IRAQ_LAND if c.code == HOME else OTHER_LAND for c in countries
                                       for _ in c.parts], edgecolors="none", zorder=0.1)
    ax.add_collection(fills)
    ax.add_collection(PolyCollection([r for lake in layers["lakes"] for r in lake.parts], facecolors=WATER,
                                     edgecolors=LAKE_EDGE, linewidths=0.4, zorder=0.2))
    ax.add_collection(LineCollection([r for g in layers["governorates"] for r in g.parts], colors=GOVERNORATE,
                                     linewidths=0.5, linestyles=(0, (4, 2)), zorder=0.3))
    rivers = {}
    for r in layers["rivers"]:
        rivers[r.name] = ax.add_collection(LineCollection(list(r.parts), colors=RIVER, linewidths=1.3,
                                                          zorder=0.4, capstyle="round"))
    borders = [ax.add_collection(LineCollection(list(c.parts), colors=BORDER, linewidths=1.0, zorder=0.5))
               for c in countries]
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect(aspect(bbox), adjustable="box")
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:g}°")
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:g}°")
    labels = []
    if country_labels:
        for c in countries:
            key = (c.name, tuple(float(v) for v in bbox), None if avoid is None else np.asarray(avoid).tobytes())
            if key not in _LABEL_POINTS:  # the report's two maps, a grid search each (the slowest of the base map)
                if len(_LABEL_POINTS) >= 64:
                    _LABEL_POINTS.clear()
                _LABEL_POINTS[key] = label_point(c, bbox, avoid)
            at = _LABEL_POINTS[key]
            if at is not None:
                labels.append(ax.text(at[0], at[1], c.name.upper(), ha="center", va="center", fontsize=8.5,
                                      color=COUNTRY_TEXT, fontweight="bold", zorder=0.6))
    handles = [Line2D([], [], color=BORDER, lw=1.0, label="international border or coast"),
               Line2D([], [], color=GOVERNORATE, lw=0.8, ls=(0, (4, 2)), label="governorate boundary (Iraq)"),
               Line2D([], [], color=RIVER, lw=1.3, label="river (Tigris, Euphrates and tributaries)"),
               Patch(facecolor=WATER, edgecolor=LAKE_EDGE, lw=0.4, label="lake, reservoir or sea")]
    return {"handles": handles, "borders": borders, "labels": labels, "rivers": rivers}


def label_point(f: Feature, bbox: Sequence[float], avoid: np.ndarray | None = None,
                min_clearance: float = 0.35, grid: int = 48) -> tuple[float, float] | None:
    """Where to write the name of the polygon ``f`` inside ``bbox``: the point of a grid over the box, inside ``f``,
    farthest from ``f``'s edge, the box's edge and the points ``avoid`` (clearance in degrees, lon scaled by
    cos(lat); a distance to ``avoid`` counts as distance / 0.6, so a name may come closer to a place than to a
    border); None when the best clearance is under ``min_clearance`` (only a sliver of ``f`` is in view)."""
    x0, y0, x1, y1 = bbox
    k = 1.0 / aspect(bbox)
    gx, gy = np.meshgrid(np.linspace(x0, x1, grid), np.linspace(y0, y1, grid))
    gx, gy = gx.ravel(), gy.ravel()
    inside = contains_points(f, gx, gy)
    if not inside.any():
        return None
    gx, gy = gx[inside], gy[inside]
    clear = np.minimum.reduce([(gx - x0) * k, (x1 - gx) * k, gy - y0, y1 - gy])
    edge = np.concatenate([np.linspace(p[:-1], p[1:], 4, endpoint=False, axis=1).reshape(-1, 2) for p in f.parts])
    for pts, weight in ((edge, 1.0), (avoid, 0.6)):
        if pts is None or not len(pts):
            continue
        d = np.hypot((gx[:, None] - pts[None, :, 0]) * k, gy[:, None] - pts[None, :, 1]).min(axis=1)
        clear = np.minimum(clear, d / weight)
    i = int(np.argmax(clear))
    return (float(gx[i]), float(gy[i])) if clear[i] >= min_clearance else None


def greedy_boxes(candidates: Sequence[Sequence[Box]], obstacles: Sequence[Box], bounds: Box,
                 pad: float = 1.0) -> list[int | None]:
    """For each label in turn (most important first), the index of its first candidate box that lies inside
    ``bounds`` and overlaps neither an obstacle nor a box already chosen (boxes grown by ``pad``); None if none.

    Two boxes overlap when a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1.
    """
    taken = np.asarray(list(obstacles), dtype=float).reshape(-1, 4)
    chosen: list[int | None] = []
    bx0, by0, bx1, by1 = bounds
    for boxes in candidates:
        pick = None
        for j, (a0, b0, a1, b1) in enumerate(boxes):
            if a0 < bx0 or b0 < by0 or a1 > bx1 or b1 > by1:
                continue
            hit = ((a0 - pad < taken[:, 2]) & (taken[:, 0] < a1 + pad)
                   & (b0 - pad < taken[:, 3]) & (taken[:, 1] < b1 + pad))
            if not hit.any():
                pick = j
                taken = np.vstack([taken, (a0, b0, a1, b1)])
                break
        chosen.append(pick)
    return chosen


# Where a label may go around a mark of radius r (points): right, left, above, below, then the four diagonals,
# as (dx, dy) multipliers of the gap and the text's alignment.
AROUND = ((1, 0, "left", "center"), (-1, 0, "right", "center"), (0, 1, "center", "bottom"),
          (0, -1, "center", "top"), (0.8, 0.8, "left", "bottom"), (0.8, -0.8, "left", "top"),
          (-0.8, 0.8, "right", "bottom"), (-0.8, -0.8, "right", "top"))


def _text_box(x: float, y: float, w: float, h: float, ha: str, va: str) -> Box:
    left = x - {"left": 0.0, "center": w / 2, "right": w}[ha]
    bottom = y - {"bottom": 0.0, "center": h / 2, "top": h}[va]
    return (left, bottom, left + w, bottom + h)


_TEXT_SIZES: dict[tuple[Any, ...], tuple[float, float]] = {}  # (text, dpi, style): (width, height) in pixels


def place_labels(ax: Any, items: Sequence[tuple[str, Sequence[tuple[Any, ...]], dict[str, Any]]],
                 obstacles: Sequence[Box] = ()) -> list[Any]:
    """Write each label of ``items`` at its first free candidate; return its Text, or None where none was free.

    An item is ``(text, candidates, style)``: a candidate is ``(x, y, dx, dy, ha, va)``, data coordinates of the
    anchor, an offset in points and the alignment, and optionally the radius in points of the anchor's mark, when
    a leader line is to join the label to the mark; ``style`` goes to ``ax.annotate``. Call it once the axes'
    layout is final (after ``fig.subplots_adjust``, not before ``tight_layout``): boxes are measured in pixels.
    """
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    ax.apply_aspect()
    px = fig.dpi / 72.0
    sizes = []
    for text, _, style in items:
        measured = {k: v for k, v in style.items() if k not in ("zorder", "path_effects")}
        key = (text, fig.dpi, tuple(sorted(measured.items())))
        if key not in _TEXT_SIZES:  # the same labels recur on every map of a report
            t = ax.text(0, 0, text, **measured)
            e = t.get_window_extent(renderer)
            _TEXT_SIZES[key] = (e.width, e.height)
            t.remove()
        sizes.append(_TEXT_SIZES[key])
    boxes = []
    for (_, cands, _), (w, h) in zip(items, sizes):
        anchors = ax.transData.transform([(c[0], c[1]) for c in cands]) if cands else np.zeros((0, 2))
        boxes.append([_text_box(a[0] + c[2] * px, a[1] + c[3] * px, w, h, c[4], c[5])
                      for a, c in zip(anchors, cands)])
    chosen = greedy_boxes(boxes, obstacles, tuple(ax.get_window_extent(renderer).extents), pad=1.5 * px)
    out = []
    for (text, cands, style), j in zip(items, chosen):
        if j is None:
            out.append(None)
            continue
        x, y, dx, dy, ha, va = cands[j][:6]
        leader = None if len(cands[j]) < 7 else {"arrowstyle": "-", "color": "#666666", "lw": 0.6, "shrinkA": 1,
                                                 "shrinkB": cands[j][6] + 0.5}
        out.append(ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", ha=ha, va=va,
                               annotation_clip=False, arrowprops=leader, **style))
    return out


def around(x: float, y: float, r: float, gap: float = 2.0, far: float = 10.0) -> list[tuple[Any, ...]]:
    """Candidates (see :func:`place_labels`) around a mark of radius ``r`` points at data (x, y): the eight places
    next to it first, then the eight ``far`` points farther, which get a leader line to the mark."""
    near = [(x, y, dx * (r + gap), dy * (r + gap), ha, va) for dx, dy, ha, va in AROUND]
    return near + [(x, y, dx * (r + far), dy * (r + far), ha, va, r) for dx, dy, ha, va in AROUND]


def mark_boxes(ax: Any, x: np.ndarray, y: np.ndarray, r: np.ndarray) -> list[Box]:
    """Pixel boxes of round marks of radius ``r`` points at data (x, y), as obstacles for :func:`place_labels`."""
    ax.apply_aspect()
    xy = ax.transData.transform(np.column_stack([x, y]))
    rp = np.asarray(r, dtype=float) * ax.figure.dpi / 72.0
    return [(a - q, b - q, a + q, b + q) for (a, b), q in zip(xy, np.broadcast_to(rp, len(xy)))]


def river_label_candidates(bbox: Sequence[float], every: int = 6) -> list[tuple[str, list[tuple[float, ...]]]]:
    """For each river seen in ``bbox``: candidates (see :func:`place_labels`) on its line, middle of the visible
    stretch first, the name centred just beside the line."""
    x0, y0, x1, y1 = bbox
    out = []
    for r in load()["rivers"]:
        pts = np.concatenate(r.parts)
        seen = pts[(pts[:, 0] > x0) & (pts[:, 0] < x1) & (pts[:, 1] > y0) & (pts[:, 1] < y1)]
        if len(seen) < 4:
            continue
        mid = len(seen) // 2
        order = sorted(range(0, len(seen), max(1, every)), key=lambda i: abs(i - mid))
        cands: list[tuple[float, ...]] = []
        for i in order:
            cands += [(seen[i, 0], seen[i, 1], 4.0, 0.0, "left", "center"),
                      (seen[i, 0], seen[i, 1], -4.0, 0.0, "right", "center")]
        out.append((r.name, cands))
    return out


# ---------------------------------------------------------------------------------------------------------
# SVG, for the app


def _svg_path(parts: Sequence[np.ndarray], project: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
              closed: bool) -> str:
    out = []
    for p in parts:
        x, y = project(p[:, 0], p[:, 1])
        pts = [f"{a:.1f},{b:.1f}" for a, b in zip(x, y)]
        out.append("M" + " L".join(pts) + (" Z" if closed else ""))
    return " ".join(out)


CHAR_EM = 0.58  # mean width of a character of the app's sans-serif font, in ems (measured on DejaVu Sans/Roboto)


def text_size(text: str, font_px: float) -> tuple[float, float]:
    """Estimated (width, height) in pixels of ``text`` set at ``font_px``: CHAR_EM em a character, 1.2 em high."""
    return len(text) * CHAR_EM * font_px + 2.0, 1.2 * font_px


def svg_labels(xs: Sequence[float], ys: Sequence[float], rs: Sequence[float], texts: Sequence[str | None],
               obstacles: Sequence[Box], width: float, height: float, font_px: float = 13.0,
               gap: float = 3.0) -> list[dict[str, Any] | None]:
    """Labels of marks at picture pixels (x, y), radius r, in the given order of importance (None: no label):
    each gets the first of eight spots around its mark (right, left, above, below, diagonals) that lies in the
    picture and overlaps no obstacle or label already placed, as ``{x, y, anchor}`` for an SVG ``<text>``
    (``y`` is the baseline, 0.35 em below the box's middle), or None where there is no room."""
    cands, sizes = [], []
    for x, y, r, text in zip(xs, ys, rs, texts):
        w, h = text_size(text or "", font_px)
        sizes.append((w, h))
        boxes = []
        for dx, dy, ha, _ in AROUND:
            # y grows downwards here: 'above' (dy > 0) is a smaller y
            cx, cy = x + dx * (r + gap), y - dy * (r + gap)
            left = cx - {"left": 0.0, "center": w / 2, "right": w}[ha]
            top = cy - h / 2 if dy == 0 else (cy - h if dy > 0 else cy)
            boxes.append((left, top, left + w, top + h))
        cands.append(boxes if text else [])
    chosen = greedy_boxes(cands, obstacles, (0.0, 0.0, width, height), pad=1.0)
    out: list[dict[str, Any] | None] = []
    for boxes, j in zip(cands, chosen):
        if j is None:
            out.append(None)
            continue
        a0, b0, a1, b1 = boxes[j]
        ha = AROUND[j][2]
        x = {"left": a0 + 1.0, "center": (a0 + a1) / 2, "right": a1 - 1.0}[ha]
        out.append({"x": round(x, 1), "y": round((b0 + b1) / 2 + 0.35 * font_px, 1),
                    "anchor": {"left": "start", "center": "middle", "right": "end"}[ha],
                    "box": (round(a0, 1), round(b0, 1), round(a1, 1), round(b1, 1))})
    return out


def _svg_path(parts: Sequence[np.ndarray], project: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
              closed: bool) -> str:
    out = []
    for p in parts:
        x, y = project(p[:, 0], p[:, 1])
        pts = [f"{a:.1f},{b:.1f}" for a, b in zip(x, y)]
        out.append("M" + " L".join(pts) + (" Z" if closed else ""))
    return " ".join(out)


def svg_basemap(project: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]], width: float,
                height: float, marks: Sequence[Box] = (), avoid: np.ndarray | None = None) -> dict[str, Any]:
    """The layers as SVG paths in a picture's pixels, for ``project(lon, lat) -> (x, y)`` (equirectangular,
    y downwards), keeping only what lies near the picture.

    Country names go where the country's visible part is widest, away from the lon/lat points ``avoid``; river
    names beside their river where they overlap neither the pixel boxes ``marks`` nor the country names.

    Returns
    -------
    dict with ``water`` (a rect: the extent of the data), ``countries`` (``d``, ``fill``), ``lakes``,
    ``governorates``, ``rivers`` and ``borders`` (``d``, ``name``), ``graticule`` (1-degree lines and their
    ``label`` at the picture's left or bottom edge, with its ``box``), ``labels`` (country and river names:
    ``x``, ``y``, ``text``, ``kind``, ``anchor``, ``box``) and ``colours``.
    """
    layers = load()
    # the picture's extent in lon/lat: the projection is linear in each axis, so two points give its inverse
    px, py = project(np.array([0.0, 1.0]), np.array([0.0, 1.0]))
    sx, sy = float(px[1] - px[0]), float(py[1] - py[0])  # pixels per degree; sy < 0 (y grows southwards)
    lon0, lat_top = -float(px[0]) / sx, -float(py[0]) / sy
    view = (lon0, lat_top + height / sy, lon0 + width / sx, lat_top)
    pad = 0.5

    def near(parts: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [p for p in parts if p[:, 0].max() > view[0] - pad and p[:, 0].min() < view[2] + pad
                and p[:, 1].max() > view[1] - pad and p[:, 1].min() < view[3] + pad]

    ext = extent()
    bx, by = project(np.array([ext[0], ext[2]]), np.array([ext[3], ext[1]]))
    out: dict[str, Any] = {
        "water": {"x": round(float(bx[0]), 1), "y": round(float(by[0]), 1), "w": round(float(bx[1] - bx[0]), 1),
                  "h": round(float(by[1] - by[0]), 1)},
        "countries": [], "lakes": [], "governorates": [], "rivers": [], "borders": [], "graticule": [],
        "labels": [],
        "colours": {"water": WATER, "border": BORDER, "governorate": GOVERNORATE, "river": RIVER,
                    "lake_edge": LAKE_EDGE, "country_text": COUNTRY_TEXT, "land": IRAQ_LAND},
    }
    boxes: list[Box] = list(marks)
    for c in layers["countries"]:
        parts = near(c.parts)
        if not parts:
            continue
        d = _svg_path(parts, project, True)
        out["countries"].append({"d": d, "fill": IRAQ_LAND if c.code == HOME else OTHER_LAND})
        out["borders"].append({"d": d, "name": c.name})
        at = label_point(c, view, avoid, min_clearance=0.3)
        if at is not None:
            x, y = project(np.array([at[0]]), np.array([at[1]]))
            w, h = text_size(c.name.upper(), 14.0)
            w += 1.5 * len(c.name)  # bold, and 1 px letter-spacing
            box = (float(x[0]) - w / 2, float(y[0]) - h / 2, float(x[0]) + w / 2, float(y[0]) + h / 2)
            boxes.append(box)
            out["labels"].append({"x": round(float(x[0]), 1), "y": round(float(y[0]) + 5.0, 1), "anchor": "middle",
                                  "text": c.name.upper(), "kind": "country", "box": [round(v, 1) for v in box]})
    for layer, closed in (("lakes", True), ("governorates", True), ("rivers", False)):
        for f in layers[layer]:
            parts = near(f.parts)
            if parts:
                out[layer].append({"d": _svg_path(parts, project, closed), "name": f.name})
    for lon in range(math.ceil(view[0]), math.floor(view[2]) + 1):
        x, _ = project(np.array([float(lon)]), np.array([0.0]))
        w, h = text_size(f"{lon}°E", 11.0)
        xc, base = float(x[0]), height - 6.0
        out["graticule"].append({"d": f"M{xc:.1f},0 L{xc:.1f},{height:.1f}", "label": f"{lon}°E",
                                 "x": round(xc, 1), "y": round(base, 1), "anchor": "middle",
                                 "box": [round(xc - w / 2, 1), round(base - 0.85 * h, 1), round(xc + w / 2, 1),
                                         round(base + 0.15 * h, 1)]})
    for lat in range(math.ceil(view[1]), math.floor(view[3]) + 1):
        _, y = project(np.array([0.0]), np.array([float(lat)]))
        w, h = text_size(f"{lat}°N", 11.0)
        base = float(y[0]) - 4.0
        out["graticule"].append({"d": f"M0,{y[0]:.1f} L{width:.1f},{y[0]:.1f}", "label": f"{lat}°N",
                                 "x": 6.0, "y": round(base, 1), "anchor": "start",
                                 "box": [6.0, round(base - 0.85 * h, 1), round(6.0 + w, 1), round(base + 0.15 * h, 1)]})
    boxes += [tuple(g["box"]) for g in out["graticule"]]
    # river names: candidates along each river in view, middle first, as zero-radius marks
    for name, cands in river_label_candidates(view):
        pts = [(c[0], c[1]) for c in cands[::2]]
        x, y = project(np.array([p[0] for p in pts]), np.array([p[1] for p in pts]))
        placed = [p for p in svg_labels(x, y, [2.0] * len(pts), [name] * len(pts), boxes, width, height,
                                        font_px=13.0) if p]
        if placed:
            boxes.append(placed[0]["box"])
            out["labels"].append({**placed[0], "text": name, "kind": "river"})
    return out
