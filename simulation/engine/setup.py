"""A scenario becomes the state of a conflict: the world, the sides, the units, who holds what, the civilians.

Everything a run starts from is set up here (:func:`set_up`), once; the model then changes the state day by day
through the rules (see :class:`simulation.rules.state.State`).
"""

from __future__ import annotations

import numpy as np

from simulation.civilians.displacement import Civilians
from simulation.engine.units import UnitTable
from simulation.rules.state import LEDGER, SideRoutes, Sides, State, Tally
from simulation.scenario import Scenario
from simulation.world import DENSE_MOST_PLACES, World


def set_up(scenario: Scenario, parameters: dict[str, float], rng: np.random.Generator, units: UnitTable,
           dense_most_places: int = DENSE_MOST_PLACES) -> State:
    """The state of ``scenario`` on its first morning.

    Parameters
    ----------
    scenario : the loaded scenario.
    parameters : the model's parameter values, by name.
    rng : the model's random generator (the civilians draw from a child of it).
    units : an empty unit table (its rows get their Mesa agents as they are created).
    dense_most_places : the size threshold of the dense path (see :data:`simulation.world.DENSE_MOST_PLACES`).

    The forces' rows become units of ``personnel * present_share`` (rounded; none if that is 0) at their place.
    Factions with an ``offensive`` event wait for it in each governorate it names (everywhere, for an event
    naming no place); the others are on the offensive everywhere from the start. Each place's *kin* share (of
    the communities opportunists protect) comes from ``composition.csv`` (1 everywhere without it), and the
    days a side needs to clear it, ``assault_days * fortification * (1 + log10(1 + population / 10,000))``.
    An insurgent unit that starts in a place held by a side hostile to it, where its offensive has not begun,
    is a sleeper cell (hidden).
    """
    world = World(scenario, parameters, dense_most_places)
    index = {f: i for i, f in enumerate(scenario.faction_ids)}
    controller = np.array([index[pl.controller] for pl in scenario.places], dtype=np.int64)
    sides = _sides(scenario, world, controller)
    nf, n = len(index), world.n

    claimed: list[np.ndarray | None] = []
    for f in scenario.factions:
        mask = None
        if f.claims:
            mask = np.zeros(n, dtype=bool)
            mask[[world.index[pid] for pid in f.claims]] = True
        claimed.append(mask)
    starts = {e.faction for e in scenario.events if e.kind == "offensive"}
    offensive_in = np.array([[f not in starts] * len(world.governorates) for f in scenario.faction_ids])

    tally = Tally(np.zeros((len(LEDGER), nf), dtype=np.int64), np.zeros((n, nf + 1), dtype=np.int64),
                  np.zeros((n, nf + 1), dtype=np.int64), np.zeros(n, dtype=np.int64))
    initial = tally.ledger[LEDGER.index("initial")]
    for row in scenario.forces:
        f = index[row.faction]
        present = int(round(row.personnel * row.present_share))
        if present <= 0:
            continue
        place = world.index[row.place]
        morale = parameters["initial_morale"] if row.morale is None else row.morale
        r = units.add(f, place, present, row.quality, morale, name=row.unit)
        initial[f] += present
        held_by = sides.coalition_of[controller[place]]
        if (not offensive_in[f, world.governorate_of[place]] and sides.insurgent[f]
                and sides.hostile[sides.coalition_of[f], held_by]):
            units.hidden[r] = True  # a sleeper cell until the offensive

    holder = sides.coalition_of[controller]
    holder.setflags(write=False)
    nc = sides.hostile.shape[0]
    kin = np.ones(n) if scenario.composition is None else np.array(scenario.composition.kin(), dtype=float)
    loyal = np.zeros(n) if scenario.composition is None else np.array(scenario.composition.loyal(), dtype=float)
    # Clearing a place takes longer where it is fortified and where more people live (log of the population).
    clear_days = parameters["assault_days"] * world.fortification * (1.0 + np.log10(1.0 + world.population0 / 10_000))
    return State(
        world=world, sides=sides, units=units, controller=controller, holder=holder,
        initial_holder=sides.coalition_of[controller], claimed=claimed, offensive_in=offensive_in,
        offensive_from=np.array([[f not in starts] * n for f in scenario.faction_ids], dtype=bool),
        offensive_at=offensive_in[:, world.governorate_of].copy(),
        sorties=np.zeros(nf, dtype=np.int64), tally=tally,
        civilians=Civilians(world, parameters, rng),
        routes=SideRoutes(world, sides, holder), was_garrisoned=np.zeros(n, dtype=bool), kin=kin, loyal=loyal,
        clear_days=clear_days, pressure_days=np.zeros(n, dtype=np.int64),
        present_days=np.zeros((n, nc), dtype=np.int64), routed_at=np.zeros(n, dtype=bool),
        opportunists=np.array([i for i, f in enumerate(scenario.factions) if f.doctrine == "opportunist"],
                              dtype=np.int64),
    )


def nominal_strength(scenario: Scenario) -> np.ndarray:
    """Each faction's nominal strength: the personnel of its forces' rows, present or not."""
    index = {f: i for i, f in enumerate(scenario.faction_ids)}
    nominal = np.zeros(len(index), dtype=np.int64)
    for row in scenario.forces:
        nominal[index[row.faction]] += row.personnel
    return nominal


def _sides(scenario: Scenario, world: World, controller: np.ndarray) -> Sides:
    """Allied factions grouped into coalitions (numbered in the order of their first faction), the relations
    between coalitions, and each faction's rear: the most valuable place its coalition holds at the start."""
    ids = list(scenario.faction_ids)
    index = {f: i for i, f in enumerate(ids)}
    label = list(range(len(ids)))
    for pair in sorted(scenario.allied, key=sorted):  # a set's order follows PYTHONHASHSEED; coalitions' must not
        a, b = sorted(index[x] for x in pair)
        la, lb = label[a], label[b]
        label = [la if x == lb else x for x in label]
    uniq = sorted(set(label))
    coalition_of = np.array([uniq.index(x) for x in label], dtype=np.int64)
    nc = len(uniq)
    hostile = np.zeros((nc, nc), dtype=bool)
    neutral = np.zeros((nc, nc), dtype=bool)
    for i, a in enumerate(ids):
        for j, b in enumerate(ids):
            ci, cj = coalition_of[i], coalition_of[j]
            if ci == cj:
                continue
            rel = scenario.relation(a, b)
            if rel == "hostile":
                hostile[ci, cj] = True
            elif rel == "neutral":
                neutral[ci, cj] = True
    neutral &= ~hostile
    government = np.array([f.doctrine == "government" for f in scenario.factions])
    # Government factions whose coalition has an air force can airlift supplies to cut-off places.
    air = {int(coalition_of[i]) for i, f in enumerate(scenario.factions) if f.air_force}
    airlift = government & np.isin(coalition_of, list(air))
    rear = np.full(len(ids), -1)
    for i in range(len(ids)):
        held = coalition_of[controller] == coalition_of[i]
        if held.any():
            rear[i] = int(np.argmax(np.where(held, world.value, -1)))
    return Sides(coalition_of=coalition_of, hostile=hostile, neutral=neutral,
                 mobility=np.array([f.mobility for f in scenario.factions]), government=government,
                 insurgent=np.array([f.doctrine == "insurgent" for f in scenario.factions]), airlift=airlift,
                 rear=rear)
