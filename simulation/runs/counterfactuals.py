"""Counterfactual scenarios: pure functions from a :class:`Scenario` to a changed copy.

Each transform changes the scenario's data (events, forces), never the model's rules, so a counterfactual run
is an ordinary run of the same model on different input. The transforms compose::

    held = cohesive_garrison(full_strength_garrison(s, "mosul"), "mosul")

:data:`COUNTERFACTUALS` names the ready-made ones for the June 2014 scenario (for the CLI, the app and the
notebooks); :func:`apply_counterfactuals` applies them by name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from simulation.scenario import Event, Scenario, ScenarioError


def drop_events(scenario: Scenario, kind: str, place: str | None = None, faction: str | None = None) -> Scenario:
    """A copy without the scripted events of ``kind`` (optionally only at ``place`` / of ``faction``).

    Raises
    ------
    ScenarioError
        No event matches (the counterfactual would silently be the baseline).
    """
    def matches(e: Event) -> bool:
        return e.kind == kind and (place is None or e.place == place) and (faction is None or e.faction == faction)

    kept = tuple(e for e in scenario.events if not matches(e))
    if len(kept) == len(scenario.events):
        where = "".join(f" {k}={v!r}" for k, v in (("place", place), ("faction", faction)) if v is not None)
        raise ScenarioError(f"{scenario.name}/events.csv", f"no {kind!r} event{where} to remove")
    return dataclasses.replace(scenario, events=kept)


def no_air_strikes(scenario: Scenario, faction: str | None = None) -> Scenario:
    """No air power: remove every ``air_sorties`` event (of ``faction`` if given), so no sortie is flown."""
    return drop_events(scenario, "air_sorties", faction=faction)


def full_strength_garrison(scenario: Scenario, place: str, factions: Iterable[str] | None = None) -> Scenario:
    """The garrison of ``place`` at its full nominal strength: ``present_share = 1`` for its units.

    Parameters
    ----------
    scenario : the scenario.
    place : place id.
    factions : whose units to change; default: the place's starting controller and its allies.

    Raises
    ------
    ScenarioError
        ``place`` is unknown or has no such units.
    """
    if place not in scenario.place_ids:
        raise ScenarioError(f"{scenario.name}/places.csv", f"unknown place {place!r}")
    if factions is None:
        owner = next(p.controller for p in scenario.places if p.id == place)
        chosen = {f for f in scenario.faction_ids if scenario.relation(owner, f) in ("self", "allied")}
    else:
        chosen = set(factions)
    forces, changed = [], 0
    for row in scenario.forces:
        if row.place == place and row.faction in chosen:
            row = dataclasses.replace(row, present_share=1.0)
            changed += 1
        forces.append(row)
    if not changed:
        raise ScenarioError(f"{scenario.name}/forces.csv", f"no units of {', '.join(sorted(chosen))} at {place!r}")
    return dataclasses.replace(scenario, forces=tuple(forces))


def cohesive_garrison(scenario: Scenario, place: str, morale: float = 1.0,
                      factions: Sequence[str] | None = None) -> Scenario:
    """The forces of ``factions`` (default: the place's holder and its allies) at ``place`` start with
    ``morale`` (their base morale too): with 1, a lost command or a fall nearby, which hit a unit by ``(1 - base
    morale) ** hollow_power``, no longer shake them (the commanders stay and the units hold together).

    Raises
    ------
    ScenarioError
        The place is unknown or has no such forces.
    """
    if place not in scenario.place_ids:
        raise ScenarioError(f"{scenario.name}/places.csv", f"unknown place {place!r}")
    if factions is None:
        owner = next(p.controller for p in scenario.places if p.id == place)
        chosen = {f for f in scenario.faction_ids if scenario.relation(owner, f) in ("self", "allied")}
    else:
        chosen = set(factions)
    forces = tuple(dataclasses.replace(r, morale=morale) if r.place == place and r.faction in chosen else r
                   for r in scenario.forces)
    if not any(r.place == place and r.faction in chosen for r in scenario.forces):
        raise ScenarioError(f"{scenario.name}/forces.csv", f"no units of {', '.join(sorted(chosen))} at {place!r}")
    return dataclasses.replace(scenario, forces=forces)


def close_checkpoints(scenario: Scenario, places: Sequence[str] | None = None) -> Scenario:
    """Checkpoints closed to displaced people for the whole run.

    Adds a ``checkpoint_closed`` event on the start date for each place and removes every other checkpoint
    event at those places (so none re-opens or closes again later).

    Parameters
    ----------
    scenario : the scenario.
    places : place ids; default: every place of kind ``checkpoint``.

    Raises
    ------
    ScenarioError
        A place is unknown, or there is no checkpoint to close.
    """
    if places is None:
        places = [p.id for p in scenario.places if p.kind == "checkpoint"]
    for pid in places:
        if pid not in scenario.place_ids:
            raise ScenarioError(f"{scenario.name}/places.csv", f"unknown place {pid!r}")
    if not places:
        raise ScenarioError(f"{scenario.name}/places.csv", "no place of kind 'checkpoint' to close")
    closing = set(places)
    kept = [e for e in scenario.events if not (e.kind.startswith("checkpoint_") and e.place in closing)]
    added = [Event(date=scenario.start_date, kind="checkpoint_closed", place=pid, faction="", amount=0.0,
                   note="counterfactual: closed from the start", source="counterfactual (simulation.counterfactuals)")
             for pid in places]
    events = sorted(added + kept, key=lambda e: e.date)  # stable: the closures come first on the start date
    return dataclasses.replace(scenario, events=tuple(events))


@dataclass(frozen=True)
class Counterfactual:
    """A named transform with a one-line description."""

    name: str
    description: str
    transform: Callable[[Scenario], Scenario]


COUNTERFACTUALS: dict[str, Counterfactual] = {c.name: c for c in [
    Counterfactual("no_air_strikes", "no government air sorties all month",
                   lambda s: no_air_strikes(s)),
    Counterfactual("mosul_full_strength", "Mosul's garrison at its full nominal strength (present_share = 1)",
                   lambda s: full_strength_garrison(s, "mosul")),
    Counterfactual("mosul_held", "Mosul's garrison at full strength and cohesive (morale 1): its commanders stay",
                   lambda s: cohesive_garrison(full_strength_garrison(s, "mosul"), "mosul")),
    Counterfactual("checkpoints_closed", "Kurdish checkpoints closed to displaced people from the start",
                   lambda s: close_checkpoints(s)),
]}


def apply_counterfactuals(scenario: Scenario, names: Iterable[str]) -> Scenario:
    """Apply the counterfactuals of :data:`COUNTERFACTUALS` named in ``names``, in order.

    Raises
    ------
    KeyError
        A name is not in :data:`COUNTERFACTUALS`.
    ScenarioError
        The scenario lacks what a counterfactual changes.
    """
    for name in names:
        if name not in COUNTERFACTUALS:
            raise KeyError(f"unknown counterfactual {name!r} (known: {', '.join(COUNTERFACTUALS)})")
        scenario = COUNTERFACTUALS[name].transform(scenario)
    return scenario
