"""Summary outcomes of one finished run: what a sweep keeps of each run.

A sweep runs the model thousands of times, so it keeps a few numbers per run rather than the run directory:
the day each key place fell (or ``None``), whether its side holds it at the end, killed and wounded by party,
the number of people displaced and the territory each faction holds at the end. All of them are computed from
the model's daily records (``rec_control``, ``rec_killed``, ``rec_wounded``) after :meth:`ConflictModel.run`.

Definitions
-----------
fell_day_<place>
    The first day (0 = the scenario's start date) at whose end the place is held by a faction outside the
    coalition that held it at the start (allies share control, so a hand-over between allies is not a fall);
    ``None`` if that never happened.
held_<place>
    The place's starting coalition holds it at the end of the run (it may have fallen and been retaken).
refinery_held
    Every place of kind ``refinery`` is held at the end (``None`` if the scenario has no refinery).
killed_<party>, wounded_<party>
    Totals over the run; the parties are the factions and ``civilian``.
displaced
    People displaced at the end of the run (``Civilians.total_displaced``).
places_<faction>, population_<faction>
    Places held at the end, and their population at the start (territory weighted by people).
control_changes
    Place-days on which a place changed hands.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from simulation.scenario import Scenario, ScenarioError

#: Key places by default: every place of at least this strategic value, and every refinery.
KEY_PLACE_MIN_VALUE = 2.0


def key_places(scenario: Scenario, which: Iterable[str] | str | None = None) -> tuple[str, ...]:
    """The places whose fall day and end state a sweep records.

    Parameters
    ----------
    scenario : the scenario.
    which : ``None`` for the default (places of value >= ``KEY_PLACE_MIN_VALUE`` and every refinery),
        ``"all"`` for every place, or place ids.

    Returns
    -------
    Place ids in the order of ``places.csv``.

    Raises
    ------
    ScenarioError
        A place id is not in the scenario.
    """
    ids = scenario.place_ids
    if which is None:
        chosen = {p.id for p in scenario.places if p.value >= KEY_PLACE_MIN_VALUE or p.kind == "refinery"}
    elif isinstance(which, str):
        if which != "all":
            raise ScenarioError("key_places", f"{which!r} must be 'all' or a list of place ids")
        chosen = set(ids)
    else:
        chosen = set()
        for pid in which:
            if pid not in ids:
                raise ScenarioError("key_places", f"unknown place {pid!r} in scenario {scenario.name!r}")
            chosen.add(pid)
    return tuple(pid for pid in ids if pid in chosen)


def outcome_dtypes(scenario: Scenario, places: tuple[str, ...], daily: bool = False) -> dict[str, str]:
    """The outcome columns of a run and their pandas dtypes, in column order."""
    cols: dict[str, str] = {}
    for pid in places:
        cols[f"fell_day_{pid}"] = "Int64"
    for pid in places:
        cols[f"held_{pid}"] = "bool"
    cols["refinery_held"] = "boolean"
    for party in (*scenario.faction_ids, "civilian"):
        cols[f"killed_{party}"] = "int64"
    for party in (*scenario.faction_ids, "civilian"):
        cols[f"wounded_{party}"] = "int64"
    cols["displaced"] = "int64"
    for f in scenario.faction_ids:
        cols[f"places_{f}"] = "int64"
    for f in scenario.faction_ids:
        cols[f"population_{f}"] = "int64"
    cols["control_changes"] = "int64"
    if daily:
        for f in scenario.faction_ids:
            cols[f"daily_places_{f}"] = "object"
        cols["daily_killed"] = "object"
        cols["daily_civilians_killed"] = "object"
        cols["daily_displaced_from"] = "object"
    return cols


def fall_days(control: np.ndarray, initial: np.ndarray, coalition_of: np.ndarray) -> np.ndarray:
    """The first day each place is held outside its starting coalition, or -1.

    Parameters
    ----------
    control : (days, places) faction index holding each place at the end of each day.
    initial : (places,) faction index holding each place at the start.
    coalition_of : (factions,) coalition index of each faction.

    Returns
    -------
    (places,) int array: the day index, -1 where the place never fell.

    Examples
    --------
    >>> fall_days(np.array([[0, 0], [2, 0], [0, 1]]), np.array([0, 0]), np.array([0, 0, 1]))
    array([ 1, -1])
    """
    lost = coalition_of[control] != coalition_of[initial][None, :]
    first = np.argmax(lost, axis=0)
    return np.where(lost.any(axis=0), first, -1)


def change_days(control: np.ndarray, initial: np.ndarray, coalition_of: np.ndarray, to: np.ndarray,
                places: np.ndarray | None = None) -> np.ndarray:
    """The first day each place passes to the coalition ``to``, or -1: the first day at whose end the place is
    held by ``to`` and at whose start (the end of the day before, or the start of the run) it was not.

    The day convention is :func:`fall_days`' (0 = the start date, the state at the end of the day); for a place
    whose starting coalition is not ``to``, it is the first day held by ``to``, which is its fall day when its
    first loss is to ``to``. The calibration dates reported changes of hands with it.

    Parameters
    ----------
    control : (days, places) faction index holding each place at the end of each day.
    initial : (places,) faction index holding each place at the start.
    coalition_of : (factions,) coalition index of each faction.
    to : coalition index, one per column of the result (or one for all).
    places : place index of each column (default: every place, in order); a place may appear more than once.

    Examples
    --------
    >>> control = np.array([[0, 0], [2, 0], [0, 2]])
    >>> change_days(control, np.array([0, 0]), np.array([0, 0, 1]), to=np.array([1, 1]))
    array([1, 2])
    >>> change_days(control, np.array([0, 0]), np.array([0, 0, 1]), to=np.array([0, 1]), places=np.array([0, 0]))
    array([2, 1])
    """
    places = np.arange(control.shape[1]) if places is None else np.asarray(places, dtype=np.int64)
    side = coalition_of[control[:, places]]
    before = np.vstack([coalition_of[initial[places]][None, :], side[:-1]])
    onset = (side == to) & (before != to)
    return np.where(onset.any(axis=0), np.argmax(onset, axis=0), -1)


def run_outcomes(model: Any, places: tuple[str, ...], daily: bool = False) -> dict[str, Any]:
    """The summary outcomes of a finished :class:`~simulation.model.ConflictModel` (see the module notes).

    Parameters
    ----------
    model : a model that has run (``model.day`` days recorded).
    places : key place ids (see :func:`key_places`).
    daily : also return daily series as lists (places held by each faction, killed, civilians killed,
        cumulative people displaced from their homes).

    Returns
    -------
    dict from column name (see :func:`outcome_dtypes`) to a plain Python value.
    """
    s = model.scenario_data
    days = model.day
    if days < 1:
        raise ValueError("the model has not run: no day is recorded")
    w = model.world
    control = model.rec_control[:days]
    coalition_of = np.asarray(model.coalition_of)
    initial = np.array([model.faction_index[p.controller] for p in s.places], dtype=np.int64)
    fell = fall_days(control, initial, coalition_of)
    held_end = coalition_of[control[-1]] == coalition_of[initial]
    out: dict[str, Any] = {}
    for pid in places:
        d = int(fell[w.index[pid]])
        out[f"fell_day_{pid}"] = None if d < 0 else d
    for pid in places:
        out[f"held_{pid}"] = bool(held_end[w.index[pid]])
    refineries = [i for i, p in enumerate(s.places) if p.kind == "refinery"]
    out["refinery_held"] = bool(held_end[refineries].all()) if refineries else None
    parties = (*model.faction_ids, "civilian")
    killed = model.rec_killed[:days].sum(axis=(0, 1))
    wounded = model.rec_wounded[:days].sum(axis=(0, 1))
    for i, party in enumerate(parties):
        out[f"killed_{party}"] = int(killed[i])
    for i, party in enumerate(parties):
        out[f"wounded_{party}"] = int(wounded[i])
    out["displaced"] = int(model.civilians.total_displaced)
    nf = len(model.faction_ids)
    held_places = np.bincount(control[-1], minlength=nf)
    held_people = np.bincount(control[-1], weights=w.population0, minlength=nf)
    for i, f in enumerate(model.faction_ids):
        out[f"places_{f}"] = int(held_places[i])
    for i, f in enumerate(model.faction_ids):
        out[f"population_{f}"] = int(round(held_people[i]))
    before = np.vstack([initial[None, :], control[:-1]])
    out["control_changes"] = int((control != before).sum())
    if daily:
        for i, f in enumerate(model.faction_ids):
            out[f"daily_places_{f}"] = (control == i).sum(axis=1).tolist()
        out["daily_killed"] = model.rec_killed[:days].sum(axis=(1, 2)).tolist()
        out["daily_civilians_killed"] = model.rec_killed[:days, :, -1].sum(axis=1).tolist()
        out["daily_displaced_from"] = model.rec_displaced_from[:days].sum(axis=1).tolist()
    return out
