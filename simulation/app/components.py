"""Solara components of the app: the map, the place card, the day's events, the charts and the observation tables.

Each component takes the model and re-renders when Mesa's controller steps it (``update_counter``). The data
they draw comes from :mod:`simulation.app.state`; this module only lays it out.
"""

from __future__ import annotations

import datetime as dt
import html
import warnings
from collections.abc import Callable
from typing import Any

import ipyvue
import solara
import traitlets
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

from simulation import geography
from simulation.app.charts import Chart as ChartSpec
from simulation.app.charts import layout
from simulation.app.state import (
    AppModel,
    basemap_state,
    casualty_comparison,
    control_comparison,
    day_label,
    map_state,
    place_details,
    short_name,
    today_events,
)
from simulation.calibration.observations import CompiledObservations

with warnings.catch_warnings():
    # Solara's hook checker warns, on import, about Mesa's ComponentsView (which this app does not use).
    warnings.filterwarnings("ignore", message=r".*ComponentsView: `use_state` found despite early return")
    from mesa.visualization.components.matplotlib_components import PlotMatplotlib
    from mesa.visualization.solara_viz import ModelController, UserInputs  # noqa: F401 (for simulation.app)
    from mesa.visualization.user_param import Slider  # noqa: F401 (for simulation.app)
    from mesa.visualization.utils import update_counter

# ---------------------------------------------------------------------------------------------------------
# The map: an SVG drawn by Vue in the browser, so that hovering and clicking a place need no round trip


MAP_TEMPLATE = """
<template>
  <div style="position: relative; width: 100%;">
    <svg :viewBox="'0 0 ' + state.width + ' ' + state.height" data-testid="map" :data-day="state.day"
         style="width: 100%; height: auto; display: block; background: #ffffff; border-radius: 4px;">
      <!-- the base map (simulation.geography): drawn once, under everything, and never in the pointer's way -->
      <g v-if="basemap.colours" data-testid="basemap" style="pointer-events: none;">
        <rect :x="basemap.water.x" :y="basemap.water.y" :width="basemap.water.w" :height="basemap.water.h"
              :fill="basemap.colours.water"></rect>
        <path v-for="(c, i) in basemap.countries" :key="'land' + i" :d="c.d" :fill="c.fill"></path>
        <path v-for="(c, i) in basemap.lakes" :key="'lake' + i" :d="c.d" :fill="basemap.colours.water"
              :stroke="basemap.colours.lake_edge" stroke-width="0.7"></path>
        <path v-for="(g, i) in basemap.graticule" :key="'grat' + i" :d="g.d" fill="none" stroke="#b8b8b8"
              stroke-width="0.6" stroke-opacity="0.5"></path>
        <path v-for="(c, i) in basemap.governorates" :key="'gov' + i" :d="c.d" fill="none"
              :stroke="basemap.colours.governorate" stroke-width="0.9" stroke-dasharray="5 3"></path>
        <path v-for="(c, i) in basemap.rivers" :key="'river' + i" :d="c.d" fill="none"
              :stroke="basemap.colours.river" stroke-width="2.2" stroke-linejoin="round"
              stroke-linecap="round" :data-river="c.name"></path>
        <path v-for="(c, i) in basemap.borders" :key="'border' + i" :d="c.d" fill="none"
              :stroke="basemap.colours.border" stroke-width="1.6"></path>
        <text v-for="(g, i) in basemap.graticule" :key="'gratlabel' + i" :x="g.x" :y="g.y" :text-anchor="g.anchor"
              font-size="11" fill="#6b6b6b">{{ g.label }}</text>
        <text v-for="(l, i) in basemap.labels" :key="'name' + i" :x="l.x" :y="l.y" :text-anchor="l.anchor"
              :font-size="l.kind === 'country' ? 14 : 13" :font-weight="l.kind === 'country' ? 700 : 400"
              :font-style="l.kind === 'river' ? 'italic' : 'normal'" :letter-spacing="l.kind === 'country' ? 1 : 0"
              :fill="l.kind === 'river' ? basemap.colours.river : basemap.colours.country_text"
              :style="'paint-order: stroke; stroke: ' + basemap.colours.land + '; stroke-width: 3px;'"
              :data-label="l.kind">{{ l.text }}</text>
      </g>
      <line v-for="(r, i) in state.roads" :key="'road' + i" :x1="r.x1" :y1="r.y1" :x2="r.x2" :y2="r.y2"
            :stroke="!r.open ? '#d62728' : (r.kind === 'river crossing' ? '#5b8fc7' : '#a39a88')"
            :stroke-width="r.kind === 'highway' ? 2.6 : 1.5"
            :stroke-dasharray="!r.open ? '4 3' : (r.kind === 'desert track' ? '6 4' :
                               (r.kind === 'river crossing' ? '2 3' : 'none'))">
        <title>{{ r.title }}</title>
      </line>
      <!-- units on the road, under the places so that a place is always the one hovered or clicked -->
      <polygon v-for="(m, i) in state.moving" :key="'move' + i" :points="m.points" :fill="m.fill"
               :stroke="m.routing ? '#e31a1c' : '#ffffff'" stroke-width="1">
        <title>{{ m.title }}</title>
      </polygon>
      <g v-for="p in state.places" :key="p.id" :data-place="p.id" :data-controller="p.controller"
         :data-shares="p.shares || null"
         :data-battle="p.battle" :data-air="p.air" style="cursor: pointer"
         @click="select(p.id)" @mouseenter="hoverId = p.id" @mouseleave="hoverId = null">
        <circle v-if="p.air" :cx="p.x" :cy="p.y" :r="p.r + 11" fill="none" stroke="#ff9f1c"
                stroke-width="2.5" stroke-dasharray="3 2"
                style="pointer-events: none;"></circle>
        <circle v-if="p.battle" :cx="p.x" :cy="p.y" :r="p.r + 6" fill="none" stroke="#e31a1c"
                stroke-width="3" style="pointer-events: none;"></circle>
        <circle v-if="hoverId === p.id" :cx="p.x" :cy="p.y" :r="p.r + 14" fill="#ffffff" fill-opacity="0.35"
                stroke="#333333" stroke-width="1.5" stroke-dasharray="2 2" style="pointer-events: none;"></circle>
        <circle v-if="p.taken" :cx="p.x" :cy="p.y" :r="p.r + 3" fill="none" stroke="#9b30d9"
                stroke-width="2.5" style="pointer-events: none;"></circle>
        <circle v-if="p.shape === 'circle'" class="place-shape" :cx="p.x" :cy="p.y" :r="p.r" :fill="p.fill"
                fill-opacity="0.88"
                :stroke="p.selected ? '#e6007e' : '#ffffff'" :stroke-width="p.selected ? 3 : 1.2"></circle>
        <rect v-if="p.shape === 'square'" class="place-shape" :x="p.x - p.r" :y="p.y - p.r" :width="2 * p.r"
              :height="2 * p.r" :fill="p.fill"
              :stroke="p.selected ? '#e6007e' : (p.kind === 'refinery' ? '#f2b705' : '#ffffff')"
              :stroke-width="p.kind === 'refinery' || p.selected ? 3 : 1.2"></rect>
        <polygon v-if="p.points" class="place-shape" :points="p.points" :fill="p.fill"
                 :stroke="p.selected ? '#e6007e' : '#ffffff'" :stroke-width="p.selected ? 3 : 1.2"></polygon>
        <!-- the ensemble mode (simulation.app.ensemble): a pie of the share of runs each side holds the place -->
        <g v-if="p.shape === 'pie'" class="place-shape">
          <path v-for="(w, j) in p.pie" :key="'w' + j" :d="w.d" :fill="w.fill"></path>
          <circle :cx="p.x" :cy="p.y" :r="p.r" fill="none" :stroke="p.selected ? '#e6007e' : '#ffffff'"
                  :stroke-width="p.selected ? 3 : 1.2"></circle>
        </g>
        <text v-if="p.label" :x="p.label.x" :y="p.label.y" font-size="13" :text-anchor="p.label.anchor"
              fill="#1a1a1a" :font-weight="p.kind === 'city' ? 600 : 400"
              style="paint-order: stroke; stroke: #fbf9f3; stroke-width: 3px; pointer-events: none;">{{ p.name }}</text>
      </g>
      <!-- forces at places: the place's hover card lists them, so they let the pointer through to it -->
      <rect v-for="(f, i) in state.forces" :key="'force' + i" :x="f.x" :y="f.y" :width="f.s" :height="f.s"
            :fill="f.fill" stroke="#ffffff" stroke-width="0.8" style="pointer-events: none;"></rect>
    </svg>
    <div v-if="hovered" data-testid="map-hover" :style="hoverStyle">
      <div v-for="(line, i) in hovered.info" :key="i" :style="i === 0 ? 'font-weight: 600' : ''">{{ line }}</div>
    </div>
  </div>
</template>
<script>
module.exports = {
  data() {
    return { hoverId: null };
  },
  computed: {
    hovered() {
      return this.hoverId ? this.state.places.find(p => p.id === this.hoverId) : null;
    },
    hoverStyle() {
      // In the top left corner of the map, or the bottom left one when the place itself lies up there.
      const h = this.hovered, s = this.state;
      const corner = h.x < 0.45 * s.width && h.y < 0.45 * s.height ? 'bottom: 2%;' : 'top: 2%;';
      return `position: absolute; left: 2%; ${corner} background: rgba(255,255,255,0.96);
              border: 1px solid #999; border-radius: 4px; padding: 6px 9px; font-size: 12px; line-height: 1.45;
              pointer-events: none; max-width: 340px; box-shadow: 0 1px 4px rgba(0,0,0,.3); z-index: 2;`;
    }
  }
};
</script>
"""


class MapWidget(ipyvue.VueTemplate):
    """The scenario map; ``state`` is :func:`simulation.app.state.map_state`, ``selected`` the clicked place."""

    template = traitlets.Unicode(MAP_TEMPLATE).tag(sync=True)
    state = traitlets.Dict().tag(sync=True)
    basemap = traitlets.Dict().tag(sync=True)  # basemap_state: the same each step, so traitlets sends it once
    selected = traitlets.Unicode("").tag(sync=True)

    def vue_select(self, place_id: str) -> None:
        self.selected = place_id or ""


def _testid(testid: str, children: list[Any], tag: str = "div", style: str = "") -> Any:
    """A plain element with a ``data-testid`` attribute, so that tests and users' scripts can find it."""
    return solara.v.Html(tag=tag, attributes={"data-testid": testid}, children=children, style_=style)


LEGEND = (
    ("●", "town or city (size: population)"), ("▲", "border crossing or checkpoint"),
    ("■", "base or airport; refinery with a gold edge"), ("◆", "dam"),
    ("▪", "forces present, one square per faction"), ("➤", "forces on the road (red edge: retreating)"),
)


@solara.component
def ConflictMap(model: AppModel, selected: solara.Reactive[str]) -> None:
    """The map of the scenario; clicking a place selects it."""
    update_counter.get()
    state = map_state(model, selected.value)
    with solara.Card(margin=0, style={"padding": "8px"}):
        MapWidget.element(state=state, basemap=basemap_state(model), selected=selected.value,
                          on_selected=selected.set)
        swatches = "".join(
            f'<span style="margin-right:14px;white-space:nowrap"><span style="display:inline-block;width:12px;'
            f'height:12px;background:{html.escape(f["colour"])};border-radius:2px;margin-right:4px;'
            f'vertical-align:-1px"></span>{html.escape(f["name"])}</span>' for f in state["legend"])
        marks = "".join(f'<span style="margin-right:14px;white-space:nowrap">{sym} {html.escape(text)}</span>'
                        for sym, text in LEGEND)
        rings = ('<span style="margin-right:14px;white-space:nowrap;color:#e31a1c">◯ battle today</span>'
                 '<span style="margin-right:14px;white-space:nowrap;color:#ff9f1c">◌ air strikes today</span>'
                 '<span style="margin-right:14px;white-space:nowrap;color:#9b30d9">◯ changed hands today</span>'
                 '<span style="white-space:nowrap;color:#d62728">- - closed road</span>')

        def item(colour: str, text: str) -> str:
            return f'<span style="margin-right:14px;white-space:nowrap;color:{colour}">{text}</span>'

        lake = (f'<span style="display:inline-block;width:12px;height:10px;background:{geography.WATER};'
                f'border:1px solid {geography.LAKE_EDGE};vertical-align:-1px"></span> lake or sea')
        roads = "".join(item(c, t) for c, t in (("#a39a88", "━ highway"), ("#a39a88", "─ road"),
                                                 ("#a39a88", "╌ desert track"), ("#5b8fc7", "┄ river crossing")))
        base = "".join(item(c, t) for c, t in ((geography.BORDER, "━ international border or coast"),
                                                (geography.GOVERNORATE, "╌ governorate boundary (Iraq)"),
                                                (geography.RIVER, "━ river"), ("inherit", lake),
                                                ("#777", "borders: Natural Earth; rivers, lakes: GSHHG")))
        solara.HTML(tag="div", unsafe_innerHTML=f"<div>{swatches}</div><div>{marks}{rings}</div>"
                                                f"<div>{roads}{base}</div>",
                    style={"font-size": "12px", "margin-top": "6px", "line-height": "1.6", "width": "100%"})


@solara.component
def DayCounter(model: AppModel) -> None:
    """``Day 15 of 30 · Sun 15 Jun 2014``."""
    update_counter.get()
    _testid("day-counter", [day_label(model)], style="font-size: 17px; font-weight: 600; margin: 4px 0 10px")


# ---------------------------------------------------------------------------------------------------------
# Cards beside the map


@solara.component
def PlaceCard(model: AppModel, place: str) -> None:
    """Who holds the selected place, the forces there and on the way, its people and the day's events."""
    update_counter.get()
    if place not in model.world.index:
        solara.Card("Place", children=[solara.Text("Click a place on the map.")])
        return
    d = place_details(model, place)
    rows = [
        f'<div style="font-size:18px;font-weight:600">{html.escape(d["name"])}</div>',
        f'<div style="color:#555">{html.escape(d["kind"])} · {html.escape(d["governorate"])}</div>',
        f'<div style="margin-top:6px">held by <b data-testid="place-controller" '
        f'style="color:{html.escape(d["colour"])}">{html.escape(d["controller"])}</b>'
        + ("" if d["controller"] == d["initial_controller"] else
           f' <span style="color:#555">(at the start: {html.escape(d["initial_controller"])})</span>') + "</div>",
    ]
    if d["forces"]:
        items = "".join(
            f'<tr><td><span style="display:inline-block;width:10px;height:10px;background:{html.escape(f["colour"])};'
            f'margin-right:5px"></span>{html.escape(f["faction"])}</td><td style="text-align:right">'
            f'{f["present"]:,}</td><td style="text-align:right;color:#555">{f["arriving"]:,}</td></tr>'
            for f in d["forces"])
        rows.append('<table style="margin-top:6px;font-size:13px;border-collapse:collapse;width:100%">'
                    '<tr style="color:#555"><td>forces</td><td style="text-align:right">here</td>'
                    f'<td style="text-align:right">on the way</td></tr>{items}</table>')
    else:
        rows.append('<div style="margin-top:6px">no forces here or on the way</div>')
    rows.append(f'<div style="margin-top:6px">population: {d["present"]:,} present '
                f'<span style="color:#555">({d["population0"]:,} at the start)</span></div>')
    rows.append(f'<div>displaced people sheltering here: {d["idps"]:,}; people who have left: '
                f'{d["displaced_from"]:,}</div>')
    if d["history"]:
        rows.append("<div style='margin-top:6px'>changed hands: "
                    + "; ".join(f'{h["date"][5:]} {html.escape(h["change"])}' for h in d["history"]) + "</div>")
    if d["today"]:
        rows.append("<div style='margin-top:6px;color:#b00'>" + "<br>".join(html.escape(t) for t in d["today"][:6])
                    + "</div>")
    with solara.Card(margin=0, style={"margin-bottom": "12px"}):
        _testid("place-card", [solara.HTML(tag="div", unsafe_innerHTML="".join(rows),
                                           style={"font-size": "14px", "line-height": "1.5"})])


TODAY_KINDS = (("control_change", "Changed hands"), ("battle", "Battles"), ("air_strike", "Air strikes"),
               ("rout", "Routs"), ("reinforcement", "Reinforcements"), ("mobilisation", "Mobilisation"),
               ("air_sorties", "Air sorties"), ("defection", "Defections"), ("morale_shock", "Morale shocks"),
               ("checkpoint_closed", "Checkpoints closed"), ("checkpoint_opened", "Checkpoints opened"),
               ("road_blocked", "Roads blocked"), ("road_opened", "Roads opened"))


@solara.component
def TodayCard(model: AppModel) -> None:
    """The events of the day last simulated, by kind."""
    update_counter.get()
    events = today_events(model)
    parts = []
    for kind, title in TODAY_KINDS:
        lines = events.get(kind, [])
        if not lines:
            continue
        shown = "".join(f"<li>{html.escape(x)}</li>" for x in lines[:5])
        more = f"<li style='color:#555'>and {len(lines) - 5} more</li>" if len(lines) > 5 else ""
        parts.append(f"<div style='margin-top:4px'><b>{title}</b> ({len(lines)})"
                     f"<ul style='margin:0;padding-left:18px'>{shown}{more}</ul></div>")
    body = "".join(parts) if parts else "<div style='color:#555'>Nothing yet: press Step or ▶.</div>"
    with solara.Card("Today", margin=0):
        solara.HTML(tag="div", unsafe_innerHTML=body, style={"font-size": "13px", "line-height": "1.45",
                                                             "max-height": "420px", "overflow-y": "auto"})


# ---------------------------------------------------------------------------------------------------------
# Charts: line charts drawn by the browser from :mod:`simulation.app_charts` layouts


CHART_TEMPLATE = """
<template>
  <div style="width: 100%;">
    <div style="font-size: 13px; font-weight: 600; margin-bottom: 2px;">{{ spec.title }}</div>
    <div style="position: relative;">
      <svg ref="svg" :viewBox="'0 0 ' + spec.width + ' ' + spec.height" @mousemove="onMove" @mouseleave="day = null"
           style="width: 100%; height: auto; display: block;">
        <g font-size="10" fill="#555">
          <text :transform="'translate(10,' + (spec.plot.y + spec.plot.h / 2) + ') rotate(-90)'"
                text-anchor="middle" data-testid="chart-ylabel">{{ spec.ylabel }}</text>
          <g v-for="(t, i) in spec.yticks" :key="'y' + i">
            <line :x1="spec.plot.x" :x2="spec.plot.x + spec.plot.w" :y1="t.y" :y2="t.y" stroke="#e6e6e6"></line>
            <text :x="spec.plot.x - 5" :y="t.y + 3" text-anchor="end">{{ t.label }}</text>
          </g>
          <g v-for="(t, i) in spec.xticks" :key="'x' + i">
            <line :x1="t.x" :x2="t.x" :y1="spec.plot.y + spec.plot.h" :y2="spec.plot.y + spec.plot.h + 4"
                  stroke="#999"></line>
            <text :x="t.x" :y="spec.plot.y + spec.plot.h + 15" text-anchor="middle">{{ t.label }}</text>
          </g>
        </g>
        <rect :x="spec.plot.x" :y="spec.plot.y" :width="spec.plot.w" :height="spec.plot.h" fill="none"
              stroke="#bbb"></rect>
        <path v-for="(b, i) in (spec.bands || [])" :key="'b' + i" :d="b.d" :fill="b.colour"
              :fill-opacity="b.opacity" stroke="none"></path>
        <path v-for="(s, i) in spec.series" :key="'s' + i" :d="s.d" fill="none" :stroke="s.colour"
              stroke-width="2.2" :stroke-dasharray="s.dashed ? '5 3' : 'none'"></path>
        <g v-for="(p, i) in spec.points" :key="'p' + i">
          <line v-if="p.y1 !== null" :x1="p.cx" :x2="p.cx" :y1="p.y1" :y2="p.y2" :stroke="p.colour"
                stroke-width="1.5"></line>
          <path :d="diamond(p)" :fill="p.hollow ? '#ffffff' : p.colour" :stroke="p.colour" stroke-width="1.5">
            <title>{{ p.title }}</title>
          </path>
        </g>
        <line v-if="day !== null" :x1="dayX" :x2="dayX" :y1="spec.plot.y" :y2="spec.plot.y + spec.plot.h"
              stroke="#777" stroke-dasharray="3 3"></line>
      </svg>
      <div v-if="day !== null" :style="tipStyle">
        <div style="font-weight: 600;">{{ spec.dates[day] }}</div>
        <div v-for="(s, i) in spec.series" :key="'t' + i">
          <span :style="'color:' + s.colour">&#9632;</span> {{ s.name.split(' (')[0] }}:
          {{ Math.round(s.values[day]).toLocaleString() }}
        </div>
      </div>
    </div>
    <div style="display: flex; flex-wrap: wrap; gap: 0 12px; font-size: 11px; margin-top: 2px;">
      <span v-for="(s, i) in spec.series" :key="'l' + i"><span :style="'display:inline-block;width:14px;height:3px;' +
        'vertical-align:3px;margin-right:4px;background:' + s.colour"></span>{{ s.name }}</span>
    </div>
    <div v-if="spec.note" style="font-size: 11px; color: #555;">{{ spec.note }}</div>
  </div>
</template>
<script>
module.exports = {
  data() {
    return { day: null };
  },
  computed: {
    days() {
      return this.spec.series.length ? this.spec.series[0].values.length : 0;
    },
    dayX() {
      return this.spec.x0 + this.day * this.spec.dx;
    },
    tipStyle() {
      const left = 100 * this.dayX / this.spec.width;
      const side = left > 55 ? `right: ${(102 - left).toFixed(1)}%;` : `left: ${(left + 2).toFixed(1)}%;`;
      return `position: absolute; ${side} top: 4px; background: rgba(255,255,255,0.95); border: 1px solid #aaa;
              border-radius: 4px; padding: 4px 7px; font-size: 11px; pointer-events: none; white-space: nowrap;`;
    }
  },
  methods: {
    onMove(event) {
      const box = this.$refs.svg.getBoundingClientRect();
      const x = (event.clientX - box.left) * this.spec.width / box.width;
      const d = Math.round((x - this.spec.x0) / this.spec.dx);
      this.day = d >= 0 && d < this.days ? d : null;
    },
    diamond(p) {
      const r = 5;
      return `M${p.cx},${p.cy - r} L${p.cx + r},${p.cy} L${p.cx},${p.cy + r} L${p.cx - r},${p.cy} Z`;
    }
  }
};
</script>
"""


class LineChartWidget(ipyvue.VueTemplate):
    """A line chart; ``spec`` is :func:`simulation.app_charts.layout` of a chart."""

    template = traitlets.Unicode(CHART_TEMPLATE).tag(sync=True)
    spec = traitlets.Dict().tag(sync=True)


@solara.component
def LineChart(model: AppModel, make: Callable[[AppModel], ChartSpec], testid: str = "") -> None:
    """The chart ``make(model)``, laid out again only when the model or its day changes."""
    update_counter.get()
    spec = solara.use_memo(lambda: layout(make(model)), dependencies=[model, model.day])
    if testid:
        _testid(testid, [LineChartWidget.element(spec=spec)])
    else:
        LineChartWidget.element(spec=spec)


def _places_held_post_process(model: AppModel) -> Callable[[Axes], None]:
    names = {f"places_{f.id}": short_name(f.name) for f in model.scenario_data.factions}
    start = model.scenario_data.start_date

    def date(x: float, _: int) -> str:  # the data collector's row i is the end of day i
        return (start + dt.timedelta(days=round(x))).strftime("%d %b")

    def post(ax: Axes) -> None:
        ax.figure.set_size_inches(5.6, 3.4)
        ax.set_title("Places held by each faction (Mesa plot of the data collector)", fontsize=10)
        ax.set_ylabel("places held")
        ax.xaxis.set_major_formatter(FuncFormatter(date))
        ax.margins(x=0)  # no tick before the first day
        ax.set_xlabel(f"date ({start.year}), end of day")
        # Mesa's PlotMatplotlib (3.1 to 3.5) labels the x axis "Step" after calling post_process: keep the dates.
        ax.set_xlabel = lambda *args, **kwargs: ax.xaxis.label
        handles, labels = ax.get_legend_handles_labels()
        ax.legend(handles, [names.get(x, x) for x in labels], fontsize=7, loc="best")
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)

    return post


@solara.component
def PlacesHeldChart(model: AppModel) -> None:
    """Mesa's own plot component on the data collector's ``places_<faction>`` reporters, against dates."""
    measure = {f"places_{f.id}": f.colour for f in model.scenario_data.factions}
    PlotMatplotlib(model, measure, post_process=_places_held_post_process(model))


# ---------------------------------------------------------------------------------------------------------
# Observations beside the model


def _yes_no(ok: bool) -> str:
    return '<span style="color:#1a9850">✓</span>' if ok else '<span style="color:#d73027">✗</span>'


@solara.component
def ControlTable(model: AppModel, obs: CompiledObservations | None) -> None:
    """Reported control of places so far beside the model's controller on the same day."""
    update_counter.get()
    with solara.Card("Reported control vs the model", margin=0):
        if obs is None:
            solara.Text("No observations for this scenario.")
            return
        rows = control_comparison(model, obs)
        names = {p.id: p.name for p in model.scenario_data.places}
        agree = sum(r["agree"] for r in rows)
        head = (f"<div style='margin-bottom:6px' data-testid='control-score'>{agree} of {len(rows)} reports so far "
                f"match the side holding the place in the model on the reported day ({len(obs.control)} reports "
                "in all).</div>")
        body = "".join(
            f"<tr><td>{r['date'][5:]}</td><td>{html.escape(names[r['place']])}</td><td>{html.escape(r['kind'])}</td>"
            f"<td>{html.escape(r['reported'])}</td><td>{html.escape(r['model'])}</td><td>{_yes_no(r['agree'])}</td>"
            "</tr>" for r in reversed(rows))
        table = ("<table style='width:100%;border-collapse:collapse;font-size:12px'><tr style='color:#555;"
                 "text-align:left'><th>date</th><th>place</th><th>report</th><th>reported</th><th>model</th><th></th>"
                 f"</tr>{body}</table>")
        solara.HTML(tag="div", unsafe_innerHTML=head + table,
                    style={"max-height": "330px", "overflow-y": "auto", "font-size": "13px"})


@solara.component
def CasualtyTable(model: AppModel, obs: CompiledObservations | None) -> None:
    """Reported casualty counts beside the model's count for the same parties, places and period."""
    update_counter.get()
    if obs is None:
        return
    rows = casualty_comparison(model, obs)
    if not rows:
        return
    body = "".join(
        f"<tr><td>{html.escape(r['scope'])}</td><td>{r['period'].replace('2014-', '')}</td>"
        f"<td style='text-align:right'>{r['reported_killed'] or '—'} / {r['reported_wounded'] or '—'}</td>"
        f"<td style='text-align:right'>{r['model_killed']:,} / {r['model_wounded']:,}"
        f"{' (so far)' if r['so_far'] else ''}</td></tr>" for r in rows)
    solara.HTML(tag="div", unsafe_innerHTML=(
        "<table style='width:100%;border-collapse:collapse;font-size:12px;margin-top:6px'>"
        "<tr style='color:#555;text-align:left'><th>reported (UN)</th><th>period</th>"
        "<th style='text-align:right'>killed / wounded</th><th style='text-align:right'>model, same scope</th>"
        f"</tr>{body}</table>"))
