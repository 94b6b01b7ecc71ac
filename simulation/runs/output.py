"""Writing a run directory: the tables, ``summary.json``, the GIS layers and the report with its plots.

The directory is written into a temporary sibling and renamed into place when complete, so that an
interrupted run never leaves a half-written directory under the requested name.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from simulation import __version__
from simulation.engine.model import LEDGER, ConflictModel
from simulation.errors import OutputError  # noqa: F401 - raised here, and imported from here by callers
from simulation.fingerprint import library_versions, model_fingerprint
from simulation.runs.directories import atomic_directory, check_run_target  # noqa: F401 - imported from here too

if TYPE_CHECKING:
    from simulation.runs.plotting import ReportProcesses


def _write_csv(path: Path, header: list[str], rows: Any) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def summary(model: ConflictModel, run_time_s: float | None = None) -> dict[str, Any]:
    """The run's summary as plain data (what ``summary.json`` holds)."""
    s = model.scenario_data
    nf = len(model.faction_ids)
    parties = [*model.faction_ids, "civilian"]
    killed = model.rec_killed[: model.day].sum(axis=(0, 1))
    wounded = model.rec_wounded[: model.day].sum(axis=(0, 1))
    w = model.world
    civ = model.civilians
    by_gov: dict[str, dict[str, int]] = {}
    for i, g in enumerate(w.governorate):
        d = by_gov.setdefault(g, {"displaced_from": 0, "idps_present": 0})
        d["displaced_from"] += int(civ.displaced_from[i])
        d["idps_present"] += int(civ.idps[i])
    last = model.day - 1
    return {
        "scenario": s.name,
        "scenario_path": str(s.path),
        "seed": model.seed_value,
        "fitted_file": str(s.fitted_file) if s.fitted_used else None,
        "overrides": {k: s.overrides[k] for k in sorted(s.overrides)},
        "parameters": {k: model.p[k] for k in sorted(model.p)},
        "start_date": s.start_date.isoformat(),
        "end_date": model.dates()[-1] if model.day else s.start_date.isoformat(),
        "days": model.day,
        "totals": {
            "killed": {p: int(killed[i]) for i, p in enumerate(parties)},
            "wounded": {p: int(wounded[i]) for i, p in enumerate(parties)},
            "killed_all": int(killed.sum()),
            "wounded_all": int(wounded.sum()),
            "displaced": civ.total_displaced,
            "displaced_by_governorate": by_gov,
            "displaced_by_group": civ.displaced_by_group(),
        },
        "personnel": {
            **model.personnel_balance(),
            "_nominal_strength": {f: int(model.nominal[i]) for i, f in enumerate(model.faction_ids)},
        } if model.day else {},
        "final_controller": {pid: model.faction_ids[int(model.controller[i])] for i, pid in enumerate(w.place_ids)},
        "control_changes": sum(1 for e in model.log if e[1] == "control_change"),
        "territory_end": {f: int((model.rec_control[last] == i).sum()) if model.day else 0
                          for i, f in enumerate(model.faction_ids)},
        "factions": nf,
        # A replay (simulation.replay): the recorded events it was driven by, instead of simulated forces.
        **({"replay": {"events": getattr(model, "events_file", None),
                       "fitted_file": str(s.replay_fitted_file) if s.replay_fitted_used else None,
                       "notes": model.replay_days.summary_lines()}} if hasattr(model, "replay_days") else {}),
        "run_time_s": run_time_s,
        "version": __version__,
        # What computed the numbers: NumPy's random streams, for one, are not promised stable across versions.
        "versions": {**library_versions(), "model_fingerprint": model_fingerprint()},
    }


def write_tables(model: ConflictModel, out: Path) -> None:
    """Write the CSV tables of the run directory into ``out``."""
    w = model.world
    dates = model.dates()
    fids = model.faction_ids
    parties = [*fids, "civilian"]
    places = w.place_ids

    _write_csv(out / "control.csv", ["date", "place", "controller"],
               ((d, places[p], fids[model.rec_control[i, p]]) for i, d in enumerate(dates) for p in range(w.n)))

    def forces_rows() -> Iterator[tuple]:
        for i, d in enumerate(dates):
            pres, arr = model.rec_present[i], model.rec_arriving[i]
            for p, f in zip(*np.nonzero(pres + arr)):
                yield d, places[p], fids[f], int(pres[p, f]), int(arr[p, f])

    _write_csv(out / "forces.csv", ["date", "place", "faction", "personnel", "arriving"], forces_rows())

    def casualty_rows() -> Iterator[tuple]:
        for i, d in enumerate(dates):
            k, wd = model.rec_killed[i], model.rec_wounded[i]
            for p, q in zip(*np.nonzero(k + wd)):
                yield d, places[p], parties[q], int(k[p, q]), int(wd[p, q])

    _write_csv(out / "casualties.csv", ["date", "place", "party", "killed", "wounded"], casualty_rows())
    _write_csv(out / "events.csv", ["date", "kind", "place", "detail"], model.log)
    _write_csv(out / "displacement.csv", ["date", "place", "population", "idps", "displaced_from"],
               ((d, places[p], int(model.rec_population[i, p]), int(model.rec_idps[i, p]),
                 int(model.rec_displaced_from[i, p])) for i, d in enumerate(dates) for p in range(w.n)))
    ledger = ["date", "faction", *LEDGER, "present"]
    _write_csv(out / "personnel.csv", ledger,
               ((d, f, *(int(model.rec_ledger[i, k, j]) for k in range(len(LEDGER) + 1)))
                for i, d in enumerate(dates) for j, f in enumerate(fids)))


def _geojson(features: list[dict[str, Any]]) -> str:
    # RFC 7946: WGS 84 longitude, latitude (no "crs" member); one feature a line keeps diffs and greps readable.
    body = ",\n".join(json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features)
    return '{"type":"FeatureCollection","features":[\n' + body + "\n]}\n"


def places_geojson(model: ConflictModel) -> str:
    """The places as GeoJSON points with their kind, governorate, population and controller on each day.

    Properties: ``id``, ``name``, ``kind``, ``governorate``, ``population`` (at the start), ``population_end``,
    ``idps_end`` (displaced people sheltering there at the end), ``displaced_from_end`` (people who left it),
    ``controller_start`` (before the first day), ``controller_end``, ``changes`` (days on which it changed
    hands), and ``control_<YYYY-MM-DD>``, the controller at the end of each simulated day.
    """
    w, s = model.world, model.scenario_data
    fids = model.faction_ids
    dates = model.dates()
    last = model.day - 1
    features = []
    for k, place in enumerate(s.places):
        daily = [fids[int(model.rec_control[i, k])] for i in range(model.day)]
        props: dict[str, Any] = {
            "id": place.id, "name": place.name, "kind": place.kind, "governorate": place.governorate,
            "population": int(w.population0[k]),
            "population_end": int(model.rec_population[last, k]) if model.day else int(w.population0[k]),
            "idps_end": int(model.rec_idps[last, k]) if model.day else 0,
            "displaced_from_end": int(model.rec_displaced_from[last, k]) if model.day else 0,
            "controller_start": place.controller,
            "controller_end": daily[-1] if daily else place.controller,
            "changes": sum(1 for a, b in zip([place.controller, *daily], daily) if a != b),
            **{f"control_{d}": c for d, c in zip(dates, daily)},
        }
        features.append({"type": "Feature", "id": place.id,
                         "geometry": {"type": "Point", "coordinates": [round(place.lon, 6), round(place.lat, 6)]},
                         "properties": props})
    return _geojson(features)


def roads_geojson(model: ConflictModel) -> str:
    """The roads as GeoJSON lines between their two places: ``from``, ``to`` (place ids), ``km``, ``kind``."""
    s = model.scenario_data
    at = {p.id: [round(p.lon, 6), round(p.lat, 6)] for p in s.places}
    features = [{"type": "Feature", "id": f"{r.a}--{r.b}",
                 "geometry": {"type": "LineString", "coordinates": [at[r.a], at[r.b]]},
                 "properties": {"from": r.a, "to": r.b, "km": r.km, "kind": r.kind}} for r in s.roads]
    return _geojson(features)


def write_gis(model: ConflictModel, out: Path) -> None:
    """Write ``places.geojson`` and ``roads.geojson`` into ``out`` (open them in QGIS or with geopandas)."""
    (out / "places.geojson").write_text(places_geojson(model), encoding="utf-8")
    (out / "roads.geojson").write_text(roads_geojson(model), encoding="utf-8")


def _write_data(model: ConflictModel, data: dict[str, Any], out: Path) -> None:
    write_tables(model, out)
    write_gis(model, out)
    (out / "summary.json").write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def write_run_directory(model: ConflictModel, out: str | Path, run_time_s: float, overwrite: bool = False,
                        plots: bool = True, progress: Callable[[str], None] | None = None,
                        report: ReportProcesses | None = None) -> Path:
    """Write the whole run directory of a finished ``model`` to ``out`` atomically; return its path.

    ``report``: processes started beforehand that draw the report (:mod:`simulation.runs.plotting`) instead of
    this one; if one fails, :class:`~simulation.runs.plotting.ReportError` is raised and nothing is written.
    """
    out = Path(out)
    with atomic_directory(out, overwrite=overwrite) as tmp:
        data = summary(model, run_time_s=round(run_time_s, 3))
        if plots and report is not None:  # they draw while the tables are written
            from simulation.runs.run_view import RunView

            if progress:
                progress("plotting")
            try:
                report.send(RunView.from_model(model), data, tmp)
                _write_data(model, data, tmp)
                report.wait()
            except BaseException:
                report.close()  # before the temporary folder is removed: nothing may write into it afterwards
                raise
        else:
            _write_data(model, data, tmp)
        if plots and report is None:
            if progress:
                progress("plotting")
            from simulation.runs.report import write_report

            write_report(model, data, tmp)
    return out


def summary_text(data: dict[str, Any]) -> str:
    """A few lines for the terminal."""
    buf = io.StringIO()
    t = data["totals"]
    buf.write(f"{data['scenario']}: {data['start_date']} to {data['end_date']} ({data['days']} days), "
              f"seed {data['seed']}\n")
    buf.write("killed: " + ", ".join(f"{k} {v}" for k, v in t["killed"].items()) + "\n")
    buf.write("wounded: " + ", ".join(f"{k} {v}" for k, v in t["wounded"].items()) + "\n")
    buf.write(f"displaced: {t['displaced']}; control changes: {data['control_changes']}\n")
    buf.write("territory at the end: " + ", ".join(f"{k} {v}" for k, v in data["territory_end"].items()) + "\n")
    return buf.getvalue()
