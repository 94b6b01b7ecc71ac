"""The app's ensemble mode: many seeds computed in the background, the share of runs on the map, bands in the charts.

The runs go through :func:`simulation.runs.ensemble.run_ensemble` (the sweep layer's ensemble) on the serial
backend, in a thread of the server (a process pool cannot be started from a thread), so the page stays live and
shows the runs done so far. Finished ensembles are kept per scenario, parameters, counterfactual and number of
seeds (:data:`CACHE_SIZE` of them), so switching back and forth costs nothing.

The map draws each place as a pie of the share of runs in which each side holds it at the end of the day shown
(``data-shares`` on its ``data-place`` group; ``data-controller`` is the side holding it in the most runs); a
counterfactual chosen beside the baseline gets its own map and charts, same seeds, side by side.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
import solara

from simulation.app.charts import CIVILIAN_COLOUR, PALETTE, Chart, Point, Series, layout
from simulation.app.components import LineChartWidget, MapWidget, _testid
from simulation.app.state import (
    MAIN_PARAMETERS,
    available_counterfactuals,
    basemap_state,
    cached_scenario,
    map_state,
    short_name,
)
from simulation.calibration.observations import CompiledObservations
from simulation.engine.model import ConflictModel
from simulation.runs.counterfactuals import apply_counterfactuals
from simulation.runs.ensemble import EnsembleResult, run_ensemble

DEFAULT_SEEDS = 20
MAX_SEEDS = 200
CACHE_SIZE = 8
NONE = "none"
BAND = "band: 5–95 % of runs"

_cache: OrderedDict[tuple, EnsembleResult] = OrderedDict()
_lock = threading.Lock()


class Superseded(Exception):
    """The settings changed while an ensemble was computed: its runs are no longer wanted."""


def ensemble_key(settings: dict[str, Any], counterfactual: str | None, seeds: int) -> tuple:
    """What an ensemble of the app depends on: the scenario, the main parameters, the counterfactual, the seeds."""
    return (str(settings["scenario"]), tuple((k, float(settings[k])) for k in MAIN_PARAMETERS if k in settings),
            counterfactual or NONE, int(seeds))


def app_scenario(settings: dict[str, Any], counterfactual: str | None = None) -> Any:
    """The scenario an ensemble of the app runs: the app's scenario with its main parameters (the sliders) and
    the counterfactual applied."""
    s = cached_scenario(str(settings["scenario"]))
    if counterfactual and counterfactual != NONE:
        s = apply_counterfactuals(s, [counterfactual])
    return s.with_parameters({k: settings[k] for k in MAIN_PARAMETERS if k in settings}, origin="the app's sliders")


def compute_ensemble(settings: dict[str, Any], counterfactual: str | None, seeds: int,
                     observations: CompiledObservations | None,
                     progress: Callable[[int, int], None] | None = None) -> EnsembleResult:
    """The ensemble of seeds ``1 .. seeds`` (from the cache when it was computed before). ``progress(done, total)``
    is called after each batch of runs; it may raise :class:`Superseded` to stop."""
    key = ensemble_key(settings, counterfactual, seeds)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    ens = run_ensemble(app_scenario(settings, counterfactual), seeds, backend="serial", observations=observations,
                       callback=progress)
    with _lock:
        _cache[key] = ens
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return ens


# ---------------------------------------------------------------------------------------------------------
# The map: pies of shares


def pie_paths(x: float, y: float, r: float, shares: np.ndarray, colours: list[str]) -> list[dict[str, str]]:
    """SVG paths of a pie at (x, y) of radius ``r``: a wedge per nonzero share, from the top, clockwise.

    Examples
    --------
    >>> [w["fill"] for w in pie_paths(0, 0, 10, np.array([0.5, 0, 0.5]), ["a", "b", "c"])]
    ['a', 'c']
    """
    out = []
    start = 0.0
    for f in np.flatnonzero(shares > 0).tolist():
        share = float(shares[f])
        if share >= 1 - 1e-12:  # a whole circle: an arc cannot end where it starts
            d = (f"M{x - r:.1f},{y:.1f} a{r:.1f},{r:.1f} 0 1,0 {2 * r:.1f},0 "
                 f"a{r:.1f},{r:.1f} 0 1,0 {-2 * r:.1f},0 Z")
        else:
            a0, a1 = 2 * math.pi * start, 2 * math.pi * (start + share)
            x0, y0 = x + r * math.sin(a0), y - r * math.cos(a0)
            x1, y1 = x + r * math.sin(a1), y - r * math.cos(a1)
            d = (f"M{x:.1f},{y:.1f} L{x0:.2f},{y0:.2f} A{r:.1f},{r:.1f} 0 {1 if share > 0.5 else 0},1 "
                 f"{x1:.2f},{y1:.2f} Z")
        out.append({"d": d, "fill": colours[f]})
        start += share
    return out


def ensemble_map_state(model: ConflictModel, ens: EnsembleResult, day: int, selected: str | None = None,
                       width: float = 1000.0) -> dict[str, Any]:
    """The map of :func:`simulation.app.state.map_state` (places, roads, names) with each place a pie of the share
    of runs each side holds it at the end of day index ``day``; no forces or moving units (they differ by run).

    ``model`` is any model of the scenario at its start (only the places' positions and sizes are read).
    """
    state = map_state(model, selected, width)
    s = ens.scenario
    share = ens.control_share()[day]
    fell = ens.fell_days()
    colours = [f.colour for f in s.factions]
    names = [short_name(f.name) for f in s.factions]
    date = s.start_date + dt.timedelta(days=day)
    end = s.start_date + dt.timedelta(days=ens.days - 1)
    for k, p in enumerate(state["places"]):
        r = max(1.25 * p["r"], 7.0)  # a pie must be large enough to show its slices
        lead = int(np.argmax(share[k]))
        held = ", ".join(f"{names[f]} {100 * share[k, f]:.0f} %" for f in np.argsort(-share[k], kind="stable")
                         if share[k, f] > 0)
        days = fell[:, k][fell[:, k] >= 0]
        lines = [p["info"][0], f"held at the end of {date:%d %b} by: {held} (of {ens.runs} runs)"]
        if days.size:
            median = s.start_date + dt.timedelta(days=int(np.floor(np.median(days))))
            lines.append(f"fell by {end:%d %b} in {100 * days.size / ens.runs:.0f} % of runs (median {median:%d %b})")
        else:
            lines.append(f"fell by {end:%d %b} in no run")
        p.update(shape="pie", r=r, pie=pie_paths(p["x"], p["y"], r, share[k], colours), fill=colours[lead],
                 controller=s.factions[lead].id, info=lines, battle=False, air=False, taken=False, points="",
                 shares=json.dumps({s.factions[f].id: round(float(share[k, f]), 6) for f in range(len(colours))
                                    if share[k, f] > 0}, sort_keys=True))
    state.update(day=day + 1, forces=[], moving=[])
    return state


# ---------------------------------------------------------------------------------------------------------
# Charts with bands


_PAIR = re.compile(r"(-?[\d.]+),(-?[\d.]+)")


def band_chart(title: str, ens: EnsembleResult, bands: list[tuple[str, str, np.ndarray]],
               points: list[Point] | None = None, note: str = "") -> dict[str, Any]:
    """A chart layout (:func:`simulation.app.charts.layout`) of medians with their 5–95 % and 25–75 % bands.

    ``bands``: ``(name, colour, quantiles)``, quantiles ``(5, days)`` at 5, 25, 50, 75 and 95 %. The bands are
    laid out as lines first (so the y scale covers them) and then turned into closed areas.
    """
    series = []
    for name, colour, q in bands:
        series.append(Series(name, colour, q[2].tolist()))
        series += [Series("", colour, q[i].tolist()) for i in (0, 4, 1, 3)]
    spec = layout(Chart(title, ens.scenario.start_date, ens.days, series, points or [], note))
    out_series, areas = [], []
    for b in range(len(bands)):
        median, lo, hi, q1, q3 = spec["series"][5 * b: 5 * b + 5]
        out_series.append(median)
        for a, c, opacity in ((lo, hi, 0.16), (q1, q3, 0.32)):
            low, high = _PAIR.findall(a["d"]), _PAIR.findall(c["d"])
            d = "M" + " L".join(f"{px},{py}" for px, py in high + low[::-1]) + " Z"
            areas.append({"d": d, "colour": median["colour"], "opacity": opacity})
    spec["series"] = out_series
    spec["bands"] = areas
    return spec


def ensemble_charts(ens: EnsembleResult) -> list[tuple[str, dict[str, Any]]]:
    """The charts of an ensemble: killed by party, people under each side, and each reported figure's scope (the
    model's band, the reported values as diamonds)."""
    from simulation.runs.ensemble_output import reported_figures

    s = ens.scenario
    bands = ens.bands()
    colours = [f.colour for f in s.factions] + [CIVILIAN_COLOUR]
    names = [short_name(f.name) for f in s.factions] + ["Civilians"]
    charts = [("chart-ensemble-killed", band_chart(
        "Killed by party, cumulative: median and band (5–95 %, 25–75 % of runs)", ens,
        [(f"{names[q]} ({bands[f'killed_{p}'][2][-1]:,.0f})", colours[q], bands[f"killed_{p}"])
         for q, p in enumerate(ens.parties)])),
        ("chart-ensemble-people", band_chart(
            "People living in the places each side holds: median and band", ens,
            [(names[i], colours[i], bands[f"people_{f}"]) for i, f in enumerate(ens.factions)]))]
    figures = reported_figures(ens)
    for quantity, testid, title in (
            (("killed",), "chart-ensemble-reported-killed", "Reported killed beside the model's count of the same "
             "people (cumulative from each report's start)"),
            (("present",), "chart-ensemble-displaced-to", "Displaced people present: reported and model"),
            (("left",), "chart-ensemble-displaced-from", "People who have fled: reported and model")):
        scopes = [i for i, sc in enumerate(ens.scopes) if sc.quantity in quantity]
        if not scopes:
            continue
        palette = iter(PALETTE)
        lines, points = [], []
        for i in scopes:
            rows = [r for r in figures if r["scope"] == i]
            colour = next(palette, "#444444")
            start = min((r["start_day"] for r in rows), default=0)
            q = np.quantile(ens.scope_values(i, start).astype(float), (0.05, 0.25, 0.5, 0.75, 0.95), axis=0)
            label = ens.scopes[i].name.split(": ", 1)[-1]
            lines.append((label[:60], colour, q))
            for r in rows:
                lo, med, hi = r["model"]
                points.append(Point(r["date"], r["reported"], colour,
                                    f"{label}, {r['date']:%d %b}: {r['reported']:,.0f} reported; model median "
                                    f"{med:,.0f} (5–95 %: {lo:,.0f}–{hi:,.0f}) [{r['split']}]",
                                    low=r["low"], high=r["high"], hollow=r["split"] != "calibration"))
        charts.append((testid, band_chart(title, ens, lines, points,
                                          "◆ reported (filled: used for calibration; hollow: kept for validation)")))
    return charts


# ---------------------------------------------------------------------------------------------------------
# The page's ensemble mode


def button_label(name: str) -> str:
    """``'no_air_strikes' -> 'No air strikes'``; ``'none' -> 'None'``."""
    return name.replace("_", " ").capitalize()


@solara.component
def EnsembleControls(seeds: solara.Reactive[int], day: solara.Reactive[int], beside: solara.Reactive[str],
                     days: int, start: dt.date, options: dict[str, str]) -> None:
    """The ensemble mode's controls: the number of seeds, the day shown, the counterfactual beside the baseline."""
    with solara.Card("Ensemble", margin=0, style={"margin-bottom": "10px"}):
        solara.InputInt("Runs (seeds 1 to N)", value=seeds.value,
                        on_value=lambda v: seeds.set(min(max(int(v or 1), 1), MAX_SEEDS)))
        date = start + dt.timedelta(days=day.value - 1)
        _testid("ensemble-day", [f"Day {day.value} of {days} · {date:%a %d %b %Y}"],
                style="font-size: 15px; font-weight: 600; margin: 8px 0 0")
        solara.SliderInt("Day shown", value=day, min=1, max=days, step=1)
        solara.HTML(tag="div", unsafe_innerHTML="Counterfactual beside the baseline (same seeds):",
                    style={"font-size": "13px", "margin-top": "6px"})
        with solara.Column(gap="4px"):
            for name, description in {NONE: "the baseline alone", **options}.items():
                solara.Button(button_label(name), text=beside.value != name,
                              color="primary" if beside.value == name else None,
                              on_click=lambda n=name: beside.set(n), small=True,
                              style={"text-transform": "none", "justify-content": "flex-start"},
                              attributes={"data-testid": f"beside-{name}", "title": description})


@solara.component
def EnsembleStatus(task: Any, seeds: int, label: str, testid: str) -> None:
    """A progress bar while the runs are computed; then how many ran."""
    if task.pending or task.not_called:
        progress = task.progress if isinstance(task.progress, (int, float)) else 0
        done = round(progress * seeds / 100)
        _testid(testid, [f"{label}: computing runs… {done} of {seeds} done"], style="font-size: 13px")
        solara.ProgressLinear(value=progress if progress else True)
    elif task.error:
        solara.Error(f"{label}: {task.exception}")
    elif task.finished:
        _testid(testid, [f"{label}: {task.value.runs} runs (seeds 1–{task.value.runs})"],
                style="font-size: 13px; color: #555")


def _use_ensemble(settings: dict[str, Any], counterfactual: str | None, seeds: int,
                  observations: CompiledObservations | None) -> Any:
    """The task computing one ensemble in the background, started again whenever its inputs change."""
    key = ensemble_key(settings, counterfactual, seeds) if counterfactual != "" else None
    holder: dict[str, Any] = {}

    def compute() -> EnsembleResult | None:
        if key is None:
            return None
        task = holder["task"]

        def progress(done: int, total: int) -> None:
            if not task.is_current():
                raise Superseded
            task.progress = 100.0 * done / total

        return compute_ensemble(settings, counterfactual, seeds, observations, progress)

    task = solara.lab.use_task(compute, dependencies=[key], raise_error=False)
    holder["task"] = task
    return task


@solara.component
def EnsembleMap(ens: EnsembleResult, day: int, selected: solara.Reactive[str], title: str, testid: str) -> None:
    model = solara.use_memo(lambda: ConflictModel(ens.scenario, seed=1), dependencies=[ens.scenario.name, id(ens)])
    state = ensemble_map_state(model, ens, day - 1, selected.value)
    with solara.Card(margin=0, style={"padding": "8px"}):
        solara.HTML(tag="div", unsafe_innerHTML=html.escape(title), style={"font-weight": "600", "font-size": "14px"})
        _testid(testid, [MapWidget.element(state=state, basemap=basemap_state(model), selected=selected.value,
                                           on_selected=selected.set)])


def _legend(ens: EnsembleResult) -> None:
    swatches = "".join(
        f'<span style="margin-right:14px;white-space:nowrap"><span style="display:inline-block;width:12px;'
        f'height:12px;background:{html.escape(f.colour)};border-radius:6px;margin-right:4px;vertical-align:-1px">'
        f"</span>{html.escape(short_name(f.name))}</span>" for f in ens.scenario.factions)
    solara.HTML(tag="div", unsafe_innerHTML=f"<div>{swatches}</div><div style='color:#555'>Each place is a pie: the "
                "share of runs in which each side holds it at the end of the day shown. Hover a place for the "
                "shares and how often it fell; the charts show the median and the 5–95 % and 25–75 % bands "
                "over the runs.</div>", style={"font-size": "12px", "margin": "4px 0 10px", "line-height": "1.6"})


@solara.component
def EnsembleView(settings: dict[str, Any], observations: CompiledObservations | None,
                 selected: solara.Reactive[str], seeds: solara.Reactive[int], day: solara.Reactive[int],
                 beside: solara.Reactive[str]) -> None:
    """The main area of the ensemble mode: the baseline's map and charts, and the counterfactual's beside them."""
    base = _use_ensemble(settings, None, seeds.value, observations)
    cf_name = beside.value if beside.value != NONE else ""
    other = _use_ensemble(settings, cf_name, seeds.value, observations)
    options = available_counterfactuals(cached_scenario(str(settings["scenario"])))
    columns = [("Baseline", base, "baseline")]
    if cf_name:
        columns.append((options.get(cf_name, cf_name), other, "counterfactual"))
    grid = "repeat(2, minmax(0, 1fr))"
    with solara.Div(style={"display": "grid", "grid-template-columns": grid if cf_name else "minmax(0, 1fr)",
                           "gap": "12px", "margin-bottom": "6px"}):
        for label, task, tag in columns:
            with solara.Div():
                EnsembleStatus(task, seeds.value, label, f"ensemble-status-{tag}")
                ens = task.value if task.finished else task.latest
                if ens is not None and isinstance(ens, EnsembleResult):
                    EnsembleMap(ens, min(day.value, ens.days), selected, f"{label}: share of {ens.runs} runs",
                                f"map-{tag}")
    done = [(label, task.value) for label, task, _ in columns if task.finished and task.value is not None]
    if not done:
        return
    _legend(done[0][1])
    charts = [ensemble_charts(ens) for _, ens in done]
    # One ensemble: its charts two by two; two: each chart of the baseline beside the counterfactual's.
    rows = [charts[0][i: i + 2] for i in range(0, len(charts[0]), 2)] if len(done) == 1 else \
        [[specs[i] for specs in charts] for i in range(len(charts[0]))]
    tags = ["baseline"] if len(done) == 1 else ["baseline", "counterfactual"]
    for row in rows:
        with solara.Div(style={"display": "grid", "grid-template-columns": grid, "gap": "12px",
                               "margin-bottom": "12px", "align-items": "start"}):
            for j, (testid, spec) in enumerate(row):
                tag = tags[0] if len(done) == 1 else tags[j]
                if len(done) > 1:
                    spec = {**spec, "title": f"{done[j][0]}: {spec['title']}"}
                with solara.Card(margin=0):
                    _testid(f"{testid}-{tag}", [LineChartWidget.element(spec=spec)])


@solara.component
def EnsemblePage(settings: dict[str, Any], observations: CompiledObservations | None,
                 selected: solara.Reactive[str], mode_toggle: Callable[[], None],
                 parameters: Callable[[], None]) -> None:
    """The ensemble mode: its sidebar (the mode switch, its controls, the parameter sliders) and its main area."""
    scenario = cached_scenario(str(settings["scenario"]))
    seeds = solara.use_reactive(DEFAULT_SEEDS)
    day = solara.use_reactive(scenario.days)
    beside = solara.use_reactive(NONE)
    with solara.Sidebar():
        mode_toggle()
        EnsembleControls(seeds, day, beside, scenario.days, scenario.start_date,
                         available_counterfactuals(scenario))
        parameters()
    EnsembleView(settings, observations, selected, seeds, day, beside)
