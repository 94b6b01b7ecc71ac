"""Small hand-made theatres for the direction tests: a few places, roads and units, written as a scenario
directory (docs/scenario-format.md) and loaded by the model as any scenario is.

Four factions: ``government`` (with an air force) and its ally ``tribal``; ``insurgent``; ``kurds``
(opportunist, neutral to the government and the tribes, hostile to the insurgents).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from simulation.engine.model import ConflictModel

START = dt.date(2014, 6, 1)

FACTIONS = """
[[factions]]
id = "government"
name = "Government"
colour = "#1f77b4"
doctrine = "government"
air_force = true

[[factions]]
id = "tribal"
name = "Tribes"
colour = "#2ca02c"
doctrine = "tribal"

[[factions]]
id = "insurgent"
name = "Insurgents"
colour = "#222222"
doctrine = "insurgent"

[[factions]]
id = "kurds"
name = "Regional forces"
colour = "#ff7f0e"
doctrine = "opportunist"

[relations]
allied = [["government", "tribal"]]
neutral = [["government", "kurds"], ["tribal", "kurds"]]
"""

# Parameters that would blur a test of one rule when left at their defaults: no daily drift of morale, no
# civilians harmed in battles, no executions. Tests set what their rule reads.
QUIET = {"morale_recovery": 0.0, "morale_cutoff": 0.0, "hostile_population_morale": 0.0, "morale_outnumbered": 0.0,
         "civilian_battle_harm": 0.0, "execution_rate": 0.0, "recruit_rate": 0.0, "hold_value": 0.0}


@dataclass
class Place:
    id: str
    controller: str
    population: int = 0
    value: float = 1.0
    sympathy: float = 0.5
    fortification: float = 1.0
    refuge: float = 0.0
    kind: str = "town"
    governorate: str = "G"


@dataclass
class Theatre:
    """A scenario under construction: add places, roads, units and events, then :meth:`model`."""

    places: list[Place] = field(default_factory=list)
    roads: list[tuple[str, str, float, str]] = field(default_factory=list)
    forces: list[tuple[str, str, int, float, float]] = field(default_factory=list)
    events: list[tuple[int, str, str, str, float]] = field(default_factory=list)
    parameters: dict[str, float] = field(default_factory=lambda: dict(QUIET))
    claims: list[str] = field(default_factory=list)  # places the Kurds claim (none: they claim nothing)
    composition: dict[str, dict[str, float]] = field(default_factory=dict)  # place -> group shares (composition.csv)

    def place(self, pid: str, controller: str, **kw: object) -> Theatre:
        self.places.append(Place(pid, controller, **kw))
        return self

    def road(self, a: str, b: str, km: float, kind: str = "road") -> Theatre:
        self.roads.append((a, b, km, kind))
        return self

    def unit(self, faction: str, place: str, personnel: int, quality: float = 1.0, morale: float = 0.9) -> Theatre:
        self.forces.append((faction, place, personnel, quality, morale))
        return self

    def event(self, day: int, kind: str, place: str = "", faction: str = "", amount: float = 1.0) -> Theatre:
        self.events.append((day, kind, place, faction, amount))
        return self

    def claim(self, *places: str) -> Theatre:
        """The Kurds (opportunists) claim these places."""
        self.claims.extend(places)
        return self

    def people(self, place: str, **shares: float) -> Theatre:
        """Who lives at ``place`` (a row of composition.csv; once one is given, the other places' people are all
        of the group ``other``)."""
        self.composition[place] = shares
        return self

    def set(self, **parameters: float) -> Theatre:
        self.parameters.update(parameters)
        return self

    def write(self, root: Path, days: int = 1) -> Path:
        root.mkdir(parents=True, exist_ok=True)
        end = START + dt.timedelta(days=days - 1)
        params = "\n".join(f"{k} = {v!r}" for k, v in sorted(self.parameters.items()))
        factions = FACTIONS
        if self.claims:
            factions = factions.replace('doctrine = "opportunist"\n',
                                        f'doctrine = "opportunist"\nclaims = {self.claims!r}\n'.replace("'", '"'))
        (root / "scenario.toml").write_text(
            f'[scenario]\nname = "{root.name}"\nstart_date = {START}\nend_date = {end}\n{factions}\n'
            f"[parameters]\n{params}\n", encoding="utf-8")
        rows = ["id,name,kind,governorate,lat,lon,population,controller,value,sympathy,fortification,refuge,source"]
        for k, p in enumerate(self.places):
            rows.append(f"{p.id},{p.id.title()},{p.kind},{p.governorate},{33 + k * 0.1:.2f},{43 + k * 0.1:.2f},"
                        f"{p.population},{p.controller},{p.value},{p.sympathy},{p.fortification},{p.refuge},test")
        (root / "places.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        (root / "roads.csv").write_text("from,to,km,kind,source\n" + "".join(
            f"{a},{b},{km},{kind},test\n" for a, b, km, kind in self.roads), encoding="utf-8")
        (root / "forces.csv").write_text("faction,place,personnel,quality,morale,source\n" + "".join(
            f"{f},{p},{n},{q},{m},test\n" for f, p, n, q, m in self.forces), encoding="utf-8")
        (root / "events.csv").write_text("date,kind,place,faction,amount,note,source\n" + "".join(
            f"{START + dt.timedelta(days=d)},{kind},{p},{f},{a},,test\n" for d, kind, p, f, a in self.events),
            encoding="utf-8")
        if self.composition:
            groups = ("sunni_arab", "shia_arab", "kurd", "sunni_turkmen", "shia_turkmen", "christian", "yazidi",
                      "shabak", "other")
            rows = ["id," + ",".join(groups) + ",source"]
            for p in self.places:
                shares = self.composition.get(p.id, {"other": 1.0})
                rows.append(f"{p.id}," + ",".join(str(shares.get(g, 0.0)) for g in groups) + ",test")
            (root / "composition.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        return root

    def model(self, root: Path, seed: int = 1, days: int = 1, **parameters: float) -> ConflictModel:
        """The model of this theatre (written to ``root``), not yet stepped."""
        return ConflictModel(self.write(root, days), seed=seed, **parameters)


def place_index(model: ConflictModel, pid: str) -> int:
    return model.world.place_ids.index(pid)


def faction_index(model: ConflictModel, fid: str) -> int:
    return model.faction_ids.index(fid)


def units(model: ConflictModel, faction: str | None = None, place: str | None = None) -> list:
    """The force units (Mesa agents) alive, of ``faction`` and at ``place`` if given."""
    return [a for a in model.agents if hasattr(a, "morale") and a.personnel > 0
            and (faction is None or a.faction == faction) and (place is None or a.place == place)]


def logged(model: ConflictModel, kind: str, place: str | None = None) -> list[tuple[str, str, str, str]]:
    """The log's rows (date, kind, place, detail) of ``kind``, at ``place`` if given."""
    return [e for e in model.log if e[1] == kind and (place is None or e[2] == place)]


def losses(model: ConflictModel, faction: str, place: str | None = None, day: int | None = None) -> int:
    """Killed and wounded of ``faction`` (or ``"civilian"``), at ``place`` and on ``day`` if given (else all)."""
    j = len(model.faction_ids) if faction == "civilian" else faction_index(model, faction)
    days = slice(0, model.day) if day is None else slice(day, day + 1)
    places = slice(None) if place is None else place_index(model, place)
    return int(model.rec_killed[days, places, j].sum() + model.rec_wounded[days, places, j].sum())
