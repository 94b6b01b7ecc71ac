"""The replay model: a scenario's civilians driven by recorded events, with no forces simulated.

Each day (:meth:`ReplayModel._step`): the scenario's scripted road and checkpoint events; the recorded changes
of hands (:class:`simulation.replay.events.ReplayDays`); civilians killed in recorded violence against
civilians are removed; the civilians feel the day's recorded fatalities as violence, with battles where
battles were recorded, and flee, travel and return exactly as in a full run
(:meth:`simulation.civilians.displacement.Civilians.step`); the day is recorded. A run directory written from
it has the same contract as a full run's (:func:`simulation.runs.output.write_run_directory`).

For the FLEE suite ("injected totals"), ``ReplayDays.departures`` fixes how many people leave each place each
day instead of the flight rule (:meth:`simulation.civilians.displacement.Civilians.step`'s ``departures``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from simulation.engine.model import ConflictModel
from simulation.replay.events import ReplayDays, read_events
from simulation.rules import records
from simulation.scenario import Scenario, ScenarioError, load_scenario

__all__ = ["ReplayModel", "replay", "replay_events", "with_replay_fit"]

KEPT_EVENTS = ("road_blocked", "road_opened", "checkpoint_closed", "checkpoint_opened")
"""Scripted events a replay keeps: those about roads and checkpoints (the others move forces)."""


class ReplayModel(ConflictModel):
    """A :class:`~simulation.engine.model.ConflictModel` whose days are recorded events.

    Parameters
    ----------
    scenario : a loaded :class:`Scenario`, a scenario directory or a shipped scenario's name.
    events : what happens each day (see :func:`replay_events`).
    seed : seed of the random generator (the civilians' rounding and casualties).
    days : number of days to run (default: the scenario's).
    **parameters : model parameters overriding the scenario's.
    """

    def __init__(self, scenario: Scenario | str | Path, events: ReplayDays, seed: int | None = None,
                 days: int | None = None, **parameters: Any):
        if not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario)
        scenario = dataclasses.replace(scenario, forces=(),
                                       events=tuple(e for e in scenario.events if e.kind in KEPT_EVENTS))
        super().__init__(scenario, seed=seed, days=days, **parameters)
        self.replay_days = events

    def _step(self) -> None:
        if self.day >= self.days:
            self.running = False
            return
        s, d, ev = self.state, self.day, self.replay_days
        self._start_day()
        self._scripted_events()
        taken_by = np.full(s.world.n, -1, dtype=np.int64)
        for place, faction in ev.control[d]:
            if s.controller[place] != faction:
                self._log("control_change", place, f"{self.faction_ids[s.controller[place]]} -> "
                          f"{self.faction_ids[faction]} (recorded)")
                s.controller[place] = faction
                taken_by[place] = faction
        if ev.civilians_killed[d].any():
            s.civilians.kill(ev.civilians_killed[d].astype(np.int64))
        s.tally.killed[:] = ev.killed[d]
        departures = None if ev.departures is None else ev.departures[d]
        s.civilians.step(ev.violence[d], taken_by, s.controller, ev.battle[d], departures=departures)
        records.record_day(s, self.records, d)
        self._report_day()
        self.datacollector.collect(self)
        self.day += 1
        if self.day >= self.days:
            self.running = False


def with_replay_fit(scenario: Scenario) -> Scenario:
    """``scenario`` with the parameters of its ``[replay] fitted_parameters`` file (fitted in replay mode) on top
    of its own and its fitted file's, below any ``--set``; unchanged if it names none or the file is missing.
    Replay's violence is recorded fatalities, a full run's the model's killed, wounded and sorties, so the
    parameters that turn violence into flight are fitted apart (docs/displacement.md)."""
    path = scenario.replay_fitted_file
    if path is None or not path.is_file():
        return scenario
    from simulation.scenario import load_fitted_parameters

    params = dict(scenario.parameters)
    params.update(load_fitted_parameters(path))
    params.update(scenario.overrides)
    return dataclasses.replace(scenario, parameters=params, replay_fitted_used=True)


def replay_events(scenario: Scenario, path: str | Path) -> ReplayDays:
    """Read the events file ``path`` (ACLED's columns) into the days of ``scenario`` (see
    :func:`simulation.replay.events.read_events`); a bad file raises :class:`ScenarioError`."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(str(path), "file is missing")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise ScenarioError(str(path), f"is not UTF-8 (byte {e.object[e.start]:#x} at offset {e.start}); save it "
                            "as UTF-8") from None
    return read_events(str(path), text, scenario)


def replay(scenario: Scenario | str | Path, events: str | Path | ReplayDays, seed: int = 1,
           days: int | None = None, use_fitted: bool = True, **parameters: Any) -> ReplayModel:
    """Run ``scenario``'s civilians through recorded ``events`` (a file in ACLED's columns, or
    :class:`ReplayDays`); return the finished model (write it with
    :func:`simulation.runs.output.write_run_directory`). With ``use_fitted``, the scenario's fitted files apply,
    its replay fit included (:func:`with_replay_fit`).

    Examples
    --------
    >>> from simulation.replay.model import replay  # doctest: +SKIP
    >>> m = replay("iraq_june_2014", "calibration/observations/control_events.csv")  # doctest: +SKIP
    >>> int(m.civilians.displaced_from.sum())  # doctest: +SKIP
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, use_fitted=use_fitted)
    if use_fitted:
        scenario = with_replay_fit(scenario)
    if not isinstance(events, ReplayDays):
        events = replay_events(scenario, events)
    return ReplayModel(scenario, events, seed=seed, days=days, **parameters).run()
