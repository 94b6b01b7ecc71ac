"""Read a FLEE case directory (``input_csv/`` and ``source_data/``) into typed, immutable data.

A FLEE case, as FabFlee ships them (``config_files/flee3_validation/SWEEP/<case>/``), is read here exactly as
FLEE 3.1 reads it (flee commit 21c46750, tag ``v3.1``); every rule below names the FLEE file and function it
mirrors. Where FLEE would crash, print a warning and go on, or silently ignore a row, this reader raises one
:class:`~simulation.scenario.ScenarioError` naming the file, row and field instead (rows are counted as in a
spreadsheet: the first line of the file is row 1, comment lines included).

The files:

- ``input_csv/locations.csv``: ``name,region,country,latitude,longitude,location_type,conflict_date,population``
  (flee/InputGeography.py ``ReadLocationsFromCSV``, ``StoreInputGeographyInEcosystem``). Rows whose first cell
  starts with ``#`` are comments. The last column is the population of a town or conflict zone (its spawn weight)
  and the *capacity* of a camp; empty means 0. The first row's country is the home country; an empty country is
  ``unknown``. Extra columns after the eighth are attributes named by the ``#`` header.
- ``input_csv/routes.csv``: ``name1,name2,distance[,forced_redirection]``, undirected (flee/flee.py
  ``Ecosystem.linkUp`` adds both directions).
- ``input_csv/conflicts.csv``: a day × place matrix of conflict intensities (InputGeography
  ``ReadConflictInputCSV``, ``AddNewConflictZones``). Its rows are taken by position (row *k* after the header is
  day *k*; FLEE ignores the day column, this reader checks it).
- ``input_csv/closures.csv``: ``closure_type,name1,name2,closure_start,closure_end`` (InputGeography
  ``ReadClosuresFromCSV``; flee/flee.py ``Ecosystem.enact_border_closures``).
- ``input_csv/sim_period.csv`` (FLEE 3.1 calls it ``conflict_period.csv``; flee/datamanager/read_period.py
  ``read_conflict_period``): ``StartDate,YYYY-MM-DD`` and ``Length,N``.
- ``input_csv/registration_corrections.csv``: ``camp,YYYY-MM-DD[,...]`` (flee/datamanager/handle_refugee_data.py
  ``RefugeeTable.ReadL1Corrections``, ``correctLevel1Registrations``).
- ``source_data/data_layout.csv``: ``name,file[,file...]``, the first row being ``total`` (flee/datamanager/
  DataTable.py ``DataTable.__init__``), and the count files it names (``YYYY-MM-DD,count`` rows;
  DataTable.py ``ConvertCsvFileToNumPyTable``, ``_processEntry``).

What a converter needs is :class:`FleeCase`: its ``locations`` and ``routes``, :meth:`FleeCase.conflict_state`
(the intensity and onset day of every place on every day, as FLEE's state machine has them),
:meth:`FleeCase.spawn_weights`, ``closures`` (:meth:`Closure.actions_on`), and ``data`` (:class:`DailyData`:
the UNHCR series per camp and the total, one integer a day, with :meth:`DailyData.injections` giving the number of
people FLEE adds each day).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from simulation.scenario import ScenarioError, csv_records

__all__ = [
    "CLOSURE_KINDS",
    "Closure",
    "DailyData",
    "FleeCase",
    "FleeLocation",
    "FleeRoute",
    "ObservationTable",
    "RegistrationCorrection",
    "ScenarioError",
    "add_csv_tables",
    "interpolate",
    "read_flee_case",
]

# flee/flee.py Ecosystem.enact_border_closures acts on these kinds and ignores any other.
CLOSURE_KINDS = ("country", "location", "link", "camp", "idpcamp", "remove_forced_redirection")
# flee/SimulationSettings.py get_conflict_decay: the factor is decay[min(int(days since onset / 30), len - 1)];
# FabFlee's flee3_validation/simsetting.yml sets [1.0, 1.0, 1.0, 0.5, 0.1] (FLEE 3.1 hard-codes the 30 days and
# does not read the yml's conflict_spawn_decay_interval).
DEFAULT_CONFLICT_DECAY = (1.0, 1.0, 1.0, 0.5, 0.1)
DECAY_INTERVAL_DAYS = 30
CONFLICT_THRESHOLD = 0.000001  # InputGeography.AddNewConflictZones: "> 0.000001" is a conflict


@dataclass(frozen=True)
class FleeLocation:
    """One row of ``locations.csv``.

    ``kind`` is what FLEE makes of ``location_type`` (flee/flee.py ``Location.__init__``, tested in this order on
    the lower-cased type): contains ``camp`` → ``"camp"`` (``"idpcamp"`` if it also contains ``idp``); contains
    ``conflict`` → ``"conflict_zone"``; ``forward`` → ``"forwarding_hub"`` (nobody stays: move chance 1);
    ``marker`` → ``"marker"``; ``default`` or ``town`` → ``"town"``. ``initial_kind`` is the kind on day 0: a
    conflict zone whose ``conflict_date`` is above 0 starts as a town (InputGeography
    ``StoreInputGeographyInEcosystem``), whatever ``conflicts.csv`` says later.
    ``population`` is the last column divided (integer division) by FLEE's ``hasten`` factor; for a camp it is
    the capacity. ``foreign`` is true when the country differs from the first row's.
    """

    name: str
    region: str
    country: str
    lat: float
    lon: float
    location_type: str
    kind: str
    initial_kind: str
    conflict_date: int | None
    population: int
    foreign: bool
    row: int
    attributes: tuple[tuple[str, str], ...] = ()

    @property
    def is_camp(self) -> bool:
        return self.kind in ("camp", "idpcamp")

    @property
    def capacity(self) -> int | None:
        """A camp's capacity (the ``population`` column), None for other places."""
        return self.population if self.is_camp else None


@dataclass(frozen=True)
class FleeRoute:
    """One row of ``routes.csv``: an undirected road of ``distance`` km.

    ``forced_redirection`` is the fourth column (empty = 0): 1 forces agents arriving at ``name1`` on to
    ``name2``, 2 the reverse (InputGeography ``StoreInputGeographyInEcosystem``). FLEE 3.1 quirk: with 1 it calls
    ``linkUp`` twice (an ``if``/``if``/``else`` chain), so the pair gets a forced and an unforced link.
    """

    name1: str
    name2: str
    distance: float
    forced_redirection: int
    row: int


@dataclass(frozen=True)
class Closure:
    """One row of ``closures.csv``: what closes, and the days FLEE acts on it.

    flee/flee.py ``Ecosystem.enact_border_closures(t)``, called every day after spawning and before moving: on
    day ``start`` it closes, on day ``end`` it reopens (both tests are made every day, so an ``end`` before
    ``start`` acts first; a day outside the period never acts). Kinds:

    - ``country``: every road between a place of country ``name1`` and one of ``name2``, both ways
      (``close_border``);
    - ``location``: every road into and out of ``name1`` (``close_location``; ``name2`` is ignored);
    - ``link``: the road ``name1``–``name2``, both ways (``close_link``);
    - ``camp`` / ``idpcamp``: ``name1`` stops being a camp and becomes a town on ``start``, and becomes a camp
      again on ``end`` (``close_camp`` / ``open_camp``); it stays among the scored camps, which FLEE lists once
      before day 0;
    - ``remove_forced_redirection``: on ``start`` the road ``name1``→``name2`` stops forcing agents on, on
      ``end`` it forces them again (``set_forced_redirection``).
    """

    kind: str
    name1: str
    name2: str
    start: int
    end: int
    row: int

    def actions_on(self, day: int) -> tuple[str, ...]:
        """``("close",)``, ``("reopen",)``, both (in that order, as FLEE tests them) or none on ``day``."""
        return tuple(a for a, d in (("close", self.start), ("reopen", self.end)) if d == day)


@dataclass(frozen=True)
class RegistrationCorrection:
    """One row of ``registration_corrections.csv``: ``camp`` was re-registered on ``date`` (day ``day``).

    Applied as handle_refugee_data.py ``correctLevel1Registrations`` does: every observation of the camp before
    the one dated ``date`` is multiplied by (count on ``date``) ÷ (count of the observation just before), so
    that the series does not jump at the re-registration. ``factor`` is that ratio. Corrections apply in file
    order, each to the series as the earlier ones left it; a third column (``normalize`` in FabFlee's cases) is
    ignored, as FLEE ignores it.
    """

    camp: str
    date: dt.date
    day: int
    factor: float
    row: int


@dataclass(frozen=True)
class ObservationTable:
    """One ``data_layout.csv`` row's observations: ``days`` (offsets from the start date) and ``counts``.

    After several files are summed (:func:`add_csv_tables`) and corrections applied; read-only arrays.
    """

    name: str
    files: tuple[str, ...]
    days: np.ndarray
    counts: np.ndarray

    def value(self, day: int) -> int:
        """FLEE's daily figure: :func:`interpolate` at ``day``."""
        return interpolate(self.days, self.counts, day)


@dataclass(frozen=True)
class DailyData:
    """The UNHCR series of a case, one integer a day for days ``0 .. length-1``.

    ``camps[day, j]`` is camp ``camp_names[j]``'s figure (DataTable.py ``get_field``, i.e. :func:`interpolate`
    of its corrected observations); ``total[day]`` is the ``total`` row's (``refugees.csv``).
    ``tables`` keeps every data_layout row's observations, including rows for places that are not camps.
    """

    camp_names: tuple[str, ...]
    camps: np.ndarray  # (days, camps) int64
    total: np.ndarray  # (days,) int64
    tables: tuple[ObservationTable, ...]

    @property
    def camp_total(self) -> np.ndarray:
        """Σ over camps each day: FLEE's "refugees in camps (UNHCR)" column (runscripts/run.py)."""
        return self.camps.sum(axis=1)

    def injections(self, insert_day0: bool = True) -> np.ndarray:
        """New agents FLEE adds each day (flee/spawning.py ``spawn_daily_displaced``, FLEE 3.1 defaults).

        ``diff[t] = total[t] - total[t-1]`` (DataTable.py ``get_daily_difference`` with ``SumFromCamps=False``,
        which is how runscripts/run.py calls it; ``diff[0] = total[0]``). With ``insert_day0`` (FLEE's default,
        the camps having been filled with their day-0 figures) nothing is added on day 0. A decrease becomes a
        debt: ``new = diff - debt``; if ``new < 0`` then ``debt = -new`` and ``new = 0``, else ``debt = 0``.
        """
        out = np.zeros(len(self.total), dtype=np.int64)
        debt = 0
        for t in range(len(self.total)):
            diff = int(self.total[t]) - (int(self.total[t - 1]) if t > 0 else 0)
            new = diff - debt
            if insert_day0 and t == 0:
                new = 0
            if new < 0:
                debt = -new
                new = 0
            elif debt > 0:
                debt = 0
            out[t] = new
        return out


@dataclass(frozen=True)
class FleeCase:
    """A FLEE case as FLEE 3.1 reads it. See the module docstring for the files and the rules."""

    name: str
    start_date: dt.date
    length: int
    home_country: str
    locations: tuple[FleeLocation, ...]
    routes: tuple[FleeRoute, ...]
    conflicts: np.ndarray  # (rows of conflicts.csv, len(conflict_names)) float intensities
    conflict_names: tuple[str, ...]
    closures: tuple[Closure, ...]
    corrections: tuple[RegistrationCorrection, ...]
    data: DailyData
    hasten: int = 1
    _index: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._index.update({loc.name: i for i, loc in enumerate(self.locations)})

    def location(self, name: str) -> FleeLocation:
        return self.locations[self._index[name]]

    @property
    def camp_names(self) -> tuple[str, ...]:
        """Camps in ``locations.csv`` order: the camps FLEE scores (flee/flee.py ``Ecosystem.get_camp_names``)."""
        return tuple(loc.name for loc in self.locations if loc.is_camp)

    @property
    def capacities(self) -> np.ndarray:
        """Capacity of each camp of :attr:`camp_names`."""
        return np.array([loc.population for loc in self.locations if loc.is_camp], dtype=np.int64)

    @property
    def day0_camp_counts(self) -> np.ndarray:
        """People pre-placed in each camp before day 0 (flee/spawning.py ``add_initial_refugees``)."""
        return self.data.camps[0].copy()

    def conflict_state(self) -> tuple[np.ndarray, np.ndarray]:
        """``(intensity, onset)``, each ``(length, locations)``, as FLEE has them on each day before spawning.

        The state machine of InputGeography ``AddNewConflictZones`` run after ``StoreInputGeographyInEcosystem``:

        - before day 0, a ``conflict_zone`` whose ``conflict_date`` is 0 or less is in conflict with intensity 1
          and onset -1 (flee/flee.py ``Location.__init__``; ``time_of_conflict`` starts at -1); every other place
          has intensity -1 (no conflict);
        - on day t, for each place of ``conflicts.csv``: a value ``v > 1e-6`` when day t-1's was ``< 1e-6`` (or
          t = 0) starts a conflict: intensity ``v``, onset t (``add_conflict_zone``); a value ``< 1e-6`` when day
          t-1's was exactly 1 ends it: intensity -1 (``remove_conflict_zone``). Nothing else changes the state,
          so a place that ``conflicts.csv`` never switches keeps its day-0 state from ``locations.csv``.
        """
        n = len(self.locations)
        intensity = np.full((self.length, n), -1.0)
        onset = np.full((self.length, n), -1, dtype=np.int64)
        now = np.array([1.0 if loc.initial_kind == "conflict_zone" else -1.0 for loc in self.locations])
        since = np.full(n, -1, dtype=np.int64)
        cols = [self._index[c] for c in self.conflict_names]
        for t in range(self.length):
            for j, i in enumerate(cols):
                v = self.conflicts[t, j]
                prev = self.conflicts[t - 1, j] if t > 0 else 0.0
                if v > CONFLICT_THRESHOLD and (t == 0 or prev < CONFLICT_THRESHOLD):
                    now[i], since[i] = v, t
                if v < CONFLICT_THRESHOLD and t > 0 and prev == 1:
                    now[i] = -1.0
            intensity[t], onset[t] = now, since
        return intensity, onset

    def spawn_weights(self, decay: tuple[float, ...] = DEFAULT_CONFLICT_DECAY) -> np.ndarray:
        """``(length, locations)``: the weight of each place when FLEE picks where day t's new people appear.

        flee/spawning.py ``refresh_spawn_weights``: ``pop × intensity × decay[min(int((time - onset) / 30),
        len(decay) - 1)]`` where the intensity is above 0, else 0 (``conflict_zone_spawning_only``, FLEE's
        default). ``time`` is the day of the last refresh before spawning (runscripts/run.py): day t if a
        conflict started or ended on day t (``add_conflict_zone`` refreshes), else day t-1 (the refresh at the
        start of the previous day's ``Ecosystem.evolve``, when ``e.time`` is still t-1); day 0 uses 0.
        """
        intensity, onset = self.conflict_state()
        pop = np.array([loc.population for loc in self.locations], dtype=float)
        out = np.zeros_like(intensity)
        for t in range(self.length):
            changed = t == 0 or bool(np.any(intensity[t] != intensity[t - 1]) or np.any(onset[t] != onset[t - 1]))
            time = t if changed else t - 1
            idx = np.minimum((time - onset[t]) // DECAY_INTERVAL_DAYS, len(decay) - 1)
            idx = np.maximum(idx, 0)  # int() truncates towards 0; (time - onset) is never below -1
            factor = np.asarray(decay, dtype=float)[idx]
            out[t] = np.where(intensity[t] > 0, pop * intensity[t] * factor, 0.0)
        return out


# --------------------------------------------------------------------------------------------------------
# FLEE's DataTable arithmetic


def interpolate(days: np.ndarray, counts: np.ndarray, day: int) -> int:
    """DataTable.py ``DataTable.get_interpolated_data``, value for value.

    On or before the first observation: the first count; between observations i-1 and i (``days[i-1] <= day <
    days[i]``): ``int(c[i-1] + (day - d[i-1]) / (d[i] - d[i-1]) × (c[i] - c[i-1]))`` (``int`` truncates towards
    zero); on or after the last: the last count. All as ``int``.
    """
    if day <= days[0]:
        return int(counts[0])
    for i in range(1, len(days)):
        if day < days[i]:
            fraction = float(day - days[i - 1]) / float(days[i] - days[i - 1])
            return int(counts[i - 1] + fraction * float(counts[i] - counts[i - 1]))
    return int(counts[-1])


def add_csv_tables(table1: np.ndarray, table2: np.ndarray) -> np.ndarray:
    """DataTable.py ``AddCSVTables``, kept with its quirks: the sum of two ``(n, 2)`` [day, count] tables.

    FLEE merges the two date lists without interpolating: walking through ``table2``, each date of ``table1``
    before it gets ``table1``'s count plus the *previous* ``table2`` count (0 before the first); a shared date gets
    both counts; a ``table2`` date before the current ``table1`` date gets its count plus ``table1``'s *next*
    count. ``table1`` dates after ``table2``'s last are dropped; ``table2`` dates after ``table1``'s last add
    ``table1``'s last date again (with the count before it), and are themselves dropped.
    """
    out: list[tuple[float, float]] = []
    offset = 0
    last_c2 = 0.0
    n1 = len(table1)
    for c2_day, c2_count in table2:
        while c2_day > table1[offset][0]:
            out.append((table1[offset][0], last_c2 + table1[offset][1]))
            if offset < n1 - 1:
                offset += 1
            else:
                break
        if c2_day == table1[offset][0]:
            out.append((c2_day, c2_count + table1[offset][1]))
            if offset < n1 - 1:
                offset += 1
            last_c2 = c2_count
            continue
        if c2_day < table1[offset][0]:
            out.append((c2_day, c2_count + table1[offset][1]))
            last_c2 = c2_count
            continue
    return np.array(out, dtype=float).reshape(-1, 2)


# --------------------------------------------------------------------------------------------------------
# reading


class _Csv:
    """The records of one FLEE CSV file, with FLEE's comment rule and located errors."""

    def __init__(self, root: Path, rel: str, missing_ok: bool = False):
        self.rel = rel
        path = root / rel
        self.records: list[tuple[int, list[str]]] = []
        if not path.is_file():
            if missing_ok:
                return
            raise ScenarioError(rel, "file is missing")
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as e:
            raise ScenarioError(rel, f"is not UTF-8 text ({e.reason} at byte {e.start})") from None
        except OSError as e:
            raise ScenarioError(rel, f"cannot be read ({e.strerror})") from None
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        self.records.extend(csv_records(reader, rel))

    def data_rows(self) -> list[tuple[int, list[str]]]:
        """Rows that FLEE reads: not empty, first cell not starting with ``#``."""
        return [(r, c) for r, c in self.records if c and any(x.strip() for x in c) and not c[0].startswith("#")]

    def error(self, row: int | None, fieldname: str | None, message: str) -> ScenarioError:
        return ScenarioError(self.rel, message, row=row, field=fieldname)

    def integer(self, row: int, value: str, fieldname: str) -> int:
        v = value.strip()
        try:
            return int(v)
        except ValueError:
            raise self.error(row, fieldname, f"{value!r} is not a whole number") from None

    def number(self, row: int, value: str, fieldname: str) -> float:
        v = value.strip()
        try:
            x = float(v)
        except ValueError:
            raise self.error(row, fieldname, f"{value!r} is not a number") from None
        if not np.isfinite(x):
            raise self.error(row, fieldname, f"{value!r} is not a finite number")
        return x

    def date(self, row: int, value: str, fieldname: str) -> dt.date:
        try:
            return dt.datetime.strptime(value.strip(), "%Y-%m-%d").date()
        except ValueError:
            raise self.error(row, fieldname, f"{value!r} is not a date (YYYY-MM-DD)") from None


LOCATION_COLUMNS = ("name", "region", "country", "latitude", "longitude", "location_type", "conflict_date",
                    "population")


def _kind(location_type: str) -> str | None:
    t = location_type.lower()
    if "camp" in t:
        return "idpcamp" if "idp" in t else "camp"
    if "conflict" in t:
        return "conflict_zone"
    if "forward" in t:
        return "forwarding_hub"
    if "marker" in t:
        return "marker"
    if "default" in t or "town" in t:
        return "town"
    return None


def _read_locations(root: Path, hasten: int) -> tuple[list[FleeLocation], str]:
    f = _Csv(root, "input_csv/locations.csv")
    extra: list[str] = []
    for _, cells in f.records:
        if cells and cells[0].startswith("#") and len(cells) > 8:
            extra = [c.strip() for c in cells[8:]]
    rows = f.data_rows()
    if not rows:
        raise f.error(None, None, "has no locations")
    home = rows[0][1][2].strip() if len(rows[0][1]) > 2 and rows[0][1][2].strip() else "unknown"
    out: list[FleeLocation] = []
    seen: dict[str, int] = {}
    for row, cells in rows:
        if len(cells) < 8:
            raise f.error(row, LOCATION_COLUMNS[len(cells)], f"has {len(cells)} cells, FLEE needs 8 "
                          f"({','.join(LOCATION_COLUMNS)})")
        name = cells[0]
        if not name.strip():
            raise f.error(row, "name", "is empty")
        if name in seen:
            raise f.error(row, "name", f"{name!r} already named on row {seen[name]}")
        seen[name] = row
        kind = _kind(cells[5])
        if kind is None:
            raise f.error(row, "location_type", f"{cells[5]!r} is not a FLEE location type (conflict_zone, town, "
                          "camp, idpcamp, forwarding_hub, marker)")
        conflict_date = f.integer(row, cells[6], "conflict_date") if cells[6].strip() else None
        if kind == "conflict_zone" and conflict_date is None:
            raise f.error(row, "conflict_date", "is empty; a conflict zone needs its day of onset")
        initial = "town" if kind == "conflict_zone" and conflict_date is not None and conflict_date > 0 else kind
        pop = f.integer(row, cells[7], "population") // hasten if cells[7].strip() else 0
        if pop < 0:
            raise f.error(row, "population", f"{cells[7]} is negative")
        lat = f.number(row, cells[3], "latitude") if cells[3].strip() else 0.0  # FLEE: empty → 0.0
        lon = f.number(row, cells[4], "longitude") if cells[4].strip() else 0.0
        country = cells[2] if cells[2].strip() else "unknown"
        attrs = tuple((extra[i - 8] if i - 8 < len(extra) else f"column {i + 1}", cells[i])
                      for i in range(8, len(cells)))
        out.append(FleeLocation(name, cells[1], country, lat, lon, cells[5], kind, initial, conflict_date, pop,
                                country != home, row, attrs))
    return out, home


def _read_routes(root: Path, names: set[str]) -> list[FleeRoute]:
    f = _Csv(root, "input_csv/routes.csv")
    out = []
    for row, cells in f.data_rows():
        if len(cells) < 3:
            raise f.error(row, ("name1", "name2", "distance")[len(cells)], "is missing")
        for col, fieldname in ((0, "name1"), (1, "name2")):
            if cells[col] not in names:
                raise f.error(row, fieldname, f"{cells[col]!r} is not a location of locations.csv")
        distance = f.number(row, cells[2], "distance")
        if distance < 0:
            raise f.error(row, "distance", f"{cells[2]} is negative")
        forced = f.integer(row, cells[3], "forced_redirection") if len(cells) > 3 and cells[3].strip() else 0
        out.append(FleeRoute(cells[0], cells[1], distance, forced, row))
    return out


def _read_conflicts(root: Path, names: set[str], length: int) -> tuple[np.ndarray, tuple[str, ...]]:
    f = _Csv(root, "input_csv/conflicts.csv")
    records = [(r, c) for r, c in f.records if c and any(x.strip() for x in c)]
    if not records:
        raise f.error(None, None, "is empty; it needs a header row naming the places")
    hrow, header = records[0]
    cols: list[tuple[int, str]] = []
    for i, h in enumerate(header[1:], start=1):
        h = h.strip()
        if not h:
            continue
        if h not in names:
            raise f.error(hrow, h, f"{h!r} is not a location of locations.csv")
        if any(h == c for _, c in cols):
            raise f.error(hrow, h, "column appears twice")
        cols.append((i, h))
    body = records[1:]
    if len(body) < length:
        raise f.error(None, None, f"has {len(body)} days, sim_period.csv asks for {length}")
    matrix = np.zeros((len(body), len(cols)))
    for k, (row, cells) in enumerate(body):
        if len(cells) > len(header):
            raise f.error(row, f"column {len(header) + 1}", f"has {len(cells)} cells, the header has {len(header)}")
        if f.integer(row, cells[0], header[0].strip() or "Day") != k:
            raise f.error(row, header[0].strip() or "Day", f"{cells[0].strip()!r} should be {k}: FLEE takes the "
                          "rows by position")
        for j, (i, h) in enumerate(cols):
            if i >= len(cells) or not cells[i].strip():
                raise f.error(row, h, "is empty")
            matrix[k, j] = f.number(row, cells[i], h)
    matrix.setflags(write=False)
    return matrix, tuple(h for _, h in cols)


def _read_closures(root: Path, locs: dict[str, FleeLocation], roads: set[frozenset[str]]) -> list[Closure]:
    f = _Csv(root, "input_csv/closures.csv", missing_ok=True)
    countries = {loc.country for loc in locs.values()}
    out = []
    for row, cells in f.data_rows():
        if len(cells) < 5:
            names = ("closure_type", "name1", "name2", "closure_start", "closure_end")
            raise f.error(row, names[len(cells)], "is missing")
        kind, n1, n2 = cells[0].strip(), cells[1], cells[2]
        if kind not in CLOSURE_KINDS:
            raise f.error(row, "closure_type", f"{kind!r} is not one of {', '.join(CLOSURE_KINDS)}")
        if kind == "country":
            for v, fieldname in ((n1, "name1"), (n2, "name2")):
                if v not in countries:
                    raise f.error(row, fieldname, f"{v!r} is not the country of any location "
                                  f"(countries: {', '.join(sorted(countries))})")
        else:
            if n1 not in locs:
                raise f.error(row, "name1", f"{n1!r} is not a location of locations.csv")
            if kind in ("link", "remove_forced_redirection"):
                if n2 not in locs:
                    raise f.error(row, "name2", f"{n2!r} is not a location of locations.csv")
                if frozenset((n1, n2)) not in roads:
                    raise f.error(row, "name2", f"no route joins {n1!r} and {n2!r} in routes.csv")
        start = f.integer(row, cells[3], "closure_start")
        end = f.integer(row, cells[4], "closure_end")
        out.append(Closure(kind, n1, n2, start, end, row))
    return out


def _read_period(root: Path) -> tuple[dt.date, int]:
    f = _Csv(root, "input_csv/sim_period.csv")
    start: dt.date | None = None
    length: int | None = None
    for row, cells in f.records:
        if not cells:
            continue
        key = cells[0].strip().lower()
        if key in ("startdate", "length") and len(cells) < 2:
            raise f.error(row, cells[0].strip(), "has no value")
        if key == "startdate":
            start = f.date(row, cells[1], "StartDate")
        elif key == "length":
            length = f.integer(row, cells[1], "Length")
            if length < 1:
                raise f.error(row, "Length", f"{length} must be at least 1")
    if start is None:
        raise f.error(None, "StartDate", "is missing")
    if length is None:
        raise f.error(None, "Length", "is missing")
    return start, length


def _read_count_file(root: Path, name: str, start: dt.date, hasten: int) -> np.ndarray:
    """DataTable.py ``ConvertCsvFileToNumPyTable`` / ``_processEntry``: [day offset, count / hasten] rows.

    The first row is a header only if its first cell is empty, ``Date`` or ``DateTime``; rows with fewer than two
    cells, a first cell starting with ``#`` or an empty count are skipped; counts must be whole numbers (FLEE's
    ``int()``). Dates must increase (FLEE does not sort them and its interpolation assumes they do).
    """
    f = _Csv(root, f"source_data/{name}")
    rows: list[tuple[float, float]] = []
    for k, (row, cells) in enumerate(f.records):
        if len(cells) < 2 or not cells[0] or cells[0].startswith("#") or cells[1] == "":
            continue
        if k == 0 and cells[0] in ("Date", "DateTime"):
            continue
        day = (f.date(row, cells[0], "date") - start).days
        count = f.integer(row, cells[1], "count")
        if count < 0:
            raise f.error(row, "count", f"{count} is negative")
        if rows and day <= rows[-1][0]:
            raise f.error(row, "date", f"{cells[0]} is not after the previous observation")
        rows.append((float(day), count / float(hasten)))
    if not rows:
        raise f.error(None, None, "has no observations (date,count rows)")
    return np.array(rows, dtype=float)


def _read_data(root: Path, start: dt.date, length: int, camps: list[FleeLocation], hasten: int
               ) -> tuple[list[ObservationTable], list[RegistrationCorrection], DailyData]:
    layout = _Csv(root, "source_data/data_layout.csv")
    tables: dict[str, tuple[tuple[str, ...], np.ndarray]] = {}
    order: list[str] = []
    for row, cells in layout.data_rows():
        if len(cells) < 2 or not cells[1].strip():
            raise layout.error(row, "file", "is missing: each row names a place and its count file(s)")
        name = cells[0]
        if name in tables:
            raise layout.error(row, "name", f"{name!r} already has a row")
        files = tuple(c for c in cells[1:] if c.strip())
        table = _read_count_file(root, files[0], start, hasten)
        for extra in files[1:]:
            table = add_csv_tables(table, _read_count_file(root, extra, start, hasten))
        tables[name] = (files, table)
        order.append(name)
    if "total" not in tables:
        raise layout.error(None, "name", "has no 'total' row (FLEE injects the daily increase of its file)")
    camp_names = [c.name for c in camps]
    for c in camps:
        if c.name not in tables:
            raise ScenarioError("input_csv/locations.csv", f"camp {c.name!r} has no data: "
                                "source_data/data_layout.csv has no row for it", row=c.row, field="name")

    corrections: list[RegistrationCorrection] = []
    cf = _Csv(root, "input_csv/registration_corrections.csv", missing_ok=True)
    for row, cells in cf.data_rows():
        if len(cells) < 2:
            raise cf.error(row, "date", "is missing")
        name = cells[0]
        if name not in tables:
            raise cf.error(row, "name", f"{name!r} has no row in source_data/data_layout.csv")
        date = cf.date(row, cells[1], "date")
        day = (date - start).days
        t = tables[name][1]
        hits = [i for i in range(len(t)) if int(t[i][0]) == day]
        if not hits:
            raise cf.error(row, "date", f"{cells[1].strip()} is not an observation date of {name!r} "
                           "(FLEE's correctLevel1Registrations would crash)")
        factor = 1.0
        for i in hits:  # FLEE loops over every matching row, and leaves the first unscaled (i > 0)
            if i > 0:
                if t[i - 1, 1] == 0:
                    raise cf.error(row, "date", f"the observation before {cells[1].strip()} is 0: cannot rescale")
                factor = float(t[i, 1] / t[i - 1, 1])
                t[0:i, 1] *= factor
        if all(i == 0 for i in hits):
            raise cf.error(row, "date", f"{cells[1].strip()} is the first observation of {name!r}: nothing to "
                           "rescale (FLEE's correctLevel1Registrations would crash)")
        corrections.append(RegistrationCorrection(name, date, day, factor, row))

    obs = []
    for name in order:
        files, t = tables[name]
        days, counts = t[:, 0].copy(), t[:, 1].copy()
        days.setflags(write=False)
        counts.setflags(write=False)
        obs.append(ObservationTable(name, files, days, counts))
    by_name = {o.name: o for o in obs}
    series = np.array([[by_name[c].value(d) for c in camp_names] for d in range(length)], dtype=np.int64)
    series = series.reshape(length, len(camp_names))
    total = np.array([by_name["total"].value(d) for d in range(length)], dtype=np.int64)
    series.setflags(write=False)
    total.setflags(write=False)
    return obs, corrections, DailyData(tuple(camp_names), series, total, tuple(obs))


def read_flee_case(path: str | Path, hasten: int = 1) -> FleeCase:
    """Read the FLEE case at ``path`` (a directory with ``input_csv/`` and ``source_data/``).

    ``hasten`` is FLEE's ``optimisations: hasten`` (``PopulationScaleDownFactor``): populations are divided by it
    (integer division) and counts too (true division, before interpolation), as FLEE does. Raises
    :class:`ScenarioError` (one line: file, row, field) on the first bad or inconsistent row.
    """
    root = Path(path)
    if not root.is_dir():
        raise ScenarioError(str(root), "is not a directory")
    if hasten < 1:
        raise ScenarioError(str(root), f"hasten must be at least 1, not {hasten}")
    start, length = _read_period(root)
    locations, home = _read_locations(root, hasten)
    locs = {loc.name: loc for loc in locations}
    routes = _read_routes(root, set(locs))
    roads = {frozenset((r.name1, r.name2)) for r in routes}
    conflicts, conflict_names = _read_conflicts(root, set(locs), length)
    closures = _read_closures(root, locs, roads)
    camps = [loc for loc in locations if loc.is_camp]
    if not camps:
        raise ScenarioError("input_csv/locations.csv", "has no camp: FLEE scores camps only")
    _, corrections, data = _read_data(root, start, length, camps, hasten)
    return FleeCase(root.name, start, length, home, tuple(locations), tuple(routes), conflicts, conflict_names,
                    tuple(closures), tuple(corrections), data, hasten)


def main(argv: list[str] | None = None) -> int:
    """``python -m simulation.flee_case CASE_DIR...``: read each case and print what it holds (exit 2 if bad)."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m simulation.flee_case CASE_DIR [CASE_DIR ...]", file=sys.stderr)
        return 2
    for path in args:
        try:
            k = read_flee_case(path)
        except ScenarioError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        kinds: dict[str, int] = {}
        for loc in k.locations:
            kinds[loc.kind] = kinds.get(loc.kind, 0) + 1
        print(f"{k.name}: {k.start_date} + {k.length} days, home {k.home_country}; "
              + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
              + f"; {len(k.routes)} routes; {len(k.closures)} closures; {len(k.corrections)} corrections; "
              f"camps on day 0: {int(k.data.camp_total[0])}, last day: {int(k.data.camp_total[-1])}; "
              f"people injected: {int(k.data.injections().sum())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
