"""What the rules read and write: the state of a conflict, and the named bundles its compiled kernels take.

A rule's entry (``combat.fight``, ``morale.daily_morale_and_routs`` ...) takes a :class:`State`, the model's
random generator and the parameters (a dict by name, see :mod:`simulation.parameters`), and changes the state
in place. :mod:`simulation.engine.setup` builds the state from a scenario; the model holds it and calls the
rules in the order of a day.

The compiled kernels below the entries take a few named bundles instead of long lists of arrays:

- :class:`Units`: the unit table's columns (one row per unit ever created);
- :class:`Sides`: the factions and the coalitions of allies they form;
- :class:`Places`: the places' fixed attributes, and :class:`Roads`: the roads between places and the routes
  over the open ones (renewed when a road opens or closes), both defined in :mod:`simulation.world`;
- :class:`Presence`: who is present where, and where hostile sides meet;
- :class:`Tally`: the personnel ledger and today's killed, wounded and air sorties.

The model passes a bundle as a plain tuple (its *packed* form) and a kernel names it on entry
(``pl = Places(*places)``; ``u = unit_columns(units)``, ``s = side_columns(sides)``). Calling a kernel costs
some 0.1-0.15 us for every array it is given (Numba unboxes each), and a day makes some sixty calls, against
about a millisecond for a day of the toy scenario: so the unit table and the sides are packed as four arrays
by dtype (:data:`UNIT_STORAGE`, :func:`pack_sides`) rather than thirteen and eight, and a NamedTuple is not
passed as such, because Numba's dispatcher then writes its class and field names into the argument's type
fingerprint, 1-2 us a bundle (measured with this project's Numba).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple, Protocol

import numpy as np
from numba import njit

from simulation.rules.routing import RouteRows
from simulation.world import Places, Roads, World

if TYPE_CHECKING:
    from simulation.civilians.displacement import Civilians

__all__ = ["DESERTED", "KILLED", "LEDGER", "RECRUITED", "REINFORCED", "UNIT_STORAGE", "WOUNDED", "Estimates",
           "Places", "Presence", "Roads", "SideRoutes", "Sides", "State", "Tally", "UnitRows", "Units", "distinct",
           "pack_sides", "side_columns", "unit_columns"]

LEDGER = ("initial", "recruited", "reinforced", "killed", "wounded", "deserted")
"""The rows of the personnel ledger (:attr:`Tally.ledger`), by faction."""
RECRUITED, REINFORCED, KILLED, WOUNDED, DESERTED = 1, 2, 3, 4, 5  # rows of the ledger, for the kernels


def distinct(ids: np.ndarray) -> list[int]:
    """The distinct values of an array of small non-negative integers (places, factions, coalitions), in
    increasing order: ``np.unique(ids).tolist()``, by counting instead of sorting."""
    return np.flatnonzero(np.bincount(ids)).tolist()


class Units(NamedTuple):
    """The unit table's columns, one row per unit ever created (a dead unit keeps its row, ``alive`` False).

    Rows ``0 .. n-1`` are in use (``n`` is kept by the table); the arrays are longer, the rest is room for
    units created later (detachments, recruits, reinforcements).
    """

    faction: np.ndarray  #: int32, the unit's faction
    loc: np.ndarray  #: int32, the place it is at, or the place it left on its current road
    personnel: np.ndarray  #: int64
    quality: np.ndarray  #: float64, fighting power per person
    morale: np.ndarray  #: float64, will to fight, 0-1
    base_morale: np.ndarray  #: float64, the morale it recovers toward when calm
    target: np.ndarray  #: int32, its objective
    next: np.ndarray  #: int32, the place at the end of its current road; -1 at a place
    km_left: np.ndarray  #: float64, km to go on its current road
    home: np.ndarray  #: int32, where it was raised (tribal units stay near it)
    routing: np.ndarray  #: bool, fleeing toward safety
    alive: np.ndarray  #: bool
    hidden: np.ndarray  #: bool, a sleeper cell (not fighting, not seen) until its side's offensive reaches it
    came_from: np.ndarray  #: int32, the last place it was at before its current one (-1: none), its way back
    shocked: np.ndarray  #: bool, shaken since its last morale check (a fall nearby, a lost command, a scripted shock)
    garrison_at: np.ndarray  #: int32, the place where it stayed behind as a garrison when part of it left (-1: none)


UNIT_STORAGE = (("faction", "loc", "target", "next", "home", "came_from", "garrison_at"), ("personnel",),
                ("quality", "morale", "base_morale", "km_left"), ("routing", "alive", "hidden", "shocked"))
"""How the unit table's columns are stored (its packed form): four arrays by dtype, an int32 (7, rows) array, the
int64 personnel, a float64 (4, rows) array and a bool (4, rows) array, whose rows are these columns."""


@njit(cache=True)
def unit_columns(units: tuple) -> Units:
    """The named columns of the packed unit table ``(ints, personnel, floats, flags)`` (see
    :data:`UNIT_STORAGE`), for a kernel."""
    ints, personnel, floats, flags = units
    return Units(ints[0], ints[1], personnel, floats[0], floats[1], floats[2], ints[2], ints[3], floats[3], ints[4],
                 flags[0], flags[1], flags[2], ints[5], flags[3], ints[6])


class Sides(NamedTuple):
    """The factions and the coalitions of allies they form (fixed for a run)."""

    coalition_of: np.ndarray  #: (factions,) int64, each faction's coalition
    hostile: np.ndarray  #: (coalitions, coalitions) bool
    neutral: np.ndarray  #: (coalitions, coalitions) bool, neither allied nor hostile
    mobility: np.ndarray  #: (factions,) float64, multiplier of road speeds
    government: np.ndarray  #: (factions,) bool, of government doctrine
    insurgent: np.ndarray  #: (factions,) bool, of insurgent doctrine
    airlift: np.ndarray  #: (factions,) bool, a government faction whose coalition has an air force
    rear: np.ndarray  #: (factions,) int64, the most valuable place its coalition held at the start (-1: none)


def pack_sides(sides: Sides) -> tuple:
    """The sides packed by dtype for the kernels: ``(coalition_of and rear, (2, factions) int64; government,
    insurgent and airlift, (3, factions) bool; hostile and neutral, (2, coalitions, coalitions) bool;
    mobility)`` (see :func:`side_columns`)."""
    return (np.stack([sides.coalition_of, sides.rear]).astype(np.int64),
            np.stack([sides.government, sides.insurgent, sides.airlift]).astype(np.bool_),
            np.stack([sides.hostile, sides.neutral]).astype(np.bool_), np.asarray(sides.mobility, dtype=np.float64))


@njit(cache=True)
def side_columns(sides: tuple) -> Sides:
    """The named sides of their packed form (see :func:`pack_sides`), for a kernel."""
    ints, flags, relations, mobility = sides
    return Sides(ints[0], relations[0], relations[1], mobility, flags[0], flags[1], flags[2], ints[1])


class Presence(NamedTuple):
    """Who is present where: units at a place (not on the road), alive, with personnel and not hidden."""

    here: np.ndarray  #: (rows,) bool, one per unit row when it was computed
    personnel: np.ndarray  #: (n, coalitions) float64, of the units here and not routing
    effective: np.ndarray  #: (n, coalitions) float64, their effective strength (personnel * quality * morale)
    battle: np.ndarray  #: (n,) bool, places where two hostile coalitions are both present


class Tally(NamedTuple):
    """The personnel ledger and the day's toll."""

    ledger: np.ndarray  #: (len(LEDGER), factions) int64, by :data:`LEDGER` row
    killed: np.ndarray  #: (n, factions + 1) int64, today's killed by place and party (last: civilians)
    wounded: np.ndarray  #: (n, factions + 1) int64
    sorties: np.ndarray  #: (n,) int64, today's air sorties flown at each place


class Estimates(NamedTuple):
    """The commands' estimates by coalition, worked out when first asked for and kept until the next change of
    presence (see :mod:`simulation.rules.orders`)."""

    threat: dict  #: coalition -> (n,) hostile effective strength within a day of each place, or its terms
    #: ``(effective, row, reach)`` as they stood when first asked for (see ``orders.threatened``)
    defence: dict  #: coalition -> (n,) effective strength hostile to it at each place, defenders' advantage in


class SideRoutes:
    """The routes each coalition may take: trips may end at, but not pass through, places held by its enemies.

    Routes are computed by :meth:`simulation.world.World.routes_avoiding` (compiled Dijkstra, cached by road
    network and mask) and kept here until a place changes hands (:meth:`control_changed`) or a road opens or
    closes (``World.roads_version``).

    Parameters
    ----------
    world : the places and roads.
    sides : the factions and coalitions (``hostile``).
    holder : (n,) the coalition holding each place (read-only; renewed by :meth:`control_changed`).
    """

    def __init__(self, world: World, sides: Sides, holder: np.ndarray):
        self.world = world
        self.hostile = sides.hostile
        self.holder = holder
        self.control_version = 0  # bumped whenever a place changes hands
        self._routes: dict[tuple[int, int, int], tuple[np.ndarray, np.ndarray]] = {}
        self._rows: dict[tuple[int, int, int], RouteRows | tuple[np.ndarray, np.ndarray]] = {}
        self._buffers: dict[int, RouteRows] = {}  # on demand: each coalition's last rows, whose storage is reused
        self._rows_all_key: tuple[int, int] | None = None
        self._rows_all: tuple = ()

    def control_changed(self, holder: np.ndarray) -> None:
        """Places changed hands (``holder``: the coalition now holding each): routes are worked out again when
        next asked for."""
        self.holder = holder
        self.control_version += 1
        self._routes.clear()
        self._rows.clear()

    def of(self, coalition: int) -> tuple[np.ndarray, np.ndarray]:
        """``(travel_days, next_hop)`` for ``coalition``, both (n, n): days at mobility 1 and the next place
        toward each destination (-1 where it cannot be reached)."""
        key = (coalition, self.world.roads_version, self.control_version)
        hit = self._routes.get(key)
        if hit is None:
            hit = self._routes[key] = self.world.routes_avoiding(self.hostile[coalition, self.holder])
        return hit

    def rows(self, coalition: int) -> RouteRows | tuple[np.ndarray, np.ndarray]:
        """The routes of ``coalition`` as the rules read them, a row at a time (see
        :func:`simulation.rules.routing.forward_row`, ``toward_row``): up to the world's size threshold
        (``World.dense``) the (n, n) matrices of :meth:`of`; above it :class:`simulation.rules.routing.RouteRows`,
        each row searched when first asked for (:meth:`simulation.world.World.route_rows`; the storage of the
        coalition's rows of the last change of hands is reused, so a set of rows must not be read once places
        have changed hands since)."""
        key = (coalition, self.world.roads_version, self.control_version)
        hit = self._rows.get(key)
        if hit is None:
            if self.world.dense:
                hit = self.of(coalition)
            else:
                hit = self.world.route_rows(self.hostile[coalition, self.holder], self._buffers.get(coalition))
                self._buffers[coalition] = hit
            self._rows[key] = hit
        return hit

    def rows_all(self) -> tuple:
        """Every coalition's :meth:`rows`, in order."""
        key = (self.world.roads_version, self.control_version)
        if self._rows_all_key != key:
            self._rows_all = tuple(self.rows(c) for c in range(self.hostile.shape[0]))
            self._rows_all_key = key
        return self._rows_all

class UnitRows(Protocol):
    """The unit table as the rules see it (:class:`simulation.engine.units.UnitTable`)."""

    n: int  #: rows in use
    columns: Units  #: whole columns (with room beyond ``n``)
    packed: tuple  #: the columns as stored (see :data:`UNIT_STORAGE`), for the kernels

    def add(self, faction: int, place: int, personnel: int, quality: float, morale: float, name: str = "") -> int:
        """A new unit's row."""

    def reserve(self, k: int) -> None:
        """Room for ``k`` more rows (written by a kernel, then counted by :meth:`commit`)."""

    def commit(self, parents: np.ndarray) -> None:
        """Count the rows written beyond ``n``, one per parent row (detachments take their parent's name)."""


@dataclass(eq=False)
class State:
    """The state of a conflict, as the rules read and write it (set up by :mod:`simulation.engine.setup`)."""

    world: World  #: places, roads, routes
    sides: Sides
    units: UnitRows
    controller: np.ndarray  #: (n,) int64, the faction holding each place
    holder: np.ndarray  #: (n,) int64, the coalition holding each place (read-only; renewed when control changes)
    initial_holder: np.ndarray  #: (n,) int64, the coalition holding each place at the start
    claimed: list[np.ndarray | None]  #: per faction, the places it claims (None: no claims)
    offensive_in: np.ndarray  #: (factions, governorates) bool, where each faction's offensive has begun
    #: (factions, places) bool, the places named by the offensives that have begun (all of them for a faction
    #: whose offensive needs no start)
    offensive_from: np.ndarray
    offensive_at: np.ndarray  #: (factions, places) bool, where a unit standing takes part in its side's offensive
    sorties: np.ndarray  #: (factions,) int64, each air force's sorties a day
    tally: Tally
    civilians: Civilians
    routes: SideRoutes  #: the routes each coalition may take
    was_garrisoned: np.ndarray  #: (n,) bool, its holder had forces there at some point
    kin: np.ndarray  #: (n,) float64, share of the people of the communities opportunists protect (composition.csv)
    loyal: np.ndarray  #: (n,) float64, share of the people of the groups that fear the insurgents (composition.csv)
    clear_days: np.ndarray  #: (n,) float64, days a side must be present at a place before it takes it
    pressure_days: np.ndarray  #: (n,) int64, days in a row the garrison has been under pressure or cut off
    present_days: np.ndarray  #: (n, coalitions) int64, days in a row each coalition has had forces at a place
    routed_at: np.ndarray  #: (n,) bool, places where a unit routed today
    opportunists: np.ndarray  #: int64, the factions of opportunist doctrine, in order
    presence: Presence | None = None  #: set by :func:`simulation.rules.movement.update_presence`
    packed_presence: tuple = ()  #: ``tuple(presence)``, for the kernels
    estimates: Estimates = field(default_factory=lambda: Estimates({}, {}))

    def __post_init__(self) -> None:
        # For the kernels (see the module's docstring): the sides never change, the tally's arrays are
        # written in place.
        self.packed_sides = pack_sides(self.sides)
        self.packed_tally = tuple(self.tally)
        self.hostile_count = [int(row.sum()) for row in self.sides.hostile]  # coalitions hostile to each
        self.insurgent_factions = np.flatnonzero(self.sides.insurgent).tolist()
        self.untaken = np.full(self.world.n, -1, dtype=np.int64)  # no place taken today (read-only)
        self.untaken.setflags(write=False)
        n = self.world.n
        # Each faction's claims as one (factions, n) mask, all True for a faction that claims nothing.
        self.claimed_any = np.array([np.ones(n, dtype=bool) if c is None else c for c in self.claimed],
                                    dtype=bool).reshape(len(self.claimed), n)

    @property
    def places(self) -> Places:
        return self.world.places
