"""What a finished run recorded, as plain arrays the loss can score: from a model in memory or a run directory.

Day ``d`` is the end of the ``d``-th day from the scenario's start date (day 0 = the start date itself).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from simulation.scenario import Scenario, ScenarioError, load_scenario

if TYPE_CHECKING:
    from simulation.engine.model import ConflictModel


@dataclass(frozen=True)
class RunRecord:
    """Daily records of one run.

    Attributes
    ----------
    initial_control : faction index holding each place before day 0.
    control : ``[day, place]`` faction index holding the place at the end of the day.
    killed, wounded : ``[day, place, party]``; parties are the factions then ``civilian``.
    idps : ``[day, place]`` displaced people present.
    displaced_from : ``[day, place]`` cumulative people who left the place.
    """

    start_date: dt.date
    initial_control: np.ndarray
    control: np.ndarray
    killed: np.ndarray
    wounded: np.ndarray
    idps: np.ndarray
    displaced_from: np.ndarray

    @property
    def days(self) -> int:
        return self.control.shape[0]

    @classmethod
    def from_model(cls, model: ConflictModel) -> RunRecord:
        """The records of a model that has run (only the days it simulated)."""
        d = model.day
        s = model.scenario_data
        fi = {f: i for i, f in enumerate(model.faction_ids)}
        return cls(start_date=s.start_date,
                   initial_control=np.array([fi[p.controller] for p in s.places], dtype=np.int64),
                   control=model.rec_control[:d].copy(), killed=model.rec_killed[:d].copy(),
                   wounded=model.rec_wounded[:d].copy(), idps=model.rec_idps[:d].copy(),
                   displaced_from=model.rec_displaced_from[:d].copy())

    @classmethod
    def from_run_directory(cls, path: str | Path, scenario: Scenario | None = None) -> tuple[RunRecord, Scenario]:
        """Read ``control.csv``, ``casualties.csv`` and ``displacement.csv`` of a run directory.

        The scenario is the one ``summary.json`` names (``scenario_path``) unless given.

        Raises
        ------
        ScenarioError
            A table is missing or names a place, faction or date the scenario does not have.
        """
        root = Path(path)
        if scenario is None:
            try:
                summary = json.loads((root / "summary.json").read_text(encoding="utf-8"))
                scenario = load_scenario(summary["scenario_path"], use_fitted=False)
            except (OSError, ValueError, KeyError) as e:
                raise ScenarioError(f"{root.name}/summary.json", f"cannot find the run's scenario ({e})") from None
        ids = {p: i for i, p in enumerate(scenario.place_ids)}
        fids = {f: i for i, f in enumerate(scenario.faction_ids)}
        parties = {**fids, "civilian": len(fids)}
        n, nf = len(ids), len(fids)

        def read(name: str) -> list[tuple[int, dict[str, str]]]:
            p = root / name
            if not p.is_file():
                raise ScenarioError(f"{root.name}/{name}", "file is missing")
            with p.open(encoding="utf-8", newline="") as f:
                return list(enumerate(csv.DictReader(f), start=2))

        def index(table: str, row: int, rec: dict[str, str], key: str, lookup: dict[str, int]) -> int:
            try:
                return lookup[rec[key]]
            except KeyError:
                raise ScenarioError(f"{root.name}/{table}", f"unknown {key} {rec.get(key)!r}", row=row,
                                    field=key) from None

        def day(table: str, row: int, rec: dict[str, str]) -> int:
            try:
                return (dt.date.fromisoformat(rec["date"]) - scenario.start_date).days
            except (KeyError, ValueError):
                raise ScenarioError(f"{root.name}/{table}", f"{rec.get('date')!r} is not a date", row=row,
                                    field="date") from None

        control_rows = read("control.csv")
        days = 1 + max((day("control.csv", r, rec) for r, rec in control_rows), default=-1)
        control = np.zeros((days, n), dtype=np.int64)
        for r, rec in control_rows:
            control[day("control.csv", r, rec), index("control.csv", r, rec, "place", ids)] = \
                index("control.csv", r, rec, "controller", fids)
        killed = np.zeros((days, n, nf + 1), dtype=np.int64)
        wounded = np.zeros_like(killed)
        for r, rec in read("casualties.csv"):
            d, p = day("casualties.csv", r, rec), index("casualties.csv", r, rec, "place", ids)
            q = index("casualties.csv", r, rec, "party", parties)
            killed[d, p, q] += int(rec["killed"])
            wounded[d, p, q] += int(rec["wounded"])
        idps = np.zeros((days, n), dtype=np.int64)
        left = np.zeros_like(idps)
        for r, rec in read("displacement.csv"):
            d, p = day("displacement.csv", r, rec), index("displacement.csv", r, rec, "place", ids)
            idps[d, p] = int(rec["idps"])
            left[d, p] = int(rec["displaced_from"])
        record = cls(start_date=scenario.start_date,
                     initial_control=np.array([fids[p.controller] for p in scenario.places], dtype=np.int64),
                     control=control, killed=killed, wounded=wounded, idps=idps, displaced_from=left)
        return record, scenario


#: The daily arrays of a :class:`RunRecord`, as an ensemble stores them.
RECORD_ARRAYS = ("control", "killed", "wounded", "idps", "displaced_from")


@dataclass(frozen=True)
class DailyRecords:
    """What validation keeps of a run: its :class:`RunRecord`, each daily array flattened to a list of integers
    (a :class:`~simulation.sweep.ensemble.Measure`; :meth:`record` rebuilds the record)."""

    def columns(self, scenario: Scenario) -> dict[str, str]:
        return dict.fromkeys(RECORD_ARRAYS, "object")

    def spec(self) -> dict[str, str]:
        return {"measure": "daily records"}

    def __call__(self, model: ConflictModel) -> dict[str, list[int]]:
        record = RunRecord.from_model(model)
        return {name: getattr(record, name).ravel().tolist() for name in RECORD_ARRAYS}

    @staticmethod
    def record(row: Mapping[str, Any], scenario: Scenario) -> RunRecord:
        """The :class:`RunRecord` of one stored row (a mapping of :data:`RECORD_ARRAYS` to flat lists)."""
        n, parties = len(scenario.places), len(scenario.factions) + 1
        control = np.asarray(row["control"], dtype=np.int64)
        days = control.size // n
        fi = {f: i for i, f in enumerate(scenario.faction_ids)}
        return RunRecord(start_date=scenario.start_date,
                         initial_control=np.array([fi[p.controller] for p in scenario.places], dtype=np.int64),
                         control=control.reshape(days, n),
                         killed=np.asarray(row["killed"], dtype=np.int64).reshape(days, n, parties),
                         wounded=np.asarray(row["wounded"], dtype=np.int64).reshape(days, n, parties),
                         idps=np.asarray(row["idps"], dtype=np.int64).reshape(days, n),
                         displaced_from=np.asarray(row["displaced_from"], dtype=np.int64).reshape(days, n))
