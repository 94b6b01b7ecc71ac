"""The run report: ``report.md`` and its PNG plots (matplotlib, no display needed).

The report states what the run used (scenario, seed, fitted-parameters file, every ``--set``), sets the run
beside the reported figures the scenario names (:mod:`simulation.runs.observed`), and draws the maps and the
daily series, every time axis in dates.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import patheffects  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.ticker import LogLocator, NullFormatter  # noqa: E402

from simulation import geography  # noqa: E402
from simulation.runs.run_view import PARTS  # noqa: E402 - each part written by its own function below

if TYPE_CHECKING:  # the model and its libraries are not needed to draw (a report process never imports them)
    from simulation.engine.model import ConflictModel
    from simulation.runs.run_view import RunView

PNG_META = {"Software": None}
# A title's height given, not searched for: without it matplotlib measures the axes' tick labels at every draw,
# to lift the title over any at the top (there are none here), a tenth of the report's time.
TITLE_Y = 1.0  # no version string, so that identical runs give identical files


def _margins(fig: plt.Figure, left: float = 0.8, right: float = 0.15, top: float = 0.35, bottom: float = 0.6,
             between: float = 0.9) -> None:
    """Fixed margins in inches (room for tick labels, axis labels and titles): the figures' layout is set, not
    searched for (``tight_layout`` measured every text of a figure, a quarter of the report's time)."""
    w, h = fig.get_size_inches()
    n = len(fig.axes)
    inner = (w - left - right - (n - 1) * between) / n
    fig.subplots_adjust(left=left / w, right=1 - right / w, top=1 - top / h, bottom=bottom / h,
                        wspace=between / inner)


# zlib level 3 instead of Pillow's 6: the same pixels and about the same size (within 2 % on the Iraq report), in
# 60 % of the time (the map: 113 -> 71 ms).
PNG_COMPRESSION = {"compress_level": 3}


def _save(fig: plt.Figure, path: Path) -> None:
    fig.savefig(path, dpi=100, metadata=PNG_META, pil_kwargs=PNG_COMPRESSION)
    plt.close(fig)


MARKERS = {"crossing": "^", "checkpoint": "^", "base": "s", "airport": "s", "refinery": "s", "dam": "D"}
KIND_LEGEND = (("o", "town or city (size: population)"), ("^", "border crossing or checkpoint"),
               ("s", "base or airport"), ("s*", "oil refinery (gold edge)"), ("D", "dam"))
ROAD_STYLE = {"highway": ("-", 1.8), "road": ("-", 1.0), "desert track": (":", 1.1), "river crossing": ("--", 1.1)}


def map_bbox(model: ConflictModel) -> tuple[float, float, float, float]:
    """The places' extent and a margin of 0.5 degree of longitude, 0.45 of latitude: (lon0, lat0, lon1, lat1)."""
    w = model.world
    return (float(w.lon.min()) - 0.5, float(w.lat.min()) - 0.45, float(w.lon.max()) + 0.5, float(w.lat.max()) + 0.45)


def pie_marks(ax: plt.Axes, x: np.ndarray, y: np.ndarray, size: np.ndarray, shares: np.ndarray,
              colours: list[str], zorder: float = 2) -> None:
    """A pie at each point: wedge ``f`` of the pie at ``k`` spans the fraction ``shares[k, f]`` of the circle (from
    the top, clockwise, in faction order), in ``colours[f]``; ``size`` is each pie's area in points² (as
    ``scatter``'s ``s``). A wedge is a scatter marker, so pies stay round whatever the axes' aspect."""
    for k in range(len(x)):
        start = 0.0
        for f in np.flatnonzero(shares[k] > 0):
            end = start + float(shares[k, f])
            t = np.linspace(np.pi / 2 - 2 * np.pi * start, np.pi / 2 - 2 * np.pi * end, 2 + int(48 * (end - start)))
            verts = np.vstack([[0.0, 0.0], np.column_stack([np.cos(t), np.sin(t)]), [0.0, 0.0]])
            scale = np.abs(verts).max()  # matplotlib rescales a marker path to its largest extent: undo it
            ax.scatter(x[k], y[k], marker=verts, s=size[k] * scale**2, c=colours[f], linewidths=0, zorder=zorder)
            start = end
        ax.scatter(x[k], y[k], s=size[k], facecolors="none", edgecolors="white", linewidths=0.6, zorder=zorder)


LINESTYLE = {"-": "solid", ":": "dotted", "--": "dashed"}


def _road_segments(model: ConflictModel) -> dict[str, list[list[tuple[float, float]]]]:
    """The roads' straight segments (lon, lat) by kind of road, in :data:`ROAD_STYLE`'s order."""
    w = model.world
    out: dict[str, list[list[tuple[float, float]]]] = {}
    for r in model.scenario_data.roads:
        i, j = w.index[r.a], w.index[r.b]
        out.setdefault(r.kind, []).append([(w.lon[i], w.lat[i]), (w.lon[j], w.lat[j])])
    return {k: out[k] for k in ROAD_STYLE if k in out}


def _mark_size(model: ConflictModel | RunView, pies: bool) -> np.ndarray:
    """Each place's mark's area in points²: by population for towns and cities, fixed for the other kinds."""
    w = model.world
    size = np.where([k in MARKERS for k in w.kind], 42.0,
                    16 + 260 * np.sqrt(w.population0 / max(w.population0.max(), 1)))
    return np.maximum(size, 60.0) * 1.5 if pies else size  # a pie must be large enough to show its slices


def draw_map(model: ConflictModel, ax: plt.Axes, day: int, title: str,
             shares: np.ndarray | None = None) -> dict[str, Any]:
    """Places on the base map (borders, governorates, rivers), coloured by controller at the end of ``day``.

    Shapes give the kind of place, circles' areas the population; labels go where they hide no other label or
    mark (most valuable and populous places first), and a place whose label finds no room stays unlabelled.
    With ``shares`` (``[place, faction]``, e.g. the share of an ensemble's runs each faction holds the place on
    ``day``), each place is a pie of them instead (:func:`pie_marks`).
    Call it once the figure's layout is final. Returns the legend handles of the base map under ``handles``.
    """
    base = draw_ground(model, ax, pies=shares is not None)
    draw_places(model, ax, day, shares)
    ax.set_title(title, fontsize=10, y=TITLE_Y)
    return base


def draw_ground(model: ConflictModel | RunView, ax: plt.Axes, pies: bool = False) -> dict[str, Any]:
    """What :func:`draw_map` draws that does not depend on the run: the base map, the roads and the labels (placed
    around the marks :func:`draw_places` draws, whose sizes are known before the run). The marks come at a
    height (zorder 2) of their own, so drawing them after the labels gives the same picture."""
    w, s = model.world, model.scenario_data
    base = geography.draw_basemap(ax, map_bbox(model), avoid=np.column_stack([w.lon, w.lat]))
    for kind, segments in _road_segments(model).items():  # one collection a kind of road, not a line a road
        style, lw = ROAD_STYLE[kind]
        ax.add_collection(LineCollection(segments, colors="#8a8172", linewidths=lw, linestyles=LINESTYLE[style],
                                         zorder=1))
    radius = np.sqrt(_mark_size(model, pies)) / 2  # points: a marker of area s pt^2 is about sqrt(s) across
    obstacles = geography.mark_boxes(ax, w.lon, w.lat, radius)
    renderer = ax.figure.canvas.get_renderer()
    obstacles += [tuple(t.get_window_extent(renderer).extents) for t in base["labels"]]
    halo = [patheffects.withStroke(linewidth=2.2, foreground=geography.IRAQ_LAND)]
    order = np.argsort(-(w.value + w.population0 / 1e5), kind="stable")
    items = [(s.places[k].name, geography.around(w.lon[k], w.lat[k], radius[k]),
              {"fontsize": 6.5, "color": "#1a1a1a", "zorder": 3, "path_effects": halo,
               "fontweight": "bold" if w.kind[k] == "city" else "normal"}) for k in order]
    items += [(name, cands, {"fontsize": 7, "color": geography.RIVER, "fontstyle": "italic", "zorder": 3,
                             "path_effects": halo})
              for name, cands in geography.river_label_candidates(map_bbox(model))]
    geography.place_labels(ax, items, obstacles)
    return base


def draw_places(model: ConflictModel | RunView, ax: plt.Axes, day: int, shares: np.ndarray | None = None) -> None:
    """The places' marks of :func:`draw_map`: coloured by controller at the end of ``day``, or pies of ``shares``."""
    w, s = model.world, model.scenario_data
    colours = [f.colour for f in s.factions]
    size = _mark_size(model, shares is not None)
    if shares is not None:
        pie_marks(ax, w.lon, w.lat, size, np.asarray(shares), colours)
        return
    ctrl = model.rec_control[day] if model.day else model.controller
    marker = np.array([MARKERS.get(k, "o") for k in w.kind])  # one scatter a marker and edge, places in order
    refinery = np.array([k == "refinery" for k in w.kind])
    for m in dict.fromkeys(marker):
        for gold in (False, True):
            pick = np.flatnonzero((marker == m) & (refinery == gold))
            if len(pick):
                ax.scatter(w.lon[pick], w.lat[pick], s=size[pick], c=[colours[ctrl[k]] for k in pick],
                           marker=m, edgecolors="#f2b705" if gold else "white",
                           linewidths=1.6 if gold else 0.6, zorder=2)


def map_legends(fig: plt.Figure, model: ConflictModel, base: dict[str, Any], top: float) -> None:
    """Four legends in a row under the maps, from the left: controllers, kinds of place, roads, the base map."""
    from matplotlib.lines import Line2D

    grey = "#9a9a9a"
    factions = [Line2D([], [], ls="", marker="o", ms=8, mfc=f.colour, mec="white", label=f.name)
                for f in model.scenario_data.factions]
    kinds = [Line2D([], [], ls="", marker=m[0], ms=8, mfc=grey, mec="#f2b705" if m.endswith("*") else "white",
                    mew=1.6 if m.endswith("*") else 0.6, label=text) for m, text in KIND_LEGEND]
    roads = [Line2D([], [], ls=ROAD_STYLE[k][0], lw=ROAD_STYLE[k][1], color="#8a8172", label=k) for k in ROAD_STYLE]
    renderer = fig.canvas.get_renderer()
    x = 0.01
    for title, handles in (("Held by", factions), ("Places", kinds), ("Roads", roads), ("Base map", base["handles"])):
        leg = fig.legend(handles=handles, title=title, loc="upper left", bbox_to_anchor=(x, top), fontsize=8,
                         title_fontsize=8.5, frameon=False, alignment="left")
        x += leg.get_window_extent(renderer).width / fig.bbox.width + 0.01


def _number(v: int | None) -> str:
    return "—" if v is None else f"{v:,}"


def _ratio(model: int | None, reported: int | None) -> str:
    """The model's value as a multiple of the reported one (``model / reported``)."""
    if model is None or not reported:
        return "—"
    return f"{model / reported:.2f}×"


def inputs_lines(data: dict[str, Any]) -> list[str]:
    """What the run used: scenario, seed, days, the fitted-parameters file and every override (``--set``)."""
    fitted = f"`{data['fitted_file']}`" if data.get("fitted_file") else "none (the scenario's own values)"
    overrides = data.get("overrides") or {}
    sets = ", ".join(f"`--set {k}={v:g}`" for k, v in overrides.items()) or "none"
    return [
        "## What this run used",
        "",
        f"- scenario: {data['scenario']} (`{data['scenario_path']}`), seed {data['seed']}, {data['days']} days",
        f"- fitted parameters: {fitted}",
        f"- parameters set for this run: {sets}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in data.get("versions", {}).items()),
        "",
    ]


def comparison_lines(model: ConflictModel) -> list[str]:
    """The run beside the reported figures the scenario names: changes of hands (✓ where the same side holds the
    place in the model on the reported day), killed and wounded, displaced people."""
    from simulation.runs.observed import (
        casualty_comparison,
        control_comparison,
        displacement_points,
        scenario_observations,
    )

    head = ["## The run beside the reports", ""]
    obs = scenario_observations(model.scenario_data)
    if obs is None:
        return [*head, "The scenario names no observations (`observations` in its `scenario.toml`).", ""]
    names = {p.id: p.name for p in model.scenario_data.places}
    lines = [*head, f"Reported figures from `{obs.source.path}` (rows the calibration uses; *calibration*: "
             "fitted to, *validation*: out of sample). Sides are compared, allies counting as one side.", ""]
    control = control_comparison(model, obs)
    if control:
        agree = sum(r["agree"] for r in control)
        lines += [f"**Control of places**: {agree} of {len(control)} reports match the side holding the place in "
                  "the model at the end of the reported day.", "",
                  "| date | place | reported | model on that day | | model: passed to that side | split |",
                  "|---|---|---|---|:-:|---|---|",
                  *[f"| {r['date']} | {names[r['place']]} | {r['kind']} by {r['reported']} | {r['model']} | "
                    f"{'✓' if r['agree'] else '✗'} | {r['model_change'] or '—'} | {r['split']} |" for r in control],
                  ""]
    casualties = casualty_comparison(model, obs)
    if casualties:
        lines += ["**Killed and wounded** (the model counts the same parties, places and period):", "",
                  "| who, where | period | killed: reported | model | model / reported | wounded: reported | "
                  "model | split |",
                  "|---|---|---:|---:|---:|---:|---:|---|",
                  *[f"| {r['scope']} | {r['period']}{' (so far)' if r['so_far'] else ''} | "
                    f"{_number(r['reported_killed'])} | {_number(r['model_killed'])} | "
                    f"{_ratio(r['model_killed'], r['reported_killed'])} | {_number(r['reported_wounded'])} | "
                    f"{_number(r['model_wounded'])} | {r['split']} |" for r in casualties],
                  ""]
    displaced = displacement_points(model, obs)
    if displaced:
        what = {"left": "people who had left", "present": "displaced people present in"}
        areas = {**names, "iraq": "Iraq", "kurdistan_region": "the Kurdistan Region"}
        lines += ["**Displaced people**:", "",
                  "| date | measure | reported (range) | model | model / reported | split |",
                  "|---|---|---:|---:|---:|---|",
                  *[f"| {r['date']} | {what.get(r['measure'], r['measure'])} {areas.get(r['area'], r['area'])} | "
                    f"{_number(r['reported'])}"
                    + (f" ({_number(r['low'])}–{_number(r['high'])})" if r["low"] is not None else "")
                    + f" | {_number(r['model'])} | {_ratio(r['model'], r['reported'])} | {r['split']} |"
                    for r in displaced],
                  ""]
    return lines


def write_report(model: ConflictModel | RunView, data: dict[str, Any], out: Path,
                 parts: tuple[str, ...] = PARTS) -> None:
    """Write the PNG plots and ``report.md`` into ``out`` (``parts``: some of :data:`PARTS`; all by default)."""
    if "map" in parts:
        write_map(model, out)
    if "series" in parts:
        write_series(model, out)
    if "markdown" in parts:
        write_markdown(model, data, out)


def _time_axis(model: ConflictModel | RunView) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    dates = model.dates()
    days = np.arange(model.day)
    ticks = days[:: max(1, model.day // 6)]
    return days, ticks, [dates[i][5:] for i in ticks], f"date ({dates[0][:4]}, month-day)"


class MapDraft:
    """``map.png`` drawn but for what the run decides: only ``model``'s world and scenario are read, so a report
    process drafts it while the model runs; :meth:`finish` adds the places' colours and the dates."""

    def __init__(self, model: ConflictModel | RunView) -> None:
        # Two maps 6.3 in wide, their height set by the true-shape aspect, 0.45 in above for the titles and 2.2 in
        # below for the axis labels and the legends; the layout is final before the labels are placed.
        x0, y0, x1, y1 = map_bbox(model)
        height = 6.3 * (y1 - y0) * geography.aspect((x0, y0, x1, y1)) / (x1 - x0) + 0.45 + 2.05
        self.fig, self.axes = plt.subplots(1, 2, figsize=(14, height))
        self.fig.subplots_adjust(left=0.055, right=0.99, top=1 - 0.45 / height, bottom=2.05 / height, wspace=0.12)
        base = draw_ground(model, self.axes[0])
        draw_ground(model, self.axes[1])
        map_legends(self.fig, model, base, top=1.42 / height)
        for ax in self.axes:  # the axes' ticks (degrees), made now: the view is final, the run cannot move them
            for axis in (ax.xaxis, ax.yaxis):
                axis.get_major_ticks(len(axis.get_majorticklocs()))
        self._drawn = self._ground(model)

    @staticmethod
    def _ground(model: ConflictModel | RunView) -> tuple[Any, ...]:
        """What the draft was drawn from: the places, their kinds and sizes, the roads and the factions."""
        w, s = model.world, model.scenario_data
        return (w.lon.tolist(), w.lat.tolist(), list(w.kind), w.population0.tolist(), w.value.tolist(),
                [p.name for p in s.places], _road_segments(model), [(f.name, f.colour) for f in s.factions])

    def fits(self, model: ConflictModel | RunView) -> bool:
        """Whether the draft shows ``model``'s places, roads and factions (then :meth:`finish` may write it)."""
        return self._ground(model) == self._drawn

    def finish(self, model: ConflictModel | RunView, out: Path) -> None:
        """Write ``map.png`` of the finished run ``model`` (the one drafted, or one of the same scenario)."""
        dates = model.dates()
        for ax, day, date in ((self.axes[0], 0, dates[0]), (self.axes[1], model.day - 1, dates[-1])):
            draw_places(model, ax, day)
            ax.set_title(f"Control at the end of {date}", fontsize=10, y=TITLE_Y)
        _save(self.fig, out / "map.png")


def write_map(model: ConflictModel | RunView, out: Path) -> None:
    """``map.png``: control at the end of the first and of the last day, with the legends."""
    MapDraft(model).finish(model, out)


#: The series' figures: each file's size in inches and number of plots.
SERIES_FIGURES = (("control.png", (11, 4), 2), ("casualties.png", (11, 4), 2), ("forces.png", (7, 4), 1),
                  ("displacement.png", (11, 4), 2))


#: Ticks made with the series' empty figures, on each x axis and y axis: at most seven dates (see
#: :func:`_time_axis`) and about as many values as matplotlib's locator gives on a plot of this height.
SERIES_TICKS = (7, 10)


def series_figures() -> list[tuple[plt.Figure, Any]]:
    """The empty figures and axes of :func:`write_series` (made beforehand by a report process, before the run),
    with their axes' ticks made (the drawing after the run makes only those it lacks: ticks beyond those a plot
    uses are not drawn)."""
    figures = [plt.subplots(1, n, figsize=size) for _, size, n in SERIES_FIGURES]
    for fig, _ in figures:
        for ax in fig.axes:
            ax.xaxis.get_major_ticks(SERIES_TICKS[0])
            ax.yaxis.get_major_ticks(SERIES_TICKS[1])
    return figures


def write_series(model: ConflictModel | RunView, out: Path,
                 figures: list[tuple[plt.Figure, Any]] | None = None) -> None:
    """The daily series: ``control.png``, ``casualties.png``, ``forces.png`` and ``displacement.png`` (into
    ``figures`` from :func:`series_figures`, or new ones)."""
    s = model.scenario_data
    colours = [f.colour for f in s.factions]
    days, ticks, tick_labels, date_label = _time_axis(model)
    made = iter(figures or series_figures())
    fig, axes = next(made)
    held = np.stack([(model.rec_control[: model.day] == i).sum(axis=1) for i in range(len(colours))])
    pop = np.stack([np.where(model.rec_control[: model.day] == i, model.rec_population[: model.day], 0).sum(axis=1)
                    for i in range(len(colours))])
    axes[0].stackplot(days, held, colors=colours, labels=[f.name for f in s.factions])
    axes[0].set_title("Places controlled", fontsize=9, y=TITLE_Y)
    axes[1].stackplot(days, pop / 1e6, colors=colours)
    axes[1].set_title("People living under each controller (millions)", fontsize=9, y=TITLE_Y)
    axes[0].set_ylabel("places held")
    axes[1].set_ylabel("people (millions)")
    for ax in axes:
        ax.set_xticks(ticks, tick_labels)
        ax.set_xlabel(date_label)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=2, fontsize=7, frameon=False)
    _margins(fig, bottom=1.0)
    _save(fig, out / "control.png")

    fig, axes = next(made)
    parties = [*model.faction_ids, "civilian"]
    pcol = [*colours, "#d62728"]
    for q, name in enumerate(parties):
        k = model.rec_killed[: model.day, :, q].sum(axis=1).cumsum()
        wd = model.rec_wounded[: model.day, :, q].sum(axis=1).cumsum()
        axes[0].plot(days, k, color=pcol[q], label=name)
        axes[1].plot(days, wd, color=pcol[q], label=name)
    axes[0].set_title("Killed, cumulative", fontsize=9, y=TITLE_Y)
    axes[1].set_title("Wounded, cumulative", fontsize=9, y=TITLE_Y)
    axes[0].legend(fontsize=7)
    axes[0].set_ylabel("people killed")
    axes[1].set_ylabel("people wounded")
    for ax in axes:
        ax.set_xticks(ticks, tick_labels)
        ax.set_xlabel(date_label)
    _margins(fig)
    _save(fig, out / "casualties.png")

    fig, ax = next(made)
    for i, f in enumerate(s.factions):
        ax.plot(days, model.rec_ledger[: model.day, -1, i], color=f.colour, label=f.name)
    ax.set_title("Personnel present, by faction", fontsize=9, y=TITLE_Y)
    if (model.rec_ledger[: model.day, -1] > 0).any():  # a replay has no forces: nothing to put on a log scale
        ax.set_yscale("log")  # the factions differ by two orders of magnitude; ticks at 1, 2 and 5 per decade
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylabel("personnel present (log scale)")
    ax.set_xlabel(date_label)
    ax.set_xticks(ticks, tick_labels)
    ax.legend(fontsize=7)
    _margins(fig, left=1.1)  # room for "100,000" and the axis label
    _save(fig, out / "forces.png")

    fig, axes = next(made)
    idps = model.rec_idps[: model.day]
    transit = getattr(model, "rec_in_transit", np.zeros(model.rec_idps.shape[0], dtype=np.int64))[: model.day]
    axes[0].plot(days, model.rec_displaced_from[: model.day].sum(axis=1) / 1e3, label="left their homes (cumulative)")
    axes[0].plot(days, (idps.sum(axis=1) + transit) / 1e3, label="displaced now")
    axes[0].plot(days, idps.sum(axis=1) / 1e3, label="sheltering in a place")
    axes[0].plot(days, transit / 1e3, ":", label="on the road")
    axes[0].set_title("Displaced people (thousands)", fontsize=9, y=TITLE_Y)
    axes[0].legend(fontsize=7)
    names = [pl.name for pl in s.places]
    top = [k for k in np.argsort(-idps.max(axis=0), kind="stable")[:8] if idps[:, k].max() > 0]
    for k in top:
        axes[1].plot(days, idps[:, k] / 1e3, label=names[k])
    rest = np.delete(idps, top, axis=1).sum(axis=1)
    if rest.max() > 0:
        axes[1].plot(days, rest / 1e3, "--", color="#888888", label="all other places")
    axes[1].set_title("Displaced people sheltering, by destination (thousands)", fontsize=9, y=TITLE_Y)
    if top:
        axes[1].legend(fontsize=7)
    for ax in axes:
        ax.set_xticks(ticks, tick_labels)
        ax.set_xlabel(date_label)
        ax.set_ylabel("people (thousands)")
    _margins(fig)
    _save(fig, out / "displacement.png")



def write_markdown(model: ConflictModel | RunView, data: dict[str, Any], out: Path) -> None:
    """``report.md``: what the run used, the run beside the reports, the tables, and the plots by name."""
    s = model.scenario_data
    t = data["totals"]
    lines = [
        f"# {s.name}: {data['start_date']} to {data['end_date']}",
        "",
        s.description,
        "",
        *inputs_lines(data),
        *comparison_lines(model),
        "## Casualties",
        "",
        "| party | killed | wounded |",
        "|---|---:|---:|",
        *[f"| {p} | {t['killed'][p]} | {t['wounded'][p]} |" for p in t["killed"]],
        f"| **all** | {t['killed_all']} | {t['wounded_all']} |",
        "",
        f"Displaced at the end: {t['displaced']}.",
        "",
        "## Personnel",
        "",
        "| faction | " + " | ".join(LEDGER_HEAD) + " |",
        "|---|" + "---:|" * len(LEDGER_HEAD),
        *[f"| {f} | " + " | ".join(str(data["personnel"][f][k]) for k in LEDGER_HEAD) + " |"
          for f in model.faction_ids],
        "",
        "## Maps",
        "",
        "![control at the start and the end](map.png)",
        "",
        "## Control",
        "",
        "![control over time](control.png)",
        "",
        "| date | place | change |",
        "|---|---|---|",
        *[f"| {d} | {p} | {x} |" for d, k, p, x in model.log if k == "control_change"],
        "",
        "## Casualties over time",
        "",
        "![casualties](casualties.png)",
        "",
        "## Forces",
        "",
        "![forces](forces.png)",
        "",
        "## Displacement",
        "",
        "![displacement](displacement.png)",
        "",
    ]
    (out / "report.md").write_text("\n".join(lines), encoding="utf-8")


LEDGER_HEAD = ("initial", "recruited", "reinforced", "killed", "wounded", "deserted", "present")
