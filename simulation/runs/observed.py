"""A run beside what was reported: control of places, killed and wounded, displaced people.

The observations are read and resolved by the calibration's own loader
(:func:`simulation.calibration.observations.load_observations` and ``compile_observations``), so that the report
and the app compare the same places, parties, areas and dates as the calibration's loss does. Only rows marked
``use=yes`` are compared (where sources disagree, the one the loss uses).

Sides, not factions, are compared: allied factions count as one side (``CompiledObservations.coalition_of``), as
in the loss.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from simulation.calibration.observations import (
    CompiledObservations,
    compile_observations,
    load_observations,
    observations_dir,
)
from simulation.scenario import Scenario, ScenarioError

if TYPE_CHECKING:
    from simulation.engine.model import ConflictModel


def scenario_observations(scenario: Scenario) -> CompiledObservations | None:
    """The observations ``scenario.toml`` names (``observations`` in its ``[scenario]`` table), rows with
    ``use=yes``, compiled against ``scenario``; None if it names none.

    Raises
    ------
    ScenarioError
        A table is malformed, or a used row names a place, faction or area the scenario lacks.
    """
    try:
        directory = observations_dir(scenario.path)
    except ScenarioError:  # the scenario names no observations: nothing to compare with
        return None
    return compile_observations(load_observations(directory).select(used=True), scenario)


def control_comparison(model: ConflictModel, obs: CompiledObservations) -> list[dict[str, Any]]:
    """Reported control of places (dated on or before the last simulated day) beside the model's on that day.

    Each row: ``date``, ``place``, ``kind`` (taken, retaken, held), ``reported`` and ``model`` (faction ids),
    ``agree`` (the same side holds it in the model at the end of the reported day), ``split``, and
    ``model_change``: the last date, on or before the reported day, at whose end the place passed to the reported
    side in the model (None if it never did, or held it from the start).
    """
    out = []
    coalition = obs.coalition_of
    first = [model.faction_ids.index(p.controller) for p in model.scenario_data.places]  # before the first day
    for i, o in enumerate(obs.control):
        d = int(obs.control_day[i])
        if not 0 <= d < model.day:
            continue
        k = int(obs.control_place[i])
        modelled = int(model.rec_control[d, k])
        side = coalition[model.rec_control[: d + 1, k]]
        before = [int(coalition[first[k]]), *side[:-1].tolist()]
        changes = [j for j in range(d + 1) if side[j] == obs.control_coalition[i] != before[j]]
        out.append({"date": o.date.isoformat(), "place": o.place, "kind": o.kind, "reported": o.controller,
                    "model": model.faction_ids[modelled],
                    "agree": bool(coalition[modelled] == obs.control_coalition[i]), "split": o.split,
                    "model_change": (model.scenario_data.start_date + dt.timedelta(days=changes[-1])).isoformat()
                    if changes else None})
    return out


def casualty_comparison(model: ConflictModel, obs: CompiledObservations) -> list[dict[str, Any]]:
    """Each reported casualty count beside the model's count for the same parties, places and period.

    The parties a scope counts are those of :func:`simulation.calibration.observations.party_mask` (civilians;
    government forces for ``isf``; the model has no executions). ``so_far`` is True while the model has not
    simulated the whole period yet.
    """
    out = []
    for i, o in enumerate(obs.casualties):
        d0, d1 = int(obs.casualty_start[i]), int(obs.casualty_end[i])
        end = min(d1 + 1, model.day)
        places, parties = obs.casualty_places[i], obs.casualty_parties[i]
        killed = int(model.rec_killed[d0:end][:, places][:, :, parties].sum()) if end > d0 else 0
        wounded = int(model.rec_wounded[d0:end][:, places][:, :, parties].sum()) if end > d0 else 0
        out.append({"scope": f"{'+'.join(o.who)} in {o.where}", "period": f"{o.start} to {o.end}",
                    "reported_killed": int(o.killed),
                    "reported_wounded": None if o.wounded is None else int(o.wounded),
                    "model_killed": killed, "model_wounded": wounded, "so_far": model.day <= d1, "split": o.split})
    return out


def displacement_points(model: ConflictModel, obs: CompiledObservations) -> list[dict[str, Any]]:
    """Reported displacement counts (people who left an area, or displaced people present in it) with the model's
    value on the same date (None if that day is not simulated yet)."""
    out = []
    for i, o in enumerate(obs.displacement):
        d = int(obs.displacement_day[i])
        value = None
        if d < model.day:
            rec = model.rec_displaced_from if obs.displacement_left[i] else model.rec_idps
            value = int(rec[d, obs.displacement_places[i]].sum())
        out.append({"date": o.date.isoformat(), "area": o.area, "measure": o.measure, "reported": int(o.idps),
                    "low": None if o.low is None else int(o.low), "high": None if o.high is None else int(o.high),
                    "model": value, "split": o.split, "places": obs.displacement_places[i]})
    return out
