"""The Mesa model: the state of a conflict, the order of a day, and what is recorded and logged.

The rules live in :mod:`simulation.rules` (and :mod:`simulation.civilians`), one module each, with their
formulas; the model holds the state (:class:`simulation.rules.state.State`, set up by
:mod:`simulation.engine.setup`) and calls them in the order of a day (:meth:`ConflictModel._step`):

1. scripted events (offensives, reinforcements, volunteers, air sortie budgets, defections, morale shocks,
   roads, checkpoints); idle units merge;
2. each faction's command gives its units their orders (:mod:`simulation.engine.commands`,
   :mod:`simulation.rules.orders`);
3. movement along roads (:mod:`simulation.rules.movement`); sleeper cells rise where the offensive has reached
   them (:mod:`simulation.rules.insurgency`);
4. battles wherever hostile coalitions meet, civilians harmed (:mod:`simulation.rules.combat`);
5. a garrison long under pressure or cut off loses its command; morale, and routs, only with a cause that
   day (:mod:`simulation.rules.morale`);
6. air strikes against enemy concentrations (:mod:`simulation.rules.combat`);
7. control: places change hands once a side has held them alone long enough, opportunists take over places
   whose garrison broke, insurgents taking one execute people there (:mod:`simulation.rules.control`), the
   day's falls shake the losing side's morale nearby (:mod:`simulation.rules.morale`);
8. recruitment by insurgents in the places they hold (:mod:`simulation.rules.insurgency`);
9. civilians flee, travel and return (:mod:`simulation.civilians.displacement`); spent units are removed; the
   day is recorded (:mod:`simulation.rules.records`) and Mesa's data collector reads it.

Every random draw comes from ``self.rng``, seeded by ``seed`` (the civilians from a child of it).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import mesa
import networkx as nx
import numpy as np

from simulation.civilians.displacement import Civilians
from simulation.engine.commands import FactionCommand
from simulation.engine.setup import nominal_strength, set_up
from simulation.engine.signals import raise_pending, signals_deferred
from simulation.engine.units import UnitTable
from simulation.rules import combat, control, insurgency, morale, movement, orders, records
from simulation.rules.state import LEDGER, distinct
from simulation.scenario import Scenario, load_scenario
from simulation.world import DENSE_MOST_PLACES, World

__all__ = ["LEDGER", "ConflictModel"]


class ConflictModel(mesa.Model):
    """Factions fighting over a road network.

    Parameters
    ----------
    scenario : a loaded :class:`Scenario`, the path of a scenario directory or a shipped scenario's name.
    seed : seed of the model's random generator.
    days : number of days to run (default: the scenario's start to end date).
    dense_most_places : theatres of up to this many places take the exact dense path; above it the civilians'
        destinations are bounded and the commands' sums taken by distinct row (see
        :data:`simulation.world.DENSE_MOST_PLACES`, the default).
    **parameters : any model parameter (see :mod:`simulation.parameters`), overriding the scenario's values.
    """

    def __init__(self, scenario: Scenario | str | Path = "toy", seed: int | None = None,
                 days: int | None = None, *, dense_most_places: int = DENSE_MOST_PLACES, **parameters: Any):
        super().__init__(rng=seed)  # rng=: Mesa 3.5 deprecates seed= (the same NumPy stream)
        if not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario)
        if parameters:
            scenario = scenario.with_parameters(parameters, origin="model parameters")
        self.scenario_data = scenario
        self.p = dict(scenario.parameters)
        self.days = scenario.days if days is None else int(days)
        self.day = 0
        self.seed_value = seed
        self.faction_ids = list(scenario.faction_ids)
        self.faction_index = {f: i for i, f in enumerate(self.faction_ids)}
        # One command per faction, created first: AgentSet.do calls them in this order, every day.
        for i, f in enumerate(scenario.factions):
            FactionCommand(self, i, f.doctrine)
        self.state = s = set_up(scenario, self.p, self.rng, UnitTable(self), dense_most_places)
        self.nominal = nominal_strength(scenario)
        self.records = records.Records.empty(self.days, s.world.n, len(self.faction_ids))
        self.log: list[tuple[str, str, str, str]] = []
        self._place_ids = s.world.place_ids
        self._log_day = (-1, "")  # the day whose date the log last wrote, and that date
        self._events_by_day: dict[int, list] = {}
        for e in scenario.events:
            self._events_by_day.setdefault((e.date - scenario.start_date).days, []).append(e)
        ids, coalition_of = self.faction_ids, s.sides.coalition_of
        self._coalition_names = ["+".join(f for i, f in enumerate(ids) if coalition_of[i] == c)
                                 for c in range(s.sides.hostile.shape[0])]

        # Mesa's data collector, one row a day: its reporters read the day's totals (records.report).
        self._reported: dict[str, int] = {}
        self._report_names = [f"personnel_{f}" for f in ids] + [f"places_{f}" for f in ids] + [
            "killed", "civilians_killed", "displaced"]
        self.datacollector = mesa.DataCollector(
            model_reporters={k: (lambda m, k=k: m._reported[k]) for k in self._report_names})
        self.running = True

    # ---------------------------------------------------------------------------------------------------
    # The state, as a user reads it

    @property
    def world(self) -> World:
        """Places, roads and routes."""
        return self.state.world

    @property
    def units(self) -> UnitTable:
        """The unit table (one row per unit ever created)."""
        return self.state.units

    @property
    def civilians(self) -> Civilians:
        """The civilian population, residents and displaced."""
        return self.state.civilians

    @property
    def controller(self) -> np.ndarray:
        """The faction holding each place."""
        return self.state.controller

    @property
    def coalition_of(self) -> np.ndarray:
        """Each faction's coalition (allies form one)."""
        return self.state.sides.coalition_of

    @property
    def ledger(self) -> dict[str, np.ndarray]:
        """The personnel ledger's rows (views), by name (see :data:`LEDGER`)."""
        return dict(zip(LEDGER, self.state.tally.ledger))

    @property
    def commands(self) -> list[FactionCommand]:
        """The factions' commands, in the order of the factions."""
        return list(self.agents_by_type[FactionCommand])

    @property
    def date(self) -> dt.date:
        """The calendar date of the day about to be simulated (or just simulated, after the last)."""
        return self.scenario_data.start_date + dt.timedelta(days=self.day)

    def personnel_of(self, faction: int) -> int:
        u = self.units
        return int(u.personnel[: u.n][u.faction[: u.n] == faction].sum())

    def road_network(self) -> nx.Graph:
        """The road network with the state of the day, as a NetworkX graph for export (e.g.
        ``nx.write_graphml(model.road_network(), path)``): :meth:`simulation.world.World.graph` (roads with their
        km, kind, travel days and whether they are open) with, on each place, its ``controller`` and the
        ``residents`` and ``displaced`` people sheltering there."""
        g = self.world.graph()
        civ, idps = self.civilians, self.civilians.idps
        for i, pid in enumerate(self.world.place_ids):
            node = g.nodes[pid]
            node["controller"] = self.faction_ids[int(self.controller[i])]
            node["residents"], node["displaced"] = int(civ.residents[i]), int(idps[i])
        return g

    def routes_for(self, coalition: int) -> tuple[np.ndarray, np.ndarray]:
        """(travel_days, next_hop) for ``coalition``: trips may end at, but not pass through, enemy-held places."""
        return self.state.routes.of(coalition)

    def threat_to(self, coalition: int) -> np.ndarray:
        """Hostile effective strength that could reach each place within a day (see
        :func:`simulation.rules.orders.threat_to`)."""
        return orders.threat_to(self.state, coalition)

    def defence_against(self, coalition: int) -> np.ndarray:
        """Effective strength hostile to ``coalition`` at each place, with the defenders' advantage."""
        return orders.defence_against(self.state, coalition, self.p)

    # The daily tables, by their historical names.
    rec_control = property(lambda self: self.records.control)
    rec_present = property(lambda self: self.records.present)
    rec_arriving = property(lambda self: self.records.arriving)
    rec_killed = property(lambda self: self.records.killed)
    rec_wounded = property(lambda self: self.records.wounded)
    rec_population = property(lambda self: self.records.population)
    rec_idps = property(lambda self: self.records.idps)
    rec_displaced_from = property(lambda self: self.records.displaced_from)
    rec_in_transit = property(lambda self: self.records.in_transit)
    rec_ledger = property(lambda self: self.records.ledger)

    # ---------------------------------------------------------------------------------------------------
    # The day

    def step(self) -> None:
        """Simulate one day. Ctrl-C and SIGTERM wait for the end of the day (see :mod:`simulation.engine.signals`)."""
        with signals_deferred():
            self._step()
        raise_pending()

    def _step(self) -> None:
        if self.day >= self.days:
            self.running = False
            return
        s, rng, p = self.state, self.rng, self.p
        self._start_day()
        self._scripted_events()                                              # 1
        insurgency.offensive_fronts(s)
        movement.merge_idle(s)
        movement.update_presence(s)
        self.agents_by_type[FactionCommand].do("plan")                       # 2
        movement.move(s, p)                                                  # 3
        movement.update_presence(s)
        self._log_uprisings(insurgency.sleepers_rise(s, p))
        self._log_battles(combat.fight(s, rng, p))                           # 4
        self._log_commands_lost(morale.leadership(s, p))                     # 5
        self._log_routs(morale.daily_morale_and_routs(s, rng, p))
        self._log_air_strikes(combat.air_strikes(s, rng, p))                 # 6
        movement.update_presence(s)
        taken_by = self._changes_of_hands()                                  # 7
        insurgency.recruit(s, rng, p)                                        # 8
        felt = records.day_violence(s) * p["violence_recorded_share"]  # as recorded fatalities (replay's scale)
        s.civilians.step(felt, taken_by, s.controller, s.presence.battle)  # 9
        s.units.bury_dead()
        records.record_day(s, self.records, self.day)
        self._report_day()
        self.datacollector.collect(self)
        self.day += 1
        if self.day >= self.days:
            self.running = False

    def run(self) -> ConflictModel:
        """Run every remaining day; return the model. Ctrl-C and SIGTERM stop it at the end of a day."""
        with signals_deferred() as held:  # once for the run: each day's step then need not
            while self.running and not held:
                self.step()
        raise_pending()
        return self

    def _start_day(self) -> None:
        tally = self.state.tally
        tally.killed[:] = 0
        tally.wounded[:] = 0
        tally.sorties[:] = 0

    def _changes_of_hands(self) -> np.ndarray:
        """Places change hands; insurgents taking one execute people there; each fall of a place its holder had
        garrisoned shakes the losing side's morale nearby. Returns the faction that took each place today (-1:
        none)."""
        s, p, ids = self.state, self.p, self.faction_ids
        changes = control.changes_of_hands(s, p)
        for pl, old, new in zip(changes.places.tolist(), changes.old.tolist(), changes.new.tolist()):
            self._log("control_change", pl, f"{ids[old]} -> {ids[new]}")
            if s.sides.insurgent[new]:
                killed = control.executions(s, self.rng, pl, p)
                if killed:
                    self._log("executions", pl, f"{killed} people killed by {ids[new]}")
        if changes.places.size:
            morale.fall_shock(s, changes.places, s.sides.coalition_of[changes.old], changes.new, p)
        return changes.taken_by

    def _report_day(self) -> None:
        """The day's totals for the data collector (the displaced: sheltering and on the road)."""
        self._reported = dict(zip(self._report_names, self.records.report.tolist()))
        self._reported["displaced"] += int(self.records.in_transit[self.day])

    # ---------------------------------------------------------------------------------------------------
    # Scripted events

    def _scripted_events(self) -> None:
        s, w, p = self.state, self.state.world, self.p
        u, coalition_of = s.units, s.sides.coalition_of
        for e in self._events_by_day.get(self.day, []):
            f = self.faction_index.get(e.faction, -1)
            if e.kind in ("reinforcement", "mobilisation"):
                at = w.index[e.place]
                c = coalition_of[f]
                # Forces come from abroad through a border crossing: they arrive there even if the enemy holds
                # it, and fight for it. Elsewhere they arrive at the nearest place their side holds.
                if s.sides.hostile[c, coalition_of[s.controller[at]]] and w.kind[at] != "crossing":
                    held = np.flatnonzero(coalition_of[s.controller] == c)
                    if held.size == 0:
                        self._log(e.kind, at, f"{int(e.amount)} {e.faction} could not arrive: nothing held")
                        continue
                    at = int(held[np.argmin(w.travel_days_from(at)[held])])
                quality = p["reinforcement_quality" if e.kind == "reinforcement" else "volunteer_quality"]
                amount = int(round(e.amount))
                if amount > 0:
                    u.add(f, at, amount, quality, p["initial_morale"], name=e.note)
                    s.tally.ledger[LEDGER.index("reinforced"), f] += amount
                self._log(e.kind, at, f"{amount} {e.faction} arrive")
            elif e.kind == "offensive":
                where = np.ones(len(w.governorates), dtype=bool)
                if e.place:
                    where[:] = False
                    where[w.governorate_of[w.index[e.place]]] = True
                s.offensive_in[f, where] = e.amount > 0
                if e.place:
                    s.offensive_from[f, w.index[e.place]] = e.amount > 0
                else:
                    s.offensive_from[f, :] = e.amount > 0
                region = f" in {w.governorates[int(np.flatnonzero(where)[0])]}" if e.place else ""
                self._log(e.kind, e.place or "", f"{e.faction} {'begins' if e.amount > 0 else 'ends'} its offensive"
                          + region)
            elif e.kind == "air_sorties":
                s.sorties[f] = int(round(e.amount))
                self._log(e.kind, e.place or "", f"{e.faction} flies {s.sorties[f]} sorties a day")
            elif e.kind == "defection":
                rows = self._units_at(f, w.index[e.place])
                gone = combat.share_out(self.rng, int(e.amount), u.personnel[rows])
                u.personnel[rows] -= gone
                s.tally.ledger[LEDGER.index("deserted"), f] += int(gone.sum())
                self._log(e.kind, e.place, f"{int(gone.sum())} {e.faction} defect")
            elif e.kind == "morale_shock":
                rows = self._units_at(f, w.index[e.place])
                u.morale[rows] = np.clip(u.morale[rows] - e.amount, 0, 1)
                u.shocked[rows] = True
                self._log(e.kind, e.place, f"{e.faction} morale falls by {e.amount:g}: {e.note}")
            elif e.kind in ("road_blocked", "road_opened"):
                a, b = e.place.split("|")
                w.set_road(a, b, e.kind == "road_opened")
                self._log(e.kind, a, f"road {a}-{b} {'opened' if e.kind == 'road_opened' else 'blocked'}")
            elif e.kind in ("checkpoint_closed", "checkpoint_opened"):
                s.civilians.set_checkpoint(w.index[e.place], e.kind == "checkpoint_opened")
                self._log(e.kind, e.place, e.note)

    def _units_at(self, faction: int, place: int) -> np.ndarray:
        u, n = self.units, self.units.n
        return np.flatnonzero(u.alive[:n] & (u.faction[:n] == faction) & (u.loc[:n] == place) & (u.next[:n] < 0))

    # ---------------------------------------------------------------------------------------------------
    # The event log

    def _log(self, kind: str, place: int | str, detail: str) -> None:
        pid = place if isinstance(place, str) else self._place_ids[place]
        if self._log_day[0] != self.day:
            self._log_day = (self.day, self.date.isoformat())
        self.log.append((self._log_day[1], kind, pid, detail))

    def log_withdrawals(self, withdrawn: orders.Withdrawals) -> None:
        """Log the units a command withdrew (see :func:`simulation.rules.orders.hold_orders`)."""
        for f, pl, people, to in zip(withdrawn.faction.tolist(), withdrawn.place.tolist(),
                                     withdrawn.personnel.tolist(), withdrawn.destination.tolist()):
            self._log("withdrawal", pl, f"{self.faction_ids[f]} unit of {people} withdraws to "
                      f"{self.world.place_ids[to]}")

    def _log_uprisings(self, risen: np.ndarray | None) -> None:
        if risen is None:
            return
        u = self.units
        for pl in distinct(u.loc[risen]):
            k = risen[u.loc[risen] == pl]
            self._log("uprising", pl, f"{self.faction_ids[u.faction[k[0]]]} sleeper cells rise: "
                      f"{int(u.personnel[k].sum())} fighters")

    def _log_battles(self, battles: combat.BattleResult | None) -> None:
        if battles is None:
            return
        names, at = self._coalition_names, battles.places
        for pl, sizes, tc, ci in zip(at.tolist(), battles.personnel[at].tolist(), battles.casualties[at].tolist(),
                                     battles.civilians[at].tolist()):
            sides = ", ".join(f"{names[c]} {int(x)}" for c, x in enumerate(sizes) if x > 0)
            self._log("battle", pl, f"{sides}; casualties {int(tc)}, civilians {int(ci)}")

    def _log_commands_lost(self, places: np.ndarray) -> None:
        s = self.state
        for pl in places.tolist():
            self._log("command_lost", pl, f"{self.faction_ids[s.controller[pl]]} garrison loses its command after "
                      f"{int(s.pressure_days[pl])} days under pressure")

    def _log_routs(self, routs: morale.Routs | None) -> None:
        if routs is None:
            return
        for f, pl, ok, to, gone, left in zip(routs.faction.tolist(), routs.place.tolist(), routs.reached.tolist(),
                                             routs.destination.tolist(), routs.deserters.tolist(),
                                             routs.remaining.tolist()):
            if ok:
                self._log("rout", pl, f"{self.faction_ids[f]} unit routs toward {self.world.place_ids[to]}: "
                          f"{gone} desert, {left} retreat")
            else:
                self._log("rout", pl, f"{self.faction_ids[f]} unit dissolves, {gone} desert")

    def _log_air_strikes(self, strikes: list[combat.StrikeResult]) -> None:
        for f, flown, hit, civ in strikes:
            struck = np.flatnonzero(flown)
            for pl, fl, h, ci in zip(struck.tolist(), flown[struck].tolist(), hit[struck].tolist(),
                                     civ[struck].tolist()):
                self._log("air_strike", pl, f"{fl} {self.faction_ids[f]} sorties: {h} fighters and {ci} civilians hit")

    # ---------------------------------------------------------------------------------------------------
    # Results

    def dates(self) -> list[str]:
        return [(self.scenario_data.start_date + dt.timedelta(days=i)).isoformat() for i in range(self.day)]

    def personnel_balance(self, day: int | None = None) -> dict[str, dict[str, int]]:
        """The personnel ledger by faction after ``day`` (default: the last simulated day)."""
        d = self.day - 1 if day is None else day
        out = {}
        for f, fid in enumerate(self.faction_ids):
            row = {k: int(self.rec_ledger[d, i, f]) for i, k in enumerate(LEDGER)}
            row["present"] = int(self.rec_ledger[d, -1, f])
            out[fid] = row
        return out
