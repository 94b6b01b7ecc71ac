"""Line charts of the app as JSON-ready specifications, drawn as SVG by the browser.

A chart is laid out here (scales, ticks, paths in pixel coordinates) and drawn by a small Vue template in
:mod:`simulation.app_components`, so that a step of the model costs the server a few milliseconds per chart
instead of a matplotlib PNG, and the reader gets each day's values by hovering.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulation.app.state import (
    casualties_by_party,
    control_by_faction,
    displaced_by_destination,
    displacement_points,
    killed_wounded_totals,
)
from simulation.calibration.observations import CompiledObservations
from simulation.engine.model import ConflictModel

CIVILIAN_COLOUR = "#8c564b"
PALETTE = ("#6a3d9a", "#e6550d", "#1b9e77", "#e7298a", "#66a61e", "#a6761d", "#1f78b4", "#666666")


@dataclass
class Series:
    """One line: a value for each simulated day."""

    name: str
    colour: str
    values: Sequence[float]
    dashed: bool = False


@dataclass
class Point:
    """A reported value on a date (with an optional range), drawn as a diamond."""

    date: dt.date
    value: float
    colour: str
    title: str
    low: float | None = None
    high: float | None = None
    hollow: bool = False


@dataclass
class Chart:
    title: str
    start: dt.date
    days: int
    series: list[Series] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    note: str = ""
    ylabel: str = "people"  # what the y axis counts: every chart of the app counts people


def nice_step(span: float, ticks: int = 5) -> float:
    """The smallest round tick step (1, 2 or 5 times a power of ten) giving at most ``ticks`` ticks over ``span``.

    Examples
    --------
    >>> nice_step(1000), nice_step(7), nice_step(0.3)
    (200.0, 2.0, 0.1)
    """
    raw = max(span, 1e-12) / ticks
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * power * (1 + 1e-9):
            return float(m * power)
    return float(10 * power)  # pragma: no cover (the loop always returns)


def format_count(v: float) -> str:
    """``1200 -> '1.2k'``, ``2500000 -> '2.5M'``."""
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:.3g}M"
    if a >= 1e3:
        return f"{v / 1e3:.3g}k"
    return f"{v:.3g}"


def layout(chart: Chart, width: float = 560.0, height: float = 290.0) -> dict[str, Any]:
    """Pixel layout of ``chart``: axes, ticks, one SVG path a series, markers, and the values for hovering."""
    left, right, top, bottom = 52.0, 12.0, 10.0, 24.0
    pw, ph = width - left - right, height - top - bottom
    values = [float(v) for s in chart.series for v in s.values]
    values += [float(p.high if p.high is not None else p.value) for p in chart.points]
    step = nice_step(max(values + [0.0]) or 1.0)
    ymax = step * max(math.ceil(max(values + [0.0]) / step), 1)
    span_days = max(chart.days - 1, 1)

    def x(day: float) -> float:
        return round(left + pw * day / span_days, 1)

    def y(v: float) -> float:
        return round(top + ph * (1 - v / ymax), 1)

    dates = [chart.start + dt.timedelta(days=d) for d in range(chart.days)]
    out_series = []
    for s in chart.series:
        vals = [float(v) for v in s.values]
        d = " ".join(f"{'M' if i == 0 else 'L'}{x(i)},{y(v)}" for i, v in enumerate(vals))
        out_series.append({"name": s.name, "colour": s.colour, "dashed": s.dashed, "d": d, "values": vals,
                           "last": format_count(vals[-1]) if vals else ""})
    points = []
    for p in chart.points:
        day = (p.date - chart.start).days
        points.append({"cx": x(day), "cy": y(p.value), "colour": p.colour, "hollow": p.hollow, "title": p.title,
                       "y1": y(p.low) if p.low is not None else None,
                       "y2": y(p.high) if p.high is not None else None})
    return {
        "title": chart.title, "note": chart.note, "ylabel": chart.ylabel, "width": width, "height": height,
        "plot": {"x": left, "y": top, "w": pw, "h": ph},
        "yticks": [{"y": y(v), "label": format_count(v)} for v in np.arange(0, ymax + step / 2, step).tolist()],
        "xticks": [{"x": x(d), "label": f"{dates[d]:%d %b}"} for d in range(0, chart.days, 5)],
        "dates": [f"{d:%a %d %b}" for d in dates], "series": out_series, "points": points,
        "x0": left, "dx": pw / span_days,
    }


# ---------------------------------------------------------------------------------------------------------
# The app's charts


def casualties_chart(model: ConflictModel) -> Chart:
    """Cumulative killed plus wounded by party; the legend gives killed and wounded apart."""
    frame = casualties_by_party(model)
    totals = killed_wounded_totals(model)
    colours = [f.colour for f in model.scenario_data.factions] + [CIVILIAN_COLOUR]
    series = [Series(f"{name} ({totals[name][0]:,} killed, {totals[name][1]:,} wounded)", colour,
                     frame[name].tolist()) for name, colour in zip(frame.columns, colours)]
    return Chart("Casualties by party: killed + wounded, cumulative", model.scenario_data.start_date, model.days,
                 series)


def population_chart(model: ConflictModel) -> Chart:
    """People present in the places each faction holds."""
    _, people = control_by_faction(model)
    factions = model.scenario_data.factions
    series = [Series(name, f.colour, people[name].tolist()) for f, name in zip(factions, people.columns)]
    return Chart("Population under each faction's control", model.scenario_data.start_date, model.days, series)


def _area_label(area: str) -> str:
    return {"kurdistan_region": "Kurdistan Region", "iraq": "Iraq (all places)"}.get(
        area, area.replace("_", " ").title())


def displacement_charts(model: ConflictModel, obs: CompiledObservations | None) -> tuple[Chart, Chart]:
    """Displaced people present by destination, and people who have fled by origin.

    Each area with a reported count gets a line and its reported values as diamonds (filled: used for
    calibration; hollow: kept for validation; bar: the reported range); the largest other destinations
    (governorates, the Kurdistan Region's three together) or origins (places) fill up to five lines.
    """
    d = model.day
    points = displacement_points(model, obs) if obs else []
    groups = displaced_by_destination(model)
    charts = []
    for measure, title in (("present", "Displaced people present, by destination"),
                           ("left", "People who have fled, by origin")):
        palette = iter(PALETTE)
        rec = model.rec_idps if measure == "present" else model.rec_displaced_from
        lines: dict[str, list[float]] = {}
        for p in points:
            if p["measure"] == measure and _area_label(p["area"]) not in lines:
                lines[_area_label(p["area"])] = rec[:d, p["places"]].sum(axis=1).tolist()
        if measure == "present":
            others = {name: groups[name].to_numpy() for name in groups.columns}
        else:
            others = {p.name: model.rec_displaced_from[:d, i] for i, p in enumerate(model.scenario_data.places)}
        ranked = sorted(((v[-1], name) for name, v in others.items() if len(v) and v[-1] > 0 and name not in lines),
                        reverse=True)
        for _, name in ranked[: max(0, 5 - len(lines))]:
            lines[name] = others[name].tolist()
        colour = {name: next(palette, "#444444") for name in lines}
        series = [Series(name, colour[name], values) for name, values in lines.items()]
        marks = [Point(dt.date.fromisoformat(p["date"]), p["reported"], colour[_area_label(p["area"])],
                       f"{_area_label(p['area'])}, {p['date']}: {p['reported']:,} reported"
                       + (f" ({p['low']:,}–{p['high']:,})" if p["low"] is not None else "")
                       + (f"; model {p['model']:,}" if p["model"] is not None else "")
                       + f" [{p['split']}]",
                       low=p["low"], high=p["high"], hollow=p["split"] != "calibration")
                 for p in points if p["measure"] == measure]
        note = "◆ reported (filled: used for calibration; hollow: kept for validation)" if marks else ""
        charts.append(Chart(title, model.scenario_data.start_date, model.days, series, marks, note))
    return charts[0], charts[1]
