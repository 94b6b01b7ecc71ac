"""Load and validate a scenario directory into typed, immutable data.

A scenario is ``scenario.toml`` plus ``places.csv``, ``roads.csv``, ``forces.csv`` and ``events.csv``, and
optionally ``composition.csv`` (who lives where; see ``docs/scenario-format.md``). Every problem is reported as
a :class:`ScenarioError` that names the file, the row and the field, so that a user editing the tables in a
spreadsheet knows where to look.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulation.parameters import PARAMETERS, check_value, defaults

if TYPE_CHECKING:
    import networkx as nx

PLACE_KINDS = ("city", "town", "village", "crossing", "refinery", "base", "airport", "dam", "checkpoint")
ROAD_KINDS = ("highway", "road", "desert track", "river crossing")
DOCTRINES = ("government", "insurgent", "tribal", "opportunist")
EVENT_KINDS = (
    "offensive",
    "reinforcement",
    "mobilisation",
    "air_sorties",
    "defection",
    "morale_shock",
    "road_blocked",
    "road_opened",
    "checkpoint_closed",
    "checkpoint_opened",
)
ID_PATTERN = re.compile(r"^[a-z0-9_]+$")
GROUPS = ("sunni_arab", "shia_arab", "kurd", "sunni_turkmen", "shia_turkmen", "christian", "yazidi", "shabak",
          "other")
"""The groups of ``composition.csv`` (its columns, in this order)."""
KIN_GROUPS = ("kurd", "yazidi", "christian", "shabak")
LOYAL_GROUPS = ("shia_arab", "shia_turkmen")
"""The communities an opportunist faction (the Peshmerga) protects: its *kin* share of a place is theirs."""
ONE_GROUP = "everyone"
"""The only group of a scenario without ``composition.csv``."""
DOCTRINE_COLUMNS = ("government", "insurgent", "tribal", "opportunist", "violence")
"""What a group fears: each faction doctrine, then violence felt nearby (a weight, not a share)."""
# With ``[scenario] place_ids = "names"`` (scenarios converted from other models, e.g. FLEE's cases, whose place
# names are kept exactly), a place id may be any text without "|" (which joins a road's ends in events.csv) and
# without control characters.
PLACE_NAME_PATTERN = re.compile(r"^[^|\x00-\x1f\x7f]+$")
PLACE_ID_RULES = ("ids", "names")
SCENARIO_NAME_PATTERN = re.compile(r"^[a-z0-9_][a-z0-9_.-]*$")  # used in run-directory names: no "/" or ".."
COLOUR_PATTERN = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
MAX_DAYS = 3660  # ten years of days: the daily records of a longer run would not fit in memory on a laptop
MAX_POPULATION = 100_000_000
MAX_PERSONNEL = 10_000_000
MAX_PLACE_VALUE = 1000.0
MAX_SORTIES = 10_000
WHOLE_AMOUNT_EVENTS = {"reinforcement": MAX_PERSONNEL, "mobilisation": MAX_PERSONNEL, "defection": MAX_PERSONNEL,
                       "air_sorties": MAX_SORTIES}
# The keys each table of scenario.toml may hold: anything else is a misspelling and is rejected.
TOML_KEYS = {
    "": ("scenario", "factions", "relations", "parameters", "fit", "displacement", "replay"),
    "scenario": ("name", "description", "start_date", "end_date", "fitted_parameters", "observations", "place_ids"),
    "factions": ("id", "name", "colour", "doctrine", "mobility", "air_force", "claims"),
    "relations": ("allied", "neutral"),
    "displacement": ("fear", "unscreened_groups"),
    "replay": ("actors", "fitted_parameters"),
}


class ScenarioError(ValueError):
    """A scenario file is malformed. ``str()`` is one line naming the file, row and field."""

    def __init__(self, file: str | Path, message: str, row: int | None = None, field: str | None = None):
        self.file = str(file)
        self.row = row
        self.field = field
        message = " ".join(str(message).split("\n"))  # one line, whatever the message quotes
        self.message = message
        where = self.file + (f", row {row}" if row is not None else "") + (f", field '{field}'" if field else "")
        super().__init__(f"{where}: {message}")

    def __reduce__(self) -> tuple:
        # Picklable, so that an error raised in a worker process reaches the parent intact.
        return (type(self), (self.file, self.message, self.row, self.field))


@dataclass(frozen=True)
class Faction:
    id: str
    name: str
    colour: str
    doctrine: str
    mobility: float = 1.0
    air_force: bool = False
    claims: tuple[str, ...] = ()  # places an opportunist moves into when abandoned (empty: any within reach)


@dataclass(frozen=True)
class Place:
    id: str
    name: str
    kind: str
    governorate: str
    lat: float
    lon: float
    population: int
    controller: str
    value: float
    sympathy: float
    fortification: float
    refuge: float
    source: str
    #: Fleeing people of screened groups a checkpoint admits a day (None: no limit; ``admission_per_day``).
    admission: float | None = None


@dataclass(frozen=True)
class DisplacementSettings:
    """``[displacement]`` of scenario.toml: fear overrides by group (``fear.GROUP.DOCTRINE = value``, see
    :mod:`simulation.civilians.groups`) and the groups that checkpoints do not screen."""

    fear: tuple[tuple[str, str, float], ...] = ()
    unscreened_groups: tuple[str, ...] = ()

    def fear_overrides(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for g, d, v in self.fear:
            out.setdefault(g, {})[d] = v
        return out


@dataclass(frozen=True)
class Road:
    a: str
    b: str
    km: float
    kind: str
    source: str


@dataclass(frozen=True)
class ForceRow:
    faction: str
    place: str
    personnel: int
    quality: float
    present_share: float
    morale: float | None
    personnel_low: int | None
    personnel_high: int | None
    unit: str
    source: str


@dataclass(frozen=True)
class Event:
    date: dt.date
    kind: str
    place: str
    faction: str
    amount: float
    note: str
    source: str


@dataclass(frozen=True)
class Composition:
    """Each place's people by group (``composition.csv``): ``shares[p][g]`` is group ``groups[g]``'s share of
    place ``p`` (in the order of ``places.csv``), each row summing to 1 within 0.01."""

    groups: tuple[str, ...]
    shares: tuple[tuple[float, ...], ...]

    def kin(self) -> tuple[float, ...]:
        """Each place's share of :data:`KIN_GROUPS` (the groups the file has)."""
        cols = [i for i, g in enumerate(self.groups) if g in KIN_GROUPS]
        return tuple(sum(row[i] for i in cols) for row in self.shares)

    def loyal(self) -> tuple[float, ...]:
        """Each place's share of :data:`LOYAL_GROUPS` (the groups the file has)."""
        cols = [i for i, g in enumerate(self.groups) if g in LOYAL_GROUPS]
        return tuple(sum(row[i] for i in cols) for row in self.shares)


@dataclass(frozen=True)
class Scenario:
    """A validated scenario. ``parameters`` holds every model parameter (defaults merged)."""

    path: Path
    name: str
    description: str
    start_date: dt.date
    end_date: dt.date
    factions: tuple[Faction, ...]
    allied: frozenset[frozenset[str]]
    neutral: frozenset[frozenset[str]]
    places: tuple[Place, ...]
    roads: tuple[Road, ...]
    forces: tuple[ForceRow, ...]
    events: tuple[Event, ...]
    parameters: dict[str, float] = field(hash=False)
    fit_bounds: dict[str, tuple[float, float]] = field(hash=False)
    fitted_file: Path | None = None
    #: Whether ``fitted_file``'s parameters were applied (not with ``use_fitted=False`` or a missing file).
    fitted_used: bool = False
    #: Parameter values set on top of the scenario's and the fitted file's (``--set``, :meth:`with_parameters`).
    overrides: dict[str, float] = field(default_factory=dict, hash=False)
    #: Who lives where (``composition.csv``); None: one group whose fears come from each place's ``sympathy``.
    composition: Composition | None = None
    displacement: DisplacementSettings = field(default_factory=DisplacementSettings)
    #: ``[replay] actors``: recorded actor names (ACLED's ``actor1``) mapped to faction ids, for replay mode.
    replay_actors: tuple[tuple[str, str], ...] = ()
    #: ``[replay] fitted_parameters``: parameters fitted in replay mode, applied by replays only (None: none).
    replay_fitted_file: Path | None = None
    #: Whether ``replay_fitted_file``'s parameters were applied (:func:`simulation.replay.model.with_replay_fit`).
    replay_fitted_used: bool = False

    @property
    def days(self) -> int:
        return (self.end_date - self.start_date).days + 1

    @property
    def faction_ids(self) -> tuple[str, ...]:
        return tuple(f.id for f in self.factions)

    @property
    def place_ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.places)

    def faction(self, faction_id: str) -> Faction:
        for f in self.factions:
            if f.id == faction_id:
                return f
        raise KeyError(faction_id)

    def relation(self, a: str, b: str) -> str:
        """``'self'``, ``'allied'``, ``'neutral'`` or ``'hostile'``."""
        if a == b:
            return "self"
        pair = frozenset((a, b))
        if pair in self.allied:
            return "allied"
        if pair in self.neutral:
            return "neutral"
        return "hostile"

    def with_parameters(self, overrides: dict[str, Any], origin: str = "--set") -> Scenario:
        """A copy with parameter values replaced (each checked against its bounds), recorded in ``overrides``."""
        params = dict(self.parameters)
        changed = dict(self.overrides)
        for name, value in overrides.items():
            try:
                params[name] = changed[name] = check_value(name, value)
            except (KeyError, ValueError) as e:
                raise ScenarioError(origin, str(e).strip('"'), field=name) from None
        return _replace(self, parameters=params, overrides=changed)

    def graph(self) -> nx.Graph:
        """The road network as a NetworkX graph; nodes carry the place, edges the road."""
        import networkx as nx

        g = nx.Graph()
        for p in self.places:
            g.add_node(p.id, place=p, pos=(p.lon, p.lat))
        for r in self.roads:
            g.add_edge(r.a, r.b, km=r.km, kind=r.kind)
        return g


def _replace(s: Scenario, **changes: Any) -> Scenario:
    import dataclasses

    return dataclasses.replace(s, **changes)


# --------------------------------------------------------------------------------------------------------
# CSV reading with located errors


def csv_records(reader: Iterator[list[str]], name: str, first_row: int = 1) -> Iterator[tuple[int, list[str]]]:
    """(spreadsheet row, cells) of each record ``reader`` gives, the first being ``first_row``; a CSV syntax error
    raises :class:`ScenarioError` naming ``name`` and the row."""
    row = first_row - 1
    while True:
        row += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise ScenarioError(name, f"is not valid CSV: {e}", row=row) from None
        yield row, cells


class _Rows:
    """Rows of one CSV file with helpers that raise located :class:`ScenarioError`s."""

    def __init__(self, path: Path, required: tuple[str, ...], optional: tuple[str, ...] = ()):
        self.path = path
        self.name = f"{path.parent.name}/{path.name}"
        text = _read_text(path, self.name)
        if not text.strip():
            raise ScenarioError(self.name, "file is empty; it needs a header row")
        # strict: an unclosed quote is an error, not a cell that swallows the rest of the file.
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        records = self._records(reader)
        header = [h.strip() for h in next(records)[1]]
        if len(header) == 1 and ";" in header[0]:
            raise ScenarioError(self.name, "the header has no commas but has semicolons; save the file as "
                                "comma-separated CSV", row=1)
        for i, h in enumerate(header):
            if h not in required and h not in optional:
                raise ScenarioError(self.name, f"unknown column {h!r} (allowed: {', '.join(required + optional)})",
                                    row=1, field=h or f"column {i + 1}")
            if header.count(h) > 1:
                raise ScenarioError(self.name, "column appears twice", row=1, field=h)
        for c in required:
            if c not in header:
                raise ScenarioError(self.name, "required column is missing", row=1, field=c)
        self.header = header
        self.rows: list[tuple[int, dict[str, str]]] = []
        for lineno, cells in records:
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise ScenarioError(self.name, f"has {len(cells)} cells, the header has {len(header)}", row=lineno)
            self.rows.append((lineno, {h: c.strip() for h, c in zip(header, cells)}))

    def _records(self, reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
        """(spreadsheet row, cells) of each record; the header is row 1. CSV syntax errors are located."""
        return csv_records(reader, self.name)

    def error(self, row: int, field: str, message: str) -> ScenarioError:
        return ScenarioError(self.name, message, row=row, field=field)

    def text(self, row: int, rec: dict[str, str], name: str, required: bool = True) -> str:
        v = rec.get(name, "")
        if required and not v:
            raise self.error(row, name, "is empty")
        return v

    def ident(self, row: int, rec: dict[str, str], name: str, names: bool = False) -> str:
        """An id (lowercase letters, digits, _), or with ``names`` a place name (:data:`PLACE_NAME_PATTERN`)."""
        v = self.text(row, rec, name)
        if names:
            if not PLACE_NAME_PATTERN.match(v):
                raise self.error(row, name, f"{v!r} is not a place name (any text without '|' or control "
                                 "characters)")
        elif not ID_PATTERN.match(v):
            raise self.error(row, name, f"{v!r} is not an id (lowercase letters, digits and _)")
        return v

    def number(self, row: int, rec: dict[str, str], name: str, low: float | None = None,
               high: float | None = None, default: float | None = None, low_open: bool = False) -> float:
        v = rec.get(name, "")
        if v == "":
            if default is not None:
                return default
            raise self.error(row, name, "is empty")
        try:
            x = float(v)
        except ValueError:
            raise self.error(row, name, f"{v!r} is not a number") from None
        if not math.isfinite(x):
            raise self.error(row, name, f"{v!r} is not a finite number")
        if low is not None and (x < low or (low_open and x == low)):
            raise self.error(row, name, f"{v} must be {'>' if low_open else '>='} {low:g}")
        if high is not None and x > high:
            raise self.error(row, name, f"{v} must be <= {high:g}")
        return x

    def integer(self, row: int, rec: dict[str, str], name: str, low: int = 0, low_open: bool = False,
                default: int | None = None, high: int | None = None) -> int:
        x = self.number(row, rec, name, low=low, high=high, low_open=low_open,
                        default=None if default is None else float(default))
        if x != int(x):
            raise self.error(row, name, f"{rec[name]!r} is not a whole number")
        return int(x)

    def choice(self, row: int, rec: dict[str, str], name: str, allowed: tuple[str, ...] | set[str]) -> str:
        v = self.text(row, rec, name)
        if v not in allowed:
            raise self.error(row, name, f"{v!r} is not one of {', '.join(sorted(allowed))}")
        return v


# --------------------------------------------------------------------------------------------------------
# scenario.toml


def _read_text(path: Path, name: str) -> str:
    """The text of a UTF-8 file without a byte-order mark; anything else is a located :class:`ScenarioError`."""
    if not path.is_file():
        raise ScenarioError(name, "file is missing")
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ScenarioError(name, f"cannot be read ({e.strerror})") from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raise ScenarioError(name, "file starts with a byte-order mark; save it as UTF-8 without BOM")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or raw.count(b"\x00") > len(raw) // 4 > 0:
        raise ScenarioError(name, "is UTF-16 (as some spreadsheets save 'Unicode text'); save it as UTF-8")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ScenarioError(name, f"is not UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start}); save it as UTF-8",
                            row=line, field=_csv_field_at(raw, e.start) if name.endswith(".csv") else None) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise ScenarioError(name, "contains a NUL byte; is it a binary file?", row=line)
    return text


def _csv_field_at(raw: bytes, offset: int) -> str | None:
    """The header name of the CSV column holding byte ``offset`` (for locating an encoding error)."""
    text = raw.decode("utf-8", errors="replace")
    bad = raw[:offset].decode("utf-8", errors="replace")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
        before = list(csv.reader(io.StringIO(bad, newline="")))
    except csv.Error:
        return None
    if len(rows) < 2 or len(before) < 2:  # no header, or the bad byte is in the header itself
        return None
    column = len(before[-1]) - 1
    header = rows[0]
    return header[column].strip() if 0 <= column < len(header) else None


def _toml(path: Path) -> dict[str, Any]:
    name = f"{path.parent.name}/{path.name}"
    text = _read_text(path, name)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(name, f"is not valid TOML: {e}") from None


def _unknown_keys(file: str, table: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    """Reject keys a table may not hold (a misspelt key would otherwise be ignored without a word)."""
    for key in table:
        if key not in allowed:
            field = f"{where}.{key}" if where else key
            raise ScenarioError(file, f"unknown key {key!r} (allowed: {', '.join(allowed)})", field=field)


def _date(file: str, value: Any, field: str, row: int | None = None) -> dt.date:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ScenarioError(file, f"{value!r} is not a date (YYYY-MM-DD)", row=row, field=field) from None


def _parameters_table(file: str, table: Any, section: str) -> dict[str, float]:
    if not isinstance(table, dict):
        raise ScenarioError(file, "must be a table of name = value", field=section)
    out = {}
    for name, value in table.items():
        if name not in PARAMETERS:
            raise ScenarioError(file, f"unknown parameter {name!r}", field=f"{section}.{name}")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ScenarioError(file, f"{value!r} is not a number", field=f"{section}.{name}")
        try:
            out[name] = check_value(name, value)
        except ValueError as e:
            raise ScenarioError(file, str(e), field=f"{section}.{name}") from None
    return out


def load_fitted_parameters(path: Path) -> dict[str, float]:
    """Read the ``[parameters]`` table of a fitted-parameters file (see ``calibration/fitted/``)."""
    doc = _toml(path)
    return _parameters_table(f"{path.parent.name}/{path.name}", doc.get("parameters", {}), "parameters")


def load_scenario(path: str | Path, use_fitted: bool = True) -> Scenario:
    """Load and validate the scenario directory ``path``.

    ``scenario.toml`` is read first (the scenario's name and dates, the factions, their relations, the
    parameters, the ``[fit]`` bounds and the fitted-parameters file), then the tables that name its factions:
    ``places.csv``, ``roads.csv``, ``forces.csv`` and ``events.csv``; the road network must be connected. Each
    check is its own function below, in this order, so the first problem found is the one reported.

    Parameters
    ----------
    path : directory holding ``scenario.toml`` and the CSV tables, or the name of a shipped scenario (``toy``,
        ``iraq_june_2014``; see :mod:`simulation.shipped`) where no such path exists.
    use_fitted : apply the fitted-parameters file named in ``scenario.toml`` (if it exists).

    Raises
    ------
    ScenarioError
        The first problem found, naming the file, row and field.
    """
    from simulation.shipped import resolve_scenario, scenario_names

    root = resolve_scenario(path)
    if root is None:
        raise ScenarioError(str(path), "is neither a scenario directory nor a shipped scenario "
                            f"({', '.join(scenario_names()) or 'none installed'}; see `conflict-sim scenarios`)")
    if not root.is_dir():
        raise ScenarioError(str(path), "is not a scenario directory")
    toml_name = f"{root.name}/scenario.toml"
    doc = _toml(root / "scenario.toml")

    _unknown_keys(toml_name, doc, TOML_KEYS[""], "")
    head, start, end = _scenario_table(toml_name, doc)
    factions = _factions_table(toml_name, doc)
    ids = [f.id for f in factions]
    pairs = _relations_table(toml_name, doc, ids)
    _check_coalitions(toml_name, ids, pairs["allied"], pairs["neutral"])
    params = defaults()
    params.update(_parameters_table(toml_name, doc.get("parameters", {}), "parameters"))
    fit_bounds = _fit_table(toml_name, doc)
    fitted_file = _fitted_file(toml_name, head, root)
    fitted_used = use_fitted and fitted_file is not None and fitted_file.is_file()
    if fitted_used:
        params.update(load_fitted_parameters(fitted_file))

    names = _place_id_rule(toml_name, head) == "names"
    places = _load_places(root, set(ids), names=names)
    place_ids = {p.id for p in places}
    _check_claims(toml_name, factions, place_ids)
    roads = _load_roads(root, place_ids)
    forces = _load_forces(root, set(ids), place_ids)
    events = _load_events(root, set(ids), place_ids, {frozenset((r.a, r.b)) for r in roads}, start, end)
    composition = _load_composition(root, [p.id for p in places]) if (root / "composition.csv").exists() else None
    displacement = _displacement_table(toml_name, doc, composition)
    replay_actors = _replay_table(toml_name, doc, set(ids))
    replay_fitted = _fitted_file(toml_name, doc.get("replay", {}), root, "replay.fitted_parameters")

    scenario = Scenario(
        path=root, name=str(head["name"]), description=str(head.get("description", "")),
        start_date=start, end_date=end, factions=tuple(factions),
        allied=frozenset(pairs["allied"]), neutral=frozenset(pairs["neutral"]),
        places=tuple(places), roads=tuple(roads), forces=tuple(forces), events=tuple(events),
        parameters=params, fit_bounds=fit_bounds, fitted_file=fitted_file, fitted_used=fitted_used,
        composition=composition, displacement=displacement, replay_actors=replay_actors,
        replay_fitted_file=replay_fitted,
    )
    _check_connected(scenario, allow_isolated=names)
    return scenario


def _scenario_table(toml_name: str, doc: dict[str, Any]) -> tuple[dict[str, Any], dt.date, dt.date]:
    """The ``[scenario]`` table, its start and end dates (at most ``MAX_DAYS`` days, end not before start)."""
    head = doc.get("scenario")
    if not isinstance(head, dict):
        raise ScenarioError(toml_name, "the [scenario] table is missing", field="scenario")
    _unknown_keys(toml_name, head, TOML_KEYS["scenario"], "scenario")
    for key in ("name", "start_date", "end_date"):
        if key not in head:
            raise ScenarioError(toml_name, "is missing", field=f"scenario.{key}")
    if not isinstance(head["name"], str) or not SCENARIO_NAME_PATTERN.match(head["name"]):
        raise ScenarioError(toml_name, f"{head['name']!r} is not a name (lowercase letters, digits, _ . -; it names "
                            "run directories)", field="scenario.name")
    start = _date(toml_name, head["start_date"], "scenario.start_date")
    end = _date(toml_name, head["end_date"], "scenario.end_date")
    if end < start:
        raise ScenarioError(toml_name, f"end date {end} is before start date {start}", field="scenario.end_date")
    if (end - start).days + 1 > MAX_DAYS:
        raise ScenarioError(toml_name, f"{start} to {end} is more than {MAX_DAYS} days", field="scenario.end_date")
    return head, start, end


def _place_id_rule(toml_name: str, head: dict[str, Any]) -> str:
    """``[scenario] place_ids``: ``"ids"`` (default: lowercase letters, digits, _) or ``"names"`` (any text
    without '|', for scenarios converted from other models whose place names are kept exactly)."""
    rule = head.get("place_ids", "ids")
    if rule not in PLACE_ID_RULES:
        raise ScenarioError(toml_name, f"{rule!r} is not one of {', '.join(PLACE_ID_RULES)}",
                            field="scenario.place_ids")
    return str(rule)


def _factions_table(toml_name: str, doc: dict[str, Any]) -> list[Faction]:
    """The ``[[factions]]`` (at least two, each id once)."""
    raw_factions = doc.get("factions")
    if not isinstance(raw_factions, list) or len(raw_factions) < 2:
        raise ScenarioError(toml_name, "at least two [[factions]] are needed", field="factions")
    factions = [_faction(toml_name, f, f"factions[{i}]") for i, f in enumerate(raw_factions, start=1)]
    ids = [f.id for f in factions]
    dupes = sorted({x for x in ids if ids.count(x) > 1})
    if dupes:
        raise ScenarioError(toml_name, f"faction {dupes[0]!r} is defined twice", field="factions.id")
    return factions


def _faction(toml_name: str, f: Any, where: str) -> Faction:
    """One ``[[factions]]`` table: id, doctrine, mobility in [0.1, 10], name, colour, air force, claims."""
    if not isinstance(f, dict):
        raise ScenarioError(toml_name, "must be a table", field=where)
    _unknown_keys(toml_name, f, TOML_KEYS["factions"], where)
    fid = f.get("id")
    if not isinstance(fid, str) or not ID_PATTERN.match(fid):
        raise ScenarioError(toml_name, f"{fid!r} is not an id", field=f"{where}.id")
    doctrine = f.get("doctrine", "")
    if doctrine not in DOCTRINES:
        raise ScenarioError(toml_name, f"{doctrine!r} is not one of {', '.join(DOCTRINES)}",
                            field=f"{where}.doctrine")
    mobility = f.get("mobility", 1.0)
    if isinstance(mobility, bool) or not isinstance(mobility, (int, float)) or not 0.1 <= mobility <= 10:
        raise ScenarioError(toml_name, f"{mobility!r} must be a number in [0.1, 10]", field=f"{where}.mobility")
    name = f.get("name", fid)
    if not isinstance(name, str) or not name.strip():
        raise ScenarioError(toml_name, f"{name!r} must be a non-empty string", field=f"{where}.name")
    colour = f.get("colour", "#888888")
    if not isinstance(colour, str) or not COLOUR_PATTERN.match(colour):
        raise ScenarioError(toml_name, f"{colour!r} is not a colour like \"#1f77b4\"", field=f"{where}.colour")
    air_force = f.get("air_force", False)
    if not isinstance(air_force, bool):
        raise ScenarioError(toml_name, f"{air_force!r} must be true or false", field=f"{where}.air_force")
    claims = f.get("claims", [])
    if not isinstance(claims, list) or not all(isinstance(c, str) for c in claims):
        raise ScenarioError(toml_name, f"{claims!r} must be a list of place ids", field=f"{where}.claims")
    return Faction(id=fid, name=name, colour=colour, doctrine=doctrine, mobility=float(mobility),
                   air_force=air_force, claims=tuple(claims))


def _relations_table(toml_name: str, doc: dict[str, Any], ids: list[str]) -> dict[str, set[frozenset[str]]]:
    """The ``[relations]`` table: ``allied`` and ``neutral`` pairs of known, distinct factions, no pair in both
    (every other pair is hostile)."""
    relations = doc.get("relations", {})
    if not isinstance(relations, dict):
        raise ScenarioError(toml_name, "must be a table with allied = [...] and neutral = [...]", field="relations")
    _unknown_keys(toml_name, relations, TOML_KEYS["relations"], "relations")
    pairs: dict[str, set[frozenset[str]]] = {"allied": set(), "neutral": set()}
    for kind in pairs:
        listed = relations.get(kind, [])
        if not isinstance(listed, list):
            raise ScenarioError(toml_name, f"{listed!r} must be a list of pairs of faction ids",
                                field=f"relations.{kind}")
        for j, pair in enumerate(listed, start=1):
            where = f"relations.{kind}[{j}]"
            if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
                raise ScenarioError(toml_name, f"{pair!r} must be a pair of faction ids", field=where)
            for x in pair:
                if x not in ids:
                    raise ScenarioError(toml_name, f"unknown faction {x!r}", field=where)
            if pair[0] == pair[1]:
                raise ScenarioError(toml_name, f"a faction cannot be {kind} with itself", field=where)
            pairs[kind].add(frozenset(pair))
    both = sorted(sorted(pair) for pair in pairs["allied"] & pairs["neutral"])
    if both:
        a, b = both[0]
        raise ScenarioError(toml_name, f"{a} and {b} are listed both as allied and as neutral", field="relations")
    return pairs


def _fit_table(toml_name: str, doc: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """The ``[fit]`` table: parameter = [low, high], within the parameter's physical bounds, low < high."""
    fit_bounds: dict[str, tuple[float, float]] = {}
    fit = doc.get("fit", {})
    if not isinstance(fit, dict):
        raise ScenarioError(toml_name, "must be a table of name = [low, high]", field="fit")
    for name, bounds in fit.items():
        if name not in PARAMETERS:
            raise ScenarioError(toml_name, f"unknown parameter {name!r}", field=f"fit.{name}")
        p = PARAMETERS[name]
        if not (isinstance(bounds, list) and len(bounds) == 2
                and all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds)):
            raise ScenarioError(toml_name, "must be [low, high]", field=f"fit.{name}")
        lo, hi = float(bounds[0]), float(bounds[1])
        if not (p.low <= lo < hi <= p.high):
            raise ScenarioError(toml_name, f"[{lo:g}, {hi:g}] must lie within [{p.low:g}, {p.high:g}] with low < high",
                                field=f"fit.{name}")
        fit_bounds[name] = (lo, hi)
    return fit_bounds


def _fitted_file(toml_name: str, head: dict[str, Any], root: Path,
                 field: str = "scenario.fitted_parameters") -> Path | None:
    """The fitted-parameters file ``fitted_parameters`` names (a relative ``.toml`` path), or None."""
    if not head.get("fitted_parameters"):
        return None
    named = head["fitted_parameters"]
    if not isinstance(named, str) or Path(named).is_absolute() or not named.endswith(".toml"):
        raise ScenarioError(toml_name, f"{named!r} must be the relative path of a .toml file", field=field)
    return (root / named).resolve()


def _check_claims(toml_name: str, factions: list[Faction], place_ids: set[str]) -> None:
    """Every place a faction claims is in ``places.csv``."""
    for i, f in enumerate(factions, start=1):
        unknown = [c for c in f.claims if c not in place_ids]
        if unknown:
            raise ScenarioError(toml_name, f"unknown place {unknown[0]!r}", field=f"factions[{i}].claims")


def _components(nodes: list[str], edges: list[tuple[str, str]]) -> list[list[str]]:
    """The connected groups of a graph, as ``networkx.connected_components`` gives them: each found by a search from
    its first node in ``nodes``' order, the groups in that order. Plain Python, so that loading a scenario does not
    import NetworkX (0.1-0.2 s of a ``conflict-sim run``; the model imports it only to export its road network)."""
    near: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in edges:
        near.setdefault(a, []).append(b)  # a node named only by an edge comes after the others, as in NetworkX
        near.setdefault(b, []).append(a)
    seen: set[str] = set()
    out = []
    for start in near:
        if start in seen:
            continue
        seen.add(start)
        group, todo = [start], [start]
        while todo:
            for m in near[todo.pop()]:
                if m not in seen:
                    seen.add(m)
                    group.append(m)
                    todo.append(m)
        out.append(group)
    return out


def _check_connected(scenario: Scenario, allow_isolated: bool = False) -> None:
    """Every place can be reached from every other by road; with ``allow_isolated`` (converted scenarios,
    ``place_ids = "names"``: FLEE scores camps no road reaches) places without any road are left out."""
    edges = [(r.a, r.b) for r in scenario.roads]
    nodes = list(dict.fromkeys(p.id for p in scenario.places))
    if allow_isolated:
        on_roads = {x for e in edges for x in e}
        nodes = [n for n in nodes if n in on_roads]
    parts = sorted(_components(nodes, edges), key=len)
    if len(parts) > 1:
        lonely = sorted(parts[0])[0]
        raise ScenarioError(f"{scenario.path.name}/roads.csv",
                            f"the road network is not connected: place {lonely!r} cannot be reached from the rest")


def _check_coalitions(file: str, ids: list[str], allied: set[frozenset[str]],
                      neutral: set[frozenset[str]]) -> None:
    """Reject relation tables the model cannot honour.

    The model groups allies into coalitions (the connected groups of the alliance table) that fight and hold
    places together. So allies of allies must be allied too, and the members of a coalition must stand in the
    same relation (neutral or hostile) to every other faction.
    """
    order = {f: i for i, f in enumerate(ids)}
    pairs = [tuple(pair) for pair in allied]
    coalitions = sorted((sorted(c, key=order.get) for c in _components(ids, pairs)), key=lambda c: order[c[0]])

    def relation(a: str, b: str) -> str:
        pair = frozenset((a, b))
        return "allied" if pair in allied else "neutral" if pair in neutral else "hostile"

    for members in coalitions:
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                if relation(a, b) != "allied":
                    import networkx as nx  # only to name the chain of alliances in the message

                    graph = nx.Graph()
                    graph.add_nodes_from(ids)
                    graph.add_edges_from(pairs)
                    path = nx.shortest_path(graph, a, b)
                    chain = " and ".join(f"{x} with {y}" for x, y in zip(path, path[1:]))
                    raise ScenarioError(file, f"{chain} are allied, so {a} and {b} fight on one side, but {a} and "
                                        f"{b} are {relation(a, b)}; list [\"{a}\", \"{b}\"] as allied or drop an "
                                        "alliance", field="relations.allied")
    for k, members in enumerate(coalitions):
        for others in coalitions[k + 1:]:
            seen = {(a, b): relation(a, b) for a in members for b in others}
            if len(set(seen.values())) > 1:
                (a, b), first = next(iter(seen.items()))
                (c, d), second = next((ab, r) for ab, r in seen.items() if r != first)
                raise ScenarioError(file, f"allies must stand in the same relation to every other faction, but "
                                    f"{a}-{b} is {first} and {c}-{d} is {second}", field="relations.neutral")


def _load_places(root: Path, factions: set[str], names: bool = False) -> list[Place]:
    t = _Rows(root / "places.csv",
              ("id", "name", "kind", "governorate", "lat", "lon", "population", "controller", "value", "source"),
              ("sympathy", "fortification", "refuge", "admission_per_day"))
    places, seen = [], set()
    for row, r in t.rows:
        pid = t.ident(row, r, "id", names=names)
        if pid in seen:
            raise t.error(row, "id", f"place {pid!r} appears twice")
        seen.add(pid)
        controller = t.text(row, r, "controller")
        if controller not in factions:
            raise t.error(row, "controller", f"unknown faction {controller!r}")
        places.append(Place(
            id=pid, name=t.text(row, r, "name"), kind=t.choice(row, r, "kind", PLACE_KINDS),
            governorate=t.text(row, r, "governorate"),
            lat=t.number(row, r, "lat", -90, 90), lon=t.number(row, r, "lon", -180, 180),
            population=t.integer(row, r, "population", 0, high=MAX_POPULATION), controller=controller,
            value=t.number(row, r, "value", 0, MAX_PLACE_VALUE),
            sympathy=t.number(row, r, "sympathy", 0, 1, default=0.5),
            fortification=t.number(row, r, "fortification", 1, 20, default=1.0),
            refuge=t.number(row, r, "refuge", 0, 1, default=0.0), source=t.text(row, r, "source"),
            admission=t.number(row, r, "admission_per_day", 0, MAX_POPULATION) if r.get("admission_per_day")
            else None,
        ))
    if len(places) < 2:
        raise ScenarioError(t.name, "needs at least two places")
    return places


def _load_roads(root: Path, places: set[str]) -> list[Road]:
    t = _Rows(root / "roads.csv", ("from", "to", "km", "kind", "source"))
    roads, seen = [], set()
    for row, r in t.rows:
        a, b = t.text(row, r, "from"), t.text(row, r, "to")
        for name, v in (("from", a), ("to", b)):
            if v not in places:
                raise t.error(row, name, f"unknown place {v!r}")
        if a == b:
            raise t.error(row, "to", f"road from {a!r} to itself")
        key = frozenset((a, b))
        if key in seen:
            raise t.error(row, "to", f"road {a}-{b} appears twice")
        seen.add(key)
        roads.append(Road(a=a, b=b, km=t.number(row, r, "km", 0, 5000, low_open=True),
                          kind=t.choice(row, r, "kind", ROAD_KINDS), source=t.text(row, r, "source")))
    return roads


def _load_forces(root: Path, factions: set[str], places: set[str]) -> list[ForceRow]:
    t = _Rows(root / "forces.csv", ("faction", "place", "personnel", "quality", "source"),
              ("present_share", "morale", "personnel_low", "personnel_high", "unit"))
    out = []
    for row, r in t.rows:
        faction = t.text(row, r, "faction")
        if faction not in factions:
            raise t.error(row, "faction", f"unknown faction {faction!r}")
        place = t.text(row, r, "place")
        if place not in places:
            raise t.error(row, "place", f"unknown place {place!r}")
        personnel = t.integer(row, r, "personnel", 0, low_open=True, high=MAX_PERSONNEL)
        low = t.integer(row, r, "personnel_low", 0, default=-1) if r.get("personnel_low") else None
        high = t.integer(row, r, "personnel_high", 0, default=-1) if r.get("personnel_high") else None
        if low is not None and low > personnel:
            raise t.error(row, "personnel_low", f"{low} is above personnel {personnel}")
        if high is not None and high < personnel:
            raise t.error(row, "personnel_high", f"{high} is below personnel {personnel}")
        morale = t.number(row, r, "morale", 0, 1) if r.get("morale") else None
        out.append(ForceRow(
            faction=faction, place=place, personnel=personnel,
            quality=t.number(row, r, "quality", 0, 10, low_open=True),
            present_share=t.number(row, r, "present_share", 0, 1, default=1.0),
            morale=morale, personnel_low=low, personnel_high=high, unit=r.get("unit", ""),
            source=t.text(row, r, "source"),
        ))
    return out


def _load_events(root: Path, factions: set[str], places: set[str], roads: set[frozenset[str]],
                 start: dt.date, end: dt.date) -> list[Event]:
    t = _Rows(root / "events.csv", ("date", "kind", "place", "faction", "amount", "source"), ("note",))
    out = []
    for row, r in t.rows:
        date = _date(t.name, t.text(row, r, "date"), "date", row)
        if not start <= date <= end:
            raise t.error(row, "date", f"{date} is outside the scenario ({start} to {end})")
        kind = t.choice(row, r, "kind", EVENT_KINDS)
        place = r.get("place", "")
        faction = r.get("faction", "")
        if kind.startswith("road_"):
            ends = place.split("|")
            if len(ends) != 2 or frozenset(ends) not in roads:
                raise t.error(row, "place", f"{place!r} is not a road FROM|TO of roads.csv")
        elif kind in ("air_sorties", "offensive") and not place:
            pass
        elif place not in places:
            raise t.error(row, "place", f"unknown place {place!r}")
        needs_faction = kind in ("offensive", "reinforcement", "mobilisation", "air_sorties", "defection",
                                 "morale_shock")
        if needs_faction and faction not in factions:
            raise t.error(row, "faction", f"unknown faction {faction!r}")
        if kind in WHOLE_AMOUNT_EVENTS:  # people and sorties come whole, and in numbers that fit the arrays
            amount = float(t.integer(row, r, "amount", 0, high=WHOLE_AMOUNT_EVENTS[kind]))
        else:
            amount = t.number(row, r, "amount", 0, 1.0 if kind == "morale_shock" else None)
        if kind == "offensive" and amount not in (0.0, 1.0):
            raise t.error(row, "amount", f"{r['amount']} must be 1 (the offensive begins) or 0 (it ends)")
        out.append(Event(date=date, kind=kind, place=place, faction=faction, amount=amount,
                         note=r.get("note", ""), source=t.text(row, r, "source")))
    out.sort(key=lambda e: e.date)
    return out


def _load_composition(root: Path, place_ids: list[str]) -> Composition:
    """``composition.csv``: one row per place of ``places.csv`` (any order), a share of each group in [0, 1]
    summing to 1 within 0.01, and a source. The group columns are those of :data:`GROUPS` that the header has
    (at least one)."""
    t = _Rows(root / "composition.csv", ("id", "source"), (*GROUPS, "level", "note"))
    groups = tuple(g for g in GROUPS if g in t.header)
    if not groups:
        raise ScenarioError(t.name, f"no group column (allowed: {', '.join(GROUPS)})", row=1)
    known, rows = set(place_ids), {}
    for row, r in t.rows:
        pid = t.text(row, r, "id")
        if pid not in known:
            raise t.error(row, "id", f"unknown place {pid!r}")
        if pid in rows:
            raise t.error(row, "id", f"place {pid!r} appears twice")
        shares = tuple(t.number(row, r, g, 0, 1) for g in groups)
        if abs(sum(shares) - 1.0) > 0.01:
            raise t.error(row, groups[-1], f"the shares sum to {sum(shares):.3f}, not 1 (within 0.01)")
        t.text(row, r, "source")
        rows[pid] = shares
    missing = [p for p in place_ids if p not in rows]
    if missing:
        raise ScenarioError(t.name, f"no row for place {missing[0]!r} (every place of places.csv needs one)",
                            field="id")
    return Composition(groups, tuple(rows[p] for p in place_ids))


def _displacement_table(toml_name: str, doc: dict[str, Any], composition: Composition | None) -> DisplacementSettings:
    """``[displacement]``: ``fear.GROUP = {DOCTRINE = value, ...}`` (0-1; violence 0-10) for groups of
    ``composition.csv``, and ``unscreened_groups``."""
    table = doc.get("displacement", {})
    if not isinstance(table, dict):
        raise ScenarioError(toml_name, "must be a table", field="displacement")
    _unknown_keys(toml_name, table, TOML_KEYS["displacement"], "displacement")
    groups = composition.groups if composition else (ONE_GROUP,)
    fear = []
    raw = table.get("fear", {})
    if not isinstance(raw, dict):
        raise ScenarioError(toml_name, "must be a table of GROUP = {doctrine = fear}", field="displacement.fear")
    for g, row in raw.items():
        if g not in groups:
            raise ScenarioError(toml_name, f"unknown group {g!r} (groups: {', '.join(groups)})",
                                field=f"displacement.fear.{g}")
        if not isinstance(row, dict):
            raise ScenarioError(toml_name, "must be a table of doctrine = fear", field=f"displacement.fear.{g}")
        for d, v in row.items():
            where = f"displacement.fear.{g}.{d}"
            if d not in DOCTRINE_COLUMNS:
                raise ScenarioError(toml_name, f"unknown doctrine {d!r} (allowed: {', '.join(DOCTRINE_COLUMNS)})",
                                    field=where)
            high = 10.0 if d == "violence" else 1.0
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= high:
                raise ScenarioError(toml_name, f"{v!r} must be a number in [0, {high:g}]", field=where)
            fear.append((g, d, float(v)))
    unscreened = table.get("unscreened_groups", [])
    if not isinstance(unscreened, list) or any(g not in groups for g in unscreened):
        raise ScenarioError(toml_name, f"{unscreened!r} must be a list of groups ({', '.join(groups)})",
                            field="displacement.unscreened_groups")
    return DisplacementSettings(tuple(fear), tuple(unscreened))


def _replay_table(toml_name: str, doc: dict[str, Any], factions: set[str]) -> tuple[tuple[str, str], ...]:
    """``[replay] actors = {"recorded actor name" = "faction id", ...}``."""
    table = doc.get("replay", {})
    if not isinstance(table, dict):
        raise ScenarioError(toml_name, "must be a table", field="replay")
    _unknown_keys(toml_name, table, TOML_KEYS["replay"], "replay")
    actors = table.get("actors", {})
    if not isinstance(actors, dict):
        raise ScenarioError(toml_name, "must be a table of \"actor name\" = \"faction id\"", field="replay.actors")
    for name, f in actors.items():
        if f not in factions:
            raise ScenarioError(toml_name, f"unknown faction {f!r}", field=f"replay.actors.{name}")
    return tuple((str(k), str(v)) for k, v in actors.items())
