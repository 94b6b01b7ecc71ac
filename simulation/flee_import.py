"""``conflict-sim import-flee FLEE_DIR --out SCENARIO_DIR``: a FLEE case as a scenario of this project.

The case is read exactly as FLEE 3.1 reads it (:func:`simulation.flee_case.read_flee_case`); every rule below
keeps FLEE's meaning, and place ids are FLEE's names, unchanged (``[scenario] place_ids = "names"``). The
scenario directory holds:

``scenario.toml``
    name (the case folder's name, lower case), dates (``sim_period.csv``: start, start + length - 1), two
    factions (the state holding every place and the armed groups; FLEE has no factions), ``place_ids = "names"``
    and the parameters FLEE cases run with (no returns home: FLEE has none), and ``fitted_parameters`` naming
    ``fitted.toml``, a copy of ``calibration/fitted/flee_suite.toml`` (fitted on Mali 2012 and Burundi 2015
    only; docs/flee.md; its ``[flee_replay]`` table holds the injected mode's ``town_move_chance``) when the
    repository has it.
``places.csv``
    every location: ``kind`` town (a FLEE forwarding hub or marker: crossing), ``governorate`` FLEE's region,
    ``population`` FLEE's population for towns and conflict zones (their spawn weight) and 0 for camps, hubs and
    markers, ``refuge`` 1 for camps (they attract the displaced) and 0 elsewhere.
``flee_places.csv``
    what FLEE says of each place that the project's table has no column for: ``country``, FLEE's
    ``location_type``, ``kind`` (origin = conflict zone, town, camp, pass-through = forwarding hub, marker),
    ``capacity`` (a camp's: FLEE's population column), FLEE's ``population`` and ``conflict_date``.
``roads.csv``
    ``routes.csv``'s roads, undirected (a pair given twice keeps its shorter distance: FLEE links it twice).
``events.csv``
    road closures as ``road_blocked`` / ``road_opened`` on FLEE's start and end days: ``country`` (every road
    between the two countries), ``location`` (every road into and out of ``name1``), ``link``; days outside the
    period are dropped, as FLEE never reaches them.
``flee_closures.csv``
    every closure row as FLEE reads it (the ``camp`` kind, a camp being a town from ``start`` to ``end``, is
    acted on by :mod:`simulation.flee_replay`).
``flee_conflicts.csv``
    ``date, place, intensity, spawn_weight``: each place in conflict each day (FLEE's state machine over
    ``locations.csv`` and ``conflicts.csv``) and FLEE's spawn weight that day (population x intensity x decay
    since onset: full for 90 days, 1/2 for 30, 0.1 after).
``replay_events.csv``
    the same conflict days in ACLED's columns (one event a day per place in conflict, ``fatalities`` 0:
    FLEE records no deaths), for ``conflict-sim replay --events``.
``flee_observations.csv`` / ``flee_totals.csv``
    UNHCR's daily series as FLEE scores them: each camp's figure a day (registration corrections applied,
    interpolated, held flat outside the observations) and the ``total`` row with FLEE's daily injection
    (the increase of the total, a decrease carried as a debt; nothing on day 0, when the camps are filled).

Bad or inconsistent rows (a route to an unknown place, a closure naming an unknown country, a camp with no
data, ...) raise :class:`~simulation.scenario.ScenarioError` naming the file, row and field, before anything
is written; the directory is written to a temporary sibling and renamed when complete.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

from simulation.flee_case import FleeCase, read_flee_case
from simulation.scenario import ScenarioError

__all__ = ["FITTED", "KIND_OF", "convert", "import_flee", "scenario_name"]

ROOT = Path(__file__).resolve().parents[1]
FITTED = ROOT / "calibration" / "fitted" / "flee_suite.toml"
"""The displacement parameters fitted on Mali 2012 and Burundi 2015 (scripts/fit_flee.py)."""

KIND_OF = {"conflict_zone": "origin", "town": "town", "camp": "camp", "idpcamp": "camp",
           "forwarding_hub": "pass-through", "marker": "marker"}
"""FLEE's reading of a location type (:attr:`FleeLocation.kind`) → the converted place's kind."""

FLEE_PARAMETERS = {"return_rate": 0.0, "return_near_rate": 0.0}
"""Parameters every converted case runs with: FLEE's agents never go home."""

EVENT_COLUMNS = ("event_date", "event_type", "sub_event_type", "actor1", "actor2", "admin1", "location", "latitude",
                 "longitude", "fatalities")


def scenario_name(case_dir: Path) -> str:
    """The scenario's name: the case folder's name in lower case, other characters as ``_``."""
    name = re.sub(r"[^a-z0-9_.-]", "_", case_dir.resolve().name.lower()).lstrip(".-")
    return name or "flee_case"


def _csv(rows: list[list[object]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerows(rows)
    return buf.getvalue()


def _closed_roads(case: FleeCase, roads: dict[frozenset[str], tuple[str, str, float]], kind: str, name1: str,
                  name2: str) -> list[tuple[str, str]]:
    """The roads a ``country``, ``location`` or ``link`` closure closes (FLEE's ``close_border``,
    ``close_location``, ``close_link``: both directions)."""
    if kind == "country":
        countries = {loc.name: loc.country for loc in case.locations}
        return [(a, b) for a, b, _ in roads.values() if {countries[a], countries[b]} == {name1, name2}]
    if kind == "location":
        return [(a, b) for a, b, _ in roads.values() if name1 in (a, b)]
    if kind == "link":
        return [roads[frozenset((name1, name2))][:2]] if frozenset((name1, name2)) in roads else []
    return []


def convert(case: FleeCase, source: str, name: str | None = None) -> dict[str, str]:
    """The files of the scenario directory for ``case`` (file name → text), the scenario named ``name``
    (default: the case's). ``source`` names the case in every row's ``source`` column (e.g. "FLEE case
    mali2012 (FabFlee flee3_validation format)")."""
    days = case.length
    end = case.start_date + dt.timedelta(days=days - 1)
    dates = [(case.start_date + dt.timedelta(days=t)).isoformat() for t in range(days)]
    files: dict[str, str] = {}

    fitted = 'fitted_parameters = "fitted.toml"\n' if FITTED.is_file() else ""
    params = "".join(f"{k} = {v}\n" for k, v in FLEE_PARAMETERS.items())
    files["scenario.toml"] = (
        f'[scenario]\nname = "{name or case.name}"\n'
        f'description = "{source}, converted by conflict-sim import-flee: FLEE\'s places, roads, conflicts, '
        f'closures and UNHCR series (names kept exactly)."\n'
        f"start_date = {case.start_date.isoformat()}\nend_date = {end.isoformat()}\nplace_ids = \"names\"\n{fitted}"
        '\n[[factions]]\nid = "state"\nname = "The state (FLEE has no factions)"\ndoctrine = "government"\n'
        '\n[[factions]]\nid = "armed_groups"\nname = "Armed groups (FLEE has no factions)"\ndoctrine = "insurgent"\n'
        f"\n[parameters]\n# FLEE's agents never go home.\n{params}")

    places = [["id", "name", "kind", "governorate", "lat", "lon", "population", "controller", "value", "refuge",
               "source"]]
    flee_places = [["id", "country", "location_type", "kind", "capacity", "population", "conflict_date", "source"]]
    for loc in case.locations:
        where = f"{source}, input_csv/locations.csv row {loc.row}"
        stays = loc.kind in ("conflict_zone", "town")
        places.append([loc.name, loc.name, "town" if loc.kind not in ("forwarding_hub", "marker") else "crossing",
                       loc.region or loc.country, f"{loc.lat:.6f}", f"{loc.lon:.6f}",
                       loc.population if stays else 0, "state", 1, 1 if loc.is_camp else 0, where])
        flee_places.append([loc.name, loc.country, loc.location_type, KIND_OF[loc.kind],
                            "" if loc.capacity is None else loc.capacity, loc.population,
                            "" if loc.conflict_date is None else loc.conflict_date, where])
    files["places.csv"] = _csv(places)
    files["flee_places.csv"] = _csv(flee_places)

    roads: dict[frozenset[str], tuple[str, str, float]] = {}
    road_rows: dict[frozenset[str], int] = {}
    for r in case.routes:
        key = frozenset((r.name1, r.name2))
        if r.name1 == r.name2:
            raise ScenarioError("input_csv/routes.csv", f"road from {r.name1!r} to itself", row=r.row, field="name2")
        if key not in roads or r.distance < roads[key][2]:
            roads[key] = (r.name1, r.name2, r.distance)
            road_rows[key] = r.row
    files["roads.csv"] = _csv([["from", "to", "km", "kind", "source"]] + [
        [a, b, f"{max(km, 0.001):g}", "road", f"{source}, input_csv/routes.csv row {road_rows[k]}"]
        for k, (a, b, km) in roads.items()])

    events = [["date", "kind", "place", "faction", "amount", "note", "source"]]
    closures = [["kind", "name1", "name2", "start", "end", "source"]]
    for c in case.closures:
        where = f"{source}, input_csv/closures.csv row {c.row}"
        closures.append([c.kind, c.name1, c.name2, c.start, c.end, where])
        for a, b in _closed_roads(case, roads, c.kind, c.name1, c.name2):
            for day, kind in ((c.start, "road_blocked"), (c.end, "road_opened")):
                if 0 <= day < days and (kind == "road_blocked" or c.end > c.start):
                    events.append([dates[day], kind, f"{a}|{b}", "", 0, f"FLEE {c.kind} closure {c.name1} "
                                   f"{c.name2}".strip(), where])
    files["events.csv"] = _csv(events)
    files["flee_closures.csv"] = _csv(closures)
    files["forces.csv"] = "faction,place,personnel,quality,source\n"

    intensity, _ = case.conflict_state()
    weights = case.spawn_weights()
    conflicts = [["date", "place", "intensity", "spawn_weight", "source"]]
    acled = [list(EVENT_COLUMNS)]
    for t, i in zip(*np.nonzero(intensity > 0)):
        loc = case.locations[i]
        conflicts.append([dates[t], loc.name, f"{intensity[t, i]:g}", f"{weights[t, i]:.6g}",
                          f"{source}, input_csv/conflicts.csv and locations.csv"])
        acled.append([dates[t], "Conflict (FLEE)", "conflict zone", "", "", loc.region, loc.name, f"{loc.lat:.6f}",
                      f"{loc.lon:.6f}", 0])
    files["flee_conflicts.csv"] = _csv(conflicts)
    files["replay_events.csv"] = _csv(acled)

    data = case.data
    where = f"{source}, source_data (UNHCR, via FabFlee; registration corrections applied as FLEE does)"
    obs = [["date", "place", "refugees", "source"]]
    for t in range(days):
        for j, camp in enumerate(data.camp_names):
            obs.append([dates[t], camp, int(data.camps[t, j]), where])
    files["flee_observations.csv"] = _csv(obs)
    injected = data.injections()
    files["flee_totals.csv"] = _csv([["date", "total", "injected", "source"]] + [
        [dates[t], int(data.total[t]), int(injected[t]), where] for t in range(days)])
    if FITTED.is_file():
        files["fitted.toml"] = FITTED.read_text(encoding="utf-8")
    return files


def import_flee(case_dir: str | Path, out: str | Path, overwrite: bool = False) -> Path:
    """Convert the FLEE case ``case_dir`` (``input_csv/``, ``source_data/``) into the scenario directory ``out``.

    Everything is read and checked first; the directory is written to a temporary sibling and renamed, so a bad
    case leaves nothing behind. Raises :class:`ScenarioError` (one line: file, row, field), or
    :class:`FileExistsError` when ``out`` exists and ``overwrite`` is false.
    """
    case_dir, out = Path(case_dir), Path(out)
    if not case_dir.is_dir():
        raise ScenarioError(str(case_dir), "is not a directory (a FLEE case holds input_csv/ and source_data/)")
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists (use --force to replace it)")
    case = read_flee_case(case_dir)
    files = convert(case, f"FLEE case {case_dir.resolve().name} (FabFlee flee3_validation format)",
                    scenario_name(case_dir))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8")
        from simulation.scenario import load_scenario

        load_scenario(tmp)  # the converted scenario must load: a failure here is a converter bug, not a bad case
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out

