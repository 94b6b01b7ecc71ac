"""Reported observations: dated control changes, casualty counts and displacement figures.

The tables live in a directory such as ``calibration/observations/`` (format in its ``README.md``):
``control.csv``, ``casualties.csv`` and ``displacement.csv``. Every row carries ``use`` (``yes``/``no``: whether
the loss uses it, where sources disagree) and ``split`` (``calibration``: may be fitted; ``validation``: only
compared with the model after fitting).

:func:`load_observations` reads and checks the tables; :func:`compile_observations` resolves their places,
areas, parties and dates against one scenario into index arrays, so that scoring a model run is array work.
Bad input raises :class:`~simulation.scenario.ScenarioError` naming the file, row and field.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from simulation.scenario import Scenario, ScenarioError, _Rows

if TYPE_CHECKING:
    from simulation.calibration.record import RunRecord as RecordLike

SPLITS = ("calibration", "validation")
CONTROL_KINDS = ("taken", "held", "retaken")
MEASURES = ("left", "present")
# The Kurdistan Region of Iraq, by governorate (its constitutional extent in 2014).
KURDISTAN_REGION = ("erbil", "dohuk", "sulaymaniyah", "halabja")
# Who a casualty figure counts (the ``<who>`` half of ``scope``), and what the model can count for it.
WHO = ("civilians", "noncombatants", "police", "isf", "all", "executions")


@dataclass(frozen=True)
class ControlObservation:
    """A reported control change (``taken``/``retaken``) or a reported holding (``held``).

    ``low``/``high``: the window of dates a report gives for a change (``date_low``/``date_high``; ``None``:
    the change is dated ``date``). ``date`` lies inside the window.
    """

    row: int
    date: dt.date
    place: str
    controller: str
    kind: str
    split: str
    use: bool
    low: dt.date | None = None
    high: dt.date | None = None

    @property
    def window(self) -> tuple[dt.date, dt.date]:
        """First and last date the change is reported in (``(date, date)`` without a window)."""
        return (self.low or self.date, self.high or self.date)


@dataclass(frozen=True)
class CasualtyObservation:
    """Killed and wounded reported for a period, among ``who`` in ``where``."""

    row: int
    start: dt.date
    end: dt.date
    who: tuple[str, ...]
    where: str
    killed: float
    wounded: float | None
    split: str
    use: bool
    log_sd: float | None = None  # observation error of the log count (None: the loss's default)


@dataclass(frozen=True)
class DisplacementObservation:
    """Displaced people reported on a date: ``left`` an area (cumulative) or ``present`` in it."""

    row: int
    date: dt.date
    area: str
    measure: str
    idps: float
    low: float | None
    high: float | None
    split: str
    use: bool
    log_sd: float | None = None  # observation error of the log figure (None: the loss's default)


@dataclass(frozen=True)
class Observations:
    """The three observation tables of one theatre."""

    path: Path
    control: tuple[ControlObservation, ...]
    casualties: tuple[CasualtyObservation, ...]
    displacement: tuple[DisplacementObservation, ...]

    def select(self, split: str | None = None, used: bool | None = True) -> Observations:
        """Rows of one ``split`` (``None``: both) and with ``use`` equal to ``used`` (``None``: all)."""

        def keep(o: ControlObservation | CasualtyObservation | DisplacementObservation) -> bool:
            return (split is None or o.split == split) and (used is None or o.use == used)

        return replace(self, control=tuple(filter(keep, self.control)),
                       casualties=tuple(filter(keep, self.casualties)),
                       displacement=tuple(filter(keep, self.displacement)))

    def __len__(self) -> int:
        return len(self.control) + len(self.casualties) + len(self.displacement)


def _date(rows: _Rows, row: int, rec: dict[str, str], name: str) -> dt.date:
    v = rows.text(row, rec, name)
    try:
        return dt.date.fromisoformat(v)
    except ValueError:
        raise rows.error(row, name, f"{v!r} is not a date (YYYY-MM-DD)") from None


def _use(rows: _Rows, row: int, rec: dict[str, str]) -> bool:
    return rows.choice(row, rec, "use", ("yes", "no")) == "yes"


def _log_sd(rows: _Rows, row: int, rec: dict[str, str]) -> float | None:
    """The optional ``log_sd`` column: a standard deviation of the log figure, in (0, 5]."""
    if rec.get("log_sd", "") == "":
        return None
    return rows.number(row, rec, "log_sd", low=0, high=5, low_open=True)


def _window(rows: _Rows, row: int, rec: dict[str, str], date: dt.date, kind: str) -> tuple[dt.date | None,
                                                                                          dt.date | None]:
    """The optional ``date_low``/``date_high`` window of a control row: both or neither, around ``date``, and
    only for a change (a ``held`` row reports a state on one date)."""
    has_low, has_high = rec.get("date_low", "") != "", rec.get("date_high", "") != ""
    if not (has_low or has_high):
        return None, None
    if has_low != has_high:
        raise rows.error(row, "date_high" if has_low else "date_low", "give both date_low and date_high")
    if kind == "held":
        raise rows.error(row, "date_low", "a held row reports a state on its date; a window is for a change")
    low, high = _date(rows, row, rec, "date_low"), _date(rows, row, rec, "date_high")
    if not low <= date <= high:
        raise rows.error(row, "date", f"{date} is outside [date_low, date_high] = [{low}, {high}]")
    return low, high


def observations_dir(scenario_dir: str | Path, given: str | Path | None = None) -> Path:
    """The observations directory of a scenario: ``given``, else ``observations`` in the ``[scenario]`` table of
    ``scenario.toml`` (relative to that file).

    Raises
    ------
    ScenarioError
        Neither is given.
    """
    import tomllib

    if given is not None:
        return Path(given)
    scenario_dir = Path(scenario_dir)
    try:
        head = tomllib.loads((scenario_dir / "scenario.toml").read_text(encoding="utf-8")).get("scenario", {})
    except (OSError, ValueError):
        head = {}
    rel = head.get("observations")
    if not rel:
        raise ScenarioError(f"{scenario_dir}", "no observations (pass --observations DIR or set `observations` "
                            "in the [scenario] table of scenario.toml)")
    return (scenario_dir / str(rel)).resolve()


def load_observations(path: str | Path) -> Observations:
    """Read and check the observation tables in directory ``path``.

    Parameters
    ----------
    path : directory holding ``control.csv``, ``casualties.csv`` and ``displacement.csv``.

    Returns
    -------
    Observations

    Raises
    ------
    ScenarioError
        A missing file, an unknown or missing column, or a bad value; the message names file, row and field.
    """
    root = Path(path)
    if not root.is_dir():
        raise ScenarioError(str(path), "is not an observations directory")

    rows = _Rows(root / "control.csv", ("date", "place", "controller", "kind", "split", "use", "source"),
                 ("note", "date_low", "date_high"))
    control = []
    for n, rec in rows.rows:
        rows.text(n, rec, "source")
        date, kind = _date(rows, n, rec, "date"), rows.choice(n, rec, "kind", CONTROL_KINDS)
        low, high = _window(rows, n, rec, date, kind)
        control.append(ControlObservation(
            row=n, date=date, place=rows.ident(n, rec, "place"),
            controller=rows.ident(n, rec, "controller"), kind=kind,
            split=rows.choice(n, rec, "split", SPLITS), use=_use(rows, n, rec), low=low, high=high))

    rows = _Rows(root / "casualties.csv",
                 ("period_start", "period_end", "scope", "killed", "wounded", "use", "split", "source"),
                 ("note", "log_sd"))
    casualties = []
    for n, rec in rows.rows:
        rows.text(n, rec, "source")
        start, end = _date(rows, n, rec, "period_start"), _date(rows, n, rec, "period_end")
        if end < start:
            raise rows.error(n, "period_end", f"{end} is before period_start {start}")
        who_text, sep, where = rows.text(n, rec, "scope").partition(";")
        if not sep or not where.strip():
            raise rows.error(n, "scope", f"{rec['scope']!r} must be '<who>;<where>'")
        who = tuple(w.strip() for w in who_text.split("+"))
        for w in who:
            if w not in WHO:
                raise rows.error(n, "scope", f"{w!r} is not one of {', '.join(WHO)}")
        wounded = rec.get("wounded", "")
        casualties.append(CasualtyObservation(
            row=n, start=start, end=end, who=who, where=where.strip(),
            killed=rows.number(n, rec, "killed", low=0),
            wounded=None if wounded == "" else rows.number(n, rec, "wounded", low=0),
            split=rows.choice(n, rec, "split", SPLITS), use=_use(rows, n, rec), log_sd=_log_sd(rows, n, rec)))

    rows = _Rows(root / "displacement.csv",
                 ("date", "area", "measure", "idps", "use", "split", "source"),
                 ("idps_low", "idps_high", "note", "log_sd"))
    displacement = []
    for n, rec in rows.rows:
        rows.text(n, rec, "source")
        idps = rows.number(n, rec, "idps", low=0, low_open=True)
        low = None if rec.get("idps_low", "") == "" else rows.number(n, rec, "idps_low", low=0)
        high = None if rec.get("idps_high", "") == "" else rows.number(n, rec, "idps_high", low=0)
        if (low is None) != (high is None):
            raise rows.error(n, "idps_high" if high is None else "idps_low", "give both idps_low and idps_high")
        if low is not None and not low <= idps <= high:
            raise rows.error(n, "idps", f"{idps:g} is outside [idps_low, idps_high] = [{low:g}, {high:g}]")
        displacement.append(DisplacementObservation(
            row=n, date=_date(rows, n, rec, "date"), area=rows.text(n, rec, "area"),
            measure=rows.choice(n, rec, "measure", MEASURES), idps=idps, low=low, high=high,
            split=rows.choice(n, rec, "split", SPLITS), use=_use(rows, n, rec), log_sd=_log_sd(rows, n, rec)))

    return Observations(path=root, control=tuple(control), casualties=tuple(casualties),
                        displacement=tuple(displacement))


# ------------------------------------------------------------------------------------------------------------
# Resolving observations against a scenario


def coalition_labels(scenario: Scenario) -> np.ndarray:
    """Coalition number of each faction (allied factions share one), in the scenario's faction order."""
    ids = list(scenario.faction_ids)
    label = list(range(len(ids)))
    for pair in scenario.allied:
        a, b = sorted(ids.index(x) for x in pair)
        la, lb = label[a], label[b]
        label = [la if x == lb else x for x in label]
    uniq = sorted(set(label))
    return np.array([uniq.index(x) for x in label], dtype=np.int64)


def area_mask(scenario: Scenario, area: str) -> np.ndarray:
    """Places (boolean mask in the scenario's place order) that an area expression covers.

    An expression is a comma-separated list of place ids, governorate names (any case),
    ``kurdistan_region``, ``all``, or ``Iraq`` (every place) optionally qualified
    ``excl. <governorate>[ and ...]``.

    Raises
    ------
    KeyError
        A part of the expression names nothing in the scenario.
    """
    govs = np.array([p.governorate.lower() for p in scenario.places])
    ids = list(scenario.place_ids)
    mask = np.zeros(len(ids), dtype=bool)
    for part in (x.strip() for x in area.split(",")):
        low = part.lower()
        if low.startswith("iraq") or low == "all":
            sub = np.ones(len(ids), dtype=bool)
            if "excl." in low:
                for g in low.split("excl.", 1)[1].strip(" )").replace(" and ", ",").split(","):
                    g = g.strip()
                    if g not in govs:
                        raise KeyError(f"governorate {g!r} in {area!r} is not in the scenario")
                    sub &= govs != g
            mask |= sub
        elif low == "kurdistan_region":
            mask |= np.isin(govs, KURDISTAN_REGION)
        elif part in ids:
            mask[ids.index(part)] = True
        elif low in govs:
            mask |= govs == low
        else:
            raise KeyError(f"{part!r} is neither a place id nor a governorate of the scenario")
    return mask


def party_mask(scenario: Scenario, who: tuple[str, ...]) -> np.ndarray:
    """Parties (factions, then ``civilian``) whose casualties a ``who`` list counts.

    ``civilians`` is the civilian party; ``isf`` is every faction with the ``government`` doctrine; ``all`` is
    every party. ``police`` adds nothing: police are inside the government factions and the model cannot
    separate them from soldiers. ``noncombatants`` and ``executions`` (prisoners and personnel *hors de combat*
    killed outside battle) add nothing: the model has no executions.
    """
    nf = len(scenario.factions)
    mask = np.zeros(nf + 1, dtype=bool)
    for w in who:
        if w == "civilians":
            mask[nf] = True
        elif w == "isf":
            mask[:nf] |= np.array([f.doctrine == "government" for f in scenario.factions])
        elif w == "all":
            mask[:] = True
    return mask


@dataclass(frozen=True)
class CompiledObservations:
    """Observations resolved against a scenario: index arrays the loss reads (days from the start date).

    Rows that a scenario cannot represent (``use=no`` rows naming areas it lacks) are dropped.
    """

    source: Observations
    # control
    control: tuple[ControlObservation, ...]
    control_place: np.ndarray
    control_coalition: np.ndarray
    control_day: np.ndarray
    control_held: np.ndarray
    control_low: np.ndarray  # first and last day of the reported window (both control_day without a window)
    control_high: np.ndarray
    # casualties
    casualties: tuple[CasualtyObservation, ...]
    casualty_start: np.ndarray
    casualty_end: np.ndarray
    casualty_places: np.ndarray  # [row, place] bool
    casualty_parties: np.ndarray  # [row, party] bool
    casualty_killed: np.ndarray
    casualty_wounded: np.ndarray  # NaN where not reported
    casualty_log_sd: np.ndarray  # NaN: the loss's default
    # displacement
    displacement: tuple[DisplacementObservation, ...]
    displacement_day: np.ndarray
    displacement_places: np.ndarray  # [row, place] bool
    displacement_left: np.ndarray  # True: measure "left", False: "present"
    displacement_idps: np.ndarray
    displacement_low: np.ndarray  # NaN where no range
    displacement_high: np.ndarray
    displacement_log_sd: np.ndarray  # NaN: the loss's default
    # window of the split, in days from the start (inclusive), for counting unreported control changes
    window: tuple[int, int] = (0, 0)
    coalition_of: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.control) + len(self.casualties) + len(self.displacement)

    def digest(self) -> str:
        """A hash of what the loss reads (every row, index array and the window; not where the tables came
        from): a calibration's stored runs are reused only against the same observations."""
        import hashlib

        h = hashlib.sha256()
        for f in fields(self):
            if f.name == "source":
                continue
            v = getattr(self, f.name)
            h.update(f.name.encode())
            if isinstance(v, np.ndarray):
                h.update(f"{v.dtype.str}{v.shape}".encode())
                h.update(np.ascontiguousarray(v).tobytes())
            else:
                h.update(repr(v).encode())
        return h.hexdigest()[:32]


def compile_observations(observations: Observations, scenario: Scenario,
                         window: tuple[dt.date, dt.date] | None = None) -> CompiledObservations:
    """Resolve ``observations`` against ``scenario`` into index arrays.

    Parameters
    ----------
    observations : usually ``load_observations(...).select(split=...)``.
    scenario : the scenario whose runs will be scored.
    window : first and last date of the period the rows cover (used to count control changes that no row
        reports); default: the scenario's start date to its last day.

    Raises
    ------
    ScenarioError
        A ``use=yes`` row names a place, faction or area the scenario lacks, or lies outside its dates.
    """
    start = scenario.start_date
    ids = list(scenario.place_ids)
    fids = list(scenario.faction_ids)
    coal = coalition_labels(scenario)
    name = observations.path.name

    def day(d: dt.date) -> int:
        return (d - start).days

    def bad(file: str, row: int, fieldname: str, message: str) -> ScenarioError:
        return ScenarioError(f"{name}/{file}", message, row=row, field=fieldname)

    control = []
    for o in observations.control:
        if o.place not in ids:
            if o.use:
                raise bad("control.csv", o.row, "place", f"unknown place {o.place!r} in scenario {scenario.name}")
            continue
        if o.controller not in fids:
            if o.use:
                raise bad("control.csv", o.row, "controller", f"unknown faction {o.controller!r}")
            continue
        lo, hi = o.window
        if not 0 <= day(lo) <= day(hi) < scenario.days:
            if o.use:
                raise bad("control.csv", o.row, "date" if lo == hi else "date_low",
                          f"{lo if day(lo) < 0 else hi} is outside the scenario's dates")
            continue
        control.append(o)

    casualties, cas_places, cas_parties = [], [], []
    for o in observations.casualties:
        try:
            m = area_mask(scenario, o.where)
        except KeyError as e:
            if o.use:
                raise bad("casualties.csv", o.row, "scope", str(e).strip('"')) from None
            continue
        if day(o.start) < 0 or day(o.end) >= scenario.days:
            if o.use:
                raise bad("casualties.csv", o.row, "period_end", "the period is outside the scenario's dates")
            continue
        casualties.append(o)
        cas_places.append(m)
        cas_parties.append(party_mask(scenario, o.who))

    displacement, dis_places = [], []
    for o in observations.displacement:
        try:
            m = area_mask(scenario, o.area)
        except KeyError as e:
            if o.use:
                raise bad("displacement.csv", o.row, "area", str(e).strip('"')) from None
            continue
        if not 0 <= day(o.date) < scenario.days:
            if o.use:
                raise bad("displacement.csv", o.row, "date", f"{o.date} is outside the scenario's dates")
            continue
        displacement.append(o)
        dis_places.append(m)

    n = len(ids)
    nparty = len(fids) + 1
    lo, hi = window if window is not None else (start, scenario.end_date)
    return CompiledObservations(
        source=observations,
        control=tuple(control),
        control_place=np.array([ids.index(o.place) for o in control], dtype=np.int64),
        control_coalition=np.array([coal[fids.index(o.controller)] for o in control], dtype=np.int64),
        control_day=np.array([day(o.date) for o in control], dtype=np.int64),
        control_held=np.array([o.kind == "held" for o in control], dtype=bool),
        control_low=np.array([day(o.window[0]) for o in control], dtype=np.int64),
        control_high=np.array([day(o.window[1]) for o in control], dtype=np.int64),
        casualties=tuple(casualties),
        casualty_start=np.array([day(o.start) for o in casualties], dtype=np.int64),
        casualty_end=np.array([day(o.end) for o in casualties], dtype=np.int64),
        casualty_places=np.array(cas_places, dtype=bool).reshape(len(casualties), n),
        casualty_parties=np.array(cas_parties, dtype=bool).reshape(len(casualties), nparty),
        casualty_killed=np.array([o.killed for o in casualties], dtype=float),
        casualty_wounded=np.array([np.nan if o.wounded is None else o.wounded for o in casualties], dtype=float),
        casualty_log_sd=np.array([np.nan if o.log_sd is None else o.log_sd for o in casualties], dtype=float),
        displacement=tuple(displacement),
        displacement_day=np.array([day(o.date) for o in displacement], dtype=np.int64),
        displacement_places=np.array(dis_places, dtype=bool).reshape(len(displacement), n),
        displacement_left=np.array([o.measure == "left" for o in displacement], dtype=bool),
        displacement_idps=np.array([o.idps for o in displacement], dtype=float),
        displacement_low=np.array([np.nan if o.low is None else o.low for o in displacement], dtype=float),
        displacement_high=np.array([np.nan if o.high is None else o.high for o in displacement], dtype=float),
        displacement_log_sd=np.array([np.nan if o.log_sd is None else o.log_sd for o in displacement], dtype=float),
        window=(max(day(lo), 0), min(day(hi), scenario.days - 1)),
        coalition_of=coal,
    )


def split_window(observations: Observations, scenario: Scenario, split: str) -> tuple[dt.date, dt.date]:
    """The dates a split covers: calibration from the start to its last row's date; validation from the day
    after that to the scenario's end. The calibration cut-off is the latest date of any calibration row (the end
    of its window, for a change reported in a window; 2014-06-22 for the Iraq tables)."""
    cal = observations.select(split="calibration", used=None)
    dates = [o.window[1] for o in cal.control] + [o.end for o in cal.casualties] + [o.date for o in cal.displacement]
    cutoff = max((d for d in dates if d <= scenario.end_date), default=scenario.start_date)
    if split == "calibration":
        return scenario.start_date, cutoff
    return cutoff + dt.timedelta(days=1), scenario.end_date


# ------------------------------------------------------------------------------------------------------------
# Synthetic observations (for recovery tests: fit the model to data it generated itself)


def observations_from_record(record: RecordLike, scenario: Scenario, cutoff: dt.date,
                             path: Path = Path("synthetic"), by_governorate: bool = True) -> Observations:
    """Observations that a run would have produced had it been history.

    The first change of each place to each side (coalition) becomes a ``taken`` row (the loss dates a change by
    the first day the place passes to the reported side); every place that saw casualties but stayed with
    its side becomes a ``held`` row on its last day of fighting; killed and wounded (all parties) by
    governorate become one casualty row per governorate and split; displacement (``left`` per governorate, on
    the cutoff and on the last day) where any; with ``by_governorate=False`` one casualty row per split for all
    places. Rows dated up to ``cutoff`` are ``calibration``, later rows
    ``validation``; all are ``use=yes``.
    """
    coal = coalition_labels(scenario)
    fids = list(scenario.faction_ids)
    ids = list(scenario.place_ids)
    start = scenario.start_date

    def date(d: int) -> dt.date:
        return start + dt.timedelta(days=int(d))

    def split(d: dt.date) -> str:
        return "calibration" if d <= cutoff else "validation"

    side = coal[record.control]
    before = np.vstack([coal[record.initial_control][None, :], side[:-1]])
    control = []
    n = 2
    seen = set()
    for d, p in zip(*np.nonzero(side != before)):
        if (p, side[d, p]) in seen:
            continue
        seen.add((p, side[d, p]))
        control.append(ControlObservation(n, date(d), ids[p], fids[record.control[d, p]], "taken", split(date(d)),
                                          True))
        n += 1
    fought = record.killed.sum(axis=2) + record.wounded.sum(axis=2)
    for p in range(len(ids)):
        days = np.flatnonzero(fought[:, p] > 0)
        if days.size and not (side[:, p] != before[:, p]).any():
            d = int(days[-1])
            control.append(ControlObservation(n, date(d), ids[p], fids[record.control[d, p]], "held",
                                              split(date(d)), True))
            n += 1
    gov_of = np.array([pl.governorate for pl in scenario.places] if by_governorate else ["all"] * len(ids))
    govs = sorted(set(gov_of.tolist()))
    last = record.days - 1
    cut = (cutoff - start).days
    casualties, displacement = [], []
    for a, b in ((0, cut), (cut + 1, last)):
        if b < a:
            continue
        for g in govs:
            m = gov_of == g
            k, w = record.killed[a:b + 1][:, m].sum(), record.wounded[a:b + 1][:, m].sum()
            if k + w > 0:
                casualties.append(CasualtyObservation(len(casualties) + 2, date(a), date(b), ("all",), g, float(k),
                                                      float(w), split(date(b)), True))
            left = record.displaced_from[b, m].sum()
            if left > 0:
                displacement.append(DisplacementObservation(len(displacement) + 2, date(b), g, "left", float(left),
                                                            None, None, split(date(b)), True))
    return Observations(path=path, control=tuple(control), casualties=tuple(casualties),
                        displacement=tuple(displacement))


def write_observations(observations: Observations, directory: str | Path, source: str = "synthetic") -> Path:
    """Write the three tables (the format :func:`load_observations` reads) into ``directory``."""
    import csv

    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)

    def write(name: str, header: list[str], rows: list[list[object]]) -> None:
        with (root / name).open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(header)
            w.writerows(rows)

    def yn(b: bool) -> str:
        return "yes" if b else "no"

    def num(v: float | None) -> str:
        return "" if v is None else str(int(v)) if float(v).is_integer() else repr(float(v))

    def day(d: dt.date | None) -> str:
        return "" if d is None else d.isoformat()

    write("control.csv", ["date", "place", "controller", "kind", "split", "use", "source", "date_low", "date_high"],
          [[o.date, o.place, o.controller, o.kind, o.split, yn(o.use), source, day(o.low), day(o.high)]
           for o in observations.control])
    write("casualties.csv", ["period_start", "period_end", "scope", "killed", "wounded", "use", "split", "source",
                             "log_sd"],
          [[o.start, o.end, f"{'+'.join(o.who)};{o.where}", num(o.killed), num(o.wounded), yn(o.use), o.split,
            source, num(o.log_sd)] for o in observations.casualties])
    write("displacement.csv", ["date", "area", "measure", "idps", "idps_low", "idps_high", "use", "split", "source",
                               "log_sd"],
          [[o.date, o.area, o.measure, num(o.idps), num(o.low), num(o.high), yn(o.use), o.split, source,
            num(o.log_sd)] for o in observations.displacement])
    return root


__all__ = ["Observations", "ControlObservation", "CasualtyObservation", "DisplacementObservation",
           "CompiledObservations", "load_observations", "compile_observations", "area_mask", "party_mask",
           "coalition_labels", "split_window", "observations_from_record", "write_observations"]
