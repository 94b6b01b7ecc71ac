"""The Mesa model: the world, the order of a day, and what is recorded.

A day, in order:

1. scripted events (offensives, reinforcements, volunteers, air sortie budgets, defections, morale shocks,
   roads, checkpoints);
2. each faction's command chooses its units' objectives (see :mod:`simulation.agents`);
3. movement along roads, at a speed per road kind times the faction's mobility (trips may take days); sleeper
   cells rise where the offensive has reached them;
4. engagements wherever hostile coalitions meet: stochastic Lanchester attrition (:mod:`simulation.combat`),
   killed and wounded apart, civilians harmed in populated places;
5. morale: losses, being outnumbered, being cut off, a hostile population; units below ``rout_threshold``
   rout — part of them desert (desertion is not death) and the rest retreat;
6. air strikes against enemy concentrations, with civilian collateral;
7. control: a place changes hands when only one side (with its allies) remains there; the fall of a place
   shakes the morale of the losing side nearby (at places worth no more than it), so collapse can cascade
   along the roads; an insurgent faction taking a place kills some of the people there hostile to it
   (``execution_rate``);
8. recruitment by insurgents in the places they hold;
9. civilians (displacement) and data collection.

Every random draw comes from ``self.rng``, seeded by ``seed``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import mesa
import numpy as np

from simulation.engine.commands import FactionCommand
from simulation.engine.setup import nominal_strength, set_up
from simulation.engine.signals import raise_pending, signals_deferred
from simulation.engine.units import UnitTable
from simulation.rules import combat, control, insurgency, morale, movement, orders
from simulation.rules.orders import retreats, send_units
from simulation.rules.records import day_violence, record_day
from simulation.rules.state import LEDGER, distinct
from simulation.scenario import Scenario, load_scenario

_NO_CAPS = np.zeros(0)  # dispatch without caps


class ConflictModel(mesa.Model):
    """Factions fighting over a road network.

    Parameters
    ----------
    scenario : a loaded :class:`Scenario` or the path of a scenario directory.
    seed : seed of the model's random generator.
    days : number of days to run (default: the scenario's start to end date).
    **parameters : any model parameter (see :mod:`simulation.parameters`), overriding the scenario's values.
    """

    def __init__(self, scenario: Scenario | str | Path = "scenarios/toy", seed: int | None = None,
                 days: int | None = None, **parameters: Any):
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
            FactionCommand(self, i, f.doctrine, f.mobility)
        self.state = set_up(scenario, self.p, self.rng, UnitTable(self))
        self.nominal = nominal_strength(scenario)
        s = self.state
        self.sides, self.world, self.units, self.controller, self.civilians = \
            s.sides, s.world, s.units, s.controller, s.civilians
        self.coalition_of = s.sides.coalition_of  # each faction's coalition
        self.hostile_c = s.sides.hostile
        self.n_coalitions = s.sides.hostile.shape[0]
        self._hostile_to = [np.flatnonzero(row).tolist() for row in s.sides.hostile]  # by coalition
        ids = self.faction_ids
        self._coalition_names = ["+".join(f for i, f in enumerate(ids) if s.sides.coalition_of[i] == c)
                                 for c in range(self.n_coalitions)]
        self.ledger = {k: s.tally.ledger[i] for i, k in enumerate(LEDGER)}  # the ledger's rows (views), by name
        self._events_by_day: dict[int, list] = {}
        for e in scenario.events:
            self._events_by_day.setdefault((e.date - scenario.start_date).days, []).append(e)

        # Daily records (index = day).
        d, n, nf = self.days, self.world.n, len(ids)
        self.rec_control = np.zeros((d, n), dtype=np.int64)
        self.rec_present = np.zeros((d, n, nf), dtype=np.int64)
        self.rec_arriving = np.zeros((d, n, nf), dtype=np.int64)
        self.rec_killed = np.zeros((d, n, nf + 1), dtype=np.int64)  # last party: civilians
        self.rec_wounded = np.zeros((d, n, nf + 1), dtype=np.int64)
        self.rec_population = np.zeros((d, n), dtype=np.int64)
        self.rec_idps = np.zeros((d, n), dtype=np.int64)
        self.rec_displaced_from = np.zeros((d, n), dtype=np.int64)
        self.rec_in_transit = np.zeros(d, dtype=np.int64)  # displaced people on the road
        self.rec_ledger = np.zeros((d, len(LEDGER) + 1, nf), dtype=np.int64)
        self.log: list[tuple[str, str, str, str]] = []
        self._log_day = (-1, "")  # the day whose date the log last wrote, and that date
        self._killed_so_far = np.zeros(nf + 1, dtype=np.int64)  # by party, for the data collector

        # Mesa's data collector, one row a day: its reporters read the day's totals, computed once in _record.
        self._reported: dict[str, int] = {}
        names = [f"personnel_{f}" for f in self.faction_ids] + [f"places_{f}" for f in self.faction_ids] + [
            "killed", "civilians_killed", "displaced"]
        self._report_names = names
        self._report = np.zeros(len(names), dtype=np.int64)  # filled by record_day (displaced: sheltering only)
        self.datacollector = mesa.DataCollector(
            model_reporters={k: (lambda m, k=k: m._reported[k]) for k in names})
        self.running = True

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

    def _log(self, kind: str, place: int | str, detail: str) -> None:
        pid = place if isinstance(place, str) else self.world.place_ids[place]
        if self._log_day[0] != self.day:
            self._log_day = (self.day, self.date.isoformat())
        self.log.append((self._log_day[1], kind, pid, detail))

    # ---------------------------------------------------------------------------------------------------
    # Views the commands use

    def unit_effective(self, rows: np.ndarray) -> np.ndarray:
        u = self.units
        return combat.effective_strength(u.personnel[rows], u.quality[rows], u.morale[rows])

    def _presence(self) -> None:
        """Personnel and effective strength present at each place by coalition (units not on the road)."""
        movement.update_presence(self.state)

    @property
    def _here(self) -> np.ndarray:
        return self.state.presence.here

    @property
    def present_personnel_c(self) -> np.ndarray:
        return self.state.presence.personnel

    @property
    def present_effective_c(self) -> np.ndarray:
        return self.state.presence.effective

    @property
    def battle_at(self) -> np.ndarray:
        return self.state.presence.battle

    def holder_coalition(self) -> np.ndarray:
        """The coalition holding each place (``coalition_of[controller]``), kept until a place changes hands
        (read-only)."""
        return self.state.routes.holder()

    def own_effective_at(self, coalition: int) -> np.ndarray:
        return self.present_effective_c[:, coalition]

    def defence_against(self, coalition: int) -> np.ndarray:
        """Effective strength hostile to ``coalition`` at each place, with the defenders' advantage."""
        return orders.defence_against(self.state, coalition, self.p)

    def threat_to(self, coalition: int) -> np.ndarray:
        """Hostile effective strength that could reach each place within a day, by roads that do not pass through
        places held by the hostile units' own enemies."""
        return orders.threat_to(self.state, coalition)

    def routes_for(self, coalition: int) -> tuple[np.ndarray, np.ndarray]:
        """(travel_days, next_hop) for ``coalition``: trips may end at, but not pass through, enemy-held places."""
        return self.state.routes.of(coalition)

    def dispatch(self, rows: np.ndarray, targets: np.ndarray, keep_share: float,
                 at_most: np.ndarray | None = None) -> None:
        """Send units toward targets. Where a unit leaves a place its side holds, ``keep_share`` of it stays as
        a garrison. ``at_most`` (whole people, one per unit) caps how many go to a target: the first capped unit
        sent to a target sets that target's budget, and the units sent there use it up in the order given.
        Detachments of fewer than 10 that would leave part of a unit behind stay."""
        u = self.units
        rows, targets = np.asarray(rows, dtype=np.int64), np.asarray(targets, dtype=np.int64)
        if rows.size == 0:
            return
        u.reserve(rows.size)  # room for every unit to split
        parent, split_by = np.empty(rows.size, dtype=np.int64), np.zeros(self.n_coalitions, dtype=bool)
        added = send_units(
            rows, targets, keep_share, _NO_CAPS if at_most is None else np.asarray(at_most, dtype=float), u.n,
            u.faction, u.loc, u.personnel, u.quality, u.morale, u.base_morale, u.target, u.next, u.km_left, u.home,
            u.routing, u.alive, u.hidden, self.coalition_of, self.controller, self._next_hop_by_coalition(),
            self.world.next_hop, self.world.road_km, parent, split_by)
        if added:
            # The strength left at the units' places changes: so does the threat they pose.
            split = split_by.tolist()
            threat = self.state.estimates.threat
            for c in [c for c in threat if any(split[j] for j in self._hostile_to[c])]:
                del threat[c]
            u.commit(parent[:added])  # the detachments are new units (their rows are written)

    def withdraw(self, rows: np.ndarray) -> None:
        """Units leave their place in order (no desertion) for the nearest place their side holds that no enemy
        occupies or threatens within a day."""
        u = self.units
        rows = np.asarray(rows, dtype=np.int64)
        coal = self.coalition_of[u.faction[rows]]
        for c in distinct(coal):
            sel = rows[coal == c]
            days, hops = self.routes_for(c)
            dest = np.empty(sel.size, dtype=np.int64)
            retreats(sel, c, self.holder_coalition(), self.threat_to(c), days, hops, self.world.next_hop,
                     self.world.road_km, u.loc, u.target, u.next, u.km_left, dest)
            for r, q in zip(sel.tolist(), dest.tolist()):
                if q >= 0:
                    self._log("withdrawal", int(u.loc[r]), f"{self.faction_ids[u.faction[r]]} unit of "
                              f"{int(u.personnel[r])} withdraws to {self.world.place_ids[q]}")

    def _routes_by_coalition(self) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        return self.state.routes.all()

    def _next_hop_by_coalition(self) -> np.ndarray:
        """(coalitions, n, n) next hops of every coalition (see :meth:`routes_for`)."""
        return self.state.routes.all()[1]

    # ---------------------------------------------------------------------------------------------------
    # The day

    def step(self) -> None:
        """Simulate one day. Ctrl-C and SIGTERM wait for the end of the day (see :mod:`simulation.signals`)."""
        with signals_deferred():
            self._step()
        raise_pending()

    def _step(self) -> None:
        if self.day >= self.days:
            self.running = False
            return
        self.state.tally.killed[:] = 0
        self.state.tally.wounded[:] = 0
        self.state.tally.sorties[:] = 0
        self._scripted_events()                 # 1
        movement.merge_idle(self.state)
        self._presence()
        self.agents_by_type[FactionCommand].do("plan")  # 2
        movement.move(self.state, self.p)       # 3
        self._presence()
        self._log_uprisings(insurgency.sleepers_rise(self.state, self.p))
        self._log_battles(combat.fight(self.state, self.rng, self.p))  # 4
        self._log_routs(morale.daily_morale_and_routs(self.state, self.rng, self.p))  # 5
        self._log_air_strikes(combat.air_strikes(self.state, self.rng, self.p))  # 6
        self._presence()
        taken_by = self._changes_of_hands()     # 7
        insurgency.recruit(self.state, self.rng, self.p)  # 8
        violence = np.empty(self.world.n, dtype=np.int64)
        day_violence(self.state.tally.killed, self.state.tally.wounded, self.state.tally.sorties, violence)
        self.civilians.step(violence, taken_by, self.controller, self.battle_at)
        self.units.bury_dead()
        self._record()                          # 9
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

    # 1 ---------------------------------------------------------------------------------------------------
    def _scripted_events(self) -> None:
        w = self.world
        for e in self._events_by_day.get(self.day, []):
            f = self.faction_index.get(e.faction, -1)
            if e.kind in ("reinforcement", "mobilisation"):
                p = w.index[e.place]
                c = self.coalition_of[f]
                # Forces come from abroad through a border crossing: they arrive there even if the enemy holds
                # it, and fight for it. Elsewhere they arrive at the nearest place their side holds.
                if self.hostile_c[c, self.coalition_of[self.controller[p]]] and w.kind[p] != "crossing":
                    held = np.flatnonzero(self.coalition_of[self.controller] == c)
                    if held.size == 0:
                        self._log(e.kind, p, f"{int(e.amount)} {e.faction} could not arrive: nothing held")
                        continue
                    p = int(held[np.argmin(w.travel_days[p, held])])
                quality = self.p["reinforcement_quality" if e.kind == "reinforcement" else "volunteer_quality"]
                amount = int(round(e.amount))
                if amount > 0:
                    self.units.add(f, p, amount, quality, self.p["initial_morale"], name=e.note)
                    self.ledger["reinforced"][f] += amount
                self._log(e.kind, p, f"{amount} {e.faction} arrive")
            elif e.kind == "offensive":
                where = np.ones(len(self.world.governorates), dtype=bool)
                if e.place:
                    where[:] = False
                    where[self.world.governorate_of[w.index[e.place]]] = True
                self.state.offensive_in[f, where] = e.amount > 0
                region = f" in {self.world.governorates[int(np.flatnonzero(where)[0])]}" if e.place else ""
                self._log(e.kind, e.place or "", f"{e.faction} {'begins' if e.amount > 0 else 'ends'} its offensive"
                          + region)
            elif e.kind == "air_sorties":
                self.state.sorties[f] = int(round(e.amount))
                self._log(e.kind, e.place or "", f"{e.faction} flies {self.state.sorties[f]} sorties a day")
            elif e.kind == "defection":
                rows = self._units_at(f, w.index[e.place])
                gone = combat.share_out(self.rng, int(e.amount), self.units.personnel[rows])
                self.units.personnel[rows] -= gone
                self.ledger["deserted"][f] += int(gone.sum())
                self._log(e.kind, e.place, f"{int(gone.sum())} {e.faction} defect")
            elif e.kind == "morale_shock":
                rows = self._units_at(f, w.index[e.place])
                self.units.morale[rows] = np.clip(self.units.morale[rows] - e.amount, 0, 1)
                self._log(e.kind, e.place, f"{e.faction} morale falls by {e.amount:g}: {e.note}")
            elif e.kind in ("road_blocked", "road_opened"):
                a, b = e.place.split("|")
                w.set_road(a, b, e.kind == "road_opened")
                self._log(e.kind, a, f"road {a}-{b} {'opened' if e.kind == 'road_opened' else 'blocked'}")
            elif e.kind in ("checkpoint_closed", "checkpoint_opened"):
                self.civilians.set_checkpoint(w.index[e.place], e.kind == "checkpoint_opened")
                self._log(e.kind, e.place, e.note)

    def _log_uprisings(self, risen: np.ndarray | None) -> None:
        if risen is None:
            return
        u = self.units
        for pl in distinct(u.loc[risen]):
            k = risen[u.loc[risen] == pl]
            self._log("uprising", pl, f"{self.faction_ids[u.faction[k[0]]]} sleeper cells rise: "
                      f"{int(u.personnel[k].sum())} fighters")

    def _units_at(self, faction: int, place: int) -> np.ndarray:
        u, n = self.units, self.units.n
        return np.flatnonzero(u.alive[:n] & (u.faction[:n] == faction) & (u.loc[:n] == place) & (u.next[:n] < 0))

    # 4 ---------------------------------------------------------------------------------------------------
    def _log_battles(self, battles: combat.BattleResult | None) -> None:
        if battles is None:
            return
        names = self._coalition_names
        for pl, sizes, tc, ci in zip(battles.places.tolist(), battles.personnel[battles.places].tolist(),
                                     battles.casualties[battles.places].tolist(),
                                     battles.civilians[battles.places].tolist()):
            sides = ", ".join(f"{names[c]} {int(x)}" for c, x in enumerate(sizes) if x > 0)
            self._log("battle", pl, f"{sides}; casualties {int(tc)}, civilians {int(ci)}")

    # 5 ---------------------------------------------------------------------------------------------------
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

    # 6 ---------------------------------------------------------------------------------------------------
    def _log_air_strikes(self, strikes: list[combat.StrikeResult]) -> None:
        for f, flown, hit, civ in strikes:
            struck = np.flatnonzero(flown)
            for pl, fl, h, ci in zip(struck.tolist(), flown[struck].tolist(), hit[struck].tolist(),
                                     civ[struck].tolist()):
                self._log("air_strike", pl, f"{fl} {self.faction_ids[f]} sorties: {h} fighters and {ci} civilians hit")

    # 7 ---------------------------------------------------------------------------------------------------
    def _changes_of_hands(self) -> np.ndarray:
        """Places change hands; insurgents taking one execute people there; each fall shakes the losing side's
        morale nearby. Returns the faction that took each place today (-1: none)."""
        s, p, ids = self.state, self.p, self.faction_ids
        changes = control.changes_of_hands(s)
        for pl, old, new in zip(changes.places.tolist(), changes.old.tolist(), changes.new.tolist()):
            self._log("control_change", pl, f"{ids[old]} -> {ids[new]}")
            if s.sides.insurgent[new]:
                killed = control.executions(s, self.rng, pl, p)
                if killed:
                    self._log("executions", pl, f"{killed} people killed by {ids[new]}")
            morale.fall_shock(s, pl, int(self.coalition_of[old]), p)
        return changes.taken_by

    # 9 ---------------------------------------------------------------------------------------------------
    def _record(self) -> None:
        u, civ, d = self.units, self.civilians, self.day
        record_day(d, u.n, u.alive, u.next, u.loc, u.faction, u.personnel, self.controller, self.state.tally.killed,
                   self.state.tally.wounded, self.state.tally.ledger, self._killed_so_far, civ.residents, civ.idps,
                   civ.displaced_from, self.rec_control, self.rec_present, self.rec_arriving, self.rec_killed,
                   self.rec_wounded, self.rec_ledger, self.rec_population, self.rec_idps, self.rec_displaced_from,
                   self._report)
        self.rec_in_transit[d] = in_transit = civ.in_transit
        self._reported = dict(zip(self._report_names, self._report.tolist()))
        self._reported["displaced"] += in_transit

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
