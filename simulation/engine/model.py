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

from simulation.civilians import harm
from simulation.civilians.displacement import Civilians
from simulation.engine.commands import FactionCommand
from simulation.engine.signals import raise_pending, signals_deferred
from simulation.engine.units import ForceUnit, UnitTable, distinct
from simulation.rules import combat, draws
from simulation.rules.control import control_changes
from simulation.rules.insurgency import join_recruits, recruit_rates, sleeper_cells, sleepers_rise
from simulation.rules.morale import day_morale, fall_shock, rout_destinations, settle_routs
from simulation.rules.movement import merge_idle, move_units, presence_at
from simulation.rules.orders import defence, retreats, send_units, within_a_day
from simulation.rules.records import day_violence, record_day, spent_units
from simulation.scenario import Scenario, load_scenario
from simulation.world import World

_NO_CAPS = np.zeros(0)  # dispatch without caps

LEDGER = ("initial", "recruited", "reinforced", "killed", "wounded", "deserted")


class ConflictModel(mesa.Model):
    """Factions fighting over a road network.

    Parameters
    ----------
    scenario : a loaded :class:`Scenario`, the path of a scenario directory or a shipped scenario's name.
    seed : seed of the model's random generator.
    days : number of days to run (default: the scenario's start to end date).
    **parameters : any model parameter (see :mod:`simulation.parameters`), overriding the scenario's values.
    """

    def __init__(self, scenario: Scenario | str | Path = "toy", seed: int | None = None,
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
        self.world = World(scenario, self.p)
        w = self.world

        self.faction_ids = list(scenario.faction_ids)
        self.faction_index = {f: i for i, f in enumerate(self.faction_ids)}
        nf = len(self.faction_ids)
        self.mobility = np.array([f.mobility for f in scenario.factions])
        # The places each faction claims (None: no claims), as masks.
        self.claimed: list[np.ndarray | None] = []
        for f in scenario.factions:
            mask = None
            if f.claims:
                mask = np.zeros(w.n, dtype=bool)
                mask[[w.index[pid] for pid in f.claims]] = True
            self.claimed.append(mask)
        self._coalitions(scenario)

        self.controller = np.array([self.faction_index[pl.controller] for pl in scenario.places], dtype=np.int64)
        self.initial_controller = self.controller.copy()
        self.initial_holder_c = self.coalition_of[self.initial_controller]  # the coalition holding each at the start
        self._holder_c = (-1, self.initial_holder_c)  # see holder_coalition
        self._control_version = 0  # bumped whenever a place changes hands (keys the route cache)
        self._routes_all_key: tuple[int, int] | None = None  # see _routes_by_coalition
        self._routes: dict[tuple[int, int, int], tuple[np.ndarray, np.ndarray]] = {}
        self.was_garrisoned = np.zeros(w.n, dtype=bool)  # the holder had forces there at some point
        # Offensives are by governorate: factions with an `offensive` event wait for it there (everywhere, for an
        # event without a place); the others are on the offensive everywhere from the start.
        self.governorates = sorted(set(w.governorate))
        self.governorate_of = np.array([self.governorates.index(g) for g in w.governorate], dtype=np.int64)
        starts = {e.faction for e in scenario.events if e.kind == "offensive"}
        self.offensive_in = np.array([[f not in starts] * len(self.governorates) for f in self.faction_ids])
        self.battle_at = np.zeros(w.n, dtype=bool)
        self.sorties = np.zeros(nf, dtype=np.int64)
        self._ledger = np.zeros((len(LEDGER), nf), dtype=np.int64)  # by LEDGER entry and faction
        self.ledger = {k: self._ledger[i] for i, k in enumerate(LEDGER)}  # its rows (views), by name
        self.nominal = np.zeros(nf, dtype=np.int64)
        self.units = UnitTable()
        self.unit_agents: list[ForceUnit | None] = []
        self.commands = [FactionCommand(self, i, f.doctrine, f.mobility) for i, f in enumerate(scenario.factions)]
        # A faction's rear: the most valuable place its coalition holds at the start (e.g. the capital).
        self.rear = np.full(nf, -1)
        for i in range(nf):
            held = self.coalition_of[self.controller] == self.coalition_of[i]
            if held.any():
                self.rear[i] = int(np.argmax(np.where(held, w.value, -1)))

        for row in scenario.forces:
            f = self.faction_index[row.faction]
            present = int(round(row.personnel * row.present_share))
            self.nominal[f] += row.personnel
            if present <= 0:
                continue
            morale = self.p["initial_morale"] if row.morale is None else row.morale
            r = self._new_unit(f, w.index[row.place], present, row.quality, morale, name=row.unit)
            self.ledger["initial"][f] += present
            start_ctrl = self.coalition_of[self.controller[w.index[row.place]]]
            if (not self.offensive_in[f, self.governorate_of[w.index[row.place]]]
                    and self.commands[f].doctrine == "insurgent" and self.hostile_c[self.coalition_of[f], start_ctrl]):
                self.units.hidden[r] = True  # a sleeper cell until the offensive

        self.civilians = Civilians(w, self.p, self.rng)
        self._events_by_day: dict[int, list] = {}
        for e in scenario.events:
            self._events_by_day.setdefault((e.date - scenario.start_date).days, []).append(e)

        # Daily records (index = day).
        d, n = self.days, w.n
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
        self._today_killed = np.zeros((n, nf + 1), dtype=np.int64)
        self._today_wounded = np.zeros((n, nf + 1), dtype=np.int64)
        self._today_sorties = np.zeros(n, dtype=np.int64)
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

    # ---------------------------------------------------------------------------------------------------
    # Set-up helpers

    def _coalitions(self, s: Scenario) -> None:
        """Group allied factions into coalitions and derive coalition-level relation matrices."""
        ids = self.faction_ids
        label = list(range(len(ids)))
        for pair in sorted(s.allied, key=sorted):  # a set's order follows PYTHONHASHSEED; coalition numbers must not
            a, b = sorted(self.faction_index[x] for x in pair)
            la, lb = label[a], label[b]
            label = [la if x == lb else x for x in label]
        uniq = sorted(set(label))
        self.coalition_of = np.array([uniq.index(x) for x in label], dtype=np.int64)
        nc = len(uniq)
        self.hostile_c = np.zeros((nc, nc), dtype=bool)
        self.neutral_c = np.zeros((nc, nc), dtype=bool)
        for i, a in enumerate(ids):
            for j, b in enumerate(ids):
                ci, cj = self.coalition_of[i], self.coalition_of[j]
                if ci == cj:
                    continue
                rel = s.relation(a, b)
                if rel == "hostile":
                    self.hostile_c[ci, cj] = True
                elif rel == "neutral":
                    self.neutral_c[ci, cj] = True
        self.neutral_c &= ~self.hostile_c
        self._hostile_to = [np.flatnonzero(row).tolist() for row in self.hostile_c]  # by coalition
        self.n_coalitions = nc
        self._coalition_names = ["+".join(f for i, f in enumerate(ids) if self.coalition_of[i] == c) for c in range(nc)]
        self._is_government = np.array([f.doctrine == "government" for f in s.factions])
        # Government factions whose coalition has an air force can airlift supplies to cut-off places.
        air = {int(self.coalition_of[i]) for i, f in enumerate(s.factions) if f.air_force}
        self._airlift = self._is_government & np.isin(self.coalition_of, list(air))

    def _new_unit(self, faction: int, loc: int, personnel: int, quality: float, morale: float,
                  name: str = "") -> int:
        row = self.units.add(faction, loc, personnel, quality, morale)
        self.unit_agents.append(ForceUnit(self, row, name))
        return row

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
        u, n, nc = self.units, self.world.n, self.n_coalitions
        here, personnel_c, effective_c = np.zeros(u.n, dtype=bool), np.zeros((n, nc)), np.zeros((n, nc))
        battle = np.zeros(n, dtype=bool)
        presence_at(u.n, u.alive, u.next, u.personnel, u.hidden, u.routing, u.loc, u.faction, u.quality, u.morale,
                    self.coalition_of, self.hostile_c, self.controller, self.was_garrisoned, here, personnel_c,
                    effective_c, battle)
        self._here, self.present_personnel_c, self.present_effective_c, self.battle_at = \
            here, personnel_c, effective_c, battle
        self._threat: dict[int, np.ndarray] = {}  # threat_to by coalition, until the strengths change
        self._defence: dict[int, np.ndarray] = {}  # defence_against by coalition, until the next _presence

    def holder_coalition(self) -> np.ndarray:
        """The coalition holding each place (``coalition_of[controller]``), kept until a place changes hands
        (read-only)."""
        version, holder = self._holder_c
        if version != self._control_version:
            holder = self.coalition_of[self.controller]
            holder.setflags(write=False)
            self._holder_c = (self._control_version, holder)
        return holder

    def own_effective_at(self, coalition: int) -> np.ndarray:
        return self.present_effective_c[:, coalition]

    def defence_against(self, coalition: int) -> np.ndarray:
        """Effective strength hostile to ``coalition`` at each place, with the defenders' advantage."""
        hit = self._defence.get(coalition)
        if hit is None:
            hit = self._defence[coalition] = self._defence_against(coalition)
        return hit

    def _defence_against(self, coalition: int) -> np.ndarray:
        hostile = self.hostile_c[coalition]
        out = np.empty(self.world.n)
        if len(self._hostile_to[coalition]) < 8:  # NumPy sums fewer than 8 terms in order, as the loop does
            defence(self.present_effective_c, hostile, self.holder_coalition(), self.p["defender_advantage"],
                    self.world.fortification, out)
            return out
        eff = self.present_effective_c[:, hostile]
        holds = self.coalition_of[self.controller][:, None] == np.flatnonzero(hostile)[None, :]
        mult = np.where(holds, self.p["defender_advantage"] * self.world.fortification[:, None], 1.0)
        return (eff * mult).sum(axis=1)

    def threat_to(self, coalition: int) -> np.ndarray:
        """Hostile effective strength that could reach each place within a day, by roads that do not pass through
        places held by the hostile units' own enemies."""
        hit = self._threat.get(coalition)
        if hit is None:
            hit = self._threat[coalition] = self._threat_to(coalition)
        return hit

    def _threat_to(self, coalition: int) -> np.ndarray:
        u, n = self.units, self._here.size  # units split off today are not counted until tomorrow
        effective, reach = np.empty(n), np.empty((n, self.world.n))
        k = within_a_day(self._here, u.routing[:n], u.faction[:n], self.coalition_of, self.hostile_c[coalition],
                         u.loc[:n], u.personnel[:n], u.quality[:n], u.morale[:n], self.mobility,
                         self._routes_by_coalition()[0], effective, reach)
        if k == 0:
            return np.zeros(self.world.n)
        return effective[:k] @ reach[:k]

    def routes_for(self, coalition: int) -> tuple[np.ndarray, np.ndarray]:
        """(travel_days, next_hop) for ``coalition``: trips may end at, but not pass through, enemy-held places."""
        key = (coalition, self.world.roads_version, self._control_version)
        hit = self._routes.get(key)
        if hit is None:
            hit = self._routes[key] = self.world.routes_avoiding(
                self.hostile_c[coalition, self.holder_coalition()])
        return hit

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
            self._threat = {c: t for c, t in self._threat.items() if not any(split[j] for j in self._hostile_to[c])}
            # The detachments are new units (their rows are written): new agents, named as their parents.
            agents, first = self.unit_agents, u.n
            u.n += added
            for i, r in enumerate(parent[:added].tolist()):
                agents.append(ForceUnit(self, first + i, agents[r].name))

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

    def _next_hops(self, coalition: np.ndarray, loc: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Next place from ``loc`` toward ``target`` for units of each ``coalition``, avoiding enemy-held places
        (or by any road if they must); -1 where no road leads there."""
        first = int(coalition[0]) if coalition.size else 0
        if (coalition == first).all():
            own = self.routes_for(first)[1][loc, target]
        else:
            own = np.empty(loc.size, dtype=np.int64)
            for c in distinct(coalition):
                sel = coalition == c
                own[sel] = self.routes_for(c)[1][loc[sel], target[sel]]
        return np.where(own >= 0, own, self.world.next_hop[loc, target])

    def _routes_by_coalition(self) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        """The travel days of every coalition (a tuple of (n, n) arrays, as :meth:`routes_for` gives them) and
        their next hops (stacked: (coalitions, n, n)), kept until control or the roads change."""
        key = (self.world.roads_version, self._control_version)
        if self._routes_all_key != key:
            routes = [self.routes_for(c) for c in range(self.n_coalitions)]
            self._routes_all = (tuple(r[0] for r in routes), np.stack([r[1] for r in routes]))
            self._routes_all_key = key
        return self._routes_all

    def _next_hop_by_coalition(self) -> np.ndarray:
        """(coalitions, n, n) next hops of every coalition (see :meth:`routes_for`)."""
        return self._routes_by_coalition()[1]

    def _set_courses(self, rows: np.ndarray, targets: np.ndarray, hops: np.ndarray | None = None) -> None:
        """Set units ``rows`` on their way to ``targets`` (``hops``: their next places, if already known)."""
        u, w = self.units, self.world
        loc = u.loc[rows]
        if hops is None:
            hops = self._next_hops(self.coalition_of[u.faction[rows]], loc, targets)
        u.target[rows] = targets
        go = (hops >= 0) & (hops != loc)
        u.next[rows[go]] = hops[go]
        u.km_left[rows[go]] = w.road_km[loc[go], hops[go]]

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
        self._today_killed[:] = 0
        self._today_wounded[:] = 0
        self._today_sorties[:] = 0
        self._scripted_events()                 # 1
        self._merge_idle_units()
        self._presence()
        for command in self.commands:           # 2
            command.plan()
        self._move()                            # 3
        self._presence()
        self._wake_sleepers()
        self._engage()                          # 4
        self._morale()                          # 5
        self._air_strikes()                     # 6
        self._presence()
        taken_by = self._control()              # 7
        self._recruit()                         # 8
        violence = np.empty(self.world.n, dtype=np.int64)
        day_violence(self._today_killed, self._today_wounded, self._today_sorties, violence)
        self.civilians.step(violence, taken_by, self.controller, self.battle_at)
        self._bury_dead_units()
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
                    self._new_unit(f, p, amount, quality, self.p["initial_morale"], name=e.note)
                    self.ledger["reinforced"][f] += amount
                self._log(e.kind, p, f"{amount} {e.faction} arrive")
            elif e.kind == "offensive":
                where = np.ones(len(self.governorates), dtype=bool)
                if e.place:
                    where[:] = False
                    where[self.governorate_of[w.index[e.place]]] = True
                self.offensive_in[f, where] = e.amount > 0
                region = f" in {self.governorates[int(np.flatnonzero(where)[0])]}" if e.place else ""
                self._log(e.kind, e.place or "", f"{e.faction} {'begins' if e.amount > 0 else 'ends'} its offensive"
                          + region)
            elif e.kind == "air_sorties":
                self.sorties[f] = int(round(e.amount))
                self._log(e.kind, e.place or "", f"{e.faction} flies {self.sorties[f]} sorties a day")
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

    def _wake_sleepers(self) -> None:
        """Sleeper cells rise once their side's offensive has begun in their governorate and it reaches their
        place: their side's forces arrive, the enemy's have left, or they are strong enough on their own (their
        strength at least ``attack_ratio`` times the defence, as for an attack)."""
        u, n, w = self.units, self.units.n, self.world
        hid, state = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int8)
        cells, need = np.empty((w.n, self.n_coalitions)), np.empty(self.n_coalitions, dtype=bool)
        k = sleeper_cells(n, u.hidden, u.alive, u.personnel, u.faction, u.loc, u.quality, u.morale, self.offensive_in,
                          self.governorate_of, self.coalition_of, self.present_personnel_c, self.hostile_c, hid,
                          state, cells, need)
        if k == 0:
            return
        defence = np.empty((self.n_coalitions, w.n))
        for c in np.flatnonzero(need).tolist():
            defence[c] = self.defence_against(c)
        rise = np.empty(k, dtype=np.int64)
        m = sleepers_rise(hid[:k], state, u.loc, u.faction, self.coalition_of, cells, defence, self.p["attack_ratio"],
                          u.hidden, rise)
        if m == 0:
            return
        rise = rise[:m]
        self._presence()  # the cells now fight
        for pl in distinct(u.loc[rise]):
            k = rise[u.loc[rise] == pl]
            self._log("uprising", pl, f"{self.faction_ids[u.faction[k[0]]]} sleeper cells rise: "
                      f"{int(u.personnel[k].sum())} fighters")

    def _units_at(self, faction: int, place: int) -> np.ndarray:
        u, n = self.units, self.units.n
        return np.flatnonzero(u.alive[:n] & (u.faction[:n] == faction) & (u.loc[:n] == place) & (u.next[:n] < 0))

    def _merge_idle_units(self) -> None:
        """Units of one faction idle at the same place (and, for tribes, with the same home) become one."""
        u, n = self.units, self.units.n
        merge_idle(u.alive[:n], u.next[:n], u.routing[:n], u.personnel[:n], u.faction[:n], u.loc[:n], u.home[:n],
                   self.world.n, u.quality[:n], u.morale[:n], u.base_morale[:n])

    # 3 ---------------------------------------------------------------------------------------------------
    def _move(self) -> None:
        u, w = self.units, self.world
        n = u.n
        rows = np.flatnonzero(u.alive[:n] & (u.next[:n] >= 0))
        if rows.size == 0:
            return
        ctrl_c = self.coalition_of[self.controller]
        hostile_here = self.present_personnel_c @ self.hostile_c.T > 0  # [p, c]
        move_units(rows, u.loc, u.next, u.target, u.km_left, u.faction, self.coalition_of, self.mobility,
                   w.road_speed, w.road_km, self.hostile_c, ctrl_c, hostile_here, self._next_hop_by_coalition(),
                   w.next_hop)
        # Routing units that reached safety stop routing.
        arrived = rows[(u.next[rows] < 0) & u.routing[rows]]
        u.routing[arrived] = False
        u.morale[arrived] = np.maximum(u.morale[arrived], self.p["rout_threshold"] + 0.1)

    # 4 ---------------------------------------------------------------------------------------------------
    def _engage(self) -> None:
        if not self.battle_at.any():
            return
        u, w, p = self.units, self.world, self.p
        nc = self.n_coalitions
        places = np.flatnonzero(self.battle_at)
        rows = np.empty(self._here.size, dtype=np.int64)
        N, E, share = np.zeros((w.n, nc)), np.zeros((w.n, nc)), np.zeros((w.n, nc))
        # N, E: personnel and effective strength (with the defenders' advantage; none while routing) of the
        # coalitions at each place; share: each coalition's fire per hostile person present.
        k = combat.battle_strengths(self._here, self.battle_at, u.loc, u.faction, u.personnel, u.quality, u.morale,
                                    u.routing, self.coalition_of, self.controller, w.fortification,
                                    float(p["defender_advantage"]), self.hostile_c, rows, N, E, share)
        rows = rows[:k]
        fire = N * (share @ self.hostile_c.astype(float))  # effective enemy strength firing on each coalition
        intensity = self.rng.gamma(4.0, 0.25, places.size)
        alpha = p["lanchester_exponent"]
        before, prob = np.empty(k, dtype=np.int64), np.empty(k)
        combat.battle_hit_probability(rows, k, u.loc, u.faction, self.coalition_of, u.personnel, places, intensity,
                                      float(p["attrition_rate"]), fire, N, np.power(fire, alpha),
                                      np.power(N, 1.0 - alpha), before, prob)
        cas = self.rng.binomial(before, prob)
        killed = self.rng.binomial(cas, p["killed_share"])
        lost, ratio, total_cas = np.empty(k), np.empty(k), np.zeros(w.n)
        combat.battle_losses(rows, k, u.loc, u.faction, self.coalition_of, u.personnel, before, cas, killed, fire, E,
                             self.ledger["killed"], self.ledger["wounded"], self._today_killed, self._today_wounded,
                             lost, ratio, total_cas)
        # Morale: losses, and being outnumbered by the fire one receives.
        combat.battle_morale(rows, k, u.morale, lost, np.log(ratio), float(p["morale_loss_per_casualty"]),
                             float(p["morale_outnumbered"]))
        # Civilians caught in the fighting.
        civ = self._harm_civilians(total_cas, p["civilian_battle_harm"])
        names = self._coalition_names
        for pl, sizes, tc, ci in zip(places.tolist(), N[places].tolist(), total_cas[places].tolist(),
                                     civ[places].tolist()):
            sides = ", ".join(f"{names[c]} {int(x)}" for c, x in enumerate(sizes) if x > 0)
            self._log("battle", pl, f"{sides}; casualties {int(tc)}, civilians {int(ci)}")

    def _harm_civilians(self, weight: np.ndarray, scale: float, air: bool = False) -> np.ndarray:
        """Civilian casualties at each place (Poisson, at most the people present), split into killed and
        wounded; only the killed leave the population. Returns the casualties.

        Their expected number is ``scale * weight * people / (people + 20000)`` with ``people`` those present
        (``weight``: casualties among the fighters there or, with ``air``, sorties flown there)."""
        civ, w = self.civilians, self.world
        expected = np.empty(w.n)
        if air:
            harm.collateral_harm(weight, float(scale), civ.residents, civ.cohort, expected)
        elif not harm.exposed_harm(weight, float(scale), civ.residents, civ.cohort, expected):
            return np.zeros(w.n, dtype=np.int64)  # Poisson draws of mean 0 are 0 and use no random numbers
        cas = np.empty(w.n, dtype=np.int64)
        # draws.poisson/binomial: rng.poisson/binomial's numbers, drawn only where the mean/count is not 0
        if not harm.at_most_present(draws.poisson(self.rng, expected), civ.residents, civ.cohort, cas):
            return cas  # nobody harmed: the binomial draw of none would use no random numbers
        killed = draws.binomial(self.rng, cas, self.p["killed_share"])
        civ.kill(killed)
        harm.civilian_toll(cas, killed, self._today_killed, self._today_wounded)
        return cas

    def _execute(self, place: int) -> None:
        """Killings when an insurgent faction takes ``place``: Poisson with mean ``execution_rate`` times the
        people there hostile to it (``1 - sympathy`` of those present), counted as civilians killed."""
        present = self.civilians.present[place]
        hostile = present * (1.0 - self.world.sympathy[place])
        k = min(int(self.rng.poisson(self.p["execution_rate"] * hostile)), int(present))
        if k <= 0:
            return
        killed = np.zeros(self.world.n, dtype=np.int64)
        killed[place] = k
        self.civilians.kill(killed)
        self._today_killed[place, -1] += k
        self._log("executions", place, f"{k} people killed by {self.faction_ids[self.controller[place]]}")

    # 5 ---------------------------------------------------------------------------------------------------
    def _morale(self) -> None:
        u, w, p = self.units, self.world, self.p
        n = u.n
        # Cut off from the rear (no road to it through places not held or occupied by enemies) and not airlifted
        # (the most valuable cut-off places held by a side with an air force are resupplied by air); then rout.
        ctrl_c = np.empty(w.n, dtype=np.int64)  # the coalition holding each place
        enemy_here = np.empty((w.n, self.n_coalitions), dtype=bool)  # [p, c]: enemies of c present at p
        rout, coalitions = np.empty(n, dtype=np.int64), np.empty(self.n_coalitions, dtype=bool)
        k = day_morale(n, u.alive, u.personnel, u.faction, u.loc, u.morale, u.base_morale, self._here, u.routing,
                       self._is_government, self._airlift, self.rear, self.coalition_of, self.hostile_c,
                       self.controller, self.present_personnel_c, w.open_road, w.value, w.sympathy, self.battle_at,
                       int(p["airlift_places"]), p["morale_cutoff"], p["hostile_population_morale"],
                       p["morale_recovery"], p["rout_threshold"], ctrl_c, enemy_here, rout, coalitions)
        if k == 0:
            return
        rout = rout[:k]
        deserters = draws.binomial(self.rng, u.personnel[rout], p["desertion_share"])  # = rng.binomial's numbers
        # Each routing unit makes for the nearest place its side holds where no enemy is present (personnel have
        # not moved since).
        dest, reached = np.empty(k, dtype=np.int64), np.empty(k, dtype=bool)
        for c in np.flatnonzero(coalitions).tolist():
            rout_destinations(c, rout, u.loc, u.faction, self.coalition_of, ctrl_c, enemy_here, self.routes_for(c)[0],
                              dest, reached)
        # Nowhere to go: the unit dissolves.
        settle_routs(rout, deserters, reached, u.personnel, u.faction, u.routing, self.ledger["deserted"])
        self._set_courses(rout[reached], dest[reached])
        for f, pl, ok, to, gone, left in zip(u.faction[rout].tolist(), u.loc[rout].tolist(), reached.tolist(),
                                             dest.tolist(), deserters.tolist(), u.personnel[rout].tolist()):
            if ok:
                self._log("rout", pl, f"{self.faction_ids[f]} unit routs toward {w.place_ids[to]}: {gone} desert, "
                          f"{left} retreat")
            else:
                self._log("rout", pl, f"{self.faction_ids[f]} unit dissolves, {gone} desert")

    # 6 ---------------------------------------------------------------------------------------------------
    def _air_strikes(self) -> None:
        """Each air force's sorties go to places in proportion to the enemies there. A sortie hits
        ``sortie_kill_rate`` fighters on average (each enemy at the place equally likely to be hit) and, in a
        populated place, ``collateral_rate`` civilians scaled by how crowded it is."""
        u, p, w = self.units, self.p, self.world
        for f, sorties in enumerate(self.sorties.tolist()):
            if sorties <= 0:
                continue
            hostile = self.hostile_c[self.coalition_of[f]]
            targets, pvals = np.empty(w.n), np.empty(w.n)
            if combat.sortie_weights(self.present_personnel_c, hostile, targets, pvals) <= 0:
                continue  # no enemy anywhere: no sortie flies
            flown = self.rng.multinomial(sorties, pvals)  # sorties flown at each place (they add up to sorties)
            n = self._here.size
            rows, before, prob = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64), np.empty(n)
            k = combat.sortie_hit_probability(flown, self._here, u.loc, u.faction, self.coalition_of, hostile,
                                              u.personnel, targets, float(p["sortie_kill_rate"]),
                                              self._today_sorties, rows, before, prob)
            hit = np.zeros(w.n, dtype=np.int64)
            if k:  # binomial draws over no units would use no random numbers
                lost = self.rng.binomial(before[:k], prob[:k])
                killed = draws.binomial(self.rng, lost, p["killed_share"])  # rng.binomial's numbers, cheaper
                combat.book_losses(rows, k, u.loc, u.faction, u.personnel, lost, killed, self.ledger["killed"],
                                   self.ledger["wounded"], self._today_killed, self._today_wounded, hit)
            civ = self._harm_civilians(flown, p["collateral_rate"], air=True)
            struck = np.flatnonzero(flown)
            for pl, fl, h, ci in zip(struck.tolist(), flown[struck].tolist(), hit[struck].tolist(),
                                     civ[struck].tolist()):
                self._log("air_strike", pl, f"{fl} {self.faction_ids[f]} sorties: {h} fighters and {ci} civilians hit")

    # 7 ---------------------------------------------------------------------------------------------------
    def _control(self) -> np.ndarray:
        u, w, p = self.units, self.world, self.p
        taken_by = np.full(w.n, -1, dtype=np.int64)
        changed, holders = np.empty(w.n, dtype=np.int64), np.empty(w.n, dtype=np.int64)
        k = control_changes(self.present_personnel_c, self.controller, self.coalition_of, u.n, self._here,
                            u.routing, u.loc, u.faction, u.personnel, changed, holders)
        radius = p["morale_shock_radius_km"]
        for pl, new in zip(changed[:k].tolist(), holders[:k].tolist()):
            old = int(self.controller[pl])
            self.controller[pl] = new
            self._control_version += 1
            self._routes.clear()
            taken_by[pl] = new
            self._log("control_change", pl, f"{self.faction_ids[old]} -> {self.faction_ids[new]}")
            if self.commands[new].doctrine == "insurgent":
                self._execute(pl)
            # The news shakes the losing side's units nearby, more for a valuable place, and less in places worth
            # more than it (the fall of a town shakes a city's garrison by the ratio of their values).
            fall_shock(pl, int(self.coalition_of[old]), u.n, u.alive, u.faction, self.coalition_of, u.loc,
                       w.distance_km, w.value, radius, max(radius, 1e-9), p["morale_fall_shock"], u.morale)
        return taken_by

    # 8 ---------------------------------------------------------------------------------------------------
    def _recruit(self) -> None:
        u, w, p = self.units, self.world, self.p
        held, lam = np.empty(w.n, dtype=np.int64), np.empty(w.n)
        new_places, new_recruits = np.empty(w.n, dtype=np.int64), np.empty(w.n, dtype=np.int64)
        for f, command in enumerate(self.commands):
            if command.doctrine != "insurgent":
                continue
            m = recruit_rates(self.controller, f, p["recruit_rate"], self.civilians.residents, w.sympathy, held, lam)
            if m == 0:
                continue
            recruits = self.rng.poisson(lam[:m])
            # Recruits join the largest unit of the faction at the place (the first, on a tie), or form one.
            k, total = join_recruits(f, held[:m], recruits, u.n, u.alive, u.faction, u.next, u.routing, u.loc,
                                     u.personnel, u.quality, p["recruit_quality"], w.n, new_places, new_recruits)
            for pl, kk in zip(new_places[:k].tolist(), new_recruits[:k].tolist()):
                self._new_unit(f, pl, kk, p["recruit_quality"], p["initial_morale"], name="recruits")
            self.ledger["recruited"][f] += total

    # 9 ---------------------------------------------------------------------------------------------------
    def _bury_dead_units(self) -> None:
        u = self.units
        dead = np.empty(u.n, dtype=np.int64)
        for r in dead[:spent_units(u.n, u.alive, u.personnel, dead)].tolist():
            agent = self.unit_agents[r]
            if agent is not None:
                agent.remove()
                self.unit_agents[r] = None

    def _record(self) -> None:
        u, civ, d = self.units, self.civilians, self.day
        record_day(d, u.n, u.alive, u.next, u.loc, u.faction, u.personnel, self.controller, self._today_killed,
                   self._today_wounded, self._ledger, self._killed_so_far, civ.residents, civ.idps,
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
