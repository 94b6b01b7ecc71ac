"""Recorded events in ACLED's export columns, read into the days of a scenario.

A file of events has at least the columns ``event_date`` (ISO ``2014-06-10`` or ``10 June 2014``),
``event_type``, ``sub_event_type``, ``actor1``, ``actor2``, ``admin1``, ``location``, ``latitude``,
``longitude`` and ``fatalities`` (ACLED's export has more; they are ignored). Each event is matched to the
nearest place of the scenario within :data:`MATCH_KM` (great-circle distance); farther events, and events
outside the scenario's dates, are skipped and listed in one summary line each.

What an event does (:class:`ReplayDays`):

- its ``fatalities`` are that day's violence at the place (summed over events), which the civilians feel as
  they feel the casualties of a full run (:meth:`simulation.civilians.displacement.Civilians.step`);
- an event of type ``Battles`` marks a battle at the place that day (nobody flees into or through it);
- ``Non-state actor overtakes territory`` and ``Government regains territory`` give the place to the faction of
  ``actor1``: a ``[replay] actors`` entry of scenario.toml, or else :data:`DEFAULT_ACTORS` (ACLED's names of
  Iraq's actors, matched by words, to a doctrine; the scenario's first faction of that doctrine);
- the fatalities of ``Violence against civilians`` are civilians killed (removed from the population); those of
  other events are recorded (``casualties.csv``) as killed of ``actor2``'s faction, or else ``actor1``'s, or
  else not recorded by party (they still count as violence).

Bad rows raise :class:`~simulation.scenario.ScenarioError` naming the file, row and field.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from dataclasses import dataclass, field

import numpy as np

from simulation.scenario import Scenario, ScenarioError, csv_records

__all__ = ["COLUMNS", "CONTROL_SUB_EVENTS", "DEFAULT_ACTORS", "MATCH_KM", "ReplayDays", "faction_of_actor",
           "read_events"]

COLUMNS = ("event_date", "event_type", "sub_event_type", "actor1", "actor2", "admin1", "location", "latitude",
           "longitude", "fatalities")
"""The columns of ACLED's export that replay reads."""

CONTROL_SUB_EVENTS = ("Non-state actor overtakes territory", "Government regains territory")
"""ACLED's sub-event types that change who holds a place (to ``actor1``'s faction)."""

MATCH_KM = 25.0
"""An event is matched to the nearest place within this many km (great-circle)."""

DEFAULT_ACTORS: tuple[tuple[str, str], ...] = (
    ("peshmerga", "opportunist"),
    ("kurdistan regional government", "opportunist"),
    ("kurdish regional government", "opportunist"),
    ("islamic state", "insurgent"),
    ("isil", "insurgent"),
    ("isis", "insurgent"),
    ("naqshbandi", "insurgent"),
    ("jrtn", "insurgent"),
    ("military council", "insurgent"),
    ("ansar al-islam", "insurgent"),
    ("sahwa", "tribal"),
    ("awakening", "tribal"),
    ("tribal", "tribal"),
    ("military forces of iraq", "government"),
    ("police forces of iraq", "government"),
    ("popular mobilization", "government"),
    ("iraqi army", "government"),
    ("government of iraq", "government"),
)
"""Words in ACLED's actor names for Iraq (``Military Forces of Iraq (2006-)``, ``Police Forces of Iraq
(2006-)``, ``Islamic State (Iraq)``, ``... Peshmerga`` ...), lower case, with the doctrine of the faction they
map to; the first word found in the name decides (so "Military Forces of Iraq ... Peshmerga" is the
Peshmerga). ACLED's coding of actor names: the ACLED Codebook (acleddata.com), "Actor names"."""

_MONTHS = {m: i + 1 for i, m in enumerate(("january", "february", "march", "april", "may", "june", "july",
                                            "august", "september", "october", "november", "december"))}


@dataclass
class ReplayDays:
    """What the recorded events do, day by day, to a scenario's places.

    Attributes
    ----------
    violence : (days, n) fatalities at each place each day.
    battle : (days, n) bool, a battle at the place that day.
    civilians_killed : (days, n) fatalities of violence against civilians.
    killed : (days, n, factions + 1) the fatalities by party (the last: civilians), for the run's tables.
    control : per day, a list of (place, faction) changes of hands, in file order.
    matched, skipped_far, skipped_dates : events used, too far from any place, outside the scenario's dates.
    far_examples : a few of the skipped far events (location and km to the nearest place).
    departures : optional (days, n) people made to leave each place each day ("injected totals", for the FLEE
        suite): where not negative, it replaces the share who leave by the flight rule.
    """

    violence: np.ndarray
    battle: np.ndarray
    civilians_killed: np.ndarray
    killed: np.ndarray
    control: list[list[tuple[int, int]]]
    matched: int = 0
    skipped_far: int = 0
    skipped_dates: int = 0
    far_examples: list[str] = field(default_factory=list)
    departures: np.ndarray | None = None

    def summary_lines(self) -> list[str]:
        """One line for the events used, one for those too far from any place, one for those out of dates."""
        lines = [f"{self.matched} events matched to places, {sum(len(c) for c in self.control)} changes of hands"]
        if self.skipped_far:
            lines.append(f"{self.skipped_far} events more than {MATCH_KM:g} km from any place skipped: "
                         + "; ".join(self.far_examples) + (" ..." if self.skipped_far > len(self.far_examples)
                                                           else ""))
        if self.skipped_dates:
            lines.append(f"{self.skipped_dates} events outside the scenario's dates skipped")
        return lines


def parse_date(text: str) -> dt.date:
    """``2014-06-10`` or ``10 June 2014`` (also ``10-June-2014``, ``10 Jun 2014``)."""
    text = text.strip()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    parts = text.replace("-", " ").replace("/", " ").split()
    if len(parts) == 3 and parts[0].isdigit() and parts[2].isdigit():
        name = parts[1].lower()
        month = _MONTHS.get(name) or next((v for k, v in _MONTHS.items() if len(name) >= 3 and k.startswith(name)),
                                          None)
        if month:
            return dt.date(int(parts[2]), month, int(parts[0]))
    raise ValueError(f"{text!r} is not a date like 2014-06-10 or 10 June 2014")


def faction_of_actor(scenario: Scenario, actor: str) -> str | None:
    """The faction id an actor's name maps to: the scenario's ``[replay] actors`` entry, else the first
    :data:`DEFAULT_ACTORS` word in the name, to the scenario's first faction of that doctrine; None if neither."""
    explicit = dict(scenario.replay_actors)
    if actor in explicit:
        return explicit[actor]
    low = actor.lower()
    for word, doctrine in DEFAULT_ACTORS:
        if word in low:
            for f in scenario.factions:
                if f.doctrine == doctrine:
                    return f.id
            return None
    return None


def _haversine_km(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    p1, p2 = math.radians(lat), np.radians(lats)
    dphi, dl = p2 - p1, np.radians(lons) - math.radians(lon)
    a = np.sin(dphi / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 6371.0 * 2 * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


def read_events(path: str, text: str, scenario: Scenario) -> ReplayDays:
    """Read the events of ``text`` (the content of the file ``path``) into the days of ``scenario``.

    Raises
    ------
    ScenarioError
        A missing column (row 1) or a bad cell (its row and field): a date that is not one, a latitude or
        longitude out of range, fatalities that are not a whole number >= 0, an empty event type, or a change
        of hands by an actor that maps to no faction.
    """
    name = path
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [h.strip().lstrip("\ufeff") for h in next(reader)]
    except StopIteration:
        raise ScenarioError(name, "file is empty; it needs a header row") from None
    except csv.Error as e:
        raise ScenarioError(name, f"is not valid CSV: {e}", row=1) from None
    for c in COLUMNS:
        if c not in header:
            raise ScenarioError(name, "required column is missing", row=1, field=c)
    col = {c: header.index(c) for c in COLUMNS}
    n, days = len(scenario.places), scenario.days
    lats = np.array([p.lat for p in scenario.places])
    lons = np.array([p.lon for p in scenario.places])
    nf = len(scenario.factions)
    out = ReplayDays(np.zeros((days, n)), np.zeros((days, n), dtype=bool), np.zeros((days, n)),
                     np.zeros((days, n, nf + 1), dtype=np.int64), [[] for _ in range(days)])
    for row, cells in csv_records(reader, name, first_row=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) < len(header):
            raise ScenarioError(name, f"has {len(cells)} cells, the header has {len(header)}", row=row)
        rec = {c: cells[i].strip() for c, i in col.items()}
        try:
            date = parse_date(rec["event_date"])
        except ValueError as e:
            raise ScenarioError(name, str(e), row=row, field="event_date") from None
        lat, lon = _coordinate(name, row, rec, "latitude", 90), _coordinate(name, row, rec, "longitude", 180)
        try:
            fatalities = float(rec["fatalities"] or 0)
        except ValueError:
            raise ScenarioError(name, f"{rec['fatalities']!r} is not a number", row=row, field="fatalities") from None
        if not math.isfinite(fatalities) or fatalities < 0 or fatalities != int(fatalities):
            raise ScenarioError(name, f"{rec['fatalities']!r} must be a whole number >= 0", row=row,
                                field="fatalities")
        if not rec["event_type"]:
            raise ScenarioError(name, "is empty", row=row, field="event_type")
        changes_hands = rec["sub_event_type"] in CONTROL_SUB_EVENTS
        faction = None
        if changes_hands:
            faction = faction_of_actor(scenario, rec["actor1"])
            if faction is None:
                raise ScenarioError(name, f"actor {rec['actor1']!r} maps to no faction: add it to [replay] actors "
                                    "in scenario.toml", row=row, field="actor1")
        d = (date - scenario.start_date).days
        if not 0 <= d < days:
            out.skipped_dates += 1
            continue
        km = _haversine_km(lat, lon, lats, lons)
        p = int(np.argmin(km))
        if km[p] > MATCH_KM:
            out.skipped_far += 1
            if len(out.far_examples) < 5:
                out.far_examples.append(f"row {row} {rec['location'] or '?'} ({km[p]:.0f} km from "
                                        f"{scenario.places[p].id})")
            continue
        out.matched += 1
        out.violence[d, p] += fatalities
        if rec["event_type"] == "Battles":
            out.battle[d, p] = True
        if rec["event_type"] == "Violence against civilians":
            out.civilians_killed[d, p] += fatalities
            out.killed[d, p, nf] += int(fatalities)
        else:
            party = faction_of_actor(scenario, rec["actor2"]) or faction_of_actor(scenario, rec["actor1"])
            if party is not None:
                out.killed[d, p, scenario.faction_ids.index(party)] += int(fatalities)
        if faction is not None:
            out.control[d].append((p, scenario.faction_ids.index(faction)))
    return out


def _coordinate(name: str, row: int, rec: dict[str, str], field_name: str, limit: float) -> float:
    try:
        x = float(rec[field_name])
    except ValueError:
        raise ScenarioError(name, f"{rec[field_name]!r} is not a number", row=row, field=field_name) from None
    if not math.isfinite(x) or abs(x) > limit:
        raise ScenarioError(name, f"{rec[field_name]} must be between -{limit:g} and {limit:g}", row=row,
                            field=field_name)
    return x
