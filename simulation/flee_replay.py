"""FLEE cases in replay mode: ``conflict-sim replay SCENARIO_DIR --totals injected|generated --out DIR``.

A scenario converted by ``conflict-sim import-flee`` (:mod:`simulation.flee_import`) runs on the project's replay
engine (:class:`simulation.replay.model.ReplayModel`: no forces, the civilians of
:mod:`simulation.civilians.displacement`), with FLEE's conflicts as each day's violence and FLEE's road closures
as the scenario's events. Two ways to decide how many people flee:

``injected`` (FLEE's own protocol; only *where people go* is predicted)
    before day 0 each camp holds its day-0 UNHCR figure; each day t, FLEE's injection ``I[t]`` (the increase of
    UNHCR's total, a decrease carried as a debt) leaves from the places in conflict, drawn at random in
    proportion to FLEE's spawn weights ``w[t, p]`` (population × intensity × decay since onset): the numbers
    leaving are one multinomial draw ``Multinomial(I[t], w[t] / Σ_p w[t, p])`` a day, seeded by the run's seed.
    They replace the flight rule (the replay engine's ``departures``); the places they come from get enough
    residents to supply them (FLEE's ``take_from_population`` is off: a conflict zone never empties).
``generated`` (the project's own flight rule; no UNHCR figure is used)
    each place in conflict feels, each day, violence equal to FLEE's intensity (1 for a plain conflict zone: FLEE
    records no deaths, so one casualty-equivalent a day marks a conflict), and its residents (FLEE's
    population) flee by the flight rule; the camps start empty.

In both, a camp pulls the displaced with the scenario's ``refuge`` (1) times FLEE's capacity multiplier
(``flee/moving.py getCapMultiplier``): 1 up to ``capacity_buffer`` × its capacity, then falling linearly to 0 at
the capacity, ``clip((capacity - idps) / (capacity × (1 - capacity_buffer)), 0, 1)``; ``capacity_buffer`` is the
``[flee_replay]`` table's (:func:`read_replay_settings`; 0, the default, is a linear fall from an empty camp;
FLEE's is 0.9), the capacity ``host_capacity_share`` × FLEE's (the civilians' softer crowding factor is switched
off at camps);
towns pull with ``destination_base_attraction`` (a FLEE town holds people too); a FLEE ``camp``
closure turns the camp into an ordinary town (the pull of an empty town) from its start to its end day; people
travel ``flight_speed_km`` a day and never go home (FLEE's agents do not).

FLEE's agents do not settle in the first town they stop at: every day an agent moves on with a chance set by the
kind of place it is in (FLEE's ``move_rules``: 1 in a conflict zone, ``default_movechance`` in a town,
``camp_movechance`` in a camp). ``injected`` mode does the same with ``town_move_chance`` (the table
``[flee_replay]`` of the fitted file, :func:`read_move_chance`; 0, the default, switches it off): each day that
share of the displaced people sheltering in a town, a pass-through place, a closed camp or a conflict zone with
nobody left to inject leaves it by road, toward any destination with some pull, and chooses again where to stop
(stay, or take the next road) at each place it reaches; people in an open camp stay. In ``injected`` mode the
places' residents are only the people FLEE will inject there (FLEE's agents are only those it spawns: a town's
population is a spawn weight, not people who can move), while a place's pull, crowding and exposure still come
from FLEE's population. The run directory is a run's
(``displacement.csv``: for every place, FLEE's name, and date, ``idps`` the displaced people there).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simulation.replay.events import ReplayDays
from simulation.replay.model import ReplayModel
from simulation.scenario import Scenario, ScenarioError, load_scenario

__all__ = ["REPLAY_SETTINGS", "TOTALS", "FleeInputs", "FleeReplayModel", "injected_departures", "read_flee_inputs",
           "read_move_chance", "read_replay_settings", "run_flee_replay"]

TOTALS = ("injected", "generated")
MOVE_CHANCE_TABLE = "flee_replay"
"""The fitted file's table holding ``town_move_chance`` (kept out of ``[parameters]``: it is this replay's, not
the model's)."""


REPLAY_SETTINGS = {"town_move_chance": (0.0, 1.0), "capacity_buffer": (0.0, 0.99)}
"""The ``[flee_replay]`` table's entries and their allowed ranges (each 0, its default, when absent)."""


def read_replay_settings(scenario: Scenario) -> dict[str, float]:
    """The ``[flee_replay]`` table of the scenario's fitted file (:data:`REPLAY_SETTINGS`, each 0 when absent); all
    0 (off) without one, or when the fitted file is not used. A value out of its range raises
    :class:`ScenarioError`."""
    out = dict.fromkeys(REPLAY_SETTINGS, 0.0)
    path = scenario.fitted_file
    if path is None or not scenario.fitted_used or not path.is_file():
        return out
    import tomllib

    where = f"{path.parent.name}/{path.name}"
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get(MOVE_CHANCE_TABLE, {})
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(where, f"is not valid TOML ({e})") from None
    for key, (low, high) in REPLAY_SETTINGS.items():
        value = table.get(key, 0.0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise ScenarioError(where, f"{value!r} must be a number in [{low:g}, {high:g}]",
                                field=f"{MOVE_CHANCE_TABLE}.{key}")
        out[key] = float(value)
    return out


def read_move_chance(scenario: Scenario) -> float:
    """``town_move_chance`` of the ``[flee_replay]`` table (:func:`read_replay_settings`)."""
    return read_replay_settings(scenario)["town_move_chance"]


@dataclass(frozen=True)
class FleeInputs:
    """What a converted FLEE case adds to its scenario, as arrays over the scenario's days and places.

    Attributes
    ----------
    kind : per place, ``origin``, ``town``, ``camp``, ``pass-through`` or ``marker`` (flee_places.csv).
    country : per place.
    capacity : per place, a camp's FLEE capacity (0 elsewhere).
    intensity : (days, n) FLEE's conflict intensity (0 where no conflict).
    spawn_weight : (days, n) FLEE's spawn weights.
    camp_closed : (days, n) bool, a camp turned into a town by a ``camp`` closure that day.
    camps : the scored camps (FLEE's order), as place indices.
    observed : (days, camps) UNHCR's figures (flee_observations.csv).
    total, injected : (days,) UNHCR's total and FLEE's daily injection (flee_totals.csv).
    """

    kind: tuple[str, ...]
    country: tuple[str, ...]
    capacity: np.ndarray
    intensity: np.ndarray
    spawn_weight: np.ndarray
    camp_closed: np.ndarray
    camps: np.ndarray
    observed: np.ndarray
    total: np.ndarray
    injected: np.ndarray


def _table(root: Path, name: str) -> tuple[Path, str]:
    """The path of a table of an imported FLEE scenario and its name for errors; an error if it is missing."""
    path, where = root / name, f"{root.name}/{name}"
    if not path.is_file():
        raise ScenarioError(where, "file is missing (is this a scenario made by `conflict-sim import-flee`?)")
    return path, where


def _require(where: str, header: list[str], columns: tuple[str, ...]) -> None:
    for c in columns:
        if c not in header:
            raise ScenarioError(where, "required column is missing", row=1, field=c)


def _rows(root: Path, name: str, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    path, where = _table(root, name)
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        _require(where, list(reader.fieldnames or []), columns)
        return [(i, rec) for i, rec in enumerate(reader, start=2)]


def _number(where: str, row: int, rec: dict[str, str], name: str, low: float = 0.0) -> float:
    try:
        x = float(rec[name])
    except (TypeError, ValueError):
        raise ScenarioError(where, f"{rec[name]!r} is not a number", row=row, field=name) from None
    if not np.isfinite(x) or x < low:
        raise ScenarioError(where, f"{rec[name]} must be a number >= {low:g}", row=row, field=name)
    return x


def _columns(root: Path, name: str, columns: tuple[str, ...]) -> dict[str, list[str | None]]:
    """The file's ``columns`` as lists of strings (None where a row is short; row k of the lists is the file's
    spreadsheet row k + 2): the fast path of the long tables, checked in bulk by :func:`_floats` and friends."""
    path, where = _table(root, name)
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, [])
        _require(where, header, columns)
        rows = [r for r in reader if r]  # csv.DictReader skips blank lines too
    at = [header.index(c) for c in columns]
    if all(len(r) > max(at) for r in rows):
        return {c: [r[a] for r in rows] for c, a in zip(columns, at)}
    return {c: [r[a] if a < len(r) else None for r in rows] for c, a in zip(columns, at)}


def _floats(where: str, name: str, values: list[str | None], low: float = 0.0) -> np.ndarray:
    """``values`` as floats, each finite and >= ``low``; else the first bad row's :func:`_number` error."""
    try:
        x = np.array(values, dtype=float)
        good = bool((np.isfinite(x) & (x >= low)).all())
    except (TypeError, ValueError):
        x, good = None, False
    if not good:
        x = np.array([_number(where, k + 2, {name: v}, name, low) for k, v in enumerate(values)])
    return x


def read_flee_inputs(scenario: Scenario) -> FleeInputs:
    """Read the ``flee_*.csv`` tables of a converted scenario; a bad row raises :class:`ScenarioError`."""
    root = scenario.path
    index = {p: i for i, p in enumerate(scenario.place_ids)}
    n, days = len(index), scenario.days

    def place(where: str, row: int, rec: dict[str, str], name: str = "place") -> int:
        if rec[name] not in index:
            raise ScenarioError(where, f"unknown place {rec[name]!r}", row=row, field=name)
        return index[rec[name]]

    def day(where: str, row: int, rec: dict[str, str], name: str = "date") -> int:
        try:
            d = (dt.date.fromisoformat(rec[name]) - scenario.start_date).days
        except (TypeError, ValueError):
            raise ScenarioError(where, f"{rec[name]!r} is not a date (YYYY-MM-DD)", row=row, field=name) from None
        if not 0 <= d < days:
            raise ScenarioError(where, f"{rec[name]} is outside the scenario's dates", row=row, field=name)
        return d

    def lookup(where: str, values: list[str | None], one: Any, name: str) -> np.ndarray:
        # each distinct value checked once, by `one` (place or day), its error naming its first row
        seen: dict[str | None, int] = {}
        for k, v in enumerate(values):
            if v not in seen:
                seen[v] = one(where, k + 2, {name: v}, name)
        return np.array([seen[v] for v in values], dtype=np.int64)

    kind, country, capacity = [""] * n, [""] * n, np.zeros(n)
    where = f"{root.name}/flee_places.csv"
    for row, rec in _rows(root, "flee_places.csv", ("id", "country", "kind", "capacity")):
        i = place(where, row, rec, "id")
        kind[i], country[i] = rec["kind"], rec["country"]
        if rec["kind"] not in ("origin", "town", "camp", "pass-through", "marker"):
            raise ScenarioError(where, f"{rec['kind']!r} is not origin, town, camp, pass-through or marker", row=row,
                                field="kind")
        if rec["kind"] == "camp":
            capacity[i] = _number(where, row, rec, "capacity")
    missing = [scenario.place_ids[i] for i in range(n) if not kind[i]]
    if missing:
        raise ScenarioError(where, f"no row for place {missing[0]!r}", field="id")

    intensity, weight = np.zeros((days, n)), np.zeros((days, n))
    where = f"{root.name}/flee_conflicts.csv"
    cols = _columns(root, "flee_conflicts.csv", ("date", "place", "intensity", "spawn_weight"))
    d, i = lookup(where, cols["date"], day, "date"), lookup(where, cols["place"], place, "place")
    intensity[d, i] = _floats(where, "intensity", cols["intensity"])
    weight[d, i] = _floats(where, "spawn_weight", cols["spawn_weight"])

    closed = np.zeros((days, n), dtype=bool)
    where = f"{root.name}/flee_closures.csv"
    for row, rec in _rows(root, "flee_closures.csv", ("kind", "name1", "start", "end")):
        if rec["kind"] not in ("camp", "idpcamp"):
            continue  # the road closures are the scenario's events
        i = place(where, row, rec, "name1")
        start, end = int(_number(where, row, rec, "start", -1e9)), int(_number(where, row, rec, "end", -1e9))
        # FLEE acts on day `start` (the camp becomes a town) and on day `end` (a camp again), tested in that order.
        for d in range(days):
            if d == start:
                closed[d:, i] = True
            if d == end:
                closed[d:, i] = False

    camps = [i for i in range(n) if kind[i] == "camp"]
    col = {c: j for j, c in enumerate(camps)}
    observed = np.full((days, len(camps)), -1.0)
    where = f"{root.name}/flee_observations.csv"
    cols = _columns(root, "flee_observations.csv", ("date", "place", "refugees"))
    d, i = lookup(where, cols["date"], day, "date"), lookup(where, cols["place"], place, "place")
    j = np.array([col.get(int(x), -1) for x in i], dtype=np.int64)
    if (j < 0).any():
        k = int(np.argmax(j < 0))
        raise ScenarioError(where, f"{cols['place'][k]!r} is not a camp of flee_places.csv", row=k + 2, field="place")
    observed[d, j] = _floats(where, "refugees", cols["refugees"])
    if (observed < 0).any():
        d, j = np.argwhere(observed < 0)[0]
        raise ScenarioError(where, f"no figure for camp {scenario.place_ids[camps[j]]!r} on "
                            f"{scenario.start_date + dt.timedelta(days=int(d))}", field="place")
    total, injected = np.full(days, -1.0), np.full(days, -1.0)
    where = f"{root.name}/flee_totals.csv"
    cols = _columns(root, "flee_totals.csv", ("date", "total", "injected"))
    d = lookup(where, cols["date"], day, "date")
    total[d], injected[d] = _floats(where, "total", cols["total"]), _floats(where, "injected", cols["injected"])
    if (total < 0).any():
        raise ScenarioError(where, f"no row for {scenario.start_date + dt.timedelta(days=int(np.argmax(total < 0)))}",
                            field="date")
    return FleeInputs(tuple(kind), tuple(country), capacity, intensity, weight, closed, np.array(camps, dtype=np.int64),
                      observed, total, injected)


def injected_departures(inputs: FleeInputs, rng: np.random.Generator) -> np.ndarray:
    """``(days, n)`` people leaving each place each day: ``Multinomial(injected[t], w[t] / Σ w[t])`` (nobody on a
    day with no weight anywhere, as FLEE, which then has nowhere to put them)."""
    days, n = inputs.spawn_weight.shape
    out = np.zeros((days, n), dtype=np.int64)
    for t in range(days):
        w = inputs.spawn_weight[t]
        s = w.sum()
        if inputs.injected[t] > 0 and s > 0:
            out[t] = rng.multinomial(int(inputs.injected[t]), w / s)
    return out


class FleeReplayModel(ReplayModel):
    """:class:`ReplayModel` on a converted FLEE case: camps crowd at FLEE's capacities, ``camp`` closures turn
    camps into towns, and (``injected``) the day-0 camp figures are pre-placed before day 0."""

    def __init__(self, scenario: Scenario, events: ReplayDays, inputs: FleeInputs, preplaced: np.ndarray,
                 origin_of_preplaced: int, seed: int | None = None, residents: np.ndarray | None = None,
                 town_move_chance: float = 0.0, capacity_buffer: float = 0.0, **parameters: Any):
        super().__init__(scenario, events, seed=seed, **parameters)
        self.flee = inputs
        self.town_move_chance = float(town_move_chance)
        if not 0.0 <= capacity_buffer < 1.0:
            raise ValueError(f"capacity_buffer must be in [0, 1), not {capacity_buffer}")
        self.capacity_buffer = float(capacity_buffer)
        c = self.state.civilians
        if residents is not None:
            # Only the people FLEE injects live anywhere (see the module docstring); the places' pull, crowding and
            # exposure were set from the scenario's populations (FLEE's) and are kept.
            if c.n_groups != 1:
                raise ValueError("a converted FLEE case has one population group")
            k = c.origin_of_gp[:c.n]
            has = k >= 0
            drop = c.residents_by_origin[k[has]] - np.asarray(residents, dtype=np.int64)[has]
            if (drop < 0).any():
                raise ValueError("residents must not exceed the places' populations")
            c.residents_by_origin[k[has]] -= drop
            c.initial_by_origin[k[has]] -= drop
        # Where the displaced may move on (town_move_chance): everywhere but the camps (a closed camp is a town).
        self._moving_place = np.array([kd != "camp" for kd in inputs.kind])
        camps = inputs.camps
        # A camp's pull falls linearly to 0 as it fills to host_capacity_share x FLEE's capacity (see _step); the
        # civilians' own crowding factor is switched off at camps, whose capacity this rule states.
        self._camp_capacity = self.p["host_capacity_share"] * np.maximum(inputs.capacity[camps], 1.0)
        c.capacity[camps] = np.inf
        self._camp_pull = c.attraction.copy()
        self._town_pull = np.full(c.n, self.p["destination_base_attraction"])
        if preplaced.any():
            # People in the camps before day 0, counted as displaced from the largest origin of day 0 (FLEE does
            # not say where they came from; nobody goes home, so it changes no movement).
            o = origin_of_preplaced
            c.residents_by_origin[o] -= int(preplaced.sum())
            c.displaced_from_by_origin[o] += int(preplaced.sum())
            c.cohort_by_origin[o, :] += preplaced
            if c.residents_by_origin[o] < 0:
                raise ValueError("not enough residents to pre-place the day-0 camp figures")

    def _step(self) -> None:
        d, c = self.day, self.state.civilians
        if d >= self.days:
            return super()._step()
        pull = self._camp_pull.copy()
        camps = self.flee.camps
        # FLEE's getCapMultiplier: full pull up to capacity_buffer x capacity, then falling linearly to 0 at the
        # capacity (capacity_buffer 0: linearly from an empty camp).
        room = (self._camp_capacity - c.idps[camps]) / (self._camp_capacity * (1.0 - self.capacity_buffer))
        pull[camps] *= np.clip(room, 0.0, 1.0)
        c.attraction[:] = np.where(self.flee.camp_closed[d], self._town_pull, pull)
        left = c.displaced_from.copy()
        forced = self.replay_days.departures
        today = None if forced is None else forced[d].copy()
        if forced is not None and self.town_move_chance > 0:
            # FLEE's move chance: where nobody is left to inject, the day's "departures" is the share of the
            # displaced sheltering there who move on (the civilians read departures / max(residents, 1)).
            moving = (self._moving_place | self.flee.camp_closed[d]) & (today <= 0) & (c.residents == 0)
            forced[d] = np.where(moving, self.town_move_chance, today)
        super()._step()
        if forced is not None:
            forced[d] = today
        if forced is not None and d + 1 < self.days:
            # People FLEE injects today who could not leave (no open road to anywhere with some pull) wait at home
            # and leave the next day: the injected total is kept, as FLEE's spawned agents wait where they appear.
            self.replay_days.departures[d + 1] += np.maximum(today - (c.displaced_from - left), 0.0)


def run_flee_replay(scenario: Scenario | str | Path, totals: str = "injected", seed: int = 1,
                    use_fitted: bool = True, overrides: dict[str, float] | None = None,
                    town_move_chance: float | None = None, capacity_buffer: float | None = None) -> FleeReplayModel:
    """Run a converted FLEE case in ``totals`` mode (see the module docstring); return the finished model.

    ``overrides`` are parameter values set on top of the scenario's and its fitted file's;
    ``town_move_chance`` (injected mode) and ``capacity_buffer`` (both modes), when given, replace the fitted
    file's (:func:`read_replay_settings`).
    """
    if totals not in TOTALS:
        raise ValueError(f"totals must be one of {', '.join(TOTALS)}, not {totals!r}")
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, use_fitted=use_fitted)
    if overrides:
        scenario = scenario.with_parameters(overrides)
    inputs = read_flee_inputs(scenario)
    days, n = scenario.days, len(scenario.places)
    rng = np.random.default_rng(seed)
    preplaced = np.zeros(n, dtype=np.int64)
    origin = int(np.argmax(inputs.spawn_weight[0])) if days else 0
    departures, residents = None, None
    settings = read_replay_settings(scenario)
    move = settings["town_move_chance"] if town_move_chance is None else float(town_move_chance)
    buffer = settings["capacity_buffer"] if capacity_buffer is None else float(capacity_buffer)
    if not 0.0 <= move <= 1.0:
        raise ValueError(f"town_move_chance must be in [0, 1], not {move}")
    if totals == "injected":
        departures = injected_departures(inputs, rng)
        preplaced[inputs.camps] = inputs.observed[0].astype(np.int64)
        need = departures.sum(axis=0)
        need[origin] += preplaced.sum()
        residents = need
        places = tuple(dataclasses.replace(p, population=p.population + int(need[i]))
                       for i, p in enumerate(scenario.places))
        scenario = dataclasses.replace(scenario, places=places)
    nf = len(scenario.factions)
    events = ReplayDays(violence=inputs.intensity.copy(), battle=np.zeros((days, n), dtype=bool),
                        civilians_killed=np.zeros((days, n)), killed=np.zeros((days, n, nf + 1), dtype=np.int64),
                        control=[[] for _ in range(days)],
                        matched=int((inputs.intensity > 0).sum()))
    if departures is not None:
        # Every place (0 where nobody is injected: no flight rule); a copy, the model adds those who wait a day.
        events.departures = departures.astype(float)
    model = FleeReplayModel(scenario, events, inputs, preplaced, origin, seed=seed, residents=residents,
                            town_move_chance=move if totals == "injected" else 0.0, capacity_buffer=buffer)
    return model.run()


def cmd_replay_totals(args: Any) -> int:
    """``conflict-sim replay SCENARIO_DIR --totals injected|generated --out DIR`` (a converted FLEE case)."""
    from simulation.errors import UsageError, parse_sets
    from simulation.runs.output import check_run_target, summary_text, write_run_directory

    if args.events is not None:
        raise UsageError("--totals runs a converted FLEE case on its own conflicts; drop --events")
    if args.days is not None:
        raise UsageError("--totals runs the case's whole period; drop --days")
    if args.seed < 0:
        raise UsageError(f"--seed {args.seed}: must be a whole number >= 0")
    scenario = load_scenario(args.scenario, use_fitted=not args.no_fitted)
    sets = parse_sets(args.sets)
    if sets:
        scenario = scenario.with_parameters(sets)
    read_flee_inputs(scenario)  # every table checked before anything runs or is written
    out = args.out or Path("runs") / f"{scenario.name}-{args.totals}-seed{args.seed}"
    check_run_target(out, overwrite=args.force, protect=[scenario.path, Path.cwd()])
    started = time.perf_counter()
    model = run_flee_replay(scenario, args.totals, seed=args.seed)
    model.events_file = f"{scenario.path / 'flee_conflicts.csv'} (totals: {args.totals})"
    write_run_directory(model, out, time.perf_counter() - started, overwrite=args.force, plots=not args.no_plots)
    if args.quiet:
        print(out)
    else:
        import json

        print(summary_text(json.loads((out / "summary.json").read_text(encoding="utf-8"))), end="")
        print(f"run directory: {out}")
    return 0
