"""What the interactive app shows, computed from a model as plain data (no Solara here).

:class:`AppModel` is the :class:`~simulation.model.ConflictModel` the app steps: its keyword arguments are the
app's controls (scenario, seed, counterfactual toggles and model parameters), so that Mesa's controller can
rebuild it on Reset with ``AppModel(**settings)``. The functions below turn a model into what the page draws:
the map (:func:`map_state`), the card of one place (:func:`place_details`), daily series for the charts, and the
reported observations beside the model's values. Keeping them pure makes them testable without a browser.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation import geography
from simulation.app import DEFAULT_OBSERVATIONS, DEFAULT_SCENARIO
from simulation.calibration.observations import (
    KURDISTAN_REGION,
    CompiledObservations,
    compile_observations,
    observations_dir,
)
from simulation.calibration.observations import load_observations as load_observation_tables
from simulation.engine.model import ConflictModel
from simulation.runs.counterfactuals import COUNTERFACTUALS, apply_counterfactuals
from simulation.runs.observed import (  # noqa: F401 - the app's components and charts import them from here
    casualty_comparison,
    control_comparison,
    displacement_points,
)
from simulation.scenario import Scenario, ScenarioError, load_scenario

# The parameters the app offers as sliders: the ones that decide who wins, how fast and at what cost.
MAIN_PARAMETERS = (
    "attack_ratio",
    "defender_advantage",
    "attrition_rate",
    "rout_threshold",
    "morale_fall_shock",
    "morale_outnumbered",
    "desertion_share",
    "hostile_population_morale",
    "sortie_kill_rate",
    "recruit_rate",
)
DEFAULT_PLACE = "mosul"  # selected when the page opens, if the scenario has it


# ---------------------------------------------------------------------------------------------------------
# The model the app steps


@functools.lru_cache(maxsize=8)
def cached_scenario(path: str, use_fitted: bool = True) -> Scenario:
    """Load a scenario once per process (the app rebuilds models from it on every Reset)."""
    return load_scenario(path, use_fitted=use_fitted)


class AppModel(ConflictModel):
    """The model behind the app: a :class:`ConflictModel` built from the app's controls.

    Parameters
    ----------
    scenario : path of the scenario directory (its fitted parameters, if any, are applied).
    seed : seed of the random generator.
    **settings : ``name=True`` applies the counterfactual ``name`` of
        :data:`simulation.counterfactuals.COUNTERFACTUALS` (e.g. ``no_air_strikes``, ``mosul_full_strength``,
        ``checkpoints_closed``); every other name is a model parameter overriding the scenario's value.

    Raises
    ------
    ScenarioError
        A counterfactual asked for changes nothing in the scenario, or a parameter is out of bounds.
    """

    def __init__(self, scenario: str | Path = DEFAULT_SCENARIO, seed: int = 1, **settings: Any):
        parameters = {k: v for k, v in settings.items() if k not in COUNTERFACTUALS}
        chosen = [name for name in COUNTERFACTUALS if settings.get(name)]
        super().__init__(apply_counterfactuals(cached_scenario(str(scenario)), chosen), seed=int(seed), **parameters)
        self.counterfactuals = chosen
        self.settings = {"scenario": str(scenario), "seed": int(seed), **settings}


def available_counterfactuals(scenario: Scenario) -> dict[str, str]:
    """The counterfactuals of :data:`simulation.counterfactuals.COUNTERFACTUALS` that change something in
    ``scenario``, with the labels of their check boxes."""
    out = {}
    for name, c in COUNTERFACTUALS.items():
        try:
            c.transform(scenario)
        except ScenarioError:
            continue
        out[name] = c.description[:1].upper() + c.description[1:]
    return out


def default_settings(scenario: str | Path = DEFAULT_SCENARIO, seed: int = 1) -> dict[str, Any]:
    """The app's initial controls: every available counterfactual off, and the scenario's own (fitted) values of
    the main parameters."""
    s = cached_scenario(str(scenario))
    return {"scenario": str(scenario), "seed": int(seed), **dict.fromkeys(available_counterfactuals(s), False),
            **{name: s.parameters[name] for name in MAIN_PARAMETERS}}


# ---------------------------------------------------------------------------------------------------------
# Time


def last_simulated_date(model: ConflictModel) -> dt.date | None:
    """The date of the day most recently simulated, or None before the first step."""
    if model.day == 0:
        return None
    return model.scenario_data.start_date + dt.timedelta(days=model.day - 1)


def day_label(model: ConflictModel) -> str:
    """``'Day 15 of 30 · Sun 15 Jun 2014'``: the days simulated and the date the page shows the end of."""
    date = last_simulated_date(model)
    when = (f"start, {model.scenario_data.start_date:%a %d %b %Y}" if date is None else f"{date:%a %d %b %Y}")
    return f"Day {model.day} of {model.days} · {when}"


def _log_today(model: ConflictModel) -> list[tuple[str, str, str, str]]:
    date = last_simulated_date(model)
    if date is None:
        return []
    iso = date.isoformat()
    return [e for e in model.log if e[0] == iso]


def short_name(name: str) -> str:
    """A faction's name without its parenthesised detail."""
    return name.split(" (")[0]


# ---------------------------------------------------------------------------------------------------------
# The map


def _forces_present(model: ConflictModel) -> np.ndarray:
    """Personnel at each place by faction, of units not on the road: ``[place, faction]``."""
    u, n, nf = model.units, model.units.n, len(model.faction_ids)
    here = u.alive[:n] & (u.next[:n] < 0) & (u.personnel[:n] > 0)
    return np.bincount(u.loc[:n][here] * nf + u.faction[:n][here], u.personnel[:n][here],
                       model.world.n * nf).reshape(model.world.n, nf).astype(np.int64)


def _forces_arriving(model: ConflictModel) -> np.ndarray:
    """Personnel on the road toward each place (their next stop) by faction: ``[place, faction]``."""
    u, n, nf = model.units, model.units.n, len(model.faction_ids)
    moving = u.alive[:n] & (u.next[:n] >= 0) & (u.personnel[:n] > 0)
    return np.bincount(u.next[:n][moving] * nf + u.faction[:n][moving], u.personnel[:n][moving],
                       model.world.n * nf).reshape(model.world.n, nf).astype(np.int64)


def _projection(model: ConflictModel, width: float, margin: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Equirectangular projection of the places into a ``width``-wide picture: x, y and its height."""
    project, height = _projector(tuple(model.world.lon.tolist()), tuple(model.world.lat.tolist()), width, margin)
    x, y = project(model.world.lon, model.world.lat)
    return x, y, height


def _projector(lon: tuple[float, ...], lat: tuple[float, ...], width: float,
               margin: float) -> tuple[Any, float]:
    """``project(lon, lat) -> (x, y)`` fitting the places ``lon``, ``lat`` into the picture, and its height:
    x = margin + (lon - lon_min) cos(mean lat) s, y = margin + (lat_max - lat) s."""
    lo, la = np.asarray(lon), np.asarray(lat)
    k = math.cos(math.radians(float(la.mean())))
    x0, y0 = float(lo.min()), float(la.max())
    xs_max, ys_max = (float(lo.max()) - x0) * k, y0 - float(la.min())
    scale = (width - 2 * margin) / max(xs_max, ys_max * 0.75, 1e-9)

    def project(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return margin + (np.asarray(lon) - x0) * k * scale, margin + (y0 - np.asarray(lat)) * scale

    return project, ys_max * scale + 2 * margin


MAP_MARGIN = 60.0  # pixels around the places: room for the neighbours' names and the degree labels


def _radius(kind: str, pop0: float, pop_max: float) -> float:
    """A place's mark: circles (towns, cities) by population, other kinds of a fixed size."""
    if SHAPES.get(kind, "circle") == "circle":
        return 3.0 + 13.0 * math.sqrt(pop0 / pop_max)
    return 7.0 if kind == "refinery" else 5.5


def basemap_state(model: ConflictModel, width: float = 1000.0) -> dict[str, Any]:
    """The base map under :func:`map_state`'s places, in its pixels (:func:`simulation.geography.svg_basemap`):
    borders, governorates, rivers, lakes, degree lines, country and river names. It depends only on the places'
    positions and sizes, so it is computed once per scenario and sent to the browser once."""
    w = model.world
    return _basemap(tuple(w.lon.tolist()), tuple(w.lat.tolist()), tuple(w.population0.tolist()), tuple(w.kind),
                    width)


@functools.lru_cache(maxsize=8)
def _basemap(lon: tuple[float, ...], lat: tuple[float, ...], pop0: tuple[int, ...], kind: tuple[str, ...],
             width: float) -> dict[str, Any]:
    project, height = _projector(lon, lat, width, MAP_MARGIN)
    x, y = project(np.array(lon), np.array(lat))
    pop_max = max(max(pop0), 1)
    marks = [(a - r, b - r, a + r, b + r) for a, b, r in
             zip(x.tolist(), y.tolist(), (_radius(k, p, pop_max) for k, p in zip(kind, pop0)))]
    return {"height": round(height, 1),
            **geography.svg_basemap(project, width, height, marks, np.column_stack([lon, lat]))}


SHAPES = {"crossing": "triangle", "checkpoint": "triangle", "refinery": "square", "base": "square",
          "airport": "square", "dam": "diamond"}


def map_state(model: ConflictModel, selected: str | None = None, width: float = 1000.0) -> dict[str, Any]:
    """Everything the map draws, as JSON-ready data.

    Places are drawn at their lat/lon (equirectangular), coloured by controller and sized by population;
    the shape gives the kind (circle: town or city; triangle: border crossing or checkpoint; square: refinery,
    base or airport; diamond: dam). Each faction's personnel at a place is a square beside it; units on the road
    are arrowheads between places. ``battle``, ``air`` and ``taken`` flag what happened at a place on the day last
    simulated; ``info`` is the text shown when hovering the place; ``label`` where its name goes (``x``, ``y``,
    ``anchor`` of an SVG text), or None where a name would hide another or a mark. The base map under it all is
    :func:`basemap_state`, sent apart since it does not change.

    Returns
    -------
    dict with ``width``, ``height``, ``day``, ``roads``, ``places``, ``forces``, ``moving`` and ``legend``.
    """
    w, s = model.world, model.scenario_data
    X, Y, height = _projection(model, width, MAP_MARGIN)
    factions = s.factions
    colour = [f.colour for f in factions]
    names = [short_name(f.name) for f in factions]
    present = _forces_present(model)
    arriving = _forces_arriving(model)
    civ = model.civilians
    today = _log_today(model)
    battle = {e[2] for e in today if e[1] == "battle"}
    air = {e[2] for e in today if e[1] == "air_strike"}
    taken = {e[2] for e in today if e[1] == "control_change"}
    pop0 = w.population0.astype(float)
    pop_max = max(float(pop0.max()), 1.0)

    roads = []
    for r in s.roads:
        i, j = w.index[r.a], w.index[r.b]
        roads.append({"x1": round(float(X[i]), 1), "y1": round(float(Y[i]), 1), "x2": round(float(X[j]), 1),
                      "y2": round(float(Y[j]), 1), "kind": r.kind, "open": bool(w.open_road[i, j]),
                      "title": f"{r.a} – {r.b}: {r.km:g} km, {r.kind}"
                      + ("" if w.open_road[i, j] else " (closed)")})

    places, forces = [], []
    for i, p in enumerate(s.places):
        x, y = float(X[i]), float(Y[i])
        shape = SHAPES.get(p.kind, "circle")
        r = _radius(p.kind, float(pop0[i]), pop_max)
        ctrl = int(model.controller[i])
        lines = [f"{p.name} · {p.kind} · {p.governorate}", f"held by {names[ctrl]}"]
        here = [f"{names[f]} {int(present[i, f]):,}" for f in range(len(factions)) if present[i, f] > 0]
        lines.append("forces: " + (", ".join(here) if here else "none"))
        coming = [f"{names[f]} {int(arriving[i, f]):,}" for f in range(len(factions)) if arriving[i, f] > 0]
        if coming:
            lines.append("on the way: " + ", ".join(coming))
        lines.append(f"population: {int(civ.present[i]):,} present ({int(pop0[i]):,} before)")
        lines.append(f"displaced: {int(civ.idps[i]):,} sheltering here, {int(civ.displaced_from[i]):,} have left")
        events = [label for flag, label in ((p.id in battle, "battle"), (p.id in air, "air strikes"),
                                            (p.id in taken, "changed hands")) if flag]
        if events:
            lines.append("today: " + ", ".join(events))
        places.append({
            "id": p.id, "name": p.name, "kind": p.kind, "shape": shape, "x": round(x, 1), "y": round(y, 1),
            "r": round(r, 1), "points": _polygon(shape, x, y, r), "fill": colour[ctrl],
            "controller": s.factions[ctrl].id, "selected": p.id == selected,
            "battle": p.id in battle, "air": p.id in air, "taken": p.id in taken,
            "label": None, "info": lines,
        })
        for f in np.flatnonzero(present[i]).tolist():
            side = min(max(math.sqrt(present[i, f]) / 6.0, 3.0), 13.0)
            dx, dy = ((1, -1), (1, 1), (-1, 1), (-1, -1))[f % 4]
            d = (r + side / 2 + 2.0) / math.sqrt(2)
            forces.append({"x": round(x + dx * d - side / 2, 1), "y": round(y + dy * d - side / 2, 1),
                           "s": round(side, 1), "fill": colour[f],
                           "title": f"{names[f]}: {int(present[i, f]):,} at {p.name}"})

    # Names: the selected place's first, then by value and population, each beside its mark where it hides no
    # other name, mark, force or name of the base map; the others are left to the hover card.
    obstacles = [(p["x"] - p["r"], p["y"] - p["r"], p["x"] + p["r"], p["y"] + p["r"]) for p in places]
    obstacles += [(f["x"], f["y"], f["x"] + f["s"], f["y"] + f["s"]) for f in forces]
    base = basemap_state(model, width)
    obstacles += [tuple(lab["box"]) for lab in base["labels"] + base["graticule"]]
    order = sorted(range(len(places)), key=lambda i: (places[i]["id"] != selected,
                                                      -(w.value[i] + pop0[i] / 1e5), i))
    labels = geography.svg_labels([places[i]["x"] for i in order], [places[i]["y"] for i in order],
                                  [places[i]["r"] for i in order], [places[i]["name"] for i in order],
                                  obstacles, width, height)
    for i, lab in zip(order, labels):
        places[i]["label"] = lab and {k: lab[k] for k in ("x", "y", "anchor")}

    moving = []
    u, n = model.units, model.units.n
    for row in np.flatnonzero(u.alive[:n] & (u.next[:n] >= 0) & (u.personnel[:n] > 0)).tolist():
        a, b = int(u.loc[row]), int(u.next[row])
        km = float(w.road_km[a, b]) or 1.0
        t = min(max(1.0 - float(u.km_left[row]) / km, 0.0), 1.0)
        x, y = X[a] + t * (X[b] - X[a]), Y[a] + t * (Y[b] - Y[a])
        angle = math.atan2(Y[b] - Y[a], X[b] - X[a])
        size = min(max(math.sqrt(float(u.personnel[row])) / 5.0, 4.0), 12.0)
        f = int(u.faction[row])
        tip = (x + size * math.cos(angle), y + size * math.sin(angle))
        left = (x + size * 0.6 * math.cos(angle + 2.4), y + size * 0.6 * math.sin(angle + 2.4))
        right = (x + size * 0.6 * math.cos(angle - 2.4), y + size * 0.6 * math.sin(angle - 2.4))
        moving.append({"points": " ".join(f"{px:.1f},{py:.1f}" for px, py in (tip, left, right)),
                       "fill": colour[f], "routing": bool(u.routing[row]),
                       "title": f"{names[f]}: {int(u.personnel[row]):,} {'retreating' if u.routing[row] else 'moving'}"
                                f" {w.place_ids[a]} → {w.place_ids[b]}"})

    return {"width": width, "height": round(height, 1), "day": model.day, "roads": roads, "places": places,
            "forces": forces, "moving": moving,
            "legend": [{"name": names[i], "colour": colour[i]} for i in range(len(factions))]}


def _polygon(shape: str, x: float, y: float, r: float) -> str:
    if shape == "triangle":
        pts = ((x, y - r * 1.2), (x + r, y + r * 0.8), (x - r, y + r * 0.8))
    elif shape == "diamond":
        pts = ((x, y - r * 1.2), (x + r * 1.2, y), (x, y + r * 1.2), (x - r * 1.2, y))
    else:
        return ""
    return " ".join(f"{px:.1f},{py:.1f}" for px, py in pts)


# ---------------------------------------------------------------------------------------------------------
# One place


def place_details(model: ConflictModel, place: str) -> dict[str, Any]:
    """The card of one place: who holds it, the forces there and on the way, its people, and its history.

    Raises
    ------
    KeyError
        ``place`` is not a place of the model's scenario.
    """
    w, s = model.world, model.scenario_data
    i = w.index[place]
    p = s.places[i]
    present, arriving = _forces_present(model)[i], _forces_arriving(model)[i]
    ctrl = s.factions[int(model.controller[i])]
    civ = model.civilians
    forces = [{"faction": short_name(f.name), "colour": f.colour, "present": int(present[k]),
               "arriving": int(arriving[k])}
              for k, f in enumerate(s.factions) if present[k] or arriving[k]]
    history = [{"date": e[0], "change": e[3]} for e in model.log if e[1] == "control_change" and e[2] == place]
    return {
        "id": p.id, "name": p.name, "kind": p.kind, "governorate": p.governorate,
        "controller": short_name(ctrl.name), "controller_id": ctrl.id, "colour": ctrl.colour,
        "initial_controller": short_name(s.faction(p.controller).name),
        "population0": int(w.population0[i]), "present": int(civ.present[i]), "idps": int(civ.idps[i]),
        "displaced_from": int(civ.displaced_from[i]), "forces": forces, "history": history,
        "today": [f"{e[1].replace('_', ' ')}: {e[3]}" for e in _log_today(model) if e[2] == place],
    }


def today_events(model: ConflictModel) -> dict[str, list[str]]:
    """What happened on the day last simulated, grouped by kind (battles, air strikes, control changes, ...)."""
    names = {p.id: p.name for p in model.scenario_data.places}
    out: dict[str, list[str]] = {}
    for _, kind, place, detail in _log_today(model):
        out.setdefault(kind, []).append(f"{names.get(place, place)}: {detail}" if place else detail)
    return out


# ---------------------------------------------------------------------------------------------------------
# Daily series for the charts


def _dates(model: ConflictModel) -> pd.DatetimeIndex:
    return pd.date_range(model.scenario_data.start_date, periods=model.day, freq="D")


def casualties_by_party(model: ConflictModel) -> pd.DataFrame:
    """Cumulative killed plus wounded by party (each faction, then civilians), one row per simulated day."""
    d = model.day
    total = (model.rec_killed[:d] + model.rec_wounded[:d]).sum(axis=1).cumsum(axis=0)
    parties = [short_name(f.name) for f in model.scenario_data.factions] + ["Civilians"]
    return pd.DataFrame(total, index=_dates(model), columns=parties)


def killed_wounded_totals(model: ConflictModel) -> dict[str, tuple[int, int]]:
    """Killed and wounded so far by party."""
    d = model.day
    k = model.rec_killed[:d].sum(axis=(0, 1))
    wd = model.rec_wounded[:d].sum(axis=(0, 1))
    parties = [short_name(f.name) for f in model.scenario_data.factions] + ["Civilians"]
    return {name: (int(k[i]), int(wd[i])) for i, name in enumerate(parties)}


def control_by_faction(model: ConflictModel) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Places held and people (present, residents and displaced) living under each faction, by day."""
    d, nf = model.day, len(model.faction_ids)
    ctrl = model.rec_control[:d]
    pop = model.rec_population[:d]
    places = np.stack([(ctrl == f).sum(axis=1) for f in range(nf)], axis=1) if d else np.zeros((0, nf))
    people = np.stack([np.where(ctrl == f, pop, 0).sum(axis=1) for f in range(nf)], axis=1) if d else \
        np.zeros((0, nf))
    names = [short_name(f.name) for f in model.scenario_data.factions]
    index = _dates(model)
    return pd.DataFrame(places, index=index, columns=names), pd.DataFrame(people, index=index, columns=names)


def destination_group(governorate: str) -> str:
    """The destination a place's displaced people are counted under: its governorate, or the Kurdistan Region."""
    return "Kurdistan Region" if governorate.lower() in KURDISTAN_REGION else governorate


def displaced_by_destination(model: ConflictModel) -> pd.DataFrame:
    """Displaced people present by destination (governorate; Erbil, Dohuk and Sulaymaniyah together), by day."""
    groups = [destination_group(g) for g in model.world.governorate]
    frame = pd.DataFrame(model.rec_idps[: model.day], index=_dates(model), columns=groups)
    return frame.T.groupby(level=0).sum().T


# ---------------------------------------------------------------------------------------------------------
# Observations beside the model: the calibration's own reading of the tables, so that the app shows the model
# values the loss compares (same places, parties and dates)


def observations_for(scenario: Scenario, directory: str | Path | None = None) -> CompiledObservations | None:
    """The reported observations (rows with ``use=yes``) compiled against ``scenario``, or None.

    Parameters
    ----------
    scenario : the scenario shown.
    directory : an observations directory (``control.csv``, ``casualties.csv``, ``displacement.csv``). Default:
        the one ``scenario.toml`` names (``observations`` in its ``[scenario]`` table), else
        ``calibration/observations`` if its rows are about this scenario's places; None if neither is.

    Raises
    ------
    ScenarioError
        Only for an explicit ``directory``: a table is malformed or names what the scenario lacks.
    """
    if directory is not None:
        return compile_observations(load_observation_tables(directory).select(used=True), scenario)
    candidates = [DEFAULT_OBSERVATIONS]
    try:
        candidates.insert(0, observations_dir(Path(scenario.path), None))
    except ScenarioError:
        pass
    for candidate in candidates:
        if (Path(candidate) / "control.csv").is_file():
            try:
                return compile_observations(load_observation_tables(candidate).select(used=True), scenario)
            except (ScenarioError, KeyError):
                continue
    return None
