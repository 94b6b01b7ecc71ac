"""The interactive app: watch the offensive unfold on a map, change parameters, compare counterfactuals.

Start it with ``conflict-sim viz [SCENARIO_DIR] [--port N]`` (see ``docs/app.md``). The page is built from Mesa 3's
visualization parts — its ``ModelController`` (Reset, play/pause, Step), ``UserInputs`` with ``Slider`` for the
parameters and toggles, and its ``PlotMatplotlib`` on the data collector — plus components of our own where
Mesa's fall short (:mod:`simulation.app_components`): Mesa draws grids and networks of agents, not places on a
lat/lon map held by factions, and ``SolaraViz``'s two-column draggable grid has no room for a large map.

Settings come from environment variables set by ``conflict-sim viz``: ``CONFLICT_SIM_SCENARIO`` (scenario
directory), ``CONFLICT_SIM_SEED`` and ``CONFLICT_SIM_OBSERVATIONS`` (observations directory; default: see
:func:`simulation.app.state.observations_for`).
"""

from __future__ import annotations

import math
import os
from typing import Any

import solara

from simulation.app.charts import casualties_chart, displacement_charts, population_chart
from simulation.app.components import (
    CasualtyTable,
    ConflictMap,
    ControlTable,
    DayCounter,
    LineChart,
    ModelController,
    PlaceCard,
    PlacesHeldChart,
    Slider,
    TodayCard,
    UserInputs,
)
from simulation.app.ensemble import EnsemblePage
from simulation.app.state import (
    DEFAULT_PLACE,
    DEFAULT_SCENARIO,
    MAIN_PARAMETERS,
    AppModel,
    available_counterfactuals,
    cached_scenario,
    default_settings,
    observations_for,
)
from simulation.parameters import PARAMETERS

CSS = """
.cs-compact .v-input__details { display: none; }
.cs-compact .v-input { margin-bottom: 0; }
.cs-mesa-plot img { width: 100% !important; height: auto !important; }
"""
ONE_RUN, ENSEMBLE = "One run", "Ensemble"
SCENARIO_ENV = "CONFLICT_SIM_SCENARIO"
SEED_ENV = "CONFLICT_SIM_SEED"
OBSERVATIONS_ENV = "CONFLICT_SIM_OBSERVATIONS"


def slider_for(name: str, value: float, bounds: tuple[float, float] | None = None) -> Slider:
    """A Mesa slider for parameter ``name`` over its fit bounds (or its physical bounds) that starts at ``value``.

    The step is a round number giving 100–250 positions; the range is widened, if needed, to include ``value``.
    """
    p = PARAMETERS[name]
    low, high = bounds if bounds else (p.low, p.high)
    low, high = min(low, value), max(high, value)
    step = 10 ** math.floor(math.log10((high - low) / 100))
    if (high - low) / step > 250:
        step *= 5 if (high - low) / (step * 5) >= 100 else 2
    return Slider(label=f"{name.replace('_', ' ')}: {value:.3g}", value=float(value), min=float(low), max=float(high),
                  step=float(step), dtype=float)


def user_params(settings: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Slider]]:
    """Mesa ``UserInputs`` specifications: the counterfactual check boxes and the parameter sliders."""
    scenario = cached_scenario(settings["scenario"])
    toggles = {name: {"type": "Checkbox", "value": bool(settings[name]), "label": label}
               for name, label in available_counterfactuals(scenario).items()}
    sliders = {name: slider_for(name, settings[name], scenario.fit_bounds.get(name)) for name in MAIN_PARAMETERS}
    return toggles, sliders


@solara.component
def Page() -> None:
    """The app's page (Solara serves ``Page`` of this module)."""
    initial = solara.use_memo(lambda: default_settings(os.environ.get(SCENARIO_ENV, str(DEFAULT_SCENARIO)),
                                                       int(os.environ.get(SEED_ENV, "1"))), [])
    first_model = solara.use_memo(lambda: AppModel(**initial), [])
    model = solara.use_reactive(first_model)
    settings = solara.use_reactive(initial)
    selected = solara.use_reactive(_default_place(first_model))
    play_interval = solara.use_reactive(250)
    render_interval = solara.use_reactive(1)
    use_threads = solara.use_reactive(False)
    observations = solara.use_memo(
        lambda: observations_for(cached_scenario(initial["scenario"]), os.environ.get(OBSERVATIONS_ENV) or None), [])
    mode = solara.use_reactive(ONE_RUN)
    toggles, sliders = user_params(settings.value)  # labels show the current values

    def change(name: str, value: Any) -> None:
        settings.value = {**settings.value, name: value}

    m = model.value
    solara.Title(f"conflict-sim · {m.scenario_data.name}")
    solara.Style(CSS)
    with solara.AppBar():
        solara.AppBarTitle(f"conflict-sim · {m.scenario_data.name} · {m.scenario_data.start_date:%d %b} – "
                           f"{m.scenario_data.end_date:%d %b %Y}")

    def mode_toggle() -> None:
        solara.ToggleButtonsSingle(value=mode, values=[ONE_RUN, ENSEMBLE], style={"margin-bottom": "10px"})

    def parameters() -> None:
        with solara.Card("Parameters", margin=0):
            UserInputs(sliders, on_change=change)

    if mode.value == ENSEMBLE:  # many seeds in the background, shares and bands (simulation.app.ensemble)
        EnsemblePage(settings.value, observations, selected, mode_toggle, parameters)
        return

    with solara.Sidebar():
        mode_toggle()
        with solara.Card("Run", margin=0, style={"margin-bottom": "10px"}):
            DayCounter(m)
            ModelController(model, model_parameters=settings, play_interval=play_interval,
                            render_interval=render_interval, use_threads=use_threads)
            solara.SliderInt("Play interval (ms)", value=play_interval, min=50, max=1500, step=50)
            if settings.value != m.settings:
                solara.Info("Settings changed: press Reset to start a run with them.", dense=True)
        with solara.Card("Scenario and counterfactuals", margin=0, style={"margin-bottom": "10px"}):
            solara.InputInt("Seed", value=settings.value["seed"], on_value=lambda v: change("seed", v))
            with solara.Column(classes=["cs-compact"], gap="0px"):
                UserInputs(toggles, on_change=change)
        with solara.Card("Parameters", margin=0):
            solara.HTML(tag="div", unsafe_innerHTML="Defaults are the scenario's values (fitted, where a fit "
                        "exists); changes apply on Reset.", style={"font-size": "12px", "color": "#555"})
            UserInputs(sliders, on_change=change)
            with solara.Details("What they mean"):
                solara.HTML(tag="dl", unsafe_innerHTML="".join(
                    f"<dt><b>{n.replace('_', ' ')}</b></dt><dd style='margin:0 0 6px 8px'>{PARAMETERS[n].doc}</dd>"
                    for n in MAIN_PARAMETERS), style={"font-size": "12px"})

    with _grid("minmax(0, 7fr) minmax(0, 4fr)"):
        ConflictMap(m, selected)
        with solara.Div():
            PlaceCard(m, selected.value)
            TodayCard(m)
    with _grid("repeat(3, minmax(0, 1fr))"):
        with solara.Card(margin=0):
            LineChart(m, casualties_chart, testid="chart-casualties")
            CasualtyTable(m, observations)
        with solara.Card(margin=0):
            LineChart(m, population_chart, testid="chart-population")
        with solara.Card(margin=0), solara.Column(classes=["cs-mesa-plot"]):
            PlacesHeldChart(m)
    with _grid("repeat(3, minmax(0, 1fr))"):
        with solara.Card(margin=0):
            LineChart(m, lambda mm: displacement_charts(mm, observations)[0], testid="chart-displaced-to")
        with solara.Card(margin=0):
            LineChart(m, lambda mm: displacement_charts(mm, observations)[1], testid="chart-displaced-from")
        ControlTable(m, observations)


def _grid(columns: str) -> Any:
    """A CSS grid row; ``minmax(0, ...)`` columns never grow with their content, so nothing overflows the page."""
    return solara.Div(style={"display": "grid", "grid-template-columns": columns, "gap": "12px",
                             "margin-bottom": "12px", "align-items": "start"})


def _default_place(model: AppModel) -> str:
    """The place selected when the page opens: Mosul, or else the most populous place."""
    s = model.scenario_data
    if DEFAULT_PLACE in s.place_ids:
        return DEFAULT_PLACE
    return max(s.places, key=lambda p: p.population).id
